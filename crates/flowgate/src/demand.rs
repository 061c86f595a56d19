//! `flowgate train` and `flowgate eval`: the intent model from labelled texts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::encode::{bar, classify, encoder};
use flowgate_demand::linear::TrainParams;
use flowgate_demand::{IntentModel, evaluate, texts};
use flowgate_flow::demand::{BucketRules, Demand};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labelled texts: a CSV with a header, or a folder with seq.in and label.
    #[arg(long, value_name = "FILE")]
    pub texts: PathBuf,
    /// Text column (default: text, utterance, body, query, message or instruction).
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    /// Label column (default: label, intent, category or class).
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Weight of the sentence embedding against the TF-IDF word and character blocks.
    #[arg(long, default_value_t = 1.5)]
    pub embed_weight: f32,
    /// Learning rate of the first step.
    #[arg(long, default_value_t = 0.5)]
    pub lr: f32,
    /// Calibrated confidence below which a ticket counts as ambiguous.
    #[arg(long, default_value_t = 0.5)]
    pub min_confidence: f32,
    /// Share of the 10 nearest training texts' vote in the intent probabilities, 0 to 1
    /// (0: the linear model alone).
    #[arg(long, default_value_t = 0.4, value_parser = unit_share)]
    pub vote_weight: f32,
    /// The event log of these tickets: assigns each intent its bucket from its flow
    /// history (the texts need a case id column) and stores it in the model.
    #[arg(long, value_name = "LOG")]
    pub log: Option<PathBuf>,
    /// Built-in preset for --log.
    #[arg(long, requires = "log", conflicts_with = "mapping")]
    pub preset: Option<String>,
    /// Mapping TOML for --log.
    #[arg(long, requires = "log", value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Case id column of the texts (default: case_id, case, ticket_id, ticket or id).
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    /// Check the labels first (5-fold, confident learning) and write the texts whose label
    /// the rest of the data contradicts here, with the label it suggests.
    #[arg(long, value_name = "FILE")]
    pub audit_labels: Option<PathBuf>,
    /// Train without the texts the label audit finds suspect.
    #[arg(long)]
    pub drop_suspects: bool,
    /// Folds of cross-fitting whose out-of-fold predictions are kept in the model for the
    /// gate's threshold calibration (0: none; then `gate calibrate` needs --texts).
    #[arg(long, default_value_t = 5)]
    pub gate_folds: usize,
    /// Examples of out-of-scope requests (CSV or a seq.in folder; labels ignored): the model
    /// learns them as one more class that is never an intent, which sharpens the
    /// out-of-scope score for requests near your intents.
    #[arg(long, value_name = "FILE")]
    pub oos_texts: Option<PathBuf>,
    /// Texts of --texts with this label are out-of-scope examples, not an intent (e.g. a
    /// helpdesk's `other`).
    #[arg(long, value_name = "LABEL")]
    pub oos_label: Option<String>,
}

fn unit_share(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a number from 0 to 1, got {s:?}")),
    }
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled test texts (CSV or a seq.in/label folder).
    #[arg(long, value_name = "FILE")]
    pub texts: PathBuf,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    /// Out-of-scope texts (labels ignored) for the out-of-scope AUROC.
    #[arg(long, value_name = "FILE")]
    pub oos: Option<PathBuf>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn train(args: TrainArgs, settings: &crate::config::Settings) -> Result<()> {
    let data = texts::read_columns(
        &args.texts,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: args.label_col.as_deref(),
            id: args.id_col.as_deref(),
        },
        true,
    )?;
    // Read the log first: a bad log should fail before minutes of training.
    let history = match &args.log {
        Some(log) => {
            let mapping = crate::load::choose_mapping(
                args.preset.as_deref(),
                args.mapping.as_deref(),
                settings,
            )?;
            let got = crate::load::read(log, mapping, false, true)?;
            if !data.ids.iter().any(|id| got.log.cases.get(id).is_some()) {
                anyhow::bail!(
                    "{}: no text's id matches a case of {}; name the case id column with --id-col",
                    args.texts.display(),
                    log.display()
                );
            }
            Some(got)
        }
        None => None,
    };
    let oos_texts: Vec<String> = match &args.oos_texts {
        Some(p) => texts::read(p, args.text_col.as_deref(), None, false)?.texts,
        None => Vec::new(),
    };
    let t0 = Instant::now();
    let enc = encoder()?;
    let b = bar(false);
    let progress = |stage: &str, done: usize, total: usize| {
        if let Some(b) = &b {
            b.set_message(stage.to_owned());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let req = flowgate_app::train::TrainRequest {
        data,
        oos_texts,
        oos_label: args.oos_label.clone(),
        params: TrainParams {
            epochs: args.epochs,
            embed_weight: args.embed_weight,
            lr: args.lr,
            min_confidence: args.min_confidence,
            knn_weight: args.vote_weight,
            ..TrainParams::default()
        },
        gate_folds: args.gate_folds,
        audit_labels: args.audit_labels.is_some(),
        drop_suspects: args.drop_suspects,
    };
    let trained = flowgate_app::train::train(&enc, req, &progress)
        .with_context(|| args.texts.display().to_string())?;
    if let Some(b) = &b {
        b.finish_and_clear();
    }
    if args.audit_labels.is_some() || args.drop_suspects {
        report_suspects(&trained, args.audit_labels.as_deref())?;
    }
    let (mut model, data) = (trained.model, trained.data);
    if let Some(h) = &history {
        let d = flowgate_app::demand::labelled(&h.log, &data, &model, &settings.demand)?;
        let counts = flowgate_app::demand::store_buckets(&mut model, &d);
        println!(
            "buckets from {} joined cases: {} repetitive, {} judgment, {} ambiguous intents",
            d.tickets, counts[0], counts[1], counts[2]
        );
    }
    model.save(&args.out)?;
    println!(
        "trained {} on {} texts, {} intents{} in {:.0}s (temperature {:.2}, out-of-scope threshold {:.3}); wrote {}",
        model.header.model_id,
        data.texts.len(),
        model.header.labels.len(),
        match model.header.oos_examples {
            0 => String::new(),
            n => format!(" and {n} out-of-scope examples"),
        },
        t0.elapsed().as_secs_f64(),
        model.header.temperature,
        model.header.oos_threshold,
        args.out.display()
    );
    Ok(())
}

/// The label audit: how many texts look mislabelled, listed as CSV in `path` when given.
fn report_suspects(t: &flowgate_app::train::Trained, path: Option<&std::path::Path>) -> Result<()> {
    if let Some(path) = path {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["line", "id", "text", "label", "suggested", "confidence"])?;
        for sp in &t.suspects {
            w.write_record([
                &sp.line.to_string(),
                &sp.id,
                &sp.text,
                &sp.given,
                &sp.suggested,
                &format!("{:.3}", sp.confidence),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::output::write_atomic(path, &bytes)?;
    }
    eprintln!(
        "label audit: {} of {} texts look mislabelled{}",
        t.suspects.len(),
        t.data.texts.len() + t.dropped,
        match path {
            Some(p) => format!(" (listed in {})", p.display()),
            None => String::new(),
        }
    );
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let data = texts::read(
        &args.texts,
        args.text_col.as_deref(),
        args.label_col.as_deref(),
        true,
    )?;
    let oos = match &args.oos {
        Some(p) => texts::read(p, args.text_col.as_deref(), None, false)?.texts,
        None => Vec::new(),
    };
    let enc = encoder()?;
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let oos: Vec<&str> = oos.iter().map(String::as_str).collect();
    let r = evaluate::evaluate(&model, &enc, &texts, &labels, &oos)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} texts: accuracy {:.2}%, macro-F1 {:.4}, ECE {:.4}",
        r.texts,
        r.accuracy * 100.0,
        r.macro_f1,
        r.ece
    );
    if let Some(a) = r.oos_auroc {
        println!(
            "out of scope: AUROC {a:.4}; flagged {:.1}% of out-of-scope texts and {:.1}% of in-scope ones",
            r.oos_flagged.unwrap_or(0.0) * 100.0,
            r.in_scope_flagged * 100.0
        );
    }
    for c in &r.coverage_at_precision {
        println!(
            "  at {:.0}% precision: {:.1}% of tickets answered (confidence ≥ {:.3})",
            c.precision * 100.0,
            c.coverage * 100.0,
            c.threshold
        );
    }
    if r.unknown_labels > 0 {
        println!(
            "{} texts carry labels the model was not trained on (counted as errors)",
            r.unknown_labels
        );
    }
    Ok(())
}

/// Where the tickets are and which columns to read.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TicketArgs {
    /// Ticket texts with a case id column (CSV): joins intents to the process layer.
    #[arg(long, value_name = "FILE")]
    pub tickets: Option<PathBuf>,
    /// Text column(s) of --tickets, comma-separated (default: subject and body, or text…).
    #[arg(long = "ticket-text-col", value_name = "C")]
    pub text_col: Option<String>,
    /// Case id column of --tickets (default: case_id, case, ticket_id, ticket or id).
    #[arg(long = "ticket-id-col", value_name = "C")]
    pub id_col: Option<String>,
    /// Intent column of --tickets, used when no --model is given (default: intent, label…).
    #[arg(long = "ticket-intent-col", value_name = "C")]
    pub intent_col: Option<String>,
    /// Classify the tickets with this model instead of reading their intent column.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
}

/// Reads the tickets, classifies them (or reads their labels) and joins them to the log's
/// cases; then the demand section.
pub fn demand_section(
    log: &flowgate_flow::EventLog,
    args: &TicketArgs,
    rules: &BucketRules,
    quiet: bool,
) -> Result<Option<Demand>> {
    let Some(path) = &args.tickets else {
        return Ok(None);
    };
    let model = args.model.as_deref().map(IntentModel::load).transpose()?;
    let data = texts::read_columns(
        path,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: args.intent_col.as_deref(),
            id: args.id_col.as_deref(),
        },
        model.is_none(),
    )?;
    let (intents, per_ticket, unclear, cohesion) = match &model {
        Some(m) => {
            let enc = encoder()?;
            let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            let preds = classify(m, &enc, &texts, quiet)?;
            let labels = m.header.labels.clone();
            let idx: Vec<u32> = preds
                .iter()
                .map(|p| labels.iter().position(|l| *l == p.intent).unwrap_or(0) as u32)
                .collect();
            let unclear: Vec<bool> = preds.iter().map(|p| p.ambiguous).collect();
            (
                labels,
                idx,
                unclear,
                flowgate_app::demand::model_cohesion(m),
            )
        }
        None => {
            let mut labels: Vec<String> = data.labels.clone();
            labels.sort();
            labels.dedup();
            let idx = data
                .labels
                .iter()
                .map(|l| labels.binary_search(l).unwrap_or(0) as u32)
                .collect();
            (labels, idx, vec![false; data.texts.len()], None)
        }
    };
    let joined = flowgate_app::demand::Joined {
        intents,
        ids: &data.ids,
        per_ticket: &per_ticket,
        unclear: &unclear,
        cohesion,
    };
    let (d, unmatched) = joined.demand(log, rules);
    if unmatched > 0 && !quiet {
        eprintln!(
            "warning: {unmatched} of {} tickets in {} match no case of the log (by id)",
            data.ids.len(),
            path.display()
        );
    }
    if unmatched == data.ids.len() {
        anyhow::bail!(
            "{}: no ticket id matches a case of the log; name the case id column with --ticket-id-col",
            path.display()
        );
    }
    Ok(Some(d))
}

#[derive(clap::Args, Debug)]
pub struct TriageArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Tickets: a CSV with a header, or a folder with seq.in.
    pub file: PathBuf,
    /// Text column(s), comma-separated (default: subject and body, or text, utterance…).
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    /// Ticket id column (default: case_id, case, ticket_id, ticket or id; else the line).
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    /// Write the JSON lines here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Texts per encoder batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Gate policy (TOML): adds each ticket's decision, the rule that decided and why.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Knowledge base (`flowgate kb build`): an intent without a current article is never
    /// acted on (`no-kb-article`).
    #[arg(long, value_name = "KB", requires = "policy")]
    pub kb: Option<PathBuf>,
    /// With --kb: an article reviewed longer ago than this does not count.
    #[arg(long, default_value_t = 180)]
    pub stale_days: i64,
    /// Append every decision to the audit log in the database (--db or the settings').
    #[arg(long, requires = "policy")]
    pub audit: bool,
    /// Database for --audit (SQLite path or postgres://…).
    #[arg(long, value_name = "URL", requires = "audit")]
    pub db: Option<String>,
    /// With --audit: the help desk the tickets come from (a ticket is its source and id: the
    /// same id from another source is another ticket).
    #[arg(long, value_name = "NAME", default_value = "file", requires = "audit")]
    pub source: flowgate_gate::ticket::SourceName,
    /// Add production evidence to the thresholds: the reviewed decisions in this database's
    /// review queue (often the --db one).
    #[arg(long, value_name = "URL", requires = "policy")]
    pub evidence_db: Option<String>,
    /// Customer column, for repeat-contact rules (default: customer, customer_id…).
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    /// Ticket time column, for repeat-contact rules (default: created, created_at…).
    #[arg(long, value_name = "C")]
    pub time_col: Option<String>,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(serde::Serialize)]
struct TriageLine<'a> {
    id: &'a str,
    intent: &'a str,
    confidence: f32,
    top3: Vec<Ranked<'a>>,
    oos_score: f32,
    out_of_scope: bool,
    bucket: &'a str,
    reason: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    gate: Option<GateFields<'a>>,
}

#[derive(serde::Serialize)]
struct GateFields<'a> {
    decision: &'static str,
    rule: &'a str,
    decision_reason: &'a str,
    threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct Ranked<'a> {
    intent: &'a str,
    confidence: f32,
}

/// The per-ticket bucket (see [`IntentModel::bucket`]).
pub fn ticket_bucket<'a>(
    model: &'a IntentModel,
    p: &flowgate_demand::Prediction,
) -> (&'a str, String) {
    model.bucket(p)
}

/// One ticket's JSON line, newline included.
pub fn triage_line(
    model: &IntentModel,
    id: &str,
    p: &flowgate_demand::Prediction,
    decision: Option<&flowgate_gate::Decision>,
) -> Result<String> {
    let (bucket, reason) = ticket_bucket(model, p);
    let gate = decision.map(|d| GateFields {
        decision: d.action.as_str(),
        rule: &d.rule,
        decision_reason: &d.reason,
        threshold: d.threshold,
        team: d.team.as_deref(),
    });
    let line = TriageLine {
        id,
        intent: &p.intent,
        confidence: p.confidence,
        top3: p
            .top3
            .iter()
            .map(|(i, c)| Ranked {
                intent: i,
                confidence: *c,
            })
            .collect(),
        oos_score: p.oos_score,
        out_of_scope: p.out_of_scope,
        bucket,
        reason,
        gate,
    };
    let mut s = serde_json::to_string(&line)?;
    s.push('\n');
    Ok(s)
}

pub fn triage(args: TriageArgs, settings: &crate::config::Settings) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let gate = match &args.policy {
        Some(p) => {
            let production = match &args.evidence_db {
                Some(url) => crate::risk::production_evidence(url)?,
                None => Vec::new(),
            };
            Some(crate::risk::load_gate_with(&model, p, &production)?)
        }
        None => None,
    };
    let data = texts::read_columns(
        &args.file,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: None,
            id: args.id_col.as_deref(),
        },
        false,
    )?;
    if let (Some(g), Some(p)) = (&gate, &args.policy) {
        g.policy
            .check_columns(&data.columns, &p.display().to_string())?;
    }
    let days = match &gate {
        Some(g) => flowgate_app::tickets::days_since_previous(
            g,
            &data,
            &args.file,
            args.customer_col.as_deref(),
            args.time_col.as_deref(),
        )?,
        None => vec![None; data.texts.len()],
    };
    let kb = args.kb.as_deref().map(flowgate_kb::Kb::open).transpose()?;
    // The customer of each ticket, kept with its text for erasure on request.
    let customer_col = flowgate_app::tickets::ticket_column(
        &data,
        &args.file,
        args.customer_col.as_deref(),
        &flowgate_app::tickets::CUSTOMER_NAMES,
        "customer",
        "",
    )
    .ok();
    let enc = encoder()?;
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let mut out = String::new();
    let mut kept: Vec<(flowgate_gate::Ticket, flowgate_app::Triaged)> = Vec::new();
    let b = bar(args.quiet);
    if let Some(b) = &b {
        b.set_message("triage");
        b.set_length(texts.len() as u64);
    }
    let t0 = Instant::now();
    let batch = args.batch.max(1);
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    // With a policy, the whole use case; without, the model's prediction alone.
    let triage: std::result::Result<flowgate_app::Triage, IntentModel> = match gate {
        Some(gate) => Ok(flowgate_app::Triage {
            model,
            gate,
            kb,
            stale_days: args.stale_days,
        }),
        None => Err(model),
    };
    for (k, chunk) in texts.chunks(batch).enumerate() {
        let emb = enc.embed(chunk)?;
        for (j, e) in emb.iter().enumerate() {
            let i = k * batch + j;
            match &triage {
                Ok(t) => {
                    let mut ticket = flowgate_app::tickets::ticket(&data, i, customer_col);
                    ticket.source = Some(args.source.clone());
                    let now = jiff::Timestamp::now();
                    let done = t.triage(&ticket, e, days[i], now)?;
                    *counts.entry(done.decision.action.as_str()).or_default() += 1;
                    out.push_str(&triage_line(
                        &t.model,
                        &data.ids[i],
                        &done.prediction,
                        Some(&done.decision),
                    )?);
                    if args.audit {
                        kept.push((ticket, done));
                    }
                }
                Err(model) => {
                    let p = model.predict_one(texts[i], e);
                    out.push_str(&triage_line(model, &data.ids[i], &p, None)?);
                }
            }
        }
        if let Some(b) = &b {
            b.inc(chunk.len() as u64);
        }
    }
    if let Some(b) = &b {
        b.finish_and_clear();
    }
    if let (true, Ok(t)) = (args.audit, &triage) {
        let url = crate::db::database_url(args.db.as_deref(), settings);
        let now = jiff::Timestamp::now();
        let rt = crate::db::runtime()?;
        let recorded = rt.block_on(async {
            let s = flowgate_store::Store::open(&url).await?;
            s.migrate().await?;
            let r = flowgate_app::live::record_batch(
                &s,
                &t.gate.policy,
                kept,
                &crate::risk::actor(),
                // Sampled by `flowgate review queue` over the chain, by the policy's seed.
                flowgate_app::live::Sampling::Later,
                now,
            )
            .await;
            if let (Ok(_), Some(days)) = (&r, settings.text_retention_days) {
                flowgate_app::retention::apply(&s, days, now.as_millisecond()).await?;
            }
            s.close().await;
            anyhow::Ok(r?)
        })?;
        if !args.quiet {
            eprintln!(
                "audit log: {} decisions recorded, {} decided before (same ticket and content); head {}",
                recorded.created,
                recorded.existing,
                recorded.head.as_deref().unwrap_or("-")
            );
        }
    }
    crate::output::write(args.out.as_deref(), out.as_bytes())?;
    if !args.quiet {
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "triaged {} tickets in {secs:.1}s ({:.0}/s)",
            texts.len(),
            texts.len() as f64 / secs.max(1e-9)
        );
        if !counts.is_empty() {
            let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("decisions: {}", parts.join(", "));
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    /// Unlabelled texts: a CSV with a header, or a folder with seq.in.
    #[arg(long, value_name = "FILE")]
    pub texts: PathBuf,
    /// Text column(s), comma-separated (default: subject and body, or text, utterance…).
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    /// Id column kept in the output (default: case_id, case, ticket_id, ticket or id).
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    /// Fewest clusters to try.
    #[arg(long, default_value_t = 2)]
    pub k_min: usize,
    /// Most clusters to try; the silhouette picks among them.
    #[arg(long, default_value_t = 40)]
    pub k_max: usize,
    /// The labelled file to write (id, text, label, cluster, similarity): correct the labels
    /// by hand, then `flowgate train --texts` it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// text or json (the summary on stdout).
    #[arg(long, default_value = "text")]
    pub format: String,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn discover(args: DiscoverArgs) -> Result<()> {
    use flowgate_demand::discover::{DiscoverParams, discover};
    if args.k_min > args.k_max || args.k_max < 2 {
        anyhow::bail!(
            "--k-min {} and --k-max {}: need 1 ≤ k-min ≤ k-max and k-max ≥ 2",
            args.k_min,
            args.k_max
        );
    }
    let data = texts::read_columns(
        &args.texts,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: None,
            id: args.id_col.as_deref(),
        },
        false,
    )?;
    if data.texts.len() < 3 {
        anyhow::bail!(
            "{}: {} texts; discovery needs at least 3",
            args.texts.display(),
            data.texts.len()
        );
    }
    let enc = encoder()?;
    let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let t0 = Instant::now();
    let b = bar(args.quiet);
    let emb = flowgate_demand::intent::embed_all(&enc, &refs, &|stage, done, total| {
        if let Some(b) = &b {
            b.set_message(stage.to_owned());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    })?;
    let params = DiscoverParams {
        k_min: args.k_min.max(1),
        k_max: args.k_max,
        ..DiscoverParams::default()
    };
    if let Some(b) = &b {
        b.set_message("clustering (k)");
        b.set_position(0);
        b.set_length((params.k_max + 1 - params.k_min) as u64);
    }
    let d = discover(&refs, &emb, &params, &|_| {
        if let Some(b) = &b {
            b.inc(1);
        }
    });
    if let Some(b) = &b {
        b.finish_and_clear();
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "text", "label", "cluster", "similarity"])?;
    for (i, text) in data.texts.iter().enumerate() {
        let c = d.assignment[i];
        w.write_record([
            data.ids[i].as_str(),
            text,
            &d.clusters[c].name,
            &(c + 1).to_string(),
            &format!("{:.3}", d.similarity[i]),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::output::write_atomic(&args.out, &bytes)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&d.clusters)?);
        return Ok(());
    }
    let sil = d
        .silhouettes
        .iter()
        .find(|(k, _)| *k == d.k)
        .map_or(0.0, |s| s.1);
    println!(
        "{} texts → {} candidate intents (silhouette {sil:.3}, best of k = {}..{}) in {:.0}s; wrote {}",
        refs.len(),
        d.k,
        params.k_min,
        params.k_max.min(refs.len() - 1),
        t0.elapsed().as_secs_f64(),
        args.out.display()
    );
    let mut order: Vec<usize> = (0..d.clusters.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(d.clusters[c].size));
    for c in order {
        let cl = &d.clusters[c];
        println!(
            "  {:>3}. {:<32} {:>6} texts  e.g. {:?}",
            c + 1,
            cl.name,
            cl.size,
            cl.examples.first().map(|&i| refs[i]).unwrap_or("")
        );
    }
    println!(
        "Correct the label column where a cluster is wrong, then: flowgate train --texts {} --out model.fgim",
        args.out.display()
    );
    Ok(())
}
