//! The gate on tickets: decisions per ticket (`triage --policy`), their audit records, and
//! `flowgate replay` over labelled tickets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flowgate_demand::{IntentModel, Prediction, texts};
use flowgate_gate::policy::Condition;
use flowgate_gate::{Action, Decision, Gate, Policy, Ticket};
use serde::Serialize;

/// Loads a policy and resolves its thresholds against the model's held-out predictions.
pub fn load_gate(model: &IntentModel, policy: &Path) -> Result<Gate> {
    load_gate_with(model, policy, &[])
}

/// Production evidence: the reviewed decisions (acts and shadow reviews) in a database's
/// review queue, as (intent, confidence, right).
pub fn production_evidence(url: &str) -> Result<Vec<(String, f64, bool)>> {
    Ok(flowgate_store::review::evidence(&crate::db::review_items(
        url,
    )?))
}

/// [`load_gate`] with production evidence besides the held-out predictions.
pub fn load_gate_with(
    model: &IntentModel,
    policy: &Path,
    production: &[(String, f64, bool)],
) -> Result<Gate> {
    Ok(flowgate_app::gate::resolve(
        model,
        Policy::load(policy)?,
        production,
    )?)
}

/// Column names tried for the customer and the ticket time.
pub const CUSTOMER_NAMES: [&str; 4] = ["customer", "customer_id", "requester", "account"];
pub const TIME_NAMES: [&str; 5] = ["created", "created_at", "opened", "time", "timestamp"];

/// The position of a ticket column: `given` (any case), else the first of `names` present.
/// The error says who `needs` it ("{needs} a {role} column"; "no {role} column" when empty).
pub fn ticket_column(
    data: &texts::Labelled,
    path: &Path,
    given: Option<&str>,
    names: &[&str],
    role: &str,
    needs: &str,
) -> Result<usize> {
    let want: Vec<String> = match given {
        Some(g) => vec![g.to_lowercase()],
        None => names.iter().map(|s| s.to_string()).collect(),
    };
    want.iter()
        .find_map(|w| data.columns.iter().position(|c| c == w))
        .with_context(|| {
            let what = if needs.is_empty() {
                format!("no {role} column")
            } else {
                format!("{needs} a {role} column")
            };
            format!(
                "{}: {what} (tried {}; name it with --{role}-col); the header has: {}",
                path.display(),
                want.join(", "),
                data.columns.join(", ")
            )
        })
}

/// Per ticket: days since the same customer's previous ticket in the file, when the policy
/// has a repeat-contact rule (else all `None`).
pub fn days_since_previous(
    gate: &Gate,
    data: &texts::Labelled,
    path: &Path,
    customer_col: Option<&str>,
    time_col: Option<&str>,
) -> Result<Vec<Option<f64>>> {
    let n = data.texts.len();
    let Some(rule) = gate
        .policy
        .rules
        .iter()
        .find(|r| matches!(r.condition, Condition::RepeatWithinDays(_)))
    else {
        return Ok(vec![None; n]);
    };
    let needs = format!("rule {:?} (repeat contact) needs", rule.name);
    let c = ticket_column(
        data,
        path,
        customer_col,
        &CUSTOMER_NAMES,
        "customer",
        &needs,
    )?;
    let t = ticket_column(data, path, time_col, &TIME_NAMES, "time", &needs)?;
    let mut parser = flowgate_ingest::timestamp::TimestampParser::new(
        flowgate_ingest::timestamp::Zone::Utc,
        None,
    );
    let mut by_customer: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, row) in data.rows.iter().enumerate() {
        let cust = row.get(c).map(|s| s.trim()).unwrap_or_default();
        let raw = row.get(t).map(|s| s.trim()).unwrap_or_default();
        if cust.is_empty() {
            continue;
        }
        let ms = parser.parse(raw.as_bytes()).with_context(|| {
            format!(
                "{}:{}: field {:?} = {raw:?}: expected {}",
                path.display(),
                data.lines[i],
                data.columns[t],
                parser.expected()
            )
        })?;
        by_customer.entry(cust).or_default().push((ms, i));
    }
    let mut out = vec![None; n];
    for list in by_customer.values_mut() {
        list.sort_unstable();
        for w in list.windows(2) {
            out[w[1].1] = Some((w[1].0 - w[0].0) as f64 / 86_400_000.0);
        }
    }
    Ok(out)
}

/// Row `i` of a ticket table as the gate's ticket (the customer from `customer_col` when
/// the column is not named `customer`).
pub fn ticket(data: &texts::Labelled, i: usize, customer_col: Option<usize>) -> Ticket {
    let empty = Vec::new();
    let row = data.rows.get(i).unwrap_or(&empty);
    let mut t = Ticket::from_row(&data.ids[i], &data.texts[i], &data.columns, row);
    if t.customer.is_none() {
        t.customer = customer_col
            .and_then(|c| row.get(c))
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
    }
    t
}

/// The gate's decision for ticket `i` of `data`.
pub fn decide(
    gate: &Gate,
    data: &texts::Labelled,
    i: usize,
    p: &Prediction,
    days_since_previous: Option<f64>,
    kb_article: Option<bool>,
) -> Result<Decision> {
    Ok(gate.decide(
        &ticket(data, i, None),
        days_since_previous,
        &flowgate_app::triage::verdict(p),
        kb_article,
    )?)
}

/// Who the command acts as in audit records: `FLOWGATE_ACTOR`, else `cli:` and the OS user.
pub fn actor() -> String {
    std::env::var("FLOWGATE_ACTOR")
        .ok()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| {
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            )
        })
        .replace(['\n', '\r'], " ")
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Labelled tickets: a CSV with a header, or a folder with seq.in and label.
    pub file: PathBuf,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub time_col: Option<String>,
    /// Add production evidence: the reviewed decisions in this database's review queue.
    #[arg(long, value_name = "URL")]
    pub evidence_db: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Serialize)]
pub struct Replay {
    pub tickets: usize,
    pub model: String,
    pub policy: String,
    /// Share of tickets the AI answers itself.
    pub act_coverage: f64,
    /// Share of `act` decisions whose intent matched the label.
    pub act_precision: Option<f64>,
    /// 95% Wilson interval of `act_precision`.
    pub act_precision_interval: Option<(f64, f64)>,
    /// Counts by decision kind.
    pub decisions: BTreeMap<&'static str, usize>,
    /// Counts by the rule or check that decided.
    pub rules: BTreeMap<String, usize>,
    /// Per intent (by label): tickets, acted, acted right.
    pub intents: Vec<ReplayIntent>,
    /// Per intent the model knows: the gate in effect and the evidence behind it.
    pub per_intent: Vec<PerIntent>,
}

/// One intent's gate: the mode in effect (after calibration, kill switches and `human`
/// modes; `auto` only where it may act), its threshold and the evidence that earned it.
#[derive(Serialize)]
pub struct PerIntent {
    pub intent: String,
    pub mode: &'static str,
    pub threshold: Option<f64>,
    /// Predictions at or above the threshold in the evidence used (all of the intent's
    /// predictions when it has no threshold).
    pub n: u64,
    pub precision: Option<f64>,
    /// One-sided 95% lower bound of precision at the threshold (null without one).
    pub lower_bound: Option<f64>,
    pub target: f64,
    pub method: flowgate_gate::Method,
    pub evidence: flowgate_gate::Evidence,
}

/// The per-intent gate table of `gate` for `labels`.
pub fn per_intent(gate: &Gate, labels: &[String]) -> Vec<PerIntent> {
    labels
        .iter()
        .map(|l| {
            let c = gate.calibration.get(l);
            let threshold = gate.thresholds.get(l).and_then(|r| r.threshold);
            PerIntent {
                intent: l.clone(),
                mode: gate.effective_mode(l),
                threshold,
                n: c.map_or(0, |c| c.kept),
                precision: c.and_then(|c| c.precision),
                lower_bound: threshold.and(c.and_then(|c| c.lower_bound)),
                target: gate.policy.intent(l).target_precision,
                method: gate.policy.method,
                evidence: c.map_or(flowgate_gate::Evidence::HeldOut, |c| c.evidence),
            }
        })
        .collect()
}

#[derive(Serialize)]
pub struct ReplayIntent {
    pub intent: String,
    pub tickets: usize,
    pub acted: usize,
    pub acted_right: usize,
    pub threshold: Option<f64>,
}

pub fn replay(args: ReplayArgs) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let production = match &args.evidence_db {
        Some(url) => production_evidence(url)?,
        None => Vec::new(),
    };
    let gate = load_gate_with(&model, &args.policy, &production)?;
    let data = texts::read_columns(
        &args.file,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: args.label_col.as_deref(),
            id: args.id_col.as_deref(),
        },
        true,
    )?;
    gate.policy
        .check_columns(&data.columns, &args.policy.display().to_string())?;
    let days = days_since_previous(
        &gate,
        &data,
        &args.file,
        args.customer_col.as_deref(),
        args.time_col.as_deref(),
    )?;
    let enc = crate::demand::encoder()?;
    let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let preds = crate::demand::classify(&model, &enc, &refs, args.quiet)?;
    let r = replay_predictions(&gate, &model, &data, &preds, &days)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print!("{}", replay_text(&r));
    Ok(())
}

/// The replay figures from predictions already made.
pub fn replay_predictions(
    gate: &Gate,
    model: &IntentModel,
    data: &texts::Labelled,
    preds: &[Prediction],
    days: &[Option<f64>],
) -> Result<Replay> {
    let mut decisions: BTreeMap<&'static str, usize> =
        Action::ALL.iter().map(|a| (a.as_str(), 0)).collect();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (i, p) in preds.iter().enumerate() {
        let d = decide(gate, data, i, p, days[i], None)?;
        *decisions.entry(d.action.as_str()).or_default() += 1;
        *rules.entry(d.rule.clone()).or_default() += 1;
        let e = per.entry(data.labels[i].as_str()).or_default();
        e.0 += 1;
        if d.action == Action::Act {
            e.1 += 1;
            if p.intent == data.labels[i] {
                e.2 += 1;
            }
        }
    }
    let acted: usize = per.values().map(|v| v.1).sum();
    let right: usize = per.values().map(|v| v.2).sum();
    let interval = flowgate_gate::interval::wilson_interval(right as u64, acted as u64);
    Ok(Replay {
        tickets: preds.len(),
        model: model.header.model_id.clone(),
        policy: gate.policy.hash.clone(),
        act_coverage: acted as f64 / preds.len().max(1) as f64,
        act_precision: (acted > 0).then(|| right as f64 / acted as f64),
        act_precision_interval: interval,
        decisions,
        rules,
        intents: per
            .into_iter()
            .map(|(k, v)| ReplayIntent {
                intent: k.to_owned(),
                tickets: v.0,
                acted: v.1,
                acted_right: v.2,
                threshold: gate.thresholds.get(k).and_then(|r| r.threshold),
            })
            .collect(),
        per_intent: per_intent(gate, &model.header.labels),
    })
}

pub fn replay_text(r: &Replay) -> String {
    let mut s = format!(
        "replay of {} tickets (model {}, policy {})\n",
        r.tickets,
        r.model,
        r.policy.chars().take(19).collect::<String>()
    );
    match (r.act_precision, r.act_precision_interval) {
        (Some(p), Some((lo, hi))) => s.push_str(&format!(
            "act: {:.1}% of tickets, precision {:.2}% (95% CI {:.2}–{:.2}%)\n",
            r.act_coverage * 100.0,
            p * 100.0,
            lo * 100.0,
            hi * 100.0
        )),
        _ => s.push_str("act: no ticket\n"),
    }
    s.push_str("decisions:");
    for (k, v) in &r.decisions {
        s.push_str(&format!(" {k} {v}"));
    }
    s.push_str("\ndecided by:");
    let mut rules: Vec<(&String, &usize)> = r.rules.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in rules {
        s.push_str(&format!(" {k} {v};"));
    }
    s.push('\n');
    s
}
