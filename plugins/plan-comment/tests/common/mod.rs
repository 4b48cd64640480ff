//! Shared by the plugin's tests: fixtures, a step context and a GitHub fake that outlives one
//! run.

#![allow(dead_code)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use tollgate_sdk::StepContext;
use tollgate_sdk::testing::{Comment, GithubAnswer, GithubCall, GithubError, MockHost};

pub const FIXTURES: &[&str] = &["changes", "create", "noop", "destroy", "hostile", "drift"];

/// Distinctive secrets the fixtures put in sensitive variables and values.
pub const SECRETS: &[&str] = &[
    "TOLLGATE-SECRET",
    "hunter2",
    "correct-horse",
    "drift-before",
    "drift-after",
];

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture_path(name: &str) -> String {
    fixtures_dir().join(format!("{name}.json")).display().to_string()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

pub fn context(pr: Option<u64>) -> StepContext {
    StepContext {
        step_id: "plan-comment".into(),
        repository: Some("acme/infra".into()),
        sha: Some("0123456789abcdef".into()),
        git_ref: pr.map(|n| format!("refs/pull/{n}/merge")),
        event: Some(if pr.is_some() { "pull_request" } else { "push" }.into()),
        run_id: Some("777".into()),
        run_attempt: Some("1".into()),
        workflow: Some("plan".into()),
        actor: Some("dev".into()),
        pull_request: pr,
        ci: true,
    }
}

/// A host that reads `plan` from the fixtures directory.
pub fn host(plan: &str, workspace: &str) -> MockHost {
    MockHost::new()
        .input("plan", fixture_path(plan))
        .input("workspace", workspace)
        .grant_dir(&fixtures_dir().display().to_string(), false)
}

/// Comments on one pull request that survive from run to run.
#[derive(Clone, Default)]
pub struct Github {
    pub comments: Rc<RefCell<Vec<Comment>>>,
    next: Rc<RefCell<u64>>,
    /// Deleting these ids fails with a 403.
    pub undeletable: Rc<RefCell<Vec<u64>>>,
}

impl Github {
    pub fn seed(&self, id: u64, author: &str, body: &str) {
        self.comments.borrow_mut().push(Comment {
            id,
            body: body.into(),
            author: author.into(),
            html_url: format!("https://github.com/acme/infra/pull/7#issuecomment-{id}"),
        });
        let mut next = self.next.borrow_mut();
        *next = (*next).max(id);
    }

    pub fn bodies(&self) -> Vec<(u64, String)> {
        self.comments.borrow().iter().map(|c| (c.id, c.body.clone())).collect()
    }

    /// Plug into a host (the permission check still comes first).
    pub fn attach(&self, host: MockHost) -> MockHost {
        let me = self.clone();
        host.github(move |call| Some(me.answer(call)))
    }

    fn answer(&self, call: &GithubCall) -> GithubAnswer {
        let mut comments = self.comments.borrow_mut();
        match call {
            GithubCall::ListComments { .. } => GithubAnswer::Comments(comments.clone()),
            GithubCall::CreateComment { body, .. } => {
                let mut next = self.next.borrow_mut();
                *next += 1;
                let c = Comment {
                    id: *next,
                    body: body.clone(),
                    author: "github-actions[bot]".into(),
                    html_url: format!("https://github.com/acme/infra/pull/7#issuecomment-{}", *next),
                };
                comments.push(c.clone());
                GithubAnswer::Comment(c)
            }
            GithubCall::UpdateComment { id, body } => match comments.iter_mut().find(|c| c.id == *id) {
                Some(c) if c.author == "someone-else" => {
                    GithubAnswer::Error(GithubError::Other("403: Resource not accessible by integration".into()))
                }
                Some(c) => {
                    c.body = body.clone();
                    GithubAnswer::Comment(c.clone())
                }
                None => GithubAnswer::Error(GithubError::NotFound(format!("comment {id}"))),
            },
            GithubCall::DeleteComment { id } => {
                if self.undeletable.borrow().contains(id) {
                    return GithubAnswer::Error(GithubError::Other(
                        "403: Resource not accessible by integration".into(),
                    ));
                }
                let before = comments.len();
                comments.retain(|c| c.id != *id);
                if comments.len() < before {
                    GithubAnswer::Done
                } else {
                    GithubAnswer::Error(GithubError::NotFound(format!("comment {id}")))
                }
            }
            other => panic!("unexpected GitHub call {other:?}"),
        }
    }
}
