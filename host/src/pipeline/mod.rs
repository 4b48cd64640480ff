//! Runs a validated pipeline file: steps in order with `if:`, fan-out over a matrix with
//! bounded concurrency, `run:` commands outside the sandbox, artifacts in and out, and
//! `finally:` steps after success, failure, a timeout or SIGINT/SIGTERM.
//!
//! The file format, validation and expressions live in `tollgate-pipeline`; this module only
//! executes. Results are kept per step (and per fan-out item) for expressions and the report.
//! It does not print: each step reports to a [`Sink`] from [`PipelineEnv::sinks`].

mod authored;
mod dry_run;
mod shell;

use authored::{authored_part, matrix_authored};
pub(crate) use dry_run::dry_run;
use shell::{parse_outputs, shell, tempfile_path};

use crate::artifacts::{ArtifactConfig, StepArtifacts};
use crate::bindings::tollgate::plugin::types::StepContext;
use crate::error::{Error, ExitCode, Result};
use crate::events::{Event, Sink};
use crate::sandbox::capabilities::{GrantLists, Grants};
use crate::sandbox::imports::Masker;
use crate::sandbox::inputs::Given;
use crate::sandbox::runtime::{Limits, Runtime};
use crate::sources::PluginRef;
use crate::step::{self, StepRequest};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tollgate_pipeline::{JobStatus, Pipeline, Section, StaticContext, Step, StepKind};

/// How a step (or fan-out item) ended, in GitHub's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It ran and passed.
    Success,
    /// It ran and failed (or could not start).
    Failure,
    /// A signal or the pipeline's time limit stopped it.
    Cancelled,
    /// Its `if:` was false, or an earlier failure skipped it.
    Skipped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Cancelled => "cancelled",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One line of the pipeline report.
#[derive(Debug, Clone)]
pub(crate) struct StepLine {
    /// The step's id (with the fan-out item's label).
    pub(crate) id: String,
    /// `uses`, `run` or `group`.
    pub(crate) kind: &'static str,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// `success` when `continue-on-error` absorbed a failure.
    pub(crate) conclusion: Outcome,
    /// One line saying why.
    pub(crate) message: String,
    /// Wall time.
    pub(crate) duration: Duration,
}

/// What a finished pipeline reports.
pub struct PipelineResult {
    /// The pipeline's `name:` (or its file).
    pub(crate) name: String,
    /// Success, failure or cancelled, as GitHub judges a job.
    pub(crate) status: JobStatus,
    /// Every step and fan-out item, in order.
    pub(crate) steps: Vec<StepLine>,
    /// The pipeline's `outputs:`, rendered.
    pub(crate) outputs: BTreeMap<String, String>,
    /// The steps' summaries, each under its label.
    pub(crate) summary: String,
}

impl PipelineResult {
    /// The documented exit code of the run.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self.status {
            JobStatus::Success => ExitCode::Success,
            JobStatus::Failure | JobStatus::Cancelled => ExitCode::Failure,
        }
    }
}

/// Makes the sink a step with this label reports to.
pub(crate) type Sinks = Arc<dyn Fn(&str) -> Arc<dyn Sink> + Send + Sync>;

/// Everything a pipeline run needs besides the file.
pub(crate) struct PipelineEnv {
    /// The engine every `uses:` step shares.
    pub(crate) runtime: Arc<Runtime>,
    /// A sink for the step with this label (the runner's printer, or a collector).
    pub(crate) sinks: Sinks,
    /// The run's artifact store and keys.
    pub(crate) artifacts: Arc<ArtifactConfig>,
    /// Trust for plugins' HTTPS.
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// The run context each step starts from.
    pub(crate) context: StepContext,
    /// Values of secrets named in `allow.secrets`, by name.
    pub(crate) secret_values: HashMap<String, String>,
    /// Where and as whom steps' GitHub calls go (each step still needs `allow.github`).
    pub(crate) github: Arc<crate::github::GithubConfig>,
}

/// The record of one step, as expressions see it under `steps.<id>`.
#[derive(Debug, Clone)]
struct Record {
    outcome: Outcome,
    conclusion: Outcome,
    outputs: Map<String, Value>,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({
            "outcome": self.outcome.as_str(),
            "conclusion": self.conclusion.as_str(),
            "outputs": self.outputs,
        })
    }

    fn skipped() -> Self {
        Self {
            outcome: Outcome::Skipped,
            conclusion: Outcome::Skipped,
            outputs: Map::new(),
        }
    }
}

/// How one execution of a step ended, before `continue-on-error` is weighed.
struct StepEnd {
    outcome: Outcome,
    /// One line saying why.
    message: String,
    outputs: Map<String, Value>,
}

impl StepEnd {
    /// An end that produced no outputs.
    fn new(outcome: Outcome, message: String) -> Self {
        Self {
            outcome,
            message,
            outputs: Map::new(),
        }
    }
}

/// Steps visible to expressions: outer steps, then this level's (a group or fan-out item).
#[derive(Clone, Default)]
struct Scope {
    steps: Map<String, Value>,
    matrix: Map<String, Value>,
    /// Some matrix item in scope came from something other than the author's words
    /// (`steps.*`, `env.*`): `matrix.*` then grants nothing (see [`authored`]).
    matrix_computed: bool,
    /// Rendered environment for `run` steps.
    env: BTreeMap<String, String>,
    /// The job status when a fan-out started: its items are judged against that, not
    /// against each other, so one failing region does not skip the rest.
    frozen_status: Option<JobStatus>,
}

type Template = tollgate_pipeline::Template;

struct Run<'a> {
    env: &'a PipelineEnv,
    inputs: Map<String, Value>,
    status: Mutex<JobStatus>,
    lines: Mutex<Vec<StepLine>>,
    summary: Mutex<String>,
    cancel: watch::Receiver<Option<String>>,
    /// Directory relative paths in the file resolve against.
    cwd: PathBuf,
    /// Every secret the run was given, masked in all it prints and records.
    masker: Arc<Masker>,
}

/// Parse and validate a pipeline file; every problem is reported with its position.
pub(crate) fn load(path: &Path) -> Result<Pipeline> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    tollgate_pipeline::parse(&path.display().to_string(), &text).map_err(|diagnostics| Error::Pipeline {
        diagnostics: diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"),
    })
}

/// Run `pipeline`; SIGINT/SIGTERM or the pipeline's `timeout` cancel the steps, and
/// `finally:` still runs.
pub(crate) async fn run(
    pipeline: &Pipeline,
    env: &PipelineEnv,
    given: BTreeMap<String, Value>,
    timeout: Option<Duration>,
) -> Result<PipelineResult> {
    let inputs = pipeline.bind_inputs(&given).map_err(|problems| Error::InvalidInput {
        input: "inputs".into(),
        message: problems.join("; "),
    })?;
    let (cancel_tx, cancel) = watch::channel(None);
    let cancel_tx = Arc::new(cancel_tx);
    let signals = tokio::spawn(forward_signals(cancel_tx.clone()));
    let timer = timeout.map(|limit| {
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            cancel_with(
                &cancel_tx,
                format!(
                    "the pipeline's time limit of {} ran out",
                    humantime::format_duration(limit)
                ),
            );
        })
    });
    let run = Run {
        env,
        inputs,
        status: Mutex::new(JobStatus::Success),
        lines: Mutex::new(Vec::new()),
        summary: Mutex::new(String::new()),
        cancel,
        cwd: std::env::current_dir().map_err(|e| Error::io(".", e))?,
        masker: Arc::new(Masker::new(env.secret_values.values().cloned())),
    };
    let mut scope = Scope::default();
    scope.env = run.render_env(&pipeline.env, &scope)?;
    run.steps(&pipeline.steps, &mut scope, Section::Steps).await;
    // `finally:` runs to completion even after a cancel: it is where locks are released.
    run.steps(&pipeline.finally, &mut scope, Section::Finally).await;
    signals.abort();
    if let Some(timer) = timer {
        timer.abort();
    }
    let ctx = run.context(&scope);
    let mut outputs = BTreeMap::new();
    for (name, template) in &pipeline.outputs {
        let value = template.render(&ctx).unwrap_or_else(|e| {
            run.sink("pipeline")
                .emit(Event::host_warning(format!("output `{name}`: {e}")));
            String::new()
        });
        outputs.insert(name.clone(), run.masker.mask(&value));
    }
    let status = run.job_status();
    Ok(PipelineResult {
        name: pipeline.name.clone().unwrap_or_else(|| pipeline.file.clone()),
        status,
        steps: std::mem::take(&mut *lock(&run.lines)),
        outputs,
        summary: std::mem::take(&mut *lock(&run.summary)),
    })
}

/// Why the run was cancelled; the first reason wins.
type Cancel = watch::Sender<Option<String>>;

fn cancel_with(cancel: &Cancel, reason: String) {
    cancel.send_if_modified(|current| {
        let first = current.is_none();
        if first {
            *current = Some(reason);
        }
        first
    });
}

async fn forward_signals(cancel: Arc<Cancel>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return;
    };
    let name = tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    };
    cancel_with(&cancel, format!("cancelled by {name}"));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Run<'_> {
    /// The sink for `label`'s events, masking every secret the run was given: a `run:` step
    /// prints what its command prints, and a step's message may quote it.
    fn sink(&self, label: &str) -> Arc<dyn Sink> {
        Arc::new(MaskedSink {
            inner: (self.env.sinks)(label),
            masker: self.masker.clone(),
        })
    }
}

/// A sink that masks secret values in every text it passes on.
struct MaskedSink {
    inner: Arc<dyn Sink>,
    masker: Arc<Masker>,
}

impl Sink for MaskedSink {
    fn emit(&self, event: Event) {
        let mask = |text: String| self.masker.mask(&text);
        self.inner.emit(match event {
            Event::Log { level, message, host } => Event::Log {
                level,
                message: mask(message),
                host,
            },
            Event::Annotate {
                level,
                message,
                location,
            } => Event::Annotate {
                level,
                message: mask(message),
                location,
            },
            Event::GroupStart(title) => Event::GroupStart(mask(title)),
            Event::Progress { message, fraction } => Event::Progress {
                message: mask(message),
                fraction,
            },
            other => other,
        });
    }

    fn plugin_named(&self, name: &str) {
        self.inner.plugin_named(name);
    }
}

/// `value` with secret values masked in every string inside it.
fn mask_value(masker: &Masker, value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(masker.mask(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| mask_value(masker, v)).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, mask_value(masker, v))).collect()),
        other => other,
    }
}

impl Run<'_> {
    fn context(&self, scope: &Scope) -> StaticContext {
        let env: Map<String, Value> = scope
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        StaticContext::new()
            .with("steps", Value::Object(scope.steps.clone()))
            .with("inputs", Value::Object(self.inputs.clone()))
            .with("matrix", Value::Object(scope.matrix.clone()))
            .with("env", Value::Object(env))
            .with("github", github_context(&self.env.context))
            .with("secrets", json!(self.env.secret_values))
            .with_status(match (self.job_status(), scope.frozen_status) {
                (JobStatus::Cancelled, _) => JobStatus::Cancelled,
                (current, frozen) => frozen.unwrap_or(current),
            })
    }

    fn render_env(&self, env: &BTreeMap<String, Template>, scope: &Scope) -> Result<BTreeMap<String, String>> {
        let ctx = self.context(scope);
        let mut rendered = scope.env.clone();
        for (name, template) in env {
            let value = template.render(&ctx).map_err(|e| Error::InvalidInput {
                input: format!("env.{name}"),
                message: e.to_string(),
            })?;
            rendered.insert(name.clone(), value);
        }
        Ok(rendered)
    }

    fn job_status(&self) -> JobStatus {
        if self.cancel.borrow().is_some() {
            return JobStatus::Cancelled;
        }
        *lock(&self.status)
    }

    fn fail(&self) {
        let mut status = lock(&self.status);
        if *status == JobStatus::Success {
            *status = JobStatus::Failure;
        }
    }

    fn note(&self, line: StepLine) {
        let sink = self.sink(&line.id);
        let text = format!("{} {}: {}", line.id, line.outcome.as_str(), line.message);
        let event = match line.conclusion {
            Outcome::Failure => Event::host_warning(text),
            _ => Event::host_notice(text),
        };
        sink.emit(event);
        lock(&self.lines).push(line);
    }

    async fn steps(&self, steps: &[Step], scope: &mut Scope, section: Section) {
        for step in steps {
            let record = self.step(step, scope, section).await;
            // Inside a fan-out item, a failure counts for the rest of that item only.
            if record.conclusion == Outcome::Failure && scope.frozen_status.is_some() {
                scope.frozen_status = Some(JobStatus::Failure);
            }
            scope.steps.insert(step.id.clone(), record.to_json());
        }
    }

    /// One step, fanned out when it has a matrix.
    async fn step(&self, step: &Step, scope: &Scope, section: Section) -> Record {
        let Some(matrix) = &step.matrix else {
            return self.guarded(step, scope, section).await;
        };
        let items = match matrix.expand(&self.context(scope)) {
            Ok(items) => items,
            Err(e) => {
                return self.finish(
                    step,
                    StepEnd::new(Outcome::Failure, format!("matrix: {e}")),
                    Instant::now(),
                );
            }
        };
        let parallel = matrix.max_parallel.map_or(items.len(), |n| n as usize).max(1);
        let started = Instant::now();
        let frozen = self.job_status();
        let runs = futures::stream::iter(items.into_iter().map(|item| {
            let mut item_scope = scope.clone();
            item_scope.frozen_status = Some(frozen);
            let label = item_label(&item);
            item_scope.matrix.extend(item);
            item_scope.matrix_computed |= !matrix_authored(matrix);
            async move {
                let record = self.guarded_item(step, &item_scope, section, &label).await;
                (label, record)
            }
        }))
        .buffered(parallel)
        .collect::<Vec<_>>()
        .await;
        // Fan-out outputs: `steps.ID.outputs.NAME` maps each item label to its value.
        let mut outputs = Map::new();
        let mut failed = Vec::new();
        for (label, record) in &runs {
            for (name, value) in &record.outputs {
                let entry = outputs.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = entry {
                    map.insert(label.clone(), value.clone());
                }
            }
            if record.outcome == Outcome::Failure {
                failed.push(label.clone());
            }
        }
        let outcome = if runs.iter().any(|(_, r)| r.outcome == Outcome::Cancelled) {
            Outcome::Cancelled
        } else if !failed.is_empty() {
            Outcome::Failure
        } else if runs.iter().all(|(_, r)| r.outcome == Outcome::Skipped) {
            Outcome::Skipped
        } else {
            Outcome::Success
        };
        let message = match failed.is_empty() {
            true => format!("{} item(s)", runs.len()),
            false => format!(
                "{} of {} item(s) failed: {}",
                failed.len(),
                runs.len(),
                failed.join(", ")
            ),
        };
        self.finish(
            step,
            StepEnd {
                outcome,
                message,
                outputs,
            },
            started,
        )
    }

    async fn guarded(&self, step: &Step, scope: &Scope, section: Section) -> Record {
        self.guarded_item(step, scope, section, &step.id).await
    }

    /// `if:`, the step's timeout and cancellation around one execution.
    async fn guarded_item(&self, step: &Step, scope: &Scope, section: Section, label: &str) -> Record {
        let id = if label == step.id {
            step.id.clone()
        } else {
            format!("{} [{label}]", step.id)
        };
        let started = Instant::now();
        let ctx = self.context(scope);
        match step.should_run(&ctx, section) {
            Ok(true) => {}
            Ok(false) => {
                self.note(line(
                    &id,
                    step,
                    Outcome::Skipped,
                    Outcome::Skipped,
                    "condition was false".into(),
                    started,
                ));
                return Record::skipped();
            }
            Err(e) => {
                return self.record(&id, step, StepEnd::new(Outcome::Failure, format!("`if:` {e}")), started);
            }
        }
        let execution = self.execute(step, scope, &id);
        let execution = async {
            match step.timeout {
                Some(limit) => tokio::time::timeout(limit, execution).await.unwrap_or_else(|_| {
                    StepEnd::new(
                        Outcome::Failure,
                        format!("timed out after {}", humantime::format_duration(limit)),
                    )
                }),
                None => execution.await,
            }
        };
        // A cancel stops the steps, not `finally:`: releasing a lock must not be cut short.
        let end = if section == Section::Finally {
            execution.await
        } else {
            let mut cancel = self.cancel.clone();
            tokio::select! {
                result = execution => result,
                reason = cancel.wait_for(Option::is_some) => {
                    let reason = reason.ok().and_then(|r| r.clone()).unwrap_or_else(|| "cancelled".into());
                    StepEnd::new(Outcome::Cancelled, reason)
                }
            }
        };
        self.record(&id, step, end, started)
    }

    fn record(&self, id: &str, step: &Step, end: StepEnd, started: Instant) -> Record {
        let masker = &self.masker;
        let StepEnd {
            outcome,
            message,
            outputs,
        } = end;
        let message = masker.mask(&message);
        let outputs = outputs.into_iter().map(|(k, v)| (k, mask_value(masker, v))).collect();
        let conclusion = match outcome {
            Outcome::Failure if step.continue_on_error => Outcome::Success,
            other => other,
        };
        if conclusion == Outcome::Failure {
            self.fail();
        }
        self.note(line(id, step, outcome, conclusion, message, started));
        Record {
            outcome,
            conclusion,
            outputs,
        }
    }

    fn finish(&self, step: &Step, end: StepEnd, started: Instant) -> Record {
        self.record(&step.id, step, end, started)
    }

    async fn execute(&self, step: &Step, scope: &Scope, label: &str) -> StepEnd {
        let result = match &step.kind {
            StepKind::Uses(uses) => self.uses(step, uses, scope, label).await,
            StepKind::Run(run) => self.command(step, run, scope, label).await,
            StepKind::Group(group) => {
                let mut inner = scope.clone();
                inner.env = match self.render_env(&step.env, scope) {
                    Ok(env) => env,
                    Err(e) => return StepEnd::new(Outcome::Failure, e.to_string()),
                };
                Box::pin(self.steps(&group.steps, &mut inner, Section::Steps)).await;
                let failed: Vec<String> = group
                    .steps
                    .iter()
                    .filter(|s| inner.steps.get(&s.id).is_some_and(|r| r["conclusion"] == "failure"))
                    .map(|s| s.id.clone())
                    .collect();
                match failed.is_empty() {
                    true => Ok(StepEnd::new(Outcome::Success, format!("{} step(s)", group.steps.len()))),
                    false => Ok(StepEnd::new(Outcome::Failure, format!("failed: {}", failed.join(", ")))),
                }
            }
        };
        result.unwrap_or_else(|e| StepEnd::new(Outcome::Failure, e.to_string()))
    }

    async fn uses(
        &self,
        step: &Step,
        uses: &tollgate_pipeline::UsesStep,
        scope: &Scope,
        label: &str,
    ) -> Result<StepEnd> {
        let ctx = self.context(scope);
        let mut inputs = BTreeMap::new();
        for (name, template) in &uses.with {
            let value = template.eval(&ctx).map_err(|e| Error::InvalidInput {
                input: name.clone(),
                message: e.to_string(),
            })?;
            let authored = authored_part(template, !scope.matrix_computed, &ctx).map_err(|e| Error::InvalidInput {
                input: name.clone(),
                message: e.to_string(),
            })?;
            let given = Given::Templated { value, authored };
            inputs.insert(name.clone(), given);
        }
        let allow = &uses.allow;
        let lists = GrantLists {
            net: &allow.net,
            read: &allow.read,
            write: &allow.write,
            secrets: &allow.secrets,
            github: &allow.github,
            refs: &allow.refs,
            owners: &allow.owners,
        };
        let grants = Grants::new(&lists, &self.cwd)?;
        let defaults = Limits::default();
        let mut context = self.env.context.clone();
        context.step_id = label.to_string();
        let request = StepRequest {
            plugin: PluginRef::parse(&uses.uses)?,
            inputs,
            grants,
            secret_values: self.env.secret_values.clone(),
            limits: Limits {
                timeout: allow.timeout.or(step.timeout).unwrap_or(defaults.timeout),
                memory: allow.memory.unwrap_or(defaults.memory),
            },
            context,
            resolve: HashMap::new(),
            tls: self.env.tls.clone(),
            artifacts: Some(self.env.artifacts.clone()),
            github: Some(self.env.github.clone()),
        };
        let sink = self.sink(label);
        let result = step::run(&self.env.runtime, request, sink).await?;
        if !result.produced.summary.is_empty() {
            lock(&self.summary).push_str(&format!("## {label}\n\n{}\n\n", result.produced.summary));
        }
        let outputs: Map<String, Value> = result
            .produced
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let (outcome, message) = match (&result.outcome, result.exit_code()) {
            (Ok(report), ExitCode::Success) => (Outcome::Success, report.message.clone()),
            (Ok(report), _) => (Outcome::Failure, report.message.clone()),
            (Err(e), _) => (Outcome::Failure, e.to_string()),
        };
        Ok(StepEnd {
            outcome,
            message,
            outputs,
        })
    }

    async fn command(
        &self,
        step: &Step,
        run: &tollgate_pipeline::RunStep,
        scope: &Scope,
        label: &str,
    ) -> Result<StepEnd> {
        let ctx = self.context(scope);
        let render = |t: &Template, what: &str| {
            t.render(&ctx).map_err(|e| Error::InvalidInput {
                input: format!("{label}.{what}"),
                message: e.to_string(),
            })
        };
        let script = render(&run.run, "run")?;
        let dir = match &run.working_directory {
            Some(t) => self.cwd.join(render(t, "working-directory")?),
            None => self.cwd.clone(),
        };
        let env = self.render_env(&step.env, scope)?;
        let sink = self.sink(label);
        for used in &run.use_artifacts {
            let name = render(&used.name, "use-artifacts.name")?;
            let path = dir.join(render(&used.path, "use-artifacts.path")?);
            let mut policy = self.env.artifacts.policy.clone();
            policy.expect_subject = Some(name.clone());
            let artifact = match self.env.artifacts.store.get(&name, &policy) {
                Ok(a) => a,
                Err(e) => {
                    return Ok(StepEnd::new(
                        Outcome::Failure,
                        format!("artifact `{name}` refused: {e}"),
                    ));
                }
            };
            std::fs::write(&path, &artifact.data).map_err(|e| Error::io(&path, e))?;
            sink.emit(Event::host_notice(format!(
                "artifact `{name}` verified ({}{}) and written to {}",
                artifact.digest,
                artifact
                    .signed_by
                    .map(|k| format!(", signed by {k}"))
                    .unwrap_or_else(|| ", UNSIGNED".into()),
                path.display()
            )));
        }
        let outputs_file = tempfile_path("output")?;
        let (code, tail) = shell(
            &script,
            &dir,
            &env,
            &outputs_file,
            self.env.artifacts.store.dir(),
            sink.clone(),
        )
        .await?;
        let mut outputs = parse_outputs(&std::fs::read_to_string(&outputs_file).unwrap_or_default());
        let _ = std::fs::remove_file(&outputs_file);
        outputs.insert("exit-code".into(), Value::String(code.to_string()));
        if code != 0 {
            let message = match tail {
                Some(last) => format!("exited with {code}: {last}"),
                None => format!("exited with {code}"),
            };
            return Ok(StepEnd {
                outcome: Outcome::Failure,
                message,
                outputs,
            });
        }
        let mut digests = Map::new();
        if !run.artifacts.is_empty() {
            let mut store = StepArtifacts::new(
                self.env.artifacts.clone(),
                self.run_predicate(&script, &dir),
                sink.clone(),
            );
            for decl in &run.artifacts {
                let name = render(&decl.name, "artifacts.name")?;
                if self.masker.holds_secret(&name) {
                    return Err(Error::InvalidInput {
                        input: format!("{label}.artifacts.name"),
                        message: "an artifact's name is written in clear (a file name, the statement): it may not \
                                  hold the value of a secret"
                            .into(),
                    });
                }
                let path = dir.join(render(&decl.path, "artifacts.path")?);
                let data = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                let media_type = decl
                    .media_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into());
                store
                    .put(&name, &media_type, data)
                    .map_err(|e| Error::Runner(format!("artifact `{name}`: {e}")))?;
            }
            for (name, digest) in store.finish("success") {
                digests.insert(name, Value::String(digest));
            }
            outputs.insert(
                "artifacts".into(),
                Value::String(Value::Object(digests.clone()).to_string()),
            );
        }
        let message = match digests.len() {
            0 => "exited with 0".to_string(),
            n => format!("exited with 0; {n} artifact(s) signed"),
        };
        Ok(StepEnd {
            outcome: Outcome::Success,
            message,
            outputs,
        })
    }

    fn run_predicate(&self, script: &str, dir: &Path) -> tollgate_attest::Predicate {
        let context = &self.env.context;
        let mut inputs = Map::new();
        inputs.insert("run".into(), Value::String(script.to_string()));
        inputs.insert("working-directory".into(), Value::String(dir.display().to_string()));
        let secrets: Vec<String> = self.env.secret_values.values().cloned().collect();
        tollgate_attest::Predicate {
            plugin: tollgate_attest::PluginRef {
                name: "run".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                digest: crate::sources::digest(script.as_bytes()),
            },
            inputs: tollgate_attest::redact(&inputs, &secrets),
            grants: json!({"native": "run steps execute outside the sandbox"}),
            context: crate::artifacts::run_context(context),
            started_at: tollgate_attest::rfc3339(std::time::SystemTime::now()),
            finished_at: String::new(),
            outcome: "running".into(),
        }
    }
}

fn line(id: &str, step: &Step, outcome: Outcome, conclusion: Outcome, message: String, started: Instant) -> StepLine {
    StepLine {
        id: id.to_string(),
        kind: step.kind_name(),
        outcome,
        conclusion,
        message,
        duration: started.elapsed(),
    }
}

/// `us-east`, or `us-east-large` for several axes.
fn item_label(item: &Map<String, Value>) -> String {
    item.values()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn github_context(context: &StepContext) -> Value {
    json!({
        "repository": context.repository,
        "sha": context.sha,
        "ref": context.git_ref,
        "event_name": context.event,
        "run_id": context.run_id,
        "workflow": context.workflow,
        "actor": context.actor,
    })
}
