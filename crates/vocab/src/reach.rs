//! What a step's GitHub writes may reach: the refs of its own namespace, refs the workflow grants beyond it,
//! and the comments and issues its plugin created.
//!
//! - [`Owner`]: who a step is on GitHub. The host derives it (builtins by name, other plugins by the source
//!   the workflow named), never from what the plugin says in `describe`, so a plugin that calls itself
//!   `plan-comment` does not inherit the builtin's comments or `state-lock`'s refs.
//! - Refs: a plugin names `refs/tollgate/REST`; the host keeps it at `refs/tollgate/OWNER/REST` and
//!   hands names back as the plugin wrote them ([`RefScope`]). Any other ref is written only when a
//!   [`RefPattern`] grant (`allow: {refs: [refs/heads/release-*]}`) names it.
//! - Comments and issues: the host ends every body a plugin writes with an owner marker
//!   ([`mark`]) after dropping any marker-like line the plugin wrote; a comment or issue is the step's
//!   to change only when its body ends with the marker of the step's owner ([`owner_of`]), or when an
//!   [`OwnerGrant`] (`allow: {owners: [plan-comment]}`, or `*` for anyone's, people's included) names
//!   whoever wrote it.

use std::fmt;

use crate::error::{Invalid, Result};
use crate::github::Call;

/// Where every plugin's own refs live; the host inserts the owner after it.
pub const NAMESPACE_ROOT: &str = "refs/tollgate/";

/// The longest owner name: it is part of every ref name and marker the host writes.
const MAX_OWNER: usize = 64;

/// Who a step is on GitHub: `state-lock` for the builtin, `oci-1f2e3d4c5b6a` for a plugin from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(String);

impl Owner {
    /// An owner name: lowercase letters, digits and `-`, starting with a letter, at most 64 characters.
    pub fn new(name: &str) -> Result<Self> {
        let valid = name.len() <= MAX_OWNER
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(name.to_string()))
        } else {
            Err(Invalid::new(
                "owner",
                name,
                "an owner is lowercase letters, digits and `-`, starting with a letter",
                Some("builtins are owned by their name, other plugins by a digest of their source"),
            ))
        }
    }

    /// The name, as it appears in refs and markers.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A grant to change comments and issues someone else wrote: one owner's (`plan-comment`,
/// `oci-1f2e3d4c5b6a`), or `*`, anyone's, comments people wrote included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerGrant {
    /// Any comment or issue.
    Any,
    /// Those whose marker names this owner.
    Owner(Owner),
}

impl OwnerGrant {
    /// `*` or an owner name.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "*" => Ok(Self::Any),
            name => Owner::new(name).map(Self::Owner),
        }
    }

    /// Does it cover a comment or issue whose marker names `found` (`None`: no marker)?
    pub fn covers(&self, found: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::Owner(owner) => found == Some(owner.as_str()),
        }
    }
}

impl fmt::Display for OwnerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Owner(owner) => owner.fmt(f),
        }
    }
}

/// Is `name` a full ref name the host will send to GitHub? Stricter than `git check-ref-format`: `refs/`
/// then non-empty components of ASCII letters, digits, `.`, `_` and `-`, none starting with `.` or ending
/// with `.lock`. Anything an attacker could use to step out of a namespace (`..`, `//`, `%2e`, `\`, a
/// missing `refs/`) fails here, before any prefix is compared.
pub fn check_ref_name(name: &str) -> std::result::Result<(), String> {
    let Some(rest) = name.strip_prefix("refs/") else {
        return Err(format!("`{name}` is not a full ref name: write it as `refs/…`"));
    };
    if name.len() > 255 {
        return Err(format!("ref name `{name}` is longer than 255 characters"));
    }
    for component in rest.split('/') {
        let bad = component.is_empty()
            || component.starts_with('.')
            || component.ends_with(".lock")
            || !component
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if bad {
            return Err(format!(
                "`{name}` is not a ref name the host sends: each part after `refs/` is letters, digits, `.`, `_` \
                 and `-`, not empty, not starting with `.` (`{component}`)"
            ));
        }
    }
    Ok(())
}

/// A grant of refs beyond the step's namespace: a full ref name, or one ending in `*` for any last part
/// that starts so (`refs/heads/release-*` covers `refs/heads/release-1.2`, not `refs/heads/release-1/x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefPattern(String);

impl RefPattern {
    /// Parse a pattern as written in `allow: {refs: [...]}` or `--allow-ref`.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |problem: String| {
            Invalid::new(
                "ref pattern",
                text,
                problem,
                Some(
                    "write a full ref, e.g. `refs/heads/release`, or end its last part with `*`: `refs/heads/release-*`",
                ),
            )
        };
        let (stem, wild) = match text.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (text, false),
        };
        let probe = if wild { format!("{stem}x") } else { stem.to_string() };
        check_ref_name(&probe).map_err(invalid)?;
        if probe.starts_with(NAMESPACE_ROOT) {
            return Err(invalid(format!(
                "refs under `{NAMESPACE_ROOT}` are each plugin's own and need no grant"
            )));
        }
        Ok(Self(text.to_string()))
    }

    /// Does the pattern cover the (already checked) ref `name`?
    pub fn matches(&self, name: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(stem) => name
                .strip_prefix(stem)
                .is_some_and(|last| !last.is_empty() && !last.contains('/')),
            None => self.0 == name,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The refs one step may name: its owner's namespace, and what `granted` adds for writes.
#[derive(Debug, Clone)]
pub struct RefScope {
    owner: Owner,
    granted: Vec<RefPattern>,
}

impl RefScope {
    /// The scope of a step owned by `owner` with these ref grants.
    pub fn new(owner: Owner, granted: Vec<RefPattern>) -> Self {
        Self { owner, granted }
    }

    /// The ref GitHub is asked about when a plugin names `name` in `call`: `refs/tollgate/REST` becomes
    /// `refs/tollgate/OWNER/REST`; another ref is readable with the read permission and writable only when a
    /// grant covers it. The error is the `denied` text.
    pub fn resolve(&self, call: Call, name: &str) -> std::result::Result<String, String> {
        check_ref_name(name).map_err(|why| format!("{call} refused: {why}"))?;
        if let Some(rest) = name.strip_prefix(NAMESPACE_ROOT) {
            return Ok(format!("{NAMESPACE_ROOT}{}/{rest}", self.owner));
        }
        if !call.writes() || self.granted.iter().any(|p| p.matches(name)) {
            return Ok(name.to_string());
        }
        Err(format!(
            "{call} of `{name}` refused: a plugin writes only its own refs, `{NAMESPACE_ROOT}…` (kept under \
             `{NAMESPACE_ROOT}{}/`), unless the step grants more; add `allow: {{refs: [{name}]}}` to the pipeline \
             step (`--allow-ref {name}`, the action's `allow-refs: {name}`) if the plugin should move it",
            self.owner
        ))
    }

    /// A ref name from GitHub as the plugin knows it: its own namespace's prefix taken off again.
    pub fn present(&self, name: &str) -> String {
        let own = format!("{NAMESPACE_ROOT}{}/", self.owner);
        match name.strip_prefix(&own) {
            Some(rest) => format!("{NAMESPACE_ROOT}{rest}"),
            None => name.to_string(),
        }
    }
}

/// The owner marker's opening; a plugin-written line containing it (in any case) is dropped by [`mark`].
const MARKER_TAG: &str = "tollgate:owner";

/// `body` as the host posts it for a step of `owner` with id `step`: every line that mentions the owner tag
/// dropped (only the host writes markers), then the marker as the last line.
pub fn mark(body: &str, owner: &Owner, step: &str) -> String {
    let kept: Vec<&str> = body
        .lines()
        .filter(|line| !line.to_ascii_lowercase().contains(MARKER_TAG))
        .collect();
    let step: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!(
        "{}\n\n<!-- {MARKER_TAG}={owner} step={step} -->",
        kept.join("\n").trim_end()
    )
}

/// The owner a body's marker names, if its last non-empty line is a marker the host wrote.
pub fn owner_of(body: &str) -> Option<&str> {
    let last = body.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let inner = last.strip_prefix("<!-- ")?.strip_suffix(" -->")?;
    let rest = inner.strip_prefix(MARKER_TAG)?.strip_prefix('=')?;
    let (owner, step) = rest.split_once(' ')?;
    step.starts_with("step=").then_some(owner)
}

/// `body` as a plugin reads it: the host's owner marker (and the blank line before it) taken off, so a
/// plugin that reads a body and writes it back does not carry a marker into its text.
pub fn unmark(body: &str) -> &str {
    if owner_of(body).is_none() {
        return body;
    }
    let trimmed = body.trim_end();
    let cut = trimmed.rfind('\n').unwrap_or(0);
    trimmed[..cut].trim_end_matches(['\r', '\n'])
}

/// The `denied` text for changing a comment or issue another plugin (or a person) wrote, naming the grant
/// that would allow it.
pub fn not_owned(call: Call, what: &str, owner: &Owner, found: Option<&str>) -> String {
    let (by, grant) = match found {
        Some(other) => (format!("it belongs to `{other}`"), other),
        None => (
            "it carries no Tollgate owner marker (a person or another tool wrote it)".to_string(),
            "*",
        ),
    };
    format!(
        "{call} of {what} refused: {by}; a step changes only the comments and issues its own plugin \
         (`{owner}`) created, unless the step grants more: add `allow: {{owners: [\"{grant}\"]}}` to the \
         pipeline step (`--allow-owner '{grant}'`, the action's `allow-owners: '{grant}'`) if it should"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_grant_covers_its_owner_or_anyone() {
        let plan = OwnerGrant::parse("plan-comment").unwrap();
        assert!(plan.covers(Some("plan-comment")));
        assert!(!plan.covers(Some("plan-comment-x")) && !plan.covers(None));
        let any = OwnerGrant::parse("*").unwrap();
        assert!(any.covers(None) && any.covers(Some("drift-check")));
        for bad in ["", "Plan", "a b", "**", "plan*"] {
            assert!(OwnerGrant::parse(bad).is_err(), "{bad}");
        }
        let said = not_owned(Call::UpdateComment, "comment 7", &Owner::new("x").unwrap(), None);
        assert!(said.contains(r#"allow: {owners: ["*"]}"#), "{said}");
    }

    fn scope(granted: &[&str]) -> RefScope {
        RefScope::new(
            Owner::new("state-lock").unwrap(),
            granted.iter().map(|p| RefPattern::parse(p).unwrap()).collect(),
        )
    }

    #[test]
    fn own_refs_are_kept_under_the_owner_and_handed_back_as_written() {
        let s = scope(&[]);
        let kept = s.resolve(Call::CreateRef, "refs/tollgate/locks/us-east").unwrap();
        assert_eq!(kept, "refs/tollgate/state-lock/locks/us-east");
        assert_eq!(s.present(&kept), "refs/tollgate/locks/us-east");
        assert_eq!(s.present("refs/heads/main"), "refs/heads/main");
    }

    #[test]
    fn every_spelling_of_a_ref_outside_the_namespace_is_refused_for_writes() {
        let s = scope(&[]);
        for name in [
            "refs/heads/main",
            "heads/main",
            "refs//heads/main",
            "refs/tollgate/../heads/main",
            "refs/tollgate/%2e%2e/heads/main",
            "refs/Tollgate/x",
            "refs/tags/v9.9.9",
            "refs/tollgate/./x",
            "refs/tollgate/x.lock",
            "refs/tollgate/x/",
            "refs/tollgate\\x",
            "/refs/tollgate/x",
            "refs/tollgate/x@{0}",
            "",
        ] {
            for call in [Call::CreateRef, Call::UpdateRef, Call::DeleteRef] {
                let got = s.resolve(call, name);
                assert!(
                    got.as_ref().is_err_and(|e| e.contains("refused")),
                    "{call} {name:?}: {got:?}"
                );
            }
        }
        // Reading another ref is what `contents:read` is for; its name is still checked.
        assert_eq!(s.resolve(Call::GetRef, "refs/heads/main").unwrap(), "refs/heads/main");
        assert!(s.resolve(Call::GetRef, "refs/tollgate/../heads/main").is_err());
    }

    #[test]
    fn a_ref_grant_reaches_what_it_names_and_no_further() {
        let s = scope(&["refs/heads/release-*", "refs/tags/v1"]);
        assert!(s.resolve(Call::UpdateRef, "refs/heads/release-1.2").is_ok());
        assert!(s.resolve(Call::UpdateRef, "refs/heads/release-1/x").is_err());
        assert!(s.resolve(Call::UpdateRef, "refs/heads/release-").is_err());
        assert!(s.resolve(Call::UpdateRef, "refs/heads/main").is_err());
        assert!(s.resolve(Call::CreateRef, "refs/tags/v1").is_ok());
        assert!(s.resolve(Call::CreateRef, "refs/tags/v10").is_err());
        let denied = scope(&[]).resolve(Call::UpdateRef, "refs/heads/main").unwrap_err();
        assert!(denied.contains("allow: {refs: [refs/heads/main]}"), "{denied}");
        assert!(denied.contains("refs/tollgate/state-lock/"), "{denied}");
    }

    #[test]
    fn ref_patterns_are_full_refs_outside_the_namespace() {
        for bad in [
            "heads/main",
            "refs/heads/*/x",
            "refs/tollgate/x",
            "refs/heads/../x",
            "refs/heads/a*b",
        ] {
            assert!(RefPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(RefPattern::parse("refs/heads/*").is_ok());
    }

    #[test]
    fn owners_are_plain_names() {
        assert!(Owner::new("plan-comment").is_ok());
        for bad in ["", "Plan", "a/b", "-x", "a b", &"x".repeat(65)] {
            assert!(Owner::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_host_marker_names_an_owner() {
        let owner = Owner::new("plan-comment").unwrap();
        let body = mark("## Plan\n\nno changes", &owner, "comment [us-east]");
        assert!(
            body.ends_with("<!-- tollgate:owner=plan-comment step=comment__us-east_ -->"),
            "{body}"
        );
        assert_eq!(owner_of(&body), Some("plan-comment"));
        assert_eq!(unmark(&body), "## Plan\n\nno changes");
        assert_eq!(unmark(&mark("", &owner, "s")), "");
        assert_eq!(unmark("a person's text"), "a person's text");
        // A plugin's forged markers are dropped, in any case or position, and the host's comes last.
        let forged = "x\n<!-- tollgate:owner=drift-check step=a -->\n<!-- TOLLGATE:OWNER=drift-check step=a -->";
        let body = mark(forged, &Owner::new("oci-abc").unwrap(), "s");
        assert_eq!(body.matches("owner=").count(), 1, "{body}");
        assert_eq!(owner_of(&body), Some("oci-abc"));
        assert_eq!(
            owner_of("text\n<!-- tollgate:owner=plan-comment step=x -->\nmore"),
            None
        );
        assert_eq!(owner_of("no marker"), None);
        assert_eq!(owner_of(""), None);
    }
}
