//! The metrics peers of the canary-gate tests: a tiny service whose metrics a test drives
//! (`tests/peers/metrics/server.py`) and a real Prometheus scraping it every second.
//! Both are killed when dropped; ports come from a port file or a probed free port; every
//! wait polls with a deadline.
//!
//! Every scrape of the service advances its counters by whole requests, so ratios of
//! rates are exact: with `set_series("checkout", "canary", 0.05, 120.0)`,
//! `sum(rate(http_requests_total{code="500",variant="canary"}[5s])) /
//! sum(rate(http_requests_total{variant="canary"}[5s]))` is 0.05 and the latency quantiles
//! lie inside the (0.1, 0.2] bucket. Prometheus 2.42 is ready in well under a second but applies its
//! targets only on its discovery tick (~5 s after start), so rate data first exists ~6–7 s
//! after `Prometheus::start`: wait with `wait_for_data`.

use crate::guests::workspace_root;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one HTTP exchange with a peer may take.
const EXCHANGE: Duration = Duration::from_secs(10);

/// One HTTP/1.1 exchange with 127.0.0.1:`port`: the status and the body as text. Errors
/// (refused, reset, timed out) are returned, so a test can see a stopped peer.
pub async fn http(port: u16, method: &str, target: &str, body: Option<&Value>) -> std::io::Result<(u16, String)> {
    http_as(port, None, method, target, body).await
}

/// [`http`] with an `authorization` header.
async fn http_as(
    port: u16,
    authorization: Option<&str>,
    method: &str,
    target: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(conn);
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request = http::Request::builder();
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let request = request
            .method(method)
            .uri(target)
            .header("host", format!("127.0.0.1:{port}"))
            .header("content-type", "application/json")
            .header("connection", "close")
            .body(Full::new(Bytes::from(payload)))
            .map_err(std::io::Error::other)?;
        let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(EXCHANGE, exchange).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within 10s",
        ))
    })
}

/// A gauge value for `MetricsServer::set_value`: a number (NaN and ±∞ included) or the
/// text Prometheus would read (`"NaN"`, `"+Inf"`, `"-Inf"`, `"1.5"`).
pub enum GaugeValue {
    Number(f64),
    Text(String),
}

impl From<f64> for GaugeValue {
    fn from(value: f64) -> Self {
        GaugeValue::Number(value)
    }
}

impl From<&str> for GaugeValue {
    fn from(value: &str) -> Self {
        GaugeValue::Text(value.to_string())
    }
}

impl GaugeValue {
    fn to_json(&self) -> Value {
        match self {
            GaugeValue::Number(x) if x.is_finite() => json!(x),
            GaugeValue::Number(x) => json!(prom_float(*x)),
            GaugeValue::Text(text) => json!(text),
        }
    }
}

/// A float as Prometheus spells it (`NaN`, `+Inf`, `-Inf`, else Rust's shortest form).
pub fn prom_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        x.to_string()
    }
}

/// A sample's value as Prometheus' HTTP API gives it (`[time, "text"]`) read as a float.
pub fn sample_value(sample: &Value) -> f64 {
    let text = sample["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("not an instant-vector sample: {sample}"));
    match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or_else(|_| panic!("not a float: {text:?}")),
    }
}

/// Poll for a port file a peer writes once it listens.
pub(crate) async fn wait_for_port_file(child: &mut Child, port_file: &Path, what: &str) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(port_file)
            && let Ok(port) = text.trim().parse::<u16>()
        {
            return port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited: {status}");
        }
        assert!(Instant::now() < deadline, "{what} wrote no port file within 20s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The metrics service peer, killed when dropped.
pub struct MetricsServer {
    /// Killed when this is dropped.
    _child: crate::support::Reaped,
    port: u16,
    _dir: tempfile::TempDir,
}

impl MetricsServer {
    pub async fn start() -> MetricsServer {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let script: PathBuf = workspace_root().join("tests/peers/metrics/server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the metrics peer");
        let port = wait_for_port_file(&mut child, &port_file, "the metrics peer").await;
        MetricsServer {
            _child: crate::support::Reaped(child),
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT` (`/metrics`, `/healthz` and `/_control/...` under it).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, a Prometheus scrape target.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One request to the peer: its status and JSON body (`Null` if not JSON).
    pub async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, text) = http(self.port, method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path} to the metrics peer: {e}"));
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body; must succeed. E.g.
    /// `control("/_control/series", json!({"service": "checkout", "variant": "canary", "rps": 10, "jitter": 5}))`.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.request("POST", path, Some(&body)).await;
        assert!(status < 300, "POST {path} {body}: {status} {answer}");
        answer
    }

    /// Create or update the series `(service, variant)`: 100 requests per scrape, the given
    /// share of them code 500, all observed at `latency_ms`.
    pub async fn set_series(&self, service: &str, variant: &str, error_ratio: f64, latency_ms: f64) -> Value {
        self.control(
            "/_control/series",
            json!({"service": service, "variant": variant, "error_ratio": error_ratio, "latency_ms": latency_ms}),
        )
        .await
    }

    /// The series disappears from `/metrics` (Prometheus marks it stale: no data).
    pub async fn remove_series(&self, service: &str, variant: &str) {
        let path = format!(
            "/_control/series?service={}&variant={}",
            utf8_percent_encode(service, NON_ALPHANUMERIC),
            utf8_percent_encode(variant, NON_ALPHANUMERIC)
        );
        let (status, answer) = self.request("DELETE", &path, None).await;
        assert_eq!(status, 200, "DELETE {path}: {answer}");
    }

    /// Set the gauge `test_value{name}`: `set_value("x", f64::NAN)` or `set_value("x", "+Inf")`.
    pub async fn set_value(&self, name: &str, value: impl Into<GaugeValue>) {
        let value = value.into().to_json();
        self.control("/_control/value", json!({"name": name, "value": value}))
            .await;
    }

    /// Set the gauge `canary_weight{service}` (0 for a service until set).
    pub async fn set_weight(&self, service: &str, weight: f64) {
        self.control("/_control/weight", json!({"service": service, "weight": weight}))
            .await;
    }

    /// `/healthz` answers 200 `{"status":"ok",...}` when healthy, else 503.
    pub async fn set_health(&self, healthy: bool) {
        self.control("/_control/health", json!({"healthy": healthy})).await;
    }

    /// Everything the peer holds (see the server's docstring).
    pub async fn state(&self) -> Value {
        let (status, state) = self.request("GET", "/_control/state", None).await;
        assert_eq!(status, 200, "GET /_control/state: {state}");
        state
    }

    /// How many times `/metrics` was served.
    pub async fn scrapes(&self) -> u64 {
        self.state().await["scrapes"].as_u64().expect("scrapes is a count")
    }
}

/// A real Prometheus (`/usr/bin/prometheus`, else `prometheus` from PATH) scraping the
/// given targets every second as job `service`; killed when dropped.
pub struct Prometheus {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// The `authorization` header the test's own queries send when basic auth is on.
    authorization: Option<String>,
}

/// The user of a Prometheus started with [`Prometheus::start_with_password`].
pub const PROMETHEUS_USER: &str = "canary-gate";

/// `password`'s bcrypt hash, as Prometheus' `--web.config.file` wants it (Python's `bcrypt`,
/// which `scripts/test` installs; cost 4: it is hashed here and checked on every request).
fn bcrypt(password: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())",
            password,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "bcrypt hashing failed (pip install bcrypt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `user:password` in base64, for a basic `authorization` header.
fn base64_pair(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A port that was free a moment ago (the OS picks it; the caller binds it again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

impl Prometheus {
    pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

    pub async fn start<S: AsRef<str>>(targets: &[S]) -> Prometheus {
        Self::start_as(targets, None).await
    }

    /// [`Prometheus::start`] behind basic auth (`--web.config.file`): every endpoint, `/-/ready`
    /// included, answers 401 without [`PROMETHEUS_USER`] and `password`.
    pub async fn start_with_password<S: AsRef<str>>(targets: &[S], password: &str) -> Prometheus {
        Self::start_as(targets, Some(password)).await
    }

    async fn start_as<S: AsRef<str>>(targets: &[S], password: Option<&str>) -> Prometheus {
        let binary = if Path::new("/usr/bin/prometheus").exists() {
            PathBuf::from("/usr/bin/prometheus")
        } else {
            PathBuf::from("prometheus")
        };
        let dir = tempfile::tempdir().unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{}'", t.as_ref())).collect();
        let config = format!(
            "global:\n  scrape_interval: {every}s\n  scrape_timeout: {every}s\n  evaluation_interval: {every}s\n\
             scrape_configs:\n  - job_name: service\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", "),
            every = Self::SCRAPE_INTERVAL.as_secs()
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let web_config = dir.path().join("web.yml");
        let authorization = password.map(|password| {
            std::fs::write(
                &web_config,
                format!("basic_auth_users:\n  {PROMETHEUS_USER}: '{}'\n", bcrypt(password)),
            )
            .unwrap();
            format!("Basic {}", base64_pair(PROMETHEUS_USER, password))
        });
        let mut last_log = String::new();
        for attempt in 0..5 {
            let port = free_port();
            let log_file = dir.path().join(format!("prometheus-{attempt}.log"));
            let mut child = Command::new(&binary)
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join(format!("tsdb-{attempt}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .args(
                    authorization
                        .as_ref()
                        .map(|_| format!("--web.config.file={}", web_config.display())),
                )
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log_file).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("{} runs (apt-get install prometheus): {e}", binary.display()));
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_log = std::fs::read_to_string(&log_file).unwrap_or_default();
                    assert!(
                        last_log.contains("address already in use"),
                        "prometheus exited ({status}):\n{last_log}"
                    );
                    break; // someone took the port in between: another one
                }
                if let Ok((200, _)) = http_as(port, authorization.as_deref(), "GET", "/-/ready", None).await {
                    return Prometheus {
                        child: Some(child),
                        port,
                        dir,
                        authorization,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
                    panic!("prometheus was not ready within 30s:\n{log}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        panic!("prometheus found no free port in 5 attempts:\n{last_log}")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The directory holding the config, the logs and the TSDB.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kill Prometheus and wait for it: from now on its URL refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// An instant query (`GET /api/v1/query`): the whole JSON answer, an error one included
    /// (`{"status":"error","errorType":"bad_data",...}` with HTTP 400).
    pub async fn query(&self, promql: &str) -> Value {
        let target = format!("/api/v1/query?query={}", utf8_percent_encode(promql, NON_ALPHANUMERIC));
        let (status, text) = http_as(self.port, self.authorization.as_deref(), "GET", &target, None)
            .await
            .unwrap_or_else(|e| panic!("query {promql:?}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("query {promql:?}: HTTP {status}: {text}"))
    }

    /// An instant query that must succeed and yield a vector: its samples.
    pub async fn vector(&self, promql: &str) -> Vec<Value> {
        let answer = self.query(promql).await;
        assert_eq!(answer["status"], "success", "query {promql:?}: {answer}");
        assert_eq!(answer["data"]["resultType"], "vector", "query {promql:?}: {answer}");
        answer["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Poll until the query yields a non-empty vector (rates need two scrapes), within `limit`.
    pub async fn wait_for_data(&self, promql: &str, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let samples = self.vector(promql).await;
            if !samples.is_empty() {
                return samples;
            }
            assert!(Instant::now() < deadline, "no data for {promql:?} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Poll until the query yields an empty vector (e.g. a removed series went stale).
    pub async fn wait_for_no_data(&self, promql: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let samples = self.vector(promql).await;
            if samples.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{promql:?} still has data after {limit:?}: {samples:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The peers behave.

const ERROR_RATIO: &str = r#"sum(rate(http_requests_total{code="500",variant="canary"}[5s])) / sum(rate(http_requests_total{variant="canary"}[5s]))"#;
const P99: &str =
    r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{variant="canary"}[5s])))"#;
const MEAN_LATENCY: &str = r#"sum(rate(http_request_duration_seconds_sum{variant="canary"}[5s])) / sum(rate(http_request_duration_seconds_count{variant="canary"}[5s]))"#;
/// Prometheus applies its targets on a 5 s discovery tick; then two 1 s scrapes.
const FIRST_DATA: Duration = Duration::from_secs(30);

#[tokio::test]
async fn error_ratio_and_latency_are_exact() {
    let metrics = MetricsServer::start().await;
    metrics.set_series("checkout", "canary", 0.05, 120.0).await;
    metrics.set_series("checkout", "stable", 0.0, 40.0).await;
    let started = Instant::now();
    let prometheus = Prometheus::start(&[metrics.address()]).await;
    let ready = started.elapsed();
    let samples = prometheus.wait_for_data(ERROR_RATIO, FIRST_DATA).await;
    eprintln!(
        "prometheus ready after {ready:?}, rate data after {:?}",
        started.elapsed()
    );
    assert_eq!(samples.len(), 1, "{samples:?}");
    let ratio = sample_value(&samples[0]);
    assert!((ratio - 0.05).abs() < 1e-9, "error ratio {ratio}");

    let p99 = sample_value(&prometheus.wait_for_data(P99, FIRST_DATA).await[0]);
    assert!(p99 > 0.1 && p99 <= 0.2, "p99 {p99} outside 120ms's bucket (0.1, 0.2]");
    let mean = sample_value(&prometheus.wait_for_data(MEAN_LATENCY, FIRST_DATA).await[0]);
    assert!((mean - 0.120).abs() < 1e-9, "mean latency {mean}");
    let stable = r#"sum(rate(http_requests_total{code="500",variant="stable"}[5s])) / sum(rate(http_requests_total{variant="stable"}[5s]))"#;
    assert_eq!(
        sample_value(&prometheus.wait_for_data(stable, FIRST_DATA).await[0]),
        0.0
    );

    // A change shows in the next scrapes; over a window of those only, the ratio is exact again.
    metrics.set_series("checkout", "canary", 0.25, 120.0).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ratio = sample_value(&prometheus.vector(&ERROR_RATIO.replace("[5s]", "[2s]")).await[0]);
        if (ratio - 0.25).abs() < 1e-9 {
            break;
        }
        assert!(Instant::now() < deadline, "the error ratio stays {ratio}, not 0.25");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(metrics.scrapes().await >= 2);

    // Prometheus' own word on a bad query.
    let bad = prometheus.query("sum(rate(http_requests_total[5s]").await;
    assert_eq!(bad["status"], "error", "{bad}");
    assert_eq!(bad["errorType"], "bad_data", "{bad}");
}

#[tokio::test]
async fn gauges_come_back_as_prometheus_spells_them() {
    let metrics = MetricsServer::start().await;
    metrics.set_value("not-a-number", f64::NAN).await;
    metrics.set_value("unbounded", "+Inf").await;
    metrics.set_value("below", f64::NEG_INFINITY).await;
    metrics.set_value("plain", 0.25).await;
    metrics.set_weight("checkout", 20.0).await;
    let prometheus = Prometheus::start(&[metrics.address()]).await;

    let nan = prometheus
        .wait_for_data(r#"test_value{name="not-a-number"}"#, FIRST_DATA)
        .await;
    assert_eq!(nan[0]["value"][1], "NaN", "{nan:?}");
    assert!(sample_value(&nan[0]).is_nan());
    let inf = prometheus.vector(r#"test_value{name="unbounded"}"#).await;
    assert_eq!(inf[0]["value"][1], "+Inf", "{inf:?}");
    let below = prometheus.vector(r#"test_value{name="below"}"#).await;
    assert_eq!(below[0]["value"][1], "-Inf", "{below:?}");
    let plain = prometheus.vector(r#"test_value{name="plain"}"#).await;
    assert_eq!(plain[0]["value"][1], "0.25", "{plain:?}");
    let weight = prometheus.vector(r#"canary_weight{service="checkout"}"#).await;
    assert_eq!(weight[0]["value"][1], "20", "{weight:?}");
    assert_eq!(weight[0]["metric"]["job"], "service", "{weight:?}");

    // The service's health endpoint.
    let (status, health) = metrics.request("GET", "/healthz", None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")), "{health}");
    metrics.set_health(false).await;
    let (status, health) = metrics.request("GET", "/healthz", None).await;
    assert_eq!(
        (status, health["status"].as_str()),
        (503, Some("unhealthy")),
        "{health}"
    );
    metrics
        .control("/_control/health", json!({"healthy": true, "version": "2.0.0"}))
        .await;
    let (status, health) = metrics.request("GET", "/healthz", None).await;
    assert_eq!((status, health["version"].as_str()), (200, Some("2.0.0")), "{health}");
}

#[tokio::test]
async fn a_removed_series_goes_stale() {
    let metrics = MetricsServer::start().await;
    metrics.set_series("checkout", "canary", 0.05, 120.0).await;
    metrics.set_series("checkout", "stable", 0.0, 40.0).await;
    let prometheus = Prometheus::start(&[metrics.address()]).await;
    prometheus.wait_for_data(ERROR_RATIO, FIRST_DATA).await;

    metrics.remove_series("checkout", "canary").await;
    let removed = Instant::now();
    // The instant selector is empty from the next scrape on (a staleness marker) ...
    prometheus
        .wait_for_no_data(r#"http_requests_total{variant="canary"}"#, Duration::from_secs(15))
        .await;
    let stale = removed.elapsed();
    // ... a rate once its window holds fewer than two samples.
    prometheus.wait_for_no_data(ERROR_RATIO, Duration::from_secs(20)).await;
    eprintln!(
        "after removal: selector empty in {stale:?}, [5s] rate empty in {:?}",
        removed.elapsed()
    );
    // The other variant keeps its data.
    assert!(
        !prometheus
            .vector(r#"http_requests_total{variant="stable"}"#)
            .await
            .is_empty()
    );
    let (status, _) = metrics
        .request("DELETE", "/_control/series?service=checkout&variant=canary", None)
        .await;
    assert_eq!(status, 404, "a second removal finds nothing");
}

#[tokio::test]
async fn a_stopped_prometheus_refuses_connections() {
    let metrics = MetricsServer::start().await;
    let mut prometheus = Prometheus::start(&[metrics.address()]).await;
    assert!(prometheus.url().ends_with(&prometheus.address()));
    assert!(prometheus.dir().join("prometheus.yml").exists());
    assert_eq!(prometheus.vector("vector(1)").await[0]["value"][1], "1");
    let port: u16 = prometheus.address().rsplit(':').next().unwrap().parse().unwrap();
    prometheus.stop();
    let error = http(port, "GET", "/-/ready", None).await.expect_err("nothing listens");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused, "{error}");
}

#[tokio::test]
async fn the_control_api_refuses_nonsense() {
    let metrics = MetricsServer::start().await;
    assert!(metrics.url().ends_with(&metrics.address()));
    let (status, answer) = metrics
        .request(
            "POST",
            "/_control/series",
            Some(&json!({"service": "checkout", "variant": "canary", "error_ratio": 1.5})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = metrics
        .request("POST", "/_control/value", Some(&json!({"name": "x", "value": "lots"})))
        .await;
    assert_eq!(status, 400);
    // A series with jitter: deterministic, and each scrape counts once.
    metrics
        .control(
            "/_control/series",
            json!({"service": "checkout", "variant": "baseline", "rps": 10, "jitter": 30}),
        )
        .await;
    for _ in 0..3 {
        let (status, _) = metrics.request("GET", "/metrics", None).await;
        assert_eq!(status, 200);
    }
    let state = metrics.state().await;
    assert_eq!(state["scrapes"], 3);
    assert_eq!(state["series"][0]["requests"]["200"], 30, "{state}");
    assert_eq!(metrics.scrapes().await, 3);
}
