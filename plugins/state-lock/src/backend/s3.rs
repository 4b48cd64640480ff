//! The `s3` backend: one object per key, `<prefix>/<key>.tollgate-lock`, written with S3's
//! conditional writes as terraform's own `use_lockfile` does (its objects end in `.tflock`,
//! so the two never meet in a shared bucket).
//!
//! Creating sends `If-None-Match: *`, every later write `If-Match: <ETag of the version read>`:
//! S3 refuses a writer whose condition no longer holds with `412 Precondition Failed`, and
//! may refuse one of two concurrent conditional writes with `409 ConditionalRequestConflict`;
//! both are a lost swap. An ETag is the body's MD5, so every body carries a fresh random
//! `write` field: two writes of the same record never share an ETag, and an old reader's ETag
//! never matches again. Objects are never deleted (a release writes a free record), so a
//! stale `If-None-Match` cannot win either.
//!
//! S3 keeps a clock: an object's `Last-Modified` is when it was written and each answer's
//! `Date` is S3's time now, both in whole seconds ([`crate::lease::BACKEND_MARGIN`] covers
//! that), so expiry is judged by S3's clock and no runner's.

use super::aws::{self, Client, error_code};
use super::{Backend, BackendError, Current, Put, Version};
use crate::lease::Record;
use tollgate_sdk::http::{HttpError, Method, Response};
use tollgate_sigv4::uri_encode;

/// The object name's ending.
pub const SUFFIX: &str = ".tollgate-lock";

/// A key's object.
pub struct S3Backend {
    client: Client,
    /// The request path (`/bucket/…` or `/…` with a virtual-hosted endpoint), encoded.
    path: String,
    location: String,
    /// S3's `Date` on its latest answer: its clock, read without another request.
    last_date_ms: Option<u64>,
}

impl S3Backend {
    /// The object for `key` under `prefix` in `bucket`; `path_style` puts the bucket in the
    /// path (custom endpoints) rather than in the host name (AWS's own).
    pub fn new(client: Client, bucket: &str, prefix: &str, key: &str, path_style: bool) -> Self {
        let prefix = prefix.trim_matches('/');
        let object = if prefix.is_empty() {
            format!("{key}{SUFFIX}")
        } else {
            format!("{prefix}/{key}{SUFFIX}")
        };
        let encoded = uri_encode(&object, true);
        let path = if path_style {
            format!("/{}/{encoded}", uri_encode(bucket, false))
        } else {
            format!("/{encoded}")
        };
        S3Backend {
            client,
            path,
            location: format!("s3://{bucket}/{object}"),
            last_date_ms: None,
        }
    }

    /// One signed exchange, retried while the answer may be transient.
    fn exchange(&mut self, method: Method, headers: &[(String, String)], body: &[u8]) -> Result<Response, HttpError> {
        let mut attempt = 1;
        loop {
            let outcome = self.client.send(method, &self.path, headers, body);
            if let Ok(r) = &outcome
                && let Some(date) = r.header("date").and_then(aws::http_date_ms)
            {
                self.last_date_ms = Some(date);
            }
            let code = outcome.as_ref().map(error_code).unwrap_or_default();
            if attempt < aws::ATTEMPTS && aws::transient(&outcome, &code) {
                tollgate_sdk::runtime::block_on(tollgate_sdk::runtime::sleep(aws::backoff(attempt)));
                attempt += 1;
                continue;
            }
            return outcome;
        }
    }

    fn refused(&self, response: &Response, doing: &str) -> BackendError {
        let code = error_code(response);
        if code == "NoSuchBucket" {
            return BackendError::Unavailable(format!(
                "{doing}: there is no such bucket at {} (check `bucket`, `region` and `endpoint`)",
                self.client.origin()
            ));
        }
        let code = if code.is_empty() {
            format!("HTTP {}", response.status())
        } else {
            code
        };
        self.client.refused(response, &code, doing)
    }
}

/// The record's JSON with a random `write` field, so every write has its own ETag.
fn body_of(record: &Record) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_str(&record.to_json()).expect("a record is JSON");
    value["write"] = serde_json::Value::String(crate::token());
    serde_json::to_vec(&value).expect("JSON serializes")
}

impl Backend for S3Backend {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn read(&mut self) -> Result<Option<Current>, BackendError> {
        let doing = format!("reading {}", self.location);
        let response = self
            .exchange(Method::Get, &[], &[])
            .map_err(|e| self.client.failed(e, &doing))?;
        if response.status() == 404 && error_code(&response) == "NoSuchKey" {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(self.refused(&response, &doing));
        }
        let etag = response
            .header("etag")
            .ok_or_else(|| BackendError::Unavailable(format!("{doing}: the answer has no ETag")))?;
        let written = response
            .header("last-modified")
            .and_then(aws::http_date_ms)
            .ok_or_else(|| BackendError::Unavailable(format!("{doing}: the answer has no Last-Modified")))?;
        let record = Record::from_json(&response.text())
            .map_err(|e| BackendError::Foreign(format!("{} is {e}; it is left alone", self.location)))?;
        Ok(Some(Current {
            version: Version(etag.to_string()),
            record,
            written_ms: Some(written),
        }))
    }

    fn put(&mut self, expected: Option<&Version>, record: &Record) -> Result<Put, BackendError> {
        let condition = match expected {
            None => ("if-none-match".to_string(), "*".to_string()),
            Some(etag) => ("if-match".to_string(), etag.0.clone()),
        };
        let body = body_of(record);
        let headers = vec![("content-type".to_string(), "application/json".to_string()), condition];
        let doing = format!("writing {}", self.location);
        let response = self
            .exchange(Method::Put, &headers, &body)
            .map_err(|e| self.client.failed(e, &doing))?;
        match response.status() {
            200..=299 => {
                let etag = response
                    .header("etag")
                    .ok_or_else(|| BackendError::Unavailable(format!("{doing}: the answer has no ETag")))?;
                Ok(Put::Won(Version(etag.to_string())))
            }
            // The condition failed, or a concurrent conditional write won; or the object was
            // deleted since it was read (`If-Match` on a missing key).
            412 | 409 => Ok(Put::Lost),
            404 if error_code(&response) == "NoSuchKey" => Ok(Put::Lost),
            _ => Err(self.refused(&response, &doing)),
        }
    }

    fn now_ms(&mut self) -> Result<Option<u64>, BackendError> {
        // The `Date` of the answer just read: a moment at or before now, so a lease is never
        // judged expired early. Only when nothing was asked yet does this cost a request.
        if self.last_date_ms.is_none() {
            let doing = format!("reading S3's clock at {}", self.client.origin());
            self.exchange(Method::Head, &[], &[])
                .map_err(|e| self.client.failed(e, &doing))?;
        }
        Ok(self.last_date_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_sigv4::Credentials;

    fn client() -> Client {
        let creds = Credentials {
            access_key_id: "a".into(),
            secret_access_key: "b".into(),
            session_token: None,
        };
        Client::new("s3", "s3", "us-east-1", "http://127.0.0.1:9", creds).unwrap()
    }

    #[test]
    fn objects_are_named_under_the_prefix() {
        let b = S3Backend::new(client(), "tf-state", "/locks/", "openclaw/us-east", true);
        assert_eq!(b.path, "/tf-state/locks/openclaw/us-east.tollgate-lock");
        assert_eq!(b.location(), "s3://tf-state/locks/openclaw/us-east.tollgate-lock");
        let b = S3Backend::new(client(), "tf-state", "", "k", false);
        assert_eq!(b.path, "/k.tollgate-lock");
    }

    #[test]
    fn every_write_of_one_record_has_its_own_body() {
        let r = Record::Free {
            by: "x".into(),
            at_ms: 1,
            forced: None,
        };
        let (a, b) = (body_of(&r), body_of(&r));
        assert_ne!(a, b);
        assert_eq!(Record::from_json(std::str::from_utf8(&a).unwrap()).unwrap(), r);
    }
}
