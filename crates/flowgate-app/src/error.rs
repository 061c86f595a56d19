//! The application layer's errors: each lower layer's, and what a use case refuses.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Demand(#[from] flowgate_demand::DemandError),
    #[error(transparent)]
    Ingest(#[from] flowgate_ingest::IngestError),
    #[error(transparent)]
    Kb(#[from] flowgate_kb::KbError),
    #[error(transparent)]
    Store(#[from] flowgate_store::StoreError),
    #[error(transparent)]
    Ticket(#[from] flowgate_gate::TicketError),
    #[error(transparent)]
    Policy(#[from] flowgate_gate::PolicyError),
    /// The input is well formed but cannot be used: the message says what was expected.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
