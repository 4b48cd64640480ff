//! The `${{ }}` expression language: GitHub Actions' dialect of the shared grammar ([`tollgate_expr::syntax`]),
//! evaluation with GitHub's loose typing, and templates.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;
use tollgate_expr::syntax::{self, Ast, BinaryOp, Dialect, Function, Node, UnaryOp};

/// How the job is going, for `success()`, `failure()` and `cancelled()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// No earlier step failed (steps with `continue-on-error: true` do not count) and nothing was cancelled.
    Success,
    /// An earlier step failed or timed out.
    Failure,
    /// The run was cancelled.
    Cancelled,
}

/// What an expression can read. The executor implements this.
pub trait Context {
    /// The value at `root.path[0].path[1]…`, e.g. `("steps", ["plan", "outputs", "digest"])` or
    /// `("inputs", ["region"])`; an empty `path` asks for the whole context object. `None` reads as null.
    /// Roots are `steps`, `inputs`, `env`, `matrix`, `github` and `runner`.
    fn lookup(&self, root: &str, path: &[String]) -> Option<Value>;

    /// The status `success()`, `failure()` and `cancelled()` test.
    fn job_status(&self) -> JobStatus;
}

/// A [`Context`] over plain JSON objects, one per root: for tests, `--dry-run` and simple executors.
#[derive(Debug, Clone, Default)]
pub struct StaticContext {
    /// The value of each root (`inputs`, `steps`, …); a missing root reads as null.
    pub roots: BTreeMap<String, Value>,
    /// What the status functions see; `None` means [`JobStatus::Success`].
    pub status: Option<JobStatus>,
}

impl StaticContext {
    /// An empty context: every reference reads as null and the job is succeeding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a root (`"inputs"`, `"steps"`, …) to a JSON value.
    pub fn with(mut self, root: &str, value: Value) -> Self {
        self.roots.insert(root.to_string(), value);
        self
    }

    /// Set the status `success()`, `failure()` and `cancelled()` test.
    pub fn with_status(mut self, status: JobStatus) -> Self {
        self.status = Some(status);
        self
    }
}

impl Context for StaticContext {
    fn lookup(&self, root: &str, path: &[String]) -> Option<Value> {
        let mut value = self.roots.get(root)?;
        for key in path {
            value = match value {
                Value::Object(map) => map.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value.clone())
    }

    fn job_status(&self) -> JobStatus {
        self.status.unwrap_or(JobStatus::Success)
    }
}

/// An expression or template that does not parse: the shared grammar's error (`offset` counts characters from
/// the start of the text parsed).
pub use tollgate_expr::ExprError;

/// An expression that parsed but cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// `fromJSON()` was given text that is not valid JSON.
    #[error("fromJSON: {0}")]
    FromJson(String),
    /// `format()` was given a bad template or too few arguments for its placeholders.
    #[error("format: {0}")]
    Format(String),
    /// A value of the wrong kind where a particular one is needed (e.g. a matrix axis that is not a list).
    #[error("{0}")]
    Type(String),
}

/// A reference to a context in an expression, e.g. `steps.plan.outputs.digest` gives root `steps` and path
/// `["plan", "outputs", "digest"]`. The path stops at the first index that is not a string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The context read: `steps`, `inputs`, `env`, `matrix`, `github` or `runner`.
    pub root: String,
    /// The member names after the root, in order.
    pub path: Vec<String>,
    /// Character offset of the root name in the expression's source.
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Success,
    Failure,
    Always,
    Cancelled,
    Contains,
    StartsWith,
    EndsWith,
    Format,
    Join,
    ToJson,
    FromJson,
}

impl Func {
    /// The function a call names: the parser gives the canonical name from [`FUNCTIONS`].
    fn named(name: &str) -> Option<Func> {
        Some(match name {
            "success" => Func::Success,
            "failure" => Func::Failure,
            "always" => Func::Always,
            "cancelled" => Func::Cancelled,
            "contains" => Func::Contains,
            "startsWith" => Func::StartsWith,
            "endsWith" => Func::EndsWith,
            "format" => Func::Format,
            "join" => Func::Join,
            "toJSON" => Func::ToJson,
            "fromJSON" => Func::FromJson,
            _ => return None,
        })
    }

    fn is_status(self) -> bool {
        matches!(self, Func::Success | Func::Failure | Func::Always | Func::Cancelled)
    }
}

const fn function(name: &'static str, min: usize, max: usize) -> Function {
    Function { name, min, max }
}

/// GitHub's functions with their fewest and most arguments.
const FUNCTIONS: &[Function] = &[
    function("success", 0, 0),
    function("failure", 0, 0),
    function("always", 0, 0),
    function("cancelled", 0, 0),
    function("contains", 2, 2),
    function("startsWith", 2, 2),
    function("endsWith", 2, 2),
    function("format", 1, usize::MAX),
    function("join", 1, 2),
    function("toJSON", 1, 1),
    function("fromJSON", 1, 1),
];

/// The GitHub Actions dialect of the shared grammar: single-quoted strings, `-` inside names
/// (`steps.my-step`), no arithmetic, durations, word operators or predicates.
const ACTIONS: Dialect = Dialect {
    name: "a pipeline expression",
    functions: FUNCTIONS,
    double_quotes: false,
    dashed_names: true,
    durations: false,
    arithmetic: false,
    word_operators: false,
    predicates: false,
};

/// A parsed expression (the text between `${{` and `}}`, or an `if:` condition).
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    node: Node,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Expr {
    /// Parse an expression such as `success() && inputs.region != 'ap-south'`.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        Ok(Expr {
            source: source.to_string(),
            node: syntax::parse(source, &ACTIONS)?,
        })
    }

    /// Parse an `if:` condition, written with or without `${{ }}` around it.
    pub fn parse_condition(text: &str) -> Result<Expr, ExprError> {
        parse_condition(text).map(|(expr, _)| expr)
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluate against a context.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        eval(&self.node, ctx)
    }

    /// Evaluate and coerce to a boolean the way GitHub does (`''`, `0`, `null`, `false` are false).
    pub fn eval_bool(&self, ctx: &dyn Context) -> Result<bool, EvalError> {
        Ok(truthy(&self.eval(ctx)?))
    }

    /// Every context reference in the expression, in order.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        references(&self.node, &mut out);
        out
    }

    /// Whether the expression calls `success()`, `failure()`, `always()` or `cancelled()`; an `if:` that does
    /// not is read as `success() && (…)`, as on GitHub.
    pub fn uses_status_function(&self) -> bool {
        fn walk(node: &Node) -> bool {
            match &node.ast {
                Ast::Call(name, args) => Func::named(name).is_some_and(Func::is_status) || args.iter().any(walk),
                Ast::Lit(_) | Ast::Duration(_) | Ast::Name(_) => false,
                Ast::Member(a, _) | Ast::Unary(_, a) | Ast::Predicate(a) => walk(a),
                Ast::Index(a, b) | Ast::Binary(_, a, b) => walk(a) || walk(b),
            }
        }
        walk(&self.node)
    }
}

/// Parse a condition; also returns the character offset of the expression inside `text`.
pub(crate) fn parse_condition(text: &str) -> Result<(Expr, usize), ExprError> {
    let trimmed = text.trim();
    let lead = text.chars().count() - text.trim_start().chars().count();
    if trimmed.starts_with("${{") {
        let template = Template::parse(trimmed).map_err(|e| e.shifted(lead))?;
        if let [Part::Expr { expr, offset }] = template.parts.as_slice() {
            return Ok((expr.clone(), lead + *offset));
        }
        return Err(ExprError::new("a condition must be one expression", lead)
            .hint("write the whole condition inside one `${{ }}`, or leave `${{ }}` out"));
    }
    if let Some(at) = text.find("${{") {
        return Err(
            ExprError::new("a condition must be one expression", text[..at].chars().count())
                .hint("write the whole condition inside one `${{ }}`, or leave `${{ }}` out"),
        );
    }
    Expr::parse(trimmed).map(|e| (e, lead)).map_err(|e| e.shifted(lead))
}

fn references(node: &Node, out: &mut Vec<Reference>) {
    match &node.ast {
        Ast::Lit(_) | Ast::Duration(_) => {}
        Ast::Name(root) => out.push(Reference {
            root: root.clone(),
            path: Vec::new(),
            offset: node.offset,
        }),
        Ast::Member(..) | Ast::Index(..) => {
            let (base, accessors) = chain(node);
            if let Ast::Name(root) = &base.ast {
                let path = static_prefix(&accessors).0;
                out.push(Reference {
                    root: root.clone(),
                    path,
                    offset: base.offset,
                });
            } else {
                references(base, out);
            }
            for accessor in accessors {
                if let Accessor::Index(index) = accessor {
                    references(index, out);
                }
            }
        }
        Ast::Unary(_, a) | Ast::Predicate(a) => references(a, out),
        Ast::Binary(_, a, b) => {
            references(a, out);
            references(b, out);
        }
        Ast::Call(_, args) => args.iter().for_each(|a| references(a, out)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

enum Accessor<'a> {
    Name(&'a str),
    Index(&'a Node),
}

/// Split `a.b['c'][d]` into its base `a` and the accessors, outermost last.
fn chain(node: &Node) -> (&Node, Vec<Accessor<'_>>) {
    let mut accessors = Vec::new();
    let mut node = node;
    loop {
        match &node.ast {
            Ast::Member(base, name) => {
                accessors.push(Accessor::Name(name));
                node = base;
            }
            Ast::Index(base, index) => {
                accessors.push(Accessor::Index(index));
                node = base;
            }
            _ => break,
        }
    }
    accessors.reverse();
    (node, accessors)
}

/// The leading accessors that are names or string literals, and how many there were.
fn static_prefix(accessors: &[Accessor<'_>]) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    for accessor in accessors {
        match accessor {
            Accessor::Name(name) => path.push((*name).to_string()),
            Accessor::Index(Node {
                ast: Ast::Lit(Value::String(s)),
                ..
            }) => path.push(s.clone()),
            Accessor::Index(_) => break,
        }
    }
    let n = path.len();
    (path, n)
}

fn get_property(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => map
            .get(key)
            .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn get_index(value: &Value, index: &Value) -> Value {
    match (value, index) {
        (Value::Array(items), Value::Number(_)) => {
            let i = to_number(index);
            if i >= 0.0 && i.fract() == 0.0 {
                items.get(i as usize).cloned().unwrap_or(Value::Null)
            } else {
                Value::Null
            }
        }
        (Value::Object(_), _) => get_property(value, &to_string(index)),
        _ => Value::Null,
    }
}

fn eval(node: &Node, ctx: &dyn Context) -> Result<Value, EvalError> {
    Ok(match &node.ast {
        Ast::Lit(v) => v.clone(),
        Ast::Name(root) => ctx.lookup(root, &[]).unwrap_or(Value::Null),
        Ast::Member(..) | Ast::Index(..) => {
            let (base, accessors) = chain(node);
            let (mut value, skip) = match &base.ast {
                Ast::Name(root) => {
                    let (path, n) = static_prefix(&accessors);
                    (ctx.lookup(root, &path).unwrap_or(Value::Null), n)
                }
                _ => (eval(base, ctx)?, 0),
            };
            for accessor in &accessors[skip..] {
                value = match accessor {
                    Accessor::Name(name) => get_property(&value, name),
                    Accessor::Index(index) => get_index(&value, &eval(index, ctx)?),
                };
            }
            value
        }
        Ast::Unary(UnaryOp::Not, a) => Value::Bool(!truthy(&eval(a, ctx)?)),
        Ast::Binary(BinaryOp::And, a, b) => {
            let left = eval(a, ctx)?;
            if truthy(&left) { eval(b, ctx)? } else { left }
        }
        Ast::Binary(BinaryOp::Or, a, b) => {
            let left = eval(a, ctx)?;
            if truthy(&left) { left } else { eval(b, ctx)? }
        }
        Ast::Binary(op, a, b) if op.is_comparison() => {
            let (left, right) = (eval(a, ctx)?, eval(b, ctx)?);
            Value::Bool(match op {
                BinaryOp::Eq => loose_eq(&left, &right),
                BinaryOp::Ne => !loose_eq(&left, &right),
                BinaryOp::Lt => compare(&left, &right) == Some(Ordering::Less),
                BinaryOp::Le => matches!(compare(&left, &right), Some(Ordering::Less | Ordering::Equal)),
                BinaryOp::Gt => compare(&left, &right) == Some(Ordering::Greater),
                // `>=`, the one comparison left.
                _ => matches!(compare(&left, &right), Some(Ordering::Greater | Ordering::Equal)),
            })
        }
        Ast::Call(name, args) => match Func::named(name) {
            Some(func) => call(func, args, ctx)?,
            None => return Err(outside_dialect(&format!("`{name}()`"))),
        },
        // The Actions dialect admits none of these; the parser refuses them where they are written.
        Ast::Binary(op, ..) => return Err(outside_dialect(&format!("`{}`", op.symbol()))),
        Ast::Unary(UnaryOp::Neg, _) => return Err(outside_dialect("`-`")),
        Ast::Duration(_) => return Err(outside_dialect("a duration")),
        Ast::Predicate(_) => return Err(outside_dialect("a `{ }` predicate")),
    })
}

fn outside_dialect(what: &str) -> EvalError {
    EvalError::Type(format!("{what} is not part of {}", ACTIONS.name))
}

fn call(func: Func, args: &[Node], ctx: &dyn Context) -> Result<Value, EvalError> {
    let arg = |i: usize| -> Result<Value, EvalError> { args.get(i).map_or(Ok(Value::Null), |a| eval(a, ctx)) };
    Ok(match func {
        Func::Success => Value::Bool(ctx.job_status() == JobStatus::Success),
        Func::Failure => Value::Bool(ctx.job_status() == JobStatus::Failure),
        Func::Cancelled => Value::Bool(ctx.job_status() == JobStatus::Cancelled),
        Func::Always => Value::Bool(true),
        Func::Contains => {
            let (search, item) = (arg(0)?, arg(1)?);
            Value::Bool(match &search {
                Value::Array(items) => items.iter().any(|v| loose_eq(v, &item)),
                _ => to_string(&search)
                    .to_lowercase()
                    .contains(&to_string(&item).to_lowercase()),
            })
        }
        Func::StartsWith => {
            let (s, prefix) = (to_string(&arg(0)?).to_lowercase(), to_string(&arg(1)?).to_lowercase());
            Value::Bool(s.starts_with(&prefix))
        }
        Func::EndsWith => {
            let (s, suffix) = (to_string(&arg(0)?).to_lowercase(), to_string(&arg(1)?).to_lowercase());
            Value::Bool(s.ends_with(&suffix))
        }
        Func::Format => {
            let template = to_string(&arg(0)?);
            let values = args[1..]
                .iter()
                .map(|a| eval(a, ctx).map(|v| to_string(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            Value::String(format_string(&template, &values)?)
        }
        Func::Join => {
            let separator = if args.len() > 1 {
                to_string(&arg(1)?)
            } else {
                ",".to_string()
            };
            match arg(0)? {
                Value::Array(items) => Value::String(items.iter().map(to_string).collect::<Vec<_>>().join(&separator)),
                other => Value::String(to_string(&other)),
            }
        }
        Func::ToJson => Value::String(serde_json::to_string_pretty(&arg(0)?).unwrap_or_default()),
        Func::FromJson => {
            let text = to_string(&arg(0)?);
            serde_json::from_str(&text).map_err(|e| EvalError::FromJson(format!("{e} in {}", truncate(&text))))?
        }
    })
}

fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    format!("`{out}`")
}

/// `format('{0} and {1}', a, b)`; `{{` and `}}` are literal braces.
fn format_string(template: &str, values: &[String]) -> Result<String, EvalError> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(d) if d.is_ascii_digit() => digits.push(d),
                        _ => return Err(EvalError::Format(format!("bad placeholder in {}", truncate(template)))),
                    }
                }
                let index: usize = digits
                    .parse()
                    .map_err(|_| EvalError::Format(format!("bad placeholder in {}", truncate(template))))?;
                let value = values.get(index).ok_or_else(|| {
                    EvalError::Format(format!("`{{{index}}}` has no argument ({} given)", values.len()))
                })?;
                out.push_str(value);
            }
            '}' => return Err(EvalError::Format(format!("unmatched `}}` in {}", truncate(template)))),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// GitHub's truthiness: `null`, `false`, `0`, `NaN` and `''` are false; everything else, arrays and objects
/// included, is true.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// GitHub's number coercion: `null` is 0, booleans 1 and 0, strings are parsed (empty is 0, junk is NaN),
/// arrays and objects are NaN.
pub fn to_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return 0.0;
            }
            if let Some(hex) = s.strip_prefix("0x") {
                return i64::from_str_radix(hex, 16).map_or(f64::NAN, |n| n as f64);
            }
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.chars().any(|c| c.is_ascii_digit())
                && digits
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            {
                s.parse().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        }
        Value::Array(_) | Value::Object(_) => f64::NAN,
    }
}

fn format_number(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// The text a value interpolates as: `null` is empty, numbers without a needless `.0`, arrays and objects as
/// compact JSON.
pub fn to_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => format_number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

fn is_primitive(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// GitHub's `==`: same kinds compare directly (strings ignoring case); different primitive kinds are compared
/// as numbers; arrays and objects equal only an identical array or object.
pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => a == b,
        _ if is_primitive(a) && is_primitive(b) => to_number(a) == to_number(b),
        _ => false,
    }
}

/// GitHub's ordering: strings ignoring case, anything else as numbers; `None` when incomparable (NaN, arrays,
/// objects).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if !is_primitive(a) || !is_primitive(b) {
        return None;
    }
    if let (Value::String(x), Value::String(y)) = (a, b) {
        return Some(x.to_lowercase().cmp(&y.to_lowercase()));
    }
    to_number(a).partial_cmp(&to_number(b))
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// `offset`: character offset of the expression's first character in the template.
    Expr {
        expr: Expr,
        offset: usize,
    },
}

/// A string with zero or more `${{ … }}`. A template that is exactly one expression evaluates to the
/// expression's value with its JSON type; any other template interpolates to a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Template {
    /// Parse a template. Error offsets count characters from the start of `source`.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        let chars: Vec<char> = source.chars().collect();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i..].starts_with(&['$', '{', '{']) {
                let open = i;
                let inner = i + 3;
                let mut j = inner;
                let mut quoted = false;
                let close = loop {
                    match chars.get(j) {
                        None => {
                            return Err(ExprError::new("`${{` is never closed with `}}`", open));
                        }
                        Some('\'') => quoted = !quoted,
                        Some('}') if !quoted && chars.get(j + 1) == Some(&'}') => break j,
                        _ => {}
                    }
                    j += 1;
                };
                let raw: String = chars[inner..close].iter().collect();
                let lead = raw.chars().count() - raw.trim_start().chars().count();
                let expr = Expr::parse(raw.trim()).map_err(|e| e.shifted(inner + lead))?;
                if raw.trim().is_empty() {
                    return Err(ExprError::new("empty `${{ }}`", open));
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Expr {
                    expr,
                    offset: inner + lead,
                });
                i = close + 2;
            } else {
                text.push(chars[i]);
                i += 1;
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// A template with no expressions.
    pub fn literal(text: &str) -> Template {
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text(text.to_string())]
        };
        Template {
            source: text.to_string(),
            parts,
        }
    }

    /// The template's text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template has no `${{ }}`.
    pub fn is_literal(&self) -> bool {
        !self.parts.iter().any(|p| matches!(p, Part::Expr { .. }))
    }

    /// The expressions in the template with the character offset of each in the template's text.
    pub fn expressions(&self) -> impl Iterator<Item = (&Expr, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr { expr, offset } => Some((expr, *offset)),
            Part::Text(_) => None,
        })
    }

    /// Evaluate: one bare expression keeps its JSON type; anything else is a string.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        if let [Part::Expr { expr, .. }] = self.parts.as_slice() {
            return expr.eval(ctx);
        }
        self.render(ctx).map(Value::String)
    }

    /// Evaluate to a string, whatever the template's shape.
    pub fn render(&self, ctx: &dyn Context) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr { expr, .. } => out.push_str(&to_string(&expr.eval(ctx)?)),
            }
        }
        Ok(out)
    }
}

/// A YAML value whose strings are templates: what `with:` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTemplate {
    /// `null` (or an empty value).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string, which may contain `${{ }}` expressions.
    String(Template),
    /// A list.
    Array(Vec<ValueTemplate>),
    /// A mapping.
    Object(BTreeMap<String, ValueTemplate>),
}

impl ValueTemplate {
    /// Evaluate every template inside; a string that is exactly one expression keeps the expression's type.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        Ok(match self {
            ValueTemplate::Null => Value::Null,
            ValueTemplate::Bool(b) => Value::Bool(*b),
            ValueTemplate::Number(n) => Value::Number(n.clone()),
            ValueTemplate::String(t) => t.eval(ctx)?,
            ValueTemplate::Array(items) => Value::Array(items.iter().map(|i| i.eval(ctx)).collect::<Result<_, _>>()?),
            ValueTemplate::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), v.eval(ctx)?)))
                    .collect::<Result<Map<_, _>, EvalError>>()?,
            ),
        })
    }

    /// Every template inside, depth first.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        fn walk<'a>(v: &'a ValueTemplate, out: &mut Vec<&'a Template>) {
            match v {
                ValueTemplate::String(t) => out.push(t),
                ValueTemplate::Array(items) => items.iter().for_each(|i| walk(i, out)),
                ValueTemplate::Object(map) => map.values().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        walk(self, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_the_dialect_offers_is_evaluated() {
        for function in FUNCTIONS {
            assert!(Func::named(function.name).is_some(), "{}", function.name);
        }
    }

    #[test]
    fn digits_after_a_dot_are_a_member_name() {
        let ctx = StaticContext::new().with("steps", serde_json::json!({ "0": { "x": [5, 6] } }));
        let expr = Expr::parse("steps.0.x.1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(expr.eval(&ctx), Ok(Value::from(6)));
        assert_eq!(expr.references()[0].path, ["0", "x", "1"]);
    }
}
