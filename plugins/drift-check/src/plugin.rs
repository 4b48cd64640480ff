//! The host-facing layer: `describe`, and `run`, which reads the plan, reports the drift in the
//! step summary and the outputs, and keeps the workspace's issue.

use crate::issue::{self, Texts, Want};
use crate::report::{self, ISSUE_LIMIT, Options, Report};
use tollgate_sdk::files::{read_input, run_link};
use tollgate_sdk::github::GithubError;
use tollgate_sdk::markdown::inline;
use tollgate_sdk::{
    Capability, GithubPermission, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs,
    TypedOutputs, invalid_input, request,
};
use tollgate_tfplan::Plan;
use tollgate_vocab::limits::MAX_SUMMARY_BYTES;

/// What the `plan` input must name, for error messages.
const PLAN_JSON: &str = "the JSON from `terraform show -json tfplan`";
/// The largest plan file read (a 2,000-resource plan is about 3 MB).
const MAX_PLAN_BYTES: u64 = 256 << 20;

/// The plugin.
pub struct DriftCheck;

/// The step's inputs.
#[derive(Debug, Clone, tollgate_sdk::Inputs)]
pub struct StepInputs {
    /// The plan as JSON (`terraform plan -refresh-only -out=tfplan && terraform show -json tfplan`,
    /// or a normal plan): an absolute path inside a directory granted with `allow-read`, or
    /// `artifact:NAME` for an artifact an earlier step stored.
    #[input(required)]
    pub plan: String,
    /// The workspace the plan is for, e.g. `us-east`: the issue's title and its key (one issue
    /// per workspace).
    #[input(default = "default")]
    pub workspace: String,
    /// Labels the issue carries; with the hidden marker they identify it. At least one.
    #[input(default = ["drift"])]
    pub labels: Vec<String>,
    /// When drift comes back after its issue was closed, reopen that issue (`true`) or open a
    /// new one (`false`).
    #[input(default = true)]
    pub reopen: bool,
    /// Fail the step when anything drifted (the outputs are set either way).
    #[input(default = false)]
    pub fail_on_drift: bool,
    /// Attribute lines shown per drifted object.
    #[input(default = 50, range = 1..=10_000)]
    pub max_attributes: u32,
}

/// The step's outputs.
#[derive(Debug, Clone, tollgate_sdk::Outputs)]
pub struct StepOutputs {
    /// `true` when anything changed outside Terraform.
    pub drifted: bool,
    /// Objects changed outside Terraform (`resource_drift`).
    pub drifted_resources: usize,
    /// Of those, objects deleted outside Terraform.
    pub deleted_resources: usize,
    /// Changed attributes over all drifted objects.
    pub changed_attributes: usize,
    /// Root output changes a refresh-only plan would record.
    pub drifted_outputs: usize,
    /// As `terraform plan -detailed-exitcode`: `0` no changes, `2` changes present (for a
    /// refresh-only plan: drift to record), `1` terraform reported errors.
    pub exit_code: u8,
    /// `refresh-only` or `normal`.
    pub plan_mode: String,
    /// A digest of the (masked) drift report, `none` without drift: equal digests, same drift.
    pub digest: String,
    /// What happened to the workspace's issue: `opened`, `reopened`, `updated`, `unchanged`,
    /// `closed`, `none` (no issue needed), `skipped` (no permission, or an errored plan).
    pub issue_action: String,
    /// The issue's number, when one stands for the workspace.
    pub issue_number: Option<u64>,
    /// The issue's URL, when one stands for the workspace.
    pub issue_url: Option<String>,
}

impl Plugin for DriftCheck {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "drift-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Report infrastructure drift from a terraform plan and keep one GitHub issue per workspace".into(),
            inputs: StepInputs::specs(),
            outputs: StepOutputs::specs(),
            capabilities: vec![
                request(Capability::Read, "to read the plan JSON named in `plan`").optional(),
                request(
                    Capability::Github(GithubPermission::IssuesWrite),
                    "to open, update and close the workspace's drift issue",
                )
                .optional(),
            ],
        }
    }

    fn run(inputs: Inputs, context: StepContext) -> Result<RunReport, PluginError> {
        run(&StepInputs::from_inputs(&inputs)?, &context)
    }
}

/// The workspace for an issue title (plain text on GitHub): no control or invisible
/// characters, nobody mentioned, at most 100 characters.
pub fn title_text(workspace: &str) -> String {
    let clean: String = workspace
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(
            |c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'),
        )
        .take(100)
        .collect();
    clean.replace('@', "@\u{200B}").replace('#', "#\u{200B}")
}

fn run(config: &StepInputs, context: &StepContext) -> Result<RunReport, PluginError> {
    let workspace = config.workspace.trim();
    let workspace = if workspace.is_empty() { "default" } else { workspace };
    let labels: Vec<String> = config
        .labels
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if labels.is_empty() {
        return Err(invalid_input(
            "labels",
            "give at least one label: the labels and a hidden marker identify the workspace's issue",
        ));
    }
    let (bytes, _) = read_input("plan", &config.plan, MAX_PLAN_BYTES, PLAN_JSON)?;
    let plan = Plan::from_slice(&bytes).map_err(|e| invalid_input("plan", e.to_string()))?;
    drop(bytes);
    let report = Report::of(&plan);
    let digest = report.digest();
    let link = run_link(context);
    let opts = Options {
        workspace: workspace.to_string(),
        max_attributes: config.max_attributes as usize,
        max_line_chars: 500,
        run_link: link.clone(),
    };

    let summary = plan.scrub(&report::render(&report, &opts, MAX_SUMMARY_BYTES));
    tollgate_sdk::append_summary(&summary);
    let marker_len = issue::marker(workspace, &digest).len() + 1;
    let body = plan.scrub(&report::render(&report, &opts, ISSUE_LIMIT - marker_len - 64));

    let headline = report::headline(&report);
    let verdict = format!("{workspace}: {headline}");
    if report.errored {
        tollgate_sdk::warn(&format!(
            "{workspace}: terraform reported errors while planning; the drift report is incomplete"
        ));
    } else if report.drifted() {
        tollgate_sdk::warn(&format!("drift in {verdict}"));
    } else {
        tollgate_sdk::info(&verdict);
    }

    let mut outputs = StepOutputs {
        drifted: report.drifted(),
        drifted_resources: report.resources.len(),
        deleted_resources: report.deleted(),
        changed_attributes: report.changed_attributes(),
        drifted_outputs: report.outputs.len(),
        exit_code: report.exit_code(),
        plan_mode: report.mode.as_str().into(),
        digest: digest.clone(),
        issue_action: "skipped".into(),
        issue_number: None,
        issue_url: None,
    };

    let ws = inline(workspace);
    let run_ref = link
        .as_ref()
        .map(|l| format!(" ([workflow run]({l}))"))
        .unwrap_or_default();
    let changed_note = format!(
        "The drift in workspace <code>{ws}</code> changed: **{headline}**{run_ref}. The issue description has the new report."
    );
    let back_note = format!(
        "Drift is back in workspace <code>{ws}</code>: **{headline}**{run_ref}. The issue description has the report."
    );
    let gone_note = format!(
        "No drift in workspace <code>{ws}</code> any more{run_ref}: closing this issue. It is reopened if drift comes back."
    );
    let title = format!("Drift detected in workspace {}", title_text(workspace));

    let issue_message = if report.errored {
        tollgate_sdk::info("the drift issue is left as it is: the plan is incomplete");
        "issue left as it is (errored plan)".to_string()
    } else {
        let texts = Texts {
            workspace,
            title: &title,
            body: &body,
            digest: &digest,
            changed_note: &changed_note,
            back_note: &back_note,
            gone_note: &gone_note,
            reopen: config.reopen,
        };
        let want = if report.drifted() { Want::Drift } else { Want::Clean };
        match issue::keep(&labels, want, &texts) {
            Ok(kept) => {
                outputs.issue_action = kept.action.into();
                if !kept.foreign.is_empty() {
                    tollgate_sdk::warn(&format!(
                        "passed over issue(s) {} for {workspace}: they carry its drift marker but were not written by this plugin, so they are not its to change",
                        kept.foreign
                            .iter()
                            .map(|n| format!("#{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if !kept.duplicates.is_empty() {
                    tollgate_sdk::info(&format!(
                        "closed {} duplicate drift issue(s) for {workspace}: {}",
                        kept.duplicates.len(),
                        kept.duplicates
                            .iter()
                            .map(|n| format!("#{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                match &kept.issue {
                    Some(i) => {
                        // A closed issue no longer stands for current drift, but its number helps.
                        outputs.issue_number = Some(i.number);
                        outputs.issue_url = Some(i.html_url.clone());
                        tollgate_sdk::info(&format!("drift issue #{} {}: {}", i.number, kept.action, i.html_url));
                        format!("issue #{} {}", i.number, kept.action)
                    }
                    None => "no drift issue needed".to_string(),
                }
            }
            Err(GithubError::Denied(m) | GithubError::Unavailable(m)) => {
                tollgate_sdk::info(&format!(
                    "no drift issue kept: the step cannot manage issues ({m}). Grant `github: [issues:write]` to keep one issue per workspace; the report is in the step summary"
                ));
                "no issue kept (no GitHub permission)".to_string()
            }
            Err(e) => {
                outputs.set_all()?;
                return Err(PluginError::Peer(format!(
                    "keeping the drift issue for {workspace} failed: {e:?}; the report is in the step summary"
                )));
            }
        }
    };
    outputs.set_all()?;
    let message = format!("{verdict}; exit code {}; {issue_message}", report.exit_code());
    let status = if report.errored || (config.fail_on_drift && report.drifted()) {
        Status::Failed
    } else {
        Status::Passed
    };
    Ok(RunReport { status, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        StepInputs::check_defaults().unwrap();
    }

    #[test]
    fn titles_mention_nobody() {
        assert_eq!(title_text("@org/team\n#1"), "@\u{200B}org/team #\u{200B}1");
        assert_eq!(title_text("a\u{202E}b"), "ab");
        assert_eq!(title_text(&"x".repeat(300)).len(), 100);
    }
}
