//! The pipeline model: what a parsed and validated pipeline file says.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use tollgate_vocab::reach::{OwnerGrant, RefPattern};
use tollgate_vocab::{GithubPermission, OriginPattern};

use crate::diagnostic::{Span, suggestion};
use crate::expr::{Context, EvalError, Expr, JobStatus, Template, ValueTemplate};

/// Keys accepted at the top level of a pipeline file.
pub const TOP_LEVEL_KEYS: &[&str] = &["name", "inputs", "env", "steps", "outputs", "finally"];
/// Keys accepted in a step.
pub const STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "uses",
    "run",
    "steps",
    "with",
    "allow",
    "if",
    "continue-on-error",
    "timeout",
    "env",
    "working-directory",
    "artifacts",
    "use-artifacts",
    "matrix",
    "max-parallel",
];
/// Keys accepted in an input declaration.
pub const INPUT_KEYS: &[&str] = &["description", "required", "default"];
/// Keys accepted in a step's `allow:`.
pub const ALLOW_KEYS: &[&str] = &[
    "net", "read", "write", "secrets", "github", "refs", "owners", "timeout", "memory",
];
/// Keys accepted in an artifact declaration.
pub const ARTIFACT_KEYS: &[&str] = &["name", "path", "media-type"];
/// Context names expressions may read.
pub const CONTEXT_ROOTS: &[&str] = &["steps", "inputs", "env", "matrix", "github", "runner", "secrets"];

/// A parsed, validated pipeline file.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The file name diagnostics and runtime messages use.
    pub file: String,
    /// `name:`: a display name for the pipeline; without it, the file name is used.
    pub name: Option<String>,
    /// Declared inputs, in file order.
    pub inputs: Vec<Input>,
    /// Pipeline environment, given to every `run` step (after the step's own `env` overrides it).
    pub env: BTreeMap<String, Template>,
    /// `steps:`: the main steps, run in order.
    pub steps: Vec<Step>,
    /// Pipeline outputs, evaluated after `finally`.
    pub outputs: BTreeMap<String, Template>,
    /// Steps that always run after `steps`, even on failure, timeout or cancellation.
    pub finally: Vec<Step>,
}

/// A declared input: values come from `--input NAME=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The input's name, as read by `inputs.NAME`.
    pub name: String,
    /// `description:`: what the input is for.
    pub description: Option<String>,
    /// `required:`: the run refuses to start without a value (default `false`).
    pub required: bool,
    /// `default:`: the value when none is given, with its YAML type kept.
    pub default: Option<Value>,
    /// Where the input's name is in the file.
    pub span: Span,
}

/// One step: a plugin (`uses`), a native command (`run`) or a group (`steps`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `id:`: unique across the file; names the step in logs and in `steps.<id>`.
    pub id: String,
    /// `name:`: a human-readable label for the step.
    pub name: Option<String>,
    /// Where the step's mapping starts and ends in the file.
    pub span: Span,
    /// `if:`; `None` means "run if everything so far succeeded" (in `finally`: always).
    pub condition: Option<Expr>,
    /// `continue-on-error:`: a failure of this step does not fail the job.
    pub continue_on_error: bool,
    /// Wall-clock limit of the whole step (for a fan-out, of each item; for a group, of the whole group).
    pub timeout: Option<Duration>,
    /// Environment for `run` steps (on a group: for every `run` step inside).
    pub env: BTreeMap<String, Template>,
    /// Fan-out: the step runs once per matrix item.
    pub matrix: Option<Matrix>,
    /// What the step does: run a plugin, run a command or run nested steps.
    pub kind: StepKind,
}

/// What a step does, decided by which of `uses`, `run` or `steps` it has.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `uses:`: a sandboxed plugin.
    Uses(UsesStep),
    /// `run:`: a native command.
    Run(RunStep),
    /// `steps:`: a group of nested steps.
    Group(GroupStep),
}

/// A sandboxed plugin step.
#[derive(Debug, Clone, PartialEq)]
pub struct UsesStep {
    /// The plugin reference, as written (`builtin:region-verify`, `region-verify`, a path, an `https://` URL).
    pub uses: String,
    /// `with:`: the plugin's inputs, evaluated just before the step runs.
    pub with: BTreeMap<String, ValueTemplate>,
    /// `allow:`: what the plugin is granted (see [`Allow`]).
    pub allow: Allow,
}

/// A native command, run with `bash -eo pipefail -c` outside the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStep {
    /// `run:`: the script, evaluated just before the step runs.
    pub run: Template,
    /// `working-directory:`: where the command runs, relative to where `tollgate` runs; `None`: there.
    pub working_directory: Option<Template>,
    /// Files registered as signed artifacts after the command succeeds.
    pub artifacts: Vec<ArtifactDecl>,
    /// Artifacts verified (digest, signature, subject) and written to `path` before the command runs.
    pub use_artifacts: Vec<ArtifactDecl>,
}

/// Nested steps, run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStep {
    /// The nested steps.
    pub steps: Vec<Step>,
}

/// A file a `run` step registers as a signed artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactDecl {
    /// `name:`: the artifact's name in the store (its attested subject).
    pub name: Template,
    /// `path:`: the file, relative to the step's working directory.
    pub path: Template,
    /// `media-type:`: the artifact's media type; `None`: `application/octet-stream`.
    pub media_type: Option<String>,
    /// Where the declaration is in the file.
    pub span: Span,
}

/// What a plugin step is granted. Literal values only: grants never come from expressions. Every value is
/// checked by `tollgate_vocab` when the file is loaded, so what `--dry-run` shows is what the run grants.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allow {
    /// Origins: `scheme://host[:port]`, with `*.` subdomain and `:*` port wildcards.
    pub net: Vec<OriginPattern>,
    /// Directories the plugin may read, as written (relative to where `tollgate` runs).
    pub read: Vec<String>,
    /// Directories the plugin may read and write, as written.
    pub write: Vec<String>,
    /// Secret names (environment variable names); each value is read from the variable of that name.
    pub secrets: Vec<String>,
    /// GitHub permissions, e.g. `pull-requests:write`.
    pub github: Vec<GithubPermission>,
    /// Refs outside the plugin's own `refs/tollgate/…` that `contents:write` may move.
    pub refs: Vec<RefPattern>,
    /// Owners (or `*`) whose comments and issues the plugin may change besides its own.
    pub owners: Vec<OwnerGrant>,
    /// Plugin wall-clock limit.
    pub timeout: Option<Duration>,
    /// Plugin linear-memory limit in bytes.
    pub memory: Option<u64>,
}

/// A fan-out: the cartesian product of its axes, each item run as a copy of the step.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The axes, in file order.
    pub axes: Vec<MatrixAxis>,
    /// At most this many items at once; `None`: all at once.
    pub max_parallel: Option<u32>,
    /// Where the `matrix:` mapping is in the file.
    pub span: Span,
}

/// One key of `matrix:` and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixAxis {
    /// The key, as read by `matrix.NAME`.
    pub name: String,
    /// The values the key takes, one per item of this axis.
    pub values: AxisValues,
    /// Where the key and its values are in the file.
    pub span: Span,
}

/// The values of a matrix axis: a literal list or an expression giving one.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisValues {
    /// `region: [us-east, eu-west]`
    List(Vec<ValueTemplate>),
    /// `region: ${{ fromJSON(inputs.regions) }}`: must evaluate to a list.
    Expr(Expr),
}

impl Matrix {
    /// The axis names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.axes.iter().map(|a| a.name.as_str())
    }

    /// Every item of the fan-out, in order (the last axis varies fastest).
    pub fn expand(&self, ctx: &dyn Context) -> Result<Vec<Map<String, Value>>, EvalError> {
        let mut items = vec![Map::new()];
        for axis in &self.axes {
            let values = match &axis.values {
                AxisValues::List(list) => list.iter().map(|v| v.eval(ctx)).collect::<Result<Vec<_>, _>>()?,
                AxisValues::Expr(expr) => match expr.eval(ctx)? {
                    Value::Array(values) => values,
                    other => {
                        return Err(EvalError::Type(format!(
                            "matrix `{}` must be a list, but `{expr}` is {}",
                            axis.name,
                            crate::expr::to_string(&other)
                        )));
                    }
                },
            };
            items = items
                .into_iter()
                .flat_map(|item| {
                    values.iter().map(move |v| {
                        let mut next = item.clone();
                        next.insert(axis.name.clone(), v.clone());
                        next
                    })
                })
                .collect();
        }
        Ok(items)
    }
}

/// Which list of a pipeline a step is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `steps:`, including groups nested in it.
    Steps,
    /// `finally:`, including groups nested in it.
    Finally,
}

/// A step found by [`Pipeline::walk_steps`].
#[derive(Debug, Clone, Copy)]
pub struct StepVisit<'a> {
    /// The step.
    pub step: &'a Step,
    /// Whether it is under `steps:` or `finally:`.
    pub section: Section,
    /// 0 for a step listed directly under `steps:` or `finally:`, 1 inside a group, …
    pub depth: usize,
    /// The group the step is in.
    pub parent: Option<&'a Step>,
}

impl Step {
    /// The nested steps of a group, or nothing.
    pub fn children(&self) -> &[Step] {
        match &self.kind {
            StepKind::Group(group) => &group.steps,
            _ => &[],
        }
    }

    /// `uses`, `run` or `group`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            StepKind::Uses(_) => "uses",
            StepKind::Run(_) => "run",
            StepKind::Group(_) => "group",
        }
    }

    /// Whether the step should run, given its `if:` and how the job is going. A condition without a status
    /// function reads as `success() && (…)` under `steps:`; under `finally:` a step runs whatever the status
    /// unless its own condition says otherwise.
    pub fn should_run(&self, ctx: &dyn Context, section: Section) -> Result<bool, EvalError> {
        let implicit = section == Section::Steps;
        let status_ok = ctx.job_status() == JobStatus::Success;
        match &self.condition {
            None => Ok(!implicit || status_ok),
            Some(expr) if implicit && !expr.uses_status_function() => Ok(status_ok && expr.eval_bool(ctx)?),
            Some(expr) => expr.eval_bool(ctx),
        }
    }
}

impl Pipeline {
    /// Every step, depth first in file order: `steps` (groups before their children), then `finally`.
    pub fn walk_steps(&self) -> Vec<StepVisit<'_>> {
        fn walk<'a>(
            steps: &'a [Step],
            section: Section,
            depth: usize,
            parent: Option<&'a Step>,
            out: &mut Vec<StepVisit<'a>>,
        ) {
            for step in steps {
                out.push(StepVisit {
                    step,
                    section,
                    depth,
                    parent,
                });
                walk(step.children(), section, depth + 1, Some(step), out);
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, Section::Steps, 0, None, &mut out);
        walk(&self.finally, Section::Finally, 0, None, &mut out);
        out
    }

    /// The step with this id, wherever it is.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.walk_steps().into_iter().map(|v| v.step).find(|s| s.id == id)
    }

    /// The declared input with this name.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Check the values given on the command line against the declared inputs and fill in defaults: the
    /// `inputs` context. Unset optional inputs without a default are absent (they read as null).
    pub fn bind_inputs(&self, given: &BTreeMap<String, Value>) -> Result<Map<String, Value>, Vec<String>> {
        let mut problems = Vec::new();
        for name in given.keys() {
            if self.input(name).is_none() {
                let mut message = format!("unknown input `{name}`");
                match suggestion(name, self.inputs.iter().map(|i| i.name.as_str())) {
                    Some(hint) => message.push_str(&format!("; {hint}")),
                    None if self.inputs.is_empty() => message.push_str("; this pipeline declares no inputs"),
                    None => {
                        let names: Vec<_> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                        message.push_str(&format!("; inputs are {}", names.join(", ")));
                    }
                }
                problems.push(message);
            }
        }
        let mut bound = Map::new();
        for input in &self.inputs {
            match (given.get(&input.name), &input.default) {
                (Some(v), _) | (None, Some(v)) => {
                    bound.insert(input.name.clone(), v.clone());
                }
                (None, None) if input.required => {
                    problems.push(format!("input `{0}` is required; pass `--input {0}=VALUE`", input.name));
                }
                (None, None) => {}
            }
        }
        if problems.is_empty() { Ok(bound) } else { Err(problems) }
    }
}
