//! The application layer's errors: each lower layer's, and what a use case refuses. Every
//! error has a [`ErrorKind`] (what a surface does with it: the HTTP status, the exit code,
//! whether the inbox tries a delivery again) and a stable [`Error::code`]; surfaces map the
//! kind once and never read the message.

/// What kind of failure an error is, for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Well-formed input that cannot be used (a field out of range, an unknown intent).
    Invalid,
    /// Input that does not parse at all (not JSON, not the shape asked for).
    Malformed,
    /// A query parameter or argument that is not valid.
    BadQuery,
    /// What was asked for does not exist.
    NotFound,
    /// The request conflicts with what is stored (already reviewed, held by another).
    Conflict,
    /// A dependency is not there or not ready (the database, a policy, the encoder).
    Unavailable,
    /// A failure of flowgate's own or of its data: not the caller's to fix.
    Internal,
}

impl ErrorKind {
    /// The stable slug problem documents carry as `urn:flowgate:problem:<code>`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Malformed => "malformed",
            ErrorKind::BadQuery => "bad-query",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

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
    /// The input does not parse: the message says where and what was expected.
    #[error("{0}")]
    Malformed(String),
    /// A query parameter is not valid: the message names it and what was expected.
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "no policy is in force in this database: start with --policy FILE (it is imported, audited) or run `flowgate policy import FILE`"
    )]
    NoPolicy,
    /// A dependency failed or is not ready; trying again later may help.
    #[error("{0}")]
    Unavailable(String),
    /// Something of flowgate's own failed (a thread stopped, stored data unreadable).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        use flowgate_store::StoreError as S;
        match self {
            Error::Invalid(_) | Error::Ticket(_) => ErrorKind::Invalid,
            Error::Malformed(_) => ErrorKind::Malformed,
            Error::BadQuery(_) => ErrorKind::BadQuery,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::NoPolicy | Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Store(s) => match s {
                S::Conflict(_) => ErrorKind::Conflict,
                S::NotFound(_) | S::UnknownSource { .. } => ErrorKind::NotFound,
                S::Review(_) => ErrorKind::Invalid,
                S::Connect { .. } | S::Sql(_) | S::NotMigrated => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Error::Policy(_) => ErrorKind::Invalid,
            Error::Demand(_) | Error::Ingest(_) | Error::Kb(_) | Error::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }

    /// The stable slug of the error's kind.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// Whether the same request may succeed later unchanged: a database that did not
    /// answer, a thread that stopped. Bad input never is.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Unavailable | ErrorKind::Internal)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_codes_and_retry() {
        let cases = [
            (Error::Invalid("x".into()), "invalid", false),
            (Error::Malformed("x".into()), "malformed", false),
            (Error::BadQuery("x".into()), "bad-query", false),
            (Error::NotFound("x".into()), "not-found", false),
            (Error::Conflict("x".into()), "conflict", false),
            (Error::NoPolicy, "unavailable", true),
            (Error::Internal("x".into()), "internal", true),
            (
                Error::Store(flowgate_store::StoreError::Conflict("held".into())),
                "conflict",
                false,
            ),
            (
                Error::Store(flowgate_store::StoreError::NotMigrated),
                "unavailable",
                true,
            ),
        ];
        for (e, code, retry) in cases {
            assert_eq!(e.code(), code, "{e}");
            assert_eq!(e.is_retryable(), retry, "{e}");
        }
    }
}
