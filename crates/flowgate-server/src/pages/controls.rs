//! Controls: kill switches and thresholds.

use super::*;

// ---- controls ------------------------------------------------------------------------------

pub(super) async fn controls(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let v = s.app.policy().await?;
    let admin = p.may(Need::Admin);
    let switch = |scope: &str, engaged: bool| {
        html! {
            form.inline method="post" action="/ui/controls/kill-switch" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="scope" value=(scope);
                input type="hidden" name="engaged" value=(if engaged { "false" } else { "true" });
                button type="submit" data-scope=(scope) {
                    @if engaged { "Switch back on" } @else { "Switch off" }
                }
            }
        }
    };
    let global = v.kill_switch;
    let body = html! {
        dl.figures {
            dt { "Policy" } dd { (v.name) }
            dt { "In force (with switches)" } dd { code #policy-hash { (v.policy) } }
            dt { "Imported policy" } dd { code { (v.base_policy) } }
            dt { "Global kill switch" } dd #global { @if global { strong { "ENGAGED: nothing is acted on" } } @else { "off" }
                @if admin { " " (switch("*", global)) } }
        }
        table #intents {
            caption { "Per intent" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Mode" } th scope="col" { "Target" }
                th scope="col" { "Threshold" } th scope="col" { "Switch" } } }
            tbody { @for i in &v.intents {
                @let name = i.intent.as_str();
                @let off = i.kill_switch;
                tr data-intent=(name) {
                    td { (name) }
                    td { (i.mode) }
                    td { (fpct(i.target_precision)) }
                    td { (fnum(i.threshold, 3)) }
                    td { @if off { strong { "off" } } @else { "on" }
                         @if admin { " " (switch(name, off)) } }
                }
            } }
        }
        h2 { "Who switched what" }
        table #switches {
            thead { tr { th scope="col" { "Scope" } th scope="col" { "Engaged" } th scope="col" { "By" }
                th scope="col" { "When" } th scope="col" { "Audit seq" } } }
            tbody { @for k in &v.kill_switches {
                tr { td { (k.scope) } td { (k.engaged) }
                     td { (k.actor) } td { (k.changed_at) }
                     td { (k.audit_seq) } }
            } }
        }
    };
    Ok(layout(&p, "Controls", "/ui/controls", body))
}

#[derive(Deserialize)]
pub(super) struct SwitchForm {
    csrf: String,
    scope: String,
    engaged: bool,
}

pub(super) async fn kill_switch(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<SwitchForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Admin)?;
    s.app.kill_switch(&f.scope, f.engaged, &p.name).await?;
    Ok(Redirect::to("/ui/controls").into_response())
}
