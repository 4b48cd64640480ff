//! `tollgate-tests.yaml`: cases a plugin author writes, each run through the real host
//! against the built component, and what each case expects a user to see.
//!
//! ```yaml
//! serve:                      # optional: a local HTTP server, at ${{ serve.url }}
//!   - path: /status
//!     json: {ok: true}
//! cases:
//!   - name: greets by name
//!     with: {name: Ada}       # inputs, as a workflow's `with:`
//!     allow:                  # grants, spelled as in a pipeline's `allow:`
//!       net: ["${{ serve.url }}"]
//!     env: {TOKEN: t0k3n}     # values of `allow.secrets` for this case
//!     expect:
//!       status: passed        # passed failed inconclusive skipped invalid-input denied error
//!       outputs: {greeting: Hello, Ada!}
//!       logs: ["Ada"]         # substrings of the step's log (plugin and host lines)
//!       error: name           # substring of the error message
//!       summary: ["Hello"]    # substrings of the step summary
//! ```

use super::serve::{Route, Server};
use crate::bindings::tollgate::plugin::types::{Level, Status};
use crate::error::{Error, Result};
use crate::events::{Collect, Event, Sink};
use crate::sandbox::capabilities::{GrantLists, Grants};
use crate::sandbox::inputs::Given;
use crate::sandbox::runtime::{Limits, Runtime};
use crate::sources::PluginRef;
use crate::step::{StepRequest, StepResult};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The file `plugin test` reads, in the project's directory.
pub const FILE: &str = "tollgate-tests.yaml";
/// What `${{ serve.url }}` is replaced with.
const SERVE_URL: &str = "${{ serve.url }}";

/// A whole `tollgate-tests.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// Routes of the local HTTP server the cases may call.
    #[serde(default)]
    pub serve: Vec<Route>,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in the results.
    pub name: String,
    /// Inputs, as in a workflow's `with:`.
    #[serde(default)]
    pub with: BTreeMap<String, Value>,
    /// Grants, as in a pipeline's `allow:`.
    #[serde(default)]
    pub allow: Allow,
    /// Values of the granted secrets.
    #[serde(default)]
    pub env: HashMap<String, String>,
    /// What the case must show.
    pub expect: Expect,
}

/// A case's grants, in the vocabulary's spelling.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    #[serde(default)]
    net: Vec<String>,
    #[serde(default)]
    read: Vec<String>,
    #[serde(default)]
    write: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    github: Vec<String>,
    timeout: Option<String>,
    memory: Option<String>,
}

/// What a case expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    status: Expected,
    #[serde(default)]
    outputs: BTreeMap<String, String>,
    #[serde(default)]
    logs: Vec<String>,
    error: Option<String>,
    #[serde(default)]
    summary: Vec<String>,
}

/// How a step ended, as a case names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    /// The plugin reported `passed`.
    Passed,
    /// The plugin reported `failed`.
    Failed,
    /// The plugin reported `inconclusive`.
    Inconclusive,
    /// The plugin reported `skipped`.
    Skipped,
    /// An input was missing or invalid (by the host's checks or the plugin's).
    InvalidInput,
    /// The plugin was denied a capability.
    Denied,
    /// Any other error: the plugin failed, crashed or hit a limit.
    Error,
}

impl Expected {
    fn of(result: &StepResult) -> Self {
        match &result.outcome {
            Ok(report) => match report.status {
                Status::Passed => Expected::Passed,
                Status::Failed => Expected::Failed,
                Status::Inconclusive => Expected::Inconclusive,
                Status::Skipped => Expected::Skipped,
            },
            Err(Error::InvalidInput { .. }) => Expected::InvalidInput,
            Err(Error::Denied { .. } | Error::MissingGrant { .. }) => Expected::Denied,
            Err(_) => Expected::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Expected::Passed => "passed",
            Expected::Failed => "failed",
            Expected::Inconclusive => "inconclusive",
            Expected::Skipped => "skipped",
            Expected::InvalidInput => "invalid-input",
            Expected::Denied => "denied",
            Expected::Error => "error",
        }
    }
}

/// Read and check `dir/tollgate-tests.yaml`.
pub fn load(dir: &Path) -> Result<CaseFile> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let file: CaseFile = serde_yaml_ng::from_str(&text).map_err(|e| {
        Error::invalid(
            "test file",
            path.display().to_string(),
            format!("{e}; see `tollgate plugin test --help` for its format"),
        )
    })?;
    if file.cases.is_empty() {
        return Err(Error::invalid(
            "test file",
            path.display().to_string(),
            "it has no cases",
        ));
    }
    Ok(file)
}

/// One case's result: its name and, when it failed, what differed (and the step's log).
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Every expectation that did not hold; empty when the case passed.
    pub failures: Vec<String>,
    /// The step's log lines, for a failed case.
    pub log: Vec<String>,
}

/// Run every case against `wasm`, in order, with a local server when the file has routes.
pub async fn run(runtime: &Runtime, wasm: &Path, file: &CaseFile, base: &Path) -> Result<Vec<CaseResult>> {
    let server = match file.serve.is_empty() {
        true => None,
        false => Some(Server::start(file.serve.clone()).await?),
    };
    let url = server.as_ref().map(|s| s.url()).unwrap_or_default();
    let mut results = Vec::new();
    for case in &file.cases {
        results.push(run_case(runtime, wasm, case, base, &url).await?);
    }
    Ok(results)
}

async fn run_case(runtime: &Runtime, wasm: &Path, case: &Case, base: &Path, url: &str) -> Result<CaseResult> {
    let request = request(wasm, case, base, url)?;
    let collect = Arc::new(Collect::default());
    let result = crate::step::run(runtime, request, collect.clone() as Arc<dyn Sink>).await;
    let log = log_lines(&collect);
    let failures = match &result {
        Ok(result) => check(&case.expect, result, &log),
        Err(e) => {
            // The step never ran (the plugin did not load, a grant was malformed).
            let got = match e {
                Error::InvalidInput { .. } => Expected::InvalidInput,
                Error::MissingGrant { .. } | Error::Denied { .. } => Expected::Denied,
                _ => Expected::Error,
            };
            check_error(&case.expect, got, &e.to_string())
        }
    };
    Ok(CaseResult {
        name: case.name.clone(),
        failures,
        log,
    })
}

fn request(wasm: &Path, case: &Case, base: &Path, url: &str) -> Result<StepRequest> {
    let serve = |text: &str| text.replace(SERVE_URL, url);
    let parse_all = |what: &'static str, texts: &[String], parse: &dyn Fn(&str) -> std::result::Result<(), String>| {
        texts
            .iter()
            .try_for_each(|t| parse(t).map_err(|reason| Error::invalid(what, t.clone(), reason)))
    };
    let net = case
        .allow
        .net
        .iter()
        .map(|t| {
            serve(t)
                .parse()
                .map_err(|e: tollgate_vocab::Invalid| Error::invalid("allow.net", t.clone(), e.reason))
        })
        .collect::<Result<Vec<_>>>()?;
    let github = case
        .allow
        .github
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e: tollgate_vocab::Invalid| Error::invalid("allow.github", t.clone(), e.reason))
        })
        .collect::<Result<Vec<_>>>()?;
    parse_all("allow.secrets", &case.allow.secrets, &|t| {
        tollgate_vocab::check_secret_name(t).map_err(|e| e.reason)
    })?;
    let grants = Grants::new(
        &GrantLists {
            net: &net,
            read: &case.allow.read,
            write: &case.allow.write,
            secrets: &case.allow.secrets,
            github: &github,
            refs: &[],
            owners: &[],
        },
        base,
    )?;
    let defaults = Limits::default();
    let limits =
        Limits {
            timeout: match &case.allow.timeout {
                Some(t) => tollgate_vocab::parse_duration(t)
                    .map_err(|e| Error::invalid("allow.timeout", t.clone(), e.reason))?,
                None => defaults.timeout,
            },
            memory: match &case.allow.memory {
                Some(m) => tollgate_vocab::size::parse_size(m)
                    .map_err(|e| Error::invalid("allow.memory", m.clone(), e.reason))?,
                None => defaults.memory,
            },
        };
    let inputs = case
        .with
        .iter()
        .map(|(name, value)| (name.clone(), Given::Value(substitute(value, &serve))))
        .collect();
    Ok(StepRequest {
        plugin: PluginRef::parse(&wasm.display().to_string())?,
        inputs,
        grants,
        secret_values: case.env.clone(),
        limits,
        context: crate::step::local_context(&case.name),
        resolve: HashMap::new(),
        tls: crate::sandbox::net::tls_config(&[]).map_err(|e| Error::Runtime(e.to_string()))?,
        artifacts: None,
        github: None,
    })
}

/// `value` with `${{ serve.url }}` replaced in every string.
fn substitute(value: &Value, serve: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(serve(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, serve)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, serve))).collect()),
        other => other.clone(),
    }
}

fn log_lines(collect: &Collect) -> Vec<String> {
    let events = collect.0.lock().map(|e| e.clone()).unwrap_or_default();
    events
        .into_iter()
        .filter_map(|event| match event {
            Event::Log { level, message, .. } | Event::Annotate { level, message, .. } => {
                Some(format!("{}: {message}", level_name(level)))
            }
            Event::GroupStart(title) => Some(format!("group: {title}")),
            Event::Progress { message, .. } => Some(format!("progress: {message}")),
            Event::GroupEnd => None,
        })
        .collect()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

/// Every expectation `result` misses.
fn check(expect: &Expect, result: &StepResult, log: &[String]) -> Vec<String> {
    let got = Expected::of(result);
    let message = match &result.outcome {
        Ok(report) => report.message.clone(),
        Err(e) => e.to_string(),
    };
    let mut failures = check_error(expect, got, &message);
    for (name, want) in &expect.outputs {
        match result.produced.outputs.get(name) {
            Some(value) if value == want => {}
            Some(value) => failures.push(format!("output `{name}`: expected {want:?}, got {value:?}")),
            None => failures.push(format!("output `{name}`: expected {want:?}, but it was not set")),
        }
    }
    for want in &expect.logs {
        if !log.iter().any(|line| line.contains(want.as_str())) {
            failures.push(format!("no log line contains {want:?}"));
        }
    }
    for want in &expect.summary {
        if !result.produced.summary.contains(want.as_str()) {
            failures.push(format!("the step summary does not contain {want:?}"));
        }
    }
    failures
}

fn check_error(expect: &Expect, got: Expected, message: &str) -> Vec<String> {
    let mut failures = Vec::new();
    if got != expect.status {
        failures.push(format!(
            "expected status {}, got {}: {message}",
            expect.status.as_str(),
            got.as_str()
        ));
    }
    if let Some(want) = &expect.error {
        let is_error = !matches!(
            got,
            Expected::Passed | Expected::Failed | Expected::Inconclusive | Expected::Skipped
        );
        if !is_error || !message.contains(want.as_str()) {
            failures.push(format!("expected an error containing {want:?}, got: {message}"));
        }
    }
    failures
}
