//! `region-verify`: check several regional endpoints after a deploy or failover, with
//! conditions, retries, a quorum and a failover drill.

#![deny(missing_docs)]

pub mod backoff;
pub mod conditions;
pub mod config;
mod plugin;
pub mod quorum;
pub mod report;

pub use plugin::RegionVerify;

tollgate_sdk::export_plugin!(RegionVerify);
