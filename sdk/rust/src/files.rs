//! Reading a file a step's input names: an absolute path inside a directory the step grants
//! (`allow-read`), or `artifact:NAME` for an artifact an earlier step stored (verified by the
//! host before the plugin sees a byte). Errors name the input and say how to fix it.

use crate::artifacts::{self, ArtifactError};
use crate::{PluginError, invalid_input};

/// Where the bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file in a granted directory.
    File,
    /// A verified artifact.
    Artifact {
        /// Its name.
        name: String,
        /// `sha256:<hex>`.
        digest: String,
    },
}

/// Read what `input`'s value `reference` names, refusing files over `max_bytes`. `what`
/// describes the expected content for the error message (e.g. "the JSON from `terraform
/// show -json tfplan`").
pub fn read_input(input: &str, reference: &str, max_bytes: u64, what: &str) -> Result<(Vec<u8>, Source), PluginError> {
    if let Some(name) = reference.strip_prefix("artifact:") {
        return match artifacts::get(name) {
            Ok(a) => Ok((
                a.data,
                Source::Artifact {
                    name: a.name,
                    digest: a.digest,
                },
            )),
            Err(ArtifactError::NotFound(m)) => Err(invalid_input(input, format!("no artifact `{name}`: {m}"))),
            Err(ArtifactError::VerificationFailed(m)) => Err(PluginError::Denied(format!(
                "the artifact `{name}` does not verify, so it is not read: {m}"
            ))),
            Err(ArtifactError::Unavailable(m) | ArtifactError::Other(m)) => {
                Err(invalid_input(input, format!("cannot read the artifact `{name}`: {m}")))
            }
        };
    }
    let unreadable = |e: std::io::Error| {
        invalid_input(
            input,
            format!(
                "cannot read `{reference}`: {e}. Give the absolute path of {what}, inside a directory the step \
                 grants with `allow-read`, or `artifact:NAME`"
            ),
        )
    };
    let size = std::fs::metadata(reference).map_err(unreadable)?.len();
    if size > max_bytes {
        return Err(invalid_input(
            input,
            format!("`{reference}` is {size} bytes; files over {max_bytes} bytes are not read"),
        ));
    }
    let bytes = std::fs::read(reference).map_err(unreadable)?;
    Ok((bytes, Source::File))
}

/// A root-relative link to the workflow run (`/owner/repo/actions/runs/ID`, which works on
/// GitHub Enterprise Server too), when the context names a plausible repository and run.
pub fn run_link(context: &crate::StepContext) -> Option<String> {
    let repo = context.repository.as_deref()?;
    let run = context.run_id.as_deref()?;
    let repo_ok = repo.split('/').count() == 2
        && repo.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !repo.contains("..");
    (repo_ok && !run.is_empty() && run.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("/{repo}/actions/runs/{run}"))
}
