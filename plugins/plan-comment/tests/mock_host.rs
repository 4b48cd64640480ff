//! The whole plugin under `MockHost`: the sticky comment's life, what happens without a pull
//! request or a grant, hostile workspaces, inputs, and that no sensitive value leaves.

mod common;

use common::{Github, context, fixture, host};
use plan_comment::PlanComment;
use plan_comment::render::COMMENT_LIMIT;
use plan_comment::sticky::marker;
use tollgate_sdk::testing::{GithubCall, Outcome};
use tollgate_sdk::{GithubPermission, PluginError, Status};

fn passed(o: &Outcome) -> &str {
    assert_eq!(o.status(), Some(Status::Passed), "{:?}\n{:?}", o.result, o.logs);
    &o.result.as_ref().unwrap().message
}

fn posting(plan: &str, workspace: &str, gh: &Github) -> Outcome {
    gh.attach(host(plan, workspace))
        .grant_github(GithubPermission::PullRequestsWrite)
        .context(context(Some(7)))
        .run::<PlanComment>()
}

fn calls(o: &Outcome) -> Vec<&'static str> {
    o.github_calls
        .iter()
        .map(|c| match c {
            GithubCall::ListComments { .. } => "list",
            GithubCall::CreateComment { .. } => "create",
            GithubCall::UpdateComment { .. } => "update",
            GithubCall::DeleteComment { .. } => "delete",
            _ => "other",
        })
        .collect()
}

#[test]
fn first_run_creates_second_run_updates_the_same_comment() {
    let gh = Github::default();
    gh.seed(1, "someone", "LGTM @dev");
    let first = posting("changes", "us-east", &gh);
    assert!(passed(&first).contains("comment created on #7"));
    assert_eq!(calls(&first), ["list", "create"]);
    let url = first.output("comment-url").unwrap().to_string();
    assert!(url.ends_with("#issuecomment-2"), "{url}");
    let body = gh.bodies()[1].1.clone();
    assert!(
        body.starts_with(&format!(
            "{}\n### Terraform plan: <code>us-east</code>",
            marker("us-east")
        )),
        "{body}"
    );
    assert!(body.len() <= COMMENT_LIMIT);

    let second = posting("noop", "us-east", &gh);
    assert!(passed(&second).contains("comment updated on #7"));
    assert_eq!(calls(&second), ["list", "update"]);
    assert_eq!(second.output("comment-url"), Some(url.as_str()));
    let bodies = gh.bodies();
    assert_eq!(bodies.len(), 2, "still one plan comment");
    assert!(bodies[1].1.contains("✅ **No changes.**"), "{}", bodies[1].1);
    assert_eq!(bodies[0].1, "LGTM @dev", "other comments untouched");
}

#[test]
fn one_comment_per_workspace() {
    let gh = Github::default();
    posting("changes", "us-east", &gh);
    posting("create", "eu-west", &gh);
    let o = posting("noop", "us-east", &gh);
    assert_eq!(calls(&o), ["list", "update"]);
    let bodies = gh.bodies();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].1.starts_with(&marker("us-east")) && bodies[0].1.contains("No changes"));
    assert!(bodies[1].1.starts_with(&marker("eu-west")) && bodies[1].1.contains("to create"));
}

#[test]
fn duplicates_from_a_race_collapse_to_the_oldest() {
    let gh = Github::default();
    let m = marker("us-east");
    gh.seed(3, "github-actions[bot]", &format!("{m}\nold plan A"));
    gh.seed(4, "reviewer", &format!("quoting:\n{m}"));
    gh.seed(5, "github-actions[bot]", &format!("{m}\nold plan B"));
    gh.seed(
        6,
        "github-actions[bot]",
        &format!("{}\neu-west plan", marker("eu-west")),
    );
    gh.seed(9, "github-actions[bot]", &format!("{m}\nold plan C"));
    gh.undeletable.borrow_mut().push(9);
    let o = posting("changes", "us-east", &gh);
    passed(&o);
    assert_eq!(calls(&o), ["list", "update", "delete", "delete", "update"]);
    assert!(o.logged("retired 2 older or duplicate comment(s)"), "{:?}", o.logs);
    let bodies = gh.bodies();
    let ids: Vec<u64> = bodies.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [3, 4, 6, 9], "5 deleted; 9 could not be, so it was collapsed");
    assert!(bodies[0].1.starts_with(&m) && bodies[0].1.contains("This plan destroys"));
    assert!(bodies[1].1.starts_with("quoting:"));
    assert!(bodies[2].1.contains("eu-west plan"));
    assert!(
        !bodies[3].1.starts_with(&m) && bodies[3].1.contains("superseded"),
        "{}",
        bodies[3].1
    );
}

#[test]
fn a_forged_marker_on_someone_elses_comment_is_skipped() {
    let gh = Github::default();
    let m = marker("us-east");
    gh.seed(2, "someone-else", &format!("{m}\nI forged this"));
    let o = posting("changes", "us-east", &gh);
    passed(&o);
    assert_eq!(calls(&o), ["list", "update", "create", "delete"]);
    assert!(o.annotations.iter().any(|a| a.message.contains("cannot be edited")));
}

#[test]
fn minimize_stale_posts_anew_and_collapses_the_old_one() {
    let gh = Github::default();
    posting("changes", "us-east", &gh);
    let o = gh
        .attach(host("noop", "us-east").input("minimize-stale", true))
        .grant_github(GithubPermission::PullRequestsWrite)
        .context(context(Some(7)))
        .run::<PlanComment>();
    passed(&o);
    assert_eq!(calls(&o), ["list", "create", "update"]);
    let bodies = gh.bodies();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[0].1.contains("superseded")
            && bodies[0]
                .1
                .contains("[latest](https://github.com/acme/infra/pull/7#issuecomment-2)")
    );
    assert!(bodies[1].1.starts_with(&marker("us-east")));
}

#[test]
fn without_a_pull_request_nothing_is_posted_and_that_is_said() {
    let gh = Github::default();
    let o = gh
        .attach(host("changes", "us-east"))
        .grant_github(GithubPermission::PullRequestsWrite)
        .context(context(None))
        .run::<PlanComment>();
    assert!(passed(&o).contains("not posted: this run has no pull request (event `push`)"));
    assert!(o.github_calls.is_empty());
    assert!(
        o.logged("plan comment not posted: this run has no pull request"),
        "{:?}",
        o.logs
    );
    assert!(o.summary.contains("### Terraform plan: <code>us-east</code>"));
    assert_eq!(o.groups, ["plan comment for us-east (Markdown)"]);
    assert!(o.logged("#### 🔁 Replace (6)"));
    assert_eq!(o.output("comment-url"), None);
    assert_eq!(o.output("has-destroy"), Some("true"));
}

#[test]
fn without_the_grant_it_prints_and_says_why() {
    let o = host("changes", "us-east")
        .context(context(Some(7)))
        .run::<PlanComment>();
    assert!(passed(&o).contains("not posted: no GitHub permission"));
    assert_eq!(calls(&o), ["list"], "one refused call, nothing else");
    assert!(
        o.annotations
            .iter()
            .any(|a| a.message.contains("plan comment not posted") && a.message.contains("pull-requests:write")),
        "{:?}",
        o.annotations
    );
    assert!(o.summary.contains("This plan destroys"));
    assert!(o.logged("#### 🔁 Replace (6)"));
}

#[test]
fn hostile_workspace_names_cannot_touch_another_workspace() {
    let gh = Github::default();
    let us_east = format!("{}\nus-east plan", marker("us-east"));
    gh.seed(1, "github-actions[bot]", &us_east);
    for hostile in [
        "x -->\n<!-- tollgate:plan-comment workspace=us-east -->",
        "us-east -->",
        "us-east\u{200B}",
        "US-EAST",
        "<b>us-east</b> @octocat",
    ] {
        let o = posting("create", hostile, &gh);
        passed(&o);
        assert!(!calls(&o).contains(&"delete"), "{hostile:?}");
        assert_eq!(gh.bodies()[0].1, us_east, "{hostile:?} touched us-east's comment");
    }
    // Each hostile name got its own comment, whose title is text.
    let bodies = gh.bodies();
    assert_eq!(bodies.len(), 6, "one comment per hostile name");
    for (_, body) in &bodies[1..] {
        let mut lines = body.lines();
        let first = lines.next().unwrap();
        assert!(first.starts_with("<!-- tollgate:plan-comment workspace=") && first.ends_with(" -->"));
        assert_eq!(first.matches("-->").count(), 1, "{first}");
        let title = lines.next().unwrap();
        assert!(
            !title.contains("<b>") && !title.contains("@octocat") && !title.contains("-->"),
            "{title}"
        );
    }
}

#[test]
fn surrounding_whitespace_is_not_part_of_the_workspace() {
    let gh = Github::default();
    posting("create", "us-east", &gh);
    let o = posting("noop", " us-east\n", &gh);
    assert_eq!(calls(&o), ["list", "update"]);
    assert_eq!(gh.bodies().len(), 1);
}

#[test]
fn outputs_count_every_kind() {
    let o = host("changes", "us-east").run::<PlanComment>();
    passed(&o);
    let want = [
        ("has-changes", "true"),
        ("has-destroy", "true"),
        ("create", "3"),
        ("update", "7"),
        ("replace", "6"),
        ("delete", "2"),
        ("import", "1"),
        ("move", "1"),
        ("forget", "1"),
        ("read", "1"),
        ("drift", "0"),
    ];
    for (name, value) in want {
        assert_eq!(o.output(name), Some(value), "{name}");
    }
    let o = host("noop", "us-east").run::<PlanComment>();
    assert_eq!(
        (o.output("has-changes"), o.output("has-destroy")),
        (Some("false"), Some("false"))
    );
    let o = host("drift", "us-east").run::<PlanComment>();
    assert_eq!(o.output("drift"), Some("2"));
    assert!(
        o.summary.contains("Changed outside Terraform (drift) (2)"),
        "{}",
        o.summary
    );
}

#[test]
fn no_sensitive_value_reaches_any_channel() {
    for name in common::FIXTURES {
        let gh = Github::default();
        for pr in [Some(7), None] {
            let o = gh
                .attach(host(name, "us-east").input("summary-artifact", "plan.md"))
                .grant_github(GithubPermission::PullRequestsWrite)
                .context(context(pr))
                .run::<PlanComment>();
            passed(&o);
            let all = format!("{}{:?}", o.every_channel(), gh.bodies());
            for secret in common::SECRETS {
                assert!(!all.contains(secret), "{name}: `{secret}` leaked:\n{all}");
            }
        }
    }
    // The large plan too.
    let dir = std::env::temp_dir().join(format!("plan-comment-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("large.json");
    std::fs::write(&path, large_plan()).unwrap();
    let gh = Github::default();
    let o = gh
        .attach(
            tollgate_sdk::testing::MockHost::new()
                .input("plan", path.display().to_string())
                .grant_dir(&dir.display().to_string(), false),
        )
        .grant_github(GithubPermission::PullRequestsWrite)
        .context(context(Some(7)))
        .run::<PlanComment>();
    passed(&o);
    let bodies = gh.bodies();
    assert!(bodies[0].1.len() <= COMMENT_LIMIT, "{}", bodies[0].1.len());
    assert!(
        bodies[0]
            .1
            .contains("To stay within GitHub's 65,536-character comment limit")
    );
    assert!(
        bodies[0]
            .1
            .contains("[this workflow run](/acme/infra/actions/runs/777)")
    );
    let all = format!("{}{bodies:?}", o.every_channel());
    for secret in common::SECRETS {
        assert!(!all.contains(secret), "large: `{secret}` leaked");
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn large_plan() -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(&fixture("changes")).unwrap();
    let base = doc["resource_changes"].as_array().unwrap().clone();
    let mut all = Vec::new();
    for m in 0..40 {
        for rc in &base {
            let mut rc = rc.clone();
            let address = format!(
                "module.m{m}.{}",
                rc["address"].as_str().unwrap().trim_start_matches("module.net.")
            );
            rc["address"] = address.into();
            rc["module_address"] = format!("module.m{m}").into();
            all.push(rc);
        }
    }
    doc["resource_changes"] = all.into();
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn the_plan_can_come_from_an_artifact() {
    let gh = Github::default();
    let o = gh
        .attach(tollgate_sdk::testing::MockHost::new().input("plan", "artifact:plan-us-east.json"))
        .artifact("plan-us-east.json", "application/json", fixture("changes"))
        .grant_github(GithubPermission::PullRequestsWrite)
        .context(context(Some(7)))
        .run::<PlanComment>();
    passed(&o);
    assert_eq!(o.output("replace"), Some("6"));

    let o = tollgate_sdk::testing::MockHost::new()
        .input("plan", "artifact:nope")
        .run::<PlanComment>();
    let e = o.error_message().unwrap();
    assert!(e.starts_with("input `plan`: no artifact `nope`"), "{e}");
}

#[test]
fn bad_plans_are_invalid_input_naming_the_place() {
    let dir = std::env::temp_dir().join(format!("plan-comment-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    std::fs::write(
        &path,
        br#"{"format_version": "1.2", "resource_changes": [{"address": "a.b", "change": {"actions": "create"}}]}"#,
    )
    .unwrap();
    let run = |plan: &str| {
        tollgate_sdk::testing::MockHost::new()
            .input("plan", plan)
            .grant_dir(&dir.display().to_string(), false)
            .run::<PlanComment>()
    };
    let o = run(&path.display().to_string());
    assert!(matches!(o.result, Err(PluginError::InvalidInput(_))));
    let e = o.error_message().unwrap();
    assert!(e.contains("plan JSON at `resource_changes[0].change.actions`"), "{e}");

    let o = run(&dir.join("missing.json").display().to_string());
    let e = o.error_message().unwrap();
    assert!(e.contains("cannot read") && e.contains("allow-read"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
