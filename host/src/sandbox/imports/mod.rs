//! The host side of the `tollgate:plugin` imports, a module per WIT interface, over one
//! per-step state ([`StepIo`]). Everything a plugin says is masked and capped here, before
//! any sink or runner sees it.

mod artifacts;
mod github;
mod log;
mod outputs;
mod secrets;
mod summary;
mod tls;

pub use github::GithubReach;

use crate::artifacts::StepArtifacts;
use crate::bindings::tollgate::plugin::types;
use crate::events::{Event, Sink};
use crate::github::{Client, GithubConfig, GithubError};
use crate::sandbox::net::NetPolicy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tollgate_vocab::limits::{LOG_LINE_COST, MAX_LOG_BYTES};

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

    /// Whether `text` holds a secret value: for what is written in clear or not at all (an
    /// artifact's name).
    pub fn holds_secret(&self, text: &str) -> bool {
        self.values.iter().any(|secret| text.contains(secret.as_str()))
    }

    /// `data` with every secret value's bytes replaced by `***`, and whether any was.
    pub fn mask_bytes(&self, mut data: Vec<u8>) -> (Vec<u8>, bool) {
        let mut masked = false;
        for secret in &self.values {
            let finder = memchr::memmem::Finder::new(secret.as_bytes());
            let mut found = finder.find_iter(&data).peekable();
            if found.peek().is_none() {
                continue;
            }
            masked = true;
            let (mut out, mut from) = (Vec::with_capacity(data.len()), 0);
            for at in found {
                out.extend_from_slice(&data[from..at]);
                out.extend_from_slice(b"***");
                from = at + secret.len();
            }
            out.extend_from_slice(&data[from..]);
            data = out;
        }
        (data, masked)
    }
}

/// What a step produced besides its log stream.
#[derive(Debug, Default, Clone)]
pub struct Produced {
    /// Output values the plugin set, by name, masked.
    pub outputs: BTreeMap<String, String>,
    /// The step summary's Markdown, masked.
    pub summary: String,
    /// Whether part of the summary was dropped for exceeding the step summary cap
    /// ([`tollgate_vocab::limits::MAX_SUMMARY_BYTES`]).
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
    /// Where and as whom GitHub calls go; `None` (describe, authoring cases) answers them
    /// `unavailable`.
    pub github: Option<Arc<GithubConfig>>,
    /// When the step's `--timeout` ends (set when `run` starts): GitHub retries never wait
    /// past it.
    pub deadline: Option<std::time::Instant>,
    /// Whose refs, comments and issues the step's GitHub calls reach; `None` while describing.
    pub reach: Option<GithubReach>,
    /// The GitHub client, made on the first call.
    github_client: Option<Result<Client, GithubError>>,
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
            github: None,
            deadline: None,
            reach: None,
            github_client: None,
            log_bytes: 0,
            outputs_bytes: 0,
            artifact_bytes: 0,
        }
    }

    /// Count `text` against the log budget; false once it is spent.
    fn admit_log(&mut self, text: &str) -> bool {
        self.admit_log_bytes(text.len())
    }

    /// Count `bytes` of text, plus what printing one more line costs, against the log
    /// budget: an empty line or a group end still prints a prefix or a command.
    fn admit_log_bytes(&mut self, bytes: usize) -> bool {
        if self.produced.log_truncated {
            return false;
        }
        self.log_bytes += bytes + LOG_LINE_COST;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_replaces_every_occurrence_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("x abcdef y abc"), "x *** y ***");
        assert_eq!(m.mask("nothing"), "nothing");
        assert_eq!(
            m.mask_bytes(b"\x00abcdef\xffabc".to_vec()),
            (b"\x00***\xff***".to_vec(), true)
        );
        assert_eq!(m.mask_bytes(b"clean".to_vec()), (b"clean".to_vec(), false));
    }
}
