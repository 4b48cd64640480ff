//! `state-lock`: a named lease lock held from `terraform plan` to `apply`, across steps and
//! jobs, that never grants two holders and never sticks.
//!
//! [`lease`] is the record and the one expiry rule; [`backend`] holds one compare-and-swap
//! register per key (a directory, a GitHub ref); [`ops`] builds acquire, release, renew,
//! force-release and status on any backend; the plugin layer reads inputs and reports.

#![deny(missing_docs)]

pub mod backend;
pub mod lease;
pub mod ops;
mod plugin;

pub use plugin::{StateLock, StepInputs, StepOutputs};

// Natively, a workspace-wide build unifies the default `export` feature into the
// contention test's guest, which exports its own `describe`/`run`; only the component
// needs the exports.
#[cfg(all(feature = "export", target_arch = "wasm32"))]
tollgate_sdk::export_plugin!(StateLock);

/// A fresh random token (128 bits, hex), from the host's `wasi:random`.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the host provides randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
