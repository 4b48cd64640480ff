//! Step inputs: the kinds of value a plugin declares, whether a value given in a workflow is of that kind, the
//! origins that URLs written in a value grant, and the host's wording when an input does not fit.
//!
//! The host's `resolve` and the SDK's `MockHost` both check through here, so a test refuses what the host refuses,
//! in the host's words. Errors are the message of ``input `NAME`: MESSAGE``.

use serde_json::Value;

use crate::origin::OriginPattern;

/// The kind of value an input declares (the WIT's `value-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A string; a number or boolean given for it is passed as its text.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A duration: a string such as `5s`, or a number of seconds.
    Duration,
    /// A list.
    List,
    /// A mapping.
    Object,
    /// Any value.
    Any,
}

impl Kind {
    /// The kind in words, as in ``expected a number, got "two"``.
    pub fn described(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Boolean => "true or false",
            Kind::Duration => "a duration such as `5s`",
            Kind::List => "a list",
            Kind::Object => "a mapping",
            Kind::Any => "any value",
        }
    }

    /// `value` as an input of this kind: itself, or the text of a number or boolean given for a string (`retries:
    /// 3` for a string input). Otherwise ``expected KIND, got VALUE``.
    pub fn check(self, value: Value) -> Result<Value, String> {
        let ok = match (self, &value) {
            (Kind::Any, _) => true,
            (Kind::String, Value::String(_)) => true,
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Boolean, Value::Bool(_)) => true,
            (Kind::Duration, Value::String(_) | Value::Number(_)) => true,
            (Kind::List, Value::Array(_)) => true,
            (Kind::Object, Value::Object(_)) => true,
            (Kind::String, Value::Number(_) | Value::Bool(_)) => return Ok(Value::String(value.to_string())),
            _ => false,
        };
        if ok {
            Ok(value)
        } else {
            Err(format!("expected {}, got {value}", self.described()))
        }
    }
}

/// The message for an input the plugin does not declare: ``PLUGIN has no such input; it takes: A, B``.
pub fn unknown(plugin: &str, declared: &[&str]) -> String {
    format!("{plugin} has no such input; it takes: {}", declared.join(", "))
}

/// The message for a required input without a value: ``PLUGIN requires it (DOC); pass `--with NAME=…` ``.
pub fn required(plugin: &str, name: &str, doc: &str) -> String {
    format!("{plugin} requires it ({doc}); pass `--with {name}=…`")
}

/// Why a plugin is invalid when a declared default is not JSON: ``the default of input `NAME` is not JSON: ERROR``.
pub fn default_not_json(name: &str, error: &serde_json::Error) -> String {
    format!("the default of input `{name}` is not JSON: {error}")
}

/// Add the origin of every URL among the strings of `value` (nested in lists and mappings) to `out`, once each.
/// Only a value the workflow's author wrote grants: never a default, which the plugin wrote, nor a string computed
/// from another step's output.
pub fn collect_origins(value: &Value, out: &mut Vec<OriginPattern>) {
    match value {
        Value::String(s) => {
            if let Some(origin) = OriginPattern::of_url(s).ok().filter(|o| !out.contains(o)) {
                out.push(origin);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_origins(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_origins(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_accept_their_values() {
        assert_eq!(Kind::String.check(json!(3)), Ok(json!("3")));
        assert_eq!(Kind::String.check(json!(true)), Ok(json!("true")));
        assert_eq!(Kind::Duration.check(json!(5)), Ok(json!(5)));
        assert_eq!(Kind::Any.check(json!(null)), Ok(json!(null)));
        assert_eq!(
            Kind::Number.check(json!("two")),
            Err(r#"expected a number, got "two""#.to_string())
        );
        assert_eq!(
            Kind::Object.check(json!([1])),
            Err("expected a mapping, got [1]".to_string())
        );
    }

    #[test]
    fn urls_anywhere_in_a_value_grant_their_origin_once() {
        let mut out = Vec::new();
        collect_origins(
            &json!({"a": ["http://127.0.0.1:8080/x", "not a url"], "b": {"c": "HTTP://127.0.0.1:8080"}}),
            &mut out,
        );
        let out: Vec<String> = out.iter().map(|o| o.to_string()).collect();
        assert_eq!(out, ["http://127.0.0.1:8080"]);
    }
}
