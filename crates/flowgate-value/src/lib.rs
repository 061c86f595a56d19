//! The value layer (DESIGN.md § Layers): did it pay? Pure functions of per-case records
//! (`flowgate_flow::cases`) plus configuration.
//!
//! - [`scorecard`]: three headline numbers per ISO week — cycle time, quality defects,
//!   escalation rate — with week-over-week change.
//! - [`compare`]: pilot vs baseline with 95% bootstrap intervals, a rank test for cycle time,
//!   and the mix-adjusted figure beside the raw one.
//! - [`budget`]: the comparison in the terms a finance lead uses.
//! - [`outcomes`]: churn, conversion lag and on-time delivery by cycle-time band.
//! - [`pilot`]: the 90-day pilot's plan, its day and phase, its two periods.
//! - [`alerts`]: a headline figure past the limit the team set.

pub mod alerts;
pub mod boot;
pub mod budget;
pub mod compare;
pub mod outcomes;
pub mod pilot;
pub mod scorecard;

pub use budget::{Budget, BudgetError, BudgetTerms, budget_terms};
pub use compare::{Compare, CompareInput, CompareOptions, Period, compare};
pub use scorecard::{Scorecard, ScorecardOptions, scorecard};
