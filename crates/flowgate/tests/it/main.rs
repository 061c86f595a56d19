//! End-to-end tests of the `flowgate` binary.

mod audit;
mod browser;
mod cli;
mod demand;
mod demo;
mod docs;
mod fuzz;
mod gate;
mod helpdesks;
mod histories;
mod kb;
mod reference;
mod serve;
mod snapshots;
mod store;
mod value;
mod webhook;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the project root.
pub fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("data").is_dir(),
        "the public data sets are expected in {} (see docs/01-getting-started.md)",
        p.display()
    );
    p
}

pub fn flowgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(args)
        .env_remove("FLOWGATE_FORMAT")
        .env_remove("FLOWGATE_PRESET")
        .env_remove("FLOWGATE_TIMEZONE")
        .output()
        .expect("the flowgate binary runs")
}

/// Runs a benchmark harness (`flowgate-bench`) in process against this build's `flowgate`:
/// its report, or its error.
pub fn bench(args: &[&str]) -> Result<String, String> {
    use clap::Parser;
    let args = flowgate_bench::BenchArgs::try_parse_from(
        std::iter::once("flowgate-bench").chain(args.iter().copied()),
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    flowgate_bench::run(
        &args,
        std::path::Path::new(env!("CARGO_BIN_EXE_flowgate")),
        &mut out,
    )
    .map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowgate-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
