//! The host's words for capabilities a plugin requests but the step does not grant, and for grants the plugin
//! did not request.
//!
//! The host's `intersect` and the SDK's `MockHost` both say it through here.

use crate::github::GithubPermission;
use crate::origin::OriginPattern;

/// A capability a plugin requires, as the host names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed<'a> {
    /// Network access to any of these origins (a plugin's required origins are alternatives).
    Net(&'a [OriginPattern]),
    /// Read access to files.
    Read,
    /// Write access to a directory.
    Write,
    /// A secret, by name.
    Secret(&'a str),
    /// A GitHub permission.
    Github(GithubPermission),
}

impl Needed<'_> {
    /// The capability in words: ``the secret `TOKEN` ``, `network access (https://* or http://*:*)`. For a secret
    /// or a GitHub permission, also how a grant the plugin did not request is named.
    pub fn words(&self) -> String {
        match self {
            Needed::Net(origins) => {
                let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
                format!("network access ({})", origins.join(" or "))
            }
            Needed::Read => "read access to files".to_string(),
            Needed::Write => "write access to a directory".to_string(),
            Needed::Secret(name) => format!("the secret `{name}`"),
            Needed::Github(p) => format!("the GitHub permission {p}"),
        }
    }

    /// The grant to add, on the command line and in a workflow.
    pub fn hint(&self) -> String {
        match self {
            Needed::Net(origins) => {
                let first = origins.first().map(|o| o.to_string()).unwrap_or_default();
                format!(
                    "add `--allow-net ORIGIN` for each origin it must reach (e.g. `--allow-net {first}`), or `allow-net:` in the workflow"
                )
            }
            Needed::Read => "add `--allow-read DIR` / `allow-read:`".to_string(),
            Needed::Write => "add `--allow-write DIR` / `allow-write:`".to_string(),
            Needed::Secret(name) => {
                format!("add `--secret {name}` / `secrets: {name}` and set the environment variable {name}")
            }
            Needed::Github(p) => {
                format!("add `--allow-github {p}` / `allow-github: {p}` and `permissions:` in the job")
            }
        }
    }
}

/// ``PLUGIN needs CAPABILITY, which this step does not grant (REASON).\n  fix: HINT``, with the words and hint of
/// [`Needed`] and the plugin's stated reason.
pub fn missing(plugin: &str, capability: &str, reason: &str, hint: &str) -> String {
    format!("{plugin} needs {capability}, which this step does not grant ({reason}).\n  fix: {hint}")
}

/// The notice for a grant the plugin did not request, which it therefore does not get:
/// ``PLUGIN did not request WHAT; not granted``.
pub fn not_requested(plugin: &str, what: &str) -> String {
    format!("{plugin} did not request {what}; not granted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_grants_name_the_fix() {
        let origins = [
            OriginPattern::parse("https://*:443").unwrap(),
            OriginPattern::parse("http://*:*").unwrap(),
        ];
        let net = Needed::Net(&origins);
        assert_eq!(
            missing("p", &net.words(), "to ping", &net.hint()),
            "p needs network access (https://* or http://*:*), which this step does not grant (to ping).\n  fix: \
             add `--allow-net ORIGIN` for each origin it must reach (e.g. `--allow-net https://*`), or `allow-net:` in the workflow"
        );
        let gh = Needed::Github(GithubPermission::IssuesWrite);
        assert_eq!(gh.words(), "the GitHub permission issues:write");
        assert!(gh.hint().starts_with("add `--allow-github issues:write`"));
        assert_eq!(
            not_requested("p", &Needed::Secret("TOKEN").words()),
            "p did not request the secret `TOKEN`; not granted"
        );
    }
}
