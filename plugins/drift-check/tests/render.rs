//! Golden Markdown of the drift report (the step summary; the issue body is the same report),
//! and escaping of hostile plan text.
//!
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p drift-check --test render`.

mod common;

use common::{SECRETS, host, host_at, variant};
use drift_check::DriftCheck;
use serde_json::{Value, json};
use tollgate_sdk::Status;
use tollgate_sdk::testing::Outcome;

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.md"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert_eq!(expected, actual, "golden {name} differs; UPDATE_GOLDEN=1 rewrites it");
}

fn clean(o: &Outcome) {
    assert_eq!(o.status(), Some(Status::Passed), "{:?} {:?}", o.result, o.logs);
    let all = o.every_channel();
    for s in SECRETS {
        assert!(!all.contains(s), "{s} leaked:\n{all}");
    }
}

#[test]
fn refresh_only_drift() {
    let o = host("refresh-only", "us-east").run::<DriftCheck>();
    clean(&o);
    assert!(o.summary.contains("(sensitive) (changed)"), "{}", o.summary);
    golden("refresh-only", &o.summary);
}

#[test]
fn normal_plan_with_drift() {
    let o = host("plan", "us-east").run::<DriftCheck>();
    clean(&o);
    golden("plan", &o.summary);
}

#[test]
fn no_drift() {
    let o = host("clean", "us-east").run::<DriftCheck>();
    clean(&o);
    golden("clean", &o.summary);
}

const HOSTILE: &str =
    "</details></code><script>alert(1)</script> @octocat #1 [x](javascript:alert(1)) ```\n```\n<!-- -->\u{202E}";

/// The Markdown outside fenced code blocks (a fence closes only with a line of at least as
/// many backticks).
fn outside_code_blocks(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                out.push_str(line);
                out.push('\n');
            }
            Some(n) if ticks >= n && line.trim_start_matches('`').trim().is_empty() => fence = None,
            Some(_) => {}
        }
    }
    out
}

fn hostile_plan() -> (std::path::PathBuf, String) {
    variant("refresh-only", |p| {
        let drift = p["resource_drift"].as_array_mut().unwrap();
        let mut extra = drift[0].clone();
        extra["address"] = Value::String(format!("aws_s3_bucket.logs[\"{HOSTILE}\"]"));
        extra["index"] = Value::String(HOSTILE.into());
        extra["change"]["after"]["tags"] = json!({ HOSTILE: HOSTILE, "owner": "@octocat" });
        drift.push(extra);
        drift[0]["change"]["actions"] = json!(["delete"]);
        drift[0]["change"]["after"] = Value::Null;
    })
}

#[test]
fn hostile_text_is_escaped_and_pings_nobody() {
    let (_dir, path) = hostile_plan();
    let o = host_at(&path, "@org/team <b>x</b>").run::<DriftCheck>();
    clean(&o);
    let s = &o.summary;
    // Outside code blocks: no markup from the plan, nobody mentioned, nothing invisible.
    let outside = outside_code_blocks(s);
    assert!(
        !outside.contains("<script") && !outside.contains("</details></code>") && !outside.contains("<b>"),
        "{outside}"
    );
    assert!(
        !outside.contains("<!--") && !outside.contains("](javascript"),
        "{outside}"
    );
    // Anywhere, code blocks included: no mention, no bidi control.
    assert!(!s.contains("@octocat") && !s.contains("@org"), "{s}");
    assert!(!s.contains('\u{202E}'), "{s}");
    // The plan's triple backticks cannot close the block: its fence is longer.
    assert!(s.contains("\n````diff\n"), "{s}");
    assert!(s.contains("deleted outside Terraform"), "{s}");
    golden("hostile", s);
}
