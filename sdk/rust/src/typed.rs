//! Inputs and outputs declared once, as a struct: [`derive@crate::Inputs`] and
//! [`derive@crate::Outputs`] produce both the specs `describe` returns and the code that reads
//! `run`'s inputs or sets its outputs, so the two cannot disagree.

use crate::{Input, InputSpec, Inputs, OutputSpec, PluginError, duration_from_json, parse_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A struct whose fields are a plugin's inputs. Implement it with
/// [`#[derive(tollgate_sdk::Inputs)]`](derive@crate::Inputs), never by hand.
pub trait TypedInputs: Sized {
    /// One spec per field, in declaration order, for [`PluginInfo::inputs`](crate::PluginInfo).
    fn specs() -> Vec<InputSpec>;

    /// Read a run's inputs into the struct. An absent (or null) input takes its default; a
    /// missing required input or a value that does not fit its field is a
    /// [`PluginError::InvalidInput`] naming the input and saying what to write instead.
    fn from_inputs(inputs: &Inputs) -> Result<Self, PluginError>;

    /// [`from_inputs`](Self::from_inputs) on the wire form `run` receives.
    fn parse(inputs: &[Input]) -> Result<Self, PluginError> {
        Self::from_inputs(&Inputs::from_wire(inputs.to_vec())?)
    }

    /// Check that every default in [`specs`](Self::specs) parses into its field, as it will
    /// when the host applies it. Call it from a unit test: a default that does not fit is a
    /// [`PluginError::Internal`] naming the input.
    fn check_defaults() -> Result<(), PluginError>;
}

/// A struct whose fields are a plugin's outputs. Implement it with
/// [`#[derive(tollgate_sdk::Outputs)]`](derive@crate::Outputs), never by hand.
pub trait TypedOutputs {
    /// One spec per field, in declaration order, for [`PluginInfo::outputs`](crate::PluginInfo).
    fn specs() -> Vec<OutputSpec>;

    /// Every output that has a value, as `(name, text)`: strings as they are, `None` left
    /// out, anything else as JSON.
    fn values(&self) -> Result<Vec<(String, String)>, PluginError>;

    /// Set every output that has a value (see [`values`](Self::values)).
    fn set_all(&self) -> Result<(), PluginError> {
        for (name, value) in self.values()? {
            crate::set_output(&name, &value)?;
        }
        Ok(())
    }
}

/// A span of time written as `300ms`, `5s`, `2m 30s` or `14d`, or a number of seconds: the
/// field type of a `duration` input. It also deserializes inside object and list inputs, and
/// serializes back to the same text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// No time at all.
    pub const ZERO: Self = Self(std::time::Duration::ZERO);

    /// Whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// Whole milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    /// The standard library's duration.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }
}

impl std::ops::Deref for Duration {
    type Target = std::time::Duration;
    fn deref(&self) -> &std::time::Duration {
        &self.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Self(d)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl FromStr for Duration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_duration(text).map(Self)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        duration_from_json(&value).map(Self).map_err(serde::de::Error::custom)
    }
}

#[doc(hidden)]
pub mod __private {
    //! What the derives expand to. Runtime support for `#[derive(Inputs)]` and `#[derive(Outputs)]`; not a stable API.

    use super::Duration;
    use crate::{InputSpec, Inputs, PluginError, ValueKind, invalid_input};
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    pub use serde_json;

    /// `text`'s first `N` bytes as an array: a custom section's contents must be an array, not a
    /// reference to one (which would put a pointer in the section).
    pub const fn section_bytes<const N: usize>(text: &str) -> [u8; N] {
        let bytes = text.as_bytes();
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = bytes[i];
            i += 1;
        }
        out
    }

    /// Longest rendering of a given value quoted in an error message.
    const SHOWN: usize = 80;

    /// Only the SDK's duration reads `5s`; a field typed `Duration` must be that one.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot hold a `duration` input",
        label = "a field typed `Duration` is a `duration` input",
        note = "use `tollgate_sdk::Duration`, which reads `300ms`, `5s` or `14d`, or set `#[input(kind = \"...\")]`"
    )]
    pub trait DurationInput {}
    impl DurationInput for Duration {}

    /// Compiles only for [`DurationInput`] types.
    pub fn assert_duration<T: DurationInput + ?Sized>() {}

    /// A required input.
    pub fn required<T: DeserializeOwned>(inputs: &Inputs, name: &str, kind: ValueKind) -> Result<T, PluginError> {
        match inputs.raw(name) {
            Some(value) => convert(kind, value).map_err(|e| invalid_input(name, e)),
            None => Err(invalid_input(
                name,
                format!("`{name}` is required: pass `with: {name}: …` ({})", noun(kind)),
            )),
        }
    }

    /// An `Option` input: `None` when absent or null.
    pub fn optional<T: DeserializeOwned>(
        inputs: &Inputs,
        name: &str,
        kind: ValueKind,
    ) -> Result<Option<T>, PluginError> {
        inputs
            .raw(name)
            .map(|value| convert(kind, value).map_err(|e| invalid_input(name, e)))
            .transpose()
    }

    /// An input with a default, which is applied when it is absent or null.
    pub fn defaulted<T: DeserializeOwned>(
        inputs: &Inputs,
        name: &str,
        kind: ValueKind,
        default: impl FnOnce() -> Value,
    ) -> Result<T, PluginError> {
        match inputs.raw(name) {
            Some(value) => convert(kind, value).map_err(|e| invalid_input(name, e)),
            None => {
                let default = default();
                convert(kind, &default).map_err(|e| bad_default(name, &default.to_string(), &e))
            }
        }
    }

    /// The value of a bare `#[input(default)]`.
    pub fn default_of<T: Default + Serialize>() -> Value {
        serde_json::to_value(T::default()).unwrap_or_else(|e| panic!("the default value does not serialize: {e}"))
    }

    /// A default as the JSON text an `input-spec` carries.
    pub fn json_text(value: &Value) -> String {
        value.to_string()
    }

    /// Parse the default declared for `name` in `specs` exactly as the host would pass it.
    pub fn check_default<T: DeserializeOwned>(
        specs: &[InputSpec],
        name: &str,
        kind: ValueKind,
    ) -> Result<(), PluginError> {
        let text = specs
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.default.as_deref())
            .ok_or_else(|| PluginError::Internal(format!("input `{name}` declares no default")))?;
        let value: Value = serde_json::from_str(text).map_err(|e| bad_default(name, text, &e.to_string()))?;
        convert::<T>(kind, &value)
            .map(drop)
            .map_err(|e| bad_default(name, text, &e))
    }

    /// `#[input(range = …)]`: the value, or an invalid-input error giving the range.
    pub fn in_range<T, R>(name: &str, value: T, range: R) -> Result<T, PluginError>
    where
        T: PartialOrd + std::fmt::Display,
        R: std::ops::RangeBounds<T>,
    {
        range_problem(&value, &range).map_or(Ok(value), |problem| Err(invalid_input(name, problem)))
    }

    /// [`in_range`] for an `Option` field: `None` is in every range.
    pub fn in_range_opt<T, R>(name: &str, value: Option<T>, range: R) -> Result<Option<T>, PluginError>
    where
        T: PartialOrd + std::fmt::Display,
        R: std::ops::RangeBounds<T>,
    {
        value.map(|v| in_range(name, v, range)).transpose()
    }

    /// The default declared for `name` parses and lies in `range`.
    pub fn check_default_in_range<T, R>(
        specs: &[InputSpec],
        name: &str,
        kind: ValueKind,
        range: R,
    ) -> Result<(), PluginError>
    where
        T: DeserializeOwned + PartialOrd + std::fmt::Display,
        R: std::ops::RangeBounds<T>,
    {
        check_default::<T>(specs, name, kind)?;
        let text = specs
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.default.as_deref())
            .unwrap_or_default();
        let value: T = serde_json::from_str(text).map_err(|e| bad_default(name, text, &e.to_string()))?;
        match range_problem(&value, &range) {
            Some(problem) => Err(bad_default(name, text, &problem)),
            None => Ok(()),
        }
    }

    /// What is wrong with `value` for `range`, in words: `expected a whole number from 0 to 10, got 11`.
    fn range_problem<T: PartialOrd + std::fmt::Display>(
        value: &T,
        range: &impl std::ops::RangeBounds<T>,
    ) -> Option<String> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        if range.contains(value) {
            return None;
        }
        let noun = if integer_range::<T>().is_some() {
            "a whole number"
        } else {
            "a number"
        };
        let span = match (range.start_bound(), range.end_bound()) {
            (Included(a), Included(b)) => format!("from {a} to {b}"),
            (Included(a), Excluded(b)) => format!("from {a} up to but not including {b}"),
            (Included(a), Unbounded) => format!("of at least {a}"),
            (Excluded(a), Unbounded) => format!("above {a}"),
            (Unbounded, Included(b)) => format!("of at most {b}"),
            (Unbounded, Excluded(b)) => format!("below {b}"),
            (Excluded(a), Included(b)) => format!("above {a} and at most {b}"),
            (Excluded(a), Excluded(b)) => format!("above {a} and below {b}"),
            (Unbounded, Unbounded) => "in range".to_string(),
        };
        Some(format!("expected {noun} {span}, got {value}"))
    }

    /// An output's text: a string as it is, null (`None`) as no output, anything else as JSON.
    pub fn output_text<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Option<String>, PluginError> {
        match serde_json::to_value(value) {
            Ok(Value::Null) => Ok(None),
            Ok(Value::String(s)) => Ok(Some(s)),
            Ok(other) => Ok(Some(other.to_string())),
            Err(e) => Err(PluginError::Internal(format!(
                "output `{name}` does not serialize: {e}"
            ))),
        }
    }

    fn bad_default(name: &str, text: &str, problem: &str) -> PluginError {
        PluginError::Internal(format!(
            "the default of input `{name}` ({text}) does not fit its field: {problem}"
        ))
    }

    /// `value` as a `T`, after the same kind check the host makes; the error says what was
    /// expected and what was given.
    fn convert<T: DeserializeOwned>(kind: ValueKind, value: &Value) -> Result<T, String> {
        let value = match (kind, value) {
            // The host passes a scalar written for a string input as its text; so does this.
            (ValueKind::String, Value::Number(_) | Value::Bool(_)) => Value::String(value.to_string()),
            _ if fits(kind, value) => value.clone(),
            _ => return Err(format!("expected {}, got {}", noun(kind), shown(value))),
        };
        serde_json::from_value(value.clone()).map_err(|e| {
            if let (Some((min, max)), Value::Number(_)) = (integer_range::<T>(), &value) {
                format!("expected a whole number from {min} to {max}, got {}", shown(&value))
            } else if matches!(kind, ValueKind::Duration) {
                // The duration parser's message quotes the value and shows the forms it takes.
                e.to_string()
            } else {
                format!("{e} (got {})", shown(&value))
            }
        })
    }

    /// Whether `value` has the JSON shape of `kind`, as the host checks it.
    fn fits(kind: ValueKind, value: &Value) -> bool {
        match kind {
            ValueKind::Any => true,
            ValueKind::String => value.is_string(),
            ValueKind::Number => value.is_number(),
            ValueKind::Boolean => value.is_boolean(),
            ValueKind::Duration => value.is_string() || value.is_number(),
            ValueKind::List => value.is_array(),
            ValueKind::Object => value.is_object(),
        }
    }

    /// What a value of `kind` is, in the host's words.
    fn noun(kind: ValueKind) -> &'static str {
        match kind {
            ValueKind::String => "a string",
            ValueKind::Number => "a number",
            ValueKind::Boolean => "true or false",
            ValueKind::Duration => "a duration such as `5s`",
            ValueKind::List => "a list",
            ValueKind::Object => "a mapping",
            ValueKind::Any => "any value",
        }
    }

    /// A given value for an error message: JSON, cut short when long.
    fn shown(value: &Value) -> String {
        let text = value.to_string();
        if text.chars().count() <= SHOWN {
            return text;
        }
        let mut cut: String = text.chars().take(SHOWN - 1).collect();
        cut.push('…');
        cut
    }

    /// The range of a primitive integer type, for a message better than serde's.
    fn integer_range<T>() -> Option<(String, String)> {
        macro_rules! ranges {
            ($($t:ty),*) => {
                match std::any::type_name::<T>() {
                    $(name if name == stringify!($t) => Some((<$t>::MIN.to_string(), <$t>::MAX.to_string())),)*
                    _ => None,
                }
            };
        }
        ranges!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize)
    }
}
