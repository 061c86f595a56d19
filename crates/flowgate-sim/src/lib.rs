//! What-if (DESIGN.md § Layers, sim): before changing anything, what would the change do?
//!
//! - [`erlang`]: Erlang C and Erlang A (with abandonment) staffing for live channels.
//! - [`forecast`]: Monte Carlo forecasts from daily throughput.
//! - [`des`]: a discrete-event simulation of the support organisation fitted from its log,
//!   driven by a scenario file.

pub mod des;
pub mod erlang;
pub mod forecast;
pub mod scenario;
pub mod validate;

pub use des::{Model, SimResult, simulate};
pub use scenario::{Scenario, ScenarioError};
