//! The team's screens, served by the same process as the API: server-rendered pages (maud),
//! one embedded style sheet and one embedded script, nothing from another origin.
//!
//! Sign-in exchanges a token (`flowgate token create`) for a session: the cookie holds a
//! random id (HttpOnly, SameSite=Strict, Secure behind TLS), the store keeps its SHA-256 and
//! the role is the token's, read at every request. Every form carries the session's CSRF
//! secret (the sign-in form a double-submit cookie's), compared in constant time. Roles as in
//! the API: viewers see, reviewers also review, admins also throw kill switches.

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Need, allows, hex, token_sha256};
use crate::problem::Problem;
use crate::{AppState, Shared, now_ms};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");
const ICON: &str = include_str!("../assets/favicon.svg");
const SESSION_COOKIE: &str = "fg_session";
const LOGIN_COOKIE: &str = "fg_login";
/// How long a sign-in lasts.
const SESSION_MS: i64 = 12 * 3600 * 1000;

/// What every page answers with, besides the API's headers: scripts and styles from this
/// origin only, no framing, no referrer to other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(overview))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/decisions", get(decisions))
        .route("/ui/decisions/{seq}", get(decision))
        .route("/ui/reviews", get(reviews))
        .route("/ui/reviews/claim", post(claim))
        .route("/ui/reviews/{seq}", get(review).post(mark))
        .route("/ui/controls", get(controls))
        .route("/ui/defects", get(defects))
        .route("/ui/defects.md", get(defects_markdown))
        .route("/ui/defects/threshold", post(apply_threshold))
        .route("/ui/governance", get(governance))
        .route("/ui/governance.md", get(governance_markdown))
        .route("/ui/governance.json", get(governance_json))
        .route("/ui/controls/kill-switch", post(kill_switch))
        .route("/ui/flow", get(flow))
        .route("/ui/whatif", get(whatif_form).post(whatif_run))
        .route("/ui/pilot", get(pilot_page))
        .route("/ui/assets/app.css", get(|| asset("text/css", CSS)))
        .route("/ui/assets/app.js", get(|| asset("text/javascript", JS)))
        .route(
            "/ui/assets/favicon.svg",
            get(|| asset("image/svg+xml", ICON)),
        )
        .layer(middleware::from_fn(security_headers))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// The signed-in person.
struct Person {
    name: String,
    role: String,
    csrf: String,
}

impl Person {
    fn may(&self, need: Need) -> bool {
        allows(&self.role, need)
    }
}

/// A page's failure: a redirect to sign in, or an HTML page with the status.
enum PageError {
    SignIn,
    Status(StatusCode, String),
}

impl From<Problem> for PageError {
    fn from(p: Problem) -> PageError {
        PageError::Status(p.status, p.detail)
    }
}

impl From<flowgate_app::Error> for PageError {
    fn from(e: flowgate_app::Error) -> PageError {
        PageError::from(Problem::from(e))
    }
}

impl From<flowgate_store::StoreError> for PageError {
    fn from(e: flowgate_store::StoreError) -> PageError {
        PageError::from(Problem::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/ui/login").into_response(),
            PageError::Status(status, detail) => {
                let title = status.canonical_reason().unwrap_or("Error");
                let body = html! {
                    (DOCTYPE)
                    html lang="en" { head { (head(title)) } body {
                        main { h1 { (status.as_u16()) " " (title) } p role="alert" { (detail) }
                               p { a href="/ui/" { "Back to the overview" } } }
                    } }
                };
                (status, Html(body.into_string())).into_response()
            }
        }
    }
}

type Page = Result<Response, PageError>;

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request reached us over TLS (a reverse proxy in front says so).
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if behind_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex(&b)
}

/// Constant-time equality of two secrets.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn person(s: &AppState, headers: &HeaderMap) -> Result<Person, PageError> {
    let id = cookie(headers, SESSION_COOKIE).ok_or(PageError::SignIn)?;
    let found = s.store.session(&token_sha256(id), now_ms()).await?;
    let session = found.ok_or(PageError::SignIn)?;
    if session.role == "ingest" {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "an ingest token may not use the pages".into(),
        ));
    }
    Ok(Person {
        name: session.token_name,
        role: session.role,
        csrf: session.csrf,
    })
}

fn require(p: &Person, need: Need) -> Result<(), PageError> {
    if p.may(need) {
        Ok(())
    } else {
        Err(PageError::Status(
            StatusCode::FORBIDDEN,
            format!("{} has role {}, which may not do this", p.name, p.role),
        ))
    }
}

fn check_csrf(p: &Person, sent: &str) -> Result<(), PageError> {
    if same_secret(&p.csrf, sent) {
        Ok(())
    } else {
        Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "the form is stale or from another site; reload the page and try again".into(),
        ))
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · flowgate" }
        link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml";
        link rel="stylesheet" href="/ui/assets/app.css";
        script src="/ui/assets/app.js" defer {}
    }
}

fn layout(p: &Person, title: &str, here: &str, body: Markup) -> Response {
    let nav = [
        ("/ui/", "Overview"),
        ("/ui/decisions", "Decisions"),
        ("/ui/reviews", "Review queue"),
        ("/ui/defects", "Defect review"),
        ("/ui/flow", "Flow"),
        ("/ui/whatif", "What-if"),
        ("/ui/pilot", "Pilot"),
        ("/ui/controls", "Controls"),
        ("/ui/governance", "Governance"),
    ];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                header {
                    a.brand href="/ui/" { "flowgate" }
                    nav aria-label="Pages" {
                        ul { @for (href, label) in nav {
                            li { a href=(href) aria-current=[(href == here).then_some("page")] { (label) } }
                        } }
                    }
                    form.signout method="post" action="/ui/logout" {
                        span { (p.name) " (" (p.role) ")" }
                        input type="hidden" name="csrf" value=(p.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
    .into_string();
    Html(page).into_response()
}

// ---- sign-in -------------------------------------------------------------------------------

async fn login_form(headers: HeaderMap) -> Response {
    let csrf = random_hex();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head("Sign in")) }
            body.signin {
                main {
                    h1 { "Sign in to flowgate" }
                    form method="post" action="/ui/login" {
                        label for="token" { "Token" }
                        input #token type="password" name="token" autocomplete="off" required
                            aria-describedby="token-help";
                        p #token-help { "A token from " code { "flowgate token create" } "." }
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    let mut r = Html(page.into_string()).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, &csrf, 600),
    );
    r
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    csrf: String,
}

async fn login(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Page {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(expected, &f.csrf) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "the sign-in form is stale or from another site; reload it and try again".into(),
        ));
    }
    let found = s.store.token_lookup(&token_sha256(f.token.trim())).await?;
    let Some((name, role)) = found else {
        return Err(PageError::Status(
            StatusCode::UNAUTHORIZED,
            "the token is unknown or revoked".into(),
        ));
    };
    if role == "ingest" {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "an ingest token may not use the pages".into(),
        ));
    }
    let id = random_hex();
    let now = now_ms();
    s.store
        .session_create(
            &token_sha256(&id),
            &name,
            &random_hex(),
            now,
            now + SESSION_MS,
        )
        .await?;
    tracing::info!(token = %name, "signed in to the pages");
    let mut r = Redirect::to("/ui/").into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &id, SESSION_MS / 1000),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, "", 0),
    );
    Ok(r)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        s.store.session_end(&token_sha256(id), now_ms()).await?;
    }
    let mut r = Redirect::to("/ui/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    Ok(r)
}

// ---- overview ------------------------------------------------------------------------------

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

fn hours(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_owned(), |s| format!("{:.1} h", s / 3600.0))
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

/// A signed change: relative (`rel`) as a percentage, else in the figure's own unit.
fn change(v: &Value, rel: bool, scale: f64, unit: &str) -> String {
    match v.as_f64() {
        None => "no previous week".to_owned(),
        Some(x) if rel => format!("{:+.0}% vs last week", x * 100.0),
        Some(x) => format!("{:+.1}{unit} vs last week", x * scale),
    }
}

/// A 12-week trend as an inline SVG polyline (no script, no library).
fn sparkline(values: &[Option<f64>], label: &str) -> Markup {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = known
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len().max(2) - 1;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|x| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * 120.0 / n as f64,
                    34.0 - (x - lo) / span * 30.0
                )
            })
        })
        .collect();
    html! {
        svg.spark viewBox="0 0 120 36" preserveAspectRatio="none" role="img" aria-label=(label) {
            polyline points=(points.join(" ")) fill="none" stroke="currentColor" stroke-width="2"
                vector-effect="non-scaling-stroke" {}
        }
    }
}

#[derive(Deserialize)]
struct OverviewQuery {
    team: Option<String>,
    weeks: Option<usize>,
    week: Option<String>,
}

const VERDICTS: [(&str, &str); 4] = [
    (
        "working",
        "Working: better on the headline numbers, worse on none",
    ),
    (
        "mixed",
        "Mixed: better on some headline numbers, worse on others",
    ),
    (
        "not_working",
        "Not working: worse on a headline number, better on none",
    ),
    (
        "unclear",
        "Too early to tell: no headline number has moved beyond its interval",
    ),
];

/// The pilot's day, phase and verdict, when a pilot is planned.
fn pilot_banner(v: &Value) -> Markup {
    let p = &v["pilot"];
    let st = &p["standing"];
    let verdict = p["verdict"]["verdict"].as_str();
    html! {
        section.pilot #pilot aria-label="The pilot" data-verdict=[verdict] {
            p {
                strong { (p["plan"]["name"].as_str().unwrap_or("The pilot")) ": " }
                @match st["status"].as_str() {
                    Some("before") => { "starts " (p["plan"]["start"].as_str().unwrap_or("")) }
                    Some("done") => { "complete (" (st["days"]) " days)" }
                    _ => { span #pilot-day { "day " (st["day"]) " of " (st["days"]) }
                        @if let Some(ph) = st["phase"]["name"].as_str() { " · phase " strong #pilot-phase { (ph) } } }
                }
                " · " a href="/ui/pilot" { "pilot vs baseline" }
            }
            @if let Some(k) = verdict {
                p.verdict #pilot-verdict { (VERDICTS.iter().find(|x| x.0 == k).map_or(k, |x| x.1)) }
            } @else if let Some(w) = p["waiting"].as_str() {
                p.muted { "No comparison yet: " (w) "." }
            }
        }
    }
}

async fn overview(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let team = q.team.filter(|t| !t.trim().is_empty());
    let weeks = q.weeks.unwrap_or(12).clamp(2, 104);
    let last_week = match q.week.as_deref().filter(|w| !w.trim().is_empty()) {
        Some(w) => Some(flowgate_app::analytics::parse_week(w).map_err(Problem::from)?),
        None => None,
    };
    let card = crate::analytics(
        &s,
        crate::AnalyticsKey::Scorecard {
            source: None,
            weeks,
            last_week,
            team: team.clone(),
        },
    )
    .await;
    let flow = crate::analytics(
        &s,
        crate::AnalyticsKey::Baseline {
            source: None,
            range: None,
        },
    )
    .await;
    let pilot = match &s.pilot {
        Some(_) => crate::pilot(&s, None, None).await.ok(),
        None => None,
    };
    let week = crate::week_review(&s, None).await?;
    let gate = crate::analytics(
        &s,
        crate::AnalyticsKey::GateWeek {
            from: flowgate_app::analytics::parse_week(&week.week).map_err(Problem::from)?,
        },
    )
    .await?;
    let teams: Vec<String> = card
        .as_ref()
        .ok()
        .and_then(|v| v["teams"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    let latest = card.as_ref().ok().and_then(|v| {
        serde_json::from_value::<flowgate_value::scorecard::WeekCard>(
            v["scorecard"]["weeks"].as_array()?.last()?.clone(),
        )
        .ok()
    });
    let backlog_days = flow
        .as_ref()
        .ok()
        .and_then(|v| v["baseline"]["backlog"]["backlog_days"].as_f64());
    let alerts = s.alerts.check(
        latest.as_ref(),
        backlog_days,
        week.precision.as_ref().map(|p| p.share),
    );
    let body = html! {
        form.filters method="get" action="/ui/" aria-label="Period and team" {
            label { "Team "
                select name="team" {
                    option value="" selected[team.is_none()] { "All teams" }
                    @for t in &teams { option value=(t) selected[team.as_deref() == Some(t.as_str())] { (t) } }
                } }
            label { "Trend "
                select name="weeks" {
                    @for n in [4usize, 12, 26, 52] { option value=(n) selected[n == weeks] { (n) " weeks" } }
                } }
            label { "Week " input name="week" value=(q.week.as_deref().unwrap_or("")) placeholder="latest" pattern="[0-9]{4}-W[0-9]{2}"; }
            button type="submit" { "Show" }
        }
        @if let Some(v) = &pilot { (pilot_banner(v)) }
        @if !alerts.is_empty() {
            section.alerts #alerts role="alert" aria-label="Alerts" {
                ul { @for a in &alerts { li data-figure=(a.figure) { (a.message) } } }
            }
        }
        @match &card {
            Ok(v) => {
                @let c = &v["scorecard"];
                @let weeks = c["weeks"].as_array().cloned().unwrap_or_default();
                @let last = weeks.last().cloned().unwrap_or(Value::Null);
                @let series = |k: &str| weeks.iter().map(|w| w[k].as_f64()).collect::<Vec<_>>();
                p.muted { "Source " strong { (v["source"].as_str().unwrap_or("")) }
                    @if let Some(t) = &team { ", team " strong { (t) } }
                    ", week " strong { (last["week"].as_str().unwrap_or("–")) }
                    @if last["provisional"] == true { " (in progress)" }
                    ". Computed " (v["computed_at"].as_str().unwrap_or("")) ", at most "
                    (v["max_staleness_s"]) " s old." }
                section.cards aria-label="The three numbers" {
                    article.card #cycle-time {
                        h2 { "Cycle time" }
                        p.big { (hours(&last["cycle_time_p50_s"])) span.unit { " p50" } }
                        p { (hours(&last["cycle_time_p85_s"])) " p85 · "
                            (change(&c["change"]["cycle_time_p50_rel"], true, 1.0, "")) }
                        (sparkline(&series("cycle_time_p50_s"), &format!("cycle time p50, {} weeks", weeks.len())))
                    }
                    article.card #quality {
                        h2 { "Quality defects" }
                        p.big { (num(&last["defects_per_100"], 1)) span.unit { " per 100 resolved" } }
                        p { (last["reopens"]) " reopened, " (last["reviewed_defects"]) " reviewed defects · "
                            (change(&c["change"]["defects_per_100_abs"], false, 1.0, "")) }
                        (sparkline(&series("defects_per_100"), &format!("defects per 100, {} weeks", weeks.len())))
                    }
                    article.card #escalation {
                        h2 { "Escalation rate" }
                        p.big { (pct(&last["escalation_rate"])) }
                        p { (last["escalated"]) " of " (last["resolved"]) " resolved · "
                            (change(&c["change"]["escalation_rate_abs"], false, 100.0, " pt")) }
                        (sparkline(&series("escalation_rate"), &format!("escalation rate, {} weeks", weeks.len())))
                    }
                }
            }
            Err(e) => p.notice role="status" { "No scorecard yet: " (e.detail) }
        }
        @if let Ok(v) = &flow {
            @let b = &v["baseline"];
            @let (wait, touch) = (b["wait_s"].as_f64().unwrap_or(0.0), b["touch_s"].as_f64().unwrap_or(0.0));
            section #flow aria-labelledby="flow-h" {
                h2 #flow-h { "Flow (the whole source, up to now)" }
                dl.figures {
                    dt { "Wait share" } dd #wait-share { @if wait + touch > 0.0 { (format!("{:.0}%", wait / (wait + touch) * 100.0)) } @else { "–" } }
                    dt { "Reopen rate" } dd #reopen-rate { (pct(&b["reopen_rate"])) }
                    dt { "Handoffs per case" } dd #handoffs { (num(&b["handoffs"]["mean"], 2)) }
                    dt { "Work in progress" } dd #wip { (b["backlog"]["wip"]) }
                    dt { "Backlog" } dd #backlog-days { (num(&b["backlog"]["backlog_days"], 1)) " days" }
                }
                @if let Some(aging) = b["backlog"]["aging"].as_array() {
                    table #aging {
                        caption { "Work in progress by age" }
                        thead { tr { @for a in aging { th scope="col" { (a["label"].as_str().unwrap_or("")) } } } }
                        tbody { tr { @for a in aging { td { (a["cases"]) } } } }
                    }
                }
                p { a href="/ui/flow" { "Where the time goes →" } }
            }
        }
        section #gate-week aria-labelledby="gate-week-h" {
            h2 #gate-week-h { "The gate's week " (week.week) }
            dl.figures {
                dt { "Decisions" } dd #decided { (gate["decisions"]) }
                dt { "By action" } dd #by-action {
                    @for (a, n) in gate["by_action"].as_object().into_iter().flatten() {
                        span data-action=(a) { (action_badge(a)) " " (n) } " "
                    } }
                dt { "Act coverage" } dd #act-coverage { (pct(&gate["act_coverage"])) }
                dt { "Automation rate" } dd #automation { (pct(&gate["automation_rate"]))
                    span.muted { " acted on and not reopened (" (gate["acted_reopened"]) " reopened)" } }
                dt { "Sampled for review" } dd #sampled { (week.sampled) }
                dt { "Reviewed" } dd #reviewed { (week.reviewed) }
                dt { "Correct" } dd #correct { (week.correct) }
                dt { "Defects" } dd #defects { (week.defects) }
                dt { "Reviewed precision" }
                dd #precision { @match &week.precision {
                    Some(pr) => { (format!("{:.1}%", pr.share * 100.0)) " (95% CI "
                        (format!("{:.1}–{:.1}%", pr.ci95.0 * 100.0, pr.ci95.1 * 100.0)) ")" }
                    None => "no reviews yet",
                } }
            }
        }
    };
    Ok(layout(&p, "Overview", "/ui/", body))
}

// ---- flow, what-if, pilot ----------------------------------------------------------------

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A calendar date (UTC) as milliseconds; `field` names it in the error.
fn day_ms(field: &str, v: &str) -> Result<i64, PageError> {
    v.trim()
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| {
            PageError::Status(
                StatusCode::BAD_REQUEST,
                format!("{field}: expected a date such as 2026-05-04, found {v:?}"),
            )
        })
}

async fn flow(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<RangeQuery>) -> Page {
    let p = person(&s, &headers).await?;
    let given = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let (from, to) = (given(&q.from), given(&q.to));
    let range = match (&from, &to) {
        (None, None) => None,
        (f, t) => {
            let a = f.as_deref().map(|f| day_ms("from", f)).transpose()?;
            // `to` is the last day shown: up to its end.
            let b = t.as_deref().map(|t| day_ms("to", t)).transpose()?;
            let (a, b) = (
                a.unwrap_or(i64::MIN),
                b.map_or(i64::MAX, |b| b + 86_400_000),
            );
            if b <= a {
                return Err(PageError::Status(
                    StatusCode::BAD_REQUEST,
                    "to: must not come before from".into(),
                ));
            }
            Some((a, b))
        }
    };
    let v = crate::analytics(
        &s,
        crate::AnalyticsKey::FlowHtml {
            source: None,
            range,
        },
    )
    .await;
    let body = html! {
        form.filters method="get" action="/ui/flow" aria-label="Date range" {
            label { "Cases created from " input type="date" name="from" value=(from.as_deref().unwrap_or("")); }
            label { "to " input type="date" name="to" value=(to.as_deref().unwrap_or("")); }
            button type="submit" { "Show" }
        }
        @match &v {
            Ok(v) => {
                p.muted #flow-summary { "Source " strong { (v["source"].as_str().unwrap_or("")) } ": "
                    (v["cases"]) " cases, " (v["events"]) " events, "
                    (v["first_event"].as_str().unwrap_or("–")) " to " (v["last_event"].as_str().unwrap_or("–"))
                    ". Computed " (v["computed_at"].as_str().unwrap_or("")) "." }
                div.report #flow-report { (PreEscaped(v["html"].as_str().unwrap_or(""))) }
            }
            Err(e) => p.notice role="status" { "No flow figures yet: " (e.detail) }
        }
    };
    Ok(layout(&p, "Flow", "/ui/flow", body))
}

const EXAMPLE_SCENARIO: &str = "# A what-if (the `flowgate simulate --scenario` format)\n\
replications = 20\n\
days = 28\n\n\
[arrivals]\n\
scale = 1.0\n\
spikes = [{ factor = 1.5, start_day = 8, days = 5 }]\n\n\
# The AI answers a share of one intent's tickets at a precision:\n\
# [[ai]]\n\
# intent = \"password_reset\"\n\
# share = 0.6\n\
# precision = 0.97\n\n\
# [staffing]\n\
# tier1 = 0.9\n";

fn whatif_page(p: &Person, text: &str, result: Option<Result<String, String>>) -> Response {
    let body = html! {
        p.muted { "The simulation is fitted from the store's history; the scenario runs beside the same model's baseline (same seed, replications and days)." }
        form method="post" action="/ui/whatif" {
            input type="hidden" name="csrf" value=(p.csrf);
            label for="scenario" { "Scenario (TOML)" }
            textarea #scenario name="scenario" rows="16" cols="72" spellcheck="false" { (text) }
            p { button type="submit" { "Run" } }
        }
        @match result {
            Some(Ok(html)) => { section.report #whatif-result aria-label="Result" { h2 { "Scenario beside the baseline" } (PreEscaped(html)) } }
            Some(Err(e)) => { p.notice #whatif-error role="alert" { (e) } }
            None => {}
        }
    };
    layout(p, "What-if", "/ui/whatif", body)
}

async fn whatif_form(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    Ok(whatif_page(&p, EXAMPLE_SCENARIO, None))
}

#[derive(Deserialize)]
struct WhatIfForm {
    csrf: String,
    scenario: String,
}

async fn whatif_run(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<WhatIfForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    let l = flowgate_app::analytics::load(&s.store, None)
        .await
        .map_err(Problem::from)?;
    let text = f.scenario.clone();
    let result = tokio::task::spawn_blocking(move || {
        let model = flowgate_app::whatif::fit(&l, "intent");
        flowgate_app::whatif::run(&model, &text, "the scenario", 2)
            .map(|w| flowgate_report::value::simulation_section(&w.scenario, Some(&w.baseline)))
    })
    .await
    .map_err(|e| PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| e.to_string());
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = whatif_page(&p, &f.scenario, Some(result));
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Deserialize)]
struct PilotPageQuery {
    day: Option<String>,
}

async fn pilot_page(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<PilotPageQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let Some(plan) = &s.pilot else {
        let body = html! {
            p.notice role="status" #no-pilot { "No pilot is planned. Add " code { "[pilot]" }
                " to flowgate.toml (day one, the baseline period, optionally the phases and the budget) and restart." }
        };
        return Ok(layout(&p, "The 90-day pilot", "/ui/pilot", body));
    };
    let v = crate::pilot(&s, None, q.day.clone()).await?;
    let view = &v["pilot"];
    let today = view["standing"]["phase"]["name"].as_str();
    let body = html! {
        (pilot_banner(&v))
        table #phases {
            caption { "The plan" }
            thead { tr { th scope="col" { "Phase" } th scope="col" { "From" } th scope="col" { "Until (not incl.)" } th scope="col" { "Intents" } } }
            tbody {
                tr { td { "Baseline" } td { (plan.baseline.0.to_string()) } td { (plan.baseline.1.to_string()) } td {} }
                @for ph in &plan.phases {
                    tr aria-current=[(today == Some(ph.name.as_str())).then_some("step")] {
                        td { (ph.name) } td { (ph.from.to_string()) } td { (ph.to.to_string()) } td { (ph.intents.join(", ")) }
                    }
                }
            }
        }
        @if let Some(h) = v["html"].as_str() {
            section.report #pilot-compare aria-label="Pilot vs baseline" {
                h2 { "Pilot vs baseline" }
                (PreEscaped(h))
            }
            p { button type="button" data-print="" { "Print" } }
        } @else {
            p.notice role="status" { "No comparison yet: " (view["waiting"].as_str().unwrap_or("")) "." }
        }
    };
    Ok(layout(&p, &plan.name, "/ui/pilot", body))
}

// ---- decisions -----------------------------------------------------------------------------

#[derive(Deserialize)]
struct DecisionFilter {
    intent: Option<String>,
    action: Option<String>,
    after_seq: Option<i64>,
    /// A confidence band: one of [`BANDS`]' keys.
    band: Option<String>,
    /// Decided on or after this day, and up to the end of `to` (UTC dates).
    from: Option<String>,
    to: Option<String>,
}

/// Confidence bands of the Decisions filter: (key, label, from, below).
const BANDS: [(&str, &str, f64, f64); 4] = [
    ("low", "below 0.50", 0.0, 0.5),
    ("mid", "0.50–0.80", 0.5, 0.8),
    ("high", "0.80–0.95", 0.8, 0.95),
    ("top", "0.95 and above", 0.95, f64::INFINITY),
];

fn action_badge(action: &str) -> Markup {
    html! { span class=(format!("badge {action}")) { (action) } }
}

async fn decisions(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(f): Query<DecisionFilter>,
) -> Page {
    let p = person(&s, &headers).await?;
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let band = nonempty(&f.band)
        .map(|b| {
            BANDS.iter().find(|x| x.0 == b).copied().ok_or_else(|| {
                PageError::Status(StatusCode::BAD_REQUEST, format!("band {b:?}: unknown"))
            })
        })
        .transpose()?;
    let day = |field: &str, v: &Option<String>, plus: i64| -> Result<Option<String>, PageError> {
        nonempty(v)
            .map(|d| {
                let ms = day_ms(field, &d)? + plus;
                Ok(jiff::Timestamp::from_millisecond(ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default())
            })
            .transpose()
    };
    let q = crate::DecisionQuery {
        after_seq: f.after_seq.unwrap_or(0),
        limit: Some(50),
        intent: nonempty(&f.intent),
        action: nonempty(&f.action),
        since: day("from", &f.from, 0)?,
        until: day("to", &f.to, 86_400_000)?,
        min_confidence: band.map(|b| b.2),
        max_confidence: band.map(|b| b.3).filter(|m| m.is_finite()),
    };
    let page = serde_json::to_value(crate::find_decisions(&s, &q).await?)
        .map_err(|e| PageError::from(Problem::internal(e)))?;
    let rows = page["decisions"].as_array().cloned().unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/ui/decisions" {
            label { "Intent " input name="intent" value=[q.intent.as_deref()]; }
            label { "Action "
                select name="action" {
                    option value="" { "any" }
                    @for a in flowgate_gate::Action::ALL {
                        option value=(a.as_str()) selected[q.action.as_deref() == Some(a.as_str())] { (a.as_str()) }
                    }
                }
            }
            label { "Confidence "
                select name="band" {
                    option value="" { "any" }
                    @for (key, label, _, _) in BANDS {
                        option value=(key) selected[f.band.as_deref() == Some(key)] { (label) }
                    }
                }
            }
            label { "From " input type="date" name="from" value=(f.from.as_deref().unwrap_or("")); }
            label { "to " input type="date" name="to" value=(f.to.as_deref().unwrap_or("")); }
            button type="submit" { "Filter" }
        }
        table #decisions {
            caption { (rows.len()) " decisions" }
            thead { tr { th scope="col" { "Seq" } th scope="col" { "Ticket" } th scope="col" { "Intent" }
                th scope="col" { "Confidence" } th scope="col" { "Action" } th scope="col" { "Rule" }
                th scope="col" { "Decided" } } }
            tbody { @for r in &rows {
                tr {
                    td { a href=(format!("/ui/decisions/{}", r["seq"])) { (r["seq"]) } }
                    td { (r["ticket_id"].as_str().unwrap_or("")) }
                    td { (r["intent"].as_str().unwrap_or("")) }
                    td { (num(&r["confidence"], 2)) }
                    td { (action_badge(r["action"].as_str().unwrap_or(""))) }
                    td { (r["rule"].as_str().unwrap_or("")) }
                    td { (r["recorded_at"].as_str().unwrap_or("")) }
                }
            } }
        }
        @if let Some(next) = page["next_after_seq"].as_i64() {
            @let keep = [("after_seq", next.to_string()),
                ("intent", q.intent.clone().unwrap_or_default()),
                ("action", q.action.clone().unwrap_or_default()),
                ("band", f.band.clone().unwrap_or_default()),
                ("from", f.from.clone().unwrap_or_default()),
                ("to", f.to.clone().unwrap_or_default())];
            p { a rel="next" href=(format!("/ui/decisions?{}", serde_urlencoded::to_string(keep).unwrap_or_default())) { "Next page" } }
        }
    };
    Ok(layout(&p, "Decisions", "/ui/decisions", body))
}

fn decision_body(d: &Value) -> Markup {
    html! {
        dl.figures {
            dt { "Ticket" } dd #ticket-id { (d["ticket_id"].as_str().unwrap_or("")) }
            dt { "Action" } dd #action { (action_badge(d["action"].as_str().unwrap_or(""))) }
            dt { "Intent" } dd { (d["intent"].as_str().unwrap_or("")) " (confidence "
                (num(&d["confidence"], 3)) ", out-of-scope score " (num(&d["oos_score"], 3)) ")" }
            dt { "Rule" } dd #rule { (d["rule"].as_str().unwrap_or("")) }
            dt { "Threshold" } dd { (num(&d["threshold"], 3)) }
            dt { "Policy" } dd { code { (d["policy"].as_str().unwrap_or("")) } }
        }
        h2 { "Reasons" }
        ul #reasons { @for r in d["reasons"].as_array().into_iter().flatten() { li { (r.as_str().unwrap_or("")) } } }
        div.side {
            section { h2 { "The ticket" } pre.text #ticket-text { (d["ticket_text"].as_str().unwrap_or("(no text kept)")) } }
            section { h2 { "Proposed answer" }
                @match d["answer"].as_str() {
                    Some(a) => pre.text #answer { (a) },
                    None => p { "none proposed" },
                }
                @if let Some(src) = d["sources"].as_array() {
                    ul { @for x in src { li { (x["title"].as_str().or(x["path"].as_str()).unwrap_or("")) } } }
                }
            }
        }
    }
}

async fn decision(State(s): State<Shared>, headers: HeaderMap, Path(seq): Path<i64>) -> Page {
    let p = person(&s, &headers).await?;
    let d = serde_json::to_value(crate::decision_detail(&s, seq).await?)
        .map_err(|e| PageError::from(Problem::internal(e)))?;
    let verified = flowgate_app::audit::verify_store(&s.store).await?;
    let body = html! {
        (decision_body(&d))
        h2 { "Audit record" }
        dl.figures #audit {
            dt { "Sequence" } dd { (seq) }
            dt { "Hash" } dd { code { (d["hash"].as_str().unwrap_or("")) } }
            dt { "Previous hash" } dd { code { (d["prev_hash"].as_str().unwrap_or("")) } }
            dt { "Recorded" } dd { (d["recorded_at"].as_str().unwrap_or("")) " by " (d["actor"].as_str().unwrap_or("")) }
            dt { "Chain" } dd #chain { @if verified.intact { "verified intact (" (verified.records) " records)" }
                @else { "BROKEN: " (verified.problem.clone().unwrap_or_default()) } }
        }
        @if !d["review"].is_null() {
            h2 { "Review" }
            p #review-state { @match d["review"]["verdict"].as_str() {
                Some(v) => { (v) " by " (d["review"]["reviewer"].as_str().unwrap_or("")) }
                None => "waiting for review",
            } }
        }
    };
    Ok(layout(
        &p,
        &format!("Decision {seq}"),
        "/ui/decisions",
        body,
    ))
}

// ---- review queue --------------------------------------------------------------------------

async fn reviews(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let items: Vec<_> = s
        .store
        .review_items()
        .await?
        .into_iter()
        .filter(|i| i.verdict.is_none())
        .collect();
    let body = html! {
        @if p.may(Need::Reviewer) {
            form method="post" action="/ui/reviews/claim" {
                input type="hidden" name="csrf" value=(p.csrf);
                button #claim type="submit" { "Review the next one" }
            }
        } @else {
            p.notice { "You can see the queue; reviewing needs the reviewer role." }
        }
        table #queue {
            caption { (items.len()) " decisions waiting for review" }
            thead { tr { th scope="col" { "Seq" } th scope="col" { "Ticket" } th scope="col" { "Intent" }
                th scope="col" { "Band" } th scope="col" { "Decided" } } }
            tbody { @for i in &items {
                tr {
                    td { a href=(format!("/ui/decisions/{}", i.audit_seq)) { (i.audit_seq) } }
                    td { (i.ticket) }
                    td { (i.intent) }
                    td { (i.band) }
                    td { (crate::ms_to_rfc3339(i.decided_at_ms)) }
                }
            } }
        }
    };
    Ok(layout(&p, "Review queue", "/ui/reviews", body))
}

async fn claim(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Reviewer)?;
    match s
        .store
        .review_claim(&p.name, now_ms(), crate::LEASE_MS)
        .await?
    {
        Some(i) => Ok(Redirect::to(&format!("/ui/reviews/{}", i.audit_seq)).into_response()),
        None => Ok(Redirect::to("/ui/reviews?empty=1").into_response()),
    }
}

/// Failure modes a reviewer picks from (free text is the note).
const CATEGORIES: [&str; 5] = ["wrong-intent", "wrong-answer", "tone", "policy", "other"];

async fn review(State(s): State<Shared>, headers: HeaderMap, Path(seq): Path<i64>) -> Page {
    let p = person(&s, &headers).await?;
    require(&p, Need::Reviewer)?;
    let holder = s.store.review_lease(seq, now_ms()).await?;
    if holder.as_deref() != Some(p.name.as_str()) {
        return Err(PageError::Status(
            StatusCode::CONFLICT,
            match holder {
                Some(h) => format!("decision {seq} is being reviewed by {h}"),
                None => format!("decision {seq} is not leased to you: claim it from the queue"),
            },
        ));
    }
    let d = serde_json::to_value(crate::decision_detail(&s, seq).await?)
        .map_err(|e| PageError::from(Problem::internal(e)))?;
    let body = html! {
        p.muted { "Keys: " kbd { "c" } " correct, " kbd { "d" } " defect, " kbd { "j" } "/" kbd { "k" }
            " next/previous field. Leased to you for 15 minutes." }
        (decision_body(&d))
        form #verdict method="post" action=(format!("/ui/reviews/{seq}"))
            data-intent=(d["intent"].as_str().unwrap_or("")) data-ticket=(d["ticket_id"].as_str().unwrap_or("")) {
            input type="hidden" name="csrf" value=(p.csrf);
            fieldset {
                legend { "Verdict" }
                label { input type="radio" name="verdict" value="correct" required; " Correct" }
                label { input type="radio" name="verdict" value="defect"; " Defect" }
            }
            label { "Failure mode (for a defect) "
                select name="category" {
                    option value="" { "–" }
                    @for c in CATEGORIES { option value=(c) { (c) } }
                }
            }
            label { "Note " textarea name="note" rows="2" {} }
            button type="submit" { "Record and review the next one" }
        }
    };
    Ok(layout(
        &p,
        &format!("Review decision {seq}"),
        "/ui/reviews",
        body,
    ))
}

#[derive(Deserialize)]
struct VerdictForm {
    csrf: String,
    verdict: String,
    category: Option<String>,
    note: Option<String>,
}

async fn mark(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<i64>,
    Form(f): Form<VerdictForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Reviewer)?;
    let holder = s.store.review_lease(seq, now_ms()).await?;
    if holder.as_deref().is_some_and(|h| h != p.name) {
        return Err(PageError::Status(
            StatusCode::CONFLICT,
            format!("decision {seq} is being reviewed by someone else"),
        ));
    }
    let category = f.category.filter(|c| !c.trim().is_empty());
    let note = f.note.filter(|n| !n.trim().is_empty());
    if !["correct", "defect"].contains(&f.verdict.as_str()) {
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "verdict: expected correct or defect".into(),
        ));
    }
    if f.verdict == "defect" && category.is_none() {
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a defect needs a failure mode".into(),
        ));
    }
    s.store
        .review_mark(
            seq,
            &f.verdict,
            category.as_deref(),
            Some(&p.name),
            note.as_deref(),
            now_ms(),
        )
        .await?;
    // Straight on to the next one.
    match s
        .store
        .review_claim(&p.name, now_ms(), crate::LEASE_MS)
        .await?
    {
        Some(i) => Ok(Redirect::to(&format!("/ui/reviews/{}", i.audit_seq)).into_response()),
        None => Ok(Redirect::to("/ui/reviews").into_response()),
    }
}

// ---- controls ------------------------------------------------------------------------------

async fn controls(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let v = crate::policy_json(&s).await?;
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
    let global = v["kill_switch"] == true;
    let body = html! {
        dl.figures {
            dt { "Policy" } dd { (v["name"].as_str().unwrap_or("")) }
            dt { "In force (with switches)" } dd { code #policy-hash { (v["policy"].as_str().unwrap_or("")) } }
            dt { "Imported policy" } dd { code { (v["base_policy"].as_str().unwrap_or("")) } }
            dt { "Global kill switch" } dd #global { @if global { strong { "ENGAGED: nothing is acted on" } } @else { "off" }
                @if admin { " " (switch("*", global)) } }
        }
        table #intents {
            caption { "Per intent" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Mode" } th scope="col" { "Target" }
                th scope="col" { "Threshold" } th scope="col" { "Switch" } } }
            tbody { @for i in v["intents"].as_array().into_iter().flatten() {
                @let name = i["intent"].as_str().unwrap_or("");
                @let off = i["kill_switch"] == true;
                tr data-intent=(name) {
                    td { (name) }
                    td { (i["mode"].as_str().unwrap_or("")) }
                    td { (pct(&i["target_precision"])) }
                    td { (num(&i["threshold"], 3)) }
                    td { @if off { strong { "off" } } @else { "on" }
                         @if admin { " " (switch(name, off)) } }
                }
            } }
        }
        h2 { "Who switched what" }
        table #switches {
            thead { tr { th scope="col" { "Scope" } th scope="col" { "Engaged" } th scope="col" { "By" }
                th scope="col" { "When" } th scope="col" { "Audit seq" } } }
            tbody { @for k in v["kill_switches"].as_array().into_iter().flatten() {
                tr { td { (k["scope"].as_str().unwrap_or("")) } td { (k["engaged"]) }
                     td { (k["actor"].as_str().unwrap_or("")) } td { (k["changed_at"].as_str().unwrap_or("")) }
                     td { (k["audit_seq"]) } }
            } }
        }
    };
    Ok(layout(&p, "Controls", "/ui/controls", body))
}

#[derive(Deserialize)]
struct SwitchForm {
    csrf: String,
    scope: String,
    engaged: bool,
}

async fn kill_switch(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<SwitchForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Admin)?;
    crate::kill_switch(&s, &f.scope, f.engaged, &p.name).await?;
    Ok(Redirect::to("/ui/controls").into_response())
}

// ---- weekly defect review -----------------------------------------------------------------

#[derive(Deserialize)]
struct WeekQuery {
    week: Option<String>,
    /// The intent whose threshold was just applied (a notice after the redirect).
    applied: Option<String>,
}

#[derive(Deserialize)]
struct ThresholdForm {
    csrf: String,
    intent: String,
    threshold: f64,
    week: String,
}

async fn apply_threshold(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<ThresholdForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Admin)?;
    crate::set_threshold(&s, &f.intent, f.threshold, &p.name).await?;
    let query = serde_urlencoded::to_string([("week", &f.week), ("applied", &f.intent)])
        .map_err(|e| PageError::Status(StatusCode::BAD_REQUEST, e.to_string()))?;
    let to = format!("/ui/defects?{query}");
    Ok(Redirect::to(&to).into_response())
}

fn markdown_download(name: &str, text: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

fn interval(p: &flowgate_app::defects::Precision) -> String {
    format!(
        "{:.1}% (95% CI {:.1}–{:.1}%)",
        p.share * 100.0,
        p.ci95.0 * 100.0,
        p.ci95.1 * 100.0
    )
}

async fn defects(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<WeekQuery>) -> Page {
    let p = person(&s, &headers).await?;
    let week = q.week.filter(|w| !w.trim().is_empty());
    let r = crate::week_review(&s, week.as_deref()).await?;
    let admin = p.may(Need::Admin);
    let apply = |intent: &str, t: f64| {
        html! {
            form.inline method="post" action="/ui/defects/threshold" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="intent" value=(intent);
                input type="hidden" name="threshold" value=(format!("{t:.3}"));
                input type="hidden" name="week" value=(r.week);
                button type="submit" data-apply=(intent) { "Apply threshold " (format!("{t:.3}")) }
            }
        }
    };
    let body = html! {
        @if let Some(done) = &q.applied {
            p.notice role="status" #applied { "Threshold for " strong { (done) } " applied: the next ticket is decided under the new policy (audited)." }
        }
        form.filters method="get" action="/ui/defects" {
            label { "ISO week " input name="week" value=(r.week) pattern="[0-9]{4}-W[0-9]{2}"; }
            button type="submit" { "Show" }
            a href=(format!("/ui/defects.md?week={}", r.week)) { "Export Markdown" }
        }
        dl.figures {
            dt { "Acts sampled" } dd { (r.sampled) }
            dt { "Reviewed" } dd { (r.reviewed) " (" (r.pending) " waiting)" }
            dt { "Correct / defects" } dd { (r.correct) " / " (r.defects) }
            dt { "Reviewed precision" } dd #week-precision { @match &r.precision {
                Some(pr) => (interval(pr)),
                None => "no reviews this week",
            } }
        }
        table #intent-precision {
            caption { "Reviewed precision per intent, and what to do" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Reviewed" } th scope="col" { "Correct" }
                th scope="col" { "Precision" } th scope="col" { "Target" } th scope="col" { "Recommendation" } } }
            tbody { @for i in &r.intents {
                tr { td { (i.intent) } td { (i.reviewed) } td { (i.correct) } td { (interval(&i.precision)) }
                     td { (format!("{:.1}%", i.target * 100.0)) }
                     td { (i.recommendation)
                          @if let (true, Some(t)) = (admin, i.suggested_threshold) { " " (apply(&i.intent, t)) } } }
            } }
        }
        table #failure-modes {
            caption { "Defects by intent and failure mode" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Failure mode" } th scope="col" { "Defects" } } }
            tbody { @for f in &r.failure_modes {
                tr { td { (f.intent) } td { (f.mode) } td { (f.defects) } }
            } }
        }
    };
    Ok(layout(
        &p,
        &format!("Defect review {}", r.week),
        "/ui/defects",
        body,
    ))
}

async fn defects_markdown(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<WeekQuery>,
) -> Page {
    person(&s, &headers).await?;
    let week = q.week.filter(|w| !w.trim().is_empty());
    let r = crate::week_review(&s, week.as_deref()).await?;
    Ok(markdown_download(
        &format!("defects-{}.md", r.week),
        flowgate_app::defects::markdown(&r),
    ))
}

// ---- governance ----------------------------------------------------------------------------

async fn governance_data(s: &AppState) -> Result<flowgate_app::governance::Governance, PageError> {
    crate::refresh_policy(s).await?;
    let policy = s.triage.read().await.gate.policy.clone();
    Ok(flowgate_app::governance::collect(&s.store, Some(&policy)).await?)
}

async fn governance(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    let body = html! {
        p { a href="/ui/governance.md" { "Export Markdown" } " · " a href="/ui/governance.json" { "Export JSON" } }
        dl.figures {
            dt { "Audit log" } dd { (g.audit_log) }
            dt { "Records" } dd { (g.records) " (" (g.decisions) " decisions, " (g.policy_changes) " policy changes)" }
            dt { "From – to" } dd { (g.first.clone().unwrap_or_default()) " – " (g.last.clone().unwrap_or_default()) }
            dt { "Thresholds" } dd { (g.threshold_guarantee) }
        }
        table #controls {
            caption { "Controls and their evidence (NIST AI RMF)" }
            thead { tr { th scope="col" { "Control" } th scope="col" { "NIST AI RMF" } th scope="col" { "In force" }
                th scope="col" { "Evidence" } } }
            tbody { @for c in &g.controls {
                tr { td { (c.control) } td { (c.nist) } td { @if c.in_force { "yes" } @else { strong { "no" } } }
                     td { (c.evidence) } }
            } }
        }
        table #by-action {
            caption { "Decisions by action" }
            tbody { @for (a, n) in &g.decisions_by_action { tr { th scope="row" { (a) } td { (n) } } } }
        }
    };
    Ok(layout(&p, "Governance", "/ui/governance", body))
}

async fn governance_markdown(State(s): State<Shared>, headers: HeaderMap) -> Page {
    person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    Ok(markdown_download(
        "governance.md",
        flowgate_app::governance::markdown(&g),
    ))
}

async fn governance_json(State(s): State<Shared>, headers: HeaderMap) -> Page {
    person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    Ok(axum::Json(g).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; fg_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "fg"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_behind_tls() {
        let mut h = HeaderMap::new();
        let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
        let c = c.to_str().unwrap();
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(!c.contains("Secure"), "{c}");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
        assert!(c.to_str().unwrap().ends_with("; Secure"));
    }
}
