//! One step, end to end: fetch and pin the plugin, describe it, check inputs and grants,
//! run it in its sandbox, and say how it ended.

use crate::bindings::tollgate::plugin::types::{Level, PluginError, PluginInfo, RunReport, Status, StepContext};
use crate::capabilities::{Grants, intersect};
use crate::error::{Error, ExitCode, Result};
use crate::events::{Event, Sink};
use crate::imports::{Masker, Produced, StepIo};
use crate::inputs::{Given, resolve};
use crate::net::NetPolicy;
use crate::runtime::{Limits, Loaded, Runtime, StepSetup};
use crate::sources::{PluginRef, fetch};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that defines one step.
#[derive(Clone)]
pub struct StepRequest {
    pub plugin: PluginRef,
    pub inputs: BTreeMap<String, Given>,
    pub grants: Grants,
    /// Values of granted secrets, by name.
    pub secret_values: HashMap<String, String>,
    pub limits: Limits,
    pub context: StepContext,
    /// `(host, port)` → address overrides for plugin connections.
    pub resolve: HashMap<(String, u16), IpAddr>,
    pub tls: Arc<rustls::ClientConfig>,
}

/// How a step ended.
pub struct StepResult {
    pub plugin: String,
    pub version: String,
    pub digest: String,
    /// The plugin's report, or why there is none.
    pub outcome: Result<RunReport>,
    pub produced: Produced,
}

impl StepResult {
    pub fn exit_code(&self) -> ExitCode {
        match &self.outcome {
            Ok(report) => match report.status {
                Status::Passed | Status::Skipped => ExitCode::Success,
                Status::Failed | Status::Inconclusive => ExitCode::Failure,
            },
            Err(e) => e.exit_code(),
        }
    }
}

/// Fetch, compile (or load from cache) and describe a plugin.
pub async fn load(
    runtime: &Runtime,
    plugin: &PluginRef,
    tls: Arc<rustls::ClientConfig>,
    sink: Arc<dyn Sink>,
) -> Result<(Loaded, PluginInfo)> {
    let fetched = fetch(plugin, runtime.cache_dir(), tls.clone()).await?;
    let name = plugin.display_name();
    let loaded = runtime.load(&name, &fetched.bytes, &fetched.digest)?;
    let net = NetPolicy {
        effective: Arc::default(),
        resolve: Arc::default(),
        tls,
        sink: sink.clone(),
    };
    let info = runtime.describe(&loaded, StepIo::new(name.clone(), sink, net)).await?;
    validate_info(&name, &info)?;
    Ok((loaded, info))
}

fn validate_info(name: &str, info: &PluginInfo) -> Result<()> {
    let bad = info
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .chain(info.inputs.iter().map(|i| i.name.as_str()))
        .find(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    match bad {
        Some(n) => Err(Error::InvalidPlugin {
            plugin: name.to_string(),
            reason: format!("it declares the input or output name `{n}`; names are letters, digits, `-` and `_`"),
        }),
        None => Ok(()),
    }
}

/// Run one step.
pub async fn run(runtime: &Runtime, request: StepRequest, sink: Arc<dyn Sink>) -> Result<StepResult> {
    let (loaded, info) = load(runtime, &request.plugin, request.tls.clone(), sink.clone()).await?;
    let name = info.name.clone();
    sink.plugin_named(&name);
    let resolved = resolve(&name, &info.inputs, request.inputs)?;
    let mut grants = request.grants;
    for origin in resolved.origins {
        if !grants.net.contains(&origin) {
            grants.net.push(origin);
        }
    }
    let effective = intersect(&name, &grants, &info.capabilities)?;
    for unused in &effective.unused {
        sink.emit(Event::host_notice(format!(
            "{name} did not request {unused}; not granted"
        )));
    }
    let mut secrets = HashMap::new();
    for secret in &effective.secrets {
        let value = request.secret_values.get(secret).ok_or_else(|| {
            Error::invalid(
                "secret",
                secret.clone(),
                format!("it is granted but has no value; set the environment variable {secret}"),
            )
        })?;
        secrets.insert(secret.clone(), value.clone());
    }
    let net = NetPolicy {
        effective: Arc::new(effective.clone()),
        resolve: Arc::new(request.resolve),
        tls: request.tls,
        sink: sink.clone(),
    };
    let mut io = StepIo::new(name.clone(), sink, net);
    io.masker = Masker::new(secrets.values().cloned());
    io.secrets = secrets;
    io.declared_outputs = Some(info.outputs.iter().map(|o| o.name.clone()).collect::<BTreeSet<_>>());
    let setup = StepSetup {
        io,
        dirs: effective.dirs,
        limits: request.limits,
    };
    let sink = setup.io.sink.clone();
    let outcome = runtime.run(&loaded, setup, resolved.inputs, request.context).await;
    // Plugins log through the host; raw stdio is kept at debug level for their authors.
    for line in outcome.stdio.lines() {
        sink.emit(Event::Log {
            level: Level::Debug,
            message: format!("stdout: {line}"),
            host: false,
        });
    }
    let outcome_result = match outcome.result {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(error)) => Err(plugin_error(&name, error)),
        Err(e) => Err(e),
    };
    Ok(StepResult {
        plugin: name,
        version: info.version,
        digest: loaded.digest,
        outcome: outcome_result,
        produced: outcome.produced,
    })
}

fn plugin_error(plugin: &str, error: PluginError) -> Error {
    let plugin = plugin.to_string();
    match error {
        PluginError::InvalidInput(e) => Error::InvalidInput {
            input: e.input,
            message: e.message,
        },
        PluginError::Denied(message) => Error::Denied { plugin, message },
        PluginError::Peer(message) => Error::PluginFailed { plugin, message },
        PluginError::Internal(message) => Error::PluginFailed {
            plugin,
            message: format!("internal error: {message}"),
        },
    }
}

/// The cache directory to compile into: `$TOLLGATE_CACHE_DIR`, else the user's cache dir.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TOLLGATE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("tollgate"))
}
