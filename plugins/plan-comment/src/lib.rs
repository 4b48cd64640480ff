//! `plan-comment`: summarise a terraform plan (`terraform show -json`) in one sticky
//! pull-request comment per workspace, and in the step summary.
//!
//! The plan is read by `tollgate-tfplan`, whose masked views hide every sensitive value
//! before anything renders; [`render`] turns it into Markdown within GitHub's comment limit;
//! [`sticky`] finds, updates or creates the one comment per pull request and workspace.

#![deny(missing_docs)]

mod plugin;
pub mod render;
pub mod sticky;

pub use plugin::{PlanComment, StepInputs, StepOutputs};

tollgate_sdk::export_plugin!(PlanComment);
