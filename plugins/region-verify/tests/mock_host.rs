//! The whole plugin, run natively under `MockHost` with mocked endpoints.

use region_verify::RegionVerify;
use serde_json::{Value, json};
use std::time::Duration;
use tollgate_sdk::testing::{MockHost, MockResponse, Outcome};
use tollgate_sdk::{PluginError, Status};

fn region(name: &str) -> MockResponse {
    MockResponse::json(200, json!({"status": "ok", "region": name})).header("x-region", name)
}

fn three_regions() -> MockHost {
    MockHost::new()
        .input(
            "endpoints",
            json!([
                {"name": "us-east", "url": "https://us-east.example.com/healthz"},
                {"name": "eu-west", "url": "https://eu-west.example.com/healthz"},
                {"name": "ap-south", "url": "https://ap-south.example.com/healthz"},
            ]),
        )
        .input("backoff", "100ms")
}

fn report(o: &Outcome) -> Value {
    serde_json::from_str(o.output("report").expect("a report")).expect("JSON")
}

fn status(o: &Outcome) -> Status {
    o.status()
        .unwrap_or_else(|| panic!("the run did not finish: {:?}", o.result))
}

#[test]
fn healthy_regions_pass() {
    let o = three_regions()
        .respond("GET", "https://us-east.example.com/healthz", region("us-east"))
        .respond("GET", "https://eu-west.example.com/healthz", region("eu-west"))
        .respond("GET", "https://ap-south.example.com/healthz", region("ap-south"))
        .input(
            "conditions",
            json!(["status == 200", "body.status == \"ok\"", "response_time < 1s"]),
        )
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Passed);
    assert_eq!(o.result.as_ref().unwrap().message, "3 of 3 regions healthy (quorum 3)");
    assert_eq!((o.output("healthy"), o.output("total")), (Some("3"), Some("3")));
    assert_eq!(o.output("failed-regions"), Some(""));
    assert_eq!(o.output("answered-by"), None, "no drill, no output");
    assert_eq!(o.requests.len(), 3);
    assert!(
        o.requests
            .iter()
            .all(|r| r.header("user-agent").unwrap().starts_with("tollgate-region-verify/"))
    );
    assert!(
        o.summary.contains("us-east") && o.summary.contains("ap-south"),
        "{}",
        o.summary
    );
    assert!(o.logged("us-east: healthy (status 200"), "{:?}", o.logs);
    assert!(o.annotations.is_empty());
}

#[test]
fn a_failing_region_is_retried_then_reported() {
    let o = three_regions()
        .respond("GET", "https://us-east.example.com/healthz", region("us-east"))
        .respond(
            "GET",
            "https://eu-west.example.com/healthz",
            MockResponse::text(503, "maintenance"),
        )
        .respond("GET", "https://ap-south.example.com/healthz", region("ap-south"))
        .input("min-healthy", 2)
        .input("retries", 1)
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Passed, "the quorum of 2 is met");
    assert_eq!(o.output("failed-regions"), Some("eu-west"));
    assert_eq!(o.output("healthy"), Some("2"));
    let eu = o.requests.iter().filter(|r| r.url.contains("eu-west")).count();
    assert_eq!(eu, 2, "one retry");
    assert!(o.result.as_ref().unwrap().message.contains("unhealthy: eu-west"));
    assert!(
        o.annotations
            .iter()
            .any(|a| a.message.starts_with("eu-west is unhealthy")),
        "{:?}",
        o.annotations
    );
    assert_eq!(report(&o)["failed_regions"], json!(["eu-west"]));

    let o = three_regions()
        .http(|_| MockResponse::new(500))
        .input("retries", 0)
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Failed);
    assert!(o.result.unwrap().message.starts_with("0 of 3 regions healthy, need 3"));
}

#[test]
fn a_slow_region_times_out_without_slowing_the_test() {
    let o = three_regions()
        .respond("GET", "https://us-east.example.com/healthz", region("us-east"))
        .respond(
            "GET",
            "https://eu-west.example.com/healthz",
            region("eu-west").delay(Duration::from_secs(5)),
        )
        .respond("GET", "https://ap-south.example.com/healthz", region("ap-south"))
        .input("timeout", "300ms")
        .input("retries", 0)
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Failed);
    assert_eq!(o.output("failed-regions"), Some("eu-west"));
    assert!(
        o.output("report").unwrap().contains("timed out after 300ms"),
        "{}",
        o.output("report").unwrap()
    );
}

#[test]
fn response_time_conditions_see_the_mocked_delay() {
    let o = three_regions()
        .http(|req| {
            let delay = if req.url.contains("ap-south") { 800 } else { 100 };
            region("any").delay(Duration::from_millis(delay))
        })
        .input("conditions", json!(["response_time < 500ms"]))
        .input("retries", 0)
        .run::<RegionVerify>();
    assert_eq!(o.output("failed-regions"), Some("ap-south"));
    let endpoints = &report(&o)["endpoints"];
    assert_eq!(endpoints[0]["response_time_ms"], 100, "{endpoints}");
}

#[test]
fn the_failover_drill_needs_the_answer_from_a_healthy_region() {
    let drill = |answering: &'static str| {
        MockHost::new()
            .input(
                "endpoints",
                json!({"us-east": "https://us-east.example.com/", "eu-west": "https://eu-west.example.com/"}),
            )
            .input("global-url", "https://api.example.com/")
            .input("min-healthy", 1)
            .input("retries", 0)
            .respond("GET", "https://us-east.example.com/", region("us-east"))
            .respond("GET", "https://eu-west.example.com/", MockResponse::new(503))
            .respond("GET", "https://api.example.com/", region(answering))
            .run::<RegionVerify>()
    };
    let wrong = drill("eu-west");
    assert_eq!(status(&wrong), Status::Failed);
    assert_eq!(wrong.output("answered-by"), Some("eu-west"));
    assert!(
        wrong.result.as_ref().unwrap().message.contains("failover failed"),
        "{:?}",
        wrong.result
    );
    let right = drill("us-east");
    assert_eq!(status(&right), Status::Passed);
    assert_eq!(right.output("answered-by"), Some("us-east"));
    assert!(right.logged("failover: answered from us-east"));
}

#[test]
fn every_endpoint_is_checked_at_once() {
    let endpoints: Vec<Value> = (0..100)
        .map(|i| json!({"name": format!("r{i}"), "url": format!("https://r{i}.example.com/")}))
        .collect();
    let start = tollgate_sdk::runtime::Instant::now();
    let o = MockHost::new()
        .input("endpoints", endpoints)
        .http(|_| region("r").delay(Duration::from_millis(200)))
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Passed);
    assert_eq!(o.output("healthy"), Some("100"));
    // The clock restarts with each run; the endpoints' 200 ms waits overlapped.
    assert!(start.elapsed() <= Duration::from_millis(200), "{:?}", start.elapsed());
    assert!(
        report(&o)["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["response_time_ms"] == 200)
    );
}

#[test]
fn an_unmocked_endpoint_is_named_in_the_report() {
    let o = MockHost::new()
        .input("endpoints", json!({"us-east": "https://us-east.example.com/"}))
        .input("retries", 0)
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Failed);
    assert!(
        o.output("report").unwrap().contains("501"),
        "{}",
        o.output("report").unwrap()
    );
    assert!(
        o.host_notices
            .iter()
            .any(|n| n.contains("GET https://us-east.example.com/"))
    );
}

#[test]
fn headers_and_the_global_url_are_sent_and_granted() {
    let o = MockHost::new()
        .input("endpoints", json!({"us-east": "https://us-east.example.com/"}))
        .input("headers", json!({"x-probe": "1"}))
        .input("global-url", "https://api.example.com/")
        .respond("GET", "https://us-east.example.com/", region("us-east"))
        .respond("GET", "https://api.example.com/", region("us-east"))
        .run::<RegionVerify>();
    assert_eq!(
        status(&o),
        Status::Passed,
        "global-url grants its own origin: {:?}",
        o.result
    );
    assert!(o.requests.iter().all(|r| r.header("x-probe") == Some("1")));
}

fn endpoint(o: &Outcome, name: &str) -> Value {
    report(o)["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
        .clone()
}

#[test]
fn a_denied_origin_fails_at_once_and_says_so() {
    // Endpoints computed from another step's output grant nothing: only the one the test
    // grants is reachable, and the denial is not retried.
    let o = MockHost::new()
        .input_computed(
            "endpoints",
            json!({"us-east": "https://us-east.example.com/", "eu-west": "https://eu-west.example.com/"}),
        )
        .grant_origin("https://us-east.example.com")
        .input("min-healthy", 1)
        .input("retries", 3)
        .respond("GET", "https://us-east.example.com/", region("us-east"))
        .respond("GET", "https://eu-west.example.com/", region("eu-west"))
        .run::<RegionVerify>();
    assert_eq!(status(&o), Status::Passed, "{:?}", o.result);
    assert_eq!(o.output("failed-regions"), Some("eu-west"));
    let eu = endpoint(&o, "eu-west");
    assert_eq!(eu["attempts"], 1, "a denial is never retried: {eu}");
    assert_eq!(
        eu["reason"],
        "the request to https://eu-west.example.com was denied by the sandbox: \
         this step does not grant https://eu-west.example.com"
    );
    assert!(o.requests.iter().all(|r| !r.url.contains("eu-west")));

    // Metadata addresses are refused whatever the grants.
    let o = MockHost::new()
        .input(
            "endpoints",
            json!({"us-east": "https://us-east.example.com/", "meta": "http://169.254.169.254/latest"}),
        )
        .input("min-healthy", 1)
        .respond("GET", "https://us-east.example.com/", region("us-east"))
        .run::<RegionVerify>();
    assert_eq!(o.output("failed-regions"), Some("meta"));
    assert_eq!(endpoint(&o, "meta")["attempts"], 1);
    assert!(
        o.host_notices.iter().any(|n| n.contains("169.254.169.254")),
        "{:?}",
        o.host_notices
    );
}

#[test]
fn certificate_expiry_is_read_through_the_tls_import() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let cert = |days: i64| tollgate_sdk::tls::Certificate {
        subject: "CN=us-east.example.com".into(),
        issuer: "CN=Test CA".into(),
        not_before: now - 86_400,
        not_after: now + days * 86_400,
        dns_names: vec!["us-east.example.com".into()],
    };
    let run = |days: i64| {
        MockHost::new()
            .input("endpoints", json!({"us-east": "https://us-east.example.com/"}))
            .input("conditions", json!(["status == 200", "cert_expires_in > 14d"]))
            .input("retries", 0)
            .respond("GET", "https://us-east.example.com/", region("us-east"))
            .certificate("https://us-east.example.com", cert(days))
            .run::<RegionVerify>()
    };
    assert_eq!(status(&run(30)), Status::Passed);
    let soon = run(7);
    assert_eq!(status(&soon), Status::Failed);
    assert!(soon.result.unwrap().message.contains("us-east"));
}

#[test]
fn input_mistakes_stop_the_step_before_any_request() {
    let o = MockHost::new().run::<RegionVerify>();
    assert!(
        matches!(&o.result, Err(PluginError::InvalidInput(e)) if e.input == "endpoints"),
        "{:?}",
        o.result
    );
    let o = MockHost::new()
        .input("endpoints", json!({"us-east": "https://us-east.example.com/"}))
        .input("conditions", json!(["status === 200"]))
        .run::<RegionVerify>();
    assert!(
        matches!(&o.result, Err(PluginError::InvalidInput(e)) if e.input == "conditions"),
        "{:?}",
        o.result
    );
    assert!(o.requests.is_empty());
    let o = MockHost::new()
        .input("endpoints", json!({"us-east": "https://us-east.example.com/"}))
        .input("retries", "two")
        .run::<RegionVerify>();
    assert_eq!(
        o.error_message().as_deref(),
        Some("input `retries`: expected a number, got \"two\"")
    );
}
