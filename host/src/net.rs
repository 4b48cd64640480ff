//! Outbound network for plugins: the `wasi:http` send hook and TLS inspection.
//!
//! Every connection goes through [`NetPolicy::connect`], which checks the origin against
//! the step's effective grants, resolves the host itself (honouring `--resolve`), refuses
//! link-local and cloud-metadata addresses whatever name led to them, and connects to
//! exactly the address it checked, so DNS cannot change the answer between check and use.

use crate::capabilities::{Effective, Scheme, normalize_host};
use crate::events::{Event, Sink};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest request body a plugin may send.
const MAX_REQUEST_BODY: usize = 16 << 20;

/// Why an address may never be reached, or `None` when it may.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in its low 32 bits.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return forbidden_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Some("the AWS instance metadata service")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<&'static str> {
    if v4.is_link_local() {
        Some("a link-local address (cloud instance metadata lives at 169.254.169.254)")
    } else if v4 == Ipv4Addr::new(100, 100, 100, 200) {
        Some("the Alibaba Cloud metadata service")
    } else if v4.octets()[0] == 0 {
        Some("the unspecified network 0.0.0.0/8")
    } else if v4.is_multicast() || v4.is_broadcast() {
        Some("a multicast or broadcast address")
    } else {
        None
    }
}

/// TLS trust for plugin connections: Mozilla's roots plus any CA files the user adds.
pub fn tls_config(extra_ca_files: &[std::path::PathBuf]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    for file in extra_ca_files {
        let pem = std::fs::read(file).map_err(|e| format!("cannot read CA file {}: {e}", file.display()))?;
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("CA file {} is not PEM: {e}", file.display()))?;
        if certs.is_empty() {
            return Err(format!("CA file {} holds no certificate", file.display()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("CA file {}: {e}", file.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The network policy of one step.
#[derive(Clone)]
pub struct NetPolicy {
    pub effective: Arc<Effective>,
    /// `host:port` → address, like curl's `--resolve`.
    pub resolve: Arc<HashMap<(String, u16), IpAddr>>,
    pub tls: Arc<rustls::ClientConfig>,
    pub sink: Arc<dyn Sink>,
}

/// A connected stream, TLS or not.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl NetPolicy {
    /// Check, resolve, and connect to `scheme://host:port`.
    pub async fn connect(&self, scheme: Scheme, host: &str, port: u16, timeout: Duration) -> Result<Conn, HttpError> {
        let origin = format!(
            "{}://{}:{port}",
            if scheme == Scheme::Https { "https" } else { "http" },
            host
        );
        if !self.effective.allows_origin(scheme, host, port) {
            self.deny(&format!(
                "request to {origin} denied: the step does not grant it; add `--allow-net {origin}` (or `allow-net:` in the workflow)"
            ));
            return Err(HttpError::HttpRequestDenied);
        }
        let addrs = self.resolve_host(host, port).await?;
        if let Some((ip, why)) = addrs
            .iter()
            .find_map(|a| forbidden_address(a.ip()).map(|w| (a.ip(), w)))
        {
            self.deny(&format!(
                "request to {origin} denied: {host} resolves to {ip}, {why}, which plugins may never reach"
            ));
            return Err(HttpError::HttpRequestDenied);
        }
        let tcp = tokio::time::timeout(timeout, connect_any(&addrs))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)??;
        if scheme == Scheme::Http {
            return Ok(Conn::Plain(tcp));
        }
        let name = server_name(host)?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone());
        let stream = tokio::time::timeout(timeout, tls.connect(name, tcp))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)?
            .map_err(|e| {
                self.sink
                    .emit(Event::host_warning(format!("TLS handshake with {origin} failed: {e}")));
                HttpError::TlsCertificateError
            })?;
        Ok(Conn::Tls(Box::new(stream)))
    }

    fn deny(&self, message: &str) {
        self.sink.emit(Event::host_warning(message.to_string()));
    }

    async fn resolve_host(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, HttpError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Some(ip) = self.resolve.get(&(normalize_host(host), port)) {
            return Ok(vec![SocketAddr::new(*ip, port)]);
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| HttpError::DnsError {
                rcode: None,
                info_code: None,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(HttpError::DestinationNotFound);
        }
        Ok(addrs)
    }

    /// The leaf certificate of a granted `https://` origin.
    pub async fn peer_certificate(&self, origin: &str) -> Result<Vec<u8>, String> {
        let pattern = crate::capabilities::OriginPattern::of_url(origin)
            .ok_or_else(|| format!("`{origin}` is not an https:// URL"))?;
        let (scheme, host, port) = pattern
            .exact()
            .ok_or_else(|| format!("`{origin}` is not an exact origin"))?;
        let host = host.to_string();
        if scheme != Scheme::Https {
            return Err(format!("`{origin}` is not https"));
        }
        match self.connect(scheme, &host, port, DEFAULT_CONNECT_TIMEOUT).await {
            Ok(Conn::Tls(stream)) => stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec())
                .ok_or_else(|| format!("{origin} presented no certificate")),
            Ok(Conn::Plain(_)) => Err(format!("{origin} did not negotiate TLS")),
            Err(HttpError::HttpRequestDenied) => Err(format!(
                "connection to {origin} denied by the sandbox: grant it with --allow-net {origin}"
            )),
            Err(e) => Err(format!("cannot connect to {origin}: {e}")),
        }
    }

    async fn send(
        &self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let uri = request.uri().clone();
        let scheme = match uri.scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            _ => return Err(HttpError::HttpProtocolError),
        };
        let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        let connect_timeout = options
            .and_then(|o| o.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let first_byte_timeout = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(DEFAULT_FIRST_BYTE_TIMEOUT);

        // The request line carries only the path; the authority travels in `Host`.
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        *request.uri_mut() = path.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
        // Buffer the body before connecting (the guest writes it while it awaits the
        // response): a refusal then reaches the guest as the response's error code rather
        // than as a broken body stream, a sized body goes out with `content-length`, and a
        // server that answers and closes early cannot cut the guest off mid-write.
        let (parts, body) = request.into_parts();
        let body = Limited::new(body, MAX_REQUEST_BODY)
            .collect()
            .await
            .map_err(|_| HttpError::HttpRequestBodySize(None))?
            .to_bytes();
        let request = http::Request::from_parts(parts, Full::new(body));
        let conn = self.connect(scheme, host, port, connect_timeout).await?;
        let response = match conn {
            Conn::Plain(s) => exchange(TokioIo::new(s), request, connect_timeout, first_byte_timeout).await?,
            Conn::Tls(s) => exchange(TokioIo::new(*s), request, connect_timeout, first_byte_timeout).await?,
        };
        Ok(response.map(|body| body.map_err(HttpError::from).boxed_unsync()))
    }
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, HttpError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
        Some(e) => HttpError::Connect(e),
        None => HttpError::DestinationNotFound,
    })
}

fn server_name(host: &str) -> Result<ServerName<'static>, HttpError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    ServerName::try_from(bare.to_string()).map_err(|_| HttpError::HttpRequestUriInvalid)
}

async fn exchange<S>(
    io: TokioIo<S>,
    request: http::Request<Full<Bytes>>,
    handshake_timeout: Duration,
    first_byte_timeout: Duration,
) -> Result<http::Response<hyper::body::Incoming>, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = tokio::time::timeout(handshake_timeout, hyper::client::conn::http1::handshake(io))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)??;
    // The connection task ends when the response body is dropped or fully read.
    tokio::spawn(conn);
    tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)?
        .map_err(HttpError::from)
}

impl WasiHttpHooks for NetPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                )>,
            > + Send,
    > {
        let this = self.clone();
        Box::new(async move {
            let response = this.send(request, options).await?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_addresses_are_forbidden_in_every_spelling() {
        for ip in [
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "0.0.0.0",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "fe80::1",
            "::",
            "224.0.0.1",
        ] {
            assert!(
                forbidden_address(ip.parse().unwrap()).is_some(),
                "{ip} must be forbidden"
            );
        }
        for ip in ["127.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "8.8.8.8", "2001:db8::1"] {
            assert!(
                forbidden_address(ip.parse().unwrap()).is_none(),
                "{ip} is an ordinary address"
            );
        }
    }
}
