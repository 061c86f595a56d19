//! Timing `flowgate serve` as a child process: decisions, analytics, webhook
//! acknowledgements.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::*;

/// A token of `role` in the store at `db` (migrated first).
pub(crate) fn bench_token(db: &str, role: &str) -> Result<String> {
    let token = flowgate_server::auth::new_token();
    runtime()?.block_on(async {
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
pub(crate) fn start_server(
    demo: &Path,
    db: &str,
    config: Option<&Path>,
) -> Result<(std::process::Child, String)> {
    use std::io::BufRead;
    let path = |f: &str| demo.join(f).display().to_string();
    let mut cmd = Command::new(crate::flowgate()?);
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
pub(crate) fn stop_server(mut child: std::process::Child) -> Result<()> {
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
pub(crate) fn analytics_bench(
    demo: &Path,
    work: Option<&Path>,
    events: usize,
    out: &mut dyn Write,
) -> Result<()> {
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
    let got = read_rows(&log, Some(mapping), true)?;
    let db = dir.join("analytics.db").display().to_string();
    let stored = store_rows(&db, "demo", &got, &log)?;
    drop(got);
    let token = bench_token(&db, "viewer")?;
    let (child, base) = start_server(demo, &db, None)?;
    say!(
        out,
        "flowgate serve, analytics on {} events ({} cases) in SQLite, {} ({})",
        stored.events_new,
        stored.cases_total,
        machine(),
        today()
    );
    say!(
        out,
        "| route | first (computed) ms | requests | p50 ms | p99 ms | errors |"
    );
    say!(out, "|---|---:|---:|---:|---:|---:|");
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
        say!(
            out,
            "| `GET {route}` | {first:.0} | {n} | {p50:.1} | {p99:.1} | {errors} |"
        );
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
pub(crate) fn webhook_bench(
    demo: &Path,
    secs: f64,
    work: Option<&Path>,
    pg: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
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
    say!(
        out,
        "flowgate serve, POST /v1/webhooks (Standard Webhooks), {RATE:.0} deliveries/s for {secs:.0} s, {} ({})",
        machine(),
        today()
    );
    say!(
        out,
        "| store | workers | sent | 2xx | ack p50 ms | ack p99 ms | errors |"
    );
    say!(out, "|---|---|---:|---:|---:|---:|---:|");
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
                                let (ts, sig) = sign(SECRET, &id, &payload);
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
            say!(
                out,
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
pub(crate) fn serve_bench(
    demo: &Path,
    secs: f64,
    work: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let enc = encoder()?;
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
    say!(
        out,
        "flowgate serve, POST /v1/tickets, 64-token tickets, SQLite, {} ({})",
        machine(),
        today()
    );
    say!(
        out,
        "| clients | decisions | decisions/s | p50 ms | p99 ms | errors |"
    );
    say!(out, "|---:|---:|---:|---:|---:|---:|");
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
        say!(
            out,
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
pub(crate) fn rss_split_kb(pid: u32) -> Option<(u64, u64, u64)> {
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

/// A Standard Webhooks signature of `payload` under `secret`, made now: (timestamp, header).
pub(crate) fn sign(secret: &str, id: &str, payload: &str) -> (i64, String) {
    let ts = jiff::Timestamp::now().as_second();
    let sig = flowgate_server::webhook::standard_signature(secret, id, ts, payload.as_bytes())
        .unwrap_or_default();
    (ts, sig)
}
