//! Verification of an artifact against its DSSE envelope under a [`Policy`]: payload type, signature, statement,
//! subject name and digest, in that order.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::dsse::{Envelope, PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::statement::{self, StatementHeader, Subject};

/// What a verifier accepts.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Keys whose signatures are accepted.
    pub trusted: Vec<PublicKey>,
    /// Accept envelopes without signatures. With no trusted keys either, signed envelopes are accepted too, as if
    /// unsigned (their signatures cannot be checked); with trusted keys, present signatures must verify.
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
    let keyid = if envelope.signatures.is_empty() {
        if !policy.allow_unsigned {
            return Err(Error::Unsigned);
        }
        None
    } else if policy.trusted.is_empty() && policy.allow_unsigned {
        None
    } else {
        envelope.verify(&payload, &policy.trusted)?
    };
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
