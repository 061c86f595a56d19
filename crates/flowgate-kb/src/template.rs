//! Answer templates: `{{placeholder}}` filled with values found in the ticket — its fields
//! by name, or a value of the placeholder's kind in its text — and never invented: what is
//! not found stays listed as unfilled.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([^{}]+?)\s*\}\}").expect("regex"));

/// One placeholder's outcome.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Filled {
    pub placeholder: String,
    pub value: String,
    /// `field:NAME` or `text` (found in the ticket's text by its kind).
    pub source: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Answer {
    /// The template with every found value filled in; unfilled placeholders stay as written.
    pub text: String,
    pub filled: Vec<Filled>,
    /// Placeholders with no value in the ticket, in template order.
    pub unfilled: Vec<String>,
}

/// `Order Number` → `order_number`.
pub fn normalise(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

struct Kind {
    /// Any of these words in the placeholder's name selects the kind.
    words: &'static [&'static str],
    pattern: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        words: &["email", "mail"],
        pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    },
    Kind {
        words: &["phone", "mobile"],
        pattern: r"(?:\+\d{1,3}[ .-]?)?\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b",
    },
    Kind {
        words: &["amount", "price", "cost", "fee", "total", "refund"],
        pattern: r"(?:[$€£]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|EUR|GBP|dollars|euros|pounds)\b)",
    },
    Kind {
        words: &["date", "day"],
        pattern: r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?)\b",
    },
    Kind {
        words: &[
            "order",
            "purchase",
            "invoice",
            "tracking",
            "account",
            "ticket",
            "reference",
            "number",
            "id",
        ],
        pattern: r"\b[A-Za-z]{0,4}[-#]?\d[\dA-Za-z-]{4,}\b",
    },
];

static COMPILED: LazyLock<Vec<(usize, Regex)>> = LazyLock::new(|| {
    KINDS
        .iter()
        .enumerate()
        .map(|(i, k)| (i, Regex::new(&format!("(?i){}", k.pattern)).expect("regex")))
        .collect()
});

/// The kind a placeholder asks for, by the words of its name (first match wins).
fn kind_of(name: &str) -> Option<usize> {
    let words: Vec<String> = normalise(name).split('_').map(str::to_owned).collect();
    KINDS
        .iter()
        .position(|k| k.words.iter().any(|w| words.iter().any(|x| x == w)))
}

/// Fills `template` from the ticket's `fields` (by normalised name) and `text`.
pub fn fill(template: &str, text: &str, fields: &BTreeMap<String, String>) -> Answer {
    let by_name: BTreeMap<String, &String> = fields
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (normalise(k), v))
        .collect();
    let mut filled: Vec<Filled> = Vec::new();
    let mut unfilled: Vec<String> = Vec::new();
    let mut found: BTreeMap<String, Option<(String, String)>> = BTreeMap::new();
    for cap in PLACEHOLDER.captures_iter(template) {
        let name = cap[1].to_owned();
        if found.contains_key(&name) {
            continue;
        }
        let key = normalise(&name);
        let value = match by_name.get(&key) {
            Some(v) => Some((v.trim().to_owned(), format!("field:{key}"))),
            None => kind_of(&name).and_then(|k| {
                COMPILED[k]
                    .1
                    .find(text)
                    .map(|m| (m.as_str().trim().to_owned(), "text".to_owned()))
            }),
        };
        match &value {
            Some((v, src)) => filled.push(Filled {
                placeholder: name.clone(),
                value: v.clone(),
                source: src.clone(),
            }),
            None => unfilled.push(name.clone()),
        }
        found.insert(name, value);
    }
    let text_out = PLACEHOLDER
        .replace_all(template, |cap: &regex::Captures| match found.get(&cap[1]) {
            Some(Some((v, _))) => v.clone(),
            _ => cap[0].to_owned(),
        })
        .into_owned();
    Answer {
        text: text_out,
        filled,
        unfilled,
    }
}
