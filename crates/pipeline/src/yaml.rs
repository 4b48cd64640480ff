//! A YAML document as a tree of nodes that remember where they are, built from `saphyr-parser` events.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde_json::Value;

use crate::diagnostic::{Pos, Span};

/// A YAML node with its span.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A scalar: its text as written (after unquoting), whether it was plain, and its resolved value
/// (YAML 1.2 core schema for plain scalars; quoted and block scalars are strings).
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub text: String,
    pub style: ScalarStyle,
    pub value: Value,
}

impl Node {
    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Scalar(s) => match s.value {
                Value::Null => "nothing (null)",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            },
        }
    }

    /// The node as JSON (mapping keys by their text).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Scalar(s) => s.value.clone(),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.key_text(), v.to_json())).collect()),
        }
    }

    /// The text of a node used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Scalar(s) => s.text.clone(),
            _ => self.to_json().to_string(),
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// A YAML syntax error with the parser's position.
#[derive(Debug, Clone)]
pub(crate) struct YamlError {
    pub pos: Pos,
    pub message: String,
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

fn span(s: &saphyr_parser::Span) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

/// Resolve a plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::from(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::from(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::from(i);
    }
    let numeric = digits.chars().any(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if numeric
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let core_str = tag.is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
    if style == ScalarStyle::Plain && !core_str {
        resolve_plain(text)
    } else {
        Value::String(text.to_string())
    }
}

/// Lists and mappings nested deeper than this are refused rather than risking the stack later.
const MAX_DEPTH: usize = 128;

enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parse one YAML document into a node tree. `Ok(None)` for an empty document.
pub(crate) fn load(text: &str) -> Result<Option<Node>, YamlError> {
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, ev_span) = event.map_err(|e| YamlError {
            pos: pos(e.marker()),
            message: e.info().to_string(),
        })?;
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError {
                        pos: pos(&ev_span.start),
                        message: "a pipeline file holds one YAML document; found a second `---`".into(),
                    });
                }
                continue;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(YamlError {
                    pos: pos(&ev_span.start),
                    message: "nesting is too deep".into(),
                });
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    start: span(&ev_span),
                    anchor,
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    start: span(&ev_span),
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let end = pos(&ev_span.end);
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq { start, anchor, items }) => (
                        Node {
                            span: Span {
                                start: start.start,
                                end,
                            },
                            kind: Kind::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        start, anchor, entries, ..
                    }) => (
                        Node {
                            span: Span {
                                start: start.start,
                                end,
                            },
                            kind: Kind::Map(entries),
                        },
                        anchor,
                    ),
                    None => continue,
                };
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Scalar(value, style, anchor, tag) => {
                let value = value.into_owned();
                let resolved = resolve(&value, style, tag.as_deref());
                let node = Node {
                    span: span(&ev_span),
                    kind: Kind::Scalar(Scalar {
                        text: value,
                        style,
                        value: resolved,
                    }),
                };
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => node.clone(),
                None => {
                    return Err(YamlError {
                        pos: pos(&ev_span.start),
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
        };
        match stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => root = Some(node),
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_schema() {
        assert_eq!(resolve_plain("12"), Value::from(12));
        assert_eq!(resolve_plain("-1.5"), Value::from(-1.5));
        assert_eq!(resolve_plain("0x1f"), Value::from(31));
        assert_eq!(resolve_plain("on"), Value::from("on"));
        assert_eq!(resolve_plain("5m"), Value::from("5m"));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("e"), Value::from("e"));
    }

    #[test]
    fn keeps_positions() {
        let root = load("a: 1\nb:\n  - x\n  - 'y'\n").unwrap().unwrap();
        let Kind::Map(entries) = &root.kind else { panic!() };
        assert_eq!(entries[1].0.span.start, Pos { line: 2, column: 1 });
        let Kind::Seq(items) = &entries[1].1.kind else { panic!() };
        assert_eq!(items[1].span.start, Pos { line: 4, column: 5 });
        assert_eq!(items[1].to_json(), Value::from("y"));
    }
}
