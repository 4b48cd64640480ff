//! Flag groups more than one command shares (a step's flags, a pipeline's, the artifact
//! keys), the exit-code help, and the parsers that turn flag text into typed values.

use crate::artifacts::{ArtifactOptions, read_key_file};
use crate::error::{Error, Result};
use crate::runner;
use crate::sandbox::inputs::Given;
use clap::Args;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tollgate_vocab::reach::{OwnerGrant, RefPattern};
use tollgate_vocab::{GithubPermission, OriginPattern};

pub(super) const EXIT_CODES: &str = "\
Exit codes:
  0  success: the step ran and passed
  1  the step ran and failed: a check failed, the plugin returned an error, a limit was hit
  2  usage or configuration error: bad flag or input, missing grant, digest mismatch, unreadable plugin
  3  the step ran and could not decide (inconclusive, e.g. a canary analysis without enough data)";

/// Flags of `tollgate run` (and of the action's single-plugin form).
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// `NAME`, `builtin:NAME`, `./path.wasm`, `https://…#sha256=HEX` (the pin is required for URLs)
    /// or `oci://HOST/NAME@sha256:HEX` (a registry, pinned by manifest digest).
    pub(crate) plugin: String,
    /// An input, `NAME=VALUE`; VALUE is YAML unless the input is a string.
    #[arg(long = "with", value_name = "NAME=VALUE")]
    pub(crate) with: Vec<String>,
    /// Allow outbound HTTP to an origin: `scheme://host[:port]`, `*` wildcards (`https://*.example.com`, `http://127.0.0.1:*`).
    #[arg(long = "allow-net", value_name = "ORIGIN", value_parser = origin_arg)]
    pub(crate) allow_net: Vec<OriginPattern>,
    /// Let the plugin read this directory (seen at its absolute path).
    #[arg(long = "allow-read", value_name = "DIR")]
    pub(crate) allow_read: Vec<PathBuf>,
    /// Let the plugin read and write this directory.
    #[arg(long = "allow-write", value_name = "DIR")]
    pub(crate) allow_write: Vec<PathBuf>,
    /// Grant the secret NAME; its value comes from the environment variable NAME and is masked everywhere.
    #[arg(long = "secret", value_name = "NAME")]
    pub(crate) secrets: Vec<String>,
    /// Grant a GitHub permission, e.g. `pull-requests:write`.
    #[arg(long = "allow-github", value_name = "PERMISSION", value_parser = permission_arg)]
    pub(crate) allow_github: Vec<GithubPermission>,
    /// Let `contents:write` move a ref outside the plugin's own `refs/tollgate/…`: a full ref, or
    /// one ending in `*` (`refs/heads/release-*`).
    #[arg(long = "allow-ref", value_name = "REF", value_parser = ref_arg)]
    pub(crate) allow_refs: Vec<RefPattern>,
    /// Let `pull-requests:write` / `issues:write` change comments and issues another owner wrote:
    /// an owner (`plan-comment`, `oci-1f2e3d4c5b6a`), or `*` for anyone's, people's included.
    #[arg(long = "allow-owner", value_name = "OWNER", value_parser = owner_arg)]
    pub(crate) allow_owners: Vec<OwnerGrant>,
    /// Wall-clock limit of the step (`describe` included), e.g. `30s`, `10m`.
    #[arg(long, value_name = "DURATION", default_value = tollgate_vocab::defaults::DEFAULT_TIMEOUT_TEXT, value_parser = duration_arg)]
    pub(crate) timeout: Duration,
    /// Memory limit of the plugin (`describe` included), e.g. `256MiB`.
    #[arg(long, value_name = "SIZE", default_value = tollgate_vocab::defaults::DEFAULT_MEMORY_TEXT, value_parser = size_arg)]
    pub(crate) memory: u64,
    /// Pin a host to an address for plugin connections, like curl: `HOST:PORT:ADDR`.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub(crate) resolve: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS (besides Mozilla's roots).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub(crate) ca_certs: Vec<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Limits of a plugin's `describe` when a command only inspects it.
#[derive(Debug, Args)]
pub struct InspectLimits {
    /// Wall-clock limit of the plugin's `describe`, e.g. `30s`.
    #[arg(long, value_name = "DURATION", default_value = tollgate_vocab::defaults::DEFAULT_INSPECT_TIMEOUT_TEXT, value_parser = duration_arg)]
    pub(crate) timeout: Duration,
    /// Memory limit of the plugin's `describe`, e.g. `256MiB`.
    #[arg(long, value_name = "SIZE", default_value = tollgate_vocab::defaults::DEFAULT_MEMORY_TEXT, value_parser = size_arg)]
    pub(crate) memory: u64,
}

impl InspectLimits {
    /// The limits `describe` runs under.
    pub(crate) fn limits(&self) -> crate::sandbox::runtime::Limits {
        crate::sandbox::runtime::Limits {
            timeout: self.timeout,
            memory: self.memory,
        }
    }
}

/// Flags of `tollgate pipeline run`.
#[derive(Debug, Args, Default)]
pub struct PipelineArgs {
    /// The pipeline file (see schema/pipeline.schema.json).
    pub(crate) file: PathBuf,
    /// A pipeline input, `NAME=VALUE` (VALUE is YAML).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub(crate) inputs: Vec<String>,
    /// Print the steps and the grants each gets, then stop.
    #[arg(long = "dry-run")]
    pub(crate) dry_run: bool,
    /// Cancel the steps after this long (e.g. `30m`); `finally:` still runs.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub(crate) timeout: Option<Duration>,
    /// Secrets steps may be granted (`allow.secrets`); values come from the environment.
    #[arg(long = "secret", value_name = "NAME")]
    pub(crate) secrets: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub(crate) ca_certs: Vec<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where artifacts live and which keys sign and verify them.
#[derive(Debug, Args, Default, Clone)]
pub struct KeyArgs {
    /// The artifact store [default: $RUNNER_TEMP/tollgate/artifacts under Actions, else .tollgate/artifacts].
    #[arg(long, value_name = "DIR")]
    pub(crate) artifacts: Option<PathBuf>,
    /// Private key (PEM) that signs artifacts; or the PEM text in TOLLGATE_SIGNING_KEY.
    #[arg(long = "signing-key", value_name = "FILE")]
    pub(crate) signing_key: Option<PathBuf>,
    /// Trusted public key (PEM); or the PEM text in TOLLGATE_PUBLIC_KEY.
    #[arg(long = "public-key", value_name = "FILE")]
    pub(crate) public_keys: Vec<PathBuf>,
    /// Accept unsigned artifacts (they are still checked against their digests).
    #[arg(long = "allow-unsigned")]
    pub(crate) allow_unsigned: bool,
}

impl KeyArgs {
    /// Resolve flags and `TOLLGATE_*` key variables into artifact options.
    pub(super) fn options(&self) -> Result<ArtifactOptions> {
        let signing_key = match &self.signing_key {
            Some(path) => Some(read_key_file("--signing-key", path)?),
            None => std::env::var("TOLLGATE_SIGNING_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty()),
        };
        let mut public_keys = self
            .public_keys
            .iter()
            .map(|p| read_key_file("--public-key", p))
            .collect::<Result<Vec<_>>>()?;
        if let Some(pem) = std::env::var("TOLLGATE_PUBLIC_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        {
            public_keys.push(pem);
        }
        Ok(ArtifactOptions {
            dir: self.artifacts.clone().unwrap_or_else(runner::default_artifacts_dir),
            signing_key,
            public_keys,
            allow_unsigned: self.allow_unsigned,
        })
    }
}

/// clap's parser for durations: the one spelling in `tollgate-vocab`.
fn duration_arg(text: &str) -> std::result::Result<Duration, String> {
    tollgate_vocab::duration::parse_duration(text).map_err(|e| e.reason)
}

/// clap's parser for origins: the one spelling in `tollgate-vocab`.
fn origin_arg(text: &str) -> std::result::Result<OriginPattern, String> {
    OriginPattern::parse(text).map_err(|e| e.reason)
}

/// clap's parser for GitHub permissions: the one spelling in `tollgate-vocab`.
fn permission_arg(text: &str) -> std::result::Result<GithubPermission, String> {
    GithubPermission::parse(text).map_err(|e| e.reason)
}

/// clap's parser for ref grants: the one spelling in `tollgate-vocab`.
fn ref_arg(text: &str) -> std::result::Result<RefPattern, String> {
    RefPattern::parse(text).map_err(|e| e.reason)
}

fn owner_arg(text: &str) -> std::result::Result<OwnerGrant, String> {
    OwnerGrant::parse(text).map_err(|e| e.reason)
}

/// clap's parser for sizes: the one spelling in `tollgate-vocab`.
fn size_arg(text: &str) -> std::result::Result<u64, String> {
    tollgate_vocab::size::parse_size(text).map_err(|e| e.reason)
}

/// `--with NAME=VALUE` flags: text, typed against the plugin's inputs once it is described.
pub(super) fn with_flags(pairs: &[String]) -> Result<BTreeMap<String, Given>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = split_pair("--with", pair)?;
            Ok((name, Given::Text(value.to_string())))
        })
        .collect()
}

/// `--input NAME=VALUE` flags of a pipeline: VALUE is YAML.
pub(super) fn input_flags(pairs: &[String]) -> Result<BTreeMap<String, Value>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = split_pair("--input", pair)?;
            let value = serde_yaml_ng::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
            Ok((name, value))
        })
        .collect()
}

fn split_pair<'a>(flag: &'static str, pair: &'a str) -> Result<(String, &'a str)> {
    let (name, value) = pair
        .split_once('=')
        .ok_or_else(|| Error::invalid(flag, pair, "write `NAME=VALUE`"))?;
    Ok((name.trim().to_string(), value))
}

/// `--resolve HOST:PORT:ADDR`, the host spelled as origins spell it.
pub(super) fn parse_resolve(text: &str) -> Result<((String, u16), IpAddr)> {
    let invalid = || {
        Error::invalid(
            "--resolve",
            text,
            "write `HOST:PORT:ADDR`, e.g. `api.test:443:127.0.0.1`",
        )
    };
    let (host, rest) = text.split_once(':').ok_or_else(invalid)?;
    let (port, addr) = rest.split_once(':').ok_or_else(invalid)?;
    let port = port.parse().map_err(|_| invalid())?;
    let addr = addr.trim_matches(['[', ']']).parse().map_err(|_| invalid())?;
    Ok(((tollgate_vocab::origin::normalize_host(host), port), addr))
}
