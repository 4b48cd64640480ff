//! The contracts users rely on across front-ends and releases:
//! - one spelling: every spelling in the vocabulary corpus (`crates/vocab/tests/spellings.json`)
//!   is accepted, or refused, alike by `tollgate run`'s flags, the action's inputs and a
//!   pipeline file (checked with `--dry-run`); the crates' own tests add the JSON Schema.
//!   The action follows the runner's convention for inputs (as `@actions/core`'s `getInput`
//!   does): a value is trimmed and an empty one is unset, so it must judge `text` as the
//!   CLI judges `text.trim()`;
//! - the frozen WIT: a plugin built against `wit/since_v0.1.0/` runs on today's host.

use crate::guests::{guest, workspace_root};
use crate::support::{Run, run, run_cmd, tollgate};
use futures::StreamExt;
use serde_json::Value;

/// `(kind, text, accepted)` for every spelling of the corpus.
fn corpus() -> Vec<(String, String, bool)> {
    let path = workspace_root().join("crates/vocab/tests/spellings.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("corpus")).expect("corpus is JSON");
    let mut rows = Vec::new();
    for (kind, sets) in doc.as_object().expect("an object") {
        let Some(sets) = sets.as_object() else { continue };
        for (set, accepted) in [("accept", true), ("refuse", false)] {
            for pair in sets[set].as_array().expect("a list") {
                rows.push((kind.clone(), pair[0].as_str().expect("text").to_string(), accepted));
            }
        }
    }
    rows
}

/// The CLI flag, action input and pipeline `allow:` key of a vocabulary.
fn front_ends(kind: &str) -> (&'static str, &'static str, &'static str, bool) {
    match kind {
        "origin" => ("--allow-net", "INPUT_ALLOW_NET", "net", true),
        "duration" => ("--timeout", "INPUT_TIMEOUT", "timeout", false),
        "size" => ("--memory", "INPUT_MEMORY", "memory", false),
        "github-permission" => ("--allow-github", "INPUT_ALLOW_GITHUB", "github", true),
        "secret-name" => ("--secret", "INPUT_SECRETS", "secrets", true),
        other => panic!("the corpus has a vocabulary this test does not know: {other}"),
    }
}

/// A refusal is a usage error that names the value; an acceptance is anything else (a
/// tiny `--memory` or `--timeout` may still stop the plugin, with exit 1).
fn verdict(run: &Run, text: &str) -> bool {
    let refused = run.code == 2 && run.stderr.contains("invalid") && run.stderr.contains(text);
    let crashed = run.stderr.contains("panicked");
    assert!(!crashed, "{run:#?}");
    !refused
}

async fn cli(kind: &str, text: &str) -> Run {
    let (flag, _, _, _) = front_ends(kind);
    let arg = format!("{flag}={text}");
    run(&["run", guest("noop"), &arg]).await
}

async fn action(kind: &str, text: &str) -> Run {
    let (_, input, _, _) = front_ends(kind);
    let dir = tempfile::tempdir().expect("tempdir");
    let output = dir.path().join("output");
    run_cmd(
        tollgate()
            .arg("action")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("INPUT_PLUGIN", guest("noop"))
            .env(input, text),
    )
    .await
}

async fn pipeline(kind: &str, text: &str) -> Run {
    let (_, _, key, list) = front_ends(kind);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.yml");
    let quoted = serde_json::to_string(text).expect("JSON string");
    let value = if list { format!("[{quoted}]") } else { quoted };
    let yaml = format!(
        "name: spelling\nsteps:\n  - id: s\n    uses: {}\n    allow:\n      {key}: {value}\n",
        guest("noop")
    );
    std::fs::write(&file, yaml).expect("write pipeline");
    let file = file.to_str().expect("utf-8 path").to_string();
    run(&["pipeline", "run", &file, "--dry-run"]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_spelling_is_judged_alike_by_the_cli_the_action_and_pipeline_files() {
    let rows = corpus();
    assert!(rows.len() > 50, "the corpus is too small to mean much: {}", rows.len());
    let mismatches: Vec<String> = futures::stream::iter(rows)
        .map(|(kind, text, accepted)| async move {
            let mut runs = vec![
                ("cli", accepted, cli(&kind, &text).await),
                ("pipeline", accepted, pipeline(&kind, &text).await),
            ];
            let trimmed = text.trim();
            if !trimmed.is_empty() {
                let expected = verdict(&cli(&kind, trimmed).await, trimmed);
                runs.push(("action", expected, action(&kind, &text).await));
            }
            runs.into_iter()
                .filter(|(_, accepted, run)| verdict(run, text.trim()) != *accepted)
                .map(|(front, accepted, run)| {
                    format!(
                        "{kind} `{text}` should be {} by the {front}, exit {}: {}",
                        if accepted { "accepted" } else { "refused" },
                        run.code,
                        run.stderr.lines().last().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        })
        .buffer_unordered(4)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn a_plugin_built_against_the_frozen_v0_1_0_wit_still_runs() {
    let run = run(&["run", guest("frozen-v0_1"), "--with", "greeting=hi", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["plugin"], "frozen-v0-1");
    assert_eq!(report["outputs"]["echo"], "hi");
    assert!(
        report["message"]
            .as_str()
            .unwrap_or_default()
            .contains("0.1 plugin ran"),
        "{report:#}"
    );
}

#[tokio::test]
async fn a_plugin_built_against_an_unknown_wit_version_is_refused_by_version() {
    let run = run(&["run", guest("future-wit")]).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("built against tollgate:plugin@0.9.0")
            && run.stderr.contains("links 0.1.0")
            && run.stderr.contains("upgrade Tollgate"),
        "{run:#?}"
    );
}
