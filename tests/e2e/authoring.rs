//! Plugin authoring as a new author meets it: `tollgate plugin new` in each language, the
//! project built and tested exactly as generated, then run with `tollgate run`; and a
//! case that no longer holds says what differed.
//!
//! A generated Rust project gets the workspace's `Cargo.lock` (so it builds with the crate
//! versions this repository is tested with) and one shared target directory
//! (`target/test-templates`), which keeps reruns incremental.

use crate::guests::workspace_root;
use crate::support::{Run, run_cmd, tollgate};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tollgate` in `dir`, with a clean cargo environment for the builds it starts.
fn tollgate_in(dir: &Path) -> tokio::process::Command {
    let mut cmd = tollgate();
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", workspace_root().join("target/test-templates"));
    cmd
}

/// `tollgate plugin new NAME --lang LANG` in a fresh directory; the project's path.
async fn new_project(parent: &Path, name: &str, lang: &str) -> PathBuf {
    // This repository's SDK, named explicitly: the binary under test may have been rebuilt
    // from a copy of the checkout (the act test does), whose path is gone.
    let sdk = workspace_root().join("sdk/rust");
    let run = run_cmd(
        tollgate_in(parent)
            .args(["plugin", "new", name, "--lang", lang])
            .arg("--sdk-path")
            .arg(&sdk),
    )
    .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("tollgate plugin test"),
        "the next steps are shown: {run:#?}"
    );
    parent.join(name)
}

fn assert_all_cases_pass(run: &Run, cases: usize) {
    assert_eq!(run.code, 0, "{run:#?}");
    let tally = format!("{cases} cases: {cases} passed, 0 failed");
    assert!(run.stdout.contains(&tally), "expected `{tally}`: {run:#?}");
}

/// Run the built plugin the way a user would after `plugin build`.
async fn greet(project: &Path, wasm: &str) {
    let run = run_cmd(tollgate_in(project).args(["run", wasm, "--with", "name=Ada", "--json"])).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.output("greeting"), "Hello, Ada!", "{run:#?}");
}

#[tokio::test]
async fn a_new_rust_plugin_builds_and_passes_its_tests_as_generated() {
    let parent = tempfile::tempdir().unwrap();
    let project = new_project(parent.path(), "hello-rust", "rust").await;
    std::fs::copy(workspace_root().join("Cargo.lock"), project.join("Cargo.lock")).unwrap();

    // The in-process tests, against the SDK's mock host, with plain `cargo test`.
    let cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", workspace_root().join("target/test-templates"))
        .args(["test", "--quiet"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cargo.stdout);
    assert!(
        cargo.status.success(),
        "cargo test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&cargo.stderr)
    );
    assert!(stdout.contains("3 passed"), "the template's three tests ran: {stdout}");

    // The component, through the real host.
    let run = run_cmd(tollgate_in(&project).args(["plugin", "test"])).await;
    assert_all_cases_pass(&run, 2);
    assert!(
        run.stdout.contains("built ") && run.stdout.contains("sha256:"),
        "{run:#?}"
    );
    greet(&project, "./hello-rust.wasm").await;

    // A case that no longer holds fails the command and says what differed.
    let cases = project.join("tollgate-tests.yaml");
    let text = std::fs::read_to_string(&cases).unwrap();
    std::fs::write(&cases, text.replace("greeting: Hello, Ada!", "greeting: Hi, Ada!")).unwrap();
    let run = run_cmd(tollgate_in(&project).args(["plugin", "test", "--wasm", "hello-rust.wasm"])).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.contains("FAIL  greets by name"), "{run:#?}");
    assert!(
        run.stdout
            .contains(r#"output `greeting`: expected "Hi, Ada!", got "Hello, Ada!""#),
        "{run:#?}"
    );
    assert!(run.stdout.contains("2 cases: 1 passed, 1 failed"), "{run:#?}");
}

#[tokio::test]
async fn a_malformed_test_file_is_refused_with_its_position() {
    let parent = tempfile::tempdir().unwrap();
    let project = parent.path().join("p");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("tollgate-tests.yaml"),
        "cases:\n  - name: x\n    expect:\n      status: passd\n",
    )
    .unwrap();
    let run = run_cmd(tollgate_in(&project).args(["plugin", "test", "--wasm", "x.wasm"])).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("tollgate-tests.yaml") && run.stderr.contains("passd") && run.stderr.contains("line 4"),
        "{run:#?}"
    );
}

#[tokio::test]
async fn plugin_new_refuses_a_bad_name_and_an_existing_directory() {
    let parent = tempfile::tempdir().unwrap();
    let run = run_cmd(tollgate_in(parent.path()).args(["plugin", "new", "../escape"])).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("lower-case letters"), "{run:#?}");
    assert!(!parent.path().parent().unwrap().join("escape").exists());

    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/keep.txt"), "mine").unwrap();
    let run = run_cmd(tollgate_in(parent.path()).args(["plugin", "new", "taken"])).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("already exists"), "{run:#?}");
    assert_eq!(
        std::fs::read_to_string(parent.path().join("taken/keep.txt")).unwrap(),
        "mine"
    );
}

#[tokio::test]
async fn plugin_compile_fills_the_cache_a_run_reads() {
    let cache = tempfile::tempdir().unwrap();
    let noop = crate::support::guest("noop");
    let run = run_cmd(
        tollgate()
            .env("TOLLGATE_CACHE_DIR", cache.path())
            .args(["plugin", "compile", noop]),
    )
    .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let entry = run
        .stdout
        .split("-> ")
        .nth(1)
        .map(|p| PathBuf::from(p.trim()))
        .unwrap_or_else(|| panic!("no cache entry printed: {run:#?}"));
    assert!(entry.starts_with(cache.path()) && entry.is_file(), "{run:#?}");
    assert_eq!(entry.extension().unwrap(), "cwasm");

    // A run of the same component loads that entry: corrupting it proves the run read it
    // (a damaged entry is recompiled, and rewritten).
    std::fs::write(&entry, b"damaged").unwrap();
    let run = run_cmd(tollgate().env("TOLLGATE_CACHE_DIR", cache.path()).args(["run", noop])).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_ne!(
        std::fs::read(&entry).unwrap(),
        b"damaged",
        "the run replaced the damaged entry"
    );
}

/// The guide's HTTP example, per language: a status read from a URL the plugin may reach
/// only when the step grants it (it requests `http://127.0.0.1:*`; the first case grants
/// the local server's origin, the second only another port, so the request is denied at
/// run time, by the host).
const HTTP_CASES: &str = r#"
serve:
  - path: /status
    json: {status: green}
cases:
  - name: reads the status
    with: {url: "${{ serve.url }}/status"}
    allow: {net: ["${{ serve.url }}"]}
    expect:
      status: passed
      outputs: {health: green}
  - name: a request to an origin the step does not grant never leaves
    with: {url: "${{ serve.url }}/status"}
    allow: {net: ["http://127.0.0.1:1"]}
    expect:
      status: STATUS_WHEN_DENIED
      logs: ["denied"]
"#;

const PYTHON_HTTP_APP: &str = r#"
import wit_world
import tollgate
import tollgate_http as http


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return tollgate.plugin_info(
            name="status-py",
            version="0.1.0",
            summary="Reads a status.",
            inputs=[tollgate.input("url", "string", "The status URL.", required=True)],
            outputs=[tollgate.output("health", "The status field.")],
            capabilities=[tollgate.net("http://127.0.0.1:*", "reads the status")],
        )

    def run(self, inputs, context):
        url = tollgate.values(inputs)["url"]
        try:
            r = http.get(url, timeout=10)
            r.raise_for_status()
        except http.HttpError as e:
            raise e.plugin_error()
        tollgate.set_output("health", r.json()["status"])
        return tollgate.passed("read the status")
"#;

const JS_HTTP_APP: &str = r#"
import { set as setOutput } from 'tollgate:plugin/outputs@0.1.0';

export function describe() {
  return {
    name: 'status-js',
    version: '0.1.0',
    summary: 'Reads a status.',
    inputs: [{ name: 'url', kind: 'string', required: true, doc: 'The status URL.', grantsOrigins: false }],
    outputs: [{ name: 'health', doc: 'The status field.' }],
    capabilities: [
      { capability: { tag: 'net', val: 'http://127.0.0.1:*' }, reason: 'reads the status', optional: false },
    ],
  };
}

export async function run(inputs, context) {
  const url = JSON.parse(inputs.find((i) => i.name === 'url').value);
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw { tag: 'peer', val: `${url}: ${e.message}` };
  }
  const data = await res.json();
  setOutput('health', data.status);
  return { status: 'passed', message: 'read the status' };
}
"#;

/// A generated Python or JS project: built and tested as generated, run, and then the
/// guide's HTTP example dropped in and tested through the real host, granted and not.
async fn non_rust_template(lang: &str, app_file: &str, http_app: &str, denied_status: &str, prepare: &[&str]) {
    let parent = tempfile::tempdir().unwrap();
    let name = format!("hello-{lang}");
    let project = new_project(parent.path(), &name, lang).await;
    assert!(
        project.join("wit/deps/tollgate.wit").is_file(),
        "the project has its WIT"
    );
    if let Some((program, args)) = prepare.split_first() {
        let status = Command::new(program).args(args).current_dir(&project).status().unwrap();
        assert!(
            status.success(),
            "`{}` failed in {}",
            prepare.join(" "),
            project.display()
        );
    }

    let run = run_cmd(tollgate_in(&project).args(["plugin", "test"])).await;
    assert_all_cases_pass(&run, 3);
    greet(&project, &format!("./{name}.wasm")).await;

    std::fs::write(project.join(app_file), http_app).unwrap();
    std::fs::write(
        project.join("tollgate-tests.yaml"),
        HTTP_CASES.replace("STATUS_WHEN_DENIED", denied_status),
    )
    .unwrap();
    let run = run_cmd(tollgate_in(&project).args(["plugin", "test"])).await;
    assert_all_cases_pass(&run, 2);
}

#[tokio::test]
async fn a_new_python_plugin_builds_and_passes_its_tests_and_calls_http() {
    // Python's `Denied` becomes the `denied` plugin error.
    non_rust_template("python", "app.py", PYTHON_HTTP_APP, "denied", &[]).await;
}

#[tokio::test]
async fn a_new_js_plugin_builds_and_passes_its_tests_and_calls_http() {
    // JavaScript's fetch cannot tell a denial from a network failure: the plugin reports a
    // peer error, and the host's own warning says the origin was denied.
    non_rust_template(
        "js",
        "app.js",
        JS_HTTP_APP,
        "error",
        &["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
    )
    .await;
}
