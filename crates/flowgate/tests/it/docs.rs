//! The documents run as written: every shell block of README.md and docs/*.md.
//!
//! **The convention.** A fenced block whose info string starts with `sh`, `bash` or `shell`
//! is a script; `console` is a transcript whose `$ ` lines are the commands (the rest is
//! output and is not compared). Each such block runs, unless its info string says why it
//! cannot: ```` ```sh no-run: needs a Zendesk account ````. Only what needs a remote help
//! desk, a deployment or the whole test suite may be marked so; a `no-run` without a
//! reason, any other word after the language, or a block with no info string at all fails
//! the test. Examples of file contents say what they are (`toml`, `csv`, `json`, `text`…)
//! and are not run.
//!
//! **How a file runs.** Its blocks run in order, each with `bash -euo pipefail -c`, in one
//! fresh folder laid out as a clone would be: `T/repo` (the working folder, holding
//! symbolic links to the repository's files and folders, so `examples/…` and `crates/…`
//! resolve) beside `T/shared` (a link to the real `../shared`). The test build's `flowgate`
//! is first on `PATH`, and `cargo run --release --` is read as `flowgate`. A block sees the
//! shell variables the blocks before it set, as if they were typed into one terminal. The
//! service's address in the documents, `127.0.0.1:8080`, is replaced by a free port on
//! loopback, so a run never meets another server. Each block has `BLOCK_TIMEOUT`; what a
//! block leaves running in the background (`flowgate serve … &`) is stopped when the file
//! ends. A block that exits non-zero fails the test with its file, line and output, and the
//! file's later blocks are skipped. The test prints, per file, how many blocks ran and which
//! are no-run and why.
//!
//! The demo is the one slow command, and the same for the same flags (its seed fixes the
//! organisation): a block that is nothing but a `flowgate demo` command runs once per test
//! run, and a later file with the same block gets a copy of the folder it wrote, taken as
//! that block ended.
//!
//! Another test checks that every relative link of the documents points at a file, and a
//! heading of it, that exist.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{shared, temp_dir};

/// The longest a block may run: a hang, not a slow machine (the demo of 50,000 tickets, the
/// longest block, takes about two minutes in a debug build on two cores).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(600);

/// Info strings whose blocks are shell.
const SHELLS: [&str; 4] = ["sh", "bash", "shell", "console"];

/// The service's address as the documents write it.
const DOC_ADDRESS: &str = "127.0.0.1:8080";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// README.md, then docs/*.md by name.
fn documents() -> Vec<PathBuf> {
    let root = repo();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

/// One fenced shell block.
#[derive(Debug)]
struct Block {
    /// The line of its opening fence (1-based).
    line: usize,
    /// `Some(reason)` when marked no-run.
    no_run: Option<String>,
    /// The commands, as bash reads them.
    script: String,
}

/// A fence: its character, length and indentation.
fn fence(line: &str) -> Option<(char, usize, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let c = rest.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = rest.len() - rest.trim_start_matches(c).len();
    (n >= 3).then(|| (c, n, indent, rest[n..].trim()))
}

/// The shell blocks of a Markdown text, or what is wrong with its fences and markers
/// (`name:line: …`).
fn shell_blocks(name: &str, text: &str) -> Result<Vec<Block>, Vec<String>> {
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some((c, n, indent, info)) = fence(line) else {
            continue;
        };
        let mut body = Vec::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if let Some((c2, n2, _, rest)) = fence(l)
                && c2 == c
                && n2 >= n
                && rest.is_empty()
            {
                closed = true;
                break;
            }
            let strip = l.len() - l.trim_start_matches(' ').len();
            body.push(&l[strip.min(indent)..]);
        }
        let at = format!("{name}:{}", i + 1);
        if !closed {
            errors.push(format!("{at}: the block is never closed"));
            break;
        }
        let (lang, marker) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
        if lang.is_empty() {
            errors.push(format!(
                "{at}: a block without an info string: say what it is (sh, toml, csv, json, text…)"
            ));
            continue;
        }
        if !SHELLS.contains(&lang) {
            continue;
        }
        let marker = marker.trim();
        let no_run = if marker.is_empty() {
            None
        } else if let Some(rest) = marker.strip_prefix("no-run") {
            match rest.trim_start().strip_prefix(':').map(str::trim) {
                Some(reason) if !reason.is_empty() => Some(reason.to_owned()),
                _ => {
                    errors.push(format!(
                        "{at}: `no-run` needs a reason: ```{lang} no-run: <why it cannot run here>"
                    ));
                    continue;
                }
            }
        } else {
            errors.push(format!(
                "{at}: unknown marker {marker:?} (a shell block runs, or says `no-run: <reason>`)"
            ));
            continue;
        };
        let script = if lang == "console" {
            console_commands(&body)
        } else {
            body.join("\n")
        };
        blocks.push(Block {
            line: i + 1,
            no_run,
            script,
        });
    }
    if errors.is_empty() {
        Ok(blocks)
    } else {
        Err(errors)
    }
}

/// The commands of a transcript: lines after `$ `, with their `\` continuations.
fn console_commands(body: &[&str]) -> String {
    let mut out = String::new();
    let mut continued = false;
    for l in body {
        let cmd = if continued {
            Some(*l)
        } else {
            l.strip_prefix("$ ")
        };
        if let Some(cmd) = cmd {
            out.push_str(cmd);
            out.push('\n');
            continued = cmd.trim_end().ends_with('\\');
        }
    }
    out
}

/// What the harness changes in a block before running it.
fn rewrite(script: &str, port: u16) -> String {
    script
        .replace("cargo run --release -- ", "flowgate ")
        .replace(DOC_ADDRESS, &format!("127.0.0.1:{port}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `T/repo` with links to the repository's entries, `T/shared`, `T/bin/flowgate`.
fn workspace(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let t = temp_dir(&format!("docs-{name}"));
    let (work, bin) = (t.join("repo"), t.join("bin"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(shared().canonicalize().unwrap(), t.join("shared")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_flowgate"), bin.join("flowgate")).unwrap();
    for e in std::fs::read_dir(repo()).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().into_owned();
        // Not the build, git, or what a run of flowgate in the checkout may have left
        // (a demo folder, a database, settings that would change every command).
        let skip = n == "target"
            || (n.starts_with('.') && n != ".ci")
            || n.starts_with("flowgate")
            || n.ends_with(".db");
        if !skip {
            std::os::unix::fs::symlink(e.path(), work.join(&n)).unwrap();
        }
    }
    (t, work, bin)
}

/// Sends `signal` to a process group; true if the group still had a member.
fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops what a file's blocks left running: SIGTERM, then SIGKILL after 10 s.
fn stop_groups(groups: &[u32]) {
    for &g in groups {
        if signal_group(g, "TERM") {
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until && signal_group(g, "0") {
                std::thread::sleep(Duration::from_millis(100));
            }
            signal_group(g, "KILL");
        }
    }
}

/// About the last `n` bytes of `s`, from a character boundary.
fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// When a block is one `flowgate demo` command and nothing else: the command (its words,
/// without a comment) and the folder it writes.
fn demo_command(script: &str) -> Option<(String, String)> {
    let mut lines = script
        .lines()
        .map(|l| l.split(" #").next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let (line, None) = (lines.next()?, lines.next()) else {
        return None;
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.get(..2) != Some(&["flowgate", "demo"][..]) {
        return None;
    }
    let out = match words.iter().position(|w| *w == "--out") {
        Some(i) => (*words.get(i + 1)?).to_owned(),
        None => "flowgate-demo".to_owned(),
    };
    Some((words.join(" "), out))
}

/// Demo folders already written in this test run: the command, where a copy is, and the
/// block that wrote it.
struct DemoCache {
    dir: PathBuf,
    made: Vec<(String, PathBuf, String)>,
}

impl DemoCache {
    fn copy(from: &Path, to: &Path) {
        let o = Command::new("cp")
            .arg("-R")
            .arg(from)
            .arg(to)
            .output()
            .expect("cp runs");
        assert!(
            o.status.success(),
            "cp -R {} {}: {}",
            from.display(),
            to.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Per file: blocks run, no-run (line, reason), the failure if any.
struct Report {
    ran: usize,
    /// Demo blocks given a copy of an earlier run's folder: (line, where it ran).
    copied: Vec<(usize, String)>,
    no_run: Vec<(usize, String)>,
    failure: Option<String>,
    secs: f64,
}

fn run_file(doc: &Path, name: &str, blocks: &[Block], demos: &mut DemoCache) -> Report {
    let t0 = Instant::now();
    let mut report = Report {
        ran: 0,
        copied: Vec::new(),
        no_run: Vec::new(),
        failure: None,
        secs: 0.0,
    };
    let stem = name.replace(['/', '.'], "-");
    let (t, work, bin) = workspace(&stem);
    let state = t.join("shell-state");
    std::fs::write(&state, "").unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let port = free_port();
    let mut groups = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        if let Some(reason) = &b.no_run {
            // Not run, but it must at least be shell.
            let syntax = Command::new("bash")
                .args(["-n", "-c", &b.script])
                .output()
                .unwrap();
            if !syntax.status.success() {
                report.failure = Some(format!(
                    "{name}:{}: a no-run block that is not valid shell: {}",
                    b.line,
                    String::from_utf8_lossy(&syntax.stderr)
                ));
                break;
            }
            report.no_run.push((b.line, reason.clone()));
            continue;
        }
        let rewritten = rewrite(&b.script, port);
        let demo = demo_command(&rewritten);
        if let Some((command, out)) = &demo
            && let Some((_, copy, ran_at)) = demos.made.iter().find(|(c, _, _)| c == command)
        {
            DemoCache::copy(copy, &work.join(out));
            eprintln!(
                "docs: {name}:{} the demo's folder, as {ran_at} wrote it",
                b.line
            );
            report.copied.push((b.line, ran_at.clone()));
            report.ran += 1;
            continue;
        }
        // Variables set by earlier blocks come in; this block's go out to the next.
        let script = format!(
            "set -a\n. '{s}'\ntrap \"export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_)=' > '{s}'\" EXIT\n{rewritten}\n",
            s = state.display(),
        );
        let out_path = t.join(format!("block-{k}.out"));
        let out = File::create(&out_path).unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", &script])
            .current_dir(&work)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        // The reader's environment, not the test runner's settings.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("FLOWGATE_")
                && key != "FLOWGATE_CACHE_DIR"
                && key != "FLOWGATE_MODEL_DIR"
            {
                cmd.env_remove(&key);
            }
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("bash runs");
        groups.push(child.id());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > BLOCK_TIMEOUT {
                signal_group(child.id(), "KILL");
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let secs = started.elapsed().as_secs_f64();
        let output = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned();
        let failed = match status {
            Some(s) if s.success() => None,
            Some(s) => Some(format!("exited with {s}")),
            None => Some(format!("timed out after {}s", BLOCK_TIMEOUT.as_secs())),
        };
        eprintln!(
            "docs: {name}:{} {} in {secs:.1}s",
            b.line,
            if failed.is_some() { "FAILED" } else { "ran" }
        );
        if let Some(why) = failed {
            report.failure = Some(format!(
                "{}:{}: the block {why}; its output (last 6,000 characters):\n{}\n--- the block as run:\n{}",
                doc.display(),
                b.line,
                tail(&output, 6_000),
                rewritten
            ));
            break;
        }
        if let Some((command, out)) = demo {
            let copy = demos.dir.join(demos.made.len().to_string());
            std::fs::create_dir_all(&copy).unwrap();
            DemoCache::copy(&work.join(&out), &copy);
            let folder = copy.join(Path::new(&out).file_name().unwrap());
            demos
                .made
                .push((command, folder, format!("{name}:{}", b.line)));
        }
        report.ran += 1;
    }
    stop_groups(&groups);
    report.secs = t0.elapsed().as_secs_f64();
    report
}

#[test]
fn every_shell_block_of_the_documents_runs_or_says_why_not() {
    let t0 = Instant::now();
    let root = repo();
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for doc in documents() {
        let name = doc
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&doc).unwrap();
        match shell_blocks(&name, &text) {
            Ok(b) => parsed.push((doc, name, b)),
            Err(e) => errors.extend(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let mut summary = String::new();
    let mut failures = Vec::new();
    let (mut ran, mut no_run) = (0, 0);
    let mut demos = DemoCache {
        dir: temp_dir("docs-demo"),
        made: Vec::new(),
    };
    for (doc, name, blocks) in &parsed {
        let r = run_file(doc, name, blocks, &mut demos);
        let _ = writeln!(
            summary,
            "{name}: {} ran, {} no-run ({:.0}s)",
            r.ran,
            r.no_run.len(),
            r.secs
        );
        for (line, reason) in &r.no_run {
            let _ = writeln!(summary, "    {name}:{line} no-run: {reason}");
        }
        for (line, ran_at) in &r.copied {
            let _ = writeln!(
                summary,
                "    {name}:{line} the demo: a copy of the folder {ran_at} wrote"
            );
        }
        ran += r.ran;
        no_run += r.no_run.len();
        failures.extend(r.failure);
    }
    let _ = writeln!(
        summary,
        "in all: {ran} blocks ran, {no_run} no-run, in {:.0}s",
        t0.elapsed().as_secs_f64()
    );
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{}\n\n{summary}",
        failures.join("\n\n")
    );
    assert!(ran > 0, "no shell block ran:\n{summary}");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown text outside fenced blocks, with their numbers (1-based).
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut open: Option<(char, usize)> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match (open, fence(line)) {
            (None, Some((c, n, _, _))) => open = Some((c, n)),
            (Some((c, n)), Some((c2, n2, _, rest))) if c2 == c && n2 >= n && rest.is_empty() => {
                open = None
            }
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .into_iter()
        .filter_map(|(_, l)| l.strip_prefix('#'))
        .map(|h| slug(h.trim_start_matches('#')))
        .collect()
}

#[test]
fn the_documents_links_point_at_files_and_headings_that_exist() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for (n, line) in prose(&text) {
            let mut rest = line;
            while let Some(at) = rest.find("](") {
                rest = &rest[at + 2..];
                let Some(end) = rest.find(')') else { break };
                let target = &rest[..end];
                rest = &rest[end..];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() {
                    doc.clone()
                } else {
                    dir.join(file)
                };
                let found = if !path.exists() {
                    false
                } else if anchor.is_empty() {
                    true
                } else {
                    let linked = std::fs::read_to_string(&path).unwrap_or_default();
                    anchors(&linked).iter().any(|a| a == anchor)
                };
                if !found {
                    broken.push(format!("{}:{n}: {target}", doc.display()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to nothing:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_convention_is_enforced() {
    let ok = "```sh\nflowgate presets\n```\n\n```toml\na = 1\n```\n\n```console\n$ flowgate presets \\\n  helpdesk\nname = …\n```\n\n```sh no-run: needs a Zendesk account\nflowgate sync zendesk\n```\n";
    let b = shell_blocks("ok.md", ok).unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!((b[0].line, b[0].no_run.as_deref()), (1, None));
    assert_eq!(b[1].script, "flowgate presets \\\n  helpdesk\n");
    assert_eq!(b[2].no_run.as_deref(), Some("needs a Zendesk account"));
    for (bad, says) in [
        ("```sh no-run\nx\n```\n", "needs a reason"),
        ("```sh no-run:   \nx\n```\n", "needs a reason"),
        ("```sh skip\nx\n```\n", "unknown marker"),
        ("```\nx\n```\n", "without an info string"),
        ("```sh\nx\n", "never closed"),
    ] {
        let e = shell_blocks("bad.md", bad).unwrap_err().join("\n");
        assert!(e.contains(says) && e.contains("bad.md:1"), "{bad:?}: {e}");
    }
    assert_eq!(
        rewrite(
            "cargo run --release -- demo\ncurl http://127.0.0.1:8080/readyz",
            4321
        ),
        "flowgate demo\ncurl http://127.0.0.1:4321/readyz"
    );
    assert_eq!(
        demo_command("flowgate demo      # the organisation\n"),
        Some(("flowgate demo".into(), "flowgate-demo".into()))
    );
    assert_eq!(
        demo_command("flowgate demo --tickets 3000 --out d\n"),
        Some(("flowgate demo --tickets 3000 --out d".into(), "d".into()))
    );
    assert_eq!(demo_command("flowgate demo\nls flowgate-demo\n"), None);
    assert_eq!(demo_command("flowgate demos"), None);
    assert_eq!(slug(" A help desk's webhook"), "a-help-desks-webhook");
    assert_eq!(
        anchors("# 3. Help desks\n```sh\n# not a heading\n```\n## Webhooks: `serve` live\n"),
        ["3-help-desks", "webhooks-serve-live"]
    );
}
