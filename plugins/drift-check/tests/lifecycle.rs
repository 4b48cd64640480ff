//! The workspace's issue under `MockHost`: opened on drift, left alone while the drift is the
//! same, updated when it changes, closed with a comment when it is gone, reopened when it comes
//! back; duplicates collapsed; report only without the grant; hostile workspace names; outputs
//! following `-detailed-exitcode`; no sensitive value anywhere.

mod common;

use common::{Github, SECRETS, env_tag_drift, fixture_path, host, host_at, variant};
use drift_check::DriftCheck;
use drift_check::issue::{marker, owned_digest};
use serde_json::json;
use tollgate_sdk::testing::{GithubCall, MockHost, Outcome};
use tollgate_sdk::{GithubPermission, PluginError, Status};

fn granted(gh: &Github, host: MockHost) -> Outcome {
    let o = gh
        .attach(host)
        .grant_github(GithubPermission::IssuesWrite)
        .run::<DriftCheck>();
    no_secrets(&o);
    o
}

fn no_secrets(o: &Outcome) {
    let all = o.every_channel();
    for s in SECRETS {
        assert!(!all.contains(s), "{s} leaked:\n{all}");
    }
}

fn passed(o: &Outcome) -> &str {
    assert_eq!(o.status(), Some(Status::Passed), "{:?}\n{:?}", o.result, o.logs);
    &o.result.as_ref().unwrap().message
}

fn calls(o: &Outcome) -> Vec<String> {
    o.github_calls
        .iter()
        .map(|c| match c {
            GithubCall::FindIssues { state, .. } => format!("find:{state}"),
            GithubCall::CreateIssue { .. } => "create".into(),
            GithubCall::UpdateIssue {
                number, state, body, ..
            } => format!(
                "update:{number}{}{}",
                if body.is_some() { ":body" } else { "" },
                state.as_deref().map(|s| format!(":{s}")).unwrap_or_default()
            ),
            GithubCall::CreateComment { issue, .. } => format!("comment:{issue}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_whole_lifecycle_keeps_one_issue() {
    let gh = Github::default();

    // New drift: an issue is opened.
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert!(passed(&o).contains("issue #1 opened"), "{:?}", o.result);
    assert_eq!(calls(&o), ["find:all", "create"]);
    assert_eq!(o.output("drifted"), Some("true"));
    assert_eq!(o.output("drifted-resources"), Some("2"));
    assert_eq!(o.output("exit-code"), Some("2"));
    assert_eq!(o.output("issue-action"), Some("opened"));
    assert_eq!(o.output("issue-number"), Some("1"));
    assert_eq!(o.output("issue-url"), Some("https://github.com/acme/infra/issues/1"));
    let issue = gh.issue(1);
    assert_eq!(issue.labels, ["drift"]);
    assert_eq!(issue.title, "Drift detected in workspace us-east");
    let digest = o.output("digest").unwrap().to_string();
    assert_eq!(digest.len(), 32);
    assert!(
        issue
            .body
            .starts_with(&format!("{}\n### Drift in workspace", marker("us-east", &digest)))
    );
    assert!(issue.body.contains("aws&#95;s3&#95;bucket.logs") && issue.body.contains("(sensitive) (changed)"));

    // The same drift again, and the same drift seen through a normal plan: nothing is written.
    for fixture in ["refresh-only", "plan"] {
        let o = granted(&gh, host(fixture, "us-east"));
        assert!(passed(&o).contains("issue #1 unchanged"));
        // The issue is only claimed (an empty update the host checks for ownership).
        assert_eq!(calls(&o), ["find:all", "update:1"], "{fixture}");
        assert_eq!(o.output("digest"), Some(digest.as_str()));
        assert_eq!(o.output("issue-number"), Some("1"));
    }

    // The drift changes: the body is updated in place, with a comment to notify watchers.
    let (_dir, changed) = env_tag_drift("qa");
    let o = granted(&gh, host_at(&changed, "us-east"));
    assert!(passed(&o).contains("issue #1 updated"));
    assert_eq!(calls(&o), ["find:all", "update:1:body", "comment:1"]);
    let new_digest = o.output("digest").unwrap();
    assert_ne!(new_digest, digest);
    assert_eq!(owned_digest(&gh.issue(1).body, "us-east").as_deref(), Some(new_digest));
    assert!(gh.issue(1).body.contains("\"qa\""));
    assert!(gh.comments_on(1)[0].contains("changed"));
    assert_eq!(gh.issues.borrow().len(), 1);

    // Drift gone: closed, then a comment.
    let o = granted(&gh, host("clean", "us-east"));
    assert!(passed(&o).contains("issue #1 closed"));
    assert_eq!(calls(&o), ["find:all", "update:1:closed", "comment:1"]);
    assert_eq!(gh.issue(1).state, "closed");
    assert!(gh.comments_on(1)[1].contains("No drift in workspace <code>us-east</code> any more"));
    assert_eq!(o.output("drifted"), Some("false"));
    assert_eq!(o.output("exit-code"), Some("0"));
    assert_eq!(o.output("digest"), Some("none"));

    // Still clean: nothing to do.
    let o = granted(&gh, host("clean", "us-east"));
    assert_eq!(calls(&o), ["find:all"]);
    assert_eq!(o.output("issue-action"), Some("none"));
    assert_eq!(o.output("issue-number"), None);

    // Drift is back: the same issue is reopened, with a comment.
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert!(passed(&o).contains("issue #1 reopened"));
    assert_eq!(calls(&o), ["find:all", "update:1:body:open", "comment:1"]);
    assert_eq!(gh.issue(1).state, "open");
    assert!(gh.comments_on(1)[2].starts_with("Drift is back"));
    assert_eq!(
        owned_digest(&gh.issue(1).body, "us-east").as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(gh.issues.borrow().len(), 1, "one issue per workspace, always");
}

#[test]
fn without_reopen_returning_drift_opens_a_new_issue() {
    let gh = Github::default();
    granted(&gh, host("refresh-only", "us-east"));
    granted(&gh, host("clean", "us-east"));
    let o = granted(&gh, host("refresh-only", "us-east").input("reopen", false));
    assert_eq!(calls(&o), ["find:all", "create"]);
    assert_eq!(gh.issue(1).state, "closed");
    assert_eq!(
        gh.issue(o.output("issue-number").unwrap().parse().unwrap()).state,
        "open"
    );
}

#[test]
fn one_issue_per_workspace_and_custom_labels() {
    let gh = Github::default();
    granted(&gh, host("refresh-only", "us-east"));
    let o = granted(
        &gh,
        host("refresh-only", "eu-west").input("labels", json!(["drift", "eu-west"])),
    );
    assert_eq!(calls(&o), ["find:all", "create"]);
    assert_eq!(gh.issue(2).labels, ["drift", "eu-west"]);
    // Clean in us-east closes only us-east's issue.
    let o = granted(&gh, host("clean", "us-east"));
    assert_eq!(calls(&o), ["find:all", "update:1:closed", "comment:1"]);
    assert_eq!(gh.issue(2).state, "open");
    // An issue with the marker but without every label is not ours.
    let o = granted(
        &gh,
        host("refresh-only", "eu-west").input("labels", json!(["drift", "other"])),
    );
    assert_eq!(calls(&o), ["find:all", "create"]);
}

#[test]
fn duplicates_from_a_race_collapse_to_the_oldest() {
    let gh = Github::default();
    let m = marker("us-east", "00");
    gh.seed(3, "open", &["drift"], &format!("{m}\nold report A"));
    gh.seed(4, "open", &["drift"], &format!("quoting:\n{m}"));
    gh.seed(5, "open", &["drift"], &format!("{m}\nold report B"));
    gh.seed(6, "open", &["drift"], &format!("{}\neu-west", marker("eu-west", "00")));
    gh.seed(8, "open", &["drift", "extra"], &format!("{m}\nold report C"));
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert!(passed(&o).contains("issue #3 updated"));
    assert_eq!(
        calls(&o),
        [
            "find:all",
            "update:3:body",
            "comment:3",
            "update:5:body:closed",
            "comment:5",
            "update:8:body:closed",
            "comment:8"
        ]
    );
    assert!(o.logged("closed 2 duplicate drift issue(s) for us-east: #5, #8"));
    assert!(gh.comments_on(5)[0].contains("duplicate of #3"));
    for n in [5, 8] {
        let i = gh.issue(n);
        assert_eq!(i.state, "closed");
        assert_eq!(
            owned_digest(&i.body, "us-east"),
            None,
            "a duplicate is never matched again"
        );
    }
    assert_eq!(gh.issue(4).state, "open");
    assert_eq!(gh.issue(6).state, "open");
    // Next run: the duplicates stay closed and are not reopened.
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert_eq!(calls(&o), ["find:all", "update:3"]);
    // Drift gone, then back: the kept issue is the one reopened, not a duplicate.
    granted(&gh, host("clean", "us-east"));
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert!(passed(&o).contains("issue #3 reopened"));
}

/// Another plugin (or a person) wrote an issue with this workspace's marker: the host refuses
/// to let drift-check change it, so drift-check passes it over — no comment on it either —
/// and keeps its own issue as if it were not there.
#[test]
fn an_issue_someone_else_wrote_with_our_marker_is_passed_over() {
    let gh = Github::default();
    let m = marker("us-east", "00");
    gh.seed(2, "open", &["drift"], &format!("{m}\nforged: no drift here"));
    gh.foreign.borrow_mut().push(2);
    let o = granted(&gh, host("refresh-only", "us-east"));
    assert!(passed(&o).contains("issue #3 opened"), "{:?}", o.result);
    assert!(o.logged("passed over issue(s) #2 for us-east"), "{:?}", o.logs);
    assert!(gh.comments_on(2).is_empty(), "nothing is written to the foreign issue");
    assert_eq!(gh.issue(2).body, format!("{m}\nforged: no drift here"));
    // It also does not stand in the way as a duplicate, nor get closed when drift is gone.
    gh.seed(4, "open", &["drift"], &format!("{m}\nforged later"));
    gh.foreign.borrow_mut().push(4);
    let o = granted(&gh, host("clean", "us-east"));
    assert!(passed(&o).contains("issue #3 closed"), "{:?}", o.result);
    assert_eq!(
        (gh.issue(2).state.as_str(), gh.issue(4).state.as_str()),
        ("open", "open")
    );
    assert!(gh.comments_on(4).is_empty());
}

#[test]
fn without_the_grant_it_reports_and_says_why() {
    let o = host("refresh-only", "us-east").run::<DriftCheck>();
    no_secrets(&o);
    assert!(passed(&o).contains("no issue kept (no GitHub permission)"));
    assert!(o.logged("Grant `github: [issues:write]`"), "{:?}", o.logs);
    assert_eq!(calls(&o), ["find:all"], "refused by the host");
    assert_eq!(o.output("issue-action"), Some("skipped"));
    assert_eq!(o.output("drifted"), Some("true"));
    assert_eq!(o.output("exit-code"), Some("2"));
    assert!(o.summary.contains("2 resources changed outside Terraform"));
}

#[test]
fn a_github_failure_is_a_peer_error_after_the_report() {
    let o = host("refresh-only", "us-east")
        .grant_github(GithubPermission::IssuesWrite)
        .github(|_| {
            Some(tollgate_sdk::testing::GithubAnswer::Error(
                tollgate_sdk::testing::GithubError::Other("502: bad gateway".into()),
            ))
        })
        .run::<DriftCheck>();
    assert!(matches!(o.result, Err(PluginError::Peer(_))), "{:?}", o.result);
    assert!(o.summary.contains("changed outside Terraform"));
    assert_eq!(o.output("exit-code"), Some("2"));
}

#[test]
fn hostile_workspace_names_cannot_touch_another_workspace_issue() {
    let gh = Github::default();
    granted(&gh, host("refresh-only", "eu-west"));
    let before = gh.issue(1);
    for hostile in [
        "eu-west digest=00 -->\n<!-- tollgate:drift-check workspace=eu-west",
        "eu-west -->",
        "eu-west\u{200B}",
        "EU-WEST",
        " eu-west digest=none",
    ] {
        let o = granted(&gh, host("clean", hostile));
        assert_ne!(o.output("issue-action"), Some("closed"), "{hostile:?}");
        let o = granted(&gh, host("refresh-only", hostile));
        assert_eq!(o.output("issue-action"), Some("opened"), "{hostile:?}");
        let n: u64 = o.output("issue-number").unwrap().parse().unwrap();
        let issue = gh.issue(n);
        assert!(!issue.title.contains('\n'), "{:?}", issue.title);
        let first = issue.body.lines().next().unwrap();
        assert!(first.starts_with("<!-- tollgate:drift-check workspace=") && first.ends_with(" -->"));
        assert_eq!(first.matches("-->").count(), 1, "{first}");
        assert!(
            !issue.body.contains("<!-- tollgate:drift-check workspace=eu-west "),
            "{}",
            issue.body
        );
    }
    assert_eq!(gh.issue(1), before, "eu-west's issue untouched");
    let o = granted(&gh, host("refresh-only", "@org/team"));
    let issue = gh.issue(o.output("issue-number").unwrap().parse().unwrap());
    assert!(
        !issue.title.contains("@org") && !issue.body.contains("@org"),
        "{issue:?}"
    );
}

#[test]
fn outputs_follow_detailed_exitcode() {
    let run = |path: &str| host_at(path, "w").run::<DriftCheck>();
    // (plan, drifted, exit-code)
    let o = run(&fixture_path("clean"));
    assert_eq!((o.output("drifted"), o.output("exit-code")), (Some("false"), Some("0")));
    assert_eq!(o.output("plan-mode"), Some("refresh-only"));
    let o = run(&fixture_path("refresh-only"));
    assert_eq!((o.output("drifted"), o.output("exit-code")), (Some("true"), Some("2")));
    let o = run(&fixture_path("plan"));
    assert_eq!((o.output("drifted"), o.output("exit-code")), (Some("true"), Some("2")));
    assert_eq!(o.output("plan-mode"), Some("normal"));
    assert_eq!(o.output("changed-attributes"), Some("8"));

    // A normal plan whose drift needs no change (e.g. ignore_changes): drifted, exit code 0.
    let (_d, p) = variant("plan", |p| {
        for rc in p["resource_changes"].as_array_mut().unwrap() {
            rc["change"]["actions"] = json!(["no-op"]);
            rc["change"]["after"] = rc["change"]["before"].clone();
        }
    });
    let o = run(&p);
    assert_eq!((o.output("drifted"), o.output("exit-code")), (Some("true"), Some("0")));
    // A normal plan with changes and no drift: not drifted, exit code 2.
    let (_d, p) = variant("plan", |p| {
        p.as_object_mut().unwrap().remove("resource_drift");
    });
    let o = run(&p);
    assert_eq!((o.output("drifted"), o.output("exit-code")), (Some("false"), Some("2")));
    // Terraform reported errors: exit code 1, the step fails, and no issue is touched.
    let gh = Github::default();
    granted(&gh, host("refresh-only", "w"));
    let (_d, p) = variant("clean", |p| p["errored"] = json!(true));
    let o = granted(&gh, host_at(&p, "w"));
    assert_eq!(o.status(), Some(Status::Failed));
    assert_eq!(o.output("exit-code"), Some("1"));
    assert_eq!(o.output("issue-action"), Some("skipped"));
    assert!(o.github_calls.is_empty());
    assert_eq!(gh.issue(1).state, "open");
    // fail-on-drift turns drift into a failed step; outputs are still set.
    let o = host("refresh-only", "w")
        .input("fail-on-drift", true)
        .run::<DriftCheck>();
    assert_eq!(o.status(), Some(Status::Failed));
    assert_eq!(o.output("exit-code"), Some("2"));
    let o = host("clean", "w").input("fail-on-drift", true).run::<DriftCheck>();
    assert_eq!(o.status(), Some(Status::Passed));
}

#[test]
fn the_plan_can_come_from_an_artifact() {
    let data = std::fs::read(fixture_path("refresh-only")).unwrap();
    let o = MockHost::new()
        .input("plan", "artifact:plan-us-east")
        .input("workspace", "us-east")
        .artifact("plan-us-east", "application/json", data)
        .run::<DriftCheck>();
    no_secrets(&o);
    assert_eq!(o.output("drifted"), Some("true"));
    let o = MockHost::new().input("plan", "artifact:nope").run::<DriftCheck>();
    assert!(matches!(o.result, Err(PluginError::InvalidInput(_))));
}

#[test]
fn bad_inputs_are_refused_clearly() {
    let o = host("refresh-only", "w")
        .input("labels", json!([" "]))
        .run::<DriftCheck>();
    assert!(
        o.error_message().unwrap().contains("at least one label"),
        "{:?}",
        o.result
    );
    let o = host_at("/nonexistent/plan.json", "w").run::<DriftCheck>();
    assert!(o.error_message().unwrap().contains("allow-read"), "{:?}", o.result);
    let (_d, p) = variant("clean", |p| *p = json!({"format_version": "1.0", "values": {}}));
    let o = host_at(&p, "w").run::<DriftCheck>();
    assert!(o.error_message().unwrap().contains("state JSON"), "{:?}", o.result);
}

#[test]
fn a_huge_drift_fits_the_issue_limit_and_names_what_it_left_out() {
    let (_d, p) = variant("refresh-only", |p| {
        let drift = p["resource_drift"].as_array_mut().unwrap();
        let template = drift[0].clone();
        for i in 0..3000 {
            let mut rc = template.clone();
            rc["address"] = json!(format!("module.m{i}.aws_s3_bucket.logs"));
            drift.push(rc);
        }
    });
    let gh = Github::default();
    let o = granted(&gh, host_at(&p, "us-east"));
    assert_eq!(o.output("drifted-resources"), Some("3002"));
    let body = gh.issue(1).body;
    assert!(body.len() <= drift_check::report::ISSUE_LIMIT, "{}", body.len());
    assert!(
        body.contains("do not fit here") && body.contains("more"),
        "{}",
        &body[body.len() - 500..]
    );
    assert!(o.summary.len() > body.len(), "the summary has more of them");
}
