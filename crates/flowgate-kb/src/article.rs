//! Articles: Markdown files with TOML front matter between `+++` lines, cut into passages.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::KbError;

/// One knowledge-base article.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Article {
    pub id: String,
    pub title: String,
    /// The intents this article answers.
    pub intents: Vec<String>,
    /// The policy it implements (a reference such as "REFUNDS-4").
    pub policy: Option<String>,
    /// low, medium or high.
    pub risk: String,
    /// The answer template, with `{{placeholders}}`.
    pub answer: Option<String>,
    /// When a person last confirmed it is right (YYYY-MM-DD).
    pub reviewed: Option<String>,
    /// The file it came from, relative to the knowledge-base folder.
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Front {
    id: String,
    title: Option<String>,
    #[serde(default)]
    intents: Vec<String>,
    policy: Option<String>,
    risk: Option<String>,
    answer: Option<String>,
    reviewed: Option<toml::Value>,
}

/// A searchable piece of an article.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Passage {
    /// Index of its article.
    pub article: u32,
    /// The nearest heading above it, if any.
    pub heading: Option<String>,
    pub text: String,
}

/// Most words in a passage before it is cut at a paragraph boundary.
const PASSAGE_WORDS: usize = 120;

/// Parses one article file's text. `rel` names it in errors and in the article.
pub fn parse(text: &str, rel: &str) -> Result<(Article, String), KbError> {
    let bad = |line: usize, problem: String| KbError::Article {
        path: rel.to_owned(),
        line,
        problem,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "+++" {
        return Err(bad(
            1,
            "expected front matter: a first line `+++`, TOML (id, title, intents, policy, risk, answer, reviewed), and a closing `+++`".into(),
        ));
    }
    let mut front = String::new();
    let mut consumed = first.len();
    let mut closed = false;
    for l in lines.by_ref() {
        consumed += l.len();
        if l.trim_end() == "+++" {
            closed = true;
            break;
        }
        front.push_str(l);
    }
    if !closed {
        return Err(bad(
            1,
            "the front matter is not closed by a `+++` line".into(),
        ));
    }
    let f: Front = toml::from_str(&front).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| front[..s.start].matches('\n').count())
            + 2;
        bad(line, e.message().trim().to_owned())
    })?;
    let line_of = |key: &str| {
        front
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .map_or(1, |i| i + 2)
    };
    if f.id.trim().is_empty() {
        return Err(bad(line_of("id"), "id is empty".into()));
    }
    let risk = f.risk.unwrap_or_else(|| "low".into());
    if !["low", "medium", "high"].contains(&risk.as_str()) {
        return Err(bad(
            line_of("risk"),
            format!("risk {risk:?}: expected low, medium or high"),
        ));
    }
    let reviewed = match f.reviewed {
        None => None,
        Some(v) => {
            let s = match &v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) => d.to_string(),
                other => other.to_string(),
            };
            if s.parse::<jiff::civil::Date>().is_err() {
                return Err(bad(
                    line_of("reviewed"),
                    format!("reviewed {s:?}: expected a date YYYY-MM-DD"),
                ));
            }
            Some(s)
        }
    };
    let body = text[consumed.min(text.len())..].to_owned();
    let title = f.title.unwrap_or_else(|| {
        body.lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| f.id.clone())
    });
    Ok((
        Article {
            id: f.id,
            title,
            intents: f.intents,
            policy: f.policy,
            risk,
            answer: f.answer,
            reviewed,
            path: rel.to_owned(),
        },
        body,
    ))
}

/// Cuts a body into passages: a heading starts a new one; paragraphs join until
/// [`PASSAGE_WORDS`]. An article without body text gets one passage of its title and answer.
pub fn passages(index: u32, article: &Article, body: &str) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let mut current = String::new();
    let flush = |current: &mut String, heading: &Option<String>, out: &mut Vec<Passage>| {
        let t = current.trim();
        if !t.is_empty() {
            out.push(Passage {
                article: index,
                heading: heading.clone(),
                text: t.to_owned(),
            });
        }
        current.clear();
    };
    for para in body.split("\n\n") {
        let para = para.trim();
        if para.is_empty() {
            continue;
        }
        if let Some(h) = para.lines().next().filter(|l| l.starts_with('#')) {
            flush(&mut current, &heading, &mut out);
            heading = Some(h.trim_start_matches('#').trim().to_owned());
            let rest = para.lines().skip(1).collect::<Vec<_>>().join("\n");
            current.push_str(rest.trim());
            continue;
        }
        let words = current.split_whitespace().count() + para.split_whitespace().count();
        if words > PASSAGE_WORDS && !current.trim().is_empty() {
            flush(&mut current, &heading, &mut out);
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(para);
    }
    flush(&mut current, &heading, &mut out);
    if out.is_empty() {
        out.push(Passage {
            article: index,
            heading: None,
            text: article
                .answer
                .clone()
                .unwrap_or_else(|| article.title.clone()),
        });
    }
    out
}

/// Every `*.md` file under `dir`, sorted by path.
pub fn files(dir: &Path) -> Result<Vec<std::path::PathBuf>, KbError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| KbError::Io {
            path: d.display().to_string(),
            problem: e.to_string(),
        })?;
        for e in entries {
            let e = e.map_err(|e| KbError::Io {
                path: d.display().to_string(),
                problem: e.to_string(),
            })?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
