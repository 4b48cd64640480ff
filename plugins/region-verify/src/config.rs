//! The step's inputs turned into a checked plan: endpoints, conditions, timing, quorum and
//! the failover drill. Everything the author could get wrong fails here, before any request.

use crate::conditions::{Condition, Subject};
use crate::quorum::Quorum;
use serde_json::{Map, Value};
use std::time::Duration;
use tollgate_sdk::{PluginError, duration_from_json, invalid_input};

/// The conditions when `conditions` is not given: a 200 status.
pub const DEFAULT_CONDITIONS: &[&str] = &["status == 200"];
/// The limit for each request when `timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries per endpoint when `retries` is not given.
pub const DEFAULT_RETRIES: u32 = 2;
/// The wait before the first retry when `backoff` is not given.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);
/// Where the failover drill reads the answering region when `region-from` is not given.
pub const DEFAULT_REGION_FROM: &str = "header.x-region";
/// Beyond this, retries stop being a health check and become a wait loop.
pub const MAX_RETRIES: u32 = 20;
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const ENDPOINT_KEYS: &[&str] = &["name", "url", "conditions", "timeout", "retries", "headers", "method"];

/// The step's inputs as declared: each field's doc, kind, default and flags are what
/// `describe` reports, and `run` reads the inputs into this struct before [`Config::new`]
/// checks them.
#[derive(Debug, Clone, tollgate_sdk::Inputs)]
pub struct StepInputs {
    /// Endpoints to check: a list of `{name, url}` (optional per-endpoint `conditions`,
    /// `timeout`, `retries`, `headers`, `method`), or a map `{us-east: URL, eu-west: {url: URL}}`.
    #[input(required, grants_origins)]
    pub endpoints: Value,
    /// Conditions every response must meet, `LHS OP RHS`: LHS is status, response_time
    /// (latency), body, body.<path>, header.<name> or cert_expires_in; OP is == != < <= > >=
    /// contains matches; e.g. `response_time < 300ms`, `body.checks.0.ok == true`.
    #[input(default = DEFAULT_CONDITIONS)]
    pub conditions: Vec<String>,
    /// Limit for each request, from connect to the last body byte.
    #[input(default = tollgate_sdk::Duration(DEFAULT_TIMEOUT))]
    pub timeout: tollgate_sdk::Duration,
    /// Retries per endpoint while a request errors or a condition fails (0 to 20).
    #[input(default = DEFAULT_RETRIES)]
    pub retries: u32,
    /// Wait before the first retry; it doubles each retry, up to 10s (or the backoff itself if longer).
    #[input(default = tollgate_sdk::Duration(DEFAULT_BACKOFF))]
    pub backoff: tollgate_sdk::Duration,
    /// The quorum: how many endpoints must be healthy, as a count (`2`) or a share (`"66%"`,
    /// rounded up). Default: all of them.
    pub min_healthy: Option<Value>,
    /// Request headers sent to every endpoint and the global URL; an endpoint's own `headers` override these.
    pub headers: Option<Map<String, Value>>,
    /// Failover drill: this URL is checked with the same conditions, retries and timeout, and
    /// must answer from a region that is judged healthy.
    #[input(grants_origins)]
    pub global_url: Option<String>,
    /// Where the global URL's answer names its region: `header.<name>` or `body.<path>`.
    #[input(default = DEFAULT_REGION_FROM)]
    pub region_from: String,
}

/// One URL to check, with everything needed to judge it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name used in logs, reports and `failed-regions`: `name`, the map key, or the URL's host
    /// (`global` for the failover drill).
    pub name: String,
    /// The URL requested, as written.
    pub url: String,
    /// `scheme://host[:port]`, as the sandbox grants it.
    pub origin: String,
    /// The HTTP method, upper-case; `GET` unless the endpoint sets `method`.
    pub method: String,
    /// Request headers: the step's `headers`, overridden by the endpoint's own.
    pub headers: Vec<(String, String)>,
    /// Every response must meet all of these.
    pub conditions: Vec<Condition>,
    /// The limit for each request, from connect to the last body byte.
    pub timeout: Duration,
    /// How many times a failed attempt is retried, so at most `retries + 1` requests.
    pub retries: u32,
}

impl Target {
    /// Whether a condition reads `cert_expires_in`, so the TLS certificate must be fetched.
    pub fn needs_cert(&self) -> bool {
        self.conditions.iter().any(|c| c.subject == Subject::CertExpiresIn)
    }

    /// Whether the target is requested over https.
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

/// The failover drill: the global URL must answer from a healthy region.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The global URL, checked with the step-wide settings plus a check that `region_from` is
    /// present (and without `cert_expires_in` when it is plain http).
    pub target: Target,
    /// Where the answering region's name is read.
    pub region_from: Subject,
}

/// The checked plan for one run of the step.
#[derive(Debug, Clone)]
pub struct Config {
    /// The regional endpoints to check.
    pub endpoints: Vec<Target>,
    /// How many of them must be healthy.
    pub quorum: Quorum,
    /// The wait before the first retry; see [`crate::backoff`].
    pub backoff: Duration,
    /// The failover drill, when `global-url` is given.
    pub failover: Option<Failover>,
}

/// Step-wide settings an endpoint inherits unless it overrides them.
struct Defaults {
    conditions: Vec<Condition>,
    timeout: Duration,
    retries: u32,
    headers: Vec<(String, String)>,
}

impl Config {
    /// Check the step's inputs and turn them into a plan. A mistake is an invalid-input
    /// error naming the input at fault, raised before any request is made.
    pub fn new(inputs: StepInputs) -> Result<Self, PluginError> {
        let conditions = parse_conditions(&inputs.conditions).map_err(|e| invalid_input("conditions", e))?;
        let timeout = inputs.timeout.get();
        check_timeout(timeout).map_err(|e| invalid_input("timeout", e))?;
        let retries = check_retries(inputs.retries).map_err(|e| invalid_input("retries", e))?;
        let headers = match &inputs.headers {
            None => Vec::new(),
            Some(map) => parse_header_map(map).map_err(|e| invalid_input("headers", e))?,
        };
        let defaults = Defaults {
            conditions,
            timeout,
            retries,
            headers,
        };

        let endpoints = parse_endpoints(&inputs.endpoints, &defaults).map_err(|e| invalid_input("endpoints", e))?;
        let quorum =
            Quorum::parse(inputs.min_healthy.as_ref(), endpoints.len()).map_err(|e| invalid_input("min-healthy", e))?;

        let failover = match &inputs.global_url {
            None => None,
            Some(url) => Some(parse_failover(url, &inputs.region_from, &defaults)?),
        };
        Ok(Self {
            endpoints,
            quorum,
            backoff: inputs.backoff.get(),
            failover,
        })
    }
}

const ENDPOINTS_HINT: &str = "write a list such as `[{name: us-east, url: \"https://us.example.com/healthz\"}]` \
     or a map such as `{us-east: \"https://us.example.com/healthz\"}`";

fn parse_conditions(texts: &[String]) -> Result<Vec<Condition>, String> {
    if texts.is_empty() {
        return Err("no conditions given; write at least one, e.g. `status == 200`".into());
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Condition::parse(text).map_err(|e| format!("condition {} of {} is invalid: {e}", i + 1, texts.len()))
        })
        .collect()
}

fn check_timeout(timeout: Duration) -> Result<(), String> {
    if timeout.is_zero() {
        Err("a zero timeout would fail every request; write e.g. `5s`".into())
    } else {
        Ok(())
    }
}

fn check_retries(retries: u32) -> Result<u32, String> {
    if retries <= MAX_RETRIES {
        Ok(retries)
    } else {
        Err(format!(
            "expected a whole number from 0 to {MAX_RETRIES}, got {retries}"
        ))
    }
}

fn parse_retries(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= MAX_RETRIES)
        .ok_or_else(|| format!("expected a whole number from 0 to {MAX_RETRIES}, got {value}"))
}

fn parse_headers(value: &Value) -> Result<Vec<(String, String)>, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "expected a map such as `{{Authorization: \"Bearer …\"}}`, got {value}"
        ));
    };
    parse_header_map(map)
}

fn parse_header_map(map: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    map.iter()
        .map(|(name, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                other => return Err(format!("header `{name}` must be text, got {other}")),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                return Err(format!("`{name}` is not a valid header name"));
            }
            if text.contains(['\r', '\n', '\0']) {
                return Err(format!("header `{name}` must be one line"));
            }
            Ok((name.clone(), text))
        })
        .collect()
}

/// Later headers replace earlier ones of the same name (names ignore case).
fn merge_headers(base: &[(String, String)], over: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = base
        .iter()
        .filter(|(n, _)| !over.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    merged.extend(over);
    merged
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Result<String, String> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("https", &url[8..])
    } else if lower.starts_with("http://") {
        ("http", &url[7..])
    } else {
        return Err(format!(
            "`{url}` is not an http:// or https:// URL; write e.g. `https://us-east.example.com/healthz`"
        ));
    };
    if url.contains(char::is_whitespace) {
        return Err(format!("`{url}` contains whitespace"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    if authority.contains('@') {
        return Err(format!(
            "`{url}` carries credentials; pass them in `headers` (e.g. Authorization) so they stay out of reports"
        ));
    }
    if url.parse::<wstd::http::Uri>().is_err() {
        return Err(format!("`{url}` is not a valid URL"));
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

fn parse_endpoints(raw: &Value, defaults: &Defaults) -> Result<Vec<Target>, String> {
    // Both shapes become (name if known, spec) pairs so one path validates them.
    let entries: Vec<(Option<String>, &Value)> = match raw {
        Value::Array(items) => items.iter().map(|v| (None, v)).collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (Some(k.clone()), v)).collect(),
        other => {
            return Err(format!(
                "expected a list or a map of endpoints, got {other}; {ENDPOINTS_HINT}"
            ));
        }
    };
    if entries.is_empty() {
        return Err(format!("no endpoints given; {ENDPOINTS_HINT}"));
    }
    let mut targets: Vec<Target> = Vec::with_capacity(entries.len());
    for (i, (key, spec)) in entries.into_iter().enumerate() {
        let label = key.clone().unwrap_or_else(|| format!("endpoint {}", i + 1));
        let target = parse_endpoint(key, spec, defaults).map_err(|e| format!("{label}: {e}"))?;
        if let Some(dup) = targets.iter().find(|t| t.name.eq_ignore_ascii_case(&target.name)) {
            return Err(format!(
                "two endpoints are named `{}`; names must be unique (add `name:` to tell them apart)",
                dup.name
            ));
        }
        targets.push(target);
    }
    Ok(targets)
}

fn parse_endpoint(key: Option<String>, spec: &Value, defaults: &Defaults) -> Result<Target, String> {
    let empty = Map::new();
    let (url, fields) = match spec {
        Value::String(url) => (url.clone(), &empty),
        Value::Object(fields) => {
            if let Some(unknown) = fields.keys().find(|k| !ENDPOINT_KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "unknown key `{unknown}`; an endpoint takes {}",
                    ENDPOINT_KEYS.join(", ")
                ));
            }
            let url = match fields.get("url") {
                Some(Value::String(url)) => url.clone(),
                Some(other) => return Err(format!("`url` must be text, got {other}")),
                None => return Err("`url` is missing".into()),
            };
            (url, fields)
        }
        other => return Err(format!("expected a URL or `{{name, url}}`, got {other}")),
    };
    let origin = origin_of(&url)?;
    let name = match (key, fields.get("name")) {
        (Some(key), Some(Value::String(n))) if *n != key => {
            return Err(format!("the map key `{key}` and `name: {n}` disagree; keep one"));
        }
        (_, Some(Value::String(n))) => n.trim().to_string(),
        (_, Some(other)) => return Err(format!("`name` must be text, got {other}")),
        (Some(key), None) => key,
        (None, None) => host_of(&origin).to_string(),
    };
    if name.is_empty() || name.contains([',', '\n', '\r']) {
        return Err(format!(
            "`{name}` is not a usable name: give a short name without commas"
        ));
    }
    let conditions = match fields.get("conditions") {
        None => defaults.conditions.clone(),
        Some(Value::Array(items)) => {
            let texts = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("conditions must be text, got {v}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            parse_conditions(&texts)?
        }
        Some(other) => return Err(format!("`conditions` must be a list of text, got {other}")),
    };
    let timeout = match fields.get("timeout") {
        None => defaults.timeout,
        Some(v) => {
            let t = duration_from_json(v).map_err(|e| format!("timeout: {e}"))?;
            check_timeout(t).map_err(|e| format!("timeout: {e}"))?;
            t
        }
    };
    let retries = match fields.get("retries") {
        None => defaults.retries,
        Some(v) => parse_retries(v).map_err(|e| format!("retries: {e}"))?,
    };
    let headers = match fields.get("headers") {
        None => defaults.headers.clone(),
        Some(v) => merge_headers(
            &defaults.headers,
            parse_headers(v).map_err(|e| format!("headers: {e}"))?,
        ),
    };
    let method = match fields.get("method") {
        None => "GET".to_string(),
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => m.to_ascii_uppercase(),
        Some(other) => {
            return Err(format!("method: expected one of {}, got {other}", METHODS.join(", ")));
        }
    };
    let target = Target {
        name,
        url,
        origin,
        method,
        headers,
        conditions,
        timeout,
        retries,
    };
    if target.needs_cert() && !target.is_https() {
        return Err(format!(
            "`cert_expires_in` needs an https:// URL, but {} is plain http; give this endpoint its own `conditions`",
            target.url
        ));
    }
    Ok(target)
}

fn host_of(origin: &str) -> &str {
    let authority = origin.split("://").nth(1).unwrap_or(origin);
    // An IPv6 literal keeps its colons; only a trailing `:port` is dropped.
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    }
}

fn parse_failover(url: &str, region_text: &str, defaults: &Defaults) -> Result<Failover, PluginError> {
    let origin = origin_of(url).map_err(|e| invalid_input("global-url", e))?;
    let region_from = match Subject::parse(region_text.trim()) {
        Ok(s @ (Subject::Header(_) | Subject::BodyField(_))) => s,
        Ok(_) | Err(_) => {
            return Err(invalid_input(
                "region-from",
                format!(
                    "`{region_text}` must name a header or a JSON body field, e.g. `header.x-region` or `body.region`"
                ),
            ));
        }
    };
    let https = origin.starts_with("https://");
    // A plain-http global URL has no certificate; its expiry is judged on the regional URLs.
    let mut conditions: Vec<Condition> = defaults
        .conditions
        .iter()
        .filter(|c| https || c.subject != Subject::CertExpiresIn)
        .cloned()
        .collect();
    conditions.push(Condition::present(region_from.clone()));
    Ok(Failover {
        target: Target {
            name: "global".into(),
            url: url.to_string(),
            origin,
            method: "GET".into(),
            headers: defaults.headers.clone(),
            conditions,
            timeout: defaults.timeout,
            retries: defaults.retries,
        },
        region_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tollgate_sdk::{Inputs, TypedInputs};

    fn inputs(pairs: &[(&str, Value)]) -> Inputs {
        Inputs::from_values(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    /// What `run` does: read the declared inputs, then check them into a plan.
    fn plan(inputs: &Inputs) -> Result<Config, PluginError> {
        Config::new(StepInputs::from_inputs(inputs)?)
    }

    /// Describe and parse never disagree: every default `describe` declares parses into its field.
    #[test]
    fn declared_defaults_parse() {
        StepInputs::check_defaults().unwrap();
    }

    /// The host applies the declared defaults; they must give what an absent input gives.
    #[test]
    fn declared_defaults_match_absent_inputs() {
        let endpoints = ("endpoints".to_string(), json!(["https://a.example.com/"]));
        let mut given = vec![endpoints.clone()];
        for spec in StepInputs::specs() {
            if let Some(default) = spec.default {
                given.push((spec.name, serde_json::from_str(&default).unwrap()));
            }
        }
        let given = Inputs::from_values(given);
        let applied = StepInputs::from_inputs(&given).unwrap();
        let absent = StepInputs::from_inputs(&Inputs::from_values([endpoints])).unwrap();
        assert_eq!(format!("{applied:?}"), format!("{absent:?}"));
        assert_eq!(absent.conditions, DEFAULT_CONDITIONS);
        assert_eq!(absent.timeout.get(), DEFAULT_TIMEOUT);
        assert_eq!(absent.retries, DEFAULT_RETRIES);
        assert_eq!(absent.backoff.get(), DEFAULT_BACKOFF);
        assert_eq!(absent.region_from, DEFAULT_REGION_FROM);
        plan(&given).unwrap();
    }

    /// The names, kinds, flags and defaults the host and README rely on.
    #[test]
    fn declared_inputs_keep_their_contract() {
        use tollgate_sdk::ValueKind::*;
        let table: Vec<_> = StepInputs::specs()
            .into_iter()
            .map(|s| (s.name, s.kind, s.required, s.default, s.grants_origins))
            .collect();
        let row = |name: &str, kind, required, default: Option<&str>, grants| {
            (name.to_string(), kind, required, default.map(str::to_string), grants)
        };
        assert_eq!(
            table,
            [
                row("endpoints", Any, true, None, true),
                row("conditions", List, false, Some(r#"["status == 200"]"#), false),
                row("timeout", Duration, false, Some(r#""5s""#), false),
                row("retries", Number, false, Some("2"), false),
                row("backoff", Duration, false, Some(r#""500ms""#), false),
                row("min-healthy", Any, false, None, false),
                row("headers", Object, false, None, false),
                row("global-url", String, false, None, true),
                row("region-from", String, false, Some(r#""header.x-region""#), false),
            ]
        );
    }

    #[test]
    fn step_wide_retries_and_timeout_are_range_checked() {
        let endpoints = ("endpoints", json!(["https://a.example.com/"]));
        let (input, message) = err(plan(&inputs(&[endpoints.clone(), ("retries", json!(21))])));
        assert_eq!(input, "retries");
        assert!(message.contains("0 to 20"), "{message}");
        let (input, message) = err(plan(&inputs(&[endpoints.clone(), ("timeout", json!("0s"))])));
        assert_eq!(input, "timeout");
        assert!(message.contains("zero timeout"), "{message}");
        let (input, message) = err(plan(&inputs(&[endpoints, ("headers", json!({"bad name": "x"}))])));
        assert_eq!(input, "headers");
        assert!(message.contains("not a valid header name"), "{message}");
    }

    fn err(result: Result<Config, PluginError>) -> (String, String) {
        match result {
            Err(PluginError::InvalidInput(e)) => (e.input, e.message),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn list_and_map_forms_with_defaults_and_overrides() {
        let config = plan(&inputs(&[
            (
                "endpoints",
                json!([
                    {"name": "us-east", "url": "https://US.example.com:8443/healthz"},
                    {"name": "eu-west", "url": "http://eu.example.com/healthz",
                     "conditions": ["status < 500"], "timeout": "2s", "retries": 0,
                     "headers": {"x-probe": "1"}, "method": "head"},
                ]),
            ),
            ("headers", json!({"X-Probe": "0", "Accept": "application/json"})),
        ]))
        .unwrap();
        let [us, eu] = &config.endpoints[..] else { panic!() };
        assert_eq!(us.origin, "https://us.example.com:8443");
        assert_eq!(us.timeout, DEFAULT_TIMEOUT);
        assert_eq!(us.retries, DEFAULT_RETRIES);
        assert_eq!(us.conditions[0].text, "status == 200");
        assert_eq!(us.method, "GET");
        assert_eq!(
            (eu.timeout, eu.retries, eu.method.as_str()),
            (Duration::from_secs(2), 0, "HEAD")
        );
        assert_eq!(eu.conditions[0].text, "status < 500");
        assert_eq!(
            eu.headers,
            vec![
                ("Accept".into(), "application/json".into()),
                ("x-probe".into(), "1".into())
            ]
        );
        assert_eq!(config.quorum.required, 2);
        assert_eq!(config.backoff, DEFAULT_BACKOFF);

        let config = plan(&inputs(&[(
            "endpoints",
            json!({"us-east": "http://127.0.0.1:8080/healthz", "eu-west": {"url": "http://127.0.0.1:8081/"}}),
        )]))
        .unwrap();
        let names: Vec<&str> = config.endpoints.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"us-east") && names.contains(&"eu-west"));
    }

    #[test]
    fn unnamed_endpoints_are_named_by_host() {
        let config = plan(&inputs(&[(
            "endpoints",
            json!(["https://eu.example.com:443/healthz", {"url": "http://[::1]:8080/"}]),
        )]))
        .unwrap();
        assert_eq!(config.endpoints[0].name, "eu.example.com");
        assert_eq!(config.endpoints[1].name, "[::1]");
    }

    #[test]
    fn a_bad_condition_fails_before_any_request() {
        let (input, message) = err(plan(&inputs(&[
            ("endpoints", json!(["https://a.example.com/"])),
            ("conditions", json!(["status == 200", "latency < 300"])),
        ])));
        assert_eq!(input, "conditions");
        assert!(message.contains("condition 2 of 2"), "{message}");
        assert!(message.contains("`latency < 300`"), "{message}");
        assert!(message.contains("needs a unit"), "{message}");
    }

    #[test]
    fn endpoint_mistakes_name_the_endpoint() {
        let cases = [
            (json!([{"name": "a", "url": "ftp://x/"}]), "a"),
            (
                json!([{"name": "a", "url": "https://x/", "condition": []}]),
                "unknown key `condition`",
            ),
            (
                json!([{"url": "https://x/"}, {"url": "https://X/"}]),
                "two endpoints are named `x`",
            ),
            (
                json!([{"name": "a", "url": "http://x/", "conditions": ["cert_expires_in > 14d"]}]),
                "needs an https:// URL",
            ),
            (json!({"a": {"name": "b", "url": "https://x/"}}), "disagree"),
            (
                json!([{"name": "a", "url": "https://user:pw@x/"}]),
                "carries credentials",
            ),
            (json!([{"name": "a", "url": "https://x/", "retries": 99}]), "0 to 20"),
            (json!([{"name": "a", "url": "https://x/", "method": "TRACE"}]), "method"),
            (json!([]), "no endpoints given"),
            (json!("https://x/"), "a list or a map"),
        ];
        for (endpoints, expected) in cases {
            let (input, message) = err(plan(&inputs(&[("endpoints", endpoints.clone())])));
            assert_eq!(input, "endpoints");
            assert!(message.contains(expected), "{endpoints}: {message}");
        }
    }

    #[test]
    fn quorum_is_checked_against_the_endpoint_count() {
        let (input, message) = err(plan(&inputs(&[
            ("endpoints", json!(["https://a/", "https://b/"])),
            ("min-healthy", json!(3)),
        ])));
        assert_eq!(input, "min-healthy");
        assert!(message.contains("between 1 and 2"), "{message}");
    }

    #[test]
    fn failover_requires_the_region_marker_and_skips_cert_on_http() {
        let config = plan(&inputs(&[
            ("endpoints", json!({"us-east": "https://us.example.com/"})),
            ("conditions", json!(["status == 200", "cert_expires_in > 14d"])),
            ("global-url", json!("http://global.example.com/healthz")),
            ("region-from", json!("body.served_by.region")),
        ]))
        .unwrap();
        let failover = config.failover.unwrap();
        assert_eq!(failover.target.origin, "http://global.example.com");
        let texts: Vec<&str> = failover.target.conditions.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["status == 200", "body.served_by.region is present"]);

        let (input, message) = err(plan(&inputs(&[
            ("endpoints", json!(["https://a/"])),
            ("global-url", json!("https://g/")),
            ("region-from", json!("status")),
        ])));
        assert_eq!(input, "region-from");
        assert!(message.contains("header.x-region"), "{message}");
    }
}
