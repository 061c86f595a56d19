//! flowgate's demand layer: what kind of work arrives.
//!
//! Today: an intent model (embeddings + TF-IDF in one calibrated linear model, with an
//! out-of-scope score), its evaluation, and sentence embeddings in pure Rust ([`Encoder`]: all-MiniLM-L6-v2 through candle's
//! `BertModel` and the `tokenizers` crate, mean pooling over the attention mask, L2
//! normalisation) and the model files' location and first-time fetch. This is the only crate
//! that links candle and tokenizers.

pub mod bert;
pub mod discover;
pub mod embed;
pub mod encoder;
pub mod error;
pub mod evaluate;
pub mod intent;
pub mod linear;
pub mod model_files;
pub mod texts;
pub mod tfidf;

pub use embed::{Embed, HashEmbedder};
pub use encoder::{Encoder, Forward};
pub use error::{DemandError, Result};
pub use intent::{IntentBucket, IntentModel, Prediction, Suspect};
