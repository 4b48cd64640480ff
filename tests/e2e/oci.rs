//! Plugins from an OCI registry: `tollgate plugin publish` to a real registry (Debian's
//! `docker-registry`, distribution 2.8, on 127.0.0.1 with storage in a temporary directory),
//! then `tollgate run oci://…@sha256:…`, pinned, cached, and refused when anything differs.

use crate::support::{Reply, Server, guest, run, tollgate};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A registry, killed when dropped.
struct Registry {
    child: crate::support::Reaped,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    async fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry runs (apt-get install docker-registry)");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken: another one
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Registry {
                        child: crate::support::Reaped(child),
                        port,
                        _dir: dir,
                    };
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start on a free port");
    }

    fn at(&self, name: &str) -> String {
        format!("oci://127.0.0.1:{}/{name}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_published_plugin_runs_by_its_pinned_digest_and_stays_cached() {
    let mut registry = Registry::start().await;
    let tag = registry.at("tollgate/noop:v1");
    let published = run(&["plugin", "publish", guest("noop"), &tag]).await;
    assert_eq!(published.code, 0, "{published:#?}");
    let pinned = published.stdout.lines().last().unwrap().to_string();
    assert!(pinned.starts_with(&registry.at("tollgate/noop@sha256:")), "{pinned}");

    // A fresh cache: the first run pulls, the second needs no registry at all.
    let cache = tempfile::tempdir().unwrap();
    let pulled = crate::support::run_cmd(
        tollgate()
            .env("TOLLGATE_CACHE_DIR", cache.path())
            .args(["run", &pinned]),
    )
    .await;
    assert_eq!(pulled.code, 0, "{pulled:#?}");
    registry.child.kill().unwrap();
    registry.child.wait().unwrap();
    let cached = crate::support::run_cmd(
        tollgate()
            .env("TOLLGATE_CACHE_DIR", cache.path())
            .args(["run", &pinned]),
    )
    .await;
    assert_eq!(
        cached.code, 0,
        "served from the cache with the registry gone: {cached:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unpinned_unknown_and_tampered_references_are_refused() {
    let registry = Registry::start().await;
    let published = run(&["plugin", "publish", guest("noop"), &registry.at("tollgate/noop:v1")]).await;
    assert_eq!(published.code, 0, "{published:#?}");

    let tag = run(&["run", &registry.at("tollgate/noop:v1")]).await;
    assert_eq!(tag.code, 2, "{tag:#?}");
    assert!(
        tag.stderr.contains("must be pinned by its manifest digest"),
        "{}",
        tag.stderr
    );

    let unknown = format!("{}@sha256:{}", registry.at("tollgate/noop"), "0".repeat(64));
    let missing = run(&["run", &unknown]).await;
    assert_eq!(missing.code, 2, "{missing:#?}");
    assert!(
        missing.stderr.contains("404") && missing.stderr.contains("manifest unknown"),
        "{}",
        missing.stderr
    );

    // A registry that answers a different manifest than the one pinned.
    let liar = Server::start(Reply::ok("x").body(r#"{"schemaVersion":2,"layers":[]}"#)).await;
    let lying = format!(
        "oci://127.0.0.1:{}/tollgate/noop@sha256:{}",
        liar.addr.port(),
        "a".repeat(64)
    );
    let cache = tempfile::tempdir().unwrap();
    let r = crate::support::run_cmd(tollgate().env("TOLLGATE_CACHE_DIR", cache.path()).args(["run", &lying])).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("not the pinned sha256:aaaa"), "{}", r.stderr);
    assert!(!cache.path().join("plugins").exists(), "nothing refused is cached");

    // Only components that load and describe are published.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"not a component").unwrap();
    let refused = run(&[
        "plugin",
        "publish",
        junk.path().to_str().unwrap(),
        &registry.at("tollgate/junk:v1"),
    ])
    .await;
    assert_ne!(refused.code, 0, "{refused:#?}");
}
