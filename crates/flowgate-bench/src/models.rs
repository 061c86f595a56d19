//! Timing the models: triage (encoder and head), the gate's decision, knowledge-base search.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::*;

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
pub(crate) fn triage_bench(
    model: &std::path::Path,
    texts: &std::path::Path,
    n: usize,
    tokens: Option<usize>,
    out: &mut dyn Write,
) -> Result<()> {
    if std::env::var_os("FLOWGATE_BENCH_CHILD").is_some() {
        let t = triage_timing(model, texts, n, tokens)?;
        say!(out, "{}", serde_json::to_string(&t)?);
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    for (forward, threads) in [("reference", 1), ("reference", 2), ("fast", 1), ("fast", 2)] {
        let child = Command::new(&exe)
            .args(["--triage-model"])
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
        if !child.status.success() {
            anyhow::bail!(
                "triage bench on {threads} thread(s) failed: {}",
                String::from_utf8_lossy(&child.stderr)
            );
        }
        let t: TriageTiming = serde_json::from_slice(&child.stdout)?;
        rows.push(t);
    }
    say!(
        out,
        "triage of {} texts ({:.1} tokens on average)",
        rows[0].texts,
        rows[0].mean_tokens
    );
    say!(
        out,
        "forward    threads  p50 ms  p99 ms  tokenize  encoder  head  oos-scan (ms, one at a time)  batched tickets/s"
    );
    for t in &rows {
        say!(
            out,
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
    let enc = encoder()?;
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

/// The gate's decision alone: verdicts first, then every ticket decided 20 times.
pub(crate) fn gate_bench(
    model: &Path,
    texts: &Path,
    policy: &Path,
    n: usize,
    out: &mut dyn Write,
) -> Result<()> {
    let model = flowgate_demand::IntentModel::load(model)?;
    let gate = flowgate_app::gate::resolve(&model, flowgate_gate::Policy::load(policy)?, &[])?;
    let data = flowgate_demand::texts::read_columns(texts, Default::default(), false)?;
    let take = n.max(1).min(data.texts.len());
    let enc = encoder()?;
    let refs: Vec<&str> = data.texts[..take].iter().map(String::as_str).collect();
    let preds = classify(&model, &enc, &refs)?;
    let mut times = Vec::with_capacity(take * 20);
    for _ in 0..20 {
        for (i, p) in preds.iter().enumerate() {
            let t0 = Instant::now();
            let d = gate.decide(
                &ticket(&data, i),
                Some(3.0),
                &flowgate_app::triage::verdict(p),
                Some(true),
            )?;
            std::hint::black_box(d);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (p50, p99, mean) = percentiles(times);
    say!(
        out,
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
pub(crate) fn kb_bench(
    n_articles: usize,
    queries: &Path,
    n: usize,
    work: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
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
    let built = dir.join("kb.fgkb");
    // A knowledge base built by an earlier run in the same folder is reused when it holds
    // the same number of articles (the build takes minutes; the search is what is timed).
    let reuse = flowgate_kb::Kb::open(&built).is_ok_and(|kb| kb.articles.len() == n_articles);
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
    let enc = encoder()?;
    let t0 = Instant::now();
    if !reuse {
        flowgate_kb::build(&src, &built, &enc, &|_, _| {})?;
    }
    let build_s = t0.elapsed().as_secs_f64();
    let kb = flowgate_kb::Kb::open(&built)?;
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
    say!(
        out,
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
    say!(
        out,
        "search of {} queries: Kb::search (embedding the query's first {} tokens) p50 {f50:.1} ms, p99 {f99:.1} ms; BM25 + cosine + fusion alone p50 {s50:.2} ms, p99 {s99:.2} ms",
        qs.len(),
        flowgate_kb::QUERY_TOKENS
    );
    if work.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
