//! The host-facing layer: `describe`, and `run`, which reads the analysis from the inputs, runs
//! it, and turns the run into a status, outputs, a summary and a signed artifact.

use crate::analysis::{self, Abort, Phase, RunResult};
use crate::provider::{Auth, Provider};
use crate::report;
use crate::template::{self, ArgValue, SpecError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_sdk::files::read_input;
use tollgate_sdk::{
    Capability, Duration, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs,
    TypedOutputs, invalid_input, request,
};
use tollgate_sigv4::Credentials;
use tollgate_vocab::grant::Needed;

/// The plugin.
pub struct CanaryGate;

/// Name of the analysis artifact.
pub const ARTIFACT: &str = "canary-analysis";

/// Largest template file read.
const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// The step's inputs.
#[derive(Debug, Clone, tollgate_sdk::Inputs)]
pub struct StepInputs {
    /// The metrics, as an Argo Rollouts AnalysisTemplate writes its `spec.metrics`: each with
    /// `name`, `provider` (`prometheus: {address, query}` or `web: {url, jsonPath}`), `interval`,
    /// `count`, `initialDelay`, `successCondition`/`failureCondition`, `failureLimit`,
    /// `inconclusiveLimit`, `consecutiveErrorLimit`, `dryRun`, and `compare` for a
    /// baseline-vs-canary test. URLs written here are granted to the step.
    #[input(grants_origins)]
    pub metrics: Option<Value>,
    /// Instead of `metrics`: an AnalysisTemplate YAML file (absolute path inside an `allow-read`
    /// directory, or `artifact:NAME`). Its addresses are not granted: add them with `allow-net`.
    pub template: Option<String>,
    /// Values for `{{args.NAME}}` in the metrics, e.g. `{service: checkout}`; they override the
    /// template's own `spec.args` values.
    pub args: Option<BTreeMap<String, Value>>,
    /// The Prometheus URL for metrics whose provider has no `address`. Granted to the step.
    #[input(grants_origins)]
    pub address: Option<String>,
    /// Metrics measured and reported but never deciding (names; `*` matches any run of characters).
    pub dry_run: Option<Vec<String>>,
    /// How long metrics without a `count` keep measuring.
    pub duration: Option<Duration>,
    /// Store the analysis run (every measurement) as a signed artifact with this name.
    #[input(default = ARTIFACT)]
    pub artifact: String,
}

/// The step's outputs.
#[derive(Debug, Clone, Default, tollgate_sdk::Outputs)]
pub struct StepOutputs {
    /// `Successful`, `Failed`, `Inconclusive` or `Error`: promote only on `Successful`; abort on
    /// `Failed` or `Error`; pause for a person on `Inconclusive`.
    pub phase: String,
    /// Per metric: `{phase, successful, failed, inconclusive, error, dry_run, message}` as JSON.
    pub metrics: Value,
    /// Names of deciding metrics that did not succeed, comma-separated.
    pub failed_metrics: String,
    /// The analysis artifact's digest (`sha256:…`), when stored.
    pub artifact_digest: Option<String>,
}

impl Plugin for CanaryGate {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "canary-gate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Argo-Rollouts-grade metric analysis (Prometheus, web) that gates a canary".into(),
            inputs: StepInputs::specs(),
            outputs: StepOutputs::specs(),
            // Required as a pair: one granted origin, http or https, satisfies them.
            capabilities: vec![
                request(
                    Capability::Net("https://*:*".into()),
                    "queries Prometheus and web metrics at the granted addresses",
                ),
                request(
                    Capability::Net("http://*:*".into()),
                    "queries Prometheus and web metrics at plain-http addresses",
                ),
                request(Capability::Read, "reads the AnalysisTemplate file named by `template`").optional(),
                // Which secrets is known only once the analysis is read; the step grants each by name.
                request(
                    Capability::Secret("*".into()),
                    "reads the secrets the analysis names: `valueFrom.secretKeyRef` args, AWS credentials for `sigv4`",
                )
                .optional(),
            ],
        }
    }

    fn run(inputs: Inputs, _context: StepContext) -> Result<RunReport, PluginError> {
        let inputs = StepInputs::from_inputs(&inputs)?;
        let metrics = analysis_of(&inputs)?;
        let run = tollgate_sdk::runtime::block_on(analysis::run(metrics, inputs.duration.map(|d| d.0)));
        let run = match run {
            Ok(run) => run,
            Err(Abort::Invalid { metric, message }) => {
                return Err(invalid_input(
                    if inputs.template.is_some() {
                        "template"
                    } else {
                        "metrics"
                    },
                    format!("metric `{metric}`: {message}"),
                ));
            }
            Err(Abort::Denied(message)) => return Err(PluginError::Denied(message)),
        };
        report_run(&inputs, &run)
    }
}

fn spec_error(input: &str, e: SpecError) -> PluginError {
    invalid_input(input, e.to_string())
}

fn analysis_of(inputs: &StepInputs) -> Result<Vec<template::Metric>, PluginError> {
    let (source, file) = match (&inputs.metrics, &inputs.template) {
        (Some(_), Some(_)) => {
            return Err(invalid_input("template", "give `metrics` or `template`, not both"));
        }
        (None, None) => {
            return Err(invalid_input(
                "metrics",
                "is missing: give the metrics (an AnalysisTemplate's `spec.metrics` list) or a `template` file",
            ));
        }
        (Some(metrics), None) => (
            "metrics",
            template::TemplateFile {
                metrics: metrics.clone(),
                ..Default::default()
            },
        ),
        (None, Some(path)) => {
            let (bytes, _) = read_input("template", path, MAX_TEMPLATE_BYTES, "an AnalysisTemplate YAML file")?;
            let text = String::from_utf8(bytes).map_err(|_| invalid_input("template", "the file is not UTF-8 text"))?;
            (
                "template",
                template::read_template_file(&text).map_err(|e| spec_error("template", e))?,
            )
        }
    };
    let mut given: BTreeMap<String, ArgValue> = file
        .args
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    for (name, value) in inputs.args.iter().flatten() {
        let value = match (value, value.get("valueFrom")) {
            // `{valueFrom: {secretKeyRef: …}}`, as a Rollout's `analysis.args` writes it.
            (_, Some(from)) => {
                template::read_value_from(from, &format!("args.{name}")).map_err(|e| spec_error("args", e))?
            }
            (Value::String(s), None) => ArgValue::Text(s.clone()),
            (other, None) => ArgValue::Text(other.to_string()),
        };
        given.insert(name.clone(), value);
    }
    let args = given
        .into_iter()
        .map(|(name, value)| {
            let text = arg_value(&name, value)?;
            Ok((name, text))
        })
        .collect::<Result<BTreeMap<String, String>, PluginError>>()?;
    let substituted = template::substitute_args(&file.metrics, &args).map_err(|e| spec_error("args", e))?;
    let mut dry_run = file.dry_run.clone();
    dry_run.extend(inputs.dry_run.iter().flatten().cloned());
    let mut metrics =
        template::read_metrics(&substituted, &dry_run, inputs.address.as_deref()).map_err(|e| spec_error(source, e))?;
    for metric in &mut metrics {
        read_credentials(metric)?;
        if let Some(ty) = metric.provider.result_type() {
            analysis::check_types(metric, &ty).map_err(|e| match e {
                Abort::Invalid { metric, message } => invalid_input(source, format!("metric `{metric}`: {message}")),
                Abort::Denied(m) => PluginError::Denied(m),
            })?;
        }
        if metric.count.is_none() && inputs.duration.is_none() {
            return Err(invalid_input(
                source,
                format!(
                    "metric `{}` has an `interval` but no `count`, so it would measure forever: set `count`, or the `duration` input",
                    metric.name
                ),
            ));
        }
    }
    Ok(metrics)
}

/// An argument's text: a `secretKeyRef` reads its secret now, so a missing grant stops the step before
/// any query.
fn arg_value(name: &str, value: ArgValue) -> Result<String, PluginError> {
    match value {
        ArgValue::Text(text) => Ok(text),
        ArgValue::Secret { secret, reference } => tollgate_sdk::secrets::get(&secret).map_err(|_| {
            PluginError::Denied(format!(
                "the argument `{name}` reads `secretKeyRef: {reference}`, which is the Tollgate secret `{secret}`, not \
                 granted to this step.\n  fix: {}",
                Needed::Secret(&secret).hint()
            ))
        }),
    }
}

/// SigV4 credentials for a metric that signs its queries, from the AWS secrets.
fn read_credentials(metric: &mut template::Metric) -> Result<(), PluginError> {
    if let Provider::Prometheus(p) = &mut metric.provider
        && let Some(Auth::Sigv4 { credentials, .. }) = &mut p.auth
    {
        let read = Credentials::from_secrets(|name| tollgate_sdk::secrets::get(name).ok()).map_err(|missing| {
            PluginError::Denied(format!(
                "metric `{}` signs its queries with SigV4 (`authentication.sigv4`) and the secret `{missing}` is not \
                 granted.\n  fix: {}",
                metric.name,
                Needed::Secret(missing).hint()
            ))
        })?;
        *credentials = Some(read);
    }
    Ok(())
}

fn report_run(inputs: &StepInputs, run: &RunResult) -> Result<RunReport, PluginError> {
    tollgate_sdk::append_summary(&report::summary(run));
    let per_metric: serde_json::Map<String, Value> = run
        .metrics
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                json!({
                    "phase": m.phase.as_str(), "successful": m.successful, "failed": m.failed,
                    "inconclusive": m.inconclusive, "error": m.error, "dry_run": m.dry_run, "message": m.message,
                }),
            )
        })
        .collect();
    let failed: Vec<&str> = run
        .metrics
        .iter()
        .filter(|m| !m.dry_run && m.phase != Phase::Successful)
        .map(|m| m.name.as_str())
        .collect();
    let artifact_digest = store(&inputs.artifact, run);
    StepOutputs {
        phase: run.phase.as_str().into(),
        metrics: Value::Object(per_metric),
        failed_metrics: failed.join(","),
        artifact_digest,
    }
    .set_all()?;
    let status = match run.phase {
        Phase::Successful => Status::Passed,
        Phase::Inconclusive => Status::Inconclusive,
        Phase::Failed | Phase::Error => Status::Failed,
    };
    Ok(RunReport {
        status,
        message: report::headline(run),
    })
}

/// Store the run as a signed artifact; a run without an artifact store (a bare local run) says so.
fn store(name: &str, run: &RunResult) -> Option<String> {
    let body = serde_json::to_vec_pretty(&json!({"kind": "tollgate.canary-analysis/v1", "run": run})).ok()?;
    match tollgate_sdk::artifacts::put(name, "application/json", &body) {
        Ok(digest) => {
            tollgate_sdk::info(&format!("analysis stored as the signed artifact `{name}` ({digest})"));
            Some(digest)
        }
        Err(e) => {
            tollgate_sdk::warn(&format!("analysis not stored as an artifact: {e:?}"));
            None
        }
    }
}
