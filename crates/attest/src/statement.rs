//! in-toto Statement v1 with Tollgate's step predicate, secret redaction of inputs, and RFC 3339 timestamps.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The `predicateType` of a Tollgate step attestation.
pub const PREDICATE_TYPE: &str = "https://tollgate.dev/attestation/step/v1";

/// What a step attests about an artifact it produced: the `predicate` of the statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    /// The plugin that ran.
    pub plugin: PluginRef,
    /// The step's inputs, secrets already replaced (see [`redact`]).
    pub inputs: Map<String, Value>,
    /// The capabilities the step was granted.
    pub grants: Value,
    /// Where and why the step ran.
    pub context: RunContext,
    /// RFC 3339 UTC (see [`rfc3339`]).
    pub started_at: String,
    /// RFC 3339 UTC (see [`rfc3339`]).
    pub finished_at: String,
    /// How the step ended (`success`, `failure`, …).
    pub outcome: String,
}

/// The plugin named in a [`Predicate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRef {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// The component's digest, `sha256:<hex>`.
    pub digest: String,
}

/// The CI run a [`Predicate`] comes from; every field is absent outside a CI runner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// `owner/name`.
    pub repository: Option<String>,
    /// The commit.
    pub sha: Option<String>,
    /// The git ref (`refs/heads/main`).
    pub git_ref: Option<String>,
    /// The CI run id.
    pub run_id: Option<String>,
    /// The workflow name.
    pub workflow: Option<String>,
}

/// A copy of `inputs` in which every string containing one of `secret_values` (at any depth) is its
/// `sha256:HEX` digest: a reader can check the value they expected without the statement holding it.
///
/// Empty secret values are ignored: every string contains the empty string.
pub fn redact(inputs: &Map<String, Value>, secret_values: &[String]) -> Map<String, Value> {
    let secrets: Vec<&str> = secret_values
        .iter()
        .map(String::as_str)
        .filter(|secret| !secret.is_empty())
        .collect();
    inputs
        .iter()
        .map(|(key, value)| (key.clone(), redact_value(value, &secrets)))
        .collect()
}

/// What a statement records in place of a value it must not hold: `sha256:HEX` of the value's text (a
/// string's own text, any other value's JSON).
pub fn digest_value(value: &Value) -> Value {
    use sha2::Digest;
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    Value::String(format!("sha256:{}", hex::encode(sha2::Sha256::digest(text.as_bytes()))))
}

fn redact_value(value: &Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(text) if secrets.iter().any(|secret| text.contains(secret)) => digest_value(value),
        Value::Array(items) => Value::Array(items.iter().map(|item| redact_value(item, secrets)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), redact_value(value, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `time` as RFC 3339 UTC to the second, e.g. `2024-05-01T12:00:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The statement written for one artifact. The subject's `mediaType` is the in-toto ResourceDescriptor field.
#[derive(Serialize)]
pub(crate) struct NewStatement<'a> {
    #[serde(rename = "_type")]
    pub type_: &'static str,
    pub subject: [NewSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    pub predicate_type: &'static str,
    pub predicate: &'a Predicate,
}

#[derive(Serialize)]
pub(crate) struct NewSubject<'a> {
    pub name: &'a str,
    pub digest: BTreeMap<&'static str, &'a str>,
    #[serde(rename = "mediaType")]
    pub media_type: &'a str,
}

/// The parts of a statement that verification reads.
#[derive(Debug, Deserialize)]
pub(crate) struct StatementHeader {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
}

impl Subject {
    /// The subject's sha256 as 64 lowercase hex digits.
    pub fn sha256(&self) -> Result<&str> {
        let digest = self.digest.get("sha256").ok_or_else(|| Error::MalformedStatement {
            detail: format!("subject `{}` has no sha256 digest", self.name),
        })?;
        if is_sha256_hex(digest) {
            Ok(digest)
        } else {
            Err(Error::MalformedStatement {
                detail: format!(
                    "subject `{}` has sha256 digest `{digest}`, not 64 lowercase hex digits",
                    self.name
                ),
            })
        }
    }
}

/// Parses a statement payload, returning it whole and the parts verification reads.
pub(crate) fn parse(payload: &[u8]) -> Result<(Value, StatementHeader)> {
    let malformed = |err: serde_json::Error| Error::MalformedStatement {
        detail: err.to_string(),
    };
    let statement: Value = serde_json::from_slice(payload).map_err(malformed)?;
    let header = StatementHeader::deserialize(&statement).map_err(malformed)?;
    if header.type_ != STATEMENT_TYPE {
        return Err(Error::MalformedStatement {
            detail: format!("`_type` is `{}`, expected `{STATEMENT_TYPE}`", header.type_),
        });
    }
    Ok((statement, header))
}

pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}
