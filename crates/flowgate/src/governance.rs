//! `flowgate governance`: the controls in force, mapped to NIST AI RMF subcategories, with
//! evidence counted from the audit log, the review queue and the policy (when given). No cell
//! is constant: a control without evidence shows as not in force and says what is missing.

use std::path::PathBuf;

use anyhow::Result;
use flowgate_gate::Policy;
use flowgate_store::Store;

use crate::config::Settings;

#[derive(clap::Args, Debug)]
pub struct GovernanceArgs {
    /// Database holding the audit log (SQLite path or postgres://…).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The policy in force: adds its modes, targets and kill switches.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// markdown or json (the same table as data).
    #[arg(long, default_value = "markdown")]
    pub format: String,
}

pub fn run(args: GovernanceArgs, settings: &Settings) -> Result<()> {
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let rt = crate::db::runtime()?;
    let (entries, reviews) = rt.block_on(async {
        let s = Store::open(&url).await?;
        let e = s.audit_entries().await;
        let r = s.review_items().await;
        s.close().await;
        anyhow::Ok((e?, r?))
    })?;
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    let g = flowgate_app::governance::evidence(&entries, &reviews, policy.as_ref(), &url);
    let text = match args.format.as_str() {
        "json" => serde_json::to_string_pretty(&g)? + "\n",
        "markdown" | "md" => flowgate_app::governance::markdown(&g),
        other => anyhow::bail!("--format {other:?}: expected markdown or json"),
    };
    crate::output::write(args.out.as_deref(), text.as_bytes())
}
