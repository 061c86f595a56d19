//! flowgate's risk layer: confidence thresholds calibrated to a target precision (each
//! intent's own one-sided 95% lower bound must meet the target, so a threshold is only trusted
//! when its evidence can vouch for it), the gate policy (modes, escalation rules, kill switches, audit sampling) and the
//! decision for each ticket.

pub mod calibrate;
pub mod decide;
pub mod interval;
pub mod policy;
pub mod record;
pub mod ticket;

pub use calibrate::{Calibration, Evidence, IntentThreshold, Method, calibrate};
pub use decide::{Decision, Gate, TicketError, Verdict};
pub use policy::{Action, Mode, Policy, PolicyError};
pub use record::DecisionRecord;
pub use ticket::{Attribute, Ticket};
