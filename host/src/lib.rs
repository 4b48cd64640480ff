//! Tollgate's host: runs sandboxed WebAssembly plugins as CI steps.
//!
//! Start at [`cli`] (commands) and [`step`] (one step end to end); `ARCHITECTURE.md` has
//! the map and the invariants. The seams, with dependencies pointing one way:
//! `cli` → `pipeline` → `step` → `sandbox`; `cli` → `runner` (the only printer).
#![deny(missing_docs)]

pub mod artifacts;
pub mod builtin;
pub mod cli;
pub mod error;
pub mod events;
pub mod pipeline;
pub mod runner;
pub mod sandbox;
pub mod sources;
pub mod step;

/// Host bindings of the `tollgate:plugin` world (`wit/`).
#[allow(missing_docs)]
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

#[cfg(test)]
mod contract {
    //! The released contract is frozen: its copy must never change, and the current WIT
    //! may differ from it only under a new version.

    use sha2::{Digest, Sha256};

    const FROZEN_V0_1_0: &str = include_str!("../../wit/since_v0.1.0/tollgate.wit");
    const FROZEN_V0_1_0_SHA256: &str = "fba20e200ddeb2da6b61c217f18b6f6520f7c8a09fdc53664d4856aba7949226";
    const CURRENT: &str = include_str!("../../wit/tollgate.wit");

    #[test]
    fn the_frozen_v0_1_0_copy_never_changes() {
        assert_eq!(
            hex::encode(Sha256::digest(FROZEN_V0_1_0)),
            FROZEN_V0_1_0_SHA256,
            "wit/since_v0.1.0/ is a released contract: put changes in a new version of wit/tollgate.wit"
        );
    }

    #[test]
    fn the_current_wit_changes_only_under_a_new_version() {
        if CURRENT.contains("package tollgate:plugin@0.1.0;") {
            assert_eq!(
                CURRENT, FROZEN_V0_1_0,
                "wit/tollgate.wit changed but still says 0.1.0: bump it to 0.2.0 and keep loading 0.1 plugins"
            );
        }
    }
}
