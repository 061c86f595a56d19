//! A soak of `flowgate serve`: steady mixed load, errors per route, memory over time.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::service::{bench_token, rss_split_kb, start_server, stop_server};
use crate::{machine, percentiles, today};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One kind of call: given the agent and the call's number.
type Call<'a> = Box<dyn Fn(&ureq::Agent, usize) -> Result<()> + Send + Sync + 'a>;
/// (seconds into the soak, (RSS, anonymous, file-backed) in kB)
type Sample = (f64, (u64, u64, u64));
/// Per kind: (kind's index, latencies in ms, errors, the first error).
type KindResult = (usize, Vec<f64>, usize, Option<String>);

/// What every call of the soak needs: the server, the tokens, the tickets' texts.
struct Target {
    base: String,
    ingest: String,
    reviewer: String,
    /// This harness's process id, in every id it makes (runs never collide).
    run: u32,
    distinct: Option<usize>,
    start_s: i64,
    /// (subject, body, customer) of the demo's tickets.
    texts: Vec<(String, String, String)>,
}

impl Target {
    /// The id of the k-th call: unique, or cycling over `distinct`.
    fn cycle(&self, k: usize) -> usize {
        self.distinct.map_or(k, |n| k % n.max(1))
    }

    fn auth(&self, t: &str) -> String {
        format!("Bearer {t}")
    }
}

/// A call's outcome: success when the status is one of `want`.
fn ok(r: std::result::Result<ureq::Response, ureq::Error>, want: &[u16]) -> Result<()> {
    match r {
        Ok(resp) if want.contains(&resp.status()) => {
            let _ = resp.into_string()?;
            Ok(())
        }
        Ok(resp) => bail!("status {}", resp.status()),
        Err(ureq::Error::Status(code, _)) if want.contains(&code) => Ok(()),
        Err(e) => bail!("{e}"),
    }
}

/// The first 1,000 of the demo's tickets: (subject, body, customer).
fn demo_texts(demo: &Path) -> Result<Vec<(String, String, String)>> {
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
    Ok(texts)
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
pub(crate) fn soak_bench(
    demo: &Path,
    secs: f64,
    work: Option<&Path>,
    pg: Option<&str>,
    distinct: Option<usize>,
    out: &mut dyn Write,
) -> Result<()> {
    let texts = demo_texts(demo)?;
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
    let target = Target {
        base,
        ingest,
        reviewer,
        run: std::process::id(),
        distinct,
        start_s: jiff::Timestamp::now().as_second(),
        texts,
    };
    let kinds = kinds(&target);
    // The live source exists before the load starts (the scorecard reads it from the first
    // second; before any event it would rightly be a 404).
    kinds[2].2(&ureq::AgentBuilder::new().build(), usize::MAX / 2)
        .context("the first events of the soak")?;
    say!(
        out,
        "flowgate serve soak, {secs:.0} s of steady mixed load on {store_name}{}, {} ({})",
        distinct.map_or(String::new(), |n| format!(
            ", {n} distinct ids per kind (the store stops growing)"
        )),
        machine(),
        today()
    );
    let (results, rss) = drive(&kinds, secs, pid);
    let total_errors = report_calls(&kinds, results, out)?;
    let (pending, v) = settle(&target)?;
    report_memory(&rss, out)?;
    say!(
        out,
        "after the load: inbox pending {pending}, audit chain {} records, intact {}; errors {total_errors}",
        v["records"],
        v["intact"]
    );
    stop_server(child)?;
    let _ = std::fs::remove_dir_all(&dir);
    if total_errors > 0 || pending > 0.0 || v["intact"] != true {
        bail!("the soak saw errors, an undrained inbox or a broken chain");
    }
    Ok(())
}

/// The soak's kinds of call: (name, calls per second, the call).
fn kinds(t: &Target) -> Vec<(&'static str, f64, Call<'_>)> {
    let now_rfc = || jiff::Timestamp::now().to_string();
    let (base, run, distinct) = (&t.base, t.run, t.distinct);
    let (ingest, reviewer) = (&t.ingest, &t.reviewer);
    let soak_start = t.start_s;
    let texts = &t.texts;
    let cycle = |k: usize| t.cycle(k);
    let auth = |tok: &str| t.auth(tok);
    vec![
        (
            "POST /v1/tickets",
            5.0,
            Box::new(move |a: &ureq::Agent, k: usize| {
                let k = cycle(k);
                let (subject, body, customer) = &texts[k % texts.len()];
                let r = a
                    .post(&format!("{base}/v1/tickets"))
                    .set("Authorization", &auth(ingest))
                    .send_json(serde_json::json!({"id": format!("S-{run}-{k}"),
                        "customer": customer, "subject": subject, "body": body}));
                ok(r, &[201, 200])
            }),
        ),
        (
            "POST /v1/webhooks/soak",
            5.0,
            Box::new(move |a: &ureq::Agent, k: usize| {
                let k = cycle(k);
                let (subject, body, customer) = &texts[(k + 500) % texts.len()];
                let payload = serde_json::json!({"type": "ticket.created",
                    "data": {"id": format!("SW-{run}-{k}"), "customer": customer,
                             "subject": subject, "body": body}})
                .to_string();
                let id = format!("soak-{run}-{k}");
                // A repeat is a sender's retry: the same id and body, signed anew.
                let (ts, sig) = crate::service::sign(SECRET, &id, &payload);
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
            Box::new(move |a: &ureq::Agent, k: usize| {
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
                    .set("Authorization", &auth(ingest))
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
            Box::new(move |a: &ureq::Agent, k: usize| {
                let after = k.saturating_sub(50) as i64;
                let r = a
                    .get(&format!("{base}/v1/decisions?after_seq={after}&limit=50"))
                    .set("Authorization", &auth(reviewer))
                    .call();
                ok(r, &[200])
            }),
        ),
        (
            "GET /v1/scorecard",
            1.0,
            Box::new(move |a: &ureq::Agent, _| {
                let r = a
                    .get(&format!("{base}/v1/scorecard?source=live&weeks=4"))
                    .set("Authorization", &auth(reviewer))
                    .call();
                ok(r, &[200])
            }),
        ),
        (
            "review: claim + mark",
            0.5,
            Box::new(move |a: &ureq::Agent, _| {
                let r = a
                    .post(&format!("{base}/v1/reviews/claim"))
                    .set("Authorization", &auth(reviewer))
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
                    .set("Authorization", &auth(reviewer))
                    .send_json(serde_json::json!({"verdict": "correct"}));
                ok(r, &[200])
            }),
        ),
    ]
}

/// Runs every kind on its own open-loop schedule for `secs` seconds (a call is due at a
/// fixed time however long the earlier ones took), sampling the server's memory each minute.
fn drive(kinds: &[(&str, f64, Call)], secs: f64, pid: u32) -> (Vec<KindResult>, Vec<Sample>) {
    let rss: Mutex<Vec<Sample>> = Mutex::new(Vec::new());
    let sample = |at: f64| {
        if let Ok(mut v) = rss.lock() {
            v.extend(rss_split_kb(pid).map(|r| (at, r)));
        }
    };
    sample(0.0);
    let t0 = Instant::now();
    let results: Vec<KindResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(ki, (_, rate, call))| {
                scope.spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(30))
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
                            std::thread::sleep(Duration::from_secs_f64(wait));
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
            std::thread::sleep(Duration::from_millis(500));
            if t0.elapsed().as_secs_f64() >= next {
                sample(next);
                next += 60.0;
            }
        }
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    sample(t0.elapsed().as_secs_f64());
    (results, rss.into_inner().unwrap_or_default())
}

/// The table of calls per kind; returns the errors in all.
fn report_calls(
    kinds: &[(&str, f64, Call)],
    results: Vec<KindResult>,
    out: &mut dyn Write,
) -> Result<usize> {
    say!(out, "| calls | rate /s | sent | errors | p50 ms | p99 ms |");
    say!(out, "|---|---:|---:|---:|---:|---:|");
    let mut total_errors = 0;
    for (ki, lat, errors, first) in results {
        total_errors += errors;
        let n = lat.len();
        let (p50, p99, _) = if lat.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            percentiles(lat)
        };
        say!(
            out,
            "| `{}` | {} | {} | {errors} | {p50:.1} | {p99:.1} |",
            kinds[ki].0,
            kinds[ki].1,
            n + errors
        );
        if let Some(e) = first {
            eprintln!("{}: first error: {e}", kinds[ki].0);
        }
    }
    Ok(total_errors)
}

/// After the load: waits (at most 2 minutes) for the inbox to drain, then verifies the
/// chain. Returns the deliveries still pending and the verification's answer.
fn settle(t: &Target) -> Result<(f64, serde_json::Value)> {
    let agent = ureq::AgentBuilder::new().build();
    let drained = Instant::now();
    let pending = loop {
        let m = agent
            .get(&format!("{}/metrics", t.base))
            .set("Authorization", &t.auth(&t.reviewer))
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
        std::thread::sleep(Duration::from_millis(500));
    };
    let v: serde_json::Value = agent
        .get(&format!("{}/v1/audit/verify", t.base))
        .set("Authorization", &t.auth(&t.reviewer))
        .call()?
        .into_json()?;
    Ok((pending, v))
}

/// The server's resident memory at each sample.
fn report_memory(rss: &[Sample], out: &mut dyn Write) -> Result<()> {
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
    say!(out, "server RSS: {}", line.join(", "));
    Ok(())
}
