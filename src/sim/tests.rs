//! The simulator's lifecycle tests use only its public API, so they live
//! in the integration-test binary: `tests/it/lifecycle.rs`,
//! `tests/it/jobs.rs` and `tests/it/autoscale.rs`, with their helpers in
//! `tests/it/timeline.rs`. This module stays empty until `sim/mod.rs`
//! stops declaring it.
