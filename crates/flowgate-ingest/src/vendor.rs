//! The help desks whose histories flowgate reads ([`Vendor`]) and a mapping's `[history]`
//! section that names one ([`History`]).
//!
//! Apart from the reading (`crate::history`, which re-exports both) because a [`Mapping`]
//! carries a `History` and the history reader takes a `Mapping`: with the section here,
//! `mapping` and `history` do not import each other.
//!
//! [`Mapping`]: crate::Mapping

use serde::{Deserialize, Serialize};

/// The help desks whose history shapes are read directly; each is also a preset's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vendor {
    /// ServiceNow `sys_audit` (one field change per row; CSV or the Table API's JSON).
    ServicenowAudit,
    /// Zendesk ticket audits or incremental ticket events.
    Zendesk,
    /// Jira issues with `expand=changelog`, or a paged `/issue/{key}/changelog`.
    Jira,
    /// Freshdesk ticket activities export.
    Freshdesk,
    /// Intercom conversations with their parts.
    Intercom,
    /// GitHub issue events or timelines.
    Github,
}

impl Vendor {
    pub const ALL: [Vendor; 6] = [
        Vendor::ServicenowAudit,
        Vendor::Zendesk,
        Vendor::Jira,
        Vendor::Freshdesk,
        Vendor::Intercom,
        Vendor::Github,
    ];

    /// The preset that reads this shape.
    pub fn preset(self) -> &'static str {
        match self {
            Vendor::ServicenowAudit => "servicenow-audit",
            Vendor::Zendesk => "zendesk",
            Vendor::Jira => "jira",
            Vendor::Freshdesk => "freshdesk",
            Vendor::Intercom => "intercom",
            Vendor::Github => "github",
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.preset())
    }
}

/// A mapping's `[history]` section: the file is a help desk's history, flattened before
/// mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub shape: Vendor,
    /// Jira: the changelog field that names the team (e.g. `Team`, or a custom field's
    /// name); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_field: Option<String>,
    /// GitHub: labels that start with this prefix name the team (default `team:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_prefix: Option<String>,
}
