//! Plugin sources: where a plugin reference's bytes come from and how they are pinned.
//!
//! A reference is a builtin name (`region-verify`, `builtin:region-verify`), a local path
//! to a `.wasm` component, an `https://` URL, or an OCI registry reference
//! (`oci://HOST/NAME@sha256:HEX`, see [`oci`]). A `#sha256=HEX` suffix pins the
//! component's digest; it is required for URLs, because a URL's content can change under a
//! workflow. An OCI reference is pinned by its manifest's digest, which pins the component.

pub(crate) mod builtin;
pub mod download;
pub mod oci;
mod sha256;

pub use sha256::digest;

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tollgate_vocab::reach::Owner;

/// Largest component accepted, from a URL or a path: compiling costs host memory in
/// proportion to size (about 30× for an interpreter-bearing Python or JS component), before
/// any step limit applies.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// A parsed plugin reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A plugin built into the host, by name.
    Builtin(String),
    /// A `.wasm` component on the local file system.
    Path(PathBuf),
    /// An `https://` URL; always pinned.
    Url(String),
    /// A component in an OCI registry, pinned by manifest digest.
    Oci(oci::OciRef),
}

/// A reference and its optional pinned digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    /// The reference as written, pin included.
    pub text: String,
    /// Where the bytes come from.
    pub source: Source,
    /// Lower-case hex, without `sha256:`.
    pub sha256: Option<String>,
}

impl PluginRef {
    /// Parse a reference; unpinned URLs, `http://` URLs and malformed pins are refused.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::PluginSource {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let (location, sha256) = match text.rsplit_once("#sha256=") {
            Some((loc, hex)) => {
                let hex = hex.to_ascii_lowercase();
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("`#sha256=` must be followed by 64 hex digits"));
                }
                (loc, Some(hex))
            }
            None => (text, None),
        };
        let source = if location.starts_with("oci://") {
            let reference = oci::OciRef::parse(location).map_err(|source| Error::Oci {
                reference: text.to_string(),
                source,
            })?;
            if reference.digest().is_none() {
                return Err(invalid(oci::UNPINNED));
            }
            Source::Oci(reference)
        } else if let Some(name) = location.strip_prefix("builtin:") {
            Source::Builtin(name.to_string())
        } else if location.starts_with("https://") {
            if sha256.is_none() {
                return Err(invalid(
                    "a URL must pin its digest: append `#sha256=HEX` (the output of `sha256sum plugin.wasm`)",
                ));
            }
            Source::Url(location.to_string())
        } else if location.starts_with("http://") {
            return Err(invalid("plugins are only downloaded over https://"));
        } else if location.contains('/') || location.ends_with(".wasm") {
            Source::Path(PathBuf::from(location))
        } else {
            Source::Builtin(location.to_string())
        };
        Ok(Self {
            text: text.to_string(),
            source,
            sha256,
        })
    }

    /// Who the step is on GitHub ([`tollgate_vocab::reach`]): a builtin by its name; any other
    /// plugin by a digest of where the workflow said it comes from (the path, the URL, the OCI
    /// repository), never by the name its `describe` claims. A new pin of the same source keeps
    /// its owner, so an upgraded plugin still finds its refs and comments.
    pub fn owner(&self) -> Owner {
        let (kind, location) = match &self.source {
            Source::Builtin(name) => match Owner::new(name) {
                Ok(owner) => return owner,
                Err(_) => ("builtin", name.clone()),
            },
            Source::Path(path) => ("path", path.display().to_string()),
            Source::Url(url) => ("url", url.clone()),
            Source::Oci(r) => ("oci", format!("{}/{}", r.registry, r.repository)),
        };
        let hex = digest(location.as_bytes());
        let short = &hex["sha256:".len()..];
        Owner::new(&format!("{kind}-{}", &short[..12])).expect("a kind and hex digits make an owner name")
    }

    /// A short name for messages: the builtin name or the file stem.
    pub fn display_name(&self) -> String {
        match &self.source {
            Source::Builtin(name) => name.clone(),
            Source::Path(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.text.clone()),
            Source::Oci(r) => r.repository.rsplit('/').next().unwrap_or(&r.repository).to_string(),
            Source::Url(url) => url
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".wasm").or(Some(f)))
                .unwrap_or(url)
                .to_string(),
        }
    }
}

/// The bytes of a plugin, verified against its pin.
pub struct Fetched {
    /// The component's bytes (a builtin's are borrowed from the binary).
    pub bytes: Cow<'static, [u8]>,
    /// Their digest, as `sha256:HEX`.
    pub digest: String,
}

/// Read a local component, refusing more than [`MAX_COMPONENT_BYTES`] (a path may name
/// `/dev/zero` or a huge file as easily as a plugin).
fn read_bounded(path: &Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_COMPONENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(format!(
            "{} is larger than {}, the largest component Tollgate compiles",
            path.display(),
            bytesize::ByteSize::b(MAX_COMPONENT_BYTES as u64)
        ));
    }
    Ok(bytes)
}

/// Fetch a plugin's bytes; URLs are cached under `cache_dir` by digest.
pub async fn fetch(plugin: &PluginRef, cache_dir: Option<&Path>, tls: Arc<rustls::ClientConfig>) -> Result<Fetched> {
    let bytes = match &plugin.source {
        Source::Builtin(name) => {
            let builtin = builtin::find(name).ok_or_else(|| Error::PluginSource {
                reference: plugin.text.clone(),
                reason: match tollgate_pipeline::did_you_mean(name, builtin::names()) {
                    Some(close) => format!("no builtin plugin `{name}`; did you mean `{close}`?"),
                    None => format!(
                        "no builtin plugin `{name}`; builtins: {} (a local component needs a path like ./plugin.wasm)",
                        builtin::names().collect::<Vec<_>>().join(", ")
                    ),
                },
            })?;
            check_pin(plugin, builtin.digest)?;
            return Ok(Fetched {
                bytes: Cow::Borrowed(builtin.component),
                digest: builtin.digest.to_string(),
            });
        }
        Source::Path(path) => read_bounded(path).map_err(|reason| Error::PluginSource {
            reference: plugin.text.clone(),
            reason,
        })?,
        Source::Oci(reference) => {
            // The manifest digest fixes the layer's digest, so the component is cached by it
            // once both were checked.
            let cached = cache_dir
                .zip(reference.digest())
                .map(|(d, h)| d.join("plugins").join(format!("oci-{h}.wasm")));
            match cached.as_ref().and_then(|p| std::fs::read(p).ok()) {
                Some(bytes) => bytes,
                None => {
                    let bytes = oci::pull(reference, tls, MAX_COMPONENT_BYTES)
                        .await
                        .map_err(|source| Error::Oci {
                            reference: plugin.text.clone(),
                            source,
                        })?;
                    if let Some(path) = cached {
                        let _ = path.parent().map(std::fs::create_dir_all);
                        let _ = std::fs::write(path, &bytes);
                    }
                    bytes
                }
            }
        }
        Source::Url(url) => {
            let cached = cache_dir
                .zip(plugin.sha256.as_ref())
                .map(|(d, h)| d.join("plugins").join(format!("{h}.wasm")));
            match cached.as_ref().and_then(|p| std::fs::read(p).ok()) {
                Some(bytes) => bytes,
                None => {
                    let bytes =
                        download::get(url, tls, MAX_COMPONENT_BYTES)
                            .await
                            .map_err(|source| Error::Download {
                                reference: plugin.text.clone(),
                                source,
                            })?;
                    if let Some(path) = cached.filter(|_| verify(plugin, &bytes).is_ok()) {
                        let _ = path.parent().map(std::fs::create_dir_all);
                        let _ = std::fs::write(path, &bytes);
                    }
                    bytes
                }
            }
        }
    };
    let digest = verify(plugin, &bytes)?;
    Ok(Fetched {
        bytes: Cow::Owned(bytes),
        digest,
    })
}

fn verify(plugin: &PluginRef, bytes: &[u8]) -> Result<String> {
    let digest = digest(bytes);
    check_pin(plugin, &digest)?;
    Ok(digest)
}

/// `digest` (`sha256:HEX`) against the reference's pin, if it has one.
fn check_pin(plugin: &PluginRef, digest: &str) -> Result<()> {
    if let Some(expected) = &plugin.sha256 {
        let actual = digest.trim_start_matches("sha256:");
        if actual != expected {
            return Err(Error::DigestMismatch {
                reference: plugin.text.clone(),
                expected: expected.clone(),
                actual: actual.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_documented() {
        let hex = "a".repeat(64);
        assert_eq!(
            PluginRef::parse("region-verify").unwrap().source,
            Source::Builtin("region-verify".into())
        );
        assert_eq!(
            PluginRef::parse("builtin:region-verify").unwrap().source,
            Source::Builtin("region-verify".into())
        );
        assert_eq!(
            PluginRef::parse("./p.wasm").unwrap().source,
            Source::Path("./p.wasm".into())
        );
        assert_eq!(
            PluginRef::parse("p.wasm").unwrap().source,
            Source::Path("p.wasm".into())
        );
        let url = PluginRef::parse(&format!("https://x.test/p.wasm#sha256={hex}")).unwrap();
        assert_eq!(url.source, Source::Url("https://x.test/p.wasm".into()));
        assert_eq!(url.sha256.as_deref(), Some(hex.as_str()));
        assert_eq!(url.display_name(), "p");
    }

    #[test]
    fn unpinned_urls_and_bad_digests_are_refused_with_a_fix() {
        let err = PluginRef::parse("https://x.test/p.wasm").unwrap_err().to_string();
        assert!(err.contains("#sha256="), "{err}");
        let err = PluginRef::parse("./p.wasm#sha256=abc").unwrap_err().to_string();
        assert!(err.contains("64 hex digits"), "{err}");
        assert!(PluginRef::parse("http://x.test/p.wasm#sha256=".to_string().as_str()).is_err());
    }
}
