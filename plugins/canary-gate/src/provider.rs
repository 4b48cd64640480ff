//! Where measurements come from: Prometheus' HTTP API (instant and range queries) and any JSON
//! endpoint (`web`), both over `wasi:http` to origins the step grants.

use base64::Engine as _;
use serde_json::Value as Json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_expr::metric::{Type, Value, parse_number};
use tollgate_sdk::http::{HttpError, Method, Request, origin_of};
use tollgate_sigv4::Credentials;

/// Largest response read from a provider: a vector of a few thousand series.
const MAX_BODY: usize = 8 << 20;

/// A metric's source.
#[derive(Debug, Clone)]
pub enum Provider {
    /// Prometheus' HTTP API.
    Prometheus(Prometheus),
    /// JSON over HTTP.
    Web(Web),
}

impl Provider {
    /// The query (or URL) text, where `{{variant}}` goes.
    pub fn query_text(&self) -> &str {
        match self {
            Provider::Prometheus(p) => &p.query,
            Provider::Web(w) => &w.url,
        }
    }

    /// What `result` will be, when known before measuring.
    pub fn result_type(&self) -> Option<Type> {
        match self {
            Provider::Prometheus(p) if p.range.is_some() => Some(Type::matrix()),
            _ => None,
        }
    }

    /// The provider's kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Prometheus(_) => "prometheus",
            Provider::Web(_) => "web",
        }
    }

    /// Take one measurement; `variant` replaces `{{variant}}` in the query (comparisons).
    pub async fn measure(&self, variant: Option<&str>) -> Result<Measured, ProviderError> {
        match self {
            Provider::Prometheus(p) => p.measure(variant).await,
            Provider::Web(w) => w.measure(variant).await,
        }
    }
}

/// A Prometheus query.
#[derive(Debug, Clone)]
pub struct Prometheus {
    /// Base URL, e.g. `http://127.0.0.1:9090` (no trailing `/`).
    pub address: String,
    /// PromQL.
    pub query: String,
    /// A range query instead of an instant one.
    pub range: Option<RangeQuery>,
    /// Per request.
    pub timeout: Duration,
    /// Sent with every query (Argo's `headers`, e.g. a bearer token from a secret).
    pub headers: Vec<(String, String)>,
    /// `authentication`.
    pub auth: Option<Auth>,
}

/// How queries authenticate, besides `headers`.
#[derive(Clone)]
pub enum Auth {
    /// HTTP basic auth (a Prometheus behind `--web.config.file`).
    Basic {
        /// The user.
        username: String,
        /// The password, usually `{{args.x}}` from a `secretKeyRef`.
        password: String,
    },
    /// AWS SigV4 for Amazon Managed Prometheus (service `aps`).
    Sigv4 {
        /// The workspace's region.
        region: String,
        /// From the granted AWS secrets, read when the analysis starts (`None` until then).
        credentials: Option<Credentials>,
    },
}

// Never printed with its password: a `{:?}` of a metric must not leak it.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
            Auth::Sigv4 { region, credentials } => f
                .debug_struct("Sigv4")
                .field("region", region)
                .field("credentials", credentials)
                .finish(),
        }
    }
}

/// `rangeQuery`: from `start` ago to `end` ago, every `step`.
#[derive(Debug, Clone, Copy)]
pub struct RangeQuery {
    /// How long before now the range starts.
    pub start: Duration,
    /// How long before now it ends (zero: now).
    pub end: Duration,
    /// Resolution.
    pub step: Duration,
}

/// A JSON endpoint.
#[derive(Debug, Clone)]
pub struct Web {
    /// The URL.
    pub url: String,
    /// GET, POST or PUT.
    pub method: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Where the value sits in the response.
    pub path: JsonPath,
    /// Per request.
    pub timeout: Duration,
}

/// One measured value.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The value conditions see as `result`.
    pub value: Value,
    /// Its type as the provider reported it (`Type::Any` for web).
    pub ty: Type,
}

/// Why a measurement could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// The query itself is wrong (Prometheus: HTTP 400 `bad_data`): it will never work.
    BadQuery(String),
    /// The sandbox refused the address: a missing grant.
    Denied(String),
    /// This measurement failed (unreachable, 5xx, 422, malformed answer): an Error measurement.
    Failed(String),
}

impl ProviderError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::BadQuery(m) | Self::Denied(m) | Self::Failed(m) => m,
        }
    }
}

fn http_failure(e: HttpError, what: &str) -> ProviderError {
    match e {
        HttpError::Denied { origin } => ProviderError::Denied(format!(
            "{what} at {origin} is not granted: add `allow-net: {origin}` to the step (or write the address in the step's `metrics`/`address` input)"
        )),
        other => ProviderError::Failed(format!("{what}: {other}")),
    }
}

/// A query parameter's value as SigV4 wants it on the wire (RFC 3986 unreserved characters kept),
/// which any Prometheus reads the same.
fn encode(text: &str) -> String {
    tollgate_sigv4::uri_encode(text, false)
}

fn unix_seconds(ago: Duration) -> f64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    now.saturating_sub(ago).as_secs_f64()
}

impl Prometheus {
    async fn measure(&self, variant: Option<&str>) -> Result<Measured, ProviderError> {
        let query = with_variant(&self.query, variant);
        let (api, params) = match &self.range {
            None => ("/api/v1/query", format!("query={}", encode(&query))),
            Some(r) => (
                "/api/v1/query_range",
                format!(
                    "query={}&start={:.3}&end={:.3}&step={}",
                    encode(&query),
                    unix_seconds(r.start),
                    unix_seconds(r.end),
                    r.step.as_secs_f64()
                ),
            ),
        };
        let mut headers = self.headers.clone();
        let url = match &self.auth {
            Some(Auth::Sigv4 { region, credentials }) => {
                let credentials = credentials.as_ref().ok_or_else(|| {
                    ProviderError::Denied("SigV4 credentials were not read before the analysis".into())
                })?;
                let signed = sign_sigv4(&self.address, api, &params, region, credentials)?;
                headers.extend(signed.headers);
                signed.url
            }
            Some(Auth::Basic { username, password }) => {
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                headers.push(("authorization".into(), format!("Basic {pair}")));
                format!("{}{api}?{params}", self.address)
            }
            None => format!("{}{api}?{params}", self.address),
        };
        let mut request = Request::get(url).timeout(self.timeout).max_body(MAX_BODY);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send_async().await.map_err(|e| http_failure(e, "Prometheus"))?;
        if matches!(response.status(), 401 | 403) {
            return Err(ProviderError::Denied(format!(
                "Prometheus refused the credentials (HTTP {}): check the `authentication`/`headers` of the metric \
                 and the secrets they read",
                response.status()
            )));
        }
        read_prometheus(response.status(), response.bytes())
    }
}

struct Signed {
    url: String,
    headers: Vec<(String, String)>,
}

/// SigV4 for Amazon Managed Prometheus: `host` is signed as the URL's authority (which is what
/// the sandbox sends), the path and query exactly as they go on the wire.
fn sign_sigv4(
    address: &str,
    api: &str,
    params: &str,
    region: &str,
    credentials: &Credentials,
) -> Result<Signed, ProviderError> {
    let origin =
        origin_of(address).map_err(|e| ProviderError::BadQuery(format!("the Prometheus address `{address}`: {e}")))?;
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
    let path = format!("{}{api}", address.get(origin.len()..).unwrap_or_default());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let host = [("host".to_string(), authority.to_string())];
    let headers = tollgate_sigv4::sign(
        credentials,
        region,
        "aps",
        now,
        &tollgate_sigv4::Request {
            method: "GET",
            path: &path,
            query: params,
            headers: &host,
            body: b"",
        },
    );
    Ok(Signed {
        url: format!("{origin}{path}?{params}"),
        headers,
    })
}

/// Read Prometheus' answer: `success` with a `vector`, `scalar`, `matrix` or `string` result, or
/// an `error` whose `errorType` and `error` are kept.
pub fn read_prometheus(status: u16, bytes: &[u8]) -> Result<Measured, ProviderError> {
    let body: Json = serde_json::from_slice(bytes).map_err(|_| {
        ProviderError::Failed(format!(
            "Prometheus answered HTTP {status} with a body that is not its API's JSON: `{}`",
            tollgate_sdk::markdown::truncate(String::from_utf8_lossy(bytes).trim(), 120)
        ))
    })?;
    if body.get("status").and_then(Json::as_str) != Some("success") {
        let kind = body.get("errorType").and_then(Json::as_str).unwrap_or("unknown");
        let message = body.get("error").and_then(Json::as_str).unwrap_or("no message");
        let message = tollgate_sdk::markdown::truncate(message, 400);
        return Err(if status == 400 || kind == "bad_data" {
            ProviderError::BadQuery(format!("Prometheus refused the query ({kind}): {message}"))
        } else {
            ProviderError::Failed(format!("Prometheus answered HTTP {status} ({kind}): {message}"))
        });
    }
    let data = body
        .get("data")
        .ok_or_else(|| ProviderError::Failed("Prometheus' answer has no `data`".into()))?;
    let result = data.get("result").unwrap_or(&Json::Null);
    let malformed = |what: &str| ProviderError::Failed(format!("Prometheus' {what} result is malformed"));
    match data.get("resultType").and_then(Json::as_str) {
        Some("vector") => {
            let values = result
                .as_array()
                .ok_or_else(|| malformed("vector"))?
                .iter()
                .map(|s| sample(s.get("value")).ok_or_else(|| malformed("vector")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Measured {
                value: Value::List(values),
                ty: Type::vector(),
            })
        }
        Some("scalar") => Ok(Measured {
            value: sample(Some(result)).ok_or_else(|| malformed("scalar"))?,
            ty: Type::Number,
        }),
        Some("matrix") => {
            let series = result
                .as_array()
                .ok_or_else(|| malformed("matrix"))?
                .iter()
                .map(|s| {
                    s.get("values")
                        .and_then(Json::as_array)
                        .and_then(|points| points.iter().map(|p| sample(Some(p))).collect::<Option<Vec<_>>>())
                        .map(Value::List)
                        .ok_or_else(|| malformed("matrix"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Measured {
                value: Value::List(series),
                ty: Type::matrix(),
            })
        }
        Some("string") => Ok(Measured {
            value: Value::Text(
                result
                    .get(1)
                    .and_then(Json::as_str)
                    .ok_or_else(|| malformed("string"))?
                    .to_string(),
            ),
            ty: Type::Text,
        }),
        other => Err(ProviderError::Failed(format!(
            "Prometheus returned an unknown result type {}",
            other.unwrap_or("(none)")
        ))),
    }
}

/// `[<time>, "<value>"]`: the value is text so that `NaN` and `+Inf` survive JSON.
fn sample(pair: Option<&Json>) -> Option<Value> {
    let text = pair?.get(1)?.as_str()?;
    parse_number(text).or_else(|| text.parse().ok()).map(Value::Number)
}

fn with_variant(text: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => text.replace("{{variant}}", v),
        None => text.to_string(),
    }
}

impl Web {
    async fn measure(&self, variant: Option<&str>) -> Result<Measured, ProviderError> {
        let method = match self.method.as_str() {
            "POST" => Method::Post,
            "PUT" => Method::Put,
            _ => Method::Get,
        };
        let mut request = Request::new(method, with_variant(&self.url, variant))
            .timeout(self.timeout)
            .max_body(MAX_BODY);
        for (k, v) in &self.headers {
            request = request.header(k.clone(), v.clone());
        }
        if let Some(body) = &self.body {
            request = request.body("application/json", body.clone().into_bytes());
        }
        let response = request
            .send_async()
            .await
            .map_err(|e| http_failure(e, "the web metric"))?;
        if !response.is_success() {
            return Err(ProviderError::Failed(format!(
                "the web metric answered HTTP {}: `{}`",
                response.status(),
                tollgate_sdk::markdown::truncate(response.text().trim(), 120)
            )));
        }
        let json: Json = serde_json::from_slice(response.bytes())
            .map_err(|e| ProviderError::Failed(format!("the web metric's body is not JSON: {e}")))?;
        let found = self
            .path
            .find(&json)
            .ok_or_else(|| ProviderError::Failed(format!("the web metric's JSON has no value at `{}`", self.path)))?;
        Ok(Measured {
            value: Value::from_json(found),
            ty: Type::Any,
        })
    }
}

/// The JSONPath subset Argo's web metrics use: `{$.data.ok}`, `$.items[0].value`, `$['a-b']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    source: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl JsonPath {
    /// Parse; the error says what shape is accepted.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = || {
            format!("`{text}` is not a JSONPath canary-gate reads: write e.g. `{{$.data.value}}` or `$.items[0].ok`")
        };
        let inner = text.trim();
        let inner = inner
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(inner)
            .trim();
        let mut rest = inner.strip_prefix('$').ok_or_else(bad)?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("['") {
                let end = after.find("']").ok_or_else(bad)?;
                steps.push(Step::Key(after[..end].to_string()));
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(bad)?;
                steps.push(Step::Index(after[..end].trim().parse().map_err(|_| bad())?));
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(bad());
                }
                steps.push(Step::Key(after[..end].to_string()));
                rest = &after[end..];
            } else {
                return Err(bad());
            }
        }
        Ok(JsonPath {
            source: text.trim().to_string(),
            steps,
        })
    }

    fn find<'a>(&self, root: &'a Json) -> Option<&'a Json> {
        self.steps.iter().try_fold(root, |value, step| match step {
            Step::Key(k) => value.get(k),
            Step::Index(i) => value.get(*i),
        })
    }
}

/// `rangeQuery.start`/`end` as Argo writes them (`now()`, `now() - duration("5m")`, optionally
/// inside `{{ }}`), or a plain lookback such as `5m`: how long before now.
pub fn lookback(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
        .unwrap_or(t)
        .trim();
    if t == "now()" {
        return Ok(Duration::ZERO);
    }
    let ago = match t.strip_prefix("now()") {
        Some(rest) => {
            let rest = rest.trim().strip_prefix('-').map(str::trim);
            rest.and_then(|r| r.strip_prefix("duration("))
                .and_then(|r| r.strip_suffix(')'))
                .map(|r| r.trim().trim_matches(['"', '\'']))
                .ok_or_else(|| {
                    format!("`{text}`: write `now()`, `now() - duration(\"5m\")` or a lookback such as `5m`")
                })?
        }
        None => t,
    };
    tollgate_vocab::duration::parse_duration(ago).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Json) -> Result<Measured, ProviderError> {
        read_prometheus(status, body.to_string().as_bytes())
    }

    #[test]
    fn every_result_type_and_prometheus_number_spelling_reads() {
        let vector = answer(200, json!({"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"a":"1"},"value":[1.5,"0.25"]},{"metric":{},"value":[1.5,"NaN"]},{"metric":{},"value":[1.5,"+Inf"]}]}}))
        .unwrap();
        assert_eq!(vector.ty, Type::vector());
        let Value::List(items) = &vector.value else { panic!() };
        assert_eq!(items[0], Value::Number(0.25));
        assert!(matches!(items[1], Value::Number(n) if n.is_nan()));
        assert_eq!(items[2], Value::Number(f64::INFINITY));
        let scalar = answer(
            200,
            json!({"status":"success","data":{"resultType":"scalar","result":[1.5,"-Inf"]}}),
        )
        .unwrap();
        assert_eq!(
            (scalar.ty, scalar.value),
            (Type::Number, Value::Number(f64::NEG_INFINITY))
        );
        let matrix = answer(
            200,
            json!({"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[1,"1"],[2,"2"]]}]}}),
        )
        .unwrap();
        assert_eq!(
            matrix.value,
            Value::List(vec![Value::List(vec![Value::Number(1.0), Value::Number(2.0)])])
        );
        let empty = answer(
            200,
            json!({"status":"success","data":{"resultType":"vector","result":[]}}),
        )
        .unwrap();
        assert!(empty.value.is_empty_data());
    }

    #[test]
    fn prometheus_errors_keep_their_type_and_message() {
        let bad = answer(
            400,
            json!({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \")\""}),
        );
        assert_eq!(
            bad,
            Err(ProviderError::BadQuery(
                "Prometheus refused the query (bad_data): 1:5: parse error: unexpected \")\"".into()
            ))
        );
        let exec = answer(
            422,
            json!({"status":"error","errorType":"execution","error":"query timed out"}),
        );
        assert_eq!(
            exec,
            Err(ProviderError::Failed(
                "Prometheus answered HTTP 422 (execution): query timed out".into()
            ))
        );
        let html = read_prometheus(502, b"<html>bad gateway</html>");
        assert!(matches!(html, Err(ProviderError::Failed(m)) if m.contains("HTTP 502") && m.contains("bad gateway")));
    }

    #[test]
    fn json_paths_and_lookbacks() {
        let doc = json!({"data": {"items": [{"ok": true}], "a-b": 3}});
        assert_eq!(
            JsonPath::parse("{$.data.items[0].ok}").unwrap().find(&doc),
            Some(&json!(true))
        );
        assert_eq!(JsonPath::parse("$.data['a-b']").unwrap().find(&doc), Some(&json!(3)));
        assert_eq!(JsonPath::parse("$.data.nope").unwrap().find(&doc), None);
        assert!(JsonPath::parse("data.x").is_err());
        assert_eq!(lookback("{{ now() - duration(\"5m\") }}"), Ok(Duration::from_secs(300)));
        assert_eq!(lookback("now()"), Ok(Duration::ZERO));
        assert_eq!(lookback("90s"), Ok(Duration::from_secs(90)));
        assert!(lookback("yesterday").is_err());
    }
}
