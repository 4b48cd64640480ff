//! The calls of `tollgate:plugin/github` as GitHub REST requests.
//!
//! - Typed answers, `Link` pagination, and the retry loop around each call.
//! - **No duplicates.** A create (comment or issue) whose attempt failed *ambiguously* (a
//!   reset, a timeout, a 5xx: sent, never answered) may have been applied, so before it is
//!   sent again the client lists what could be it and adopts a match: same issue, identical
//!   body (and title and label set for issues), created since the first attempt by the
//!   server's clock (the listing's `date` minus the time since the first attempt, less two
//!   seconds for whole-second timestamps), by the same author once an earlier create showed
//!   the login, and not already returned to this step.
//! - If that listing fails, the create is retried as a whole, never repeated blind.
//! - The token's user is never asked for with `GET /user`: a workflow's `GITHUB_TOKEN` (an
//!   installation token) may not call it.

use super::link::next_link;
use super::retry::{Backoff, GiveUp, Retry, RetryPolicy, jitter, rate_limit};
use super::transport::{Base, Failure, Reply, exchange};
use super::{GithubConfig, GithubError, MAX_LIST_BYTES, MAX_LIST_ITEMS, PER_PAGE};
use crate::bindings::tollgate::plugin::types::Level;
use crate::events::Event;
use crate::sandbox::net::NetPolicy;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Git's empty tree, which every repository has: the tree of a commit that only carries a
/// message (lock and marker records).
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// How far a candidate's `created_at` may precede the first attempt, by the server's
/// clock, and still be adopted: timestamps are whole seconds.
const CREATED_MARGIN: Duration = Duration::from_secs(2);
/// How far before the first attempt, by our clock, the listing asks GitHub for (`since`):
/// generous, since a runner's clock may be off.
const SINCE_MARGIN: Duration = Duration::from_secs(3600);

/// An issue or pull-request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// Its Markdown.
    pub body: String,
    /// Its author's login.
    pub author: String,
    /// Where it is on the web.
    pub html_url: String,
}

/// An issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its Markdown.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Its labels' names.
    pub labels: Vec<String>,
    /// Where it is on the web.
    pub html_url: String,
}

/// Pull-request facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its author's login.
    pub author: String,
    /// The head commit.
    pub head_sha: String,
    /// The branch it merges into.
    pub base_ref: String,
    /// The branch it merges from.
    pub head_ref: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// Where it is on the web.
    pub html_url: String,
}

/// A git commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its sha.
    pub sha: String,
    /// Its message.
    pub message: String,
    /// Its parents' shas.
    pub parents: Vec<String>,
}

/// A git ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// Its full name, `refs/…`.
    pub name: String,
    /// The object it points at.
    pub sha: String,
}

// GitHub's JSON, as far as the calls need it.

#[derive(Deserialize)]
struct UserJson {
    login: String,
}

#[derive(Deserialize)]
struct CommentJson {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<UserJson>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LabelJson {
    Named { name: String },
    Bare(String),
}

#[derive(Deserialize)]
struct IssueJson {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    labels: Vec<LabelJson>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    pull_request: Option<Value>,
    #[serde(default)]
    user: Option<UserJson>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct BranchJson {
    #[serde(default)]
    sha: String,
    #[serde(rename = "ref", default)]
    name: String,
}

#[derive(Deserialize)]
struct PullJson {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    user: Option<UserJson>,
    head: BranchJson,
    base: BranchJson,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct ShaJson {
    sha: String,
}

#[derive(Deserialize)]
struct CommitJson {
    sha: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    parents: Vec<ShaJson>,
}

#[derive(Deserialize)]
struct RefJson {
    #[serde(rename = "ref")]
    name: String,
    object: ShaJson,
}

impl CommentJson {
    fn into_comment(self) -> Comment {
        Comment {
            id: self.id,
            body: self.body.unwrap_or_default(),
            author: self.user.map(|u| u.login).unwrap_or_default(),
            html_url: self.html_url,
        }
    }
}

impl IssueJson {
    fn label_names(&self) -> Vec<String> {
        self.labels
            .iter()
            .map(|l| match l {
                LabelJson::Named { name } | LabelJson::Bare(name) => name.clone(),
            })
            .collect()
    }

    fn into_issue(self) -> Issue {
        Issue {
            labels: self.label_names(),
            number: self.number,
            title: self.title,
            body: self.body.unwrap_or_default(),
            state: self.state,
            html_url: self.html_url,
        }
    }
}

/// A create that, repeated after an ambiguous failure, could make a duplicate.
enum Dedupe<'a> {
    Comment {
        issue: u64,
        body: &'a str,
    },
    Issue {
        title: &'a str,
        body: &'a str,
        labels: &'a [String],
    },
}

/// What a request came to.
enum Got {
    /// GitHub's 2xx answer.
    Reply(Reply),
    /// No answer to this attempt, but what an earlier, ambiguous one created.
    Adopted(Value),
}

/// A request's end, and whether an attempt of it may have been applied unanswered.
struct Sent {
    got: Result<Got, GithubError>,
    after_ambiguous: bool,
}

/// What one attempt's outcome means for the request.
enum Step {
    Done(Reply),
    Retry {
        why: Retry,
        error: GithubError,
        ambiguous: bool,
    },
    Fail(GithubError),
}

/// The host's GitHub client for one step: one repository, one token.
pub struct Client {
    net: NetPolicy,
    base: Base,
    token: String,
    repo: String,
    policy: RetryPolicy,
    /// Comment ids and issue numbers already returned to the step: never adopted again.
    returned: Mutex<HashSet<(char, u64)>>,
    /// The token's login, once a create has shown it.
    login: Mutex<Option<String>>,
}

impl Client {
    /// A client for `config` over the step's connector, whose retries never wait past
    /// `deadline` (the step's end); `unavailable` (saying what to set) without a token, a
    /// repository or a usable API URL.
    pub fn new(config: &GithubConfig, net: NetPolicy, deadline: Option<Instant>) -> Result<Self, GithubError> {
        let token = config.token.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
            GithubError::Unavailable(
                "the host has no GitHub token: set the environment variable GITHUB_TOKEN, or the action's \
                 `github-token` input (it defaults to the job's token)"
                    .into(),
            )
        })?;
        let repo = config.repository.clone().unwrap_or_default();
        let valid_repo = repo.split_once('/').is_some_and(|(owner, name)| {
            let ok = |s: &str| {
                !s.is_empty()
                    && s != "."
                    && s != ".."
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            };
            ok(owner) && ok(name)
        });
        if !valid_repo {
            return Err(GithubError::Unavailable(format!(
                "the host knows no repository to call GitHub for{}: set the environment variable GITHUB_REPOSITORY \
                 to `owner/name` (a runner sets it)",
                if repo.is_empty() {
                    String::new()
                } else {
                    format!(" (`{repo}` is not `owner/name`)")
                }
            )));
        }
        let base = Base::parse(&config.api_url)
            .map_err(|e| GithubError::Unavailable(format!("{e}; set GITHUB_API_URL to the API's base URL")))?;
        Ok(Self {
            net,
            base,
            token,
            repo,
            policy: RetryPolicy {
                deadline,
                ..config.retry
            },
            returned: Mutex::default(),
            login: Mutex::default(),
        })
    }

    fn repo_path(&self, rest: &str) -> String {
        self.base.target(&format!("/repos/{}{rest}", self.repo))
    }

    fn note(&self, message: String) {
        self.net.sink.emit(Event::Log {
            level: Level::Info,
            message,
            host: true,
        });
    }

    fn remember(&self, kind: char, id: u64, author: Option<&str>) {
        self.returned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((kind, id));
        if let Some(login) = author.filter(|l| !l.is_empty()) {
            *self.login.lock().unwrap_or_else(|e| e.into_inner()) = Some(login.to_string());
        }
    }

    // The calls.

    /// `GET /repos/{repo}/pulls/{number}`.
    pub async fn get_pull_request(&self, number: u64) -> Result<PullRequest, GithubError> {
        let pr: PullJson = self.get(&self.repo_path(&format!("/pulls/{number}"))).await?;
        Ok(PullRequest {
            number: pr.number,
            title: pr.title,
            author: pr.user.map(|u| u.login).unwrap_or_default(),
            head_sha: pr.head.sha,
            base_ref: pr.base.name,
            head_ref: pr.head.name,
            draft: pr.draft.unwrap_or(false),
            html_url: pr.html_url,
        })
    }

    /// Every comment on an issue or pull request, oldest first.
    pub async fn list_comments(&self, issue: u64) -> Result<Vec<Comment>, GithubError> {
        let target = self.repo_path(&format!("/issues/{issue}/comments?per_page={PER_PAGE}"));
        let comments: Vec<CommentJson> = self.list(target).await?;
        Ok(comments.into_iter().map(CommentJson::into_comment).collect())
    }

    /// Comment on an issue or pull request; never twice for one call.
    pub async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment, GithubError> {
        let target = self.repo_path(&format!("/issues/{issue}/comments"));
        let sent = self
            .send(
                Method::POST,
                &target,
                Some(json!({ "body": body })),
                Some(&Dedupe::Comment { issue, body }),
            )
            .await;
        let comment: CommentJson = parse(&target, sent.got?)?;
        self.remember('c', comment.id, comment.user.as_ref().map(|u| u.login.as_str()));
        Ok(comment.into_comment())
    }

    /// One comment, by id: the host reads its owner marker before a plugin may change it.
    pub async fn get_comment(&self, id: u64) -> Result<Comment, GithubError> {
        let comment: CommentJson = self.get(&self.repo_path(&format!("/issues/comments/{id}"))).await?;
        Ok(comment.into_comment())
    }

    /// One issue or pull request, by number: the host reads its owner marker before a plugin
    /// may change it.
    pub async fn get_issue(&self, number: u64) -> Result<Issue, GithubError> {
        let issue: IssueJson = self.get(&self.repo_path(&format!("/issues/{number}"))).await?;
        Ok(issue.into_issue())
    }

    /// Replace a comment's body.
    pub async fn update_comment(&self, id: u64, body: &str) -> Result<Comment, GithubError> {
        let target = self.repo_path(&format!("/issues/comments/{id}"));
        let sent = self
            .send(Method::PATCH, &target, Some(json!({ "body": body })), None)
            .await;
        let comment: CommentJson = parse(&target, sent.got?)?;
        Ok(comment.into_comment())
    }

    /// Delete a comment. A 404 after an attempt that may have deleted it is success.
    pub async fn delete_comment(&self, id: u64) -> Result<(), GithubError> {
        let target = self.repo_path(&format!("/issues/comments/{id}"));
        let sent = self.send(Method::DELETE, &target, None, None).await;
        match sent.got {
            Err(GithubError::NotFound(_)) if sent.after_ambiguous => Ok(()),
            got => got.map(|_| ()),
        }
    }

    /// Issues (not pull requests) with every one of `labels`, in `state`.
    pub async fn find_issues(&self, labels: &[String], state: &str) -> Result<Vec<Issue>, GithubError> {
        if !["open", "closed", "all"].contains(&state) {
            return Err(GithubError::Other(format!(
                "state `{state}` is not `open`, `closed` or `all`"
            )));
        }
        let mut target = format!("/issues?state={state}&per_page={PER_PAGE}");
        if !labels.is_empty() {
            target.push_str(&format!("&labels={}", encode(&labels.join(","), false)));
        }
        let issues: Vec<IssueJson> = self.list(self.repo_path(&target)).await?;
        Ok(issues
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .map(IssueJson::into_issue)
            .collect())
    }

    /// Open an issue; never twice for one call.
    pub async fn create_issue(&self, title: &str, body: &str, labels: &[String]) -> Result<Issue, GithubError> {
        let target = self.repo_path("/issues");
        let sent = self
            .send(
                Method::POST,
                &target,
                Some(json!({ "title": title, "body": body, "labels": labels })),
                Some(&Dedupe::Issue { title, body, labels }),
            )
            .await;
        let issue: IssueJson = parse(&target, sent.got?)?;
        self.remember('i', issue.number, issue.user.as_ref().map(|u| u.login.as_str()));
        Ok(issue.into_issue())
    }

    /// Change an issue's title, body or state; `None` keeps the current value.
    pub async fn update_issue(
        &self,
        number: u64,
        title: Option<&str>,
        body: Option<&str>,
        state: Option<&str>,
    ) -> Result<Issue, GithubError> {
        let mut patch = serde_json::Map::new();
        for (key, value) in [("title", title), ("body", body), ("state", state)] {
            if let Some(v) = value {
                patch.insert(key.into(), Value::String(v.into()));
            }
        }
        let target = self.repo_path(&format!("/issues/{number}"));
        let sent = self
            .send(Method::PATCH, &target, Some(Value::Object(patch)), None)
            .await;
        let issue: IssueJson = parse(&target, sent.got?)?;
        Ok(issue.into_issue())
    }

    /// Create a ref; `conflict` when it exists. After an attempt that may have created it,
    /// an existing ref at `sha` is this call's.
    pub async fn create_ref(&self, name: &str, sha: &str) -> Result<GitRef, GithubError> {
        check_ref(name)?;
        let target = self.repo_path("/git/refs");
        let sent = self
            .send(Method::POST, &target, Some(json!({ "ref": name, "sha": sha })), None)
            .await;
        match sent.got {
            Err(GithubError::Conflict(why)) if sent.after_ambiguous => self.already(name, sha, why).await,
            got => into_ref(&target, got),
        }
    }

    /// The ref `name` (`refs/…`).
    pub async fn get_ref(&self, name: &str) -> Result<GitRef, GithubError> {
        check_ref(name)?;
        let target = self.repo_path(&format!("/git/ref/{}", ref_path(name)));
        let r: RefJson = self.get(&target).await?;
        Ok(GitRef {
            name: r.name,
            sha: r.object.sha,
        })
    }

    /// Move a ref; without `force` only a fast-forward. After an attempt that may have moved
    /// it, a ref already at `sha` is this call's.
    pub async fn update_ref(&self, name: &str, sha: &str, force: bool) -> Result<GitRef, GithubError> {
        check_ref(name)?;
        let target = self.repo_path(&format!("/git/refs/{}", ref_path(name)));
        let sent = self
            .send(
                Method::PATCH,
                &target,
                Some(json!({ "sha": sha, "force": force })),
                None,
            )
            .await;
        match sent.got {
            Err(GithubError::Conflict(why)) if sent.after_ambiguous => self.already(name, sha, why).await,
            got => into_ref(&target, got),
        }
    }

    /// Delete a ref. A missing ref after an attempt that may have deleted it is success.
    pub async fn delete_ref(&self, name: &str) -> Result<(), GithubError> {
        check_ref(name)?;
        let target = self.repo_path(&format!("/git/refs/{}", ref_path(name)));
        let sent = self.send(Method::DELETE, &target, None, None).await;
        match sent.got {
            Err(GithubError::NotFound(_) | GithubError::Conflict(_)) if sent.after_ambiguous => {
                match self.get_ref(name).await {
                    Err(GithubError::NotFound(_)) => Ok(()),
                    Ok(_) => Err(GithubError::Conflict(format!("{name} still exists after deleting it"))),
                    Err(e) => Err(e),
                }
            }
            got => got.map(|_| ()),
        }
    }

    /// Create a commit of `tree` (the empty tree by default) with these parents. A retry
    /// after a lost answer may leave an unreferenced commit behind; nothing points at it.
    pub async fn create_commit(
        &self,
        message: &str,
        tree: Option<&str>,
        parents: &[String],
    ) -> Result<Commit, GithubError> {
        let target = self.repo_path("/git/commits");
        let body = json!({ "message": message, "tree": tree.unwrap_or(EMPTY_TREE), "parents": parents });
        let sent = self.send(Method::POST, &target, Some(body), None).await;
        let c: CommitJson = parse(&target, sent.got?)?;
        Ok(into_commit(c))
    }

    /// The commit `sha`.
    pub async fn get_commit(&self, sha: &str) -> Result<Commit, GithubError> {
        let target = self.repo_path(&format!("/git/commits/{}", encode(sha, false)));
        let c: CommitJson = self.get(&target).await?;
        Ok(into_commit(c))
    }

    /// A conflict on a ref write after an ambiguous attempt: the ref at `sha` means the
    /// earlier attempt did it.
    async fn already(&self, name: &str, sha: &str, why: String) -> Result<GitRef, GithubError> {
        match self.get_ref(name).await {
            Ok(r) if r.sha == sha => Ok(r),
            _ => Err(GithubError::Conflict(why)),
        }
    }

    // Requests.

    async fn get<T: DeserializeOwned>(&self, target: &str) -> Result<T, GithubError> {
        let sent = self.send(Method::GET, target, None, None).await;
        parse(target, sent.got?)
    }

    /// Every item of a paginated list, following `Link: rel="next"`, bounded.
    async fn list<T: DeserializeOwned>(&self, first: String) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut next = Some(first);
        while let Some(target) = next.take() {
            let sent = self.send(Method::GET, &target, None, None).await;
            let reply = match sent.got? {
                Got::Reply(reply) => reply,
                Got::Adopted(_) => unreachable!("only creates adopt"),
            };
            bytes += reply.body.len();
            let page: Vec<T> = serde_json::from_slice(&reply.body)
                .map_err(|e| GithubError::Other(format!("GET {target}: GitHub's answer is not a list ({e})")))?;
            items.extend(page);
            if items.len() > MAX_LIST_ITEMS || bytes > MAX_LIST_BYTES {
                return Err(GithubError::Other(format!(
                    "GET {target}: the list passes {MAX_LIST_ITEMS} items or {}; the host gathers no more",
                    bytesize::ByteSize::b(MAX_LIST_BYTES as u64)
                )));
            }
            next = link_next(&reply)
                .map(|url| self.base.target_of(&url))
                .transpose()
                .map_err(GithubError::Other)?;
        }
        Ok(items)
    }

    /// One request, retried as [`RetryPolicy`] allows; a create (`dedupe`) is not repeated
    /// after an ambiguous failure until a listing shows it was not applied.
    async fn send(&self, method: Method, target: &str, body: Option<Value>, dedupe: Option<&Dedupe<'_>>) -> Sent {
        let body = body.map(|b| b.to_string().into_bytes());
        let mut backoff = Backoff::new(self.policy);
        let first = (Instant::now(), SystemTime::now());
        let mut ambiguous = false;
        // Set after an ambiguous failure of a create: look before sending again.
        let mut look_first = false;
        loop {
            let step = if look_first && let Some(dedupe) = dedupe {
                match self.find_applied(dedupe, first).await {
                    Ok(Some(found)) => {
                        self.note(format!(
                            "GitHub: {method} {target} had been applied before its answer was lost; using that"
                        ));
                        return Sent {
                            got: Ok(Got::Adopted(found)),
                            after_ambiguous: true,
                        };
                    }
                    Ok(None) => {
                        look_first = false;
                        continue;
                    }
                    Err(Step::Fail(e)) => Step::Fail(e),
                    Err(Step::Retry { why, error, .. }) => Step::Retry {
                        why,
                        error,
                        ambiguous: false,
                    },
                    Err(Step::Done(_)) => unreachable!("a failed listing is never done"),
                }
            } else {
                let outcome = exchange(&self.net, &self.base, &self.token, &method, target, body.as_deref()).await;
                classify(&method, target, outcome)
            };
            let (why, error) = match step {
                Step::Done(reply) => {
                    return Sent {
                        got: Ok(Got::Reply(reply)),
                        after_ambiguous: ambiguous,
                    };
                }
                Step::Fail(e) => {
                    return Sent {
                        got: Err(e),
                        after_ambiguous: ambiguous,
                    };
                }
                Step::Retry {
                    why,
                    error,
                    ambiguous: maybe_applied,
                } => {
                    if maybe_applied && method != Method::GET {
                        ambiguous = true;
                        look_first = dedupe.is_some();
                    }
                    (why, error)
                }
            };
            match backoff.next(why, jitter()) {
                Ok(wait) => {
                    self.note(format!(
                        "GitHub: {error}; retrying in {} (attempt {} of {})",
                        humantime::format_duration(Duration::from_millis(wait.as_millis() as u64)),
                        backoff.attempts(),
                        backoff.policy().max_attempts
                    ));
                    tokio::time::sleep(wait).await;
                }
                Err(give_up) => {
                    return Sent {
                        got: Err(gave_up(error, give_up, ambiguous, backoff.policy())),
                        after_ambiguous: ambiguous,
                    };
                }
            }
        }
    }

    /// After an ambiguous create: what it may have created, if GitHub has it. `Err` is the
    /// listing's own failure, to be retried like a failed attempt.
    async fn find_applied(&self, dedupe: &Dedupe<'_>, first: (Instant, SystemTime)) -> Result<Option<Value>, Step> {
        let since = encode(
            &humantime::format_rfc3339_seconds(first.1.checked_sub(SINCE_MARGIN).unwrap_or(SystemTime::UNIX_EPOCH))
                .to_string(),
            false,
        );
        let mut target = Some(match dedupe {
            Dedupe::Comment { issue, .. } => {
                self.repo_path(&format!("/issues/{issue}/comments?per_page={PER_PAGE}&since={since}"))
            }
            Dedupe::Issue { labels, .. } => {
                let mut t = format!("/issues?state=all&per_page={PER_PAGE}&since={since}");
                if !labels.is_empty() {
                    t.push_str(&format!("&labels={}", encode(&labels.join(","), false)));
                }
                self.repo_path(&t)
            }
        });
        let login = self.login.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut seen = 0usize;
        let mut best: Option<(SystemTime, u64, Value)> = None;
        while let Some(page_target) = target.take() {
            let outcome = exchange(&self.net, &self.base, &self.token, &Method::GET, &page_target, None).await;
            let reply = match classify(&Method::GET, &page_target, outcome) {
                Step::Done(reply) => reply,
                other => return Err(other),
            };
            // The server's clock at the first attempt: its `date` now, less the time since.
            let server_now = reply
                .headers
                .get(http::header::DATE)
                .and_then(|d| d.to_str().ok())
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .unwrap_or_else(SystemTime::now);
            let window_start = server_now - first.0.elapsed() - CREATED_MARGIN;
            let page: Vec<Value> = serde_json::from_slice(&reply.body).map_err(|e| {
                Step::Fail(GithubError::Other(format!(
                    "GET {page_target}: GitHub's answer is not a list ({e})"
                )))
            })?;
            seen += page.len();
            for item in page {
                let Some((created, id)) = self.matches(dedupe, &item, login.as_deref()) else {
                    continue;
                };
                if created >= window_start && best.as_ref().is_none_or(|(t, i, _)| (created, id) < (*t, *i)) {
                    best = Some((created, id, item));
                }
            }
            if seen > MAX_LIST_ITEMS {
                break;
            }
            target = match link_next(&reply).map(|url| self.base.target_of(&url)) {
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => return Err(Step::Fail(GithubError::Other(e))),
                None => None,
            };
        }
        Ok(best.map(|(_, _, item)| item))
    }

    /// `(created_at, id)` of a listed item that could be what `dedupe` created.
    fn matches(&self, dedupe: &Dedupe<'_>, item: &Value, login: Option<&str>) -> Option<(SystemTime, u64)> {
        let returned = self.returned.lock().unwrap_or_else(|e| e.into_inner());
        match dedupe {
            Dedupe::Comment { body, .. } => {
                let c: CommentJson = serde_json::from_value(item.clone()).ok()?;
                let author = c.user.as_ref().map(|u| u.login.as_str());
                let ok = same_text(c.body.as_deref().unwrap_or_default(), body)
                    && login.is_none_or(|l| author == Some(l))
                    && !returned.contains(&('c', c.id));
                ok.then(|| Some((created(c.created_at.as_deref())?, c.id)))?
            }
            Dedupe::Issue { title, body, labels } => {
                let i: IssueJson = serde_json::from_value(item.clone()).ok()?;
                let mut have: Vec<String> = i.label_names().iter().map(|l| l.to_lowercase()).collect();
                let mut want: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
                have.sort();
                have.dedup();
                want.sort();
                want.dedup();
                let author = i.user.as_ref().map(|u| u.login.as_str());
                let ok = i.pull_request.is_none()
                    && i.title == *title
                    && same_text(i.body.as_deref().unwrap_or_default(), body)
                    && have == want
                    && login.is_none_or(|l| author == Some(l))
                    && !returned.contains(&('i', i.number));
                ok.then(|| Some((created(i.created_at.as_deref())?, i.number)))?
            }
        }
    }
}

/// What one attempt's outcome means: done, retry (and whether it may have been applied), or
/// a final error.
fn classify(method: &Method, target: &str, outcome: Result<Reply, Failure>) -> Step {
    match outcome {
        Ok(reply) if (200..300).contains(&reply.status) => Step::Done(reply),
        Ok(reply) => {
            let message = github_message(&reply.body);
            let status = reply.status;
            let said = format!("{method} {target} answered {status}: {message}");
            if let Some(wait) = rate_limit(status, &reply.headers, &message) {
                return Step::Retry {
                    why: Retry::After(wait),
                    error: GithubError::RateLimited(said),
                    ambiguous: false,
                };
            }
            if status >= 500 {
                return Step::Retry {
                    why: Retry::Backoff,
                    error: GithubError::Other(said),
                    ambiguous: true,
                };
            }
            Step::Fail(match status {
                404 => GithubError::NotFound(said),
                409 | 422 => GithubError::Conflict(said),
                401 => GithubError::Other(format!(
                    "{said} (GitHub refused the host's token: check GITHUB_TOKEN or the action's `github-token` input)"
                )),
                403 => GithubError::Other(format!(
                    "{said} (the token may lack this permission: check the job's `permissions:`)"
                )),
                _ => GithubError::Other(said),
            })
        }
        Err(Failure::NotSent(m)) => Step::Retry {
            why: Retry::Backoff,
            error: GithubError::Other(format!("{method} {target}: {m}")),
            ambiguous: false,
        },
        Err(Failure::Lost(m)) => Step::Retry {
            why: Retry::Backoff,
            error: GithubError::Other(format!("{method} {target}: {m}")),
            ambiguous: true,
        },
        Err(Failure::Final(e)) => Step::Fail(e),
    }
}

/// The error a request ends with when retrying stops.
fn gave_up(last: GithubError, why: GiveUp, ambiguous: bool, policy: RetryPolicy) -> GithubError {
    let after = match why {
        GiveUp::Attempts(n) => format!("gave up after {n} attempts"),
        GiveUp::Budget(wait) => format!(
            "gave up: waiting {} more would pass the retry budget of {}",
            humantime::format_duration(Duration::from_secs(wait.as_secs().max(1))),
            humantime::format_duration(policy.budget)
        ),
        GiveUp::Deadline(wait) => format!(
            "gave up: waiting {} more would outlast the step's timeout; give the step a longer `timeout` \
             or run it again later",
            humantime::format_duration(Duration::from_secs(wait.as_secs().max(1))),
        ),
    };
    let maybe = if ambiguous {
        "; an attempt may have been applied"
    } else {
        ""
    };
    match last {
        GithubError::RateLimited(m) => GithubError::RateLimited(format!("{m} ({after}{maybe})")),
        other => GithubError::Other(format!("{} ({after}{maybe})", error_text(other))),
    }
}

fn error_text(e: GithubError) -> String {
    match e {
        GithubError::NotFound(m)
        | GithubError::Conflict(m)
        | GithubError::RateLimited(m)
        | GithubError::Unavailable(m)
        | GithubError::Other(m) => m,
    }
}

/// GitHub's `message` (with the `errors` of a validation failure), or the start of the body.
fn github_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return text.chars().take(200).collect::<String>().trim().to_string();
    };
    let mut message = value["message"].as_str().unwrap_or("").to_string();
    if let Some(errors) = value["errors"].as_array() {
        let details: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e["message"]
                    .as_str()
                    .map(String::from)
                    .or_else(|| e.as_str().map(String::from))
                    .or_else(|| {
                        let (field, code) = (e["field"].as_str()?, e["code"].as_str()?);
                        Some(format!("{field} {code}"))
                    })
            })
            .take(5)
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    message.chars().take(1000).collect()
}

fn link_next(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_link)
}

fn parse<T: DeserializeOwned>(target: &str, got: Got) -> Result<T, GithubError> {
    let value = match got {
        Got::Reply(reply) => serde_json::from_slice::<Value>(&reply.body),
        Got::Adopted(value) => Ok(value),
    };
    value.and_then(serde_json::from_value).map_err(|e| {
        GithubError::Other(format!(
            "{target}: GitHub's answer does not have the expected shape ({e})"
        ))
    })
}

fn into_ref(target: &str, got: Result<Got, GithubError>) -> Result<GitRef, GithubError> {
    let r: RefJson = parse(target, got?)?;
    Ok(GitRef {
        name: r.name,
        sha: r.object.sha,
    })
}

fn into_commit(c: CommitJson) -> Commit {
    Commit {
        sha: c.sha,
        message: c.message,
        parents: c.parents.into_iter().map(|p| p.sha).collect(),
    }
}

fn created(at: Option<&str>) -> Option<SystemTime> {
    let at = at?;
    humantime::parse_rfc3339(at)
        .or_else(|_| humantime::parse_rfc3339_weak(at))
        .ok()
}

/// Bodies compare equal as GitHub may store them (it keeps `\r\n` as sent, mostly).
fn same_text(stored: &str, sent: &str) -> bool {
    stored == sent || stored.replace("\r\n", "\n") == sent.replace("\r\n", "\n")
}

/// A ref name a path may carry: `refs/…` (or `heads/…`), no empty, `.` or `..` parts.
fn check_ref(name: &str) -> Result<(), GithubError> {
    let bad = name.is_empty()
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(GithubError::Conflict(format!(
            "`{name}` is not a valid ref name (write `refs/…`)"
        )));
    }
    Ok(())
}

/// The ref's path in `/git/ref/{ref}` and `/git/refs/{ref}`: without `refs/`, each part
/// percent-encoded.
fn ref_path(name: &str) -> String {
    encode(name.strip_prefix("refs/").unwrap_or(name), true)
}

/// Percent-encode all but unreserved characters (and `/` when `keep_slash`).
fn encode(text: &str, keep_slash: bool) -> String {
    // RFC 3986's unreserved characters stay; everything else is encoded.
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    const UNRESERVED_OR_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');
    let set = if keep_slash { UNRESERVED_OR_SLASH } else { UNRESERVED };
    utf8_percent_encode(text, set).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_queries_are_encoded_and_checked() {
        assert_eq!(ref_path("refs/tollgate/locks/us-east"), "tollgate/locks/us-east");
        assert_eq!(ref_path("refs/heads/a b#c"), "heads/a%20b%23c");
        assert_eq!(encode("bug,needs triage", false), "bug%2Cneeds%20triage");
        assert!(check_ref("refs/../../issues").is_err());
        assert!(check_ref("refs//x").is_err());
        assert!(check_ref("refs/tollgate/locks/x").is_ok());
    }

    #[test]
    fn githubs_messages_include_validation_details() {
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}]}"#;
        assert_eq!(
            github_message(body),
            "Validation Failed: body is too long (maximum is 65536 characters)"
        );
        assert_eq!(
            github_message(br#"{"message":"Reference already exists"}"#),
            "Reference already exists"
        );
        assert_eq!(github_message(b"<html>Bad gateway</html>"), "<html>Bad gateway</html>");
    }
}
