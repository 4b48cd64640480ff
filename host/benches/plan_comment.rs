//! plan-comment on a real 10,000-resource terraform plan, three ways, each its own process:
//! the component (`tollgate run plan-comment`, compiled component cached), a native build of
//! the same plugin code (this bench re-run as a child, driving the plugin through
//! `tollgate_sdk::testing::MockHost`), and `terraform show -no-color` of the same `tfplan`.
//! Times are medians; peak RSS is each child's `ru_maxrss` from `wait4`. Also: the heap at
//! each stage of the native run (read, parse, render), and the smallest `--memory` the
//! component runs in, which together say where the bytes go.
//!
//! Run with `cargo bench -p tollgate --bench plan_comment` (release profile). The plan is
//! generated with the `terraform` on PATH (a 2,040-resource apply, then a 10,000-resource
//! plan: up to a quarter of an hour on two cores) into `<target>/bench-fixtures/`, keyed by a
//! hash of the configuration, and reused by later runs. Without terraform the bench says so and exits 0.

use sha2::{Digest, Sha256};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

const TOLLGATE: &str = env!("CARGO_BIN_EXE_tollgate");

/// Set in the child this bench starts as the native build: the plan to render.
const NATIVE_PLAN: &str = "TOLLGATE_BENCH_NATIVE_PLAN";
/// Set (with [`NATIVE_PLAN`]) to print the heap at each stage instead of running the plugin.
const NATIVE_STAGES: &str = "TOLLGATE_BENCH_NATIVE_STAGES";

const RUNS: usize = 7;
const WORKSPACE: &str = "us-east";

/// Phase 1 is applied (2,040 instances); phase 2 is planned: 10,000 instances, of which 40
/// applied ones are gone (deletes), 200 change `input` (updates), 80 change
/// `triggers_replace` (replaces), the rest of the applied ones stay (no-ops) and 7,960 are
/// new (creates). One resource holds a sensitive variable, so the redactor has work too.
const CONFIG: &str = r#"variable "phase" {
  type = number
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "bench-Secret-Value-42"
}

locals {
  count = var.phase == 1 ? 2040 : 10040
  keys = {
    for i in flatten([for k in range(11) : range(k * 1000, k * 1000 + 1000)]) : format("svc-%05d", i) => i
    if i < local.count && !(var.phase == 2 && i < 2040 && i % 51 == 7)
  }
}

resource "terraform_data" "svc" {
  for_each = local.keys
  input = {
    name     = each.key
    tier     = ["web", "api", "worker", "batch"][each.value % 4]
    replicas = each.value % 7 + 1
    image    = var.phase == 2 && each.value % 10 == 3 ? "registry.example.com/svc:2.0.${each.value % 13}" : "registry.example.com/svc:1.9.0"
    labels   = { team = "team-${each.value % 17}", cost_center = "cc-${each.value % 5}" }
  }
  triggers_replace = var.phase == 2 && each.value % 25 == 1 ? "rotation-2" : "rotation-1"
}

resource "terraform_data" "db" {
  input = { user = "app", password = var.db_password }
}

output "services" {
  value = length(terraform_data.svc)
}
"#;

/// Counts live and peak heap bytes, only in the native-stages child: everywhere else (the
/// timed native runs included) an allocation pays one relaxed load more than `System`.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
// Signed: a block allocated before counting began and freed after takes `LIVE` below zero.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let grown = new_size as isize - layout.size() as isize;
            let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The native build: the same plugin code, run by `MockHost` in this process, printing what
/// the host would print (the log and the step summary) so the work matches the component's.
fn native(plan: &str) -> ! {
    let dir = Path::new(plan)
        .parent()
        .expect("plan in a directory")
        .display()
        .to_string();
    let outcome = tollgate_sdk::testing::MockHost::new()
        .input("plan", plan)
        .input("workspace", WORKSPACE)
        .grant_dir(&dir, false)
        .run::<plan_comment::PlanComment>();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (_, line) in &outcome.logs {
        writeln!(out, "{line}").expect("stdout");
    }
    writeln!(out, "summary:\n{}", outcome.summary).expect("stdout");
    out.flush().expect("stdout");
    match outcome.result {
        Ok(report) => {
            assert!(report.message.contains("not posted"), "{}", report.message);
            std::process::exit(0)
        }
        Err(e) => panic!("plan-comment failed natively: {e:?}"),
    }
}

/// The native run split at its stages, the heap measured after each: what the component
/// holds in its linear memory at the same points.
fn native_stages(plan: &str) -> ! {
    use plan_comment::render::{self, COMMENT_LIMIT, Options, SUMMARY_LIMIT};
    let peak_since = || {
        let p = PEAK.swap(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        (LIVE.load(Ordering::Relaxed), p)
    };
    let mut last = Instant::now();
    let mut report = |stage: &str, (live, peak): (isize, isize)| {
        println!(
            "{stage:<32} {:>7}  live {:>9}  peak during {:>9}",
            ms(last.elapsed()),
            mib(live.max(0) as u64),
            mib(peak.max(0) as u64)
        );
        last = Instant::now();
    };
    // Counted from here on: the stages measure what this function allocates.
    COUNTING.store(true, Ordering::Relaxed);
    let bytes = std::fs::read(plan).expect("plan");
    report("read the file", peak_since());
    let parsed = tollgate_tfplan::Plan::from_slice(&bytes).expect("plan parses");
    report("parse (bytes still held)", peak_since());
    drop(bytes);
    report("drop the bytes", peak_since());
    let opts = Options {
        workspace: WORKSPACE.into(),
        max_details: usize::MAX,
        max_attributes: 500,
        max_value_chars: 200,
        full_plan_at: vec!["the plan JSON this step read".into()],
        footer: None,
    };
    let full = render::render(&parsed, &opts, SUMMARY_LIMIT);
    let summary = parsed.scrub(&full.markdown);
    report("render + scrub the summary", peak_since());
    let comment_opts = Options {
        max_details: 200,
        max_attributes: 40,
        ..opts
    };
    let comment = render::render(&parsed, &comment_opts, COMMENT_LIMIT);
    let body = parsed.scrub(&comment.markdown);
    report("render + scrub the comment", peak_since());
    println!("summary {} bytes, comment {} bytes", summary.len(), body.len());
    std::process::exit(0)
}

/// The target directory this bench was built in (`<target>/release/deps/plan_comment-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<exe>")
        .to_path_buf()
}

fn terraform(dir: &Path, rc: &Path) -> Command {
    let mut cmd = Command::new("terraform");
    cmd.current_dir(dir)
        // The machine's TF_CLI_CONFIG_FILE may name a missing file: use ours.
        .env("TF_CLI_CONFIG_FILE", rc)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_DATA_DIR")
        .env_remove("TF_WORKSPACE")
        .stdin(Stdio::null());
    cmd
}

fn run_terraform(dir: &Path, rc: &Path, args: &[&str], stdout: Option<&Path>) {
    let mut cmd = terraform(dir, rc);
    cmd.args(args).stderr(Stdio::inherit());
    match stdout {
        Some(path) => cmd.stdout(std::fs::File::create(path).expect("create output file")),
        None => cmd.stdout(Stdio::null()),
    };
    let start = Instant::now();
    let status = cmd.status().expect("run terraform");
    assert!(
        status.success(),
        "terraform {} failed in {}",
        args.join(" "),
        dir.display()
    );
    println!("  terraform {}: {:.1} s", args[0], start.elapsed().as_secs_f64());
}

/// The fixture directory (`main.tf`, state, `tfplan`, `plan.json`), generated once per
/// configuration; `None` when terraform is not installed.
fn fixtures() -> Option<(PathBuf, PathBuf)> {
    let version = Command::new("terraform")
        .arg("version")
        .env_remove("TF_CLI_CONFIG_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !version.is_ok_and(|s| s.success()) {
        return None;
    }
    let key = hex::encode(&Sha256::digest(CONFIG)[..6]);
    let dir = target_dir().join("bench-fixtures").join(format!("plan-comment-{key}"));
    let rc = dir.join("terraform.rc");
    let done = dir.join("complete");
    if done.exists() {
        return Some((dir, rc));
    }
    println!("generating the plan in {} (once per configuration)", dir.display());
    // Start clean: a half-generated directory (interrupted apply) has unknown state.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fixture dir");
    std::fs::write(dir.join("main.tf"), CONFIG).expect("main.tf");
    std::fs::write(&rc, "disable_checkpoint = true\n").expect("terraform.rc");
    run_terraform(&dir, &rc, &["init", "-input=false", "-no-color"], None);
    run_terraform(
        &dir,
        &rc,
        &[
            "apply",
            "-input=false",
            "-no-color",
            "-auto-approve",
            "-var",
            "phase=1",
            "-parallelism=20",
        ],
        None,
    );
    run_terraform(
        &dir,
        &rc,
        &[
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=false",
            "-var",
            "phase=2",
            "-out=tfplan",
        ],
        None,
    );
    run_terraform(&dir, &rc, &["show", "-json", "tfplan"], Some(&dir.join("plan.json")));
    std::fs::write(&done, "").expect("marker");
    Some((dir, rc))
}

/// One child's wall time and peak RSS (it succeeded: [`measure`] checks).
struct Measured {
    time: Duration,
    max_rss: u64,
}

/// Run `cmd` to the end with its output in `out` (or discarded), reaping it with `wait4` to
/// read its peak RSS. The bench holds nothing large, so the fork floor stays small.
fn measure(cmd: &mut Command, out: Option<&Path>) -> Measured {
    match out {
        Some(path) => cmd.stdout(std::fs::File::create(path).expect("output file")),
        None => cmd.stdout(Stdio::null()),
    };
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: reaps our own child and reads its resource usage; `child` is only dropped after.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let time = start.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    // Already reaped by `wait4`: dropping a `Child` neither waits nor signals.
    drop(child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed (status {status})"
    );
    Measured {
        time,
        // Linux reports kilobytes.
        max_rss: usage.ru_maxrss as u64 * 1024,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The environment of a local run: nothing that says CI, GitHub or a step, so the host
/// takes its local path (no pull request, the summary printed in the terminal report).
fn local(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if ["GITHUB_", "INPUT_", "RUNNER_", "TOLLGATE_"]
            .iter()
            .any(|p| key.starts_with(p))
            || key == "CI"
            || key == "ACT"
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.env("NO_COLOR", "1")
}

fn main() {
    if let Some(plan) = std::env::var_os(NATIVE_PLAN) {
        let plan = plan.to_string_lossy().into_owned();
        if std::env::var_os(NATIVE_STAGES).is_some() {
            native_stages(&plan);
        }
        native(&plan);
    }
    // `cargo test --all-targets` runs benches too, without `--bench`: generating the plan takes minutes, so that run
    // only checks that the bench builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("plan_comment: built; measure with `cargo bench -p tollgate --bench plan_comment`");
        return;
    }
    let Some((dir, rc)) = fixtures() else {
        println!("plan_comment bench skipped: `terraform` is not on PATH (it generates the plan)");
        return;
    };
    let plan = dir.join("plan.json");
    let plan_text = plan.display().to_string();
    let plan_size = std::fs::metadata(&plan).expect("plan.json").len();
    let cache = dir.join("compile-cache");
    let me = std::env::current_exe().expect("current exe");

    let component = || {
        let mut cmd = Command::new(TOLLGATE);
        local(&mut cmd)
            .env("TOLLGATE_CACHE_DIR", &cache)
            .args(["run", "plan-comment", "--with"])
            .arg(format!("plan={plan_text}"))
            .args(["--with", &format!("workspace={WORKSPACE}"), "--allow-read"])
            .arg(&dir);
        cmd
    };
    let native_cmd = || {
        let mut cmd = Command::new(&me);
        local(&mut cmd).env(NATIVE_PLAN, &plan);
        cmd
    };
    let show = || {
        let mut cmd = terraform(&dir, &rc);
        cmd.args(["show", "-no-color", "tfplan"]);
        cmd
    };

    // Warm-up: compiles and caches the component, and checks each path did the work.
    let outputs = dir.join("outputs");
    std::fs::create_dir_all(&outputs).expect("outputs dir");
    measure(&mut component(), Some(&outputs.join("component.txt")));
    measure(&mut native_cmd(), Some(&outputs.join("native.txt")));
    measure(&mut show(), Some(&outputs.join("terraform-show.txt")));
    for name in ["component.txt", "native.txt"] {
        let text = std::fs::read_to_string(outputs.join(name)).expect("output");
        assert!(
            text.contains("not posted: this run has no pull request"),
            "{name}: the plugin did not take the no-pull-request path"
        );
    }

    // Interleaved, so drift in the machine's load spreads over all three.
    let mut samples: [Vec<Measured>; 4] = Default::default();
    for _ in 0..RUNS {
        samples[0].push(measure(&mut Command::new("true"), None));
        samples[1].push(measure(&mut component(), None));
        samples[2].push(measure(&mut native_cmd(), None));
        samples[3].push(measure(&mut show(), None));
    }
    let [floor, comp, nat, tf] = samples.map(|s| {
        let rss = s.iter().map(|m| m.max_rss).max().unwrap_or(0);
        (median(s.into_iter().map(|m| m.time).collect()), rss)
    });

    let resources = std::fs::read_to_string(outputs.join("component.txt"))
        .ok()
        .and_then(|t| t.lines().find(|l| l.contains("to create")).map(str::to_string))
        .unwrap_or_default();
    println!("\n## plan-comment on a 10,000-resource plan ({RUNS} runs each, median time, max peak RSS)");
    println!(
        "plan.json: {} ({plan_size} bytes); {}",
        mib(plan_size),
        resources.trim()
    );
    println!("{:<44} {:>9} {:>10} {:>9}", "what", "time", "peak RSS", "RSS/plan");
    let row = |what: &str, (t, rss): (Duration, u64)| {
        println!(
            "{what:<44} {:>9} {:>10} {:>8.2}x",
            ms(t),
            mib(rss),
            rss as f64 / plan_size as f64
        );
    };
    row("`true` (fork floor)", floor);
    row("component: tollgate run plan-comment", comp);
    row("native: same plugin code under MockHost", nat);
    row("terraform show -no-color tfplan", tf);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let vs_native = ratio(comp.0, nat.0);
    let vs_show = ratio(comp.0, tf.0);
    let rss_ratio = comp.1 as f64 / plan_size as f64;
    println!(
        "component / native time:          {vs_native:>6.2}x  (target <= 1.5x: {})",
        verdict(vs_native <= 1.5)
    );
    println!(
        "component / terraform show time:  {vs_show:>6.2}x  (target < 1x: {})",
        verdict(vs_show < 1.0)
    );
    println!(
        "component peak RSS / plan.json:   {rss_ratio:>6.2}x  (target <= 4x: {})",
        verdict(rss_ratio <= 4.0)
    );

    println!("\n## where the bytes go");
    println!("native run by stage (same code; time, and heap from a counting allocator):");
    let mut stages = native_cmd();
    stages.env(NATIVE_STAGES, "1");
    let text = stages.output().expect("native stages");
    assert!(text.status.success(), "native stages failed");
    print!("{}", String::from_utf8_lossy(&text.stdout));
    let least = least_memory(&component);
    println!(
        "smallest --memory the component runs in: {} ({:.2}x plan.json)",
        mib(least),
        least as f64 / plan_size as f64
    );
}

/// The smallest `--memory` (to 1 MiB) under which the component still succeeds: the guest's
/// linear memory at its peak, measured from outside.
fn least_memory(component: &dyn Fn() -> Command) -> u64 {
    let passes = |bytes: u64| {
        let mut cmd = component();
        cmd.args(["--memory", &format!("{}MiB", bytes >> 20)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn")
            .success()
    };
    let (mut low, mut high) = (1u64 << 20, 1u64 << 30);
    assert!(passes(high), "the component fails even with 1 GiB");
    while high - low > 1 << 20 {
        let mid = (low + high) / 2 / (1 << 20) * (1 << 20);
        if passes(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    high
}
