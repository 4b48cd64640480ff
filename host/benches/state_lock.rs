//! state-lock, uncontended: one `acquire` and one `release`, each a whole `tollgate run`
//! (cached compiled component), per backend (file; github against the local GitHub API peer;
//! dynamodb and s3 against moto with signature checking on), against the floor of two cached no-op steps
//! measured in the same run. Handover latency under contention comes from the contention
//! tests (`cargo test -p tollgate --test e2e sixteen_contenders -- --nocapture`).
//!
//! Run with `cargo bench -p tollgate --bench state_lock` (release profile).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../tests/e2e/guests.rs"]
mod guests;

#[path = "../../tests/e2e/github_peer.rs"]
#[allow(dead_code)]
mod github_peer;

const TOLLGATE: &str = env!("CARGO_BIN_EXE_tollgate");
const ROUNDS: usize = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `tollgate run ARGS` with the bench's cache; its `--json` report.
fn tollgate(cache: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> serde_json::Value {
    let mut cmd = Command::new(TOLLGATE);
    cmd.args(args).env("TOLLGATE_CACHE_DIR", cache).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("tollgate runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Median time of one uncontended acquire + release with these backend flags.
fn cycle(cache: &std::path::Path, backend: &[&str], env: &[(&str, String)]) -> Duration {
    let lock = |op: &[&str]| {
        let mut args = vec!["run", "state-lock", "--json", "--with", "key=bench/us-east"];
        args.extend_from_slice(op);
        args.extend_from_slice(backend);
        tollgate(cache, &args, env)
    };
    // Warm: the first run compiles the component into the cache.
    let token = lock(&["--with", "operation=acquire"])["outputs"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    lock(&["--with", "operation=release", "--with", &format!("token={token}")]);
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                let held = lock(&["--with", "operation=acquire"]);
                let token = held["outputs"]["token"].as_str().unwrap().to_string();
                lock(&["--with", "operation=release", "--with", &format!("token={token}")]);
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // `cargo test --all-targets` runs benches too, without `--bench`: its peers and 160 runs take a minute in a debug build, so that run
    // only checks that the bench builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("state_lock: built; measure with `cargo bench -p tollgate --bench state_lock`");
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let noop = guests::guest("noop");
    tollgate(cache.path(), &["run", noop], &[]);
    let floor = median(
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                tollgate(cache.path(), &["run", noop], &[]);
                tollgate(cache.path(), &["run", noop], &[]);
                start.elapsed()
            })
            .collect(),
    );
    println!("## state-lock: uncontended acquire + release, two whole `tollgate run`s (median of {ROUNDS})");
    println!("| what | time | vs two cached no-op steps |");
    println!("|---|---|---|");
    println!("| two cached no-op steps, the floor | {} | 1.0x |", ms(floor));
    let row =
        |what: &str, d: Duration| println!("| {what} | {} | {:.1}x |", ms(d), d.as_secs_f64() / floor.as_secs_f64());

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().display().to_string();
    let with_path = format!("path={path}");
    row(
        "file backend",
        cycle(
            cache.path(),
            &["--with", "backend=file", "--with", &with_path, "--allow-write", &path],
            &[],
        ),
    );

    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let peer = rt.block_on(github_peer::Peer::start());
    let env = [
        ("GITHUB_API_URL", peer.url("")),
        ("GITHUB_TOKEN", github_peer::TOKEN.to_string()),
        ("GITHUB_REPOSITORY", github_peer::REPOSITORY.to_string()),
    ];
    row(
        "github backend (local GitHub API peer, Python)",
        cycle(cache.path(), &["--allow-github", "contents:write"], &env),
    );

    let moto = Moto::start();
    let endpoint = format!("http://127.0.0.1:{}", moto.ready["port"]);
    let field = |k: &str| moto.ready[k].as_str().unwrap().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", field("access_key_id")),
        ("AWS_SECRET_ACCESS_KEY", field("secret_access_key")),
    ];
    for (backend, store) in [
        ("dynamodb", format!("table={}", field("table"))),
        ("s3", format!("bucket={}", field("bucket"))),
    ] {
        let flags = [
            "--with",
            &format!("backend={backend}"),
            "--with",
            &store,
            "--with",
            &format!("endpoint={endpoint}"),
            "--allow-net",
            &endpoint,
            "--secret",
            "AWS_ACCESS_KEY_ID",
            "--secret",
            "AWS_SECRET_ACCESS_KEY",
        ];
        row(
            &format!("{backend} backend (moto, SigV4 checked)"),
            cycle(cache.path(), &flags, &env),
        );
    }
}

/// `tests/peers/aws/moto_peer.py`, killed when dropped.
struct Moto {
    child: std::process::Child,
    ready: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl Moto {
    fn start() -> Moto {
        let dir = tempfile::tempdir().expect("tempdir");
        let ready_file = dir.path().join("ready.json");
        let mut child = Command::new("python3")
            .arg(guests::workspace_root().join("tests/peers/aws/moto_peer.py"))
            .arg("--ready-file")
            .arg(&ready_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the moto peer");
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file) {
                break serde_json::from_str(&text).expect("the ready file is JSON");
            }
            assert!(
                child.try_wait().ok().flatten().is_none(),
                "the moto peer exited: is moto[server] installed?"
            );
            assert!(Instant::now() < deadline, "the moto peer was not ready within 60s");
            std::thread::sleep(Duration::from_millis(50));
        };
        Moto {
            child,
            ready,
            _dir: dir,
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
