//! Typed access to a step's inputs, which travel from the host as JSON text.

use crate::{Input, PluginError, invalid_input};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The step's inputs, after the host applied defaults and checked declared kinds.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    values: BTreeMap<String, Value>,
}

impl Inputs {
    /// Parse the wire form; the host only sends valid JSON, so a failure is a host bug.
    pub fn from_wire(inputs: Vec<Input>) -> Result<Self, PluginError> {
        let mut values = BTreeMap::new();
        for input in inputs {
            let value = serde_json::from_str(&input.value)
                .map_err(|e| invalid_input(&input.name, format!("the host sent invalid JSON: {e}")))?;
            values.insert(input.name, value);
        }
        Ok(Self { values })
    }

    /// Build from JSON values (for native tests of plugin logic).
    pub fn from_values(values: impl IntoIterator<Item = (String, Value)>) -> Self {
        Self {
            values: values.into_iter().collect(),
        }
    }

    /// The raw value, if given.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// Deserialize an input; `None` when absent or null.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, PluginError> {
        self.raw(name)
            .map(|v| serde_json::from_value(v.clone()).map_err(|e| invalid_input(name, format!("{e} (got {v})"))))
            .transpose()
    }

    /// Deserialize a required input.
    pub fn require<T: DeserializeOwned>(&self, name: &str) -> Result<T, PluginError> {
        self.get(name)?
            .ok_or_else(|| invalid_input(name, format!("`{name}` is required")))
    }

    /// A duration input such as `300ms`, `5s`, `14d`; a bare number means seconds.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, PluginError> {
        self.raw(name)
            .map(|v| duration_from_json(v).map_err(|e| invalid_input(name, e)))
            .transpose()
    }
}

/// A duration written in JSON: a string such as `300ms`, `5s`, `14d`, or a number of
/// seconds. For durations nested inside object or list inputs.
pub fn duration_from_json(value: &Value) -> Result<Duration, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{n} is not a valid duration")),
        Value::String(s) => parse_duration(s),
        other => Err(format!("expected a duration such as `5s`, got {other}")),
    }
}

/// Parse `300ms`, `5s`, `2m 30s`, `14d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. `300ms`, `5s`, `2m` or `14d`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_accept_units_and_bare_seconds() {
        let inputs = Inputs::from_values([
            ("a".to_string(), json!("300ms")),
            ("b".to_string(), json!(2)),
            ("c".to_string(), json!("soon")),
        ]);
        assert_eq!(inputs.duration("a").unwrap(), Some(Duration::from_millis(300)));
        assert_eq!(inputs.duration("b").unwrap(), Some(Duration::from_secs(2)));
        let err = inputs.duration("c").unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(e) if e.input == "c" && e.message.contains("`soon`")));
        assert_eq!(inputs.duration("missing").unwrap(), None);
    }

    #[test]
    fn wrong_types_name_the_input() {
        let inputs = Inputs::from_values([("retries".to_string(), json!("many"))]);
        let err = inputs.get::<u32>("retries").unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(e) if e.input == "retries"));
    }
}
