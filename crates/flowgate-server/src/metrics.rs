//! Prometheus text metrics: requests and latency by route and status, decisions by action.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route, status) → (count, seconds summed).
    requests: BTreeMap<(String, String, u16), (u64, f64)>,
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let e = m
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        e.0 += 1;
        e.1 += secs;
    }

    /// The exposition text; `chain_length` is read from the store at scrape time.
    pub fn render(
        &self,
        decisions: &[(&'static str, u64)],
        chain_length: i64,
        review_pending: usize,
        inbox: &flowgate_store::inbox::InboxStats,
        now_ms: i64,
    ) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = String::new();
        s.push_str("# HELP flowgate_http_requests_total Requests by route and status.\n# TYPE flowgate_http_requests_total counter\n");
        for ((method, route, status), (n, _)) in &m.requests {
            let _ = writeln!(
                s,
                "flowgate_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        s.push_str("# HELP flowgate_http_request_seconds_sum Time spent answering, by route.\n# TYPE flowgate_http_request_seconds_sum counter\n");
        for ((method, route, status), (_, secs)) in &m.requests {
            let _ = writeln!(
                s,
                "flowgate_http_request_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {secs:.6}"
            );
        }
        s.push_str("# HELP flowgate_decisions_total Gate decisions made by this process, by action.\n# TYPE flowgate_decisions_total counter\n");
        for (a, n) in decisions {
            let _ = writeln!(s, "flowgate_decisions_total{{action=\"{a}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP flowgate_audit_chain_length Records in the audit chain.\n# TYPE flowgate_audit_chain_length gauge\nflowgate_audit_chain_length {chain_length}"
        );
        let _ = writeln!(
            s,
            "# HELP flowgate_review_pending Sampled decisions waiting for review.\n# TYPE flowgate_review_pending gauge\nflowgate_review_pending {review_pending}"
        );
        let _ = writeln!(
            s,
            "# HELP flowgate_inbox_deliveries Webhook deliveries in the inbox, by state.\n# TYPE flowgate_inbox_deliveries gauge"
        );
        for (state, n) in [
            ("pending", inbox.pending),
            ("done", inbox.done),
            ("failed", inbox.failed),
        ] {
            let _ = writeln!(s, "flowgate_inbox_deliveries{{state=\"{state}\"}} {n}");
        }
        let age = inbox
            .oldest_pending_ms
            .map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
        let _ = writeln!(
            s,
            "# HELP flowgate_inbox_oldest_pending_seconds Age of the oldest unprocessed delivery.\n# TYPE flowgate_inbox_oldest_pending_seconds gauge\nflowgate_inbox_oldest_pending_seconds {age:.3}"
        );
        s
    }
}
