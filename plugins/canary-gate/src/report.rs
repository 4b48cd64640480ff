//! What people read: the step summary (one table of metrics, then every measurement per metric,
//! the way `kubectl argo rollouts get` lays an analysis out) and the one-line outcome.

use crate::analysis::{MetricResult, Phase, RunResult};
use std::fmt::Write;
use tollgate_sdk::markdown::{inline, truncate};

/// Peer-supplied or condition text as code: `inline` makes it safe in a table cell or a
/// `<summary>` (a Markdown code span would show its entities literally).
fn code(text: &str) -> String {
    format!("<code>{}</code>", inline(text))
}

/// Most measurement rows shown per metric; the artifact keeps them all.
const MAX_ROWS: usize = 120;

/// The step summary in Markdown.
pub fn summary(run: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### canary-gate: {} {}\n\nStarted {}, took {:.1}s; times below are since the start.\n\n{}\n",
        run.phase.icon(),
        run.phase.as_str(),
        run.started_at,
        run.elapsed_ms as f64 / 1000.0,
        inline(&run.message)
    );
    out.push_str("| Metric | Phase | ✔ | ✖ | ? | ⚠ | Last value | Why |\n|---|---|--:|--:|--:|--:|---|---|\n");
    for m in &run.metrics {
        let name = if m.dry_run {
            format!("{} (dry run)", m.name)
        } else {
            m.name.clone()
        };
        let last = m
            .measurements
            .last()
            .and_then(|x| x.value.clone())
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {} | {} | {} |",
            name,
            m.phase.icon(),
            m.phase.as_str(),
            m.successful,
            m.failed,
            m.inconclusive,
            m.error,
            code(&truncate(&last, 60)),
            inline(&m.message)
        );
    }
    for m in &run.metrics {
        out.push('\n');
        out.push_str(&measurements(m));
    }
    out
}

fn measurements(m: &MetricResult) -> String {
    let mut out = String::new();
    let conditions: Vec<String> = [("success", &m.success_condition), ("failure", &m.failure_condition)]
        .iter()
        .filter_map(|(k, c)| c.as_ref().map(|c| format!("{k}: {}", code(c))))
        .collect();
    let _ = writeln!(
        out,
        "<details><summary>{} — {} measurement(s); {}; limits: failure {}, inconclusive {}, consecutive errors {}</summary>\n",
        inline(&m.name),
        m.measurements.len(),
        if conditions.is_empty() {
            "comparison only".to_string()
        } else {
            conditions.join(", ")
        },
        m.failure_limit,
        m.inconclusive_limit,
        m.consecutive_error_limit
    );
    if let Some(c) = &m.comparison {
        let _ = writeln!(
            out,
            "Baseline vs canary (Mann-Whitney U = {}, p = {}, effect size r = {}, {} samples each): {}\n",
            num(c.u),
            num(c.p_value),
            num(c.effect_size),
            c.samples,
            inline(&c.message)
        );
    }
    let compare = m.measurements.iter().any(|x| x.baseline.is_some());
    out.push_str(if compare {
        "| # | Time | Canary | Baseline | Phase | Why |\n|--:|---|---|---|---|---|\n"
    } else {
        "| # | Time | Value | Phase | Why |\n|--:|---|---|---|---|\n"
    });
    let rows = &m.measurements;
    let skip = rows.len().saturating_sub(MAX_ROWS);
    if skip > 0 {
        let _ = writeln!(
            out,
            "| … | | {skip} earlier measurement(s) in the `canary-analysis` artifact | | |"
        );
    }
    for x in &rows[skip..] {
        let value = x.value.as_deref().unwrap_or("—");
        let baseline = if compare {
            format!(" {} |", code(x.baseline.as_deref().unwrap_or("—")))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | t+{:.1}s | {} |{baseline} {} {} | {} |",
            x.index,
            x.elapsed_ms as f64 / 1000.0,
            code(&truncate(value, 60)),
            x.phase.icon(),
            x.phase.as_str(),
            inline(x.message.as_deref().unwrap_or(""))
        );
    }
    out.push_str("\n</details>\n");
    out
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "—".into() }
}

/// The run's one line: `Failed: error-rate: 2 of 3 measurements failed (failureLimit 1)`.
pub fn headline(run: &RunResult) -> String {
    let dry: Vec<&str> = run
        .metrics
        .iter()
        .filter(|m| m.dry_run && m.phase != Phase::Successful)
        .map(|m| m.name.as_str())
        .collect();
    let note = if dry.is_empty() {
        String::new()
    } else {
        format!(" (dry run, not deciding: {} did not pass)", dry.join(", "))
    };
    format!("{}: {}{note}", run.phase.as_str(), run.message)
}
