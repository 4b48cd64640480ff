//! The mock host's state on the current thread, and its side of every import.

use super::policy::{self, Effective, Grants};
use super::{
    Annotation, Artifact, Certificate, GithubAnswer, GithubCall, MockHost, MockRequest, MockResponse, Outcome,
};
use crate::exchange::{HttpError, Response};
use crate::{Level, Location, Plugin, PluginError, RunReport, StepContext};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use tollgate_vocab::OriginPattern;
use tollgate_vocab::limits::{
    LOG_LINE_COST, MAX_ARTIFACT_BYTES, MAX_ARTIFACTS_TOTAL, MAX_LOG_BYTES, MAX_OUTPUT_BYTES, MAX_OUTPUTS_TOTAL,
    MAX_SUMMARY_BYTES,
};

const NOT_RUNNING: &str = "no MockHost is running: call this plugin through tollgate_sdk::testing::MockHost::run";

struct State {
    masks: Vec<String>,
    declared_outputs: BTreeSet<String>,
    outputs_bytes: usize,
    log_bytes: usize,
    log_truncated: bool,
    summary_truncated: bool,
    artifact_bytes: usize,
    secrets: BTreeMap<String, String>,
    effective: Effective,
    routes: Vec<(String, String, MockResponse)>,
    http: Option<super::HttpResponder>,
    github_answer: Option<super::GithubResponder>,
    github: super::github::Fake,
    certificates: BTreeMap<String, Certificate>,
    store: Option<Vec<Artifact>>,
    out: Outcome,
}

thread_local! {
    static ACTIVE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    ACTIVE.with(|a| {
        let mut active = a.borrow_mut();
        let state = active.as_mut().unwrap_or_else(|| panic!("{NOT_RUNNING}"));
        f(state)
    })
}

/// Clears the thread's host even when the plugin panics.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.borrow_mut().take());
    }
}

impl State {
    fn mask(&self, text: &str) -> String {
        self.masks
            .iter()
            .fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), "***"))
    }

    /// The host's log budget: past it, text is dropped and that is said once.
    fn admit_log(&mut self, text: &str) -> bool {
        if self.log_truncated {
            return false;
        }
        self.log_bytes += text.len() + LOG_LINE_COST;
        if self.log_bytes > MAX_LOG_BYTES {
            self.log_truncated = true;
            self.out.host_notices.push(format!(
                "the step's log passed its {} MiB budget; later log lines were dropped",
                MAX_LOG_BYTES >> 20
            ));
            return false;
        }
        true
    }

    fn notice(&mut self, text: String) {
        self.out.host_notices.push(text);
    }
}

fn refused(error: PluginError) -> Outcome {
    Outcome {
        result: Err(error),
        outputs: BTreeMap::new(),
        logs: Vec::new(),
        annotations: Vec::new(),
        summary: String::new(),
        groups: Vec::new(),
        progress: Vec::new(),
        artifacts: Vec::new(),
        github_calls: Vec::new(),
        requests: Vec::new(),
        host_notices: Vec::new(),
    }
}

// `run` lives beside the state it installs, so the public types in `testing/mod.rs` need
// nothing from this file.
impl MockHost {
    /// Run the plugin once, as the host would: `describe`, check inputs and grants, `run`.
    /// Panics if a `MockHost` is already running on this thread.
    pub fn run<P: Plugin>(self) -> Outcome {
        run::<P>(self)
    }
}

fn run<P: Plugin>(mock: MockHost) -> Outcome {
    if ACTIVE.with(|a| a.borrow().is_some()) {
        panic!("a MockHost is already running on this thread: MockHost::run does not nest");
    }
    let info = P::describe();
    if let Err(e) = policy::validate_info(&info) {
        return refused(e);
    }
    let resolved = match policy::resolve(&info.name, &info.inputs, mock.inputs, &mock.computed) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let mut net: Vec<OriginPattern> = mock
        .origins
        .iter()
        .map(|o| OriginPattern::parse(o).expect("checked by grant_origin"))
        .collect();
    net.extend(resolved.origins);
    let grants = Grants {
        net,
        secrets: &mock.secrets,
        github: &mock.github_grants,
        dirs: &mock.dirs,
    };
    let effective = match policy::intersect(&info, &grants) {
        Ok(e) => e,
        Err(e) => return refused(e),
    };
    let secrets: BTreeMap<String, String> = mock
        .secrets
        .iter()
        .filter(|(name, _)| effective.secrets.contains(name))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let mut masks: Vec<String> = secrets.values().filter(|v| !v.is_empty()).cloned().collect();
    masks.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let notices = effective
        .unused
        .iter()
        .map(|u| tollgate_vocab::grant::not_requested(&info.name, u))
        .collect();
    let context = mock.context.unwrap_or_else(|| StepContext {
        step_id: info.name.clone(),
        repository: None,
        sha: None,
        git_ref: None,
        event: None,
        run_id: None,
        run_attempt: None,
        workflow: None,
        actor: None,
        pull_request: None,
        ci: false,
    });
    let mut github = super::github::Fake::default();
    github.repository = context.repository.clone().unwrap_or_else(|| "owner/repo".into());
    github.pull_requests = mock.pull_requests;
    let mut out = refused(PluginError::Internal("the plugin did not finish".into()));
    out.host_notices = notices;
    let state = State {
        masks,
        declared_outputs: info.outputs.iter().map(|o| o.name.clone()).collect(),
        outputs_bytes: 0,
        log_bytes: 0,
        log_truncated: false,
        summary_truncated: false,
        artifact_bytes: 0,
        secrets,
        effective,
        routes: mock.routes,
        http: mock.http,
        github_answer: mock.github,
        github,
        certificates: mock.certificates,
        store: mock.artifacts,
        out,
    };
    crate::runtime::reset_clock();
    ACTIVE.with(|a| *a.borrow_mut() = Some(state));
    let installed = Installed;
    // The wire form, as the component receives it.
    let result = crate::Inputs::from_wire(resolved.inputs).and_then(|inputs| P::run(inputs, context));
    let mut state = ACTIVE
        .with(|a| a.borrow_mut().take())
        .expect("the MockHost is still installed");
    drop(installed);
    // Everything the plugin said is masked, its report and error included.
    state.out.result = match result {
        Ok(report) => Ok(RunReport {
            message: state.mask(&report.message),
            ..report
        }),
        Err(e) => Err(match e {
            PluginError::InvalidInput(mut e) => {
                e.message = state.mask(&e.message);
                PluginError::InvalidInput(e)
            }
            PluginError::Denied(m) => PluginError::Denied(state.mask(&m)),
            PluginError::Peer(m) => PluginError::Peer(state.mask(&m)),
            PluginError::Internal(m) => PluginError::Internal(state.mask(&m)),
        }),
    };
    state.out
}

/// `tollgate:plugin/log`.
pub mod log {
    use super::*;

    pub fn log(level: Level, message: &str) {
        with(|s| {
            if !s.admit_log(message) {
                return;
            }
            let message = s.mask(message);
            if matches!(level, Level::Warning | Level::Error) {
                s.out.annotations.push(Annotation {
                    level,
                    message: message.clone(),
                    location: None,
                });
            }
            s.out.logs.push((level, message));
        })
    }

    pub fn annotate(level: Level, message: &str, location: &Location) {
        with(|s| {
            if !s.admit_log(&format!("{message}{}", location.file)) {
                return;
            }
            let file = s.mask(&location.file);
            // As the host: only a path-like name becomes the annotation's file.
            let (file, message) = if is_path_like(&file) {
                (file, message.to_string())
            } else {
                (String::new(), format!("{message} (at {file})"))
            };
            s.out.annotations.push(Annotation {
                level,
                message: s.mask(&message),
                location: Some(Location {
                    file,
                    ..location.clone()
                }),
            });
        })
    }

    pub fn group_start(title: &str) {
        with(|s| {
            if s.admit_log(title) {
                let title = s.mask(title);
                s.out.groups.push(title);
            }
        })
    }

    pub fn group_end() {
        with(|s| {
            s.admit_log("");
        })
    }

    pub fn progress(message: &str, fraction: Option<f32>) {
        with(|s| {
            if s.admit_log(message) {
                let fraction = fraction.filter(|f| f.is_finite()).map(|f| f.clamp(0.0, 1.0));
                let message = s.mask(message);
                s.out.progress.push((message, fraction));
            }
        })
    }

    fn is_path_like(file: &str) -> bool {
        !file.is_empty()
            && file.len() <= 1024
            && file
                .chars()
                .all(|c| c.is_alphanumeric() || "/._-+@~ ()[]{}#,=\\".contains(c))
    }
}

/// `tollgate:plugin/outputs`.
pub mod outputs {
    use super::*;

    pub fn set(name: &str, value: &str) -> Result<(), String> {
        with(|s| {
            if !s.declared_outputs.contains(name) {
                return Err(format!(
                    "output `{name}` is not declared in describe (declared: {})",
                    s.declared_outputs.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if value.len() > MAX_OUTPUT_BYTES {
                return Err(format!(
                    "output `{name}` is {} bytes; the limit is {MAX_OUTPUT_BYTES}",
                    value.len()
                ));
            }
            let previous = s.out.outputs.get(name).map_or(0, String::len);
            let total = s.outputs_bytes - previous + value.len();
            if total > MAX_OUTPUTS_TOTAL {
                return Err(format!(
                    "outputs would total {total} bytes; the limit is {MAX_OUTPUTS_TOTAL}"
                ));
            }
            s.outputs_bytes = total;
            let masked = s.mask(value);
            s.out.outputs.insert(name.to_string(), masked);
            Ok(())
        })
    }
}

/// `tollgate:plugin/summary`.
pub mod summary {
    use super::*;

    pub fn append(markdown: &str) -> Result<(), String> {
        with(|s| {
            if s.summary_truncated {
                return Err("the step summary is full (1 MiB)".into());
            }
            let markdown = s.mask(markdown);
            if s.out.summary.len() + markdown.len() > MAX_SUMMARY_BYTES {
                s.summary_truncated = true;
                return Err("the step summary would exceed GitHub's 1 MiB limit; this part was dropped".into());
            }
            s.out.summary.push_str(&markdown);
            Ok(())
        })
    }
}

/// `tollgate:plugin/secrets`.
pub mod secrets {
    use super::*;

    pub fn get(name: &str) -> Result<String, String> {
        with(|s| {
            s.secrets.get(name).cloned().ok_or_else(|| {
                format!("the secret `{name}` is not granted to this step; add `--secret {name}` / `secrets: {name}`")
            })
        })
    }
}

/// Whether the step may reach `url`'s origin; otherwise the host's notice is recorded and the
/// refused origin returned.
fn check_origin(s: &mut State, url: &str) -> Result<(), String> {
    let pattern = OriginPattern::of_url(url).map_err(|e| e.to_string())?;
    let (scheme, host, port) = pattern.exact().expect("the origin of a URL is exact");
    let origin = format!("{scheme}://{host}:{port}");
    if !s.effective.allows(scheme, host, port) {
        s.notice(format!(
            "request to {origin} denied: the step does not grant it; add `--allow-net {origin}` (or `allow-net:` in the workflow)"
        ));
        return Err(origin);
    }
    if let Some(why) = policy::forbidden(host) {
        s.notice(format!(
            "request to {origin} denied: {host} is {why}, which plugins may never reach"
        ));
        return Err(origin);
    }
    Ok(())
}

/// `tollgate:plugin/tls`.
pub mod tls {
    use super::*;

    pub fn peer_certificate(origin: &str) -> Result<Certificate, String> {
        with(|s| {
            let key = origin.trim_end_matches('/').to_ascii_lowercase();
            if !key.starts_with("https://") {
                return Err(format!("{origin} is not an https:// origin"));
            }
            if check_origin(s, &key).is_err() {
                return Err(format!(
                    "connection to {key} denied by the sandbox: grant it with --allow-net {key}"
                ));
            }
            s.certificates.get(&key).cloned().ok_or_else(|| {
                format!(
                    "TLS handshake with {key} failed (MockHost: no certificate mocked for {key}; add .certificate({key:?}, …))"
                )
            })
        })
    }
}

/// `tollgate:plugin/artifacts`.
pub mod artifacts {
    use super::*;
    use crate::bindings::tollgate::plugin::artifacts::ArtifactError;
    use sha2::{Digest, Sha256};

    /// `sha256:<hex>` of `data`, the digest the host gives an artifact.
    pub(in crate::testing) fn digest(data: &[u8]) -> String {
        format!("sha256:{:x}", Sha256::digest(data))
    }

    fn store(s: &mut State) -> Result<&mut Vec<Artifact>, ArtifactError> {
        s.store.as_mut().ok_or_else(|| {
            ArtifactError::Unavailable(
                "this step has no artifact store: a local `tollgate run` stores artifacts only with `--artifacts DIR`"
                    .into(),
            )
        })
    }

    pub fn put(name: &str, media_type: &str, data: &[u8]) -> Result<String, ArtifactError> {
        with(|s| {
            if data.len() > MAX_ARTIFACT_BYTES {
                return Err(ArtifactError::Other(format!(
                    "artifact `{name}` is {} bytes; the limit is {MAX_ARTIFACT_BYTES}",
                    data.len()
                )));
            }
            let total = s.artifact_bytes + data.len();
            if total > MAX_ARTIFACTS_TOTAL {
                return Err(ArtifactError::Other(format!(
                    "this step has stored {} bytes of artifacts; `{name}` would pass the step's budget of {MAX_ARTIFACTS_TOTAL}",
                    s.artifact_bytes
                )));
            }
            let artifact = Artifact {
                name: name.to_string(),
                media_type: media_type.to_string(),
                digest: digest(data),
                data: data.to_vec(),
            };
            store(s)?.push(artifact.clone());
            s.artifact_bytes = total;
            let digest = artifact.digest.clone();
            s.out.artifacts.push(artifact);
            Ok(digest)
        })
    }

    pub fn get(reference: &str) -> Result<Artifact, ArtifactError> {
        with(|s| {
            store(s)?
                .iter()
                .rev()
                .find(|a| a.name == reference || a.digest == reference)
                .cloned()
                .ok_or_else(|| ArtifactError::NotFound(format!("no artifact is named or has the digest `{reference}`")))
        })
    }
}

/// `tollgate:plugin/github`.
pub mod github {
    use super::*;
    use crate::testing::{Comment, Commit, GitRef, GithubError, Issue, PullRequest};

    fn call(call: GithubCall) -> GithubAnswer {
        // The host's check (`tollgate_vocab::github::Call`): one of the call's accepted
        // permissions (comments live on issues and pull requests alike), write covering read.
        let kind = call.kind();
        let (allowed, answer) = with(|s| {
            s.out.github_calls.push(call.clone());
            let allowed = kind
                .accepted()
                .iter()
                .any(|p| s.effective.has_github(crate::testing::wit_permission(*p)));
            (allowed, s.github_answer.clone())
        });
        if !allowed {
            return GithubAnswer::Error(GithubError::Denied(kind.denied()));
        }
        // The test's own answer first, outside the borrow: it may log.
        if let Some(answer) = answer.and_then(|f| f(&call)) {
            return answer;
        }
        with(|s| s.github.answer(&call))
    }

    fn wrong(call: &str, wanted: &str, got: GithubAnswer) -> ! {
        panic!(
            "MockHost: the GitHub answer to {call} must be GithubAnswer::{wanted} or GithubAnswer::Error, got {got:?}"
        )
    }

    macro_rules! answer {
        ($call:expr, $variant:ident) => {{
            let c = $call;
            let name = format!("{c:?}");
            match call(c) {
                GithubAnswer::$variant(v) => Ok(v),
                GithubAnswer::Error(e) => Err(e),
                other => wrong(&name, stringify!($variant), other),
            }
        }};
    }

    macro_rules! done {
        ($call:expr) => {{
            let c = $call;
            let name = format!("{c:?}");
            match call(c) {
                GithubAnswer::Done => Ok(()),
                GithubAnswer::Error(e) => Err(e),
                other => wrong(&name, "Done", other),
            }
        }};
    }

    pub fn get_pull_request(number: u64) -> Result<PullRequest, GithubError> {
        answer!(GithubCall::GetPullRequest { number }, PullRequest)
    }
    pub fn list_comments(issue: u64) -> Result<Vec<Comment>, GithubError> {
        answer!(GithubCall::ListComments { issue }, Comments)
    }
    pub fn create_comment(issue: u64, body: &str) -> Result<Comment, GithubError> {
        answer!(
            GithubCall::CreateComment {
                issue,
                body: body.into()
            },
            Comment
        )
    }
    pub fn update_comment(id: u64, body: &str) -> Result<Comment, GithubError> {
        answer!(GithubCall::UpdateComment { id, body: body.into() }, Comment)
    }
    pub fn delete_comment(id: u64) -> Result<(), GithubError> {
        done!(GithubCall::DeleteComment { id })
    }
    pub fn find_issues(labels: &[String], state: &str) -> Result<Vec<Issue>, GithubError> {
        answer!(
            GithubCall::FindIssues {
                labels: labels.to_vec(),
                state: state.into()
            },
            Issues
        )
    }
    pub fn create_issue(title: &str, body: &str, labels: &[String]) -> Result<Issue, GithubError> {
        answer!(
            GithubCall::CreateIssue {
                title: title.into(),
                body: body.into(),
                labels: labels.to_vec()
            },
            Issue
        )
    }
    pub fn update_issue(
        number: u64,
        title: Option<&str>,
        body: Option<&str>,
        state: Option<&str>,
    ) -> Result<Issue, GithubError> {
        answer!(
            GithubCall::UpdateIssue {
                number,
                title: title.map(Into::into),
                body: body.map(Into::into),
                state: state.map(Into::into)
            },
            Issue
        )
    }
    pub fn create_ref(name: &str, sha: &str) -> Result<GitRef, GithubError> {
        answer!(
            GithubCall::CreateRef {
                name: name.into(),
                sha: sha.into()
            },
            Ref
        )
    }
    pub fn get_ref(name: &str) -> Result<GitRef, GithubError> {
        answer!(GithubCall::GetRef { name: name.into() }, Ref)
    }
    pub fn update_ref(name: &str, sha: &str, force: bool) -> Result<GitRef, GithubError> {
        answer!(
            GithubCall::UpdateRef {
                name: name.into(),
                sha: sha.into(),
                force
            },
            Ref
        )
    }
    pub fn create_commit(message: &str, tree: Option<&str>, parents: &[String]) -> Result<Commit, GithubError> {
        answer!(
            GithubCall::CreateCommit {
                message: message.into(),
                tree: tree.map(Into::into),
                parents: parents.to_vec()
            },
            Commit
        )
    }
    pub fn get_commit(sha: &str) -> Result<Commit, GithubError> {
        answer!(GithubCall::GetCommit { sha: sha.into() }, Commit)
    }
    pub fn delete_ref(name: &str) -> Result<(), GithubError> {
        done!(GithubCall::DeleteRef { name: name.into() })
    }
}

/// One HTTP exchange over the mock network: the sandbox's check, then the test's answer after
/// its (virtual) delay, within the request's timeout and body limit.
pub(crate) async fn exchange(
    request: MockRequest,
    origin: &str,
    timeout: std::time::Duration,
    max_body: usize,
) -> Result<Response, HttpError> {
    let responder = with(|s| {
        check_origin(s, &request.url).map_err(|_| HttpError::Denied {
            origin: origin.to_string(),
        })?;
        s.out.requests.push(request.clone());
        let route = s
            .routes
            .iter()
            .find(|(method, url, _)| method == request.method.as_str() && url_matches(url, &request.url))
            .map(|(_, _, r)| r.clone());
        Ok::<_, HttpError>((route, s.http.clone()))
    })?;
    let answer = match responder {
        (Some(route), _) => route,
        (None, Some(http)) => http(&request),
        (None, None) => {
            let what = format!("{} {}", request.method.as_str(), request.url);
            with(|s| s.notice(format!("MockHost: nothing answers {what}")));
            MockResponse::text(
                501,
                &format!(
                    "MockHost: no response is mocked for {what}; add .respond({:?}, {:?}, MockResponse::…) or .http(…)",
                    request.method.as_str(),
                    request.url
                ),
            )
        }
    };
    if answer.delay > timeout {
        crate::runtime::sleep(timeout).await;
        return Err(HttpError::Timeout {
            origin: origin.to_string(),
            after: timeout,
        });
    }
    crate::runtime::sleep(answer.delay).await;
    if let Some(error) = answer.error {
        return Err(error);
    }
    if answer.body.len() > max_body {
        return Err(HttpError::BodyTooLarge { limit: max_body });
    }
    Ok(Response::new(answer.status, answer.headers, answer.body))
}

/// A route's URL against a request's: scheme and host without regard to case, the rest as
/// written; a route ending in `*` is a prefix.
fn url_matches(route: &str, url: &str) -> bool {
    fn split(u: &str) -> (String, &str) {
        match u.find("://") {
            Some(i) => {
                let rest = &u[i + 3..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                let head = u[..i + 3 + end].to_ascii_lowercase();
                let tail = &rest[end..];
                (head, if tail.is_empty() { "/" } else { tail })
            }
            None => (u.to_string(), ""),
        }
    }
    let url = url.split('#').next().unwrap_or_default();
    match route.strip_suffix('*') {
        Some(prefix) => {
            let (ph, pt) = split(prefix);
            let (uh, ut) = split(url);
            if prefix.ends_with("://") || !prefix[prefix.find("://").map_or(0, |i| i + 3)..].contains(['/', '?']) {
                // A prefix within the authority: compare lower-cased text.
                url.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase())
            } else {
                uh == ph && ut.starts_with(pt)
            }
        }
        None => split(route) == split(url),
    }
}

#[cfg(test)]
mod tests {
    use super::url_matches;

    #[test]
    fn routes_match_urls() {
        assert!(url_matches("https://a.example/x?q=1", "HTTPS://A.Example/x?q=1"));
        assert!(url_matches("https://a.example", "https://a.example/"));
        assert!(!url_matches("https://a.example/x", "https://a.example/X"));
        assert!(!url_matches("https://a.example/x", "https://a.example/x?q=1"));
        assert!(url_matches("https://a.example/users/*", "https://a.example/users/ada"));
        assert!(!url_matches("https://a.example/users/*", "https://b.example/users/ada"));
        assert!(url_matches("https://a.example*", "https://a.example:8443/"));
    }
}
