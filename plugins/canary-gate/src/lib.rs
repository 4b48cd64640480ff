//! `canary-gate`: Argo-Rollouts-grade metric analysis as a CI step.
//!
//! [`template`] reads an AnalysisTemplate's metrics as Argo writes them; [`provider`] measures
//! (Prometheus, web); [`analysis`] schedules measurements and gives measurements, metrics and the
//! run their phases; [`stats`] compares baseline and canary (Mann-Whitney U); [`report`] writes
//! the summary; the plugin layer reads inputs and reports. Conditions are `tollgate-expr`'s metric
//! dialect, checked against the query's type before the first measurement.

#![deny(missing_docs)]

pub mod analysis;
mod plugin;
pub mod provider;
pub mod report;
pub mod stats;
pub mod template;

pub use plugin::{ARTIFACT, CanaryGate, StepInputs, StepOutputs};

#[cfg(target_arch = "wasm32")]
tollgate_sdk::export_plugin!(CanaryGate);
