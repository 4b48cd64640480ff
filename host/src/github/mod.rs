//! The host's GitHub REST client: the calls behind `tollgate:plugin/github`, made with the token the host holds.
//!
//! - It connects through the host's own connector (`sandbox::net`: address rules,
//!   `--ca-cert`, `--resolve`, timeouts).
//! - Lists are paginated and bounded; retries are bounded and wait out rate limits.
//! - A retry after a request GitHub applied but never answered makes no duplicate comment
//!   or issue.
//!
//! `sandbox/imports/github.rs` checks the step's permission and maps WIT calls onto
//! [`Client`]; the runner builds the [`GithubConfig`] from the environment.

mod api;
mod error;
mod link;
mod retry;
mod transport;

pub use api::{Client, Comment, Commit, GitRef, Issue, PullRequest};
pub use error::GithubError;
pub use retry::RetryPolicy;

/// GitHub's public API, used when the runner names no other.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// Largest response body the host reads from GitHub (one page of a list included).
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Most items a list call gathers across pages.
pub const MAX_LIST_ITEMS: usize = 10_000;
/// Most bytes a list call gathers across pages.
pub const MAX_LIST_BYTES: usize = 64 << 20;
/// Items per page GitHub is asked for (its maximum).
pub const PER_PAGE: usize = 100;

/// Where and as whom the host calls GitHub: built by the runner from `GITHUB_API_URL`,
/// `GITHUB_TOKEN` (or the action's `github-token` input) and `GITHUB_REPOSITORY`.
#[derive(Clone, Default)]
pub struct GithubConfig {
    /// The API's base URL, e.g. `https://api.github.com` or
    /// `https://ghe.example.com/api/v3`.
    pub api_url: String,
    /// The token every call carries; `None` makes every call `unavailable`.
    pub token: Option<String>,
    /// `owner/name` of the repository calls act on; `None` makes every call `unavailable`.
    pub repository: Option<String>,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubConfig")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("repository", &self.repository)
            .field("retry", &self.retry)
            .finish()
    }
}
