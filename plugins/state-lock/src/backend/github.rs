//! The `github` backend: the ref `refs/tollgate/locks/<key>` in the repository itself (the host
//! keeps it in the plugin's own namespace, `refs/tollgate/state-lock/locks/<key>` for the builtin).
//!
//! The record is the message of a commit (empty tree) the ref points at. The first write
//! creates the ref, which GitHub does atomically (`Reference already exists` for the loser);
//! every later write is a commit whose parent is the version it replaces, moved onto the ref
//! without `force`: GitHub accepts only a fast-forward, so a writer that read an older version
//! is refused (`Update is not a fast forward`). The host retries GitHub's failures itself; an
//! answer lost after GitHub moved the ref comes back as success on the retry (same sha) — or,
//! when someone wrote on top of it before the retry, as a refusal: so a refused write looks
//! for its commit in the ref's recent history before it counts as lost.
//! GitHub's clock is not visible through the WIT, so expiry is judged without it (see
//! [`crate::lease::Judge`]).

use super::{Backend, BackendError, Current, Put, Version};
use crate::lease::Record;
use std::collections::HashMap;
use tollgate_sdk::github::{self, GithubError};

/// A key's ref.
pub struct GithubBackend {
    name: String,
    /// Records by commit sha: commits never change, so a poll that finds the ref where it
    /// was costs one request.
    seen: HashMap<String, Record>,
}

impl GithubBackend {
    /// The ref for `key`.
    pub fn new(key: &str) -> Self {
        GithubBackend {
            name: format!("refs/tollgate/locks/{key}"),
            seen: HashMap::new(),
        }
    }

    fn record(&mut self, sha: &str) -> Result<Record, BackendError> {
        if let Some(record) = self.seen.get(sha) {
            return Ok(record.clone());
        }
        let commit = github::get_commit(sha).map_err(|e| failed(e, &format!("reading {}", self.name)))?;
        let record = Record::from_json(&commit.message).map_err(|e| {
            BackendError::Foreign(format!(
                "{} points at commit {}, which is {e}; it is left alone",
                self.name, commit.sha
            ))
        })?;
        // A handful of versions matter at a time; a long wait must not grow this forever.
        if self.seen.len() >= 64 {
            self.seen.clear();
        }
        self.seen.insert(sha.to_string(), record.clone());
        Ok(record)
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

/// How far back a refused write looks for its own commit. Nobody writes over a live lease,
/// so a write that landed is at most a release plus a few acquisitions deep.
const LANDED_DEPTH: usize = 32;

impl GithubBackend {
    /// Is `sha` the ref's commit or one of its recent ancestors?
    fn landed(&self, sha: &str) -> Result<bool, BackendError> {
        let reading = format!("reading {}", self.name);
        let mut at = match github::get_ref(&self.name) {
            Ok(r) => r.sha,
            Err(GithubError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(failed(e, &reading)),
        };
        for _ in 0..LANDED_DEPTH {
            if at == sha {
                return Ok(true);
            }
            let commit = github::get_commit(&at).map_err(|e| failed(e, &reading))?;
            match commit.parents.first() {
                Some(parent) => at = parent.clone(),
                None => return Ok(false),
            }
        }
        Ok(false)
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
        let record = self.record(&reference.sha)?;
        Ok(Some(Current {
            version: Version(reference.sha),
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
            // or deleted since (`Reference does not exist`) — unless our own write landed and
            // its answer was lost before a later write.
            Err(GithubError::Conflict(_) | GithubError::NotFound(_)) => {
                if self.landed(&commit.sha)? {
                    Ok(Put::Won(Version(commit.sha)))
                } else {
                    Ok(Put::Lost)
                }
            }
            Err(e) => Err(failed(e, &writing)),
        }
    }

    fn now_ms(&mut self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
