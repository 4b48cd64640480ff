//! One comment per pull request per workspace: found by a hidden marker on its first line,
//! updated in place, created only when none exists. Duplicates (two runs that raced) are
//! deleted, keeping the oldest; one that cannot be deleted is collapsed to a note.

use tollgate_sdk::github::{self, Comment, GithubError};
use tollgate_sdk::markdown::marker_value;

/// The first line of every comment this plugin owns for `workspace`.
pub fn marker(workspace: &str) -> String {
    format!("<!-- tollgate:plan-comment workspace={} -->", marker_value(workspace))
}

/// The first line of a comment that a newer one replaced (never matched again).
fn stale_marker(workspace: &str) -> String {
    format!(
        "<!-- tollgate:plan-comment-stale workspace={} -->",
        marker_value(workspace)
    )
}

/// Whether `body` belongs to `workspace`: its first line is exactly the marker.
pub fn owns(body: &str, marker: &str) -> bool {
    body.split('\n').next().map(|l| l.trim_end_matches('\r')) == Some(marker)
}

/// What posting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The comment that now holds the plan.
    pub comment: Comment,
    /// `created` or `updated`.
    pub action: &'static str,
    /// Older or duplicate comments deleted or collapsed, by id.
    pub removed: Vec<u64>,
}

/// Post `body` (without the marker) as the sticky comment for `workspace` on `pr`.
/// `minimize_stale`: collapse the previous comment and post a new one at the bottom of the
/// conversation instead of editing it in place.
pub fn post(pr: u64, workspace: &str, body: &str, minimize_stale: bool) -> Result<Posted, GithubError> {
    let marker = marker(workspace);
    let full = format!("{marker}\n{body}");
    let mut ours: Vec<Comment> = github::list_comments(pr)?
        .into_iter()
        .filter(|c| owns(&c.body, &marker))
        .collect();
    ours.sort_by_key(|c| c.id);

    let mut removed = Vec::new();
    let stale_note = |url: &str| {
        format!(
            "{}\n<details><summary>An earlier Terraform plan for this workspace (superseded{})</summary>\n\nThis comment was replaced by a newer plan.\n\n</details>\n",
            stale_marker(workspace),
            if url.is_empty() {
                String::new()
            } else {
                format!(": [latest]({url})")
            }
        )
    };

    if minimize_stale || ours.is_empty() {
        let comment = github::create_comment(pr, &full)?;
        for old in &ours {
            retire(old, &stale_note(&comment.html_url), &mut removed, minimize_stale);
        }
        return Ok(Posted {
            comment,
            action: "created",
            removed,
        });
    }

    // Update the oldest; a comment we cannot edit (someone else's, forged) is skipped.
    let mut kept = None;
    for (i, c) in ours.iter().enumerate() {
        match github::update_comment(c.id, &full) {
            Ok(updated) => {
                kept = Some((i, updated));
                break;
            }
            Err(GithubError::NotFound(_)) => continue,
            // A forged marker: GitHub (403) or the host (another plugin's comment) refuses the edit.
            Err(GithubError::Denied(e)) => {
                tollgate_sdk::warn(&format!(
                    "comment {} carries this workspace's marker but is not ours ({e}); skipping it",
                    c.id
                ));
                continue;
            }
            Err(GithubError::Other(e)) if e.starts_with("403") => {
                tollgate_sdk::warn(&format!(
                    "comment {} carries this workspace's marker but cannot be edited ({e}); skipping it",
                    c.id
                ));
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    let (index, comment, action) = match kept {
        Some((i, c)) => (Some(i), c, "updated"),
        None => (None, github::create_comment(pr, &full)?, "created"),
    };
    for (i, c) in ours.iter().enumerate() {
        if Some(i) != index {
            retire(c, &stale_note(&comment.html_url), &mut removed, false);
        }
    }
    Ok(Posted {
        comment,
        action,
        removed,
    })
}

/// Delete an old or duplicate comment; collapse it to a note when it cannot be deleted (or
/// when `collapse` asks to keep it).
fn retire(old: &Comment, note: &str, removed: &mut Vec<u64>, collapse: bool) {
    if !collapse {
        match github::delete_comment(old.id) {
            Ok(()) | Err(GithubError::NotFound(_)) => {
                removed.push(old.id);
                return;
            }
            Err(e) => tollgate_sdk::debug(&format!(
                "could not delete duplicate comment {}: {e:?}; collapsing it",
                old.id
            )),
        }
    }
    match github::update_comment(old.id, note) {
        Ok(_) | Err(GithubError::NotFound(_)) => removed.push(old.id),
        Err(e) => tollgate_sdk::warn(&format!("could not retire the old plan comment {}: {e:?}", old.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_marks_ownership() {
        let m = marker("us-east");
        assert!(owns(&format!("{m}\nbody"), &m));
        assert!(owns(&format!("{m}\r\nbody"), &m));
        assert!(!owns(&format!("hello\n{m}"), &m));
        assert!(!owns(&format!("{m} extra"), &m));
        assert!(!owns(&marker("us-east-1"), &m));
    }

    #[test]
    fn hostile_workspaces_cannot_forge_another_marker() {
        let victim = marker("eu-west");
        for hostile in [
            "x -->\n<!-- tollgate:plan-comment workspace=eu-west -->",
            "eu-west -->",
            "eu-west\n",
            "eu-west ",
            "EU-WEST",
        ] {
            let m = marker(hostile);
            assert_ne!(m, victim, "{hostile:?}");
            let inner = &m[4..m.len() - 3];
            assert!(
                !inner.contains('>') && !inner.contains('<'),
                "{m}: the comment must not end early"
            );
            assert!(!m.contains('\n'));
        }
    }
}
