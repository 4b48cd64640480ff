//! The typed plan: what `terraform show -json tfplan` says, read once from its bytes.
//!
//! Values (`before`, `after`, …) stay private to this crate: the only way to see them is
//! through [`Plan::view`], which masks sensitive leaves first.

use crate::value::Value;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Whether a resource is managed by Terraform or read by a data source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// A `resource` block.
    #[default]
    Managed,
    /// A `data` block.
    Data,
    /// A mode this reader does not know (a later 1.x format), as written.
    Other(String),
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.as_str() {
            "managed" => Mode::Managed,
            "data" => Mode::Data,
            _ => Mode::Other(text),
        })
    }
}

/// One word of a change's `actions` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `no-op`
    NoOp,
    /// `create`
    Create,
    /// `read`
    Read,
    /// `update`
    Update,
    /// `delete`
    Delete,
    /// `forget` (a `removed` block with `destroy = false`): dropped from state, left running.
    Forget,
    /// A word this reader does not know (a later 1.x format), as written.
    Other(String),
}

impl Action {
    fn parse(text: &str) -> Action {
        match text {
            "no-op" => Action::NoOp,
            "create" => Action::Create,
            "read" => Action::Read,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "forget" => Action::Forget,
            other => Action::Other(other.to_string()),
        }
    }

    /// The word as terraform writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Forget => "forget",
            Action::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Action;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an action: \"no-op\", \"create\", \"read\", \"update\", \"delete\" or \"forget\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Action, E> {
                Ok(Action::parse(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// Which object goes first when a resource is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplaceOrder {
    /// `["delete", "create"]`: the default; there is a moment with neither object.
    DeleteThenCreate,
    /// `["create", "delete"]`: `create_before_destroy`.
    CreateThenDelete,
    /// `["create", "forget"]`: a new object, the old one left running but forgotten.
    CreateThenForget,
}

/// What a change does, from its `actions` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Nothing (it may still be imported or moved).
    NoOp,
    /// A new object.
    Create,
    /// A data source read during apply.
    Read,
    /// Changed in place.
    Update,
    /// Destroyed and created again (or the reverse).
    Replace(ReplaceOrder),
    /// Destroyed.
    Delete,
    /// Removed from state, left running.
    Forget,
    /// A list of actions this reader does not know, as written.
    Other(Vec<String>),
}

impl ChangeKind {
    /// From a change's `actions`.
    pub fn from_actions(actions: &[Action]) -> ChangeKind {
        use Action as A;
        match actions {
            [A::NoOp] | [] => ChangeKind::NoOp,
            [A::Create] => ChangeKind::Create,
            [A::Read] => ChangeKind::Read,
            [A::Update] => ChangeKind::Update,
            [A::Delete] => ChangeKind::Delete,
            [A::Forget] => ChangeKind::Forget,
            [A::Delete, A::Create] => ChangeKind::Replace(ReplaceOrder::DeleteThenCreate),
            [A::Create, A::Delete] => ChangeKind::Replace(ReplaceOrder::CreateThenDelete),
            [A::Create, A::Forget] => ChangeKind::Replace(ReplaceOrder::CreateThenForget),
            other => ChangeKind::Other(other.iter().map(|a| a.as_str().to_string()).collect()),
        }
    }

    /// Whether an existing object is destroyed (delete or a replace that deletes).
    pub fn destroys(&self) -> bool {
        matches!(
            self,
            ChangeKind::Delete | ChangeKind::Replace(ReplaceOrder::DeleteThenCreate | ReplaceOrder::CreateThenDelete)
        )
    }
}

/// Why terraform chose an action (`action_reason`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionReason {
    /// `replace_because_tainted`
    ReplaceBecauseTainted,
    /// `replace_because_cannot_update`: an attribute that forces replacement changed (see `replace_paths`).
    ReplaceBecauseCannotUpdate,
    /// `replace_by_request`: `-replace=ADDRESS`.
    ReplaceByRequest,
    /// `replace_by_triggers`: `lifecycle.replace_triggered_by`.
    ReplaceByTriggers,
    /// `delete_because_no_resource_config`
    DeleteBecauseNoResourceConfig,
    /// `delete_because_wrong_repetition`
    DeleteBecauseWrongRepetition,
    /// `delete_because_count_index`
    DeleteBecauseCountIndex,
    /// `delete_because_each_key`
    DeleteBecauseEachKey,
    /// `delete_because_no_module`
    DeleteBecauseNoModule,
    /// `delete_because_no_move_target`
    DeleteBecauseNoMoveTarget,
    /// `read_because_config_unknown`
    ReadBecauseConfigUnknown,
    /// `read_because_dependency_pending`
    ReadBecauseDependencyPending,
    /// `read_because_check_nested`
    ReadBecauseCheckNested,
    /// A reason this reader does not know, as written.
    Other(String),
}

impl ActionReason {
    fn parse(text: &str) -> Self {
        use ActionReason as R;
        match text {
            "replace_because_tainted" => R::ReplaceBecauseTainted,
            "replace_because_cannot_update" => R::ReplaceBecauseCannotUpdate,
            "replace_by_request" => R::ReplaceByRequest,
            "replace_by_triggers" => R::ReplaceByTriggers,
            "delete_because_no_resource_config" => R::DeleteBecauseNoResourceConfig,
            "delete_because_wrong_repetition" => R::DeleteBecauseWrongRepetition,
            "delete_because_count_index" => R::DeleteBecauseCountIndex,
            "delete_because_each_key" => R::DeleteBecauseEachKey,
            "delete_because_no_module" => R::DeleteBecauseNoModule,
            "delete_because_no_move_target" => R::DeleteBecauseNoMoveTarget,
            "read_because_config_unknown" => R::ReadBecauseConfigUnknown,
            "read_because_dependency_pending" => R::ReadBecauseDependencyPending,
            "read_because_check_nested" => R::ReadBecauseCheckNested,
            other => R::Other(other.to_string()),
        }
    }

    /// The reason as terraform writes it.
    pub fn as_str(&self) -> &str {
        use ActionReason as R;
        match self {
            R::ReplaceBecauseTainted => "replace_because_tainted",
            R::ReplaceBecauseCannotUpdate => "replace_because_cannot_update",
            R::ReplaceByRequest => "replace_by_request",
            R::ReplaceByTriggers => "replace_by_triggers",
            R::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
            R::DeleteBecauseWrongRepetition => "delete_because_wrong_repetition",
            R::DeleteBecauseCountIndex => "delete_because_count_index",
            R::DeleteBecauseEachKey => "delete_because_each_key",
            R::DeleteBecauseNoModule => "delete_because_no_module",
            R::DeleteBecauseNoMoveTarget => "delete_because_no_move_target",
            R::ReadBecauseConfigUnknown => "read_because_config_unknown",
            R::ReadBecauseDependencyPending => "read_because_dependency_pending",
            R::ReadBecauseCheckNested => "read_because_check_nested",
            R::Other(s) => s,
        }
    }

    /// The reason in words, as terraform's own plan output says it.
    pub fn explain(&self) -> &str {
        use ActionReason as R;
        match self {
            R::ReplaceBecauseTainted => "the object is tainted, so it must be replaced",
            R::ReplaceBecauseCannotUpdate => "a change to an attribute forces replacement",
            R::ReplaceByRequest => "replacement was requested with -replace",
            R::ReplaceByTriggers => "replace_triggered_by: a referenced resource changes",
            R::DeleteBecauseNoResourceConfig => "its resource block is no longer in the configuration",
            R::DeleteBecauseWrongRepetition => "count or for_each was added or removed",
            R::DeleteBecauseCountIndex => "its index is beyond the new count",
            R::DeleteBecauseEachKey => "its key is no longer in for_each",
            R::DeleteBecauseNoModule => "its module is no longer in the configuration",
            R::DeleteBecauseNoMoveTarget => "it was moved to an address that is not in the configuration",
            R::ReadBecauseConfigUnknown => "its configuration depends on values known only after apply",
            R::ReadBecauseDependencyPending => "it depends on resources with pending changes",
            R::ReadBecauseCheckNested => "it is read by a check block",
            R::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for ActionReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ActionReason;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an action reason such as \"replace_because_tainted\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionReason, E> {
                Ok(ActionReason::parse(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// An instance key: `count.index` or a `for_each` key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    /// A `count` index.
    Int(i64),
    /// A `for_each` key (user data: escape it before display).
    Str(String),
}

impl<'de> Deserialize<'de> for InstanceKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = InstanceKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an instance key: a whole number (count) or a string (for_each)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<InstanceKey, E> {
                Ok(InstanceKey::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<InstanceKey, E> {
                i64::try_from(v)
                    .map(InstanceKey::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InstanceKey, E> {
                Ok(InstanceKey::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One step of an attribute path (`replace_paths`): an attribute or map key, or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An attribute name or map key.
    Key(String),
    /// A list index.
    Index(u64),
}

impl<'de> Deserialize<'de> for PathStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PathStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path step: an attribute name (string) or a list index (whole number)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PathStep, E> {
                Ok(PathStep::Index(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PathStep, E> {
                u64::try_from(v)
                    .map(PathStep::Index)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathStep, E> {
                Ok(PathStep::Key(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// An attribute path, e.g. `["triggers_replace"]` or `["tags", "env"]`.
pub type AttrPath = Vec<PathStep>;

/// An import this change performs (`importing`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Importing {
    /// The import ID, when known at plan time.
    #[serde(default)]
    pub id: Option<String>,
    /// True when the ID is known only after apply.
    #[serde(default)]
    pub unknown: bool,
}

/// What terraform plans for one object or output. The values themselves are private: see
/// [`Plan::view`](crate::Plan::view).
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// The actions, e.g. `["delete", "create"]`; see [`Change::kind`].
    pub actions: Vec<Action>,
    #[serde(default)]
    pub(crate) before: Option<Value>,
    #[serde(default)]
    pub(crate) after: Option<Value>,
    #[serde(default)]
    pub(crate) after_unknown: Option<Value>,
    #[serde(default)]
    pub(crate) before_sensitive: Option<Value>,
    #[serde(default)]
    pub(crate) after_sensitive: Option<Value>,
    /// Attribute paths whose change forces replacement.
    #[serde(default, deserialize_with = "null_default")]
    pub replace_paths: Vec<AttrPath>,
    /// Present when the change imports an existing object.
    #[serde(default)]
    pub importing: Option<Importing>,
    /// Configuration terraform generated for an import (`-generate-config-out`); private
    /// because it may hold sensitive values unmarked.
    #[serde(default)]
    generated_config: Option<String>,
}

impl Change {
    /// What the change does.
    pub fn kind(&self) -> ChangeKind {
        ChangeKind::from_actions(&self.actions)
    }

    /// Whether terraform generated configuration for this import.
    pub fn has_generated_config(&self) -> bool {
        self.generated_config.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// Whether `before` or `after` is sensitive as a whole (outputs declared `sensitive = true`).
    pub fn wholly_sensitive(&self) -> bool {
        matches!(self.before_sensitive, Some(Value::Bool(true)))
            || matches!(self.after_sensitive, Some(Value::Bool(true)))
    }
}

/// One entry of `resource_changes` or `resource_drift`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceChange {
    /// Full address, e.g. `module.net.terraform_data.subnet[2]` (user data: escape it).
    pub address: String,
    /// The address before a `moved` block moved it.
    #[serde(default)]
    pub previous_address: Option<String>,
    /// The module's address, e.g. `module.net`; `None` for the root module.
    #[serde(default)]
    pub module_address: Option<String>,
    /// Managed resource or data source.
    #[serde(default)]
    pub mode: Mode,
    /// Resource type, e.g. `aws_instance`.
    #[serde(rename = "type", default)]
    pub resource_type: String,
    /// Resource name in its block.
    #[serde(default)]
    pub name: String,
    /// `count` index or `for_each` key.
    #[serde(default)]
    pub index: Option<InstanceKey>,
    /// Set for a deposed object (left over from a create-before-destroy).
    #[serde(default)]
    pub deposed: Option<String>,
    /// Provider, e.g. `registry.terraform.io/hashicorp/aws`.
    #[serde(default)]
    pub provider_name: Option<String>,
    /// Why terraform chose the action.
    #[serde(default)]
    pub action_reason: Option<ActionReason>,
    /// The change.
    pub change: Change,
}

impl ResourceChange {
    /// What the change does.
    pub fn kind(&self) -> ChangeKind {
        self.change.kind()
    }

    /// Whether a `moved` block moved this object (from [`previous_address`](Self::previous_address)).
    pub fn moved(&self) -> bool {
        self.previous_address.as_deref().is_some_and(|p| p != self.address)
    }

    /// Whether the change imports an existing object.
    pub fn imported(&self) -> bool {
        self.change.importing.is_some()
    }
}

/// A change terraform could not plan yet (`deferred_changes`, with `-allow-deferral`).
#[derive(Debug, Clone, Deserialize)]
pub struct DeferredChange {
    /// Why, e.g. `provider_config_unknown`.
    #[serde(default)]
    pub reason: String,
    /// What would change.
    pub resource_change: ResourceChange,
}

/// A variable as the plan's `variables` section gives it (values in plain text).
#[derive(Deserialize)]
pub(crate) struct PlanVariable {
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Configuration {
    #[serde(default)]
    pub root_module: Option<ConfigModule>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ConfigModule {
    #[serde(default, deserialize_with = "null_default")]
    pub variables: BTreeMap<String, ConfigVariable>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ConfigVariable {
    #[serde(default)]
    pub sensitive: bool,
}

/// The document as read, before checks.
#[derive(Deserialize)]
pub(crate) struct RawPlan {
    pub format_version: Option<String>,
    #[serde(default)]
    pub terraform_version: Option<String>,
    #[serde(default)]
    pub applyable: Option<bool>,
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub errored: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub resource_changes: Vec<ResourceChange>,
    #[serde(default, deserialize_with = "null_default")]
    pub resource_drift: Vec<ResourceChange>,
    #[serde(default, deserialize_with = "null_default")]
    pub output_changes: BTreeMap<String, Change>,
    #[serde(default, deserialize_with = "null_default")]
    pub deferred_changes: Vec<DeferredChange>,
    #[serde(default, deserialize_with = "null_default")]
    pub variables: BTreeMap<String, PlanVariable>,
    #[serde(default)]
    pub configuration: Option<Configuration>,
    /// Only to recognise a state file given by mistake.
    #[serde(default)]
    pub values: Option<serde::de::IgnoredAny>,
}

/// `null` reads as the type's default (an empty list or map).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_list_has_a_kind() {
        let kind =
            |words: &[&str]| ChangeKind::from_actions(&words.iter().map(|w| Action::parse(w)).collect::<Vec<_>>());
        assert_eq!(kind(&["no-op"]), ChangeKind::NoOp);
        assert_eq!(kind(&[]), ChangeKind::NoOp);
        assert_eq!(
            kind(&["delete", "create"]),
            ChangeKind::Replace(ReplaceOrder::DeleteThenCreate)
        );
        assert_eq!(
            kind(&["create", "delete"]),
            ChangeKind::Replace(ReplaceOrder::CreateThenDelete)
        );
        assert_eq!(
            kind(&["create", "forget"]),
            ChangeKind::Replace(ReplaceOrder::CreateThenForget)
        );
        assert!(!kind(&["create", "forget"]).destroys());
        assert_eq!(kind(&["forget"]), ChangeKind::Forget);
        assert_eq!(kind(&["read"]), ChangeKind::Read);
        assert_eq!(
            kind(&["update", "update"]),
            ChangeKind::Other(vec!["update".into(), "update".into()])
        );
        for reason in [
            "delete_because_count_index",
            "delete_because_wrong_repetition",
            "delete_because_no_module",
            "delete_because_no_move_target",
            "read_because_config_unknown",
            "read_because_check_nested",
        ] {
            let r = ActionReason::parse(reason);
            assert!(!matches!(r, ActionReason::Other(_)), "{reason}");
            assert_eq!(r.as_str(), reason);
        }
        assert_eq!(ActionReason::parse("later_reason").explain(), "later_reason");
    }
}
