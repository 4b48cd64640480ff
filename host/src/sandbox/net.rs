//! Outbound network for plugins: the `wasi:http` send hook and TLS inspection.
//!
//! Every connection goes through [`NetPolicy::connect`], which checks the origin against
//! the step's effective grants, resolves the host itself (honouring `--resolve`), refuses
//! link-local and cloud-metadata addresses whatever name led to them, and connects to
//! exactly the address it checked, so DNS cannot change the answer between check and use.

use crate::events::{Event, Sink};
use crate::sandbox::capabilities::{Effective, Scheme, normalize_host};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest request body a plugin may send.
pub const MAX_REQUEST_BODY: usize = 16 << 20;
/// Request bodies of one step buffered at once, across concurrent requests: the host
/// holds a body in memory until it is sent.
pub const MAX_BUFFERED_BODIES: usize = 64 << 20;

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
    /// What the step may reach.
    pub effective: Arc<Effective>,
    /// `host:port` → address, like curl's `--resolve`.
    pub resolve: Arc<HashMap<(String, u16), IpAddr>>,
    /// Trust for HTTPS.
    pub tls: Arc<rustls::ClientConfig>,
    /// Where denials are reported.
    pub sink: Arc<dyn Sink>,
    /// Bytes of request bodies buffered right now (see [`MAX_BUFFERED_BODIES`]).
    pub buffered: Arc<AtomicUsize>,
}

impl NetPolicy {
    /// A policy that lets the plugin reach nothing (`describe`).
    pub fn deny_all(tls: Arc<rustls::ClientConfig>, sink: Arc<dyn Sink>) -> Self {
        Self::new(Effective::default(), HashMap::new(), tls, sink)
    }

    /// The policy of a step with these effective grants.
    pub fn new(
        effective: Effective,
        resolve: HashMap<(String, u16), IpAddr>,
        tls: Arc<rustls::ClientConfig>,
        sink: Arc<dyn Sink>,
    ) -> Self {
        Self {
            effective: Arc::new(effective),
            resolve: Arc::new(resolve),
            tls,
            sink,
            buffered: Arc::default(),
        }
    }
}

/// Gives back its share of [`NetPolicy::buffered`] when the body is sent or dropped.
struct BufferedBody {
    counter: Arc<AtomicUsize>,
    bytes: usize,
}

impl BufferedBody {
    fn add(&mut self, n: usize) -> bool {
        let before = self.counter.fetch_add(n, Ordering::SeqCst);
        self.bytes += n;
        before + n <= MAX_BUFFERED_BODIES && self.bytes <= MAX_REQUEST_BODY
    }
}

impl Drop for BufferedBody {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// A connected stream, TLS or not.
pub enum Conn {
    /// `http://`
    Plain(TcpStream),
    /// `https://`, handshake done.
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
        self.connect_host_origin(scheme, host, port, timeout).await
    }

    /// Resolve and connect to one of the host's own origins (the GitHub API): no plugin
    /// grant is consulted, but the address rules, `--resolve`, `--ca-cert` trust and the
    /// timeout apply as to plugin connections.
    pub async fn connect_host_origin(
        &self,
        scheme: Scheme,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Conn, HttpError> {
        let origin = format!(
            "{}://{}:{port}",
            if scheme == Scheme::Https { "https" } else { "http" },
            host
        );
        let addrs = self.resolve_host(host, port).await?;
        if let Some((ip, why)) = addrs
            .iter()
            .find_map(|a| tollgate_vocab::address::forbidden(a.ip()).map(|w| (a.ip(), w)))
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
        let pattern = tollgate_vocab::OriginPattern::of_url(origin).map_err(|e| e.to_string())?;
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
        let (parts, mut body) = request.into_parts();
        let mut share = BufferedBody {
            counter: self.buffered.clone(),
            bytes: 0,
        };
        let mut buffer = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            // Trailers are not data; the guest's body stream errors end the request.
            let Ok(data) = frame?.into_data() else { continue };
            if !share.add(data.len()) {
                self.deny(&format!(
                    "request to {uri} refused: its body passes {} (one request) or the step's bodies in flight pass {}",
                    bytesize::ByteSize::b(MAX_REQUEST_BODY as u64),
                    bytesize::ByteSize::b(MAX_BUFFERED_BODIES as u64)
                ));
                return Err(HttpError::HttpRequestBodySize(Some(share.bytes as u64)));
            }
            buffer.extend_from_slice(&data);
        }
        let request = http::Request::from_parts(parts, Full::new(buffer.freeze()));
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
