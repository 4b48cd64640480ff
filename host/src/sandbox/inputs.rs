//! Step inputs: checking what the workflow gave against what the plugin declared,
//! applying defaults, and collecting the origins that author-written URLs grant.

use crate::bindings::tollgate::plugin::types::{Input, InputSpec, ValueKind};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_vocab::OriginPattern;
use tollgate_vocab::input;

/// An input value as the workflow gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    /// Text from a flag (`--with name=value`): parsed as YAML unless the input is a string.
    Text(String),
    /// A value that was already structured (a YAML `with:` mapping).
    Value(Value),
    /// A pipeline `with:` value, some of whose strings were computed from something a
    /// plugin or command produced (`steps.*`, `env.*`). `authored` is the same value with
    /// those strings replaced by null: only what the workflow's author wrote may grant.
    Templated {
        /// The value the plugin receives.
        value: Value,
        /// The author-written part, which alone grants origins.
        authored: Value,
    },
}

/// Inputs ready for `run`, and the network origins they grant.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Every input that has a value (given or default), as JSON text, in declaration order.
    pub inputs: Vec<Input>,
    /// Origins of the URLs found in author-written values of inputs that grant origins.
    pub origins: Vec<OriginPattern>,
    /// Inputs that grant origins, given a value that names no URL (`endpoints=[]`): the reason
    /// a network grant is then missing, said in their words.
    pub granting_nothing: Vec<(String, String)>,
}

/// Check `given` against `specs`.
pub fn resolve(plugin: &str, specs: &[InputSpec], mut given: BTreeMap<String, Given>) -> Result<Resolved> {
    if let Some(unknown) = given.keys().find(|k| !specs.iter().any(|s| &s.name == *k)) {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::InvalidInput {
            input: unknown.clone(),
            message: input::unknown(plugin, &names),
        });
    }
    let mut resolved = Resolved::default();
    for spec in specs {
        // Only what the workflow author wrote may grant: never a default, which the
        // plugin itself wrote in `describe`, nor a string computed from a step's output.
        let mut authored = None;
        let value = match given.remove(&spec.name) {
            Some(g) => {
                let value = typed(spec, g.clone())?;
                authored = Some(match g {
                    Given::Templated { authored, .. } => authored,
                    _ => value.clone(),
                });
                value
            }
            None => match &spec.default {
                Some(json) => serde_json::from_str(json).map_err(|e| Error::InvalidPlugin {
                    plugin: plugin.to_string(),
                    reason: input::default_not_json(&spec.name, &e),
                })?,
                None if spec.required => {
                    return Err(Error::InvalidInput {
                        input: spec.name.clone(),
                        message: input::required(plugin, &spec.name, &spec.doc),
                    });
                }
                None => continue,
            },
        };
        if let Some(authored) = authored.filter(|_| spec.grants_origins) {
            let before = resolved.origins.len();
            input::collect_origins(&authored, &mut resolved.origins);
            // Only a value with no URL at all is "empty"; a URL computed from a step's output is
            // there but grants nothing, and is said as the missing grant it is.
            let mut anywhere = Vec::new();
            input::collect_origins(&value, &mut anywhere);
            if resolved.origins.len() == before && anywhere.is_empty() {
                let shown: String = value.to_string().chars().take(80).collect();
                resolved.granting_nothing.push((spec.name.clone(), shown));
            }
        }
        resolved.inputs.push(Input {
            name: spec.name.clone(),
            value: value.to_string(),
        });
    }
    Ok(resolved)
}

fn typed(spec: &InputSpec, given: Given) -> Result<Value> {
    let invalid = |message: String| Error::InvalidInput {
        input: spec.name.clone(),
        message,
    };
    let textual = matches!(spec.kind, ValueKind::String | ValueKind::Duration);
    let value = match given {
        Given::Text(text) if textual => Value::String(text),
        Given::Text(text) => {
            serde_yaml_ng::from_str::<Value>(&text).map_err(|e| invalid(format!("`{text}` is not valid YAML: {e}")))?
        }
        Given::Value(value) | Given::Templated { value, .. } => value,
    };
    kind(spec.kind).check(value).map_err(invalid)
}

/// The vocabulary's kind for the WIT's (the two enums name the same seven).
fn kind(kind: ValueKind) -> input::Kind {
    match kind {
        ValueKind::String => input::Kind::String,
        ValueKind::Number => input::Kind::Number,
        ValueKind::Boolean => input::Kind::Boolean,
        ValueKind::Duration => input::Kind::Duration,
        ValueKind::List => input::Kind::List,
        ValueKind::Object => input::Kind::Object,
        ValueKind::Any => input::Kind::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, kind: ValueKind, required: bool, default: Option<&str>, grants: bool) -> InputSpec {
        InputSpec {
            name: name.into(),
            kind,
            required,
            default: default.map(String::from),
            doc: "doc".into(),
            grants_origins: grants,
        }
    }

    #[test]
    fn flags_are_yaml_except_for_strings() {
        let specs = [
            spec("endpoints", ValueKind::List, true, None, true),
            spec("name", ValueKind::String, false, None, false),
            spec("retries", ValueKind::Number, false, Some("2"), false),
        ];
        let given = BTreeMap::from([
            (
                "endpoints".into(),
                Given::Text("[{name: a, url: 'http://127.0.0.1:8080/healthz'}]".into()),
            ),
            ("name".into(), Given::Text("a: b".into())),
        ]);
        let r = resolve("p", &specs, given).unwrap();
        let values: BTreeMap<_, _> = r.inputs.iter().map(|i| (i.name.as_str(), i.value.as_str())).collect();
        assert_eq!(values["name"], "\"a: b\"");
        assert_eq!(values["retries"], "2");
        assert_eq!(
            serde_json::from_str::<Value>(values["endpoints"]).unwrap()[0]["name"],
            json!("a")
        );
        assert_eq!(
            r.origins.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            ["http://127.0.0.1:8080"]
        );
    }

    #[test]
    fn only_author_written_values_grant_origins() {
        let specs = [
            spec("a", ValueKind::String, false, Some("\"http://127.0.0.1:1/\""), true),
            spec("b", ValueKind::String, false, None, true),
        ];
        let r = resolve("p", &specs, BTreeMap::new()).unwrap();
        assert!(
            r.origins.is_empty(),
            "a default the plugin wrote granted {:?}",
            r.origins
        );
        let computed = BTreeMap::from([(
            "b".into(),
            Given::Templated {
                value: json!(["http://127.0.0.1:2/", "http://127.0.0.1:4/"]),
                authored: json!([null, "http://127.0.0.1:4/"]),
            },
        )]);
        let specs_list = [spec("b", ValueKind::List, false, None, true)];
        let r = resolve("p", &specs_list, computed).unwrap();
        let granted: Vec<String> = r.origins.iter().map(|o| o.to_string()).collect();
        assert_eq!(granted, ["http://127.0.0.1:4"], "only the author-written URL grants");
        let written = BTreeMap::from([("b".into(), Given::Value(json!("http://127.0.0.1:3/")))]);
        let r = resolve("p", &specs, written).unwrap();
        assert_eq!(r.origins.len(), 1);
    }

    #[test]
    fn an_input_with_no_url_at_all_is_named_as_granting_nothing() {
        let specs = [spec("endpoints", ValueKind::List, true, None, true)];
        let empty = BTreeMap::from([("endpoints".into(), Given::Text("[]".into()))]);
        let r = resolve("p", &specs, empty).unwrap();
        assert_eq!(r.granting_nothing, [("endpoints".to_string(), "[]".to_string())]);
        // A URL computed from a step's output is there, and only grants nothing: not "empty".
        let computed = BTreeMap::from([(
            "endpoints".into(),
            Given::Templated {
                value: json!([{"url": "http://127.0.0.1:2/"}]),
                authored: json!([{"url": null}]),
            },
        )]);
        let r = resolve("p", &specs, computed).unwrap();
        assert!(r.origins.is_empty() && r.granting_nothing.is_empty(), "{r:?}");
    }

    #[test]
    fn unknown_missing_and_mistyped_inputs_are_named() {
        let specs = [spec("count", ValueKind::Number, true, None, false)];
        let err = resolve("p", &specs, BTreeMap::from([("cuont".into(), Given::Text("1".into()))])).unwrap_err();
        assert!(
            err.to_string().contains("`cuont`") && err.to_string().contains("count"),
            "{err}"
        );
        let err = resolve("p", &specs, BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("--with count="), "{err}");
        let err = resolve(
            "p",
            &specs,
            BTreeMap::from([("count".into(), Given::Text("[1".into()))]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not valid YAML"), "{err}");
        let err = resolve(
            "p",
            &specs,
            BTreeMap::from([("count".into(), Given::Text("many".into()))]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected a number"), "{err}");
    }
}
