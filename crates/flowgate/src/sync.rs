//! `flowgate sync`: the CLI shell over `flowgate_app::sync` — credentials from the
//! environment (never stored), the summary on stdout.

use anyhow::{Result, bail};
use flowgate_app::sync::{Auth, SyncOptions};
use flowgate_ingest::history::Vendor;

use crate::config::Settings;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SyncVendor {
    Zendesk,
    Jira,
    Servicenow,
}

#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// The help desk to pull from.
    #[arg(value_enum)]
    pub vendor: SyncVendor,
    /// The API's address (default from ZENDESK_SUBDOMAIN, JIRA_BASE_URL or
    /// SERVICENOW_INSTANCE).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Database URL: a SQLite file path (default ./flowgate.db) or postgres://…
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Source name the events belong to (default: the vendor's preset name).
    #[arg(long = "source", value_name = "NAME")]
    pub source_name: Option<String>,
    /// Stop after this many pages; the next run resumes from the stored cursor.
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Records per page (Jira, ServiceNow).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub page_size: u32,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The vendor's address and credentials from the environment (documented in the README).
fn from_env(v: SyncVendor, base_url: Option<String>) -> Result<(String, Auth)> {
    let basic = |user: &str, secret: &str| match (env(user), env(secret)) {
        (Some(user), Some(password)) => Some(Auth::Basic { user, password }),
        _ => None,
    };
    let (base, auth, names) = match v {
        SyncVendor::Zendesk => (
            base_url
                .or_else(|| env("ZENDESK_SUBDOMAIN").map(|s| format!("https://{s}.zendesk.com"))),
            match (
                env("ZENDESK_EMAIL"),
                env("ZENDESK_API_TOKEN"),
                env("ZENDESK_OAUTH_TOKEN"),
            ) {
                (Some(e), Some(t), _) => Some(Auth::Basic {
                    user: format!("{e}/token"),
                    password: t,
                }),
                (_, _, Some(t)) => Some(Auth::Bearer(t)),
                _ => None,
            },
            "ZENDESK_SUBDOMAIN, and ZENDESK_EMAIL + ZENDESK_API_TOKEN or ZENDESK_OAUTH_TOKEN",
        ),
        SyncVendor::Jira => (
            base_url.or_else(|| env("JIRA_BASE_URL")),
            basic("JIRA_EMAIL", "JIRA_API_TOKEN")
                .or_else(|| env("JIRA_BEARER_TOKEN").map(Auth::Bearer)),
            "JIRA_BASE_URL, and JIRA_EMAIL + JIRA_API_TOKEN or JIRA_BEARER_TOKEN",
        ),
        SyncVendor::Servicenow => (
            base_url.or_else(|| {
                env("SERVICENOW_INSTANCE").map(|s| format!("https://{s}.service-now.com"))
            }),
            basic("SERVICENOW_USER", "SERVICENOW_PASSWORD")
                .or_else(|| env("SERVICENOW_TOKEN").map(Auth::Bearer)),
            "SERVICENOW_INSTANCE, and SERVICENOW_USER + SERVICENOW_PASSWORD or SERVICENOW_TOKEN",
        ),
    };
    let Some(base) = base else {
        bail!("no address for the API: pass --base-url or set {names}");
    };
    let auth = match auth {
        Some(a) => a,
        // A local test server, or a proxy that adds credentials.
        None if base.starts_with("http://127.0.0.1") || base.starts_with("http://localhost") => {
            Auth::None
        }
        None => bail!("no credentials: set {names}"),
    };
    Ok((base, auth))
}

pub fn sync(args: SyncArgs, settings: &Settings) -> Result<()> {
    let vendor = match args.vendor {
        SyncVendor::Zendesk => Vendor::Zendesk,
        SyncVendor::Jira => Vendor::Jira,
        SyncVendor::Servicenow => Vendor::ServicenowAudit,
    };
    let (base, auth) = from_env(args.vendor, args.base_url)?;
    let source = args
        .source_name
        .unwrap_or_else(|| vendor.preset().to_owned());
    let mut opts = SyncOptions::new(vendor, &base, auth, &source);
    opts.max_pages = args.max_pages;
    opts.page_size = args.page_size.max(1);
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let sum = crate::db::runtime()?.block_on(async {
        let store = flowgate_store::Store::open(&url).await?;
        store.migrate().await?;
        let r = flowgate_app::sync::sync(&store, &opts).await;
        store.close().await;
        anyhow::Ok(r?)
    })?;
    if sum.rejected > 0 {
        eprintln!(
            "warning: {} records could not be read; first ones:",
            sum.rejected
        );
        for d in &sum.diagnostics {
            eprintln!("  {d}");
        }
    }
    println!(
        "{source}: {} pages, {} new events, {} already stored, {} retries; cursor {}{}",
        sum.pages,
        sum.events_new,
        sum.events_duplicate,
        sum.retries,
        sum.cursor,
        if sum.complete {
            ""
        } else {
            " (more to read: run again)"
        }
    );
    Ok(())
}
