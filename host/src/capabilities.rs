//! Capabilities: what a step grants, what a plugin requests, and their intersection.
//!
//! Deny by default. A plugin gets a capability only when it requested it *and* the
//! workflow granted it; a required request without a matching grant stops the step
//! before `run` with a message that names the grant to add.

use crate::bindings::tollgate::plugin::types::{Capability, CapabilityRequest, GithubPermission};
use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

const ORIGIN_SYNTAX: &str = "write origins as scheme://host[:port], e.g. `https://api.example.com`, \
     `http://127.0.0.1:8080`, `https://*.example.com`, `https://*:*` (port `*` = any port; no port = the scheme's default)";

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain, not the apex.
    Subdomains(String),
    Exact(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            HostPattern::Exact(exact) => exact == host,
        }
    }

    fn overlaps(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) | (_, HostPattern::Any) => true,
            (HostPattern::Exact(a), b) | (b, HostPattern::Exact(a)) => b.matches(a),
            (HostPattern::Subdomains(a), HostPattern::Subdomains(b)) => {
                a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
            }
        }
    }
}

/// An allowed origin pattern, e.g. `https://*.example.com:8443`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    /// `None` = any port.
    port: Option<u16>,
}

impl OriginPattern {
    /// Parse `scheme://host[:port]`; a trailing `/` is tolerated, paths are not.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::invalid("origin", text, format!("{reason}; {ORIGIN_SYNTAX}"));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| invalid("missing `scheme://`"))?;
        let scheme = Scheme::parse(scheme).ok_or_else(|| invalid("the scheme must be http or https"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(invalid("an origin has no path, query or user"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| invalid("malformed host or port"))?;
        let port = match port {
            None => Some(scheme.default_port()),
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| invalid("the port must be 1-65535 or `*`"))?,
            ),
        };
        let host = normalize_host(host);
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(invalid("a wildcard host is `*` or `*.domain`"));
            }
            HostPattern::Subdomains(suffix.to_string())
        } else if host.is_empty() || host.contains('*') {
            return Err(invalid("a wildcard host is `*` or `*.domain`"));
        } else {
            HostPattern::Exact(host)
        };
        Ok(Self { scheme, host, port })
    }

    /// The exact origin of a URL, e.g. `http://127.0.0.1:8080` for `http://127.0.0.1:8080/healthz`.
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = Scheme::parse(scheme)?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => p.parse().ok()?,
        };
        let host = normalize_host(host);
        if host.is_empty() || host.contains('*') {
            return None;
        }
        Some(Self {
            scheme,
            host: HostPattern::Exact(host),
            port: Some(port),
        })
    }

    /// Does a request to `scheme://host:port` fall under this pattern?
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.scheme == scheme && self.port.is_none_or(|p| p == port) && self.host.matches(&normalize_host(host))
    }

    /// `(scheme, host, port)` of a pattern naming exactly one origin.
    pub fn exact(&self) -> Option<(Scheme, &str, u16)> {
        match (&self.host, self.port) {
            (HostPattern::Exact(host), Some(port)) => Some((self.scheme, host, port)),
            _ => None,
        }
    }

    fn overlaps(&self, other: &OriginPattern) -> bool {
        self.scheme == other.scheme
            && (self.port.is_none() || other.port.is_none() || self.port == other.port)
            && self.host.overlaps(&other.host)
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Any => f.write_str("*")?,
            HostPattern::Subdomains(s) => write!(f, "*.{s}")?,
            HostPattern::Exact(h) => f.write_str(h)?,
        }
        match self.port {
            None => f.write_str(":*"),
            Some(p) if p == self.scheme.default_port() => Ok(()),
            Some(p) => write!(f, ":{p}"),
        }
    }
}

/// Split `host[:port]`, keeping IPv6 literals (`[::1]:8080`) intact.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let host = &authority[..inside.len() + 2];
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// Hosts compare case-insensitively and without a trailing root dot.
pub fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// GitHub permission as written in a workflow, e.g. `pull-requests:write`.
pub fn parse_github_permission(text: &str) -> Result<GithubPermission> {
    Ok(match text {
        "pull-requests:read" => GithubPermission::PullRequestsRead,
        "pull-requests:write" => GithubPermission::PullRequestsWrite,
        "issues:read" => GithubPermission::IssuesRead,
        "issues:write" => GithubPermission::IssuesWrite,
        "contents:read" => GithubPermission::ContentsRead,
        "contents:write" => GithubPermission::ContentsWrite,
        _ => {
            return Err(Error::invalid(
                "GitHub permission",
                text,
                "use one of pull-requests:read, pull-requests:write, issues:read, issues:write, contents:read, contents:write",
            ));
        }
    })
}

fn github_permission_name(p: GithubPermission) -> &'static str {
    match p {
        GithubPermission::PullRequestsRead => "pull-requests:read",
        GithubPermission::PullRequestsWrite => "pull-requests:write",
        GithubPermission::IssuesRead => "issues:read",
        GithubPermission::IssuesWrite => "issues:write",
        GithubPermission::ContentsRead => "contents:read",
        GithubPermission::ContentsWrite => "contents:write",
    }
}

/// A write permission implies the read permission of the same scope, as on GitHub.
fn github_covers(granted: GithubPermission, wanted: GithubPermission) -> bool {
    use GithubPermission::*;
    granted == wanted
        || matches!(
            (granted, wanted),
            (PullRequestsWrite, PullRequestsRead) | (IssuesWrite, IssuesRead) | (ContentsWrite, ContentsRead)
        )
}

/// A directory granted to the step; the guest sees it at the same absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    pub path: PathBuf,
    pub writable: bool,
}

/// What the workflow allows a step.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub net: Vec<OriginPattern>,
    pub dirs: Vec<DirGrant>,
    pub secrets: Vec<String>,
    pub github: Vec<GithubPermission>,
}

/// Grants as written on the command line or in a pipeline's `allow:` block.
#[derive(Debug, Clone, Default)]
pub struct GrantLists<'a> {
    pub net: &'a [String],
    pub read: &'a [String],
    pub write: &'a [String],
    pub secrets: &'a [String],
    pub github: &'a [String],
}

impl Grants {
    /// Parse and check written grants; relative directories resolve against `base`.
    pub fn parse(lists: &GrantLists<'_>, base: &Path) -> Result<Self> {
        let mut grants = Grants {
            net: lists
                .net
                .iter()
                .map(|o| OriginPattern::parse(o))
                .collect::<Result<_>>()?,
            secrets: lists.secrets.to_vec(),
            github: lists
                .github
                .iter()
                .map(|p| parse_github_permission(p))
                .collect::<Result<_>>()?,
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
    pub net_requested: Vec<OriginPattern>,
    pub dirs: Vec<DirGrant>,
    pub secrets: Vec<String>,
    pub github: Vec<GithubPermission>,
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
        })
    }

    /// May the plugin reach `scheme://host:port`?
    pub fn allows_origin(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.net_granted.iter().any(|p| p.allows(scheme, host, port))
            && self.net_requested.iter().any(|p| p.allows(scheme, host, port))
    }
}

/// Intersect `grants` with `requests`; a required request without a grant is an error.
pub fn intersect(plugin: &str, grants: &Grants, requests: &[CapabilityRequest]) -> Result<Effective> {
    let mut eff = Effective::default();
    let missing = |capability: String, reason: &str, hint: String| Error::MissingGrant {
        plugin: plugin.to_string(),
        capability,
        reason: reason.to_string(),
        hint,
    };
    let (mut wants_read, mut wants_write) = (false, false);
    let mut required_net = Vec::new();
    for request in requests {
        let granted = match &request.capability {
            Capability::Net(pattern) => {
                let pattern = OriginPattern::parse(pattern).map_err(|e| Error::InvalidPlugin {
                    plugin: plugin.to_string(),
                    reason: format!("it requests a malformed origin: {e}"),
                })?;
                if !request.optional {
                    required_net.push((pattern.clone(), request.reason.clone()));
                }
                eff.net_requested.push(pattern);
                true
            }
            Capability::Read => {
                wants_read = true;
                !grants.dirs.is_empty()
            }
            Capability::Write => {
                wants_write = true;
                grants.dirs.iter().any(|d| d.writable)
            }
            Capability::Secret(name) => {
                let ok = grants.secrets.contains(name);
                if ok {
                    eff.secrets.push(name.clone());
                }
                ok
            }
            Capability::Github(p) => {
                let ok = grants.github.iter().any(|g| github_covers(*g, *p));
                if ok {
                    eff.github.push(*p);
                }
                ok
            }
        };
        if !granted && !request.optional {
            let (what, hint) = match &request.capability {
                Capability::Read => (
                    "read access to files".to_string(),
                    "add `--allow-read DIR` / `allow-read:`".to_string(),
                ),
                Capability::Write => (
                    "write access to a directory".to_string(),
                    "add `--allow-write DIR` / `allow-write:`".to_string(),
                ),
                Capability::Secret(name) => (
                    format!("the secret `{name}`"),
                    format!("add `--secret {name}` / `secrets: {name}` and set the environment variable {name}"),
                ),
                Capability::Github(p) => {
                    let p = github_permission_name(*p);
                    (
                        format!("the GitHub permission {p}"),
                        format!("add `--allow-github {p}` / `allow-github: {p}` and `permissions:` in the job"),
                    )
                }
                Capability::Net(_) => continue,
            };
            return Err(missing(what, &request.reason, hint));
        }
    }
    // A plugin's required origins are alternatives (`http://*` or `https://*`): one
    // granted origin under any of them lets it do its work.
    if let Some((first, reason)) = required_net.first()
        && !required_net
            .iter()
            .any(|(r, _)| grants.net.iter().any(|g| g.overlaps(r)))
    {
        let wanted: Vec<String> = required_net.iter().map(|(r, _)| r.to_string()).collect();
        return Err(missing(
            format!("network access ({})", wanted.join(" or ")),
            reason,
            format!(
                "add `--allow-net ORIGIN` for each origin it must reach (e.g. `--allow-net {first}`), or `allow-net:` in the workflow"
            ),
        ));
    }
    eff.net_granted = grants
        .net
        .iter()
        .filter(|g| eff.net_requested.iter().any(|r| r.overlaps(g)))
        .cloned()
        .collect();
    for g in grants.net.iter().filter(|g| !eff.net_granted.contains(g)) {
        eff.unused.push(format!("network access to {g}"));
    }
    for dir in &grants.dirs {
        match (wants_read || wants_write, dir.writable && wants_write) {
            (false, _) => eff.unused.push(format!("access to {}", dir.path.display())),
            (true, writable) => eff.dirs.push(DirGrant {
                path: dir.path.clone(),
                writable,
            }),
        }
    }
    for s in grants.secrets.iter().filter(|s| !eff.secrets.contains(s)) {
        eff.unused.push(format!("the secret `{s}`"));
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
    fn origin_patterns_match_as_documented() {
        let cases = [
            ("https://api.example.com", "https", "api.example.com", 443, true),
            ("https://api.example.com", "https", "api.example.com", 8443, false),
            ("https://api.example.com", "http", "api.example.com", 443, false),
            ("https://API.example.com.", "https", "api.EXAMPLE.com", 443, true),
            ("https://*.example.com", "https", "eu.example.com", 443, true),
            ("https://*.example.com", "https", "example.com", 443, false),
            ("https://*.example.com", "https", "evilexample.com", 443, false),
            ("http://127.0.0.1:*", "http", "127.0.0.1", 9000, true),
            ("http://*:8080", "http", "anything", 8080, true),
            ("http://[::1]:8080", "http", "[::1]", 8080, true),
            ("http://localhost:8080", "http", "127.0.0.1", 8080, false),
        ];
        for (pattern, scheme, host, port, expected) in cases {
            let p = OriginPattern::parse(pattern).unwrap();
            let scheme = Scheme::parse(scheme).unwrap();
            assert_eq!(p.allows(scheme, host, port), expected, "{pattern} vs {host}:{port}");
        }
    }

    #[test]
    fn malformed_origins_teach_the_syntax() {
        for bad in [
            "example.com",
            "ftp://x",
            "https://x/path",
            "https://x:99999",
            "https://a*b.com",
            "https://",
        ] {
            let err = OriginPattern::parse(bad).unwrap_err().to_string();
            assert!(err.contains("scheme://host[:port]"), "{bad}: {err}");
        }
    }

    #[test]
    fn origin_of_url_is_exact() {
        let o = OriginPattern::of_url("http://127.0.0.1:8080/healthz?x=1").unwrap();
        assert_eq!(o.to_string(), "http://127.0.0.1:8080");
        assert!(o.allows(Scheme::Http, "127.0.0.1", 8080));
        assert!(!o.allows(Scheme::Http, "127.0.0.1", 8081));
        assert_eq!(
            OriginPattern::of_url("https://x.test/").unwrap().to_string(),
            "https://x.test"
        );
        assert!(OriginPattern::of_url("not a url").is_none());
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
