//! The host's own HTTP requests (not a plugin's): downloading plugins from URLs and OCI
//! registries. One exchange on hyper over the host's TLS configuration; callers decide which
//! URLs are acceptable.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::sync::Arc;

/// A response, its body read whole (bounded).
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: http::StatusCode,
    /// The headers.
    pub(crate) headers: http::HeaderMap,
    /// The body, at most the limit asked for.
    pub(crate) body: Bytes,
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
) -> Result<Answer, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("not a URL `{url}`: {e}"))?;
    let host = uri
        .host()
        .ok_or("the URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
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
    let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = if https {
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| format!("bad host name: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host} failed: {e}"))?;
        send(wasmtime_wasi_http::io::TokioIo::new(stream), request).await?
    } else {
        send(wasmtime_wasi_http::io::TokioIo::new(tcp), request).await?
    };
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

async fn send<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<http::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    sender.send_request(request).await.map_err(|e| e.to_string())
}
