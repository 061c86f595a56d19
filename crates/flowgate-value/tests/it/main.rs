//! Integration tests of the value layer: hand-worked scorecard, bootstrap coverage on data
//! with a known difference, a constructed Simpson's paradox, budget terms.

mod compare;
mod scorecard;

use flowgate_flow::NONE;
use flowgate_flow::cases::CaseRecord;

pub const DAY: i64 = 86_400_000;
pub const HOUR: i64 = 3_600_000;

/// A case created at `created`, resolved `cycle` later (open when `None`).
pub fn case(created: i64, cycle: Option<i64>) -> CaseRecord {
    CaseRecord {
        created,
        resolved_at: cycle.map(|c| created + c),
        last_event: created + cycle.unwrap_or(0),
        reopens: 0,
        fastest_reopen_ms: None,
        first_reopened_resolution: None,
        handoffs: 0,
        ping_pong: false,
        escalated: false,
        touch_ms: 0,
        first_response_ms: None,
        first_team: NONE,
    }
}
