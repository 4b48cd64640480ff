//! Where a lock's record lives: each backend is one compare-and-swap register per key.

pub mod aws;
pub mod dynamodb;
pub mod file;
pub mod github;
pub mod s3;

use crate::lease::Record;

/// The version of a stored record, as the backend spells it (a generation, a commit sha, an
/// ETag, a counter): a write names the version it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// The record a key holds now.
#[derive(Debug, Clone)]
pub struct Current {
    /// Its version.
    pub version: Version,
    /// The record.
    pub record: Record,
    /// When the backend wrote this version, by the backend's clock (Unix milliseconds), for
    /// backends that keep one.
    pub written_ms: Option<u64>,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Written: the key now holds this version.
    Won(Version),
    /// Someone else wrote first: read again.
    Lost,
}

/// Why a backend could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// The step lacks a grant; the message names it.
    Denied(String),
    /// The key holds something that is not a lock record of ours: never overwritten.
    Foreign(String),
    /// The backend failed or could not be reached.
    Unavailable(String),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Denied(m) | BackendError::Foreign(m) | BackendError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// One key's register.
pub trait Backend {
    /// Where the lock lives, for messages (e.g. `refs/tollgate/locks/us-east`).
    fn location(&self) -> String;
    /// The current record; `None` when the key was never written.
    fn read(&mut self) -> Result<Option<Current>, BackendError>;
    /// Write `record` if the key still holds `expected` (`None`: if it holds nothing).
    fn put(&mut self, expected: Option<&Version>, record: &Record) -> Result<Put, BackendError>;
    /// The backend's clock now (Unix milliseconds), for backends that keep one.
    fn now_ms(&mut self) -> Result<Option<u64>, BackendError>;
}

/// A lock key: `[A-Za-z0-9._-]` segments joined by `/`, e.g. `openclaw/us-east`; no empty, `.`
/// or `..` segment, no leading `-` or `.`, no `.lock` ending (git refuses those ref names), at
/// most 128 bytes. The same key names the same lock on every backend.
pub fn check_key(key: &str) -> Result<(), String> {
    let fix = "use letters, digits, `.`, `_` and `-` in `/`-separated segments, e.g. `openclaw/us-east`";
    if key.is_empty() || key.len() > 128 {
        return Err(format!("a key has 1 to 128 bytes; {fix}"));
    }
    for segment in key.split('/') {
        let bad = segment.is_empty()
            || segment.starts_with(['.', '-'])
            || segment.ends_with(".lock")
            || segment.contains("..")
            || !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if bad {
            return Err(format!("`{key}` is not a lock key (segment `{segment}`): {fix}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_are_checked_once_for_every_backend() {
        for good in ["us-east", "openclaw/us-east", "a.b_c-d/e1"] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "../x",
            "a/../b",
            ".hidden",
            "-x",
            "x.lock",
            "a b",
            "a\nb",
            "ü",
            "a:b",
            "a\\b",
            &"k".repeat(129),
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
