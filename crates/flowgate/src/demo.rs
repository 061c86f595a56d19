//! `flowgate demo`: generate the synthetic support organisation, analyse it, write reports.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use flowgate_flow::BaselineOptions;
use flowgate_ingest::Mapping;
use flowgate_report::{Format, Meta};
use flowgate_synth::Config;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(long, default_value = "flowgate-demo")]
    pub out: PathBuf,
    /// How many tickets.
    #[arg(long, default_value_t = 50_000)]
    pub tickets: usize,
    /// Random seed (the same seed gives the same organisation).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: DemoArgs) -> Result<()> {
    let start = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let cfg = Config {
        tickets: args.tickets,
        seed: args.seed,
        ..Config::default()
    };
    let g = flowgate_synth::generate(&cfg);
    let log_path = args.out.join("tickets-log.csv");
    let preset_path = args.out.join("demo-preset.toml");
    flowgate_synth::write_log_csv(&log_path, &g)?;
    flowgate_synth::write_tickets_csv(&args.out.join("tickets.csv"), &g)?;
    flowgate_synth::write_preset(&preset_path)?;

    let mapping = Mapping::from_toml(flowgate_synth::PRESET_TOML, "demo preset")?;
    let rows = crate::load::read_rows(&log_path, Some(mapping), true, true)?;
    // The history goes into the embedded database, and the report reads it back from there.
    let db_path = args.out.join("flowgate.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let db_url = db_path.display().to_string();
    let stored = crate::db::store_rows(&db_url, "demo", &rows, &log_path, true, false)?;
    drop(rows);
    let (got, _) = crate::db::load(&db_url, Some("demo"))?;
    let mut opts = BaselineOptions::new();
    opts.sla = got.mapping.sla_config();
    let mut b = flowgate_flow::baseline(&got.log, &opts);
    let summary = demand(&args.out, &g, &got.log, &mut b)?;
    let meta = Meta {
        title: "flowgate demo: process baseline".into(),
        source: "tickets-log.csv (synthetic support organisation)".into(),
        mapping: "demo".into(),
        rejected_rows: 0,
        risk: None,
    };
    let (value_html, value_summary) = value_sections(got, &b, args.seed)?;
    let html = args.out.join("report.html");
    crate::output::write_atomic(
        &html,
        flowgate_report::render(&b, &meta, Format::Html)
            .replacen("</main>", &format!("{value_html}</main>"), 1)
            .as_bytes(),
    )?;
    crate::output::write_atomic(
        &args.out.join("baseline.json"),
        flowgate_report::render(&b, &meta, Format::Json).as_bytes(),
    )?;
    crate::output::write_atomic(
        &args.out.join("baseline.md"),
        flowgate_report::render(&b, &meta, Format::Markdown).as_bytes(),
    )?;
    print!("{}", flowgate_report::render(&b, &meta, Format::Text));
    println!(
        "\n{} tickets, {} events generated and analysed in {:.1}s.",
        g.tickets.len(),
        g.events.len(),
        start.elapsed().as_secs_f64()
    );
    println!("{summary}");
    print!("{value_summary}");
    println!("Report:  {}", html.display());
    println!(
        "Store:   {} ({} events, source \"demo\"; flowgate baseline --db {} --format md)",
        db_path.display(),
        stored.events_new,
        db_path.display()
    );
    println!(
        "Data:    {} (event log), {} (ticket texts), {} (mapping)",
        log_path.display(),
        args.out.join("tickets.csv").display(),
        preset_path.display()
    );
    println!(
        "Try:     flowgate baseline {} --mapping {} --format md",
        log_path.display(),
        preset_path.display()
    );
    Ok(())
}

/// The value layer on the demo: the weekly scorecard, a simulated pilot (the AI takes 70% of
/// the repetitive intents at 98% precision) against its baseline in budget terms, and a
/// spike of twice the arrivals for three days. Returns HTML sections and a text summary.
fn value_sections(
    got: flowgate_ingest::Ingested,
    b: &flowgate_flow::Baseline,
    seed: u64,
) -> Result<(String, String)> {
    use flowgate_report::value as rv;
    use std::fmt::Write;
    let records = flowgate_flow::cases::case_records(&got.log);
    let card = flowgate_value::scorecard(&records, &[], &Default::default());
    let loaded = flowgate_app::analytics::SourceLog {
        log: got.log,
        records,
        mapping: got.mapping,
        source: "demo".into(),
    };
    let model = flowgate_app::whatif::fit(&loaded, "intent");
    let mut repetitive: Vec<String> = b
        .demand
        .iter()
        .flat_map(|d| &d.intents)
        .filter(|i| i.bucket == flowgate_flow::demand::Bucket::Repetitive)
        .map(|i| i.intent.clone())
        .collect();
    if repetitive.is_empty() {
        repetitive = [
            "password_reset",
            "order_status",
            "invoice_copy",
            "address_change",
        ]
        .map(str::to_owned)
        .to_vec();
    }
    let reps = 10;
    let base_sc = flowgate_sim::Scenario {
        replications: Some(reps),
        seed: Some(seed),
        ..Default::default()
    };
    let pilot_sc = flowgate_sim::Scenario {
        ai: repetitive
            .iter()
            .map(|i| flowgate_sim::scenario::AiShare {
                intent: i.clone(),
                share: 0.7,
                precision: 0.98,
            })
            .collect(),
        ..base_sc.clone()
    };
    let spike_sc = flowgate_sim::Scenario {
        arrivals: flowgate_sim::scenario::Arrivals {
            scale: None,
            spikes: vec![flowgate_sim::scenario::Spike {
                factor: 2.0,
                start_day: 60,
                days: 3,
            }],
        },
        ..base_sc.clone()
    };
    let base = flowgate_sim::simulate(&model, &base_sc, 2);
    let pilot = flowgate_sim::simulate(&model, &pilot_sc, 2);
    let spike = flowgate_sim::simulate(&model, &spike_sc, 2);
    let months = loaded.log.span().map_or(1.0, |(a, z)| {
        ((z - a) as f64 / 86_400_000.0 / 30.44).max(1.0)
    });
    let budget = flowgate_value::Budget {
        currency: "EUR".into(),
        loaded_cost_per_agent_hour: 38.0,
        tickets_per_month: (loaded.log.n_cases() as f64 / months).round(),
        revenue_per_customer: None,
        churn_rate: None,
    };
    let terms = flowgate_value::budget::simulated_terms(&budget, &base, &pilot);
    let mut html = String::new();
    let _ = write!(
        html,
        "<h2>Weekly scorecard</h2>{}<h2>Simulated pilot: the AI takes 70% of the repetitive intents at 98% precision</h2><p class=\"note\">Intents: {}. {} replications on the same seeds as the baseline; wrong answers come back as reopens after a day.</p>{}<h3>In budget terms (38 EUR an agent hour)</h3>{}<h2>Spike: twice the arrivals for three days (days 61–63)</h2>{}",
        rv::scorecard_section(&card),
        repetitive.join(", "),
        reps,
        rv::simulation_section(&pilot, Some(&base)),
        rv::budget_section(&terms),
        rv::simulation_section(&spike, Some(&base)),
    );
    let mut text = String::new();
    if let Some(w) = card.latest() {
        let _ = writeln!(
            text,
            "Scorecard {}: cycle time p50 {} / p85 {}, {:.1} defects per 100 resolved, {:.1}% escalated",
            w.week,
            flowgate_report::duration(w.cycle_time_p50_s.unwrap_or(0.0)),
            flowgate_report::duration(w.cycle_time_p85_s.unwrap_or(0.0)),
            w.defects_per_100.unwrap_or(0.0),
            w.escalation_rate.unwrap_or(0.0) * 100.0
        );
    }
    let p50 = |r: &flowgate_sim::SimResult| r.cycle_time_p50_s.map_or(0.0, |b| b.mean);
    let hours = &terms.terms[0];
    let _ = writeln!(
        text,
        "Pilot (simulated): cycle time p50 {} -> {}, {:.0} agent hours freed a month (about {:.0} EUR)",
        flowgate_report::duration(p50(&base)),
        flowgate_report::duration(p50(&pilot)),
        hours.value.unwrap_or(0.0),
        hours.money.unwrap_or(0.0)
    );
    let peak = |r: &flowgate_sim::SimResult| r.backlog.iter().map(|b| b.mean).fold(0.0, f64::max);
    let _ = writeln!(
        text,
        "Spike x2 for 3 days (simulated): peak backlog {:.0} -> {:.0} open cases; baseline validation {}",
        peak(&base),
        peak(&spike),
        base.validation
            .iter()
            .map(|c| format!("{} {:+.1}%", c.measure, c.relative_error * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((html, text))
}

/// The demo's gate policy: the repetitive intents (one team, few handoffs) may act at 98%
/// precision where a current article exists; data-privacy requests are people-only.
const DEMO_POLICY: &str = r#"# flowgate demo gate policy (written by `flowgate demo`)
name = "demo pilot: repetitive intents act at 98%"
version = 1

[defaults]
mode = "assist"
target_precision = 0.98

[intents.password_reset]
mode = "auto"

[intents.order_status]
mode = "auto"

[intents.invoice_copy]
mode = "auto"

[intents.address_change]
mode = "auto"

[intents.data_privacy]
mode = "human"
team = "Legal"

[[rules]]
name = "legal or fraud"
words = ["lawyer*", "chargeback", "fraud*", "sue"]

[[rules]]
name = "personal data"
personal_data = true
action = "route"

[[rules]]
name = "urgent"
field = "priority"
equals = ["urgent"]
action = "assist"

[sampling]
seed = 42
rate = 0.05
bands = [{ below = 0.90, rate = 0.25 }]
"#;

/// Tickets the model triages as if they were arriving now: the newest ones.
const INCOMING: usize = 1_000;
/// Labelled history the model learns from, per intent.
const TRAIN_PER_INTENT: usize = 100;

/// The demand layer on the demo: train an intent model on part of the labelled history,
/// assign buckets from the flow history, triage the newest tickets, and add the demand
/// section to the baseline. Without the sentence encoder (no network on first use) the
/// section comes from the labels alone.
fn demand(
    out: &std::path::Path,
    g: &flowgate_synth::Generated,
    log: &flowgate_flow::EventLog,
    b: &mut flowgate_flow::Baseline,
) -> Result<String> {
    let n = g.tickets.len();
    let incoming = INCOMING.min(n / 5);
    let history = &g.tickets[..n - incoming];
    let mut labels: Vec<String> = g.tickets.iter().map(|t| t.intent.to_owned()).collect();
    labels.sort();
    labels.dedup();
    let ids: Vec<String> = g.tickets.iter().map(|t| t.case_id.clone()).collect();
    let per_ticket: Vec<u32> = g
        .tickets
        .iter()
        .map(|t| {
            labels
                .binary_search_by(|l| l.as_str().cmp(t.intent))
                .unwrap_or(0) as u32
        })
        .collect();
    let rules = flowgate_flow::demand::BucketRules::default();
    let enc = match crate::encode::encoder() {
        Ok(e) => e,
        Err(e) => {
            let joined = flowgate_app::demand::Joined {
                intents: labels,
                ids: &ids,
                per_ticket: &per_ticket,
                unclear: &[],
                cohesion: None,
            };
            b.demand = Some(joined.demand(log, &rules).0);
            return Ok(format!(
                "Demand:  buckets from the labelled history only; the sentence encoder is not available ({e:#})"
            ));
        }
    };
    let t0 = Instant::now();
    let (mut model, trained_on) = demo_model(&enc, history, &per_ticket, labels.len())?;
    let train_secs = t0.elapsed().as_secs_f64();
    // Buckets from the labelled flow history.
    let labelled = flowgate_app::demand::Joined {
        intents: model.header.labels.clone(),
        ids: &ids[..history.len()],
        per_ticket: &per_ticket[..history.len()],
        unclear: &[],
        cohesion: flowgate_app::demand::model_cohesion(&model),
    };
    let (history_demand, _) = labelled.demand(log, &rules);
    flowgate_app::demand::store_buckets(&mut model, &history_demand);
    model.save(&out.join("intent-model.fgim"))?;
    let (triage, policy_path, kb_dir) = demo_gate(out, model, &enc)?;
    // Triage the newest tickets, as the service would: one ticket each, in one batch.
    let new = &g.tickets[n - incoming..];
    let tickets: Vec<flowgate_gate::Ticket> = new
        .iter()
        .map(|t| flowgate_gate::Ticket {
            id: t.case_id.clone(),
            customer: Some(t.customer.clone()),
            subject: Some(t.subject.clone()),
            body: t.body.clone(),
            channel: Some(t.channel.to_owned()),
            priority: Some(t.priority.to_owned()),
            ..Default::default()
        })
        .collect();
    let now = jiff::Timestamp::now();
    let t0 = Instant::now();
    let triaged = triage.triage_batch(&enc, &tickets, &[], now)?;
    let triage_secs = t0.elapsed().as_secs_f64();
    let model = &triage.model;
    let mut lines = String::new();
    let (mut correct, mut unsure) = (0usize, 0usize);
    let (mut acted, mut acted_right) = (0usize, 0usize);
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (t, done) in new.iter().zip(&triaged) {
        let (p, d) = (&done.prediction, &done.decision);
        *counts.entry(d.action.as_str()).or_default() += 1;
        if d.action == flowgate_gate::Action::Act {
            acted += 1;
            acted_right += (p.intent == t.intent) as usize;
        }
        lines.push_str(&crate::demand::triage_line(model, &t.case_id, p, Some(d))?);
        correct += (p.intent == t.intent) as usize;
        unsure += p.ambiguous as usize;
    }
    crate::output::write_atomic(&out.join("triage.jsonl"), lines.as_bytes())?;
    let db_url = out.join("flowgate.db").display().to_string();
    let rt = crate::db::runtime()?;
    rt.block_on(async {
        let s = flowgate_store::Store::open(&db_url).await?;
        let r = flowgate_app::audit::append_decisions(
            &s,
            &triage.gate.policy,
            &crate::risk::actor(),
            &triaged,
            now.as_millisecond(),
        )
        .await;
        s.close().await;
        r
    })?;
    let preds: Vec<&flowgate_demand::Prediction> = triaged.iter().map(|t| &t.prediction).collect();
    let decided: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    // The report: labels for the history, the model's verdict for the newest tickets.
    let mut per_all = per_ticket.clone();
    let mut unclear = vec![false; n];
    for (k, p) in preds.iter().enumerate() {
        let i = n - incoming + k;
        per_all[i] = model
            .header
            .labels
            .iter()
            .position(|l| *l == p.intent)
            .unwrap_or(0) as u32;
        unclear[i] = p.ambiguous;
    }
    let joined = flowgate_app::demand::Joined {
        intents: model.header.labels.clone(),
        ids: &ids,
        per_ticket: &per_all,
        unclear: &unclear,
        cohesion: flowgate_app::demand::model_cohesion(model),
    };
    b.demand = Some(joined.demand(log, &rules).0);
    Ok(format!(
        "Demand:  intent model trained on {} labelled tickets in {train_secs:.0}s; the newest {incoming} tickets triaged in {triage_secs:.1}s: {:.1}% match their label, {unsure} ambiguous (vague or out of scope).\nGate:    {} ({}); act precision {} against the labels; every decision in the audit log (flowgate audit verify --db {db_url})\nModel:   {} · triage: {} · policy: {} · knowledge base: {}",
        trained_on,
        100.0 * correct as f64 / incoming.max(1) as f64,
        decided.join(", "),
        triage.gate.policy.name,
        if acted > 0 {
            format!("{:.1}%", 100.0 * acted_right as f64 / acted as f64)
        } else {
            "–".into()
        },
        out.join("intent-model.fgim").display(),
        out.join("triage.jsonl").display(),
        policy_path.display(),
        kb_dir.display()
    ))
}

/// The demo's intent model: trained on the first [`TRAIN_PER_INTENT`] tickets of each intent
/// in the history, with out-of-fold predictions for the gate's thresholds. Returns the model
/// and how many tickets it learnt from.
fn demo_model(
    enc: &flowgate_demand::Encoder,
    history: &[flowgate_synth::Ticket],
    per_ticket: &[u32],
    intents: usize,
) -> Result<(flowgate_demand::IntentModel, usize)> {
    use flowgate_demand::{IntentModel, linear::TrainParams, texts::join_parts};
    let mut seen = vec![0usize; intents];
    let (mut train_texts, mut train_labels) = (Vec::new(), Vec::new());
    for (k, t) in history.iter().enumerate() {
        let i = per_ticket[k] as usize;
        if seen[i] < TRAIN_PER_INTENT {
            seen[i] += 1;
            train_texts.push(join_parts(&[&t.subject, &t.body]));
            train_labels.push(t.intent);
        }
    }
    let refs: Vec<&str> = train_texts.iter().map(String::as_str).collect();
    let emb = flowgate_demand::intent::embed_all(enc, &refs, &|_, _, _| {})?;
    let params = TrainParams::default();
    let mut model =
        IntentModel::train_embedded(enc, &refs, &train_labels, &emb, params, &|_, _, _| {})?;
    // Out-of-fold predictions for the gate's thresholds.
    model.header.held_out = flowgate_demand::intent::cross_fit(
        enc,
        &refs,
        &train_labels,
        &emb,
        flowgate_demand::intent::OosExamples::default(),
        params,
        5,
        &|_, _, _| {},
    )?;
    Ok((model, train_texts.len()))
}

/// The gate the demo's tickets meet: the demo's policy and knowledge base (both written into
/// `out`) over `model`. Returns the triage and where the policy and the knowledge base are.
fn demo_gate(
    out: &std::path::Path,
    model: flowgate_demand::IntentModel,
    enc: &flowgate_demand::Encoder,
) -> Result<(flowgate_app::Triage, std::path::PathBuf, std::path::PathBuf)> {
    let kb_src = out.join("kb");
    flowgate_synth::write_kb(&kb_src)?;
    let kb_dir = out.join("kb.fgkb");
    flowgate_kb::build(&kb_src, &kb_dir, enc, &|_, _| {})?;
    let kb = flowgate_kb::Kb::open(&kb_dir)?;
    let policy_path = out.join("policy.toml");
    crate::output::write_atomic(&policy_path, DEMO_POLICY.as_bytes())?;
    let gate = crate::risk::load_gate(&model, &policy_path)?;
    let triage = flowgate_app::Triage {
        model,
        gate,
        kb: Some(kb),
        stale_days: 180,
    };
    Ok((triage, policy_path, kb_dir))
}
