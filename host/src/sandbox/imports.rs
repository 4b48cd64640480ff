//! The host side of the `tollgate:plugin` imports: logging, outputs, summary, secrets,
//! TLS inspection, and the artifact and GitHub interfaces (answered `unavailable` until
//! their stores land). Everything a plugin says is masked and capped here, before any
//! sink or runner sees it.

use crate::artifacts::StepArtifacts;
use crate::bindings::tollgate::plugin::{artifacts, github, log, outputs, secrets, summary, tls, types};
use crate::events::{Event, Sink};
use crate::sandbox::net::NetPolicy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use types::{Level, Location};

/// Log text a step may write before further lines are dropped.
pub const MAX_LOG_BYTES: usize = 4 << 20;
/// Size of one output value.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// All outputs of a step together.
pub const MAX_OUTPUTS_TOTAL: usize = 4 << 20;
/// GitHub's cap on one step's summary.
pub const MAX_SUMMARY_BYTES: usize = 1 << 20;

/// Replaces secret values with `***` in plugin text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    values: Vec<String>,
}

impl Masker {
    /// A masker for these secret values; empty values are ignored.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        // Longest first, so a secret containing another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Self { values }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), "***"))
    }
}

/// What a step produced besides its log stream.
#[derive(Debug, Default, Clone)]
pub struct Produced {
    /// Output values the plugin set, by name, masked.
    pub outputs: BTreeMap<String, String>,
    /// The step summary's Markdown, masked.
    pub summary: String,
    /// Whether part of the summary was dropped for exceeding [`MAX_SUMMARY_BYTES`].
    pub summary_truncated: bool,
    /// Whether log text was dropped for exceeding [`MAX_LOG_BYTES`].
    pub log_truncated: bool,
}

/// Per-step state behind the tollgate imports.
pub struct StepIo {
    /// The plugin's name, for messages.
    pub plugin: String,
    /// Where the step's events go.
    pub sink: Arc<dyn Sink>,
    /// Masks the step's secret values in everything the plugin says.
    pub masker: Masker,
    /// `None` while describing: no outputs may be set then.
    pub declared_outputs: Option<BTreeSet<String>>,
    /// Values of the granted secrets, by name.
    pub secrets: HashMap<String, String>,
    /// The policy for the plugin's outgoing network requests.
    pub net: NetPolicy,
    /// `None` when the step has no artifact store.
    pub artifacts: Option<StepArtifacts>,
    /// What the plugin has produced so far.
    pub produced: Produced,
    log_bytes: usize,
    outputs_bytes: usize,
    artifact_bytes: usize,
}

impl StepIo {
    /// State with no secrets, no artifact store and no outputs allowed, as for `describe`;
    /// the caller sets those before `run`.
    pub fn new(plugin: String, sink: Arc<dyn Sink>, net: NetPolicy) -> Self {
        Self {
            plugin,
            sink,
            masker: Masker::default(),
            declared_outputs: None,
            secrets: HashMap::new(),
            net,
            artifacts: None,
            produced: Produced::default(),
            log_bytes: 0,
            outputs_bytes: 0,
            artifact_bytes: 0,
        }
    }

    /// Count `text` against the log budget; false once it is spent.
    fn admit_log(&mut self, text: &str) -> bool {
        if self.produced.log_truncated {
            return false;
        }
        self.log_bytes += text.len();
        if self.log_bytes > MAX_LOG_BYTES {
            self.produced.log_truncated = true;
            self.sink.emit(Event::host_warning(format!(
                "{} wrote more than {} of logs; the rest is dropped",
                self.plugin,
                bytesize::ByteSize::b(MAX_LOG_BYTES as u64)
            )));
            return false;
        }
        true
    }

    fn emit_text(&mut self, text: &str, event: impl FnOnce(String) -> Event) {
        if self.admit_log(text) {
            let masked = self.masker.mask(text);
            self.sink.emit(event(masked));
        }
    }
}

impl types::Host for StepIo {}

impl log::Host for StepIo {
    fn log(&mut self, level: Level, message: String) {
        self.emit_text(&message, |message| Event::Log {
            level,
            message,
            host: false,
        });
    }

    fn annotate(&mut self, level: Level, message: String, location: Location) {
        let location = Location {
            file: self.masker.mask(&location.file),
            ..location
        };
        self.emit_text(&message, |message| Event::Annotate {
            level,
            message,
            location,
        });
    }

    fn group_start(&mut self, title: String) {
        self.emit_text(&title, Event::GroupStart);
    }

    fn group_end(&mut self) {
        self.sink.emit(Event::GroupEnd);
    }

    fn progress(&mut self, message: String, fraction: Option<f32>) {
        let fraction = fraction.filter(|f| f.is_finite()).map(|f| f.clamp(0.0, 1.0));
        self.emit_text(&message, |message| Event::Progress { message, fraction });
    }
}

impl outputs::Host for StepIo {
    fn set(&mut self, name: String, value: String) -> Result<(), String> {
        let Some(declared) = &self.declared_outputs else {
            return Err("outputs cannot be set during describe".into());
        };
        if !declared.contains(&name) {
            return Err(format!(
                "output `{name}` is not declared in describe (declared: {})",
                declared.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if value.len() > MAX_OUTPUT_BYTES {
            return Err(format!(
                "output `{name}` is {} bytes; the limit is {MAX_OUTPUT_BYTES}",
                value.len()
            ));
        }
        let previous = self.produced.outputs.get(&name).map_or(0, String::len);
        let total = self.outputs_bytes - previous + value.len();
        if total > MAX_OUTPUTS_TOTAL {
            return Err(format!(
                "outputs would total {total} bytes; the limit is {MAX_OUTPUTS_TOTAL}"
            ));
        }
        self.outputs_bytes = total;
        self.produced.outputs.insert(name, self.masker.mask(&value));
        Ok(())
    }
}

impl summary::Host for StepIo {
    fn append(&mut self, markdown: String) -> Result<(), String> {
        let produced = &mut self.produced;
        if produced.summary_truncated {
            return Err("the step summary is full (1 MiB)".into());
        }
        let markdown = self.masker.mask(&markdown);
        if produced.summary.len() + markdown.len() > MAX_SUMMARY_BYTES {
            produced.summary_truncated = true;
            return Err("the step summary would exceed GitHub's 1 MiB limit; this part was dropped".into());
        }
        produced.summary.push_str(&markdown);
        Ok(())
    }
}

impl secrets::Host for StepIo {
    fn get(&mut self, name: String) -> Result<String, String> {
        self.secrets.get(&name).cloned().ok_or_else(|| {
            format!("the secret `{name}` is not granted to this step; add `--secret {name}` / `secrets: {name}`")
        })
    }
}

impl tls::Host for StepIo {
    async fn peer_certificate(&mut self, origin: String) -> Result<tls::Certificate, String> {
        let der = self.net.peer_certificate(&origin).await?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("{origin} presented a certificate that does not parse: {e}"))?;
        let dns_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(tls::Certificate {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            dns_names,
        })
    }
}

const NO_GITHUB: &str = "this Tollgate version has no GitHub client yet";
/// Largest artifact a plugin may store.
pub const MAX_ARTIFACT_BYTES: usize = 256 << 20;
/// All artifacts one step may store together (disk, and the host memory each `put`
/// copies out of the guest).
pub const MAX_ARTIFACTS_TOTAL: usize = 512 << 20;

fn artifact_error(error: tollgate_attest::Error) -> artifacts::ArtifactError {
    use tollgate_attest::Error as E;
    match error {
        E::NotFound { .. } => artifacts::ArtifactError::NotFound(error.to_string()),
        E::DigestMismatch { .. }
        | E::SignatureInvalid { .. }
        | E::NoTrustedKey { .. }
        | E::Unsigned
        | E::SubjectMismatch { .. }
        | E::PayloadType { .. }
        | E::MalformedEnvelope { .. }
        | E::MalformedStatement { .. }
        | E::MissingObject { .. }
        | E::UnknownSigner { .. }
        | E::UnverifiableSignature { .. } => artifacts::ArtifactError::VerificationFailed(error.to_string()),
        _ => artifacts::ArtifactError::Other(error.to_string()),
    }
}

impl StepIo {
    fn artifact_store(&mut self) -> Result<&mut StepArtifacts, artifacts::ArtifactError> {
        self.artifacts.as_mut().ok_or_else(|| {
            artifacts::ArtifactError::Unavailable("this step has no artifact store; pass `--artifacts DIR`".into())
        })
    }
}

impl artifacts::Host for StepIo {
    fn put(&mut self, name: String, media_type: String, data: Vec<u8>) -> Result<String, artifacts::ArtifactError> {
        if data.len() > MAX_ARTIFACT_BYTES {
            return Err(artifacts::ArtifactError::Other(format!(
                "artifact `{name}` is {} bytes; the limit is {MAX_ARTIFACT_BYTES}",
                data.len()
            )));
        }
        let total = self.artifact_bytes + data.len();
        if total > MAX_ARTIFACTS_TOTAL {
            return Err(artifacts::ArtifactError::Other(format!(
                "this step has stored {} bytes of artifacts; `{name}` would pass the step's budget of {MAX_ARTIFACTS_TOTAL}",
                self.artifact_bytes
            )));
        }
        self.artifact_bytes = total;
        self.artifact_store()?
            .put(&name, &media_type, data)
            .map_err(artifact_error)
    }

    fn get(&mut self, reference: String) -> Result<artifacts::Artifact, artifacts::ArtifactError> {
        let artifact = self.artifact_store()?.get(&reference).map_err(artifact_error)?;
        Ok(artifacts::Artifact {
            name: artifact.name,
            media_type: artifact.media_type.unwrap_or_default(),
            digest: artifact.digest,
            data: artifact.data,
        })
    }
}

fn no_github<T>() -> Result<T, github::GithubError> {
    Err(github::GithubError::Unavailable(NO_GITHUB.into()))
}

impl github::Host for StepIo {
    fn get_pull_request(&mut self, _: u64) -> Result<github::PullRequest, github::GithubError> {
        no_github()
    }
    fn list_comments(&mut self, _: u64) -> Result<Vec<github::Comment>, github::GithubError> {
        no_github()
    }
    fn create_comment(&mut self, _: u64, _: String) -> Result<github::Comment, github::GithubError> {
        no_github()
    }
    fn update_comment(&mut self, _: u64, _: String) -> Result<github::Comment, github::GithubError> {
        no_github()
    }
    fn delete_comment(&mut self, _: u64) -> Result<(), github::GithubError> {
        no_github()
    }
    fn find_issues(&mut self, _: Vec<String>, _: String) -> Result<Vec<github::Issue>, github::GithubError> {
        no_github()
    }
    fn create_issue(&mut self, _: String, _: String, _: Vec<String>) -> Result<github::Issue, github::GithubError> {
        no_github()
    }
    fn update_issue(
        &mut self,
        _: u64,
        _: Option<String>,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<github::Issue, github::GithubError> {
        no_github()
    }
    fn create_ref(&mut self, _: String, _: String) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn get_ref(&mut self, _: String) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn delete_ref(&mut self, _: String) -> Result<(), github::GithubError> {
        no_github()
    }
    fn update_ref(&mut self, _: String, _: String, _: bool) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn create_commit(
        &mut self,
        _: String,
        _: Option<String>,
        _: Vec<String>,
    ) -> Result<github::Commit, github::GithubError> {
        no_github()
    }
    fn get_commit(&mut self, _: String) -> Result<github::Commit, github::GithubError> {
        no_github()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_replaces_every_occurrence_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("x abcdef y abc"), "x *** y ***");
        assert_eq!(m.mask("nothing"), "nothing");
    }
}
