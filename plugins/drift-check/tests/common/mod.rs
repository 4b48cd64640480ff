//! Shared by the plugin's tests: fixtures (and variants built from them), a step context and a
//! GitHub fake whose issues outlive one run.

#![allow(dead_code)]

use serde_json::Value;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use tollgate_sdk::StepContext;
use tollgate_sdk::testing::{Comment, GithubAnswer, GithubCall, GithubError, Issue, MockHost};

/// Distinctive secrets the fixtures hold in sensitive values.
pub const SECRETS: &[&str] = &["TOLLGATE-SECRET", "drift-before", "drift-after"];

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture_path(name: &str) -> String {
    fixtures_dir().join(format!("{name}.json")).display().to_string()
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture_path(name)).unwrap()).unwrap()
}

/// A variant of a fixture written to a temporary directory; returns (dir, path).
pub fn variant(name: &str, edit: impl FnOnce(&mut Value)) -> (PathBuf, String) {
    let mut plan = fixture_json(name);
    edit(&mut plan);
    let dir = std::env::temp_dir().join(format!(
        "drift-check-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
    (dir.clone(), path.display().to_string())
}

/// The refresh-only fixture with the bucket's drifted `env` tag set to `value`.
pub fn env_tag_drift(value: &str) -> (PathBuf, String) {
    let value = value.to_string();
    variant("refresh-only", move |p| {
        for rc in p["resource_drift"].as_array_mut().unwrap() {
            if rc["address"] == "aws_s3_bucket.logs" {
                rc["change"]["after"]["tags"]["env"] = Value::String(value.clone());
                rc["change"]["after"]["tags_all"]["env"] = Value::String(value.clone());
            }
        }
    })
}

pub fn context() -> StepContext {
    StepContext {
        step_id: "drift".into(),
        repository: Some("acme/infra".into()),
        sha: Some("0123456789abcdef".into()),
        git_ref: Some("refs/heads/main".into()),
        event: Some("schedule".into()),
        run_id: Some("777".into()),
        run_attempt: Some("1".into()),
        workflow: Some("nightly-drift".into()),
        actor: Some("dev".into()),
        pull_request: None,
        ci: true,
    }
}

/// A host that reads `path` (a fixture's or a variant's) and grants its directory.
pub fn host_at(path: &str, workspace: &str) -> MockHost {
    let dir = PathBuf::from(path).parent().unwrap().display().to_string();
    MockHost::new()
        .input("plan", path)
        .input("workspace", workspace)
        .grant_dir(&dir, false)
        .context(context())
}

pub fn host(fixture: &str, workspace: &str) -> MockHost {
    host_at(&fixture_path(fixture), workspace)
}

/// Issues and their comments that survive from run to run, answered as GitHub would
/// (`find-issues` filters by every label and by state; the oldest issue has the lowest number).
#[derive(Clone, Default)]
pub struct Github {
    pub issues: Rc<RefCell<Vec<Issue>>>,
    pub comments: Rc<RefCell<Vec<(u64, Comment)>>>,
    /// Issues another plugin or a person wrote: the host refuses to let this step change them.
    pub foreign: Rc<RefCell<Vec<u64>>>,
    next: Rc<RefCell<u64>>,
}

impl Github {
    pub fn seed(&self, number: u64, state: &str, labels: &[&str], body: &str) {
        self.issues.borrow_mut().push(Issue {
            number,
            title: format!("seeded {number}"),
            body: body.into(),
            state: state.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            html_url: format!("https://github.com/acme/infra/issues/{number}"),
        });
        let mut next = self.next.borrow_mut();
        *next = (*next).max(number);
    }

    pub fn issue(&self, number: u64) -> Issue {
        self.issues
            .borrow()
            .iter()
            .find(|i| i.number == number)
            .cloned()
            .unwrap()
    }

    pub fn comments_on(&self, number: u64) -> Vec<String> {
        self.comments
            .borrow()
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c.body.clone())
            .collect()
    }

    /// Plug into a host (the permission check still comes first).
    pub fn attach(&self, host: MockHost) -> MockHost {
        let me = self.clone();
        host.github(move |call| Some(me.answer(call)))
    }

    fn next(&self) -> u64 {
        let mut next = self.next.borrow_mut();
        *next += 1;
        *next
    }

    fn answer(&self, call: &GithubCall) -> GithubAnswer {
        match call {
            GithubCall::FindIssues { labels, state } => GithubAnswer::Issues(
                self.issues
                    .borrow()
                    .iter()
                    .filter(|i| state == "all" || &i.state == state)
                    .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
                    .cloned()
                    .collect(),
            ),
            GithubCall::CreateIssue { title, body, labels } => {
                let number = self.next();
                let issue = Issue {
                    number,
                    title: title.clone(),
                    body: body.clone(),
                    state: "open".into(),
                    labels: labels.clone(),
                    html_url: format!("https://github.com/acme/infra/issues/{number}"),
                };
                self.issues.borrow_mut().push(issue.clone());
                GithubAnswer::Issue(issue)
            }
            GithubCall::UpdateIssue {
                number,
                title,
                body,
                state,
            } if self.foreign.borrow().contains(number) => GithubAnswer::Error(GithubError::Denied(format!(
                "update-issue of issue #{number} refused: it belongs to `oci-0123456789ab`"
            ))),
            GithubCall::UpdateIssue {
                number,
                title,
                body,
                state,
            } => match self.issues.borrow_mut().iter_mut().find(|i| i.number == *number) {
                Some(i) => {
                    if let Some(t) = title {
                        i.title = t.clone();
                    }
                    if let Some(b) = body {
                        i.body = b.clone();
                    }
                    if let Some(s) = state {
                        assert!(s == "open" || s == "closed", "{s}");
                        i.state = s.clone();
                    }
                    GithubAnswer::Issue(i.clone())
                }
                None => GithubAnswer::Error(GithubError::NotFound(format!("issue #{number}"))),
            },
            GithubCall::CreateComment { issue, body } => {
                let id = self.next() + 1000;
                let c = Comment {
                    id,
                    body: body.clone(),
                    author: "github-actions[bot]".into(),
                    html_url: format!("https://github.com/acme/infra/issues/{issue}#issuecomment-{id}"),
                };
                self.comments.borrow_mut().push((*issue, c.clone()));
                GithubAnswer::Comment(c)
            }
            GithubCall::ListComments { issue } => GithubAnswer::Comments(
                self.comments
                    .borrow()
                    .iter()
                    .filter(|(n, _)| n == issue)
                    .map(|(_, c)| c.clone())
                    .collect(),
            ),
            other => panic!("unexpected GitHub call {other:?}"),
        }
    }
}
