//! Builds the first-party plugins as wasm32-wasip2 components so the host can embed them
//! as builtins. A plugin is first-party when its own `Cargo.toml` says so, which is the
//! one place a plugin is registered:
//!
//! ```toml
//! [package.metadata.tollgate]
//! builtin = true
//! ```
//!
//! Every `plugins/*` crate is a workspace member (a glob in the root `Cargo.toml`); this
//! script asks `cargo metadata` which of them are builtins, builds them, and writes
//! `$OUT_DIR/builtins.rs`, the table `host/src/sources/builtin.rs` includes. Guests that
//! exist only for tests (`tests/guests/*`) are not built here: the e2e harness builds them
//! on first use (`tests/e2e/guests.rs`), so `cargo build` of the host never compiles them.
//!
//! The nested cargo gets its own target directory: sharing the outer one deadlocks when
//! both need the same profile. Set `TOLLGATE_SKIP_GUEST_BUILD=DIR` to use components
//! built elsewhere (DIR holds the `.wasm` files).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A builtin plugin: its package name (also its builtin name) and library file stem.
struct Builtin {
    package: String,
    stem: String,
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace");
    // `crates/` and the Rust SDK too: builtins use workspace crates (plan-comment and
    // drift-check read plans with `crates/tfplan`) and every builtin is written on the SDK, so
    // a change there must rebuild them.
    for input in [
        "wit",
        "plugins",
        "sdk/rust",
        "sdk/rust-macros",
        "crates",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=TOLLGATE_SKIP_GUEST_BUILD");

    let builtins = builtins(root);
    let wasm_dir = match env::var_os("TOLLGATE_SKIP_GUEST_BUILD") {
        Some(dir) => PathBuf::from(dir),
        None => build(root, &builtins),
    };
    let mut table = String::from("/// Every builtin plugin.\n");
    table.push_str("pub const BUILTINS: &[Builtin] = &[\n");
    for builtin in &builtins {
        let path = wasm_dir.join(format!("{}.wasm", builtin.stem));
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("plugin component missing: {}: {e}", path.display()));
        // Hashed here, not on every run: a step's start would otherwise read and hash the
        // whole embedded component just to name its cache entry.
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        writeln!(
            table,
            "    Builtin {{ name: {:?}, component: include_bytes!({:?}), digest: \"sha256:{digest}\" }},",
            builtin.package,
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("builtins.rs"), table).expect("write builtins.rs");
    // The e2e tests run builtins as `.wasm` files too.
    println!("cargo:rustc-env=TOLLGATE_BUILTIN_DIR={}", wasm_dir.display());
}

/// The workspace packages whose manifest has `package.metadata.tollgate.builtin = true`.
fn builtins(root: &Path) -> Vec<Builtin> {
    let output = cargo(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let mut builtins: Vec<Builtin> = metadata["packages"]
        .as_array()
        .expect("cargo metadata lists packages")
        .iter()
        .filter(|p| p["metadata"]["tollgate"]["builtin"] == serde_json::Value::Bool(true))
        .map(|p| {
            let package = p["name"].as_str().expect("a package has a name").to_string();
            Builtin {
                stem: package.replace('-', "_"),
                package,
            }
        })
        .collect();
    builtins.sort_by(|a, b| a.package.cmp(&b.package));
    builtins
}

fn build(root: &Path, builtins: &[Builtin]) -> PathBuf {
    let target_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it")).join("guests");
    let mut cmd = cargo(root);
    cmd.args(["build", "--locked", "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    for builtin in builtins {
        cmd.args(["-p", &builtin.package]);
    }
    let status = cmd.status().expect("run cargo to build the plugin components");
    assert!(
        status.success(),
        "building the plugin components failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    target_dir.join("wasm32-wasip2").join("guest")
}

/// A nested cargo in the workspace root, without the outer build's flags, jobserver and
/// wrappers (they are for the host target, not for the guests; `cargo clippy` lints the
/// guests' crates in its own run).
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let outer_only = ["RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CLIPPY_ARGS"];
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || outer_only.contains(&key.as_str()) {
            cmd.env_remove(key);
        }
    }
    cmd
}
