//! Tollgate's host: runs sandboxed WebAssembly plugins as CI steps.
//!
//! Start at [`cli`] (commands) and [`step`] (one step end to end); `ARCHITECTURE.md` has
//! the map and the invariants.

pub mod artifacts;
pub mod builtin;
pub mod capabilities;
pub mod cli;
pub mod describe;
pub mod error;
pub mod events;
pub mod imports;
pub mod inputs;
pub mod net;
pub mod pipeline;
pub mod runner;
pub mod runtime;
pub mod sources;
pub mod step;

/// Host bindings of the `tollgate:plugin` world (`wit/`).
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
        imports: {
            "tollgate:plugin/tls.peer-certificate": async,
        },
        exports: { default: async },
    });
}

pub use error::{Error, ExitCode};
