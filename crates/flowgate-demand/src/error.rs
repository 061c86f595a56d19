//! Typed errors of the demand layer.

#[derive(Debug, thiserror::Error)]
pub enum DemandError {
    #[error("model file {path}: {problem}")]
    ModelFile { path: String, problem: String },
    #[error("fetching the encoder model: {0}")]
    Fetch(String),
    #[error("{0}")]
    Data(String),
    #[error("{path}:{line}: {problem}")]
    Texts {
        path: String,
        line: u64,
        problem: String,
    },
    #[error("tokenizing: {0}")]
    Tokenize(String),
    #[error("running the encoder: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub type Result<T, E = DemandError> = std::result::Result<T, E>;
