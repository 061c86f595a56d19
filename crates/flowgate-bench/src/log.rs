//! Timing the log: the baseline of a replicated log, a help desk's JSON history against
//! its CSV flattening, storing and loading, compaction.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use flowgate_flow::time::MS_PER_DAY;
use flowgate_ingest::timestamp::{TimestampParser, Zone};

use crate::*;

/// Runs `flowgate baseline FILE [extra…]` in a child process: seconds and peak RSS (KiB).
pub(crate) fn baseline_child(file: &Path, extra: &[&str]) -> Result<(f64, u64)> {
    let mut cmd = Command::new(crate::flowgate()?);
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
pub(crate) fn history_bench(
    n: usize,
    runs: u32,
    work: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
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
        let out = Command::new(crate::flowgate()?)
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
    say!(
        out,
        "| {} | {events} | JSON lines {:.0} MiB: {js:.2} s, {} MiB peak | CSV {:.0} MiB: {cs:.2} s, {} MiB peak | {:.2}× |",
        today(),
        mib(&json),
        jr / 1024,
        mib(&csv),
        cr / 1024,
        js / cs
    );
    say!(out, "machine: {}", machine());
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Loads of a live source before and after compaction, in one run: `n` imports of three
/// events each (what `n` calls of `POST /v1/events` store), then load, compact, load.
pub(crate) fn compact_bench(
    n: usize,
    store: Option<&str>,
    work: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
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
    let rt = runtime()?;
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
    say!(
        out,
        "| requests | events | stored in | load before (blocks) | compaction | load after (blocks) | ratio |"
    );
    say!(
        out,
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
    say!(
        out,
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
pub(crate) fn store_bench(
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
    let got = read_rows(file, mapping, false)?;
    let parse = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let s = store_rows(&url, "bench", &got, file)?;
    let store_secs = t.elapsed().as_secs_f64();
    drop(got);
    let t = Instant::now();
    let loaded = load_source(&url, "bench")?;
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
pub(crate) fn replicate(
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
