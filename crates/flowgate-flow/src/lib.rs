//! flowgate's process layer: a columnar [`EventLog`] and every flow metric of DESIGN.md.
//!
//! This crate does no IO and cannot fail on a valid `EventLog`: every function here is a
//! pure function of its inputs.

pub mod business;
pub mod cases;
pub mod demand;
mod demand_types;
pub mod log;
pub mod metrics;
pub mod model;
pub mod segment;
pub mod stats;
pub mod sticky;
pub mod time;

pub use business::{BusinessTime, WorkingTime};
pub use log::{EventLog, EventLogBuilder, EventRow};
pub use metrics::{Baseline, BaselineOptions, BusinessFigures, SlaConfig, SlaTarget, baseline};
pub use model::{Interner, NONE, State};
