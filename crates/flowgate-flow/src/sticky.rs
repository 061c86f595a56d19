//! Sticky resolution: an AI answer (`act`) counts as resolved only if its case was
//! resolved, never reopened, and the same customer opened no new ticket on the same intent
//! within N days of that resolution.

use serde::Serialize;

use crate::EventLog;
use crate::model::State;

/// One ticket as sticky resolution needs it.
#[derive(Clone, Debug)]
pub struct StickyTicket {
    /// Index of its case in the log, when the log has it.
    pub case: Option<usize>,
    pub customer: String,
    pub intent: String,
    pub created_ms: i64,
    /// The AI answered it (`act`).
    pub acted: bool,
}

/// What became of one `act`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Sticky,
    /// The case is not in the log.
    NotInLog,
    /// The ticket has no intent (or no customer), so a return on the same intent by the same
    /// customer cannot be looked for: counted apart, never as sticky.
    NoIntent,
    NoCustomer,
    /// The case never reached a resolved or closed state.
    Unresolved,
    /// The case went from resolved/closed back to an open state.
    Reopened,
    /// The customer came back on the same intent (index of that ticket, days after the
    /// resolution).
    ReturnedWithin {
        ticket: usize,
        days: f64,
    },
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StickyReport {
    pub days: f64,
    /// Per ticket (same order as given): `None` for tickets not acted on.
    pub outcomes: Vec<Option<Outcome>>,
    pub acted: usize,
    /// Acts whose case is in the log and that have an intent and a customer.
    pub assessed: usize,
    /// Acts without an intent or a customer: not assessed (see the outcomes).
    pub unassessable: usize,
    pub sticky: usize,
    /// `sticky / assessed`.
    pub sticky_rate: Option<f64>,
}

impl Outcome {
    /// The outcome's name in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Sticky => "sticky",
            Outcome::NotInLog => "not_in_log",
            Outcome::NoIntent => "no_intent",
            Outcome::NoCustomer => "no_customer",
            Outcome::Unresolved => "unresolved",
            Outcome::Reopened => "reopened",
            Outcome::ReturnedWithin { .. } => "returned_within_window",
        }
    }

    /// Whether the act could be judged (its case is in the log; it has an intent and a
    /// customer).
    pub fn assessed(&self) -> bool {
        !matches!(
            self,
            Outcome::NotInLog | Outcome::NoIntent | Outcome::NoCustomer
        )
    }
}

/// Acts assessed and sticky, for one intent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentSticky {
    pub intent: String,
    pub assessed: usize,
    pub sticky: usize,
}

impl StickyReport {
    /// How many acts had each outcome, by [`Outcome::kind`].
    pub fn by_outcome(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut kinds = std::collections::BTreeMap::new();
        for o in self.outcomes.iter().flatten() {
            *kinds.entry(o.kind()).or_default() += 1;
        }
        kinds
    }

    /// Assessed and sticky acts per intent (`tickets` as given to [`sticky`]), by intent name.
    pub fn by_intent(&self, tickets: &[StickyTicket]) -> Vec<IntentSticky> {
        let mut per: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for (t, o) in tickets.iter().zip(&self.outcomes) {
            let Some(o) = o.as_ref().filter(|o| o.assessed()) else {
                continue;
            };
            let e = per.entry(t.intent.as_str()).or_default();
            e.0 += 1;
            e.1 += (*o == Outcome::Sticky) as usize;
        }
        per.into_iter()
            .map(|(intent, (assessed, sticky))| IntentSticky {
                intent: intent.to_owned(),
                assessed,
                sticky,
            })
            .collect()
    }
}

/// The first resolution time of a case and whether it was ever reopened.
fn resolution(log: &EventLog, case: usize) -> (Option<i64>, bool) {
    let ts = log.ts();
    let mut cur: Option<State> = None;
    let mut resolved_at = None;
    let mut reopened = false;
    for e in log.case_events(case) {
        if let Some(s) = log.state(e)
            && Some(s) != cur
        {
            let was_terminal = cur.is_some_and(State::is_terminal);
            if s.is_terminal() && !was_terminal && resolved_at.is_none() {
                resolved_at = Some(ts[e]);
            }
            if was_terminal && !s.is_terminal() {
                reopened = true;
            }
            cur = Some(s);
        }
    }
    (resolved_at, reopened)
}

/// Sticky outcome of every acted ticket.
pub fn sticky(log: &EventLog, tickets: &[StickyTicket], days: f64) -> StickyReport {
    let window = (days * 86_400_000.0) as i64;
    // Per (customer, intent): tickets by creation time.
    let mut by_key: std::collections::HashMap<(&str, &str), Vec<(i64, usize)>> =
        std::collections::HashMap::new();
    for (i, t) in tickets.iter().enumerate() {
        if !t.customer.is_empty() && !t.intent.is_empty() {
            by_key
                .entry((t.customer.as_str(), t.intent.as_str()))
                .or_default()
                .push((t.created_ms, i));
        }
    }
    for v in by_key.values_mut() {
        v.sort_unstable();
    }
    let mut outcomes = Vec::with_capacity(tickets.len());
    let (mut acted, mut assessed, mut sticky, mut unassessable) = (0, 0, 0, 0);
    for (i, t) in tickets.iter().enumerate() {
        if !t.acted {
            outcomes.push(None);
            continue;
        }
        acted += 1;
        let Some(case) = t.case else {
            outcomes.push(Some(Outcome::NotInLog));
            continue;
        };
        if t.intent.trim().is_empty() || t.customer.trim().is_empty() {
            unassessable += 1;
            outcomes.push(Some(if t.intent.trim().is_empty() {
                Outcome::NoIntent
            } else {
                Outcome::NoCustomer
            }));
            continue;
        }
        assessed += 1;
        let (resolved_at, reopened) = resolution(log, case);
        let o = match resolved_at {
            None => Outcome::Unresolved,
            Some(_) if reopened => Outcome::Reopened,
            Some(r) => {
                let back = by_key
                    .get(&(t.customer.as_str(), t.intent.as_str()))
                    .and_then(|v| {
                        v.iter()
                            .find(|&&(c, j)| j != i && c > r && c <= r + window)
                            .copied()
                    });
                match back {
                    Some((c, j)) => Outcome::ReturnedWithin {
                        ticket: j,
                        days: (c - r) as f64 / 86_400_000.0,
                    },
                    None => Outcome::Sticky,
                }
            }
        };
        sticky += (o == Outcome::Sticky) as usize;
        outcomes.push(Some(o));
    }
    StickyReport {
        days,
        outcomes,
        acted,
        assessed,
        unassessable,
        sticky,
        sticky_rate: (assessed > 0).then(|| sticky as f64 / assessed as f64),
    }
}
