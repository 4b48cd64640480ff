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
            Needed::Secret(name) if name.ends_with('*') => format!("a secret named `{name}`"),
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
            Needed::Secret(name) if name.ends_with('*') => {
                format!(
                    "grant each secret it should read by name: `--secret NAME` / `secrets: NAME` (a name matching `{name}`)"
                )
            }
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

/// A capability a plugin requests, in the vocabulary's terms (the host and the SDK's mock
/// each translate their own WIT bindings into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// An origin pattern, as the plugin wrote it.
    Net(&'a str),
    /// Read access to the granted directories.
    Read,
    /// Write access to the granted writable directories.
    Write,
    /// A secret, by name.
    Secret(&'a str),
    /// A GitHub permission.
    Github(GithubPermission),
}

/// One capability request: what, why, and whether the plugin copes without it.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The capability.
    pub capability: Request<'a>,
    /// The plugin's reason.
    pub reason: &'a str,
    /// The plugin copes without it.
    pub optional: bool,
}

impl<'a> Asked<'a> {
    /// A request for `capability`, for `reason`; `optional` when the plugin copes without it.
    pub fn new(capability: Request<'a>, reason: &'a str, optional: bool) -> Self {
        Asked {
            capability,
            reason,
            optional,
        }
    }
}

/// What the step grants, as far as the intersection needs to know.
#[derive(Debug, Clone)]
pub struct Offered<'a> {
    /// Granted origin patterns.
    pub net: &'a [OriginPattern],
    /// Whether any directory is granted.
    pub any_dir: bool,
    /// Whether a writable directory is granted.
    pub writable_dir: bool,
    /// Granted secret names.
    pub secrets: Vec<&'a str>,
    /// Granted GitHub permissions.
    pub github: Vec<GithubPermission>,
}

impl<'a> Offered<'a> {
    /// What a step grants: origin patterns, whether each granted directory is writable, secret names and GitHub
    /// permissions.
    pub fn new(
        net: &'a [OriginPattern],
        writable_dirs: impl IntoIterator<Item = bool>,
        secrets: impl IntoIterator<Item = &'a str>,
        github: impl IntoIterator<Item = GithubPermission>,
    ) -> Self {
        let (mut any_dir, mut writable_dir) = (false, false);
        for writable in writable_dirs {
            any_dir = true;
            writable_dir |= writable;
        }
        Offered {
            net,
            any_dir,
            writable_dir,
            secrets: secrets.into_iter().collect(),
            github: github.into_iter().collect(),
        }
    }
}

/// The intersection of requests and grants: deny by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intersection<'a> {
    /// Every origin pattern the plugin requested, optional ones included.
    pub net_requested: Vec<OriginPattern>,
    /// Granted patterns that overlap a requested one (a request must match both).
    pub net_granted: Vec<OriginPattern>,
    /// Whether the plugin asked for file access at all.
    pub wants_files: bool,
    /// Whether it asked for write access.
    pub wants_write: bool,
    /// Secrets requested and granted, in request order.
    pub secrets: Vec<&'a str>,
    /// GitHub permissions requested and covered by a grant (write covers read).
    pub github: Vec<GithubPermission>,
}

/// Why a step may not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The plugin requested an origin pattern that does not parse.
    MalformedOrigin(crate::Invalid),
    /// A required capability is not granted.
    Missing {
        /// [`Needed::words`].
        capability: String,
        /// The plugin's reason.
        reason: String,
        /// [`Needed::hint`].
        hint: String,
    },
}

impl Refused {
    fn missing(needed: &Needed<'_>, reason: &str) -> Self {
        Refused::Missing {
            capability: needed.words(),
            reason: reason.to_string(),
            hint: needed.hint(),
        }
    }
}

/// Intersect `offered` with `requests`: a plugin gets a capability only when it requested it
/// and the step granted it; a required request without a grant refuses the step, naming the
/// grant to add. A plugin's required origins are alternatives (`http://*` or `https://*`):
/// one granted origin under any of them lets it do its work.
pub fn intersect<'a>(requests: &[Asked<'a>], offered: &Offered<'a>) -> Result<Intersection<'a>, Refused> {
    let mut out = Intersection::default();
    let mut required_net = Vec::new();
    for request in requests {
        let granted = match request.capability {
            Request::Net(pattern) => {
                let pattern = OriginPattern::parse(pattern).map_err(Refused::MalformedOrigin)?;
                if !request.optional {
                    required_net.push((pattern.clone(), request.reason));
                }
                out.net_requested.push(pattern);
                true
            }
            Request::Read => {
                out.wants_files = true;
                offered.any_dir
            }
            Request::Write => {
                out.wants_files = true;
                out.wants_write = true;
                offered.writable_dir
            }
            Request::Secret(request) => {
                let covered = offered
                    .secrets
                    .iter()
                    .filter(|n| crate::secret_request_covers(request, n));
                let mut any = false;
                for &name in covered {
                    any = true;
                    if !out.secrets.contains(&name) {
                        out.secrets.push(name);
                    }
                }
                any
            }
            Request::Github(p) => {
                let ok = offered.github.iter().any(|g| g.covers(p));
                if ok {
                    out.github.push(p);
                }
                ok
            }
        };
        if !granted && !request.optional {
            let needed = match request.capability {
                Request::Read => Needed::Read,
                Request::Write => Needed::Write,
                Request::Secret(name) => Needed::Secret(name),
                Request::Github(p) => Needed::Github(p),
                Request::Net(_) => continue,
            };
            return Err(Refused::missing(&needed, request.reason));
        }
    }
    if let Some((_, reason)) = required_net.first()
        && !required_net
            .iter()
            .any(|(r, _)| offered.net.iter().any(|g| g.overlaps(r)))
    {
        let wanted: Vec<OriginPattern> = required_net.iter().map(|(r, _)| r.clone()).collect();
        return Err(Refused::missing(&Needed::Net(&wanted), reason));
    }
    out.net_granted = offered
        .net
        .iter()
        .filter(|g| out.net_requested.iter().any(|r| r.overlaps(g)))
        .cloned()
        .collect();
    Ok(out)
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

    #[test]
    fn a_prefix_request_gets_only_granted_secrets_under_it() {
        let offered = Offered::new(&[], [], ["PROM_AUTH_TOKEN", "AWS_SECRET_ACCESS_KEY", "PROM_USER"], []);
        let asked = [Asked::new(Request::Secret("PROM_*"), "reads secretKeyRefs", true)];
        let got = intersect(&asked, &offered).unwrap();
        assert_eq!(got.secrets, ["PROM_AUTH_TOKEN", "PROM_USER"]);
        // A request is never a grant: nothing granted, nothing got, even for `*`.
        let none = Offered::new(&[], [], [], []);
        let any = [Asked::new(Request::Secret("*"), "any", true)];
        assert!(intersect(&any, &none).unwrap().secrets.is_empty());
        // Required and unmatched: refused, saying the grant is by name.
        let required = [Asked::new(Request::Secret("DD_*"), "reads the API key", false)];
        match intersect(&required, &offered).unwrap_err() {
            Refused::Missing { capability, hint, .. } => {
                assert_eq!(capability, "a secret named `DD_*`");
                assert!(hint.contains("`--secret NAME`"), "{hint}");
            }
            other => panic!("{other:?}"),
        }
    }
}
