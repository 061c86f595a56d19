//! Pulling a help desk's history from its incremental API (`flowgate sync`): page after
//! page from the cursor stored in the database, each page's events and the cursor after it
//! committed in one transaction, so a sync that stops (a crash, `max_pages`) resumes where
//! the last committed page left it and a page read twice stores nothing twice (events keep
//! their identity). `429` is honoured (`Retry-After`), dropped connections and `5xx` are
//! retried with backoff, a bounded number of times. Credentials are used for the requests
//! only; nothing but the cursor is stored.

use std::time::Duration;

use flowgate_ingest::Mapping;
use flowgate_ingest::history::Vendor;
use flowgate_store::{ImportRequest, Store, SyncCursor};

use crate::error::{Error, Result};

/// How requests authenticate.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// HTTP basic (Zendesk: `email/token` and the API token; Jira: email and API token;
    /// ServiceNow: user and password).
    Basic {
        user: String,
        password: String,
    },
    /// `Authorization: Bearer …` (OAuth tokens, Jira personal access tokens).
    Bearer(String),
}

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub vendor: Vendor,
    /// `https://acme.zendesk.com`, `https://acme.atlassian.net`,
    /// `https://acme.service-now.com` (or a local test server).
    pub base_url: String,
    pub auth: Auth,
    /// The source the events are stored under.
    pub source: String,
    /// Stop after this many pages (the rest on the next run).
    pub max_pages: Option<u64>,
    /// Records per page where the API takes a size (Jira, ServiceNow).
    pub page_size: u32,
    /// Retries of one request (429, 5xx, a dropped connection) before giving up.
    pub max_retries: u32,
    /// The longest wait a `Retry-After` is honoured with.
    pub max_wait: Duration,
}

impl SyncOptions {
    pub fn new(vendor: Vendor, base_url: &str, auth: Auth, source: &str) -> SyncOptions {
        SyncOptions {
            vendor,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            source: source.to_owned(),
            max_pages: None,
            page_size: 100,
            max_retries: 8,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub pages: u64,
    pub events_new: u64,
    pub events_duplicate: u64,
    /// Records that could not be read (the first few are in `diagnostics`).
    pub rejected: u64,
    pub diagnostics: Vec<String>,
    /// Requests repeated after a 429, a 5xx or a dropped connection.
    pub retries: u64,
    /// The cursor stored at the end.
    pub cursor: String,
    /// The API said there is nothing more (false when `max_pages` stopped it).
    pub complete: bool,
}

/// The cursor a source starts from when it has none.
fn initial_cursor(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Zendesk => "0",
        Vendor::Jira => "1970-01-01 00:00",
        _ => "1970-01-01 00:00:00",
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn page_url(o: &SyncOptions, cursor: &str, offset: u64) -> String {
    let base = &o.base_url;
    match o.vendor {
        Vendor::Zendesk => format!(
            "{base}/api/v2/incremental/ticket_events.json?start_time={}&include=comment_events",
            encode(cursor)
        ),
        Vendor::Jira => format!(
            "{base}/rest/api/3/search?jql={}&expand=changelog&startAt={offset}&maxResults={}",
            encode(&format!("updated >= \"{cursor}\" ORDER BY updated ASC")),
            o.page_size
        ),
        _ => format!(
            "{base}/api/now/table/sys_audit?sysparm_query={}&sysparm_limit={}&sysparm_offset={offset}",
            encode(&format!(
                "tablename=incident^sys_created_on>={cursor}^ORDERBYsys_created_on"
            )),
            o.page_size
        ),
    }
}

/// Where a page leaves the cursor, and whether more pages follow.
fn after_page(
    o: &SyncOptions,
    page: &serde_json::Value,
    cursor: &str,
    offset: u64,
) -> (String, u64, bool) {
    match o.vendor {
        Vendor::Zendesk => {
            let end = page["end_time"]
                .as_i64()
                .map(|t| t.to_string())
                .unwrap_or_else(|| cursor.to_owned());
            let more = !page["end_of_stream"].as_bool().unwrap_or(true) && end != cursor;
            (end, 0, more)
        }
        Vendor::Jira => {
            let issues = page["issues"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            // JQL compares to the minute: the latest `updated` seen, cut to its minute.
            let latest = issues
                .iter()
                .filter_map(|i| i["fields"]["updated"].as_str())
                .max()
                .and_then(|u| u.get(..16))
                .map(|u| u.replace('T', " "));
            let next = offset + issues.len() as u64;
            let total = page["total"].as_u64().unwrap_or(0);
            let committed = match latest {
                Some(l) if l.as_str() > cursor => l,
                _ => cursor.to_owned(),
            };
            (committed, next, !issues.is_empty() && next < total)
        }
        _ => {
            let rows = page["result"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let latest = rows
                .iter()
                .filter_map(|r| r["sys_created_on"].as_str())
                .max()
                .map(str::to_owned);
            let committed = match latest {
                Some(l) if l.as_str() > cursor => l,
                _ => cursor.to_owned(),
            };
            let next = offset + rows.len() as u64;
            (committed, next, rows.len() as u64 >= o.page_size as u64)
        }
    }
}

/// One GET with the retry policy: `429` waits `Retry-After` (seconds; 1 s when absent),
/// `5xx` and transport errors back off (0.5 s doubling, at most `max_wait`).
fn get(o: &SyncOptions, url: &str, retries: &mut u64) -> Result<Vec<u8>> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build();
    let mut attempt = 0u32;
    loop {
        let mut req = agent.get(url).set("Accept", "application/json");
        match &o.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                use base64::Engine;
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                req = req.set("Authorization", &format!("Basic {token}"));
            }
            Auth::Bearer(t) => req = req.set("Authorization", &format!("Bearer {t}")),
        }
        let wait = match req.call() {
            Ok(resp) => {
                let mut body = Vec::new();
                match std::io::Read::read_to_end(&mut resp.into_reader(), &mut body) {
                    Ok(_) => return Ok(body),
                    Err(e) => {
                        tracing::warn!(error = %e, "the response was cut short; retrying");
                        backoff(attempt, o.max_wait)
                    }
                }
            }
            Err(ureq::Error::Status(429, resp)) => {
                let secs = resp
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                tracing::info!(secs, "rate limited (429); waiting as asked");
                Duration::from_secs(secs).min(o.max_wait)
            }
            Err(ureq::Error::Status(code, _)) if code >= 500 => {
                tracing::warn!(code, "server error; retrying");
                backoff(attempt, o.max_wait)
            }
            Err(ureq::Error::Status(code @ (401 | 403), _)) => {
                return Err(Error::Invalid(format!(
                    "{}: {code} — the credentials were refused (see docs/03-help-desks.md for the environment variables)",
                    redact(url)
                )));
            }
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                return Err(Error::Invalid(format!(
                    "{}: HTTP {code}: {}",
                    redact(url),
                    text.chars().take(300).collect::<String>()
                )));
            }
            Err(ureq::Error::Transport(t)) => {
                tracing::warn!(error = %t, "connection failed; retrying");
                backoff(attempt, o.max_wait)
            }
        };
        attempt += 1;
        if attempt > o.max_retries {
            return Err(Error::Invalid(format!(
                "{}: gave up after {} retries",
                redact(url),
                o.max_retries
            )));
        }
        *retries += 1;
        std::thread::sleep(wait);
    }
}

fn backoff(attempt: u32, max: Duration) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(16))).min(max)
}

/// A URL for messages: the path without the query.
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Pulls pages until the API has no more (or `max_pages`).
pub async fn sync(store: &Store, o: &SyncOptions) -> Result<SyncSummary> {
    if !matches!(
        o.vendor,
        Vendor::Zendesk | Vendor::Jira | Vendor::ServicenowAudit
    ) {
        return Err(Error::Invalid(format!(
            "sync reads zendesk, jira or servicenow; {} histories import from files",
            o.vendor
        )));
    }
    let mapping = Mapping::preset(o.vendor.preset())?;
    let mapping_toml = mapping.to_toml();
    let mapping_hash = mapping.identity_hash();
    let mut cursor = match store.sync_cursor(&o.source).await? {
        Some((vendor, c)) if vendor == o.vendor.preset() => c,
        Some((vendor, _)) => {
            return Err(Error::Invalid(format!(
                "source {:?} is synced from {vendor}, not {}",
                o.source, o.vendor
            )));
        }
        None => initial_cursor(o.vendor).to_owned(),
    };
    // Jira and ServiceNow page by offset under one query; the cursor stored after each page
    // is where a later run starts (with offset 0).
    let query_cursor = cursor.clone();
    let mut offset = 0u64;
    let mut sum = SyncSummary::default();
    loop {
        if o.max_pages.is_some_and(|m| sum.pages >= m) {
            break;
        }
        let url = match o.vendor {
            Vendor::Zendesk => page_url(o, &cursor, 0),
            _ => page_url(o, &query_cursor, offset),
        };
        let (body, retries) = {
            let o = o.clone();
            tokio::task::spawn_blocking(move || {
                let mut retries = 0;
                get(&o, &url, &mut retries).map(|b| (b, retries))
            })
            .await
            .map_err(|e| Error::Invalid(format!("the fetch task failed: {e}")))??
        };
        sum.retries += retries;
        let page: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Error::Invalid(format!("page {}: not JSON: {e}", sum.pages + 1)))?;
        let (next_cursor, next_offset, more) = after_page(o, &page, &cursor, offset);
        let name = format!("{} page {}", o.vendor, sum.pages + 1);
        let rows = flowgate_ingest::read_history_page(body, &name, mapping.clone())?;
        let vendor = o.vendor.preset();
        sum.rejected += rows.rejected;
        for d in rows
            .diagnostics
            .iter()
            .take(5usize.saturating_sub(sum.diagnostics.len()))
        {
            sum.diagnostics.push(d.to_string());
        }
        if rows.builder.is_empty() {
            if next_cursor != cursor {
                store
                    .set_sync_cursor(
                        &o.source,
                        SyncCursor {
                            vendor,
                            value: &next_cursor,
                        },
                    )
                    .await?;
            }
        } else {
            let hash = format!("{}:{}", o.vendor, next_cursor);
            let s = store
                .import(
                    &ImportRequest {
                        source: &o.source,
                        rows: &rows.builder,
                        mapping_toml: &mapping_toml,
                        mapping_hash: Some(&mapping_hash),
                        replace: false,
                        record_empty: false,
                        cursor: Some(SyncCursor {
                            vendor,
                            value: &next_cursor,
                        }),
                        file: &name,
                        file_hash: &hash,
                        username: "flowgate sync",
                        rows_read: rows.rows,
                        rejected: rows.rejected,
                    },
                    &|_, _| {},
                )
                .await?;
            sum.events_new += s.events_new;
            sum.events_duplicate += s.events_duplicate;
        }
        sum.pages += 1;
        cursor = next_cursor;
        offset = next_offset;
        if !more {
            sum.complete = true;
            break;
        }
    }
    sum.cursor = cursor;
    Ok(sum)
}
