//! The host's GitHub client, end to end: the `github-probe` guest makes `tollgate:plugin/github`
//! calls through the real binary against the stateful GitHub REST peer
//! (`tests/peers/github/server.py`), with its fault injection for retries, rate limits and
//! answers lost after GitHub applied the request.

use crate::github_peer::{Peer, REPOSITORY, TOKEN};
use crate::support::{Run, guest, run_cmd, tollgate};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tollgate_vocab::reach::{owner_of, unmark};

/// The probe's run and its answers, one per call.
struct Probe {
    run: Run,
    answers: Vec<Value>,
    elapsed: Duration,
}

impl Probe {
    fn ok(&self, i: usize) -> &Value {
        let answer = &self.answers[i];
        assert!(answer.get("ok").is_some(), "call {i} failed: {answer}\n{:#?}", self.run);
        &answer["ok"]
    }

    fn err(&self, i: usize, kind: &str) -> String {
        let answer = &self.answers[i];
        assert_eq!(answer["err"]["kind"], kind, "call {i}: {answer}");
        answer["err"]["message"].as_str().unwrap().to_string()
    }

    fn all_ok(&self) {
        for i in 0..self.answers.len() {
            self.ok(i);
        }
    }
}

/// `tollgate run github-probe` with `calls`, these flags and environment (on top of the
/// peer's URL, the token and the repository unless `env` overrides or `unset` removes them).
async fn probe_with(peer: &Peer, calls: Value, flags: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Probe {
    let calls = format!("calls={calls}");
    let mut cmd = tollgate();
    cmd.args(["run", guest("github-probe"), "--json", "--with", &calls])
        .args(flags)
        .env("GITHUB_API_URL", peer.url(""))
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPOSITORY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    let started = Instant::now();
    let run = run_cmd(&mut cmd).await;
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{run:#?}");
    let answers: Vec<Value> = serde_json::from_str(&run.output("result")).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    Probe { run, answers, elapsed }
}

const ALL: &[&str] = &[
    "--allow-github",
    "pull-requests:write",
    "--allow-github",
    "issues:write",
    "--allow-github",
    "contents:write",
];

async fn probe(peer: &Peer, calls: Value) -> Probe {
    probe_with(peer, calls, ALL, &[], &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_requests_and_paginated_comments() {
    let peer = Peer::start().await;
    peer.seed_pull(7).await;
    for i in 0..150 {
        peer.api("POST", "/issues/7/comments", json!({"body": format!("comment {i}")}))
            .await;
    }
    let p = probe(
        &peer,
        json!([{"call": "get-pull-request", "number": 7}, {"call": "list-comments", "issue": 7},
               {"call": "get-pull-request", "number": 999}]),
    )
    .await;
    let pr = p.ok(0);
    assert_eq!(pr["number"], 7);
    assert_eq!(pr["title"], "Add a lock");
    assert_eq!(pr["author"], "octocat");
    assert_eq!(pr["head_sha"], "a".repeat(40));
    assert_eq!(
        (pr["head_ref"].as_str(), pr["base_ref"].as_str()),
        (Some("feature"), Some("main"))
    );
    assert_eq!(pr["draft"], true);
    assert!(
        pr["html_url"].as_str().unwrap().ends_with("/octo-org/octo-repo/pull/7"),
        "{pr}"
    );
    let comments = p.ok(1).as_array().unwrap();
    let bodies: Vec<&str> = comments.iter().map(|c| c["body"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..150).map(|i| format!("comment {i}")).collect();
    assert_eq!(bodies, expected, "every comment, oldest first, across pages");
    assert!(p.err(2, "not-found").contains("404"));
    // Two pages of 100, the second by the `Link` header.
    let pages: Vec<String> = peer
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().contains("/issues/7/comments"))
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages.iter().all(|p| p.contains("per_page=100")), "{pages:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_are_created_updated_and_deleted() {
    let peer = Peer::start().await;
    peer.seed_pull(3).await;
    let p = probe(
        &peer,
        json!([
            {"call": "create-comment", "issue": 3, "body": "first"},
            {"call": "create-comment", "issue": 3, "body": "second"},
            {"call": "update-comment", "id": "$0.id", "body": "first, edited"},
            {"call": "delete-comment", "id": "$1.id"},
            {"call": "list-comments", "issue": 3},
            {"call": "delete-comment", "id": "$1.id"},
        ]),
    )
    .await;
    let first = p.ok(0);
    assert_eq!(first["body"], "first");
    assert!(
        first["html_url"].as_str().unwrap().contains("#issuecomment-"),
        "{first}"
    );
    assert!(!first["author"].as_str().unwrap().is_empty());
    assert_eq!(p.ok(2)["body"], "first, edited");
    assert_eq!(p.ok(2)["id"], first["id"]);
    p.ok(3);
    let listed = p.ok(4).as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["body"], "first, edited");
    p.err(5, "not-found");
    let stored = peer.comments(3).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].0, first["id"].as_u64().unwrap());
    assert_eq!(unmark(&stored[0].1), "first, edited");
    assert!(
        owner_of(&stored[0].1).is_some_and(|o| o.starts_with("path-")),
        "the host marks what a plugin posts: {:?}",
        stored[0].1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn issues_are_found_created_and_updated() {
    let peer = Peer::start().await;
    // A pull request carrying the label must not be found as an issue.
    peer.control(
        "POST",
        "/_control/pulls",
        json!({"number": 1, "title": "pr", "head_sha": "b".repeat(40), "head_ref": "x", "base_ref": "main",
               "user": "octocat", "labels": ["flaky"]}),
    )
    .await;
    let p = probe(
        &peer,
        json!([
            {"call": "create-issue", "title": "Flaky: test_a", "body": "seen once", "labels": ["flaky", "ci"]},
            {"call": "create-issue", "title": "Other", "body": "", "labels": ["ci"]},
            {"call": "find-issues", "labels": ["flaky", "ci"], "state": "open"},
            {"call": "update-issue", "number": "$0.number", "body": "seen twice", "state": "closed"},
            {"call": "find-issues", "labels": ["flaky"], "state": "open"},
            {"call": "find-issues", "labels": ["flaky"], "state": "closed"},
            {"call": "find-issues", "labels": [], "state": "all"},
            {"call": "update-issue", "number": "$1.number", "title": "Renamed"},
            {"call": "find-issues", "labels": ["ci"], "state": "bogus"},
            {"call": "update-issue", "number": 999, "title": "x"},
        ]),
    )
    .await;
    let created = p.ok(0);
    assert_eq!(created["state"], "open");
    assert_eq!(created["labels"], json!(["flaky", "ci"]));
    let found = p.ok(2).as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["title"], "Flaky: test_a");
    let closed = p.ok(3);
    assert_eq!(
        (closed["state"].as_str(), closed["body"].as_str()),
        (Some("closed"), Some("seen twice"))
    );
    assert_eq!(
        p.ok(4).as_array().unwrap().len(),
        0,
        "the open pull request is not an issue"
    );
    assert_eq!(p.ok(5).as_array().unwrap().len(), 1);
    assert_eq!(p.ok(6).as_array().unwrap().len(), 2);
    let renamed = p.ok(7);
    assert_eq!(
        (renamed["title"].as_str(), renamed["body"].as_str()),
        (Some("Renamed"), Some(""))
    );
    p.err(8, "other");
    p.err(9, "not-found");
}

#[tokio::test(flavor = "multi_thread")]
async fn refs_and_commits_are_compare_and_swap() {
    let peer = Peer::start().await;
    let lock = "refs/tollgate/locks/us-east";
    let p = probe(
        &peer,
        json!([
            {"call": "create-commit", "message": "lease: runner-1", "parents": []},
            {"call": "create-ref", "name": lock, "sha": "$0.sha"},
            {"call": "create-ref", "name": lock, "sha": "$0.sha"},
            {"call": "get-ref", "name": lock},
            {"call": "create-commit", "message": "lease: runner-1, renewed", "parents": ["$0.sha"]},
            {"call": "update-ref", "name": lock, "sha": "$4.sha", "force": false},
            {"call": "create-commit", "message": "lease: runner-2", "parents": ["$0.sha"]},
            {"call": "update-ref", "name": lock, "sha": "$6.sha", "force": false},
            {"call": "get-commit", "sha": "$4.sha"},
            {"call": "update-ref", "name": lock, "sha": "$6.sha", "force": true},
            {"call": "delete-ref", "name": lock},
            {"call": "get-ref", "name": lock},
            {"call": "delete-ref", "name": lock},
            {"call": "get-commit", "sha": "0000000000000000000000000000000000000000"},
            {"call": "create-ref", "name": "refs/../../issues", "sha": "$0.sha"},
            {"call": "create-ref", "name": lock, "sha": "$0.sha"},
        ]),
    )
    .await;
    let root = p.ok(0)["sha"].as_str().unwrap().to_string();
    assert_eq!(root.len(), 40);
    assert_eq!(p.ok(0)["parents"], json!([]));
    assert_eq!(p.ok(1), &json!({"name": lock, "sha": root}));
    assert!(p.err(2, "conflict").contains("Reference already exists"));
    assert_eq!(p.ok(3)["sha"], root.as_str());
    let renewed = p.ok(4)["sha"].as_str().unwrap().to_string();
    assert_eq!(p.ok(5)["sha"], renewed.as_str(), "a fast-forward moves the ref");
    assert!(p.err(7, "conflict").contains("not a fast forward"));
    let got = p.ok(8);
    assert_eq!(got["message"], "lease: runner-1, renewed");
    assert_eq!(got["parents"], json!([root]));
    assert_eq!(p.ok(9)["sha"], p.ok(6)["sha"], "force moves it anyway");
    p.ok(10);
    p.err(11, "not-found");
    p.err(12, "conflict");
    p.err(13, "not-found");
    assert!(p.err(14, "denied").contains("not a ref name"));
    assert_eq!(p.ok(15)["name"], lock, "the plugin sees the name it wrote");
    let refs = peer.repo().await["refs"].clone();
    let kept: Vec<&String> = refs
        .as_object()
        .unwrap()
        .keys()
        .filter(|r| r.contains("locks/us-east"))
        .collect();
    assert_eq!(kept.len(), 1, "{refs}");
    assert!(
        kept[0].starts_with("refs/tollgate/path-") && kept[0].ends_with("/locks/us-east"),
        "kept under the plugin's own namespace: {refs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_need_their_permission_and_denied_ones_reach_nothing() {
    let peer = Peer::start().await;
    peer.seed_pull(1).await;
    let every_call = json!([
        {"call": "get-pull-request", "number": 1},
        {"call": "list-comments", "issue": 1},
        {"call": "create-comment", "issue": 1, "body": "x"},
        {"call": "update-comment", "id": 1, "body": "x"},
        {"call": "delete-comment", "id": 1},
        {"call": "find-issues", "labels": [], "state": "open"},
        {"call": "create-issue", "title": "t", "body": "b", "labels": []},
        {"call": "update-issue", "number": 1, "title": "t"},
        {"call": "create-ref", "name": "refs/x/y", "sha": "a"},
        {"call": "get-ref", "name": "refs/x/y"},
        {"call": "update-ref", "name": "refs/x/y", "sha": "a", "force": false},
        {"call": "delete-ref", "name": "refs/x/y"},
        {"call": "create-commit", "message": "m", "parents": []},
        {"call": "get-commit", "sha": "a"},
    ]);
    let p = probe_with(&peer, every_call, &[], &[], &[]).await;
    assert_eq!(p.answers.len(), 14);
    for i in 0..14 {
        let message = p.err(i, "denied");
        assert!(message.contains("--allow-github"), "{message}");
    }
    assert!(
        p.err(2, "denied")
            .starts_with("create-comment needs the GitHub permission issues:write or pull-requests:write")
    );
    assert!(p.run.stderr.contains("GitHub call denied"), "{}", p.run.stderr);
    assert!(peer.requests().await.is_empty(), "a denied call reached GitHub");

    // Read covers read only; comments accept pull-requests permissions too.
    let p = probe_with(
        &peer,
        json!([
            {"call": "list-comments", "issue": 1},
            {"call": "create-comment", "issue": 1, "body": "x"},
            {"call": "get-pull-request", "number": 1},
            {"call": "find-issues", "labels": [], "state": "open"},
        ]),
        &["--allow-github", "pull-requests:read"],
        &[],
        &[],
    )
    .await;
    p.ok(0);
    assert!(p.err(1, "denied").contains("issues:write or pull-requests:write"));
    p.ok(2);
    assert!(p.err(3, "denied").contains("issues:read"));
    let p = probe_with(
        &peer,
        json!([{"call": "create-comment", "issue": 1, "body": "by pull-requests:write"}]),
        &["--allow-github", "pull-requests:write"],
        &[],
        &[],
    )
    .await;
    p.ok(0);
    assert_eq!(peer.comments(1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_or_repository_calls_are_unavailable() {
    let peer = Peer::start().await;
    let calls = json!([{"call": "get-pull-request", "number": 1}]);
    let p = probe_with(&peer, calls.clone(), ALL, &[], &["GITHUB_TOKEN"]).await;
    let message = p.err(0, "unavailable");
    assert!(
        message.contains("GITHUB_TOKEN") && message.contains("github-token"),
        "{message}"
    );
    let p = probe_with(&peer, calls.clone(), ALL, &[], &["GITHUB_REPOSITORY"]).await;
    assert!(p.err(0, "unavailable").contains("GITHUB_REPOSITORY"));
    let p = probe_with(&peer, calls, ALL, &[("GITHUB_REPOSITORY", "no-slash")], &[]).await;
    assert!(p.err(0, "unavailable").contains("`no-slash` is not `owner/name`"));
    assert!(peer.requests().await.is_empty());
    // A wrong token reaches GitHub, which refuses it.
    let p = probe_with(
        &peer,
        json!([{"call": "get-pull-request", "number": 1}]),
        ALL,
        &[("GITHUB_TOKEN", "wrong")],
        &[],
    )
    .await;
    assert!(p.err(0, "other").contains("401"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_api_url_keeps_its_prefix() {
    let peer = Peer::start().await;
    peer.seed_pull(2).await;
    for i in 0..120 {
        peer.api("POST", "/issues/2/comments", json!({"body": format!("c{i}")}))
            .await;
    }
    let api = peer.url("/api/v3/");
    let p = probe_with(
        &peer,
        json!([{"call": "list-comments", "issue": 2}, {"call": "create-comment", "issue": 2, "body": "via GHES"}]),
        ALL,
        &[("GITHUB_API_URL", api.as_str())],
        &[],
    )
    .await;
    assert_eq!(p.ok(0).as_array().unwrap().len(), 120);
    p.ok(1);
    let log = peer.requests().await;
    let paths: Vec<&str> = log.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let via_prefix = paths.iter().filter(|p| p.starts_with("/api/v3/repos/")).count();
    assert_eq!(via_prefix, 3, "two pages and one create, all under /api/v3: {paths:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_rate_limits_are_retried() {
    let peer = Peer::start().await;
    peer.seed_pull(4).await;
    let get = json!([{"call": "get-pull-request", "number": 4}]);

    peer.faults(json!({"sequence": ["500", "502"]})).await;
    let p = probe(&peer, get.clone()).await;
    p.all_ok();
    assert_eq!(peer.requests().await.len(), 3, "two server errors, then the answer");
    assert!(p.run.stderr.contains("retrying"), "{}", p.run.stderr);

    peer.control("POST", "/_control/reset", json!({})).await;
    peer.seed_pull(4).await;
    peer.faults(json!({"sequence": ["secondary-rate-limit"], "retry_after_seconds": 1}))
        .await;
    let p = probe(&peer, get.clone()).await;
    p.all_ok();
    assert!(p.elapsed >= Duration::from_secs(1), "waited for retry-after");

    peer.control("POST", "/_control/reset", json!({})).await;
    peer.seed_pull(4).await;
    peer.faults(json!({"sequence": ["primary-rate-limit"], "rate_limit_reset_seconds": 1}))
        .await;
    let p = probe(&peer, get.clone()).await;
    p.all_ok();
    let log = peer.requests().await;
    assert_eq!(log.len(), 2, "one wait until the reset, not a retry storm: {log:?}");

    // A wait longer than the retry budget ends the call as rate-limited.
    peer.control("POST", "/_control/reset", json!({})).await;
    peer.seed_pull(4).await;
    peer.faults(json!({"sequence": ["secondary-rate-limit"], "retry_after_seconds": 30}))
        .await;
    let p = probe_with(&peer, get.clone(), ALL, &[("TOLLGATE_GITHUB_RETRY_BUDGET", "2s")], &[]).await;
    let message = p.err(0, "rate-limited");
    assert!(message.contains("retry budget"), "{message}");
    assert!(p.elapsed < Duration::from_secs(20));

    // A primary limit resetting in an hour, within a 2h retry budget: with `--timeout 20s`
    // the call ends now and says why, instead of the step being killed mid-wait.
    peer.control("POST", "/_control/reset", json!({})).await;
    peer.seed_pull(4).await;
    peer.faults(json!({"sequence": ["primary-rate-limit"], "rate_limit_reset_seconds": 3600}))
        .await;
    let flags = [ALL, &["--timeout", "20s"]].concat();
    let p = probe_with(&peer, get, &flags, &[("TOLLGATE_GITHUB_RETRY_BUDGET", "2h")], &[]).await;
    let message = p.err(0, "rate-limited");
    assert!(message.contains("outlast the step's timeout"), "{message}");
    assert!(p.elapsed < Duration::from_secs(15), "ended at once: {:?}", p.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_never_makes_a_duplicate() {
    let peer = Peer::start().await;
    peer.seed_pull(5).await;
    peer.faults(json!({"sequence": ["lost-response"], "methods": ["POST"], "paths": ["/comments"]}))
        .await;
    let p = probe(
        &peer,
        json!([{"call": "create-comment", "issue": 5, "body": "posted once"}]),
    )
    .await;
    let comment = p.ok(0);
    let comments: Vec<(u64, String)> = peer
        .comments(5)
        .await
        .into_iter()
        .map(|(id, b)| (id, unmark(&b).to_string()))
        .collect();
    assert_eq!(
        comments,
        vec![(comment["id"].as_u64().unwrap(), "posted once".to_string())]
    );
    let log = peer.requests().await;
    assert!(log.iter().any(|r| r["applied"] == true), "the fault fired: {log:?}");

    peer.faults(json!({"sequence": ["lost-response"], "methods": ["POST"], "paths": ["/issues"]}))
        .await;
    let p = probe(
        &peer,
        json!([{"call": "create-issue", "title": "Flaky", "body": "once", "labels": ["flaky"]}]),
    )
    .await;
    let issue = p.ok(0);
    let repo = peer.repo().await;
    let flaky: Vec<&Value> = repo["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"] == "Flaky")
        .collect();
    assert_eq!(flaky.len(), 1, "{flaky:?}");
    assert_eq!(flaky[0]["number"], issue["number"]);

    // An identical comment posted before the first attempt is not adopted: it is not this
    // call's. (Timestamps are whole seconds: wait past the margin.)
    peer.api("POST", "/issues/5/comments", json!({"body": "same words"}))
        .await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    peer.faults(json!({"sequence": ["lost-response"], "methods": ["POST"], "paths": ["/comments"]}))
        .await;
    let p = probe(
        &peer,
        json!([{"call": "create-comment", "issue": 5, "body": "same words"}]),
    )
    .await;
    let new = p.ok(0)["id"].as_u64().unwrap();
    let same: Vec<u64> = peer
        .comments(5)
        .await
        .into_iter()
        .filter(|(_, b)| unmark(b) == "same words")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(same.len(), 2, "the old one and exactly one new one: {same:?}");
    assert_eq!(same[1], new);
}

#[tokio::test(flavor = "multi_thread")]
async fn random_faults_end_with_exactly_the_expected_state() {
    let peer = Peer::start().await;
    peer.seed_pull(1).await;
    peer.faults(json!({
        "rate": 0.2,
        // Answers lost after GitHub applied the request weigh double: they are what dedupes.
        "kinds": ["500", "502", "reset", "lost-response", "lost-response", "secondary-rate-limit"],
        "seed": 20,
        "retry_after_seconds": 1,
    }))
    .await;
    let rounds = 15;
    let p = probe(
        &peer,
        json!([{"call": "repeat", "times": rounds, "calls": [
            {"call": "create-comment", "issue": 1, "body": "note $i"},
            {"call": "update-comment", "id": "$-1.id", "body": "note $i, v2"},
            {"call": "create-issue", "title": "flake $i", "body": "seen", "labels": ["flaky"]},
            {"call": "update-issue", "number": "$-1.number", "body": "seen $i"},
        ]}]),
    )
    .await;
    p.all_ok();
    let state = peer.state().await;
    let stats = &state["faults"]["stats"];
    assert!(stats["injected"].as_u64().unwrap() >= 5, "faults fired: {stats}");
    let lost_creates = state["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["applied"] == true)
        .count();
    assert!(lost_creates >= 1, "a create's answer was lost at least once: {stats}");
    let mut bodies: Vec<String> = peer
        .comments(1)
        .await
        .into_iter()
        .map(|(_, b)| unmark(&b).to_string())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..rounds).map(|i| format!("note {i}, v2")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "no duplicate, no lost update (faults: {stats})");
    let repo = &state["repos"][REPOSITORY];
    let mut issues: Vec<(String, String)> = repo["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["pull"].is_null())
        .map(|i| {
            (
                i["title"].as_str().unwrap().into(),
                unmark(i["body"].as_str().unwrap_or("")).into(),
            )
        })
        .collect();
    issues.sort();
    let mut expected: Vec<(String, String)> = (0..rounds)
        .map(|i| (format!("flake {i}"), format!("seen {i}")))
        .collect();
    expected.sort();
    assert_eq!(issues, expected, "faults: {stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pipeline_steps_call_github_with_their_own_grants() {
    let peer = Peer::start().await;
    peer.seed_pull(9).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.yml");
    let probe = guest("github-probe");
    std::fs::write(
        &file,
        format!(
            r#"
steps:
  - id: comment
    uses: {probe}
    with: {{ calls: '[{{"call": "create-comment", "issue": 9, "body": "from a pipeline"}}]' }}
    allow: {{ github: [pull-requests:write] }}
  - id: ungranted
    uses: {probe}
    with: {{ calls: '[{{"call": "create-issue", "title": "t", "body": "b", "labels": []}}]' }}
outputs:
  comment: ${{{{ steps.comment.outputs.result }}}}
  ungranted: ${{{{ steps.ungranted.outputs.result }}}}
"#
        ),
    )
    .unwrap();
    let mut cmd = tollgate();
    cmd.current_dir(dir.path())
        .args(["pipeline", "run", "--json"])
        .arg(&file)
        .env("GITHUB_API_URL", peer.url(""))
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPOSITORY);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let output = |name: &str| -> Value { serde_json::from_str(run.json()["outputs"][name].as_str().unwrap()).unwrap() };
    assert_eq!(output("comment")[0]["ok"]["body"], "from a pipeline", "{run:#?}");
    assert_eq!(output("ungranted")[0]["err"]["kind"], "denied");
    let comments = peer.comments(9).await;
    assert_eq!(comments.len(), 1);
    let posts = peer.requests().await.iter().filter(|r| r["method"] == "POST").count();
    assert_eq!(posts, 1, "the ungranted step reached nothing");
}

/// The attacks of a plugin holding `contents:write` (as `state-lock` must): each reaches for a
/// ref outside its own `refs/tollgate/…`, in every spelling, and each is refused before GitHub
/// sees it, naming the grant that would allow it.
#[tokio::test(flavor = "multi_thread")]
async fn contents_write_reaches_only_the_plugins_own_refs() {
    let peer = Peer::start().await;
    let main = "a".repeat(40);
    peer.control("POST", "/_control/refs", json!({"ref": "refs/heads/main", "sha": main}))
        .await;
    let before = peer.repo().await["refs"].clone();
    let mut calls = vec![json!({"call": "create-commit", "message": "wipe", "parents": []})];
    let outside = [
        "refs/heads/main",
        "heads/main",
        "refs//heads/main",
        "refs/tollgate/../heads/main",
        "refs/tollgate/%2e%2e/heads/main",
        "refs%2Fheads%2Fmain",
        "refs/Heads/main",
        "REFS/heads/main",
        "refs/heads/main/",
        "refs/heads/./main",
        "refs/tags/v9.9.9",
    ];
    for name in outside {
        calls.push(json!({"call": "update-ref", "name": name, "sha": "$0.sha", "force": true}));
        calls.push(json!({"call": "delete-ref", "name": name}));
        calls.push(json!({"call": "create-ref", "name": name, "sha": "$0.sha"}));
    }
    let p = probe(&peer, Value::Array(calls)).await;
    p.ok(0);
    for i in 1..p.answers.len() {
        let message = p.err(i, "denied");
        assert!(message.contains("refused"), "call {i}: {message}");
    }
    let refused = p.err(1, "denied");
    assert!(refused.contains("allow: {refs: [refs/heads/main]}"), "{refused}");
    assert!(refused.contains("--allow-ref refs/heads/main"), "{refused}");
    assert_eq!(peer.repo().await["refs"], before, "no ref moved, appeared or vanished");
    let writes: Vec<Value> = peer
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("/git/refs")))
        .collect();
    assert!(writes.is_empty(), "a refused ref call reached GitHub: {writes:?}");

    // A grant names what it reaches, and no further.
    let granted = [ALL, &["--allow-ref", "refs/heads/release-*"][..]].concat();
    let p = probe_with(
        &peer,
        json!([
            {"call": "create-commit", "message": "release", "parents": []},
            {"call": "create-ref", "name": "refs/heads/release-1.2", "sha": "$0.sha"},
            {"call": "update-ref", "name": "refs/heads/main", "sha": "$0.sha", "force": true},
        ]),
        &granted,
        &[],
        &[],
    )
    .await;
    assert_eq!(p.ok(1)["name"], "refs/heads/release-1.2");
    p.err(2, "denied");
    assert_eq!(peer.repo().await["refs"]["refs/heads/main"], before["refs/heads/main"]);
}

/// The github-probe component copied to another path (another source, so another owner) runs
/// `calls` with every permission: its answers.
async fn as_another_plugin(peer: &Peer, calls: Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-probe.wasm");
    std::fs::copy(guest("github-probe"), &other).unwrap();
    let mut cmd = tollgate();
    cmd.args([
        "run",
        other.to_str().unwrap(),
        "--json",
        "--with",
        &format!("calls={calls}"),
    ])
    .args(ALL)
    .env("GITHUB_API_URL", peer.url(""))
    .env("GITHUB_TOKEN", TOKEN)
    .env("GITHUB_REPOSITORY", REPOSITORY);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 0, "{run:#?}");
    serde_json::from_str(&run.output("result")).unwrap()
}

/// `--allow-owner OWNER` lets a step change what that owner wrote, and nothing else;
/// `--allow-owner '*'` also what people wrote. The changed body carries the changer's marker.
#[tokio::test(flavor = "multi_thread")]
async fn an_owner_grant_reaches_that_owners_comments_and_no_others() {
    let peer = Peer::start().await;
    peer.seed_pull(5).await;
    let person = peer.api("POST", "/issues/5/comments", json!({"body": "LGTM"})).await;
    let person = person["id"].as_u64().unwrap();
    let calls = json!([{"call": "create-comment", "issue": 5, "body": "## Plan: 1 to add"}]);
    let theirs = as_another_plugin(&peer, calls).await;
    let comment = theirs[0]["ok"]["id"].as_u64().unwrap();

    // Refused without a grant; the refusal names the owner and the grant that would allow it.
    let edit = |id: u64| json!({"call": "update-comment", "id": id, "body": "edited"});
    let p = probe(&peer, json!([edit(comment)])).await;
    let refused = p.err(0, "denied");
    let owner = refused
        .split("belongs to `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap();
    assert!(owner.starts_with("path-"), "{refused}");
    assert!(refused.contains(&format!("--allow-owner '{owner}'")), "{refused}");

    let flags: Vec<&str> = ALL.iter().copied().chain(["--allow-owner", owner]).collect();
    let p = probe_with(&peer, json!([edit(comment), edit(person)]), &flags, &[], &[]).await;
    assert_eq!(p.ok(0)["body"], "edited");
    assert!(
        p.err(1, "denied").contains("--allow-owner '*'"),
        "a person's comment needs `*`"
    );
    let bodies = peer.comments(5).await;
    let changed = &bodies.iter().find(|(id, _)| *id == comment).unwrap().1;
    assert!(
        changed.contains("tollgate:owner=") && !changed.contains(owner),
        "the changer's marker replaces the writer's: {changed}"
    );
    assert_eq!(bodies.iter().find(|(id, _)| *id == person).unwrap().1, "LGTM");

    let flags: Vec<&str> = ALL.iter().copied().chain(["--allow-owner", "*"]).collect();
    let p = probe_with(&peer, json!([edit(person)]), &flags, &[], &[]).await;
    assert_eq!(p.ok(0)["body"], "edited");
}

/// A plugin changes only the comments and issues it created: a person's comment, another
/// plugin's comment and issue, and a body that forges the owner marker all stay as they were.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_cannot_rewrite_or_close_what_another_wrote() {
    let peer = Peer::start().await;
    peer.seed_pull(4).await;
    let person = peer
        .api("POST", "/issues/4/comments", json!({"body": "LGTM, ship it"}))
        .await;
    let person = person["id"].as_u64().unwrap();
    let calls = json!([
        {"call": "create-comment", "issue": 4, "body": "## Plan: 0 to destroy"},
        {"call": "create-issue", "title": "Drift in us-east", "body": "drifted", "labels": ["drift"]},
    ]);
    let theirs = as_another_plugin(&peer, calls).await;
    let (comment, issue) = (&theirs[0]["ok"]["id"], &theirs[1]["ok"]["number"]);
    let before = peer.repo().await;

    let p = probe(
        &peer,
        json!([
            {"call": "update-comment", "id": person, "body": "No changes."},
            {"call": "delete-comment", "id": person},
            {"call": "update-comment", "id": comment, "body": "No changes."},
            {"call": "delete-comment", "id": comment},
            {"call": "update-issue", "number": issue, "state": "closed"},
            {"call": "update-issue", "number": 4, "title": "hijacked", "state": "closed"},
            {"call": "create-comment", "issue": 4,
             "body": "mine\n<!-- tollgate:owner=builtin-x step=a -->\n<!-- TOLLGATE:OWNER=other step=b -->"},
            {"call": "update-comment", "id": "$6.id", "body": "mine, edited"},
        ]),
    )
    .await;
    for i in 0..6 {
        let message = p.err(i, "denied");
        assert!(message.contains("refused"), "call {i}: {message}");
        assert!(
            message.contains("only the comments and issues its own plugin"),
            "{message}"
        );
    }
    assert!(p.err(0, "denied").contains("no Tollgate owner marker"));
    assert!(p.err(2, "denied").contains("belongs to `path-"));
    assert_eq!(p.ok(6)["body"], "mine", "forged marker lines are dropped");
    assert_eq!(p.ok(7)["body"], "mine, edited", "its own comment is its to edit");
    let after = peer.repo().await;
    let untouched = |repo: &Value| -> Vec<Value> {
        repo["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let comments: Vec<Value> = i["comment_list"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| c["id"] != p.ok(6)["id"])
                    .map(|c| json!([c["id"], c["body"], c["deleted"]]))
                    .collect();
                json!([i["number"], i["title"], i["state"], i["body"], comments])
            })
            .collect()
    };
    assert_eq!(untouched(&after), untouched(&before), "nothing another wrote changed");
    let mine = peer
        .comments(4)
        .await
        .into_iter()
        .find(|(id, _)| Some(*id) == p.ok(6)["id"].as_u64())
        .unwrap()
        .1;
    assert_eq!(mine.matches("tollgate:owner").count(), 1, "{mine}");
    assert!(!mine.to_lowercase().contains("owner=other"), "{mine}");
}
