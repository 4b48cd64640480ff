//! Health conditions: parsing `LHS OP RHS` text and judging one HTTP response against it.

use regex_lite::Regex;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Longest value text kept in reports; whole bodies belong in logs, not tables.
const MAX_SHOWN: usize = 120;

/// Written after every parse error so the author sees a working shape next to theirs.
const EXAMPLES: &str = "examples: `status == 200`, `response_time < 300ms`, \
     `body.checks.0.ok == true`, `header.content-type contains \"json\"`, `cert_expires_in > 14d`";

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
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "status" | "status_code" => return Ok(Self::Status),
            "response_time" | "latency" => return Ok(Self::ResponseTime),
            "cert_expires_in" => return Ok(Self::CertExpiresIn),
            "body" => return Ok(Self::Body),
            _ => {}
        }
        // Field names in JSON are case-sensitive, so only the `body.` prefix ignores case.
        if lower.starts_with("body.") {
            return parse_path(&text["body.".len()..]).map(Self::BodyField);
        }
        for prefix in ["header.", "headers."] {
            if let Some(name) = lower.strip_prefix(prefix) {
                if name.is_empty() {
                    return Err("`header.` needs a header name, e.g. `header.x-region`".into());
                }
                return Ok(Self::Header(name.to_string()));
            }
        }
        Err(format!(
            "unknown field `{text}`: use status, response_time (or latency), body, \
             body.<path>, header.<name> or cert_expires_in"
        ))
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

/// `a.b[0].c` and `a.b.0.c` both become `["a", "b", "0", "c"]`.
fn parse_path(path: &str) -> Result<Vec<String>, String> {
    let normalised = path.replace('[', ".").replace(']', "");
    let segments: Vec<String> = normalised.split('.').map(str::to_string).collect();
    if segments.iter().any(String::is_empty) {
        return Err(format!(
            "`body.{path}` has an empty path segment; write e.g. `body.checks.0.ok`"
        ));
    }
    Ok(segments)
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
    fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the value after the operator is missing".into());
        }
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text)
                .map(Self::Str)
                .map_err(|_| format!("`{text}` is not a well-formed quoted string"));
        }
        if let Some(inner) = text.strip_prefix('\'') {
            return inner
                .strip_suffix('\'')
                .map(|s| Self::Str(s.to_string()))
                .ok_or_else(|| format!("`{text}` is missing its closing quote"));
        }
        match text {
            "true" => return Ok(Self::Bool(true)),
            "false" => return Ok(Self::Bool(false)),
            "null" => return Ok(Self::Null),
            _ => {}
        }
        if let Ok(n) = text.parse::<f64>()
            && n.is_finite()
        {
            return Ok(Self::Number(n));
        }
        if text.starts_with(|c: char| c.is_ascii_digit())
            && let Ok(d) = tollgate_sdk::parse_duration(text)
        {
            return Ok(Self::Duration(d.as_secs_f64() * 1000.0));
        }
        Err(format!(
            "`{text}` is not a value: write a number (`200`), a duration (`300ms`, `14d`), \
             a quoted string (`\"ok\"`), `true`, `false` or `null`"
        ))
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
    let lhs_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-[]".contains(c)))
        .unwrap_or(text.len());
    let lhs = &text[..lhs_end];
    if lhs.is_empty() {
        return Err("it must start with a field such as `status`".into());
    }
    let rest = text[lhs_end..].trim_start();
    let (op, rhs_text) = split_op(rest)?;
    let rhs_text = rhs_text.trim();
    let subject = Subject::parse(lhs)?;
    let rhs = Literal::parse(rhs_text)?;
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

fn split_op(rest: &str) -> Result<(Op, &str), String> {
    const SYMBOLS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    for (symbol, op) in SYMBOLS {
        if let Some(rhs) = rest.strip_prefix(symbol) {
            return Ok((op, rhs));
        }
    }
    for (word, op) in [("contains", Op::Contains), ("matches", Op::Matches)] {
        if let Some(rhs) = rest.strip_prefix(word)
            && rhs.starts_with(char::is_whitespace)
        {
            return Ok((op, rhs));
        }
    }
    if rest.starts_with('=') {
        return Err("use `==` to compare, not `=`".into());
    }
    let found = rest.split_whitespace().next().unwrap_or("");
    if found.is_empty() {
        Err("an operator and a value are missing".into())
    } else {
        Err(format!(
            "`{found}` is not an operator: use ==, !=, <, <=, >, >=, contains or matches"
        ))
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
            ("status = 200", "use `==`"),
            ("status", "an operator and a value are missing"),
            ("stauts == 200", "unknown field `stauts`"),
            ("status == ok", "`ok` is not a value"),
            ("response_time < 300", "`300` needs a unit"),
            ("status == 14d", "`status` compares with a number"),
            ("body.version < \"2\"", "`<` needs a number or duration"),
            ("body.a..b == 1", "empty path segment"),
            ("status ~= 200", "`~=` is not an operator"),
            ("body matches \"(\"", "not a valid regular expression"),
            ("header.x contains 5", "needs a quoted string"),
        ];
        for (text, expected) in cases {
            let err = Condition::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.contains(&format!("`{text}`")), "{text}: {err}");
            assert!(err.contains("examples: `status == 200`"), "{text}: {err}");
        }
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
