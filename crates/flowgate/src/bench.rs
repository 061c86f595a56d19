//! `flowgate bench`: replicate a log N times (fresh case ids, shifted times), then time the
//! whole `baseline` (import + every metric) in a child process and read its peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use flowgate_flow::time::MS_PER_DAY;
use flowgate_ingest::timestamp::{TimestampParser, Zone};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
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

pub fn run(args: BenchArgs) -> Result<()> {
    if let (Some(demo), Some(secs)) = (&args.serve, args.soak) {
        return soak_bench(
            demo,
            secs,
            args.work_dir.as_deref(),
            args.pg.as_deref(),
            args.distinct,
        );
    }
    if let Some(demo) = &args.serve {
        serve_bench(demo, args.seconds, args.work_dir.as_deref())?;
        analytics_bench(demo, args.work_dir.as_deref(), args.events)?;
        return webhook_bench(
            demo,
            args.seconds,
            args.work_dir.as_deref(),
            args.pg.as_deref(),
        );
    }
    if args.value {
        return value_bench(args.work_dir.as_deref());
    }
    if let Some(n) = args.history {
        return history_bench(n, args.runs, args.work_dir.as_deref());
    }
    if let Some(n) = args.compact {
        return compact_bench(n, args.store.as_deref(), args.work_dir.as_deref());
    }
    if let (Some(n), Some(texts)) = (args.kb_articles, &args.texts) {
        return kb_bench(n, texts, args.n, args.work_dir.as_deref());
    }
    if let (Some(model), Some(texts), Some(policy)) =
        (&args.triage_model, &args.texts, &args.gate_policy)
    {
        return gate_bench(model, texts, policy, args.n);
    }
    if let (Some(model), Some(texts)) = (&args.triage_model, &args.texts) {
        return triage_bench(model, texts, args.n, args.tokens);
    }
    let mapping = crate::load::choose_mapping(args.preset.as_deref(), None, &Default::default())?;
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
    let rows = replicate(&args.input, mapping.as_ref(), args.times, &big)?;
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
        store_bench(store, &big, &dir, mapping.clone(), rows)?;
    }
    let mut results = Vec::new();
    for i in 0..args.runs.max(1) {
        let extra: Vec<&str> = match &args.preset {
            Some(p) => vec!["--preset", p],
            None => Vec::new(),
        };
        let (secs, rss_kib) = baseline_child(&big, &extra)?;
        eprintln!("run {}: {secs:.2}s, peak RSS {} MiB", i + 1, rss_kib / 1024);
        results.push((secs, rss_kib));
    }
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, rss) = results[results.len() / 2];
    let max_rss = results.iter().map(|r| r.1).max().unwrap_or(rss);
    println!(
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
    println!("machine: {}", machine());
    Ok(())
}

/// Runs `flowgate baseline FILE [extra…]` in a child process: seconds and peak RSS (KiB).
fn baseline_child(file: &Path, extra: &[&str]) -> Result<(f64, u64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("baseline")
        .arg(file)
        .args(["--format", "json", "--out", "/dev/null", "--quiet"])
        .args(extra)
        .env("FLOWGATE_REPORT_PEAK_RSS", "1");
    let start = Instant::now();
    let out = cmd.output().context("running flowgate baseline")?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("baseline failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let rss_kib = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| {
            l.strip_prefix("peak_rss_kib=")
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    Ok((secs, rss_kib))
}

/// Writes `n` Zendesk incremental ticket events (JSON lines) and the same updates flattened
/// to CSV (the columns a history is flattened to), ten updates per ticket; returns the
/// number of events.
fn write_zendesk_history(n: usize, json: &Path, csv: &Path) -> Result<usize> {
    use std::io::Write;
    // status, group change, comment, per update of a ticket (the story of a reopened ticket).
    const STEPS: [(&str, Option<&str>, &str); 10] = [
        ("new", Some("10"), "Created"),
        ("open", None, "Status: open"),
        ("", Some("20"), "Group change"),
        ("pending", None, "Status: pending"),
        ("open", None, "Status: open"),
        ("", None, "Comment"),
        ("solved", None, "Status: solved"),
        ("open", None, "Status: open"),
        ("solved", None, "Status: solved"),
        ("closed", None, "Status: closed"),
    ];
    let mut j = std::io::BufWriter::new(std::fs::File::create(json)?);
    let mut c = std::io::BufWriter::new(std::fs::File::create(csv)?);
    writeln!(c, "ticket,time,activity,author,status,group")?;
    let t0 = 1_772_442_000i64; // 2026-03-02T09:00:00Z
    for k in 0..n {
        let (ticket, step) = (k / STEPS.len() + 1, k % STEPS.len());
        let (status, group, activity) = STEPS[step];
        let ts = t0 + (ticket as i64) * 97 + (step as i64) * 3_600;
        let author = 500 + (k * 7919) % 200;
        let mut child = Vec::new();
        let kind = if step == 0 { "Create" } else { "Change" };
        if !status.is_empty() {
            child.push(format!(
                r#"{{"id":{},"via":"Web form","event_type":"{kind}","status":"{status}","previous_value":null}}"#,
                k * 4
            ));
        }
        if let Some(g) = group {
            child.push(format!(
                r#"{{"id":{},"via":"Web form","event_type":"{kind}","group_id":{g},"previous_value":null}}"#,
                k * 4 + 1
            ));
        }
        if activity == "Comment" {
            child.push(format!(
                r#"{{"id":{},"via":"Web form","comment_present":true,"comment_public":true,"event_type":"Comment"}}"#,
                k * 4 + 2
            ));
        }
        writeln!(
            j,
            r#"{{"id":{k},"ticket_id":{ticket},"timestamp":{ts},"updater_id":{author},"via":"Web form","event_type":"Audit","child_events":[{}]}}"#,
            child.join(",")
        )?;
        writeln!(
            c,
            "{ticket},{ts},{activity},{author},{status},{}",
            group.unwrap_or("")
        )?;
    }
    j.flush()?;
    c.flush()?;
    Ok(n)
}

/// JSON history against CSV, same events, in one run: median of `runs` baseline runs each.
fn history_bench(n: usize, runs: u32, work: Option<&Path>) -> Result<()> {
    let dir = match work {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("flowgate-history-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let json = dir.join("zendesk_ticket_events.jsonl");
    let csv = dir.join("zendesk_ticket_events.csv");
    let events = write_zendesk_history(n, &json, &csv)?;
    // The zendesk preset without its [history]: the same columns and states, for the CSV.
    let flat = dir.join("zendesk-flat.toml");
    let mut m = flowgate_ingest::Mapping::preset("zendesk")?;
    m.history = None;
    std::fs::write(&flat, m.to_toml())?;
    let flat = flat.to_string_lossy().into_owned();
    let mut json_runs = Vec::new();
    let mut csv_runs = Vec::new();
    for i in 0..runs.max(1) {
        // Alternate, so a noisy neighbour hits both alike.
        json_runs.push(baseline_child(&json, &[])?);
        csv_runs.push(baseline_child(&csv, &["--mapping", &flat])?);
        eprintln!(
            "run {}: JSON {:.2}s ({} MiB), CSV {:.2}s ({} MiB)",
            i + 1,
            json_runs[i as usize].0,
            json_runs[i as usize].1 / 1024,
            csv_runs[i as usize].0,
            csv_runs[i as usize].1 / 1024
        );
    }
    let median = |v: &mut Vec<(f64, u64)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2]
    };
    let (js, jr) = median(&mut json_runs);
    let (cs, cr) = median(&mut csv_runs);
    // Both files must give the same figures, or the comparison means nothing.
    let figures = |file: &Path, extra: &[&str]| -> Result<serde_json::Value> {
        let out = Command::new(std::env::current_exe()?)
            .arg("baseline")
            .arg(file)
            .args(["--format", "json", "--quiet"])
            .args(extra)
            .output()?;
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("baseline of {}", file.display()))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("source");
        }
        Ok(v)
    };
    if figures(&json, &[])? != figures(&csv, &["--mapping", &flat])? {
        bail!("the JSON history and its CSV flattening gave different figures");
    }
    let mib = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0)
    };
    println!(
        "| {} | {events} | JSON lines {:.0} MiB: {js:.2} s, {} MiB peak | CSV {:.0} MiB: {cs:.2} s, {} MiB peak | {:.2}× |",
        today(),
        mib(&json),
        jr / 1024,
        mib(&csv),
        cr / 1024,
        js / cs
    );
    println!("machine: {}", machine());
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Loads of a live source before and after compaction, in one run: `n` imports of three
/// events each (what `n` calls of `POST /v1/events` store), then load, compact, load.
fn compact_bench(n: usize, store: Option<&str>, work: Option<&Path>) -> Result<()> {
    use flowgate_app::events::{Event, append};
    let dir = match work {
        Some(d) => d.to_owned(),
        None => std::env::temp_dir().join(format!("flowgate-bench-compact-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let url = match store {
        None | Some("sqlite") => {
            let p = dir.join("compact.db");
            let _ = std::fs::remove_file(&p);
            p.display().to_string()
        }
        Some(u) => u.to_owned(),
    };
    let rt = crate::db::runtime()?;
    let row = rt.block_on(async {
        let store = flowgate_store::Store::open(&url).await?;
        store.migrate().await?;
        let t0 = Instant::now();
        for k in 0..n {
            let events: Vec<Event> = ["new", "working", "resolved"]
                .iter()
                .enumerate()
                .map(|(j, state)| Event {
                    case: format!("T-{k}"),
                    activity: format!("status {state}"),
                    time: jiff::Timestamp::from_second(1_780_000_000 + (k * 600 + j * 60) as i64)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    resource: Some(format!("agent {}", k % 40)),
                    team: Some(format!("team {}", k % 7)),
                    state: Some((*state).to_owned()),
                    escalation: false,
                    attributes: Default::default(),
                })
                .collect();
            append(&store, "live", &events, "bench", "bench").await?;
        }
        let posting = t0.elapsed().as_secs_f64();
        let time_load = || async {
            let mut best = f64::MAX;
            let mut events = 0;
            for _ in 0..3 {
                let t = Instant::now();
                events = store.load("live").await?.rows.len();
                best = best.min(t.elapsed().as_secs_f64());
            }
            anyhow::Ok((best, events))
        };
        let (before, events) = time_load().await?;
        let t = Instant::now();
        let c = store
            .compact("live")
            .await?
            .context("the source vanished")?;
        let compact = t.elapsed().as_secs_f64();
        let (after, events_after) = time_load().await?;
        anyhow::ensure!(events == events_after, "compaction changed the events");
        store.close().await;
        anyhow::Ok((posting, events, before, c, compact, after))
    })?;
    let (posting, events, before, c, compact, after) = row;
    println!(
        "| requests | events | stored in | load before (blocks) | compaction | load after (blocks) | ratio |"
    );
    println!(
        "| {n} | {events} | {posting:.1} s | {:.1} ms ({} + {} string) | {:.0} ms | {:.1} ms ({} + {} string) | {:.1}× |",
        before * 1000.0,
        c.event_blocks_before,
        c.string_blocks_before,
        compact * 1000.0,
        after * 1000.0,
        c.event_blocks_after,
        c.string_blocks_after,
        before / after
    );
    println!(
        "machine: {} ({}, {})",
        machine(),
        today(),
        flowgate_store::redact_url(&url)
    );
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Times parse, store (one import transaction) and load of `file` into a database.
fn store_bench(
    store: &str,
    file: &Path,
    dir: &Path,
    mapping: Option<flowgate_ingest::Mapping>,
    rows: u64,
) -> Result<()> {
    let url = if store == "sqlite" {
        let p = dir.join("bench.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p.display().to_string()
    } else {
        store.to_owned()
    };
    let t = Instant::now();
    let got = crate::load::read_rows(file, mapping, false, true)?;
    let parse = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let s = crate::db::store_rows(&url, "bench", &got, file, true, false)?;
    let store_secs = t.elapsed().as_secs_f64();
    drop(got);
    let t = Instant::now();
    let (loaded, _) = crate::db::load(&url, Some("bench"))?;
    let load_secs = t.elapsed().as_secs_f64();
    let kind = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "{kind}: parse {parse:.2}s; store {} events in {store_secs:.2}s ({:.0} events/s); load {} events in {load_secs:.2}s ({:.0} events/s)",
        s.events_new,
        s.events_new as f64 / store_secs,
        loaded.log.n_events(),
        rows as f64 / load_secs,
    );
    if kind == "SQLite" {
        let bytes: u64 = ["", "-wal"]
            .iter()
            .filter_map(|x| std::fs::metadata(format!("{url}{x}")).ok())
            .map(|m| m.len())
            .sum();
        eprintln!(
            "SQLite: {bytes} bytes, {:.1} bytes per event",
            bytes as f64 / rows as f64
        );
    }
    std::mem::forget(loaded);
    Ok(())
}

/// Writes `times` copies of `input` to `out`: copy k gets case ids suffixed `#k` and times
/// shifted by k × (span + 1 day). Timestamps are written as naive UTC `YYYY-MM-DD HH:MM:SS`.
fn replicate(
    input: &Path,
    mapping: Option<&flowgate_ingest::Mapping>,
    times: u32,
    out: &Path,
) -> Result<u64> {
    let read_header = || -> Result<(csv::Reader<std::fs::File>, csv::ByteRecord)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(input)
            .with_context(|| format!("opening {}", input.display()))?;
        let mut header = csv::ByteRecord::new();
        rdr.read_byte_record(&mut header)?;
        Ok((rdr, header))
    };
    let (_, header) = read_header()?;
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .to_owned()
        })
        .collect();
    let detected;
    let m = match mapping {
        Some(m) => m,
        None => {
            detected = flowgate_ingest::Mapping::detect(&names)
                .context("no usual case/activity/timestamp columns; pass --preset")?;
            &detected
        }
    };
    let col = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .with_context(|| format!("column {name:?} not in header"))
    };
    let case_col = col(&m.columns.case)?;
    let ts_col = col(&m.columns.timestamp)?;
    let zone = Zone::parse(m.timezone.as_deref().unwrap_or("UTC")).map_err(anyhow::Error::msg)?;
    let mut parser = TimestampParser::new(zone, m.timestamp_format.clone());
    // Pass 1: the span.
    let (mut rdr, _) = read_header()?;
    let mut rec = csv::ByteRecord::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    while rdr.read_byte_record(&mut rec)? {
        if let Some(t) = rec.get(ts_col).and_then(|v| parser.parse(v)) {
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    if lo > hi {
        bail!("{}: no readable timestamps", input.display());
    }
    let shift = hi - lo + MS_PER_DAY;
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_path(out)
        .with_context(|| format!("creating {}", out.display()))?;
    w.write_record(&names)?;
    let mut rows = 0u64;
    let mut case_buf = Vec::new();
    let mut out_rec = csv::ByteRecord::new();
    for k in 0..times {
        let (mut rdr, _) = read_header()?;
        while rdr.read_byte_record(&mut rec)? {
            let Some(t) = rec.get(ts_col).and_then(|v| parser.parse(v)) else {
                continue;
            };
            out_rec.clear();
            for (i, field) in rec.iter().enumerate() {
                if i == case_col {
                    case_buf.clear();
                    case_buf.extend_from_slice(field);
                    case_buf.extend_from_slice(format!("#{k}").as_bytes());
                    out_rec.push_field(&case_buf);
                } else if i == ts_col {
                    out_rec.push_field(
                        flowgate_flow::time::format_naive(t + k as i64 * shift).as_bytes(),
                    );
                } else {
                    out_rec.push_field(field);
                }
            }
            w.write_byte_record(&out_rec)?;
            rows += 1;
        }
    }
    w.flush()?;
    Ok(rows)
}

/// Prints this process's peak resident set size (`VmHWM`) on stderr, for the bench parent.
pub fn report_own_peak_rss() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("peak_rss_kib={kib}");
    }
}

fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    flowgate_flow::time::format_date(now)
}

fn machine() -> String {
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

#[derive(serde::Serialize, serde::Deserialize)]
struct TriageTiming {
    forward: String,
    threads: usize,
    texts: usize,
    mean_tokens: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    tokenize_ms: f64,
    encoder_ms: f64,
    head_ms: f64,
    oos_scan_ms: f64,
    batch_per_s: f64,
}

/// Runs itself with one and with two encoder threads (`FLOWGATE_THREADS`) and prints
/// both, so the ratio comes from one run.
fn triage_bench(
    model: &std::path::Path,
    texts: &std::path::Path,
    n: usize,
    tokens: Option<usize>,
) -> Result<()> {
    if std::env::var_os("FLOWGATE_BENCH_CHILD").is_some() {
        let t = triage_timing(model, texts, n, tokens)?;
        println!("{}", serde_json::to_string(&t)?);
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    for (forward, threads) in [("reference", 1), ("reference", 2), ("fast", 1), ("fast", 2)] {
        let out = Command::new(&exe)
            .args(["bench", "--triage-model"])
            .arg(model)
            .arg("--texts")
            .arg(texts)
            .args(["--n", &n.to_string()])
            .args(tokens.map(|t| format!("--tokens={t}")))
            .env("FLOWGATE_BENCH_CHILD", "1")
            .env("FLOWGATE_THREADS", threads.to_string())
            .env("FLOWGATE_ENCODER", forward)
            .env("RAYON_NUM_THREADS", "1")
            .output()?;
        if !out.status.success() {
            anyhow::bail!(
                "triage bench on {threads} thread(s) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let t: TriageTiming = serde_json::from_slice(&out.stdout)?;
        rows.push(t);
    }
    println!(
        "triage of {} texts ({:.1} tokens on average)",
        rows[0].texts, rows[0].mean_tokens
    );
    println!(
        "forward    threads  p50 ms  p99 ms  tokenize  encoder  head  oos-scan (ms, one at a time)  batched tickets/s"
    );
    for t in &rows {
        println!(
            "{:<9}  {:>7}  {:>6.1}  {:>6.1}  {:>8.2}  {:>7.2}  {:>4.2}  {:>8.2}  {:>30.0}",
            t.forward,
            t.threads,
            t.latency_p50_ms,
            t.latency_p99_ms,
            t.tokenize_ms,
            t.encoder_ms,
            t.head_ms,
            t.oos_scan_ms,
            t.batch_per_s
        );
    }
    Ok(())
}

fn triage_timing(
    model: &std::path::Path,
    texts: &std::path::Path,
    n: usize,
    tokens: Option<usize>,
) -> Result<TriageTiming> {
    let model = flowgate_demand::IntentModel::load(model)?;
    let data = flowgate_demand::texts::read(texts, None, None, false)?;
    let enc = crate::demand::encoder()?;
    let mut owned = Vec::new();
    for t in &data.texts {
        if owned.len() == n.max(1) {
            break;
        }
        match tokens {
            Some(k) if enc.token_lengths(&[t])?[0] >= k => {
                owned.push(enc.truncate_to_tokens(t, k)?)
            }
            Some(_) => {}
            None => owned.push(t.clone()),
        }
    }
    if owned.is_empty() {
        anyhow::bail!("no text is long enough for --tokens");
    }
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    enc.embed(&texts[..texts.len().min(8)])?; // warm up
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let (mut total, mut tok, mut embed, mut head, mut oos) = (Vec::new(), 0.0, 0.0, 0.0, 0.0);
    let mut tokens = 0usize;
    for t in &texts {
        let t0 = Instant::now();
        tokens += enc.token_lengths(&[t])?[0];
        tok += ms(t0);
        let t1 = Instant::now();
        let e = enc.embed(&[t])?;
        let t2 = Instant::now();
        let p = model.predict_one(t, &e[0]);
        let t3 = Instant::now();
        std::hint::black_box(model.oos_of(&e[0]));
        oos += ms(t3);
        std::hint::black_box(p);
        embed += (t2 - t1).as_secs_f64() * 1000.0;
        head += (t3 - t2).as_secs_f64() * 1000.0;
        total.push((t3 - t1).as_secs_f64() * 1000.0);
    }
    total.sort_by(f64::total_cmp);
    let k = texts.len() as f64;
    let pick = |p: u32| total[flowgate_flow::stats::nearest_rank(p, total.len()) - 1];
    let t0 = Instant::now();
    std::hint::black_box(model.predict(&enc, &texts)?);
    let batch_per_s = k / t0.elapsed().as_secs_f64();
    Ok(TriageTiming {
        forward: format!("{:?}", enc.forward()).to_lowercase(),
        threads: candle_threads(),
        texts: texts.len(),
        mean_tokens: tokens as f64 / k,
        latency_p50_ms: pick(50),
        latency_p99_ms: pick(99),
        tokenize_ms: tok / k,
        // The encoder call includes its own tokenisation; report the two apart.
        encoder_ms: embed / k - tok / k,
        head_ms: head / k - oos / k,
        oos_scan_ms: oos / k,
        batch_per_s,
    })
}

fn candle_threads() -> usize {
    std::env::var("FLOWGATE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Percentiles (nearest rank) of millisecond timings.
fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let pick = |p: u32| v[flowgate_flow::stats::nearest_rank(p, v.len()) - 1];
    (pick(50), pick(99), v.iter().sum::<f64>() / v.len() as f64)
}

/// The gate's decision alone: verdicts first, then every ticket decided 20 times.
fn gate_bench(model: &Path, texts: &Path, policy: &Path, n: usize) -> Result<()> {
    let model = flowgate_demand::IntentModel::load(model)?;
    let gate = crate::risk::load_gate(&model, policy)?;
    let data = flowgate_demand::texts::read_columns(texts, Default::default(), false)?;
    let take = n.max(1).min(data.texts.len());
    let enc = crate::demand::encoder()?;
    let refs: Vec<&str> = data.texts[..take].iter().map(String::as_str).collect();
    let preds = crate::demand::classify(&model, &enc, &refs, true)?;
    let mut times = Vec::with_capacity(take * 20);
    for _ in 0..20 {
        for (i, p) in preds.iter().enumerate() {
            let t0 = Instant::now();
            let d = gate.decide(
                &crate::risk::ticket(&data, i, None),
                Some(3.0),
                &flowgate_app::triage::verdict(p),
                Some(true),
            )?;
            std::hint::black_box(d);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (p50, p99, mean) = percentiles(times);
    println!(
        "gate decision ({} rules, {} tickets × 20, {}, {}): p50 {:.4} ms, p99 {:.4} ms, mean {:.4} ms",
        gate.policy.rules.len(),
        take,
        machine(),
        today(),
        p50,
        p99,
        mean
    );
    Ok(())
}

/// Knowledge-base search over `n_articles` articles, with the queries of `queries`.
fn kb_bench(n_articles: usize, queries: &Path, n: usize, work: Option<&Path>) -> Result<()> {
    let shared = Path::new("../shared/data");
    let bitext = shared.join(
        "bitext-customer-support/Bitext_Sample_Customer_Support_Training_Dataset_4514_337b968.csv",
    );
    let mut bodies: Vec<(String, String)> = Vec::new();
    let mut rdr = csv::Reader::from_path(&bitext)
        .with_context(|| format!("reading {} (run from the project folder)", bitext.display()))?;
    for r in rdr.records() {
        let r = r?;
        bodies.push((
            r.get(3).unwrap_or("").to_owned(),
            r.get(10).unwrap_or("").to_owned(),
        ));
    }
    let b77 = flowgate_demand::texts::read(&shared.join("banking77/train.csv"), None, None, true)?;
    for (t, l) in b77.texts.iter().zip(&b77.labels) {
        bodies.push((l.clone(), t.clone()));
    }
    if bodies.len() < n_articles {
        bail!(
            "only {} texts to make articles from; ask for at most that many",
            bodies.len()
        );
    }
    let dir = match work {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("flowgate-kb-bench-{}", std::process::id())),
    };
    let src = dir.join("articles");
    let out = dir.join("kb.fgkb");
    // A knowledge base built by an earlier run in the same folder is reused when it holds
    // the same number of articles (the build takes minutes; the search is what is timed).
    let reuse = flowgate_kb::Kb::open(&out).is_ok_and(|kb| kb.articles.len() == n_articles);
    if !reuse {
        let _ = std::fs::remove_dir_all(&src);
        std::fs::create_dir_all(&src)?;
    }
    for (i, (intent, body)) in bodies
        .iter()
        .take(if reuse { 0 } else { n_articles })
        .enumerate()
    {
        std::fs::write(
            src.join(format!("{i:05}.md")),
            format!(
                "+++\nid = \"a{i}\"\ntitle = \"{}\"\nintents = [\"{intent}\"]\nreviewed = \"2026-11-01\"\n+++\n\n{body}\n",
                intent.replace('_', " ")
            ),
        )?;
    }
    let enc = crate::demand::encoder()?;
    let t0 = Instant::now();
    if !reuse {
        flowgate_kb::build(&src, &out, &enc, &|_, _| {})?;
    }
    let build_s = t0.elapsed().as_secs_f64();
    let kb = flowgate_kb::Kb::open(&out)?;
    let q = flowgate_demand::texts::read(queries, None, None, false)?;
    let qs: Vec<&str> = q.texts.iter().take(n.max(1)).map(String::as_str).collect();
    // Warm-up: the first queries page the index and the weights in.
    for text in qs.iter().take(20) {
        let e = enc.embed(&[text])?;
        std::hint::black_box(kb.search_embedded(text, &e[0], 5)?);
    }
    let (mut full, mut search) = (Vec::new(), Vec::new());
    for text in &qs {
        // The product path: `Kb::search` embeds the query's head and searches.
        let t0 = Instant::now();
        std::hint::black_box(kb.search(&enc, text, 5)?);
        full.push(t0.elapsed().as_secs_f64() * 1000.0);
        // The search alone, the query embedded beforehand.
        let e = enc.embed(&[text])?;
        let t1 = Instant::now();
        std::hint::black_box(kb.search_embedded(text, &e[0], 5)?);
        search.push(t1.elapsed().as_secs_f64() * 1000.0);
    }
    let (f50, f99, _) = percentiles(full);
    let (s50, s99, _) = percentiles(search);
    println!(
        "knowledge base: {} articles, {} passages, {} ({}, {})",
        kb.articles.len(),
        kb.passages.len(),
        if reuse {
            "reused from an earlier run".to_owned()
        } else {
            format!("built in {build_s:.0}s")
        },
        machine(),
        today()
    );
    println!(
        "search of {} queries: Kb::search (embedding the query's first {} tokens) p50 {f50:.1} ms, p99 {f99:.1} ms; BM25 + cosine + fusion alone p50 {s50:.2} ms, p99 {s99:.2} ms",
        qs.len(),
        flowgate_kb::QUERY_TOKENS
    );
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// The value layer's two targets: simulation (one year, 100,000 tickets a month, 20
/// replications, fitted from the demo organisation) and compare (1,000,000 cases, 2,000
/// resamples, with and without 12 segments).
fn value_bench(work_dir: Option<&std::path::Path>) -> Result<()> {
    use flowgate_flow::cases::CaseRecord;
    use rand::{Rng, SeedableRng};
    let dir = work_dir
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join("flowgate-bench-value"));
    std::fs::create_dir_all(&dir)?;
    let g = flowgate_synth::generate(&flowgate_synth::Config {
        tickets: 20_000,
        ..Default::default()
    });
    let log_path = dir.join("demo-log.csv");
    flowgate_synth::write_log_csv(&log_path, &g)?;
    let mapping = flowgate_ingest::Mapping::from_toml(flowgate_synth::PRESET_TOML, "demo")?;
    let got = crate::load::read(&log_path, Some(mapping), true, true)?;
    let loaded = crate::value::Loaded {
        records: flowgate_flow::cases::case_records(&got.log),
        log: got.log,
        mapping: got.mapping,
        source: "demo".into(),
    };
    let t0 = Instant::now();
    let model = crate::value::fit(&loaded, "intent");
    let fit_s = t0.elapsed().as_secs_f64();
    let per_month = model.arrivals_per_day() * 365.25 / 12.0;
    let scale = 100_000.0 / per_month;
    let sc = flowgate_sim::Scenario {
        replications: Some(20),
        days: Some(365),
        capacity_scale: Some(scale),
        arrivals: flowgate_sim::scenario::Arrivals {
            scale: Some(scale),
            spikes: Vec::new(),
        },
        ..Default::default()
    };
    let t0 = Instant::now();
    let r = flowgate_sim::simulate(&model, &sc, 2);
    let sim_s = t0.elapsed().as_secs_f64();
    println!(
        "simulate: fitted from {} demo cases in {:.3} s; 365 days x 20 replications at {:.0} tickets a month ({:.2} M cases in all): {:.2} s (target 30 s); p50 {:.0} s",
        loaded.log.n_cases(),
        fit_s,
        r.cases.mean / 365.0 * 365.25 / 12.0,
        r.cases.mean * r.replications as f64 / 1e6,
        sim_s,
        r.cycle_time_p50_s.map_or(0.0, |b| b.mean)
    );

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let n = 1_000_000usize;
    const DAY: i64 = 86_400_000;
    let records: Vec<CaseRecord> = (0..n)
        .map(|i| {
            let created = (i % 2) as i64 * 90 * DAY + rng.random_range(0..89 * DAY);
            let u: f64 = rng.random_range(1e-9..1.0);
            let cycle = (-u.ln() * 20.0 * 3_600_000.0) as i64 + 60_000;
            let resolved = rng.random_bool(0.97);
            CaseRecord {
                created,
                resolved_at: resolved.then_some(created + cycle),
                last_event: created + cycle,
                reopens: rng.random_bool(0.05) as u32,
                fastest_reopen_ms: None,
                first_reopened_resolution: None,
                handoffs: rng.random_range(0..3),
                ping_pong: rng.random_bool(0.03),
                escalated: rng.random_bool(0.08),
                touch_ms: rng.random_range(60_000..3_600_000),
                first_response_ms: None,
                first_team: flowgate_flow::NONE,
            }
        })
        .collect();
    let seg: Vec<u32> = (0..n as u32)
        .map(|i| i.wrapping_mul(2_654_435_761) % 12)
        .collect();
    let names: Vec<String> = (0..12).map(|i| format!("intent-{i}")).collect();
    let targets: Vec<Option<f64>> = (0..n).map(|_| Some(24.0 * 3600.0)).collect();
    let opts = two_quarters(2000, 1);
    for segmented in [false, true] {
        let input = flowgate_value::CompareInput {
            records: &records,
            segments: segmented.then_some((seg.as_slice(), names.as_slice())),
            sla_target_s: Some(&targets),
        };
        let t0 = Instant::now();
        let c = flowgate_value::compare(&input, &opts);
        println!(
            "compare: {} cases, 2,000 bootstrap resamples{}: {:.2} s (target 5 s); cycle p50 difference {:.0} s, 95% CI {:?}",
            c.baseline_cases + c.pilot_cases,
            if segmented {
                ", mix-adjusted over 12 segments"
            } else {
                ""
            },
            t0.elapsed().as_secs_f64(),
            c.measure("cycle_time_p50")
                .and_then(|m| m.difference)
                .unwrap_or(0.0),
            c.measure("cycle_time_p50").and_then(|m| m.ci95)
        );
    }
    bootstrap_coverage_at_scale();
    Ok(())
}

/// Baseline days 0–90 against pilot days 90–180, the bench's synthetic periods.
fn two_quarters(resamples: usize, seed: u64) -> flowgate_value::CompareOptions {
    const DAY: i64 = 86_400_000;
    flowgate_value::CompareOptions {
        baseline: flowgate_value::Period {
            from_ms: 0,
            to_ms: 90 * DAY,
        },
        pilot: flowgate_value::Period {
            from_ms: 90 * DAY,
            to_ms: 180 * DAY,
        },
        resamples,
        seed,
        by: None,
        shortcuts: Default::default(),
    }
}

/// Coverage of the bootstrap at 1,000,000 cases, where both shortcuts are in force (the
/// normal draw for counts, 2,048 equal-count bins for cycle times): 60 trials with a known
/// difference (escalation 8% → 7%, mean cycle time 20 h → 18 h), 400 resamples each.
fn bootstrap_coverage_at_scale() {
    use flowgate_flow::cases::CaseRecord;
    use rand::{Rng, SeedableRng};
    const DAY: i64 = 86_400_000;
    const HOUR: f64 = 3_600_000.0;
    let trials = 60u64;
    let t0 = Instant::now();
    let (mut rate, mut mean) = (0, 0);
    for t in 0..trials {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + t);
        let records: Vec<CaseRecord> = (0..1_000_000usize)
            .map(|i| {
                let pilot = i % 2 == 1;
                let created = pilot as i64 * 90 * DAY + rng.random_range(0..89 * DAY);
                let u: f64 = rng.random_range(1e-12..1.0);
                let mean_h = if pilot { 18.0 } else { 20.0 };
                let cycle = (-u.ln() * mean_h * HOUR) as i64;
                CaseRecord {
                    created,
                    resolved_at: Some(created + cycle),
                    last_event: created + cycle,
                    reopens: 0,
                    fastest_reopen_ms: None,
                    first_reopened_resolution: None,
                    handoffs: 0,
                    ping_pong: false,
                    escalated: rng.random_bool(if pilot { 0.07 } else { 0.08 }),
                    touch_ms: 0,
                    first_response_ms: None,
                    first_team: flowgate_flow::NONE,
                }
            })
            .collect();
        let opts = two_quarters(400, t);
        let input = flowgate_value::CompareInput {
            records: &records,
            segments: None,
            sla_target_s: None,
        };
        let c = flowgate_value::compare(&input, &opts);
        let covers = |m: &str, truth: f64| {
            c.measure(m)
                .and_then(|m| m.ci95)
                .is_some_and(|(lo, hi)| lo <= truth && truth <= hi)
        };
        rate += covers("escalation_rate", -0.01) as u32;
        mean += covers("cycle_time_mean", -2.0 * 3600.0) as u32;
    }
    println!(
        "bootstrap coverage at 1,000,000 cases (shortcuts in force), {trials} trials × 400 resamples: escalation rate {:.0}%, mean cycle time {:.0}% (nominal 95%); {:.1} s",
        rate as f64 * 100.0 / trials as f64,
        mean as f64 * 100.0 / trials as f64,
        t0.elapsed().as_secs_f64()
    );
}

/// A token of `role` in the store at `db` (migrated first).
fn bench_token(db: &str, role: &str) -> Result<String> {
    let token = flowgate_server::auth::new_token();
    crate::db::runtime()?.block_on(async {
        let s = flowgate_store::Store::open(db).await?;
        s.migrate().await?;
        s.token_create(
            &format!("bench-{role}-{}", jiff::Timestamp::now().as_millisecond()),
            role,
            &flowgate_server::auth::token_sha256(&token),
            "bench",
            jiff::Timestamp::now().as_millisecond(),
        )
        .await?;
        s.close().await;
        anyhow::Ok(())
    })?;
    Ok(token)
}

/// `flowgate serve` as a child on a free loopback port with the demo's files: the child and
/// its base URL.
fn start_server(
    demo: &Path,
    db: &str,
    config: Option<&Path>,
) -> Result<(std::process::Child, String)> {
    use std::io::BufRead;
    let path = |f: &str| demo.join(f).display().to_string();
    let mut cmd = Command::new(std::env::current_exe()?);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args(["serve", "--bind", "127.0.0.1:0", "--db", db])
        .args(["--model", &path("intent-model.fgim")])
        .args(["--policy", &path("policy.toml")])
        .args(["--kb", &path("kb.fgkb")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting flowgate serve")?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("server stdout")?).read_line(&mut line)?;
    let base = line
        .trim()
        .rsplit_once("listening on ")
        .map(|x| x.1.to_owned())
        .with_context(|| format!("the server did not say where it listens: {line:?}"))?;
    Ok((child, base))
}

/// SIGTERM, and a clean exit expected.
fn stop_server(mut child: std::process::Child) -> Result<()> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .context("sending SIGTERM to the server")?;
    let status = child.wait()?;
    if !status.success() {
        bail!("the server exited with {status} after SIGTERM");
    }
    Ok(())
}

/// `GET /v1/baseline` and `GET /v1/scorecard` on a store of about `events` events (the demo's
/// synthetic organisation, enough tickets to reach it): the first request (computed) and
/// then 8 clients × 50 requests each (answered from memory while a background task keeps the
/// figures at most a minute old).
fn analytics_bench(demo: &Path, work: Option<&Path>, events: usize) -> Result<()> {
    let dir = match work {
        Some(d) => d.join("analytics"),
        None => {
            std::env::temp_dir().join(format!("flowgate-analytics-bench-{}", std::process::id()))
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // About 7 events a ticket in the demo's organisation; measured below, not assumed.
    let g = flowgate_synth::generate(&flowgate_synth::Config {
        tickets: events / 7,
        ..Default::default()
    });
    let log = dir.join("log.csv");
    flowgate_synth::write_log_csv(&log, &g)?;
    let mapping = flowgate_ingest::Mapping::from_toml(flowgate_synth::PRESET_TOML, "demo")?;
    let got = crate::load::read_rows(&log, Some(mapping), true, true)?;
    let db = dir.join("analytics.db").display().to_string();
    let stored = crate::db::store_rows(&db, "demo", &got, &log, true, false)?;
    drop(got);
    let token = bench_token(&db, "viewer")?;
    let (child, base) = start_server(demo, &db, None)?;
    println!(
        "flowgate serve, analytics on {} events ({} cases) in SQLite, {} ({})",
        stored.events_new,
        stored.cases_total,
        machine(),
        today()
    );
    println!("| route | first (computed) ms | requests | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    let bearer = ("Authorization", format!("Bearer {token}"));
    let session = ("Cookie", page_session(&base, &token)?);
    for (route, (header, value)) in [
        ("/v1/baseline", &bearer),
        ("/v1/scorecard?weeks=12", &bearer),
        // The Monday screen: scorecard, flow figures, the gate's week, in one page.
        ("/ui/", &session),
    ] {
        let url = format!("{base}{route}");
        let get = |agent: &ureq::Agent| -> Result<f64> {
            let t0 = Instant::now();
            let r = agent.get(&url).set(header, value).call();
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            match r {
                Ok(resp) if resp.status() == 200 => {
                    let _ = resp.into_string()?;
                    Ok(ms)
                }
                Ok(resp) => bail!("status {}", resp.status()),
                Err(e) => bail!("{e}"),
            }
        };
        let first = get(&ureq::AgentBuilder::new().build())?;
        let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let agent = ureq::AgentBuilder::new().build();
                        let (mut ok, mut errors) = (Vec::new(), 0usize);
                        for _ in 0..50 {
                            match get(&agent) {
                                Ok(ms) => ok.push(ms),
                                Err(_) => errors += 1,
                            }
                        }
                        (ok, errors)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let errors: usize = results.iter().map(|r| r.1).sum();
        let all: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
        if all.is_empty() {
            bail!("no request to {route} succeeded");
        }
        let n = all.len();
        let (p50, p99, _) = percentiles(all);
        println!("| `GET {route}` | {first:.0} | {n} | {p50:.1} | {p99:.1} | {errors} |");
    }
    stop_server(child)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Signs in to the pages with `token` (the sign-in form's double-submit cookie sent as the
/// browser would) and returns the session cookie (`fg_session=…`).
fn page_session(base: &str, token: &str) -> Result<String> {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{base}/ui/login"))
        .set("Cookie", "fg_login=bench")
        .send_form(&[("token", token), ("csrf", "bench")]);
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => bail!("signing in to the pages: {e}"),
    };
    resp.all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("fg_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "signing in to the pages: no session cookie (status {})",
                resp.status()
            )
        })
}

/// Webhook acknowledgements: signed Standard Webhooks deliveries at a steady 200 per second
/// (4 senders, each on its own schedule) for `secs` seconds; the time from sending to the
/// 202 is the inbox commit and nothing else. Once with the inbox's workers paused and once
/// with them running (deciding each delivery's ticket meanwhile), on SQLite and, when given,
/// PostgreSQL.
fn webhook_bench(demo: &Path, secs: f64, work: Option<&Path>, pg: Option<&str>) -> Result<()> {
    const RATE: f64 = 200.0;
    const SENDERS: usize = 4;
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut reader = csv::Reader::from_path(demo.join("tickets.csv"))
        .with_context(|| format!("{}: run flowgate demo --out DIR first", demo.display()))?;
    let mut texts = Vec::new();
    for row in reader.records().take(500) {
        let row = row?;
        texts.push((
            row.get(2).unwrap_or("").to_owned(),
            row.get(3).unwrap_or("").to_owned(),
        ));
    }
    let dir = match work {
        Some(d) => d.join("webhooks"),
        None => std::env::temp_dir().join(format!("flowgate-webhook-bench-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    println!(
        "flowgate serve, POST /v1/webhooks (Standard Webhooks), {RATE:.0} deliveries/s for {secs:.0} s, {} ({})",
        machine(),
        today()
    );
    println!("| store | workers | sent | 2xx | ack p50 ms | ack p99 ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut stores = vec![("SQLite", dir.join("webhooks.db").display().to_string())];
    if let Some(url) = pg {
        stores.push(("PostgreSQL", url.to_owned()));
    }
    let run = std::process::id();
    for (name, db) in &stores {
        for workers in [0usize, 2] {
            let config = dir.join(format!("flowgate-{workers}.toml"));
            std::fs::write(
                &config,
                format!(
                    "[serve]\nworkers = {workers}\nrate_per_minute = 0\n\n[webhooks.bench]\nscheme = \"standard-webhooks\"\nsecrets = [\"{SECRET}\"]\n"
                ),
            )?;
            let (child, base) = start_server(demo, db, Some(&config))?;
            let url = format!("{base}/v1/webhooks/bench");
            let t0 = Instant::now();
            let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..SENDERS)
                    .map(|c| {
                        let (url, texts) = (&url, &texts);
                        scope.spawn(move || {
                            let agent = ureq::AgentBuilder::new().build();
                            let (mut ok, mut errors) = (Vec::new(), 0usize);
                            let every = SENDERS as f64 / RATE;
                            let mut k = 0usize;
                            loop {
                                // Open loop: the k-th send of this sender is due at a fixed
                                // time, however long earlier answers took.
                                let due = (k as f64 + c as f64 / SENDERS as f64) * every;
                                if due >= secs {
                                    break;
                                }
                                let wait = due - t0.elapsed().as_secs_f64();
                                if wait > 0.0 {
                                    std::thread::sleep(std::time::Duration::from_secs_f64(wait));
                                }
                                let i = k * SENDERS + c;
                                let (subject, body) = &texts[i % texts.len()];
                                let payload = serde_json::json!({"type": "ticket.created",
                                    "data": {"id": format!("W-{run}-{workers}-{i}"),
                                             "subject": subject, "body": body}})
                                .to_string();
                                let id = format!("wb-{run}-{workers}-{i}");
                                let ts = jiff::Timestamp::now().as_second();
                                let sig = flowgate_server::webhook::standard_signature(
                                    SECRET,
                                    &id,
                                    ts,
                                    payload.as_bytes(),
                                )
                                .unwrap_or_default();
                                let sent = Instant::now();
                                let r = agent
                                    .post(url)
                                    .set("Content-Type", "application/json")
                                    .set("webhook-id", &id)
                                    .set("webhook-timestamp", &ts.to_string())
                                    .set("webhook-signature", &sig)
                                    .send_string(&payload);
                                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                                match r {
                                    Ok(resp) if resp.status() == 202 => ok.push(ms),
                                    _ => errors += 1,
                                }
                                k += 1;
                            }
                            (ok, errors)
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
            stop_server(child)?;
            let errors: usize = results.iter().map(|r| r.1).sum();
            let all: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
            let n = all.len();
            if n == 0 {
                bail!("no webhook was acknowledged on {name} ({errors} errors)");
            }
            let (p50, p99, _) = percentiles(all);
            println!(
                "| {name} | {} | {} | {n} | {p50:.1} | {p99:.1} | {errors} |",
                if workers == 0 { "paused" } else { "2 running" },
                n + errors
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Decisions through the service: a real `flowgate serve` child on loopback, fresh SQLite
/// store, 64-token tickets (each a new ticket, so each is triaged, gated and audited), and
/// 1, 8 and 32 clients each posting as fast as answers come back for `secs` seconds.
fn serve_bench(demo: &Path, secs: f64, work: Option<&Path>) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let enc = crate::demand::encoder()?;
    let mut reader = csv::Reader::from_path(demo.join("tickets.csv"))
        .with_context(|| format!("{}: run flowgate demo --out DIR first", demo.display()))?;
    let mut texts = Vec::new();
    for row in reader.records().take(2000) {
        let row = row?;
        let (subject, body) = (row.get(2).unwrap_or(""), row.get(3).unwrap_or(""));
        let mut t = format!("{subject}. {body}");
        while enc.token_lengths(&[&t])?[0] < 64 {
            t = format!("{t} {body}");
        }
        texts.push(enc.truncate_to_tokens(&t, 64)?);
    }
    drop(enc);
    if texts.is_empty() {
        bail!("{}: no tickets", demo.join("tickets.csv").display());
    }
    let dir = match work {
        Some(d) => d.to_owned(),
        None => std::env::temp_dir().join(format!("flowgate-serve-bench-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench.db").display().to_string();
    let token = bench_token(&db, "ingest")?;
    let (child, base) = start_server(demo, &db, None)?;
    let url = format!("{base}/v1/tickets");
    let next = AtomicUsize::new(0);
    let post = |agent: &ureq::Agent, k: usize| -> Result<f64> {
        let body = serde_json::json!({"id": format!("B-{k}"), "body": texts[k % texts.len()]});
        let t0 = Instant::now();
        let r = agent
            .post(&url)
            .set("Authorization", &format!("Bearer {token}"))
            .send_json(body);
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        match r {
            Ok(resp) if resp.status() == 201 => Ok(ms),
            Ok(resp) => bail!("status {}", resp.status()),
            Err(e) => bail!("{e}"),
        }
    };
    // Warm up: model pages, the encoder's first batches, the store's first writes.
    let agent = ureq::AgentBuilder::new().build();
    for _ in 0..16 {
        post(&agent, next.fetch_add(1, Ordering::Relaxed))?;
    }
    println!(
        "flowgate serve, POST /v1/tickets, 64-token tickets, SQLite, {} ({})",
        machine(),
        today()
    );
    println!("| clients | decisions | decisions/s | p50 ms | p99 ms | errors |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for clients in [1usize, 8, 32] {
        let t0 = Instant::now();
        let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..clients)
                .map(|_| {
                    scope.spawn(|| {
                        let agent = ureq::AgentBuilder::new().build();
                        let (mut ok, mut errors) = (Vec::new(), 0usize);
                        while t0.elapsed().as_secs_f64() < secs {
                            match post(&agent, next.fetch_add(1, Ordering::Relaxed)) {
                                Ok(ms) => ok.push(ms),
                                Err(_) => errors += 1,
                            }
                        }
                        (ok, errors)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let wall = t0.elapsed().as_secs_f64();
        let errors: usize = results.iter().map(|r| r.1).sum();
        let all: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
        if all.is_empty() {
            bail!("no request succeeded with {clients} clients ({errors} errors)");
        }
        let n = all.len();
        let (p50, p99, _) = percentiles(all);
        println!(
            "| {clients} | {n} | {:.1} | {p50:.1} | {p99:.1} | {errors} |",
            n as f64 / wall
        );
    }
    stop_server(child)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The server's resident memory (kB) in all, anonymous (heap, SQLite's page cache) and
/// file-backed (the binary, the model, SQLite's memory map), from /proc.
fn rss_split_kb(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("RssAnon:")?, field("RssFile:")?))
}

/// A steady mixed load for `secs` seconds on a fresh SQLite store, every kind of call on its
/// own open-loop schedule (a call is due at a fixed time however long the earlier ones took):
/// tickets through the API and through signed webhooks (well below the decision capacity, so
/// the inbox keeps up), history events, the decision cursor, the scorecard, and a reviewer
/// claiming and marking sampled decisions. Reports requests, errors and latency per kind,
/// the server's RSS each minute, and checks at the end that every webhook was decided and
/// the audit chain verifies.
/// With `pg` the store is that PostgreSQL database; with `distinct` every kind of call cycles
/// over that many ids, so the store stops growing after the first round.
fn soak_bench(
    demo: &Path,
    secs: f64,
    work: Option<&Path>,
    pg: Option<&str>,
    distinct: Option<usize>,
) -> Result<()> {
    use std::sync::Mutex;
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut reader = csv::Reader::from_path(demo.join("tickets.csv"))
        .with_context(|| format!("{}: run flowgate demo --out DIR first", demo.display()))?;
    let mut texts = Vec::new();
    for row in reader.records().take(1000) {
        let row = row?;
        texts.push((
            row.get(2).unwrap_or("").to_owned(),
            row.get(3).unwrap_or("").to_owned(),
            row.get(7).unwrap_or("").to_owned(),
        ));
    }
    if texts.is_empty() {
        bail!("{}: no tickets", demo.join("tickets.csv").display());
    }
    let dir = match work {
        Some(d) => d.join("soak"),
        None => std::env::temp_dir().join(format!("flowgate-soak-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = match pg {
        Some(url) => url.to_owned(),
        None => dir.join("soak.db").display().to_string(),
    };
    let store_name = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    // The id of the k-th call: unique, or cycling over `distinct`.
    let cycle = move |k: usize| distinct.map_or(k, |n| k % n.max(1));
    let ingest = bench_token(&db, "ingest")?;
    let reviewer = bench_token(&db, "reviewer")?;
    let config = dir.join("flowgate.toml");
    std::fs::write(
        &config,
        format!(
            "[serve]\nrate_per_minute = 0\nshadow_reviews = true\n\n[webhooks.soak]\nscheme = \"standard-webhooks\"\nsecrets = [\"{SECRET}\"]\n"
        ),
    )?;
    let (child, base) = start_server(demo, &db, Some(&config))?;
    let pid = child.id();
    let run = std::process::id();
    type Call<'a> = Box<dyn Fn(&ureq::Agent, usize) -> Result<()> + Send + Sync + 'a>;
    let auth = |t: &str| format!("Bearer {t}");
    let ok = |r: std::result::Result<ureq::Response, ureq::Error>, want: &[u16]| -> Result<()> {
        match r {
            Ok(resp) if want.contains(&resp.status()) => {
                let _ = resp.into_string()?;
                Ok(())
            }
            Ok(resp) => bail!("status {}", resp.status()),
            Err(ureq::Error::Status(code, _)) if want.contains(&code) => Ok(()),
            Err(e) => bail!("{e}"),
        }
    };
    let now_rfc = || jiff::Timestamp::now().to_string();
    let soak_start = jiff::Timestamp::now().as_second();
    // (name, calls per second, the call)
    let kinds: Vec<(&str, f64, Call)> = vec![
        (
            "POST /v1/tickets",
            5.0,
            Box::new(|a: &ureq::Agent, k: usize| {
                let k = cycle(k);
                let (subject, body, customer) = &texts[k % texts.len()];
                let r = a
                    .post(&format!("{base}/v1/tickets"))
                    .set("Authorization", &auth(&ingest))
                    .send_json(serde_json::json!({"id": format!("S-{run}-{k}"),
                        "customer": customer, "subject": subject, "body": body}));
                ok(r, &[201, 200])
            }),
        ),
        (
            "POST /v1/webhooks/soak",
            5.0,
            Box::new(|a: &ureq::Agent, k: usize| {
                let k = cycle(k);
                let (subject, body, customer) = &texts[(k + 500) % texts.len()];
                let payload = serde_json::json!({"type": "ticket.created",
                    "data": {"id": format!("SW-{run}-{k}"), "customer": customer,
                             "subject": subject, "body": body}})
                .to_string();
                let id = format!("soak-{run}-{k}");
                // A repeat is a sender's retry: the same id and body, signed anew.
                let ts = jiff::Timestamp::now().as_second();
                let sig = flowgate_server::webhook::standard_signature(
                    SECRET,
                    &id,
                    ts,
                    payload.as_bytes(),
                )
                .unwrap_or_default();
                let r = a
                    .post(&format!("{base}/v1/webhooks/soak"))
                    .set("Content-Type", "application/json")
                    .set("webhook-id", &id)
                    .set("webhook-timestamp", &ts.to_string())
                    .set("webhook-signature", &sig)
                    .send_string(&payload);
                ok(r, &[202, 200])
            }),
        ),
        (
            "POST /v1/events",
            10.0,
            Box::new(|a: &ureq::Agent, k: usize| {
                let k = cycle(k);
                let case = format!("S-{run}-{k}");
                // Repeated events carry the same times (the same identity: not stored again).
                let time = match distinct {
                    Some(_) => jiff::Timestamp::from_second(soak_start + k as i64)
                        .map(|t| t.to_string())
                        .unwrap_or_else(|_| now_rfc()),
                    None => now_rfc(),
                };
                let r = a
                    .post(&format!("{base}/v1/events"))
                    .set("Authorization", &auth(&ingest))
                    .send_json(serde_json::json!({"events": [
                        {"case": case, "activity": "Ticket created", "time": time, "state": "new"},
                        {"case": case, "activity": "Assigned", "time": time, "state": "working",
                         "team": format!("team-{}", k % 4), "resource": format!("agent-{}", k % 9)},
                    ]}));
                ok(r, &[201, 200])
            }),
        ),
        (
            "GET /v1/decisions",
            2.0,
            Box::new(|a: &ureq::Agent, k: usize| {
                let after = k.saturating_sub(50) as i64;
                let r = a
                    .get(&format!("{base}/v1/decisions?after_seq={after}&limit=50"))
                    .set("Authorization", &auth(&reviewer))
                    .call();
                ok(r, &[200])
            }),
        ),
        (
            "GET /v1/scorecard",
            1.0,
            Box::new(|a: &ureq::Agent, _| {
                let r = a
                    .get(&format!("{base}/v1/scorecard?source=live&weeks=4"))
                    .set("Authorization", &auth(&reviewer))
                    .call();
                ok(r, &[200])
            }),
        ),
        (
            "review: claim + mark",
            0.5,
            Box::new(|a: &ureq::Agent, _| {
                let r = a
                    .post(&format!("{base}/v1/reviews/claim"))
                    .set("Authorization", &auth(&reviewer))
                    .call();
                let item: serde_json::Value = match r {
                    Ok(resp) => resp.into_json()?,
                    // Nothing sampled yet.
                    Err(ureq::Error::Status(404, _)) => return Ok(()),
                    Err(e) => bail!("{e}"),
                };
                let seq = item["decision_seq"].as_i64().context("decision_seq")?;
                let r = a
                    .post(&format!("{base}/v1/reviews/{seq}"))
                    .set("Authorization", &auth(&reviewer))
                    .send_json(serde_json::json!({"verdict": "correct"}));
                ok(r, &[200])
            }),
        ),
    ];
    // The live source exists before the load starts (the scorecard reads it from the first
    // second; before any event it would rightly be a 404).
    kinds[2].2(&ureq::AgentBuilder::new().build(), usize::MAX / 2)
        .context("the first events of the soak")?;
    // (seconds into the soak, (RSS, anonymous, file-backed) in kB)
    type Sample = (f64, (u64, u64, u64));
    let rss: Mutex<Vec<Sample>> = Mutex::new(Vec::new());
    rss.lock()
        .unwrap()
        .extend(rss_split_kb(pid).map(|r| (0.0, r)));
    println!(
        "flowgate serve soak, {secs:.0} s of steady mixed load on {store_name}{}, {} ({})",
        distinct.map_or(String::new(), |n| format!(
            ", {n} distinct ids per kind (the store stops growing)"
        )),
        machine(),
        today()
    );
    let t0 = Instant::now();
    let results: Vec<(usize, Vec<f64>, usize, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(ki, (_, rate, call))| {
                scope.spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(std::time::Duration::from_secs(30))
                        .build();
                    let (mut lat, mut errors, mut first) = (Vec::new(), 0usize, None);
                    let mut k = 0usize;
                    loop {
                        let due = k as f64 / rate;
                        if due >= secs {
                            break;
                        }
                        let wait = due - t0.elapsed().as_secs_f64();
                        if wait > 0.0 {
                            std::thread::sleep(std::time::Duration::from_secs_f64(wait));
                        }
                        let sent = Instant::now();
                        match call(&agent, k) {
                            Ok(()) => lat.push(sent.elapsed().as_secs_f64() * 1000.0),
                            Err(e) => {
                                errors += 1;
                                first.get_or_insert_with(|| e.to_string());
                            }
                        }
                        k += 1;
                    }
                    (ki, lat, errors, first)
                })
            })
            .collect();
        // The server's memory once a minute while the load runs.
        let mut next = 60.0;
        while t0.elapsed().as_secs_f64() < secs {
            std::thread::sleep(std::time::Duration::from_millis(500));
            if t0.elapsed().as_secs_f64() >= next {
                rss.lock()
                    .unwrap()
                    .extend(rss_split_kb(pid).map(|r| (next, r)));
                next += 60.0;
            }
        }
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall = t0.elapsed().as_secs_f64();
    rss.lock()
        .unwrap()
        .extend(rss_split_kb(pid).map(|r| (wall, r)));
    println!("| calls | rate /s | sent | errors | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut total_errors = 0;
    for (ki, lat, errors, first) in results {
        total_errors += errors;
        let n = lat.len();
        let (p50, p99, _) = if lat.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            percentiles(lat)
        };
        println!(
            "| `{}` | {} | {} | {errors} | {p50:.1} | {p99:.1} |",
            kinds[ki].0,
            kinds[ki].1,
            n + errors
        );
        if let Some(e) = first {
            eprintln!("{}: first error: {e}", kinds[ki].0);
        }
    }
    // Every acknowledged webhook decided (the inbox drains), and the chain verifies.
    let agent = ureq::AgentBuilder::new().build();
    let drained = Instant::now();
    let pending = loop {
        let m = agent
            .get(&format!("{base}/metrics"))
            .set("Authorization", &auth(&reviewer))
            .call()?
            .into_string()?;
        let pending = m
            .lines()
            .filter(|l| l.starts_with("flowgate_inbox_deliveries{") && l.contains("pending"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
        if pending == 0.0 || drained.elapsed().as_secs() > 120 {
            break pending;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let v: serde_json::Value = agent
        .get(&format!("{base}/v1/audit/verify"))
        .set("Authorization", &auth(&reviewer))
        .call()?
        .into_json()?;
    let rss = rss.into_inner().unwrap_or_default();
    let mib = |kb: u64| kb as f64 / 1024.0;
    let line: Vec<String> = rss
        .iter()
        .map(|(t, (all, anon, file))| {
            format!(
                "{t:.0} s: {:.1} MiB ({:.1} anon + {:.1} file)",
                mib(*all),
                mib(*anon),
                mib(*file)
            )
        })
        .collect();
    println!("server RSS: {}", line.join(", "));
    println!(
        "after the load: inbox pending {pending}, audit chain {} records, intact {}; errors {total_errors}",
        v["records"], v["intact"]
    );
    stop_server(child)?;
    let _ = std::fs::remove_dir_all(&dir);
    if total_errors > 0 || pending > 0.0 || v["intact"] != true {
        bail!("the soak saw errors, an undrained inbox or a broken chain");
    }
    Ok(())
}
