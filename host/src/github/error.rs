//! What a GitHub call can end in, one variant per `github-error` case of the WIT (denials
//! are decided before the client is asked, in `sandbox/imports/github.rs`).

/// A failed GitHub call. Messages quote GitHub's own text (peer text: it reaches the plugin
/// as is; anything the host prints of it goes through the runner's neutraliser).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409 or 422, e.g. `Reference already exists`, `Update is not a fast forward`.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A primary or secondary rate limit outlasted the retry budget.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// No token, no repository, or an API URL the host cannot use.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: the status and GitHub's message, or what went wrong on the way.
    #[error("{0}")]
    Other(String),
}
