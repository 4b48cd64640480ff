//! HTTP for plugins over the host's `wasi:http` sandbox: a timeout per attempt, bounded response
//! bodies, JSON in and out, retries with exponential backoff for idempotent methods, and a typed
//! [`HttpError`] whose messages can be shown to users as they are.
//!
//! Plugins run synchronously, so [`Request::send`] blocks; code already inside
//! [`runtime::block_on`](crate::runtime::block_on) (e.g. to run requests concurrently with
//! [`runtime::join_all`](crate::runtime::join_all)) awaits [`Request::send_async`].
//!
//! Natively, under [`MockHost`](crate::testing::MockHost), requests go to the mock network
//! instead, with the same grant checks, timeouts, body limits and retries.
//!
//! ```no_run
//! use std::time::Duration;
//! use tollgate_sdk::http::Request;
//!
//! #[derive(serde::Deserialize)]
//! struct Health {
//!     status: String,
//! }
//!
//! let resp = Request::get("https://api.example.com/health")
//!     .timeout(Duration::from_secs(5))
//!     .retries(2)
//!     .error_for_status()
//!     .send()?;
//! let health: Health = resp.json()?;
//! # Ok::<(), tollgate_sdk::http::HttpError>(())
//! ```
//!
//! Every URL's origin must be granted to the step; a request to any other origin fails with
//! [`HttpError::Denied`] and is never retried. Retries happen only for `GET`, `HEAD`, `PUT`,
//! `DELETE` and `OPTIONS`, and only after a connection error, a timeout, `429` or a `5xx`
//! (a `Retry-After` given in seconds is honoured, up to [`Backoff::max_retry_after`]).

pub use crate::exchange::{HttpError, Method, Response};
use serde::Serialize;
use std::time::Duration;
use wasip2::http::types::ErrorCode;

// The `wasi:http` transport exists only inside a component: natively `attempt` hands the
// request to the mock host through `backend`, so plugin tests need no network.
#[cfg(target_arch = "wasm32")]
mod wasi;

/// The time one attempt may take (connect, send and read the whole response) unless
/// [`Request::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read unless [`Request::max_body`] says otherwise (4 MiB).
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// The pause between attempts: `initial`, doubled after every retry, never above `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The pause before the first retry (default 250 ms).
    pub initial: Duration,
    /// The longest pause (default 10 s).
    pub max: Duration,
    /// Randomise each pause between half and all of its value, so many plugins retrying the
    /// same service do not stay in step (default off).
    pub jitter: bool,
    /// The longest `Retry-After` honoured (default 30 s); a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            jitter: false,
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The pause before retry number `retry` (0 for the first retry). `random` is any random
    /// number; it is used only when [`Backoff::jitter`] is on.
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let base = self.initial.saturating_mul(2u32.saturating_pow(retry)).min(self.max);
        if !self.jitter {
            return base;
        }
        let half = base.as_nanos() / 2;
        let extra = u128::from(random) % (half + 1);
        Duration::from_nanos(u64::try_from(half + extra).unwrap_or(u64::MAX))
    }
}

/// The origin (`scheme://host[:port]`, lower case) of an absolute `http(s)` URL: what a step
/// must grant for the URL to be reachable.
pub fn origin_of(url: &str) -> Result<String, HttpError> {
    parse_url(url).map(|t| t.origin)
}

/// A request to build and send; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    body_error: Option<HttpError>,
    timeout: Duration,
    retries: u32,
    backoff: Backoff,
    max_body: usize,
    error_for_status: bool,
}

impl Request {
    /// A request with no body, [`DEFAULT_TIMEOUT`], [`DEFAULT_MAX_BODY`] and no retries.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            body_error: None,
            timeout: DEFAULT_TIMEOUT,
            retries: 0,
            backoff: Backoff::default(),
            max_body: DEFAULT_MAX_BODY,
            error_for_status: false,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `HEAD` request.
    pub fn head(url: impl Into<String>) -> Self {
        Self::new(Method::Head, url)
    }

    /// A `POST` request (never retried).
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Add a header (a `user-agent` is added unless one is given).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Send `bytes` as the body, with this `content-type` (and its `content-length`).
    pub fn body(mut self, content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        self.headers.push(("content-type".into(), content_type.into()));
        self.body = Some(bytes.into());
        self
    }

    /// Send `value` as a JSON body (`content-type: application/json`). A value that cannot be
    /// serialised makes [`Request::send`] fail with [`HttpError::Json`].
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.body("application/json", bytes),
            Err(e) => Request {
                body_error: Some(HttpError::Json { detail: e.to_string() }),
                ..self
            },
        }
    }

    /// The time each attempt may take, from connecting to reading the whole body.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times to retry after a connection error, a timeout, `429` or a `5xx`
    /// (default 0). Ignored for `POST` and `PATCH`, which are never retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The pauses between retries (default: [`Backoff::default`]).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The largest response body to accept, in bytes (default [`DEFAULT_MAX_BODY`]); a larger
    /// one fails with [`HttpError::BodyTooLarge`].
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Turn a final 4xx or 5xx answer into [`HttpError::Status`] instead of a [`Response`].
    pub fn error_for_status(mut self) -> Self {
        self.error_for_status = true;
        self
    }

    /// Send the request, retrying as configured, and read the whole response. Blocks; inside
    /// [`runtime::block_on`](crate::runtime::block_on) use [`Request::send_async`] instead.
    pub fn send(&self) -> Result<Response, HttpError> {
        crate::runtime::block_on(self.send_async())
    }

    /// [`Request::send`] for async code already running inside
    /// [`runtime::block_on`](crate::runtime::block_on) (or `wstd::runtime::block_on`).
    pub async fn send_async(&self) -> Result<Response, HttpError> {
        let target = parse_url(&self.url)?;
        if let Some(e) = &self.body_error {
            return Err(e.clone());
        }
        let mut retry = 0;
        loop {
            let outcome = self.attempt(&target).await;
            let random = if self.backoff.jitter { random_u64() } else { 0 };
            match next_delay(self.method, retry, self.retries, &outcome, &self.backoff, random) {
                Some(pause) => {
                    crate::runtime::sleep(pause).await;
                    retry += 1;
                }
                None if self.error_for_status => return outcome?.error_for_status(),
                None => return outcome,
            }
        }
    }

    /// Natively, the [`MockHost`](crate::testing::MockHost) answers.
    #[cfg(not(target_arch = "wasm32"))]
    async fn attempt(&self, target: &Target) -> Result<Response, HttpError> {
        let request = crate::backend::MockRequest {
            method: self.method,
            url: self.url.clone(),
            headers: self.wire_headers(),
            body: self.body.clone().unwrap_or_default(),
        };
        crate::backend::exchange(request, &target.origin, self.timeout, self.max_body).await
    }

    /// The headers as sent: the caller's, plus `content-length` for a body and a default
    /// `user-agent`.
    fn wire_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        let has = |h: &[(String, String)], name: &str| h.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if let Some(body) = &self.body
            && !has(&headers, "content-length")
        {
            headers.push(("content-length".into(), body.len().to_string()));
        }
        if !has(&headers, "user-agent") {
            headers.push((
                "user-agent".into(),
                concat!("tollgate-sdk/", env!("CARGO_PKG_VERSION")).into(),
            ));
        }
        headers
    }
}

/// Any random number, for backoff jitter.
fn random_u64() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        let mut bytes = [0u8; 8];
        wstd::rand::get_insecure_random_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(crate::runtime::Instant::now())
    }
}

/// A URL split the way `wasi:http` wants it.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Target {
    origin: String,
    https: bool,
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, HttpError> {
    let invalid = |reason: &str| HttpError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &url[8..])
    } else if lower.starts_with("http://") {
        (false, &url[7..])
    } else {
        return Err(invalid("only http:// and https:// URLs can be requested"));
    };
    if url.contains(char::is_whitespace) {
        return Err(invalid("it contains whitespace"));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() {
        return Err(invalid("it has no host"));
    }
    if authority.contains('@') {
        return Err(invalid("it carries credentials; send them in a header instead"));
    }
    if url.parse::<wstd::http::Uri>().is_err() {
        return Err(invalid("it does not parse as a URL"));
    }
    let path = rest[end..].split('#').next().unwrap_or_default();
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let scheme = if https { "https" } else { "http" };
    let authority = authority.to_ascii_lowercase();
    Ok(Target {
        origin: format!("{scheme}://{authority}"),
        https,
        authority,
        path,
    })
}

/// What a failed exchange means, from the `wasi:http` error code.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn classify(code: &ErrorCode, origin: &str, timeout: Duration) -> HttpError {
    let origin = origin.to_string();
    let connect = |detail: &str| HttpError::Connect {
        origin: origin.clone(),
        detail: detail.to_string(),
    };
    match code {
        ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited => HttpError::Denied { origin },
        ErrorCode::DnsTimeout => HttpError::Dns {
            origin,
            detail: "the lookup timed out".into(),
        },
        ErrorCode::DnsError(p) => HttpError::Dns {
            origin,
            detail: p.rcode.clone().unwrap_or_else(|| "the lookup failed".into()),
        },
        ErrorCode::DestinationNotFound => HttpError::Dns {
            origin,
            detail: "no such host".into(),
        },
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => HttpError::Timeout { origin, after: timeout },
        ErrorCode::ConnectionRefused => connect("connection refused"),
        ErrorCode::ConnectionTerminated => connect("the connection was closed"),
        ErrorCode::ConnectionLimitReached => connect("too many connections"),
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => connect("unreachable"),
        ErrorCode::HttpResponseIncomplete => connect("the response was cut off"),
        ErrorCode::TlsCertificateError => connect("its TLS certificate failed verification"),
        ErrorCode::TlsProtocolError => connect("the TLS handshake failed"),
        ErrorCode::TlsAlertReceived(p) => connect(&format!(
            "it sent a TLS alert{}",
            p.alert_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        )),
        other => HttpError::Other {
            origin,
            detail: format!("{other:?}"),
        },
    }
}

/// Whether another attempt may help: connection trouble and timeouts, `429` and `5xx`.
fn retryable(outcome: &Result<Response, HttpError>) -> bool {
    match outcome {
        Ok(r) => r.status() == 429 || (500..600).contains(&r.status()),
        Err(e) => matches!(e, HttpError::Timeout { .. } | HttpError::Connect { .. }),
    }
}

/// `Retry-After` in seconds, capped; the HTTP-date form is not honoured (backoff applies).
fn parse_retry_after(value: &str, cap: Duration) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(cap))
}

/// The pause before the next attempt, or `None` to stop with `outcome`.
fn next_delay(
    method: Method,
    retry: u32,
    retries: u32,
    outcome: &Result<Response, HttpError>,
    backoff: &Backoff,
    random: u64,
) -> Option<Duration> {
    if !method.is_idempotent() || retry >= retries || !retryable(outcome) {
        return None;
    }
    let asked = outcome
        .as_ref()
        .ok()
        .and_then(|r| r.header("retry-after"))
        .and_then(|v| parse_retry_after(v, backoff.max_retry_after));
    Some(asked.unwrap_or_else(|| backoff.delay(retry, random)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::tests::resp;
    use wasip2::http::types::{DnsErrorPayload, TlsAlertReceivedPayload};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            initial: ms(100),
            max: ms(1000),
            ..Backoff::default()
        };
        let delays: Vec<_> = (0..6).map(|r| b.delay(r, 12345)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert_eq!(b.delay(u32::MAX, 0), ms(1000), "no overflow");
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_pause() {
        let b = Backoff {
            initial: ms(400),
            jitter: true,
            ..Backoff::default()
        };
        assert_eq!(b.delay(0, 0), ms(200));
        for random in [1, 7, 1 << 40, u64::MAX] {
            let d = b.delay(0, random);
            assert!(d >= ms(200) && d <= ms(400), "{d:?}");
        }
        assert_ne!(b.delay(0, 1 << 40), b.delay(0, (1 << 40) + 3), "the random part varies");
    }

    #[test]
    fn retry_after_in_seconds_is_honoured_and_capped() {
        let cap = Duration::from_secs(30);
        assert_eq!(parse_retry_after(" 3 ", cap), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0", cap), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("3600", cap), Some(cap));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", cap), None);
        assert_eq!(parse_retry_after("-1", cap), None);
    }

    #[test]
    fn only_idempotent_methods_retry_and_only_on_transient_failures() {
        let b = Backoff::default();
        let timeout = Err(HttpError::Timeout {
            origin: "https://a".into(),
            after: ms(5),
        });
        let reset = Err(HttpError::Connect {
            origin: "https://a".into(),
            detail: "reset".into(),
        });
        for method in [Method::Get, Method::Head, Method::Put, Method::Delete, Method::Options] {
            assert_eq!(next_delay(method, 0, 2, &timeout, &b, 0), Some(b.initial), "{method:?}");
        }
        assert_eq!(next_delay(Method::Post, 0, 2, &timeout, &b, 0), None);
        assert_eq!(next_delay(Method::Patch, 0, 2, &reset, &b, 0), None);
        assert_eq!(next_delay(Method::Get, 1, 2, &reset, &b, 0), Some(b.delay(1, 0)));
        assert_eq!(next_delay(Method::Get, 2, 2, &reset, &b, 0), None, "out of retries");

        for status in [429, 500, 502, 503, 599] {
            assert!(
                next_delay(Method::Get, 0, 1, &Ok(resp(status, &[], "")), &b, 0).is_some(),
                "{status}"
            );
        }
        for status in [200, 301, 400, 404, 409] {
            assert_eq!(
                next_delay(Method::Get, 0, 1, &Ok(resp(status, &[], "")), &b, 0),
                None,
                "{status}"
            );
        }
        for never in [
            HttpError::Denied {
                origin: "https://a".into(),
            },
            HttpError::Dns {
                origin: "https://a".into(),
                detail: "NXDOMAIN".into(),
            },
            HttpError::BodyTooLarge { limit: 1 },
            HttpError::InvalidUrl {
                url: "x".into(),
                reason: "y".into(),
            },
        ] {
            assert_eq!(
                next_delay(Method::Get, 0, 3, &Err(never.clone()), &b, 0),
                None,
                "{never:?}"
            );
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_pause() {
        let b = Backoff::default();
        let busy = Ok(resp(503, &[("Retry-After", "2")], ""));
        assert_eq!(
            next_delay(Method::Get, 0, 1, &busy, &b, 0),
            Some(Duration::from_secs(2))
        );
        let long = Ok(resp(429, &[("retry-after", "86400")], ""));
        assert_eq!(next_delay(Method::Get, 0, 1, &long, &b, 0), Some(b.max_retry_after));
        let dated = Ok(resp(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], ""));
        assert_eq!(next_delay(Method::Get, 0, 1, &dated, &b, 0), Some(b.initial));
    }

    #[test]
    fn urls_split_into_origin_authority_and_path() {
        let t = parse_url("HTTPS://API.Example.com:8443/v1/x?q=1#frag").unwrap();
        assert_eq!(
            t,
            Target {
                origin: "https://api.example.com:8443".into(),
                https: true,
                authority: "api.example.com:8443".into(),
                path: "/v1/x?q=1".into(),
            }
        );
        let t = parse_url("http://127.0.0.1:9000").unwrap();
        assert_eq!((t.origin.as_str(), t.path.as_str()), ("http://127.0.0.1:9000", "/"));
        assert_eq!(parse_url("http://h?x=1").unwrap().path, "/?x=1");
        assert_eq!(origin_of("http://[::1]:80/a").unwrap(), "http://[::1]:80");
        for bad in [
            "ftp://h/",
            "h/x",
            "http://",
            "http:///x",
            "http://u:p@h/",
            "http://h/a b",
        ] {
            let e = origin_of(bad).unwrap_err();
            assert!(matches!(e, HttpError::InvalidUrl { .. }), "{bad}: {e:?}");
        }
    }

    #[test]
    fn error_codes_are_classified() {
        let o = "https://a.example";
        let t = Duration::from_secs(5);
        let c = |code: ErrorCode| classify(&code, o, t);
        let denied = HttpError::Denied { origin: o.into() };
        assert_eq!(c(ErrorCode::HttpRequestDenied), denied);
        assert_eq!(c(ErrorCode::DestinationIpProhibited), denied);
        for code in [
            ErrorCode::ConnectionTimeout,
            ErrorCode::ConnectionReadTimeout,
            ErrorCode::HttpResponseTimeout,
        ] {
            assert_eq!(
                c(code),
                HttpError::Timeout {
                    origin: o.into(),
                    after: t
                }
            );
        }
        assert!(matches!(c(ErrorCode::DnsTimeout), HttpError::Dns { .. }));
        let nx = c(ErrorCode::DnsError(DnsErrorPayload {
            rcode: Some("NXDOMAIN".into()),
            info_code: None,
        }));
        assert_eq!(nx.to_string(), "could not resolve https://a.example: NXDOMAIN");
        assert!(matches!(c(ErrorCode::DestinationNotFound), HttpError::Dns { .. }));
        assert_eq!(
            c(ErrorCode::ConnectionRefused).to_string(),
            "could not reach https://a.example: connection refused"
        );
        let alert = c(ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
            alert_id: Some(40),
            alert_message: Some("handshake failure".into()),
        }));
        assert!(matches!(&alert, HttpError::Connect { detail, .. } if detail.ends_with("handshake failure")));
        assert!(matches!(c(ErrorCode::HttpProtocolError), HttpError::Other { .. }));
    }

    #[test]
    fn bodies_carry_their_length_and_type_and_json_errors_wait_for_send() {
        let r = Request::put("https://a.example/x").json(&serde_json::json!({"a": 1}));
        let headers = r.wire_headers();
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
        assert!(headers.contains(&("content-length".into(), "7".into())));
        assert!(headers.iter().any(|(n, _)| n == "user-agent"));
        let get = Request::get("https://a.example/").header("User-Agent", "mine");
        let headers = get.wire_headers();
        assert_eq!(
            headers,
            [("User-Agent".to_string(), "mine".to_string())],
            "no length without a body"
        );

        struct Unserialisable;
        impl Serialize for Unserialisable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let r = Request::post("https://a.example/").json(&Unserialisable);
        assert_eq!(r.body_error, Some(HttpError::Json { detail: "nope".into() }));
    }
}
