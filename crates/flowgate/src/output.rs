//! Writing results: stdout, or a file replaced atomically (never half-written).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `content` to `path` through a temporary file in the same folder and a rename,
/// so a failure leaves any earlier file untouched. `None` or `-` writes to stdout.
pub fn write(path: Option<&Path>, content: &[u8]) -> Result<()> {
    match path {
        None => stdout(content),
        Some(p) if p.as_os_str() == "-" => stdout(content),
        Some(p) => write_atomic(p, content),
    }
}

fn stdout(content: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(content)?;
    out.flush()?;
    Ok(())
}

pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    if path.as_os_str() == "/dev/null" {
        return Ok(());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, content)
        .and_then(|_| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
