//! The whole plugin under `MockHost` (virtual clock, answered HTTP): the analysis rules at the
//! edges a real Prometheus rarely reaches on cue — every measurement erroring, a hostile
//! Prometheus, the argument and grant paths.

use canary_gate::CanaryGate;
use serde_json::{Value, json};
use tollgate_sdk::testing::{MockHost, MockResponse, Outcome};
use tollgate_sdk::{PluginError, Status};

const PROM: &str = "http://prometheus.test:9090";

fn metric(extra: Value) -> Value {
    let mut m = json!({
        "name": "error-rate",
        "interval": "1s",
        "count": 3,
        "successCondition": "result[0] < 0.01",
        "provider": {"prometheus": {"address": PROM, "query": "sum(rate(errors[1m]))"}},
    });
    m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    m
}

fn vector(values: &[&str]) -> MockResponse {
    let result: Vec<Value> = values
        .iter()
        .map(|v| json!({"metric": {}, "value": [1.0, v]}))
        .collect();
    MockResponse::json(
        200,
        json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    )
}

fn run(metrics: Value, answer: impl Fn(usize) -> MockResponse + 'static) -> Outcome {
    let calls = std::cell::Cell::new(0);
    MockHost::new()
        .input("metrics", metrics)
        .http(move |_| {
            calls.set(calls.get() + 1);
            answer(calls.get())
        })
        .run::<CanaryGate>()
}

#[test]
fn measurements_that_all_errored_never_make_a_successful_run() {
    // Argo's #4479: a run whose measurements all errored is reported Successful.
    let outcome = run(json!([metric(json!({}))]), |_| MockResponse::text(503, "upstream down"));
    assert_eq!(outcome.status(), Some(Status::Inconclusive), "{:?}", outcome.result);
    assert_eq!(outcome.output("phase"), Some("Inconclusive"));
    assert!(
        outcome.summary.contains("no successful measurement"),
        "{}",
        outcome.summary
    );
    assert_eq!(outcome.requests.len(), 3);
    // …and the analysis is kept as an artifact, every measurement in it.
    let artifact = outcome
        .artifacts
        .iter()
        .find(|a| a.name == "canary-analysis")
        .expect("artifact");
    let stored: Value = serde_json::from_slice(&artifact.data).unwrap();
    assert_eq!(stored["run"]["metrics"][0]["measurements"].as_array().unwrap().len(), 3);
}

#[test]
fn the_schedule_counts_intervals_from_each_measurements_start() {
    let outcome = run(json!([metric(json!({"count": 10, "initialDelay": "2s"}))]), |_| {
        vector(&["0.001"]).delay(std::time::Duration::from_millis(300))
    });
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    let stored: Value = serde_json::from_slice(&outcome.artifacts[0].data).unwrap();
    let times: Vec<u64> = stored["run"]["metrics"][0]["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["elapsed_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(
        times,
        (0..10).map(|i| 2000 + i * 1000).collect::<Vec<u64>>(),
        "query latency must not accumulate"
    );
    assert_eq!(
        outcome.progress.len(),
        9,
        "progress between measurements: {:?}",
        outcome.progress
    );
}

#[test]
fn a_hostile_prometheus_cannot_blow_up_the_report() {
    let huge: Vec<String> = (0..50_000).map(|i| format!("0.00{}", i % 9)).collect();
    let outcome = run(
        json!([metric(json!({"successCondition": "all(result, {# < 0.01})"}))]),
        move |_| vector(&huge.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    assert!(
        outcome.summary.len() < 16 * 1024,
        "summary is {} bytes",
        outcome.summary.len()
    );
    assert!(outcome.summary.contains("more"), "{}", outcome.summary);
    let malformed = run(json!([metric(json!({"count": 1}))]), |_| {
        MockResponse::json(
            200,
            json!({"status": "success", "data": {"resultType": "vector", "result": [{"value": "x"}]}}),
        )
    });
    assert_ne!(malformed.status(), Some(Status::Passed));
    assert!(malformed.summary.contains("malformed"), "{}", malformed.summary);
}

#[test]
fn a_query_prometheus_refuses_ends_the_step_at_the_first_answer() {
    let outcome = run(json!([metric(json!({"count": 10}))]), |_| {
        MockResponse::json(
            400,
            json!({"status": "error", "errorType": "bad_data", "error": "1:14: parse error: unclosed left parenthesis"}),
        )
    });
    let Err(PluginError::InvalidInput(e)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(e.input, "metrics");
    assert!(
        e.message.contains("metric `error-rate`") && e.message.contains("unclosed left parenthesis"),
        "{}",
        e.message
    );
    assert_eq!(outcome.requests.len(), 1);
}

#[test]
fn args_are_substituted_and_a_missing_one_is_named_before_any_request() {
    let templated = metric(
        json!({"provider": {"prometheus": {"address": PROM, "query": "rate(x{service=\"{{args.service}}\"}[1m])"}}}),
    );
    let outcome = MockHost::new()
        .input("metrics", json!([templated.clone()]))
        .input("args", json!({"service": "checkout"}))
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    assert!(
        outcome.requests[0].url.contains("service%3D%22checkout%22"),
        "{}",
        outcome.requests[0].url
    );

    let outcome = run(json!([templated]), |_| vector(&["0.001"]));
    let Err(PluginError::InvalidInput(e)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(e.input, "args");
    assert!(
        e.message.contains("`{{args.service}}` is used but not given"),
        "{}",
        e.message
    );
    assert!(outcome.requests.is_empty());
}

#[test]
fn a_template_file_reads_but_its_addresses_are_not_granted_by_themselves() {
    let template = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {{name: t}}\nspec:\n  metrics:\n  - name: up\n    successCondition: result[0] == 1\n    provider:\n      prometheus:\n        address: {PROM}\n        query: up\n"
    );
    let outcome = MockHost::new()
        .artifact("analysis", "application/yaml", template.clone())
        .input("template", "artifact:analysis")
        .http(|_| vector(&["1"]))
        .run::<CanaryGate>();
    let Err(PluginError::Denied(message)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(message.contains("allow-net"), "{message}");
    let outcome = MockHost::new()
        .artifact("analysis", "application/yaml", template)
        .input("template", "artifact:analysis")
        .grant_origin(PROM)
        .http(|_| vector(&["1"]))
        .run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
}

#[test]
fn every_dry_run_metric_means_nothing_decided() {
    let outcome = run(json!([metric(json!({"dryRun": true, "count": 1}))]), |_| {
        vector(&["0.001"])
    });
    assert_eq!(outcome.status(), Some(Status::Inconclusive), "{:?}", outcome.result);
    assert!(
        outcome.summary.contains("every metric is a dry run"),
        "{}",
        outcome.summary
    );
}

#[test]
fn range_queries_are_matrices_checked_before_any_request() {
    let range = |condition: &str| {
        json!([metric(json!({
            "count": 1,
            "successCondition": condition,
            "provider": {"prometheus": {"address": PROM, "query": "rate(errors[1m])",
                "rangeQuery": {"start": "{{ now() - duration(\"5m\") }}", "end": "now()", "step": "1m"}}},
        }))])
    };
    let matrix = || {
        MockResponse::json(
            200,
            json!({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": {}, "values": [[1, "0.001"], [2, "0.002"]]}]}}),
        )
    };
    let outcome = run(range("all(result[0], {# < 0.01})"), move |_| matrix());
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    let url = &outcome.requests[0].url;
    assert!(
        url.contains("/api/v1/query_range?") && url.contains("&step=60"),
        "{url}"
    );

    let outcome = run(range("result[0] < 0.01"), move |_| matrix());
    let Err(PluginError::InvalidInput(e)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(
        e.message.contains("matrix") && e.message.contains("column"),
        "{}",
        e.message
    );
    assert!(outcome.requests.is_empty(), "refused before measuring");
}

#[test]
fn an_https_only_prometheus_is_enough_of_a_grant() {
    let https = "https://prometheus.example.com";
    let outcome = MockHost::new()
        .input(
            "metrics",
            json!([metric(
                json!({"count": 1, "provider": {"prometheus": {"address": https, "query": "up"}}})
            )]),
        )
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
}

#[test]
fn an_oversized_or_stalled_answer_is_an_errored_measurement_not_a_crash() {
    let big = run(json!([metric(json!({"count": 1}))]), |_| {
        MockResponse::new(200).body(vec![b' '; 9 << 20])
    });
    assert_eq!(big.status(), Some(Status::Inconclusive), "{:?}", big.result);
    assert!(big.summary.contains("⚠ Error"), "{}", big.summary);
    let stalled = run(
        json!([metric(
            json!({"count": 1, "provider": {"prometheus": {"address": PROM, "query": "up", "timeout": 2}}})
        )]),
        |_| vector(&["0.001"]).delay(std::time::Duration::from_secs(30)),
    );
    assert_eq!(stalled.status(), Some(Status::Inconclusive), "{:?}", stalled.result);
    assert!(
        stalled.summary.contains("2s"),
        "the timeout is named: {}",
        stalled.summary
    );
}

/// A template whose Prometheus sends `Authorization: Bearer {{args.token}}`, the token from a
/// Kubernetes secret as Argo reads it.
fn secret_template() -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {{name: t}}\nspec:\n  args:\n  - name: token\n    valueFrom:\n      secretKeyRef: {{name: prom-auth, key: token}}\n  metrics:\n  - name: up\n    successCondition: result[0] == 1\n    provider:\n      prometheus:\n        address: {PROM}\n        query: up\n        headers:\n        - key: Authorization\n          value: Bearer {{{{args.token}}}}\n"
    )
}

#[test]
fn a_secret_key_ref_reads_the_granted_secret_and_names_it_when_missing() {
    let host = || {
        MockHost::new()
            .artifact("analysis", "application/yaml", secret_template())
            .input("template", "artifact:analysis")
            .grant_origin(PROM)
            .http(|_| vector(&["1"]))
    };
    let outcome = host().secret("PROM_AUTH_TOKEN", "s3cr3t-t0k3n").run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    assert_eq!(outcome.requests[0].header("authorization"), Some("Bearer s3cr3t-t0k3n"));

    // Not granted: refused before any query, naming the secret, the reference and the grant.
    let outcome = host().run::<CanaryGate>();
    let Err(PluginError::Denied(message)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    for part in [
        "`token`",
        "{name: prom-auth, key: token}",
        "`PROM_AUTH_TOKEN`",
        "--secret PROM_AUTH_TOKEN",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert!(outcome.requests.is_empty());

    // A secret granted under another name is not read in its place.
    let outcome = host().secret("PROM_TOKEN", "other").run::<CanaryGate>();
    assert!(
        matches!(outcome.result, Err(PluginError::Denied(_))),
        "{:?}",
        outcome.result
    );
}

#[test]
fn step_args_take_a_secret_key_ref_too_and_field_refs_are_refused() {
    let templated = metric(json!({"count": 1, "provider": {"prometheus": {
        "address": PROM, "query": "up",
        "authentication": {"basic": {"username": "ci", "password": "{{args.password}}"}},
    }}}));
    let outcome = MockHost::new()
        .input("metrics", json!([templated.clone()]))
        .input(
            "args",
            json!({"password": {"valueFrom": {"secretKeyRef": {"name": "prom", "key": "password"}}}}),
        )
        .secret("PROM_PASSWORD", "hunter2")
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    // base64("ci:hunter2")
    assert_eq!(
        outcome.requests[0].header("authorization"),
        Some("Basic Y2k6aHVudGVyMg==")
    );

    let outcome = MockHost::new()
        .input("metrics", json!([templated]))
        .input(
            "args",
            json!({"password": {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}}),
        )
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    let Err(PluginError::InvalidInput(e)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(e.message.contains("only `secretKeyRef`"), "{}", e.message);
}

#[test]
fn sigv4_signs_the_query_it_sends_and_needs_the_aws_secrets() {
    let amp = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1";
    let metrics = json!([metric(json!({"count": 1, "provider": {"prometheus": {
        "address": amp, "query": "sum(rate(http_requests_total{code=~\"5..\"}[1m]))",
        "authentication": {"sigv4": {"region": "us-east-1"}},
    }}}))]);
    let outcome = MockHost::new()
        .input("metrics", metrics.clone())
        .secret("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .secret("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    assert_eq!(outcome.status(), Some(Status::Passed), "{:?}", outcome.result);
    let sent = &outcome.requests[0];
    let (path_and_query, date) = (
        sent.url
            .strip_prefix("https://aps-workspaces.us-east-1.amazonaws.com")
            .unwrap(),
        sent.header("x-amz-date").expect("x-amz-date"),
    );
    let (path, query) = path_and_query.split_once('?').unwrap();
    assert_eq!(path, "/workspaces/ws-1/api/v1/query");
    // The signature covers exactly the path and query that went on the wire, and the host.
    let creds = tollgate_sigv4::Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
    };
    let headers: Vec<(String, String)> = [
        ("host", "aps-workspaces.us-east-1.amazonaws.com"),
        ("x-amz-date", date),
        ("x-amz-content-sha256", sent.header("x-amz-content-sha256").unwrap()),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let want = tollgate_sigv4::authorization(
        &creds,
        "us-east-1",
        "aps",
        date,
        &tollgate_sigv4::Request {
            method: "GET",
            path,
            query,
            headers: &headers,
            body: b"",
        },
    );
    assert_eq!(sent.header("authorization"), Some(want.as_str()));
    assert!(want.contains("/us-east-1/aps/aws4_request"), "{want}");

    let outcome = MockHost::new()
        .input("metrics", metrics)
        .secret("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .http(|_| vector(&["0.001"]))
        .run::<CanaryGate>();
    let Err(PluginError::Denied(message)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(message.contains("`AWS_SECRET_ACCESS_KEY`"), "{message}");
    assert!(outcome.requests.is_empty());
}

#[test]
fn provider_keys_canary_gate_would_ignore_are_refused() {
    for (provider, at, words) in [
        (
            json!({"prometheus": {"address": PROM, "query": "up", "authentification": {"basic": {}}}}),
            "authentification",
            "did you mean `authentication`?",
        ),
        (
            json!({"prometheus": {"address": PROM, "query": "up", "insecure": true}}),
            "insecure",
            "always verifies TLS",
        ),
        (
            json!({"prometheus": {"address": PROM, "query": "up", "authentication": {"oauth2": {"tokenUrl": "x"}}}}),
            "oauth2",
            "Bearer",
        ),
        (
            json!({"prometheus": {"address": PROM, "query": "up", "authentication": {"sigv4": {"region": "us-east-1", "roleArn": "arn:aws:iam::1:role/r"}}}}),
            "roleArn",
            "configure-aws-credentials",
        ),
    ] {
        let outcome = run(json!([metric(json!({"provider": provider}))]), |_| vector(&["0"]));
        let Err(PluginError::InvalidInput(e)) = &outcome.result else {
            panic!("{at}: {:?}", outcome.result)
        };
        assert!(
            e.message.contains(at) && e.message.contains(words),
            "{at}: {}",
            e.message
        );
        assert!(outcome.requests.is_empty(), "{at}");
    }
}

#[test]
fn credentials_prometheus_refuses_end_the_analysis_at_once() {
    let outcome = MockHost::new()
        .input("metrics", json!([metric(json!({"count": 5}))]))
        .http(|_| MockResponse::text(401, "Unauthorized"))
        .run::<CanaryGate>();
    let Err(PluginError::Denied(message)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(message.contains("refused the credentials (HTTP 401)"), "{message}");
    assert_eq!(outcome.requests.len(), 1, "no query after a refusal");
}
