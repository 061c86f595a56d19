//! The `flowgate` command line: thin glue over the library crates.

mod args;
mod audit;
mod baseline;
mod cli;
mod config;
mod db;
mod demand;
mod demo;
mod encode;
mod gate;
mod governance;
mod kb;
mod load;
mod output;
mod review;
mod risk;
mod serve;
mod sticky;
mod sync;
mod value;

use std::process::ExitCode;

use clap::Parser;

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // The sentence encoder runs its batches on several threads side by side, each doing
    // its matrix products on one thread; candle reads this variable at every product.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: first statement of main, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    // `flowgate … | head` ends quietly, like other command-line tools, instead of failing
    // on a closed pipe.
    // SAFETY: restoring the default disposition of one signal, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    let result = cli::run(cli);
    if std::env::var_os("FLOWGATE_REPORT_PEAK_RSS").is_some() {
        report_own_peak_rss();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Prints this process's peak resident set size (`VmHWM`) on stderr, for a benchmark
/// harness that runs this binary as a child.
fn report_own_peak_rss() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("peak_rss_kib={kib}");
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("FLOWGATE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},sqlx=error")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
