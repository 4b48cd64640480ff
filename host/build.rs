//! Builds the first-party plugins and the test guests as wasm32-wasip2 components so the
//! host can embed the builtins (`include_bytes!`) and tests can load the guests.
//!
//! The nested cargo gets its own target directory: sharing the outer one deadlocks when
//! both need the same profile. Set `TOLLGATE_SKIP_GUEST_BUILD=DIR` to use components
//! built elsewhere (DIR holds the `.wasm` files).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, library file stem, env var naming the built component)
const GUESTS: &[(&str, &str, &str)] = &[
    ("region-verify", "region_verify", "TOLLGATE_REGION_VERIFY_WASM"),
    ("tollgate-guest-noop", "tollgate_guest_noop", "TOLLGATE_GUEST_NOOP_WASM"),
    (
        "tollgate-guest-probe",
        "tollgate_guest_probe",
        "TOLLGATE_GUEST_PROBE_WASM",
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace");
    for input in ["wit", "plugins", "tests/guests", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=TOLLGATE_SKIP_GUEST_BUILD");

    let out_dir = match env::var_os("TOLLGATE_SKIP_GUEST_BUILD") {
        Some(dir) => PathBuf::from(dir),
        None => build_guests(root),
    };
    for (_, stem, var) in GUESTS {
        let path = out_dir.join(format!("{stem}.wasm"));
        assert!(path.exists(), "guest component missing: {}", path.display());
        println!("cargo:rustc-env={var}={}", path.display());
    }
}

fn build_guests(root: &Path) -> PathBuf {
    let target_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it")).join("guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--locked", "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    // The outer build's flags and jobserver are for the host target, not for the guests.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" || key == "RUSTC_WRAPPER" {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().expect("run cargo to build guest components");
    assert!(
        status.success(),
        "building the guest components failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    target_dir.join("wasm32-wasip2").join("guest")
}
