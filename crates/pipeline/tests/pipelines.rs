//! Whole pipelines: the example files parse into the expected structure, and the JSON Schema agrees with the
//! parser about which keys exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tollgate_pipeline::{
    ALLOW_KEYS, ARTIFACT_KEYS, AxisValues, INPUT_KEYS, JobStatus, Pipeline, STEP_KEYS, Section, StaticContext,
    StepKind, TOP_LEVEL_KEYS, parse,
};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn load(name: &str) -> Pipeline {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(name, &text).unwrap_or_else(|diags| {
        panic!(
            "{name}:\n{}",
            diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        )
    })
}

#[test]
fn every_example_pipeline_parses() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yml") || name.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    for name in names {
        let pipeline = load(&name);
        assert!(!pipeline.steps.is_empty(), "{name}");
    }
}

#[test]
fn the_terraform_plan_pipeline_has_the_expected_structure() {
    let p = load("terraform-plan.yml");
    assert_eq!(p.name.as_deref(), Some("terraform-plan"));
    let inputs: Vec<_> = p.inputs.iter().map(|i| (i.name.as_str(), i.default.clone())).collect();
    assert_eq!(
        inputs,
        [
            ("workdir", Some(json!("infra"))),
            ("lock-ttl", Some(json!("30m"))),
            ("regions", Some(json!("[\"us-east\", \"eu-west\", \"ap-south\"]")))
        ]
    );
    assert_eq!(p.env.keys().collect::<Vec<_>>(), ["TF_INPUT", "TF_IN_AUTOMATION"]);

    // The dry-run view: every step with its depth and section.
    let walk: Vec<_> = p
        .walk_steps()
        .iter()
        .map(|v| (v.step.id.as_str(), v.step.kind_name(), v.depth, v.section))
        .collect();
    assert_eq!(
        walk,
        [
            ("regions", "group", 0, Section::Steps),
            ("lock", "uses", 1, Section::Steps),
            ("init", "run", 1, Section::Steps),
            ("plan", "run", 1, Section::Steps),
            ("comment", "uses", 1, Section::Steps),
            ("unlock", "uses", 0, Section::Finally),
            ("report", "run", 0, Section::Finally),
        ]
    );
    let parents: Vec<_> = p.walk_steps().iter().map(|v| v.parent.map(|s| s.id.as_str())).collect();
    assert_eq!(parents[1..5], [Some("regions"); 4]);

    // The fan-out: an expression over an input, two at a time.
    let regions = &p.steps[0];
    assert_eq!((regions.span.start.line, regions.span.start.column), (17, 5));
    let matrix = regions.matrix.as_ref().unwrap_or_else(|| panic!("no matrix"));
    assert_eq!(matrix.max_parallel, Some(2));
    assert!(matches!(&matrix.axes[0].values, AxisValues::Expr(e) if e.source() == "fromJSON(inputs.regions)"));
    let ctx = StaticContext::new().with("inputs", json!({ "regions": "[\"us-east\", \"eu-west\"]" }));
    let items = matrix.expand(&ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Value::from(items.into_iter().map(Value::Object).collect::<Vec<_>>()),
        json!([{ "region": "us-east" }, { "region": "eu-west" }])
    );

    // The lock: a plugin with typed inputs and grants.
    let lock = p.step("lock").unwrap_or_else(|| panic!("no lock"));
    let StepKind::Uses(uses) = &lock.kind else {
        panic!("lock is not a uses step")
    };
    assert_eq!(uses.uses, "builtin:state-lock");
    assert_eq!(uses.allow.github, ["contents:write"]);
    assert_eq!(uses.allow.timeout, Some(Duration::from_secs(360)));
    let ctx = StaticContext::new()
        .with("inputs", json!({ "lock-ttl": "30m" }))
        .with("matrix", json!({ "region": "eu-west" }));
    let with: BTreeMap<_, _> = uses
        .with
        .iter()
        .map(|(k, v)| (k.as_str(), v.eval(&ctx).unwrap_or_else(|e| panic!("{e}"))))
        .collect();
    assert_eq!(with["name"], json!("openclaw/eu-west"));
    assert_eq!(with["ttl"], json!("30m"));
    assert_eq!(with["action"], json!("acquire"));

    // The plan: a native command producing two signed artifacts.
    let plan = p.step("plan").unwrap_or_else(|| panic!("no plan"));
    let StepKind::Run(run) = &plan.kind else {
        panic!("plan is not a run step")
    };
    assert!(
        run.run
            .source()
            .starts_with("terraform plan -input=false -out=tfplan\nterraform show -json")
    );
    assert_eq!(plan.timeout, Some(Duration::from_secs(1200)));
    assert_eq!(run.artifacts.len(), 2);
    let ctx = ctx.with("inputs", json!({ "workdir": "infra" }));
    assert_eq!(
        run.artifacts[0].path.render(&ctx),
        Ok("infra/eu-west/tfplan".to_string())
    );
    assert_eq!(
        run.artifacts[0].media_type.as_deref(),
        Some("application/vnd.terraform.plan")
    );

    // The comment runs only when the plan succeeded; unlock always; report on failure or cancellation.
    let comment = p.step("comment").unwrap_or_else(|| panic!("no comment"));
    let unlock = p.step("unlock").unwrap_or_else(|| panic!("no unlock"));
    let report = p.step("report").unwrap_or_else(|| panic!("no report"));
    let run = |status: JobStatus, plan_outcome: &str| {
        let ctx = StaticContext::new()
            .with("steps", json!({ "plan": { "outcome": plan_outcome } }))
            .with_status(status);
        let go = |s: &tollgate_pipeline::Step, section| s.should_run(&ctx, section).unwrap_or_else(|e| panic!("{e}"));
        (
            go(comment, Section::Steps),
            go(unlock, Section::Finally),
            go(report, Section::Finally),
        )
    };
    assert_eq!(run(JobStatus::Success, "success"), (true, true, false));
    assert_eq!(run(JobStatus::Success, "failure"), (false, true, false));
    assert_eq!(run(JobStatus::Failure, "success"), (false, true, true));
    assert_eq!(run(JobStatus::Cancelled, "success"), (false, true, true));

    assert_eq!(p.outputs["locked"].source(), "${{ steps.regions.outcome }}");
}

#[test]
fn steps_without_a_condition() {
    let p = parse(
        "p.yml",
        "steps:\n  - id: a\n    run: echo\nfinally:\n  - id: b\n    run: echo\n",
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    for (status, in_steps, in_finally) in [
        (JobStatus::Success, true, true),
        (JobStatus::Failure, false, true),
        (JobStatus::Cancelled, false, true),
    ] {
        let ctx = StaticContext::new().with_status(status);
        assert_eq!(p.steps[0].should_run(&ctx, Section::Steps), Ok(in_steps), "{status:?}");
        assert_eq!(
            p.finally[0].should_run(&ctx, Section::Finally),
            Ok(in_finally),
            "{status:?}"
        );
    }
}

#[test]
fn the_brief_example_keeps_types_and_grants() {
    let p = load("brief.yml");
    let StepKind::Uses(lock) = &p.steps[0].kind else {
        panic!("lock is not a uses step")
    };
    assert_eq!(lock.allow.memory, Some(256 * 1024 * 1024));
    assert_eq!(lock.allow.net, ["https://*.example.com"]);
    let ctx = StaticContext::new().with("inputs", json!({ "endpoints": ["https://a"] }));
    assert_eq!(lock.with["endpoints"].eval(&ctx), Ok(json!(["https://a"])));
    assert_eq!(lock.with["min-healthy"].eval(&ctx), Ok(json!(2)));
    let fan = p.step("fan").unwrap_or_else(|| panic!("no fan"));
    let items = fan
        .matrix
        .as_ref()
        .map(|m| m.expand(&ctx))
        .transpose()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.map(|i| i.len()), Some(3));
    assert_eq!(fan.children().len(), 1);
}

#[test]
fn inputs_bind_with_defaults_and_report_problems() {
    let p = load("brief.yml");
    let given: BTreeMap<String, Value> = [("region".to_string(), json!("eu-west"))].into();
    let bound = p.bind_inputs(&given).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(Value::Object(bound), json!({ "region": "eu-west", "workdir": "infra" }));

    let given: BTreeMap<String, Value> = [("regoin".to_string(), json!("eu-west"))].into();
    assert_eq!(
        p.bind_inputs(&given),
        Err(vec![
            "unknown input `regoin`; did you mean `region`?".to_string(),
            "input `region` is required; pass `--input region=VALUE`".to_string(),
        ])
    );
}

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/pipeline.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

#[test]
fn the_schema_and_the_parser_accept_the_same_keys() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(keys(&schema["properties"]), sorted(TOP_LEVEL_KEYS));
    let defs = &schema["$defs"];
    assert_eq!(keys(&defs["step"]["properties"]), sorted(STEP_KEYS));
    assert_eq!(keys(&defs["allow"]["properties"]), sorted(ALLOW_KEYS));
    assert_eq!(keys(&defs["input"]["properties"]), sorted(INPUT_KEYS));
    assert_eq!(keys(&defs["artifact"]["properties"]), sorted(ARTIFACT_KEYS));
    assert_eq!(
        defs["allow"]["properties"]["github"]["items"]["$ref"],
        "#/$defs/github-permission"
    );
    let permissions: Vec<&str> = defs["github-permission"]["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let names = tollgate_pipeline::vocab::GithubPermission::ALL.map(|p| p.as_str());
    assert_eq!(permissions, names);
}

#[test]
fn the_schema_describes_every_property_and_closes_every_object() {
    fn walk(value: &Value, at: &str, problems: &mut Vec<String>) {
        let Some(map) = value.as_object() else { return };
        if let Some(props) = map.get("properties").and_then(Value::as_object) {
            if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                problems.push(format!("{at}: additionalProperties is not false"));
            }
            for (name, prop) in props {
                if prop
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!("{at}.properties.{name}: no description"));
                }
            }
        }
        for (key, child) in map {
            walk(child, &format!("{at}.{key}"), problems);
        }
    }
    let mut problems = Vec::new();
    walk(&schema(), "$", &mut problems);
    assert_eq!(problems, Vec::<String>::new());
    let one_of = schema()["$defs"]["step"]["oneOf"]
        .as_array()
        .map(|a| a.iter().map(|b| b["required"][0].clone()).collect::<Vec<_>>());
    assert_eq!(one_of, Some(vec![json!("uses"), json!("run"), json!("steps")]));
}
