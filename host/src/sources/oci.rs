//! Plugins in OCI registries, in the layout `wkg` (wasm-pkg-tools) and the CNCF Wasm OCI
//! artifact format use: an image manifest whose config has media type
//! `application/vnd.wasm.config.v0+json` and whose one layer is the component
//! (`application/wasm`).
//!
//! A reference is `oci://HOST[:PORT]/NAME@sha256:HEX`, pinned by the manifest's digest: the
//! manifest is checked against the pin and the layer against the manifest, so every byte run
//! is the one the workflow named. Plain HTTP is used only for loopback registries (a local
//! `registry`); everything else is HTTPS. Why not the `oci-client` crate: it brings reqwest and
//! a second HTTP and TLS stack into a build already dominated by wasmtime; the four calls a
//! pull and a push need fit on the host's hyper client.

use super::download::{Answer, DownloadError, exchange};
use super::sha256::digest;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;

/// The manifest media type pushed and accepted.
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The Wasm config media type.
const CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
const LAYER: &str = "application/wasm";

/// Why a reference without a digest cannot be pulled, and how to get one.
pub(crate) const UNPINNED: &str = "an OCI plugin must be pinned by its manifest digest: `oci://HOST/NAME@sha256:HEX` (`tollgate plugin publish` prints it)";

/// Largest manifest read.
const MAX_MANIFEST: usize = 1 << 20;

/// Why an OCI reference, a pull or a push failed; a failure with a cause keeps it as its
/// `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The reference does not parse, or lacks the pin a pull needs.
    #[error("{0}")]
    Reference(String),
    /// The registry could not be reached, or its answer not read.
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// The registry answered with an error status.
    #[error("{what}: {url} answered {status}: {detail}")]
    Registry {
        /// What failed, in words.
        what: &'static str,
        /// The URL asked.
        url: String,
        /// The status it answered.
        status: http::StatusCode,
        /// The registry's own message, or the start of its body.
        detail: String,
    },
    /// The manifest pulled is not JSON.
    #[error("the manifest at {url} is not JSON: {source}")]
    Manifest {
        /// The manifest's URL.
        url: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The registry's answer is refused: not the pinned component, or lacking what the
    /// protocol needs.
    #[error("{0}")]
    Refused(String),
    /// A manifest or config to push did not serialize.
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
}

/// Where a plugin lives in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host[:port]`.
    pub registry: String,
    /// The repository, e.g. `tollgate/noop`.
    pub repository: String,
    /// A tag (publishing) or `sha256:HEX` (pulling).
    pub reference: String,
}

impl OciRef {
    /// Parse `oci://HOST[:PORT]/NAME(:TAG|@sha256:HEX)`.
    pub fn parse(text: &str) -> Result<OciRef, OciError> {
        let invalid = |reason: &str| OciError::Reference(reason.to_string());
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| invalid("an OCI reference starts with `oci://`"))?;
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("write `oci://HOST/NAME@sha256:HEX`: the repository name is missing"))?;
        let (repository, reference) = if let Some((name, digest)) = path.split_once('@') {
            let bad_pin = || invalid("a pin is `@sha256:` and 64 hex digits");
            let hex = digest.strip_prefix("sha256:").ok_or_else(bad_pin)?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad_pin());
            }
            (name, format!("sha256:{}", hex.to_ascii_lowercase()))
        } else {
            match path.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
                _ => (path, "latest".to_string()),
            }
        };
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c);
        if registry.is_empty() || repository.is_empty() || !repository.chars().all(valid) {
            return Err(invalid(&format!(
                "`{repository}` is not a repository name: lower-case letters, digits, `.`, `_`, `-` and `/`"
            )));
        }
        Ok(OciRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            reference,
        })
    }

    /// The pin, when the reference is one.
    pub fn digest(&self) -> Option<&str> {
        self.reference.strip_prefix("sha256:")
    }

    fn base(&self) -> String {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => self.registry.split(':').next().unwrap_or(""),
        };
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let scheme = if loopback { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.registry, self.repository)
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        write!(f, "oci://{}/{}{sep}{}", self.registry, self.repository, self.reference)
    }
}

fn registry_error(what: &'static str, url: &str, answer: &Answer) -> OciError {
    let detail = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).chars().take(200).collect());
    OciError::Registry {
        what,
        url: url.to_string(),
        status: answer.status,
        detail,
    }
}

/// Pull the component `reference` pins, refusing one over `max_bytes`; returns its bytes,
/// checked against the manifest, and the manifest checked against the pin.
pub(crate) async fn pull(
    reference: &OciRef,
    tls: Arc<rustls::ClientConfig>,
    max_bytes: usize,
) -> Result<Vec<u8>, OciError> {
    let pin = reference.digest().ok_or_else(|| OciError::Reference(UNPINNED.into()))?;
    let url = format!("{}/manifests/sha256:{pin}", reference.base());
    let answer = exchange(
        &tls,
        http::Method::GET,
        &url,
        &[("accept", MANIFEST)],
        Bytes::new(),
        MAX_MANIFEST,
    )
    .await?;
    if !answer.status.is_success() {
        return Err(registry_error("no such manifest", &url, &answer));
    }
    let actual = digest(&answer.body);
    if actual.trim_start_matches("sha256:") != pin {
        return Err(OciError::Refused(format!(
            "the registry's manifest has digest {actual}, not the pinned sha256:{pin}: refusing it"
        )));
    }
    let manifest: Value = serde_json::from_slice(&answer.body).map_err(|source| OciError::Manifest {
        url: url.clone(),
        source,
    })?;
    let layers: Vec<&Value> = manifest["layers"]
        .as_array()
        .map(|l| l.iter().filter(|l| l["mediaType"] == LAYER).collect())
        .unwrap_or_default();
    let [layer] = layers.as_slice() else {
        return Err(OciError::Refused(format!(
            "the manifest at {url} has {} `{LAYER}` layers; a plugin is exactly one component",
            layers.len()
        )));
    };
    let size = layer["size"].as_u64().unwrap_or(u64::MAX);
    if size > max_bytes as u64 {
        return Err(OciError::Refused(format!(
            "the component is {size} bytes, over the {max_bytes}-byte limit"
        )));
    }
    let layer_digest = layer["digest"]
        .as_str()
        .ok_or_else(|| OciError::Refused("the layer has no digest".into()))?;
    let url = format!("{}/blobs/{layer_digest}", reference.base());
    let answer = exchange(&tls, http::Method::GET, &url, &[], Bytes::new(), max_bytes).await?;
    let answer = follow_redirect(&tls, answer, max_bytes).await?;
    if !answer.status.is_success() {
        return Err(registry_error("the component layer is missing", &url, &answer));
    }
    if digest(&answer.body) != layer_digest {
        return Err(OciError::Refused(format!(
            "the layer's bytes do not match its digest {layer_digest}: refusing them"
        )));
    }
    Ok(answer.body.to_vec())
}

/// Registries may send blobs from elsewhere (a CDN): follow one redirect.
async fn follow_redirect(
    tls: &Arc<rustls::ClientConfig>,
    answer: Answer,
    max_bytes: usize,
) -> Result<Answer, OciError> {
    if !answer.status.is_redirection() {
        return Ok(answer);
    }
    let location = answer
        .headers
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| OciError::Refused("a redirect without a location".into()))?;
    Ok(exchange(tls, http::Method::GET, location, &[], Bytes::new(), max_bytes).await?)
}

/// Push `component` to `reference` (a tag); returns the pinned reference to run it by.
pub(crate) async fn publish(
    reference: &OciRef,
    component: &[u8],
    tls: Arc<rustls::ClientConfig>,
) -> Result<OciRef, OciError> {
    let layer_digest = digest(component);
    let config = serde_json::to_vec(&json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
    }))
    .map_err(OciError::Encode)?;
    let config_digest = digest(&config);
    upload(reference, &tls, &config, &config_digest).await?;
    upload(reference, &tls, component, &layer_digest).await?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": CONFIG,
        "config": {"mediaType": CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": component.len()}],
    }))
    .map_err(OciError::Encode)?;
    let manifest_digest = digest(&manifest);
    let url = format!("{}/manifests/{}", reference.base(), reference.reference);
    let answer = exchange(
        &tls,
        http::Method::PUT,
        &url,
        &[("content-type", MANIFEST)],
        Bytes::from(manifest),
        MAX_MANIFEST,
    )
    .await?;
    if !answer.status.is_success() {
        return Err(registry_error("the manifest was refused", &url, &answer));
    }
    Ok(OciRef {
        reference: manifest_digest,
        ..reference.clone()
    })
}

async fn upload(
    reference: &OciRef,
    tls: &Arc<rustls::ClientConfig>,
    blob: &[u8],
    blob_digest: &str,
) -> Result<(), OciError> {
    let url = format!("{}/blobs/uploads/", reference.base());
    let answer = exchange(tls, http::Method::POST, &url, &[], Bytes::new(), MAX_MANIFEST).await?;
    if answer.status != http::StatusCode::ACCEPTED {
        return Err(registry_error("the upload did not start", &url, &answer));
    }
    let location = answer
        .headers
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| OciError::Refused("the registry gave no upload location".into()))?;
    let location = if location.starts_with('/') {
        let origin: String = reference.base().split("/v2/").next().unwrap_or("").to_string();
        format!("{origin}{location}")
    } else {
        location.to_string()
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let put = format!("{location}{sep}digest={blob_digest}");
    let answer = exchange(
        tls,
        http::Method::PUT,
        &put,
        &[("content-type", "application/octet-stream")],
        Bytes::copy_from_slice(blob),
        MAX_MANIFEST,
    )
    .await?;
    if answer.status != http::StatusCode::CREATED {
        return Err(registry_error("the blob was refused", &url, &answer));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        let hex = "ab".repeat(32);
        let r = OciRef::parse(&format!("oci://ghcr.io/tollgate-ci/noop@sha256:{hex}")).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.digest()),
            ("ghcr.io", "tollgate-ci/noop", Some(hex.as_str()))
        );
        assert_eq!(r.to_string(), format!("oci://ghcr.io/tollgate-ci/noop@sha256:{hex}"));
        assert!(r.base().starts_with("https://ghcr.io/v2/"));
        let t = OciRef::parse("oci://127.0.0.1:5000/plugins/noop:v1").unwrap();
        assert_eq!((t.reference.as_str(), t.digest()), ("v1", None));
        assert!(t.base().starts_with("http://127.0.0.1:5000/v2/"));
        assert_eq!(OciRef::parse("oci://localhost:5000/noop").unwrap().reference, "latest");
        assert!(
            OciRef::parse("oci://[::1]:5000/noop")
                .unwrap()
                .base()
                .starts_with("http://")
        );
        assert!(
            OciRef::parse("oci://[2001:db8::1]:5000/noop")
                .unwrap()
                .base()
                .starts_with("https://")
        );
        for bad in [
            "oci://ghcr.io",
            "oci://h/Upper@sha256:00",
            "https://x/y",
            "oci://h/n@sha256:zz",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad}");
        }
    }
}
