//! A contender for the lock contention tests: `state-lock`'s own operations and backends,
//! run in a loop inside one component so 16 processes can make thousands of rounds.
//!
//! Each round acquires the lock (waiting), records its critical section as wall-clock
//! nanoseconds (`enter exit`), holds it for `hold`, and releases it. The log, one line per
//! round, is the `sections` output; a failed release is an error, so a lost release fails
//! the run. The test checks that no two sections, across every contender, overlap.

use state_lock::backend::Backend;
use state_lock::backend::file::FileBackend;
use state_lock::backend::github::GithubBackend;
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
                input("backend", ValueKind::String, "`file` or `github`").required(),
                input("key", ValueKind::String, "the lock key").required(),
                input("path", ValueKind::String, "the file backend's directory"),
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
