//! What drifted, read from a plan through `tollgate-tfplan`'s masked views, and the Markdown
//! report of it. Every value here is already masked (`(sensitive)`, `(known after apply)`);
//! the digest is taken over this masked report, so it never hashes a secret.

use sha2::{Digest, Sha256};
use tollgate_sdk::markdown::{code_line, fence_for, inline, truncate};
use tollgate_tfplan::{ChangeKind, Counts, Masked, Plan, ResourceChange};

/// The longest issue body the host posts for us: GitHub's cap less the host's owner marker.
pub const ISSUE_LIMIT: usize = tollgate_vocab::limits::MAX_GITHUB_BODY;

/// What kind of plan the JSON is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMode {
    /// `terraform plan -refresh-only`: no `resource_changes`; the drift is what applying
    /// would record in the state.
    RefreshOnly,
    /// A normal plan: drift is reported beside the changes that would undo or build on it.
    Normal,
}

impl PlanMode {
    /// As shown in reports and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanMode::RefreshOnly => "refresh-only",
            PlanMode::Normal => "normal",
        }
    }
}

/// One changed attribute, as text (the plan's own text, not yet escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `+` added, `-` removed, `!` changed.
    pub sign: char,
    /// `tags.env`, `ingress[0].cidr_blocks[1]`.
    pub path: String,
    /// `"prod" → "staging"`, `"console-user"`, `(sensitive) (changed)`.
    pub text: String,
}

/// One object changed outside Terraform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drifted {
    /// Its address.
    pub address: String,
    /// `update` (changed), `delete` (deleted outside Terraform) or terraform's action words.
    pub action: String,
    /// Changed attributes (empty for a deletion).
    pub lines: Vec<Line>,
}

/// The drift in a plan.
#[derive(Debug, Clone)]
pub struct Report {
    /// What kind of plan it came from.
    pub mode: PlanMode,
    /// Objects changed outside Terraform (`resource_drift`), by address.
    pub resources: Vec<Drifted>,
    /// Root outputs a refresh-only plan would record (empty for a normal plan).
    pub outputs: Vec<Drifted>,
    /// The changes a normal plan would make (all zero for a refresh-only plan).
    pub planned: Counts,
    /// Whether a normal plan has anything to apply.
    pub planned_changes: bool,
    /// Whether terraform reported errors while planning.
    pub errored: bool,
    /// e.g. `1.11.4`.
    pub terraform_version: Option<String>,
}

fn text(v: &Masked<'_>) -> String {
    v.to_string()
}

fn lines(plan: &Plan, rc_change: &tollgate_tfplan::Change) -> Vec<Line> {
    plan.view(rc_change)
        .diff()
        .into_iter()
        .filter(|a| a.changed)
        .map(|a| {
            let path = a.path_text();
            match (&a.before, &a.after) {
                (None, Some(after)) => Line {
                    sign: '+',
                    path,
                    text: text(after),
                },
                (Some(before), None) => Line {
                    sign: '-',
                    path,
                    text: text(before),
                },
                (Some(Masked::Sensitive), Some(Masked::Sensitive)) => Line {
                    sign: '!',
                    path,
                    text: format!("{} (changed)", tollgate_tfplan::SENSITIVE),
                },
                (Some(before), Some(after)) => Line {
                    sign: '!',
                    path,
                    text: format!("{} → {}", text(before), text(after)),
                },
                (None, None) => Line {
                    sign: '!',
                    path,
                    text: String::new(),
                },
            }
        })
        .collect()
}

fn action_words(rc: &ResourceChange) -> String {
    match rc.kind() {
        ChangeKind::Update => "update".into(),
        ChangeKind::Delete => "delete".into(),
        _ => rc
            .change
            .actions
            .iter()
            .map(|a| a.as_str().to_string())
            .collect::<Vec<_>>()
            .join("+"),
    }
}

impl Report {
    /// The drift in `plan`. A plan without `resource_changes` is taken as refresh-only
    /// (terraform writes none for `-refresh-only`; a normal plan lists every resource, no-ops
    /// included).
    pub fn of(plan: &Plan) -> Report {
        let mode = if plan.resource_changes.is_empty() {
            PlanMode::RefreshOnly
        } else {
            PlanMode::Normal
        };
        let mut resources: Vec<Drifted> = plan
            .resource_drift
            .iter()
            .filter(|rc| !matches!(rc.kind(), ChangeKind::NoOp | ChangeKind::Read))
            .map(|rc| Drifted {
                address: rc.address.clone(),
                action: action_words(rc),
                lines: if matches!(rc.kind(), ChangeKind::Delete) {
                    Vec::new()
                } else {
                    lines(plan, &rc.change)
                },
            })
            .collect();
        resources.sort_by(|a, b| a.address.cmp(&b.address));
        let outputs = match mode {
            PlanMode::Normal => Vec::new(),
            PlanMode::RefreshOnly => plan
                .output_changes
                .iter()
                .filter(|(_, c)| !matches!(c.kind(), ChangeKind::NoOp))
                .map(|(name, c)| {
                    let view = plan.view(c);
                    let show = |v: Option<Masked<'_>>| v.map_or_else(|| "null".to_string(), |v| text(&v));
                    let (before, after) = (view.before(), view.after());
                    let text = if matches!((&before, &after), (Some(Masked::Sensitive), Some(Masked::Sensitive))) {
                        format!("{} (changed)", tollgate_tfplan::SENSITIVE)
                    } else {
                        format!("{} → {}", show(before), show(after))
                    };
                    Drifted {
                        address: format!("output.{name}"),
                        action: c.kind_word(),
                        lines: vec![Line {
                            sign: '!',
                            path: name.clone(),
                            text,
                        }],
                    }
                })
                .collect(),
        };
        let planned = match mode {
            PlanMode::Normal => plan.counts(),
            PlanMode::RefreshOnly => Counts::default(),
        };
        Report {
            mode,
            resources,
            outputs,
            planned,
            planned_changes: mode == PlanMode::Normal && plan.has_changes(),
            errored: plan.errored,
            terraform_version: plan.terraform_version.clone(),
        }
    }

    /// Whether anything drifted (objects, or outputs a refresh-only plan would record).
    pub fn drifted(&self) -> bool {
        !self.resources.is_empty() || !self.outputs.is_empty()
    }

    /// What `terraform plan -detailed-exitcode` means for this plan: 1 when planning failed,
    /// 2 when applying it changes something (for a refresh-only plan: records drift), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.errored {
            1
        } else if match self.mode {
            PlanMode::RefreshOnly => self.drifted(),
            PlanMode::Normal => self.planned_changes,
        } {
            2
        } else {
            0
        }
    }

    /// Attribute lines over every drifted object.
    pub fn changed_attributes(&self) -> usize {
        self.resources.iter().map(|r| r.lines.len()).sum()
    }

    /// Objects deleted outside Terraform.
    pub fn deleted(&self) -> usize {
        self.resources.iter().filter(|r| r.action == "delete").count()
    }

    /// The drift as canonical text (masked): what the digest is taken over. It holds only
    /// what drifted, not the run, time or plan mode, so the same drift gives the same digest.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for r in self.resources.iter().chain(&self.outputs) {
            out.push_str(&format!("{}\t{}\n", r.address, r.action));
            for l in &r.lines {
                out.push_str(&format!("\t{} {}\t{}\n", l.sign, l.path, l.text));
            }
        }
        out
    }

    /// The digest of [`canonical`](Self::canonical): 32 hex digits (128 bits of SHA-256), or
    /// `none` when nothing drifted.
    pub fn digest(&self) -> String {
        if !self.drifted() {
            return "none".into();
        }
        let hash = Sha256::digest(self.canonical().as_bytes());
        hash[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

trait KindWord {
    fn kind_word(&self) -> String;
}

impl KindWord for tollgate_tfplan::Change {
    fn kind_word(&self) -> String {
        match self.kind() {
            ChangeKind::Create => "create".into(),
            ChangeKind::Delete => "delete".into(),
            ChangeKind::Update => "update".into(),
            _ => self.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join("+"),
        }
    }
}

/// How the report is rendered.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace, e.g. `us-east` (user text: escaped here).
    pub workspace: String,
    /// Attribute lines per object.
    pub max_attributes: usize,
    /// Characters per attribute line.
    pub max_line_chars: usize,
    /// A root-relative link to the workflow run, if known (already safe).
    pub run_link: Option<String>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The headline, e.g. `2 resources changed outside Terraform`.
pub fn headline(report: &Report) -> String {
    if report.errored && !report.drifted() {
        return "terraform reported errors while planning: drift unknown".into();
    }
    let mut parts = Vec::new();
    if !report.resources.is_empty() {
        let deleted = report.deleted();
        parts.push(format!(
            "{} changed outside Terraform{}",
            plural(report.resources.len(), "resource", "resources"),
            if deleted > 0 {
                format!(" ({deleted} deleted)")
            } else {
                String::new()
            }
        ));
    }
    if !report.outputs.is_empty() {
        parts.push(format!(
            "{} to record",
            plural(report.outputs.len(), "output change", "output changes")
        ));
    }
    if parts.is_empty() {
        "no drift".into()
    } else {
        parts.join(", ")
    }
}

fn details(out: &mut String, r: &Drifted, opts: &Options) {
    out.push_str(&format!(
        "<details><summary><code>{}</code> ({})</summary>\n\n",
        inline(&r.address),
        inline(if r.action == "delete" {
            "deleted outside Terraform"
        } else {
            &r.action
        })
    ));
    if r.lines.is_empty() {
        out.push_str(if r.action == "delete" {
            "The object no longer exists; applying a normal plan would create it again.\n\n"
        } else {
            "No attribute differences are shown for this change.\n\n"
        });
    } else {
        let mut body = String::new();
        for l in r.lines.iter().take(opts.max_attributes) {
            let line = format!("{} {}: {}", l.sign, l.path, l.text);
            body.push_str(&code_line(&truncate(&line, opts.max_line_chars)));
            body.push('\n');
        }
        if r.lines.len() > opts.max_attributes {
            body.push_str(&format!(
                "# …and {} more changed attributes\n",
                r.lines.len() - opts.max_attributes
            ));
        }
        let fence = fence_for(&body);
        out.push_str(&format!("{fence}diff\n{body}{fence}\n\n"));
    }
    out.push_str("</details>\n\n");
}

/// The report as Markdown, within `limit` bytes: objects past the limit are named only,
/// then counted.
pub fn render(report: &Report, opts: &Options, limit: usize) -> String {
    let mut out = format!("### Drift in workspace <code>{}</code>\n\n", inline(&opts.workspace));
    let icon = if report.errored {
        "❌"
    } else if report.drifted() {
        "⚠️"
    } else {
        "✅"
    };
    out.push_str(&format!("{icon} **{}**", headline(report)));
    out.push_str(&format!(
        " — {} plan{}.\n\n",
        report.mode.as_str(),
        report
            .terraform_version
            .as_deref()
            .map(|v| format!(", terraform {}", inline(v)))
            .unwrap_or_default()
    ));
    if report.errored {
        out.push_str(
            "> [!CAUTION]\n> terraform reported errors while planning: this report is incomplete, and no issue is closed because of it.\n\n",
        );
    }
    if report.drifted() {
        out.push_str("| object | drift | attributes changed |\n|---|---|---|\n");
        // The table takes at most a third of the room; the rest is for the details.
        let total = report.resources.len() + report.outputs.len();
        let mut rows = 0;
        for r in report.resources.iter().chain(&report.outputs) {
            let row = format!(
                "| <code>{}</code> | {} | {} |\n",
                inline(&truncate(&r.address, 200)),
                inline(if r.action == "delete" { "deleted" } else { &r.action }),
                r.lines.len()
            );
            if out.len() + row.len() > limit / 3 {
                break;
            }
            out.push_str(&row);
            rows += 1;
        }
        if rows < total {
            out.push_str(&format!("| …and {} more | | |\n", total - rows));
        }
        out.push('\n');
    }
    match report.mode {
        PlanMode::RefreshOnly if report.drifted() => out.push_str(
            "Applying this refresh-only plan (`terraform apply -refresh-only`) would record these values in the state; \
             a normal plan would instead change the objects back to the configuration.\n\n",
        ),
        PlanMode::Normal => {
            let c = &report.planned;
            if report.planned_changes {
                out.push_str(&format!(
                    "The plan would also make changes: {} to create, {} to update, {} to replace, {} to destroy.\n\n",
                    c.create, c.update, c.replace, c.delete
                ));
            } else {
                out.push_str("The plan has no changes to apply.\n\n");
            }
        }
        PlanMode::RefreshOnly => {}
    }

    let mut footer = String::new();
    if let Some(link) = &opts.run_link {
        footer.push_str(&format!(
            "<sub>Checked by Tollgate drift-check in [this workflow run]({link}).</sub>\n"
        ));
    } else {
        footer.push_str("<sub>Checked by Tollgate drift-check.</sub>\n");
    }
    let notice_room = 512;
    let all: Vec<&Drifted> = report.resources.iter().chain(&report.outputs).collect();
    let mut shown = 0;
    if !all.is_empty() {
        out.push_str("#### Changed outside Terraform\n\n");
        for r in &all {
            let mut block = String::new();
            details(&mut block, r, opts);
            if out.len() + block.len() + footer.len() + notice_room > limit {
                break;
            }
            out.push_str(&block);
            shown += 1;
        }
        if shown < all.len() {
            let mut names = String::new();
            let mut named = 0;
            for r in &all[shown..] {
                let item = format!("- <code>{}</code>\n", inline(&truncate(&r.address, 200)));
                if out.len() + names.len() + item.len() + footer.len() + notice_room > limit {
                    break;
                }
                names.push_str(&item);
                named += 1;
            }
            out.push_str(&format!(
                "_The details of {} more objects do not fit here; the step summary of the run has them all._\n\n",
                all.len() - shown
            ));
            out.push_str(&names);
            if shown + named < all.len() {
                out.push_str(&format!("- …and {} more\n", all.len() - shown - named));
            }
            out.push('\n');
        }
    }
    out.push_str(&footer);
    out
}
