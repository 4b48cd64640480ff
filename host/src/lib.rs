//! Tollgate's host: runs sandboxed WebAssembly plugins as CI steps.
//!
//! Start at [`cli`] (commands) and [`step`] (one step end to end); `ARCHITECTURE.md` has
//! the map and the invariants. The seams, with dependencies pointing one way:
//! `cli` → `pipeline` → `step` → `sandbox`; `cli` → `runner` (the only printer).
#![deny(missing_docs)]

pub mod artifacts;
pub mod authoring;
pub mod cli;
pub mod error;
pub mod events;
pub mod github;
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
            // GitHub calls wait on the network, rate limits and retries: never on the executor.
            "tollgate:plugin/github": async,
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
    fn the_authoring_world_vendors_the_current_wit_unchanged() {
        assert_eq!(
            include_str!("../../wit/authoring/deps/tollgate.wit"),
            CURRENT,
            "wit/authoring/deps/tollgate.wit must be a copy of wit/tollgate.wit: `cp wit/tollgate.wit wit/authoring/deps/`"
        );
        let http = include_str!("../../wit/authoring/deps/http.wit");
        let version = http
            .lines()
            .find_map(|l| l.strip_prefix("package wasi:http@")?.strip_suffix(';'))
            .expect("deps/http.wit names its package");
        assert!(
            include_str!("../../wit/authoring/authoring.wit")
                .contains(&format!("wasi:http/outgoing-handler@{version};")),
            "authoring.wit must import the vendored wasi:http version {version}"
        );
        assert!(
            include_str!("authoring/project.rs").contains(&format!("wasi:http/types@{version}=types")),
            "the Python build must name the vendored wasi:http version {version}"
        );
    }

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

#[cfg(test)]
mod tidy {
    //! The seams ARCHITECTURE.md promises, checked on the source: arrows point one way,
    //! only the runner prints or reads runner variables, and every module says what it owns.

    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("host/src is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// `(path relative to host/src, code without comment lines)` of every module.
    fn modules() -> Vec<(String, String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable source");
                let code = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let rel = path.strip_prefix(&root).expect("under src").display().to_string();
                (rel, text, code)
            })
            .collect()
    }

    #[test]
    fn dependencies_point_one_way() {
        // (modules, what they must not use)
        let rules: &[(&[&str], &[&str])] = &[
            (
                &["sandbox/"],
                &["crate::runner", "crate::pipeline", "crate::cli", "crate::step"],
            ),
            (&["step.rs"], &["crate::runner", "crate::pipeline", "crate::cli"]),
            (&["pipeline/"], &["crate::runner", "crate::cli"]),
            (
                &["sources/"],
                &[
                    "crate::runner",
                    "crate::pipeline",
                    "crate::cli",
                    "crate::step",
                    "crate::sandbox",
                ],
            ),
            (
                &["github/"],
                &[
                    "crate::runner",
                    "crate::pipeline",
                    "crate::cli",
                    "crate::step",
                    "crate::sandbox::runtime",
                    "crate::sandbox::imports",
                ],
            ),
            (
                &["runner/"],
                &["crate::cli", "crate::sandbox::runtime", "crate::sandbox::net"],
            ),
        ];
        for (path, _, code) in modules() {
            for (owners, banned) in rules {
                if owners.iter().any(|o| path.starts_with(o)) {
                    for b in *banned {
                        assert!(!code.contains(b), "{path} uses {b}: see ARCHITECTURE.md's code map");
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_runner_prints_or_reads_runner_variables() {
        for (path, _, code) in modules() {
            if path.starts_with("runner/") || path == "lib.rs" {
                continue;
            }
            for banned in [
                "println!",
                "eprintln!",
                "print!(",
                "std::io::stdout",
                "std::io::stderr",
                "\"GITHUB_",
                "\"INPUT_",
            ] {
                assert!(
                    !code.contains(banned),
                    "{path} uses {banned}: only runner/ prints or reads runner variables"
                );
            }
        }
    }

    #[test]
    fn every_module_says_what_it_owns() {
        for (path, text, _) in modules() {
            assert!(
                text.starts_with("//!"),
                "{path} must open with a `//!` line saying what it owns"
            );
        }
    }
}
