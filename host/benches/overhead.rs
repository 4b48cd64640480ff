//! Benchmarks, printed as ratios against baselines measured in the same run:
//! 1. step overhead of a no-op plugin (first run with compile, cached run, in-process
//!    instantiate + call) against spawning a native no-op process;
//! 2. a five-step pipeline against five separate `tollgate run` processes;
//! 3. region-verify over 100 endpoints that each answer after 200 ms, against a
//!    sequential `curl` loop over the same endpoints;
//! 4. a builtin's first step on a fresh runner (empty cache, the release's `precompiled/`
//!    beside the binary) against the same step warm;
//! 5. a path plugin's first run (compile included) against `wasmtime compile -C cache=n` of
//!    the same component, with and without the epoch interruption Tollgate's engine uses
//!    (needs `wasmtime` 48 on PATH: `cargo install wasmtime-cli@48.0.8`).
//!
//! Run with `cargo bench -p tollgate --bench overhead` (release profile).

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate::bindings::tollgate::plugin::types::StepContext;
use tollgate::events::Collect;
use tollgate::sandbox::imports::StepIo;
use tollgate::sandbox::net::{NetPolicy, tls_config};
use tollgate::sandbox::runtime::{Limits, Runtime, StepSetup};
use tollgate::sources::digest;

#[path = "../../tests/e2e/guests.rs"]
mod guests;

const TOLLGATE: &str = env!("CARGO_BIN_EXE_tollgate");

/// The no-op test guest, built on first use as the e2e tests build it.
fn noop() -> &'static str {
    guests::guest("noop")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn run_ok(cmd: &mut Command) {
    let status = cmd.status().expect("spawn");
    assert!(status.success(), "{cmd:?} failed");
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn step_overhead(rt: &tokio::runtime::Runtime) {
    println!("## step overhead of a no-op plugin (median)");
    let floor = time(20, || run_ok(Command::new("true").stdout(std::process::Stdio::null())));
    println!("native no-op process (`true`):        {:>10}   1.0x", ms(floor));
    let cold = time(5, || {
        let cache = tempfile::tempdir().expect("tempdir");
        run_ok(
            Command::new(TOLLGATE)
                .args(["run", noop()])
                .env("TOLLGATE_CACHE_DIR", cache.path())
                .stdout(std::process::Stdio::null()),
        );
    });
    let ratio = |d: Duration| d.as_secs_f64() / floor.as_secs_f64();
    println!(
        "tollgate run, first (compile):       {:>10}  {:>5.1}x",
        ms(cold),
        ratio(cold)
    );
    let cache = tempfile::tempdir().expect("tempdir");
    let cached_cmd = || {
        run_ok(
            Command::new(TOLLGATE)
                .args(["run", noop()])
                .env("TOLLGATE_CACHE_DIR", cache.path())
                .stdout(std::process::Stdio::null()),
        )
    };
    cached_cmd();
    let cached = time(20, cached_cmd);
    println!(
        "tollgate run, cached:                {:>10}  {:>5.1}x",
        ms(cached),
        ratio(cached)
    );

    let bytes = std::fs::read(noop()).expect("noop component");
    let runtime = Runtime::new(None).expect("runtime");
    let loaded = runtime.load("noop", &bytes, &digest(&bytes)).expect("load");
    let tls = tls_config(&[]).expect("tls");
    let call = || {
        let sink = Arc::new(Collect::default());
        let net = NetPolicy::deny_all(tls.clone(), sink.clone());
        let mut io = StepIo::new("noop".into(), sink, net);
        io.declared_outputs = Some(Default::default());
        let setup = StepSetup {
            io,
            dirs: vec![],
            limits: Limits::default(),
        };
        let outcome = rt.block_on(runtime.run(&loaded, setup, vec![], context()));
        assert!(matches!(outcome.result, Ok(Ok(_))));
    };
    call();
    let in_process = time(200, call);
    println!(
        "in-process instantiate + run:        {:>10}  {:>5.3}x",
        format!("{:.1} µs", in_process.as_secs_f64() * 1e6),
        ratio(in_process)
    );
    breakdown(rt, floor, cached, &bytes);
}

/// Where a cached no-op step's time goes: the process parts measured as processes, the
/// runtime's parts in-process (each the median of many), so the rows add up to about the whole.
fn breakdown(rt: &tokio::runtime::Runtime, floor: Duration, cached: Duration, bytes: &[u8]) {
    println!("\n## where a cached no-op step's time goes (median)");
    let version = time(20, || {
        run_ok(
            Command::new(TOLLGATE)
                .arg("--version")
                .stdout(std::process::Stdio::null()),
        )
    });
    let digest = digest(bytes);
    let cache = tempfile::tempdir().expect("tempdir");
    Runtime::new(Some(cache.path().into()))
        .expect("runtime")
        .load("noop", bytes, &digest)
        .expect("load");
    let tls = tls_config(&[]).expect("tls");
    let (mut engine, mut load, mut describe) = (Vec::new(), Vec::new(), Vec::new());
    // A new runtime each time: a runtime keeps what it loaded and described.
    for _ in 0..50 {
        let started = Instant::now();
        let runtime = Runtime::new(Some(cache.path().into())).expect("runtime");
        engine.push(started.elapsed());
        let started = Instant::now();
        let loaded = runtime.load("noop", bytes, &digest).expect("load");
        load.push(started.elapsed());
        let sink = Arc::new(Collect::default());
        let net = NetPolicy::deny_all(tls.clone(), sink.clone());
        let io = StepIo::new("noop".into(), sink, net);
        let started = Instant::now();
        rt.block_on(runtime.describe(&loaded, io, Limits::default()))
            .expect("describe");
        describe.push(started.elapsed());
    }
    let size = std::fs::metadata(TOLLGATE).expect("tollgate").len() >> 20;
    let rows = [
        ("native no-op process (`true`): exec, exit".to_string(), floor),
        (format!("`tollgate --version`: + a {size} MiB binary, clap"), version),
        (
            "engine + linker (WASI, wasi:http, tollgate:plugin)".into(),
            median(engine),
        ),
        ("cached component: deserialize + link".into(), median(load)),
        ("describe: instantiate + call".into(), median(describe)),
    ];
    for (label, d) in &rows {
        ratio_line(label, *d, floor);
    }
    // `--version` already includes the process itself.
    let parts: Duration = rows[1..].iter().map(|(_, d)| *d).sum();
    ratio_line(
        "run: instantiate + call, and the rest (by difference)",
        cached.saturating_sub(parts),
        floor,
    );
    ratio_line("whole `tollgate run noop`, cached", cached, floor);
}

fn context() -> StepContext {
    tollgate::step::local_context("bench")
}

/// One server answering every request after `delay`, on as many ports as asked.
async fn slow_servers(count: usize, delay: Duration) -> Vec<String> {
    let mut urls = Vec::new();
    for _ in 0..count {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        urls.push(format!(
            "http://127.0.0.1:{}/healthz",
            listener.local_addr().expect("addr").port()
        ));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = service_fn(move |_req| async move {
                        tokio::time::sleep(delay).await;
                        hyper::Response::builder()
                            .header("x-region", "r")
                            .body(Full::new(Bytes::from_static(br#"{"status":"UP"}"#)))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
    urls
}

fn region_verify(rt: &tokio::runtime::Runtime) {
    println!("\n## region-verify, 100 endpoints answering after 200 ms");
    let urls = rt.block_on(slow_servers(100, Duration::from_millis(200)));
    let start = Instant::now();
    for url in &urls {
        run_ok(Command::new("curl").args(["-sf", "-o", "/dev/null", url]));
    }
    let curl = start.elapsed();
    println!("sequential curl loop:                {:>10}   1.0x", ms(curl));
    let endpoints: Vec<String> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| format!(r#"{{"name":"r{i}","url":"{u}"}}"#))
        .collect();
    let endpoints = format!("endpoints=[{}]", endpoints.join(","));
    let cache = tempfile::tempdir().expect("tempdir");
    let verify = || {
        run_ok(
            Command::new(TOLLGATE)
                .args(["run", "region-verify", "--json", "--with", &endpoints])
                .env("TOLLGATE_CACHE_DIR", cache.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        )
    };
    verify();
    let ours = time(5, verify);
    println!(
        "tollgate run region-verify (cached): {:>10}  {:>5.3}x  ({:.1}x faster)",
        ms(ours),
        ours.as_secs_f64() / curl.as_secs_f64(),
        curl.as_secs_f64() / ours.as_secs_f64()
    );
}

/// Five no-op plugin steps in one pipeline against five `tollgate run` processes.
fn pipeline_overhead() {
    println!("\n## five no-op steps: one pipeline vs five processes (median)");
    let dir = tempfile::tempdir().expect("tempdir");
    let noop = noop();
    let steps: String = (1..=5).map(|i| format!("  - id: s{i}\n    uses: {noop}\n")).collect();
    let file = dir.path().join("five.yml");
    std::fs::write(&file, format!("steps:\n{steps}")).expect("write pipeline");
    let cache = tempfile::tempdir().expect("tempdir");
    let cmd = |args: &[&std::ffi::OsStr]| {
        let mut c = Command::new(TOLLGATE);
        c.args(args)
            .current_dir(dir.path())
            .env("TOLLGATE_CACHE_DIR", cache.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let separate = || {
        for _ in 0..5 {
            run_ok(&mut cmd(&["run".as_ref(), noop.as_ref()]));
        }
    };
    let pipeline = || run_ok(&mut cmd(&["pipeline".as_ref(), "run".as_ref(), file.as_os_str()]));
    separate();
    pipeline();
    let five = time(10, separate);
    let one = time(10, pipeline);
    println!("five `tollgate run` processes:       {:>10}   1.0x", ms(five));
    println!(
        "one five-step pipeline:              {:>10}  {:>5.2}x  ({:.2} ms per step)",
        ms(one),
        one.as_secs_f64() / five.as_secs_f64(),
        one.as_secs_f64() * 1e3 / 5.0
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    step_overhead(&rt);
    pipeline_overhead();
    region_verify(&rt);
    fresh_runner();
    first_run_vs_wasmtime();
}

fn ratio_line(label: &str, d: Duration, base: Duration) {
    println!(
        "{label:<52} {:>10}  {:>5.2}x",
        ms(d),
        d.as_secs_f64() / base.as_secs_f64()
    );
}

/// The release layout: the binary hard-linked into a directory with `precompiled/` beside it,
/// filled as `.github/workflows/release.yml` fills it.
fn release_layout() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let exe = dir.path().join("tollgate");
    if std::fs::hard_link(TOLLGATE, &exe).is_err() {
        std::fs::copy(TOLLGATE, &exe).expect("copy tollgate");
    }
    let list = Command::new(&exe)
        .args(["plugin", "list"])
        .output()
        .expect("plugin list");
    let builtins = String::from_utf8(list.stdout).expect("utf-8");
    run_ok(
        Command::new(&exe)
            .env("TOLLGATE_CACHE_DIR", dir.path().join("precompiled"))
            .args(["plugin", "compile"])
            .args(builtins.lines())
            .stdout(std::process::Stdio::null()),
    );
    (dir, exe)
}

fn fresh_runner() {
    println!("\n## a builtin's first step on a fresh runner (state-lock status, file backend; median)");
    let (layout, exe) = release_layout();
    let locks = tempfile::tempdir().expect("tempdir");
    let locks_dir = locks.path().to_str().expect("utf-8 path");
    let step = |exe: &std::path::Path, cache: &std::path::Path| {
        run_ok(
            Command::new(exe)
                .env("TOLLGATE_CACHE_DIR", cache)
                .args(["run", "state-lock", "--with", "operation=status", "--with", "key=bench"])
                .args(["--with", "backend=file", "--with", &format!("path={locks_dir}")])
                .args(["--allow-write", locks_dir])
                .stdout(std::process::Stdio::null()),
        )
    };
    let warm_cache = tempfile::tempdir().expect("tempdir");
    step(std::path::Path::new(TOLLGATE), warm_cache.path());
    let warm = time(20, || step(std::path::Path::new(TOLLGATE), warm_cache.path()));
    ratio_line("warm: compiled component in the cache", warm, warm);
    // Each run gets its own empty cache, made before the clock starts.
    let empty = || {
        (0..20)
            .map(|_| tempfile::tempdir().expect("tempdir"))
            .collect::<Vec<_>>()
    };
    let caches = empty();
    let mut next = caches.iter();
    let fresh = time(20, || step(&exe, next.next().expect("one per run").path()));
    ratio_line("fresh runner, release layout (precompiled/)", fresh, warm);
    let caches = empty();
    let mut next = caches.iter();
    let compiling = time(5, || {
        step(std::path::Path::new(TOLLGATE), next.next().expect("one per run").path())
    });
    ratio_line("fresh runner, no precompiled/ (compiles)", compiling, warm);
    drop(layout);
}

fn first_run_vs_wasmtime() {
    println!("\n## a path plugin's first run vs `wasmtime compile -C cache=n` of the same component (median)");
    if Command::new("wasmtime").arg("--version").output().is_err() {
        println!("skipped: no `wasmtime` on PATH (cargo install wasmtime-cli@48.0.8 --locked)");
        return;
    }
    let region_verify = format!("{}/region_verify.wasm", env!("TOLLGATE_BUILTIN_DIR"));
    for (label, component, args) in [
        ("noop guest", noop().to_string(), vec![]),
        // A builtin's component run as a path plugin: same bytes, compiled on first use.
        (
            "region-verify as ./region_verify.wasm",
            region_verify,
            vec!["--with", "endpoints=[]", "--allow-net", "http://127.0.0.1:9"],
        ),
    ] {
        let size = std::fs::metadata(&component).expect("component").len();
        let out = tempfile::tempdir().expect("tempdir");
        let wasmtime = |flags: &[&str]| {
            time(5, || {
                run_ok(
                    Command::new("wasmtime")
                        .args(["compile", "-C", "cache=n"])
                        .args(flags)
                        .args([component.as_str(), "-o"])
                        .arg(out.path().join("c.cwasm")),
                )
            })
        };
        let baseline = wasmtime(&[]);
        // Tollgate's engine interrupts wasm by epochs (a step's timeout holds against a
        // plugin that never yields), which instruments every loop and function entry.
        let epochs = wasmtime(&["-W", "epoch-interruption=y"]);
        let first = time(5, || {
            let cache = tempfile::tempdir().expect("tempdir");
            // The step's own verdict does not matter here, only that it ran.
            let _ = Command::new(TOLLGATE)
                .env("TOLLGATE_CACHE_DIR", cache.path())
                .args(["run", &component])
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("spawn");
        });
        println!("{label} ({} KiB)", size / 1024);
        ratio_line("  wasmtime compile -C cache=n", baseline, baseline);
        ratio_line(
            "  wasmtime compile -C cache=n -W epoch-interruption=y",
            epochs,
            baseline,
        );
        ratio_line("  tollgate run, first (compile, cache, describe, run)", first, baseline);
    }
}
