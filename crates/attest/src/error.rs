//! The one error type of this crate: each message says what failed and how to fix it.

use std::path::PathBuf;

/// Everything that can go wrong while storing, signing or verifying an artifact.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}; check that the path exists and is accessible", path.display())]
    Io {
        /// What was being done ("read", "write", "create directory", …).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The artifact's bytes do not hash to the digest its statement names.
    #[error(
        "digest mismatch for artifact `{subject}`: the signed statement says {expected} but the data hashes to \
         {actual}; the data was changed after it was attested, so it is refused (re-run the step that produced it)"
    )]
    DigestMismatch {
        /// The subject name in the statement.
        subject: String,
        /// The digest(s) the statement names (`sha256:<hex>`).
        expected: String,
        /// The digest of the data actually found (`sha256:<hex>`).
        actual: String,
    },

    /// A signature attributed to a trusted key (by its key id, or tried against every trusted key when it has none)
    /// does not verify: the envelope or its signature was changed after signing.
    #[error(
        "signature invalid: `signatures[{index}]` by {keyid} does not verify over the envelope's payload; the \
         attestation or its signature was changed after signing (or it was signed with another key), so it is \
         refused; check that the artifact was not modified, and re-sign it by re-running the step that produced it"
    )]
    SignatureInvalid {
        /// Position of the failing signature in the envelope's `signatures` array (from 0).
        index: usize,
        /// The key id the signature claims, or a description when it claims none.
        keyid: String,
    },

    /// No signature names a trusted key (and none without key id verifies): the artifact comes from another signer.
    #[error(
        "no trusted key: the envelope is signed by {} but the trusted keys are {}; add the signer's public key to \
         the trusted keys (--public-key or TOLLGATE_PUBLIC_KEY), or check that the artifact comes from the expected \
         producer",
        list_or(found, "(no key id)"),
        list_or(trusted, "(none configured)")
    )]
    NoTrustedKey {
        /// The key ids the envelope's signatures claim (`(no key id)` for a signature without one).
        found: Vec<String>,
        /// The key ids of the trusted keys.
        trusted: Vec<String>,
    },

    /// A signature by a key that is not trusted sits beside a valid one. Every signature present must verify
    /// against a trusted key: Tollgate never adds a second signature, so an extra one is tampering.
    #[error(
        "signed by an unknown key `{keyid}`: `signatures[{index}]` names a key that is not trusted (trusted keys: \
         {}), next to a valid signature; every signature on an envelope must verify against a trusted key, so it is \
         refused; check that the artifact was not modified (and re-sign it by re-running the step that produced \
         it), or, if `{keyid}` is a genuine signer, trust its public key with --public-key or TOLLGATE_PUBLIC_KEY",
        list_or(trusted, "(none configured)")
    )]
    UnknownSigner {
        /// Position of the signature in the envelope's `signatures` array (from 0).
        index: usize,
        /// The key id the signature claims.
        keyid: String,
        /// The key ids of the trusted keys.
        trusted: Vec<String>,
    },

    /// The envelope is signed but no trusted key is configured, so its signatures cannot be checked. A signed
    /// envelope is never accepted as unsigned, even when unsigned artifacts are allowed.
    #[error(
        "signature unverifiable: the envelope is signed by {} but no public key is configured to verify it, so it \
         is refused (a signed artifact is never accepted as unsigned, even with --allow-unsigned); give the \
         signer's public key with --public-key FILE or TOLLGATE_PUBLIC_KEY",
        list_or(keyids, "(no key id)")
    )]
    UnverifiableSignature {
        /// The key ids the envelope's signatures claim (`(no key id)` for a signature without one).
        keyids: Vec<String>,
    },

    /// The envelope has no signatures and the policy requires one.
    #[error(
        "artifact is unsigned: its envelope has no signatures; sign artifacts by giving the producing step a key \
         (TOLLGATE_SIGNING_KEY or --signing-key; `tollgate keygen` makes one), or allow unsigned artifacts \
         explicitly with --allow-unsigned"
    )]
    Unsigned,

    /// The statement describes another artifact than the one asked for.
    #[error(
        "subject mismatch: expected an attestation for `{expected}` but the statement is about {}; the envelope \
         belongs to another artifact (was it copied or renamed?)",
        list_or(found, "no subject")
    )]
    SubjectMismatch {
        /// The subject name required.
        expected: String,
        /// The subject names the statement has.
        found: Vec<String>,
    },

    /// The envelope's payload is not an in-toto statement.
    #[error(
        "unexpected payload type `{found}`: a Tollgate attestation's DSSE payloadType must be exactly `{}`",
        crate::PAYLOAD_TYPE
    )]
    PayloadType {
        /// The payloadType found.
        found: String,
    },

    /// The envelope is not a DSSE v1 envelope.
    #[error("malformed DSSE envelope: {detail}; the file is damaged or is not a Tollgate attestation")]
    MalformedEnvelope {
        /// What is wrong, with the parser's message.
        detail: String,
    },

    /// The envelope's payload is not an in-toto Statement v1.
    #[error("malformed in-toto statement: {detail}; the attestation is damaged or was not made by Tollgate")]
    MalformedStatement {
        /// What is wrong, with the parser's message.
        detail: String,
    },

    /// No stored artifact has that name or digest.
    #[error("artifact `{reference}` not found in {}; stored artifacts: {}", dir.display(), list_or(available, "none"))]
    NotFound {
        /// The name or digest asked for.
        reference: String,
        /// The store directory.
        dir: PathBuf,
        /// What the store holds (`name (sha256:<hex>)`).
        available: Vec<String>,
    },

    /// The attestation exists but the data it describes does not.
    #[error(
        "artifact `{name}` is attested but its data is missing: expected {}; the store was pruned or copied \
         partially, so re-run the step that produced it",
        path.display()
    )]
    MissingObject {
        /// The artifact name.
        name: String,
        /// Where the data should be.
        path: PathBuf,
    },

    /// An artifact name that cannot be stored.
    #[error("invalid artifact name `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused, and what is allowed.
        reason: &'static str,
    },

    /// A key that cannot be used.
    #[error("invalid {what}: {detail}; generate one with `tollgate keygen` or `openssl genpkey -algorithm ed25519`")]
    Key {
        /// Which kind of key was expected.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },

    /// The operating system's random number generator failed.
    #[error(
        "cannot generate a key: the system random number generator failed ({detail}); retry, or generate one with \
             `openssl genpkey -algorithm ed25519`"
    )]
    Random {
        /// The generator's error.
        detail: String,
    },
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
