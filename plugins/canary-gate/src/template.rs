//! Reading an analysis as Argo Rollouts writes it: an AnalysisTemplate's `metrics` list (camelCase
//! keys, `provider: {prometheus: {address, query}}`, `{{args.x}}`), or the template file itself,
//! into typed [`Metric`]s checked before the first measurement.

use crate::provider::{Auth, Prometheus, Provider, RangeQuery, Web};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tollgate_expr::metric::Condition;

/// Argo's default for `consecutiveErrorLimit`.
pub const DEFAULT_CONSECUTIVE_ERROR_LIMIT: u32 = 4;

/// One metric, ready to measure.
#[derive(Debug, Clone)]
pub struct Metric {
    /// Its name, unique in the analysis.
    pub name: String,
    /// Time between the starts of two measurements.
    pub interval: Option<Duration>,
    /// Measurements to take; `None`: until the analysis' `duration` ends.
    pub count: Option<u32>,
    /// Wait before the first measurement.
    pub initial_delay: Duration,
    /// A measurement passes when this holds.
    pub success: Option<Condition>,
    /// A measurement fails when this holds.
    pub failure: Option<Condition>,
    /// Failed measurements tolerated; one more fails the metric.
    pub failure_limit: u32,
    /// Inconclusive measurements tolerated; one more makes the metric Inconclusive.
    pub inconclusive_limit: u32,
    /// Errors in a row tolerated; one more makes the metric Error.
    pub consecutive_error_limit: u32,
    /// Measured and reported, never deciding.
    pub dry_run: bool,
    /// Where values come from.
    pub provider: Provider,
    /// Baseline-vs-canary comparison.
    pub compare: Option<Compare>,
}

/// Which way a change is bad, for the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher in the canary is worse (errors, latency).
    Increase,
    /// Lower in the canary is worse (success rate, throughput).
    Decrease,
    /// Any significant difference is bad.
    Either,
}

/// A baseline-vs-canary comparison: the metric's query is run once per variant, with
/// `{{variant}}` replaced by each name, and the two samples are judged with a Mann-Whitney U test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Compare {
    /// The variant the canary is compared with, e.g. `stable`.
    pub baseline: String,
    /// The canary's variant, e.g. `canary`.
    pub canary: String,
    /// Which way a change is bad.
    pub direction: Direction,
    /// How sure the test must be before it calls a difference real (e.g. 0.95).
    pub confidence: f64,
    /// Relative change of the median ignored even when significant (0.1: 10%).
    pub tolerance: f64,
}

/// A problem with the analysis as written: `at` says where (`metrics[1].interval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where, e.g. `metrics[0] (error-rate).successCondition`.
    pub at: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

fn spec_error(at: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        at: at.into(),
        message: message.into(),
    }
}

/// An AnalysisTemplate file's parts.
#[derive(Debug, Clone, Default)]
pub struct TemplateFile {
    /// `spec.metrics`.
    pub metrics: Value,
    /// `spec.args`: name → default value (`None`: must be given).
    pub args: BTreeMap<String, Option<ArgValue>>,
    /// `spec.dryRun[].metricName`.
    pub dry_run: Vec<String>,
}

/// Read an AnalysisTemplate (or ClusterAnalysisTemplate) YAML document.
pub fn read_template_file(text: &str) -> Result<TemplateFile, SpecError> {
    let doc: Value =
        serde_yaml_ng::from_str(text).map_err(|e| spec_error("template", format!("is not valid YAML: {e}")))?;
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "AnalysisTemplate" | "ClusterAnalysisTemplate") {
        return Err(spec_error(
            "template.kind",
            format!("is `{kind}`; give an AnalysisTemplate or ClusterAnalysisTemplate (argoproj.io/v1alpha1)"),
        ));
    }
    let spec = doc
        .get("spec")
        .ok_or_else(|| spec_error("template.spec", "is missing"))?;
    let metrics = spec
        .get("metrics")
        .cloned()
        .ok_or_else(|| spec_error("template.spec.metrics", "is missing"))?;
    let mut args = BTreeMap::new();
    for (i, arg) in spec
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = arg
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| spec_error(format!("template.spec.args[{i}].name"), "is missing"))?;
        args.insert(
            name.to_string(),
            read_arg(arg, &format!("template.spec.args[{i}] ({name})"))?,
        );
    }
    let dry_run = spec
        .get("dryRun")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("metricName").and_then(Value::as_str).map(String::from))
        .collect();
    Ok(TemplateFile { metrics, args, dry_run })
}

/// Where an argument's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// Written out.
    Text(String),
    /// Argo's `valueFrom: {secretKeyRef: {name, key}}`: the Tollgate secret
    /// [`tollgate_vocab::secret_ref_name`] forms from them, read when the analysis starts.
    Secret {
        /// The Tollgate secret's name, e.g. `PROM_AUTH_TOKEN`.
        secret: String,
        /// The reference as written, for messages: `{name: prom-auth, key: token}`.
        reference: String,
    },
}

/// One argument's value as Argo writes it, `value: …` or `valueFrom: {secretKeyRef: {name, key}}`;
/// `None` when it has neither (the step must give it).
pub fn read_arg(arg: &Value, at: &str) -> Result<Option<ArgValue>, SpecError> {
    match arg.get("valueFrom") {
        Some(from) => read_value_from(from, at).map(Some),
        None => Ok(arg.get("value").map(|v| ArgValue::Text(scalar_text(v)))),
    }
}

/// An argument's `valueFrom` (`at` names the argument): only `secretKeyRef: {name, key}` is read.
pub fn read_value_from(from: &Value, at: &str) -> Result<ArgValue, SpecError> {
    let Some(secret_ref) = from.get("secretKeyRef") else {
        return Err(spec_error(
            format!("{at}.valueFrom"),
            "only `secretKeyRef` is read in CI (`fieldRef` reads a Kubernetes object there is none of here): give \
             the value with the `args` input",
        ));
    };
    let part = |key: &str| {
        secret_ref
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| spec_error(format!("{at}.valueFrom.secretKeyRef.{key}"), "is missing"))
    };
    let (name, key) = (part("name")?, part("key")?);
    Ok(ArgValue::Secret {
        secret: tollgate_vocab::secret_ref_name(name, key),
        reference: format!("{{name: {name}, key: {key}}}"),
    })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replace every `{{args.NAME}}` (spaces inside the braces allowed, as Argo allows) in every
/// string of `value`. An argument used but not given is an error naming it.
pub fn substitute_args(value: &Value, args: &BTreeMap<String, String>) -> Result<Value, SpecError> {
    Ok(match value {
        Value::String(s) => Value::String(substitute(s, args)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_args(v, args))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_args(v, args)?)))
                .collect::<Result<Map<_, _>, SpecError>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute(text: &str, args: &BTreeMap<String, String>) -> Result<String, SpecError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = after[..end].trim();
        match inner.strip_prefix("args.") {
            Some(name) => match args.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    let known: Vec<&str> = args.keys().map(String::as_str).collect();
                    let given = if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    };
                    return Err(spec_error(
                        "args",
                        format!(
                            "`{{{{args.{name}}}}}` is used but not given (given: {given}); add `{name}` to the `args` input"
                        ),
                    ));
                }
            },
            // `{{variant}}` is the comparison's; anything else is kept for the provider to refuse.
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Turn the (substituted) `metrics` list into metrics. `dry_run` names metrics that never decide
/// (`*` matches any run of characters). `default_address` serves Prometheus providers without
/// an `address`.
pub fn read_metrics(
    metrics: &Value,
    dry_run: &[String],
    default_address: Option<&str>,
) -> Result<Vec<Metric>, SpecError> {
    let list = metrics.as_array().ok_or_else(|| {
        spec_error(
            "metrics",
            "must be a list of metrics, as in an AnalysisTemplate's `spec.metrics`",
        )
    })?;
    if list.is_empty() {
        return Err(spec_error("metrics", "is empty: give at least one metric"));
    }
    let mut out: Vec<Metric> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let metric = read_metric(i, item, dry_run, default_address)?;
        if out.iter().any(|m| m.name == metric.name) {
            return Err(spec_error(
                format!("metrics[{i}].name"),
                format!("`{}` is used twice", metric.name),
            ));
        }
        out.push(metric);
    }
    for pattern in dry_run {
        if !out.iter().any(|m| glob(pattern, &m.name)) {
            return Err(spec_error("dry-run", format!("`{pattern}` matches no metric")));
        }
    }
    Ok(out)
}

const METRIC_KEYS: &[&str] = &[
    "name",
    "interval",
    "initialDelay",
    "count",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "dryRun",
    "provider",
    "compare",
];

fn read_metric(i: usize, item: &Value, dry_run: &[String], default_address: Option<&str>) -> Result<Metric, SpecError> {
    let obj = item
        .as_object()
        .ok_or_else(|| spec_error(format!("metrics[{i}]"), "must be an object with `name` and `provider`"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| spec_error(format!("metrics[{i}].name"), "is missing"))?
        .to_string();
    let at = |key: &str| format!("metrics[{i}] ({name}).{key}");
    for key in obj.keys() {
        if !METRIC_KEYS.contains(&key.as_str()) {
            let hint = tollgate_expr::did_you_mean(key, METRIC_KEYS.iter().copied())
                .map(|k| format!("did you mean `{k}`?"))
                .unwrap_or_else(|| format!("known keys: {}", METRIC_KEYS.join(", ")));
            return Err(spec_error(at(key), format!("is not a metric key ({hint})")));
        }
    }
    let duration = |key: &str| -> Result<Option<Duration>, SpecError> {
        obj.get(key)
            .map(|v| read_duration(v).map_err(|m| spec_error(at(key), m)))
            .transpose()
    };
    let number = |key: &str| -> Result<Option<u32>, SpecError> {
        obj.get(key)
            .map(|v| read_count(v).map_err(|m| spec_error(at(key), m)))
            .transpose()
    };
    let condition = |key: &str| -> Result<Option<Condition>, SpecError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Condition::parse(text)
                .map(Some)
                .map_err(|e| spec_error(at(key), format!("`{text}`: {}", e.with_column()))),
            Some(other) => Err(spec_error(at(key), format!("must be text, not {other}"))),
        }
    };
    let interval = duration("interval")?.filter(|d| !d.is_zero());
    let count = number("count")?;
    let success = condition("successCondition")?;
    let failure = condition("failureCondition")?;
    let compare = obj
        .get("compare")
        .map(|c| read_compare(c, &at("compare")))
        .transpose()?;
    if success.is_none() && failure.is_none() && compare.is_none() {
        return Err(spec_error(
            at("successCondition"),
            "is missing, and so is `failureCondition`: a metric needs one to judge its measurements, e.g. `result[0] < 0.01`",
        ));
    }
    if count == Some(0) {
        return Err(spec_error(at("count"), "is 0: a metric needs at least one measurement"));
    }
    if count.is_some_and(|c| c > 1) && interval.is_none() {
        return Err(spec_error(
            at("interval"),
            "is missing: more than one measurement needs an interval between them",
        ));
    }
    let count = match (count, interval) {
        (None, None) => Some(1),
        (count, _) => count,
    };
    let provider = read_provider(obj.get("provider"), &at("provider"), default_address)?;
    if compare.is_some() && !provider.query_text().contains("{{variant}}") {
        return Err(spec_error(
            at("compare"),
            "needs `{{variant}}` in the query, where the baseline's and the canary's variant names go",
        ));
    }
    let dry = match obj.get("dryRun") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(spec_error(at("dryRun"), format!("must be true or false, not {other}"))),
    };
    Ok(Metric {
        dry_run: dry || dry_run.iter().any(|p| glob(p, &name)),
        interval,
        count,
        initial_delay: duration("initialDelay")?.unwrap_or_default(),
        success,
        failure,
        failure_limit: number("failureLimit")?.unwrap_or(0),
        inconclusive_limit: number("inconclusiveLimit")?.unwrap_or(0),
        consecutive_error_limit: number("consecutiveErrorLimit")?.unwrap_or(DEFAULT_CONSECUTIVE_ERROR_LIMIT),
        provider,
        compare,
        name,
    })
}

/// Argo's durations (`30s`, `5m`, `1m30s`) in the project's one duration grammar; `0`/`0s` is none.
fn read_duration(value: &Value) -> Result<Duration, String> {
    let text = scalar_text(value);
    if matches!(text.as_str(), "0" | "0s" | "0m" | "0ms") {
        return Ok(Duration::ZERO);
    }
    tollgate_vocab::duration::parse_duration(&text).map_err(|e| e.to_string())
}

/// Argo writes counts as numbers or strings (`"{{args.count}}"` after substitution).
fn read_count(value: &Value) -> Result<u32, String> {
    let text = scalar_text(value);
    text.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{text}` is not a whole number of 0 or more"))
}

fn read_compare(value: &Value, at: &str) -> Result<Compare, SpecError> {
    let text = |key: &str, default: &str| -> Result<String, SpecError> {
        match value.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(other) => Err(spec_error(format!("{at}.{key}"), format!("must be text, not {other}"))),
        }
    };
    let fraction = |key: &str, default: f64, range: std::ops::Range<f64>| -> Result<f64, SpecError> {
        match value.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|f| range.contains(f)).ok_or_else(|| {
                spec_error(
                    format!("{at}.{key}"),
                    format!("must be a number in [{}, {})", range.start, range.end),
                )
            }),
        }
    };
    let direction = match text("direction", "increase")?.as_str() {
        "increase" => Direction::Increase,
        "decrease" => Direction::Decrease,
        "either" => Direction::Either,
        other => {
            return Err(spec_error(
                format!("{at}.direction"),
                format!("`{other}`: write `increase` (higher is worse), `decrease` or `either`"),
            ));
        }
    };
    Ok(Compare {
        baseline: text("baseline", "stable")?,
        canary: text("canary", "canary")?,
        direction,
        confidence: fraction("confidence", 0.95, 0.5..1.0)?,
        tolerance: fraction("tolerance", 0.0, 0.0..10.0)?,
    })
}

fn read_provider(value: Option<&Value>, at: &str, default_address: Option<&str>) -> Result<Provider, SpecError> {
    let obj = value.and_then(Value::as_object).ok_or_else(|| {
        spec_error(
            at,
            "is missing: write `provider: {prometheus: {address, query}}` or `provider: {web: {url, jsonPath}}`",
        )
    })?;
    let (kind, body) = match obj.iter().collect::<Vec<_>>().as_slice() {
        [(kind, body)] => (kind.as_str(), *body),
        _ => return Err(spec_error(at, "must name exactly one provider: `prometheus` or `web`")),
    };
    let at = format!("{at}.{kind}");
    let known: &[&str] = match kind {
        "prometheus" => PROMETHEUS_KEYS,
        "web" => WEB_KEYS,
        _ => &[],
    };
    for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
        if !known.is_empty() && !known.contains(&key.as_str()) {
            // Argo ignores nothing it reads; a key we would ignore (a misspelt `authentication`) could
            // send a query unauthenticated or to the wrong place.
            let hint = tollgate_expr::did_you_mean(key, known.iter().copied())
                .map(|k| format!("did you mean `{k}`?"))
                .unwrap_or_else(|| format!("known keys: {}", known.join(", ")));
            return Err(spec_error(
                format!("{at}.{key}"),
                format!("is not a {kind} key ({hint})"),
            ));
        }
    }
    if body.get("insecure").and_then(Value::as_bool) == Some(true) {
        return Err(spec_error(
            format!("{at}.insecure"),
            "canary-gate always verifies TLS: remove `insecure: true` (give a certificate the machine trusts)",
        ));
    }
    let field = |key: &str| body.get(key).map(scalar_text);
    let headers = read_headers(body.get("headers"), &format!("{at}.headers"))?;
    let timeout = |key: &str| -> Result<Duration, SpecError> {
        match body.get(key) {
            None => Ok(Duration::from_secs(10)),
            Some(v) => read_count(v)
                .ok()
                .filter(|s| (1..=600).contains(s))
                .map(|s| Duration::from_secs(u64::from(s)))
                .ok_or_else(|| spec_error(format!("{at}.{key}"), "must be whole seconds between 1 and 600")),
        }
    };
    match kind {
        "prometheus" => {
            let address = field("address")
                .or_else(|| default_address.map(String::from))
                .ok_or_else(|| {
                    spec_error(
                        format!("{at}.address"),
                        "is missing: give Prometheus' URL here or in the `address` input",
                    )
                })?;
            let query = field("query")
                .filter(|q| !q.trim().is_empty())
                .ok_or_else(|| spec_error(format!("{at}.query"), "is missing"))?;
            let range = match body.get("rangeQuery") {
                None => None,
                Some(r) => Some(read_range(r, &format!("{at}.rangeQuery"))?),
            };
            Ok(Provider::Prometheus(Prometheus {
                address: address.trim_end_matches('/').to_string(),
                query,
                range,
                timeout: timeout("timeout")?,
                headers,
                auth: read_auth(body.get("authentication"), &format!("{at}.authentication"))?,
            }))
        }
        "web" => {
            let url = field("url").ok_or_else(|| spec_error(format!("{at}.url"), "is missing"))?;
            let json_path = field("jsonPath").unwrap_or_else(|| "{$}".into());
            let method = field("method").unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
            if !matches!(method.as_str(), "GET" | "POST" | "PUT") {
                return Err(spec_error(
                    format!("{at}.method"),
                    format!("`{method}`: use GET, POST or PUT"),
                ));
            }
            let body_text = match (body.get("body"), body.get("jsonBody")) {
                (Some(b), _) => Some(scalar_text(b)),
                (None, Some(j)) => Some(j.to_string()),
                (None, None) => None,
            };
            Ok(Provider::Web(Web {
                path: crate::provider::JsonPath::parse(&json_path)
                    .map_err(|m| spec_error(format!("{at}.jsonPath"), m))?,
                url,
                method,
                headers,
                body: body_text,
                timeout: timeout("timeoutSeconds")?,
            }))
        }
        other => Err(spec_error(
            at,
            format!(
                "the `{other}` provider is not supported: canary-gate measures with `prometheus` or `web` (JSON over HTTP)"
            ),
        )),
    }
}

const PROMETHEUS_KEYS: &[&str] = &[
    "address",
    "query",
    "rangeQuery",
    "timeout",
    "headers",
    "authentication",
    "insecure",
];
const WEB_KEYS: &[&str] = &[
    "url",
    "jsonPath",
    "method",
    "headers",
    "body",
    "jsonBody",
    "timeoutSeconds",
    "insecure",
];

/// Argo's `headers: [{key, value}]`.
fn read_headers(value: Option<&Value>, at: &str) -> Result<Vec<(String, String)>, SpecError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let entries = value
        .as_array()
        .ok_or_else(|| spec_error(at, "must be a list of `{key, value}`"))?;
    entries
        .iter()
        .map(|h| match (h.get("key").and_then(Value::as_str), h.get("value")) {
            (Some(k), Some(v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), scalar_text(v))),
            _ => Err(spec_error(at, "entries are `{key, value}`")),
        })
        .collect()
}

/// `authentication`: Argo's `sigv4` (Amazon Managed Prometheus), or `basic` (a Prometheus behind
/// `--web.config.file` basic auth; Tollgate's, since Argo leaves it to a header).
fn read_auth(value: Option<&Value>, at: &str) -> Result<Option<Auth>, SpecError> {
    let Some(value) = value else { return Ok(None) };
    let obj = value
        .as_object()
        .ok_or_else(|| spec_error(at, "must be `{sigv4: {region}}` or `{basic: {username, password}}`"))?;
    let (kind, body) = match obj.iter().collect::<Vec<_>>().as_slice() {
        [(kind, body)] => (kind.as_str(), *body),
        _ => return Err(spec_error(at, "must name exactly one method: `sigv4` or `basic`")),
    };
    let text = |key: &str| {
        body.get(key)
            .map(scalar_text)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| spec_error(format!("{at}.{kind}.{key}"), "is missing"))
    };
    match kind {
        "sigv4" => {
            for (key, why) in [
                ("profile", "there are no AWS profiles in the sandbox"),
                ("roleArn", "the sandbox does not call STS"),
            ] {
                if body.get(key).is_some() {
                    return Err(spec_error(
                        format!("{at}.sigv4.{key}"),
                        format!(
                            "is not read in CI ({why}): assume the role before the step (e.g. \
                             aws-actions/configure-aws-credentials) and grant the secrets {}, {} (and {})",
                            tollgate_sigv4::ACCESS_KEY_SECRET,
                            tollgate_sigv4::SECRET_KEY_SECRET,
                            tollgate_sigv4::SESSION_TOKEN_SECRET
                        ),
                    ));
                }
            }
            Ok(Some(Auth::Sigv4 {
                region: text("region")?,
                credentials: None,
            }))
        }
        "basic" => Ok(Some(Auth::Basic {
            username: text("username")?,
            password: text("password")?,
        })),
        "oauth2" => Err(spec_error(
            format!("{at}.oauth2"),
            "is not supported yet: fetch the token before the step and send it with `headers: [{key: Authorization, \
             value: \"Bearer {{args.token}}\"}]`",
        )),
        other => Err(spec_error(
            format!("{at}.{other}"),
            "is not an authentication method: use `sigv4` or `basic` (or a bearer token in `headers`)",
        )),
    }
}

fn read_range(value: &Value, at: &str) -> Result<RangeQuery, SpecError> {
    let lookback = |key: &str| -> Result<Duration, SpecError> {
        let text = value.get(key).map(scalar_text).unwrap_or_default();
        crate::provider::lookback(&text).map_err(|m| spec_error(format!("{at}.{key}"), m))
    };
    let step = value
        .get("step")
        .map(|v| read_duration(v).map_err(|m| spec_error(format!("{at}.step"), m)))
        .transpose()?
        .filter(|d| !d.is_zero())
        .ok_or_else(|| spec_error(format!("{at}.step"), "is missing, e.g. `step: 1m`"))?;
    let (start, end) = (lookback("start")?, lookback("end")?);
    if start <= end {
        return Err(spec_error(format!("{at}.start"), "must be before `end`"));
    }
    Ok(RangeQuery { start, end, step })
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head) && {
                let rest = &name[head.len()..];
                (0..=rest.len())
                    .filter(|&i| rest.is_char_boundary(i))
                    .any(|i| glob(tail, &rest[i..]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_argo_template_reads_as_argo_writes_it() {
        let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args:
  - name: service-name
  - name: prometheus-port
    value: 9090
  dryRun:
  - metricName: latency*
  metrics:
  - name: success-rate
    interval: 5m
    count: 3
    successCondition: result[0] >= 0.95
    failureLimit: 3
    provider:
      prometheus:
        address: http://prometheus.example.com:{{args.prometheus-port}}
        query: |
          sum(irate(istio_requests_total{reporter="source",destination_service=~"{{args.service-name}}",response_code!~"5.*"}[5m])) /
          sum(irate(istio_requests_total{reporter="source",destination_service=~"{{ args.service-name }}"}[5m]))
  - name: latency-p99
    interval: 1m
    count: "{{args.count}}"
    failureCondition: result[0] > 0.2
    provider:
      prometheus:
        address: http://prometheus.example.com:9090
        query: histogram_quantile(0.99, rate(x[1m]))
"#;
        let file = read_template_file(yaml).unwrap();
        assert_eq!(
            file.args.get("prometheus-port"),
            Some(&Some(ArgValue::Text("9090".to_string())))
        );
        assert_eq!(file.args.get("service-name"), Some(&None));
        let metrics = substitute_args(
            &file.metrics,
            &args(&[
                ("service-name", "checkout"),
                ("prometheus-port", "9090"),
                ("count", "4"),
            ]),
        )
        .unwrap();
        let metrics = read_metrics(&metrics, &file.dry_run, None).unwrap();
        assert_eq!(metrics.len(), 2);
        let m = &metrics[0];
        assert_eq!(
            (
                m.interval,
                m.count,
                m.failure_limit,
                m.consecutive_error_limit,
                m.dry_run
            ),
            (Some(Duration::from_secs(300)), Some(3), 3, 4, false)
        );
        let Provider::Prometheus(p) = &m.provider else { panic!() };
        assert_eq!(p.address, "http://prometheus.example.com:9090");
        assert_eq!(p.query.matches("=~\"checkout\"").count(), 2, "{}", p.query);
        assert_eq!((metrics[1].count, metrics[1].dry_run), (Some(4), true));
    }

    #[test]
    fn mistakes_name_where_they_are() {
        let bad = |metrics: Value| read_metrics(&metrics, &[], None).unwrap_err().to_string();
        let prom = json!({"prometheus": {"address": "http://p:9090", "query": "up"}});
        assert_eq!(
            bad(json!([{"name": "e", "sucessCondition": "result[0] < 1", "provider": prom}])),
            "metrics[0] (e).sucessCondition: is not a metric key (did you mean `successCondition`?)"
        );
        assert!(
            bad(json!([{"name": "e", "successCondition": "result[0] <", "provider": prom}]))
                .starts_with("metrics[0] (e).successCondition: `result[0] <`: column 12: expected a value")
        );
        assert!(
            bad(json!([{"name": "e", "successCondition": "result < 1", "provider": {"datadog": {}}}]))
                .contains("`datadog` provider is not supported")
        );
        assert!(bad(json!([{"name": "e", "provider": prom}])).contains("needs one to judge"));
        assert!(
            bad(json!([{"name": "e", "count": 3, "successCondition": "result[0] < 1", "provider": prom}]))
                .contains("needs an interval")
        );
        assert!(
            bad(json!([{"name": "e", "interval": "5 minutes", "successCondition": "result[0] < 1", "provider": prom}]))
                .contains("interval")
        );
        let e = substitute_args(&json!({"q": "{{args.svc}}"}), &args(&[("other", "x")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "args: `{{args.svc}}` is used but not given (given: other); add `svc` to the `args` input"
        );
    }

    #[test]
    fn globs_match_dry_run_names() {
        assert!(glob("latency*", "latency-p99"));
        assert!(glob("*", "x"));
        assert!(glob("a*c", "abbbc"));
        assert!(!glob("a*c", "abd"));
        assert!(!glob("latency", "latency-p99"));
    }
}
