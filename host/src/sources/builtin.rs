//! The first-party plugins embedded in the binary, addressed as `builtin:NAME` or `NAME`.
//! A plugin is registered in its own `Cargo.toml` (`[package.metadata.tollgate] builtin =
//! true`); `host/build.rs` builds every registered plugin and writes this table.

/// A first-party plugin embedded in the binary.
pub struct Builtin {
    /// Its name, also its package's.
    pub name: &'static str,
    /// The component.
    pub component: &'static [u8],
    /// `sha256:<hex>` of `component`, computed at build time.
    pub digest: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// A builtin plugin by name.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of every builtin plugin.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_time_digests_are_the_components_digests() {
        for builtin in BUILTINS {
            assert_eq!(
                builtin.digest,
                crate::sources::sha256::digest(builtin.component),
                "{}",
                builtin.name
            );
        }
    }
}
