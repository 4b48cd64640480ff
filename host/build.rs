//! Builds the first-party plugins (`plugins/*`, today region-verify) as wasm32-wasip2
//! components, so the host can embed them as builtins (`include_bytes!`). Guests that
//! exist only for tests (`tests/guests/*`) are not built here: the e2e harness builds them
//! on first use (`tests/e2e/guests.rs`), so `cargo build` of the host never compiles them.
//!
//! The nested cargo gets its own target directory: sharing the outer one deadlocks when
//! both need the same profile. Set `TOLLGATE_SKIP_GUEST_BUILD=DIR` to use components
//! built elsewhere (DIR holds the `.wasm` files).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, library file stem, env var naming the built component) of each first-party
/// plugin the host embeds.
const PLUGINS: &[(&str, &str, &str)] = &[("region-verify", "region_verify", "TOLLGATE_REGION_VERIFY_WASM")];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace");
    for input in ["wit", "plugins", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=TOLLGATE_SKIP_GUEST_BUILD");

    let out_dir = match env::var_os("TOLLGATE_SKIP_GUEST_BUILD") {
        Some(dir) => PathBuf::from(dir),
        None => build_plugins(root),
    };
    for (_, stem, var) in PLUGINS {
        let path = out_dir.join(format!("{stem}.wasm"));
        assert!(path.exists(), "plugin component missing: {}", path.display());
        println!("cargo:rustc-env={var}={}", path.display());
    }
}

fn build_plugins(root: &Path) -> PathBuf {
    let target_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it")).join("guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--locked", "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in PLUGINS {
        cmd.args(["-p", package]);
    }
    // The outer build's flags and jobserver are for the host target, not for the guests.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" || key == "RUSTC_WRAPPER" {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().expect("run cargo to build the plugin components");
    assert!(
        status.success(),
        "building the plugin components failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    target_dir.join("wasm32-wasip2").join("guest")
}
