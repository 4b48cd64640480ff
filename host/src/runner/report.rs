//! Reporting a finished step or pipeline: outputs and summary to the runner files under
//! Actions, a readable report locally, JSON with `--json`. Everything printed goes
//! through the [`printer`](super::printer).

use super::Mode;
use super::env::env;
use super::printer::{Line, Stream, dangerous, neutralise_block, print, print_text};
use crate::bindings::tollgate::plugin::types::Status;
use crate::error::{Error, Result};
use crate::step::StepResult;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// Report a finished step: outputs and summary to the runner files under Actions, a
/// readable report locally, JSON with `--json`.
pub fn report(mode: Mode, result: &StepResult) -> Result<()> {
    match mode {
        Mode::Actions => report_actions(result),
        Mode::Local { color } => {
            print(Stream::Stdout, &local_report(result, color));
            Ok(())
        }
        Mode::Json => {
            print_json(&json_report(result));
            Ok(())
        }
    }
}

/// Print a JSON document on stdout. `serde_json` escapes C0 controls; the other
/// characters the printer refuses (C1, separators, bidi) can only sit inside strings,
/// where `\uXXXX` keeps the document valid and the value exact.
pub fn print_json(doc: &serde_json::Value) {
    print_text(&json_text(doc));
}

/// The text [`print_json`] prints.
pub(super) fn json_text(doc: &serde_json::Value) -> String {
    let text = format!("{doc:#}");
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && dangerous(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                safe.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            safe.push(c);
        }
    }
    // The runner treats `##[` anywhere in a line as a legacy command: split it, still valid JSON.
    safe.replace("##[", "#\\u0023[")
}

fn status_name(result: &StepResult) -> &'static str {
    crate::step::outcome_label(&result.outcome)
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

fn local_report(result: &StepResult, color: bool) -> Vec<Line> {
    let (mark, code) = match status_name(result) {
        "passed" | "skipped" => ("✔", "32"),
        _ => ("✘", "31"),
    };
    let label = if color {
        format!("\x1b[1;{code}m{mark}\x1b[0m")
    } else {
        mark.to_string()
    };
    let message = outcome_message(result);
    let mut message_lines = message.lines();
    let mut lines = vec![Line::Labelled {
        label,
        text: format!(
            "{} {} {}: {}",
            result.plugin,
            result.version,
            status_name(result),
            message_lines.next().unwrap_or_default()
        ),
    }];
    // Each line of a multi-line message (a fix, a crashed plugin's last output) is its own
    // neutralised line.
    lines.extend(message_lines.map(|l| Line::Text(format!("  {l}"))));
    if !result.produced.outputs.is_empty() {
        lines.push(Line::Text(String::new()));
        lines.push(Line::Text("outputs:".into()));
        for (name, value) in &result.produced.outputs {
            lines.push(Line::Text(format!("  {name} = {}", preview(value))));
        }
    }
    if !result.produced.summary.is_empty() {
        lines.push(Line::Text(String::new()));
        lines.push(Line::Text("summary:".into()));
        for line in result.produced.summary.lines() {
            lines.push(Line::Text(format!("  {line}")));
        }
    }
    lines
}

/// The first line of a value, cut to 120 characters (the printer neutralises it).
fn preview(value: &str) -> String {
    const MAX: usize = 120;
    let first = value.lines().next().unwrap_or("");
    if first.len() == value.len() && value.len() <= MAX {
        return value.to_string();
    }
    let cut: String = first.chars().take(MAX).collect();
    format!("{cut}… ({} bytes; --json shows all)", value.len())
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
/// Runner files get neutralised text too: line breaks stay, other controls are escaped.
fn write_runner_files(
    outputs: &BTreeMap<String, String>,
    summary: String,
    command: &'static str,
    title: &str,
    message: &str,
) -> Result<()> {
    if let Some(path) = env("GITHUB_OUTPUT") {
        append(&path, &github_output(outputs)?)?;
    }
    if let Some(path) = env("GITHUB_STEP_SUMMARY")
        && !summary.is_empty()
    {
        let mut summary = neutralise_block(&summary);
        let max = tollgate_vocab::limits::MAX_SUMMARY_BYTES;
        if summary.len() > max {
            let limit = max - SUMMARY_CUT_NOTE.len();
            let cut = (0..=limit).rev().find(|i| summary.is_char_boundary(*i)).unwrap_or(0);
            summary.truncate(cut);
            summary.push_str(SUMMARY_CUT_NOTE);
        }
        append(&path, &summary)?;
    }
    print(
        Stream::Stdout,
        &[Line::Command {
            name: command,
            props: vec![("title", title.to_string())],
            data: message.to_string(),
        }],
    );
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
        let value = neutralise_block(value);
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
            print(Stream::Stdout, &pipeline_text(result, color));
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
            print_json(&doc);
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

fn pipeline_text(result: &crate::pipeline::PipelineResult, color: bool) -> Vec<Line> {
    let ok = result.exit_code() == crate::error::ExitCode::Success;
    let mark = if ok { "✔" } else { "✘" };
    let label = match (color, ok) {
        (true, true) => format!("\x1b[1;32m{mark}\x1b[0m"),
        (true, false) => format!("\x1b[1;31m{mark}\x1b[0m"),
        _ => mark.to_string(),
    };
    let mut lines = vec![Line::Labelled {
        label,
        text: format!("pipeline {}: {}", result.name, pipeline_status(result)),
    }];
    let width = result.steps.iter().map(|s| s.id.chars().count()).max().unwrap_or(0);
    for s in &result.steps {
        lines.push(Line::Text(format!(
            "  {} {:<width$}  {:<9} {:>7}  {}",
            outcome_mark(s.outcome),
            s.id,
            outcome_name(s.outcome),
            format!("{:.1}s", s.duration.as_secs_f64()),
            s.message
        )));
    }
    if !result.outputs.is_empty() {
        lines.push(Line::Text(String::new()));
        lines.push(Line::Text("outputs:".into()));
        for (name, value) in &result.outputs {
            lines.push(Line::Text(format!("  {name} = {}", preview(value))));
        }
    }
    lines
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

/// The results of `tollgate plugin test`: one line per case, what differed and the step's
/// log under a failed one, then the tally.
pub fn print_case_results(results: &[crate::authoring::cases::CaseResult]) {
    let mut lines = Vec::new();
    for result in results {
        if result.failures.is_empty() {
            lines.push(Line::Text(format!("ok    {}", result.name)));
            continue;
        }
        lines.push(Line::Text(format!("FAIL  {}", result.name)));
        for failure in &result.failures {
            lines.extend(failure.lines().map(|l| Line::Text(format!("      {l}"))));
        }
        if !result.log.is_empty() {
            lines.push(Line::Text("      log:".into()));
            for entry in &result.log {
                lines.extend(entry.lines().map(|l| Line::Text(format!("        {l}"))));
            }
        }
    }
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    lines.push(Line::Text(format!(
        "{} cases: {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    )));
    print(Stream::Stdout, &lines);
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn output_values_cannot_smuggle_controls_into_the_runner_file() {
        let text = github_output(&BTreeMap::from([(
            "x".to_string(),
            "a\r\u{202e}b\x1b]0;t\x07".to_string(),
        )]))
        .unwrap();
        assert!(
            !text.contains('\r') && !text.contains('\u{202e}') && !text.contains('\x1b'),
            "{text:?}"
        );
    }
}
