//! What the `dynamodb` and `s3` backends share: credentials from granted secrets, an endpoint
//! whose origin the step must grant, and one SigV4-signed exchange over `wasi:http`, with AWS's
//! refusals turned into messages that name the grant or secret to fix.

use super::BackendError;
use std::time::Duration;
use tollgate_sdk::http::{HttpError, Method, Request, Response, origin_of};
use tollgate_sigv4::{self as sigv4, Credentials};
/// The secrets the aws backends read credentials from (`describe` requests exactly these).
pub use tollgate_sigv4::{ACCESS_KEY_SECRET, SECRET_KEY_SECRET, SESSION_TOKEN_SECRET};

/// Each exchange's time limit: a lock call is small, and a hung one must not eat the step.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Attempts per call for answers that may be transient (5xx, throttling, a lost connection).
pub const ATTEMPTS: u32 = 3;

/// Credentials from the granted secrets; a missing one is named with its grant.
pub fn credentials(backend: &str) -> Result<Credentials, BackendError> {
    Credentials::from_secrets(|name| tollgate_sdk::secrets::get(name).ok()).map_err(|name| {
        BackendError::Denied(format!(
            "the {backend} lock backend signs its requests with AWS credentials from the secrets \
             `{ACCESS_KEY_SECRET}` and `{SECRET_KEY_SECRET}` (and `{SESSION_TOKEN_SECRET}` for temporary \
             ones), and `{name}` is not granted or empty: add `--secret {name}` / `secrets: {name}` and set \
             the environment variable {name}"
        ))
    })
}

/// One AWS service at one endpoint, signing as one identity.
pub struct Client {
    backend: &'static str,
    service: &'static str,
    region: String,
    creds: Credentials,
    /// `scheme://authority`, and the authority as `host` is sent (port included).
    origin: String,
    authority: String,
    /// The endpoint's own path, without a trailing `/` (usually empty).
    base_path: String,
}

impl Client {
    /// A client for `service` at `endpoint` (an `http(s)://` URL, maybe with a base path).
    pub fn new(
        backend: &'static str,
        service: &'static str,
        region: &str,
        endpoint: &str,
        creds: Credentials,
    ) -> Result<Self, String> {
        let endpoint = endpoint.trim().trim_end_matches('/');
        let origin = origin_of(endpoint).map_err(|e| e.to_string())?;
        if endpoint.contains(['?', '#']) {
            return Err(format!(
                "`{endpoint}` has a query or fragment: give `scheme://host[:port]`"
            ));
        }
        let authority = origin.split_once("://").map(|(_, a)| a.to_string()).unwrap_or_default();
        let base_path = endpoint[origin.len().min(endpoint.len())..].to_string();
        Ok(Client {
            backend,
            service,
            region: region.to_string(),
            creds,
            origin,
            authority,
            base_path,
        })
    }

    /// The endpoint's origin (what the step must grant).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `path` (percent-encoded, from `/`) under the endpoint, as a URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.origin, self.base_path)
    }

    /// One signed exchange: `path` is percent-encoded and starts with `/`; `headers` are sent
    /// and signed alongside `host` and SigV4's own. Any status comes back; only a failure to
    /// exchange at all is an error.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let full_path = format!("{}{path}", self.base_path);
        // wasmtime-wasi-http writes `host` from the URL; it is signed, never set here.
        let mut signed = vec![("host".to_string(), self.authority.clone())];
        signed.extend(headers.iter().cloned());
        if !body.is_empty() {
            signed.push(("content-length".into(), body.len().to_string()));
        }
        let added = sigv4::sign(
            &self.creds,
            &self.region,
            self.service,
            crate::lease::now_ms() / 1000,
            &sigv4::Request {
                method: method.as_str(),
                path: &full_path,
                query: "",
                headers: &signed,
                body,
            },
        );
        let mut request = Request::new(method, self.url(path)).timeout(TIMEOUT);
        for (name, value) in headers.iter().chain(added.iter()) {
            if !name.eq_ignore_ascii_case("content-type") {
                request = request.header(name, value);
            }
        }
        if !body.is_empty() {
            let content_type = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.as_str())
                .unwrap_or("application/octet-stream");
            request = request.body(content_type, body.to_vec());
        }
        request.send()
    }

    /// What a failed exchange means for the lock: a refused origin names its grant.
    pub fn failed(&self, e: HttpError, doing: &str) -> BackendError {
        match e {
            HttpError::Denied { origin } => BackendError::Denied(format!(
                "{doing}: the sandbox refused {origin}: the {} lock backend needs it granted: add \
                 `--allow-net {origin}` / `allow-net: {origin}` (give `endpoint` to use another)",
                self.backend
            )),
            other => BackendError::Unavailable(format!("{doing}: {other}")),
        }
    }

    /// An AWS error answer: bad or unauthorised credentials are the caller's to fix (denied);
    /// the rest is the service failing.
    pub fn refused(&self, response: &Response, code: &str, doing: &str) -> BackendError {
        let text = response.text();
        let detail: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(300)
            .collect();
        let credentials = [
            "SignatureDoesNotMatch",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "InvalidAccessKeyId",
            "InvalidSignatureException",
            "ExpiredToken",
            "ExpiredTokenException",
            "IncompleteSignature",
            "MissingAuthenticationToken",
        ];
        if credentials.iter().any(|c| code.ends_with(c)) {
            return BackendError::Denied(format!(
                "{doing}: {} refused the credentials ({code}, HTTP {}): check the secrets `{ACCESS_KEY_SECRET}` and \
                 `{SECRET_KEY_SECRET}` (and `{SESSION_TOKEN_SECRET}`), and `region` ({})",
                self.origin,
                response.status(),
                self.region
            ));
        }
        if code.ends_with("AccessDenied") || code.ends_with("AccessDeniedException") {
            return BackendError::Denied(format!(
                "{doing}: {} denied access ({code}): the credentials' IAM policy must allow it: {detail}",
                self.origin
            ));
        }
        BackendError::Unavailable(format!(
            "{doing}: {} answered HTTP {} {code}: {detail}",
            self.origin,
            response.status()
        ))
    }
}

/// Whether another attempt may help: throttling, server errors, a dropped connection.
pub fn transient(outcome: &Result<Response, HttpError>, code: &str) -> bool {
    match outcome {
        Ok(r) => {
            r.status() >= 500
                || r.status() == 429
                || code.ends_with("ThrottlingException")
                || code.ends_with("ProvisionedThroughputExceededException")
                || code.ends_with("RequestLimitExceeded")
                || code == "SlowDown"
        }
        Err(e) => matches!(e, HttpError::Timeout { .. } | HttpError::Connect { .. }),
    }
}

/// The pause before attempt `n` (from 1): short, jittered, so contenders spread out.
pub fn backoff(n: u32) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    Duration::from_millis(100 * u64::from(n) + u64::from(byte[0]))
}

/// The error code of an AWS answer: JSON protocols' `__type` (after its `#`), or the
/// `<Code>` of an XML error (S3, and signature refusals everywhere); empty when neither.
pub fn error_code(response: &Response) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(response.bytes())
        && let Some(t) = v["__type"].as_str()
    {
        return t.rsplit('#').next().unwrap_or_default().to_string();
    }
    let text = response.text();
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.trim().to_string())
        .unwrap_or_default()
}

/// An HTTP date (`Mon, 30 Nov 2026 00:54:14 GMT`) as Unix milliseconds.
pub fn http_date_ms(value: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "AK".into(),
            secret_access_key: "SK".into(),
            session_token: None,
        }
    }

    #[test]
    fn endpoints_split_into_origin_and_base_path() {
        let c = Client::new("s3", "s3", "us-east-1", "http://127.0.0.1:4566/", creds()).unwrap();
        assert_eq!(c.origin(), "http://127.0.0.1:4566");
        assert_eq!(c.url("/b/k"), "http://127.0.0.1:4566/b/k");
        let c = Client::new("s3", "s3", "us-east-1", "https://Proxy.example/aws", creds()).unwrap();
        assert_eq!(c.url("/b"), "https://proxy.example/aws/b");
        assert!(Client::new("s3", "s3", "us-east-1", "ftp://x", creds()).is_err());
        assert!(Client::new("s3", "s3", "us-east-1", "https://x/?a=1", creds()).is_err());
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(http_date_ms("yesterday"), None);
    }
}
