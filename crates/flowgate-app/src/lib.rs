//! flowgate's application layer: the use cases every surface calls — the CLI and the
//! service are thin shells over these typed functions, which return data. No argument
//! parsing, no terminal output, no runtime of their own: async functions run on the caller's.
//!
//! The live path: a [`Ticket`](flowgate_gate::Ticket) → [`triage::Triage::triage`] (the
//! demand layer's prediction, the gate's decision, the knowledge base's proposal) →
//! [`audit::append_decisions`] (one chained [`DecisionRecord`](flowgate_gate::DecisionRecord)
//! per decision, the texts beside it) → review.

pub mod analytics;
pub mod assist;
pub mod audit;
pub mod defects;
pub mod demand;
pub mod error;
pub mod events;
pub mod gate;
pub mod gate_week;
pub mod governance;
pub mod import;
pub mod inbound;
pub mod live;
pub mod outcomes;
pub mod pilot;
pub mod policy;
pub mod replay;
pub mod retention;
pub mod review;
pub mod service;
pub mod sync;
pub mod tickets;
pub mod train;
pub mod triage;
pub mod whatif;

pub use error::{Error, ErrorKind, Result};
pub use service::Service;
pub use triage::{Source, Triage, Triaged};
