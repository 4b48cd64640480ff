//! Ed25519 signing and public keys in the PEM forms OpenSSL reads and writes (PKCS#8 and SPKI, RFC 8410).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// DER of a PKCS#8 v1 `PrivateKeyInfo` for Ed25519 up to the 32-byte seed (RFC 8410 section 7).
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER of an Ed25519 `SubjectPublicKeyInfo` up to the 32-byte key (RFC 8410 section 4).
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// An Ed25519 private key that signs attestations.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Signer> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|err| Error::Random {
            detail: err.to_string(),
        })?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), as `openssl genpkey -algorithm ed25519`
    /// writes it.
    pub fn from_pem(pem: &str) -> Result<Signer> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|err| Error::Key {
            what: "Ed25519 private key",
            detail: format!("expected a PKCS#8 PEM block `-----BEGIN PRIVATE KEY-----` holding an Ed25519 key ({err})"),
        })?;
        Ok(Signer { key })
    }

    /// The key as PKCS#8 PEM, byte for byte what OpenSSL writes for the same key.
    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        pem("PRIVATE KEY", &der)
    }

    /// The public half, to hand to verifiers.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// The key id of the public half (see [`PublicKey::keyid`]).
    pub fn keyid(&self) -> String {
        self.public().keyid()
    }

    /// Signs `message` (for DSSE, the PAE of the payload).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("keyid", &self.keyid())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key that verifies attestations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`), as `openssl pkey -pubout` writes it.
    pub fn from_pem(pem: &str) -> Result<PublicKey> {
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|err| Error::Key {
            what: "Ed25519 public key",
            detail: format!("expected a PEM block `-----BEGIN PUBLIC KEY-----` holding an Ed25519 key ({err})"),
        })?;
        Ok(PublicKey { key })
    }

    /// The key as SPKI PEM, byte for byte what OpenSSL writes for the same key.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        pem("PUBLIC KEY", &der)
    }

    /// The raw 32-byte key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The DSSE key id: `sha256:` and the hex SHA-256 of the raw 32-byte key.
    pub fn keyid(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(self.key.as_bytes())))
    }

    /// Whether `signature` is this key's signature of `message` (strict RFC 8032 verification).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.keyid()).finish()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    // Both DER encodings are at most 48 bytes, so the base64 fits PEM's 64-column line.
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}
