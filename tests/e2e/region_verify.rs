//! `region-verify` against real HTTP(S) servers: healthy, slow, failing, wrong-region.

use crate::support::{Reply, Run, Server, TestPki, run};
use std::time::Duration;

fn endpoints(servers: &[(&str, &Server)]) -> String {
    let items: Vec<String> = servers
        .iter()
        .map(|(name, s)| format!(r#"{{"name": "{name}", "url": "{}"}}"#, s.url("/healthz")))
        .collect();
    format!("endpoints=[{}]", items.join(", "))
}

async fn verify(endpoints: &str, extra: &[&str]) -> Run {
    let mut args = vec!["run", "region-verify", "--json", "--with", endpoints];
    args.extend_from_slice(extra);
    run(&args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn passes_when_the_quorum_holds_and_names_the_failed_region() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eu = Server::start(Reply::ok("eu-west").status(503)).await;
    let ap = Server::start(Reply::ok("ap-south")).await;
    let eps = endpoints(&[("us-east", &us), ("eu-west", &eu), ("ap-south", &ap)]);
    let conditions =
        r#"conditions=["status == 200", "body.status == \"UP\"", "header.x-region != \"\"", "response_time < 2s"]"#;
    let r = verify(
        &eps,
        &[
            "--with",
            conditions,
            "--with",
            "min-healthy=2",
            "--with",
            "retries=1",
            "--with",
            "backoff=10ms",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("healthy"), "2");
    assert_eq!(r.output("total"), "3");
    assert_eq!(r.output("failed-regions"), "eu-west");
    let report: serde_json::Value = serde_json::from_str(&r.output("report")).expect("report is JSON");
    assert!(report.to_string().contains("eu-west"));
    let summary = r.json()["summary"].as_str().unwrap().to_string();
    assert!(
        summary.contains("eu-west") && summary.contains("us-east") && summary.contains("ap-south"),
        "{summary}"
    );
    // One try plus one retry for the failing region, a single try for the healthy ones.
    assert_eq!((us.hits(), eu.hits(), ap.hits()), (1, 2, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_with_exit_1_naming_regions_when_the_quorum_is_lost() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eu = Server::start(Reply::ok("eu-west").status(500)).await;
    let ap = Server::start(Reply::ok("ap-south").body(r#"{"status":"DOWN"}"#)).await;
    let eps = endpoints(&[("us-east", &us), ("eu-west", &eu), ("ap-south", &ap)]);
    let r = verify(
        &eps,
        &[
            "--with",
            r#"conditions=["status == 200", "body.status == \"UP\""]"#,
            "--with",
            "min-healthy=66%",
            "--with",
            "retries=0",
        ],
    )
    .await;
    assert_eq!(r.code, 1, "{r:#?}");
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("eu-west") && message.contains("ap-south"), "{message}");
    assert!(!message.contains("us-east"), "{message}");
    assert_eq!(r.output("healthy"), "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_region_times_out_and_counts_as_failed() {
    let us = Server::start(Reply::ok("us-east")).await;
    let slow = Server::start(Reply::ok("eu-west").delay(Duration::from_secs(5))).await;
    let eps = endpoints(&[("us-east", &us), ("eu-west", &slow)]);
    let r = verify(&eps, &["--with", "timeout=300ms", "--with", "retries=0"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.output("failed-regions"), "eu-west");
    assert!(r.output("report").contains("timed out"), "{}", r.output("report"));
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_run_concurrently() {
    // Four regions behind one slow server: it sees the requests overlap only if the
    // plugin sends them concurrently (a 400 ms reply leaves no room for luck).
    let server = Server::start(Reply::ok("any").delay(Duration::from_millis(400))).await;
    let eps = endpoints(&[("a", &server), ("b", &server), ("c", &server), ("d", &server)]);
    let r = verify(&eps, &[]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(server.hits(), 4);
    assert_eq!(server.peak_concurrency(), 4, "all four checks were in flight together");
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_drill_requires_the_answer_from_a_healthy_region() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eu = Server::start(Reply::ok("eu-west").status(503)).await;
    let eps = endpoints(&[("us-east", &us), ("eu-west", &eu)]);
    // The global endpoint still routes to the broken region.
    let global = Server::start(Reply::ok("eu-west")).await;
    let global_url = format!("global-url={}", global.url("/"));
    let r = verify(
        &eps,
        &["--with", &global_url, "--with", "min-healthy=1", "--with", "retries=0"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.output("answered-by"), "eu-west");
    // Failed over correctly: the global endpoint answers from the healthy region.
    let global = Server::start(Reply::ok("us-east")).await;
    let global_url = format!("global-url={}", global.url("/"));
    let r = verify(
        &eps,
        &["--with", &global_url, "--with", "min-healthy=1", "--with", "retries=0"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.output("answered-by"), "us-east");
}

#[tokio::test(flavor = "multi_thread")]
async fn https_certificate_expiry_is_checked() {
    let pki = TestPki::new(30);
    let server = Server::start_tls(Reply::ok("us-east"), pki.server.clone()).await;
    let eps = endpoints(&[("us-east", &server)]);
    let ca = pki.ca().display().to_string();
    let ok = verify(
        &eps,
        &[
            "--ca-cert",
            &ca,
            "--with",
            r#"conditions=["status == 200", "cert_expires_in > 14d"]"#,
        ],
    )
    .await;
    assert_eq!(ok.code, 0, "{ok:#?}");
    let soon = verify(
        &eps,
        &[
            "--ca-cert",
            &ca,
            "--with",
            "retries=0",
            "--with",
            r#"conditions=["cert_expires_in > 60d"]"#,
        ],
    )
    .await;
    assert_eq!(soon.code, 1, "{soon:#?}");
    assert!(soon.json()["message"].as_str().unwrap().contains("us-east"));
    // Without the test CA the handshake fails: the region is unhealthy, never silently trusted.
    let untrusted = verify(&eps, &["--with", "retries=0"]).await;
    assert_eq!(untrusted.code, 1, "{untrusted:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_condition_is_a_usage_error_before_any_request() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eps = endpoints(&[("us-east", &us)]);
    let r = verify(&eps, &["--with", r#"conditions=["status === 200"]"#]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("input `conditions`") && message.contains("==="),
        "{message}"
    );
    assert_eq!(us.hits(), 0);
}
