//! End-to-end tests of the `flowgate` binary.

mod audit;
mod browser;
mod cli;
mod demand;
mod demo;
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
        "the public data sets are expected in {} (see README: Tests)",
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

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowgate-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
