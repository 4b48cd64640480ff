//! GitHub permissions a step may be granted (`allow: { github: [...] }`, `--allow-github`): their names,
//! which grant covers which request, and which permission each `tollgate:plugin/github` call needs ([`Call`]),
//! spelled once for the host and the SDK's `MockHost`.

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

/// A call of the `tollgate:plugin/github` interface, without its arguments: what the host (and the SDK's
/// `MockHost`) checks against the step's GitHub grants before anything reaches GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `get-pull-request`
    GetPullRequest,
    /// `list-comments`
    ListComments,
    /// `create-comment`
    CreateComment,
    /// `update-comment`
    UpdateComment,
    /// `delete-comment`
    DeleteComment,
    /// `find-issues`
    FindIssues,
    /// `create-issue`
    CreateIssue,
    /// `update-issue`
    UpdateIssue,
    /// `create-ref`
    CreateRef,
    /// `get-ref`
    GetRef,
    /// `update-ref`
    UpdateRef,
    /// `create-commit`
    CreateCommit,
    /// `get-commit`
    GetCommit,
    /// `delete-ref`
    DeleteRef,
}

impl Call {
    /// Every call, in the WIT's order.
    pub const ALL: [Call; 14] = [
        Call::GetPullRequest,
        Call::ListComments,
        Call::CreateComment,
        Call::UpdateComment,
        Call::DeleteComment,
        Call::FindIssues,
        Call::CreateIssue,
        Call::UpdateIssue,
        Call::CreateRef,
        Call::GetRef,
        Call::UpdateRef,
        Call::CreateCommit,
        Call::GetCommit,
        Call::DeleteRef,
    ];

    /// The call's WIT name, e.g. `create-comment`.
    pub fn name(self) -> &'static str {
        match self {
            Call::GetPullRequest => "get-pull-request",
            Call::ListComments => "list-comments",
            Call::CreateComment => "create-comment",
            Call::UpdateComment => "update-comment",
            Call::DeleteComment => "delete-comment",
            Call::FindIssues => "find-issues",
            Call::CreateIssue => "create-issue",
            Call::UpdateIssue => "update-issue",
            Call::CreateRef => "create-ref",
            Call::GetRef => "get-ref",
            Call::UpdateRef => "update-ref",
            Call::CreateCommit => "create-commit",
            Call::GetCommit => "get-commit",
            Call::DeleteRef => "delete-ref",
        }
    }

    /// Does the call change anything on GitHub?
    pub fn writes(self) -> bool {
        !matches!(
            self,
            Call::GetPullRequest | Call::ListComments | Call::FindIssues | Call::GetRef | Call::GetCommit
        )
    }

    /// The permission the call needs, the one a denial names: `pull-requests:read` to read a pull request,
    /// `issues:*` for comments and issues, `contents:*` for refs and commits (read to read, write otherwise).
    /// Comments live on issues and pull requests alike, so `pull-requests:*` of the same access also lets
    /// comment calls through ([`Call::accepted`]).
    pub fn required_permission(self) -> GithubPermission {
        use GithubPermission as P;
        match self {
            Call::GetPullRequest => P::PullRequestsRead,
            Call::ListComments | Call::FindIssues => P::IssuesRead,
            Call::CreateComment | Call::UpdateComment | Call::DeleteComment | Call::CreateIssue | Call::UpdateIssue => {
                P::IssuesWrite
            }
            Call::GetRef | Call::GetCommit => P::ContentsRead,
            Call::CreateRef | Call::UpdateRef | Call::CreateCommit | Call::DeleteRef => P::ContentsWrite,
        }
    }

    /// Every permission that, granted, lets the call through on its own (a write permission also covers the
    /// read of its scope, see [`GithubPermission::covers`]).
    pub fn accepted(self) -> &'static [GithubPermission] {
        use GithubPermission as P;
        match self {
            Call::ListComments => &[P::IssuesRead, P::PullRequestsRead],
            Call::CreateComment | Call::UpdateComment | Call::DeleteComment => &[P::IssuesWrite, P::PullRequestsWrite],
            Call::GetPullRequest => &[P::PullRequestsRead],
            Call::FindIssues => &[P::IssuesRead],
            Call::CreateIssue | Call::UpdateIssue => &[P::IssuesWrite],
            Call::GetRef | Call::GetCommit => &[P::ContentsRead],
            Call::CreateRef | Call::UpdateRef | Call::CreateCommit | Call::DeleteRef => &[P::ContentsWrite],
        }
    }

    /// May a step holding `granted` make this call?
    pub fn allowed_by(self, granted: &[GithubPermission]) -> bool {
        self.accepted()
            .iter()
            .any(|wanted| granted.iter().any(|g| g.covers(*wanted)))
    }

    /// Why the call is refused without its permission, and how to grant it; the text of `github-error::denied`
    /// in the host and in `MockHost`.
    pub fn denied(self) -> String {
        let accepted: Vec<&str> = self.accepted().iter().map(|p| p.as_str()).collect();
        let p = self.required_permission();
        format!(
            "{} needs the GitHub permission {}, which this step does not grant; request it in describe and add \
             `--allow-github {p}` (a pipeline's `allow: {{github: [{p}]}}`, the action's `allow-github: {p}`) and \
             `permissions:` in the job",
            self.name(),
            accepted.join(" or ")
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    #[test]
    fn each_call_needs_its_permission_and_write_covers_read() {
        use GithubPermission::*;
        // (call, granted, allowed)
        let cases = [
            (Call::GetPullRequest, PullRequestsRead, true),
            (Call::GetPullRequest, PullRequestsWrite, true),
            (Call::GetPullRequest, IssuesWrite, false),
            (Call::ListComments, PullRequestsRead, true),
            (Call::ListComments, IssuesRead, true),
            (Call::ListComments, ContentsWrite, false),
            (Call::CreateComment, PullRequestsWrite, true),
            (Call::CreateComment, IssuesWrite, true),
            (Call::CreateComment, IssuesRead, false),
            (Call::DeleteComment, PullRequestsRead, false),
            (Call::FindIssues, IssuesRead, true),
            (Call::FindIssues, PullRequestsRead, false),
            (Call::CreateIssue, PullRequestsWrite, false),
            (Call::UpdateIssue, IssuesWrite, true),
            (Call::GetRef, ContentsRead, true),
            (Call::GetCommit, ContentsWrite, true),
            (Call::CreateRef, ContentsRead, false),
            (Call::UpdateRef, ContentsWrite, true),
            (Call::CreateCommit, ContentsWrite, true),
            (Call::DeleteRef, IssuesWrite, false),
        ];
        for (call, granted, allowed) in cases {
            assert_eq!(call.allowed_by(&[granted]), allowed, "{call} with {granted}");
        }
        for call in Call::ALL {
            assert!(call.allowed_by(&[call.required_permission()]), "{call}");
            assert!(!call.allowed_by(&[]), "{call}");
            assert_eq!(
                call.writes(),
                call.required_permission().as_str().ends_with(":write"),
                "{call}"
            );
        }
        let text = Call::CreateComment.denied();
        assert!(text.starts_with("create-comment needs the GitHub permission issues:write or pull-requests:write"));
        assert!(text.contains("`--allow-github issues:write`"), "{text}");
    }
}
