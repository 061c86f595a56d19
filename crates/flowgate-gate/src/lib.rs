//! flowgate's risk layer: confidence thresholds calibrated to a target precision (with a
//! lower confidence bound, so that a threshold is only trusted when held-out data can vouch
//! for it), the gate policy (modes, escalation rules, kill switches, audit sampling) and the
//! decision for each ticket.

pub mod calibrate;
pub mod decide;
pub mod interval;
pub mod policy;

pub use calibrate::{Bound, Calibration, IntentThreshold, calibrate, calibrate_with};
pub use decide::{Decision, Gate, Ticket, TicketError, Verdict};
pub use policy::{Action, Mode, Policy, PolicyError};
