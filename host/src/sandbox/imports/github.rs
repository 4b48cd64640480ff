//! `tollgate:plugin/github`: each call checked against the step's GitHub grants
//! (`tollgate_vocab::github::Call`, the mapping the SDK's `MockHost` uses too), then made by
//! the host's client (`crate::github`) with the token the host holds.

use super::StepIo;
use crate::bindings::tollgate::plugin::github;
use crate::bindings::tollgate::plugin::types::GithubPermission;
use crate::events::Event;
use crate::github::{Client, GithubError};
use tollgate_vocab::github::Call;

/// The vocabulary's permission for the WIT's.
fn vocab(p: GithubPermission) -> tollgate_vocab::GithubPermission {
    use tollgate_vocab::GithubPermission as P;
    match p {
        GithubPermission::PullRequestsRead => P::PullRequestsRead,
        GithubPermission::PullRequestsWrite => P::PullRequestsWrite,
        GithubPermission::IssuesRead => P::IssuesRead,
        GithubPermission::IssuesWrite => P::IssuesWrite,
        GithubPermission::ContentsRead => P::ContentsRead,
        GithubPermission::ContentsWrite => P::ContentsWrite,
    }
}

fn wit_error(e: GithubError) -> github::GithubError {
    match e {
        GithubError::NotFound(m) => github::GithubError::NotFound(m),
        GithubError::Conflict(m) => github::GithubError::Conflict(m),
        GithubError::RateLimited(m) => github::GithubError::RateLimited(m),
        GithubError::Unavailable(m) => github::GithubError::Unavailable(m),
        GithubError::Other(m) => github::GithubError::Other(m),
    }
}

impl StepIo {
    /// The client for `call`, once the step's grants allow it; a denial is also said to the
    /// runner, as HTTP denials are.
    fn github_for(&mut self, call: Call) -> Result<&Client, github::GithubError> {
        let granted: Vec<_> = self.net.effective.github.iter().map(|p| vocab(*p)).collect();
        if !call.allowed_by(&granted) {
            let message = call.denied();
            self.sink.emit(Event::host_warning(format!(
                "{}: GitHub call denied: {message}",
                self.plugin
            )));
            return Err(github::GithubError::Denied(message));
        }
        if self.github_client.is_none() {
            let client = match &self.github {
                Some(config) => Client::new(config, self.net.clone(), self.deadline),
                None => Err(GithubError::Unavailable(
                    "GitHub calls are not available here (while describing, or in a run the host gave no GitHub \
                     configuration)"
                        .into(),
                )),
            };
            self.github_client = Some(client);
        }
        match self.github_client.as_ref() {
            Some(Ok(client)) => Ok(client),
            Some(Err(e)) => Err(wit_error(e.clone())),
            None => unreachable!("set above"),
        }
    }
}

fn comment(c: crate::github::Comment) -> github::Comment {
    github::Comment {
        id: c.id,
        body: c.body,
        author: c.author,
        html_url: c.html_url,
    }
}

fn issue(i: crate::github::Issue) -> github::Issue {
    github::Issue {
        number: i.number,
        title: i.title,
        body: i.body,
        state: i.state,
        labels: i.labels,
        html_url: i.html_url,
    }
}

fn git_ref(r: crate::github::GitRef) -> github::GitRef {
    github::GitRef {
        name: r.name,
        sha: r.sha,
    }
}

fn commit(c: crate::github::Commit) -> github::Commit {
    github::Commit {
        sha: c.sha,
        message: c.message,
        parents: c.parents,
    }
}

impl github::Host for StepIo {
    async fn get_pull_request(&mut self, number: u64) -> Result<github::PullRequest, github::GithubError> {
        let pr = self
            .github_for(Call::GetPullRequest)?
            .get_pull_request(number)
            .await
            .map_err(wit_error)?;
        Ok(github::PullRequest {
            number: pr.number,
            title: pr.title,
            author: pr.author,
            head_sha: pr.head_sha,
            base_ref: pr.base_ref,
            head_ref: pr.head_ref,
            draft: pr.draft,
            html_url: pr.html_url,
        })
    }

    async fn list_comments(&mut self, issue: u64) -> Result<Vec<github::Comment>, github::GithubError> {
        let client = self.github_for(Call::ListComments)?;
        let comments = client.list_comments(issue).await.map_err(wit_error)?;
        Ok(comments.into_iter().map(comment).collect())
    }

    async fn create_comment(&mut self, issue: u64, body: String) -> Result<github::Comment, github::GithubError> {
        let client = self.github_for(Call::CreateComment)?;
        client
            .create_comment(issue, &body)
            .await
            .map(comment)
            .map_err(wit_error)
    }

    async fn update_comment(&mut self, id: u64, body: String) -> Result<github::Comment, github::GithubError> {
        let client = self.github_for(Call::UpdateComment)?;
        client.update_comment(id, &body).await.map(comment).map_err(wit_error)
    }

    async fn delete_comment(&mut self, id: u64) -> Result<(), github::GithubError> {
        let client = self.github_for(Call::DeleteComment)?;
        client.delete_comment(id).await.map_err(wit_error)
    }

    async fn find_issues(
        &mut self,
        labels: Vec<String>,
        state: String,
    ) -> Result<Vec<github::Issue>, github::GithubError> {
        let client = self.github_for(Call::FindIssues)?;
        let issues = client.find_issues(&labels, &state).await.map_err(wit_error)?;
        Ok(issues.into_iter().map(issue).collect())
    }

    async fn create_issue(
        &mut self,
        title: String,
        body: String,
        labels: Vec<String>,
    ) -> Result<github::Issue, github::GithubError> {
        let client = self.github_for(Call::CreateIssue)?;
        client
            .create_issue(&title, &body, &labels)
            .await
            .map(issue)
            .map_err(wit_error)
    }

    async fn update_issue(
        &mut self,
        number: u64,
        title: Option<String>,
        body: Option<String>,
        state: Option<String>,
    ) -> Result<github::Issue, github::GithubError> {
        let client = self.github_for(Call::UpdateIssue)?;
        client
            .update_issue(number, title.as_deref(), body.as_deref(), state.as_deref())
            .await
            .map(issue)
            .map_err(wit_error)
    }

    async fn create_ref(&mut self, name: String, sha: String) -> Result<github::GitRef, github::GithubError> {
        let client = self.github_for(Call::CreateRef)?;
        client.create_ref(&name, &sha).await.map(git_ref).map_err(wit_error)
    }

    async fn get_ref(&mut self, name: String) -> Result<github::GitRef, github::GithubError> {
        let client = self.github_for(Call::GetRef)?;
        client.get_ref(&name).await.map(git_ref).map_err(wit_error)
    }

    async fn delete_ref(&mut self, name: String) -> Result<(), github::GithubError> {
        let client = self.github_for(Call::DeleteRef)?;
        client.delete_ref(&name).await.map_err(wit_error)
    }

    async fn update_ref(
        &mut self,
        name: String,
        sha: String,
        force: bool,
    ) -> Result<github::GitRef, github::GithubError> {
        let client = self.github_for(Call::UpdateRef)?;
        client
            .update_ref(&name, &sha, force)
            .await
            .map(git_ref)
            .map_err(wit_error)
    }

    async fn create_commit(
        &mut self,
        message: String,
        tree: Option<String>,
        parents: Vec<String>,
    ) -> Result<github::Commit, github::GithubError> {
        let client = self.github_for(Call::CreateCommit)?;
        client
            .create_commit(&message, tree.as_deref(), &parents)
            .await
            .map(commit)
            .map_err(wit_error)
    }

    async fn get_commit(&mut self, sha: String) -> Result<github::Commit, github::GithubError> {
        let client = self.github_for(Call::GetCommit)?;
        client.get_commit(&sha).await.map(commit).map_err(wit_error)
    }
}
