//! One GitHub issue per workspace for drift, never two.
//!
//! - Found by its labels and a hidden marker on the body's first line
//!   (`<!-- tollgate:drift-check workspace=us-east digest=… -->`).
//! - Opened on new drift, updated only when the drift's digest changes, closed with a
//!   comment when the drift is gone, reopened when it comes back.
//! - Duplicates from racing runs are closed, keeping the oldest.
//! - An issue with the marker that the host will not let this step change (someone else wrote
//!   it: a forged or copied marker) is passed over, never written to.

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
    /// Issues carrying this workspace's marker that the host would not let this step change
    /// (another plugin or a person wrote them), by number: passed over, never written to.
    pub foreign: Vec<u64>,
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

/// Why one attempt at keeping the issue stopped.
enum Stop {
    /// The host refused to change this issue: someone else wrote it.
    Foreign(u64),
    /// Anything else.
    Failed(GithubError),
}

impl From<GithubError> for Stop {
    fn from(e: GithubError) -> Self {
        Stop::Failed(e)
    }
}

/// Change issue `number`; a refusal names it as someone else's. Every change to an issue
/// comes before any comment on it, so an issue passed over is never commented on.
fn update(number: u64, title: Option<&str>, body: Option<&str>, state: Option<&str>) -> Result<Issue, Stop> {
    github::update_issue(number, title, body, state).map_err(|e| match e {
        GithubError::Denied(_) => Stop::Foreign(number),
        other => Stop::Failed(other),
    })
}

/// Find, open, update, reopen or close the workspace's issue. An issue carrying the
/// workspace's marker that the host will not let this step change (a forged or copied marker)
/// is passed over: the issues are read again without it and the lifecycle starts over.
pub fn keep(labels: &[String], want: Want, t: &Texts<'_>) -> Result<Kept, GithubError> {
    let mut foreign = Vec::new();
    loop {
        let ours = candidates(labels, t.workspace, &foreign)?;
        match keep_among(&ours, labels, want, t, &mut foreign) {
            Ok(kept) => return Ok(kept),
            // Nothing was written in this pass. Each refusal names an issue not refused before
            // (those are filtered out), so this ends.
            Err(Stop::Foreign(number)) => foreign.push(number),
            Err(Stop::Failed(e)) => return Err(e),
        }
    }
}

/// The workspace's issues (every label, its marker), oldest first, but those in `foreign`.
fn candidates(labels: &[String], workspace: &str, foreign: &[u64]) -> Result<Vec<(Issue, String)>, GithubError> {
    let mut ours: Vec<(Issue, String)> = github::find_issues(labels, "all")?
        .into_iter()
        .filter(|i| labels.iter().all(|l| i.labels.contains(l)) && !foreign.contains(&i.number))
        .filter_map(|i| owned_digest(&i.body, workspace).map(|d| (i, d)))
        .collect();
    ours.sort_by_key(|(i, _)| i.number);
    Ok(ours)
}

/// One pass of the lifecycle. The issue that stands is written (or, when unchanged, claimed
/// with an empty update the host checks like any other) before anything else: refused, the
/// pass has written nothing. Then no duplicate is closed in favour of an issue this step may
/// not keep, and a duplicate the host refuses is passed over (added to `foreign`).
fn keep_among(
    ours: &[(Issue, String)],
    labels: &[String],
    want: Want,
    t: &Texts<'_>,
    foreign: &mut Vec<u64>,
) -> Result<Kept, Stop> {
    let (open, closed): (Vec<_>, Vec<_>) = ours.iter().partition(|(i, _)| i.state == "open");
    let full = format!("{}\n{}", marker(t.workspace, t.digest), t.body);

    let (issue, action) = match (want, open.first()) {
        (Want::Drift, Some((issue, digest))) if *digest == t.digest => {
            (Some(update(issue.number, None, None, None)?), "unchanged")
        }
        (Want::Drift, Some((issue, _))) => {
            let updated = update(issue.number, Some(t.title), Some(&full), None)?;
            github::create_comment(issue.number, t.changed_note)?;
            (Some(updated), "updated")
        }
        (Want::Drift, None) => match closed.last().filter(|_| t.reopen) {
            Some((issue, _)) => {
                let reopened = update(issue.number, Some(t.title), Some(&full), Some("open"))?;
                github::create_comment(issue.number, t.back_note)?;
                (Some(reopened), "reopened")
            }
            None => (Some(github::create_issue(t.title, &full, labels)?), "opened"),
        },
        (Want::Clean, Some((issue, _))) => {
            let closed = update(issue.number, None, None, Some("closed"))?;
            github::create_comment(issue.number, t.gone_note)?;
            (Some(closed), "closed")
        }
        (Want::Clean, None) => (None, "none"),
    };
    // The oldest open issue stands; the others are duplicates from a race.
    let mut duplicates = Vec::new();
    if let Some((keeper, _)) = open.first() {
        for (dup, _) in &open[1..] {
            match close_duplicate(dup, keeper, t.workspace) {
                Ok(()) => duplicates.push(dup.number),
                Err(Stop::Foreign(number)) => foreign.push(number),
                Err(failed) => return Err(failed),
            }
        }
    }
    Ok(Kept {
        issue,
        action,
        duplicates,
        foreign: foreign.clone(),
    })
}

/// Close a duplicate, changing its marker so it is never matched (or reopened) again, then say
/// which issue was kept.
fn close_duplicate(dup: &Issue, keeper: &Issue, workspace: &str) -> Result<(), Stop> {
    let rest = dup.body.split_once('\n').map_or("", |(_, rest)| rest);
    let body = format!(
        "{DUPLICATE_PREFIX}{} duplicate-of={} -->\n{rest}",
        marker_value(workspace),
        keeper.number
    );
    update(dup.number, None, Some(&body), Some("closed"))?;
    github::create_comment(
        dup.number,
        &format!(
            "Closing as a duplicate of #{}: drift for this workspace is tracked there (two runs opened an issue at the same time).",
            keeper.number
        ),
    )?;
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
