//! The words of one HTTP exchange (its method, the response read in full, the typed error),
//! apart from `http` so that the mock host answering natively needs nothing of `http`.

use crate::PluginError;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// How much of an error response's body [`HttpError::Status`] quotes.
const SNIPPET_CHARS: usize = 200;

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method as written on the wire (`"GET"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
        }
    }

    /// Whether repeating the request is safe, so it may be retried (`POST` and `PATCH` are not).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

/// A failed request, with a message fit to show the workflow's author.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not an absolute `http://` or `https://` URL the SDK can send.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host's sandbox refused the request: the step does not grant the origin, or its
    /// address is one plugins may never reach. Never retried.
    Denied {
        /// `scheme://host[:port]` of the refused URL.
        origin: String,
    },
    /// An attempt took longer than its timeout.
    Timeout {
        /// `scheme://host[:port]` of the URL.
        origin: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The host name could not be resolved.
    Dns {
        /// `scheme://host[:port]` of the URL.
        origin: String,
        /// What the resolver said.
        detail: String,
    },
    /// No connection could be made or kept (refused, reset, unreachable, TLS failure).
    Connect {
        /// `scheme://host[:port]` of the URL.
        origin: String,
        /// What went wrong.
        detail: String,
    },
    /// The server answered with an error status. Only returned when the caller asked for it
    /// with [`Request::error_for_status`](crate::http::Request::error_for_status) or [`Response::error_for_status`].
    Status {
        /// The HTTP status code (4xx or 5xx).
        status: u16,
        /// The start of the response body, on one line.
        body_snippet: String,
    },
    /// The response body is larger than the limit; it was not read further.
    BodyTooLarge {
        /// The limit in bytes ([`Request::max_body`](crate::http::Request::max_body)).
        limit: usize,
    },
    /// A body could not be written as or read from JSON.
    Json {
        /// What serde said.
        detail: String,
    },
    /// Any other failure of the exchange (a refused header, a malformed response…).
    Other {
        /// `scheme://host[:port]` of the URL.
        origin: String,
        /// What went wrong.
        detail: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidUrl { url, reason } => write!(f, "`{url}` is not a usable URL: {reason}"),
            HttpError::Denied { origin } => write!(
                f,
                "the request to {origin} was denied by the sandbox: this step does not grant {origin}"
            ),
            HttpError::Timeout { origin, after } => write!(
                f,
                "the request to {origin} timed out after {}",
                humantime::format_duration(*after)
            ),
            HttpError::Dns { origin, detail } => write!(f, "could not resolve {origin}: {detail}"),
            HttpError::Connect { origin, detail } => write!(f, "could not reach {origin}: {detail}"),
            HttpError::Status { status, body_snippet } if body_snippet.is_empty() => {
                write!(f, "the server answered HTTP {status}")
            }
            HttpError::Status { status, body_snippet } => {
                write!(f, "the server answered HTTP {status}: {body_snippet}")
            }
            HttpError::BodyTooLarge { limit } => {
                write!(f, "the response body is larger than the limit of {limit} bytes")
            }
            HttpError::Json { detail } => write!(f, "invalid JSON: {detail}"),
            HttpError::Other { origin, detail } => write!(f, "the request to {origin} failed: {detail}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for PluginError {
    /// [`HttpError::Denied`] becomes [`PluginError::Denied`]; everything else is a
    /// [`PluginError::Peer`] failure.
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Denied { .. } => PluginError::Denied(e.to_string()),
            other => PluginError::Peer(other.to_string()),
        }
    }
}

/// A response whose body has been read in full (within
/// [`Request::max_body`](crate::http::Request::max_body)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Response { status, headers, body }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every header as `(name, value)`, in the order received (names in lower case).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced with `�`).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Json {
            detail: format!("the response body: {e}"),
        })
    }

    /// The response if its status is below 400, otherwise [`HttpError::Status`] quoting the
    /// start of the body.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if self.status < 400 {
            return Ok(self);
        }
        Err(HttpError::Status {
            status: self.status,
            body_snippet: snippet(&self.body),
        })
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The start of a body on one line, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    match one_line.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A response from literals.
    pub(crate) fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response::new(
            status,
            headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn messages_read_well_and_name_no_host_flags() {
        let denied = HttpError::Denied {
            origin: "https://api.example.com".into(),
        };
        assert_eq!(
            denied.to_string(),
            "the request to https://api.example.com was denied by the sandbox: \
             this step does not grant https://api.example.com"
        );
        assert!(!denied.to_string().contains("--"));
        assert!(matches!(PluginError::from(denied), PluginError::Denied(_)));
        let timeout = HttpError::Timeout {
            origin: "http://h:1".into(),
            after: Duration::from_millis(1500),
        };
        assert_eq!(
            timeout.to_string(),
            "the request to http://h:1 timed out after 1s 500ms"
        );
        assert!(matches!(PluginError::from(timeout), PluginError::Peer(_)));
        assert_eq!(
            HttpError::BodyTooLarge { limit: 10 }.to_string(),
            "the response body is larger than the limit of 10 bytes"
        );
    }

    #[test]
    fn responses_read_json_and_turn_error_statuses_into_errors() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Health {
            ok: bool,
        }
        let r = resp(200, &[("Content-Type", "application/json")], r#"{"ok": true}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json::<Health>().unwrap(), Health { ok: true });
        assert!(matches!(
            resp(200, &[], "{").json::<Health>(),
            Err(HttpError::Json { .. })
        ));
        assert!(r.clone().error_for_status().is_ok());
        assert!(resp(304, &[], "").error_for_status().is_ok());

        let e = resp(502, &[], "  <html>\n  bad\tgateway </html>\n").error_for_status();
        assert_eq!(
            e,
            Err(HttpError::Status {
                status: 502,
                body_snippet: "<html> bad gateway </html>".into(),
            })
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "the server answered HTTP 502: <html> bad gateway </html>"
        );
        let long = snippet("é".repeat(500).as_bytes());
        assert_eq!(long.chars().count(), SNIPPET_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(
            resp(404, &[], "").error_for_status().unwrap_err().to_string(),
            "the server answered HTTP 404"
        );
    }
}
