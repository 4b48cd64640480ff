//! The host's rules before `run`, mirrored: `describe` checks, input resolution (host
//! `sandbox/inputs.rs`), origin patterns and the intersection of grants and requests (host
//! `sandbox/capabilities.rs`). Messages are the host's.

use crate::{Capability, GithubPermission, Input, InputError, InputSpec, PluginError, PluginInfo, ValueKind};
use serde_json::Value;
use std::collections::BTreeMap;

const MAX_DECLARED: usize = 64;
const MAX_NAME: usize = 64;
const MAX_DOC: usize = 4 << 10;
const MAX_DEFAULT: usize = 64 << 10;
const RESERVED_OUTPUTS: &[&str] = &["status", "message", "outputs"];

fn invalid_plugin(plugin: &str, reason: String) -> PluginError {
    PluginError::Internal(format!("`{plugin}` is not a valid Tollgate plugin: {reason}"))
}

fn invalid_input(input: &str, message: String) -> PluginError {
    PluginError::InvalidInput(InputError {
        input: input.to_string(),
        message,
    })
}

/// The host's checks of what `describe` returned.
pub fn validate_info(info: &PluginInfo) -> Result<(), PluginError> {
    let plugin = info.name.as_str();
    let invalid = |reason: String| invalid_plugin(plugin, reason);
    let counts = [
        ("inputs", info.inputs.len()),
        ("outputs", info.outputs.len()),
        ("capability requests", info.capabilities.len()),
    ];
    if let Some((what, n)) = counts.iter().find(|(_, n)| *n > MAX_DECLARED) {
        return Err(invalid(format!("it declares {n} {what}; the limit is {MAX_DECLARED}")));
    }
    let names = info
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .chain(info.inputs.iter().map(|i| i.name.as_str()));
    for name in names.chain([plugin]) {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(invalid(format!(
                "it declares the name `{name}`; names are 1-{MAX_NAME} letters, digits, `-` and `_`"
            )));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for output in &info.outputs {
        let folded = output.name.to_ascii_lowercase();
        if RESERVED_OUTPUTS.contains(&folded.as_str()) || !seen.insert(folded) {
            return Err(invalid(format!(
                "it declares the output `{}` twice or under a name the host reserves ({}); names are compared without case",
                output.name,
                RESERVED_OUTPUTS.join(", ")
            )));
        }
    }
    let version_ok = !info.version.is_empty()
        && info.version.len() <= MAX_NAME
        && info
            .version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
    if !version_ok {
        return Err(invalid(format!(
            "its version `{}` is not a version (1-{MAX_NAME} of letters, digits, `.-+_`)",
            info.version
        )));
    }
    let docs = [info.summary.as_str()]
        .into_iter()
        .chain(info.inputs.iter().map(|i| i.doc.as_str()))
        .chain(info.outputs.iter().map(|o| o.doc.as_str()))
        .chain(info.capabilities.iter().map(|c| c.reason.as_str()));
    if let Some(doc) = docs.into_iter().find(|d| d.len() > MAX_DOC) {
        return Err(invalid(format!(
            "a summary, doc or reason is {} bytes; the limit is {MAX_DOC}",
            doc.len()
        )));
    }
    if let Some(input) = info
        .inputs
        .iter()
        .find(|i| i.default.as_ref().is_some_and(|d| d.len() > MAX_DEFAULT))
    {
        return Err(invalid(format!(
            "the default of input `{}` is larger than {MAX_DEFAULT} bytes",
            input.name
        )));
    }
    Ok(())
}

/// Inputs ready for `run`, and the origins that author-written URLs grant.
pub struct Resolved {
    pub inputs: Vec<Input>,
    pub origins: Vec<String>,
}

/// The host's `resolve` for values given as YAML/JSON (a workflow's `with:` mapping).
pub fn resolve(
    plugin: &str,
    specs: &[InputSpec],
    mut given: BTreeMap<String, Value>,
    computed: &std::collections::BTreeSet<String>,
) -> Result<Resolved, PluginError> {
    if let Some(unknown) = given.keys().find(|k| !specs.iter().any(|s| &s.name == *k)) {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(invalid_input(
            unknown,
            format!("{plugin} has no such input; it takes: {}", names.join(", ")),
        ));
    }
    let mut resolved = Resolved {
        inputs: Vec::new(),
        origins: Vec::new(),
    };
    for spec in specs {
        let (value, authored) = match given.remove(&spec.name) {
            Some(g) => {
                let value = typed(spec, g)?;
                // A value computed from another step's output was not written by the author.
                let authored = (!computed.contains(&spec.name)).then(|| value.clone());
                (value, authored)
            }
            None => match &spec.default {
                Some(json) => {
                    let value = serde_json::from_str(json).map_err(|e| {
                        invalid_plugin(plugin, format!("the default of input `{}` is not JSON: {e}", spec.name))
                    })?;
                    (value, None)
                }
                None if spec.required => {
                    return Err(invalid_input(
                        &spec.name,
                        format!("{plugin} requires it ({}); pass `--with {}=…`", spec.doc, spec.name),
                    ));
                }
                None => continue,
            },
        };
        // Only what the author wrote grants, never a default the plugin wrote.
        if let Some(authored) = authored.filter(|_| spec.grants_origins) {
            collect_origins(&authored, &mut resolved.origins);
        }
        resolved.inputs.push(Input {
            name: spec.name.clone(),
            value: value.to_string(),
        });
    }
    Ok(resolved)
}

fn typed(spec: &InputSpec, value: Value) -> Result<Value, PluginError> {
    let kind_ok = match (spec.kind, &value) {
        (ValueKind::Any, _) => true,
        (ValueKind::String, Value::String(_)) => true,
        (ValueKind::Number, Value::Number(_)) => true,
        (ValueKind::Boolean, Value::Bool(_)) => true,
        (ValueKind::Duration, Value::String(_) | Value::Number(_)) => true,
        (ValueKind::List, Value::Array(_)) => true,
        (ValueKind::Object, Value::Object(_)) => true,
        (ValueKind::String, Value::Number(_) | Value::Bool(_)) => return Ok(Value::String(value.to_string())),
        _ => false,
    };
    if !kind_ok {
        return Err(invalid_input(
            &spec.name,
            format!("expected {}, got {value}", kind_name(spec.kind)),
        ));
    }
    Ok(value)
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::String => "a string",
        ValueKind::Number => "a number",
        ValueKind::Boolean => "true or false",
        ValueKind::Duration => "a duration such as `5s`",
        ValueKind::List => "a list",
        ValueKind::Object => "a mapping",
        ValueKind::Any => "any value",
    }
}

fn collect_origins(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(origin) = Pattern::of_url(s).filter(|o| !out.contains(o)) {
                out.push(origin);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_origins(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_origins(v, out)),
        _ => {}
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Any,
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

/// An origin pattern, `scheme://host[:port]` with `*` wildcards, as `--allow-net` and
/// `Capability::Net` write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    https: bool,
    host: HostPattern,
    /// `None`: any port.
    port: Option<u16>,
}

fn default_port(https: bool) -> u16 {
    if https { 443 } else { 80 }
}

/// Lower case, without the root dot.
pub fn normalize_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    host.strip_suffix('.').map(str::to_string).unwrap_or(host)
}

/// `(host, port)` of an authority; IPv6 stays bracketed.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.starts_with('[') {
        let end = authority.find(']').ok_or("an IPv6 address lacks its `]`")?;
        let rest = &authority[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return Err(format!("unexpected `{rest}` after the address")),
        };
        return Ok((&authority[..=end], port));
    }
    Ok(match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    })
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text.split_once("://").ok_or("it has no `scheme://`")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("the scheme `{scheme}` is not http or https")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', '%']) {
            return Err("write origins as scheme://host[:port], e.g. `https://api.example.com`".into());
        }
        let (host, port) = split_authority(rest)?;
        let port = match port {
            None => Some(default_port(https)),
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("the port `{p}` is not 1-65535 or `*`"))?,
            ),
        };
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::Subdomains(normalize_host(suffix))
        } else if host.contains('*') || host.is_empty() {
            return Err("`*` may only be the whole host or its leftmost label".into());
        } else {
            HostPattern::Exact(normalize_host(host))
        };
        Ok(Pattern { https, host, port })
    }

    /// The exact origin of a URL (as a pattern text), if it has one.
    pub fn of_url(url: &str) -> Option<String> {
        let (https, host, port) = target(url).ok()?;
        let scheme = if https { "https" } else { "http" };
        Some(format!("{scheme}://{host}:{port}"))
    }

    pub fn allows(&self, https: bool, host: &str, port: u16) -> bool {
        self.https == https && self.port.is_none_or(|p| p == port) && self.host.matches(&normalize_host(host))
    }

    fn overlaps(&self, other: &Pattern) -> bool {
        self.https == other.https
            && (self.port.is_none() || other.port.is_none() || self.port == other.port)
            && self.host.overlaps(&other.host)
    }
}

/// `(https, host, port)` of an absolute http(s) URL.
pub fn target(url: &str) -> Result<(bool, String, u16), String> {
    let (scheme, rest) = url.split_once("://").ok_or("it has no `scheme://`")?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err("not http(s)".into()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains(['@', '*']) {
        return Err("no usable host".into());
    }
    let (host, port) = split_authority(authority)?;
    let port = match port {
        None => default_port(https),
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or("bad port")?,
    };
    Ok((https, normalize_host(host), port))
}

/// Why a literal address may never be reached (a subset of the host's list: link-local and
/// cloud metadata addresses written as IP literals; the mock resolves no names).
pub fn forbidden(host: &str) -> Option<&'static str> {
    use std::net::{IpAddr, Ipv6Addr};
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = bare.parse().ok()?;
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    if let Some(v4) = v4 {
        let [a, b, c, d] = v4.octets();
        return match (a, b, c, d) {
            (169, 254, 169, 254) => {
                Some("the cloud instance metadata service (AWS, Google Cloud, Azure, Oracle Cloud, DigitalOcean)")
            }
            (169, 254, ..) => Some("a link-local address"),
            (100, 100, 100, 200) => Some("the Alibaba Cloud metadata service"),
            _ => None,
        };
    }
    let IpAddr::V6(v6) = ip else { return None };
    if v6 == "fd00:ec2::254".parse::<Ipv6Addr>().ok()? {
        return Some("the AWS instance metadata service over IPv6");
    }
    (v6.segments()[0] & 0xffc0 == 0xfe80).then_some("a link-local address")
}

/// What the plugin may use: the intersection of the test's grants and its requests.
#[derive(Default)]
pub struct Effective {
    pub net_granted: Vec<Pattern>,
    pub net_requested: Vec<Pattern>,
    pub secrets: Vec<String>,
    pub github: Vec<GithubPermission>,
    pub unused: Vec<String>,
}

impl Effective {
    pub fn allows(&self, https: bool, host: &str, port: u16) -> bool {
        self.net_granted.iter().any(|p| p.allows(https, host, port))
            && self.net_requested.iter().any(|p| p.allows(https, host, port))
    }
}

pub fn permission_name(p: GithubPermission) -> &'static str {
    match p {
        GithubPermission::PullRequestsRead => "pull-requests:read",
        GithubPermission::PullRequestsWrite => "pull-requests:write",
        GithubPermission::IssuesRead => "issues:read",
        GithubPermission::IssuesWrite => "issues:write",
        GithubPermission::ContentsRead => "contents:read",
        GithubPermission::ContentsWrite => "contents:write",
    }
}

/// Does a grant of `granted` cover `wanted`? Write covers read of the same scope.
pub fn covers(granted: GithubPermission, wanted: GithubPermission) -> bool {
    let (g, w) = (permission_name(granted), permission_name(wanted));
    g == w || (g.ends_with(":write") && g.split(':').next() == w.split(':').next())
}

pub struct Grants<'a> {
    pub net: Vec<Pattern>,
    pub secrets: &'a BTreeMap<String, String>,
    pub github: &'a [GithubPermission],
    pub dirs: &'a [(String, bool)],
}

/// The host's `intersect`: a required request without a grant is an error naming the grant.
pub fn intersect(info: &PluginInfo, grants: &Grants<'_>) -> Result<Effective, PluginError> {
    let plugin = info.name.as_str();
    let mut eff = Effective::default();
    let missing = |capability: String, reason: &str, hint: String| {
        PluginError::Denied(format!(
            "{plugin} needs {capability}, which this step does not grant ({reason}).\n  fix: {hint}"
        ))
    };
    let mut required_net = Vec::new();
    for request in &info.capabilities {
        let granted = match &request.capability {
            Capability::Net(pattern) => {
                let pattern = Pattern::parse(pattern)
                    .map_err(|e| invalid_plugin(plugin, format!("it requests a malformed origin: {e}")))?;
                if !request.optional {
                    required_net.push((pattern.clone(), request.reason.clone()));
                }
                eff.net_requested.push(pattern);
                true
            }
            Capability::Read => !grants.dirs.is_empty(),
            Capability::Write => grants.dirs.iter().any(|(_, w)| *w),
            Capability::Secret(name) => {
                let ok = grants.secrets.contains_key(name);
                if ok && !eff.secrets.contains(name) {
                    eff.secrets.push(name.clone());
                }
                ok
            }
            Capability::Github(p) => {
                let ok = grants.github.iter().any(|g| covers(*g, *p));
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
                    let p = permission_name(*p);
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
    if let Some((first, reason)) = required_net.first()
        && !required_net
            .iter()
            .any(|(r, _)| grants.net.iter().any(|g| g.overlaps(r)))
    {
        let wanted: Vec<String> = info
            .capabilities
            .iter()
            .filter(|c| !c.optional)
            .filter_map(|c| match &c.capability {
                Capability::Net(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        let first = wanted.first().cloned().unwrap_or_else(|| format!("{first:?}"));
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
    for s in grants.secrets.keys().filter(|s| !eff.secrets.contains(s)) {
        eff.unused.push(format!("the secret `{s}`"));
    }
    for g in grants
        .github
        .iter()
        .filter(|g| !eff.github.iter().any(|e| covers(**g, *e)))
    {
        eff.unused
            .push(format!("the GitHub permission {}", permission_name(*g)));
    }
    Ok(eff)
}
