//! `state-lock` end to end: the builtin through the real binary on the `file` backend and on
//! the `github` backend against the GitHub peer; contention between 16 processes (the
//! `lock-contender` guest runs the plugin's own operations in a loop) with every critical
//! section checked for overlap; a holder killed mid-hold, a pipeline stopped by SIGTERM,
//! injected GitHub faults, clocks five minutes off, and bad input.

use crate::github_peer::{Peer, REPOSITORY, TOKEN};
use crate::state_lock_aws::Moto;
use crate::support::{Run, guest, run_cmd, run_within, tollgate};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Where the lock lives for one test.
pub(crate) enum Where<'a> {
    File(&'a Path),
    Github(&'a Peer),
    Dynamodb(&'a Moto),
    S3(&'a Moto),
}

impl Where<'_> {
    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Where::File(_) => "file",
            Where::Github(_) => "github",
            Where::Dynamodb(_) => "dynamodb",
            Where::S3(_) => "s3",
        }
    }

    /// A pipeline step's backend inputs (YAML mapping entries) and its `allow:` mapping.
    fn step_yaml(&self) -> (String, String) {
        let backend = self.backend();
        match self {
            Where::File(dir) => (
                format!("backend: file, path: \"{}\"", dir.display()),
                format!("{{ write: [\"{}\"] }}", dir.display()),
            ),
            Where::Github(_) => ("backend: github".into(), "{ github: [contents:write] }".into()),
            Where::Dynamodb(moto) | Where::S3(moto) => (
                format!(
                    "backend: {backend}, table: {}, bucket: {}, endpoint: \"{}\"",
                    moto.table,
                    moto.bucket,
                    moto.endpoint()
                ),
                format!(
                    "{{ net: [\"{}\"], secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY] }}",
                    moto.endpoint()
                ),
            ),
        }
    }

    /// The environment a process needs to reach the backend (token, credentials).
    fn env(&self, cmd: &mut tokio::process::Command) {
        match self {
            Where::File(_) => {}
            Where::Github(peer) => {
                cmd.env("GITHUB_API_URL", peer.url(""))
                    .env("GITHUB_TOKEN", TOKEN)
                    .env("GITHUB_REPOSITORY", REPOSITORY);
            }
            Where::Dynamodb(moto) | Where::S3(moto) => {
                cmd.env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
                    .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
                    .env_remove("AWS_SESSION_TOKEN");
            }
        }
    }

    /// The backend's inputs, grants and environment on `cmd`.
    pub(crate) fn apply(&self, cmd: &mut tokio::process::Command) {
        cmd.args(["--with", &format!("backend={}", self.backend())]);
        match self {
            Where::File(dir) => {
                cmd.args(["--with", &format!("path={}", dir.display())])
                    .arg("--allow-write")
                    .arg(dir);
            }
            Where::Github(peer) => {
                cmd.args(["--allow-github", "contents:write"])
                    .env("GITHUB_API_URL", peer.url(""))
                    .env("GITHUB_TOKEN", TOKEN)
                    .env("GITHUB_REPOSITORY", REPOSITORY);
            }
            Where::Dynamodb(moto) => {
                cmd.args(["--with", &format!("table={}", moto.table)]);
                moto.apply(cmd);
            }
            Where::S3(moto) => {
                cmd.args(["--with", &format!("bucket={}", moto.bucket)]);
                moto.apply(cmd);
            }
        }
    }
}

/// `tollgate run state-lock --json` on `at` with these `--with` pairs.
pub(crate) fn lock_cmd(at: &Where, with: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = ungranted(with);
    at.apply(&mut cmd);
    cmd
}

/// `tollgate run state-lock --json` with these `--with` pairs and no backend grant at all.
pub(crate) fn ungranted(with: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tollgate();
    cmd.args(["run", "state-lock", "--json"]);
    for (k, v) in with {
        cmd.arg("--with").arg(format!("{k}={v}"));
    }
    cmd
}

pub(crate) async fn lock(at: &Where<'_>, with: &[(&str, &str)]) -> Run {
    run_cmd(&mut lock_cmd(at, with)).await
}

pub(crate) fn out(run: &Run, name: &str) -> String {
    run.json()["outputs"][name].as_str().unwrap_or_default().to_string()
}

pub(crate) fn message(run: &Run) -> String {
    run.json()["message"].as_str().unwrap_or_default().to_string()
}

/// Acquire, see it held, be refused by a second acquirer and by a stranger's release, release,
/// and acquire again: the lifecycle every backend must get right.
pub(crate) async fn lifecycle(at: Where<'_>) {
    let key = "openclaw/us-east";
    let first = lock(
        &at,
        &[
            ("operation", "acquire"),
            ("key", key),
            ("holder", "plan of PR 7"),
            ("ttl", "10m"),
        ],
    )
    .await;
    assert_eq!(first.code, 0, "{first:#?}");
    let token = out(&first, "token");
    assert_eq!(token.len(), 32, "{first:#?}");
    assert_eq!(out(&first, "held"), "true");

    let status = lock(&at, &[("operation", "status"), ("key", key)]).await;
    assert_eq!(status.code, 0, "{status:#?}");
    assert_eq!(out(&status, "holder"), "plan of PR 7");
    assert_eq!(out(&status, "token"), "", "status never reveals the token");

    let second = lock(&at, &[("operation", "acquire"), ("key", key), ("holder", "PR 8")]).await;
    assert_eq!(second.code, 1, "a held lock fails the second acquire: {second:#?}");
    assert!(
        message(&second).contains("held by plan of PR 7"),
        "names the holder: {second:#?}"
    );
    assert_eq!(out(&second, "token"), "");

    let stranger = lock(
        &at,
        &[("operation", "release"), ("key", key), ("token", "0123456789abcdef")],
    )
    .await;
    assert_eq!(stranger.code, 1, "{stranger:#?}");
    assert!(message(&stranger).contains("refused"), "{stranger:#?}");
    let still = lock(&at, &[("operation", "status"), ("key", key)]).await;
    assert_eq!(
        out(&still, "holder"),
        "plan of PR 7",
        "a refused release changes nothing"
    );

    let released = lock(&at, &[("operation", "release"), ("key", key), ("token", &token)]).await;
    assert_eq!(released.code, 0, "{released:#?}");
    let again = lock(&at, &[("operation", "acquire"), ("key", key), ("holder", "PR 8")]).await;
    assert_eq!(again.code, 0, "{again:#?}");
    assert_ne!(out(&again, "token"), token, "every lease has its own token");

    // Force-release names the holder it ended.
    let forced = lock(
        &at,
        &[("operation", "force-release"), ("key", key), ("reason", "runner died")],
    )
    .await;
    assert_eq!(forced.code, 0, "{forced:#?}");
    assert_eq!(out(&forced, "previous-holder"), "PR 8");
    assert!(
        forced.stderr.contains("runner died"),
        "logged with its reason: {forced:#?}"
    );
    let stale = lock(
        &at,
        &[("operation", "renew"), ("key", key), ("token", &out(&again, "token"))],
    )
    .await;
    assert_ne!(stale.code, 0, "a force-released lease cannot be renewed: {stale:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_backend_grants_refuses_releases_and_forces() {
    let dir = tempfile::tempdir().unwrap();
    lifecycle(Where::File(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_github_backend_keeps_the_lease_in_a_ref() {
    let peer = Peer::start().await;
    lifecycle(Where::Github(&peer)).await;
    let refs = &peer.repo().await["refs"];
    // The builtin's own namespace: a registry plugin calling itself `state-lock` gets another.
    assert!(
        refs.to_string()
            .contains("refs/tollgate/state-lock/locks/openclaw/us-east"),
        "{refs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let at = Where::File(dir.path());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("operation", "acquire"), ("key", "../etc")], "not a lock key"),
        (&[("operation", "acquire"), ("key", "a b")], "not a lock key"),
        (&[("operation", "grab"), ("key", "k")], "not an operation"),
        (&[("operation", "release"), ("key", "k")], "lease token"),
        (&[("operation", "force-release"), ("key", "k")], "reason"),
        (&[("operation", "acquire"), ("key", "k"), ("ttl", "soon")], "duration"),
    ];
    for (with, says) in cases {
        let run = lock(&at, with).await;
        assert_eq!(run.code, 2, "{with:?}: {run:#?}");
        assert!(
            format!("{}{}", run.stdout, run.stderr).contains(says),
            "{with:?} should say `{says}`: {run:#?}"
        );
    }
    // An unknown backend.
    let mut cmd = ungranted(&[("operation", "acquire"), ("key", "k")]);
    cmd.args(["--with", "backend=etcd"]);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stdout.contains("`etcd` is not a lock backend"), "{run:#?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "bad input touched nothing"
    );
    // The file backend without the grant: denied, naming the flag; nothing written.
    let mut cmd = ungranted(&[("operation", "acquire"), ("key", "k")]);
    cmd.args(["--with", "backend=file", "--with"])
        .arg(format!("path={}", dir.path().display()));
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stdout.contains("allow-write"), "{run:#?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
    // The github backend without `contents:write`: denied, naming the grant.
    let peer = Peer::start().await;
    let mut cmd = ungranted(&[("operation", "acquire"), ("key", "k")]);
    cmd.env("GITHUB_API_URL", peer.url(""))
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPOSITORY);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stdout.contains("contents:write"), "{run:#?}");
    assert!(peer.requests().await.is_empty(), "nothing reached GitHub");
}

/// Critical sections `(enter, exit)` in ns and each acquire's wait, from every contender.
pub(crate) struct Sections {
    pub(crate) all: Vec<(u128, u128)>,
}

impl Sections {
    /// No two sections overlap: sorted by entry, each starts after the previous one ended.
    fn assert_exclusive(&mut self) {
        self.all.sort();
        for pair in self.all.windows(2) {
            assert!(
                pair[1].0 > pair[0].1,
                "two holders at once: {:?} and {:?} overlap",
                pair[0],
                pair[1]
            );
        }
    }

    /// Handover latency: from one section's end to the next one's start.
    fn handovers(&self) -> Vec<Duration> {
        let mut gaps: Vec<Duration> = self
            .all
            .windows(2)
            .map(|p| Duration::from_nanos((p[1].0 - p[0].1) as u64))
            .collect();
        gaps.sort();
        gaps
    }
}

/// `contenders` processes × `rounds` acquire/hold/release rounds on one key; every release
/// must succeed (the guest fails its run on a lost one) and every contender must finish.
/// The contention test every backend passes: 16 processes × 200 rounds.
pub(crate) async fn sixteen_by_two_hundred(at: &Where<'_>, poll: &str) {
    let s = contend(at, 16, 200, poll).await;
    assert_eq!(s.all.len(), 16 * 200);
}

pub(crate) async fn contend(at: &Where<'_>, contenders: usize, rounds: usize, poll: &str) -> Sections {
    let lock_contender = guest("lock-contender");
    let started = Instant::now();
    let tasks: Vec<_> = (0..contenders)
        .map(|_| {
            let mut cmd = tollgate();
            cmd.args(["run", lock_contender, "--json", "--timeout", "40m"])
                .args(["--with", "key=contended", "--with", &format!("rounds={rounds}")])
                .args(["--with", &format!("poll={poll}")]);
            at.apply(&mut cmd);
            // A hang detector, not a speed target: 16 × 200 rounds on the GitHub peer take ~13 min
            // on two loaded cores, and the assertions are about exclusivity, not time.
            tokio::spawn(async move { run_within(&mut cmd, Duration::from_secs(2400)).await })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let run = task.await.unwrap();
        assert_eq!(
            run.code, 0,
            "every contender is served and every release lands: {run:#?}"
        );
        let lines = out(&run, "sections");
        let parsed: Vec<(u128, u128)> = lines
            .lines()
            .map(|l| {
                let mut f = l.split(' ').map(|n| n.parse::<u128>().unwrap());
                (f.next().unwrap(), f.next().unwrap())
            })
            .collect();
        assert_eq!(parsed.len(), rounds, "{run:#?}");
        all.extend(parsed);
    }
    let mut sections = Sections { all };
    sections.assert_exclusive();
    let gaps = sections.handovers();
    eprintln!(
        "state-lock {} contention: {contenders} contenders × {rounds} rounds in {:.1?}; handover median {:.1?}, p99 {:.1?}",
        at.backend(),
        started.elapsed(),
        gaps[gaps.len() / 2],
        gaps[gaps.len() * 99 / 100]
    );
    sections
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_contenders_never_hold_the_file_lock_together() {
    let dir = tempfile::tempdir().unwrap();
    sixteen_by_two_hundred(&Where::File(dir.path()), "5ms").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_contenders_never_hold_the_github_lock_together() {
    let peer = Peer::start().await;
    sixteen_by_two_hundred(&Where::Github(&peer), "200ms").await;
}

/// GitHub failing one call in five — server errors, resets, rate limits, and answers lost after
/// GitHub moved the ref — never yields two holders or a lost release.
#[tokio::test(flavor = "multi_thread")]
async fn github_faults_never_yield_two_holders() {
    let peer = Peer::start().await;
    peer.faults(json!({
        "rate": 0.2,
        "kinds": ["500", "502", "reset", "lost-response", "lost-response", "secondary-rate-limit"],
        "seed": 10,
        "retry_after_seconds": 1,
        // Never more faults in a row on one call than the client's six attempts can outlast:
        // every contender must be served whatever order the calls interleave in.
        "max_consecutive": 3,
    }))
    .await;
    let s = contend(&Where::Github(&peer), 4, 15, "20ms").await;
    assert_eq!(s.all.len(), 4 * 15);
    let stats = peer.state().await["faults"]["stats"].clone();
    assert!(stats["injected"].as_u64().unwrap() >= 10, "faults fired: {stats}");
}

/// A pipeline that takes the lock on `at` and then works (a long `run:` step), with
/// `finally:` releasing it.
fn holding_pipeline(dir: &Path, at: &Where) -> std::path::PathBuf {
    let file = dir.join("hold.yml");
    let (backend, allow) = at.step_yaml();
    std::fs::write(
        &file,
        format!(
            r#"
name: hold
steps:
  - id: lock
    uses: state-lock
    # 6s: long enough that a loaded machine still checks "not before the TTL" inside it.
    with: {{ operation: acquire, key: seed/us-east, {backend}, ttl: 6s, holder: the pipeline }}
    allow: {allow}
  - id: work
    run: echo started > "{marker}"; sleep 120
finally:
  - id: unlock
    uses: state-lock
    with: {{ operation: release, key: seed/us-east, {backend}, token: "${{{{ steps.lock.outputs.token }}}}" }}
    allow: {allow}
"#,
            marker = dir.join("started").display(),
        ),
    )
    .unwrap();
    file
}

/// Start the holding pipeline in its own process group; return once its work step runs.
async fn start_holder(dir: &Path, at: &Where<'_>) -> tokio::process::Child {
    let file = holding_pipeline(dir, at);
    let mut cmd = tollgate();
    at.env(&mut cmd);
    cmd.args(["pipeline", "run"]).arg(&file);
    if matches!(at, Where::Dynamodb(_) | Where::S3(_)) {
        // A pipeline reads only the secrets it is given by name.
        cmd.args(["--secret", "AWS_ACCESS_KEY_ID", "--secret", "AWS_SECRET_ACCESS_KEY"]);
    }
    cmd.current_dir(dir)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("holder.log")).unwrap());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("started").exists() {
        let log = || std::fs::read_to_string(dir.join("holder.log")).unwrap_or_default();
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "{}: the pipeline took the lock within 60s:\n{}",
            at.backend(),
            log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

/// The four backends, on a fresh directory, GitHub peer and moto.
fn every_backend<'a>(dir: &'a Path, peer: &'a Peer, moto: &'a Moto) -> [Where<'a>; 4] {
    [
        Where::File(dir),
        Where::Github(peer),
        Where::Dynamodb(moto),
        Where::S3(moto),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holder_is_taken_over_after_its_ttl_and_not_before() {
    let (lock_dir, peer, moto) = (tempfile::tempdir().unwrap(), Peer::start().await, Moto::start().await);
    for at in every_backend(lock_dir.path(), &peer, &moto) {
        let backend = at.backend();
        let dir = tempfile::tempdir().unwrap();
        let mut holder = start_holder(dir.path(), &at).await;
        let held_since = Instant::now();
        // SIGKILL: no `finally`, the lease stays behind.
        let pid = holder.id().unwrap() as i32;
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        holder.wait().await.unwrap();
        // Not before the TTL: a fail-fast acquire right away is refused, naming the holder.
        let early = lock(&at, &[("operation", "acquire"), ("key", "seed/us-east")]).await;
        assert_eq!(early.code, 1, "{backend}: {early:#?}");
        assert!(message(&early).contains("the pipeline"), "{backend}: {early:#?}");
        // After it: a waiting acquire takes it over and says whose lease it ended.
        let late = lock(
            &at,
            &[
                ("operation", "acquire"),
                ("key", "seed/us-east"),
                ("wait", "30s"),
                ("poll", "100ms"),
            ],
        )
        .await;
        assert_eq!(late.code, 0, "{backend}: {late:#?}");
        assert!(
            held_since.elapsed() >= Duration::from_secs(6),
            "{backend}: taken over only after the 6s TTL: {:?}",
            held_since.elapsed()
        );
        assert_eq!(out(&late, "previous-holder"), "the pipeline", "{backend}");
        assert!(late.stderr.contains("took over"), "{backend}: {late:#?}");
        release_seed_lock(&at, &late).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_releases_the_lock_through_finally() {
    let (lock_dir, peer, moto) = (tempfile::tempdir().unwrap(), Peer::start().await, Moto::start().await);
    for at in every_backend(lock_dir.path(), &peer, &moto) {
        let backend = at.backend();
        let dir = tempfile::tempdir().unwrap();
        let mut holder = start_holder(dir.path(), &at).await;
        unsafe { libc::kill(holder.id().unwrap() as i32, libc::SIGTERM) };
        let status = tokio::time::timeout(Duration::from_secs(60), holder.wait())
            .await
            .expect("the pipeline ends after SIGTERM")
            .unwrap();
        assert!(!status.success(), "{backend}");
        // Released at once, not by TTL: a fail-fast acquire succeeds immediately.
        let next = lock(&at, &[("operation", "acquire"), ("key", "seed/us-east")]).await;
        assert_eq!(next.code, 0, "{backend}: {next:#?}");
        assert_eq!(
            out(&next, "previous-holder"),
            "",
            "{backend}: released, not taken over: {next:#?}"
        );
        release_seed_lock(&at, &next).await;
    }
}

/// Release `seed/us-east` with the token `acquired` got, as the next test round needs it free.
async fn release_seed_lock(at: &Where<'_>, acquired: &Run) {
    let token = out(acquired, "token");
    let done = lock(
        at,
        &[("operation", "release"), ("key", "seed/us-east"), ("token", &token)],
    )
    .await;
    assert_eq!(done.code, 0, "{}: {done:#?}", at.backend());
}

/// A contender whose clock is five minutes ahead or behind never takes a live lease.
#[tokio::test(flavor = "multi_thread")]
async fn a_clock_skewed_contender_never_takes_a_live_lease() {
    if std::process::Command::new("faketime")
        .arg("-f")
        .arg("+0")
        .arg("true")
        .status()
        .is_err()
    {
        panic!("faketime is needed (scripts/test installs the Debian package `faketime`)");
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start().await;
    let moto = Moto::start().await;
    for at in every_backend(dir.path(), &peer, &moto) {
        let held = lock(
            &at,
            &[
                ("operation", "acquire"),
                ("key", "skew"),
                ("ttl", "2m"),
                ("holder", "honest"),
            ],
        )
        .await;
        assert_eq!(held.code, 0, "{held:#?}");
        for skew in ["+5m", "-5m", "+10m"] {
            let cmd = lock_cmd(&at, &[("operation", "acquire"), ("key", "skew")]);
            let std = cmd.as_std();
            let mut skewed = tokio::process::Command::new("faketime");
            skewed.arg("-f").arg(skew).arg(std.get_program()).args(std.get_args());
            for (k, v) in std.get_envs() {
                match v {
                    Some(v) => skewed.env(k, v),
                    None => skewed.env_remove(k),
                };
            }
            // Durations (timeouts, the epoch) stay true; only the wall clock is off.
            skewed.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
            let run = run_cmd(&mut skewed).await;
            assert_eq!(run.code, 1, "{} {skew}: {run:#?}", at.backend());
            assert!(
                message(&run).contains("held by honest"),
                "{} {skew}: {run:#?}",
                at.backend()
            );
        }
    }
}

/// `examples/gitops-terraform/run.sh` with this binary, its output going to `log`.
fn seed_flow(log: &Path) -> tokio::process::Command {
    let script = crate::guests::workspace_root().join("examples/gitops-terraform/run.sh");
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(script)
        .env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
        .env("TOLLGATE_CACHE_DIR", crate::support::cache_dir())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TF_CLI_ARGS_apply")
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

/// The seed flow holds each region's lock from plan to apply and releases it on success, on
/// failure and on cancellation.
#[tokio::test(flavor = "multi_thread")]
async fn the_seed_flow_holds_the_lock_from_plan_to_apply_and_always_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let regions = ["us-east", "eu-west", "ap-south"];

    let log = dir.path().join("success.log");
    let status = seed_flow(&log).status().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    for region in regions {
        let held = text
            .find(&format!("lock infra/{region} is held by"))
            .unwrap_or_else(|| panic!("{text}"));
        let applied = held + text[held..].find("pipeline apply-region: success").expect("applied");
        let released = text.find(&format!("released lock infra/{region}")).expect("released");
        assert!(
            held < applied && applied < released,
            "held through apply, then released: {text}"
        );
    }

    // terraform refuses every apply: the first apply fails and every lock is still released.
    let log = dir.path().join("failure.log");
    let status = seed_flow(&log)
        .env("TF_CLI_ARGS_apply", "-no-such-flag")
        .status()
        .await
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{text}");
    assert!(text.contains("pipeline apply-region: failure"), "{text}");
    for region in regions {
        assert!(
            text.contains(&format!("released lock infra/{region}")),
            "{region}: {text}"
        );
    }

    // Cancelled while planning the second region: the lock already taken is released.
    let log = dir.path().join("cancel.log");
    let mut child = seed_flow(&log).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("== lock and plan eu-west")
    {
        assert!(Instant::now() < deadline, "the flow reached eu-west within 120s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unsafe { libc::kill(-(child.id().unwrap() as i32), libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .expect("the flow ends after SIGTERM")
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{text}");
    assert!(text.contains("released lock infra/us-east"), "{text}");
    assert!(
        !text.contains("== verify and apply"),
        "cancelled before applying: {text}"
    );
}

/// A later job releases with the token an earlier one stored as a signed artifact; a tampered
/// token artifact is refused and the lock stays held.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_job_releases_with_the_token_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let locks = tempfile::tempdir().unwrap();
    let at = Where::File(locks.path());
    let store = dir.path().join("store");
    let mut keygen = tollgate();
    keygen.current_dir(dir.path()).args(["keygen", "--out", "job"]);
    assert_eq!(run_cmd(&mut keygen).await.code, 0);
    let signing = ["--signing-key", "job.key", "--public-key", "job.pub", "--artifacts"];
    let job = |with: &[(&str, &str)]| {
        let mut cmd = lock_cmd(&at, with);
        cmd.current_dir(dir.path()).args(signing).arg(&store);
        cmd
    };
    let plan_job = run_cmd(&mut job(&[
        ("operation", "acquire"),
        ("key", "infra/us-east"),
        ("token-artifact", "us-east/lock-token"),
    ]))
    .await;
    assert_eq!(plan_job.code, 0, "{plan_job:#?}");

    // Tampered: one byte of the stored token changes; the release is refused before it reads it.
    let objects = store.join("objects/sha256");
    let object = std::fs::read_dir(&objects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == out(&plan_job, "token").as_bytes())
        .expect("the token is stored");
    let original = std::fs::read(&object).unwrap();
    let mut tampered = original.clone();
    tampered[0] ^= 1;
    std::fs::write(&object, &tampered).unwrap();
    let refused = run_cmd(&mut job(&[
        ("operation", "release"),
        ("key", "infra/us-east"),
        ("token", "artifact:us-east/lock-token"),
    ]))
    .await;
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stdout.contains("does not verify"), "{refused:#?}");
    let status = lock(&at, &[("operation", "status"), ("key", "infra/us-east")]).await;
    assert_eq!(out(&status, "held"), "true", "still held: {status:#?}");

    std::fs::write(&object, &original).unwrap();
    let apply_job = run_cmd(&mut job(&[
        ("operation", "release"),
        ("key", "infra/us-east"),
        ("token", "artifact:us-east/lock-token"),
    ]))
    .await;
    assert_eq!(apply_job.code, 0, "{apply_job:#?}");
    assert!(
        message(&apply_job).contains("released lock infra/us-east"),
        "{apply_job:#?}"
    );
}
