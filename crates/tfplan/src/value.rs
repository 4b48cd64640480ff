//! A JSON value kept compactly, for the values a plan holds (`before`, `after` and their marks).
//!
//! - Why: a 10,000-resource plan has a few small objects per resource, and
//!   `serde_json::Value` gives each one a whole B-tree node (about 600 bytes however few
//!   keys it holds), which made the parsed plan five times the size of its JSON.
//! - An object is one boxed slice of its entries, sorted by key as `serde_json::Map`
//!   iterates them (a repeated key keeps its last value, as there); strings are boxed
//!   without spare capacity. The same document gives the same values in the same order.
//! - Object keys repeat in every resource (`input`, `tags`, `id`, …), so while a plan is
//!   read ([`interning`]) each distinct key is allocated once and shared.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(Box<str>),
    Array(Box<[Value]>),
    Object(Object),
}

/// A JSON object: entries sorted by key, keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object(Box<[(Arc<str>, Value)]>);

impl Object {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json::Value does: a float JSON cannot hold is null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v.into_boxed_str()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Arc<str>, Value)> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            entries.push((key.0, map.next_value()?));
        }
        // Newest first, then a stable sort, then keep the first of each key: the last written wins.
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Ok(Value::Object(Object(entries.into_boxed_slice())))
    }
}

thread_local! {
    /// The keys read so far by the [`interning`] call running on this thread, if any.
    static KEYS: RefCell<Option<HashSet<Arc<str>>>> = const { RefCell::new(None) };
}

/// Run `read` with object keys shared: each distinct key read inside is allocated once.
pub(crate) fn interning<T>(read: impl FnOnce() -> T) -> T {
    /// Ends the interning even when `read` unwinds.
    struct Done(Option<HashSet<Arc<str>>>);
    impl Drop for Done {
        fn drop(&mut self) {
            KEYS.with(|k| *k.borrow_mut() = self.0.take());
        }
    }
    let _done = Done(KEYS.with(|k| k.borrow_mut().replace(HashSet::new())));
    read()
}

/// An object key, shared with its equals when [`interning`].
struct Key(Arc<str>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(KEYS.with(|k| match k.borrow_mut().as_mut() {
                    Some(keys) => match keys.get(v) {
                        Some(key) => key.clone(),
                        None => {
                            let key: Arc<str> = v.into();
                            keys.insert(key.clone());
                            key
                        }
                    },
                    None => v.into(),
                })))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn objects_are_sorted_and_the_last_repeated_key_wins() {
        let Value::Object(o) = read(r#"{"b": 1, "a": {"x": null}, "b": 2, "c": [true, "s", 1.5]}"#) else {
            panic!("not an object")
        };
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(o.get("b"), Some(&Value::Number(2.into())));
        assert!(!o.contains_key("d"));
        let from_serde: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"b": 1, "a": 0, "b": 2}"#).unwrap();
        assert_eq!(from_serde["b"], 2, "serde_json keeps the last value too");
    }

    #[test]
    fn keys_are_shared_only_while_interning() {
        let keys = |v: &Value| match v {
            Value::Array(a) => a
                .iter()
                .map(|o| match o {
                    Value::Object(o) => o.0[0].0.clone(),
                    _ => panic!("not an object"),
                })
                .collect::<Vec<_>>(),
            _ => panic!("not an array"),
        };
        let json = r#"[{"input": 1}, {"input": 2}]"#;
        let shared = keys(&interning(|| read(json)));
        assert!(Arc::ptr_eq(&shared[0], &shared[1]));
        let separate = keys(&read(json));
        assert!(!Arc::ptr_eq(&separate[0], &separate[1]));
        assert!(KEYS.with(|k| k.borrow().is_none()), "interning ends with the read");
    }

    #[test]
    fn values_are_small() {
        assert!(size_of::<Value>() <= 24, "{}", size_of::<Value>());
    }
}
