//! Health conditions: `SUBJECT OP VALUE` text, parsed by the shared expression grammar
//! ([`tollgate_expr::syntax`]) in the [`HEALTH`] dialect, and judged against one HTTP response.

use regex_lite::Regex;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use tollgate_expr::syntax::{self, Ast, BinaryOp, Dialect, ExprError, Node, UnaryOp};

/// Longest value text kept in reports; whole bodies belong in logs, not tables.
const MAX_SHOWN: usize = 120;

/// Written after every parse error so the author sees a working shape next to theirs.
const EXAMPLES: &str = "examples: `status == 200`, `response_time < 300ms`, \
     `body.checks.0.ok == true`, `header.content-type contains \"json\"`, `cert_expires_in > 14d`";

/// Health conditions' dialect of the shared grammar: `"…"` (JSON escapes) and `'…'` strings, `-`
/// inside names (`header.content-type`), durations (`300ms`, `14d`) and the word operators
/// `contains` and `matches`; no functions, arithmetic or predicates.
pub const HEALTH: Dialect = Dialect {
    name: "a health condition",
    functions: &[],
    double_quotes: true,
    dashed_names: true,
    durations: true,
    arithmetic: false,
    word_operators: true,
    predicates: false,
};

/// The operators a condition may use, for hints.
const OPERATORS: &str = "use ==, !=, <, <=, >, >=, contains or matches";

/// The names a subject starts with, for typo suggestions.
const FIELDS: &[&str] = &[
    "status",
    "status_code",
    "response_time",
    "latency",
    "cert_expires_in",
    "body",
    "header",
    "headers",
];

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// `status` (or `status_code`): the HTTP status code.
    Status,
    /// `response_time` (or `latency`): how long the request took, from sending it to reading the body.
    ResponseTime,
    /// `cert_expires_in`: how long until the endpoint's TLS certificate expires (https only).
    CertExpiresIn,
    /// The raw body text.
    Body,
    /// A field of the JSON body; numeric segments also index arrays.
    BodyField(Vec<String>),
    /// A response header, stored lower-case because header names are case-insensitive.
    Header(String),
}

impl Subject {
    /// Parse `status`, `latency`, `body.a.0.b`, `header.X-Region`, …
    pub fn parse(text: &str) -> Result<Self, String> {
        let node = syntax::parse(text.trim(), &HEALTH).map_err(|e| e.with_column())?;
        Self::from_node(&node).map_err(|e| e.with_column())
    }

    /// The subject a path names; anything but a path is refused.
    fn from_node(node: &Node) -> Result<Self, ExprError> {
        match path(node)? {
            Some(path) => Self::from_path(path),
            None => Err(ExprError::new(
                "it must start with a field such as `status`",
                start(node),
            )),
        }
    }

    fn from_path(Path { root, offset, segments }: Path<'_>) -> Result<Self, ExprError> {
        let lower = root.to_ascii_lowercase();
        Ok(match (lower.as_str(), segments.is_empty()) {
            ("status" | "status_code", true) => Self::Status,
            ("response_time" | "latency", true) => Self::ResponseTime,
            ("cert_expires_in", true) => Self::CertExpiresIn,
            ("body", true) => Self::Body,
            // Field names in JSON are case-sensitive, so only `body` itself ignores case.
            ("body", false) => Self::BodyField(segments),
            ("header" | "headers", true) => {
                return Err(ExprError::new(
                    format!("`{root}` needs a header name, e.g. `header.x-region`"),
                    offset,
                ));
            }
            ("header" | "headers", false) => Self::Header(segments.join(".").to_ascii_lowercase()),
            _ => {
                let written = std::iter::once(root.to_string())
                    .chain(segments)
                    .collect::<Vec<_>>()
                    .join(".");
                let error = ExprError::new(
                    format!(
                        "unknown field `{written}`: use status, response_time (or latency), body, \
                         body.<path>, header.<name> or cert_expires_in"
                    ),
                    offset,
                );
                let guess = match FIELDS.contains(&lower.as_str()) {
                    true => None,
                    false => syntax::did_you_mean(root, FIELDS.iter().copied()),
                };
                return Err(match guess {
                    Some(field) => error.hint(format!("did you mean `{field}`?")),
                    None => error,
                });
            }
        })
    }

    fn is_duration(&self) -> bool {
        matches!(self, Self::ResponseTime | Self::CertExpiresIn)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status => f.write_str("status"),
            Self::ResponseTime => f.write_str("response_time"),
            Self::CertExpiresIn => f.write_str("cert_expires_in"),
            Self::Body => f.write_str("body"),
            Self::BodyField(path) => write!(f, "body.{}", path.join(".")),
            Self::Header(name) => write!(f, "header.{name}"),
        }
    }
}

/// A subject as written: `body.checks[0].ok`, `body.checks.0.ok` and `body['checks'].0.ok` all
/// have root `body` and segments `["checks", "0", "ok"]`.
struct Path<'n> {
    root: &'n str,
    /// Where the root is written.
    offset: usize,
    segments: Vec<String>,
}

/// The path `node` is; `None` when it is not one.
fn path(node: &Node) -> Result<Option<Path<'_>>, ExprError> {
    let mut segments = Vec::new();
    let mut at = node;
    loop {
        match &at.ast {
            Ast::Name(root) => {
                segments.reverse();
                return Ok(Some(Path {
                    root,
                    offset: at.offset,
                    segments,
                }));
            }
            Ast::Member(base, name) => {
                segments.push(name.clone());
                at = base;
            }
            Ast::Index(base, index) => {
                let segment = match &index.ast {
                    Ast::Lit(Value::Number(n)) if n.is_u64() => n.to_string(),
                    Ast::Lit(Value::String(name)) if !name.is_empty() => name.clone(),
                    _ => {
                        return Err(ExprError::new(
                            "a field path is indexed with a number or a quoted name, e.g. `body.checks[0]`",
                            index.offset,
                        ));
                    }
                };
                segments.push(segment);
                at = base;
            }
            _ => return Ok(None),
        }
    }
}

fn is_path(node: &Node) -> bool {
    path(node).is_ok_and(|p| p.is_some())
}

/// Where the text of `node` starts (a member's or operator's own offset is further right).
fn start(node: &Node) -> usize {
    match &node.ast {
        Ast::Member(base, _) | Ast::Index(base, _) | Ast::Binary(_, base, _) => start(base),
        _ => node.offset,
    }
}

/// How a condition compares its subject with the right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`: equal; JSON values compare by value, text exactly.
    Eq,
    /// `!=`: not equal.
    Ne,
    /// `<`: less than a number or duration.
    Lt,
    /// `<=`: at most a number or duration.
    Le,
    /// `>`: more than a number or duration.
    Gt,
    /// `>=`: at least a number or duration.
    Ge,
    /// `contains`: text contains a substring, a JSON array an element, or a JSON object a key.
    Contains,
    /// `matches`: the value's text matches a quoted regular expression (unanchored unless it uses
    /// `^` or `$`).
    Matches,
    /// Internal: the field must exist (used to require the failover region marker).
    Present,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Contains => "contains",
            Self::Matches => "matches",
            Self::Present => "is present",
        }
    }

    /// Reads naturally in a failure reason: `status 503 != 200`.
    fn negated(self) -> &'static str {
        match self {
            Self::Eq => "!=",
            Self::Ne => "==",
            Self::Lt => ">=",
            Self::Le => ">",
            Self::Gt => "<=",
            Self::Ge => "<",
            Self::Contains => "does not contain",
            Self::Matches => "does not match",
            Self::Present => "is missing",
        }
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }
}

/// The right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A plain number, e.g. `200`.
    Number(f64),
    /// Milliseconds, so durations compare with numbers and each other in one unit.
    Duration(f64),
    /// A quoted string: `"…"` with JSON escapes, or `'…'` taken as written.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`; also the placeholder right-hand side of a presence check.
    Null,
}

impl Literal {
    /// The literal a value is; `written` (its text) and `at` (where it starts) are for the error.
    fn from_node(node: &Node, written: &str, at: usize) -> Result<Self, ExprError> {
        Ok(match &node.ast {
            // Always a float: `as_f64` fails only with serde_json's arbitrary precision.
            Ast::Lit(Value::Number(n)) => Self::Number(n.as_f64().unwrap_or(f64::NAN)),
            Ast::Lit(Value::String(s)) => Self::Str(s.clone()),
            Ast::Lit(Value::Bool(b)) => Self::Bool(*b),
            Ast::Lit(Value::Null) => Self::Null,
            Ast::Duration(d) => Self::Duration(d.as_secs_f64() * 1000.0),
            _ => {
                return Err(ExprError::new(
                    format!(
                        "`{written}` is not a value: write a number (`200`), a duration (`300ms`, `14d`), \
                         a quoted string (`\"ok\"`), `true`, `false` or `null`"
                    ),
                    at,
                ));
            }
        })
    }
}

/// One parsed condition.
#[derive(Debug, Clone)]
pub struct Condition {
    /// As the author wrote it, for reports.
    pub text: String,
    /// What it reads from the response.
    pub subject: Subject,
    /// How it compares.
    pub op: Op,
    /// The value it compares with.
    pub rhs: Literal,
    /// As written, for `expected` columns.
    rhs_text: String,
    regex: Option<Regex>,
}

impl Condition {
    /// Parse `LHS OP RHS`. The error names the offending text and shows examples.
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_condition(text.trim()).map_err(|e| format!("`{}`: {e}; {EXAMPLES}", text.trim()))
    }

    /// A condition that only requires `subject` to exist in the response.
    pub fn present(subject: Subject) -> Self {
        Self {
            text: format!("{subject} is present"),
            subject,
            op: Op::Present,
            rhs: Literal::Null,
            rhs_text: String::new(),
            regex: None,
        }
    }

    /// What passing means, e.g. `< 300ms`.
    pub fn expected(&self) -> String {
        if self.op == Op::Present {
            return "present".into();
        }
        format!("{} {}", self.op.symbol(), self.rhs_text)
    }
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    if text.is_empty() {
        return Err("the condition is empty".into());
    }
    let column = |e: ExprError| e.with_column();
    let node = syntax::parse(text, &HEALTH).map_err(|e| column(reworded(text, e)))?;
    let Comparison {
        subject,
        op,
        value,
        value_at,
    } = comparison(&node, text).map_err(column)?;
    let subject = Subject::from_node(subject).map_err(column)?;
    // The value as written, for `expected` columns and failure reasons: whatever follows the operator.
    let after: String = text.chars().skip(value_at).collect();
    let rhs_text = after.trim();
    let rhs_at = value_at + (after.chars().count() - after.trim_start().chars().count());
    let rhs = Literal::from_node(value, rhs_text, rhs_at).map_err(column)?;
    check_types(&subject, op, &rhs, rhs_text)?;
    let regex = match (op, &rhs) {
        (Op::Matches, Literal::Str(pattern)) => {
            Some(Regex::new(pattern).map_err(|e| format!("`{pattern}` is not a valid regular expression: {e}"))?)
        }
        _ => None,
    };
    Ok(Condition {
        text: text.to_string(),
        subject,
        op,
        rhs,
        rhs_text: rhs_text.to_string(),
        regex,
    })
}

/// The one shape a condition has, `SUBJECT OP VALUE`, as parsed.
struct Comparison<'n> {
    subject: &'n Node,
    op: Op,
    value: &'n Node,
    /// Character offset just past the operator, where the value's text begins.
    value_at: usize,
}

/// `node` as a [`Comparison`]; joined, negated or bare expressions are refused. `text` is the source.
fn comparison<'n>(node: &'n Node, text: &str) -> Result<Comparison<'n>, ExprError> {
    const ONE: &str = "a condition is one comparison, such as `status == 200`";
    const EACH: &str = "give each comparison as its own condition: every condition must pass";
    let negated = |at: usize| {
        ExprError::new("a condition cannot be negated", at).hint("use the opposite operator, e.g. `status != 200`")
    };
    let (binary, lhs, rhs) = match &node.ast {
        Ast::Binary(op, lhs, rhs) => (*op, lhs, rhs),
        Ast::Unary(UnaryOp::Not, _) => return Err(negated(node.offset)),
        _ if is_path(node) => {
            return Err(ExprError::new("an operator and a value are missing", text.chars().count()).hint(OPERATORS));
        }
        _ => {
            return Err(ExprError::new(
                "it must start with a field such as `status`",
                start(node),
            ));
        }
    };
    let op = match binary {
        BinaryOp::Eq => Op::Eq,
        BinaryOp::Ne => Op::Ne,
        BinaryOp::Lt => Op::Lt,
        BinaryOp::Le => Op::Le,
        BinaryOp::Gt => Op::Gt,
        BinaryOp::Ge => Op::Ge,
        BinaryOp::Contains => Op::Contains,
        BinaryOp::Matches => Op::Matches,
        BinaryOp::And | BinaryOp::Or => return Err(ExprError::new(ONE, node.offset).hint(EACH)),
        // The dialect has no arithmetic: the parser refuses `+ - * /` before this.
        other => {
            return Err(
                ExprError::new(format!("`{}` is not an operator", other.symbol()), node.offset).hint(OPERATORS),
            );
        }
    };
    match lhs.ast {
        Ast::Binary(..) => return Err(ExprError::new(ONE, node.offset).hint(EACH)),
        // `not status == 200` reads as `(not status) == 200`.
        Ast::Unary(UnaryOp::Not, _) => return Err(negated(lhs.offset)),
        _ => {}
    }
    Ok(Comparison {
        subject: lhs,
        op,
        value: rhs,
        value_at: node.offset + binary.symbol().chars().count(),
    })
}

/// The shared parser's error, said for conditions where the text stops being one after a whole subject
/// (`status ~= 200`, `status 200`: a missing operator) or a whole comparison (`status == 200 300`).
fn reworded(text: &str, e: ExprError) -> ExprError {
    let prefix: String = text.chars().take(e.offset).collect();
    let word: String = text.chars().skip(e.offset).take_while(|c| !c.is_whitespace()).collect();
    // `=` has the grammar's own advice (`compare with ==`).
    if word.is_empty() || word.starts_with('=') {
        return e;
    }
    match syntax::parse(&prefix, &HEALTH) {
        Ok(node) if is_path(&node) => ExprError::new(format!("`{word}` is not an operator"), e.offset).hint(OPERATORS),
        // `1m 30s`: humantime reads spaced durations, the grammar reads one token.
        Ok(Node {
            ast: Ast::Binary(_, _, value),
            ..
        }) if matches!(value.ast, Ast::Duration(_))
            && syntax::parse(&word, &HEALTH).is_ok_and(|n| matches!(n.ast, Ast::Duration(_))) =>
        {
            ExprError::new(format!("unexpected `{word}` after the duration"), e.offset)
                .hint("write a duration without spaces, e.g. `1m30s`")
        }
        Ok(_) => ExprError::new(format!("unexpected `{word}` after the condition"), e.offset)
            .hint("a condition is one comparison, such as `status == 200`; give each as its own condition"),
        Err(_) => e,
    }
}

/// Reject combinations that could never be judged, so they fail the step before any request.
fn check_types(subject: &Subject, op: Op, rhs: &Literal, rhs_text: &str) -> Result<(), String> {
    if op.is_ordering() && !matches!(rhs, Literal::Number(_) | Literal::Duration(_)) {
        return Err(format!(
            "`{}` needs a number or duration on the right, got `{rhs_text}`",
            op.symbol()
        ));
    }
    if op == Op::Matches && !matches!(rhs, Literal::Str(_)) {
        return Err("`matches` needs a quoted regular expression, e.g. `\"^2..$\"`".into());
    }
    match subject {
        Subject::Status => match rhs {
            Literal::Number(_) | Literal::Str(_) if op != Op::Contains => Ok(()),
            _ => Err(format!(
                "`status` compares with a number, e.g. `status == 200`, not `{} {rhs_text}`",
                op.symbol()
            )),
        },
        s if s.is_duration() => match (op, rhs) {
            (Op::Contains | Op::Matches, _) => {
                Err(format!("`{s}` is a duration: compare it with <, <=, >, >=, == or !="))
            }
            (_, Literal::Duration(_)) => Ok(()),
            (_, Literal::Number(n)) => Err(format!(
                "`{n}` needs a unit, e.g. `{s} {} {n}ms` or `{s} {} {n}d`",
                op.symbol(),
                op.symbol()
            )),
            _ => Err(format!(
                "`{s}` compares with a duration such as `300ms` or `14d`, got `{rhs_text}`"
            )),
        },
        Subject::Body | Subject::Header(_) if op == Op::Contains => match rhs {
            Literal::Str(_) => Ok(()),
            _ => Err(format!(
                "`contains` on text needs a quoted string, e.g. `{subject} contains \"ok\"`"
            )),
        },
        _ => Ok(()),
    }
}

/// The facts about one response that conditions read.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The HTTP status code.
    pub status: u16,
    /// How long the request took, from sending it to reading the body.
    pub response_time: Duration,
    /// Names in any case; lookups ignore case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// Milliseconds until the leaf certificate expires (negative once expired), or why it is
    /// unknown. `None` when no condition asked for it.
    pub cert_expires_in_ms: Option<Result<i64, String>>,
}

/// The verdict on one condition for one response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionResult {
    /// The condition as the author wrote it.
    pub condition: String,
    /// Whether the response met it.
    pub passed: bool,
    /// What the response had, when it had anything.
    pub actual: Option<String>,
    /// What passing means, e.g. `< 300ms` or `present`.
    pub expected: String,
    /// Why it failed; absent when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A value read from a response.
#[derive(Debug, Clone)]
enum Actual {
    Number(f64),
    /// Milliseconds.
    Duration(f64),
    Text(String),
    Json(Value),
}

impl Actual {
    fn shown(&self) -> String {
        let full = match self {
            Self::Number(n) => format_number(*n),
            Self::Duration(ms) => format_ms(*ms),
            Self::Text(t) | Self::Json(Value::String(t)) => t.clone(),
            Self::Json(v) => v.to_string(),
        };
        truncate(&full, MAX_SHOWN)
    }

    /// The text form used by `==` against strings and by `matches`.
    fn text(&self) -> String {
        match self {
            Self::Number(n) => format_number(*n),
            Self::Duration(ms) => format_ms(*ms),
            Self::Text(t) => t.clone(),
            Self::Json(Value::String(s)) => s.clone(),
            Self::Json(v) => v.to_string(),
        }
    }
}

/// Judge every condition against one response, parsing a JSON body at most once.
pub fn evaluate_all(conditions: &[Condition], obs: &Observation) -> Vec<ConditionResult> {
    let needs_json = conditions.iter().any(|c| matches!(c.subject, Subject::BodyField(_)));
    let json = needs_json.then(|| serde_json::from_str::<Value>(&obs.body));
    conditions.iter().map(|c| evaluate(c, obs, json.as_ref())).collect()
}

fn evaluate(cond: &Condition, obs: &Observation, json: Option<&Result<Value, serde_json::Error>>) -> ConditionResult {
    let fail = |actual: Option<String>, reason: String| ConditionResult {
        condition: cond.text.clone(),
        passed: false,
        actual,
        expected: cond.expected(),
        reason: Some(reason),
    };
    let actual = match read(&cond.subject, obs, json) {
        Ok(actual) => actual,
        Err(reason) => return fail(None, reason),
    };
    let shown = actual.shown();
    let verdict = if cond.op == Op::Present {
        Ok(true)
    } else if let Some(regex) = &cond.regex {
        Ok(regex.is_match(&actual.text()))
    } else {
        compare(&actual, cond.op, &cond.rhs)
    };
    match verdict {
        Ok(true) => ConditionResult {
            condition: cond.text.clone(),
            passed: true,
            actual: Some(shown),
            expected: cond.expected(),
            reason: None,
        },
        Ok(false) => {
            let reason = if cond.subject == Subject::Body {
                format!("body {} {}", cond.op.negated(), cond.rhs_text)
            } else {
                format!(
                    "{} {} {} {}",
                    cond.subject,
                    quoted(&actual, &shown),
                    cond.op.negated(),
                    cond.rhs_text
                )
            };
            fail(Some(shown), reason)
        }
        Err(why) => fail(Some(shown), format!("{}: {why}", cond.subject)),
    }
}

/// The value of `subject` as plain text, e.g. which region answered a failover request.
pub fn read_text(subject: &Subject, obs: &Observation) -> Result<String, String> {
    let json = matches!(subject, Subject::BodyField(_)).then(|| serde_json::from_str::<Value>(&obs.body));
    read(subject, obs, json.as_ref()).map(|a| a.text())
}

fn read(
    subject: &Subject,
    obs: &Observation,
    json: Option<&Result<Value, serde_json::Error>>,
) -> Result<Actual, String> {
    match subject {
        Subject::Status => Ok(Actual::Number(f64::from(obs.status))),
        Subject::ResponseTime => Ok(Actual::Duration(obs.response_time.as_secs_f64() * 1000.0)),
        Subject::CertExpiresIn => match &obs.cert_expires_in_ms {
            Some(Ok(ms)) => Ok(Actual::Duration(*ms as f64)),
            Some(Err(e)) => Err(format!("cert_expires_in unknown: {e}")),
            None => Err("cert_expires_in unknown: the certificate was not read".into()),
        },
        Subject::Body => Ok(Actual::Text(obs.body.clone())),
        Subject::Header(name) => {
            let values: Vec<&str> = obs
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                Err(format!("header.{name} is missing: the response has no `{name}` header"))
            } else {
                Ok(Actual::Text(values.join(", ")))
            }
        }
        Subject::BodyField(path) => {
            let root = match json {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    let start = truncate(obs.body.trim(), 40);
                    return Err(format!(
                        "{subject} is missing: the body is not JSON ({e}); it starts `{start}`"
                    ));
                }
                None => return Err(format!("{subject} is missing: the body was not parsed")),
            };
            lookup(root, path)
                .map(|v| Actual::Json(v.clone()))
                .map_err(|why| format!("{subject} is missing: {why}"))
        }
    }
}

fn lookup<'v>(root: &'v Value, path: &[String]) -> Result<&'v Value, String> {
    let mut current = root;
    for (i, segment) in path.iter().enumerate() {
        let at = if i == 0 {
            "the body".to_string()
        } else {
            format!("`{}`", path[..i].join("."))
        };
        current = match current {
            Value::Object(map) => map
                .get(segment)
                .ok_or_else(|| format!("{at} has no field `{segment}`"))?,
            Value::Array(items) => {
                let index: usize = segment
                    .parse()
                    .map_err(|_| format!("{at} is an array; index it with a number, not `{segment}`"))?;
                items
                    .get(index)
                    .ok_or_else(|| format!("{at} has {} item(s), so there is no index {index}", items.len()))?
            }
            other => {
                return Err(format!("{at} is {}, not an object or array", kind_of(other)));
            }
        };
    }
    Ok(current)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `Ok(passed)`, or `Err` when the two sides cannot be compared with this operator.
fn compare(actual: &Actual, op: Op, rhs: &Literal) -> Result<bool, String> {
    match (actual, rhs) {
        (Actual::Json(Value::Number(n)), _) => {
            let n = n.as_f64().ok_or("the number is out of range")?;
            compare(&Actual::Number(n), op, rhs)
        }
        (Actual::Json(Value::String(s)), _) => compare(&Actual::Text(s.clone()), op, rhs),
        (Actual::Number(a) | Actual::Duration(a), Literal::Number(b) | Literal::Duration(b)) => Ok(numeric(*a, op, *b)),
        (Actual::Text(t), Literal::Number(b)) => match t.trim().parse::<f64>() {
            Ok(a) => Ok(numeric(a, op, *b)),
            Err(_) => Err(format!("`{}` is not a number", truncate(t, 40))),
        },
        (Actual::Text(t), Literal::Duration(b)) => match text_as_ms(t) {
            Some(a) => Ok(numeric(a, op, *b)),
            None => Err(format!("`{}` is not a duration", truncate(t, 40))),
        },
        (Actual::Text(t), Literal::Str(s)) => match op {
            Op::Eq => Ok(t == s),
            Op::Ne => Ok(t != s),
            Op::Contains => Ok(t.contains(s.as_str())),
            _ => Err(format!("cannot use `{}` on text", op.symbol())),
        },
        (Actual::Json(Value::Array(items)), _) if op == Op::Contains => {
            let wanted = literal_json(rhs);
            Ok(items.contains(&wanted))
        }
        (Actual::Json(Value::Object(map)), Literal::Str(key)) if op == Op::Contains => Ok(map.contains_key(key)),
        (actual, rhs) => match op {
            Op::Eq => Ok(loosely_equal(actual, rhs)),
            Op::Ne => Ok(!loosely_equal(actual, rhs)),
            Op::Contains => Err(format!(
                "`contains` needs text, an array or an object, got {}",
                describe(actual)
            )),
            _ => Err(format!("{} is not a number", describe(actual))),
        },
    }
}

/// Equality across kinds: JSON values compare by value, and text compares with its literal
/// spelling so that a header `true` equals `true`.
fn loosely_equal(actual: &Actual, rhs: &Literal) -> bool {
    match actual {
        Actual::Json(v) => {
            let spelled = match rhs {
                Literal::Str(s) => Some(s.as_str()),
                _ => None,
            };
            *v == literal_json(rhs) || spelled.is_some_and(|s| s == v.to_string().as_str())
        }
        other => match rhs {
            Literal::Str(s) => other.text() == *s,
            Literal::Bool(b) => other.text() == b.to_string(),
            Literal::Null => other.text() == "null",
            Literal::Number(_) | Literal::Duration(_) => false,
        },
    }
}

fn literal_json(rhs: &Literal) -> Value {
    match rhs {
        Literal::Number(n) | Literal::Duration(n) => serde_json::Number::from_f64(*n)
            .map(|n| {
                // Integral literals compare equal to JSON integers.
                if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                    Value::from(n.as_f64().unwrap_or_default() as i64)
                } else {
                    Value::Number(n)
                }
            })
            .unwrap_or(Value::Null),
        Literal::Str(s) => Value::String(s.clone()),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

fn describe(actual: &Actual) -> String {
    match actual {
        Actual::Json(v) => kind_of(v).to_string(),
        Actual::Text(_) => "text".into(),
        Actual::Number(_) => "a number".into(),
        Actual::Duration(_) => "a duration".into(),
    }
}

fn numeric(a: f64, op: Op, b: f64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Contains | Op::Matches | Op::Present => false,
    }
}

/// A header such as `120ms` or a bare number of milliseconds.
fn text_as_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    text.parse::<f64>().ok().filter(|n| n.is_finite()).or_else(|| {
        tollgate_sdk::parse_duration(text)
            .ok()
            .map(|d| d.as_secs_f64() * 1000.0)
    })
}

fn quoted(actual: &Actual, shown: &str) -> String {
    match actual {
        Actual::Text(_) | Actual::Json(Value::String(_)) => format!("\"{shown}\""),
        _ => shown.to_string(),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `450ms`, `1.25s`, `2m 5s`, `3h 10m`, `13d 4h`: precise where it matters, short elsewhere.
pub fn format_ms(ms: f64) -> String {
    if ms < 0.0 {
        return format!("-{}", format_ms(-ms));
    }
    let whole = ms.round() as u64;
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    match whole {
        w if w < S => format!("{w}ms"),
        w if w < M => {
            let secs = format!("{:.2}", w as f64 / 1000.0);
            format!("{}s", secs.trim_end_matches('0').trim_end_matches('.'))
        }
        w if w < H => format!("{}m {}s", w / M, (w % M) / S),
        w if w < D => format!("{}h {}m", w / H, (w % H) / M),
        w => format!("{}d {}h", w / D, (w % D) / H),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Condition {
        Condition::parse(text).unwrap()
    }

    fn obs(status: u16, body: &str) -> Observation {
        Observation {
            status,
            response_time: Duration::from_millis(120),
            headers: vec![("X-Region".into(), "eu-west".into())],
            body: body.into(),
            cert_expires_in_ms: None,
        }
    }

    fn judge(text: &str, o: &Observation) -> ConditionResult {
        evaluate_all(&[parse(text)], o).remove(0)
    }

    #[test]
    fn parses_each_subject_and_operator() {
        let c = parse("status == 200");
        assert_eq!(
            (c.subject, c.op, c.rhs),
            (Subject::Status, Op::Eq, Literal::Number(200.0))
        );
        let c = parse("latency<300ms");
        assert_eq!(
            (c.subject, c.op, c.rhs),
            (Subject::ResponseTime, Op::Lt, Literal::Duration(300.0))
        );
        let c = parse("cert_expires_in > 14d");
        assert_eq!(c.rhs, Literal::Duration(14.0 * 86_400_000.0));
        let c = parse("body.checks[0].ok == true");
        assert_eq!(
            c.subject,
            Subject::BodyField(vec!["checks".into(), "0".into(), "ok".into()])
        );
        assert_eq!(c.rhs, Literal::Bool(true));
        let c = parse("Header.X-Region != 'us-east'");
        assert_eq!(c.subject, Subject::Header("x-region".into()));
        assert_eq!(c.rhs, Literal::Str("us-east".into()));
        let c = parse(r#"body contains "\"ok\"""#);
        assert_eq!((c.op, c.rhs), (Op::Contains, Literal::Str("\"ok\"".into())));
        assert_eq!(parse(r#"status matches "^2..$""#).op, Op::Matches);
    }

    #[test]
    fn bad_conditions_say_what_is_wrong_and_show_an_example() {
        let cases = [
            ("status = 200", "column 8: `=` is not an operator (compare with `==`)"),
            ("status", "an operator and a value are missing"),
            ("stauts == 200", "unknown field `stauts`"),
            ("status == ok", "`ok` is not a value"),
            ("response_time < 300", "`300` needs a unit"),
            ("status == 14d", "`status` compares with a number"),
            ("body.version < \"2\"", "`<` needs a number or duration"),
            (
                "body.a..b == 1",
                "column 8: expected a property name after `.`, found `.`",
            ),
            ("status ~= 200", "`~=` is not an operator"),
            ("body matches \"(\"", "not a valid regular expression"),
            ("header.x contains 5", "needs a quoted string"),
            ("", "the condition is empty"),
            (
                "status ==",
                "column 10: expected a value, found the end of the expression",
            ),
            ("latency < 5x", "column 11: `5x` is neither a number nor a duration"),
        ];
        for (text, expected) in cases {
            let err = Condition::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.contains(&format!("`{text}`")), "{text}: {err}");
            assert!(err.contains("examples: `status == 200`"), "{text}: {err}");
        }
    }

    #[test]
    fn a_condition_is_one_comparison_of_a_field_with_a_value() {
        let cases = [
            (
                "status == 200 && body.ok == true",
                "column 15: a condition is one comparison",
            ),
            (
                "status == 200 or latency < 1s",
                "column 15: a condition is one comparison",
            ),
            ("status == 200 == true", "column 15: a condition is one comparison"),
            ("status == 200 300", "column 15: unexpected `300` after the condition"),
            ("!(status == 200)", "column 1: a condition cannot be negated"),
            ("not status == 200", "column 1: a condition cannot be negated"),
            ("200 == status", "column 1: it must start with a field such as `status`"),
            (
                "status 200",
                "column 8: `200` is not an operator (use ==, !=, <, <=, >, >=, contains or matches)",
            ),
            ("status == body.x", "column 11: `body.x` is not a value"),
            (
                "status == foo(1)",
                "column 11: unknown function `foo()` (there are no functions in a health condition)",
            ),
            ("status < 1 + 2", "column 12: unexpected `+` after the condition"),
            (
                "response_time < 1m 30s",
                "column 20: unexpected `30s` after the duration (write a duration without spaces",
            ),
            ("header == \"x\"", "column 1: `header` needs a header name"),
            (
                "body.a[true] == 1",
                "column 8: a field path is indexed with a number or a quoted name",
            ),
            ("stauts == 200", "(did you mean `status`?)"),
            ("status == 1e999", "column 11: `1e999` is too large a number"),
        ];
        for (text, expected) in cases {
            let err = Condition::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.starts_with(&format!("`{text}`: ")), "{text}: {err}");
            assert!(err.ends_with(EXAMPLES), "{text}: {err}");
        }
    }

    #[test]
    fn paths_and_strings_read_as_the_shared_grammar_writes_them() {
        let c = parse("body['a.b'][1] == 'it''s'");
        assert_eq!(c.subject, Subject::BodyField(vec!["a.b".into(), "1".into()]));
        assert_eq!(c.rhs, Literal::Str("it's".into()));
        assert_eq!(c.expected(), "== 'it''s'");
        assert_eq!(
            parse("body.5m_load < 2").subject,
            Subject::BodyField(vec!["5m_load".into()])
        );
        let c = parse("header.content-type contains \"json\"");
        assert_eq!(
            (c.subject, c.op),
            (Subject::Header("content-type".into()), Op::Contains)
        );
        let c = parse("  STATUS_CODE>=200  ");
        assert_eq!(
            (c.text.as_str(), c.subject, c.op),
            ("STATUS_CODE>=200", Subject::Status, Op::Ge)
        );
        assert_eq!(parse("response_time < 1m30s").rhs, Literal::Duration(90_000.0));
        assert_eq!(
            Subject::parse("headers.X-Region"),
            Ok(Subject::Header("x-region".into()))
        );
        assert!(Subject::parse("status == 200").is_err());
    }

    #[test]
    fn status_failure_reads_like_the_step_message() {
        let r = judge("status == 200", &obs(503, ""));
        assert!(!r.passed);
        assert_eq!(r.actual.as_deref(), Some("503"));
        assert_eq!(r.expected, "== 200");
        assert_eq!(r.reason.as_deref(), Some("status 503 != 200"));
        assert!(judge("status < 400", &obs(204, "")).passed);
        assert!(judge(r#"status matches "^2..$""#, &obs(204, "")).passed);
    }

    #[test]
    fn missing_body_field_fails_with_where_it_stopped() {
        let o = obs(200, r#"{"checks":[{"ok":true}],"version":"1.4.2"}"#);
        assert!(judge("body.checks.0.ok == true", &o).passed);
        let r = judge("body.checks.1.ok == true", &o);
        assert!(!r.passed);
        assert_eq!(r.actual, None);
        let reason = r.reason.unwrap();
        assert!(
            reason.contains("`checks` has 1 item(s), so there is no index 1"),
            "{reason}"
        );
        let r = judge("body.db.ok != false", &o);
        assert!(!r.passed, "a missing field must never pass, even with !=");
        assert!(r.reason.unwrap().contains("the body has no field `db`"));
        let r = judge("body.version == \"1.4.2\"", &o);
        assert!(r.passed);
    }

    #[test]
    fn non_json_body_fails_body_fields_but_not_raw_body() {
        let o = obs(200, "<html>ok</html>");
        let r = judge("body.status == \"ok\"", &o);
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("the body is not JSON"));
        assert!(judge("body contains \"ok\"", &o).passed);
        let r = judge("body contains \"healthy\"", &o);
        assert_eq!(r.reason.as_deref(), Some("body does not contain \"healthy\""));
    }

    #[test]
    fn headers_match_regardless_of_case() {
        let o = obs(200, "");
        assert!(judge("header.x-region == \"eu-west\"", &o).passed);
        assert!(judge("header.X-REGION contains \"eu\"", &o).passed);
        let r = judge("header.x-cache == \"HIT\"", &o);
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("no `x-cache` header"));
    }

    #[test]
    fn durations_compare_in_milliseconds() {
        let mut o = obs(200, r#"{"uptime_ms": 90000, "lag": "2s"}"#);
        assert!(judge("response_time < 300ms", &o).passed);
        assert!(judge("latency <= 120ms", &o).passed);
        let r = judge("response_time < 0.1s", &o);
        assert!(!r.passed);
        assert_eq!(r.actual.as_deref(), Some("120ms"));
        assert_eq!(r.reason.as_deref(), Some("response_time 120ms >= 0.1s"));
        assert!(judge("body.uptime_ms > 1m", &o).passed);
        assert!(judge("body.lag < 5s", &o).passed);
        o.cert_expires_in_ms = Some(Ok(10 * 86_400_000));
        let r = judge("cert_expires_in > 14d", &o);
        assert!(!r.passed);
        assert_eq!(r.actual.as_deref(), Some("10d 0h"));
        o.cert_expires_in_ms = Some(Err("handshake failed".into()));
        let r = judge("cert_expires_in > 14d", &o);
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("handshake failed"));
    }

    #[test]
    fn arrays_and_objects_support_contains() {
        let o = obs(200, r#"{"regions":["us-east","eu-west"],"checks":{"db":1}}"#);
        assert!(judge("body.regions contains \"eu-west\"", &o).passed);
        assert!(!judge("body.regions contains \"ap-south\"", &o).passed);
        assert!(judge("body.checks contains \"db\"", &o).passed);
        assert!(judge("body.checks.db > 0", &o).passed);
    }

    #[test]
    fn ordering_a_string_field_fails_with_a_reason() {
        let o = obs(200, r#"{"count":"many"}"#);
        let r = judge("body.count > 3", &o);
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("`many` is not a number"));
    }

    #[test]
    fn read_text_gives_the_failover_region() {
        let o = obs(200, r#"{"region":"ap-south"}"#);
        assert_eq!(
            read_text(&Subject::parse("header.x-region").unwrap(), &o).unwrap(),
            "eu-west"
        );
        assert_eq!(
            read_text(&Subject::parse("body.region").unwrap(), &o).unwrap(),
            "ap-south"
        );
    }

    #[test]
    fn formats_durations_for_people() {
        assert_eq!(format_ms(450.0), "450ms");
        assert_eq!(format_ms(1250.0), "1.25s");
        assert_eq!(format_ms(5000.0), "5s");
        assert_eq!(format_ms(125_000.0), "2m 5s");
        assert_eq!(format_ms(-86_400_000.0 * 2.0), "-2d 0h");
    }
}
