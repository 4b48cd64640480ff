//! End-to-end tests: the `tollgate` binary against real peers on 127.0.0.1.
//!
//! One test binary (one link, one shared compiled-component cache) with a module per
//! suite, as wasmtime's own test-programs do.

mod act;
mod authoring;
mod canary_gate;
mod cli;
mod contract;
mod github;
mod github_peer;
mod gitops;
mod guests;
mod hostile;
mod leaks;
mod oci;
mod pipeline;
mod prometheus_peer;
mod region_verify;
mod sandbox;
mod state_lock;
mod state_lock_aws;
mod support;
mod terraform_plugins;
