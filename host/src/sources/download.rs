//! The host's own HTTP requests (not a plugin's): downloading plugins from URLs and OCI
//! registries. One exchange on hyper over the host's TLS configuration; callers decide which
//! URLs are acceptable.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::sync::Arc;

/// Why a download failed; each failure keeps its cause as its `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The URL does not parse.
    #[error("not a URL `{url}`: {source}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it does not parse.
        source: http::uri::InvalidUri,
    },
    /// The URL names no host.
    #[error("the URL has no host")]
    NoHost,
    /// The TCP connection failed.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The connection's error.
        source: std::io::Error,
    },
    /// The host is not a name TLS can verify.
    #[error("bad host name: {0}")]
    HostName(#[source] rustls::pki_types::InvalidDnsNameError),
    /// The TLS handshake failed.
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        /// The host.
        host: String,
        /// The handshake's error.
        source: std::io::Error,
    },
    /// The request could not be built.
    #[error("{0}")]
    Request(#[from] http::Error),
    /// The HTTP exchange failed.
    #[error("{0}")]
    Http(#[from] hyper::Error),
    /// The response body could not be read, or was longer than the limit.
    #[error("reading {url}: {source}")]
    Body {
        /// The URL.
        url: String,
        /// The body's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an error status.
    #[error("GET {url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: http::StatusCode,
    },
}

/// A response, its body read whole (bounded).
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: http::StatusCode,
    /// The headers.
    pub(crate) headers: http::HeaderMap,
    /// The body, at most the limit asked for.
    pub(crate) body: Bytes,
}

/// GET `url`'s body, refusing more than `limit` bytes and any status but success.
pub(crate) async fn get(url: &str, tls: Arc<rustls::ClientConfig>, limit: usize) -> Result<Vec<u8>, DownloadError> {
    let answer = exchange(&tls, http::Method::GET, url, &[], Bytes::new(), limit).await?;
    if !answer.status.is_success() {
        return Err(DownloadError::Status {
            url: url.to_string(),
            status: answer.status,
        });
    }
    Ok(answer.body.to_vec())
}

/// One request: HTTPS with the host's TLS roots, or plain HTTP when the URL says `http`
/// (callers decide when that is allowed); the body is read up to `limit` bytes.
pub(crate) async fn exchange(
    tls: &Arc<rustls::ClientConfig>,
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    limit: usize,
) -> Result<Answer, DownloadError> {
    let uri: http::Uri = url.parse().map_err(|source| DownloadError::Url {
        url: url.to_string(),
        source,
    })?;
    let host = uri
        .host()
        .ok_or(DownloadError::NoHost)?
        .trim_matches(['[', ']'])
        .to_string();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|source| DownloadError::Connect {
            host: host.clone(),
            port,
            source,
        })?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(
            http::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(
            http::header::USER_AGENT,
            concat!("tollgate/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(Full::new(body))?;
    let response = if https {
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(DownloadError::HostName)?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| DownloadError::Tls { host, source })?;
        send(wasmtime_wasi_http::io::TokioIo::new(stream), request).await?
    } else {
        send(wasmtime_wasi_http::io::TokioIo::new(tcp), request).await?
    };
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|source| DownloadError::Body {
            url: url.to_string(),
            source,
        })?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

async fn send<T>(
    io: T,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, DownloadError>
where
    T: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    Ok(sender.send_request(request).await?)
}
