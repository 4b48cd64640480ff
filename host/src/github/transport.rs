//! One HTTP exchange with the GitHub API over the host's connector, its answer bounded:
//! the token goes only to the configured API origin, and a response body larger than
//! [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES) is refused.

use super::{GithubError, MAX_RESPONSE_BYTES};
use crate::sandbox::capabilities::Scheme;
use crate::sandbox::net::{Conn, NetPolicy};
use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use std::time::Duration;
use wasmtime_wasi_http::io::TokioIo;

/// Connecting (TCP and TLS) to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Sending a request and reading its whole response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// The API's base URL, taken apart: requests go to `scheme://host:port` with paths under
/// `prefix` (`/api/v3` on GitHub Enterprise Server, empty on github.com).
#[derive(Debug, Clone)]
pub struct Base {
    scheme: Scheme,
    host: String,
    port: u16,
    prefix: String,
}

impl Base {
    /// `https://api.github.com`, `http://127.0.0.1:8080/api/v3/`…
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("the GitHub API URL `{url}` does not parse: {e}"))?;
        let scheme = match uri.scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            _ => return Err(format!("the GitHub API URL `{url}` is not an http(s) URL")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("the GitHub API URL `{url}` names no host"))?
            .to_string();
        if uri.query().is_some() || url.contains('@') {
            return Err(format!(
                "the GitHub API URL `{url}` has a query or user info; give the base URL only"
            ));
        }
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Self {
            scheme,
            host,
            port,
            prefix,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's.
    fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request target of an API path (`/repos/o/r/...`).
    pub fn target(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The request target of an absolute URL GitHub gave (a `Link`), which must be on the
    /// API's own origin: the token goes nowhere else.
    pub fn target_of(&self, url: &str) -> Result<String, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("GitHub gave a pagination link that does not parse ({e})"))?;
        let scheme_ok = match self.scheme {
            Scheme::Https => uri.scheme_str() == Some("https"),
            Scheme::Http => uri.scheme_str() == Some("http"),
        };
        let same = scheme_ok
            && uri.host().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && uri.port_u16().unwrap_or(self.scheme.default_port()) == self.port;
        if !same {
            return Err(format!(
                "GitHub gave a pagination link to another origin ({url}); the token is only sent to the API's"
            ));
        }
        Ok(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string())
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Its status.
    pub status: u16,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Bytes,
}

/// An exchange that did not produce a [`Reply`].
#[derive(Debug)]
pub enum Failure {
    /// Nothing reached GitHub (resolving, connecting, the TLS handshake): safe to retry.
    NotSent(String),
    /// The request may have reached GitHub and been applied, but no (whole) answer came
    /// back: a reset, a timeout, a closed connection.
    Lost(String),
    /// Retrying cannot help: an address plugins may never reach, a response too large.
    Final(GithubError),
}

/// Send one request to the API and read its answer.
pub async fn exchange(
    net: &NetPolicy,
    base: &Base,
    token: &str,
    method: &Method,
    target: &str,
    body: Option<&[u8]>,
) -> Result<Reply, Failure> {
    let conn = match net
        .connect_host_origin(base.scheme, &base.host, base.port, CONNECT_TIMEOUT)
        .await
    {
        Ok(conn) => conn,
        Err(wasmtime_wasi_http::Error::HttpRequestDenied) => {
            return Err(Failure::Final(GithubError::Unavailable(format!(
                "the GitHub API at {} resolves to an address the host never connects to",
                base.host
            ))));
        }
        Err(e) => {
            return Err(Failure::NotSent(format!(
                "cannot connect to the GitHub API at {}: {e:?}",
                base.host
            )));
        }
    };
    let mut request = Request::builder()
        .method(method.clone())
        .uri(target)
        .header(http::header::HOST, base.authority())
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::ACCEPT, "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header(
            http::header::USER_AGENT,
            concat!("tollgate/", env!("CARGO_PKG_VERSION")),
        );
    if body.is_some() {
        request = request.header(http::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| Failure::Final(GithubError::Other(format!("cannot build the request to GitHub: {e}"))))?;
    let result = tokio::time::timeout(RESPONSE_TIMEOUT, async {
        match conn {
            Conn::Plain(s) => send(TokioIo::new(s), request).await,
            Conn::Tls(s) => send(TokioIo::new(*s), request).await,
        }
    })
    .await;
    match result {
        Ok(reply) => reply,
        Err(_) => Err(Failure::Lost(format!(
            "the GitHub API gave no whole answer within {}",
            humantime::format_duration(RESPONSE_TIMEOUT)
        ))),
    }
}

async fn send<S>(io: TokioIo<S>, request: Request<Full<Bytes>>) -> Result<Reply, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Failure::NotSent(format!("HTTP handshake with the GitHub API failed: {e}")))?;
    // The connection task ends when the response body is read or dropped.
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Failure::Lost(format!("the GitHub API closed the connection without an answer ({e})")))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES).collect().await.map_err(|e| {
        if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            Failure::Final(GithubError::Other(format!(
                "GitHub answered with more than {}; the host reads no more",
                bytesize::ByteSize::b(MAX_RESPONSE_BYTES as u64)
            )))
        } else {
            Failure::Lost(format!("the GitHub API's answer was cut off ({e})"))
        }
    })?;
    Ok(Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.to_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::Base;

    #[test]
    fn base_urls_keep_their_prefix_and_links_stay_on_the_origin() {
        let dotcom = Base::parse("https://api.github.com").unwrap();
        assert_eq!(dotcom.target("/repos/o/r"), "/repos/o/r");
        assert_eq!(dotcom.authority(), "api.github.com");
        let ghes = Base::parse("http://127.0.0.1:8080/api/v3/").unwrap();
        assert_eq!(ghes.target("/repos/o/r"), "/api/v3/repos/o/r");
        assert_eq!(ghes.authority(), "127.0.0.1:8080");
        assert_eq!(
            ghes.target_of("http://127.0.0.1:8080/api/v3/repos/o/r/issues/1/comments?page=2")
                .unwrap(),
            "/api/v3/repos/o/r/issues/1/comments?page=2"
        );
        assert!(ghes.target_of("http://evil.test:8080/api/v3/x").is_err());
        assert!(ghes.target_of("https://127.0.0.1:8080/api/v3/x").is_err());
        assert!(ghes.target_of("http://127.0.0.1:9090/api/v3/x").is_err());
        assert!(Base::parse("ftp://x").is_err());
        assert!(Base::parse("https://user:pw@x").is_err());
        assert!(Base::parse("not a url").is_err());
    }
}
