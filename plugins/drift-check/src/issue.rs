//! One GitHub issue per workspace for drift, never two.
//!
//! - Found by its labels and a hidden marker on the body's first line
//!   (`<!-- tollgate:drift-check workspace=us-east digest=… -->`).
//! - Opened on new drift, updated only when the drift's digest changes, closed with a
//!   comment when the drift is gone, reopened when it comes back.
//! - Duplicates from racing runs are closed, keeping the oldest.

use tollgate_sdk::github::{self, GithubError, Issue};
use tollgate_sdk::markdown::marker_value;

const PREFIX: &str = "<!-- tollgate:drift-check workspace=";
const DUPLICATE_PREFIX: &str = "<!-- tollgate:drift-check-duplicate workspace=";

/// The marker line for `workspace` and a drift `digest` (hex or `none`).
pub fn marker(workspace: &str, digest: &str) -> String {
    format!("{PREFIX}{} digest={digest} -->", marker_value(workspace))
}

/// The digest stored in `body` when its first line is `workspace`'s marker; `None` when the
/// issue is not ours.
pub fn owned_digest(body: &str, workspace: &str) -> Option<String> {
    let first = body.split('\n').next()?.trim_end_matches('\r');
    let rest = first.strip_prefix(PREFIX)?.strip_suffix(" -->")?;
    let (ws, digest) = rest.split_once(" digest=")?;
    let valid = digest == "none" || (!digest.is_empty() && digest.bytes().all(|b| b.is_ascii_hexdigit()));
    (ws == marker_value(workspace) && valid).then(|| digest.to_string())
}

/// What to do about the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Drift is present: open, reopen or update the issue.
    Drift,
    /// No drift: close the open issue.
    Clean,
}

/// What keeping the issue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The issue that now stands for the workspace (none when there was nothing to keep).
    pub issue: Option<Issue>,
    /// `opened`, `reopened`, `updated`, `unchanged`, `closed`, `none`.
    pub action: &'static str,
    /// Duplicates closed, by number.
    pub duplicates: Vec<u64>,
}

/// Texts the lifecycle writes (already safe Markdown).
pub struct Texts<'a> {
    /// The workspace (raw; escaped by the caller in `title` and the bodies).
    pub workspace: &'a str,
    /// The issue title.
    pub title: &'a str,
    /// The body after the marker line.
    pub body: &'a str,
    /// The drift's digest.
    pub digest: &'a str,
    /// A comment when the drift changed / came back / is gone (Markdown, safe).
    pub changed_note: &'a str,
    /// The comment on reopening.
    pub back_note: &'a str,
    /// The comment on closing.
    pub gone_note: &'a str,
    /// Reopen the most recent closed issue when drift comes back (else open a new one).
    pub reopen: bool,
}

/// Find, open, update, reopen or close the workspace's issue.
pub fn keep(labels: &[String], want: Want, t: &Texts<'_>) -> Result<Kept, GithubError> {
    let all = github::find_issues(labels, "all")?;
    let mut ours: Vec<(Issue, String)> = all
        .into_iter()
        .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
        .filter_map(|i| owned_digest(&i.body, t.workspace).map(|d| (i, d)))
        .collect();
    ours.sort_by_key(|(i, _)| i.number);
    let (open, closed): (Vec<_>, Vec<_>) = ours.into_iter().partition(|(i, _)| i.state == "open");

    // The oldest open issue stands; the others are duplicates from a race.
    let mut duplicates = Vec::new();
    if let Some((keeper, _)) = open.first() {
        for (dup, _) in &open[1..] {
            close_duplicate(dup, keeper, t.workspace)?;
            duplicates.push(dup.number);
        }
    }
    let full = format!("{}\n{}", marker(t.workspace, t.digest), t.body);

    let (issue, action) = match (want, open.into_iter().next()) {
        (Want::Drift, Some((issue, digest))) if digest == t.digest => (Some(issue), "unchanged"),
        (Want::Drift, Some((issue, _))) => {
            let updated = github::update_issue(issue.number, Some(t.title), Some(&full), None)?;
            github::create_comment(issue.number, t.changed_note)?;
            (Some(updated), "updated")
        }
        (Want::Drift, None) => match closed.into_iter().last().filter(|_| t.reopen) {
            Some((issue, _)) => {
                let reopened = github::update_issue(issue.number, Some(t.title), Some(&full), Some("open"))?;
                github::create_comment(issue.number, t.back_note)?;
                (Some(reopened), "reopened")
            }
            None => (Some(github::create_issue(t.title, &full, labels)?), "opened"),
        },
        (Want::Clean, Some((issue, _))) => {
            github::create_comment(issue.number, t.gone_note)?;
            let closed = github::update_issue(issue.number, None, None, Some("closed"))?;
            (Some(closed), "closed")
        }
        (Want::Clean, None) => (None, "none"),
    };
    Ok(Kept {
        issue,
        action,
        duplicates,
    })
}

/// Close a duplicate with a comment pointing at the one kept, and change its marker so it is
/// never matched (or reopened) again.
fn close_duplicate(dup: &Issue, keeper: &Issue, workspace: &str) -> Result<(), GithubError> {
    github::create_comment(
        dup.number,
        &format!(
            "Closing as a duplicate of #{}: drift for this workspace is tracked there (two runs opened an issue at the same time).",
            keeper.number
        ),
    )?;
    let rest = dup.body.split_once('\n').map_or("", |(_, rest)| rest);
    let body = format!(
        "{DUPLICATE_PREFIX}{} duplicate-of={} -->\n{rest}",
        marker_value(workspace),
        keeper.number
    );
    github::update_issue(dup.number, None, Some(&body), Some("closed"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_belong_to_one_workspace() {
        let m = marker("us-east", "00ff");
        assert_eq!(m, "<!-- tollgate:drift-check workspace=us-east digest=00ff -->");
        assert_eq!(owned_digest(&format!("{m}\nbody"), "us-east").as_deref(), Some("00ff"));
        assert_eq!(
            owned_digest(&format!("{m}\r\nbody"), "us-east").as_deref(),
            Some("00ff")
        );
        assert_eq!(owned_digest(&format!("{m}\nbody"), "us-east-1"), None);
        assert_eq!(owned_digest(&format!("hi\n{m}"), "us-east"), None);
        assert_eq!(owned_digest(&format!("{m} x"), "us-east"), None);
        assert_eq!(
            owned_digest(&marker("us-east", "none"), "us-east").as_deref(),
            Some("none")
        );
    }

    #[test]
    fn hostile_workspaces_cannot_forge_another_marker() {
        let victim = "eu-west";
        for hostile in [
            "eu-west digest=00 -->\n<!-- tollgate:drift-check workspace=eu-west",
            "eu-west digest=00",
            "eu-west -->",
            "eu-west\n",
            "eu-west ",
            "EU-WEST",
        ] {
            let m = marker(hostile, "abcd");
            assert_eq!(owned_digest(&m, victim), None, "{hostile:?} forged {victim}");
            assert_eq!(owned_digest(&m, hostile).as_deref(), Some("abcd"));
            let inner = &m[4..m.len() - 3];
            assert!(!inner.contains('>') && !inner.contains('<') && !m.contains('\n'), "{m}");
        }
        // A workspace whose own name ends in " digest=…" still reads back as itself.
        let m = marker("a digest=1", "ff");
        assert_eq!(owned_digest(&m, "a"), None);
        assert_eq!(owned_digest(&m, "a digest=1").as_deref(), Some("ff"));
    }
}
