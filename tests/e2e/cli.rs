//! The command line: plugin references, digests, the compile cache, usage errors.

use crate::support::{guest, run, run_cmd, tollgate};

fn sha256_of(path: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_and_describes_builtins() {
    // Every plugin registered in its own Cargo.toml, and nothing else, is a builtin.
    let mut registered: Vec<String> = std::fs::read_dir(crate::guests::workspace_root().join("plugins"))
        .unwrap()
        .filter_map(|entry| {
            let dir = entry.unwrap().path();
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let builtin = manifest.contains("[package.metadata.tollgate]\nbuiltin = true");
            builtin.then(|| format!("builtin:{}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    registered.sort();
    assert!(
        registered.contains(&"builtin:region-verify".to_string()),
        "{registered:?}"
    );
    let r = run(&["plugin", "list"]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), registered);
    let r = run(&["plugin", "describe", "region-verify", "--json"]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    let info: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(info["name"], "region-verify");
    let inputs: Vec<&str> = info["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        inputs.contains(&"endpoints") && inputs.contains(&"min-healthy"),
        "{inputs:?}"
    );
    let r = run(&["plugin", "describe", "region-verify"]).await;
    assert!(
        r.stdout.contains("endpoints (any, required, its URLs are granted)"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_digest_must_match() {
    let noop = guest("noop");
    let good = format!("{noop}#sha256={}", sha256_of(noop));
    assert_eq!(run(&["run", &good]).await.code, 0);
    let bad = format!("{noop}#sha256={}", "0".repeat(64));
    let r = run(&["run", &bad]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(
        r.stderr.contains("digest mismatch") && r.stderr.contains(&sha256_of(noop)),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_with_a_fix() {
    let cases: [(&[&str], &str); 6] = [
        (&["run", "no-such-plugin"], "no builtin plugin `no-such-plugin`"),
        (&["run", "./missing.wasm"], "cannot read ./missing.wasm"),
        (&["run", "https://example.test/p.wasm"], "#sha256="),
        (
            &["run", "region-verify", "--allow-net", "example.com"],
            "scheme://host[:port]",
        ),
        (&["run", "region-verify", "--with", "endpoints=[oops"], "not valid YAML"),
        (&["run", "region-verify", "--with", "endpoints=[]"], "--allow-net"),
    ];
    for (args, expected) in cases {
        let r = run(args).await;
        assert_eq!(r.code, 2, "{args:?}: {r:#?}");
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
    let not_a_component = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_a_component.path(), b"\0asm garbage").unwrap();
    let r = run(&["run", not_a_component.path().to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("not a WebAssembly component"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let noop = guest("noop");
    let mut first = tollgate();
    first.env("TOLLGATE_CACHE_DIR", cache.path()).args(["run", noop]);
    assert_eq!(run_cmd(&mut first).await.code, 0);
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .expect("a compiled entry was cached")
        .path();
    std::fs::write(&entry, b"corrupted").unwrap();
    let mut again = tollgate();
    again.env("TOLLGATE_CACHE_DIR", cache.path()).args(["run", noop]);
    let r = run_cmd(&mut again).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        std::fs::metadata(&entry).unwrap().len() > 1000,
        "the entry was rewritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn https_plugins_are_downloaded_pinned_and_cached() {
    let pki = crate::support::TestPki::new(30);
    let noop = std::fs::read(guest("noop")).unwrap();
    let server =
        crate::support::Server::start_tls(crate::support::Reply::ok("any").bytes(noop), pki.server.clone()).await;
    let cache = tempfile::tempdir().unwrap();
    let ca = pki.ca().display().to_string();
    let url = format!("{}#sha256={}", server.url("/noop.wasm"), sha256_of(guest("noop")));
    let fetch = |reference: String| {
        let mut cmd = tollgate();
        cmd.env("TOLLGATE_CACHE_DIR", cache.path())
            .args(["run", &reference, "--ca-cert", &ca]);
        cmd
    };
    let r = run_cmd(&mut fetch(url.clone())).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(server.hits(), 1);
    let r = run_cmd(&mut fetch(url)).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(server.hits(), 1, "the second run used the cached download");
    // The server's bytes do not match this pin: refused before anything runs.
    let wrong = format!("{}#sha256={}", server.url("/other.wasm"), "1".repeat(64));
    let r = run_cmd(&mut fetch(wrong)).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("digest mismatch"), "{}", r.stderr);
}

/// A path can name something endless or huge: the host reads at most its component cap.
#[tokio::test]
async fn an_endless_or_huge_plugin_file_is_refused_without_reading_it_all() {
    let r = crate::support::run(&["run", "/dev/zero"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("larger than 64.0 MiB"), "{r:#?}");
}
