//! `canary-gate` through the real binary against a real Prometheus (1 s scrapes, storage in a
//! temporary directory) scraping the metrics service the test drives, changing it mid-analysis.

use crate::prometheus_peer::{MetricsServer, PROMETHEUS_USER, Prometheus};
use crate::support::{Run, run, run_cmd, tollgate};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const ERROR_RATE: &str = "sum(rate(http_requests_total{service=\"{{args.service}}\",variant=\"canary\",code=\"500\"}[5s])) / sum(rate(http_requests_total{service=\"{{args.service}}\",variant=\"canary\"}[5s]))";

/// A Prometheus scraping a fresh metrics service whose `checkout` canary is healthy, with rate
/// data already there (two scrapes at least).
async fn peers(error_ratio: f64) -> (MetricsServer, Prometheus) {
    let service = MetricsServer::start().await;
    service.set_series("checkout", "canary", error_ratio, 80.0).await;
    service.set_series("checkout", "stable", 0.0, 80.0).await;
    let prometheus = Prometheus::start(&[service.address()]).await;
    let ready = ERROR_RATE.replace("{{args.service}}", "checkout");
    prometheus.wait_for_data(&ready, Duration::from_secs(30)).await;
    (service, prometheus)
}

fn error_rate(prometheus: &Prometheus, count: u32, extra: Value) -> Value {
    let mut metric = json!({
        "name": "error-rate",
        "interval": "1s",
        "count": count,
        "successCondition": "result[0] < 0.01",
        "provider": {"prometheus": {"address": prometheus.url(), "query": ERROR_RATE}},
    });
    metric
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    metric
}

fn with_metrics(metrics: &[Value]) -> Vec<String> {
    vec![
        "run".into(),
        "canary-gate".into(),
        "--json".into(),
        "--with".into(),
        format!("metrics={}", Value::Array(metrics.to_vec())),
        "--with".into(),
        "args={service: checkout}".into(),
    ]
}

async fn gate(metrics: &[Value]) -> Run {
    let args = with_metrics(metrics);
    run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await
}

fn summary(r: &Run) -> String {
    r.json()["summary"].as_str().unwrap_or_default().to_string()
}

fn metric_result(r: &Run, name: &str) -> Value {
    let all: Value =
        serde_json::from_str(&r.output("metrics")).unwrap_or_else(|e| panic!("metrics output: {e}: {r:#?}"));
    all[name].clone()
}

/// A running `tollgate` whose log the test reads line by line, to act mid-analysis.
struct Watched {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    seen: String,
}

impl Watched {
    fn start(args: &[String]) -> Watched {
        let mut child = tollgate()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tollgate starts");
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        Watched {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Read the log until a line contains `text` (bounded).
    async fn wait_for(&mut self, text: &str) {
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.seen.push_str(&line);
                self.seen.push('\n');
                if line.contains(text) {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(found, Ok(true)), "no log line with `{text}`:\n{}", self.seen);
    }

    async fn finish(mut self) -> Run {
        let mut stdout = String::new();
        let mut out = self.child.stdout.take().unwrap();
        let done = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.seen.push_str(&line);
                self.seen.push('\n');
            }
            out.read_to_string(&mut stdout).await.unwrap();
            self.child.wait().await.unwrap()
        })
        .await
        .expect("tollgate finishes within 120s");
        Run {
            code: done.code().unwrap_or(-1),
            stdout,
            stderr: self.seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_canary_is_successful_with_every_measurement_reported_and_signed() {
    let (_service, prometheus) = peers(0.001).await;
    let latency = json!({
        "name": "latency-p99",
        "interval": "1s",
        "count": 3,
        "failureCondition": "result[0] > 0.2",
        "provider": {"prometheus": {"address": prometheus.url(),
            "query": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"{{args.service}}\",variant=\"canary\"}[5s])))"}},
    });
    let artifacts = tempfile::tempdir().unwrap();
    let mut args = with_metrics(&[error_rate(&prometheus, 3, json!({})), latency]);
    args.extend(["--artifacts".into(), artifacts.path().display().to_string()]);
    let r = run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("phase"), "Successful");
    assert_eq!(r.output("failed-metrics"), "");
    assert_eq!(metric_result(&r, "error-rate")["successful"], 3);
    assert_eq!(metric_result(&r, "latency-p99")["successful"], 3);
    let summary = summary(&r);
    for row in [
        "| 1 | t+",
        "| 2 | t+",
        "| 3 | t+",
        "error-rate",
        "latency-p99",
        "✔ Successful",
    ] {
        assert!(summary.contains(row), "`{row}` missing from:\n{summary}");
    }
    assert!(r.output("artifact-digest").starts_with("sha256:"), "{r:#?}");
    let stored = walk(artifacts.path()).join("\n");
    assert!(stored.contains("canary-analysis"), "artifacts: {stored}");
}

/// An AnalysisTemplate whose Prometheus sits behind basic auth, the password read from a Kubernetes
/// secret as Argo reads it: `secretKeyRef: {name: prometheus, key: password}` is the Tollgate
/// secret `PROMETHEUS_PASSWORD`.
fn authenticated_template(prometheus: &Prometheus) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: authenticated}}
spec:
  args:
    - name: service
      value: checkout
    - name: password
      valueFrom:
        secretKeyRef: {{name: prometheus, key: password}}
  metrics:
    - name: error-rate
      interval: 1s
      count: 2
      successCondition: result[0] < 0.01
      provider:
        prometheus:
          address: {}
          query: '{}'
          authentication:
            basic: {{username: {PROMETHEUS_USER}, password: "{{{{args.password}}}}"}}
"#,
        prometheus.url(),
        ERROR_RATE.replace('\'', "''"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prometheus_behind_basic_auth_is_read_with_a_granted_secret_written_nowhere() {
    const PASSWORD: &str = "pw-7d1e0c55b9a3";
    let service = MetricsServer::start().await;
    service.set_series("checkout", "canary", 0.001, 80.0).await;
    let prometheus = Prometheus::start_with_password(&[service.address()], PASSWORD).await;
    prometheus
        .wait_for_data(
            &ERROR_RATE.replace("{{args.service}}", "checkout"),
            Duration::from_secs(30),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("analysis.yaml");
    std::fs::write(&template, authenticated_template(&prometheus)).unwrap();
    let store = dir.path().join("artifacts");
    let gate = |password: Option<&str>| {
        let mut cmd = tollgate();
        cmd.args(["run", "canary-gate", "--json", "--allow-read"])
            .arg(dir.path())
            .args(["--allow-net", &prometheus.url(), "--with"])
            .arg(format!("template={}", template.display()))
            .arg("--artifacts")
            .arg(&store);
        if let Some(password) = password {
            cmd.args(["--secret", "PROMETHEUS_PASSWORD"])
                .env("PROMETHEUS_PASSWORD", password);
        }
        cmd
    };

    let r = run_cmd(&mut gate(Some(PASSWORD))).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("phase"), "Successful");
    let mut leaks: Vec<String> = walk(&store)
        .into_iter()
        .filter(|f| std::fs::read_to_string(f).unwrap_or_default().contains(PASSWORD))
        .collect();
    leaks.extend(
        [("stdout", &r.stdout), ("stderr", &r.stderr)]
            .into_iter()
            .filter(|(_, text)| text.contains(PASSWORD))
            .map(|(place, _)| place.to_string()),
    );
    assert!(leaks.is_empty(), "the password was written to {leaks:?}");

    // Without the grant: refused before any query, naming the secret to grant.
    let r = run_cmd(&mut gate(None)).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(
        said.contains("`PROMETHEUS_PASSWORD`") && said.contains("--secret PROMETHEUS_PASSWORD"),
        "{r:#?}"
    );

    // A wrong password: Prometheus answers 401 and the analysis ends at once, saying so.
    let r = run_cmd(&mut gate(Some("not-the-password"))).await;
    assert_ne!(r.code, 0, "{r:#?}");
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("refused the credentials (HTTP 401)"), "{r:#?}");
}

/// Amazon Managed Prometheus' SigV4 check (`tests/peers/aws/amp_peer.py`, botocore recomputing
/// the signature as AWS does) in front of a Prometheus answer: the signed query passes, a wrong
/// secret key is refused at the first 403, and missing credentials stop the step before any query.
#[tokio::test(flavor = "multi_thread")]
async fn sigv4_queries_pass_amazon_managed_prometheus_signature_check() {
    const ACCESS_KEY: &str = "AKIDTOLLGATETEST";
    const SECRET_KEY: &str = "sk-5b0e9f7c1d2a4e63";
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let mut child = std::process::Command::new("python3")
        .arg(crate::guests::workspace_root().join("tests/peers/aws/amp_peer.py"))
        .arg("--port-file")
        .arg(&port_file)
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 runs the AMP peer");
    let port = crate::prometheus_peer::wait_for_port_file(&mut child, &port_file, "the AMP peer").await;
    let _peer = crate::support::Reaped(child);
    let metrics = json!([{
        "name": "error-rate",
        "successCondition": "result[0] < 0.01",
        "provider": {"prometheus": {
            "address": format!("http://127.0.0.1:{port}/workspaces/ws-test"),
            "query": "sum(rate(http_requests_total{code=~\"5..\", path=\"/a b\"}[1m])) / sum(rate(http_requests_total[1m]))",
            "authentication": {"sigv4": {"region": "us-east-1"}},
        }},
    }]);
    let gate = |secret_key: Option<&str>| {
        let mut cmd = tollgate();
        cmd.args(["run", "canary-gate", "--json", "--with"])
            .arg(format!("metrics={metrics}"))
            .args(["--secret", "AWS_ACCESS_KEY_ID"])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        if let Some(key) = secret_key {
            cmd.args(["--secret", "AWS_SECRET_ACCESS_KEY"])
                .env("AWS_SECRET_ACCESS_KEY", key);
        }
        cmd
    };
    let r = run_cmd(&mut gate(Some(SECRET_KEY))).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("phase"), "Successful");

    let r = run_cmd(&mut gate(Some("not-the-key"))).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stdout.contains("refused the credentials (HTTP 403)"), "{r:#?}");

    let r = run_cmd(&mut gate(None)).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(
        r.stdout.contains("`AWS_SECRET_ACCESS_KEY`") && r.stdout.contains("--secret AWS_SECRET_ACCESS_KEY"),
        "{r:#?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p.display().to_string()]
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_spike_mid_analysis_fails_after_failure_limit_plus_one_failures() {
    let (service, prometheus) = peers(0.0).await;
    let mut w = Watched::start(&with_metrics(&[error_rate(
        &prometheus,
        12,
        json!({"failureLimit": 1}),
    )]));
    w.wait_for("error-rate #2").await;
    service.set_series("checkout", "canary", 0.3, 80.0).await;
    let r = w.finish().await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.output("phase"), "Failed");
    assert_eq!(r.output("failed-metrics"), "error-rate");
    let m = metric_result(&r, "error-rate");
    assert_eq!(m["failed"], 2, "failureLimit 1: the second failure decides: {m}");
    let taken = m["successful"].as_u64().unwrap() + 2 + m["inconclusive"].as_u64().unwrap();
    assert!(
        taken < 12,
        "the run stops at the deciding failure, not after all 12: {m}"
    );
    assert!(m["message"].as_str().unwrap().contains("(failureLimit 1)"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_data_and_nan_are_never_successful() {
    let (service, prometheus) = peers(0.0).await;
    // A series that does not exist: Argo's `all()` passes an empty vector; here it is Inconclusive.
    let missing = json!({
        "name": "missing", "count": 1,
        "successCondition": "all(result, {# < 0.01})",
        "provider": {"prometheus": {"address": prometheus.url(),
            "query": "sum(rate(http_requests_total{service=\"nobody\"}[5s]))"}},
    });
    let r = gate(&[missing]).await;
    assert_eq!((r.code, r.output("phase").as_str()), (3, "Inconclusive"), "{r:#?}");
    assert!(summary(&r).contains("no data"), "{}", summary(&r));

    // NaN passes a failure-condition-only gate in Argo (NaN > x is false); here it never does.
    service.set_value("ratio", f64::NAN).await;
    let query = "test_value{name=\"ratio\"}";
    prometheus.wait_for_data(query, Duration::from_secs(30)).await;
    let nan = json!({
        "name": "nan", "count": 1, "failureCondition": "result[0] > 0.01",
        "provider": {"prometheus": {"address": prometheus.url(), "query": query}},
    });
    let r = gate(&[nan]).await;
    assert_eq!((r.code, r.output("phase").as_str()), (3, "Inconclusive"), "{r:#?}");
    assert!(summary(&r).contains("NaN"), "{}", summary(&r));
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_stopped_mid_run_is_an_error_after_the_consecutive_error_limit() {
    let (_service, mut prometheus) = peers(0.0).await;
    let metric = error_rate(&prometheus, 20, json!({"consecutiveErrorLimit": 2}));
    let mut w = Watched::start(&with_metrics(&[metric]));
    w.wait_for("error-rate #2").await;
    prometheus.stop();
    let r = w.finish().await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.output("phase"), "Error");
    let m = metric_result(&r, "error-rate");
    assert_eq!(
        m["error"], 3,
        "consecutiveErrorLimit 2: the third error in a row decides: {m}"
    );
    assert!(m["message"].as_str().unwrap().contains("Prometheus"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_query_or_condition_fails_at_once_naming_where() {
    let (_service, prometheus) = peers(0.0).await;
    let bad_query = json!({
        "name": "typo", "interval": "10s", "count": 5, "successCondition": "result[0] < 1",
        "provider": {"prometheus": {"address": prometheus.url(), "query": "sum(rate(http_requests_total[5s])"}},
    });
    let started = std::time::Instant::now();
    let r = gate(&[bad_query]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let told = said(&r);
    assert!(told.contains("metric `typo`") && told.contains("bad_data"), "{told}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at the first query, not after 5 × 10s"
    );

    // A vector compared as a number is refused before the first measurement counts.
    let scalar_use = error_rate(&prometheus, 5, json!({"successCondition": "result < 0.01"}));
    let r = gate(&[scalar_use]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let told = said(&r);
    assert!(told.contains("vector") && told.contains("all(result"), "{told}");

    let typo = error_rate(&prometheus, 5, json!({"successCondition": "result[0] <> 0.01"}));
    let r = gate(&[typo]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let told = said(&r);
    assert!(
        told.contains("successCondition") && told.contains("column 12"),
        "{told}"
    );
}

/// Everything the run told its user: the JSON report's error and both streams.
fn said(r: &Run) -> String {
    format!("{}\n{}", r.stdout, r.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_dry_run_metric_is_reported_but_does_not_fail_the_run() {
    let (_service, prometheus) = peers(0.0).await;
    let strict = error_rate(
        &prometheus,
        2,
        json!({"name": "too-strict", "successCondition": "result[0] < 0", "dryRun": true}),
    );
    let r = gate(&[error_rate(&prometheus, 2, json!({})), strict]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("phase"), "Successful");
    assert_eq!(metric_result(&r, "too-strict")["phase"], "Failed");
    assert!(summary(&r).contains("too-strict (dry run)"), "{}", summary(&r));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slower_canary_fails_the_mann_whitney_comparison_with_its_effect_size() {
    let service = MetricsServer::start().await;
    service
        .control(
            "/_control/series",
            json!({"service": "checkout", "variant": "stable", "latency_ms": 100, "jitter": 10}),
        )
        .await;
    service
        .control(
            "/_control/series",
            json!({"service": "checkout", "variant": "canary", "latency_ms": 160, "jitter": 10}),
        )
        .await;
    let prometheus = Prometheus::start(&[service.address()]).await;
    let mean = "sum(rate(http_request_duration_seconds_sum{variant=\"{{variant}}\"}[2s])) / sum(rate(http_request_duration_seconds_count{variant=\"{{variant}}\"}[2s]))";
    prometheus
        .wait_for_data(&mean.replace("{{variant}}", "canary"), Duration::from_secs(30))
        .await;
    let compare = json!({
        "name": "latency-vs-baseline", "interval": "1s", "count": 6,
        "provider": {"prometheus": {"address": prometheus.url(), "query": mean}},
        "compare": {"baseline": "stable", "canary": "canary", "direction": "increase"},
    });
    let r = gate(&[compare]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    let m = metric_result(&r, "latency-vs-baseline");
    assert_eq!(m["phase"], "Failed", "{m}");
    let summary = summary(&r);
    assert!(
        summary.contains("Mann-Whitney U") && summary.contains("effect size"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_provider_reads_a_json_path() {
    let service = MetricsServer::start().await;
    let web = json!({
        "name": "health", "count": 1, "successCondition": "result == \"ok\"",
        "provider": {"web": {"url": format!("{}/healthz", service.url()), "jsonPath": "{$.status}"}},
    });
    let r = gate(std::slice::from_ref(&web)).await;
    assert_eq!((r.code, r.output("phase").as_str()), (0, "Successful"), "{r:#?}");
    service.set_health(false).await;
    let r = gate(&[web]).await;
    assert_ne!(r.code, 0, "{r:#?}");
    assert_ne!(r.output("phase"), "Successful");
}

/// The canary-release example's one command, with its analysis shortened (1 s interval).
async fn canary_example(error_ratio: &str) -> Run {
    let root = crate::guests::workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let template = std::fs::read_to_string(root.join("examples/canary-release/analysis.yaml"))
        .unwrap()
        .replace("interval: 5s", "interval: 1s")
        .replace("count: 10", "count: 5");
    let analysis = dir.path().join("analysis.yaml");
    std::fs::write(&analysis, template).unwrap();
    let mut cmd = tokio::process::Command::new(root.join("examples/canary-release/run.sh"));
    cmd.env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
        .env("TOLLGATE_CACHE_DIR", crate::support::cache_dir())
        .env("ANALYSIS", &analysis)
        .env("CANARY_ERROR_RATIO", error_ratio)
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    crate::support::run_cmd(&mut cmd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_canary_release_example_promotes_a_healthy_canary_and_rolls_back_a_bad_one() {
    let good = canary_example("0.001").await;
    assert_eq!(good.code, 0, "{good:#?}");
    assert!(
        good.stdout.contains("== promote") && !good.stdout.contains("== roll back"),
        "{good:#?}"
    );
    assert!(
        good.stdout.contains("latency-vs-stable") && good.stdout.contains("Mann-Whitney"),
        "{good:#?}"
    );

    let bad = canary_example("0.05").await;
    assert_eq!(bad.code, 1, "{bad:#?}");
    assert!(
        bad.stdout.contains("== roll back") && !bad.stdout.contains("== promote"),
        "{bad:#?}"
    );
    assert!(
        bad.stdout.contains("error-rate") && bad.stdout.contains("✖ Failed"),
        "{bad:#?}"
    );
}

/// The canary workflow as a user copies it, under act (host mode) with the host binary under
/// test (`TOLLGATE_BIN`), `uses: tollgate-ci/tollgate@v0` pointed at this checkout, and the
/// analysis shortened to a 1 s interval.
/// The workflow's `secrets.PROMETHEUS_PASSWORD`: Prometheus' basic-auth password.
const ACT_PROMETHEUS_PASSWORD: &str = "act-pw-31c9e4b27f";

async fn canary_workflow_under_act(service: &MetricsServer, prometheus: &Prometheus, error_ratio: &str) -> Run {
    let repo = tempfile::tempdir().unwrap();
    crate::act::repo_copy(repo.path());
    let workflow = repo.path().join("examples/canary-release/.github/workflows/canary.yml");
    let text = std::fs::read_to_string(&workflow).unwrap();
    assert!(
        text.contains("uses: tollgate-ci/tollgate@v0"),
        "the example uses the published action"
    );
    // act clones every action a job names before it starts, and this machine has no GitHub:
    // the closing upload of the analysis (skipped under act anyway) goes.
    let text = match text.find("      - uses: actions/upload-artifact@v4") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    std::fs::write(&workflow, text.replace("uses: tollgate-ci/tollgate@v0", "uses: ./")).unwrap();
    let analysis = repo.path().join("examples/canary-release/analysis.yaml");
    let text = std::fs::read_to_string(&analysis).unwrap();
    std::fs::write(
        &analysis,
        text.replace("interval: 5s", "interval: 1s")
            .replace("count: 10", "count: 5"),
    )
    .unwrap();
    let regions = json!([
        {"name": "us-east", "url": format!("{}/healthz", service.url())},
        {"name": "eu-west", "url": format!("{}/healthz", service.url())},
        {"name": "ap-south", "url": format!("{}/healthz", service.url())},
    ]);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new("act");
    cmd.current_dir(repo.path())
        .args([
            "workflow_dispatch",
            "-W",
            "examples/canary-release/.github/workflows/canary.yml",
        ])
        .args([
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--input",
            "version=v2",
        ])
        .args(["--var", &format!("SERVICE_URL={}", service.url())])
        .args(["--var", &format!("PROMETHEUS_URL={}", prometheus.url())])
        .args(["--var", &format!("REGION_URLS={regions}")])
        .args(["--var", &format!("CANARY_ERROR_RATIO={error_ratio}")])
        .args(["--secret", &format!("PROMETHEUS_PASSWORD={ACT_PROMETHEUS_PASSWORD}")])
        .args(["--env", &format!("TOLLGATE_BIN={}", env!("CARGO_BIN_EXE_tollgate"))])
        .args([
            "--env",
            &format!("TOLLGATE_CACHE_DIR={}", crate::support::cache_dir().display()),
        ])
        .env("HOME", home.path())
        .kill_on_drop(true);
    crate::support::run_within(&mut cmd, Duration::from_secs(600)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_canary_workflow_under_act_promotes_a_good_build_and_rolls_back_a_bad_one() {
    let service = MetricsServer::start().await;
    service
        .control(
            "/_control/series",
            json!({"service": "checkout", "variant": "stable", "error_ratio": 0.001, "latency_ms": 90, "jitter": 8}),
        )
        .await;
    let prometheus = Prometheus::start_with_password(&[service.address()], ACT_PROMETHEUS_PASSWORD).await;
    prometheus
        .wait_for_data(
            "rate(http_requests_total{variant=\"stable\"}[10s])",
            Duration::from_secs(30),
        )
        .await;

    let good = canary_workflow_under_act(&service, &prometheus, "0.001").await;
    assert_eq!(good.code, 0, "{good:#?}");
    assert!(
        !good.stdout.contains(ACT_PROMETHEUS_PASSWORD) && !good.stderr.contains(ACT_PROMETHEUS_PASSWORD),
        "the password is written nowhere"
    );
    assert!(good.stdout.contains("promoted v2"), "{}", good.stdout);
    let state = service.state().await;
    assert_eq!(state["health"]["version"], "v2", "{state}");

    service.set_health(true).await;
    let bad = canary_workflow_under_act(&service, &prometheus, "0.05").await;
    assert_ne!(bad.code, 0, "{bad:#?}");
    assert!(!bad.stdout.contains("promoted v2"), "{}", bad.stdout);
    assert!(
        bad.stdout.contains("rolling back: analysis Failed error-rate"),
        "{}",
        bad.stdout
    );
    let state = service.state().await;
    let canary_left =
        state.to_string().contains("\"variant\": \"canary\"") || state.to_string().contains("\"variant\":\"canary\"");
    assert!(!canary_left, "the rollback removed the canary: {state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_canary_release_is_rolled_back() {
    let root = crate::guests::workspace_root();
    let mut child = tokio::process::Command::new(root.join("examples/canary-release/run.sh"))
        .env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
        .env("TOLLGATE_CACHE_DIR", crate::support::cache_dir())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let reached = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("== canary-gate") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(reached, Ok(true)), "{seen}");
    let pid = child.id().unwrap() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
        }
        child.wait().await.unwrap()
    })
    .await
    .expect("run.sh ends after SIGTERM");
    assert!(!status.success(), "{seen}");
    assert!(seen.contains("== roll back") && !seen.contains("== promote"), "{seen}");
}
