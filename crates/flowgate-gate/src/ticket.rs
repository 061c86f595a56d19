//! The ticket the gate decides on: what a help desk sends (by API, by webhook, or a row of a
//! file), with its named fields and free attributes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One ticket. The text the classifier reads is the subject and the body; escalation rules
/// read the named fields and the attributes by (lower-case) name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// Where the ticket comes from (a help desk's source name; `api` when not given): a
    /// ticket is (source, id), so the same id from two sources is two tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = Option<String>,
            min_length = 1,
            max_length = 100,
            pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
        )
    )]
    pub source: Option<SourceName>,
    /// The help desk's id: 1 to 200 characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The text (with the subject, it must not be blank).
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// When the customer opened it (RFC 3339), when the sender knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: Option<String>,
    /// Any other fields (tier, amount, product…): strings, numbers or booleans.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Attribute>,
}

/// An attribute value as a help desk sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Attribute {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Attribute {
    pub fn as_text(&self) -> String {
        match self {
            Attribute::Text(s) => s.clone(),
            Attribute::Number(n) => n.to_string(),
            Attribute::Flag(b) => b.to_string(),
        }
    }
}

/// The source of a ticket that names none.
pub const DEFAULT_SOURCE: &str = "api";

/// A ticket source's name, checked once where it is read ([`valid_source`]): a value of
/// this type is always one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceName(String);

impl SourceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SourceName {
    type Error = String;
    fn try_from(s: String) -> Result<SourceName, String> {
        if valid_source(&s) {
            Ok(SourceName(s))
        } else {
            Err(format!(
                "source {s:?}: expected 1 to 100 letters, digits, `_`, `.` or `-`, starting with a letter or a digit"
            ))
        }
    }
}

impl From<SourceName> for String {
    fn from(s: SourceName) -> String {
        s.0
    }
}

impl std::str::FromStr for SourceName {
    type Err = String;
    fn from_str(s: &str) -> Result<SourceName, String> {
        SourceName::try_from(s.to_owned())
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` can name a ticket's source: 1 to 100 letters, digits, `_`, `.` or `-`,
/// starting with a letter or a digit.
pub fn valid_source(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Ticket {
    /// Where the ticket comes from ([`DEFAULT_SOURCE`] when it does not say).
    pub fn source_name(&self) -> &str {
        self.source
            .as_ref()
            .map_or(DEFAULT_SOURCE, SourceName::as_str)
    }

    /// The text the classifier reads: the subject and the body joined as training texts are
    /// (a full stop and a space between them, unless the subject ends in `.`, `!`, `?` or
    /// `:`); the body alone without a subject.
    pub fn text(&self) -> String {
        match self.subject.as_deref() {
            Some(s) if !s.is_empty() => {
                let stop = if s.ends_with(['.', '!', '?', ':']) {
                    ""
                } else {
                    "."
                };
                format!("{s}{stop} {}", self.body)
            }
            _ => self.body.clone(),
        }
    }

    /// Every field by lower-case name: the named ones that are set, then the attributes (a
    /// named field wins over an attribute of the same name).
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .attributes
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.as_text()))
            .collect();
        for (k, v) in [
            ("customer", &self.customer),
            ("subject", &self.subject),
            ("channel", &self.channel),
            ("priority", &self.priority),
            ("language", &self.language),
            ("created_at", &self.created_at),
        ] {
            if let Some(v) = v {
                out.insert(k.to_owned(), v.clone());
            }
        }
        out
    }

    /// A ticket from one row of a table: `text` is the body; the columns named like a field
    /// (`customer`, `channel`, `priority`, `language`, `created_at`) fill it, every other
    /// column (a `subject` and the text column included) is an attribute a rule may test.
    pub fn from_row(id: &str, text: &str, columns: &[String], row: &[String]) -> Ticket {
        let mut t = Ticket {
            id: id.to_owned(),
            body: text.to_owned(),
            ..Ticket::default()
        };
        for (c, v) in columns.iter().zip(row) {
            let name = c.to_lowercase();
            let value = Some(v.clone());
            match name.as_str() {
                "customer" => t.customer = value,
                "channel" => t.channel = value,
                "priority" => t.priority = value,
                "language" => t.language = value,
                "created_at" => t.created_at = value,
                _ => {
                    t.attributes.insert(name, Attribute::Text(v.clone()));
                }
            }
        }
        t
    }

    /// The SHA-256 of what the gate saw: the text, then each field (sorted by name) as
    /// `\0name=value`.
    pub fn input_hash(&self) -> String {
        let mut bytes = self.text().into_bytes();
        for (k, v) in self.fields() {
            bytes.push(0);
            bytes.extend_from_slice(k.as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(v.as_bytes());
        }
        crate::policy::sha256_hex(&bytes)
    }
}
