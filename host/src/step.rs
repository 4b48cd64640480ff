//! One step, end to end: fetch and pin the plugin, describe it, check inputs and grants,
//! run it in its sandbox, and say how it ended.

use crate::artifacts::{ArtifactConfig, StepArtifacts};
use crate::bindings::tollgate::plugin::types::{Input, Level, PluginError, PluginInfo, RunReport, Status, StepContext};
use crate::error::{Error, ExitCode, Result};
use crate::events::{Event, Sink};
use crate::sandbox::capabilities::{Effective, Grants, intersect};
use crate::sandbox::imports::{GithubReach, Masker, Produced, StepIo};
use crate::sandbox::inputs::{Given, resolve};
use crate::sandbox::net::NetPolicy;
use crate::sandbox::runtime::{Limits, Loaded, Runtime, StepSetup};
use crate::sources::{PluginRef, fetch};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tollgate_attest::Predicate;
use tollgate_vocab::reach::RefScope;

/// Everything that defines one step.
#[derive(Clone)]
pub struct StepRequest {
    /// Which plugin.
    pub plugin: PluginRef,
    /// Its inputs, as the workflow gave them.
    pub inputs: BTreeMap<String, Given>,
    /// What the workflow allows it.
    pub grants: Grants,
    /// Values of granted secrets, by name.
    pub secret_values: HashMap<String, String>,
    /// Time and memory, `describe` included.
    pub limits: Limits,
    /// The run context passed to `run`.
    pub context: StepContext,
    /// `(host, port)` → address overrides for plugin connections.
    pub resolve: HashMap<(String, u16), IpAddr>,
    /// Trust for the plugin's HTTPS.
    pub tls: Arc<rustls::ClientConfig>,
    /// The artifact service, when the step may store or read artifacts.
    pub artifacts: Option<Arc<ArtifactConfig>>,
    /// Where and as whom the plugin's GitHub calls go; `None` answers them `unavailable`.
    pub github: Option<Arc<crate::github::GithubConfig>>,
}

/// How a step ended.
pub struct StepResult {
    /// The plugin's declared name.
    pub plugin: String,
    /// Its declared version.
    pub version: String,
    /// `sha256:<hex>` of its component.
    pub digest: String,
    /// The plugin's report, or why there is none.
    pub outcome: Result<RunReport>,
    /// Outputs, summary and truncation flags.
    pub produced: Produced,
    /// `(name, digest)` of every artifact the step stored.
    pub artifacts: Vec<(String, String)>,
}

impl StepResult {
    /// The documented exit code of the step.
    pub fn exit_code(&self) -> ExitCode {
        match &self.outcome {
            Ok(report) => match report.status {
                Status::Passed | Status::Skipped => ExitCode::Success,
                Status::Failed => ExitCode::Failure,
                Status::Inconclusive => ExitCode::Inconclusive,
            },
            Err(e) => e.exit_code(),
        }
    }
}

/// Fetch, compile (or load from cache) and describe a plugin, under the step's limits.
pub async fn load(
    runtime: &Runtime,
    plugin: &PluginRef,
    tls: Arc<rustls::ClientConfig>,
    sink: Arc<dyn Sink>,
    limits: Limits,
) -> Result<(Loaded, PluginInfo)> {
    let fetched = fetch(plugin, runtime.cache_dir(), tls.clone()).await?;
    let name = plugin.display_name();
    let loaded = runtime.load(&name, &fetched.bytes, &fetched.digest)?;
    let net = NetPolicy::deny_all(tls, sink.clone());
    let info = runtime
        .describe(&loaded, StepIo::new(name.clone(), sink, net), limits)
        .await?;
    validate_info(&name, &info)?;
    Ok((loaded, info))
}

pub use tollgate_vocab::plugin::{MAX_DECLARED, MAX_DEFAULT, MAX_DOC, MAX_NAME, RESERVED_OUTPUTS};

/// Check what `describe` returned before anything uses it: it is plugin-written, so its
/// sizes are capped and its names are restricted to what runner files and flags can carry
/// (`tollgate_vocab::plugin`, which the SDK's `MockHost` checks with too).
fn validate_info(plugin: &str, info: &PluginInfo) -> Result<()> {
    use tollgate_vocab::plugin::{Declared, Field, check_declared};
    let declared = Declared::new(
        [&info.name, &info.version, &info.summary].map(String::as_str),
        info.inputs
            .iter()
            .map(|i| Field::input(&i.name, &i.doc, i.default.as_deref())),
        info.outputs.iter().map(|o| Field::output(&o.name, &o.doc)),
        info.capabilities.iter().map(|c| c.reason.as_str()),
    );
    check_declared(&declared).map_err(|reason| Error::InvalidPlugin {
        plugin: plugin.to_string(),
        reason,
    })
}

/// Run one step.
pub async fn run(runtime: &Runtime, request: StepRequest, sink: Arc<dyn Sink>) -> Result<StepResult> {
    let (loaded, info) = load(
        runtime,
        &request.plugin,
        request.tls.clone(),
        sink.clone(),
        request.limits,
    )
    .await?;
    let name = info.name.clone();
    sink.plugin_named(&name);
    let mut resolved = resolve(&name, &info.inputs, request.inputs)?;
    let granting_nothing = std::mem::take(&mut resolved.granting_nothing);
    let mut grants = request.grants;
    for origin in resolved.origins {
        if !grants.net.contains(&origin) {
            grants.net.push(origin);
        }
    }
    let effective = intersect(&name, &grants, &info.capabilities).map_err(|e| match (e, granting_nothing.first()) {
        (Error::MissingGrant { capability, .. }, Some((input, value))) if capability.starts_with("network access") => {
            Error::InvalidInput {
                input: input.clone(),
                message: format!(
                    "`{input}` names no URL (its value is `{value}`), so {name} has nothing it may reach; give at \
                     least one URL"
                ),
            }
        }
        (e, _) => e,
    })?;
    for unused in &effective.unused {
        sink.emit(Event::host_notice(tollgate_vocab::grant::not_requested(&name, unused)));
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
    let net = NetPolicy::new(effective.clone(), request.resolve, request.tls, sink.clone());
    // Every secret the run was given (the granted ones among them) is masked and digested here:
    // a pipeline may pass one through `with:` (`${{ secrets.NAME }}`); so is every value of an
    // input the plugin declares sensitive.
    let mut secret_values: Vec<String> = request.secret_values.values().cloned().collect();
    secret_values.extend(sensitive_values(&resolved.inputs, &loaded.sensitive));
    let mut io = StepIo::new(name.clone(), sink.clone(), net);
    if let Some(config) = &request.artifacts {
        let predicate = predicate(
            &info,
            &loaded.digest,
            &resolved.inputs,
            &effective,
            &request.context,
            &secret_values,
            &loaded.sensitive,
        );
        io.artifacts = Some(StepArtifacts::new(config.clone(), predicate, sink));
    }
    io.masker = Masker::new(secret_values);
    io.secrets = secrets;
    io.github = request.github;
    let owner = request.plugin.owner();
    io.reach = Some(GithubReach {
        refs: RefScope::new(owner.clone(), effective.refs.clone()),
        others: effective.owners.clone(),
        owner,
        step: request.context.step_id.clone(),
    });
    io.declared_outputs = Some(info.outputs.iter().map(|o| o.name.clone()).collect::<BTreeSet<_>>());
    let setup = StepSetup {
        io,
        dirs: effective.dirs,
        limits: request.limits,
    };
    let sink = setup.io.sink.clone();
    let outcome = runtime.run(&loaded, setup, resolved.inputs, request.context).await;
    let mut io = outcome.io;
    // Everything the plugin said is masked, whichever way it leaves: stdio, its report,
    // its error.
    let stdio = io.masker.mask(&outcome.stdio);
    // Plugins log through the host; raw stdio is kept at debug level for their authors.
    for line in stdio.lines() {
        sink.emit(Event::Log {
            level: Level::Debug,
            message: format!("output: {line}"),
            host: false,
        });
    }
    let outcome_result = match outcome.result {
        Ok(Ok(report)) => Ok(RunReport {
            message: io.masker.mask(&report.message),
            ..report
        }),
        Ok(Err(error)) => Err(plugin_error(&name, mask_error(&io.masker, error))),
        // A trap's own message says little (`unreachable`); a Python traceback or a Rust
        // panic message is in what the plugin last printed, which Actions hides at debug.
        Err(Error::Trap { plugin, reason }) => Err(Error::Trap {
            plugin,
            reason: with_last_words(reason, &stdio),
        }),
        Err(e) => Err(e),
    };
    let artifacts = match io.artifacts.as_mut() {
        Some(store) => store.finish(outcome_label(&outcome_result)),
        None => Vec::new(),
    };
    Ok(StepResult {
        plugin: name,
        version: info.version,
        digest: loaded.digest,
        outcome: outcome_result,
        produced: io.produced,
        artifacts,
    })
}

/// The word recorded as a step's outcome in artifact statements.
pub fn outcome_label(outcome: &Result<RunReport>) -> &'static str {
    match outcome {
        Ok(report) => match report.status {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Inconclusive => "inconclusive",
            Status::Skipped => "skipped",
        },
        Err(_) => "error",
    }
}

/// The text of every value in the inputs named `sensitive` (each string in a list or map, a
/// number's or boolean's JSON): what the masker hides.
fn sensitive_values(inputs: &[Input], sensitive: &[String]) -> Vec<String> {
    fn leaves(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => out.push(text.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
            serde_json::Value::Object(fields) => fields.values().for_each(|v| leaves(v, out)),
            serde_json::Value::Null => {}
            other => out.push(other.to_string()),
        }
    }
    let mut out = Vec::new();
    for input in inputs.iter().filter(|i| sensitive.contains(&i.name)) {
        match serde_json::from_str(&input.value) {
            Ok(value) => leaves(&value, &mut out),
            Err(_) => out.push(input.value.clone()),
        }
    }
    out
}

/// The provenance recorded for what a step produces; secrets are redacted from inputs, and an
/// input the plugin declares sensitive is recorded as its digest whatever it holds.
fn predicate(
    info: &PluginInfo,
    digest: &str,
    inputs: &[Input],
    effective: &Effective,
    context: &StepContext,
    secret_values: &[String],
    sensitive: &[String],
) -> Predicate {
    let inputs: serde_json::Map<String, serde_json::Value> = inputs
        .iter()
        .map(|i| {
            let value = serde_json::from_str(&i.value).unwrap_or(serde_json::Value::Null);
            let value = match sensitive.contains(&i.name) {
                true => tollgate_attest::digest_value(&value),
                false => value,
            };
            (i.name.clone(), value)
        })
        .collect();
    Predicate {
        plugin: tollgate_attest::PluginRef {
            name: info.name.clone(),
            version: info.version.clone(),
            digest: digest.to_string(),
        },
        inputs: tollgate_attest::redact(&inputs, secret_values),
        grants: effective.to_json(),
        context: crate::artifacts::run_context(context),
        started_at: tollgate_attest::rfc3339(std::time::SystemTime::now()),
        finished_at: String::new(),
        outcome: "running".into(),
    }
}

/// How much of a trapped plugin's last output its error quotes.
const LAST_WORDS_LINES: usize = 12;

fn with_last_words(reason: String, stdio: &str) -> String {
    let lines: Vec<&str> = stdio
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_runtime_noise(l))
        .collect();
    if lines.is_empty() {
        return reason;
    }
    let tail = &lines[lines.len().saturating_sub(LAST_WORDS_LINES)..];
    let quoted: Vec<String> = tail
        .iter()
        .map(|l| format!("    {}", l.chars().take(300).collect::<String>()))
        .collect();
    format!("{reason}\n  its last output (stdout/stderr):\n{}", quoted.join("\n"))
}

/// Lines a guest language's runtime prints around every uncaught exception (the Rust
/// panic that componentize-py turns it into, SpiderMonkey's abort): they would crowd the
/// plugin's own traceback out of the quoted tail.
fn is_runtime_noise(line: &str) -> bool {
    let line = line.trim_start();
    (line.starts_with("thread '") && line.contains("' panicked at "))
        || line.starts_with("note: run with `RUST_BACKTRACE=1`")
        || line.starts_with("Redirecting call to abort() to mozalloc_abort")
        || line == "Python function threw an unexpected exception"
}

fn mask_error(masker: &Masker, error: PluginError) -> PluginError {
    match error {
        PluginError::InvalidInput(e) => {
            PluginError::InvalidInput(crate::bindings::tollgate::plugin::types::InputError {
                input: masker.mask(&e.input),
                message: masker.mask(&e.message),
            })
        }
        PluginError::Denied(m) => PluginError::Denied(masker.mask(&m)),
        PluginError::Peer(m) => PluginError::Peer(masker.mask(&m)),
        PluginError::Internal(m) => PluginError::Internal(masker.mask(&m)),
    }
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

/// The context of a step outside any CI run (tests, benchmarks): only its id.
pub fn local_context(step_id: &str) -> StepContext {
    StepContext {
        step_id: step_id.to_string(),
        repository: None,
        sha: None,
        git_ref: None,
        event: None,
        run_id: None,
        run_attempt: None,
        workflow: None,
        actor: None,
        pull_request: None,
        ci: false,
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
