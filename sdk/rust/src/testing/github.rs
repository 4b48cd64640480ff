//! The in-memory GitHub behind [`MockHost`](super::MockHost) when the test does not answer a
//! call itself.

use super::{Comment, Commit, GitRef, GithubAnswer, GithubCall, GithubError, Issue, PullRequest};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Fake {
    pub repository: String,
    pub pull_requests: Vec<PullRequest>,
    comments: Vec<(u64, Comment)>,
    issues: Vec<Issue>,
    refs: BTreeMap<String, String>,
    commits: Vec<Commit>,
    next_id: u64,
}

impl Fake {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn url(&self, path: &str) -> String {
        format!("https://github.com/{}/{path}", self.repository)
    }

    pub fn answer(&mut self, call: &GithubCall) -> GithubAnswer {
        use GithubAnswer as A;
        use GithubCall as C;
        let not_found = |what: String| A::Error(GithubError::NotFound(format!("{what} was not found")));
        match call {
            C::GetPullRequest { number } => match self.pull_requests.iter().find(|p| p.number == *number) {
                Some(pr) => A::PullRequest(pr.clone()),
                None => not_found(format!("pull request #{number}")),
            },
            C::ListComments { issue } => A::Comments(
                self.comments
                    .iter()
                    .filter(|(i, _)| i == issue)
                    .map(|(_, c)| c.clone())
                    .collect(),
            ),
            C::CreateComment { issue, body } => {
                let id = self.id();
                let comment = Comment {
                    id,
                    body: body.clone(),
                    author: "tollgate[bot]".into(),
                    html_url: self.url(&format!("issues/{issue}#issuecomment-{id}")),
                };
                self.comments.push((*issue, comment.clone()));
                A::Comment(comment)
            }
            C::UpdateComment { id, body } => match self.comments.iter_mut().find(|(_, c)| c.id == *id) {
                Some((_, c)) => {
                    c.body = body.clone();
                    A::Comment(c.clone())
                }
                None => not_found(format!("comment {id}")),
            },
            C::DeleteComment { id } => {
                let before = self.comments.len();
                self.comments.retain(|(_, c)| c.id != *id);
                if self.comments.len() == before {
                    not_found(format!("comment {id}"))
                } else {
                    A::Done
                }
            }
            C::FindIssues { labels, state } => A::Issues(
                self.issues
                    .iter()
                    .filter(|i| state == "all" || &i.state == state)
                    .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
                    .cloned()
                    .collect(),
            ),
            C::CreateIssue { title, body, labels } => {
                let number = self.id();
                let issue = Issue {
                    number,
                    title: title.clone(),
                    body: body.clone(),
                    state: "open".into(),
                    labels: labels.clone(),
                    html_url: self.url(&format!("issues/{number}")),
                };
                self.issues.push(issue.clone());
                A::Issue(issue)
            }
            C::UpdateIssue {
                number,
                title,
                body,
                state,
            } => {
                if let Some(s) = state.as_deref().filter(|s| !["open", "closed"].contains(s)) {
                    return A::Error(GithubError::Other(format!(
                        "422: state `{s}` is not `open` or `closed`"
                    )));
                }
                match self.issues.iter_mut().find(|i| i.number == *number) {
                    Some(issue) => {
                        if let Some(t) = title {
                            issue.title = t.clone();
                        }
                        if let Some(b) = body {
                            issue.body = b.clone();
                        }
                        if let Some(s) = state {
                            issue.state = s.clone();
                        }
                        A::Issue(issue.clone())
                    }
                    None => not_found(format!("issue #{number}")),
                }
            }
            C::CreateRef { name, sha } => {
                if self.refs.contains_key(name) {
                    return A::Error(GithubError::Conflict(format!("422: Reference already exists: {name}")));
                }
                self.refs.insert(name.clone(), sha.clone());
                A::Ref(GitRef {
                    name: name.clone(),
                    sha: sha.clone(),
                })
            }
            C::GetRef { name } => match self.refs.get(name) {
                Some(sha) => A::Ref(GitRef {
                    name: name.clone(),
                    sha: sha.clone(),
                }),
                None => not_found(format!("ref {name}")),
            },
            C::UpdateRef { name, sha, force } => {
                let Some(current) = self.refs.get(name).cloned() else {
                    return not_found(format!("ref {name}"));
                };
                let fast_forward = self
                    .commits
                    .iter()
                    .any(|c| &c.sha == sha && c.parents.contains(&current));
                if !force && !fast_forward && &current != sha {
                    return A::Error(GithubError::Conflict(format!(
                        "422: Update is not a fast forward ({name} is at {current})"
                    )));
                }
                self.refs.insert(name.clone(), sha.clone());
                A::Ref(GitRef {
                    name: name.clone(),
                    sha: sha.clone(),
                })
            }
            C::CreateCommit { message, parents, .. } => {
                let n = self.id();
                let commit = Commit {
                    sha: format!("{n:040x}"),
                    message: message.clone(),
                    parents: parents.clone(),
                };
                self.commits.push(commit.clone());
                A::Commit(commit)
            }
            C::GetCommit { sha } => match self.commits.iter().find(|c| &c.sha == sha) {
                Some(c) => A::Commit(c.clone()),
                None => not_found(format!("commit {sha}")),
            },
            C::DeleteRef { name } => match self.refs.remove(name) {
                Some(_) => A::Done,
                None => not_found(format!("ref {name}")),
            },
        }
    }
}
