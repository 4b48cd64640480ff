//! The host's rules before `run`, applied through `tollgate-vocab` as the host applies them:
//! `describe` checks (`tollgate_vocab::plugin`), input resolution (`tollgate_vocab::input`),
//! origin patterns (`tollgate_vocab::origin`), forbidden addresses (`tollgate_vocab::address`)
//! and the intersection of grants and requests, in the host's words (`tollgate_vocab::grant`).
//! What is left here is the mock's side: its types, and what only a test has (computed inputs).

use crate::{Capability, GithubPermission, Input, InputError, InputSpec, PluginError, PluginInfo, ValueKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tollgate_vocab::grant::{Asked, Needed, Offered, Refused, Request};
use tollgate_vocab::input::{self, Kind};
use tollgate_vocab::plugin::{self, Declared, Field};
use tollgate_vocab::{OriginPattern, Scheme, address};

fn invalid_plugin(plugin: &str, reason: &str) -> PluginError {
    PluginError::Internal(plugin::invalid(plugin, reason))
}

fn invalid_input(input: &str, message: String) -> PluginError {
    PluginError::InvalidInput(InputError {
        input: input.to_string(),
        message,
    })
}

/// The vocabulary's GitHub permission for the WIT's (the two enums name the same six).
pub fn github(p: GithubPermission) -> tollgate_vocab::GithubPermission {
    use tollgate_vocab::GithubPermission as P;
    match p {
        GithubPermission::PullRequestsRead => P::PullRequestsRead,
        GithubPermission::PullRequestsWrite => P::PullRequestsWrite,
        GithubPermission::IssuesRead => P::IssuesRead,
        GithubPermission::IssuesWrite => P::IssuesWrite,
        GithubPermission::ContentsRead => P::ContentsRead,
        GithubPermission::ContentsWrite => P::ContentsWrite,
    }
}

/// The vocabulary's kind for the WIT's (the two enums name the same seven).
fn kind(kind: ValueKind) -> Kind {
    match kind {
        ValueKind::String => Kind::String,
        ValueKind::Number => Kind::Number,
        ValueKind::Boolean => Kind::Boolean,
        ValueKind::Duration => Kind::Duration,
        ValueKind::List => Kind::List,
        ValueKind::Object => Kind::Object,
        ValueKind::Any => Kind::Any,
    }
}

/// The host's checks of what `describe` returned.
pub fn validate_info(info: &PluginInfo) -> Result<(), PluginError> {
    let declared = Declared::new(
        [&info.name, &info.version, &info.summary].map(String::as_str),
        info.inputs
            .iter()
            .map(|i| Field::input(&i.name, &i.doc, i.default.as_deref())),
        info.outputs.iter().map(|o| Field::output(&o.name, &o.doc)),
        info.capabilities.iter().map(|c| c.reason.as_str()),
    );
    plugin::check_declared(&declared).map_err(|reason| invalid_plugin(&info.name, &reason))
}

/// Inputs ready for `run`, and the origins that author-written URLs grant.
pub struct Resolved {
    pub inputs: Vec<Input>,
    pub origins: Vec<OriginPattern>,
}

/// The host's `resolve` for values given as YAML/JSON (a workflow's `with:` mapping).
pub fn resolve(
    plugin: &str,
    specs: &[InputSpec],
    mut given: BTreeMap<String, Value>,
    computed: &BTreeSet<String>,
) -> Result<Resolved, PluginError> {
    if let Some(unknown) = given.keys().find(|k| !specs.iter().any(|s| &s.name == *k)) {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(invalid_input(unknown, input::unknown(plugin, &names)));
    }
    let mut resolved = Resolved {
        inputs: Vec::new(),
        origins: Vec::new(),
    };
    for spec in specs {
        let (value, authored) = match given.remove(&spec.name) {
            Some(g) => {
                let value = kind(spec.kind)
                    .check(g)
                    .map_err(|message| invalid_input(&spec.name, message))?;
                // A value computed from another step's output was not written by the author.
                let authored = (!computed.contains(&spec.name)).then(|| value.clone());
                (value, authored)
            }
            None => match &spec.default {
                Some(json) => {
                    let value = serde_json::from_str(json)
                        .map_err(|e| invalid_plugin(plugin, &input::default_not_json(&spec.name, &e)))?;
                    (value, None)
                }
                None if spec.required => {
                    return Err(invalid_input(
                        &spec.name,
                        input::required(plugin, &spec.name, &spec.doc),
                    ));
                }
                None => continue,
            },
        };
        // Only what the author wrote grants, never a default the plugin wrote.
        if let Some(authored) = authored.filter(|_| spec.grants_origins) {
            input::collect_origins(&authored, &mut resolved.origins);
        }
        resolved.inputs.push(Input {
            name: spec.name.clone(),
            value: value.to_string(),
        });
    }
    Ok(resolved)
}

/// Why a literal address may never be reached (the host's whole list, embedded IPv4 forms
/// included); `host` is a normalized URL host, IPv6 in brackets. The mock resolves no names.
pub fn forbidden(host: &str) -> Option<address::Forbidden> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    address::check(bare.parse().ok()?)
}

/// What the plugin may use: the intersection of the test's grants and its requests.
#[derive(Default)]
pub struct Effective {
    pub net_granted: Vec<OriginPattern>,
    pub net_requested: Vec<OriginPattern>,
    pub secrets: Vec<String>,
    pub github: Vec<GithubPermission>,
    pub unused: Vec<String>,
}

impl Effective {
    pub fn allows(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.net_granted.iter().any(|p| p.allows(scheme, host, port))
            && self.net_requested.iter().any(|p| p.allows(scheme, host, port))
    }

    /// Does a granted permission cover `wanted`? Write covers read of the same scope.
    pub fn has_github(&self, wanted: GithubPermission) -> bool {
        self.github.iter().any(|g| github(*g).covers(github(wanted)))
    }
}

pub struct Grants<'a> {
    pub net: Vec<OriginPattern>,
    pub secrets: &'a BTreeMap<String, String>,
    pub github: &'a [GithubPermission],
    pub dirs: &'a [(String, bool)],
}

/// The vocabulary's request for the WIT's capability.
fn request(capability: &Capability) -> Request<'_> {
    match capability {
        Capability::Net(pattern) => Request::Net(pattern),
        Capability::Read => Request::Read,
        Capability::Write => Request::Write,
        Capability::Secret(name) => Request::Secret(name),
        Capability::Github(p) => Request::Github(github(*p)),
    }
}

/// The host's `intersect` (`tollgate_vocab::grant::intersect`): a required request without a
/// grant is an error naming the grant.
pub fn intersect(info: &PluginInfo, grants: &Grants<'_>) -> Result<Effective, PluginError> {
    let plugin = info.name.as_str();
    let asked: Vec<Asked<'_>> = info
        .capabilities
        .iter()
        .map(|r| Asked::new(request(&r.capability), &r.reason, r.optional))
        .collect();
    let offered = Offered::new(
        &grants.net,
        grants.dirs.iter().map(|(_, writable)| *writable),
        grants.secrets.keys().map(String::as_str),
        grants.github.iter().map(|p| github(*p)),
    );
    let both = tollgate_vocab::grant::intersect(&asked, &offered).map_err(|refused| match refused {
        Refused::MalformedOrigin(e) => invalid_plugin(plugin, &plugin::malformed_origin(&e)),
        Refused::Missing {
            capability,
            reason,
            hint,
        } => PluginError::Denied(tollgate_vocab::grant::missing(plugin, &capability, &reason, &hint)),
    })?;
    let mut eff = Effective {
        net_granted: both.net_granted,
        net_requested: both.net_requested,
        ..Effective::default()
    };
    for name in both.secrets {
        if !eff.secrets.iter().any(|s| s == name) {
            eff.secrets.push(name.to_string());
        }
    }
    eff.github = both.github.iter().map(|p| crate::testing::wit_permission(*p)).collect();
    for s in grants.secrets.keys().filter(|s| !eff.secrets.contains(s)) {
        eff.unused.push(Needed::Secret(s).words());
    }
    for g in grants
        .github
        .iter()
        .filter(|g| !eff.github.iter().any(|e| github(**g).covers(github(*e))))
    {
        eff.unused.push(Needed::Github(github(*g)).words());
    }
    Ok(eff)
}
