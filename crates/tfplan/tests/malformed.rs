//! Malformed and adversarial plans: always a clear error naming where and what, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use tollgate_tfplan::Plan;

const CHANGES: &[u8] = include_bytes!("../../../plugins/plan-comment/fixtures/changes.json");
const HOSTILE: &[u8] = include_bytes!("../../../plugins/plan-comment/fixtures/hostile.json");
const DRIFT: &[u8] = include_bytes!("../../../plugins/plan-comment/fixtures/drift.json");

fn err(bytes: &[u8]) -> String {
    match Plan::from_slice(bytes) {
        Ok(_) => panic!("read: {}", String::from_utf8_lossy(bytes)),
        Err(e) => e.to_string(),
    }
}

fn minimal(rc: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"format_version": "1.2", "resource_changes": [rc]})).unwrap()
}

#[test]
fn wrong_types_name_the_path_and_what_was_expected() {
    let e = err(&minimal(json!({"address": "a.b", "change": {"actions": "create"}})));
    assert!(
        e.starts_with("plan JSON at `resource_changes[0].change.actions`: invalid type: string"),
        "{e}"
    );
    assert!(e.contains("expected a sequence"), "{e}");

    let e = err(&minimal(json!({"address": "a.b", "change": {"actions": [7]}})));
    assert!(
        e.contains("`resource_changes[0].change.actions[0]`") && e.contains("expected an action"),
        "{e}"
    );

    let e = err(&minimal(json!({"address": 5, "change": {"actions": []}})));
    assert!(e.contains("`resource_changes[0].address`"), "{e}");

    let e = err(&minimal(
        json!({"address": "a.b", "index": 1.5, "change": {"actions": ["create"]}}),
    ));
    assert!(
        e.contains("`resource_changes[0].index`") && e.contains("instance key"),
        "{e}"
    );

    let e = err(&minimal(json!({"address": "a.b"})));
    assert!(e.contains("missing field `change`"), "{e}");

    let e = err(br#"{"format_version": "1.2", "output_changes": {"x": {"actions": ["update"], "replace_paths": [[{"a": 1}]]}}}"#);
    assert!(
        e.contains("`output_changes.x.replace_paths[0][0]`") && e.contains("path step"),
        "{e}"
    );
}

#[test]
fn not_a_plan_is_said_so() {
    assert!(err(b"").contains("ends too early"));
    assert!(err(b"{\"format_version\": \"1.2\", \"resource_changes\": [").contains("ends too early"));
    assert!(err(b"[]").contains("expected struct"));
    assert!(err(b"{}").contains("`format_version`: missing"));
    let e = err(br#"{"format_version": "2.0"}"#);
    assert!(e.contains("\"2.0\" is not supported") && e.contains("1.x"), "{e}");
    let e = err(br#"{"format_version": "1.0", "values": {"root_module": {}}}"#);
    assert!(e.contains("state JSON"), "{e}");
    let e = err(b"PK\x03\x04binary plan zip");
    assert!(
        e.contains("binary plan file") && e.contains("terraform show -json"),
        "{e}"
    );
    let e = err(b"{\"format_version\": \"1.2\"} trailing");
    assert!(e.contains("unexpected text after the JSON document"), "{e}");
    let e = err(b"{\"format_version\": \"1.2\", \"terraform_version\": \"\xff\xfe\"}");
    assert!(e.contains("malformed JSON"), "{e}");
    // A UTF-8 byte order mark is fine.
    assert!(Plan::from_slice(b"\xEF\xBB\xBF{\"format_version\": \"1.2\"}").is_ok());
}

#[test]
fn deep_nesting_and_huge_numbers_are_errors_not_crashes() {
    for depth in [200, 100_000] {
        let mut s = String::from(
            r#"{"format_version": "1.2", "resource_changes": [{"address": "a", "change": {"actions": ["create"], "after": "#,
        );
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push_str("}}]}");
        let e = err(s.as_bytes());
        assert!(e.contains("recursion limit"), "{e}");
        // A section that is not read is skipped without recursion (serde_json's iterative skip).
        let s = format!(
            r#"{{"format_version": "1.2", "planned_values": {}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(Plan::from_slice(s.as_bytes()).is_ok());
    }
    let e = err(&minimal(
        json!({"address": "a", "index": u64::MAX, "change": {"actions": ["create"]}}),
    ));
    assert!(e.contains("`resource_changes[0].index`"), "{e}");
    let e = err(br#"{"format_version": "1.2", "resource_changes": [{"address": "a", "change": {"actions": ["create"], "after": {"n": 1e999}}}]}"#);
    assert!(e.contains("number out of range"), "{e}");
    // Big but representable numbers are values like any other.
    let ok = Plan::from_slice(br#"{"format_version": "1.2", "resource_changes": [{"address": "a", "change": {"actions": ["create"], "after": {"n": 123456789012345678901234567890}}}]}"#);
    let plan = ok.unwrap();
    assert_eq!(
        plan.view(&plan.resource_changes[0].change).after().unwrap().to_string(),
        "{n = 1.2345678901234568e+29}"
    );
}

#[test]
fn nulls_and_unknown_words_are_tolerated() {
    let plan = Plan::from_slice(
        br#"{"format_version": "1.9", "resource_changes": null, "output_changes": null,
             "resource_drift": [{"address": "x.y", "mode": "ephemeral", "change": {"actions": ["teleport"],
             "before": null, "after": null, "replace_paths": null}}], "some_future_field": {"a": [1]}}"#,
    )
    .unwrap();
    assert!(plan.resource_changes.is_empty());
    assert_eq!(
        plan.resource_drift[0].kind(),
        tollgate_tfplan::ChangeKind::Other(vec!["teleport".into()])
    );
}

/// A sensitive-marker tree whose shape disagrees with the value hides the whole value.
#[test]
fn mismatched_marks_fail_closed() {
    let plan = Plan::from_slice(
        br#"{"format_version": "1.2", "resource_changes": [{"address": "x.y", "change": {"actions": ["create"],
            "after": {"a": "SECRETVALUE", "b": ["x", "y"]},
            "after_sensitive": {"a": {"deep": true}, "b": {"0": true}}}}]}"#,
    )
    .unwrap();
    let after = plan.view(&plan.resource_changes[0].change).after().unwrap().to_string();
    assert_eq!(after, "{a = (sensitive), b = (sensitive)}");
}

/// Exercise every view of a plan that read.
fn touch(plan: &Plan) {
    let changes = plan
        .resource_changes
        .iter()
        .chain(&plan.resource_drift)
        .chain(plan.deferred_changes.iter().map(|d| &d.resource_change))
        .map(|r| &r.change)
        .chain(plan.output_changes.values());
    for c in changes {
        let v = plan.view(c);
        let _ = v.before().map(|m| (m.to_string(), m.to_json()));
        let _ = v.after().map(|m| (m.to_string(), m.to_json()));
        for a in v.diff() {
            let _ = a.path_text();
        }
    }
    let _ = (plan.counts(), plan.has_changes(), plan.has_destroy());
}

/// Any JSON value, up to a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z\\-_ <>@`\"]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("create"),
            Just("delete"),
            Just("no-op"),
            Just("forget"),
            Just("TOLLGATE-SECRET-v1-hunter2")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                "[a-z_]{1,8}|actions|after|before|after_sensitive|after_unknown|index",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every node of a document, by its path of keys and indexes.
fn paths(v: &Value, here: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(here.clone());
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                here.push(Value::String(k.clone()));
                paths(c, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                here.push(Value::from(i));
                paths(c, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn replace_at(doc: &mut Value, path: &[Value], with: Value) {
    let mut node = doc;
    for step in path {
        node = match (node, step) {
            (Value::Object(o), Value::String(k)) => o.get_mut(k).unwrap(),
            (Value::Array(a), Value::Number(i)) => &mut a[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *node = with;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// A real plan with one node (anywhere) replaced by arbitrary JSON: Ok or a clear Err.
    #[test]
    fn mutated_plans_never_panic(which in 0usize..3, pick in any::<prop::sample::Index>(), with in arb_json()) {
        let bytes = [CHANGES, HOSTILE, DRIFT][which];
        let mut doc: Value = serde_json::from_slice(bytes).unwrap();
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let path = all[pick.index(all.len())].clone();
        replace_at(&mut doc, &path, with);
        let text = serde_json::to_vec(&doc).unwrap();
        match Plan::from_slice(&text) {
            Ok(plan) => touch(&plan),
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("plan JSON at `"), "{}", e);
            }
        }
    }

    /// Byte-level damage: truncation and flipped bytes.
    #[test]
    fn damaged_bytes_never_panic(cut in any::<prop::sample::Index>(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8)) {
        let mut bytes = CHANGES.to_vec();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(plan) = Plan::from_slice(&bytes) {
            touch(&plan);
        }
    }

    /// Arbitrary documents with a valid version.
    #[test]
    fn arbitrary_documents_never_panic(body in arb_json()) {
        let doc = json!({"format_version": "1.2", "resource_changes": [{"address": "a.b", "change": body.clone()}], "output_changes": {"o": body}});
        if let Ok(plan) = Plan::from_slice(&serde_json::to_vec(&doc).unwrap()) {
            touch(&plan);
        }
    }
}
