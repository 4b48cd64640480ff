//! Test guests (`tests/guests/*`) built on first use, for the e2e tests and the benchmarks.
//!
//! The production build script (`host/build.rs`) builds only first-party plugins; the
//! components that exist only for tests are built here, by the harness that needs them:
//! every guest in one `cargo build --locked --target wasm32-wasip2 --profile guest`, into
//! `target/test-guests` (its own target directory: a nested cargo sharing the outer one's
//! can deadlock), once per test process.
//!
//! `TOLLGATE_SKIP_GUEST_BUILD=DIR` uses components built elsewhere, as it does for
//! `host/build.rs`: DIR holds `<library>.wasm` for each guest.
//!
//! Shared by `tests/e2e` and `host/benches` through `#[path]`, so it uses only `std`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// The path of the built component for `tests/guests/<name>` (e.g. `probe`, `noop`).
/// Builds every guest on the first call; panics with what to do when that fails.
pub fn guest(name: &str) -> &'static str {
    static BUILT: OnceLock<Result<Vec<(String, String)>, String>> = OnceLock::new();
    let built = BUILT.get_or_init(build_all).as_ref().unwrap_or_else(|e| panic!("{e}"));
    built
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, path)| path.as_str())
        .unwrap_or_else(|| {
            let names: Vec<&str> = built.iter().map(|(n, _)| n.as_str()).collect();
            panic!(
                "no test guest `{name}` under tests/guests (there are: {})",
                names.join(", ")
            )
        })
}

/// The workspace root (this file is compiled into the `tollgate` package, in `host/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf()
}

/// A guest: its directory name and its package name.
struct Guest {
    name: String,
    package: String,
}

impl Guest {
    /// `tollgate-guest-probe` builds `tollgate_guest_probe.wasm`.
    fn file_name(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }
}

fn build_all() -> Result<Vec<(String, String)>, String> {
    let root = workspace_root();
    let guests = discover(&root.join("tests").join("guests"))?;
    let out_dir = match std::env::var_os("TOLLGATE_SKIP_GUEST_BUILD") {
        Some(dir) => PathBuf::from(dir),
        None => build(&root, &guests)?,
    };
    guests
        .iter()
        .map(|g| {
            let path = out_dir.join(g.file_name());
            if !path.is_file() {
                return Err(format!(
                    "test guest `{}` was not built: {} is missing",
                    g.name,
                    path.display()
                ));
            }
            let path = path
                .to_str()
                .ok_or_else(|| format!("{} is not UTF-8", path.display()))?
                .to_string();
            Ok((g.name.clone(), path))
        })
        .collect()
}

/// Every `tests/guests/*/Cargo.toml`, with the package name it declares.
fn discover(dir: &Path) -> Result<Vec<Guest>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut guests = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let package = package_name(&text).ok_or_else(|| format!("{} names no package", manifest.display()))?;
        guests.push(Guest {
            name: entry.file_name().to_string_lossy().into_owned(),
            package,
        });
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

/// `name = "…"` in the `[package]` table of a manifest.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_string());
        }
    }
    None
}

/// One cargo invocation for all guests; returns the directory holding the components.
fn build(root: &Path, guests: &[Guest]) -> Result<PathBuf, String> {
    check_target_installed()?;
    let target_dir = root.join("target").join("test-guests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--locked", "--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for guest in guests {
        cmd.args(["-p", &guest.package]);
    }
    // The test's own build settings are for the host target, not for the guests.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" || key == "RUSTC_WRAPPER" {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run cargo to build the test guests: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "building the test guests failed ({:?}):\n{}",
            cmd,
            tail.join("\n")
        ));
    }
    Ok(target_dir.join(TARGET).join(PROFILE))
}

/// A missing target makes cargo fail with pages about `core`; say what to do instead.
fn check_target_installed() -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc to find the sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib").join("rustlib").join(TARGET);
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is not installed for the toolchain at {sysroot}, so the test guests cannot be built; \
             run `rustup target add {TARGET}` (or set TOLLGATE_SKIP_GUEST_BUILD=DIR to prebuilt components)"
        ))
    }
}
