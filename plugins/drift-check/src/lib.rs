//! `drift-check`: decide whether real infrastructure drifted from Terraform's state, report it
//! in the step summary and the outputs, and keep one GitHub issue per workspace.
//!
//! The plan (refresh-only or normal, `terraform show -json`) is read by `tollgate-tfplan`,
//! whose masked views hide every sensitive value before anything renders; [`report`] turns its
//! `resource_drift` into a report and a digest; [`issue`] opens, updates, reopens or closes the
//! workspace's issue.

#![deny(missing_docs)]

pub mod issue;
mod plugin;
pub mod report;

pub use plugin::{DriftCheck, StepInputs, StepOutputs, title_text};

tollgate_sdk::export_plugin!(DriftCheck);
