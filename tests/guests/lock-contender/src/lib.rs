//! A contender for the lock contention tests: `state-lock`'s own operations and backends,
//! run in a loop inside one component so 16 processes can make thousands of rounds.
//!
//! Each round acquires the lock (waiting), records its critical section as wall-clock
//! nanoseconds (`enter exit`), holds it for `hold`, and releases it. The log, one line per
//! round, is the `sections` output; a failed release is an error, so a lost release fails
//! the run. The test checks that no two sections, across every contender, overlap.

use state_lock::backend::Backend;
use state_lock::backend::aws::{self, Client};
use state_lock::backend::dynamodb::DynamoBackend;
use state_lock::backend::file::FileBackend;
use state_lock::backend::github::GithubBackend;
use state_lock::backend::s3::S3Backend;
use state_lock::lease::{Judge, Lease, now_ms};
use state_lock::ops::{Lock, Wait};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_sdk::runtime::{Instant, block_on, sleep};
use tollgate_sdk::{
    Capability, GithubPermission, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, ValueKind,
    input, output, request, set_output,
};

struct Contender;

fn wall_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

impl Plugin for Contender {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "lock-contender".into(),
            version: "0.1.0".into(),
            summary: "Acquires and releases a lock in a loop, recording its critical sections.".into(),
            inputs: vec![
                input("backend", ValueKind::String, "`file`, `github`, `dynamodb` or `s3`").required(),
                input("key", ValueKind::String, "the lock key").required(),
                input("path", ValueKind::String, "the file backend's directory"),
                input("table", ValueKind::String, "the dynamodb backend's table"),
                input("bucket", ValueKind::String, "the s3 backend's bucket"),
                input("endpoint", ValueKind::String, "the dynamodb or s3 endpoint"),
                input("rounds", ValueKind::Number, "acquire/release rounds").required(),
                input("hold", ValueKind::Duration, "how long each section lasts"),
                input("poll", ValueKind::Duration, "how often a waiting acquire looks again"),
            ],
            outputs: vec![output(
                "sections",
                "one `enter exit handover` line per round (ns, ns, ns)",
            )],
            capabilities: vec![
                request(
                    Capability::Github(GithubPermission::ContentsWrite),
                    "the github backend",
                )
                .optional(),
                request(Capability::Write, "the file backend").optional(),
                request(Capability::Net("http://*:*".into()), "the aws backends").optional(),
                request(Capability::Secret(aws::ACCESS_KEY_SECRET.into()), "the aws backends").optional(),
                request(Capability::Secret(aws::SECRET_KEY_SECRET.into()), "the aws backends").optional(),
            ],
        }
    }

    fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        let key: String = inputs.require("key")?;
        let rounds: u64 = inputs.require("rounds")?;
        let hold = inputs.duration("hold")?.unwrap_or(Duration::from_millis(1));
        let poll = inputs.duration("poll")?.unwrap_or(Duration::from_millis(10));
        let backend: String = inputs.require("backend")?;
        let sections = match backend.as_str() {
            "file" => {
                let path: String = inputs.require("path")?;
                let mut b = FileBackend::new(std::path::Path::new(&path), &key)
                    .map_err(|e| PluginError::Peer(e.to_string()))?;
                contend(&mut b, rounds, hold, poll)?
            }
            "github" => contend(&mut GithubBackend::new(&key), rounds, hold, poll)?,
            "dynamodb" | "s3" => {
                let endpoint: String = inputs.require("endpoint")?;
                let creds = aws::credentials(&backend).map_err(|e| PluginError::Denied(e.to_string()))?;
                let service = if backend == "s3" { "s3" } else { "dynamodb" };
                let client = Client::new(service, service, "us-east-1", &endpoint, creds)
                    .map_err(|e| tollgate_sdk::invalid_input("endpoint", e))?;
                if backend == "s3" {
                    let bucket: String = inputs.require("bucket")?;
                    contend(&mut S3Backend::new(client, &bucket, "", &key, true), rounds, hold, poll)?
                } else {
                    let table: String = inputs.require("table")?;
                    contend(&mut DynamoBackend::new(client, &table, &key), rounds, hold, poll)?
                }
            }
            other => return Err(tollgate_sdk::invalid_input("backend", format!("`{other}`"))),
        };
        set_output("sections", &sections.join("\n"))?;
        Ok(RunReport {
            status: Status::Passed,
            message: format!("{rounds} rounds"),
        })
    }
}

fn contend<B: Backend>(
    backend: &mut B,
    rounds: u64,
    hold: Duration,
    poll: Duration,
) -> Result<Vec<String>, PluginError> {
    let judge = Judge {
        max_skew: Duration::from_secs(600),
    };
    let mut lock = Lock::new(backend, judge);
    let mut sections = Vec::new();
    for round in 0..rounds {
        let token = state_lock::token();
        let now = now_ms();
        let mine = Lease {
            holder: format!("contender round {round}"),
            token: token.clone(),
            run: None,
            pull_request: None,
            sha: None,
            acquired_ms: now,
            renewed_ms: now,
            ttl_ms: 120_000,
        };
        let asked = Instant::now();
        let wait = Wait {
            timeout: Duration::from_secs(600),
            poll,
        };
        lock.acquire(mine, wait, &mut |_, _| {})
            .map_err(|e| PluginError::Peer(format!("round {round}: acquire: {e:?}")))?;
        let enter = wall_ns();
        let waited = asked.elapsed();
        block_on(sleep(hold));
        let exit = wall_ns();
        lock.release(&token, "contender")
            .map_err(|e| PluginError::Peer(format!("round {round}: release lost: {e:?}")))?;
        sections.push(format!("{enter} {exit} {}", waited.as_nanos()));
    }
    Ok(sections)
}

tollgate_sdk::export_plugin!(Contender);
