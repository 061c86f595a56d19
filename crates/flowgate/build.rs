//! Names the commit the binary was built from, for `flowgate --version`.
//!
//! Cargo reruns a build script whose `rerun-if-changed` path does not exist at every build,
//! so only files that exist are named: `HEAD`, the branch's loose ref when there is one and
//! `packed-refs` when there is one (a fresh clone may have either, or both). Outside a git
//! checkout the script names itself, and the binary says `unknown`.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FLOWGATE_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    // A new commit moves the branch's ref (or HEAD itself when detached); `git rev-parse
    // --git-path` answers for worktrees and for a `.git` file as well as a folder.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
            .map(PathBuf::from)
            .filter(|p| p.exists())
        {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
