//! The leak search: one marker secret passed every way a pipeline can pass it — granted to a
//! plugin, read as `${{ secrets.NAME }}` into a plugin's input, a `run:` step's environment, a
//! comment body and a pipeline output, echoed back by a plugin into its log, summary, outputs
//! and an artifact, read by canary-gate through an Argo `secretKeyRef` into a request header and
//! echoed back by the metrics server into the measured value, and written in clear into an input
//! its plugin declares sensitive — then every byte Tollgate wrote searched for it: stdout, stderr,
//! `$GITHUB_OUTPUT`, the step summary, every file of the artifact store (statements included)
//! and every comment on the GitHub stand-in.

use crate::github_peer::{Peer, REPOSITORY, TOKEN};
use crate::prometheus_peer::MetricsServer;
use crate::support::{guest, run_cmd, tollgate};
use std::path::Path;

const MARK: &str = "tg-leak-4f1c9e2a7b";

/// Every file under `dir`, with its bytes; for a DSSE envelope also its statement, decoded (the
/// payload is base64: a raw search of the envelope would not see a secret in it).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        let name = path.display().to_string();
        if name.ends_with(".dsse.json") {
            let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let payload = base64::engine::general_purpose::STANDARD
                .decode(envelope["payload"].as_str().unwrap())
                .unwrap();
            found.push((format!("{name} (statement)"), payload));
        }
        found.push((name, bytes));
    }
    found
}

/// Stdout as the runner shows it: without its `::add-mask::` commands.
fn runner_visible(stdout: &str) -> Vec<u8> {
    let mut registered = false;
    let kept: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            let mask = l.starts_with("::add-mask::");
            registered |= mask && l.contains(MARK);
            !mask
        })
        .collect();
    assert!(registered, "the secret is registered with the runner first:\n{stdout}");
    kept.join("\n").into_bytes()
}

fn holds_mark(bytes: &[u8]) -> bool {
    bytes.windows(MARK.len()).any(|w| w == MARK.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_passed_every_way_is_written_nowhere() {
    let peer = Peer::start().await;
    peer.seed_pull(6).await;
    let metrics = MetricsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (output, summary, store) = (
        dir.path().join("output"),
        dir.path().join("summary"),
        dir.path().join("artifacts"),
    );
    let file = dir.path().join("pipeline.yml");
    let (probe, github_probe, careless) = (guest("probe"), guest("github-probe"), guest("sensitive"));
    let echo = format!("{}/_echo", metrics.url());
    std::fs::write(
        &file,
        format!(
            r#"
steps:
  - id: granted
    uses: {probe}
    with: {{ attack: secret, arg: PROBE_SECRET }}
    allow: {{ secrets: [PROBE_SECRET] }}
  - id: echoed
    uses: {probe}
    with: {{ attack: echo-everywhere, arg: "passed in: ${{{{ secrets.PROBE_SECRET }}}}" }}
  - id: shell
    env: {{ LEAK: "${{{{ secrets.PROBE_SECRET }}}}" }}
    run: |
      echo "env says $LEAK"
      echo "the plugin said ${{{{ steps.echoed.outputs.extra }}}}"
      echo "inline ${{{{ secrets.PROBE_SECRET }}}}" >&2
  - id: comment
    uses: {github_probe}
    with:
      calls: '[{{"call": "create-comment", "issue": 6, "body": "comment ${{{{ secrets.PROBE_SECRET }}}}"}}]'
    allow: {{ github: [pull-requests:write] }}
  - id: gate
    uses: canary-gate
    with:
      metrics:
        - name: echoed
          successCondition: result != "wrong"
          provider:
            web:
              url: {echo}
              headers: [{{ key: X-Token, value: "{{{{args.token}}}}" }}]
              jsonPath: "{{$.x-token}}"
      args: {{ token: {{ valueFrom: {{ secretKeyRef: {{ name: probe, key: secret }} }} }} }}
    allow: {{ secrets: [PROBE_SECRET] }}
  - id: careless
    uses: {careless}
    with: {{ token: {MARK} }}
outputs:
  careless: ${{{{ steps.careless.outputs.echoed }}}}
  direct: ${{{{ secrets.PROBE_SECRET }}}}
  echoed: ${{{{ steps.echoed.outputs.extra }}}}
  granted: ${{{{ steps.granted.outputs.extra }}}}
"#
        ),
    )
    .unwrap();
    let mut cmd = tollgate();
    cmd.current_dir(dir.path())
        .args(["pipeline", "run", "--secret", "PROBE_SECRET", "--artifacts"])
        .arg(&store)
        .arg(&file)
        .env("PROBE_SECRET", MARK)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_API_URL", peer.url(""))
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPOSITORY);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 0, "{run:#?}");

    // The secret reached every place it was sent (masked), so finding nothing means something.
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(written.contains("output: passed in: ***"), "{written}");
    assert!(run.stdout.contains("env says ***"), "{}", run.stdout);
    let comments = peer.comments(6).await;
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].1.starts_with("comment ***"), "{comments:?}");
    let stored = files(&store);
    assert!(
        stored.iter().any(|(_, bytes)| bytes == b"artifact: passed in: ***"),
        "the echoed artifact is stored, masked: {:?}",
        stored.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    assert!(
        stored.iter().any(|(name, _)| name.ends_with("echo.dsse.json")),
        "{stored:?}"
    );
    // The sensitive input reached its plugin (which echoed it) and is recorded as its digest.
    let careless = written.split("careless<<").nth(1).and_then(|rest| rest.lines().nth(1));
    assert_eq!(careless, Some("***"), "{written}");
    let digest = {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(MARK.as_bytes())))
    };
    assert!(
        stored
            .iter()
            .any(|(name, bytes)| name.ends_with("token.dsse.json (statement)")
                && String::from_utf8_lossy(bytes).contains(&digest)),
        "the statement of the careless plugin's artifact records the token as {digest}"
    );
    // canary-gate sent the secret and measured it echoed back: the analysis holds it, masked.
    assert!(
        stored.iter().any(|(_, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            text.contains("tollgate.canary-analysis/v1") && text.contains("***")
        }),
        "the echoed measurement is stored, masked"
    );

    let mut leaks = Vec::new();
    for (place, bytes) in [
        // `::add-mask::` is how a process tells the runner what to mask; the runner consumes it.
        ("stdout".to_string(), runner_visible(&run.stdout)),
        ("stderr".to_string(), run.stderr.as_bytes().to_vec()),
        ("$GITHUB_OUTPUT".to_string(), written.into_bytes()),
        (
            "the step summary".to_string(),
            std::fs::read(&summary).unwrap_or_default(),
        ),
    ]
    .into_iter()
    .chain(stored)
    .chain(
        comments
            .into_iter()
            .map(|(id, body)| (format!("comment {id}"), body.into_bytes())),
    ) {
        if holds_mark(&bytes) {
            leaks.push(place);
        }
    }
    let repo = peer.repo().await.to_string();
    if holds_mark(repo.as_bytes()) {
        leaks.push("the GitHub stand-in's state".into());
    }
    assert!(leaks.is_empty(), "the secret was written to: {leaks:?}");
}

/// A `run:` step's artifact named after a secret would write it into a file name and a
/// statement: the step fails naming the field, and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_steps_artifact_named_after_a_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, store) = (dir.path().join("pipeline.yml"), dir.path().join("artifacts"));
    std::fs::write(
        &file,
        r#"
steps:
  - id: build
    run: echo built > out.txt
    artifacts:
      - { name: "out-${{ secrets.PROBE_SECRET }}", path: out.txt }
"#,
    )
    .unwrap();
    let mut cmd = tollgate();
    cmd.current_dir(dir.path())
        .args(["pipeline", "run", "--json", "--secret", "PROBE_SECRET", "--artifacts"])
        .arg(&store)
        .arg(&file)
        .env("PROBE_SECRET", MARK);
    let run = run_cmd(&mut cmd).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.contains("build.artifacts.name"), "{run:#?}");
    assert!(run.stdout.contains("may not hold the value of a secret"), "{run:#?}");
    let leaked: Vec<String> = files(&store)
        .into_iter()
        .filter(|(name, bytes)| name.contains(MARK) || holds_mark(bytes))
        .map(|(name, _)| name)
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    assert!(
        !holds_mark(run.stdout.as_bytes()) && !holds_mark(run.stderr.as_bytes()),
        "{run:#?}"
    );
}
