//! `flowgate-bench`: the benchmark harnesses (see the library's documentation).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use flowgate_bench::BenchArgs;

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    let result = flowgate_exe(&args)
        .and_then(|exe| flowgate_bench::run(&args, &exe, &mut std::io::stdout().lock()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The `flowgate` executable to time: the one named, else the one beside this harness —
/// built first (a no-op when it is current) when the harness runs under `cargo run`, so a
/// figure never comes from a stale binary.
fn flowgate_exe(args: &BenchArgs) -> Result<PathBuf> {
    if let Some(p) = &args.flowgate {
        return Ok(p.clone());
    }
    let me = std::env::current_exe().context("locating the harness itself")?;
    let dir = me.parent().context("the harness's folder")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = dir.file_name().is_some_and(|d| d == "release");
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "flowgate", "--bin", "flowgate"]);
        if release {
            cmd.arg("--release");
        }
        if !cmd.status().context("building flowgate")?.success() {
            bail!("building flowgate failed");
        }
    }
    let exe = dir.join(format!("flowgate{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        bail!(
            "no flowgate executable at {}: build it (cargo build --release) or pass --flowgate PATH",
            exe.display()
        );
    }
    Ok(exe)
}
