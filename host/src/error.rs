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
    /// The step ran and could not decide (e.g. an analysis without enough data): neither
    /// promote nor abort; a workflow can pause for a person.
    Inconclusive = 3,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// Everything that stops a step, each with what went wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, key, or other argument has a value Tollgate cannot use.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidArgument {
        /// What the value is for, e.g. `--timeout`.
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },

    /// A step input is unknown, missing, mistyped, or refused by the plugin.
    #[error("input `{input}`: {message}")]
    InvalidInput {
        /// The input's name.
        input: String,
        /// What is wrong with it.
        message: String,
    },

    #[error("{plugin} needs {capability}, which this step does not grant ({reason}).\n  fix: {hint}")]
    /// The plugin requires a capability the step does not grant.
    MissingGrant {
        /// The plugin's name.
        plugin: String,
        /// The capability it needs, in words.
        capability: String,
        /// The plugin's stated reason for needing it.
        reason: String,
        /// The grant to add.
        hint: String,
    },

    /// A plugin reference does not parse, or its bytes cannot be obtained.
    #[error("plugin `{reference}`: {reason}")]
    PluginSource {
        /// The reference as written.
        reference: String,
        /// Why it failed.
        reason: String,
    },

    /// A plugin could not be downloaded from its URL.
    #[error("plugin `{reference}`: {source}")]
    Download {
        /// The reference as written.
        reference: String,
        /// Why the download failed.
        source: crate::sources::download::DownloadError,
    },

    /// An OCI reference does not parse, or a registry refused a pull or a push.
    #[error("plugin `{reference}`: {source}")]
    Oci {
        /// The reference as written.
        reference: String,
        /// What the registry, or the reference, got wrong.
        source: crate::sources::oci::OciError,
    },

    #[error(
        "digest mismatch for `{reference}`: expected sha256:{expected}, got sha256:{actual}.\n  fix: if the new component is trusted, pin `#sha256={actual}`"
    )]
    /// A plugin's bytes do not match the digest the reference pins.
    DigestMismatch {
        /// The reference as written.
        reference: String,
        /// The pinned digest, lower-case hex.
        expected: String,
        /// The digest of the bytes obtained, lower-case hex.
        actual: String,
    },

    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The component is not a usable Tollgate plugin: it does not compile or link, or what
    /// it declares is malformed.
    #[error("`{plugin}` is not a valid Tollgate plugin: {reason}")]
    InvalidPlugin {
        /// The plugin's name.
        plugin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The plugin ran past its time limit.
    #[error("{plugin} exceeded its time limit of {limit} (raise it with --timeout)")]
    Timeout {
        /// The plugin's name.
        plugin: String,
        /// The limit, human-readable.
        limit: String,
    },

    /// The plugin tried to grow its memory past the limit.
    #[error("{plugin} exceeded its memory limit of {limit} (raise it with --memory)")]
    OutOfMemory {
        /// The plugin's name.
        plugin: String,
        /// The limit, human-readable.
        limit: String,
    },

    /// The plugin overflowed its WebAssembly stack.
    #[error("{plugin} overflowed its stack (runaway recursion?); the stack is not configurable: fix the plugin")]
    StackOverflow {
        /// The plugin's name.
        plugin: String,
    },

    /// The plugin hit a fixed host limit other than time or memory.
    #[error("{plugin} hit a host limit: {what}")]
    ResourceLimit {
        /// The plugin's name.
        plugin: String,
        /// Which limit, in words.
        what: String,
    },

    /// The plugin trapped for any other reason.
    #[error("{plugin} crashed: {reason}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap and its context.
        reason: String,
    },

    /// The plugin's `run` returned an error.
    #[error("{plugin} failed: {message}")]
    PluginFailed {
        /// The plugin's name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },

    /// The plugin reported that it was denied a capability while it ran.
    #[error("{plugin} was denied a capability at run time: {message}")]
    Denied {
        /// The plugin's name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },

    /// The pipeline file does not parse or validate.
    #[error("the pipeline file is invalid:\n{diagnostics}")]
    Pipeline {
        /// The rendered diagnostics.
        diagnostics: String,
    },

    /// Building a plugin project failed (`tollgate plugin build`).
    #[error("building the plugin failed: `{command}`: {reason}")]
    Build {
        /// The toolchain command, as a user would type it.
        command: String,
        /// What went wrong and how to fix it.
        reason: String,
    },

    /// Tollgate's own work around a step failed: writing runner outputs, running a shell step.
    #[error("runner integration: {0}")]
    Runner(String),

    /// The WebAssembly or async runtime could not be set up or used.
    #[error("wasm runtime: {0}")]
    Runtime(String),

    /// Wasmtime refused the engine's configuration or the host's imports.
    #[error("wasm runtime: {0:#}")]
    Wasmtime(#[source] wasmtime::Error),
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::InvalidArgument { .. }
            | Error::InvalidInput { .. }
            | Error::MissingGrant { .. }
            | Error::PluginSource { .. }
            | Error::Download { .. }
            | Error::Oci { .. }
            | Error::DigestMismatch { .. }
            | Error::Io { .. }
            | Error::InvalidPlugin { .. }
            | Error::Pipeline { .. }
            | Error::Denied { .. } => ExitCode::Usage,
            Error::Timeout { .. }
            | Error::OutOfMemory { .. }
            | Error::Trap { .. }
            | Error::StackOverflow { .. }
            | Error::ResourceLimit { .. }
            | Error::PluginFailed { .. }
            | Error::Build { .. }
            | Error::Runner(_)
            | Error::Runtime(_)
            | Error::Wasmtime(_) => ExitCode::Failure,
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

impl From<tollgate_vocab::Invalid> for Error {
    fn from(e: tollgate_vocab::Invalid) -> Self {
        Error::InvalidArgument {
            what: e.what,
            value: e.value,
            reason: e.reason,
        }
    }
}

/// The host's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
