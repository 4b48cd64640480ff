//! The first-party plugins embedded in the binary, addressed as `builtin:NAME` or `NAME`.
//! A plugin is registered in its own `Cargo.toml` (`[package.metadata.tollgate] builtin =
//! true`); `host/build.rs` builds every registered plugin and writes this table.

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The component of a builtin plugin.
pub fn find(name: &str) -> Option<&'static [u8]> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}
