//! Pipelines: real terraform in `run:` steps, signed artifacts verified before apply,
//! `finally:` after a failure and after SIGTERM, fan-out that reports every item.

use crate::support::{Run, run_cmd, tollgate};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch directory holding `pipeline.yml` with `text`.
fn pipeline(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.yml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

async fn run_pipeline(dir: &Path, file: &Path, extra: &[&str]) -> Run {
    let mut cmd = tollgate();
    cmd.current_dir(dir)
        .args(["pipeline", "run", "--json"])
        .arg(file)
        .args(extra);
    run_cmd(&mut cmd).await
}

fn steps(run: &Run) -> Vec<(String, String)> {
    run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_middle_step_skips_the_rest_and_still_runs_finally() {
    let (dir, file) = pipeline(
        r#"
steps:
  - id: first
    run: echo "greeting=hello" >> "$TOLLGATE_OUTPUT"
  - id: broken
    run: echo "about to fail"; exit 3
  - id: never
    run: touch never-ran
finally:
  - id: cleanup
    run: echo "${{ steps.first.outputs.greeting }} ${{ steps.broken.outcome }}" > finally-ran
"#,
    );
    let r = run_pipeline(dir.path(), &file, &[]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(
        steps(&r),
        [
            ("first", "success"),
            ("broken", "failure"),
            ("never", "skipped"),
            ("cleanup", "success")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("finally-ran")).unwrap().trim(),
        "hello failure"
    );
    assert!(!dir.path().join("never-ran").exists());
    let message = r.json()["steps"][1]["message"].as_str().unwrap().to_string();
    assert_eq!(message, "exited with 3: about to fail");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_pipeline_runs_finally() {
    let (dir, file) = pipeline(
        r#"
steps:
  - id: long
    run: touch started; sleep 60
  - id: after
    run: touch after-ran
finally:
  - id: release
    run: echo released > lock-released
"#,
    );
    let mut cmd = tollgate();
    cmd.current_dir(dir.path())
        .args(["pipeline", "run", "--json"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let started = dir.path().join("started");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(tokio::time::Instant::now() < deadline, "the first step never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("tollgate stopped within 30 s of SIGTERM, not after the 60 s sleep")
        .unwrap();
    let r = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lock-released"))
            .unwrap()
            .trim(),
        "released"
    );
    assert!(!dir.path().join("after-ran").exists());
    assert_eq!(
        steps(&r),
        [("long", "cancelled"), ("after", "skipped"), ("release", "success")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_reports_every_region_even_when_one_fails() {
    let (dir, file) = pipeline(
        r#"
steps:
  - id: check
    matrix: { region: [us-east, eu-west, ap-south] }
    max-parallel: 2
    run: |
      echo "checked=${{ matrix.region }}" >> "$TOLLGATE_OUTPUT"
      test "${{ matrix.region }}" != eu-west
outputs:
  checked: ${{ toJSON(steps.check.outputs.checked) }}
"#,
    );
    let r = run_pipeline(dir.path(), &file, &[]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    let steps = steps(&r);
    for (item, outcome) in [("us-east", "success"), ("eu-west", "failure"), ("ap-south", "success")] {
        assert!(
            steps.contains(&(format!("check [{item}]"), outcome.to_string())),
            "{steps:?}"
        );
    }
    assert!(
        steps.contains(&("check".to_string(), "failure".to_string())),
        "{steps:?}"
    );
    let checked: serde_json::Value = serde_json::from_str(r.json()["outputs"]["checked"].as_str().unwrap()).unwrap();
    assert_eq!(
        checked,
        serde_json::json!({"us-east": "us-east", "eu-west": "eu-west", "ap-south": "ap-south"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_file_is_refused_whole_with_positions_before_anything_runs() {
    let (dir, file) = pipeline(
        "steps:\n  - id: a\n    run: touch ran\n  - id: b\n    run: echo ${{ steps.later.outputs.x }}\n    contine-on-error: true\n",
    );
    let r = run_pipeline(dir.path(), &file, &[]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("pipeline.yml:6:5"), "{}", r.stderr);
    assert!(r.stderr.contains("continue-on-error"), "{}", r.stderr);
    assert!(r.stderr.contains("pipeline.yml:5:"), "{}", r.stderr);
    assert!(!dir.path().join("ran").exists(), "nothing ran");
}

/// Copy the seed example's offline Terraform root module and pipelines into a scratch directory.
fn terraform_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace_root().join("examples/gitops-terraform/offline");
    std::fs::create_dir(dir.path().join("infra")).unwrap();
    std::fs::copy(example.join("infra/main.tf"), dir.path().join("infra/main.tf")).unwrap();
    for f in ["plan.pipeline.yml", "apply.pipeline.yml", "drift.pipeline.yml"] {
        std::fs::copy(example.join(f), dir.path().join(f)).unwrap();
    }
    // This machine's default CLI config path does not exist; terraform needs a readable one.
    std::fs::write(dir.path().join("terraformrc"), "").unwrap();
    dir
}

fn tf(cmd: &mut tokio::process::Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env("CHECKPOINT_DISABLE", "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_plan_is_signed_verified_and_applied_and_tampering_is_refused() {
    let dir = terraform_example();
    let root = dir.path();
    let mut keygen = tollgate();
    keygen.current_dir(root).args(["keygen", "--out", "release"]);
    assert_eq!(run_cmd(&mut keygen).await.code, 0);
    let private = std::fs::read_to_string(root.join("release.key")).unwrap();
    let public = std::fs::read_to_string(root.join("release.pub")).unwrap();

    let mut plan = tollgate();
    tf(&mut plan, root);
    plan.args([
        "pipeline",
        "run",
        "--json",
        "plan.pipeline.yml",
        "--input",
        "region=eu-west",
        "--artifacts",
        "store",
    ])
    .env("TOLLGATE_SIGNING_KEY", &private);
    let r = run_cmd(&mut plan).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.json()["outputs"]["has-changes"], "true");
    // The plan comment read the signed plan.json artifact; without a pull request it says so.
    assert_eq!(r.json()["outputs"]["has-destroy"], "false", "{r:#?}");
    let comment = &r.json()["steps"][2];
    assert_eq!(comment["id"], "comment", "{r:#?}");
    assert!(
        comment["message"].as_str().unwrap().starts_with("eu-west: 4 to create"),
        "{r:#?}"
    );
    assert!(
        comment["message"].as_str().unwrap().contains("no pull request"),
        "{r:#?}"
    );

    // The plan JSON is a real terraform plan for this region.
    let mut verify = tollgate();
    verify.current_dir(root).args([
        "verify",
        "eu-west/plan.json",
        "--artifacts",
        "store",
        "--public-key",
        "release.pub",
        "--json",
    ]);
    let v = run_cmd(&mut verify).await;
    assert_eq!(v.code, 0, "{v:#?}");
    let report: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(report["subject"], "eu-west/plan.json");
    assert_eq!(report["statement"]["predicate"]["outcome"], "success");

    // Another subject name for the same, valid artifact is refused.
    let mut wrong = tollgate();
    wrong.current_dir(root).args([
        "verify",
        "eu-west/tfplan",
        "--artifacts",
        "store",
        "--public-key",
        "release.pub",
        "--expect-subject",
        "us-east/tfplan",
    ]);
    let w = run_cmd(&mut wrong).await;
    assert_eq!(w.code, 1, "{w:#?}");

    // Apply the reviewed plan, trusting only the public key.
    let apply = |extra: &[&str]| {
        let mut cmd = tollgate();
        tf(&mut cmd, root);
        cmd.args([
            "pipeline",
            "run",
            "--json",
            "apply.pipeline.yml",
            "--input",
            "region=eu-west",
            "--artifacts",
            "store",
        ])
        .args(extra)
        .env("TOLLGATE_PUBLIC_KEY", &public);
        cmd
    };
    let state = root.join("infra/state/eu-west.tfstate");
    // First a tampered plan: one byte of the stored object changes; terraform never sees it.
    let mut which = tollgate();
    which.current_dir(root).args([
        "verify",
        "eu-west/tfplan",
        "--artifacts",
        "store",
        "--public-key",
        "release.pub",
        "--json",
    ]);
    let digest = serde_json::from_str::<serde_json::Value>(&run_cmd(&mut which).await.stdout).unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let object = root
        .join("store/objects/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let original = std::fs::read(&object).unwrap();
    let mut tampered = original.clone();
    tampered[original.len() / 2] ^= 0x01;
    std::fs::write(&object, &tampered).unwrap();
    let r = run_cmd(&mut apply(&[])).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(
        r.json()["steps"][1]["message"]
            .as_str()
            .unwrap()
            .contains("digest mismatch"),
        "{r:#?}"
    );
    assert!(
        !std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains("terraform_data"),
        "nothing was applied"
    );

    std::fs::write(&object, &original).unwrap();
    let r = run_cmd(&mut apply(&[])).await;
    assert_eq!(r.code, 0, "{r:#?}");
    let state_text = std::fs::read_to_string(&state).unwrap();
    assert!(
        state_text.contains("terraform_data") && state_text.contains("eu-west"),
        "{state_text}"
    );

    // The nightly drift check of the applied region: a real refresh-only plan, no drift.
    let mut drift = tollgate();
    tf(&mut drift, root);
    drift
        .args([
            "pipeline",
            "run",
            "--json",
            "drift.pipeline.yml",
            "--input",
            "region=eu-west",
        ])
        .args(["--artifacts", "store"])
        .env("TOLLGATE_SIGNING_KEY", &private);
    let r = run_cmd(&mut drift).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(r.json()["outputs"]["drifted"], "false", "{r:#?}");
    assert_eq!(r.json()["outputs"]["exit-code"], "0", "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_artifacts_are_refused_unless_allowed() {
    let dir = terraform_example();
    let root = dir.path();
    let plan = |extra: &[&str]| {
        let mut cmd = tollgate();
        tf(&mut cmd, root);
        cmd.env_remove("TOLLGATE_SIGNING_KEY")
            .args([
                "pipeline",
                "run",
                "--json",
                "plan.pipeline.yml",
                "--input",
                "region=us-east",
                "--artifacts",
                "store",
            ])
            .args(extra);
        cmd
    };
    // The plan comment reads the plan.json artifact the plan step just stored: unsigned, it
    // is refused there too.
    let r = run_cmd(&mut plan(&[])).await;
    assert_eq!(r.code, 1, "{r:#?}");
    let comment = &r.json()["steps"][2];
    assert_eq!(comment["id"], "comment", "{r:#?}");
    assert!(comment["message"].as_str().unwrap().contains("unsigned"), "{r:#?}");
    let r = run_cmd(&mut plan(&["--allow-unsigned"])).await;
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        r.stderr.contains("UNSIGNED"),
        "unsigned artifacts are announced loudly: {}",
        r.stderr
    );
    let apply = |extra: &[&str]| {
        let mut cmd = tollgate();
        tf(&mut cmd, root);
        cmd.env_remove("TOLLGATE_PUBLIC_KEY")
            .args([
                "pipeline",
                "run",
                "--json",
                "apply.pipeline.yml",
                "--input",
                "region=us-east",
                "--artifacts",
                "store",
            ])
            .args(extra);
        cmd
    };
    let refused = run_cmd(&mut apply(&[])).await;
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.json()["steps"][1]["message"]
            .as_str()
            .unwrap()
            .contains("unsigned"),
        "{refused:#?}"
    );
    let allowed = run_cmd(&mut apply(&["--allow-unsigned"])).await;
    assert_eq!(allowed.code, 0, "{allowed:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_steps_and_grants_without_running_anything() {
    let (dir, file) = pipeline(
        r#"
steps:
  - id: build
    run: touch ran
  - id: verify
    matrix: { region: [us-east, eu-west] }
    max-parallel: 1
    uses: region-verify
    with: { endpoints: ["https://${{ matrix.region }}.example.com/healthz"] }
    allow: { net: ["https://*.example.com"], timeout: 2m }
  - id: release
    uses: state-lock
    with: { operation: status, key: release, backend: github }
    allow: { github: [contents:write], refs: ["refs/heads/release-*"] }
finally:
  - id: unlock
    run: touch unlocked
"#,
    );
    let mut cmd = tollgate();
    cmd.current_dir(dir.path())
        .args(["pipeline", "run", "--dry-run"])
        .arg(&file);
    let r = run_cmd(&mut cmd).await;
    assert_eq!(r.code, 0, "{r:#?}");
    for expected in [
        "- build: run `touch ran` (native, outside the sandbox)",
        "- verify: uses region-verify",
        "fan-out over region (max-parallel 1)",
        "grants: net https://*.example.com; timeout 2m",
        "finally (always runs",
        "grants: github contents:write; refs refs/heads/release-*",
        "on GitHub as `state-lock`: its refs are refs/tollgate/state-lock/…",
        "- unlock: run `touch unlocked`",
    ] {
        assert!(r.stdout.contains(expected), "missing {expected:?} in:\n{}", r.stdout);
    }
    assert!(!dir.path().join("ran").exists() && !dir.path().join("unlocked").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_time_limit_cancels_steps_and_still_runs_finally() {
    let (dir, file) = pipeline(
        r#"
steps:
  - id: stuck
    run: sleep 60
finally:
  - id: release
    run: echo released > lock-released
"#,
    );
    let r = run_pipeline(dir.path(), &file, &["--timeout", "1s"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(
        r.json()["steps"][0]["message"],
        "the pipeline's time limit of 1s ran out"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lock-released"))
            .unwrap()
            .trim(),
        "released"
    );
}

/// Only the workflow author's words grant: a URL that a step printed (here a `run` step;
/// a plugin's output is the same) must not grant itself through a `grants-origins` input,
/// whether it arrives directly or through a matrix built from it. The control shows the
/// same URL granted when the author passes it in.
#[tokio::test(flavor = "multi_thread")]
async fn a_url_computed_from_a_step_output_grants_nothing() {
    use crate::support::{Reply, Server};
    let server = Server::start(Reply::ok("us-east")).await;
    let (dir, file) = pipeline(&format!(
        r#"
inputs:
  url: {{ required: true }}
steps:
  - id: leak
    run: |
      echo "url={url}" >> "$TOLLGATE_OUTPUT"
      echo 'list=["{url}"]' >> "$TOLLGATE_OUTPUT"
  - id: direct
    continue-on-error: true
    uses: region-verify
    with:
      endpoints:
        - {{ name: victim, url: "${{{{ steps.leak.outputs.url }}}}" }}
      retries: 0
  - id: through-matrix
    continue-on-error: true
    matrix: {{ u: "${{{{ fromJSON(steps.leak.outputs.list) }}}}" }}
    uses: region-verify
    with:
      endpoints:
        - {{ name: victim, url: "${{{{ matrix.u }}}}" }}
      retries: 0
  - id: authored
    uses: region-verify
    with:
      endpoints:
        - {{ name: "${{{{ steps.leak.outputs.url }}}}", url: "${{{{ inputs.url }}}}" }}
      retries: 0
"#,
        url = server.url("/healthz")
    ));
    let input = format!("url={}", server.url("/healthz"));
    let r = run_pipeline(dir.path(), &file, &["--input", &input]).await;
    let json = r.json();
    let step = |id: &str| {
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id || s["id"].as_str().unwrap().starts_with(&format!("{id} [")))
            .unwrap_or_else(|| panic!("no step {id}: {r:#?}"))
            .clone()
    };
    // A fan-out's item line (`through-matrix [URL]`) carries the item's message.
    for id in ["direct", "through-matrix"] {
        let s = step(id);
        assert_eq!(s["outcome"], "failure", "{id}: {s:#}");
        assert!(s["message"].as_str().unwrap().contains("network access"), "{id}: {s:#}");
    }
    assert_eq!(step("authored")["outcome"], "success", "{r:#?}");
    assert_eq!(server.hits(), 1, "only the authored step reached the server");
}
