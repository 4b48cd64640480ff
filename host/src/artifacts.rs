//! The artifact service of a run: which store, which signing key, which keys are trusted,
//! and the provenance (predicate) recorded for what each step produces.
//!
//! Artifacts a plugin `put`s are sealed immediately and sealed again when the step ends, so
//! their statement carries the step's final outcome.

use crate::error::{Error, Result};
use crate::events::{Event, Sink};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tollgate_attest::{Policy, Predicate, PublicKey, Signer, Store};

/// Where artifacts live and how they are signed and checked.
pub struct ArtifactConfig {
    /// The store artifacts are written to and read from.
    pub store: Store,
    /// The key that signs statements; `None` stores them unsigned.
    pub signer: Option<Signer>,
    /// Which keys are trusted, and whether unsigned artifacts are accepted, on `get`.
    pub policy: Policy,
}

/// Key material and places, as the command line or the action gives them.
#[derive(Debug, Clone, Default)]
pub struct ArtifactOptions {
    /// The store's directory (`--artifacts`).
    pub dir: PathBuf,
    /// PEM text of the private key (from `--signing-key FILE` or `TOLLGATE_SIGNING_KEY`).
    pub signing_key: Option<String>,
    /// PEM texts of trusted public keys.
    pub public_keys: Vec<String>,
    /// Accept artifacts that carry no signature.
    pub allow_unsigned: bool,
}

impl ArtifactConfig {
    /// Open the store and parse the keys; the signing key's own public key is trusted too.
    pub fn new(options: &ArtifactOptions) -> Result<Self> {
        let store = Store::open(&options.dir)
            .map_err(|e| Error::invalid("--artifacts", options.dir.display().to_string(), e.to_string()))?;
        let signer = options
            .signing_key
            .as_deref()
            .map(Signer::from_pem)
            .transpose()
            .map_err(|e| {
                Error::invalid(
                    "signing key",
                    "TOLLGATE_SIGNING_KEY / --signing-key",
                    format!("{e}; make one with `tollgate keygen`"),
                )
            })?;
        let mut trusted = options
            .public_keys
            .iter()
            .map(|pem| PublicKey::from_pem(pem))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid("public key", "TOLLGATE_PUBLIC_KEY / --public-key", e.to_string()))?;
        // What this run signs, it trusts.
        if let Some(signer) = &signer {
            trusted.push(signer.public());
        }
        Ok(Self {
            store,
            signer,
            policy: Policy {
                trusted,
                allow_unsigned: options.allow_unsigned,
                expect_subject: None,
            },
        })
    }
}

/// The run context recorded in a statement.
pub fn run_context(context: &crate::bindings::tollgate::plugin::types::StepContext) -> tollgate_attest::RunContext {
    tollgate_attest::RunContext {
        repository: context.repository.clone(),
        sha: context.sha.clone(),
        git_ref: context.git_ref.clone(),
        run_id: context.run_id.clone(),
        workflow: context.workflow.clone(),
    }
}

/// Read a key file, with a message that says which flag named it.
pub fn read_key_file(flag: &'static str, path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::invalid(flag, path.display().to_string(), e.to_string()))
}

/// One artifact a step produced, kept (by digest, not bytes) until the step's outcome is
/// known.
struct Produced {
    name: String,
    media_type: String,
    digest: String,
}

/// A step's view of the artifact service.
pub struct StepArtifacts {
    config: Arc<ArtifactConfig>,
    predicate: Predicate,
    sink: Arc<dyn Sink>,
    produced: Vec<Produced>,
}

impl StepArtifacts {
    /// The service for one step: its statements carry `predicate`, its warnings go to `sink`.
    pub fn new(config: Arc<ArtifactConfig>, predicate: Predicate, sink: Arc<dyn Sink>) -> Self {
        Self {
            config,
            predicate,
            sink,
            produced: Vec::new(),
        }
    }

    /// Store and seal an artifact now; it is sealed again with the outcome by [`finish`].
    pub fn put(&mut self, name: &str, media_type: &str, data: Vec<u8>) -> Result<String, tollgate_attest::Error> {
        let stored = self.config.store.put(
            name,
            media_type,
            &data,
            &self.predicate_now("running"),
            self.config.signer.as_ref(),
        )?;
        drop(data);
        if !stored.signed {
            self.sink.emit(Event::host_warning(format!(
                "artifact `{name}` is stored UNSIGNED: no signing key; set TOLLGATE_SIGNING_KEY or --signing-key (make one with `tollgate keygen`)"
            )));
        }
        self.produced.retain(|p| p.name != name);
        self.produced.push(Produced {
            name: name.to_string(),
            media_type: media_type.to_string(),
            digest: stored.digest.clone(),
        });
        Ok(stored.digest)
    }

    /// Fetch and verify an artifact by name or digest.
    pub fn get(&self, reference: &str) -> Result<tollgate_attest::Artifact, tollgate_attest::Error> {
        self.config.store.get(reference, &self.config.policy)
    }

    fn predicate_now(&self, outcome: &str) -> Predicate {
        let mut predicate = self.predicate.clone();
        predicate.finished_at = tollgate_attest::rfc3339(std::time::SystemTime::now());
        predicate.outcome = outcome.to_string();
        predicate
    }

    /// Seal every artifact again with the step's final outcome.
    pub fn finish(&mut self, outcome: &str) -> Vec<(String, String)> {
        let mut sealed = Vec::new();
        for p in std::mem::take(&mut self.produced) {
            let predicate = self.predicate_now(outcome);
            let signer = self.config.signer.as_ref();
            match self
                .config
                .store
                .seal(&p.name, &p.media_type, &p.digest, &predicate, signer)
            {
                Ok(stored) => sealed.push((p.name, stored.digest)),
                Err(e) => self.sink.emit(Event::host_warning(format!(
                    "artifact `{}` could not be sealed: {e}",
                    p.name
                ))),
            }
        }
        sealed
    }
}
