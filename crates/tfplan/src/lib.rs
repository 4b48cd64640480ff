//! A typed reader of `terraform show -json tfplan` output (plan JSON format 1.x).
//!
//! ```
//! let json = br#"{
//!   "format_version": "1.2",
//!   "variables": {"password": {"value": "hunter2-secret"}},
//!   "configuration": {"root_module": {"variables": {"password": {"sensitive": true}}}},
//!   "resource_changes": [{
//!     "address": "terraform_data.db", "mode": "managed", "type": "terraform_data", "name": "db",
//!     "change": {
//!       "actions": ["update"],
//!       "before": {"input": {"password": "old-secret-1", "user": "app"}, "output": "old-secret-1"},
//!       "after": {"input": {"password": "hunter2-secret", "user": "app"}},
//!       "before_sensitive": {"input": {"password": true}},
//!       "after_sensitive": {"input": {"password": true}},
//!       "after_unknown": {"output": true}
//!     }
//!   }]
//! }"#;
//! let plan = tollgate_tfplan::Plan::from_slice(json)?;
//! let rc = &plan.resource_changes[0];
//! let lines: Vec<String> = plan
//!     .view(&rc.change)
//!     .diff()
//!     .iter()
//!     .filter(|a| a.changed)
//!     .map(|a| format!("{}: {} -> {}", a.path_text(),
//!         a.before.as_ref().map_or("-".into(), |v| v.to_string()),
//!         a.after.as_ref().map_or("-".into(), |v| v.to_string())))
//!     .collect();
//! // `output` is not marked sensitive in the plan, but holds a marked value: masked too.
//! assert_eq!(lines, [
//!     "input.password: (sensitive) -> (sensitive)",
//!     "output: (sensitive) -> (known after apply)",
//! ]);
//! assert_eq!(plan.counts().update, 1);
//! # Ok::<(), tollgate_tfplan::PlanError>(())
//! ```
//!
//! # Reading
//!
//! [`Plan::from_slice`] parses the bytes once, straight into typed structs (no whole-document
//! `serde_json::Value`; sections it does not need, such as `planned_values`, `prior_state` and
//! most of `configuration`, are skipped without being kept). It never panics: malformed or
//! adversarial input (wrong types, deep nesting, numbers out of range, a truncated file, a
//! state file or a binary plan given by mistake) is a [`PlanError`] naming the JSON path and
//! what was expected there. Unknown properties are ignored and unknown action words kept
//! as [`Action::Other`], as the format's 1.x compatibility promise asks; a major version
//! other than 1 is refused.
//!
//! # Sensitive values
//!
//! Plan JSON carries sensitive values in plain text and marks them only in
//! `before_sensitive`/`after_sensitive`. Values are private to this crate: the only way to
//! see one is a [`ChangeView`] ([`Plan::view`]), whose [`Masked`] values have every marked
//! leaf replaced by [`Masked::Sensitive`] before anything renders, and every value known only
//! after apply by [`Masked::Unknown`]. Because terraform does not mark every copy of a
//! sensitive value (measured: `terraform_data.output` repeats a sensitive `input` unmarked),
//! every text that is marked anywhere in the plan, and every value of a root variable declared
//! `sensitive`, is also hidden wherever else it appears (contained in a longer string, or
//! JSON-encoded; values shorter than 4 characters only where equal). [`Plan::scrub`] applies
//! the same needles to finished text as a last line of defence.

#![deny(missing_docs)]

mod error;
mod model;
mod redact;
mod value;
mod view;

pub use error::PlanError;
pub use model::{
    Action, ActionReason, AttrPath, Change, ChangeKind, DeferredChange, Importing, InstanceKey, Mode, PathStep,
    ReplaceOrder, ResourceChange,
};
pub use view::{AttributeChange, ChangeView, Masked, SENSITIVE, SENSITIVE_KEY, Step, UNKNOWN, path_text};

use redact::Redactor;
use std::collections::{BTreeMap, BTreeSet};

/// A plan, read from `terraform show -json` output.
#[derive(Debug)]
pub struct Plan {
    /// `format_version`, e.g. `1.2`.
    pub format_version: String,
    /// The terraform that made the plan, e.g. `1.11.4`.
    pub terraform_version: Option<String>,
    /// Whether the plan can be applied (`applyable`, format 1.2+).
    pub applyable: Option<bool>,
    /// Whether applying it converges (`complete`: false when changes were deferred).
    pub complete: Option<bool>,
    /// Whether planning failed part-way (`errored`): the changes are then incomplete.
    pub errored: bool,
    /// `resource_changes`, in terraform's order.
    pub resource_changes: Vec<ResourceChange>,
    /// `resource_drift`: objects changed outside Terraform since the last apply.
    pub resource_drift: Vec<ResourceChange>,
    /// `output_changes`, by output name.
    pub output_changes: BTreeMap<String, Change>,
    /// `deferred_changes` (with `-allow-deferral`).
    pub deferred_changes: Vec<DeferredChange>,
    redactor: Redactor,
}

/// How many changes of each kind a plan holds. `import` and `moved` count resources that are
/// also counted under their action (an import is usually a no-op or an update).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// New objects.
    pub create: usize,
    /// In-place updates.
    pub update: usize,
    /// Replacements, in either order.
    pub replace: usize,
    /// Destroyed objects.
    pub delete: usize,
    /// Data sources read during apply.
    pub read: usize,
    /// Nothing to do.
    pub no_op: usize,
    /// Removed from state, left running.
    pub forget: usize,
    /// Imports.
    pub import: usize,
    /// Objects moved by `moved` blocks.
    pub moved: usize,
    /// Action lists this reader does not know.
    pub other: usize,
}

impl Counts {
    /// Count a list of resource changes.
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a ResourceChange>) -> Counts {
        let mut c = Counts::default();
        for rc in changes {
            match rc.kind() {
                ChangeKind::Create => c.create += 1,
                ChangeKind::Update => c.update += 1,
                ChangeKind::Replace(_) => c.replace += 1,
                ChangeKind::Delete => c.delete += 1,
                ChangeKind::Read => c.read += 1,
                ChangeKind::NoOp => c.no_op += 1,
                ChangeKind::Forget => c.forget += 1,
                ChangeKind::Other(_) => c.other += 1,
            }
            c.import += usize::from(rc.imported());
            c.moved += usize::from(rc.moved());
        }
        c
    }

    /// Whether anything would change in the infrastructure or the state.
    pub fn any_change(&self) -> bool {
        self.create + self.update + self.replace + self.delete + self.forget + self.import + self.moved + self.other > 0
    }
}

impl Plan {
    /// Read `terraform show -json` output.
    pub fn from_slice(bytes: &[u8]) -> Result<Plan, PlanError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.starts_with(b"PK\x03\x04") {
            return Err(PlanError::at(
                ".",
                "this is a binary plan file, not its JSON: run `terraform show -json tfplan > plan.json` and pass plan.json",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let raw: model::RawPlan =
            value::interning(|| serde_path_to_error::deserialize(&mut de)).map_err(PlanError::from_serde)?;
        de.end().map_err(|e| PlanError {
            path: ".".into(),
            message: "unexpected text after the JSON document".into(),
            position: Some((e.line(), e.column())),
        })?;
        Self::check(raw)
    }

    fn check(raw: model::RawPlan) -> Result<Plan, PlanError> {
        let Some(format_version) = raw.format_version else {
            return Err(PlanError::at(
                "format_version",
                "missing: this is not `terraform show -json` output of a plan (expected an object with \"format_version\": \"1.x\")",
            ));
        };
        if raw.values.is_some() {
            return Err(PlanError::at(
                "values",
                "this is state JSON (`terraform show -json` without a plan file), not a plan: run `terraform show -json tfplan`",
            ));
        }
        let major = format_version.split('.').next().unwrap_or_default();
        if major != "1" {
            return Err(PlanError::at(
                "format_version",
                format!(
                    "plan JSON format {format_version:?} is not supported: this reader understands format 1.x (Terraform 1.x)"
                ),
            ));
        }

        let mut found = BTreeSet::new();
        let all = raw
            .resource_changes
            .iter()
            .chain(&raw.resource_drift)
            .chain(raw.deferred_changes.iter().map(|d| &d.resource_change))
            .map(|rc| &rc.change)
            .chain(raw.output_changes.values());
        for c in all {
            redact::harvest(c.before.as_ref(), c.before_sensitive.as_ref(), &mut found);
            redact::harvest(c.after.as_ref(), c.after_sensitive.as_ref(), &mut found);
        }
        if let Some(root) = raw.configuration.as_ref().and_then(|c| c.root_module.as_ref()) {
            for (name, var) in &raw.variables {
                if root.variables.get(name).is_some_and(|v| v.sensitive)
                    && let Some(value) = &var.value
                {
                    redact::leaves(value, &mut found);
                }
            }
        }

        Ok(Plan {
            format_version,
            terraform_version: raw.terraform_version,
            applyable: raw.applyable,
            complete: raw.complete,
            errored: raw.errored.unwrap_or(false),
            resource_changes: raw.resource_changes,
            resource_drift: raw.resource_drift,
            output_changes: raw.output_changes,
            deferred_changes: raw.deferred_changes,
            redactor: Redactor::new(found),
        })
    }

    /// A change of this plan (a resource's, a drift's or an output's), seen through its masks.
    pub fn view<'a>(&'a self, change: &'a Change) -> ChangeView<'a> {
        ChangeView {
            change,
            redactor: &self.redactor,
        }
    }

    /// Counts of `resource_changes` by kind.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.resource_changes)
    }

    /// Whether applying the plan changes anything: a resource action other than no-op and
    /// read, an import, a move, or an output change.
    pub fn has_changes(&self) -> bool {
        self.counts().any_change()
            || self
                .output_changes
                .values()
                .any(|c| !matches!(c.kind(), ChangeKind::NoOp))
    }

    /// Whether applying the plan destroys an object (a delete, or a replace).
    pub fn has_destroy(&self) -> bool {
        self.resource_changes.iter().any(|rc| rc.kind().destroys())
    }

    /// Whether `text` is, or contains, a value the plan marks sensitive somewhere (for text
    /// taken from the plan outside its values, such as an import ID).
    pub fn is_sensitive_text(&self, text: &str) -> bool {
        self.redactor.hides(text)
    }

    /// `text` with every sensitive value of the plan (4 characters or more) replaced by
    /// [`SENSITIVE`]: a last pass over finished output. Values holding a line break, a
    /// backtick, `<`, `>` or `&` are left to the masked views, so the pass can never open or
    /// close a code block, a tag or an entity in finished Markdown.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.scrub(text, SENSITIVE)
    }

    /// Whether the plan marks anything sensitive.
    pub fn has_sensitive_values(&self) -> bool {
        !self.redactor.is_empty()
    }
}
