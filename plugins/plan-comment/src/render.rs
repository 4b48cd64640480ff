//! The plan as Markdown, most dangerous first.
//!
//! - A verdict, counts, destroy and replace warnings, then resources grouped by action and
//!   module with collapsible attribute diffs, outputs, drift.
//! - Everything taken from the plan is escaped ([`tollgate_sdk::markdown`]) and every value
//!   comes through `tollgate_tfplan`'s masked views, so sensitive values never reach the text.
//!
//! The text is fitted to a size budget (GitHub's 65,536-character comment limit, or the
//! step summary's cap): details are dropped from the least important end first, then
//! names, and a notice says what was left out and where the full plan is.

use std::fmt::Write as _;
use tollgate_sdk::markdown::{code_line, fence_for, inline, truncate};
use tollgate_tfplan::{
    ActionReason, AttributeChange, Change, ChangeKind, Masked, Mode, PathStep, Plan, ReplaceOrder, ResourceChange,
    path_text,
};

/// The longest body the host posts for us: GitHub's cap less the host's owner marker. The
/// renderer measures UTF-8 bytes, which are never fewer than characters (or UTF-16 units).
pub const COMMENT_LIMIT: usize = tollgate_vocab::limits::MAX_GITHUB_BODY;
/// What the step summary takes from one step: a round 1 MB, kept below the host's cap because the host
/// masks secrets before it measures (`***` outgrows a shorter secret) and drops an append that then passes
/// the cap whole, plan and cut notice alike.
pub const SUMMARY_LIMIT: usize = tollgate_vocab::limits::MAX_SUMMARY_BYTES - 48_576;
/// Room kept for the notice that says what was left out.
const NOTICE_RESERVE: usize = 2_048;
/// Destroy and replace warnings listed by name at the top.
const MAX_WARNINGS: usize = 25;

/// How to render.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace (title).
    pub workspace: String,
    /// At most this many resources get attribute diffs (the most important first).
    pub max_details: usize,
    /// At most this many attribute lines per resource.
    pub max_attributes: usize,
    /// Values longer than this many characters are cut.
    pub max_value_chars: usize,
    /// Safe Markdown naming where the full plan is, for the notice (e.g. "the step summary").
    pub full_plan_at: Vec<String>,
    /// A footer line (safe Markdown), e.g. the run that produced the comment.
    pub footer: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workspace: "default".into(),
            max_details: 200,
            max_attributes: 40,
            max_value_chars: 200,
            full_plan_at: vec!["the step summary of this run".into()],
            footer: None,
        }
    }
}

/// The Markdown and what it left out.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The Markdown, within the budget.
    pub markdown: String,
    /// What was left out, in words (empty when nothing was).
    pub left_out: Vec<String>,
}

/// A group of resources, shown in this order; trimmed in [`TRIM_ORDER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Replace,
    Destroy,
    Create,
    Update,
    Forget,
    Import,
    Move,
    Read,
    Deferred,
    Outputs,
    Drift,
}

const SHOW_ORDER: [Kind; 11] = [
    Kind::Replace,
    Kind::Destroy,
    Kind::Create,
    Kind::Update,
    Kind::Forget,
    Kind::Import,
    Kind::Move,
    Kind::Read,
    Kind::Deferred,
    Kind::Outputs,
    Kind::Drift,
];

/// Least important first: their details go first, and their names before anyone else's.
const TRIM_ORDER: [Kind; 11] = [
    Kind::Read,
    Kind::Move,
    Kind::Import,
    Kind::Drift,
    Kind::Forget,
    Kind::Create,
    Kind::Deferred,
    Kind::Update,
    Kind::Outputs,
    Kind::Destroy,
    Kind::Replace,
];

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::Replace => "🔁 Replace",
            Kind::Destroy => "🗑️ Destroy",
            Kind::Create => "➕ Create",
            Kind::Update => "✏️ Update in place",
            Kind::Forget => "🫥 Forget (removed from state, left running)",
            Kind::Import => "📥 Import",
            Kind::Move => "🚚 Move",
            Kind::Read => "📖 Read during apply",
            Kind::Deferred => "⏳ Deferred",
            Kind::Outputs => "📤 Outputs",
            Kind::Drift => "🌫️ Changed outside Terraform (drift)",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Replace => "replaces",
            Kind::Destroy => "destroys",
            Kind::Create => "creates",
            Kind::Update => "in-place updates",
            Kind::Forget => "forgets",
            Kind::Import => "imports",
            Kind::Move => "moves",
            Kind::Read => "reads",
            Kind::Deferred => "deferred changes",
            Kind::Outputs => "output changes",
            Kind::Drift => "drifted resources",
        }
    }
}

/// One resource (or output): a one-line form and a form with details.
struct Entry {
    brief: String,
    full: String,
}

struct Section {
    kind: Kind,
    head: String,
    entries: Vec<Entry>,
    /// Prefix sums of the entries' lengths.
    full_sum: Vec<usize>,
    brief_sum: Vec<usize>,
    /// Entries shown with details, then entries shown by name.
    details: usize,
    names: usize,
}

impl Section {
    fn new(kind: Kind, head: String, entries: Vec<Entry>) -> Section {
        let mut full_sum = vec![0];
        let mut brief_sum = vec![0];
        for e in &entries {
            full_sum.push(full_sum.last().unwrap_or(&0) + e.full.len());
            brief_sum.push(brief_sum.last().unwrap_or(&0) + e.brief.len());
        }
        let n = entries.len();
        Section {
            kind,
            head,
            entries,
            full_sum,
            brief_sum,
            details: n,
            names: n,
        }
    }

    fn more_line(&self, names: usize) -> String {
        let rest = self.entries.len() - names;
        if rest == 0 {
            String::new()
        } else {
            format!("- …and {rest} more {} (see the full plan)\n", self.kind.noun())
        }
    }

    fn len_at(&self, details: usize, names: usize) -> usize {
        if self.entries.is_empty() {
            return 0;
        }
        let briefs = self.brief_sum[names.max(details)] - self.brief_sum[details];
        // A blank line between details blocks and the list that follows them.
        let gap = usize::from(details > 0 && (names > details || names < self.entries.len()));
        self.head.len() + self.full_sum[details] + gap + briefs + self.more_line(names.max(details)).len() + 1
    }

    fn len(&self) -> usize {
        self.len_at(self.details, self.names)
    }

    fn write(&self, out: &mut String) {
        if self.entries.is_empty() {
            return;
        }
        out.push_str(&self.head);
        for e in &self.entries[..self.details] {
            out.push_str(&e.full);
        }
        let names = self.names.max(self.details);
        if self.details > 0 && (names > self.details || names < self.entries.len()) {
            out.push('\n');
        }
        for e in &self.entries[self.details..names] {
            out.push_str(&e.brief);
        }
        out.push_str(&self.more_line(names));
        out.push('\n');
    }
}

/// Render `plan` within `budget` bytes.
pub fn render(plan: &Plan, opts: &Options, budget: usize) -> Rendered {
    let mut sections: Vec<Section> = SHOW_ORDER.iter().map(|&k| section(plan, opts, k)).collect();
    let fixed_top = top(plan, opts);
    let footer = footer(plan, opts);

    // `max-details`: the most important sections keep their details first.
    let mut allowance = opts.max_details;
    for kind in TRIM_ORDER.iter().rev() {
        let s = sections
            .iter_mut()
            .find(|s| s.kind == *kind)
            .expect("every kind has a section");
        s.details = s.details.min(allowance);
        allowance -= s.details;
    }
    let total =
        |sections: &[Section]| fixed_top.len() + footer.len() + sections.iter().map(Section::len).sum::<usize>();
    let capped = sections
        .iter()
        .any(|s| s.details < s.entries.len() && has_details(s.kind));
    if capped || total(&sections) > budget {
        // Room for the notice. Then, least important section first: the details of everything
        // but destroys and replaces, their names, and only then destroy and replace details
        // and names.
        let budget = budget.saturating_sub(NOTICE_RESERVE);
        let (low, high) = TRIM_ORDER.split_at(TRIM_ORDER.len() - 2);
        for (kinds, names) in [(low, false), (low, true), (high, false), (high, true)] {
            for kind in kinds {
                let s = sections
                    .iter()
                    .position(|s| s.kind == *kind)
                    .expect("every kind has a section");
                loop {
                    let left = if names { sections[s].names } else { sections[s].details };
                    if left == 0 || total(&sections) <= budget {
                        break;
                    }
                    if names {
                        sections[s].names -= 1;
                        sections[s].details = sections[s].details.min(sections[s].names);
                    } else {
                        sections[s].details -= 1;
                    }
                }
            }
        }
    }
    let mut left_out = Vec::new();
    for kind in TRIM_ORDER {
        let s = sections
            .iter()
            .find(|s| s.kind == kind)
            .expect("every kind has a section");
        let n = s.entries.len();
        if s.names < n {
            left_out.push(format!("the names of {} of {n} {}", n - s.names, kind.noun()));
        }
        let lost = s.entries[s.details.min(s.names)..s.names]
            .iter()
            .filter(|e| e.full != e.brief)
            .count();
        if lost > 0 {
            left_out.push(format!("attribute details of {lost} {}", kind.noun()));
        }
    }

    let mut out = String::with_capacity(total(&sections) + NOTICE_RESERVE);
    out.push_str(&fixed_top);
    if !left_out.is_empty() {
        out.push_str(&notice(&left_out, opts));
    }
    for s in &sections {
        s.write(&mut out);
    }
    out.push_str(&footer);
    if out.len() > budget {
        // Only a pathological fixed part gets here (the sections are already empty).
        let mut cut = budget.saturating_sub(64);
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n_(cut to fit the size limit)_\n");
    }
    Rendered {
        markdown: out,
        left_out,
    }
}

fn has_details(kind: Kind) -> bool {
    !matches!(kind, Kind::Forget | Kind::Import | Kind::Move)
}

fn notice(left_out: &[String], opts: &Options) -> String {
    let mut out =
        String::from("> [!NOTE]\n> To stay within GitHub's 65,536-character comment limit, this comment leaves out ");
    out.push_str(&join_words(left_out));
    out.push_str(". The full plan is in ");
    out.push_str(&join_words(&opts.full_plan_at));
    out.push_str(".\n\n");
    truncate(&out, NOTICE_RESERVE - 64)
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join("; ")),
    }
}

/// Title, verdict, counts and warnings.
fn top(plan: &Plan, opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Terraform plan: <code>{}</code>\n",
        inline(&truncate(&opts.workspace, 100))
    );
    out.push_str(&verdict(plan));
    out.push_str("\n\n");
    out.push_str(&counts_line(plan));
    out.push_str("\n\n");
    out.push_str(&warnings(plan));
    out
}

/// The one-line verdict.
pub fn verdict(plan: &Plan) -> String {
    let c = plan.counts();
    let drift = if plan.resource_drift.is_empty() {
        String::new()
    } else {
        format!(
            " {} changed outside Terraform.",
            plural(plan.resource_drift.len(), "resource")
        )
    };
    if plan.errored {
        return format!(
            "❌ **Planning failed**: terraform could not finish this plan, so the changes below are incomplete.{drift}"
        );
    }
    let destroyed = plan.resource_changes.iter().filter(|r| r.kind().destroys()).count();
    if destroyed > 0 {
        let mut parts = Vec::new();
        if c.delete > 0 {
            parts.push(format!("{} destroyed", c.delete));
        }
        let replaced = plan
            .resource_changes
            .iter()
            .filter(|r| {
                matches!(
                    r.kind(),
                    ChangeKind::Replace(ReplaceOrder::DeleteThenCreate | ReplaceOrder::CreateThenDelete)
                )
            })
            .count();
        if replaced > 0 {
            parts.push(format!("{replaced} replaced"));
        }
        return format!(
            "⚠️ **This plan destroys {}** ({}).{drift}",
            plural(destroyed, "object"),
            parts.join(", ")
        );
    }
    if plan.has_changes() {
        return format!("📝 **This plan changes infrastructure; nothing is destroyed.**{drift}");
    }
    format!("✅ **No changes.** The infrastructure matches the configuration.{drift}")
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `**Plan:** 3 to create, 7 to update, …` with every count, zeros included.
pub fn counts_line(plan: &Plan) -> String {
    let c = plan.counts();
    let outputs = plan
        .output_changes
        .values()
        .filter(|o| !matches!(o.kind(), ChangeKind::NoOp))
        .count();
    format!(
        "**Plan:** {} to create, {} to update, {} to replace, {} to destroy, {} to import, {} to move, {} to forget, {} to read. **Outputs:** {} changing.",
        c.create, c.update, c.replace, c.delete, c.import, c.moved, c.forget, c.read, outputs
    )
}

fn warnings(plan: &Plan) -> String {
    let mut items: Vec<&ResourceChange> = plan.resource_changes.iter().filter(|r| r.kind().destroys()).collect();
    // Replacements first, then deletes, each by address.
    items.sort_by_key(|r| (!matches!(r.kind(), ChangeKind::Replace(_)), r.address.clone()));
    let mut out = String::new();
    if plan.errored {
        out.push_str("> [!CAUTION]\n> terraform reported errors while planning: read the run's log before applying anything.\n\n");
    }
    if items.is_empty() {
        return out;
    }
    out.push_str("> [!WARNING]\n> **Destroyed or replaced — review these first:**\n");
    for r in items.iter().take(MAX_WARNINGS) {
        let _ = writeln!(out, "> - <code>{}</code> {}", inline(&r.address), why(r));
    }
    if items.len() > MAX_WARNINGS {
        let _ = writeln!(out, "> - …and {} more (below)", items.len() - MAX_WARNINGS);
    }
    out.push('\n');
    out
}

/// `will be replaced: the object is tainted…` with the attributes that force it.
fn why(r: &ResourceChange) -> String {
    let what = match r.kind() {
        ChangeKind::Replace(ReplaceOrder::CreateThenDelete) => {
            "will be replaced (new object first, create_before_destroy)"
        }
        ChangeKind::Replace(_) => "will be replaced",
        ChangeKind::Delete => "will be destroyed",
        _ => "will change",
    };
    let mut out = what.to_string();
    if let Some(reason) = &r.action_reason {
        let _ = write!(out, ": {}", inline(reason.explain()));
        if *reason == ActionReason::ReplaceBecauseCannotUpdate && !r.change.replace_paths.is_empty() {
            let paths: Vec<String> = r
                .change
                .replace_paths
                .iter()
                .take(5)
                .map(|p| format!("<code>{}</code>", inline(&replace_path_text(p))))
                .collect();
            let _ = write!(out, " ({})", paths.join(", "));
        }
        let _ = write!(out, " <sub>{}</sub>", inline(reason.as_str()));
    }
    out
}

fn replace_path_text(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(k) => {
                let steps = [tollgate_tfplan::Step::Key(k)];
                let t = path_text(&steps);
                if !out.is_empty() && !t.starts_with('[') {
                    out.push('.');
                }
                out.push_str(&t);
            }
            PathStep::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

fn footer(plan: &Plan, opts: &Options) -> String {
    let mut out = String::from("<sub>");
    if let Some(v) = &plan.terraform_version {
        let _ = write!(out, "terraform {} · ", inline(v));
    }
    let _ = write!(
        out,
        "plan format {} · posted by tollgate plan-comment",
        inline(&plan.format_version)
    );
    if let Some(f) = &opts.footer {
        let _ = write!(out, " · {f}");
    }
    out.push_str("</sub>\n");
    out
}

/// Which section a resource change goes to.
fn kind_of(r: &ResourceChange) -> Option<Kind> {
    Some(match r.kind() {
        ChangeKind::Replace(_) => Kind::Replace,
        ChangeKind::Delete => Kind::Destroy,
        ChangeKind::Create => Kind::Create,
        ChangeKind::Update => Kind::Update,
        ChangeKind::Forget => Kind::Forget,
        ChangeKind::Read => Kind::Read,
        ChangeKind::Other(_) => Kind::Update,
        ChangeKind::NoOp if r.imported() => Kind::Import,
        ChangeKind::NoOp if r.moved() => Kind::Move,
        ChangeKind::NoOp => return None,
    })
}

fn section(plan: &Plan, opts: &Options, kind: Kind) -> Section {
    let resources: Vec<&ResourceChange> = match kind {
        Kind::Drift => plan.resource_drift.iter().collect(),
        Kind::Deferred => plan.deferred_changes.iter().map(|d| &d.resource_change).collect(),
        Kind::Outputs => Vec::new(),
        _ => plan
            .resource_changes
            .iter()
            .filter(|r| kind_of(r) == Some(kind))
            .collect(),
    };
    if kind == Kind::Outputs {
        let entries: Vec<Entry> = plan
            .output_changes
            .iter()
            .filter(|(_, c)| !matches!(c.kind(), ChangeKind::NoOp))
            .map(|(name, change)| output_entry(plan, opts, name, change))
            .collect();
        let head = format!("#### {} ({})\n\n", kind.title(), entries.len());
        return Section::new(kind, head, entries);
    }
    let mut resources = resources;
    resources.sort_by(|a, b| {
        (a.module_address.as_deref().unwrap_or(""), &a.address)
            .cmp(&(b.module_address.as_deref().unwrap_or(""), &b.address))
    });
    let mut entries = Vec::with_capacity(resources.len());
    let mut module: Option<&str> = None;
    for r in &resources {
        let m = r.module_address.as_deref().unwrap_or("");
        let group = if module != Some(m) {
            module = Some(m);
            if m.is_empty() && resources.iter().all(|r| r.module_address.is_none()) {
                String::new()
            } else {
                let gap = if entries.is_empty() { "" } else { "\n" };
                let name = if m.is_empty() {
                    "root module".to_string()
                } else {
                    format!("<code>{}</code>", inline(m))
                };
                format!("{gap}**{name}**\n\n")
            }
        } else {
            String::new()
        };
        let mut e = resource_entry(plan, opts, kind, r);
        e.brief = format!("{group}{}", e.brief);
        e.full = format!("{group}{}", e.full);
        entries.push(e);
    }
    let mut head = format!("#### {} ({})\n\n", kind.title(), entries.len());
    if kind == Kind::Drift {
        head.push_str("_Terraform found these objects changed since the last apply; the plan above already accounts for them._\n\n");
    }
    Section::new(kind, head, entries)
}

fn resource_entry(plan: &Plan, opts: &Options, kind: Kind, r: &ResourceChange) -> Entry {
    let mut label = format!("<code>{}</code>", inline(&r.address));
    if r.mode == Mode::Data && kind != Kind::Read {
        label.push_str(" (data source)");
    }
    if let Some(prev) = r.previous_address.as_deref().filter(|_| r.moved()) {
        let _ = write!(label, " — moved from <code>{}</code>", inline(prev));
    }
    if let Some(imp) = &r.change.importing {
        match imp.id.as_deref() {
            Some(id) if !plan.is_sensitive_text(id) => {
                let _ = write!(label, " — imported from <code>{}</code>", inline(&truncate(id, 100)));
            }
            Some(_) => label.push_str(" — imported (ID is sensitive)"),
            None => label.push_str(" — imported (ID known after apply)"),
        }
    }
    if let Some(d) = &r.deposed {
        let _ = write!(label, " — deposed object <code>{}</code>", inline(d));
    }
    match kind {
        Kind::Replace | Kind::Destroy | Kind::Read => {
            if let Some(reason) = &r.action_reason {
                let _ = write!(label, " — {}", inline(reason.explain()));
            }
        }
        Kind::Drift => label.push_str(match r.kind() {
            ChangeKind::Delete => " — deleted outside Terraform",
            _ => " — changed outside Terraform",
        }),
        Kind::Deferred => {
            if let Some(d) = plan
                .deferred_changes
                .iter()
                .find(|d| std::ptr::eq(&d.resource_change, r))
            {
                let _ = write!(label, " — {} deferred: {}", inline(r.kind_word()), inline(&d.reason));
            }
        }
        Kind::Update if matches!(r.kind(), ChangeKind::Other(_)) => {
            let _ = write!(
                label,
                " — actions {}",
                inline(&format!(
                    "{:?}",
                    r.change.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>()
                ))
            );
        }
        _ => {}
    }
    if let ChangeKind::Replace(ReplaceOrder::CreateThenDelete) = r.kind() {
        label.push_str(" — create before destroy");
    }
    let brief = format!("- {label}\n");
    if !has_details(kind) {
        return Entry {
            full: brief.clone(),
            brief,
        };
    }
    let lines = diff_lines(plan.view(&r.change).diff(), r.kind(), opts);
    if lines.is_empty() {
        return Entry {
            full: brief.clone(),
            brief,
        };
    }
    let body = lines.join("\n");
    let fence = fence_for(&body);
    let full = format!("<details><summary>{label}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n");
    Entry { brief, full }
}

trait KindWord {
    fn kind_word(&self) -> &'static str;
}

impl KindWord for ResourceChange {
    fn kind_word(&self) -> &'static str {
        match self.kind() {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Replace(_) => "replace",
            ChangeKind::Delete => "destroy",
            ChangeKind::Read => "read",
            ChangeKind::Forget => "forget",
            ChangeKind::NoOp => "no-op",
            ChangeKind::Other(_) => "change",
        }
    }
}

fn value_text(v: &Masked<'_>, opts: &Options) -> String {
    code_line(&truncate(&v.to_string(), opts.max_value_chars))
}

fn is_nothing(v: Option<&Masked<'_>>) -> bool {
    matches!(v, None | Some(Masked::Null))
}

/// `+ path = value`, `- path = value`, `! path = before -> after`, in a ```diff block.
fn diff_lines(diff: Vec<AttributeChange<'_>>, kind: ChangeKind, opts: &Options) -> Vec<String> {
    let creating = matches!(kind, ChangeKind::Create);
    let deleting = matches!(kind, ChangeKind::Delete);
    let mut lines = Vec::new();
    let mut unchanged = 0usize;
    let mut shown = 0usize;
    let mut more = 0usize;
    for a in &diff {
        let path = {
            let p = a.path_text();
            if p.is_empty() {
                "(whole object)".to_string()
            } else {
                code_line(&p)
            }
        };
        let line = if creating {
            if is_nothing(a.after.as_ref()) {
                continue;
            }
            format!(
                "+ {path} = {}",
                a.after.as_ref().map(|v| value_text(v, opts)).unwrap_or_default()
            )
        } else if deleting {
            if is_nothing(a.before.as_ref()) {
                continue;
            }
            format!(
                "- {path} = {}",
                a.before.as_ref().map(|v| value_text(v, opts)).unwrap_or_default()
            )
        } else if !a.changed {
            unchanged += 1;
            continue;
        } else if is_nothing(a.before.as_ref()) && !is_nothing(a.after.as_ref()) {
            format!(
                "+ {path} = {}",
                a.after.as_ref().map(|v| value_text(v, opts)).unwrap_or_default()
            )
        } else if is_nothing(a.after.as_ref()) && !is_nothing(a.before.as_ref()) {
            format!(
                "- {path} = {}",
                a.before.as_ref().map(|v| value_text(v, opts)).unwrap_or_default()
            )
        } else {
            let before = a
                .before
                .as_ref()
                .map(|v| value_text(v, opts))
                .unwrap_or_else(|| "null".into());
            let after = a
                .after
                .as_ref()
                .map(|v| value_text(v, opts))
                .unwrap_or_else(|| "null".into());
            if before == after {
                // Both sides masked the same way: say that it changed, not how.
                format!("! {path} = {before} (changed)")
            } else {
                format!("! {path} = {before} -> {after}")
            }
        };
        if shown >= opts.max_attributes {
            more += 1;
            continue;
        }
        shown += 1;
        let line = if a.forces_replacement {
            format!("{line}   # forces replacement")
        } else {
            line
        };
        lines.push(line);
    }
    if more > 0 {
        lines.push(format!("# …and {} more (see the full plan)", plural(more, "attribute")));
    }
    if unchanged > 0 && !lines.is_empty() {
        lines.push(format!("# ({} hidden)", plural(unchanged, "unchanged attribute")));
    }
    lines
}

fn output_entry(plan: &Plan, opts: &Options, name: &str, change: &Change) -> Entry {
    let view = plan.view(change);
    let word = match change.kind() {
        ChangeKind::Create => "added",
        ChangeKind::Delete => "removed",
        ChangeKind::Update => "changed",
        _ => "changed",
    };
    let name = format!("<code>{}</code>", inline(name));
    let brief = format!("- {name} {word}\n");
    let show = |v: Option<Masked<'_>>| {
        v.map(|v| {
            format!(
                "<code>{}</code>",
                inline(&truncate(&v.to_string(), opts.max_value_chars))
            )
        })
    };
    let full = match (change.kind(), show(view.before()), show(view.after())) {
        (ChangeKind::Create, _, Some(after)) => format!("- {name} added: {after}\n"),
        (ChangeKind::Delete, Some(before), _) => format!("- {name} removed (was {before})\n"),
        (_, Some(before), Some(after)) if before == after => format!("- {name} changed: {after} (changed)\n"),
        (_, Some(before), Some(after)) => format!("- {name} changed: {before} → {after}\n"),
        _ => brief.clone(),
    };
    Entry { brief, full }
}
