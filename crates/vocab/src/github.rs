//! GitHub permissions a step may be granted (`allow: { github: [...] }`, `--allow-github`): their names and
//! which grant covers which request.

use std::fmt;
use std::str::FromStr;

use crate::error::{Invalid, Result};

/// A GitHub permission as written in a workflow, e.g. `pull-requests:write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GithubPermission {
    /// `pull-requests:read`
    PullRequestsRead,
    /// `pull-requests:write`
    PullRequestsWrite,
    /// `issues:read`
    IssuesRead,
    /// `issues:write`
    IssuesWrite,
    /// `contents:read`
    ContentsRead,
    /// `contents:write`
    ContentsWrite,
}

impl GithubPermission {
    /// Every permission, in the order documentation lists them.
    pub const ALL: [GithubPermission; 6] = [
        GithubPermission::PullRequestsRead,
        GithubPermission::PullRequestsWrite,
        GithubPermission::IssuesRead,
        GithubPermission::IssuesWrite,
        GithubPermission::ContentsRead,
        GithubPermission::ContentsWrite,
    ];

    /// The permission's name, e.g. `pull-requests:write`.
    pub fn as_str(self) -> &'static str {
        match self {
            GithubPermission::PullRequestsRead => "pull-requests:read",
            GithubPermission::PullRequestsWrite => "pull-requests:write",
            GithubPermission::IssuesRead => "issues:read",
            GithubPermission::IssuesWrite => "issues:write",
            GithubPermission::ContentsRead => "contents:read",
            GithubPermission::ContentsWrite => "contents:write",
        }
    }

    /// The permission named exactly `text` (names are lowercase); otherwise an error that suggests the closest.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(p) = Self::ALL.into_iter().find(|p| p.as_str() == text) {
            return Ok(p);
        }
        let hint = if let Some(scope) = Self::ALL.iter().map(|p| p.scope()).find(|s| *s == text) {
            format!("say which access: `{scope}:read` or `{scope}:write`")
        } else if let Some(closest) = closest(text) {
            format!("did you mean `{closest}`?")
        } else {
            format!("permissions are {}", names().join(", "))
        };
        Err(Invalid::new(
            "GitHub permission",
            text,
            "there is no such permission",
            Some(&hint),
        ))
    }

    /// Does a grant of `self` cover a request for `wanted`? A write permission implies the read permission of
    /// the same scope, as on GitHub.
    pub fn covers(self, wanted: GithubPermission) -> bool {
        self == wanted || (self.scope() == wanted.scope() && self.as_str().ends_with(":write"))
    }

    /// `pull-requests`, `issues` or `contents`.
    fn scope(self) -> &'static str {
        self.as_str().split_once(':').map_or("", |(scope, _)| scope)
    }
}

fn names() -> Vec<&'static str> {
    GithubPermission::ALL.iter().map(|p| p.as_str()).collect()
}

/// The closest name, when `text` is close enough to one to be a likely typo.
fn closest(text: &str) -> Option<&'static str> {
    let lower: String = text
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    GithubPermission::ALL
        .iter()
        .map(|p| (strsim::levenshtein(&lower, p.as_str()), p.as_str()))
        .filter(|(d, name)| *d <= (name.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

impl fmt::Display for GithubPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GithubPermission {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// A permission equals its name: `permission == "issues:write"`.
impl PartialEq<str> for GithubPermission {
    fn eq(&self, text: &str) -> bool {
        self.as_str() == text
    }
}

impl PartialEq<&str> for GithubPermission {
    fn eq(&self, text: &&str) -> bool {
        self.as_str() == *text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in GithubPermission::ALL {
            assert_eq!(GithubPermission::parse(p.as_str()), Ok(p));
            assert_eq!(p.to_string().parse::<GithubPermission>(), Ok(p));
        }
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let hint = |text: &str| GithubPermission::parse(text).unwrap_err().hint().map(str::to_string);
        assert_eq!(
            hint("pull-request:write").as_deref(),
            Some("did you mean `pull-requests:write`?")
        );
        assert_eq!(hint("Issues:Write").as_deref(), Some("did you mean `issues:write`?"));
        assert_eq!(hint("contents: read").as_deref(), Some("did you mean `contents:read`?"));
        assert_eq!(
            hint("issues").as_deref(),
            Some("say which access: `issues:read` or `issues:write`")
        );
        assert_eq!(
            hint("admin").as_deref(),
            Some(
                "permissions are pull-requests:read, pull-requests:write, issues:read, issues:write, contents:read, contents:write"
            )
        );
        let err = GithubPermission::parse("admin").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid GitHub permission `admin`: there is no such permission; ")
        );
    }

    #[test]
    fn write_implies_read_of_the_same_scope() {
        use GithubPermission::*;
        for granted in GithubPermission::ALL {
            for wanted in GithubPermission::ALL {
                let expected = granted == wanted
                    || matches!(
                        (granted, wanted),
                        (PullRequestsWrite, PullRequestsRead)
                            | (IssuesWrite, IssuesRead)
                            | (ContentsWrite, ContentsRead)
                    );
                assert_eq!(granted.covers(wanted), expected, "{granted} covers {wanted}");
            }
        }
    }
}
