//! The rendered Markdown: golden files for every fixture, the size limit on a large plan,
//! escaping of hostile names and values.
//!
//! Update the golden files with `UPDATE_GOLDEN=1 cargo test -p plan-comment --test render`.

mod common;

use plan_comment::render::{COMMENT_LIMIT, Options, render};
use serde_json::{Value, json};
use tollgate_tfplan::Plan;

fn options() -> Options {
    Options {
        workspace: "us-east".into(),
        ..Options::default()
    }
}

#[test]
fn golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for name in common::FIXTURES {
        let plan = Plan::from_slice(&common::fixture(name)).unwrap();
        let got = render(&plan, &options(), COMMENT_LIMIT).markdown;
        let path = dir.join(format!("{name}.md"));
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            stale.push(format!(
                "{name}: rendered Markdown differs from {}:\n{got}",
                path.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(run with UPDATE_GOLDEN=1 to accept)",
        stale.join("\n\n")
    );
}

/// The README shows the comment for `changes.json`: the sample is the golden file, verbatim,
/// between its markers (UPDATE_GOLDEN rewrites the golden file; copy it into the README).
#[test]
fn the_readme_sample_is_the_golden_comment() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let golden = std::fs::read_to_string(root.join("plugins/plan-comment/tests/golden/changes.md")).unwrap();
    let start = "<!-- sample: plugins/plan-comment/tests/golden/changes.md -->\n";
    let sample = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("<!-- /sample -->"))
        .map(|(sample, _)| sample)
        .expect("README.md has the plan-comment sample between its markers");
    assert!(
        sample == golden,
        "README.md's plan-comment sample differs from the golden file"
    );
}

#[test]
fn sections_come_in_order_destroy_and_replace_first() {
    let plan = Plan::from_slice(&common::fixture("changes")).unwrap();
    let md = render(&plan, &options(), COMMENT_LIMIT).markdown;
    let at = |needle: &str| md.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{md}"));
    assert!(at("[!WARNING]") < at("#### 🔁 Replace"));
    assert!(at("#### 🔁 Replace") < at("#### 🗑️ Destroy"));
    assert!(at("#### 🗑️ Destroy") < at("#### ➕ Create"));
    assert!(at("#### ➕ Create") < at("#### ✏️ Update in place"));
    assert!(at("#### ✏️ Update in place") < at("#### 📤 Outputs"));
    for reason in [
        "replace&#95;because&#95;tainted",
        "replace&#95;by&#95;request",
        "replace&#95;by&#95;triggers",
        "replace&#95;because&#95;cannot&#95;update",
        "<code>triggers&#95;replace</code>",
    ] {
        assert!(md.contains(reason), "{reason}");
    }
    assert!(md.contains("**Plan:** 3 to create, 7 to update, 6 to replace, 2 to destroy, 1 to import, 1 to move, 1 to forget, 1 to read."));
    assert!(md.contains("<code>module.net</code>"), "grouped by module");
    assert!(md.contains("(known after apply)") && md.contains("(sensitive)"));
}

#[test]
fn hostile_names_and_values_stay_text() {
    let plan = Plan::from_slice(&common::fixture("hostile")).unwrap();
    let md = render(&plan, &options(), COMMENT_LIMIT).markdown;
    let mut fence: Option<&str> = None;
    let (mut open, mut close) = (0, 0);
    for line in md.lines() {
        match fence {
            Some(f) if line == f => fence = None,
            // Inside a code block nothing is markup; every line starts with the renderer's own
            // prefix, so no plan text can start a line (or end the block).
            Some(_) => assert!(["+ ", "- ", "! ", "# "].iter().any(|p| line.starts_with(p)), "{line:?}"),
            None if line.starts_with("```") => fence = Some(line.trim_end_matches("diff")),
            None => {
                open += usize::from(line.starts_with("<details>"));
                close += usize::from(line == "</details>");
                let mut text = line.to_string();
                for tag in [
                    "<details>",
                    "</details>",
                    "<summary>",
                    "</summary>",
                    "<code>",
                    "</code>",
                    "<sub>",
                    "</sub>",
                ] {
                    text = text.replace(tag, "");
                }
                assert!(
                    !text.contains('<') && !text.contains('>') || text.starts_with("> "),
                    "{line:?}"
                );
                assert!(
                    !text.contains("@octocat") && !text.contains("@here") && !text.contains("@everyone"),
                    "{line:?}"
                );
                assert!(!text.contains("](https://evil") && !text.contains("<!--"), "{line:?}");
                assert!(
                    !text.starts_with('|') && !text.starts_with('#') || text.starts_with("###"),
                    "{line:?}"
                );
            }
        }
    }
    assert_eq!(fence, None, "every code block closes");
    assert_eq!(open, close, "every <details> closes");
    // Inside code blocks too, nobody is pinged.
    assert!(!md.contains("@everyone") && !md.contains("@octocat"), "{md}");
}

/// A plan over the limit: `changes.json`'s resources copied into `copies` modules.
pub fn large_plan(copies: usize) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&common::fixture("changes")).unwrap();
    let base = doc["resource_changes"].as_array().unwrap().clone();
    let mut all = Vec::new();
    for m in 0..copies {
        for rc in &base {
            let mut rc = rc.clone();
            let module = format!("module.copy{m:02}");
            let address = format!(
                "{module}.{}",
                rc["address"].as_str().unwrap().trim_start_matches("module.net.")
            );
            rc["address"] = json!(address);
            rc["module_address"] = json!(module);
            if let Some(prev) = rc.get("previous_address").and_then(Value::as_str).map(str::to_string) {
                rc["previous_address"] = json!(format!("{module}.{prev}"));
            }
            all.push(rc);
        }
    }
    doc["resource_changes"] = Value::Array(all);
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn a_large_plan_fits_with_a_notice() {
    let bytes = large_plan(60);
    let plan = Plan::from_slice(&bytes).unwrap();
    assert_eq!(plan.resource_changes.len(), 60 * 23);
    let unlimited = Options {
        max_details: usize::MAX,
        ..options()
    };
    let full = render(&plan, &unlimited, usize::MAX).markdown;
    assert!(
        full.len() > 4 * COMMENT_LIMIT,
        "the template must overflow: {}",
        full.len()
    );

    let r = render(&plan, &unlimited, COMMENT_LIMIT);
    assert!(r.markdown.len() <= COMMENT_LIMIT, "{}", r.markdown.len());
    assert!(r.markdown.chars().count() <= COMMENT_LIMIT);
    assert!(
        r.markdown
            .contains("> [!NOTE]\n> To stay within GitHub's 65,536-character comment limit")
    );
    assert!(r.markdown.contains("the step summary of this run"));
    // Least important first: reads lost their names before replaces lost any detail.
    let said = r.left_out.join("; ");
    assert!(said.contains("the names of 60 of 60 reads"), "{said}");
    assert!(r.markdown.contains("#### 🔁 Replace (360)"));
    // Every other section lost its names before destroys lost theirs; replaces keep all.
    let names_lost: Vec<&str> = r
        .left_out
        .iter()
        .filter(|l| l.starts_with("the names"))
        .map(String::as_str)
        .collect();
    assert_eq!(names_lost.len(), 7, "{said}");
    assert!(
        names_lost[..6]
            .iter()
            .all(|l| l.starts_with("the names of") && l.contains(" of "))
    );
    assert!(names_lost[6].contains("destroys"), "{said}");
    // The verdict, the counts and the warnings always survive.
    assert!(r.markdown.contains("⚠️ **This plan destroys 480 objects**"));
    assert!(
        r.markdown
            .contains("**Plan:** 180 to create, 420 to update, 360 to replace, 120 to destroy")
    );
    assert!(r.markdown.contains("…and 455 more (below)"));

    // `max-details` alone also says what it left out.
    let capped = render(&plan, &options(), usize::MAX);
    assert!(
        capped.left_out.iter().any(|l| l.starts_with("attribute details of")),
        "{:?}",
        capped.left_out
    );
}

#[test]
fn a_moderately_large_plan_keeps_every_replace_detail() {
    let plan = Plan::from_slice(&large_plan(12)).unwrap();
    let r = render(
        &plan,
        &Options {
            max_details: usize::MAX,
            ..options()
        },
        COMMENT_LIMIT,
    );
    assert!(r.markdown.len() <= COMMENT_LIMIT);
    assert!(!r.left_out.is_empty());
    let said = r.left_out.join("; ");
    assert!(!said.contains("replaces") && !said.contains("destroys"), "{said}");
    assert!(said.contains("attribute details of 12 reads"), "{said}");
    let replace =
        &r.markdown[r.markdown.find("#### 🔁 Replace (72)").unwrap()..r.markdown.find("#### 🗑️ Destroy").unwrap()];
    assert_eq!(replace.matches("<details><summary>").count(), 72);
}

#[test]
fn any_budget_is_met() {
    let plan = Plan::from_slice(&large_plan(60)).unwrap();
    for budget in [4_000, 10_000, 30_000, 65_000] {
        let r = render(&plan, &options(), budget);
        assert!(r.markdown.len() <= budget, "{budget}: {}", r.markdown.len());
        assert!(r.markdown.contains("This plan destroys"), "{budget}");
    }
}
