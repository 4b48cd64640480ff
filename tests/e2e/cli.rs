//! The command line: plugin references, digests, the compile cache, usage errors.

use crate::support::{guest, run, run_cmd, tollgate, tollgate_at};

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
    let cases: [(&[&str], &str); 7] = [
        (&["run", "no-such-plugin"], "no builtin plugin `no-such-plugin`"),
        (&["run", "region-verfy"], "did you mean `region-verify`?"),
        (&["run", "./missing.wasm"], "cannot read ./missing.wasm"),
        (&["run", "https://example.test/p.wasm"], "#sha256="),
        (
            &["run", "region-verify", "--allow-net", "example.com"],
            "scheme://host[:port]",
        ),
        (&["run", "region-verify", "--with", "endpoints=[oops"], "not valid YAML"),
        (
            &["run", "region-verify", "--with", "endpoints=[]"],
            "`endpoints` names no URL (its value is `[]`)",
        ),
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

/// Installed as a release installs it: the binary with `precompiled/` beside it.
fn release_layout() -> (tempfile::TempDir, std::path::PathBuf) {
    // Inside the target directory, so the binary can be hard-linked rather than copied.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let exe = dir.path().join("tollgate");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_tollgate"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_tollgate"), &exe).unwrap();
    }
    (dir, exe)
}

fn cwasm_entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn precompiled_builtins_beside_the_binary_are_used_without_compiling() {
    let (dir, exe) = release_layout();
    let precompiled = dir.path().join("precompiled");
    // What .github/workflows/release.yml does before packing.
    let list = run(&["plugin", "list"]).await;
    let builtins: Vec<&str> = list.stdout.lines().collect();
    let mut compile = tollgate_at(&exe);
    compile
        .env("TOLLGATE_CACHE_DIR", &precompiled)
        .args(["plugin", "compile"])
        .args(&builtins);
    let r = run_cmd(&mut compile).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(cwasm_entries(&precompiled).len(), builtins.len(), "{r:#?}");

    // A fresh runner: an empty cache. Every builtin loads from precompiled/, nothing is
    // compiled, nothing is written to the cache.
    let fresh = tempfile::tempdir().unwrap();
    for builtin in &builtins {
        let mut describe = tollgate_at(&exe);
        describe
            .env("TOLLGATE_CACHE_DIR", fresh.path())
            .args(["plugin", "describe", builtin]);
        let r = run_cmd(&mut describe).await;
        assert_eq!(r.code, 0, "{builtin}: {r:#?}");
        let mut again = tollgate_at(&exe);
        again
            .env("TOLLGATE_CACHE_DIR", fresh.path())
            .args(["plugin", "compile", builtin]);
        let r = run_cmd(&mut again).await;
        assert!(
            r.stdout.contains("shipped precompiled: ") && r.stdout.contains("/precompiled/"),
            "{builtin}: {r:#?}"
        );
    }
    assert_eq!(cwasm_entries(fresh.path()), Vec::<std::path::PathBuf>::new());

    // A damaged entry is not trusted: that builtin is compiled again, into the cache.
    let damaged = &cwasm_entries(&precompiled)[0];
    std::fs::write(damaged, b"not compiled code").unwrap();
    let mut all = tollgate_at(&exe);
    all.env("TOLLGATE_CACHE_DIR", fresh.path())
        .args(["plugin", "compile"])
        .args(&builtins);
    let r = run_cmd(&mut all).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.stdout.matches("compiled in").count(), 1, "{r:#?}");
    assert_eq!(
        r.stdout.matches("shipped precompiled").count(),
        builtins.len() - 1,
        "{r:#?}"
    );
    assert_eq!(cwasm_entries(fresh.path()).len(), 1);
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
