//! Test a plugin with plain `cargo test`: [`MockHost`] runs it in-process, natively, against a
//! host that applies the real host's rules and records everything the plugin does.
//!
//! ```
//! use serde_json::json;
//! use tollgate_sdk::testing::{MockHost, MockResponse};
//! use tollgate_sdk::http::Request;
//! use tollgate_sdk::{Capability, Inputs, PluginError, PluginInfo, RunReport, Status, StepContext};
//!
//! struct Greet;
//! impl tollgate_sdk::Plugin for Greet {
//!     fn describe() -> PluginInfo {
//!         PluginInfo {
//!             name: "greet".into(),
//!             version: "1.0.0".into(),
//!             summary: "Greets a user".into(),
//!             inputs: vec![
//!                 tollgate_sdk::input("name", tollgate_sdk::ValueKind::String, "Who to greet.").required(),
//!             ],
//!             outputs: vec![tollgate_sdk::output("greeting", "The greeting.")],
//!             capabilities: vec![tollgate_sdk::request(
//!                 Capability::Net("https://api.example.com".into()),
//!                 "to look the user up",
//!             )],
//!         }
//!     }
//!     fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
//!         let name: String = inputs.require("name")?;
//!         let user: serde_json::Value =
//!             Request::get(format!("https://api.example.com/users/{}", name.to_lowercase()))
//!                 .error_for_status()
//!                 .send()?
//!                 .json()?;
//!         tollgate_sdk::info(&format!("{name} is user {}", user["id"]));
//!         tollgate_sdk::set_output("greeting", &format!("Hello, {name}!"))?;
//!         Ok(RunReport { status: Status::Passed, message: "greeted".into() })
//!     }
//! }
//!
//! let outcome = MockHost::new()
//!     .input("name", "Ada")
//!     .grant_origin("https://api.example.com")
//!     .respond("GET", "https://api.example.com/users/ada", MockResponse::json(200, json!({"id": 1})))
//!     .run::<Greet>();
//! assert!(outcome.result.is_ok(), "{:?}", outcome.result);
//! assert_eq!(outcome.output("greeting"), Some("Hello, Ada!"));
//! assert!(outcome.logged("Ada is user 1"));
//! assert_eq!(outcome.requests.len(), 1);
//!
//! // Without the grant, the sandbox refuses the request, as the host would.
//! let outcome = MockHost::new().input("name", "Ada").run::<Greet>();
//! assert!(matches!(outcome.result, Err(PluginError::Denied(_))));
//! assert!(outcome.requests.is_empty());
//! ```
//!
//! # What the mock host enforces, as the host does
//!
//! - **Inputs**, from the plugin's own `describe`: an undeclared input, a missing required one,
//!   or a value of the wrong kind ends the run before `run` with [`PluginError::InvalidInput`]
//!   and the host's message; declared defaults are applied; a scalar given for a string input is
//!   passed as its text. `describe` itself is checked (names, reserved outputs, version).
//! - **Capabilities** are the intersection of what the plugin requests and what the test grants:
//!   a required capability that is not granted ends the run with [`PluginError::Denied`] naming
//!   the grant; a secret or GitHub permission granted but not requested is not given (and said
//!   so in [`Outcome::host_notices`]).
//! - **Network**: a request reaches the mock only when its origin is granted (by
//!   [`MockHost::grant_origin`] or by a URL written in an input that `grants_origins`) *and*
//!   requested (a URL in a default, or in an [`input_computed`](MockHost::input_computed), grants
//!   nothing); otherwise it fails with [`HttpError::Denied`](crate::http::HttpError::Denied).
//!   Literal addresses plugins may never reach (cloud metadata, link-local, multicast, and
//!   IPv6 forms that embed such an IPv4 address; `tollgate_vocab::address`) are always refused. A granted request that
//!   nothing answers gets a `501` whose body names the method and URL to mock.
//! - **Outputs** must be declared; they, the summary and the logs are capped as on the host, and
//!   every secret value is masked (`***`) in logs, annotations, outputs, the summary and the
//!   run's report or error.
//! - **GitHub** calls need the call's permission ([`GithubCall::permission`]); without it they
//!   fail with `github-error::denied`.
//!
//! Time is virtual (see [`crate::runtime`]): delays, timeouts and backoff cost no real time.
//! The plugin runs on the test's thread; a host import called from another thread, or with no
//! `MockHost` running, panics. File access is not sandboxed natively: [`MockHost::grant_dir`]
//! only satisfies `read`/`write` capability requests.

mod github;
pub(crate) mod host;
mod policy;

use crate::exchange::{HttpError, Method};
use crate::{GithubPermission, Level, Location, PluginError, RunReport, StepContext};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

pub use crate::bindings::tollgate::plugin::artifacts::Artifact;
pub use crate::bindings::tollgate::plugin::github::{Comment, Commit, GitRef, GithubError, Issue, PullRequest};
pub use crate::bindings::tollgate::plugin::tls::Certificate;

pub(crate) type HttpResponder = Rc<dyn Fn(&MockRequest) -> MockResponse>;
pub(crate) type GithubResponder = Rc<dyn Fn(&GithubCall) -> Option<GithubAnswer>>;

/// A host for native tests: configure inputs, grants and answers, then [`run`](MockHost::run)
/// a plugin and inspect the [`Outcome`]. See the [module docs](self).
#[derive(Clone, Default)]
#[must_use = "a MockHost does nothing until `run`"]
pub struct MockHost {
    inputs: BTreeMap<String, Value>,
    computed: std::collections::BTreeSet<String>,
    origins: Vec<String>,
    secrets: BTreeMap<String, String>,
    github_grants: Vec<GithubPermission>,
    dirs: Vec<(String, bool)>,
    routes: Vec<(String, String, MockResponse)>,
    http: Option<HttpResponder>,
    github: Option<GithubResponder>,
    pull_requests: Vec<PullRequest>,
    certificates: BTreeMap<String, Certificate>,
    artifacts: Option<Vec<Artifact>>,
    context: Option<StepContext>,
}

impl fmt::Debug for MockHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockHost")
            .field("inputs", &self.inputs)
            .field("origins", &self.origins)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("github_grants", &self.github_grants)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl MockHost {
    /// A host that grants nothing, has an empty artifact store and no GitHub data.
    pub fn new() -> Self {
        MockHost {
            artifacts: Some(Vec::new()),
            ..MockHost::default()
        }
    }

    /// Give an input, as the workflow's `with:` would (a YAML value, here JSON).
    pub fn input(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.inputs.insert(name.to_string(), value.into());
        self.computed.remove(name);
        self
    }

    /// Give an input whose value a pipeline computed from another step's output
    /// (`${{ steps.*.outputs.* }}`): the host passes it on, but URLs in it grant no origin,
    /// since the workflow's author did not write them.
    pub fn input_computed(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.inputs.insert(name.to_string(), value.into());
        self.computed.insert(name.to_string());
        self
    }

    /// Grant network access to an origin pattern, like `--allow-net`: `scheme://host[:port]`,
    /// `https://*.example.com`, `http://127.0.0.1:*`. Panics on a malformed pattern.
    pub fn grant_origin(mut self, pattern: &str) -> Self {
        if let Err(e) = tollgate_vocab::OriginPattern::parse(pattern) {
            panic!("MockHost::grant_origin({pattern:?}): {e}");
        }
        self.origins.push(pattern.to_string());
        self
    }

    /// Grant a secret with its value, like `--secret NAME` with `NAME` set in the environment.
    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.secrets.insert(name.to_string(), value.to_string());
        self
    }

    /// Grant a GitHub permission, like `--allow-github`. A write permission covers the read
    /// permission of the same scope.
    pub fn grant_github(mut self, permission: GithubPermission) -> Self {
        self.github_grants.push(permission);
        self
    }

    /// Grant a directory, like `--allow-read` (or `--allow-write` when `writable`). Natively
    /// this only satisfies the plugin's `read`/`write` capability requests; files are not
    /// sandboxed.
    pub fn grant_dir(mut self, path: &str, writable: bool) -> Self {
        self.dirs.push((path.to_string(), writable));
        self
    }

    /// Answer `method url` with `response`. `url` is matched exactly (scheme and host without
    /// regard to case, path and query as written) or, when it ends with `*`, as a prefix. The
    /// first matching route answers; [`http`](Self::http) answers what no route matches.
    pub fn respond(mut self, method: &str, url: &str, response: MockResponse) -> Self {
        self.routes
            .push((method.to_ascii_uppercase(), url.to_string(), response));
        self
    }

    /// Answer every request no [`respond`](Self::respond) route matches.
    pub fn http(mut self, responder: impl Fn(&MockRequest) -> MockResponse + 'static) -> Self {
        self.http = Some(Rc::new(responder));
        self
    }

    /// Answer GitHub calls yourself: return `Some` to answer, `None` to let the in-memory fake
    /// answer. The permission check comes first either way.
    ///
    /// The fake keeps comments, issues, refs and commits created during the run (so a plugin
    /// that creates then lists sees what it created), answers `not-found` for what does not
    /// exist, `conflict` for a ref that already exists or an update that is not a fast-forward,
    /// and knows the pull requests given with [`pull_request`](Self::pull_request).
    pub fn github(mut self, answer: impl Fn(&GithubCall) -> Option<GithubAnswer> + 'static) -> Self {
        self.github = Some(Rc::new(answer));
        self
    }

    /// A pull request the GitHub fake knows.
    pub fn pull_request(mut self, pr: PullRequest) -> Self {
        self.pull_requests.push(pr);
        self
    }

    /// The certificate `tls::peer_certificate` returns for `origin` (which must still be
    /// granted). Without one, the call fails as a failed handshake would.
    pub fn certificate(mut self, origin: &str, certificate: Certificate) -> Self {
        self.certificates.insert(origin.to_ascii_lowercase(), certificate);
        self
    }

    /// An artifact an earlier step stored, for `artifacts::get`.
    pub fn artifact(mut self, name: &str, media_type: &str, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        let artifact = Artifact {
            name: name.to_string(),
            media_type: media_type.to_string(),
            digest: host::artifacts::digest(&data),
            data,
        };
        self.artifacts.get_or_insert_with(Vec::new).push(artifact);
        self
    }

    /// No artifact store, as in a local run without `--artifacts DIR`: `artifacts::put` and
    /// `get` fail with `unavailable`.
    pub fn without_artifact_store(mut self) -> Self {
        self.artifacts = None;
        self
    }

    /// The step context `run` receives (default: step id = the plugin's name, not in CI).
    pub fn context(mut self, context: StepContext) -> Self {
        self.context = Some(context);
        self
    }
}

/// A request the plugin sent through [`crate::http`], as the mock network saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockRequest {
    /// The method.
    pub method: Method,
    /// The URL as the plugin wrote it.
    pub url: String,
    /// Headers as sent (the SDK adds `user-agent` and, with a body, `content-length`).
    pub headers: Vec<(String, String)>,
    /// The body (empty without one).
    pub body: Vec<u8>,
}

impl MockRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }
}

/// An answer from the mock network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
    pub(crate) error: Option<HttpError>,
}

impl MockResponse {
    /// A response with this status and an empty body.
    pub fn new(status: u16) -> Self {
        MockResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            error: None,
        }
    }

    /// A `text/plain` body.
    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status).header("content-type", "text/plain").body(body)
    }

    /// A JSON body.
    pub fn json(status: u16, body: Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// The exchange fails with `error` instead of answering (e.g. [`HttpError::Connect`] for
    /// a refused connection). For a timeout use [`delay`](Self::delay).
    pub fn error(error: HttpError) -> Self {
        MockResponse {
            error: Some(error),
            ..Self::new(0)
        }
    }

    /// Add a header (its name is delivered in lower case, as over `wasi:http`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Replace the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Answer after this much (virtual) time; longer than the request's timeout, the request
    /// times out instead.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A call the plugin made to the `github` interface, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GithubCall {
    GetPullRequest {
        number: u64,
    },
    ListComments {
        issue: u64,
    },
    CreateComment {
        issue: u64,
        body: String,
    },
    UpdateComment {
        id: u64,
        body: String,
    },
    DeleteComment {
        id: u64,
    },
    FindIssues {
        labels: Vec<String>,
        state: String,
    },
    CreateIssue {
        title: String,
        body: String,
        labels: Vec<String>,
    },
    UpdateIssue {
        number: u64,
        title: Option<String>,
        body: Option<String>,
        state: Option<String>,
    },
    CreateRef {
        name: String,
        sha: String,
    },
    GetRef {
        name: String,
    },
    UpdateRef {
        name: String,
        sha: String,
        force: bool,
    },
    CreateCommit {
        message: String,
        tree: Option<String>,
        parents: Vec<String>,
    },
    GetCommit {
        sha: String,
    },
    DeleteRef {
        name: String,
    },
}

impl GithubCall {
    /// The permission the call needs: `pull-requests:read` to read a pull request,
    /// `issues:read`/`issues:write` for comments and issues, `contents:read`/`contents:write`
    /// for refs and commits. (On GitHub, commenting on a pull request may use
    /// `pull-requests:write` instead; the mock accepts either for comments.) The host's one
    /// mapping, `tollgate_vocab::github::Call`, answers.
    pub fn permission(&self) -> GithubPermission {
        wit_permission(self.kind().required_permission())
    }

    /// The call without its arguments, as the host checks it.
    pub(crate) fn kind(&self) -> tollgate_vocab::github::Call {
        use GithubCall::*;
        use tollgate_vocab::github::Call as K;
        match self {
            GetPullRequest { .. } => K::GetPullRequest,
            ListComments { .. } => K::ListComments,
            CreateComment { .. } => K::CreateComment,
            UpdateComment { .. } => K::UpdateComment,
            DeleteComment { .. } => K::DeleteComment,
            FindIssues { .. } => K::FindIssues,
            CreateIssue { .. } => K::CreateIssue,
            UpdateIssue { .. } => K::UpdateIssue,
            CreateRef { .. } => K::CreateRef,
            GetRef { .. } => K::GetRef,
            UpdateRef { .. } => K::UpdateRef,
            CreateCommit { .. } => K::CreateCommit,
            GetCommit { .. } => K::GetCommit,
            DeleteRef { .. } => K::DeleteRef,
        }
    }
}

/// The WIT's GitHub permission for the vocabulary's (the two enums name the same six).
pub(crate) fn wit_permission(p: tollgate_vocab::GithubPermission) -> GithubPermission {
    use tollgate_vocab::GithubPermission as P;
    match p {
        P::PullRequestsRead => GithubPermission::PullRequestsRead,
        P::PullRequestsWrite => GithubPermission::PullRequestsWrite,
        P::IssuesRead => GithubPermission::IssuesRead,
        P::IssuesWrite => GithubPermission::IssuesWrite,
        P::ContentsRead => GithubPermission::ContentsRead,
        P::ContentsWrite => GithubPermission::ContentsWrite,
    }
}

/// An answer to a [`GithubCall`] from [`MockHost::github`]; it must be the variant the call
/// returns (e.g. [`GithubAnswer::Comment`] for `create-comment`), or the run panics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GithubAnswer {
    PullRequest(PullRequest),
    Comments(Vec<Comment>),
    Comment(Comment),
    Issues(Vec<Issue>),
    Issue(Issue),
    Ref(GitRef),
    Commit(Commit),
    /// For `delete-comment` and `delete-ref`.
    Done,
    /// Any call may fail.
    Error(GithubError),
}

/// An annotation: a warning or error log line (shown as an annotation under GitHub Actions), or
/// an explicit `log::annotate` with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Its level.
    pub level: Level,
    /// Its text, masked.
    pub message: String,
    /// Where, for `log::annotate`; `None` for a log line.
    pub location: Option<Location>,
}

/// Everything a run did, as the host recorded it. Text is masked as the host masks it.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The run's result, or the host's refusal before `run` (an invalid input is
    /// [`PluginError::InvalidInput`], a missing required grant [`PluginError::Denied`], a
    /// malformed `describe` [`PluginError::Internal`]).
    pub result: Result<RunReport, PluginError>,
    /// Outputs set, by name.
    pub outputs: BTreeMap<String, String>,
    /// Log lines, in order (`tollgate_sdk::info`, `warn`… and `log::log`).
    pub logs: Vec<(Level, String)>,
    /// Warning and error log lines, and every `log::annotate`, in order.
    pub annotations: Vec<Annotation>,
    /// The step summary's Markdown.
    pub summary: String,
    /// Titles of the log groups started.
    pub groups: Vec<String>,
    /// Progress reports.
    pub progress: Vec<(String, Option<f32>)>,
    /// Artifacts the run stored (with their `sha256:` digests).
    pub artifacts: Vec<Artifact>,
    /// GitHub calls, in order, including refused ones.
    pub github_calls: Vec<GithubCall>,
    /// HTTP requests that reached the mock network (denied ones never do), in order.
    pub requests: Vec<MockRequest>,
    /// What the host itself said: refused requests, grants the plugin did not request,
    /// requests nothing answered.
    pub host_notices: Vec<String>,
}

impl Outcome {
    /// An output's value.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).map(String::as_str)
    }

    /// Whether any log line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.logs.iter().any(|(_, line)| line.contains(text))
    }

    /// The report's status, if the run finished.
    pub fn status(&self) -> Option<crate::Status> {
        self.result.as_ref().ok().map(|r| r.status)
    }

    /// The error's message, if the run (or the host before it) failed; for an invalid input,
    /// `input `NAME`: MESSAGE` as the host prints it.
    pub fn error_message(&self) -> Option<String> {
        match self.result.as_ref().err()? {
            PluginError::InvalidInput(e) => Some(format!("input `{}`: {}", e.input, e.message)),
            PluginError::Denied(m) | PluginError::Peer(m) | PluginError::Internal(m) => Some(m.clone()),
        }
    }

    /// Everything the plugin said anywhere, as one text: result, outputs, logs, annotations,
    /// summary, groups, progress, artifacts, GitHub call arguments and the host's notices.
    /// Search it for a secret to prove the plugin leaks it through no channel.
    pub fn every_channel(&self) -> String {
        let mut all = format!("{:?}\n", self.result);
        for (k, v) in &self.outputs {
            all.push_str(&format!("{k}={v}\n"));
        }
        for (level, line) in &self.logs {
            all.push_str(&format!("{level:?} {line}\n"));
        }
        for a in &self.annotations {
            all.push_str(&format!("{a:?}\n"));
        }
        all.push_str(&self.summary);
        for g in &self.groups {
            all.push_str(g);
        }
        for (p, _) in &self.progress {
            all.push_str(p);
        }
        for a in &self.artifacts {
            all.push_str(&String::from_utf8_lossy(&a.data));
        }
        for c in &self.github_calls {
            all.push_str(&format!("{c:?}\n"));
        }
        for n in &self.host_notices {
            all.push_str(n);
        }
        all
    }
}
