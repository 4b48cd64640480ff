//! `plan-comment` and `drift-check` end to end: the builtins run by the real binary on real
//! terraform plans (the plugins' committed fixtures), with the pull request taken from the
//! runner's event file, against the stateful GitHub peer — alone, under injected faults, and
//! in a pipeline.

use crate::github_peer::{Peer, REPOSITORY, TOKEN};
use crate::support::{Run, run_cmd, tollgate};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Distinctive strings the fixtures keep in sensitive variables and values (plan JSON holds
/// them in plain text): none may reach a comment, an issue, a log or a summary.
const SECRETS: &[&str] = &[
    "TOLLGATE-SECRET",
    "hunter2",
    "correct-horse",
    "drift-before",
    "drift-after",
];

fn plan_fixture(name: &str) -> PathBuf {
    crate::guests::workspace_root()
        .join("plugins/plan-comment/fixtures")
        .join(format!("{name}.json"))
}

fn drift_fixture(name: &str) -> PathBuf {
    crate::guests::workspace_root()
        .join("plugins/drift-check/fixtures")
        .join(format!("{name}.json"))
}

/// What a runner hands a step: the event (with the pull request, if any), the API, the token
/// and the repository, and the files a step writes its outputs and summary to.
struct Runner {
    dir: tempfile::TempDir,
    api: String,
    pull_request: Option<u64>,
}

impl Runner {
    fn new(peer: &Peer, pull_request: Option<u64>) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let event = match pull_request {
            Some(n) => json!({"action": "synchronize", "number": n, "pull_request": {"number": n}}),
            None => json!({"schedule": "0 6 * * *"}),
        };
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        Runner {
            dir,
            api: peer.url(""),
            pull_request,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tollgate` in this run's environment.
    fn tollgate(&self) -> tokio::process::Command {
        let mut cmd = tollgate();
        cmd.current_dir(self.dir.path())
            .env("GITHUB_API_URL", &self.api)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_REPOSITORY", REPOSITORY)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_EVENT_PATH", self.file("event.json"))
            .env(
                "GITHUB_EVENT_NAME",
                if self.pull_request.is_some() {
                    "pull_request"
                } else {
                    "schedule"
                },
            );
        cmd
    }

    /// `tollgate run PLUGIN` as a step of this run, with the `--json` report.
    fn command(&self, plugin: &str, with: &[(&str, &str)], flags: &[&str]) -> tokio::process::Command {
        let mut cmd = self.tollgate();
        cmd.args(["run", plugin, "--json"]);
        for (k, v) in with {
            cmd.arg("--with").arg(format!("{k}={v}"));
        }
        cmd.args(flags);
        cmd
    }

    async fn run(&self, plugin: &str, with: &[(&str, &str)], flags: &[&str]) -> Run {
        run_cmd(&mut self.command(plugin, with, flags)).await
    }

    async fn plan_comment(&self, plan: &Path, workspace: &str) -> Run {
        let plan = plan.display().to_string();
        let read = plan_fixture("noop").parent().unwrap().display().to_string();
        self.run(
            "plan-comment",
            &[("plan", &plan), ("workspace", workspace)],
            &["--allow-read", &read, "--allow-github", "pull-requests:write"],
        )
        .await
    }

    async fn drift_check(&self, plan: &Path, workspace: &str) -> Run {
        let read = plan.parent().unwrap().display().to_string();
        let plan = plan.display().to_string();
        self.run(
            "drift-check",
            &[("plan", &plan), ("workspace", workspace)],
            &["--allow-read", &read, "--allow-github", "issues:write"],
        )
        .await
    }
}

fn passed(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["status"], "passed", "{run:#?}");
    report
}

fn output(report: &Value, name: &str) -> String {
    match &report["outputs"][name] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The live comments on `issue` that carry `workspace`'s sticky marker.
async fn sticky(peer: &Peer, issue: u64, workspace: &str) -> Vec<(u64, String)> {
    let marker = format!("<!-- tollgate:plan-comment workspace={workspace} -->");
    peer.comments(issue)
        .await
        .into_iter()
        .filter(|(_, body)| body.starts_with(&marker))
        .collect()
}

/// The repository's issues (not pull requests) labelled `drift`.
async fn drift_issues(peer: &Peer) -> Vec<Value> {
    let repo = peer.repo().await;
    repo["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["pull"].is_null() && i["label_names"].as_array().is_some_and(|l| l.contains(&json!("drift"))))
        .cloned()
        .collect()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what}: `{secret}` leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_comment_keeps_one_sticky_comment_per_workspace_on_the_pull_request() {
    let peer = Peer::start().await;
    peer.seed_pull(7).await;
    peer.api(
        "POST",
        "/issues/7/comments",
        json!({"body": "LGTM once the plan is clean"}),
    )
    .await;
    let runner = Runner::new(&peer, Some(7));

    let first = passed(&runner.plan_comment(&plan_fixture("changes"), "us-east").await);
    assert_eq!(output(&first, "has-changes"), "true");
    let posted = sticky(&peer, 7, "us-east").await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    let (id, body) = &posted[0];
    assert!(
        output(&first, "comment-url").ends_with(&format!("#issuecomment-{id}")),
        "{first}"
    );
    assert!(body.contains("us-east"), "{body}");
    let changed: usize = ["create", "update", "replace", "delete"]
        .iter()
        .map(|count| output(&first, count).parse::<usize>().unwrap())
        .sum();
    assert!(changed > 0, "the counts add up to the plan's changes: {first}");

    // The next push: the same comment, edited in place, now about the destroy.
    let second = passed(&runner.plan_comment(&plan_fixture("destroy"), "us-east").await);
    assert_eq!(output(&second, "has-destroy"), "true");
    let posted = sticky(&peer, 7, "us-east").await;
    assert_eq!(posted.len(), 1, "still one comment for us-east: {posted:?}");
    assert_eq!(&posted[0].0, id, "edited in place");
    assert_ne!(&posted[0].1, body, "the body follows the new plan");
    assert!(
        posted[0].1.contains("destroy"),
        "the destroy is in the comment: {}",
        posted[0].1
    );

    // Another workspace gets its own comment; the human's comment is untouched.
    passed(&runner.plan_comment(&plan_fixture("create"), "eu-west").await);
    assert_eq!(sticky(&peer, 7, "eu-west").await.len(), 1);
    assert_eq!(sticky(&peer, 7, "us-east").await.len(), 1);
    let all = peer.comments(7).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().any(|(_, b)| b == "LGTM once the plan is clean"));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_comment_leaks_no_sensitive_value_to_any_channel() {
    let peer = Peer::start().await;
    peer.seed_pull(3).await;
    let runner = Runner::new(&peer, Some(3));
    for (fixture, workspace) in [("changes", "a"), ("hostile", "b"), ("drift", "c")] {
        // As on a runner: workflow commands on stdout, outputs and summary in files.
        let summary = runner.file(&format!("summary-{workspace}.md"));
        let outputs = runner.file(&format!("output-{workspace}"));
        // The runner creates both files before the step starts.
        std::fs::write(&summary, "").unwrap();
        std::fs::write(&outputs, "").unwrap();
        let plan = plan_fixture(fixture).display().to_string();
        let read = plan_fixture(fixture).parent().unwrap().display().to_string();
        let mut cmd = runner.tollgate();
        cmd.args(["run", "plan-comment", "--with", &format!("plan={plan}")])
            .args(["--with", &format!("workspace={workspace}"), "--allow-read", &read])
            .args(["--allow-github", "pull-requests:write"])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs);
        let run = run_cmd(&mut cmd).await;
        assert_eq!(run.code, 0, "{fixture}: {run:#?}");
        let summary = std::fs::read_to_string(&summary).unwrap();
        assert!(
            summary.contains(workspace),
            "{fixture}: the summary has the plan: {summary}"
        );
        assert_no_secret(&format!("{fixture} stdout"), &run.stdout);
        assert_no_secret(&format!("{fixture} stderr"), &run.stderr);
        assert_no_secret(&format!("{fixture} summary"), &summary);
        assert_no_secret(
            &format!("{fixture} outputs"),
            &std::fs::read_to_string(&outputs).unwrap(),
        );
    }
    let comments = peer.comments(3).await;
    assert_eq!(comments.len(), 3, "{comments:?}");
    for (_, body) in comments {
        assert_no_secret("comment", &body);
    }
    assert_no_secret("the peer's whole state", &peer.state().await.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_comment_without_a_pull_request_prints_the_comment_and_says_why() {
    let peer = Peer::start().await;
    let runner = Runner::new(&peer, None);
    let run = runner.plan_comment(&plan_fixture("changes"), "us-east").await;
    let report = passed(&run);
    let message = report["message"].as_str().unwrap();
    assert!(
        message.contains("not posted") && message.contains("no pull request"),
        "{message}"
    );
    assert!(message.contains("`schedule`"), "names the event: {message}");
    // The Markdown a pull request would have got is in the log.
    assert!(
        run.stderr.contains("### Terraform plan: <code>us-east</code>"),
        "{}",
        run.stderr
    );
    assert!(peer.requests().await.is_empty(), "nothing reached GitHub");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_comment_without_the_grant_reaches_nothing_and_names_the_grant() {
    let peer = Peer::start().await;
    peer.seed_pull(5).await;
    let runner = Runner::new(&peer, Some(5));
    let plan = plan_fixture("changes").display().to_string();
    let read = plan_fixture("changes").parent().unwrap().display().to_string();
    let run = runner
        .run("plan-comment", &[("plan", &plan)], &["--allow-read", &read])
        .await;
    let report = passed(&run);
    assert!(
        run.stderr.contains("Grant `github: [pull-requests:write]`"),
        "says which grant posts it: {}",
        run.stderr
    );
    assert!(report["message"].as_str().unwrap().contains("not posted"));
    assert!(peer.requests().await.is_empty(), "nothing reached GitHub");
    assert!(peer.comments(5).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_plan_is_refused_with_its_input_named_and_nothing_posted() {
    let peer = Peer::start().await;
    peer.seed_pull(2).await;
    let runner = Runner::new(&peer, Some(2));
    let broken = runner.file("broken.json");
    std::fs::write(
        &broken,
        br#"{"format_version": "1.2", "resource_changes": [{"address": 12"#,
    )
    .unwrap();
    let run = runner.plan_comment(&broken, "us-east").await;
    assert_eq!(run.code, 2, "invalid input exits 2: {run:#?}");
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("plan"), "names the input: {text}");
    let outside = plan_fixture("changes").display().to_string();
    let run = runner
        .run(
            "plan-comment",
            &[("plan", &outside)],
            &["--allow-github", "pull-requests:write"],
        )
        .await;
    assert_ne!(
        run.code, 0,
        "a plan outside the granted directories is not read: {run:#?}"
    );
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("allow-read"),
        "says which grant reads it: {run:#?}"
    );
    assert!(peer.comments(2).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_check_opens_updates_closes_and_reopens_one_issue_per_workspace() {
    let peer = Peer::start().await;
    let runner = Runner::new(&peer, None);

    let opened = passed(&runner.drift_check(&drift_fixture("plan"), "us-east").await);
    assert_eq!(output(&opened, "drifted"), "true");
    assert_eq!(output(&opened, "exit-code"), "2");
    assert_eq!(output(&opened, "issue-action"), "opened");
    let number: u64 = output(&opened, "issue-number").parse().unwrap();
    let issues = drift_issues(&peer).await;
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["number"], number);
    assert_eq!(issues[0]["state"], "open");
    assert!(
        issues[0]["title"].as_str().unwrap().contains("us-east"),
        "{}",
        issues[0]
    );
    assert_no_secret("issue", &issues[0]["body"].to_string());

    // The same drift the next night: nothing new on GitHub.
    let again = passed(&runner.drift_check(&drift_fixture("plan"), "us-east").await);
    assert_eq!(output(&again, "issue-action"), "unchanged");
    assert_eq!(output(&again, "issue-number"), number.to_string());

    // The same drift seen by a refresh-only plan: still the same drift.
    let refresh = passed(&runner.drift_check(&drift_fixture("refresh-only"), "us-east").await);
    assert_eq!(output(&refresh, "plan-mode"), "refresh-only");
    assert_eq!(output(&refresh, "issue-action"), "unchanged", "{refresh}");

    // Different drift: the same issue, updated.
    let changed = passed(&runner.drift_check(&plan_fixture("drift"), "us-east").await);
    assert_eq!(output(&changed, "issue-action"), "updated", "{changed}");
    assert_eq!(drift_issues(&peer).await.len(), 1);

    // Another workspace drifts: its own issue.
    let eu = passed(&runner.drift_check(&drift_fixture("plan"), "eu-west").await);
    assert_ne!(output(&eu, "issue-number"), number.to_string());
    assert_eq!(drift_issues(&peer).await.len(), 2);

    // Drift gone: closed with a comment saying so.
    let clean = passed(&runner.drift_check(&drift_fixture("clean"), "us-east").await);
    assert_eq!(output(&clean, "drifted"), "false");
    assert_eq!(output(&clean, "exit-code"), "0");
    assert_eq!(output(&clean, "issue-action"), "closed");
    let issue = drift_issues(&peer)
        .await
        .into_iter()
        .find(|i| i["number"] == number)
        .unwrap();
    assert_eq!(issue["state"], "closed");
    let notes = peer.comments(number).await;
    assert_eq!(notes.len(), 2, "a note for the change, one for the close: {notes:?}");
    assert!(notes[1].1.contains("us-east"), "{notes:?}");

    // Drift comes back: the same issue, reopened.
    let back = passed(&runner.drift_check(&drift_fixture("plan"), "us-east").await);
    assert_eq!(output(&back, "issue-action"), "reopened");
    assert_eq!(output(&back, "issue-number"), number.to_string());
    assert_eq!(drift_issues(&peer).await.len(), 2);
}

/// Faults on one in five API calls (server errors, resets, rate limits, and answers lost
/// after GitHub applied the request): every run still ends with exactly one comment per
/// pull request and workspace and one issue per drifted workspace, each showing the latest plan.
#[tokio::test(flavor = "multi_thread")]
async fn at_a_20_percent_fault_rate_there_is_exactly_one_comment_and_one_issue_per_workspace() {
    let peer = Peer::start().await;
    peer.seed_pull(11).await;
    peer.faults(json!({
        "rate": 0.2,
        "kinds": ["500", "502", "reset", "lost-response", "lost-response", "secondary-rate-limit", "primary-rate-limit"],
        "seed": 9,
        "retry_after_seconds": 1,
        "rate_limit_reset_seconds": 1,
    }))
    .await;
    let pr = Runner::new(&peer, Some(11));
    let nightly = Runner::new(&peer, None);
    let workspaces = ["us-east", "eu-west", "ap-south"];
    let pushes = ["create", "changes", "destroy"];
    let nights = ["plan", "refresh-only"];
    for ws in workspaces {
        for plan in pushes {
            passed(&pr.plan_comment(&plan_fixture(plan), ws).await);
        }
        for plan in nights {
            passed(&nightly.drift_check(&drift_fixture(plan), ws).await);
        }
    }
    let state = peer.state().await;
    let stats = &state["faults"]["stats"];
    assert!(stats["injected"].as_u64().unwrap() >= 5, "faults fired: {stats}");

    // The last push's plan (a destroy) is what each workspace's one comment shows.
    let fresh = Runner::new(&peer, Some(11));
    peer.control("DELETE", "/_control/faults", json!({})).await;
    for ws in workspaces {
        let posted = sticky(&peer, 11, ws).await;
        assert_eq!(posted.len(), 1, "{ws}: one comment (faults: {stats}): {posted:?}");
        // Re-rendering the last plan changes nothing: the comment was not a lost update.
        let check = passed(&fresh.plan_comment(&plan_fixture("destroy"), ws).await);
        assert!(check["message"].as_str().unwrap().contains("comment "), "{check}");
        let after = sticky(&peer, 11, ws).await;
        assert_eq!(after, posted, "{ws}: the comment already showed the last plan");
    }
    let issues = drift_issues(&peer).await;
    assert_eq!(issues.len(), workspaces.len(), "one issue per workspace: {issues:#?}");
    for ws in workspaces {
        let check = passed(&nightly.drift_check(&drift_fixture("refresh-only"), ws).await);
        assert_eq!(
            output(&check, "issue-action"),
            "unchanged",
            "{ws}: the issue already showed the last drift: {check}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_comments_and_tracks_drift_for_every_region_of_a_matrix() {
    let peer = Peer::start().await;
    peer.seed_pull(21).await;
    let runner = Runner::new(&peer, Some(21));
    let plans = plan_fixture("changes").parent().unwrap().display().to_string();
    let drift = drift_fixture("plan").parent().unwrap().display().to_string();
    let file = runner.file("pipeline.yml");
    std::fs::write(
        &file,
        format!(
            r#"
name: plan-review
steps:
  - id: comment
    matrix: {{ region: [us-east, eu-west] }}
    uses: plan-comment
    with: {{ plan: "{plans}/changes.json", workspace: "${{{{ matrix.region }}}}" }}
    allow: {{ read: ["{plans}"], github: [pull-requests:write] }}
  - id: drift
    uses: drift-check
    with: {{ plan: "{drift}/plan.json", workspace: us-east }}
    allow: {{ read: ["{drift}"], github: [issues:write] }}
outputs:
  drifted: ${{{{ steps.drift.outputs.drifted }}}}
  issue: ${{{{ steps.drift.outputs.issue-number }}}}
"#
        ),
    )
    .unwrap();
    let mut cmd = runner.tollgate();
    cmd.args(["pipeline", "run", "--json"]).arg(&file);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["outputs"]["drifted"], "true", "{report}");
    assert_eq!(sticky(&peer, 21, "us-east").await.len(), 1);
    assert_eq!(sticky(&peer, 21, "eu-west").await.len(), 1);
    let issues = drift_issues(&peer).await;
    assert_eq!(issues.len(), 1);
    assert_eq!(report["outputs"]["issue"], issues[0]["number"].to_string(), "{report}");
}
