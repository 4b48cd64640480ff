//! Tollgate artifacts: content-addressed store, in-toto statements, DSSE envelopes signed with ed25519.
//!
//! A step's artifact is stored by sha256 under `DIR/objects/sha256/<hex>` and described by an in-toto Statement v1
//! (predicate type [`PREDICATE_TYPE`]) inside a DSSE v1 envelope at `DIR/<name>.dsse.json`, signed with an Ed25519
//! [`Signer`]. [`Store::get`] and [`verify`] check everything under a [`Policy`] before returning any data.

#![deny(missing_docs)]

mod dsse;
mod error;
mod keys;
mod statement;
mod store;
mod verify;

pub use dsse::{Envelope, PAYLOAD_TYPE, Signature, pae};
pub use error::{Error, Result};
pub use keys::{PublicKey, Signer};
pub use statement::{PREDICATE_TYPE, PluginRef, Predicate, RunContext, STATEMENT_TYPE, digest_value, redact, rfc3339};
pub use store::{Artifact, Store, Stored, validate_name};
pub use verify::{Policy, Verified, verify};
