//! `flowgate kb` (build, search, coverage) and `flowgate assist`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flowgate_demand::{IntentModel, texts};
use flowgate_kb::{Kb, build, coverage};

#[derive(clap::Subcommand, Debug)]
pub enum KbCommand {
    /// Index a folder of Markdown articles (BM25 + sentence embeddings).
    Build {
        /// Folder of `.md` articles with `+++` TOML front matter.
        dir: PathBuf,
        /// Where to write the built knowledge base (default: DIR.fgkb beside DIR).
        #[arg(long, short, value_name = "KB")]
        out: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Ranked passages for a question, with their scores.
    Search {
        #[arg(long, value_name = "KB")]
        kb: PathBuf,
        text: String,
        /// How many passages.
        #[arg(long, short, default_value_t = 5)]
        k: usize,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Which intents (by ticket volume) have no article, or only stale ones.
    Coverage {
        #[arg(long, value_name = "KB")]
        kb: PathBuf,
        /// Tickets with an intent column (or classified with --model).
        #[arg(long, value_name = "FILE")]
        tickets: PathBuf,
        #[arg(long, value_name = "C")]
        intent_col: Option<String>,
        #[arg(long, value_name = "C")]
        text_col: Option<String>,
        #[arg(long, value_name = "MODEL")]
        model: Option<PathBuf>,
        /// An article reviewed longer ago than this is stale.
        #[arg(long, default_value_t = 180)]
        stale_days: i64,
        /// The day to measure staleness from (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<String>,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

pub fn today(given: Option<&str>) -> Result<jiff::civil::Date> {
    match given {
        Some(s) => s
            .parse()
            .with_context(|| format!("--today {s:?}: expected a date YYYY-MM-DD")),
        None => Ok(jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()),
    }
}

pub fn run(cmd: KbCommand) -> Result<()> {
    match cmd {
        KbCommand::Build { dir, out, quiet } => {
            let out = out.unwrap_or_else(|| flowgate_kb::default_out(&dir));
            let enc = crate::encode::encoder()?;
            let b = crate::encode::bar(quiet);
            let t0 = std::time::Instant::now();
            let built = build(&dir, &out, &enc, &|done, total| {
                if let Some(b) = &b {
                    b.set_message("embedding passages");
                    b.set_length(total as u64);
                    b.set_position(done as u64);
                }
            })?;
            if let Some(b) = &b {
                b.finish_and_clear();
            }
            println!(
                "built {} from {} articles, {} passages in {:.1}s",
                out.display(),
                built.articles,
                built.passages,
                t0.elapsed().as_secs_f64()
            );
            Ok(())
        }
        KbCommand::Search {
            kb,
            text,
            k,
            format,
        } => {
            let kb = Kb::open(&kb)?;
            let enc = crate::encode::encoder()?;
            let hits = kb.search(&enc, &text, k)?;
            if format == "json" {
                let rows: Vec<serde_json::Value> = hits
                    .iter()
                    .map(|h| {
                        let a = &kb.articles[h.article];
                        let p = &kb.passages[h.passage];
                        serde_json::json!({
                            "article": a.id, "title": a.title, "heading": p.heading,
                            "score": h.score, "bm25_rank": h.bm25_rank, "bm25": h.bm25,
                            "embedding_rank": h.embedding_rank, "similarity": h.similarity,
                            "text": p.text,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            for (i, h) in hits.iter().enumerate() {
                let a = &kb.articles[h.article];
                let p = &kb.passages[h.passage];
                println!(
                    "{}. {} — {}{} (score {:.4}; BM25 rank {}, embedding rank {}, cosine {:.3})",
                    i + 1,
                    a.id,
                    a.title,
                    p.heading
                        .as_deref()
                        .map(|h| format!(" › {h}"))
                        .unwrap_or_default(),
                    h.score,
                    h.bm25_rank.map_or("–".into(), |r| r.to_string()),
                    h.embedding_rank.map_or("–".into(), |r| r.to_string()),
                    h.similarity
                );
                println!("   {}", snippet(&p.text, 240));
            }
            Ok(())
        }
        KbCommand::Coverage {
            kb,
            tickets,
            intent_col,
            text_col,
            model,
            stale_days,
            today: day,
            format,
        } => {
            let kb = Kb::open(&kb)?;
            let volumes = intent_volumes(
                &tickets,
                text_col.as_deref(),
                intent_col.as_deref(),
                model.as_deref(),
            )?;
            let day = today(day.as_deref())?;
            let rows = coverage(&kb, &volumes, day, stale_days);
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let gaps: usize = rows
                .iter()
                .filter(|r| r.status != "ok")
                .map(|r| r.tickets)
                .sum();
            let total: usize = rows.iter().map(|r| r.tickets).sum();
            println!(
                "{} of {} tickets ({:.1}%) are of intents with no current article (reviewed within {stale_days} days of {day})",
                gaps,
                total,
                gaps as f64 * 100.0 / total.max(1) as f64
            );
            for r in &rows {
                println!(
                    "  {:<8} {:<36} {:>6} tickets ({:>5.1}%)  {}{}",
                    r.status,
                    r.intent,
                    r.tickets,
                    r.share * 100.0,
                    if r.articles.is_empty() {
                        "no article".to_owned()
                    } else {
                        r.articles.join(", ")
                    },
                    r.last_reviewed
                        .as_deref()
                        .map(|d| format!(" (reviewed {d})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

fn snippet(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    format!("{cut}…")
}

/// Tickets per intent: the intent column, or the model's predictions.
fn intent_volumes(
    path: &Path,
    text_col: Option<&str>,
    intent_col: Option<&str>,
    model: Option<&Path>,
) -> Result<BTreeMap<String, usize>> {
    let data = texts::read_columns(
        path,
        texts::Columns {
            text: text_col,
            label: intent_col,
            id: None,
        },
        model.is_none(),
    )?;
    let mut v: BTreeMap<String, usize> = BTreeMap::new();
    match model {
        None => {
            for l in &data.labels {
                *v.entry(l.clone()).or_default() += 1;
            }
        }
        Some(m) => {
            let model = IntentModel::load(m)?;
            let enc = crate::encode::encoder()?;
            let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            for p in crate::encode::classify(&model, &enc, &refs, false)? {
                if !p.ambiguous {
                    *v.entry(p.intent).or_default() += 1;
                }
            }
        }
    }
    Ok(v)
}

#[derive(clap::Args, Debug)]
pub struct AssistArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[arg(long, value_name = "KB")]
    pub kb: PathBuf,
    /// Gate policy: the proposed action follows it (default: act only where the intent's
    /// article exists and the model is sure, as a suggestion).
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// The ticket's text.
    #[arg(long, conflicts_with = "tickets")]
    pub text: Option<String>,
    /// Ticket fields for the template and the rules: NAME=VALUE, repeatable.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Or a ticket file with --id.
    #[arg(long, value_name = "FILE", requires = "id")]
    pub tickets: Option<PathBuf>,
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    /// Passages to show.
    #[arg(long, short, default_value_t = 3)]
    pub k: usize,
    /// An article reviewed longer ago than this does not count as current.
    #[arg(long, default_value_t = 180)]
    pub stale_days: i64,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn assist(args: AssistArgs) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let kb = Kb::open(&args.kb)?;
    let gate = args
        .policy
        .as_deref()
        .map(|p| crate::risk::load_gate(&model, p))
        .transpose()?;
    let data = assist_ticket(&args)?;
    let enc = crate::encode::encoder()?;
    let text = data.texts[0].as_str();
    let emb = enc.embed(&[text])?;
    let fields = data.fields(0);
    let a = flowgate_app::assist::assist(
        &model,
        &kb,
        gate.as_ref(),
        &flowgate_app::assist::AssistRequest {
            ticket: &flowgate_app::tickets::ticket(&data, 0, None),
            text,
            emb: &emb[0],
            fields: &fields,
            today: today(None)?,
            stale_days: args.stale_days,
            k: args.k,
        },
    )?;
    if args.format == "json" {
        print_assist_json(&kb, &data.ids[0], &a)
    } else {
        print_assist_text(&kb, &a);
        Ok(())
    }
}

/// The ticket to assist with, as a one-row table (so rules and templates see its fields):
/// `--text` with `--field`s, or one row of `--tickets` by `--id`.
fn assist_ticket(args: &AssistArgs) -> Result<texts::Labelled> {
    match (&args.text, &args.tickets) {
        (Some(t), None) => {
            if t.trim().is_empty() {
                bail!("--text is empty");
            }
            let mut columns = vec!["text".to_owned()];
            let mut row = vec![t.clone()];
            for f in &args.fields {
                let (k, v) = f
                    .split_once('=')
                    .with_context(|| format!("--field {f:?}: expected NAME=VALUE"))?;
                columns.push(k.trim().to_lowercase());
                row.push(v.trim().to_owned());
            }
            Ok(texts::Labelled {
                ids: vec!["ticket".into()],
                lines: vec![1],
                texts: vec![t.clone()],
                labels: Vec::new(),
                columns,
                rows: vec![row],
            })
        }
        (None, Some(path)) => {
            let all = texts::read_columns(
                path,
                texts::Columns {
                    text: args.text_col.as_deref(),
                    label: None,
                    id: args.id_col.as_deref(),
                },
                false,
            )?;
            let id = args.id.clone().unwrap_or_default();
            let i = all
                .ids
                .iter()
                .position(|x| *x == id)
                .with_context(|| format!("{}: no ticket with id {id:?}", path.display()))?;
            Ok(texts::Labelled {
                ids: vec![all.ids[i].clone()],
                lines: vec![all.lines[i]],
                texts: vec![all.texts[i].clone()],
                labels: Vec::new(),
                columns: all.columns.clone(),
                rows: all.rows.get(i).cloned().into_iter().collect(),
            })
        }
        _ => bail!("give the ticket as --text \"…\" or as --tickets FILE --id ID"),
    }
}

fn print_assist_json(kb: &Kb, id: &str, a: &flowgate_app::assist::Assisted) -> Result<()> {
    let p = &a.prediction;
    let passages: Vec<serde_json::Value> = a
        .passages
        .iter()
        .map(|h| {
            let art = &kb.articles[h.article];
            serde_json::json!({"article": art.id, "title": art.title, "score": h.score,
                "text": kb.passages[h.passage].text})
        })
        .collect();
    let v = serde_json::json!({
        "id": id,
        "intent": p.intent,
        "confidence": p.confidence,
        "out_of_scope": p.out_of_scope,
        "action": a.decision.action.as_str(),
        "rule": a.decision.rule,
        "reasons": a.reasons,
        "article": a.article.map(|i| kb.articles[i].id.clone()),
        "answer": a.answer.as_ref().map(|x| &x.text),
        "filled": a.answer.as_ref().map(|x| &x.filled),
        "unfilled": a.answer.as_ref().map(|x| &x.unfilled),
        "passages": passages,
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn print_assist_text(kb: &Kb, a: &flowgate_app::assist::Assisted) {
    let p = &a.prediction;
    println!(
        "intent {} (confidence {:.2}{})",
        p.intent,
        p.confidence,
        if p.out_of_scope { ", out of scope" } else { "" }
    );
    println!("proposed action: {}", a.decision.action.as_str());
    for r in &a.reasons {
        println!("  - {r}");
    }
    match &a.answer {
        Some(x) => {
            println!("\nproposed answer:\n{}", x.text);
            if !x.unfilled.is_empty() {
                println!("unfilled: {}", x.unfilled.join(", "));
            }
        }
        None => println!("\nno answer template for this intent"),
    }
    println!("\nsources:");
    for (i, h) in a.passages.iter().enumerate() {
        let art = &kb.articles[h.article];
        println!(
            "{}. {} — {} (score {:.4})\n   {}",
            i + 1,
            art.id,
            art.title,
            h.score,
            snippet(&kb.passages[h.passage].text, 200)
        );
    }
}
