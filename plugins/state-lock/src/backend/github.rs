//! The `github` backend: the ref `refs/tollgate/locks/<key>` in the repository itself.
//!
//! The record is the message of a commit (empty tree) the ref points at. The first write
//! creates the ref, which GitHub does atomically (`Reference already exists` for the loser);
//! every later write is a commit whose parent is the version it replaces, moved onto the ref
//! without `force`: GitHub accepts only a fast-forward, so a writer that read an older version
//! is refused (`Update is not a fast forward`). The host retries GitHub's failures itself; an
//! answer lost after GitHub moved the ref comes back as success on the retry (same sha).
//! GitHub's clock is not visible through the WIT, so expiry is judged without it (see
//! [`crate::lease::Judge`]).

use super::{Backend, BackendError, Current, Put, Version};
use crate::lease::Record;
use tollgate_sdk::github::{self, GithubError};

/// A key's ref.
pub struct GithubBackend {
    name: String,
}

impl GithubBackend {
    /// The ref for `key`.
    pub fn new(key: &str) -> Self {
        GithubBackend {
            name: format!("refs/tollgate/locks/{key}"),
        }
    }
}

fn failed(e: GithubError, doing: &str) -> BackendError {
    match e {
        GithubError::Denied(m) => BackendError::Denied(format!(
            "{doing}: {m}. Grant `github: [contents:write]` (`--allow-github contents:write`) for the github lock backend"
        )),
        GithubError::NotFound(m)
        | GithubError::Conflict(m)
        | GithubError::RateLimited(m)
        | GithubError::Unavailable(m)
        | GithubError::Other(m) => BackendError::Unavailable(format!("{doing}: {m}")),
    }
}

impl Backend for GithubBackend {
    fn location(&self) -> String {
        self.name.clone()
    }

    fn read(&mut self) -> Result<Option<Current>, BackendError> {
        let reference = match github::get_ref(&self.name) {
            Ok(r) => r,
            Err(GithubError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(failed(e, &format!("reading {}", self.name))),
        };
        let commit = github::get_commit(&reference.sha).map_err(|e| failed(e, &format!("reading {}", self.name)))?;
        let record = Record::from_json(&commit.message).map_err(|e| {
            BackendError::Foreign(format!(
                "{} points at commit {}, which is {e}; it is left alone",
                self.name, commit.sha
            ))
        })?;
        Ok(Some(Current {
            version: Version(commit.sha),
            record,
            written_ms: None,
        }))
    }

    fn put(&mut self, expected: Option<&Version>, record: &Record) -> Result<Put, BackendError> {
        let parents: Vec<String> = expected.map(|v| v.0.clone()).into_iter().collect();
        let writing = format!("writing {}", self.name);
        let commit = github::create_commit(&record.to_json(), None, &parents).map_err(|e| failed(e, &writing))?;
        let moved = match expected {
            None => github::create_ref(&self.name, &commit.sha),
            Some(_) => github::update_ref(&self.name, &commit.sha, false),
        };
        match moved {
            Ok(_) => Ok(Put::Won(Version(commit.sha))),
            // Created first by someone else, or moved since we read it (not a fast-forward),
            // or deleted since (`Reference does not exist`): read again.
            Err(GithubError::Conflict(_) | GithubError::NotFound(_)) => Ok(Put::Lost),
            Err(e) => Err(failed(e, &writing)),
        }
    }

    fn now_ms(&mut self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
