//! The host's error type and the exit codes it maps to.

use std::path::PathBuf;

/// Exit codes, as documented in README and `tollgate --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The step ran and passed.
    Success = 0,
    /// The step ran and failed: a check failed, the plugin returned an error, a limit was hit.
    Failure = 1,
    /// Usage or configuration error: bad flag or input, missing grant, digest mismatch,
    /// unreadable plugin.
    Usage = 2,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// Everything that stops a step, each with what went wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidArgument {
        what: &'static str,
        value: String,
        reason: String,
    },

    #[error("input `{input}`: {message}")]
    InvalidInput { input: String, message: String },

    #[error("{plugin} needs {capability}, which this step does not grant ({reason}).\n  fix: {hint}")]
    MissingGrant {
        plugin: String,
        capability: String,
        reason: String,
        hint: String,
    },

    #[error("plugin `{reference}`: {reason}")]
    PluginSource { reference: String, reason: String },

    #[error(
        "digest mismatch for `{reference}`: expected sha256:{expected}, got sha256:{actual}.\n  fix: if the new component is trusted, pin `#sha256={actual}`"
    )]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{plugin}` is not a valid Tollgate plugin: {reason}")]
    InvalidPlugin { plugin: String, reason: String },

    #[error("{plugin} exceeded its time limit of {limit} (raise it with --timeout)")]
    Timeout { plugin: String, limit: String },

    #[error("{plugin} exceeded its memory limit of {limit} (raise it with --memory)")]
    OutOfMemory { plugin: String, limit: String },

    #[error("{plugin} crashed: {reason}")]
    Trap { plugin: String, reason: String },

    #[error("{plugin} failed: {message}")]
    PluginFailed { plugin: String, message: String },

    #[error("{plugin} was denied a capability at run time: {message}")]
    Denied { plugin: String, message: String },

    #[error("the pipeline file is invalid:\n{diagnostics}")]
    Pipeline { diagnostics: String },

    #[error("runner integration: {0}")]
    Runner(String),

    #[error("wasm runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::InvalidArgument { .. }
            | Error::InvalidInput { .. }
            | Error::MissingGrant { .. }
            | Error::PluginSource { .. }
            | Error::DigestMismatch { .. }
            | Error::Io { .. }
            | Error::InvalidPlugin { .. }
            | Error::Pipeline { .. }
            | Error::Denied { .. } => ExitCode::Usage,
            Error::Timeout { .. }
            | Error::OutOfMemory { .. }
            | Error::Trap { .. }
            | Error::PluginFailed { .. }
            | Error::Runner(_)
            | Error::Runtime(_) => ExitCode::Failure,
        }
    }

    pub(crate) fn invalid(what: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
