//! Verification of an artifact against its DSSE envelope under a [`Policy`]: payload type, signature, statement,
//! subject name and digest, in that order.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::dsse::{Envelope, PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::statement::{self, StatementHeader, Subject};

/// What a verifier accepts.
///
/// A signature that is present is always checked, and **every** signature present must verify against a
/// [`trusted`](Policy::trusted) key; there is no threshold and an unknown or failing signature is never ignored:
///
/// | envelope                                         | `allow_unsigned: false`          | `allow_unsigned: true`           |
/// |--------------------------------------------------|----------------------------------|----------------------------------|
/// | no signatures                                    | [`Error::Unsigned`]              | accepted, `keyid: None`          |
/// | signatures, no trusted keys configured           | [`Error::UnverifiableSignature`] | [`Error::UnverifiableSignature`] |
/// | every signature verifies against a trusted key   | accepted                         | accepted                         |
/// | a signature by a trusted key does not verify     | [`Error::SignatureInvalid`]      | [`Error::SignatureInvalid`]      |
/// | a signature by an unknown key beside a valid one | [`Error::UnknownSigner`]         | [`Error::UnknownSigner`]         |
/// | only signatures by unknown keys                  | [`Error::NoTrustedKey`]          | [`Error::NoTrustedKey`]          |
///
/// A present but failing signature is tampering, not absence, so `allow_unsigned` never turns it into "unsigned";
/// nor does it accept a signed envelope that cannot be checked for lack of a key. Note that `allow_unsigned` does
/// accept an envelope whose signatures were stripped (the data must still match the statement's digest): use it
/// only where whoever can write the store is trusted, e.g. local runs.
///
/// [`Error::Unsigned`]: crate::Error::Unsigned
/// [`Error::UnverifiableSignature`]: crate::Error::UnverifiableSignature
/// [`Error::SignatureInvalid`]: crate::Error::SignatureInvalid
/// [`Error::UnknownSigner`]: crate::Error::UnknownSigner
/// [`Error::NoTrustedKey`]: crate::Error::NoTrustedKey
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Keys whose signatures are accepted; every signature on an envelope must verify against one of them.
    pub trusted: Vec<PublicKey>,
    /// Accept envelopes without any signature. It has no effect on an envelope that carries signatures: those must
    /// all verify against [`trusted`](Policy::trusted) keys, and with no trusted key they cannot be checked and the
    /// envelope is refused ([`Error::UnverifiableSignature`](crate::Error::UnverifiableSignature)).
    pub allow_unsigned: bool,
    /// The subject name the statement must have. `Store::get` defaults it to the artifact's name; without it,
    /// [`verify`] accepts any subject whose digest matches the data.
    pub expect_subject: Option<String>,
}

impl Policy {
    /// Accept only signatures by `trusted`.
    pub fn trusting(trusted: Vec<PublicKey>) -> Policy {
        Policy {
            trusted,
            ..Policy::default()
        }
    }
}

/// An artifact that passed verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The statement subject the data matched.
    pub subject: String,
    /// `sha256:<hex>` of the data.
    pub digest: String,
    /// The subject's `mediaType`, when the statement has one.
    pub media_type: Option<String>,
    /// Key id of the trusted key whose signature verified; `None` when accepted unsigned.
    pub keyid: Option<String>,
    /// The whole in-toto statement.
    pub statement: Value,
}

/// Verifies `bytes` against `envelope_json` under `policy`; nothing is returned unless every check passes.
///
/// The checks, in order: the envelope parses as DSSE v1 and its payload type is [`PAYLOAD_TYPE`]; its payload and
/// signatures are base64 (standard or URL-safe, with or without padding); the signatures satisfy `policy` (see
/// [`Policy`]: no signatures only with `allow_unsigned`, otherwise **every** signature must verify against a trusted
/// key, so a failing signature or one by an unknown key refuses the envelope even beside a valid one, and a signed
/// envelope is refused when no trusted key is configured); the payload is an in-toto Statement v1; a subject (named
/// `policy.expect_subject`, if set) has the sha256 digest of `bytes`.
///
/// The error says which check failed, naming the signature (`signatures[i]` and its key id) when one is at fault.
pub fn verify(bytes: &[u8], envelope_json: &[u8], policy: &Policy) -> Result<Verified> {
    let checked = check_envelope(envelope_json, policy)?;
    checked.finish(bytes, policy.expect_subject.as_deref())
}

/// An envelope whose payload type, signatures and statement passed; the data is still to be checked.
pub(crate) struct Checked {
    statement: Value,
    header: StatementHeader,
    keyid: Option<String>,
}

pub(crate) fn check_envelope(envelope_json: &[u8], policy: &Policy) -> Result<Checked> {
    let envelope = Envelope::parse(envelope_json)?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(Error::PayloadType {
            found: envelope.payload_type,
        });
    }
    let payload = envelope.payload_bytes()?;
    // A present signature is always checked (`allow_unsigned` only covers envelopes without any): with no trusted
    // key, `Envelope::verify` refuses it as unverifiable rather than treating it as unsigned.
    let keyid = envelope.verify(&payload, &policy.trusted)?;
    if keyid.is_none() && !policy.allow_unsigned {
        return Err(Error::Unsigned);
    }
    let (statement, header) = statement::parse(&payload)?;
    Ok(Checked {
        statement,
        header,
        keyid,
    })
}

impl Checked {
    /// The subjects that may describe the data: those named `expected`, or all.
    pub(crate) fn candidates(&self, expected: Option<&str>) -> Result<Vec<&Subject>> {
        let subjects = &self.header.subject;
        let candidates: Vec<&Subject> = match expected {
            Some(name) => subjects.iter().filter(|subject| subject.name == name).collect(),
            None => subjects.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(match expected {
                Some(name) => Error::SubjectMismatch {
                    expected: name.to_owned(),
                    found: subjects.iter().map(|subject| subject.name.clone()).collect(),
                },
                None => Error::MalformedStatement {
                    detail: "`subject` is empty".to_owned(),
                },
            });
        }
        Ok(candidates)
    }

    /// Checks `data` against the candidate subjects and returns the verified artifact.
    pub(crate) fn finish(self, data: &[u8], expected: Option<&str>) -> Result<Verified> {
        let actual = hex::encode(Sha256::digest(data));
        let candidates = self.candidates(expected)?;
        let mut wanted = Vec::new();
        let mut matched = None;
        for subject in &candidates {
            let digest = subject.sha256()?;
            if digest == actual {
                matched = Some((subject.name.clone(), subject.media_type.clone()));
                break;
            }
            wanted.push(format!("sha256:{digest}"));
        }
        let Some((subject, media_type)) = matched else {
            let names: Vec<&str> = candidates.iter().map(|subject| subject.name.as_str()).collect();
            return Err(Error::DigestMismatch {
                subject: names.join("`, `"),
                expected: wanted.join(" or "),
                actual: format!("sha256:{actual}"),
            });
        };
        Ok(Verified {
            subject,
            digest: format!("sha256:{actual}"),
            media_type,
            keyid: self.keyid,
            statement: self.statement,
        })
    }
}
