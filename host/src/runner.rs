//! Runner integration: the only module that reads `GITHUB_*` and `INPUT_*` variables or
//! writes workflow commands, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`. Locally it
//! renders a readable terminal report instead, or JSON with `--json`.
//!
//! Plugin text is untrusted: every line it contributes is prefixed (so it never starts
//! a workflow command), command data is escaped as the runner specifies, and outputs are
//! written with a random heredoc delimiter that does not occur in the value.

use crate::bindings::tollgate::plugin::types::{Level, Location, Status, StepContext};
use crate::error::{Error, Result};
use crate::events::{Event, Sink};
use crate::step::StepResult;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// Where the step runs and how it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// GitHub Actions (or act): workflow commands and runner files.
    Actions,
    /// A terminal or a pipe: readable text.
    Local { color: bool },
    /// Machine-readable JSON on stdout, text logs on stderr.
    Json,
}

impl Mode {
    pub fn detect(json: bool) -> Self {
        if json {
            Mode::Json
        } else if env_is("GITHUB_ACTIONS", "true") {
            Mode::Actions
        } else {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            Mode::Local { color }
        }
    }
}

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == value)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The run context from the runner's variables (all empty locally).
pub fn context(step_id: &str) -> StepContext {
    let pull_request = env("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|event| {
            event["pull_request"]["number"]
                .as_u64()
                .or_else(|| event["number"].as_u64())
        });
    StepContext {
        step_id: step_id.to_string(),
        repository: env("GITHUB_REPOSITORY"),
        sha: env("GITHUB_SHA"),
        git_ref: env("GITHUB_REF"),
        event: env("GITHUB_EVENT_NAME"),
        run_id: env("GITHUB_RUN_ID"),
        run_attempt: env("GITHUB_RUN_ATTEMPT"),
        workflow: env("GITHUB_WORKFLOW"),
        actor: env("GITHUB_ACTOR"),
        pull_request,
        ci: env_is("GITHUB_ACTIONS", "true") || env_is("CI", "true"),
    }
}

/// The artifact store: `$RUNNER_TEMP/tollgate/artifacts` on a runner (upload it to hand
/// artifacts to a later job), `.tollgate/artifacts` locally.
pub fn default_artifacts_dir() -> PathBuf {
    match env("RUNNER_TEMP") {
        Some(temp) => PathBuf::from(temp).join("tollgate").join("artifacts"),
        None => PathBuf::from(".tollgate").join("artifacts"),
    }
}

/// The action's inputs (`INPUT_NAME`, also with `-` for `_` as the runner writes them).
pub fn action_input(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    env(&format!("INPUT_{}", upper.replace('-', "_"))).or_else(|| env(&format!("INPUT_{upper}")))
}

/// A list-valued action input: one item per line or comma.
pub fn action_list(name: &str) -> Vec<String> {
    action_input(name)
        .map(|v| {
            v.split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Values of the named secrets, from the step's environment (the workflow maps
/// `secrets.X` into `env:`).
pub fn secret_values(names: &[String]) -> std::collections::HashMap<String, String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.clone(), v)))
        .collect()
}

/// Escape data of a workflow command (`::cmd::DATA`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape untrusted data of a workflow command, also defusing the legacy `##[` marker.
fn untrusted_data(text: &str) -> String {
    escape_data(text).replace("##[", "# #[")
}

/// Escape a property value of a workflow command (`::cmd key=VALUE::`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Make untrusted text safe to print as plain log lines under a prefix: no control
/// characters, and no legacy `##[command]` marker.
pub fn neutralise(text: &str) -> String {
    strip_ansi(text)
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect::<String>()
        .replace("##[", "# #[")
}

/// Drop ANSI escape sequences (colours from tools like terraform) so logs stay readable.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.next_if_eq(&'[').is_some() {
            // CSI: parameters and intermediates, then one final byte in @..~.
            for next in chars.by_ref() {
                if ('@'..='~').contains(&next) {
                    break;
                }
            }
        }
    }
    out
}

/// Prints events as they happen, in the mode's format.
pub struct Printer {
    mode: Mode,
    plugin: Mutex<String>,
    /// A pipeline step's printer keeps the step's label as its prefix.
    fixed: bool,
}

impl Printer {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            plugin: Mutex::new("tollgate".into()),
            fixed: false,
        }
    }

    /// A printer whose prefix is a pipeline step's label.
    pub fn for_step(mode: Mode, label: &str) -> Self {
        Self {
            mode,
            plugin: Mutex::new(label.to_string()),
            fixed: true,
        }
    }

    /// Name the plugin whose events follow (used as the line prefix).
    pub fn set_plugin(&self, name: &str) {
        if let Ok(mut p) = self.plugin.lock() {
            *p = name.to_string();
        }
    }

    fn prefix(&self, host: bool) -> String {
        let name = self.plugin.lock().map(|p| p.clone()).unwrap_or_default();
        match (host, self.fixed) {
            (true, true) => format!("tollgate:{name}"),
            (true, false) => "tollgate".into(),
            (false, _) => name,
        }
    }

    fn actions(&self, event: Event) -> Vec<String> {
        match event {
            Event::Log { level, message, host } => {
                let prefix = self.prefix(host);
                match level_command(level) {
                    Some(cmd) => vec![format!(
                        "::{cmd} title={}::{}",
                        escape_property(&prefix),
                        untrusted_data(&message)
                    )],
                    None => prefixed(&prefix, &message),
                }
            }
            Event::Annotate {
                level,
                message,
                location,
            } => {
                let cmd = level_command(level).filter(|c| *c != "debug").unwrap_or("notice");
                vec![format!(
                    "::{cmd} {}::{}",
                    location_properties(&location, &self.prefix(false)),
                    untrusted_data(&message)
                )]
            }
            Event::GroupStart(title) => vec![format!(
                "::group::{}",
                untrusted_data(&format!("{}: {title}", self.prefix(false)))
            )],
            Event::GroupEnd => vec!["::endgroup::".into()],
            Event::Progress { message, fraction } => prefixed(&self.prefix(false), &progress_text(&message, fraction)),
        }
    }

    fn local(&self, event: Event, color: bool) -> Vec<String> {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        match event {
            Event::Log { level, message, host } => {
                let (label, code) = level_label(level);
                prefixed(&format!("{} {}", paint(code, label), self.prefix(host)), &message)
            }
            Event::Annotate {
                level,
                message,
                location,
            } => {
                let (label, code) = level_label(level);
                let at = match location.line {
                    Some(line) => format!("{}:{line}", location.file),
                    None => location.file,
                };
                prefixed(&format!("{} {} {at}", paint(code, label), self.prefix(false)), &message)
            }
            Event::GroupStart(title) => vec![paint("1", &format!("▸ {}", neutralise(&title)))],
            Event::GroupEnd => vec![],
            Event::Progress { message, fraction } => prefixed(
                &format!("{} {}", paint("36", "…"), self.prefix(false)),
                &progress_text(&message, fraction),
            ),
        }
    }
}

impl Sink for Printer {
    fn plugin_named(&self, name: &str) {
        if !self.fixed {
            self.set_plugin(name);
        }
    }

    fn emit(&self, event: Event) {
        let lines = match self.mode {
            Mode::Actions => self.actions(event),
            Mode::Local { color } => self.local(event, color),
            Mode::Json => self.local(event, false),
        };
        // Workflow commands are read from stdout; locally logs go to stderr so stdout
        // stays the report.
        let result = match self.mode {
            Mode::Actions => write_lines(&mut std::io::stdout().lock(), &lines),
            _ => write_lines(&mut std::io::stderr().lock(), &lines),
        };
        // A closed pipe must not crash the step; the run's result still counts.
        drop(result);
    }
}

fn write_lines(out: &mut impl Write, lines: &[String]) -> std::io::Result<()> {
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

fn prefixed(prefix: &str, message: &str) -> Vec<String> {
    message
        .split('\n')
        .map(|line| format!("[{prefix}] {}", neutralise(line)))
        .collect()
}

fn progress_text(message: &str, fraction: Option<f32>) -> String {
    match fraction {
        Some(f) => format!("{message} ({:.0}%)", f * 100.0),
        None => message.to_string(),
    }
}

fn level_command(level: Level) -> Option<&'static str> {
    match level {
        Level::Trace | Level::Debug => Some("debug"),
        Level::Info => None,
        Level::Notice => Some("notice"),
        Level::Warning => Some("warning"),
        Level::Error => Some("error"),
    }
}

fn level_label(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::Trace => ("trace", "2"),
        Level::Debug => ("debug", "2"),
        Level::Info => (" info", "32"),
        Level::Notice => ("notice", "34"),
        Level::Warning => (" warn", "33"),
        Level::Error => ("error", "31"),
    }
}

fn location_properties(location: &Location, title: &str) -> String {
    let mut props = vec![format!("file={}", escape_property(&location.file))];
    let numbered = [
        ("line", location.line),
        ("endLine", location.end_line),
        ("col", location.column),
        ("endColumn", location.end_column),
    ];
    props.extend(numbered.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))));
    props.push(format!("title={}", escape_property(title)));
    props.join(",")
}

/// `::add-mask::` every secret value before anything else is printed.
pub fn mask_secrets(mode: Mode, values: impl IntoIterator<Item = String>) {
    if mode != Mode::Actions {
        return;
    }
    let mut out = std::io::stdout().lock();
    for value in values {
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(out, "::add-mask::{}", escape_data(line));
        }
    }
}

/// Report a finished step: outputs and summary to the runner files under Actions, a
/// readable report locally, JSON with `--json`.
pub fn report(mode: Mode, result: &StepResult) -> Result<()> {
    match mode {
        Mode::Actions => report_actions(result),
        Mode::Local { color } => {
            print_stdout(&local_report(result, color));
            Ok(())
        }
        Mode::Json => {
            print_stdout(&format!("{:#}\n", json_report(result)));
            Ok(())
        }
    }
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // Like ripgrep: a reader that went away (`| head`) is not an error.
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

fn status_name(result: &StepResult) -> &'static str {
    match &result.outcome {
        Ok(r) => match r.status {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Inconclusive => "inconclusive",
            Status::Skipped => "skipped",
        },
        Err(_) => "error",
    }
}

fn outcome_message(result: &StepResult) -> String {
    match &result.outcome {
        Ok(r) => r.message.clone(),
        Err(e) => e.to_string(),
    }
}

/// The `--json` document.
pub fn json_report(result: &StepResult) -> serde_json::Value {
    serde_json::json!({
        "plugin": result.plugin,
        "version": result.version,
        "digest": result.digest,
        "status": status_name(result),
        "message": outcome_message(result),
        "exit_code": result.exit_code() as u8,
        "outputs": result.produced.outputs,
        "summary": result.produced.summary,
        "summary_truncated": result.produced.summary_truncated,
        "log_truncated": result.produced.log_truncated,
    })
}

fn local_report(result: &StepResult, color: bool) -> String {
    let (mark, code) = match status_name(result) {
        "passed" | "skipped" => ("✔", "32"),
        _ => ("✘", "31"),
    };
    let paint = |text: &str| {
        if color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = format!(
        "{} {} {} {}: {}\n",
        paint(mark),
        result.plugin,
        result.version,
        status_name(result),
        neutralise(&outcome_message(result))
    );
    if !result.produced.outputs.is_empty() {
        out.push_str("\noutputs:\n");
        for (name, value) in &result.produced.outputs {
            out.push_str(&format!("  {name} = {}\n", preview(value)));
        }
    }
    if !result.produced.summary.is_empty() {
        out.push_str("\nsummary:\n");
        for line in result.produced.summary.lines() {
            out.push_str(&format!("  {}\n", neutralise(line)));
        }
    }
    out
}

fn preview(value: &str) -> String {
    const MAX: usize = 120;
    let first = value.lines().next().unwrap_or("");
    if first.len() == value.len() && value.len() <= MAX {
        return neutralise(value);
    }
    let cut: String = first.chars().take(MAX).collect();
    format!("{}… ({} bytes; --json shows all)", neutralise(&cut), value.len())
}

fn report_actions(result: &StepResult) -> Result<()> {
    let mut outputs = result.produced.outputs.clone();
    outputs.insert("status".into(), status_name(result).into());
    outputs.insert("message".into(), outcome_message(result));
    let all = serde_json::to_string(&result.produced.outputs).unwrap_or_default();
    outputs.insert("outputs".into(), all);
    let mut summary = result.produced.summary.clone();
    if result.produced.summary_truncated {
        summary.push_str(SUMMARY_CUT_NOTE);
    }
    let (command, message) = match &result.outcome {
        Ok(r) if matches!(r.status, Status::Passed | Status::Skipped) => ("notice", r.message.clone()),
        _ => ("error", outcome_message(result)),
    };
    write_runner_files(&outputs, summary, command, &result.plugin, &message)
}

const SUMMARY_CUT_NOTE: &str = "\n\n> **Note:** the summary was cut at GitHub's 1 MiB limit.\n";

/// The end of an Actions step: outputs to `$GITHUB_OUTPUT`, Markdown to
/// `$GITHUB_STEP_SUMMARY` (capped at GitHub's 1 MiB per step), and one closing annotation.
fn write_runner_files(
    outputs: &BTreeMap<String, String>,
    mut summary: String,
    command: &str,
    title: &str,
    message: &str,
) -> Result<()> {
    if let Some(path) = env("GITHUB_OUTPUT") {
        append(&path, &github_output(outputs)?)?;
    }
    if let Some(path) = env("GITHUB_STEP_SUMMARY")
        && !summary.is_empty()
    {
        let limit = crate::imports::MAX_SUMMARY_BYTES - SUMMARY_CUT_NOTE.len();
        if summary.len() > crate::imports::MAX_SUMMARY_BYTES {
            let cut = (0..=limit).rev().find(|i| summary.is_char_boundary(*i)).unwrap_or(0);
            summary.truncate(cut);
            summary.push_str(SUMMARY_CUT_NOTE);
        }
        append(&path, &summary)?;
    }
    print_stdout(&format!(
        "::{command} title={}::{}\n",
        escape_property(title),
        escape_data(message)
    ));
    Ok(())
}

fn append(path: &str, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(PathBuf::from(path), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(PathBuf::from(path), e))
}

/// `$GITHUB_OUTPUT` entries in the multi-line form, each with a fresh random delimiter.
pub fn github_output(outputs: &BTreeMap<String, String>) -> Result<String> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)
                .map_err(|e| Error::Runner(format!("no randomness for an output delimiter: {e}")))?;
            let d = format!("ghadelimiter_{}", hex::encode(bytes));
            if !value.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    Ok(text)
}

/// Report a finished pipeline, in the mode's format.
pub fn report_pipeline(mode: Mode, result: &crate::pipeline::PipelineResult) -> Result<()> {
    match mode {
        Mode::Actions => {
            let mut outputs = result.outputs.clone();
            outputs.insert("status".into(), pipeline_status(result).into());
            outputs.insert(
                "outputs".into(),
                serde_json::to_string(&result.outputs).unwrap_or_default(),
            );
            let (command, message) = match result.exit_code() {
                crate::error::ExitCode::Success => ("notice", format!("pipeline {} succeeded", result.name)),
                _ => ("error", format!("pipeline {} {}", result.name, pipeline_status(result))),
            };
            write_runner_files(&outputs, pipeline_markdown(result), command, "tollgate", &message)
        }
        Mode::Local { color } => {
            print_stdout(&pipeline_text(result, color));
            Ok(())
        }
        Mode::Json => {
            let steps: Vec<serde_json::Value> = result
                .steps
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.id,
                        "kind": s.kind,
                        "outcome": outcome_name(s.outcome),
                        "conclusion": outcome_name(s.conclusion),
                        "message": s.message,
                        "duration_ms": s.duration.as_millis() as u64,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "pipeline": result.name,
                "status": pipeline_status(result),
                "exit_code": result.exit_code() as u8,
                "steps": steps,
                "outputs": result.outputs,
                "summary": result.summary,
            });
            print_stdout(&format!("{doc:#}\n"));
            Ok(())
        }
    }
}

fn outcome_name(o: crate::pipeline::Outcome) -> &'static str {
    use crate::pipeline::Outcome;
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Cancelled => "cancelled",
        Outcome::Skipped => "skipped",
    }
}

fn pipeline_status(result: &crate::pipeline::PipelineResult) -> &'static str {
    match result.status {
        tollgate_pipeline::JobStatus::Success => "success",
        tollgate_pipeline::JobStatus::Failure => "failure",
        tollgate_pipeline::JobStatus::Cancelled => "cancelled",
    }
}

fn outcome_mark(o: crate::pipeline::Outcome) -> &'static str {
    use crate::pipeline::Outcome;
    match o {
        Outcome::Success => "✔",
        Outcome::Failure => "✘",
        Outcome::Cancelled => "⊘",
        Outcome::Skipped => "–",
    }
}

fn pipeline_text(result: &crate::pipeline::PipelineResult, color: bool) -> String {
    let ok = result.exit_code() == crate::error::ExitCode::Success;
    let head = format!(
        "{} pipeline {}: {}",
        if ok { "✔" } else { "✘" },
        result.name,
        pipeline_status(result)
    );
    let head = match (color, ok) {
        (true, true) => format!("\x1b[1;32m{head}\x1b[0m"),
        (true, false) => format!("\x1b[1;31m{head}\x1b[0m"),
        _ => head,
    };
    let width = result.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(0);
    let mut out = format!("{head}\n");
    for s in &result.steps {
        out.push_str(&format!(
            "  {} {:<width$}  {:<9} {:>7}  {}\n",
            outcome_mark(s.outcome),
            s.id,
            outcome_name(s.outcome),
            format!("{:.1}s", s.duration.as_secs_f64()),
            neutralise(&s.message)
        ));
    }
    if !result.outputs.is_empty() {
        out.push_str("\noutputs:\n");
        for (name, value) in &result.outputs {
            out.push_str(&format!("  {name} = {}\n", preview(value)));
        }
    }
    out
}

fn pipeline_markdown(result: &crate::pipeline::PipelineResult) -> String {
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    let mut md = format!(
        "### Pipeline {}: {}\n\n| Step | Outcome | Time | Message |\n|---|---|---|---|\n",
        cell(&result.name),
        pipeline_status(result)
    );
    for s in &result.steps {
        md.push_str(&format!(
            "| {} | {} {} | {:.1}s | {} |\n",
            cell(&s.id),
            outcome_mark(s.outcome),
            outcome_name(s.outcome),
            s.duration.as_secs_f64(),
            cell(&s.message)
        ));
    }
    md.push('\n');
    md.push_str(&result.summary);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stripped_and_controls_blanked() {
        assert_eq!(neutralise("\x1b[1mPlan:\x1b[0m 4 to add\x07"), "Plan: 4 to add ");
    }

    #[test]
    fn workflow_command_data_cannot_break_out() {
        assert_eq!(
            escape_data("a%b\r\n::set-env name=x::y"),
            "a%25b%0D%0A::set-env name=x::y"
        );
        assert_eq!(escape_property("a,b:c"), "a%2Cb%3Ac");
    }

    #[test]
    fn plugin_lines_never_start_a_command() {
        let printer = Printer::new(Mode::Actions);
        printer.set_plugin("p");
        let lines = printer.actions(Event::Log {
            level: Level::Info,
            message: "ok\n::add-mask::x\n  ::set-output name=a::b\r::error::x\n##[error]y".into(),
            host: false,
        });
        assert_eq!(lines.len(), 4);
        for line in lines {
            assert!(line.starts_with("[p] "), "{line}");
            assert!(!line.contains("##["), "{line}");
        }
    }

    #[test]
    fn outputs_use_a_delimiter_absent_from_the_value() {
        let value = "line1\nEOF\nname=evil".to_string();
        let text = github_output(&BTreeMap::from([("report".to_string(), value.clone())])).unwrap();
        let delimiter = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("report<<")
            .unwrap()
            .to_string();
        assert!(delimiter.starts_with("ghadelimiter_") && !value.contains(&delimiter));
        assert_eq!(text, format!("report<<{delimiter}\n{value}\n{delimiter}\n"));
    }
}
