//! flowgate's risk layer. So far: confidence thresholds calibrated to a target precision,
//! with a lower confidence bound on precision (Wilson or Clopper–Pearson) so that a threshold
//! is only trusted when the held-out data can vouch for it.

pub mod calibrate;
pub mod interval;

pub use calibrate::{Bound, Calibration, IntentThreshold, calibrate};
