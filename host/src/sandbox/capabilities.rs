//! Capabilities: what a step grants, what a plugin requests, and their intersection.
//!
//! Deny by default. A plugin gets a capability only when it requested it *and* the
//! workflow granted it; a required request without a matching grant stops the step
//! before `run` with a message that names the grant to add.

use crate::bindings::tollgate::plugin::types::{Capability, CapabilityRequest, GithubPermission};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

use tollgate_vocab::grant::{Asked, Needed, Offered, Refused, Request};
pub use tollgate_vocab::origin::{OriginPattern, Scheme, normalize_host};
use tollgate_vocab::reach::{OwnerGrant, RefPattern};

/// The WIT's GitHub permission for the vocabulary's (the two enums name the same six).
fn to_wit(p: tollgate_vocab::github::GithubPermission) -> GithubPermission {
    use tollgate_vocab::github::GithubPermission as P;
    match p {
        P::PullRequestsRead => GithubPermission::PullRequestsRead,
        P::PullRequestsWrite => GithubPermission::PullRequestsWrite,
        P::IssuesRead => GithubPermission::IssuesRead,
        P::IssuesWrite => GithubPermission::IssuesWrite,
        P::ContentsRead => GithubPermission::ContentsRead,
        P::ContentsWrite => GithubPermission::ContentsWrite,
    }
}

/// The vocabulary's GitHub permission for the WIT's.
pub(crate) fn from_wit(p: GithubPermission) -> tollgate_vocab::github::GithubPermission {
    use tollgate_vocab::github::GithubPermission as P;
    match p {
        GithubPermission::PullRequestsRead => P::PullRequestsRead,
        GithubPermission::PullRequestsWrite => P::PullRequestsWrite,
        GithubPermission::IssuesRead => P::IssuesRead,
        GithubPermission::IssuesWrite => P::IssuesWrite,
        GithubPermission::ContentsRead => P::ContentsRead,
        GithubPermission::ContentsWrite => P::ContentsWrite,
    }
}

fn github_permission_name(p: GithubPermission) -> &'static str {
    from_wit(p).as_str()
}

/// A directory granted to the step; the guest sees it at the same absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory's canonical absolute path.
    pub path: PathBuf,
    /// Whether the step may write in it, not only read.
    pub writable: bool,
}

/// What the workflow allows a step.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Origins the step may reach.
    pub net: Vec<OriginPattern>,
    /// Directories the step may use.
    pub dirs: Vec<DirGrant>,
    /// Names of the secrets the step may read.
    pub secrets: Vec<String>,
    /// GitHub permissions the step may use.
    pub github: Vec<GithubPermission>,
    /// Refs beyond the plugin's own namespace its `contents:write` may move.
    pub refs: Vec<RefPattern>,
    /// Owners whose comments and issues its `pull-requests:write`/`issues:write` may change.
    pub owners: Vec<OwnerGrant>,
}

/// Grants as the workflow wrote them, already spelled by `tollgate-vocab` (CLI flags, the
/// action's inputs and a pipeline's `allow:` all parse with it).
#[derive(Debug, Clone, Default)]
pub struct GrantLists<'a> {
    /// `--allow-net` / `allow.net`.
    pub net: &'a [OriginPattern],
    /// `--allow-read` / `allow.read`, relative to the base directory.
    pub read: &'a [String],
    /// `--allow-write` / `allow.write`.
    pub write: &'a [String],
    /// `--secret` / `allow.secrets`.
    pub secrets: &'a [String],
    /// `--allow-github` / `allow.github`.
    pub github: &'a [tollgate_vocab::GithubPermission],
    /// `--allow-ref` / `allow.refs`.
    pub refs: &'a [RefPattern],
    /// `--allow-owner` / `allow.owners`.
    pub owners: &'a [OwnerGrant],
}

impl Grants {
    /// Check written grants; relative directories resolve against `base`.
    pub fn new(lists: &GrantLists<'_>, base: &Path) -> Result<Self> {
        for name in lists.secrets {
            tollgate_vocab::check_secret_name(name)?;
        }
        let mut grants = Grants {
            net: lists.net.to_vec(),
            secrets: lists.secrets.to_vec(),
            github: lists.github.iter().map(|p| to_wit(*p)).collect(),
            refs: lists.refs.to_vec(),
            owners: lists.owners.to_vec(),
            ..Grants::default()
        };
        for dir in lists.read {
            grants.grant_dir(&base.join(dir), false)?;
        }
        for dir in lists.write {
            grants.grant_dir(&base.join(dir), true)?;
        }
        Ok(grants)
    }

    /// Grant a directory, resolved to its canonical absolute path so that symlinks in the
    /// grant itself cannot widen it later.
    pub fn grant_dir(&mut self, path: &Path, writable: bool) -> Result<()> {
        let canonical = path.canonicalize().map_err(|e| {
            Error::invalid(
                if writable {
                    "--allow-write path"
                } else {
                    "--allow-read path"
                },
                path.display().to_string(),
                format!("{e}; grant an existing directory"),
            )
        })?;
        if !canonical.is_dir() {
            return Err(Error::invalid(
                if writable {
                    "--allow-write path"
                } else {
                    "--allow-read path"
                },
                path.display().to_string(),
                "not a directory; grant the directory that holds the file",
            ));
        }
        match self.dirs.iter_mut().find(|d| d.path == canonical) {
            Some(existing) => existing.writable |= writable,
            None => self.dirs.push(DirGrant {
                path: canonical,
                writable,
            }),
        }
        Ok(())
    }
}

/// What a plugin may actually use: the intersection of grants and requests.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    /// A request must match a granted pattern *and* a requested pattern.
    pub net_granted: Vec<OriginPattern>,
    /// Origin patterns the plugin requested, optional ones included.
    pub net_requested: Vec<OriginPattern>,
    /// Granted directories, if the plugin requested file access; writable only if it
    /// requested write access too.
    pub dirs: Vec<DirGrant>,
    /// Secrets both granted and requested.
    pub secrets: Vec<String>,
    /// GitHub permissions requested and covered by a grant.
    pub github: Vec<GithubPermission>,
    /// Refs beyond the plugin's namespace, when it may write refs at all.
    pub refs: Vec<RefPattern>,
    /// Other owners whose comments and issues it may change, when it may write them at all.
    pub owners: Vec<OwnerGrant>,
    /// Grants the plugin did not ask for; they are dropped, and said so.
    pub unused: Vec<String>,
}

impl Effective {
    /// The grants as recorded in artifact statements.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "net": self.net_granted.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            "dirs": self.dirs.iter().map(|d| serde_json::json!({"path": d.path, "writable": d.writable})).collect::<Vec<_>>(),
            "secrets": self.secrets,
            "github": self.github.iter().map(|p| github_permission_name(*p)).collect::<Vec<_>>(),
            "refs": self.refs.iter().map(RefPattern::as_str).collect::<Vec<_>>(),
            "owners": self.owners.iter().map(OwnerGrant::to_string).collect::<Vec<_>>(),
        })
    }

    /// May the plugin reach `scheme://host:port`?
    pub fn allows_origin(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.net_granted.iter().any(|p| p.allows(scheme, host, port))
            && self.net_requested.iter().any(|p| p.allows(scheme, host, port))
    }
}

/// The vocabulary's request for the WIT's capability.
fn request(capability: &Capability) -> Request<'_> {
    match capability {
        Capability::Net(pattern) => Request::Net(pattern),
        Capability::Read => Request::Read,
        Capability::Write => Request::Write,
        Capability::Secret(name) => Request::Secret(name),
        Capability::Github(p) => Request::Github(from_wit(*p)),
    }
}

/// Intersect `grants` with `requests` (the rule is `tollgate_vocab::grant::intersect`); a
/// required request without a grant is an error.
pub fn intersect(plugin: &str, grants: &Grants, requests: &[CapabilityRequest]) -> Result<Effective> {
    let asked: Vec<Asked<'_>> = requests
        .iter()
        .map(|r| Asked::new(request(&r.capability), &r.reason, r.optional))
        .collect();
    let offered = Offered::new(
        &grants.net,
        grants.dirs.iter().map(|d| d.writable),
        grants.secrets.iter().map(String::as_str),
        grants.github.iter().map(|p| from_wit(*p)),
    );
    let both = tollgate_vocab::grant::intersect(&asked, &offered).map_err(|refused| match refused {
        Refused::MalformedOrigin(e) => Error::InvalidPlugin {
            plugin: plugin.to_string(),
            reason: tollgate_vocab::plugin::malformed_origin(&e),
        },
        Refused::Missing {
            capability,
            reason,
            hint,
        } => Error::MissingGrant {
            plugin: plugin.to_string(),
            capability,
            reason,
            hint,
        },
    })?;
    let mut eff = Effective {
        secrets: both.secrets.iter().map(|s| s.to_string()).collect(),
        github: both.github.iter().map(|p| to_wit(*p)).collect(),
        net_granted: both.net_granted,
        net_requested: both.net_requested,
        ..Effective::default()
    };
    for g in grants.net.iter().filter(|g| !eff.net_granted.contains(g)) {
        eff.unused.push(format!("network access to {g}"));
    }
    for dir in &grants.dirs {
        match (both.wants_files, dir.writable && both.wants_write) {
            (false, _) => eff.unused.push(format!("access to {}", dir.path.display())),
            (true, writable) => eff.dirs.push(DirGrant {
                path: dir.path.clone(),
                writable,
            }),
        }
    }
    for s in grants.secrets.iter().filter(|s| !eff.secrets.contains(s)) {
        eff.unused.push(Needed::Secret(s).words());
    }
    if eff.github.contains(&GithubPermission::ContentsWrite) {
        eff.refs = grants.refs.clone();
    } else {
        let reach = |r: &RefPattern| format!("the ref `{r}` (it does not request contents:write)");
        eff.unused.extend(grants.refs.iter().map(reach));
    }
    let writes_comments = [GithubPermission::PullRequestsWrite, GithubPermission::IssuesWrite]
        .iter()
        .any(|p| eff.github.contains(p));
    if writes_comments {
        eff.owners = grants.owners.clone();
    } else {
        let reach = |o: &OwnerGrant| {
            format!("the comments and issues of `{o}` (it does not request pull-requests:write or issues:write)")
        };
        eff.unused.extend(grants.owners.iter().map(reach));
    }
    Ok(eff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(capability: Capability) -> CapabilityRequest {
        CapabilityRequest {
            capability,
            reason: "test".into(),
            optional: false,
        }
    }

    #[test]
    fn net_needs_both_request_and_grant() {
        let grants = Grants {
            net: vec![
                OriginPattern::parse("http://127.0.0.1:*").unwrap(),
                OriginPattern::parse("https://api.test").unwrap(),
            ],
            ..Grants::default()
        };
        let eff = intersect("p", &grants, &[req(Capability::Net("http://*:*".into()))]).unwrap();
        assert!(eff.allows_origin(Scheme::Http, "127.0.0.1", 1234));
        assert!(!eff.allows_origin(Scheme::Https, "api.test", 443), "not requested");
        assert_eq!(eff.unused, ["network access to https://api.test"]);
    }

    #[test]
    fn missing_required_grants_name_the_fix() {
        let err = intersect("p", &Grants::default(), &[req(Capability::Net("https://*".into()))]).unwrap_err();
        assert!(err.to_string().contains("--allow-net https://*"), "{err}");
        let http_only = Grants {
            net: vec![OriginPattern::parse("http://127.0.0.1:8080").unwrap()],
            ..Grants::default()
        };
        let both = [
            req(Capability::Net("https://*".into())),
            req(Capability::Net("http://*:*".into())),
        ];
        assert!(
            intersect("p", &http_only, &both).is_ok(),
            "required origins are alternatives"
        );
        let err = intersect("p", &Grants::default(), &[req(Capability::Secret("TOKEN".into()))]).unwrap_err();
        assert!(err.to_string().contains("--secret TOKEN"), "{err}");
        let err = intersect("p", &Grants::default(), &[req(Capability::Write)]).unwrap_err();
        assert!(err.to_string().contains("--allow-write"), "{err}");
        let optional = CapabilityRequest {
            optional: true,
            ..req(Capability::Read)
        };
        assert!(intersect("p", &Grants::default(), &[optional]).unwrap().dirs.is_empty());
    }

    #[test]
    fn write_grants_are_read_only_for_plugins_that_only_read() {
        let dir = std::env::temp_dir();
        let mut grants = Grants::default();
        grants.grant_dir(&dir, true).unwrap();
        let eff = intersect("p", &grants, &[req(Capability::Read)]).unwrap();
        assert!(!eff.dirs[0].writable);
        let eff = intersect("p", &grants, &[req(Capability::Write)]).unwrap();
        assert!(eff.dirs[0].writable);
    }

    /// `error.rs` spells these two messages in its `#[error]` attributes; the SDK's `MockHost`
    /// says them through `tollgate_vocab`. Keep the two the same.
    #[test]
    fn host_errors_read_as_the_vocabulary_says() {
        let err = intersect("p", &Grants::default(), &[req(Capability::Read)]).unwrap_err();
        let needed = Needed::Read;
        assert_eq!(
            err.to_string(),
            tollgate_vocab::grant::missing("p", &needed.words(), "test", &needed.hint())
        );
        let bad = req(Capability::Net("ftp://x".into()));
        let err = intersect("p", &Grants::default(), &[bad]).unwrap_err();
        let e = OriginPattern::parse("ftp://x").unwrap_err();
        assert_eq!(
            err.to_string(),
            tollgate_vocab::plugin::invalid("p", &tollgate_vocab::plugin::malformed_origin(&e))
        );
    }

    #[test]
    fn github_write_implies_read() {
        let grants = Grants {
            github: vec![GithubPermission::IssuesWrite],
            ..Grants::default()
        };
        assert!(intersect("p", &grants, &[req(Capability::Github(GithubPermission::IssuesRead))]).is_ok());
        assert!(intersect("p", &grants, &[req(Capability::Github(GithubPermission::ContentsRead))]).is_err());
    }
}
