//! Shared helpers: running the `tollgate` binary and real HTTP(S) servers on 127.0.0.1.

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// Where the e2e tests keep compiled components between runs of the binary.
pub fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("tollgate-e2e-cache")
}

/// The component of a test guest (`tests/guests/<name>`, built on first use by
/// [`crate::guests`]), or of a first-party plugin embedded by the host's build script.
pub fn guest(name: &str) -> &'static str {
    match name {
        "region-verify" => concat!(env!("TOLLGATE_BUILTIN_DIR"), "/region_verify.wasm"),
        test_guest => crate::guests::guest(test_guest),
    }
}

/// A finished `tollgate` process.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--json` report.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// An output of the `--json` report.
    pub fn output(&self, name: &str) -> String {
        self.json()["outputs"][name].as_str().unwrap_or_default().to_string()
    }
}

/// The `tollgate` binary with no runner variables and the shared cache.
pub fn tollgate() -> tokio::process::Command {
    tollgate_at(Path::new(env!("CARGO_BIN_EXE_tollgate")))
}

/// [`tollgate`], from a copy of the binary at `exe`.
pub fn tollgate_at(exe: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(exe);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_") || key.starts_with("INPUT_") || key == "CI" || key == "ACT" {
            cmd.env_remove(key);
        }
    }
    cmd.env("TOLLGATE_CACHE_DIR", cache_dir())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    cmd
}

/// A peer's process, killed and reaped when dropped, so a failing test leaves nothing running.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Run `tollgate ARGS…` to completion (bounded: a hung binary fails the test).
pub async fn run(args: &[&str]) -> Run {
    run_cmd(tollgate().args(args)).await
}

pub async fn run_cmd(cmd: &mut tokio::process::Command) -> Run {
    run_within(cmd, Duration::from_secs(300)).await
}

/// Run `cmd` to completion, failing the test when it takes longer than `limit`.
pub async fn run_within(cmd: &mut tokio::process::Command, limit: Duration) -> Run {
    let output = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} finished within {limit:?}"))
        .expect("the command starts");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A finished `tollgate` process with what it cost.
#[derive(Debug)]
pub struct Measured {
    pub run: Run,
    /// Peak resident set size of the process, in KiB (`ru_maxrss` from `wait4`).
    pub max_rss_kib: u64,
    pub elapsed: Duration,
    /// True when the deadline passed and the process was killed.
    pub killed: bool,
}

/// Run `tollgate ARGS…` (no runner variables, the shared cache, `NO_COLOR`) in `cwd` with
/// `envs` added, killing it after `deadline`. Blocking: call it from `spawn_blocking`.
///
/// The process is waited for with `wait4`, so its own peak RSS is known (unlike
/// `RUSAGE_CHILDREN`, which mixes in every other child of the test process).
pub fn run_measured(args: &[String], envs: &[(String, String)], cwd: &Path, deadline: Duration) -> Measured {
    use std::io::Read;
    use std::sync::mpsc;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_")
            || key.starts_with("INPUT_")
            || key.starts_with("RUNNER_")
            || key.starts_with("TOLLGATE_")
            || key == "CI"
            || key == "ACT"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("TOLLGATE_CACHE_DIR", cache_dir())
        .env("NO_COLOR", "1")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let start = std::time::Instant::now();
    let mut child = cmd.spawn().expect("tollgate starts");
    let pid = child.id() as libc::pid_t;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || match finished.recv_timeout(deadline) {
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // SAFETY: the child is not reaped before this thread is joined, so `pid` is ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        }
        _ => false,
    });
    // Wait for the exit without reaping, so the watchdog can never signal a recycled pid.
    loop {
        // SAFETY: plain syscall on our own child; `info` is written by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    let _ = done.send(());
    let killed = watchdog.join().expect("watchdog");
    let mut status = 0;
    // SAFETY: reaps our own child and reads its resource usage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    drop(child);
    let text = |t: std::thread::JoinHandle<Vec<u8>>| String::from_utf8_lossy(&t.join().expect("reader")).into_owned();
    Measured {
        run: Run {
            code: if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            },
            stdout: text(stdout),
            stderr: text(stderr),
        },
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        elapsed,
        killed,
    }
}

/// How a test endpoint answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub body: Bytes,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn ok(region: &str) -> Self {
        Self {
            status: 200,
            delay: Duration::ZERO,
            body: Bytes::from(format!(r#"{{"status":"UP","region":"{region}"}}"#)),
            headers: vec![
                ("x-region".into(), region.into()),
                ("content-type".into(), "application/json".into()),
            ],
        }
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Bytes::from(body.to_string());
        self
    }

    pub fn bytes(mut self, body: Vec<u8>) -> Self {
        self.body = Bytes::from(body);
        self
    }
}

/// A real HTTP(S) server on 127.0.0.1 that gives every request the same reply.
pub struct Server {
    pub addr: SocketAddr,
    pub base: String,
    hits: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Server {
    pub async fn start(reply: Reply) -> Self {
        Self::start_with(reply, None).await
    }

    pub async fn start_tls(reply: Reply, tls: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(reply, Some(tls)).await
    }

    async fn start_with(reply: Reply, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let counter = hits.clone();
        let peak = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak_seen = peak.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let reply = reply.clone();
                let counter = counter.clone();
                let tls = tls.clone();
                let (in_flight, peak) = (in_flight.clone(), peak_seen.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let reply = reply.clone();
                        counter.fetch_add(1, Ordering::SeqCst);
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let in_flight = in_flight.clone();
                        async move {
                            tokio::time::sleep(reply.delay).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            let mut response = hyper::Response::builder().status(reply.status);
                            for (k, v) in &reply.headers {
                                response = response.header(k, v);
                            }
                            response.body(Full::new(reply.body))
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(config) => {
                            if let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            base: format!("{scheme}://127.0.0.1:{}", addr.port()),
            hits,
            peak,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The most requests this server was answering at the same moment.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// A CA and a server certificate for 127.0.0.1 valid for `days`, made for this test.
pub struct TestPki {
    pub ca_pem_path: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
    _dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new(days: i64) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA cert");
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(days);
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let cert = params.signed_by(&key, &issuer).expect("server cert");
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_pem_path = dir.path().join("ca.pem");
        std::fs::write(&ca_pem_path, ca.pem()).expect("write CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        Self {
            ca_pem_path,
            server: Arc::new(server),
            _dir: dir,
        }
    }

    pub fn ca(&self) -> &Path {
        &self.ca_pem_path
    }
}
