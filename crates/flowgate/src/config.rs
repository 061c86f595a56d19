//! Layered settings: defaults < `flowgate.toml` (or `--config FILE`) < `FLOWGATE_*`
//! environment variables < command-line flags. Unknown keys are rejected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Zone for naive timestamps when the mapping names none (`UTC`, `+01:00`, IANA name).
    pub timezone: Option<String>,
    /// Default report format: text, json, md or html.
    pub format: Option<String>,
    /// Default built-in preset for files read without `--preset` or `--mapping`.
    pub preset: Option<String>,
    /// Database URL (SQLite path or postgres://…); FLOWGATE_DATABASE_URL and --db override.
    pub database_url: Option<String>,
    /// Days the texts kept with decisions (ticket, proposed answer) are kept; each
    /// `triage --audit` then erases older ones (`flowgate erase --older-than-days`).
    /// FLOWGATE_TEXT_RETENTION_DAYS overrides.
    pub text_retention_days: Option<u32>,
    /// Thresholds of the demand buckets (`[demand]`).
    #[serde(default)]
    pub demand: flowgate_flow::demand::BucketRules,
    /// The service (`[serve]`).
    #[serde(default)]
    pub serve: ServeSettings,
    /// Help-desk webhook sources (`[webhooks.NAME]`).
    #[serde(default)]
    pub webhooks: std::collections::BTreeMap<String, WebhookSettings>,
    /// The 90-day pilot's plan (`[pilot]`): the Overview's day and phase, the Pilot page.
    pub pilot: Option<flowgate_value::pilot::PilotSettings>,
    /// Limits that raise an alert on the Overview (`[alerts]`).
    #[serde(default)]
    pub alerts: flowgate_value::alerts::AlertLimits,
    /// Business hours (`[calendar]`): figures in business time beside calendar time. Wins
    /// over a mapping's `[calendar]`.
    pub calendar: Option<flowgate_ingest::calendar::Calendar>,
}

impl Settings {
    /// Reads the file (explicit path must exist; `./flowgate.toml` is optional), then the
    /// environment.
    pub fn load(explicit: Option<&Path>) -> Result<Settings> {
        let path: Option<PathBuf> = match explicit {
            Some(p) => Some(p.to_owned()),
            None => Some(PathBuf::from("flowgate.toml")).filter(|p| p.exists()),
        };
        let mut s = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading settings {}", p.display()))?;
                let mut s: Settings = toml::from_str(&text)
                    .with_context(|| format!("{}: invalid settings", p.display()))?;
                if let Some(c) = &mut s.calendar {
                    let shown = p.display().to_string();
                    c.validate(&shown)?;
                    c.inline_ical(p.parent().unwrap_or(Path::new(".")))?;
                }
                s
            }
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok());
        Ok(s)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("FLOWGATE_TIMEZONE") {
            self.timezone = Some(v);
        }
        if let Some(v) = get("FLOWGATE_FORMAT") {
            self.format = Some(v);
        }
        if let Some(v) = get("FLOWGATE_PRESET") {
            self.preset = Some(v);
        }
        if let Some(v) = get("FLOWGATE_TEXT_RETENTION_DAYS").and_then(|v| v.trim().parse().ok()) {
            self.text_retention_days = Some(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file() {
        let mut s: Settings = toml::from_str("timezone = 'UTC'\nformat = 'md'").unwrap();
        s.apply_env(|k| (k == "FLOWGATE_FORMAT").then(|| "json".to_string()));
        assert_eq!(s.format.as_deref(), Some("json"));
        assert_eq!(s.timezone.as_deref(), Some("UTC"));
        assert!(toml::from_str::<Settings>("colour = 'red'").is_err());
        let d: Settings = toml::from_str("[demand]\nmax_handoffs = 0.25").unwrap();
        assert_eq!(d.demand.max_handoffs, 0.25);
        assert_eq!(d.demand.min_tickets, 30);
        assert!(toml::from_str::<Settings>("[demand]\nmax_handofs = 0.25").is_err());
    }
}

/// `[serve]` in `flowgate.toml`; flags override.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    pub bind: Option<SocketAddr>,
    pub model: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub kb: Option<PathBuf>,
    /// Largest request body (bytes; default 1 MiB).
    pub body_limit_bytes: Option<usize>,
    /// Requests per minute per token (default 6,000; 0 = no limit).
    pub rate_per_minute: Option<u32>,
    /// Seconds before a request is abandoned (default 30).
    pub request_timeout_s: Option<u64>,
    /// Sample decisions the gate kept from acting for shadow review too (default false).
    pub shadow_reviews: Option<bool>,
    /// Inbox workers in this process (default 2; 0 stores deliveries without processing).
    pub workers: Option<usize>,
    /// Seconds a worker holds a claimed delivery before another may claim it (default 60).
    pub inbox_lease_s: Option<u64>,
    /// Seconds the baselines and scorecards served from memory may be old (default 60).
    pub analytics_ttl_s: Option<u64>,
    /// Seconds between joins of the small blocks API and webhook events leave (default 60;
    /// 0 = never).
    pub compact_every_s: Option<u64>,
}

/// `[webhooks.NAME]` in `flowgate.toml`: a help desk that posts to `/v1/webhooks/NAME`.
/// `FLOWGATE_WEBHOOK_<NAME>_SECRETS` (comma-separated) overrides the secrets, so they need
/// not be in the file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `zendesk`, `hub-signature-256` or `standard-webhooks`.
    pub scheme: String,
    /// One secret, or two while rotating.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Where to POST each decision made for this source's deliveries (a Standard Webhook).
    pub callback_url: Option<String>,
    /// The callback's signing secret (`whsec_` + base64);
    /// `FLOWGATE_WEBHOOK_<NAME>_CALLBACK_SECRET` overrides.
    pub callback_secret: Option<String>,
}
