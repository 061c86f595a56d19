//! `flowgate serve` and `flowgate token`: the service and its API tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::Settings;

/// The configured webhook sources, checked.
pub fn webhook_sources(
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeMap<String, flowgate_server::webhook::WebhookSource>> {
    use flowgate_server::webhook::{Scheme, WebhookSource};
    let mut out = std::collections::BTreeMap::new();
    for (name, w) in &settings.webhooks {
        if name.parse::<flowgate_gate::ticket::SourceName>().is_err() || name.contains('.') {
            bail!(
                "[webhooks.{name}]: a source's name is 1 to 100 letters, digits, - and _, starting with a letter or a digit"
            );
        }
        let scheme: Scheme = serde_json::from_value(serde_json::Value::from(w.scheme.as_str()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "[webhooks.{name}] scheme = {:?}: expected zendesk, hub-signature-256 or standard-webhooks",
                    w.scheme
                )
            })?;
        let var = format!(
            "FLOWGATE_WEBHOOK_{}_SECRETS",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let secrets: Vec<String> = match env(&var) {
            Some(v) => v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => w.secrets.clone(),
        };
        if secrets.is_empty() || secrets.len() > 2 || secrets.iter().any(|s| s.len() < 8) {
            bail!(
                "[webhooks.{name}] secrets: expected one or two secrets (two while rotating) of 8 characters or more, in the file or in {var}"
            );
        }
        let cb_var = format!(
            "FLOWGATE_WEBHOOK_{}_CALLBACK_SECRET",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let callback = match &w.callback_url {
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!(
                        "[webhooks.{name}] callback_url = {url:?}: expected an http:// or https:// URL"
                    );
                }
                let secret = env(&cb_var)
                    .or_else(|| w.callback_secret.clone())
                    .unwrap_or_default();
                if !flowgate_server::webhook::is_standard_secret(&secret) {
                    bail!(
                        "[webhooks.{name}] callback_secret: expected whsec_ and the base64 of 16 bytes or more (in the file or in {cb_var})"
                    );
                }
                Some(flowgate_server::webhook::Callback {
                    url: url.clone(),
                    secret,
                })
            }
        };
        out.insert(
            name.clone(),
            WebhookSource {
                scheme,
                secrets,
                callback,
            },
        );
    }
    Ok(out)
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Database URL (SQLite path or postgres://…).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Intent model (from `flowgate train`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Gate policy (TOML), imported into the database (audited) and put in force; without
    /// it, the policy last imported is in force.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Knowledge base (from `flowgate kb build`), for answers and sources.
    #[arg(long)]
    pub kb: Option<PathBuf>,
    /// Sample decisions the gate kept from acting for shadow review too.
    #[arg(long)]
    pub shadow_reviews: bool,
}

pub fn serve(args: ServeArgs, settings: &Settings) -> Result<()> {
    let s = &settings.serve;
    let db = crate::db::database_url(args.db.as_deref(), settings);
    let model = args
        .model
        .or_else(|| s.model.clone())
        .context("serve needs a model: --model FILE or [serve] model in flowgate.toml")?;
    // Imported into the database when given; else the policy last imported is in force.
    let policy = args.policy.or_else(|| s.policy.clone());
    let mut config = flowgate_server::Config::new(db, model, policy);
    config.version = env!("CARGO_PKG_VERSION");
    if let Some(b) = args.bind.or(s.bind) {
        config.bind = b;
    }
    config.kb = args.kb.or_else(|| s.kb.clone());
    if let Some(n) = s.body_limit_bytes {
        config.body_limit = n;
    }
    if let Some(n) = s.rate_per_minute {
        config.rate_per_minute = n;
    }
    if let Some(n) = s.request_timeout_s {
        config.request_timeout = Duration::from_secs(n.max(1));
    }
    config.shadow_reviews = args.shadow_reviews || s.shadow_reviews.unwrap_or(false);
    if let Some(n) = s.workers {
        config.workers = n;
    }
    if let Some(n) = s.inbox_lease_s {
        config.inbox_lease = Duration::from_secs(n.max(1));
    }
    config.webhooks = webhook_sources(settings, |k| std::env::var(k).ok())?;
    config.pilot = settings
        .pilot
        .as_ref()
        .map(flowgate_value::pilot::PilotPlan::new)
        .transpose()
        .context("settings")?;
    config.alerts = settings.alerts.clone();
    config.text_retention_days = settings.text_retention_days;
    config.calendar = settings.calendar.clone();
    config.buckets = settings.demand;
    if let Some(n) = s.analytics_ttl_s {
        config.analytics_ttl = Duration::from_secs(n.max(1));
    }
    if let Some(n) = s.compact_every_s {
        config.compact_every = (n > 0).then(|| Duration::from_secs(n));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        flowgate_server::serve(
            config,
            |addr| {
                // One line scripts (and the tests) read to learn the port.
                println!("flowgate serve: listening on http://{addr}");
                use std::io::Write;
                let _ = std::io::stdout().flush();
            },
            shutdown_signal(),
        )
        .await
    })?;
    eprintln!("flowgate serve: stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Import a policy file into the database and put it in force on every server sharing
    /// the database (audited as a `policy_change`; importing the policy in force changes
    /// nothing).
    Import {
        file: PathBuf,
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// The policy in force in the database: its version, hash, origin and text.
    Show {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
}

pub fn policy(cmd: PolicyCommand, settings: &Settings) -> Result<()> {
    let rt = crate::db::runtime()?;
    match cmd {
        PolicyCommand::Import { file, db } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let actor = crate::risk::actor();
            let (p, e) = rt.block_on(async {
                let s = flowgate_store::Store::open(&url).await?;
                s.migrate().await?;
                let r = flowgate_app::policy::import(
                    &s,
                    &text,
                    &file.display().to_string(),
                    &actor,
                    jiff::Timestamp::now().as_millisecond(),
                )
                .await;
                s.close().await;
                r
            })?;
            match e {
                Some(e) => eprintln!(
                    "policy {} ({}) is now in force (audit record {})",
                    p.hash, p.name, e.seq
                ),
                None => eprintln!("policy {} is already in force; nothing changed", p.hash),
            }
        }
        PolicyCommand::Show { db } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            let cur = rt.block_on(async {
                let s = flowgate_store::Store::open(&url).await?;
                let r = s.policy_current().await;
                s.close().await;
                r
            })?;
            match cur {
                None => bail!(
                    "no policy has been imported into {}",
                    flowgate_store::redact_url(&url)
                ),
                Some(p) => {
                    println!(
                        "# version {}, {}, imported from {} by {} at {} (audit record {})",
                        p.version,
                        p.hash,
                        p.origin,
                        p.actor,
                        flowgate_flow::time::format_utc_ms(p.imported_at_ms),
                        p.audit_seq
                    );
                    print!("{}", p.toml);
                }
            }
        }
    }
    Ok(())
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print it once (only its SHA-256 is stored).
    Create {
        #[arg(long)]
        role: String,
        /// A name for the token (who or what uses it); audit records carry it as the actor.
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// List tokens (names, roles, when created and revoked; never the tokens).
    List {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Revoke a token by name.
    Revoke {
        name: String,
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
}

pub fn token(cmd: TokenCommand, settings: &Settings) -> Result<()> {
    let rt = crate::db::runtime()?;
    let now = jiff::Timestamp::now().as_millisecond();
    let actor = crate::risk::actor();
    match cmd {
        TokenCommand::Create { role, name, db } => {
            if !flowgate_server::auth::ROLES.contains(&role.as_str()) {
                bail!(
                    "--role {role:?}: expected one of {}",
                    flowgate_server::auth::ROLES.join(", ")
                );
            }
            if name.trim().is_empty() || name.len() > 100 || name.contains(['\n', '\r']) {
                bail!("--name {name:?}: expected 1 to 100 characters on one line");
            }
            let url = crate::db::database_url(db.as_deref(), settings);
            let token = flowgate_server::auth::new_token();
            let hash = flowgate_server::auth::token_sha256(&token);
            rt.block_on(async {
                let s = flowgate_store::Store::open(&url).await?;
                s.migrate().await?;
                let r = s.token_create(&name, &role, &hash, &actor, now).await;
                s.close().await;
                r
            })?;
            println!("{token}");
            eprintln!("token {name:?} ({role}) created; it is shown once — keep it now");
        }
        TokenCommand::List { db } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            let list = rt.block_on(async {
                let s = flowgate_store::Store::open(&url).await?;
                let r = s.token_list().await;
                s.close().await;
                r
            })?;
            println!("{:<24} {:<9} {:<25} revoked", "name", "role", "created");
            for t in list {
                let fmt = |ms: i64| flowgate_flow::time::format_utc_ms(ms);
                println!(
                    "{:<24} {:<9} {:<25} {}",
                    t.name,
                    t.role,
                    fmt(t.created_at_ms),
                    t.revoked_at_ms.map_or("-".into(), fmt)
                );
            }
        }
        TokenCommand::Revoke { name, db } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            rt.block_on(async {
                let s = flowgate_store::Store::open(&url).await?;
                let r = s.token_revoke(&name, &actor, now).await;
                s.close().await;
                r
            })?;
            eprintln!("token {name:?} revoked");
        }
    }
    Ok(())
}
