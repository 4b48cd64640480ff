//! DSSE v1 envelopes: the pre-authentication encoding, signing, and signature checks against a set of trusted keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{PublicKey, Signer};

/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE v1 envelope as stored in `<name>.dsse.json`.
///
/// Unknown fields are refused, so a damaged field name is an error rather than a silently ignored field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Always [`PAYLOAD_TYPE`] for Tollgate attestations.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Standard base64 (with padding) of the payload bytes.
    pub payload: String,
    /// Empty for an unsigned envelope.
    pub signatures: Vec<Signature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// `sha256:<hex of the raw public key>`; may be empty (then every trusted key is tried).
    #[serde(default)]
    pub keyid: String,
    /// Standard base64 of the 64-byte Ed25519 signature of the PAE.
    pub sig: String,
}

/// The DSSE v1 pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Wraps `payload`, signed by `signer` if given.
    pub fn seal(payload_type: &str, payload: &[u8], signer: Option<&Signer>) -> Envelope {
        let signatures = signer
            .map(|signer| Signature {
                keyid: signer.keyid(),
                sig: STANDARD.encode(signer.sign(&pae(payload_type, payload))),
            })
            .into_iter()
            .collect();
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(payload),
            signatures,
        }
    }

    /// Parses envelope JSON.
    pub fn parse(json: &[u8]) -> Result<Envelope> {
        serde_json::from_slice(json).map_err(|err| Error::MalformedEnvelope {
            detail: err.to_string(),
        })
    }

    /// The decoded payload bytes (canonical standard base64 only).
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        STANDARD.decode(&self.payload).map_err(|err| Error::MalformedEnvelope {
            detail: format!("`payload` is not standard base64 ({err})"),
        })
    }

    /// Checks the signatures against `trusted` and returns the key id of the first that verifies.
    ///
    /// A signature naming a key id is checked only against the trusted key with that id; one with an empty key id is
    /// checked against every trusted key. Returns `Ok(None)` when there are no signatures: the caller decides whether
    /// unsigned is acceptable.
    pub fn verify(&self, payload: &[u8], trusted: &[PublicKey]) -> Result<Option<String>> {
        if self.signatures.is_empty() {
            return Ok(None);
        }
        let message = pae(&self.payload_type, payload);
        let mut failed = None;
        for signature in &self.signatures {
            let sig = STANDARD
                .decode(&signature.sig)
                .map_err(|err| Error::MalformedEnvelope {
                    detail: format!("signature `sig` is not standard base64 ({err})"),
                })?;
            let candidates: Vec<&PublicKey> = if signature.keyid.is_empty() {
                trusted.iter().collect()
            } else {
                trusted.iter().filter(|key| key.keyid() == signature.keyid).collect()
            };
            if let Some(key) = candidates.iter().find(|key| key.verifies(&message, &sig)) {
                return Ok(Some(key.keyid()));
            }
            if !candidates.is_empty() && failed.is_none() {
                failed = Some(if signature.keyid.is_empty() {
                    format!(
                        "a key without key id (tried every trusted key: {})",
                        keyids(trusted).join(", ")
                    )
                } else {
                    signature.keyid.clone()
                });
            }
        }
        match failed {
            Some(keyid) => Err(Error::SignatureInvalid { keyid }),
            None => Err(Error::NoTrustedKey {
                found: self
                    .signatures
                    .iter()
                    .map(|signature| match signature.keyid.as_str() {
                        "" => "(no key id)".to_owned(),
                        keyid => keyid.to_owned(),
                    })
                    .collect(),
                trusted: keyids(trusted),
            }),
        }
    }
}

fn keyids(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::keyid).collect()
}
