//! A malicious plugin against the host: `tests/guests/hostile`, written as an attacker would
//! write one, runs through the real `tollgate` binary. One table row per attack; each test
//! runs its whole table, then fails once listing every row that failed and what was
//! observed. What is asserted is what a user, or the GitHub runner, would notice:
//!
//! 1. **Nothing a plugin writes grants anything.** An input marked `grants-origins` whose
//!    *default* names a server the test started (plain, nested in an object, behind a
//!    duplicate input name), and requests made during `describe`: the server must see no
//!    request when the step grants no network.
//! 2. **Every plugin-controlled string is neutralised** before it reaches stdout, stderr or a
//!    runner file: every describe string, the host's refusals that echo them, and every
//!    run-time channel (logs, annotations, groups, progress, stdio, errors, reports, outputs,
//!    summary, artifact names), each run under GitHub Actions, locally and with `--json`, and
//!    `plugin describe`. Output is read as the runner reads it: lines split on `\n`, `\r`,
//!    U+0085, U+2028 and U+2029, leading whitespace trimmed; a line starting with `::` must be
//!    one of the host's own commands (`add-mask` only for secrets the test granted) with no
//!    payload marker in its name or properties; no `##[`, ESC, other C0/C1 controls or bidi
//!    overrides anywhere. `$GITHUB_OUTPUT` must parse as the runner parses it and hold only
//!    declared outputs; `$GITHUB_ENV`, `$GITHUB_PATH` and `$GITHUB_STATE` stay empty.
//! 3. **Every resource is bounded, the host's own included**: `describe` that spins,
//!    allocates or recurses stops at the step's `--timeout` / `--memory` with a message naming
//!    the limit; oversized descriptions are refused in a few lines; outputs, empty log lines,
//!    group ends and annotations cannot flood the runner; `wasi:http` fields and request
//!    bodies and artifact puts cannot grow the host (its peak RSS is read with `wait4`).
//! 4. **Cloud-metadata addresses are refused in every spelling**, with `http://*:*` granted:
//!    the denial reaches the plugin as an error and the host names the reason.
//!
//! The guest's payloads carry markers `PWN<n>.<field>`, so a leak names the field it came
//! from. Its `describe` is chosen by patching a slot in a copy of the `.wasm` ([`component`]).

use crate::support::{Measured, Reply, Server, guest, run_measured};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// The hostile component and how to run it
// ---------------------------------------------------------------------------------------

/// Must match `tests/guests/hostile`: the slot's marker and its size.
const MAGIC: &[u8] = b"<<tollgate-hostile-describe-mode>>";
const SLOT_LEN: usize = 1024;

/// The hostile component with `describe_mode` (`MODE ARG`) written into its describe slot;
/// the unpatched component (every describe string hostile) for `""`.
fn component(describe_mode: &str) -> String {
    let original = guest("hostile");
    if describe_mode.is_empty() {
        return original.to_string();
    }
    assert!(
        describe_mode.len() <= SLOT_LEN,
        "describe mode too long: {describe_mode}"
    );
    let mut bytes = std::fs::read(original).expect("read the hostile component");
    let mut pattern = MAGIC.to_vec();
    pattern.extend(std::iter::repeat_n(b' ', SLOT_LEN));
    let found: Vec<usize> = bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the hostile component must hold exactly one describe slot"
    );
    let slot = &mut bytes[found[0] + MAGIC.len()..][..SLOT_LEN];
    slot[..describe_mode.len()].copy_from_slice(describe_mode.as_bytes());
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let dir = std::env::temp_dir().join("tollgate-e2e-hostile");
    std::fs::create_dir_all(&dir).expect("create the patched-component directory");
    let path = dir.join(format!("hostile-{:016x}.wasm", hasher.finish()));
    if !path.exists() {
        // Tests run in parallel: write aside, then rename into place.
        let tmp = dir.join(format!("{:016x}.{}.tmp", hasher.finish(), std::process::id()));
        std::fs::write(&tmp, &bytes).expect("write a patched component");
        std::fs::rename(&tmp, &path).expect("move a patched component into place");
    }
    path.to_str().expect("UTF-8 temp dir").to_string()
}

/// How the step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `GITHUB_ACTIONS=true` with every runner file set.
    Actions,
    /// A terminal (well, a pipe).
    Local,
    /// `--json`.
    Json,
}

const MODES: [Mode; 3] = [Mode::Actions, Mode::Local, Mode::Json];

/// The runner files a step may write, as `(variable, file name)`.
const RUNNER_FILES: [(&str, &str); 5] = [
    ("GITHUB_OUTPUT", "output"),
    ("GITHUB_STEP_SUMMARY", "summary"),
    ("GITHUB_ENV", "env"),
    ("GITHUB_PATH", "path"),
    ("GITHUB_STATE", "state"),
];

/// One finished `tollgate` process and what it left behind.
struct Launch {
    mode: Mode,
    m: Measured,
    /// Contents of each runner file, in [`RUNNER_FILES`] order.
    files: Vec<String>,
    /// The step's working directory.
    cwd: PathBuf,
    _dir: tempfile::TempDir,
}

impl Launch {
    fn file(&self, var: &str) -> &str {
        let i = RUNNER_FILES.iter().position(|(v, _)| *v == var).expect("a runner file");
        &self.files[i]
    }

    fn all_output(&self) -> String {
        format!("{}\n{}", self.m.run.stdout, self.m.run.stderr)
    }

    /// The `result` output of a `--json` report.
    fn result(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.m.run.stdout)
            .ok()
            .and_then(|v| v["outputs"]["result"].as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The `message` of a `--json` report, else stderr.
    fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.m.run.stdout)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| self.m.run.stderr.clone())
    }

    /// The end of what the process said, for failure reports.
    fn excerpt(&self) -> String {
        let tail = |text: &str| {
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(4);
            lines[from..].iter().map(|l| show(l)).collect::<Vec<_>>().join(" / ")
        };
        format!(
            "exit {}; stdout ends: {}; stderr ends: {}",
            self.m.run.code,
            tail(&self.m.run.stdout),
            tail(&self.m.run.stderr)
        )
    }
}

/// Run `tollgate ARGS…` in `mode`. In `args`, `{dir}` is a fresh directory the step may be
/// granted; the working directory is a fresh one beside it.
async fn launch(mode: Mode, args: &[String], envs: &[(&str, &str)], deadline: Duration) -> Launch {
    let dir = tempfile::tempdir().expect("tempdir");
    let granted = dir.path().join("granted");
    let cwd = dir.path().join("work");
    let runner = dir.path().join("runner");
    for d in [&granted, &cwd, &runner] {
        std::fs::create_dir(d).expect("create a test directory");
    }
    let granted_text = granted.to_str().expect("UTF-8 temp dir");
    let mut args: Vec<String> = args.iter().map(|a| a.replace("{dir}", granted_text)).collect();
    let mut envs: Vec<(String, String)> = envs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match mode {
        Mode::Actions => {
            envs.push(("GITHUB_ACTIONS".into(), "true".into()));
            envs.push(("RUNNER_TEMP".into(), runner.join("temp").display().to_string()));
            for (var, file) in RUNNER_FILES {
                let path = runner.join(file);
                std::fs::write(&path, "").expect("create a runner file");
                envs.push((var.into(), path.display().to_string()));
            }
        }
        Mode::Local => {}
        Mode::Json => args.push("--json".into()),
    }
    let work = cwd.clone();
    let m = tokio::task::spawn_blocking(move || run_measured(&args, &envs, &work, deadline))
        .await
        .expect("run tollgate");
    let files = RUNNER_FILES
        .iter()
        .map(|(_, file)| std::fs::read_to_string(runner.join(file)).unwrap_or_default())
        .collect();
    Launch {
        mode,
        m,
        files,
        cwd,
        _dir: dir,
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `tollgate run <component for describe_mode> ARGS…`.
fn run_args(describe_mode: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["run".to_string(), component(describe_mode)];
    all.extend(strings(args));
    all
}

const DEADLINE: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Reading output as the GitHub runner does
// ---------------------------------------------------------------------------------------

/// Commands the host itself may issue.
const HOST_COMMANDS: [&str; 7] = ["error", "warning", "notice", "debug", "group", "endgroup", "add-mask"];
/// Outputs the host itself sets for every step.
const HOST_OUTPUTS: [&str; 3] = ["status", "message", "outputs"];
/// What the runner treats as line ends, and what a hardened reader should.
const LINE_ENDS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// `text` as a short, escaped excerpt.
fn show(text: &str) -> String {
    let cut: String = text.chars().take(160).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A character that must never reach a log or a runner file: C0/C1 controls other than
/// `\n` and `\t` (ESC and `\r` included), and bidi overrides and isolates.
fn forbidden_char(c: char) -> bool {
    (c < ' ' && c != '\n' && c != '\t')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Why a line (already trimmed, starting with `::`) is not one of the host's own commands.
fn command_problem(line: &str, masks: &[&str]) -> Option<String> {
    let body = &line[2..];
    // Without a second `::` the runner prints the line as it is.
    let end = body.find("::")?;
    let (head, data) = (&body[..end], &body[end + 2..]);
    let name = head.split(' ').next().unwrap_or_default().to_ascii_lowercase();
    if !HOST_COMMANDS.contains(&name.as_str()) {
        return Some(format!("plugin text became the workflow command `{name}`"));
    }
    if head.contains("PWN") {
        return Some("a payload marker inside a command's name or properties".into());
    }
    if name == "add-mask" && !masks.contains(&data) {
        return Some("`add-mask` of a value the test never granted as a secret".into());
    }
    None
}

/// Everything wrong with one output stream, at most a few of each kind.
fn stream_problems(stream: &str, text: &str, masks: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for line in lines.iter().filter(|l| l.contains("##[")).take(3) {
        problems.push(format!("{stream}: the legacy `##[` marker in {}", show(line)));
    }
    for line in lines.iter().filter(|l| l.chars().any(forbidden_char)).take(3) {
        let c = line.chars().find(|c| forbidden_char(*c)).unwrap_or_default();
        problems.push(format!("{stream}: U+{:04X} in {}", c as u32, show(line)));
    }
    let commands = text
        .split(LINE_ENDS)
        .map(str::trim_start)
        .filter(|l| l.starts_with("::"))
        .filter_map(|l| command_problem(l, masks).map(|p| format!("{stream}: {p}: {}", show(l))));
    problems.extend(commands.take(4));
    problems
}

/// `$GITHUB_OUTPUT` as the runner parses it: `NAME=VALUE`, or `NAME<<DELIMITER`, the value's
/// lines, and a line holding exactly the delimiter. Lines end at `\n` (a `\r` before it is
/// dropped); a value line without a newline is an error, as is a missing delimiter.
fn parse_github_output(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(n) => {
                let line = &rest[..n];
                lines.push((line.strip_suffix('\r').unwrap_or(line), true));
                rest = &rest[n + 1..];
            }
            None => {
                lines.push((rest, false));
                rest = "";
            }
        }
    }
    let mut entries = Vec::new();
    let mut lines = lines.into_iter();
    while let Some((line, _)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                if e == 0 {
                    return Err(format!("a line with no name: {}", show(line)));
                }
                entries.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("an invalid heredoc line: {}", show(line)));
                }
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        None => return Err(format!("no closing delimiter for `{name}`")),
                        Some((l, _)) if l == delimiter => break,
                        Some((_, false)) => return Err(format!("`{name}`: the value's last line has no newline")),
                        Some((l, true)) => value.push(l),
                    }
                }
                entries.push((name.to_string(), value.join("\n")));
            }
            _ => return Err(format!("an invalid line: {}", show(line))),
        }
    }
    Ok(entries)
}

/// Everything wrong with the runner files after a step under Actions.
fn runner_file_problems(launch: &Launch, declared: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    match parse_github_output(launch.file("GITHUB_OUTPUT")) {
        Err(e) => problems.push(format!("GITHUB_OUTPUT does not parse as the runner reads it: {e}")),
        Ok(entries) => {
            let mut seen = HashSet::new();
            for (name, _) in &entries {
                if !declared.contains(&name.as_str()) && !HOST_OUTPUTS.contains(&name.as_str()) {
                    problems.push(format!("GITHUB_OUTPUT holds an undeclared output {}", show(name)));
                }
                if !seen.insert(name.to_ascii_lowercase()) {
                    problems.push(format!(
                        "GITHUB_OUTPUT sets {} twice (output names are case-insensitive in expressions)",
                        show(name)
                    ));
                }
            }
        }
    }
    for var in ["GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE"] {
        let text = launch.file(var);
        if !text.is_empty() {
            problems.push(format!("{var} was written: {}", show(text)));
        }
    }
    // Markdown with CRLF line ends is fine; a bare CR, ESC or a bidi override is not.
    let summary = launch.file("GITHUB_STEP_SUMMARY").replace("\r\n", "\n");
    if let Some(line) = summary.split('\n').find(|l| l.chars().any(forbidden_char)) {
        let c = line.chars().find(|c| forbidden_char(*c)).unwrap_or_default();
        problems.push(format!("GITHUB_STEP_SUMMARY: U+{:04X} in {}", c as u32, show(line)));
    }
    problems
}

/// A killed process or an unexpected exit code.
fn exit_problems(launch: &Launch, expected: &[i32]) -> Vec<String> {
    if launch.m.killed {
        return vec![format!(
            "still running after {}s; killed ({})",
            launch.m.elapsed.as_secs(),
            launch.excerpt()
        )];
    }
    if expected.contains(&launch.m.run.code) {
        return vec![];
    }
    vec![format!(
        "expected exit code {expected:?}, observed {}",
        launch.excerpt()
    )]
}

/// Rows that held and rows that did not; fails once, at the end, with every failure.
struct Verdicts {
    rows: usize,
    failures: Vec<String>,
}

impl Verdicts {
    fn new() -> Self {
        Self {
            rows: 0,
            failures: Vec::new(),
        }
    }

    fn row(&mut self, label: &str, mut problems: Vec<String>) {
        self.rows += 1;
        if problems.is_empty() {
            println!("PASS  {label}");
            return;
        }
        if problems.len() > 10 {
            let more = problems.len() - 10;
            problems.truncate(10);
            problems.push(format!("… and {more} more"));
        }
        let text = format!("FAIL  {label}\n        {}", problems.join("\n        "));
        println!("{text}");
        self.failures.push(text);
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} rows failed:\n{}",
            self.failures.len(),
            self.rows,
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. Nothing a plugin writes grants anything
// ---------------------------------------------------------------------------------------

/// `(row, describe mode, run arguments, requests the server must see)`; `{url}` is the
/// row's own server.
const GRANT_ROWS: &[(&str, &str, &[&str], usize)] = &[
    (
        "a grants-origins input's default",
        "grant-default {url}/",
        &["--with", "attack=fetch", "--with", "arg={url}/"],
        0,
    ),
    (
        "a URL nested in a grants-origins object default",
        "grant-nested {url}/",
        &["--with", "attack=fetch", "--with", "arg={url}/"],
        0,
    ),
    (
        "a grants-origins default behind a duplicate input name",
        "grant-duplicate {url}/",
        &[
            "--with",
            "attack=fetch",
            "--with",
            "arg={url}/",
            "--with",
            "target=hello",
        ],
        0,
    ),
    (
        "a request made during describe",
        "chatty {url}/",
        &["--with", "attack=pass"],
        0,
    ),
    (
        "control: a plugin that requests any origin but is granted none",
        "plain",
        &["--with", "attack=fetch", "--with", "arg={url}/"],
        0,
    ),
    (
        "control: a URL the workflow itself wrote into a grants-origins input",
        "grant-input",
        &[
            "--with",
            "attack=fetch",
            "--with",
            "arg={url}/",
            "--with",
            "target={url}/",
        ],
        1,
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn nothing_a_plugin_writes_grants_network_access() {
    let mut verdicts = Verdicts::new();
    for (label, describe_mode, args, hits) in GRANT_ROWS {
        let server = Server::start(Reply::ok("attacker")).await;
        let fill = |t: &str| t.replace("{url}", &server.base);
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let l = launch(Mode::Json, &run_args(&fill(describe_mode), &args), &[], DEADLINE).await;
        let mut problems = exit_problems(&l, &[0, 1, 2]);
        if server.hits() != *hits {
            problems.push(format!(
                "the server saw {} request(s), expected {hits}; result {}; {}",
                server.hits(),
                show(&l.result()),
                l.excerpt()
            ));
        }
        if *hits == 0 && l.m.run.code == 0 && l.result().starts_with("status") {
            problems.push(format!("the plugin got an answer: {}", show(&l.result())));
        }
        verdicts.row(label, problems);
    }
    verdicts.finish();
}

// ---------------------------------------------------------------------------------------
// 2. Every plugin-controlled string is neutralised
// ---------------------------------------------------------------------------------------

/// Outputs the `plain` description declares.
const PLAIN_OUTPUTS: &[&str] = &["result", "extra", "big1", "big2", "big3", "big4", "big5"];
/// The value of the secret the `secret-echo` row grants.
const TOKEN: &str = "tok-3nv-v4lue";

/// One way to make the host print plugin text.
struct Row {
    label: &'static str,
    /// Describe mode of the component (`""`: every describe string hostile).
    describe: &'static str,
    args: &'static [&'static str],
    envs: &'static [(&'static str, &'static str)],
    /// Secret values the step grants (the only values `add-mask` may carry).
    masks: &'static [&'static str],
    declared: &'static [&'static str],
    /// Acceptable exit codes: the point is what is printed, not whether the host refuses.
    exit: &'static [i32],
    /// Further checks of a run under Actions.
    extra: Option<fn(&Launch) -> Vec<String>>,
}

const ROW: Row = Row {
    label: "",
    describe: "plain",
    args: &[],
    envs: &[],
    masks: &[],
    declared: PLAIN_OUTPUTS,
    exit: &[0],
    extra: None,
};

/// Hostile describe strings, and the host's refusals that echo them.
const DESCRIBE_ROWS: &[Row] = &[
    Row {
        label: "every describe string hostile; the step runs",
        describe: "",
        args: &["--with", "attack=everything", "--allow-read", "{dir}"],
        exit: &[0, 2],
        ..ROW
    },
    Row {
        label: "a required input is missing (its doc is echoed)",
        describe: "",
        args: &["--allow-read", "{dir}"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "an unknown input is given (the declared names are listed)",
        describe: "",
        args: &["--with", "attack=pass", "--with", "nope=1", "--allow-read", "{dir}"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "every describe string hostile; its required read grant is missing",
        describe: "",
        args: &["--with", "attack=pass"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "a required read grant is missing (its reason is echoed)",
        describe: "missing-read",
        args: &["--with", "attack=pass"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "a required secret is missing (its name and reason are echoed)",
        describe: "missing-secret",
        args: &["--with", "attack=pass"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "a malformed origin is requested (the pattern is echoed)",
        describe: "bad-origin",
        args: &["--with", "attack=pass"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "hostile input and output names (the refusal echoes them)",
        describe: "evil-names",
        args: &["--with", "attack=pass"],
        exit: &[2],
        ..ROW
    },
    Row {
        label: "describe logs, annotates, prints, sets outputs and puts an artifact",
        describe: "chatty",
        args: &["--with", "attack=pass"],
        exit: &[0, 1, 2],
        ..ROW
    },
];

/// Hostile text through every run-time channel (the description itself is plain).
const RUN_ROWS: &[Row] = &[
    Row {
        label: "log lines at every level",
        args: &["--with", "attack=log-levels"],
        ..ROW
    },
    Row {
        label: "annotations: hostile file and message at every level",
        args: &["--with", "attack=annotate"],
        ..ROW
    },
    Row {
        label: "group titles, an extra group end, an unclosed group",
        args: &["--with", "attack=group"],
        ..ROW
    },
    Row {
        label: "progress text",
        args: &["--with", "attack=progress"],
        ..ROW
    },
    Row {
        label: "the plugin's own stdout and stderr",
        args: &["--with", "attack=stdio"],
        ..ROW
    },
    Row {
        label: "a hostile undeclared output name (the host's refusal is the error)",
        args: &["--with", "attack=bad-output-name"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "a hostile secret name (the host's refusal is the error)",
        args: &["--with", "attack=secret-name"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "a hostile TLS origin (the host's refusal is the error)",
        args: &["--with", "attack=tls-origin"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "an invalid-input error: input name and message",
        args: &["--with", "attack=invalid-input"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "a denied error",
        args: &["--with", "attack=denied"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "a peer error",
        args: &["--with", "attack=peer"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "an internal error",
        args: &["--with", "attack=internal"],
        exit: &[1, 2],
        ..ROW
    },
    Row {
        label: "the message of a passed report",
        args: &["--with", "attack=report-passed"],
        ..ROW
    },
    Row {
        label: "the message of a failed report",
        args: &["--with", "attack=report-failed"],
        exit: &[1],
        ..ROW
    },
    Row {
        label: "output values, one forging heredoc lines",
        args: &["--with", "attack=output-values"],
        ..ROW
    },
    Row {
        label: "step summary Markdown",
        args: &["--with", "attack=summary"],
        ..ROW
    },
    Row {
        label: "an artifact's name and media type",
        args: &["--with", "attack=artifact-name", "--artifacts", "{dir}/store"],
        exit: &[0, 1],
        ..ROW
    },
    Row {
        label: "a granted secret logged next to hostile text",
        args: &["--with", "attack=secret-echo", "--secret", "HOSTILE_TOKEN"],
        envs: &[("HOSTILE_TOKEN", TOKEN)],
        masks: &[TOKEN],
        ..ROW
    },
    Row {
        label: "outputs named like the host's own (status, STATUS, Message, outputs)",
        describe: "reserved-outputs",
        args: &["--with", "attack=reserved"],
        declared: &["result", "status", "STATUS", "Message", "outputs"],
        exit: &[1, 2],
        extra: Some(reserved_outputs_keep_the_host_values),
        ..ROW
    },
];

/// The runner must read the step's real status and message, whatever the plugin set.
fn reserved_outputs_keep_the_host_values(launch: &Launch) -> Vec<String> {
    let Ok(entries) = parse_github_output(launch.file("GITHUB_OUTPUT")) else {
        return vec![];
    };
    let mut problems = Vec::new();
    for (name, value) in &entries {
        let key = name.to_ascii_lowercase();
        if key == "status" && value != "failed" && launch.m.run.code == 1 {
            problems.push(format!("GITHUB_OUTPUT `{name}` = {} for a failed step", show(value)));
        }
        if key == "message" && !value.starts_with("the real outcome") && launch.m.run.code == 1 {
            problems.push(format!(
                "GITHUB_OUTPUT `{name}` = {} instead of the step's message",
                show(value)
            ));
        }
    }
    problems
}

/// Run every row in every mode and check everything it printed and wrote.
async fn check_rows(rows: &[Row]) {
    let mut verdicts = Verdicts::new();
    for row in rows {
        let args = run_args(row.describe, row.args);
        let (actions, local, json) = tokio::join!(
            launch(Mode::Actions, &args, row.envs, DEADLINE),
            launch(Mode::Local, &args, row.envs, DEADLINE),
            launch(Mode::Json, &args, row.envs, DEADLINE),
        );
        for l in [actions, local, json] {
            let mut problems = exit_problems(&l, row.exit);
            problems.extend(stream_problems("stdout", &l.m.run.stdout, row.masks));
            problems.extend(stream_problems("stderr", &l.m.run.stderr, row.masks));
            if l.mode == Mode::Actions {
                problems.extend(runner_file_problems(&l, row.declared));
                if let Some(extra) = row.extra {
                    problems.extend(extra(&l));
                }
            }
            verdicts.row(&format!("{} [{:?}]", row.label, l.mode), problems);
        }
    }
    verdicts.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_describe_strings_are_neutralised_everywhere() {
    check_rows(DESCRIBE_ROWS).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_run_time_strings_are_neutralised_everywhere() {
    check_rows(RUN_ROWS).await;
}

/// `tollgate plugin describe` of hostile descriptions, as text (under Actions too) and JSON.
#[tokio::test(flavor = "multi_thread")]
async fn plugin_describe_neutralises_hostile_descriptions() {
    let rows = [
        ("every describe string hostile", ""),
        ("hostile input and output names", "evil-names"),
        ("a hostile origin pattern", "bad-origin"),
        ("a missing secret with a hostile name", "missing-secret"),
        ("describe-time side effects", "chatty"),
    ];
    let mut verdicts = Verdicts::new();
    for (label, describe_mode) in rows {
        let args = vec!["plugin".to_string(), "describe".into(), component(describe_mode)];
        for mode in MODES {
            let l = launch(mode, &args, &[], DEADLINE).await;
            let mut problems = exit_problems(&l, &[0, 2]);
            problems.extend(stream_problems("stdout", &l.m.run.stdout, &[]));
            problems.extend(stream_problems("stderr", &l.m.run.stderr, &[]));
            verdicts.row(&format!("plugin describe: {label} [{mode:?}]"), problems);
        }
    }
    verdicts.finish();
}

/// Inspecting a plugin is bounded by its own limits: a `describe` that spins ends at
/// `plugin describe --timeout`, and without the flag at 30 seconds, not the 10-minute step
/// default (the default is read from `--help`, so the test does not wait it out).
#[tokio::test(flavor = "multi_thread")]
async fn plugin_describe_of_a_spinning_component_ends_at_its_own_limit() {
    let args: Vec<String> = ["plugin", "describe", &component("spin"), "--timeout", "2s"]
        .map(String::from)
        .to_vec();
    let l = launch(Mode::Local, &args, &[], DEADLINE).await;
    assert_eq!(l.m.run.code, 1, "{:#?}", l.m.run);
    assert!(
        l.m.run.stderr.contains("time limit") && l.m.run.stderr.contains("2s"),
        "{}",
        l.m.run.stderr
    );
    let help = launch(
        Mode::Local,
        &["plugin".into(), "describe".into(), "--help".into()],
        &[],
        DEADLINE,
    )
    .await;
    assert!(help.m.run.stdout.contains("[default: 30s]"), "{}", help.m.run.stdout);
}

// ---------------------------------------------------------------------------------------
// 3. Every resource is bounded, the host's own included
// ---------------------------------------------------------------------------------------

/// One resource attack and the bound it must meet.
struct Bound {
    label: &'static str,
    describe: &'static str,
    /// `{url}` is a server the test started; `{dir}` a fresh directory.
    args: &'static [&'static str],
    mode: Mode,
    /// Expected exit code, when it matters.
    code: Option<i32>,
    /// Each must appear in stdout or stderr (ASCII case-insensitive).
    says: &'static [&'static str],
    /// None may appear.
    never_says: &'static [&'static str],
    max_secs: Option<u64>,
    max_rss_mib: Option<u64>,
    /// stdout and stderr together.
    max_output_bytes: Option<usize>,
}

const BOUND: Bound = Bound {
    label: "",
    describe: "plain",
    args: &[],
    mode: Mode::Json,
    code: None,
    says: &[],
    never_says: &[],
    max_secs: None,
    max_rss_mib: None,
    max_output_bytes: None,
};

/// What the host may hold on top of a 64 MiB plugin (runtime, compiler, buffers).
const RSS_BOUND_MIB: u64 = 400;
const SHORT_ERROR: usize = 64 << 10;

const BOUNDS: &[Bound] = &[
    Bound {
        label: "describe spins forever (--timeout 2s)",
        describe: "spin",
        args: &["--with", "attack=pass", "--timeout", "2s"],
        code: Some(1),
        says: &["time limit", "2s"],
        max_secs: Some(8),
        ..BOUND
    },
    Bound {
        label: "describe allocates without bound (--memory 64MiB)",
        describe: "alloc",
        args: &["--with", "attack=pass", "--memory", "64MiB"],
        code: Some(1),
        says: &["memory limit", "64"],
        max_rss_mib: Some(RSS_BOUND_MIB),
        ..BOUND
    },
    Bound {
        label: "describe recurses without bound",
        describe: "stack",
        args: &["--with", "attack=pass"],
        code: Some(1),
        says: &["stack"],
        never_says: &["crashed", "backtrace"],
        ..BOUND
    },
    Bound {
        label: "run recurses without bound",
        args: &["--with", "attack=stack"],
        code: Some(1),
        says: &["stack"],
        never_says: &["crashed", "backtrace"],
        ..BOUND
    },
    Bound {
        label: "describe declares 100 000 outputs",
        describe: "many-outputs",
        args: &["--with", "attack=bad-output-name"],
        code: Some(2),
        says: &["output"],
        max_output_bytes: Some(SHORT_ERROR),
        ..BOUND
    },
    Bound {
        label: "describe declares 100 000 inputs",
        describe: "many-inputs",
        args: &["--with", "attack=pass", "--with", "nope=1"],
        code: Some(2),
        says: &["input"],
        max_output_bytes: Some(SHORT_ERROR),
        ..BOUND
    },
    Bound {
        label: "describe documents a required input with 16 MiB of text",
        describe: "huge-docs",
        args: &["--with", "attack=pass"],
        code: Some(2),
        max_output_bytes: Some(SHORT_ERROR),
        ..BOUND
    },
    Bound {
        label: "outputs beyond the caps (2 MiB in one, then 5 × 1 MiB)",
        args: &["--with", "attack=output-cap"],
        code: Some(0),
        says: &["refused 2 MiB", "refused big"],
        ..BOUND
    },
    Bound {
        label: "a million empty log lines",
        args: &["--with", "attack=empty-log-flood"],
        mode: Mode::Actions,
        max_output_bytes: Some(8 << 20),
        ..BOUND
    },
    Bound {
        label: "a million group ends",
        args: &["--with", "attack=endgroup-flood"],
        mode: Mode::Actions,
        max_output_bytes: Some(8 << 20),
        ..BOUND
    },
    Bound {
        label: "20 000 annotations with empty messages and 1 KiB file names",
        args: &["--with", "attack=annotation-flood"],
        mode: Mode::Actions,
        max_output_bytes: Some(8 << 20),
        ..BOUND
    },
    Bound {
        label: "wasi:http: 65 536 `fields` of 16 KiB (--memory 64MiB)",
        args: &["--with", "attack=fields-flood", "--memory", "64MiB"],
        code: Some(1),
        says: &["limit"],
        never_says: &["crashed"],
        max_rss_mib: Some(RSS_BOUND_MIB),
        ..BOUND
    },
    Bound {
        label: "wasi:http: one header value of 1 MiB",
        args: &["--with", "attack=huge-header"],
        says: &["limit"],
        never_says: &["crashed", "backtrace"],
        ..BOUND
    },
    Bound {
        label: "wasi:http: 40 request bodies of 15 MiB that never end (--memory 64MiB)",
        args: &[
            "--with",
            "attack=body-flood",
            "--with",
            "arg={url}/upload",
            "--allow-net",
            "{url}",
            "--memory",
            "64MiB",
            "--timeout",
            "30s",
        ],
        // Each request over the budget is refused to the plugin (`HttpRequestBodySize`),
        // which may carry on: the host says so and its memory stays bounded.
        says: &["refused", "in flight"],
        never_says: &["crashed"],
        max_rss_mib: Some(RSS_BOUND_MIB),
        ..BOUND
    },
    Bound {
        label: "300 distinct artifacts of 8 MiB (--memory 64MiB)",
        args: &[
            "--with",
            "attack=artifact-flood",
            "--artifacts",
            "{dir}/store",
            "--memory",
            "64MiB",
        ],
        says: &["refused after"],
        max_rss_mib: Some(RSS_BOUND_MIB),
        ..BOUND
    },
];

#[tokio::test(flavor = "multi_thread")]
async fn every_resource_is_bounded_including_the_hosts_own() {
    let server = Server::start(Reply::ok("sink")).await;
    let mut verdicts = Verdicts::new();
    for bound in BOUNDS {
        let args: Vec<String> = bound.args.iter().map(|a| a.replace("{url}", &server.base)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let l = launch(bound.mode, &run_args(bound.describe, &args), &[], DEADLINE).await;
        let mut problems = Vec::new();
        if l.m.killed {
            problems.push(format!("still running after {}s; killed", l.m.elapsed.as_secs()));
        }
        if let Some(code) = bound.code
            && l.m.run.code != code
        {
            problems.push(format!("exit code {}, expected {code}", l.m.run.code));
        }
        let said = l.all_output().to_ascii_lowercase();
        for word in bound.says {
            if !said.contains(&word.to_ascii_lowercase()) {
                problems.push(format!("nothing says {word:?}"));
            }
        }
        for word in bound.never_says {
            if said.contains(&word.to_ascii_lowercase()) {
                problems.push(format!("says {word:?}"));
            }
        }
        if let Some(max) = bound.max_secs
            && l.m.elapsed > Duration::from_secs(max)
        {
            problems.push(format!("took {:.1}s, more than {max}s", l.m.elapsed.as_secs_f64()));
        }
        if let Some(max) = bound.max_rss_mib
            && l.m.max_rss_kib > max << 10
        {
            problems.push(format!(
                "the host's peak RSS was {} MiB, more than {max} MiB",
                l.m.max_rss_kib >> 10
            ));
        }
        let output = l.m.run.stdout.len() + l.m.run.stderr.len();
        if let Some(max) = bound.max_output_bytes
            && output > max
        {
            problems.push(format!("printed {output} bytes, more than {max}"));
        }
        if !problems.is_empty() {
            problems.push(format!(
                "observed: {}; message {}; {:.1}s, peak RSS {} MiB",
                l.excerpt(),
                show(&l.message()),
                l.m.elapsed.as_secs_f64(),
                l.m.max_rss_kib >> 10
            ));
        }
        verdicts.row(bound.label, problems);
    }
    verdicts.finish();
}

/// A bare `tollgate run` (no `--artifacts`, no key, no runner) gives the step nowhere to
/// write: `put` is refused and nothing appears in the working directory.
#[tokio::test(flavor = "multi_thread")]
async fn artifact_put_is_refused_when_the_step_may_not_write_artifacts() {
    let mut verdicts = Verdicts::new();
    for mode in [Mode::Local, Mode::Json] {
        let l = launch(
            mode,
            &run_args("plain", &["--with", "attack=artifact-put"]),
            &[],
            DEADLINE,
        )
        .await;
        let mut problems = Vec::new();
        let said = l.all_output();
        if said.contains("stored sha256:") {
            problems.push(format!("the artifact was stored: {}", l.excerpt()));
        }
        let written: Vec<String> = std::fs::read_dir(&l.cwd)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if !written.is_empty() {
            problems.push(format!("the step wrote into its working directory: {written:?}"));
        }
        verdicts.row(&format!("artifacts.put with no artifact store [{mode:?}]"), problems);
    }
    verdicts.finish();
}

// ---------------------------------------------------------------------------------------
// 4. Cloud-metadata addresses, in every spelling
// ---------------------------------------------------------------------------------------

/// The metadata address 169.254.169.254.
const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// RFC 6052 §2.2 with a /48 prefix (as RFC 8215's local-use 64:ff9b:1::/48): the IPv4 address
/// fills bits 48–63 and 72–87; bits 64–71 (the `u` octet) are zero.
fn nat64_48(prefix: [u16; 3], v4: Ipv4Addr) -> Ipv6Addr {
    let [a, b, c, d] = v4.octets();
    Ipv6Addr::new(
        prefix[0],
        prefix[1],
        prefix[2],
        u16::from_be_bytes([a, b]),
        u16::from(c),
        u16::from(d) << 8,
        0,
        0,
    )
}

/// RFC 4380: Teredo carries the client's IPv4 address inverted in the last 32 bits.
fn teredo(server: Ipv4Addr, client: Ipv4Addr) -> Ipv6Addr {
    let [s0, s1, s2, s3] = server.octets();
    let [c0, c1, c2, c3] = client.octets();
    Ipv6Addr::new(
        0x2001,
        0,
        u16::from_be_bytes([s0, s1]),
        u16::from_be_bytes([s2, s3]),
        0x8000,
        0x63bf,
        !u16::from_be_bytes([c0, c1]),
        !u16::from_be_bytes([c2, c3]),
    )
}

/// `(row, URL, --resolve)` for every spelling of a metadata service.
fn metadata_spellings() -> Vec<(&'static str, String, Option<&'static str>)> {
    let local_use = nat64_48([0x64, 0xff9b, 1], METADATA);
    assert_eq!(local_use.to_string(), "64:ff9b:1:a9fe:a9:fe00::");
    let teredo = teredo(Ipv4Addr::new(65, 54, 227, 120), METADATA);
    assert_eq!(teredo.to_string(), "2001:0:4136:e378:8000:63bf:5601:5601");
    let url = |host: &str| format!("http://{host}/latest/meta-data/");
    vec![
        ("IPv4 169.254.169.254", url("169.254.169.254"), None),
        ("IPv4-mapped IPv6", url("[::ffff:169.254.169.254]"), None),
        ("IPv4-compatible IPv6", url("[::a9fe:a9fe]"), None),
        ("NAT64 64:ff9b::/96", url("[64:ff9b::a9fe:a9fe]"), None),
        ("NAT64 local-use 64:ff9b:1::/48", url(&format!("[{local_use}]")), None),
        ("6to4 2002::/16", url("[2002:a9fe:a9fe::1]"), None),
        ("Teredo 2001::/32", url(&format!("[{teredo}]")), None),
        ("AWS IPv6 fd00:ec2::254", url("[fd00:ec2::254]"), None),
        ("GCP IPv6 fd20:ce::254", url("[fd20:ce::254]"), None),
        ("Azure WireServer 168.63.129.16", url("168.63.129.16"), None),
        ("Alibaba 100.100.100.200", url("100.100.100.200"), None),
        ("Oracle 192.0.0.192", url("192.0.0.192"), None),
        (
            "metadata.google.internal. pinned by --resolve",
            url("metadata.google.internal."),
            Some("metadata.google.internal.:80:169.254.169.254"),
        ),
        ("decimal 2852039166", url("2852039166"), None),
        ("hexadecimal 0xa9fea9fe", url("0xa9fea9fe"), None),
        ("octal 0251.0376.0251.0376", url("0251.0376.0251.0376"), None),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_addresses_are_refused_in_every_spelling() {
    let spellings = metadata_spellings();
    let attempt = |url: String, resolve: Option<&'static str>| async move {
        let mut args = vec![
            "--with".to_string(),
            "attack=fetch".into(),
            "--with".into(),
            format!("arg={url}"),
            "--allow-net".into(),
            "http://*:*".into(),
            "--timeout".into(),
            "20s".into(),
        ];
        if let Some(r) = resolve {
            args.extend(["--resolve".into(), r.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        launch(Mode::Json, &run_args("plain", &args), &[], DEADLINE).await
    };
    // The first row alone compiles the component; the rest run side by side.
    let mut launches = vec![attempt(spellings[0].1.clone(), spellings[0].2).await];
    let mut rest = tokio::task::JoinSet::new();
    for (i, (_, url, resolve)) in spellings.iter().enumerate().skip(1) {
        let run = attempt(url.clone(), *resolve);
        rest.spawn(async move { (i, run.await) });
    }
    let mut others: Vec<(usize, Launch)> = rest.join_all().await;
    others.sort_by_key(|(i, _)| *i);
    launches.extend(others.into_iter().map(|(_, l)| l));

    let mut verdicts = Verdicts::new();
    for ((label, url, _), l) in spellings.iter().zip(&launches) {
        let mut problems = exit_problems(l, &[0]);
        let result = l.result();
        if !result.contains("HttpRequestDenied") {
            problems.push(format!(
                "the plugin did not get a denial for {url}: result {}",
                show(&result)
            ));
        }
        let named = l.m.run.stderr.lines().any(|line| {
            let line = line.to_ascii_lowercase();
            line.contains("denied")
                && ["never reach", "metadata", "link-local"]
                    .iter()
                    .any(|w| line.contains(w))
        });
        if !named {
            problems.push(format!(
                "no host message says why {url} is denied; stderr: {}",
                show(&l.m.run.stderr)
            ));
        }
        verdicts.row(label, problems);
    }
    verdicts.finish();
}

#[test]
fn the_github_output_parser_reads_what_the_runner_reads() {
    let text = "a=1\nb<<EOF\nline 1\r\nline 2\nEOF\n\nc=x=y\n";
    let parsed = parse_github_output(text).unwrap();
    assert_eq!(
        parsed,
        [
            ("a".to_string(), "1".to_string()),
            ("b".into(), "line 1\nline 2".into()),
            ("c".into(), "x=y".into()),
        ]
    );
    assert!(parse_github_output("b<<EOF\nno end\n").is_err());
    assert!(parse_github_output("just text\n").is_err());
    assert!(command_problem("::add-mask::PWN1.name", &[]).is_some());
    assert!(command_problem("::set-env name=PWN2.name::x", &[]).is_some());
    assert!(command_problem("::warning title=PWN0.name::x", &[]).is_some());
    assert!(command_problem("::warning title=hostile::PWN0.name", &[]).is_none());
    assert!(command_problem("::add-mask::s3cret", &["s3cret"]).is_none());
}
