//! `tollgate:plugin/artifacts`: signed puts within the step's budget, verified gets.

use super::StepIo;
use crate::artifacts::StepArtifacts;
use crate::bindings::tollgate::plugin::artifacts;
use crate::events::Event;
use tollgate_vocab::limits::{MAX_ARTIFACT_BYTES, MAX_ARTIFACTS_TOTAL};

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
            artifacts::ArtifactError::Unavailable(
                "this step has no artifact store: a local `tollgate run` stores artifacts only with `--artifacts DIR`"
                    .into(),
            )
        })
    }
}

impl artifacts::Host for StepIo {
    fn put(&mut self, name: String, media_type: String, data: Vec<u8>) -> Result<String, artifacts::ArtifactError> {
        // A name becomes a file name and a statement's subject; a media type is in the statement.
        // Masking them would break the name a later step asks for, so a secret there is refused.
        if self.masker.holds_secret(&name) || self.masker.holds_secret(&media_type) {
            return Err(artifacts::ArtifactError::Other(
                "an artifact's name and media type are written in clear (a file name, the statement): they may \
                 not hold the value of a secret"
                    .into(),
            ));
        }
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
        let (data, masked) = self.masker.mask_bytes(data);
        if masked {
            self.sink.emit(Event::host_warning(format!(
                "{}: artifact `{name}` held the value of a secret; it is stored with the value replaced by ***",
                self.plugin
            )));
        }
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
