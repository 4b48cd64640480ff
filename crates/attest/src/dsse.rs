//! DSSE v1 envelopes: the pre-authentication encoding, signing, and signature checks against a set of trusted keys.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
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
    /// Base64 of the payload bytes: [`Envelope::seal`] writes standard base64 with padding; standard or URL-safe
    /// base64, with or without padding, is accepted on input.
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
    /// Base64 of the 64-byte Ed25519 signature of the PAE: standard with padding when written by
    /// [`Envelope::seal`]; standard or URL-safe, with or without padding, accepted on input.
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

    /// The decoded payload bytes (standard or URL-safe base64, with or without padding).
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        decode_base64(&self.payload).map_err(|err| Error::MalformedEnvelope {
            detail: format!("`payload` is not base64 ({err}); DSSE allows standard or URL-safe base64"),
        })
    }

    /// Checks every signature against `trusted` and returns the key id of the trusted key that verified the first.
    ///
    /// Returns `Ok(None)` when there are no signatures: the caller decides whether unsigned is acceptable.
    /// Otherwise the envelope is accepted only if **every** signature verifies against a trusted key; there is no
    /// threshold, because no legitimate Tollgate signer ever adds a signature that fails or that is by a key the
    /// verifier does not trust, so such a signature is tampering:
    ///
    /// - a signature naming a key id is checked only against the trusted key with that id; when no trusted key has
    ///   that id it fails as signed by an unknown key ([`Error::UnknownSigner`], or [`Error::NoTrustedKey`] when
    ///   no signature at all is by a trusted key);
    /// - a signature with an empty key id is checked against every trusted key and fails when none verifies it;
    /// - a signature by a trusted key that does not verify is [`Error::SignatureInvalid`], which takes precedence;
    /// - with signatures present but no trusted key at all, nothing can be checked: [`Error::UnverifiableSignature`]
    ///   (a signed envelope is never treated as unsigned);
    /// - a `sig` that is not base64 of 64 bytes is [`Error::MalformedEnvelope`].
    pub fn verify(&self, payload: &[u8], trusted: &[PublicKey]) -> Result<Option<String>> {
        if self.signatures.is_empty() {
            return Ok(None);
        }
        let decoded = self
            .signatures
            .iter()
            .enumerate()
            .map(|(index, signature)| decode_signature(index, signature))
            .collect::<Result<Vec<_>>>()?;
        if trusted.is_empty() {
            return Err(Error::UnverifiableSignature {
                keyids: self.signatures.iter().map(describe_keyid).collect(),
            });
        }

        let message = pae(&self.payload_type, payload);
        let mut verified_by = None;
        let mut first_invalid = None;
        let mut first_unknown = None;
        for (index, (signature, sig)) in self.signatures.iter().zip(&decoded).enumerate() {
            let candidates: Vec<&PublicKey> = if signature.keyid.is_empty() {
                trusted.iter().collect()
            } else {
                trusted.iter().filter(|key| key.keyid() == signature.keyid).collect()
            };
            if candidates.is_empty() {
                first_unknown.get_or_insert((index, signature.keyid.clone()));
                continue;
            }
            match candidates.iter().find(|key| key.verifies(&message, sig)) {
                Some(key) => {
                    verified_by.get_or_insert_with(|| key.keyid());
                }
                None => {
                    first_invalid.get_or_insert_with(|| {
                        let keyid = if signature.keyid.is_empty() {
                            format!(
                                "a key without key id (tried every trusted key: {})",
                                keyids(trusted).join(", ")
                            )
                        } else {
                            signature.keyid.clone()
                        };
                        (index, keyid)
                    });
                }
            }
        }

        if let Some((index, keyid)) = first_invalid {
            return Err(Error::SignatureInvalid { index, keyid });
        }
        match (first_unknown, verified_by) {
            (None, Some(keyid)) => Ok(Some(keyid)),
            (Some((index, keyid)), Some(_)) => Err(Error::UnknownSigner {
                index,
                keyid,
                trusted: keyids(trusted),
            }),
            // No signature failed and none verified: every one names an unknown key.
            (_, None) => Err(Error::NoTrustedKey {
                found: self.signatures.iter().map(describe_keyid).collect(),
                trusted: keyids(trusted),
            }),
        }
    }
}

/// Decodes DSSE base64: the standard or the URL-safe alphabet, with canonical padding or none.
///
/// The alphabet is chosen by the presence of `-` or `_`, the padding mode by a trailing `=`, so a string mixing
/// both alphabets, with partial padding, with non-zero trailing bits or with any other character is refused (and
/// the error names the offending character).
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let url_safe = text.bytes().any(|byte| byte == b'-' || byte == b'_');
    let padded = text.ends_with('=');
    let engine = match (url_safe, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(text)
}

/// The 64 signature bytes of `signatures[index]`.
fn decode_signature(index: usize, signature: &Signature) -> Result<Vec<u8>> {
    let malformed = |what: String| Error::MalformedEnvelope {
        detail: match signature.keyid.as_str() {
            "" => format!("`signatures[{index}]` (no key id): {what}"),
            keyid => format!("`signatures[{index}]` (key id `{keyid}`): {what}"),
        },
    };
    let sig = decode_base64(&signature.sig).map_err(|err| {
        malformed(format!(
            "`sig` is not base64 ({err}); DSSE allows standard or URL-safe base64"
        ))
    })?;
    if sig.len() != ed25519_dalek::SIGNATURE_LENGTH {
        return Err(malformed(format!(
            "`sig` decodes to {} bytes but an Ed25519 signature is {}",
            sig.len(),
            ed25519_dalek::SIGNATURE_LENGTH
        )));
    }
    Ok(sig)
}

fn describe_keyid(signature: &Signature) -> String {
    match signature.keyid.as_str() {
        "" => "(no key id)".to_owned(),
        keyid => keyid.to_owned(),
    }
}

fn keyids(keys: &[PublicKey]) -> Vec<String> {
    keys.iter().map(PublicKey::keyid).collect()
}
