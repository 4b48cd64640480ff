//! The digest that names and pins a component everywhere, `sha256:<hex>`; its own file so
//! `oci` and `builtin` use it without importing `sources` back.

/// The shared component digest format, `sha256:<hex>`.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
