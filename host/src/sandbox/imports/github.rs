//! `tollgate:plugin/github`: each call checked against the step's GitHub grants
//! (`tollgate_vocab::github::Call`, the mapping the SDK's `MockHost` uses too) and against what
//! the step may reach (`tollgate_vocab::reach`: its own refs, the comments and issues its
//! plugin created), then made by the host's client (`crate::github`) with the token the host
//! holds. Every body and title is masked and every body ends with the host's owner marker.

use super::StepIo;
use crate::bindings::tollgate::plugin::github;
use crate::events::Event;
use crate::github::{Client, GithubError};
use crate::sandbox::capabilities::from_wit;
use tollgate_vocab::github::Call;
use tollgate_vocab::limits::MAX_GITHUB_BODY;
use tollgate_vocab::reach::{self, Owner, OwnerGrant, RefScope};

/// Who a step is on GitHub and which refs it may name: set by the host from the plugin's
/// source and the step's grants, never from anything the plugin says.
pub struct GithubReach {
    /// The owner its refs and markers carry.
    pub owner: Owner,
    /// The step id its markers carry.
    pub step: String,
    /// Its namespace and ref grants.
    pub refs: RefScope,
    /// Whose comments and issues it may change besides its own (`allow.owners`).
    pub others: Vec<OwnerGrant>,
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
    /// The client for `call`, once the step's grants allow it ([`StepIo::permit`]).
    fn github_for(&mut self, call: Call) -> Result<&Client, github::GithubError> {
        self.permit(call)?;
        self.client()
    }

    /// The client, made on the first call; only after [`StepIo::permit`].
    fn client(&mut self) -> Result<&Client, github::GithubError> {
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

impl StepIo {
    /// Refuse `call` unless the step's grants allow it; a denial is also said to the runner, as
    /// HTTP denials are.
    fn permit(&self, call: Call) -> Result<(), github::GithubError> {
        let granted: Vec<_> = self.net.effective.github.iter().map(|p| from_wit(*p)).collect();
        match call.allowed_by(&granted) {
            true => Ok(()),
            false => Err(self.deny(call.denied())),
        }
    }

    /// Say a denial to the runner, as HTTP denials are, and give it to the plugin.
    fn deny(&self, message: String) -> github::GithubError {
        self.sink.emit(Event::host_warning(format!(
            "{}: GitHub call denied: {message}",
            self.plugin
        )));
        github::GithubError::Denied(message)
    }

    fn reach(&self) -> Result<&GithubReach, github::GithubError> {
        self.reach
            .as_ref()
            .ok_or_else(|| github::GithubError::Unavailable("GitHub writes are not available while describing".into()))
    }

    /// The ref GitHub is asked about for the plugin's `name`.
    fn ref_name(&self, call: Call, name: &str) -> Result<String, github::GithubError> {
        let resolved = self.reach()?.refs.resolve(call, name);
        resolved.map_err(|message| self.deny(message))
    }

    /// A ref as the plugin named it.
    fn present(&self, r: crate::github::GitRef) -> github::GitRef {
        let name = match &self.reach {
            Some(reach) => reach.refs.present(&r.name),
            None => r.name,
        };
        github::GitRef { name, sha: r.sha }
    }

    /// `body` as posted: secrets masked, the host's owner marker last.
    fn body(&self, body: &str) -> Result<String, github::GithubError> {
        let reach = self.reach()?;
        if body.len() > MAX_GITHUB_BODY {
            return Err(github::GithubError::Other(format!(
                "the body is {} bytes; a plugin may write {MAX_GITHUB_BODY} (GitHub's 65536 characters less the \
                 host's owner marker)",
                body.len()
            )));
        }
        Ok(reach::mark(&self.masker.mask(body), &reach.owner, &reach.step))
    }

    /// Refuse `call` on a comment or issue whose `body` another owner (or nobody) marked, unless the
    /// step grants that owner's (`allow.owners`).
    fn check_owner(&self, call: Call, what: &str, body: &str) -> Result<(), github::GithubError> {
        let reach = self.reach()?;
        let found = reach::owner_of(body);
        if found == Some(reach.owner.as_str()) || reach.others.iter().any(|g| g.covers(found)) {
            return Ok(());
        }
        Err(self.deny(reach::not_owned(call, what, &reach.owner, found)))
    }
}

fn comment(c: crate::github::Comment) -> github::Comment {
    github::Comment {
        id: c.id,
        body: reach::unmark(&c.body).to_string(),
        author: c.author,
        html_url: c.html_url,
    }
}

fn issue(i: crate::github::Issue) -> github::Issue {
    github::Issue {
        number: i.number,
        title: i.title,
        body: reach::unmark(&i.body).to_string(),
        state: i.state,
        labels: i.labels,
        html_url: i.html_url,
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
        self.permit(Call::CreateComment)?;
        let body = self.body(&body)?;
        let client = self.client()?;
        client
            .create_comment(issue, &body)
            .await
            .map(comment)
            .map_err(wit_error)
    }

    async fn update_comment(&mut self, id: u64, body: String) -> Result<github::Comment, github::GithubError> {
        let current = self
            .github_for(Call::UpdateComment)?
            .get_comment(id)
            .await
            .map_err(wit_error)?;
        self.check_owner(Call::UpdateComment, &format!("comment {id}"), &current.body)?;
        let body = self.body(&body)?;
        let client = self.client()?;
        client.update_comment(id, &body).await.map(comment).map_err(wit_error)
    }

    async fn delete_comment(&mut self, id: u64) -> Result<(), github::GithubError> {
        let current = self
            .github_for(Call::DeleteComment)?
            .get_comment(id)
            .await
            .map_err(wit_error)?;
        self.check_owner(Call::DeleteComment, &format!("comment {id}"), &current.body)?;
        let client = self.client()?;
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
        self.permit(Call::CreateIssue)?;
        let (title, body) = (self.masker.mask(&title), self.body(&body)?);
        let client = self.client()?;
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
        let current = self
            .github_for(Call::UpdateIssue)?
            .get_issue(number)
            .await
            .map_err(wit_error)?;
        self.check_owner(Call::UpdateIssue, &format!("issue #{number}"), &current.body)?;
        // Nothing to change: the answer is whether the step may change it (drift-check claims the
        // issue it keeps this way), and the issue as it is.
        if title.is_none() && body.is_none() && state.is_none() {
            return Ok(issue(current));
        }
        let title = title.map(|t| self.masker.mask(&t));
        let body = body.map(|b| self.body(&b)).transpose()?;
        let client = self.client()?;
        client
            .update_issue(number, title.as_deref(), body.as_deref(), state.as_deref())
            .await
            .map(issue)
            .map_err(wit_error)
    }

    async fn create_ref(&mut self, name: String, sha: String) -> Result<github::GitRef, github::GithubError> {
        self.permit(Call::CreateRef)?;
        let name = self.ref_name(Call::CreateRef, &name)?;
        let client = self.client()?;
        let created = client.create_ref(&name, &sha).await.map_err(wit_error)?;
        Ok(self.present(created))
    }

    async fn get_ref(&mut self, name: String) -> Result<github::GitRef, github::GithubError> {
        self.permit(Call::GetRef)?;
        let name = self.ref_name(Call::GetRef, &name)?;
        let client = self.client()?;
        let found = client.get_ref(&name).await.map_err(wit_error)?;
        Ok(self.present(found))
    }

    async fn delete_ref(&mut self, name: String) -> Result<(), github::GithubError> {
        self.permit(Call::DeleteRef)?;
        let name = self.ref_name(Call::DeleteRef, &name)?;
        let client = self.client()?;
        client.delete_ref(&name).await.map_err(wit_error)
    }

    async fn update_ref(
        &mut self,
        name: String,
        sha: String,
        force: bool,
    ) -> Result<github::GitRef, github::GithubError> {
        self.permit(Call::UpdateRef)?;
        let name = self.ref_name(Call::UpdateRef, &name)?;
        let client = self.client()?;
        let moved = client.update_ref(&name, &sha, force).await.map_err(wit_error)?;
        Ok(self.present(moved))
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
