//! Values as renderers may see them: every sensitive leaf already replaced by
//! [`Masked::Sensitive`] and every value known only after apply by [`Masked::Unknown`].

use crate::model::{AttrPath, Change, PathStep};
use crate::redact::{Redactor, any_true, is_true};
use crate::value::{Object, Value};
use serde_json::Number;
use std::fmt::{self, Write as _};

/// How a sensitive value is shown.
pub const SENSITIVE: &str = "(sensitive)";
/// How a value known only after apply is shown.
pub const UNKNOWN: &str = "(known after apply)";
/// A map key that is itself a sensitive value.
pub const SENSITIVE_KEY: &str = "(sensitive key)";

/// A value with sensitive and unknown parts already masked. Strings and numbers borrow from
/// the plan; nothing sensitive is reachable from here.
#[derive(Debug, Clone, PartialEq)]
pub enum Masked<'a> {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, as terraform wrote it.
    Number(&'a Number),
    /// A string (user data: escape it before display).
    String(&'a str),
    /// A list, tuple or set.
    List(Vec<Masked<'a>>),
    /// A map or object, keys in order.
    Map(Vec<(&'a str, Masked<'a>)>),
    /// A sensitive value: shown as [`SENSITIVE`].
    Sensitive,
    /// Known only after apply: shown as [`UNKNOWN`].
    Unknown,
}

impl Masked<'_> {
    /// Whether this is a string, number, boolean, null or a marker (not a list or map).
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Masked::List(_) | Masked::Map(_))
    }

    /// As JSON, markers as the strings [`SENSITIVE`] and [`UNKNOWN`].
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Masked::Null => Json::Null,
            Masked::Bool(b) => Json::Bool(*b),
            Masked::Number(n) => Json::Number((*n).clone()),
            Masked::String(s) => Json::String((*s).to_string()),
            Masked::List(l) => Json::Array(l.iter().map(Masked::to_json).collect()),
            Masked::Map(m) => Json::Object(m.iter().map(|(k, v)| ((*k).to_string(), v.to_json())).collect()),
            Masked::Sensitive => Json::String(SENSITIVE.into()),
            Masked::Unknown => Json::String(UNKNOWN.into()),
        }
    }
}

/// Compact text: strings JSON-quoted, `[a, b]`, `{k = v}`, markers as words. The text is the
/// plan's, unescaped: a renderer escapes it for its medium.
impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Masked::Null => f.write_str("null"),
            Masked::Bool(b) => write!(f, "{b}"),
            Masked::Number(n) => write!(f, "{n}"),
            Masked::String(s) => f.write_str(&serde_json::to_string(s).unwrap_or_default()),
            Masked::List(l) => {
                f.write_char('[')?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Masked::Map(m) => {
                f.write_char('{')?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {v}", key_text(k))?;
                }
                f.write_char('}')
            }
            Masked::Sensitive => f.write_str(SENSITIVE),
            Masked::Unknown => f.write_str(UNKNOWN),
        }
    }
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn key_text(k: &str) -> String {
    if is_identifier(k) || k == SENSITIVE_KEY {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

/// One step of an attribute's path in a [`AttributeChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// An attribute or map key (or [`SENSITIVE_KEY`]).
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// `input.tags.env`, `ingress[0].cidr_blocks[1]`, `tags["kubernetes.io/name"]`.
pub fn path_text(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if is_identifier(k) || *k == SENSITIVE_KEY => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Key(k) => {
                let _ = write!(out, "[{}]", serde_json::to_string(k).unwrap_or_default());
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// One leaf of a change: an attribute (or a whole sensitive or unknown subtree), before and
/// after, masked.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeChange<'a> {
    /// Where, from the object's root.
    pub path: Vec<Step<'a>>,
    /// The value before; `None` when the attribute did not exist.
    pub before: Option<Masked<'a>>,
    /// The value after; `None` when the attribute goes away.
    pub after: Option<Masked<'a>>,
    /// Whether the value changes (sensitive values are compared unmasked; only the fact is told).
    pub changed: bool,
    /// Whether this attribute is one of the change's `replace_paths`.
    pub forces_replacement: bool,
}

impl AttributeChange<'_> {
    /// The path as text (see [`path_text`]).
    pub fn path_text(&self) -> String {
        path_text(&self.path)
    }
}

/// One change (a resource's, a drift's or an output's) seen through the plan's masks.
#[derive(Clone, Copy)]
pub struct ChangeView<'a> {
    pub(crate) change: &'a Change,
    pub(crate) redactor: &'a Redactor,
}

impl<'a> ChangeView<'a> {
    /// The change itself (actions, replace paths, import; no values).
    pub fn change(&self) -> &'a Change {
        self.change
    }

    /// The value before, masked; `None` for a create.
    pub fn before(&self) -> Option<Masked<'a>> {
        let c = self.change;
        masked(self.redactor, c.before.as_ref(), c.before_sensitive.as_ref(), None)
    }

    /// The value after, masked, unknown parts as [`Masked::Unknown`]; `None` for a delete.
    pub fn after(&self) -> Option<Masked<'a>> {
        let c = self.change;
        masked(
            self.redactor,
            c.after.as_ref(),
            c.after_sensitive.as_ref(),
            c.after_unknown.as_ref(),
        )
    }

    /// Every leaf attribute, before and after, in path order (unchanged ones included, with
    /// `changed: false`).
    pub fn diff(&self) -> Vec<AttributeChange<'a>> {
        let c = self.change;
        let mut out = Vec::new();
        let mut path = Vec::new();
        let ctx = DiffCtx {
            redactor: self.redactor,
            replace_paths: &c.replace_paths,
        };
        ctx.node(
            c.before.as_ref(),
            c.after.as_ref(),
            c.before_sensitive.as_ref(),
            c.after_sensitive.as_ref(),
            c.after_unknown.as_ref(),
            &mut path,
            &mut out,
        );
        out
    }
}

fn child<'v>(tree: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    match tree {
        Some(Value::Object(o)) => o.get(key),
        _ => None,
    }
}

fn item(tree: Option<&Value>, i: usize) -> Option<&Value> {
    match tree {
        Some(Value::Array(a)) => a.get(i),
        _ => None,
    }
}

fn object_keys(tree: Option<&Value>) -> impl Iterator<Item = &str> {
    match tree {
        Some(Value::Object(o)) => Some(o.keys()),
        _ => None,
    }
    .into_iter()
    .flatten()
}

fn array_len(tree: Option<&Value>) -> usize {
    match tree {
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn mask_key<'a>(redactor: &Redactor, k: &'a str) -> &'a str {
    if redactor.hides(k) { SENSITIVE_KEY } else { k }
}

/// `value` seen through its sensitive marks and unknown marks.
pub(crate) fn masked<'a>(
    r: &Redactor,
    value: Option<&'a Value>,
    sens: Option<&'a Value>,
    unknown: Option<&'a Value>,
) -> Option<Masked<'a>> {
    if is_true(unknown) {
        return Some(Masked::Unknown);
    }
    if is_true(sens) {
        return value.map(|_| Masked::Sensitive);
    }
    let unknown_container = matches!(unknown, Some(Value::Object(_) | Value::Array(_)));
    match value {
        None | Some(Value::Null) if unknown_container => {
            // Unknown attributes are left out of `after`; keep their places.
            masked_container(r, value, sens, unknown).or_else(|| value.map(|_| Masked::Null))
        }
        None => None,
        Some(v @ (Value::Object(_) | Value::Array(_))) => {
            let shape_agrees = matches!(
                (v, sens),
                (_, None | Some(Value::Bool(false)))
                    | (Value::Object(_), Some(Value::Object(_)))
                    | (Value::Array(_), Some(Value::Array(_)))
            );
            if !shape_agrees && any_true(sens) {
                return Some(Masked::Sensitive);
            }
            masked_container(r, value, sens, unknown)
        }
        Some(scalar) => {
            if any_true(sens) {
                // A marker tree where a scalar stands: fail closed.
                return Some(Masked::Sensitive);
            }
            Some(mask_scalar(r, scalar))
        }
    }
}

fn masked_container<'a>(
    r: &Redactor,
    value: Option<&'a Value>,
    sens: Option<&'a Value>,
    unknown: Option<&'a Value>,
) -> Option<Masked<'a>> {
    match value {
        Some(Value::Array(_)) => masked_list(r, value, sens, unknown),
        Some(Value::Object(o)) => Some(Masked::Map(masked_entries(r, Some(o), sens, unknown))),
        // Null or absent: only unknown parts are left to show.
        _ => match unknown {
            Some(Value::Object(_)) => {
                let entries = masked_entries(r, None, sens, unknown);
                (!entries.is_empty()).then_some(Masked::Map(entries))
            }
            Some(Value::Array(_)) => masked_list(r, None, sens, unknown),
            _ => None,
        },
    }
}

fn masked_entries<'a>(
    r: &Redactor,
    object: Option<&'a Object>,
    sens: Option<&'a Value>,
    unknown: Option<&'a Value>,
) -> Vec<(&'a str, Masked<'a>)> {
    let mut entries = Vec::new();
    for (k, v) in object.into_iter().flat_map(Object::iter) {
        if let Some(m) = masked(r, Some(v), child(sens, k), child(unknown, k)) {
            entries.push((mask_key(r, k), m));
        }
    }
    for k in object_keys(unknown) {
        if object.is_some_and(|o| o.contains_key(k)) {
            continue;
        }
        if let Some(m) = masked(r, None, child(sens, k), child(unknown, k)) {
            entries.push((mask_key(r, k), m));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn masked_list<'a>(
    r: &Redactor,
    value: Option<&'a Value>,
    sens: Option<&'a Value>,
    unknown: Option<&'a Value>,
) -> Option<Masked<'a>> {
    let items = match value {
        Some(Value::Array(a)) => &a[..],
        _ => &[],
    };
    let n = items.len().max(array_len(unknown));
    let list = (0..n)
        .map(|i| masked(r, items.get(i), item(sens, i), item(unknown, i)).unwrap_or(Masked::Null))
        .collect();
    Some(Masked::List(list))
}

fn mask_scalar<'a>(r: &Redactor, v: &'a Value) -> Masked<'a> {
    match v {
        Value::Null => Masked::Null,
        Value::Bool(b) => Masked::Bool(*b),
        Value::Number(n) => {
            if r.hides(&n.to_string()) {
                Masked::Sensitive
            } else {
                Masked::Number(n)
            }
        }
        Value::String(s) => {
            if r.hides(s) {
                Masked::Sensitive
            } else {
                Masked::String(s)
            }
        }
        // Containers never reach here.
        Value::Array(_) | Value::Object(_) => Masked::Sensitive,
    }
}

struct DiffCtx<'r> {
    redactor: &'r Redactor,
    replace_paths: &'r [AttrPath],
}

fn is_container(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Object(_) | Value::Array(_)))
}

fn absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

impl<'r> DiffCtx<'r> {
    #[allow(clippy::too_many_arguments)]
    fn node<'a>(
        &self,
        before: Option<&'a Value>,
        after: Option<&'a Value>,
        bs: Option<&'a Value>,
        a_s: Option<&'a Value>,
        au: Option<&'a Value>,
        path: &mut Vec<Step<'a>>,
        out: &mut Vec<AttributeChange<'a>>,
    ) {
        let leaf = is_true(au)
            || is_true(bs)
            || is_true(a_s)
            || !(is_container(before) || is_container(after) || is_container(au));
        let objects = |v: Option<&Value>| absent(v) || matches!(v, Some(Value::Object(_)));
        let arrays = |v: Option<&Value>| absent(v) || matches!(v, Some(Value::Array(_)));
        let au_fits_objects = matches!(au, None | Some(Value::Bool(false) | Value::Object(_)));
        let au_fits_arrays = matches!(au, None | Some(Value::Bool(false) | Value::Array(_)));
        if !leaf && objects(before) && objects(after) && au_fits_objects {
            // Keys known only after apply are absent from `after`: walk them in their place.
            let mut keys: Vec<&'a str> = Vec::new();
            for v in [before, after].into_iter().flatten() {
                if let Value::Object(o) = v {
                    keys.extend(o.keys());
                }
            }
            keys.extend(object_keys(au).filter(|k| any_true(child(au, k))));
            keys.sort();
            keys.dedup();
            for k in keys {
                path.push(Step::Key(mask_key(self.redactor, k)));
                self.node(
                    child(before, k),
                    child(after, k),
                    child(bs, k),
                    child(a_s, k),
                    child(au, k),
                    path,
                    out,
                );
                path.pop();
            }
            return;
        }
        if !leaf && arrays(before) && arrays(after) && au_fits_arrays {
            let n = array_len(before).max(array_len(after)).max(array_len(au));
            for i in 0..n {
                path.push(Step::Index(i));
                self.node(
                    item(before, i),
                    item(after, i),
                    item(bs, i),
                    item(a_s, i),
                    item(au, i),
                    path,
                    out,
                );
                path.pop();
            }
            return;
        }
        let r = self.redactor;
        let before_m = masked(r, before, bs, None);
        let after_m = if is_true(au) {
            Some(Masked::Unknown)
        } else {
            masked(r, after, a_s, au)
        };
        let changed = is_true(au) || before.unwrap_or(&Value::Null) != after.unwrap_or(&Value::Null);
        let forces_replacement = self.replace_paths.iter().any(|p| starts_with(path, p));
        out.push(AttributeChange {
            path: path.clone(),
            before: before_m,
            after: after_m,
            changed,
            forces_replacement,
        });
    }
}

/// Whether `path` is `replace` or lies under it.
fn starts_with(path: &[Step<'_>], replace: &[PathStep]) -> bool {
    replace.len() <= path.len()
        && replace.iter().zip(path).all(|(r, p)| match (r, p) {
            (PathStep::Key(a), Step::Key(b)) => a == b,
            (PathStep::Index(a), Step::Index(b)) => usize::try_from(*a).is_ok_and(|a| a == *b),
            _ => false,
        })
}
