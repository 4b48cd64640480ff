//! The host interfaces, owned by the SDK: each function has the signature of the
//! `tollgate:plugin` import it stands for and calls it through `backend`: the
//! import inside the component, natively the [`MockHost`](crate::testing::MockHost) running on
//! the current thread, so a plugin runs unchanged under `cargo test`.

/// Logging, annotations, grouping and progress (`tollgate:plugin/log`). Text is neutralised by
/// the host: a plugin cannot issue workflow commands.
pub mod log {
    pub use crate::bindings::tollgate::plugin::types::{Level, Location};

    /// Log a line at a level.
    pub fn log(level: Level, message: &str) {
        crate::backend::log::log(level, message)
    }
    /// An annotation attached to a file location (shown on the PR diff under Actions).
    pub fn annotate(level: Level, message: &str, location: &Location) {
        crate::backend::log::annotate(level, message, location)
    }
    /// Start a collapsible group of log lines; groups do not nest.
    pub fn group_start(title: &str) {
        crate::backend::log::group_start(title)
    }
    /// End the current group.
    pub fn group_end() {
        crate::backend::log::group_end()
    }
    /// Progress of a long wait, e.g. `waiting for lock (30s of 5m)`; `fraction` in 0..=1.
    pub fn progress(message: &str, fraction: Option<f32>) {
        crate::backend::log::progress(message, fraction)
    }
}

/// Step outputs (`tollgate:plugin/outputs`). Names must be declared in `describe`.
pub mod outputs {
    /// Set an output; a later call for the same name replaces the value.
    pub fn set(name: &str, value: &str) -> Result<(), String> {
        crate::backend::outputs::set(name, value)
    }
}

/// The step summary (`tollgate:plugin/summary`): Markdown shown on the run's page.
pub mod summary {
    /// Append Markdown; the host caps the total at GitHub's 1 MiB and says so when it does.
    pub fn append(markdown: &str) -> Result<(), String> {
        crate::backend::summary::append(markdown)
    }
}

/// Secrets granted to the step (`tollgate:plugin/secrets`). Values are masked in every log and
/// output.
pub mod secrets {
    /// The secret's value; an error names the missing grant when it was not granted.
    pub fn get(name: &str) -> Result<String, String> {
        crate::backend::secrets::get(name)
    }
}

/// TLS facts that `wasi:http` does not expose (`tollgate:plugin/tls`).
pub mod tls {
    pub use crate::bindings::tollgate::plugin::tls::Certificate;

    /// Connect to `https://host[:port]` (must be a granted origin), complete a verified TLS
    /// handshake and return the leaf certificate.
    pub fn peer_certificate(origin: &str) -> Result<Certificate, String> {
        crate::backend::tls::peer_certificate(origin)
    }
}

/// Content-addressed, signed artifacts shared between steps and jobs (`tollgate:plugin/artifacts`).
pub mod artifacts {
    pub use crate::bindings::tollgate::plugin::artifacts::{Artifact, ArtifactError};

    /// Store bytes under a name; returns their digest (`sha256:<hex>`).
    pub fn put(name: &str, media_type: &str, data: &[u8]) -> Result<String, ArtifactError> {
        crate::backend::artifacts::put(name, media_type, data)
    }
    /// Fetch an artifact by name or digest; the host verifies digest and signature first.
    pub fn get(reference: &str) -> Result<Artifact, ArtifactError> {
        crate::backend::artifacts::get(reference)
    }
}

/// A typed GitHub API (`tollgate:plugin/github`). The host holds the token; each call needs a
/// GitHub permission grant.
pub mod github {
    pub use crate::bindings::tollgate::plugin::github::{Comment, Commit, GitRef, GithubError, Issue, PullRequest};

    /// The pull request by number.
    pub fn get_pull_request(number: u64) -> Result<PullRequest, GithubError> {
        crate::backend::github::get_pull_request(number)
    }
    /// Every comment on an issue or pull request (the host follows pagination).
    pub fn list_comments(issue: u64) -> Result<Vec<Comment>, GithubError> {
        crate::backend::github::list_comments(issue)
    }
    /// Comment on an issue or pull request.
    pub fn create_comment(issue: u64, body: &str) -> Result<Comment, GithubError> {
        crate::backend::github::create_comment(issue, body)
    }
    /// Replace a comment's body.
    pub fn update_comment(id: u64, body: &str) -> Result<Comment, GithubError> {
        crate::backend::github::update_comment(id, body)
    }
    /// Delete a comment.
    pub fn delete_comment(id: u64) -> Result<(), GithubError> {
        crate::backend::github::delete_comment(id)
    }
    /// Issues with every one of these labels, in the given state (`open`, `closed`, `all`).
    pub fn find_issues(labels: &[String], state: &str) -> Result<Vec<Issue>, GithubError> {
        crate::backend::github::find_issues(labels, state)
    }
    /// Open an issue.
    pub fn create_issue(title: &str, body: &str, labels: &[String]) -> Result<Issue, GithubError> {
        crate::backend::github::create_issue(title, body, labels)
    }
    /// Change title, body or state (`open`/`closed`); `None` keeps the current value.
    pub fn update_issue(
        number: u64,
        title: Option<&str>,
        body: Option<&str>,
        state: Option<&str>,
    ) -> Result<Issue, GithubError> {
        crate::backend::github::update_issue(number, title, body, state)
    }
    /// Create a ref atomically: `conflict` when it already exists.
    pub fn create_ref(name: &str, sha: &str) -> Result<GitRef, GithubError> {
        crate::backend::github::create_ref(name, sha)
    }
    /// A ref by full name, e.g. `refs/tollgate/locks/us-east`.
    pub fn get_ref(name: &str) -> Result<GitRef, GithubError> {
        crate::backend::github::get_ref(name)
    }
    /// Move a ref; without `force` only a fast-forward is accepted (a compare-and-swap).
    pub fn update_ref(name: &str, sha: &str, force: bool) -> Result<GitRef, GithubError> {
        crate::backend::github::update_ref(name, sha, force)
    }
    /// Create a commit with the empty tree (or `tree`) and these parents.
    pub fn create_commit(message: &str, tree: Option<&str>, parents: &[String]) -> Result<Commit, GithubError> {
        crate::backend::github::create_commit(message, tree, parents)
    }
    /// A commit by SHA.
    pub fn get_commit(sha: &str) -> Result<Commit, GithubError> {
        crate::backend::github::get_commit(sha)
    }
    /// Delete a ref.
    pub fn delete_ref(name: &str) -> Result<(), GithubError> {
        crate::backend::github::delete_ref(name)
    }
}

/// The facade keeps the imports' signatures (checked where the imports exist).
#[cfg(target_arch = "wasm32")]
#[allow(dead_code)]
fn same_signatures() {
    use crate::bindings::tollgate::plugin as b;
    let _: [fn(log::Level, &str); 2] = [log::log, b::log::log];
    let _: [fn(log::Level, &str, &log::Location); 2] = [log::annotate, b::log::annotate];
    type Set = fn(&str, &str) -> Result<(), String>;
    type Get = fn(&str) -> Result<String, String>;
    let _: [Set; 2] = [outputs::set, b::outputs::set];
    let _: [Get; 2] = [secrets::get, b::secrets::get];
}
