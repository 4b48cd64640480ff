//! The values a plan marks sensitive, gathered once so that the same text is hidden wherever
//! else it appears unmarked.
//!
//! Terraform marks sensitive values only in `before_sensitive`/`after_sensitive`, and not
//! everywhere they flow: measured with 1.11.4, `terraform_data.output` copies a sensitive
//! `input` without a mark. So every text marked sensitive anywhere in the plan (and every
//! value of a variable declared `sensitive`) becomes a needle, and any string leaf that
//! contains one (or equals a short one) is masked as well.

use crate::value::Value;
use aho_corasick::AhoCorasick;
use std::collections::BTreeSet;

/// Shorter needles only hide a value equal to them: `contains` would hide every `10` or `app`.
pub(crate) const MIN_CONTAINED: usize = 4;

#[derive(Debug, Default)]
pub(crate) struct Redactor {
    exact: BTreeSet<String>,
    contained: Option<AhoCorasick>,
    /// For [`Redactor::scrub`]: needles that cannot span or break markup (no line breaks,
    /// backticks, angle brackets or ampersands), so scrubbing finished Markdown or HTML can
    /// never open or close a code block, a tag or an entity.
    scrubber: Option<AhoCorasick>,
}

/// Characters that carry structure in Markdown and HTML.
const STRUCTURAL: &[char] = &['\n', '\r', '`', '<', '>', '&'];

impl Redactor {
    pub fn new(found: BTreeSet<String>) -> Redactor {
        let mut exact = BTreeSet::new();
        for text in found {
            if text.is_empty() {
                continue;
            }
            // The same text as it appears inside JSON-encoded strings (`jsonencode`), Go's
            // HTML-safe escaping included.
            let json = serde_json::to_string(&text).unwrap_or_default();
            let json = json.trim_matches('"').to_string();
            let html = json
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026");
            exact.insert(json);
            exact.insert(html);
            exact.insert(text);
        }
        let long: Vec<&String> = exact.iter().filter(|t| t.chars().count() >= MIN_CONTAINED).collect();
        let inert: Vec<&String> = long.iter().copied().filter(|t| !t.contains(STRUCTURAL)).collect();
        let build = |needles: Vec<&String>| {
            if needles.is_empty() {
                None
            } else {
                AhoCorasick::new(needles).ok()
            }
        };
        Redactor {
            contained: build(long),
            scrubber: build(inert),
            exact,
        }
    }

    /// Whether `text` is, or contains, a sensitive value.
    pub fn hides(&self, text: &str) -> bool {
        self.exact.contains(text) || self.contained.as_ref().is_some_and(|ac| ac.is_match(text))
    }

    /// `text` with every sensitive value of `MIN_CONTAINED` characters or more replaced (those
    /// without structural characters: see `scrubber`).
    pub fn scrub(&self, text: &str, marker: &str) -> String {
        match &self.scrubber {
            Some(ac) => {
                let patterns = ac.patterns_len();
                ac.replace_all(text, &vec![marker; patterns])
            }
            None => text.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }
}

/// Whether a marker tree is `true`.
pub(crate) fn is_true(marks: Option<&Value>) -> bool {
    matches!(marks, Some(Value::Bool(true)))
}

/// Whether any mark in the tree is `true` (for trees whose shape disagrees with the value's:
/// then the whole value is treated as sensitive).
pub(crate) fn any_true(marks: Option<&Value>) -> bool {
    match marks {
        Some(Value::Bool(b)) => *b,
        Some(Value::Array(a)) => a.iter().any(|m| any_true(Some(m))),
        Some(Value::Object(o)) => o.values().any(|m| any_true(Some(m))),
        _ => false,
    }
}

/// Gather every scalar under the sensitive marks of `marks`.
pub(crate) fn harvest(value: Option<&Value>, marks: Option<&Value>, out: &mut BTreeSet<String>) {
    let Some(value) = value else { return };
    if is_true(marks) {
        leaves(value, out);
        return;
    }
    match (value, marks) {
        (Value::Object(v), Some(Value::Object(m))) => {
            for (k, child) in v.iter() {
                harvest(Some(child), m.get(k), out);
            }
        }
        (Value::Array(v), Some(Value::Array(m))) => {
            for (i, child) in v.iter().enumerate() {
                harvest(Some(child), m.get(i), out);
            }
        }
        (_, marks) if any_true(marks) => leaves(value, out),
        _ => {}
    }
}

/// Every string and number under `value`, as text.
pub(crate) fn leaves(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(s.to_string());
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
        Value::Object(o) => o.values().for_each(|v| leaves(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_hide_where_contained_short_ones_only_when_equal() {
        let r = Redactor::new(["hunter2-long".to_string(), "10".to_string()].into());
        assert!(r.hides("postgres://app:hunter2-long@db"));
        assert!(r.hides("10"));
        assert!(!r.hides("10.0.0.0/16"));
        assert!(!r.hides("plain"));
        assert_eq!(r.scrub("a hunter2-long b", "(sensitive)"), "a (sensitive) b");
    }

    #[test]
    fn scrubbing_never_touches_markup() {
        let r = Redactor::new(
            [
                "\n```diff".to_string(),
                "</details>".to_string(),
                "token-1234".to_string(),
            ]
            .into(),
        );
        let md = "x\n```diff\n+ a = token-1234\n```\n</details>\n";
        assert_eq!(
            r.scrub(md, "(sensitive)"),
            "x\n```diff\n+ a = (sensitive)\n```\n</details>\n"
        );
        assert!(r.hides("</details>"), "values are still masked by leaf");
    }

    #[test]
    fn json_encoded_forms_are_needles_too() {
        let r = Redactor::new(["pa\"ss<word>".to_string()].into());
        assert!(r.hides(r#"{"p":"pa\"ss\u003cword\u003e"}"#));
        assert!(r.hides(r#"{"p":"pa\"ss<word>"}"#));
    }
}
