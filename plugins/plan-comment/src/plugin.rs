//! The host-facing layer: `describe`, and `run`, which reads the plan, renders it, writes the
//! step summary and posts the sticky comment.

use crate::render::{self, COMMENT_LIMIT, Options, SUMMARY_LIMIT};
use crate::sticky;
use tollgate_sdk::artifacts;
use tollgate_sdk::files::{Source, read_input, run_link};
use tollgate_sdk::github::GithubError;
use tollgate_sdk::{
    Capability, GithubPermission, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs,
    TypedOutputs, invalid_input, request,
};
use tollgate_tfplan::Plan;

/// What the `plan` input must name, for error messages.
const PLAN_JSON: &str = "the JSON from `terraform show -json tfplan`";
/// The largest plan file read (a 2,000-resource plan is about 3 MB).
const MAX_PLAN_BYTES: u64 = 256 << 20;
/// Markdown echoed to the log when nothing was posted.
const MAX_LOGGED_MARKDOWN: usize = 64 << 10;

/// The plugin.
pub struct PlanComment;

/// The step's inputs.
#[derive(Debug, Clone, tollgate_sdk::Inputs)]
pub struct StepInputs {
    /// The plan as JSON (`terraform show -json tfplan > plan.json`): an absolute path inside a
    /// directory granted with `allow-read`, or `artifact:NAME` for an artifact an earlier step stored.
    #[input(required)]
    pub plan: String,
    /// The workspace the plan is for, e.g. `us-east`: the comment's title and its key (one
    /// comment per pull request per workspace).
    #[input(default = "default")]
    pub workspace: String,
    /// Collapse the previous plan comment and post a new one at the end of the conversation,
    /// instead of editing the previous one in place.
    #[input(default = false)]
    pub minimize_stale: bool,
    /// At most this many resources get attribute diffs in the comment, destroys and replaces
    /// first (the step summary has them all).
    #[input(default = 200, range = 0..=100_000)]
    pub max_details: u32,
    /// At most this many attribute lines per resource.
    #[input(default = 40, range = 1..=10_000)]
    pub max_attributes: u32,
    /// Values longer than this many characters are cut.
    #[input(default = 200, range = 16..=100_000)]
    pub max_value_length: u32,
    /// Also store the full Markdown as an artifact with this name, and point to it when the
    /// comment leaves details out.
    pub summary_artifact: Option<String>,
}

/// The step's outputs.
#[derive(Debug, Clone, tollgate_sdk::Outputs)]
pub struct StepOutputs {
    /// `true` when applying the plan changes anything (resources, imports, moves, outputs).
    pub has_changes: bool,
    /// `true` when applying the plan destroys an object (a delete or a replace).
    pub has_destroy: bool,
    /// Resources to create.
    pub create: usize,
    /// Resources to update in place.
    pub update: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to destroy.
    pub delete: usize,
    /// Resources to import.
    pub import: usize,
    /// Resources moved by `moved` blocks.
    #[output(name = "move")]
    pub moved: usize,
    /// Resources to forget (`removed` blocks with `destroy = false`).
    pub forget: usize,
    /// Data sources read during apply.
    pub read: usize,
    /// Resources changed outside Terraform (`resource_drift`).
    pub drift: usize,
    /// The sticky comment's URL, when one was posted.
    pub comment_url: Option<String>,
}

impl Plugin for PlanComment {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "plan-comment".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Summarise a terraform plan in one sticky pull-request comment per workspace".into(),
            inputs: StepInputs::specs(),
            outputs: StepOutputs::specs(),
            capabilities: vec![
                request(Capability::Read, "to read the plan JSON named in `plan`").optional(),
                request(
                    Capability::Github(GithubPermission::PullRequestsWrite),
                    "to post and update the plan comment on the pull request",
                )
                .optional(),
            ],
        }
    }

    fn run(inputs: Inputs, context: StepContext) -> Result<RunReport, PluginError> {
        run(&StepInputs::from_inputs(&inputs)?, &context)
    }
}

fn run(config: &StepInputs, context: &StepContext) -> Result<RunReport, PluginError> {
    let (bytes, source) = read_input("plan", &config.plan, MAX_PLAN_BYTES, PLAN_JSON)?;
    let plan = Plan::from_slice(&bytes).map_err(|e| invalid_input("plan", e.to_string()))?;
    drop(bytes);
    let counts = plan.counts();
    let workspace = config.workspace.trim();
    let workspace = if workspace.is_empty() { "default" } else { workspace };

    let link = run_link(context);
    let footer = link.as_ref().map(|l| format!("[workflow run]({l})"));
    let mut opts = Options {
        workspace: workspace.to_string(),
        max_details: config.max_details as usize,
        max_attributes: config.max_attributes as usize,
        max_value_chars: config.max_value_length as usize,
        full_plan_at: Vec::new(),
        footer,
    };

    // The step summary: everything, up to the summary's cap.
    let full_opts = Options {
        max_details: usize::MAX,
        max_attributes: opts.max_attributes.max(500),
        full_plan_at: vec![match &source {
            Source::File => "the plan JSON this step read".to_string(),
            Source::Artifact { name, digest } => {
                format!(
                    "the plan artifact <code>{}</code> ({digest})",
                    tollgate_sdk::markdown::inline(name)
                )
            }
        }],
        ..opts.clone()
    };
    let full = render::render(&plan, &full_opts, SUMMARY_LIMIT);
    let summary = fit(plan.scrub(&full.markdown), SUMMARY_LIMIT);
    tollgate_sdk::append_summary(&summary);

    opts.full_plan_at.push(match &link {
        Some(l) => format!("the step summary of [this workflow run]({l})"),
        None => "the step summary of this workflow run".to_string(),
    });
    if let Some(name) = &config.summary_artifact {
        match artifacts::put(name, "text/markdown", summary.as_bytes()) {
            Ok(digest) => opts.full_plan_at.push(format!(
                "the artifact <code>{}</code> ({digest})",
                tollgate_sdk::markdown::inline(name)
            )),
            Err(e) => tollgate_sdk::warn(&format!("the full plan was not stored as artifact `{name}`: {e:?}")),
        }
    }
    if let Source::Artifact { name, digest } = &source {
        opts.full_plan_at.push(format!(
            "the plan artifact <code>{}</code> ({digest})",
            tollgate_sdk::markdown::inline(name)
        ));
    }
    let marker = sticky::marker(workspace);
    let budget = COMMENT_LIMIT - marker.len() - 1;
    let comment = render::render(&plan, &opts, budget);
    let body = fit(plan.scrub(&comment.markdown), budget);
    if !comment.left_out.is_empty() {
        tollgate_sdk::info(&format!("the comment leaves out {}", comment.left_out.join("; ")));
    }

    let verdict = format!(
        "{workspace}: {} to create, {} to update, {} to replace, {} to destroy, {} to import, {} to move, {} to forget, {} to read{}",
        counts.create,
        counts.update,
        counts.replace,
        counts.delete,
        counts.import,
        counts.moved,
        counts.forget,
        counts.read,
        if plan.resource_drift.is_empty() {
            String::new()
        } else {
            format!("; {} changed outside Terraform", plan.resource_drift.len())
        }
    );
    tollgate_sdk::info(&verdict);
    if plan.has_destroy() {
        tollgate_sdk::warn(&format!(
            "{workspace}: this plan destroys {} object(s); review the plan before applying",
            plan.resource_changes.iter().filter(|r| r.kind().destroys()).count()
        ));
    }
    if plan.errored {
        tollgate_sdk::warn("terraform reported errors while planning: the plan is incomplete");
    }

    let mut outputs = StepOutputs {
        has_changes: plan.has_changes(),
        has_destroy: plan.has_destroy(),
        create: counts.create,
        update: counts.update,
        replace: counts.replace,
        delete: counts.delete,
        import: counts.import,
        moved: counts.moved,
        forget: counts.forget,
        read: counts.read,
        drift: plan.resource_drift.len(),
        comment_url: None,
    };

    let not_posted = |why: &str| {
        tollgate_sdk::info(&format!(
            "plan comment not posted: {why}; the plan is in the step summary"
        ));
        tollgate_sdk::log::group_start(&format!("plan comment for {workspace} (Markdown)"));
        for line in tollgate_sdk::markdown::truncate(&body, MAX_LOGGED_MARKDOWN).lines() {
            tollgate_sdk::info(line);
        }
        tollgate_sdk::log::group_end();
    };

    let message = match context.pull_request {
        None => {
            let why = format!(
                "this run has no pull request{}",
                context
                    .event
                    .as_deref()
                    .map(|e| format!(" (event `{e}`)"))
                    .unwrap_or_default()
            );
            not_posted(&why);
            format!("{verdict}; not posted: {why}")
        }
        Some(pr) => match sticky::post(pr, workspace, &body, config.minimize_stale) {
            Ok(posted) => {
                tollgate_sdk::info(&format!(
                    "{} the plan comment on #{pr}: {}{}",
                    posted.action,
                    posted.comment.html_url,
                    if posted.removed.is_empty() {
                        String::new()
                    } else {
                        format!(" (retired {} older or duplicate comment(s))", posted.removed.len())
                    }
                ));
                outputs.comment_url = Some(posted.comment.html_url.clone());
                format!("{verdict}; comment {} on #{pr}", posted.action)
            }
            // The host has already said which call was denied and why; say the fix once.
            Err(GithubError::Denied(_)) => {
                let why = format!("this step may not comment on #{pr}");
                tollgate_sdk::warn(&format!(
                    "plan comment not posted: {why}. Grant `github: [pull-requests:write]` to post it"
                ));
                not_posted(&why);
                format!("{verdict}; not posted: no GitHub permission")
            }
            Err(GithubError::Unavailable(m)) => {
                let why = format!("GitHub is not available to this step ({m})");
                tollgate_sdk::warn(&format!("plan comment not posted: {why}"));
                not_posted(&why);
                format!("{verdict}; not posted: GitHub unavailable")
            }
            Err(e) => {
                outputs.set_all()?;
                return Err(PluginError::Peer(format!(
                    "posting the plan comment on #{pr} failed: {e:?}"
                )));
            }
        },
    };
    outputs.set_all()?;
    Ok(RunReport {
        status: Status::Passed,
        message,
    })
}

/// Text within `limit` bytes (only scrubbing can have grown it).
fn fit(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut cut = limit.saturating_sub(64);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n\n_(cut to fit the size limit)_\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        StepInputs::check_defaults().unwrap();
    }

    #[test]
    fn run_links_only_for_plain_names() {
        let mut c = StepContext {
            step_id: "s".into(),
            repository: Some("o/r".into()),
            sha: None,
            git_ref: None,
            event: None,
            run_id: Some("42".into()),
            run_attempt: None,
            workflow: None,
            actor: None,
            pull_request: None,
            ci: true,
        };
        assert_eq!(run_link(&c).as_deref(), Some("/o/r/actions/runs/42"));
        c.repository = Some("o/r)](javascript:x".into());
        assert_eq!(run_link(&c), None);
    }
}
