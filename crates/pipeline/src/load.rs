//! Turning YAML into a [`Pipeline`]: shape and type checks, ids, grants, expressions and the references
//! between steps, every problem reported with its position.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use saphyr_parser::ScalarStyle;
use serde_json::Value;
use tollgate_vocab::reach::{OwnerGrant, RefPattern};
use tollgate_vocab::{
    GithubPermission, Invalid, OriginPattern, check_secret_name, is_env_name, parse_duration, parse_size,
};

use crate::diagnostic::{Diagnostic, Pos, Span, suggestion};
use crate::expr::{self, Expr, ExprError, Reference, Template, ValueTemplate};
use crate::model::*;
use crate::yaml::{self, Kind, Node};

/// Parse and validate a pipeline file. On failure, every problem found, in file order.
pub fn parse(file_name: &str, text: &str) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut loader = Loader {
        file: file_name,
        lines: text.lines().map(|l| l.chars().collect()).collect(),
        diags: Vec::new(),
        ids: Vec::new(),
        sites: Vec::new(),
        inputs: Vec::new(),
    };
    let root = match yaml::load(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let hint = Some("a pipeline needs at least a `steps:` list".to_string());
            return Err(vec![Diagnostic::new(
                file_name,
                Pos { line: 1, column: 1 },
                "the pipeline file is empty",
                hint,
            )]);
        }
        Err(e) => {
            return Err(vec![Diagnostic::new(
                file_name,
                e.pos,
                format!("invalid YAML: {}", e.message),
                None,
            )]);
        }
    };
    let pipeline = loader.pipeline(&root);
    loader.check_references();
    let mut diags = loader.diags;
    diags.sort_by_key(|d| d.pos());
    match pipeline {
        Some(p) if diags.is_empty() => Ok(p),
        _ => Err(diags),
    }
}

/// A step id as declared, for explaining references that cannot see it.
struct IdInfo {
    id: String,
    pos: Pos,
    /// The group the step is directly in.
    group: Option<String>,
    section: Section,
}

/// What expressions at one place in the file may read.
#[derive(Debug, Clone)]
struct Scope {
    /// For messages: "pipeline env", "step `plan`", "pipeline outputs".
    place: String,
    steps_allowed: bool,
    visible: Vec<String>,
    current: Option<String>,
    enclosing: Vec<String>,
    section: Section,
    /// Keys of the enclosing fan-outs; `None` outside any fan-out.
    matrix: Option<Vec<String>>,
}

/// A context reference to check once every step id is known.
struct Site {
    reference: Reference,
    pos: Pos,
    scope: Rc<Scope>,
}

/// Where a list of steps sits.
#[derive(Clone)]
struct StepsCtx {
    section: Section,
    visible: Vec<String>,
    enclosing: Vec<String>,
    matrix: Option<Vec<String>>,
}

struct Loader<'a> {
    file: &'a str,
    lines: Vec<Vec<char>>,
    diags: Vec<Diagnostic>,
    ids: Vec<IdInfo>,
    sites: Vec<Site>,
    inputs: Vec<String>,
}

fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn get<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    entries.iter().find(|(k, _)| k.key_text() == key).map(|(_, v)| v)
}

fn get_entry<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<(&'n Node, &'n Node)> {
    entries.iter().find(|(k, _)| k.key_text() == key).map(|(k, v)| (k, v))
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar(s) if s.value == Value::Null)
}

/// Hints for keys people bring over from GitHub Actions.
fn familiar_key_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "jobs" => "a pipeline has no jobs: list its steps under `steps:`",
        "on" => "a pipeline has no triggers: it runs when `tollgate` runs it",
        "runs-on" => "a pipeline runs where `tollgate` runs; there is no `runs-on`",
        "shell" => "`run` steps always use `bash -eo pipefail -c`",
        "timeout-minutes" => "write `timeout: 10m`",
        "strategy" => "fan out with `matrix:` directly on the step",
        "needs" => "steps run in order; group steps with `steps:`",
        "fail-fast" => "fan-out items all run; use `continue-on-error` to keep going after a failure",
        _ => return None,
    })
}

impl Loader<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.diags.push(Diagnostic::new(self.file, pos, message, hint));
    }

    /// The position of the character at `offset` in a scalar's value, when the value can be found verbatim
    /// in the source; otherwise the scalar's start.
    fn locate(&self, node: &Node, offset: usize) -> Pos {
        let start = node.span.start;
        let Some(scalar) = node.as_scalar() else { return start };
        let text: Vec<char> = scalar.text.chars().collect();
        let before = &text[..offset.min(text.len())];
        match scalar.style {
            ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if !text.contains(&'\n') => {
                let skip = usize::from(scalar.style != ScalarStyle::Plain);
                let col0 = start.column - 1 + skip;
                let line = self.lines.get(start.line - 1);
                if line.is_some_and(|l| l.get(col0..col0 + text.len()) == Some(&text[..])) {
                    return Pos {
                        line: start.line,
                        column: col0 + offset + 1,
                    };
                }
                start
            }
            ScalarStyle::Literal => {
                let line_index = before.iter().filter(|c| **c == '\n').count();
                let column_in_line = before.iter().rev().take_while(|c| **c != '\n').count();
                let content: String = text
                    .split(|c| *c == '\n')
                    .nth(line_index)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                // The node starts at its first line of content (or, in some spellings, at the `|` before it).
                for source_line in [start.line + line_index, start.line + 1 + line_index] {
                    match self.lines.get(source_line - 1) {
                        Some(l) if !content.is_empty() && l.iter().collect::<String>().ends_with(&content) => {
                            let indent = l.len() - content.chars().count();
                            return Pos {
                                line: source_line,
                                column: indent + column_in_line + 1,
                            };
                        }
                        _ => {}
                    }
                }
                start
            }
            _ => start,
        }
    }

    fn expr_error(&mut self, node: &Node, e: ExprError, base: usize) {
        let pos = self.locate(node, base + e.offset);
        self.error(pos, format!("invalid expression: {}", e.message), e.hint);
    }

    fn add_sites(&mut self, node: &Node, expr: &Expr, base: usize, scope: &Rc<Scope>) {
        for reference in expr.references() {
            let pos = self.locate(node, base + reference.offset);
            self.sites.push(Site {
                reference,
                pos,
                scope: scope.clone(),
            });
        }
    }

    // -- shapes -------------------------------------------------------------------------------------------------

    /// A mapping's entries; `null` (an empty key) counts as an empty mapping.
    fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => {
                self.check_duplicates(entries, what);
                Some(entries)
            }
            _ if is_null(node) => Some(&[]),
            _ => {
                self.error(
                    node.span.start,
                    format!("{what} must be a mapping, found {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    /// A list's items; `null` counts as an empty list.
    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ if is_null(node) => Some(&[]),
            _ => {
                let hint =
                    matches!(node.kind, Kind::Scalar(_)).then(|| "write a list: `[a, b]` or `- a` lines".to_string());
                self.error(
                    node.span.start,
                    format!("{what} must be a list, found {}", node.describe()),
                    hint,
                );
                None
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) if s.value.is_string() => Some(s.text.clone()),
            _ => {
                self.error(
                    node.span.start,
                    format!("{what} must be a string, found {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.as_scalar().map(|s| &s.value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => {
                let hint = Some("write `true` or `false`".to_string());
                self.error(
                    node.span.start,
                    format!("{what} must be `true` or `false`, found {}", node.describe()),
                    hint,
                );
                None
            }
        }
    }

    /// Report keys set twice in one mapping.
    fn check_duplicates(&mut self, entries: &[(Node, Node)], what: &str) {
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        for (key, _) in entries {
            let name = key.key_text();
            match seen.get(&name) {
                Some(first) => {
                    let hint = Some(format!("`{name}` is first set at line {}", first.line));
                    self.error(key.span.start, format!("duplicate key `{name}` in {what}"), hint);
                }
                None => {
                    seen.insert(name, key.span.start);
                }
            }
        }
    }

    /// Report keys that are not allowed here.
    fn check_keys(&mut self, entries: &[(Node, Node)], allowed: &[&str], place: &str) {
        for (key, _) in entries {
            let name = key.key_text();
            if !allowed.contains(&name.as_str()) {
                let hint = familiar_key_hint(&name)
                    .map(str::to_string)
                    .or_else(|| suggestion(&name, allowed.iter().copied()))
                    .or_else(|| Some(format!("allowed keys are {}", allowed.join(", "))));
                self.error(key.span.start, format!("unknown key `{name}` in {place}"), hint);
            }
        }
    }

    /// A scalar to check against a vocabulary: strings and numbers by their text (so `timeout: 5` is refused for
    /// having no unit, not for being a number); anything else is reported as not being `kind`.
    fn vocab_text(&mut self, node: &Node, what: &str, kind: &str, syntax: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) if s.value.is_string() || s.value.is_number() => Some(s.text.clone()),
            _ => {
                self.error(
                    node.span.start,
                    format!("{what} must be {kind}, found {}", node.describe()),
                    Some(syntax.to_string()),
                );
                None
            }
        }
    }

    /// Report a value its vocabulary refused; `place` names where it is, e.g. `` `timeout` ``.
    fn invalid(&mut self, pos: Pos, place: Option<&str>, e: &Invalid) {
        let (message, hint) = describe_invalid(place, e);
        self.error(pos, message, hint);
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = self.vocab_text(node, what, "a duration", tollgate_vocab::duration::SYNTAX)?;
        parse_duration(&text)
            .map_err(|e| self.invalid(node.span.start, Some(what), &e))
            .ok()
    }

    fn memory(&mut self, node: &Node, what: &str) -> Option<u64> {
        let text = self.vocab_text(node, what, "a size", tollgate_vocab::size::SYNTAX)?;
        parse_size(&text)
            .map_err(|e| self.invalid(node.span.start, Some(what), &e))
            .ok()
    }

    // -- templates ----------------------------------------------------------------------------------------------

    /// A scalar as a template (numbers and booleans by their text, null as empty).
    fn template(&mut self, node: &Node, what: &str, scope: &Rc<Scope>) -> Option<Template> {
        let Some(scalar) = node.as_scalar() else {
            self.error(
                node.span.start,
                format!("{what} must be a string, found {}", node.describe()),
                None,
            );
            return None;
        };
        let text = if scalar.value.is_null() {
            String::new()
        } else {
            scalar.text.clone()
        };
        match Template::parse(&text) {
            Ok(template) => {
                for (expr, offset) in template.expressions() {
                    self.add_sites(node, expr, offset, scope);
                }
                Some(template)
            }
            Err(e) => {
                self.expr_error(node, e, 0);
                None
            }
        }
    }

    fn value_template(&mut self, node: &Node, scope: &Rc<Scope>) -> Option<ValueTemplate> {
        Some(match &node.kind {
            Kind::Scalar(s) => match &s.value {
                Value::Null => ValueTemplate::Null,
                Value::Bool(b) => ValueTemplate::Bool(*b),
                Value::Number(n) => ValueTemplate::Number(n.clone()),
                _ => ValueTemplate::String(self.template(node, "value", scope)?),
            },
            Kind::Seq(items) => {
                let values: Vec<_> = items.iter().map(|i| self.value_template(i, scope)).collect();
                ValueTemplate::Array(values.into_iter().collect::<Option<_>>()?)
            }
            Kind::Map(entries) => {
                let values: Vec<_> = entries
                    .iter()
                    .map(|(k, v)| self.value_template(v, scope).map(|v| (k.key_text(), v)))
                    .collect();
                ValueTemplate::Object(values.into_iter().collect::<Option<_>>()?)
            }
        })
    }

    /// `env:`-style mapping of names to templates.
    fn env(&mut self, node: &Node, place: &str, scope: &Rc<Scope>) -> BTreeMap<String, Template> {
        let mut env = BTreeMap::new();
        let Some(entries) = self.map(node, &format!("`env` of {place}")) else {
            return env;
        };
        for (key, value) in entries {
            let name = key.key_text();
            if !is_env_name(&name) {
                let hint =
                    Some("environment variable names are letters, digits and `_`, not starting with a digit".into());
                self.error(
                    key.span.start,
                    format!("`{name}` is not a valid environment variable name"),
                    hint,
                );
            }
            if let Some(t) = self.template(value, &format!("env `{name}`"), scope) {
                env.insert(name, t);
            }
        }
        env
    }

    // -- the file -----------------------------------------------------------------------------------------------

    fn pipeline(&mut self, root: &Node) -> Option<Pipeline> {
        let entries = self.map(root, "a pipeline file")?;
        self.check_keys(entries, TOP_LEVEL_KEYS, "the pipeline");
        let name = get(entries, "name").and_then(|n| self.string(n, "`name`"));
        let inputs = get(entries, "inputs").map(|n| self.inputs(n)).unwrap_or_default();
        self.inputs = inputs.iter().map(|i| i.name.clone()).collect();

        let env_scope = Rc::new(Scope {
            place: "the pipeline env".into(),
            steps_allowed: false,
            visible: Vec::new(),
            current: None,
            enclosing: Vec::new(),
            section: Section::Steps,
            matrix: None,
        });
        let env = get(entries, "env")
            .map(|n| self.env(n, "the pipeline", &env_scope))
            .unwrap_or_default();

        let steps = match get(entries, "steps") {
            Some(node) => {
                let ctx = StepsCtx {
                    section: Section::Steps,
                    visible: Vec::new(),
                    enclosing: Vec::new(),
                    matrix: None,
                };
                let steps = self.steps(node, &ctx);
                if is_null(node) || matches!(&node.kind, Kind::Seq(items) if items.is_empty()) {
                    self.error(node.span.start, "`steps` lists no steps", None);
                }
                steps
            }
            None => {
                let hint = Some("list what the pipeline does under `steps:`".to_string());
                self.error(root.span.start, "the pipeline has no `steps`", hint);
                Vec::new()
            }
        };
        let step_ids: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        let finally = match get(entries, "finally") {
            Some(node) => {
                let ctx = StepsCtx {
                    section: Section::Finally,
                    visible: step_ids.clone(),
                    enclosing: Vec::new(),
                    matrix: None,
                };
                self.steps(node, &ctx)
            }
            None => Vec::new(),
        };
        let mut all_top = step_ids;
        all_top.extend(finally.iter().map(|s| s.id.clone()));
        let outputs_scope = Rc::new(Scope {
            place: "the pipeline outputs".into(),
            steps_allowed: true,
            visible: all_top,
            current: None,
            enclosing: Vec::new(),
            section: Section::Finally,
            matrix: None,
        });
        let mut outputs = BTreeMap::new();
        if let Some(node) = get(entries, "outputs")
            && let Some(entries) = self.map(node, "`outputs`")
        {
            for (key, value) in entries {
                let name = key.key_text();
                if !is_id(&name) {
                    let hint = Some("output names are letters, digits, `_` and `-`".to_string());
                    self.error(key.span.start, format!("`{name}` is not a valid output name"), hint);
                }
                if let Some(t) = self.template(value, &format!("output `{name}`"), &outputs_scope) {
                    outputs.insert(name, t);
                }
            }
        }
        Some(Pipeline {
            file: self.file.to_string(),
            name,
            inputs,
            env,
            steps,
            outputs,
            finally,
        })
    }

    fn inputs(&mut self, node: &Node) -> Vec<Input> {
        let mut inputs = Vec::new();
        let Some(entries) = self.map(node, "`inputs`") else {
            return inputs;
        };
        for (key, value) in entries {
            let name = key.key_text();
            if !is_id(&name) {
                let hint = Some("input names are letters, digits, `_` and `-`, starting with a letter or `_`".into());
                self.error(key.span.start, format!("`{name}` is not a valid input name"), hint);
            }
            let Some(props) = self.map(value, &format!("input `{name}`")) else {
                continue;
            };
            self.check_keys(props, INPUT_KEYS, &format!("input `{name}`"));
            let description = get(props, "description").and_then(|n| self.string(n, "`description`"));
            let required = get(props, "required")
                .and_then(|n| self.boolean(n, "`required`"))
                .unwrap_or(false);
            let default = get(props, "default").map(Node::to_json);
            inputs.push(Input {
                name,
                description,
                required,
                default,
                span: key.span,
            });
        }
        inputs
    }

    fn steps(&mut self, node: &Node, ctx: &StepsCtx) -> Vec<Step> {
        let Some(items) = self.seq(node, "`steps`") else {
            return Vec::new();
        };
        let mut ctx = ctx.clone();
        let mut steps = Vec::new();
        for item in items {
            if let Some(step) = self.step(item, &ctx) {
                ctx.visible.push(step.id.clone());
                steps.push(step);
            }
        }
        steps
    }

    fn step(&mut self, node: &Node, ctx: &StepsCtx) -> Option<Step> {
        let entries = self.map(node, "a step")?;
        let id_node = get(entries, "id");
        let id = match id_node {
            Some(n) => self.string(n, "`id`"),
            None => {
                let hint =
                    Some("give every step an id, e.g. `id: plan`: ids name steps in logs and in `steps.<id>`".into());
                self.error(node.span.start, "step has no `id`", hint);
                None
            }
        };
        let place = match &id {
            Some(id) => format!("step `{id}`"),
            None => "a step".to_string(),
        };
        self.check_keys(entries, STEP_KEYS, &place);
        if let (Some(id), Some(id_node)) = (&id, id_node) {
            self.declare_id(id, id_node.span.start, ctx);
        }

        // What the step is.
        let kinds: Vec<(&Node, &str)> = ["uses", "run", "steps"]
            .into_iter()
            .filter_map(|k| get_entry(entries, k).map(|(key, _)| (key, k)))
            .collect();
        match kinds.as_slice() {
            [] => {
                let hint =
                    Some("a step runs a plugin (`uses:`), a command (`run:`) or a group of steps (`steps:`)".into());
                self.error(
                    node.span.start,
                    format!("{place} has none of `uses`, `run` or `steps`"),
                    hint,
                );
            }
            [_] => {}
            [(_, first), (key, second), ..] => {
                let hint = Some("a step does exactly one thing; split it into separate steps".to_string());
                self.error(
                    key.span.start,
                    format!("{place} has both `{first}` and `{second}`"),
                    hint,
                );
            }
        }
        let kind = kinds.first().map(|(_, k)| *k);

        // The fan-out, first: its keys are in scope for everything else in the step.
        let outer_scope = Rc::new(Scope {
            place: place.clone(),
            steps_allowed: true,
            visible: ctx.visible.clone(),
            current: id.clone(),
            enclosing: ctx.enclosing.clone(),
            section: ctx.section,
            matrix: ctx.matrix.clone(),
        });
        let mut matrix = get(entries, "matrix").and_then(|n| self.matrix(n, &outer_scope));
        if let Some((key, value)) = get_entry(entries, "max-parallel") {
            let max = match value.as_scalar().and_then(|s| s.value.as_u64()) {
                Some(n) if n >= 1 && n <= u64::from(u32::MAX) => Some(n as u32),
                _ => {
                    let hint = Some("write a whole number such as `max-parallel: 2`".to_string());
                    self.error(value.span.start, "`max-parallel` must be 1 or more", hint);
                    None
                }
            };
            match &mut matrix {
                Some(m) => m.max_parallel = max,
                None if get(entries, "matrix").is_none() => {
                    let hint = Some("`max-parallel` limits a fan-out; add `matrix:` or remove it".to_string());
                    self.error(key.span.start, "`max-parallel` without `matrix`", hint);
                }
                None => {}
            }
        }
        let mut matrix_keys = ctx.matrix.clone();
        if let Some(m) = &matrix {
            let keys = matrix_keys.get_or_insert_with(Vec::new);
            keys.extend(m.keys().map(str::to_string));
        }
        let scope = Rc::new(Scope {
            matrix: matrix_keys.clone(),
            ..(*outer_scope).clone()
        });

        let name = get(entries, "name").and_then(|n| self.string(n, "`name`"));
        let condition = get(entries, "if").and_then(|n| self.condition(n, &scope));
        let continue_on_error = get(entries, "continue-on-error")
            .and_then(|n| self.boolean(n, "`continue-on-error`"))
            .unwrap_or(false);
        let timeout = get(entries, "timeout").and_then(|n| self.duration(n, "`timeout`"));
        let env = get(entries, "env")
            .map(|n| self.env(n, &place, &scope))
            .unwrap_or_default();

        // Keys that belong to one kind of step.
        for (key, owner, hint) in [
            (
                "with",
                "uses",
                "plugin inputs go with `uses:`; a `run` step reads `env:`",
            ),
            (
                "allow",
                "uses",
                "grants apply to sandboxed plugins; `run` steps run outside the sandbox",
            ),
            ("working-directory", "run", "only `run` steps have a working directory"),
            (
                "artifacts",
                "run",
                "plugins register artifacts themselves; `artifacts:` is for `run` steps",
            ),
            (
                "use-artifacts",
                "run",
                "plugins fetch and verify artifacts themselves; `use-artifacts:` is for `run` steps",
            ),
            (
                "env",
                "run",
                "plugins see no environment variables; pass values with `with:`",
            ),
        ] {
            let allowed = kind == Some(owner) || kind.is_none() || (key == "env" && kind == Some("steps"));
            if let (false, Some((k, _))) = (allowed, get_entry(entries, key)) {
                let kind_text = match kind {
                    Some("uses") => "a `uses` step",
                    Some("run") => "a `run` step",
                    _ => "a group",
                };
                self.error(
                    k.span.start,
                    format!("`{key}` does not apply to {kind_text}"),
                    Some(hint.to_string()),
                );
            }
        }

        let step_kind = match kind {
            Some("uses") => {
                let uses = get(entries, "uses")
                    .and_then(|n| self.string(n, "`uses`"))
                    .unwrap_or_default();
                let mut with = BTreeMap::new();
                if let Some(node) = get(entries, "with")
                    && let Some(entries) = self.map(node, "`with`")
                {
                    for (k, v) in entries {
                        if let Some(v) = self.value_template(v, &scope) {
                            with.insert(k.key_text(), v);
                        }
                    }
                }
                let allow = get(entries, "allow").map(|n| self.allow(n)).unwrap_or_default();
                StepKind::Uses(UsesStep { uses, with, allow })
            }
            Some("run") => {
                let run = get(entries, "run").and_then(|n| {
                    if n.as_scalar().is_some_and(|s| s.value.is_string()) {
                        self.template(n, "`run`", &scope)
                    } else {
                        self.string(n, "`run`");
                        None
                    }
                });
                let working_directory =
                    get(entries, "working-directory").and_then(|n| self.template(n, "`working-directory`", &scope));
                let artifacts = get(entries, "artifacts")
                    .map(|n| self.artifacts(n, &scope))
                    .unwrap_or_default();
                let use_artifacts = get(entries, "use-artifacts")
                    .map(|n| self.artifacts(n, &scope))
                    .unwrap_or_default();
                StepKind::Run(RunStep {
                    run: run.unwrap_or_else(|| Template::literal("")),
                    working_directory,
                    artifacts,
                    use_artifacts,
                })
            }
            Some(_) => {
                let mut inner = ctx.clone();
                inner.enclosing.extend(id.clone());
                inner.matrix = matrix_keys;
                let steps = get(entries, "steps").map(|n| self.steps(n, &inner)).unwrap_or_default();
                if let Some((k, n)) = get_entry(entries, "steps")
                    && (is_null(n) || matches!(&n.kind, Kind::Seq(s) if s.is_empty()))
                {
                    self.error(k.span.start, format!("the group {place} lists no steps"), None);
                }
                StepKind::Group(GroupStep { steps })
            }
            None => StepKind::Group(GroupStep { steps: Vec::new() }),
        };
        Some(Step {
            id: id?,
            name,
            span: node.span,
            condition,
            continue_on_error,
            timeout,
            env,
            matrix,
            kind: step_kind,
        })
    }

    fn declare_id(&mut self, id: &str, pos: Pos, ctx: &StepsCtx) {
        if !is_id(id) {
            let hint = Some("ids are letters, digits, `_` and `-`, starting with a letter or `_`".to_string());
            self.error(pos, format!("`{id}` is not a valid step id"), hint);
        }
        if let Some(first) = self.ids.iter().find(|i| i.id == id) {
            let hint = Some(format!(
                "`{id}` is first used at line {}; ids are unique across the whole file",
                first.pos.line
            ));
            self.error(pos, format!("duplicate step id `{id}`"), hint);
            return;
        }
        self.ids.push(IdInfo {
            id: id.to_string(),
            pos,
            group: ctx.enclosing.last().cloned(),
            section: ctx.section,
        });
    }

    fn condition(&mut self, node: &Node, scope: &Rc<Scope>) -> Option<Expr> {
        let text = match node.as_scalar().map(|s| &s.value) {
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => {
                let hint = Some("write a condition such as `if: success() && inputs.apply`".to_string());
                self.error(
                    node.span.start,
                    format!("`if` must be an expression, found {}", node.describe()),
                    hint,
                );
                return None;
            }
        };
        match expr::parse_condition(&text) {
            Ok((expr, offset)) => {
                self.add_sites(node, &expr, offset, scope);
                Some(expr)
            }
            Err(e) => {
                self.expr_error(node, e, 0);
                None
            }
        }
    }

    fn matrix(&mut self, node: &Node, scope: &Rc<Scope>) -> Option<Matrix> {
        let entries = self.map(node, "`matrix`")?;
        if entries.is_empty() {
            let hint = Some("name at least one axis, e.g. `matrix: { region: [us-east, eu-west] }`".to_string());
            self.error(node.span.start, "`matrix` has no keys", hint);
            return None;
        }
        let mut axes = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let name = key.key_text();
            if name == "include" || name == "exclude" {
                let hint = Some("list the values you want on each axis, or build the list with an expression".into());
                self.error(key.span.start, format!("matrix `{name}` is not supported"), hint);
                ok = false;
                continue;
            }
            if !is_id(&name) {
                let hint = Some("matrix keys are letters, digits, `_` and `-`, starting with a letter or `_`".into());
                self.error(key.span.start, format!("`{name}` is not a valid matrix key"), hint);
                ok = false;
            }
            let span = Span {
                start: key.span.start,
                end: value.span.end,
            };
            let values = match &value.kind {
                Kind::Seq(items) if items.is_empty() => {
                    self.error(value.span.start, format!("matrix `{name}` has no values"), None);
                    None
                }
                Kind::Seq(items) => {
                    let values: Vec<_> = items.iter().map(|i| self.value_template(i, scope)).collect();
                    values.into_iter().collect::<Option<Vec<_>>>().map(AxisValues::List)
                }
                Kind::Scalar(s) if s.value.is_string() && s.text.contains("${{") => {
                    match self.template(value, &format!("matrix `{name}`"), scope) {
                        Some(t) => match t.expressions().collect::<Vec<_>>().as_slice() {
                            [(expr, _)]
                                if t.source().trim().starts_with("${{") && t.source().trim().ends_with("}}") =>
                            {
                                Some(AxisValues::Expr((*expr).clone()))
                            }
                            _ => {
                                let hint = Some("write one `${{ }}` that evaluates to a list".to_string());
                                self.error(
                                    value.span.start,
                                    format!("matrix `{name}` must be one expression"),
                                    hint,
                                );
                                None
                            }
                        },
                        None => None,
                    }
                }
                _ => {
                    let hint = Some(format!(
                        "write `{name}: [a, b]` or `{name}: ${{{{ fromJSON(inputs.{name}s) }}}}` (quoted in a flow mapping)"
                    ));
                    self.error(
                        value.span.start,
                        format!("matrix `{name}` must be a list or an expression"),
                        hint,
                    );
                    None
                }
            };
            match values {
                Some(values) => axes.push(MatrixAxis { name, values, span }),
                None => ok = false,
            }
        }
        ok.then_some(Matrix {
            axes,
            max_parallel: None,
            span: node.span,
        })
    }

    fn allow(&mut self, node: &Node) -> Allow {
        let mut allow = Allow::default();
        let Some(entries) = self.map(node, "`allow`") else {
            return allow;
        };
        self.check_keys(entries, ALLOW_KEYS, "`allow`");
        let vocab = |e: Invalid| describe_invalid(None, &e);
        for (key, value) in entries {
            let name = key.key_text();
            match name.as_str() {
                "net" => allow.net = self.grants(value, &name, |t| OriginPattern::parse(t).map_err(vocab)),
                "read" => allow.read = self.grants(value, &name, path_grant),
                "write" => allow.write = self.grants(value, &name, path_grant),
                "secrets" => {
                    allow.secrets = self.grants(value, &name, |t| {
                        check_secret_name(t).map(|()| t.to_string()).map_err(vocab)
                    })
                }
                "github" => allow.github = self.grants(value, &name, |t| GithubPermission::parse(t).map_err(vocab)),
                "refs" => allow.refs = self.grants(value, &name, |t| RefPattern::parse(t).map_err(vocab)),
                "owners" => allow.owners = self.grants(value, &name, |t| OwnerGrant::parse(t).map_err(vocab)),
                "timeout" => allow.timeout = self.duration(value, "`allow.timeout`"),
                "memory" => allow.memory = self.memory(value, "`allow.memory`"),
                _ => {}
            }
        }
        allow
    }

    /// The entries of the list `allow.NAME`, each checked by `parse`. Grants are literals: an expression is an
    /// error.
    fn grants<T>(
        &mut self,
        node: &Node,
        name: &str,
        parse: impl Fn(&str) -> Result<T, (String, Option<String>)>,
    ) -> Vec<T> {
        let mut values = Vec::new();
        let Some(items) = self.seq(node, &format!("`allow.{name}`")) else {
            return values;
        };
        for item in items {
            let Some(text) = self.string(item, &format!("an entry of `allow.{name}`")) else {
                continue;
            };
            if text.contains("${{") {
                let hint = Some("grants are written literally so a reviewer sees exactly what a step may do".into());
                self.error(item.span.start, "grants cannot use expressions", hint);
                continue;
            }
            match parse(&text) {
                Ok(value) => values.push(value),
                Err((message, hint)) => self.error(item.span.start, message, hint),
            }
        }
        values
    }

    fn artifacts(&mut self, node: &Node, scope: &Rc<Scope>) -> Vec<ArtifactDecl> {
        let mut out = Vec::new();
        let Some(items) = self.seq(node, "`artifacts`") else {
            return out;
        };
        for item in items {
            let Some(entries) = self.map(item, "an artifact") else {
                continue;
            };
            self.check_keys(entries, ARTIFACT_KEYS, "an artifact");
            let name = get(entries, "name").and_then(|n| self.template(n, "artifact `name`", scope));
            let path = get(entries, "path").and_then(|n| self.template(n, "artifact `path`", scope));
            let media_type = get(entries, "media-type").and_then(|n| self.string(n, "`media-type`"));
            for (key, present) in [("name", name.is_some()), ("path", path.is_some())] {
                if !present && get(entries, key).is_none() {
                    self.error(item.span.start, format!("artifact has no `{key}`"), None);
                }
            }
            if let (Some(name), Some(path)) = (name, path) {
                out.push(ArtifactDecl {
                    name,
                    path,
                    media_type,
                    span: item.span,
                });
            }
        }
        out
    }

    // -- references ---------------------------------------------------------------------------------------------

    fn check_references(&mut self) {
        let sites = std::mem::take(&mut self.sites);
        for site in &sites {
            if let Some((message, hint)) = self.check_reference(site) {
                self.error(site.pos, message, hint);
            }
        }
    }

    fn check_reference(&self, site: &Site) -> Option<(String, Option<String>)> {
        let Reference { root, path, .. } = &site.reference;
        let scope = &site.scope;
        let text = std::iter::once(root.as_str())
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".");
        let first = path.first();
        match root.as_str() {
            "env" | "github" | "runner" => None,
            "inputs" => {
                let name = first?;
                if self.inputs.contains(name) {
                    return None;
                }
                let hint = suggestion(name, self.inputs.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("declare it under `inputs:` as `{name}: {{ required: true }}`"));
                Some((format!("input `{name}` is not declared"), Some(hint)))
            }
            "matrix" => match &scope.matrix {
                None => Some((
                    format!("`{text}` is used outside a fan-out"),
                    Some(
                        "only a step with `matrix:`, or a step inside a group with `matrix:`, can read `matrix`".into(),
                    ),
                )),
                Some(keys) => {
                    let name = first?;
                    if keys.contains(name) {
                        return None;
                    }
                    let hint = suggestion(name, keys.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the fan-out defines {}", quoted_list(keys)));
                    Some((format!("the fan-out has no matrix key `{name}`"), Some(hint)))
                }
            },
            "steps" => {
                if !scope.steps_allowed {
                    return Some((
                        format!("`{text}` cannot be used in {}", scope.place),
                        Some("the pipeline env is evaluated before any step runs".into()),
                    ));
                }
                let id = first?;
                if scope.visible.contains(id) {
                    return match path.get(1).map(String::as_str) {
                        None | Some("outputs" | "outcome" | "conclusion") => None,
                        Some(other) => Some((
                            format!("`{text}`: a step has `outputs`, `outcome` and `conclusion`, not `{other}`"),
                            suggestion(other, ["outputs", "outcome", "conclusion"]),
                        )),
                    };
                }
                if scope.current.as_ref() == Some(id) {
                    return Some((
                        format!("step `{id}` cannot read its own results (`{text}`)"),
                        Some("a step sees only steps that ran before it".into()),
                    ));
                }
                let Some(info) = self.ids.iter().find(|i| &i.id == id) else {
                    let hint = suggestion(id, scope.visible.iter().map(String::as_str))
                        .or_else(|| suggestion(id, self.ids.iter().map(|i| i.id.as_str())));
                    return Some((format!("unknown step `{id}` in `{text}`"), hint));
                };
                let reachable_later = info.group.as_ref().is_none_or(|g| scope.enclosing.contains(g));
                if info.section == Section::Finally && scope.section == Section::Steps {
                    Some((
                        format!("`{text}` refers to `finally` step `{id}`, which runs after every step"),
                        Some("only `finally` steps and pipeline outputs can read `finally` steps".into()),
                    ))
                } else if reachable_later {
                    Some((
                        format!("`{text}` refers to step `{id}`, which runs after {}", scope.place),
                        Some(format!(
                            "a step can read only steps that ran before it; move `{id}` earlier"
                        )),
                    ))
                } else {
                    let group = info.group.clone().unwrap_or_default();
                    Some((
                        format!(
                            "`{text}` refers to step `{id}` inside group `{group}`, which {} cannot see into",
                            scope.place
                        ),
                        Some(format!(
                            "outside the group, read the group's result, e.g. `steps.{group}.outcome`"
                        )),
                    ))
                }
            }
            // A secret's value is masked wherever it flows and recorded in statements only as a digest;
            // which secrets a run has is the command line's (`--secret`) or the action's (`secrets:`).
            "secrets" => {
                let name = first?;
                let invalid = check_secret_name(name).err()?;
                Some((
                    format!("`{text}`: {}", invalid.problem()),
                    invalid.hint().map(str::to_string),
                ))
            }
            other => {
                let hint = suggestion(other, CONTEXT_ROOTS.iter().copied())
                    .unwrap_or_else(|| format!("contexts are {}", CONTEXT_ROOTS.join(", ")));
                Some((format!("unknown context `{other}`"), Some(hint)))
            }
        }
    }
}

fn quoted_list(items: &[String]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// A directory grant: any non-empty path (it is resolved and checked when the step runs).
fn path_grant(text: &str) -> Result<String, (String, Option<String>)> {
    match text.is_empty() {
        true => Err(("an empty path grants nothing".to_string(), None)),
        false => Ok(text.to_string()),
    }
}

/// The diagnostic for a value its vocabulary refused: `` `VALUE` is not a valid WHAT: PROBLEM `` (after `place`
/// when given), with the vocabulary's hint.
fn describe_invalid(place: Option<&str>, e: &Invalid) -> (String, Option<String>) {
    let subject = match place {
        Some(place) => format!("{place} `{}`", e.value),
        None => format!("`{}`", e.value),
    };
    (
        format!("{subject} is not a valid {}: {}", e.what, e.problem()),
        e.hint().map(str::to_string),
    )
}
