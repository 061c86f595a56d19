//! Text retention: the texts kept beside decisions (ticket text, answer, sources, reasons,
//! customer) go once they are older than the settings' `text_retention_days`; the audit
//! records and their hashes stay, and an `erase` record on the chain says what went. The
//! CLI applies it after `triage --audit`, the service at start and then hourly.

use std::time::Duration;

use flowgate_flow::time::MS_PER_DAY;
use flowgate_store::Store;
use flowgate_store::texts::Erased;

use crate::Result;

/// Erases the texts of decisions stored more than `days` days before `now_ms`.
pub async fn apply(store: &Store, days: u32, now_ms: i64) -> Result<Erased> {
    let before = now_ms - i64::from(days) * MS_PER_DAY;
    Ok(store
        .erase_texts(None, Some(before), "retention", now_ms)
        .await?)
}

/// [`apply`] now and then every `every` until `stop` is set (the service's task).
pub(crate) async fn every(
    store: Store,
    days: u32,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        match apply(&store, days, now).await {
            Ok(e) if e.texts > 0 => tracing::info!(texts = e.texts, days, "retention erased texts"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention pass failed; it runs again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
