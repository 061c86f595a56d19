//! Integration tests of the process layer: hand-computed cases and property tests.

mod demand;
mod hand;
mod props;
