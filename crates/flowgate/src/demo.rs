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
    let stored = crate::db::store_rows(&db_url, "demo", &rows, &log_path, true)?;
    drop(rows);
    let (got, _) = crate::db::load(&db_url, Some("demo"))?;
    let mut opts = BaselineOptions::new();
    opts.sla = got.mapping.sla_config();
    let b = flowgate_flow::baseline(&got.log, &opts);
    let meta = Meta {
        title: "flowgate demo: process baseline".into(),
        source: "tickets-log.csv (synthetic support organisation)".into(),
        mapping: "demo".into(),
        rejected_rows: 0,
    };
    let html = args.out.join("report.html");
    crate::output::write_atomic(
        &html,
        flowgate_report::render(&b, &meta, Format::Html).as_bytes(),
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
