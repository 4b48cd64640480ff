//! Every sandbox boundary, each crossed by the hostile `probe` guest.

use crate::support::{Reply, Run, Server, guest, run, run_cmd, tollgate};
use std::path::Path;

async fn probe(attack: &str, arg: &str, flags: &[&str]) -> Run {
    let attack = format!("attack={attack}");
    let arg = format!("arg={arg}");
    let mut args = vec!["run", guest("probe"), "--json", "--with", &attack, "--with", &arg];
    args.extend_from_slice(flags);
    run(&args).await
}

/// A granted directory holding `inside.txt`, beside a secret the plugin must not reach.
struct Tree {
    _root: tempfile::TempDir,
    granted: String,
    outside: String,
}

fn tree() -> Tree {
    let root = tempfile::tempdir().unwrap();
    let granted = root.path().join("granted");
    std::fs::create_dir(&granted).unwrap();
    std::fs::write(granted.join("inside.txt"), "hello").unwrap();
    let outside = root.path().join("secret.txt");
    std::fs::write(&outside, "top secret").unwrap();
    std::os::unix::fs::symlink(&outside, granted.join("link.txt")).unwrap();
    let canonical = granted.canonicalize().unwrap();
    Tree {
        granted: canonical.display().to_string(),
        outside: outside.canonicalize().unwrap().display().to_string(),
        _root: root,
    }
}

fn message(run: &Run) -> String {
    run.json()["message"].as_str().unwrap_or_default().to_string()
}

fn result(run: &Run) -> String {
    assert_eq!(run.code, 0, "{run:#?}");
    run.output("result")
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_stay_inside_the_preopen() {
    let t = tree();
    let grant = ["--allow-read", t.granted.as_str()];
    // Control: the granted file is readable, so the failures below are the sandbox's doing.
    let ok = probe("read-file", &format!("{}/inside.txt", t.granted), &grant).await;
    assert_eq!(result(&ok), "read 5 bytes");
    for path in [
        format!("{}/../secret.txt", t.granted),
        t.outside.clone(),
        format!("{}/link.txt", t.granted),
        "/etc/passwd".to_string(),
    ] {
        let r = probe("read-file", &path, &grant).await;
        assert!(result(&r).starts_with("error:"), "{path} must not be readable: {r:#?}");
    }
    // The symlink's name still lists; its target stays out of reach.
    let listed = probe("list-dir", &t.granted, &grant).await;
    assert!(result(&listed).contains("link.txt"));
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_readable_without_a_grant() {
    let t = tree();
    let r = probe("read-file", &format!("{}/inside.txt", t.granted), &[]).await;
    assert!(result(&r).starts_with("error:"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_grants_are_read_only() {
    let t = tree();
    let target = format!("{}/new.txt", t.granted);
    let r = probe("write-file", &target, &["--allow-read", &t.granted]).await;
    assert!(result(&r).starts_with("error:"), "{r:#?}");
    assert!(!Path::new(&target).exists());
    let r = probe("write-file", &target, &["--allow-write", &t.granted]).await;
    assert_eq!(result(&r), "wrote");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "pwned");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlisted_hosts_are_refused_and_the_grant_is_named() {
    let server = Server::start(Reply::ok("us-east")).await;
    let other = Server::start(Reply::ok("eu-west")).await;
    let r = probe("http-get", &server.url("/"), &["--allow-net", &other.base]).await;
    let denied = format!("was denied by the sandbox: this step does not grant {}", server.base);
    assert!(result(&r).contains(&denied), "{r:#?}");
    assert!(
        r.stderr.contains(&format!("--allow-net {}", server.base)),
        "{}",
        r.stderr
    );
    // A refused request with a body reads as denied too (not as a reset body stream).
    let r = probe("http-put-json", &server.url("/"), &["--allow-net", &other.base]).await;
    assert!(result(&r).contains(&denied), "{r:#?}");
    assert_eq!(server.hits(), 0, "the server was never contacted");
    // Control: the granted origin answers.
    let r = probe("http-get", &server.url("/"), &["--allow-net", &server.base]).await;
    assert!(result(&r).starts_with("status 200"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_and_link_local_addresses_are_refused_even_when_granted() {
    let server = Server::start(Reply::ok("us-east")).await;
    let port = server.addr.port().to_string();
    let case = |url: &str, grant: &str, resolve: Option<String>| (url.to_string(), grant.to_string(), resolve);
    let cases = [
        case(
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.169.254",
            None,
        ),
        case(
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:169.254.169.254]",
            None,
        ),
        case("http://[fd00:ec2::254]/", "http://[fd00:ec2::254]", None),
        // A decimal spelling only shows its address once resolved (the grant cannot even
        // name it: origins refuse numeric hosts that are not dotted IPv4).
        case("http://2852039166/", "http://*", None),
        // A granted-looking name that resolves to the metadata service.
        case(
            "http://metadata.internal/",
            "http://metadata.internal",
            Some("metadata.internal:80:169.254.169.254".into()),
        ),
        case(
            &format!("http://svc.internal:{port}/"),
            &format!("http://svc.internal:{port}"),
            Some(format!("svc.internal:{port}:169.254.169.254")),
        ),
    ];
    for (url, grant, resolve) in &cases {
        let mut flags = vec!["--allow-net", grant.as_str()];
        if let Some(r) = resolve {
            flags.extend(["--resolve", r.as_str()]);
        }
        let r = probe("http-get", url, &flags).await;
        // The SDK's typed refusal names the URL's origin (`http://host[:port]`).
        let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
        assert!(
            result(&r).contains(&format!("was denied by the sandbox: this step does not grant {origin}")),
            "{url}: {r:#?}"
        );
        assert!(
            r.stderr.contains("which plugins may never reach"),
            "{url}: {}",
            r.stderr
        );
    }
    // Control: the same `--resolve` to an ordinary address works.
    let pin = format!("svc.internal:{port}:127.0.0.1");
    let grant = format!("http://svc.internal:{port}");
    let r = probe(
        "http-get",
        &format!("http://svc.internal:{port}/"),
        &["--allow-net", &grant, "--resolve", &pin],
    )
    .await;
    assert!(result(&r).starts_with("status 200"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_environment_is_invisible() {
    let r = run_cmd(
        tollgate()
            .args(["run", guest("probe"), "--json", "--with", "attack=env"])
            .env("GITHUB_TOKEN", "ghp_supersecret")
            .env("AWS_SECRET_ACCESS_KEY", "aws-secret"),
    )
    .await;
    assert_eq!(result(&r), "env: []");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_is_stopped_by_the_timeout() {
    let r = probe("loop", "", &["--timeout", "1s"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(message(&r).contains("exceeded its time limit of 1s"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_stopped_by_the_memory_limit() {
    let r = probe("memory", "", &["--memory", "64MiB"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(message(&r).contains("exceeded its memory limit of 64.0 MiB"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_flood_is_capped() {
    let r = probe("log-flood", "", &[]).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["log_truncated"], true);
    // 200 lines of 64 KiB were written; well under that reaches the terminal.
    assert!(r.stderr.len() < 5 << 20, "stderr was {} bytes", r.stderr.len());
    assert!(r.stderr.contains("the rest is dropped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn output_floods_and_undeclared_outputs_are_refused() {
    let r = probe("output-flood", "", &[]).await;
    assert!(
        result(&r).starts_with("refused: output `result` is 2097152 bytes"),
        "{r:#?}"
    );
    let r = probe("undeclared-output", "", &[]).await;
    assert!(
        result(&r).starts_with("refused: output `surprise` is not declared"),
        "{r:#?}"
    );
    assert!(r.json()["outputs"].get("surprise").is_none());
}

/// Run the probe as GitHub Actions would, returning the run and the `$GITHUB_OUTPUT` text.
async fn under_actions(attack: &str, arg: &str, extra_env: &[(&str, &str)], flags: &[&str]) -> (Run, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    let attack = format!("attack={attack}");
    let arg = format!("arg={arg}");
    let mut cmd = tollgate();
    cmd.args(["run", guest("probe"), "--with", &attack, "--with", &arg])
        .args(flags)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let r = run_cmd(&mut cmd).await;
    (r, std::fs::read_to_string(&output).unwrap_or_default())
}

/// Parse `$GITHUB_OUTPUT` as the runner does: `name=value` or `name<<DELIM` … `DELIM`.
fn parse_github_output(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_string(), value.to_string()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_cannot_issue_workflow_commands() {
    let evil = "::set-env name=PWNED::1\n::add-mask::everything\n  ::stop-commands::x\r\n::error file=a::b\n##[set-output name=x;]y";
    let (r, _) = under_actions("inject-log", evil, &[], &[]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    for line in r.stdout.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("::") {
            // Only Tollgate's own commands, with the plugin's text escaped into one line.
            assert!(
                trimmed.starts_with("::error title=probe::") || trimmed.starts_with("::notice title=probe::"),
                "plugin text became a command: {line}"
            );
            assert!(!trimmed["::x".len()..].contains('\n'));
        }
        assert!(!line.contains("##["), "{line}");
    }
    assert!(r.stdout.contains("[probe] ::set-env name=PWNED::1"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn output_values_cannot_add_outputs() {
    let evil = "x\nEOF\nresult=hijacked\nstatus<<EOF\npassed\nEOF";
    let (r, text) = under_actions("inject-output", evil, &[], &[]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    let outputs = parse_github_output(&text);
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["extra", "message", "outputs", "result", "status"], "{text}");
    let extra = &outputs.iter().find(|(n, _)| n == "extra").unwrap().1;
    assert_eq!(extra, evil);
    assert_eq!(outputs.iter().find(|(n, _)| n == "result").unwrap().1, "set");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_granted_by_name_and_masked_everywhere() {
    let env = [("PROBE_SECRET", "hunter2-value")];
    let (r, text) = under_actions("secret", "PROBE_SECRET", &env, &["--secret", "PROBE_SECRET"]).await;
    assert_eq!(r.code, 0, "{r:#?}");
    let first = r.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first, "::add-mask::hunter2-value",
        "the mask comes before anything else"
    );
    let after_mask: String = r.stdout.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert!(!after_mask.contains("hunter2-value"), "{}", r.stdout);
    assert!(after_mask.contains("the secret is ***"));
    assert!(!text.contains("hunter2-value"), "{text}");
    // Not granted: the plugin is refused even though the host has the variable.
    let (r, _) = under_actions("secret", "PROBE_SECRET", &env, &[]).await;
    assert!(
        r.stdout.contains("refused: the secret `PROBE_SECRET` is not granted"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("hunter2-value"));
}

/// A plugin that names an artifact after a secret's value would write it into a file name and
/// a statement's subject: the put is refused and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_named_after_a_secret_is_refused() {
    const SECRET: &str = "s3cret-as-a-name";
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = tollgate();
    cmd.args(["run", guest("probe"), "--json", "--with", "attack=artifact-put"])
        .args([
            "--with",
            &format!("arg={SECRET}"),
            "--secret",
            "PROBE_SECRET",
            "--artifacts",
        ])
        .arg(&store)
        .env("PROBE_SECRET", SECRET);
    let r = run_cmd(&mut cmd).await;
    let answer = result(&r);
    assert!(answer.contains("may not hold the value of a secret"), "{r:#?}");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&store).into_iter().flatten().flatten() {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    assert!(!names.iter().any(|n| n.contains(SECRET)), "{names:?}");
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_artifacts_are_signed_on_put_and_verified_on_get() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let key = dir.path().join("k");
    let mut keygen = tollgate();
    keygen.args(["keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(run_cmd(&mut keygen).await.code, 0);
    let signing = format!("{}.key", key.display());
    let public = format!("{}.pub", key.display());

    let put = probe(
        "artifact-put",
        "reports/probe.txt",
        &["--artifacts", &store, "--signing-key", &signing],
    )
    .await;
    let stored = result(&put);
    assert!(stored.starts_with("stored sha256:"), "{put:#?}");
    let digest = stored.trim_start_matches("stored ").to_string();

    // The statement names the plugin, its component digest and the final outcome.
    let mut verify = tollgate();
    verify.args([
        "verify",
        "reports/probe.txt",
        "--artifacts",
        &store,
        "--public-key",
        &public,
        "--json",
    ]);
    let v = run_cmd(&mut verify).await;
    assert_eq!(v.code, 0, "{v:#?}");
    let report: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(report["statement"]["predicate"]["plugin"]["name"], "probe");
    assert_eq!(report["statement"]["predicate"]["outcome"], "passed");
    assert_eq!(report["statement"]["predicate"]["inputs"]["attack"], "artifact-put");

    let get = probe(
        "artifact-get",
        &digest,
        &["--artifacts", &store, "--public-key", &public],
    )
    .await;
    assert_eq!(
        result(&get),
        format!("got reports/probe.txt {digest}: probe artifact bytes")
    );

    // One flipped byte in the stored object: the plugin is refused the bytes.
    let object = dir
        .path()
        .join("store/objects/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&object, bytes).unwrap();
    let get = probe(
        "artifact-get",
        "reports/probe.txt",
        &["--artifacts", &store, "--public-key", &public],
    )
    .await;
    assert!(result(&get).contains("VerificationFailed"), "{get:#?}");
    assert!(result(&get).contains("digest"), "{get:#?}");
}

/// Locally there is no runner to `::add-mask::`, so the host masks a granted secret in
/// every way a plugin can say it: its stdio, its error, and the log line it was in.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_is_masked_locally_in_stdio_errors_and_reports() {
    for json in [true, false] {
        let mut cmd = tollgate();
        cmd.args([
            "run",
            guest("probe"),
            "--with",
            "attack=secret-in-errors",
            "--with",
            "arg=PROBE_SECRET",
            "--secret",
            "PROBE_SECRET",
        ])
        .env("PROBE_SECRET", "hunter2-value");
        if json {
            cmd.arg("--json");
        }
        let r = run_cmd(&mut cmd).await;
        assert_eq!(r.code, 1, "{r:#?}");
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("hunter2-value"), "{r:#?}");
        assert!(all.contains("the peer said ***"), "{r:#?}");
    }
}

/// A plugin that panics (a Python exception or JS `Error` does the same) ends with its last
/// words in the error, not only on debug lines Actions hides.
#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_plugin_error_quotes_its_last_output() {
    let r = probe("panic", "", &[]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("crashed"), "{message}");
    assert!(message.contains("about to fail while parsing the plan"), "{message}");
    assert!(message.contains("unexpected token at line 3"), "{message}");
}
