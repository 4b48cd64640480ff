//! The first-party plugins embedded in the binary, addressed as `builtin:NAME` or `NAME`.

/// `(name, component bytes)` of every builtin plugin.
pub const BUILTINS: &[(&str, &[u8])] = &[("region-verify", include_bytes!(env!("TOLLGATE_REGION_VERIFY_WASM")))];

/// The component of a builtin plugin.
pub fn find(name: &str) -> Option<&'static [u8]> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}
