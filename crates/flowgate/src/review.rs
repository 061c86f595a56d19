//! `flowgate review` (sample `act` decisions into the queue, list, mark, review one by one)
//! and `flowgate defects --week W` (the weekly defect review).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use flowgate_gate::Policy;
use flowgate_store::Store;
use flowgate_store::review::QueueItem;

use crate::config::Settings;

#[derive(clap::Subcommand, Debug)]
pub enum ReviewCommand {
    /// Sample `act` decisions from the audit log into the review queue: each with the
    /// policy's rate for its intent and confidence band, reproducibly for the policy's seed.
    Queue {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// The policy whose sample rates, bands and seed apply.
        #[arg(long, value_name = "POLICY")]
        policy: PathBuf,
        /// Also sample, at the same rates, decisions the AI did not act on because of its
        /// gate (assist mode, no threshold yet, below the threshold): shadow reviews, whose
        /// verdicts are production evidence for the intent's threshold (`gate status`).
        #[arg(long)]
        shadow: bool,
    },
    /// The queue: pending items (or all with --all).
    List {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        #[arg(long)]
        all: bool,
        /// Show each decision's ticket text, proposed answer, sources and reasons.
        #[arg(long)]
        show: bool,
    },
    /// Record one review.
    Mark {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// The decision's audit sequence number (from `review list`).
        seq: i64,
        /// correct or defect.
        verdict: String,
        /// The failure mode of a defect (e.g. wrong-intent, stale-article, policy-breach).
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Review pending items one by one: answer `c` (correct), `d CATEGORY` (defect), `s`
    /// (skip) or `q` (quit) on standard input.
    Start {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        #[arg(long)]
        reviewer: Option<String>,
    },
}

/// The ticket, the proposed answer, its sources and the reasons, as a reviewer sees them.
fn judged(t: Option<&flowgate_store::texts::StoredText>, reason: Option<&str>) -> String {
    let indent = |s: &str| {
        s.lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    };
    let Some(t) = t else {
        return format!(
            "  ticket: (no text stored with this decision)\n  reasons: {}\n",
            reason.unwrap_or("–")
        );
    };
    if t.erased_at_ms.is_some() {
        return format!(
            "  ticket: (text erased {}: retention or the customer's request)\n",
            flowgate_flow::time::format_utc_ms(t.erased_at_ms.unwrap_or_default())
        );
    }
    let x = &t.text;
    let mut s = format!("  ticket:\n{}", indent(x.text.as_deref().unwrap_or("–")));
    match &x.answer {
        Some(a) => s.push_str(&format!("  proposed answer:\n{}", indent(a))),
        None => s.push_str("  proposed answer: (none)\n"),
    }
    if let Some(src) = &x.sources {
        let list: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(src)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                format!(
                    "{} ({})",
                    v["article"].as_str().unwrap_or("?"),
                    v["title"].as_str().unwrap_or("")
                )
            })
            .collect();
        s.push_str(&format!("  sources: {}\n", list.join("; ")));
    }
    s.push_str(&format!(
        "  reasons: {}\n",
        x.reasons.as_deref().or(reason).unwrap_or("–")
    ));
    s
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn open(url: &str) -> Result<Store> {
    let s = Store::open(url).await?;
    s.migrate().await?;
    Ok(s)
}

pub fn run(cmd: ReviewCommand, settings: &Settings) -> Result<()> {
    let rt = crate::db::runtime()?;
    match cmd {
        ReviewCommand::Queue { db, policy, shadow } => {
            let policy = Policy::load(&policy)?;
            let url = crate::db::database_url(db.as_deref(), settings);
            let (sampled, added) = rt.block_on(async {
                let s = open(&url).await?;
                let r = flowgate_app::review::enqueue(&s, &policy, shadow, now_ms()).await;
                s.close().await;
                anyhow::Ok(r?)
            })?;
            let flowgate_app::review::Sampled {
                acts,
                shadows,
                items,
            } = sampled;
            let mut strata: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for i in &items {
                *strata.entry((&i.intent, &i.band)).or_default() += 1;
            }
            let sampled_shadows = items.iter().filter(|i| i.shadow).count();
            println!(
                "{} of {acts} act decisions sampled ({} new in the queue) across {} intent × confidence-band strata (seed {})",
                items.len() - sampled_shadows,
                added,
                strata.len(),
                policy.sampling.seed
            );
            if shadow {
                println!(
                    "shadow: {sampled_shadows} of {shadows} decisions the gate kept from acting sampled for review"
                );
            }
            Ok(())
        }
        ReviewCommand::List { db, all, show } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            let (items, texts) = rt.block_on(async {
                let s = open(&url).await?;
                let r = s.review_items().await;
                let t = s.decision_texts().await;
                s.close().await;
                anyhow::Ok((r?, t?))
            })?;
            let texts: BTreeMap<i64, flowgate_store::texts::StoredText> =
                texts.into_iter().map(|t| (t.audit_seq, t)).collect();
            let mut shown = 0;
            for i in items.iter().filter(|i| all || i.verdict.is_none()) {
                shown += 1;
                println!(
                    "{:>6}  {:<14} {:<28} conf {:.3} ({}){}  {}",
                    i.audit_seq,
                    i.ticket,
                    i.intent,
                    i.confidence,
                    i.band,
                    if i.shadow { " (shadow)" } else { "" },
                    match &i.verdict {
                        None => "pending".to_owned(),
                        Some(v) => format!(
                            "{v}{}",
                            i.category
                                .as_deref()
                                .map(|c| format!(" ({c})"))
                                .unwrap_or_default()
                        ),
                    }
                );
                if show {
                    print!("{}", judged(texts.get(&i.audit_seq), None));
                }
            }
            eprintln!(
                "{shown} shown; {} pending of {} in the queue",
                items.iter().filter(|i| i.verdict.is_none()).count(),
                items.len()
            );
            Ok(())
        }
        ReviewCommand::Mark {
            db,
            seq,
            verdict,
            category,
            reviewer,
            note,
        } => {
            if verdict == "defect" && category.is_none() {
                bail!("a defect needs --category (its failure mode, e.g. wrong-intent)");
            }
            let url = crate::db::database_url(db.as_deref(), settings);
            let reviewer = reviewer.unwrap_or_else(crate::risk::actor);
            rt.block_on(async {
                let s = open(&url).await?;
                let r = s
                    .review_mark(
                        seq,
                        &verdict,
                        category.as_deref(),
                        Some(&reviewer),
                        note.as_deref(),
                        now_ms(),
                    )
                    .await;
                s.close().await;
                anyhow::Ok(r?)
            })?;
            println!("decision {seq}: {verdict}");
            Ok(())
        }
        ReviewCommand::Start { db, reviewer } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            rt.block_on(async {
                let s = open(&url).await?;
                let reviewer = reviewer.unwrap_or_else(crate::risk::actor);
                let r = interactive(&s, Some(&reviewer)).await;
                s.close().await;
                r
            })
        }
    }
}

async fn interactive(s: &Store, reviewer: Option<&str>) -> Result<()> {
    let audit: BTreeMap<i64, String> = s
        .audit_entries()
        .await?
        .into_iter()
        .map(|e| (e.seq, e.record))
        .collect();
    let pending: Vec<QueueItem> = s
        .review_items()
        .await?
        .into_iter()
        .filter(|i| i.verdict.is_none())
        .collect();
    let texts: BTreeMap<i64, flowgate_store::texts::StoredText> = s
        .decision_texts()
        .await?
        .into_iter()
        .map(|t| (t.audit_seq, t))
        .collect();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let (mut done, total) = (0usize, pending.len());
    for i in &pending {
        let rec: serde_json::Value = audit
            .get(&i.audit_seq)
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        println!(
            "\n[{}/{}] decision {} · ticket {} · {} (confidence {:.3}, {}){}",
            done + 1,
            total,
            i.audit_seq,
            i.ticket,
            i.intent,
            i.confidence,
            i.band,
            if i.shadow {
                " · shadow: the AI did not act; judge what it would have done"
            } else {
                ""
            }
        );
        print!(
            "{}",
            judged(texts.get(&i.audit_seq), rec["reason"].as_str())
        );
        println!("  c = correct, d CATEGORY = defect, s = skip, q = quit");
        std::io::stdout().flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        let line = line.trim();
        let (verdict, category) = match line.split_once(char::is_whitespace) {
            _ if line == "c" || line == "correct" => ("correct", None),
            Some(("d" | "defect", c)) if !c.trim().is_empty() => ("defect", Some(c.trim())),
            _ if line == "d" || line == "defect" => {
                println!("  a defect needs its failure mode: d CATEGORY (skipped)");
                continue;
            }
            _ if line == "q" || line == "quit" => break,
            _ => continue,
        };
        s.review_mark(i.audit_seq, verdict, category, reviewer, None, now_ms())
            .await?;
        done += 1;
    }
    println!("\nreviewed {done} of {total} pending");
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct DefectsArgs {
    /// ISO week of the decisions reviewed, e.g. 2026-W48 (default: the current week).
    #[arg(long, value_name = "YYYY-Www")]
    pub week: Option<String>,
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The policy in force: target precision per intent (default 98%).
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Sticky resolution per intent (`flowgate sticky --format json` output): intents whose
    /// sticky rate is below the target even at the upper end of its interval are retuned too.
    #[arg(long, value_name = "FILE")]
    pub sticky: Option<PathBuf>,
    /// Write the Markdown report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Per intent: (acts assessed, sticky) from `flowgate sticky --format json`.
fn read_sticky(path: &std::path::Path) -> Result<BTreeMap<String, (usize, usize)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected `flowgate sticky --format json` output",
            path.display()
        )
    })?;
    let rows = v["intents"].as_array().with_context(|| {
        format!(
            "{}: no \"intents\" list (write it with flowgate sticky --format json)",
            path.display()
        )
    })?;
    let mut out = BTreeMap::new();
    for r in rows {
        if let (Some(i), Some(n), Some(k)) = (
            r["intent"].as_str(),
            r["assessed"].as_u64(),
            r["sticky"].as_u64(),
        ) {
            out.insert(i.to_owned(), (n as usize, k as usize));
        }
    }
    Ok(out)
}

/// The [start, end) of an ISO week in UTC milliseconds, and its label.
fn week_range(week: &str) -> Result<(i64, i64, String)> {
    let start = flowgate_app::analytics::parse_week(week)?;
    Ok((
        start,
        start + flowgate_flow::time::MS_PER_WEEK,
        flowgate_flow::time::iso_week_label(start),
    ))
}

pub fn defects(args: DefectsArgs, settings: &Settings) -> Result<()> {
    let week = match &args.week {
        Some(w) => w.clone(),
        None => flowgate_flow::time::iso_week_label(now_ms()),
    };
    let (from, to, label) = week_range(&week)?;
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    let sticky = args.sticky.as_deref().map(read_sticky).transpose()?;
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let rt = crate::db::runtime()?;
    let r = rt.block_on(async {
        let s = open(&url).await?;
        let r =
            flowgate_app::defects::weekly(&s, &label, from, to, policy.as_ref(), sticky.as_ref())
                .await;
        s.close().await;
        anyhow::Ok(r?)
    })?;
    let md = flowgate_app::defects::markdown(&r);
    crate::output::write(args.out.as_deref(), md.as_bytes())
}
