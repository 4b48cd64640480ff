//! A plugin for the GitHub e2e tests: its `calls` input (a JSON list) says which
//! `tollgate:plugin/github` calls to make, in order; its `result` output reports each one's
//! answer as JSON (`{"ok": …}` or `{"err": {"kind", "message"}}`).
//!
//! A string argument `"$N.field"` is replaced by that field of answer N (`$-1.field`: the
//! latest), so a script can update the comment it just created. `{"call": "repeat", "times": K, "calls": […]}`
//! runs a block K times with `$i` in strings replaced by the round.

use serde_json::{Value, json};
use tollgate_sdk::github::{self, Comment, Commit, GitRef, GithubError, Issue, PullRequest};
use tollgate_sdk::{
    Capability, GithubPermission, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, ValueKind,
    input, output, request, set_output,
};

struct GithubProbe;

impl Plugin for GithubProbe {
    fn describe() -> PluginInfo {
        let permissions = [
            GithubPermission::PullRequestsRead,
            GithubPermission::PullRequestsWrite,
            GithubPermission::IssuesRead,
            GithubPermission::IssuesWrite,
            GithubPermission::ContentsRead,
            GithubPermission::ContentsWrite,
        ];
        PluginInfo {
            name: "github-probe".into(),
            version: "0.1.0".into(),
            summary: "Makes the GitHub calls it is told to and reports their answers.".into(),
            inputs: vec![input("calls", ValueKind::String, "a JSON list of calls").required()],
            outputs: vec![output("result", "each call's answer, as a JSON list")],
            capabilities: permissions
                .into_iter()
                .map(|p| request(Capability::Github(p), "the calls it is told to make").optional())
                .collect(),
        }
    }

    fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        let calls: String = inputs.require("calls")?;
        let calls: Vec<Value> = serde_json::from_str(&calls)
            .map_err(|e| tollgate_sdk::invalid_input("calls", format!("not a JSON list: {e}")))?;
        let mut results = Vec::new();
        run_all(&calls, &mut results, None);
        let failed = results.iter().filter(|r| r.get("err").is_some()).count();
        set_output("result", &Value::Array(results).to_string())?;
        Ok(RunReport {
            status: Status::Passed,
            message: format!("{} calls, {failed} errors", calls.len()),
        })
    }
}

fn run_all(calls: &[Value], results: &mut Vec<Value>, round: Option<u64>) {
    for call in calls {
        let call = substitute(call, results, round);
        if call["call"] == "repeat" {
            let times = call["times"].as_u64().unwrap_or(0);
            let block = call["calls"].as_array().cloned().unwrap_or_default();
            for i in 0..times {
                run_all(&block, results, Some(i));
            }
            continue;
        }
        let answer = one(&call);
        results.push(answer);
    }
}

/// `call` with `"$N.field"` strings replaced from earlier answers and `$i` by the round.
fn substitute(call: &Value, results: &[Value], round: Option<u64>) -> Value {
    match call {
        Value::String(s) => {
            let s = match round {
                Some(i) => s.replace("$i", &i.to_string()),
                None => s.clone(),
            };
            if let Some(reference) = s.strip_prefix('$')
                && let Some((n, field)) = reference.split_once('.')
                && let Ok(n) = n.parse::<i64>()
                && let Ok(n) = usize::try_from(if n < 0 { results.len() as i64 + n } else { n })
                && let Some(value) = results.get(n).map(|r| r["ok"][field].clone())
            {
                return value;
            }
            Value::String(s)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, results, round)).collect()),
        Value::Object(map) if map.get("call").is_some_and(|c| c == "repeat") => call.clone(),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, results, round)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn one(call: &Value) -> Value {
    let s = |key: &str| call[key].as_str().unwrap_or_default().to_string();
    let n = |key: &str| call[key].as_u64().unwrap_or_default();
    let opt = |key: &str| call[key].as_str().map(String::from);
    let list = |key: &str| -> Vec<String> {
        call[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    match call["call"].as_str().unwrap_or_default() {
        "get-pull-request" => answer(github::get_pull_request(n("number")).map(pull_request)),
        "list-comments" => {
            answer(github::list_comments(n("issue")).map(|cs| Value::Array(cs.into_iter().map(comment).collect())))
        }
        "create-comment" => answer(github::create_comment(n("issue"), &s("body")).map(comment)),
        "update-comment" => answer(github::update_comment(n("id"), &s("body")).map(comment)),
        "delete-comment" => answer(github::delete_comment(n("id")).map(|()| Value::Null)),
        "find-issues" => answer(
            github::find_issues(&list("labels"), &s("state"))
                .map(|is| Value::Array(is.into_iter().map(issue).collect())),
        ),
        "create-issue" => answer(github::create_issue(&s("title"), &s("body"), &list("labels")).map(issue)),
        "update-issue" => answer(
            github::update_issue(
                n("number"),
                opt("title").as_deref(),
                opt("body").as_deref(),
                opt("state").as_deref(),
            )
            .map(issue),
        ),
        "create-ref" => answer(github::create_ref(&s("name"), &s("sha")).map(git_ref)),
        "get-ref" => answer(github::get_ref(&s("name")).map(git_ref)),
        "update-ref" => {
            answer(github::update_ref(&s("name"), &s("sha"), call["force"].as_bool().unwrap_or(false)).map(git_ref))
        }
        "delete-ref" => answer(github::delete_ref(&s("name")).map(|()| Value::Null)),
        "create-commit" => {
            answer(github::create_commit(&s("message"), opt("tree").as_deref(), &list("parents")).map(commit))
        }
        "get-commit" => answer(github::get_commit(&s("sha")).map(commit)),
        other => json!({"err": {"kind": "probe", "message": format!("unknown call `{other}`")}}),
    }
}

fn answer(result: Result<Value, GithubError>) -> Value {
    match result {
        Ok(v) => json!({ "ok": v }),
        Err(e) => {
            let (kind, message) = match e {
                GithubError::Denied(m) => ("denied", m),
                GithubError::NotFound(m) => ("not-found", m),
                GithubError::Conflict(m) => ("conflict", m),
                GithubError::RateLimited(m) => ("rate-limited", m),
                GithubError::Unavailable(m) => ("unavailable", m),
                GithubError::Other(m) => ("other", m),
            };
            json!({ "err": { "kind": kind, "message": message } })
        }
    }
}

fn pull_request(p: PullRequest) -> Value {
    json!({
        "number": p.number, "title": p.title, "author": p.author, "head_sha": p.head_sha,
        "base_ref": p.base_ref, "head_ref": p.head_ref, "draft": p.draft, "html_url": p.html_url,
    })
}

fn comment(c: Comment) -> Value {
    json!({ "id": c.id, "body": c.body, "author": c.author, "html_url": c.html_url })
}

fn issue(i: Issue) -> Value {
    json!({
        "number": i.number, "title": i.title, "body": i.body, "state": i.state,
        "labels": i.labels, "html_url": i.html_url,
    })
}

fn git_ref(r: GitRef) -> Value {
    json!({ "name": r.name, "sha": r.sha })
}

fn commit(c: Commit) -> Value {
    json!({ "sha": c.sha, "message": c.message, "parents": c.parents })
}

tollgate_sdk::export_plugin!(GithubProbe);
