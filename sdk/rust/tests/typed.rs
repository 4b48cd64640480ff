//! `#[derive(Inputs)]` and `#[derive(Outputs)]` on sample structs: the specs `describe`
//! returns, the parsing of `run`'s inputs, the errors an author sees, and that the two agree.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_sdk::{Duration, Input, InputSpec, Inputs, PluginError, TypedInputs, TypedOutputs, ValueKind};

// The expansion names everything by absolute path, so these do not disturb it.
#[allow(dead_code)]
type Result = ();
#[allow(dead_code)]
struct Ok;

/// Where the failover drill reads the region when `region-from` is not given.
const DEFAULT_REGION_FROM: &str = "header.x-region";

#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Endpoint {
    Url(String),
    Named { name: String, url: String },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Fast,
    Careful,
}

/// Inputs of a sample plugin (this doc is not used).
#[derive(Debug, tollgate_sdk::Inputs)]
struct Config {
    /// Endpoints to check, as `{name, url}` mappings or URLs.
    #[input(required, grants_origins)]
    endpoints: Vec<Endpoint>,
    /// How many times to retry a failed check.
    #[input(default = 2)]
    retries: u32,
    /// Pause between attempts.
    #[input(default = "1s")]
    backoff: Duration,
    /// Minimum healthy count.
    min_healthy: Option<u32>,
    #[input(name = "global-url", grants_origins)]
    /// Failover drill: this URL
    /// must answer from a healthy region.
    global_url: Option<String>,
    /// Conditions every response must meet.
    #[input(default = ["status == 200"])]
    conditions: Vec<String>,
    /// Request headers.
    #[input(default = {"accept": "application/json"})]
    headers: BTreeMap<String, String>,
    /// Log every attempt.
    #[input(default)]
    verbose: bool,
    /// Where the global URL's answer names its region.
    #[input(default = DEFAULT_REGION_FROM)]
    region_from: String,
    /// How careful to be.
    #[input(kind = "string", default = Mode::Fast)]
    mode: Mode,
    /// Limit for each request.
    timeout: Option<Duration>,
    /// Anything at all.
    extra: Option<Value>,
    /// A share of the endpoints.
    #[input(default = 0.5)]
    share: f64,
    /// A small count.
    small: Option<u8>,
}

fn given(pairs: &[(&str, Value)]) -> Inputs {
    Inputs::from_values(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

fn spec(name: &str) -> InputSpec {
    Config::specs()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no input {name}"))
}

/// The input and message of an invalid-input error.
fn invalid(result: std::result::Result<Config, PluginError>) -> (String, String) {
    match result {
        Err(PluginError::InvalidInput(e)) => (e.input, e.message),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// `endpoints` is the only required input.
fn minimal() -> Vec<(&'static str, Value)> {
    vec![("endpoints", json!(["https://us.example.com/healthz"]))]
}

#[test]
fn specs_come_from_the_fields() {
    let specs = Config::specs();
    let table: Vec<(&str, ValueKind, bool, Option<&str>, bool)> = specs
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.kind,
                s.required,
                s.default.as_deref(),
                s.grants_origins,
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            ("endpoints", ValueKind::List, true, None, true),
            ("retries", ValueKind::Number, false, Some("2"), false),
            ("backoff", ValueKind::Duration, false, Some("\"1s\""), false),
            ("min-healthy", ValueKind::Number, false, None, false),
            ("global-url", ValueKind::String, false, None, true),
            (
                "conditions",
                ValueKind::List,
                false,
                Some(r#"["status == 200"]"#),
                false
            ),
            (
                "headers",
                ValueKind::Object,
                false,
                Some(r#"{"accept":"application/json"}"#),
                false
            ),
            ("verbose", ValueKind::Boolean, false, Some("false"), false),
            (
                "region-from",
                ValueKind::String,
                false,
                Some("\"header.x-region\""),
                false
            ),
            ("mode", ValueKind::String, false, Some("\"fast\""), false),
            ("timeout", ValueKind::Duration, false, None, false),
            ("extra", ValueKind::Any, false, None, false),
            ("share", ValueKind::Number, false, Some("0.5"), false),
            ("small", ValueKind::Number, false, None, false),
        ]
    );
    assert_eq!(specs[0].doc, "Endpoints to check, as `{name, url}` mappings or URLs.");
    assert_eq!(
        spec("global-url").doc,
        "Failover drill: this URL must answer from a healthy region."
    );
    assert_eq!(spec("retries").doc, "How many times to retry a failed check.");
}

#[test]
fn given_values_are_parsed_into_the_fields() {
    let config = Config::from_inputs(&given(&[
        (
            "endpoints",
            json!(["https://a.example.com/", {"name": "b", "url": "https://b.example.com/"}]),
        ),
        ("retries", json!(5)),
        ("backoff", json!("250ms")),
        ("min-healthy", json!(1)),
        ("global-url", json!("https://global.example.com/")),
        ("conditions", json!(["status < 500"])),
        ("headers", json!({"x-probe": "1"})),
        ("verbose", json!(true)),
        ("region-from", json!("body.region")),
        ("mode", json!("careful")),
        ("timeout", json!(3)),
        ("extra", json!({"any": [1, "thing"]})),
        ("share", json!(1)),
        ("small", json!(255)),
    ]))
    .unwrap();
    assert_eq!(
        config.endpoints,
        [
            Endpoint::Url("https://a.example.com/".into()),
            Endpoint::Named {
                name: "b".into(),
                url: "https://b.example.com/".into()
            }
        ]
    );
    assert_eq!(config.retries, 5);
    assert_eq!(config.backoff, Duration::from_millis(250));
    assert_eq!(config.min_healthy, Some(1));
    assert_eq!(config.global_url.as_deref(), Some("https://global.example.com/"));
    assert_eq!(config.conditions, ["status < 500"]);
    assert_eq!(
        config.headers,
        BTreeMap::from([("x-probe".to_string(), "1".to_string())])
    );
    assert!(config.verbose);
    assert_eq!(config.region_from, "body.region");
    assert_eq!(config.mode, Mode::Careful);
    assert_eq!(config.timeout, Some(Duration::from_secs(3)));
    assert_eq!(config.extra, Some(json!({"any": [1, "thing"]})));
    assert_eq!(config.share, 1.0);
    assert_eq!(config.small, Some(255));
}

#[test]
fn defaults_apply_when_absent_or_null() {
    let mut nulls = minimal();
    nulls.extend([
        ("retries", Value::Null),
        ("min-healthy", Value::Null),
        ("backoff", Value::Null),
    ]);
    for pairs in [minimal(), nulls] {
        let config = Config::from_inputs(&given(&pairs)).unwrap();
        assert_eq!(config.retries, 2);
        assert_eq!(config.backoff, Duration::from_secs(1));
        assert_eq!(config.min_healthy, None);
        assert_eq!(config.global_url, None);
        assert_eq!(config.conditions, ["status == 200"]);
        assert_eq!(config.headers["accept"], "application/json");
        assert!(!config.verbose);
        assert_eq!(config.region_from, DEFAULT_REGION_FROM);
        assert_eq!(config.mode, Mode::Fast);
        assert_eq!((config.timeout, config.extra), (None, None));
        assert_eq!(config.share, 0.5);
    }
}

#[test]
fn a_missing_required_input_says_how_to_pass_it() {
    let (input, message) = invalid(Config::from_inputs(&given(&[])));
    assert_eq!(input, "endpoints");
    assert_eq!(message, "`endpoints` is required: pass `with: endpoints: …` (a list)");

    let (input, message) = invalid(Config::from_inputs(&given(&[("endpoints", Value::Null)])));
    assert_eq!(input, "endpoints");
    assert!(message.starts_with("`endpoints` is required"), "{message}");
}

#[test]
fn a_mistyped_input_names_the_expected_kind_and_what_was_given() {
    let long = "x".repeat(200);
    let cases: Vec<(&str, Value, String)> = vec![
        ("retries", json!("two"), r#"expected a number, got "two""#.into()),
        (
            "retries",
            json!(-1),
            "expected a whole number from 0 to 4294967295, got -1".into(),
        ),
        (
            "retries",
            json!(1.5),
            "expected a whole number from 0 to 4294967295, got 1.5".into(),
        ),
        (
            "small",
            json!(300),
            "expected a whole number from 0 to 255, got 300".into(),
        ),
        (
            "endpoints",
            json!("https://x/"),
            r#"expected a list, got "https://x/""#.into(),
        ),
        ("verbose", json!("yes"), r#"expected true or false, got "yes""#.into()),
        ("headers", json!([]), "expected a mapping, got []".into()),
        (
            "backoff",
            json!(true),
            "expected a duration such as `5s`, got true".into(),
        ),
        (
            "backoff",
            json!("soon"),
            "`soon` is not a duration (expected number at 0); write e.g. `300ms`, `5s`, `2m` or `14d`".into(),
        ),
        (
            "global-url",
            json!(["https://x/"]),
            r#"expected a string, got ["https://x/"]"#.into(),
        ),
        (
            "mode",
            json!("slow"),
            r#"unknown variant `slow`, expected `fast` or `careful` (got "slow")"#.into(),
        ),
        (
            "headers",
            json!({"x": 1}),
            r#"invalid type: integer `1`, expected a string (got {"x":1})"#.into(),
        ),
        (
            "conditions",
            json!([[long]]),
            format!(
                "invalid type: sequence, expected a string (got [[\"{}…)",
                "x".repeat(76)
            ),
        ),
    ];
    for (name, value, expected) in cases {
        let mut pairs = minimal();
        pairs.push((name, value.clone()));
        let (input, message) = invalid(Config::from_inputs(&given(&pairs)));
        assert_eq!(input, name, "{value}");
        assert_eq!(message, expected, "{name}: {value}");
    }
}

#[test]
fn string_inputs_take_scalars_as_the_host_does() {
    let mut pairs = minimal();
    pairs.push(("region-from", json!(3)));
    assert_eq!(Config::from_inputs(&given(&pairs)).unwrap().region_from, "3");
}

#[test]
fn the_wire_form_is_json_text() {
    let wire = |pairs: &[(&str, &str)]| -> Vec<Input> {
        pairs
            .iter()
            .map(|(name, value)| Input {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect()
    };
    let config = Config::parse(&wire(&[("endpoints", r#"["https://a/"]"#), ("backoff", r#""2m 30s""#)])).unwrap();
    assert_eq!(config.backoff, Duration::from_secs(150));
    let (input, message) = invalid(Config::parse(&wire(&[("endpoints", "[")])));
    assert_eq!(input, "endpoints");
    assert!(message.starts_with("the host sent invalid JSON"), "{message}");
}

/// Describe and parse cannot disagree: every default `describe` declares parses into its
/// field, and the host applying the declared defaults gives what the SDK's own defaults give.
#[test]
fn every_declared_default_parses_as_the_host_would_pass_it() {
    Config::check_defaults().unwrap();

    let specs = Config::specs();
    let required: Vec<&InputSpec> = specs.iter().filter(|s| s.required).collect();
    assert_eq!(required.len(), 1, "a sample value is needed for each required input");
    let sample = |spec: &InputSpec| Input {
        name: spec.name.clone(),
        value: json!(["https://us.example.com/healthz"]).to_string(),
    };
    let baseline = format!(
        "{:?}",
        Config::parse(&required.iter().map(|s| sample(s)).collect::<Vec<_>>()).unwrap()
    );

    let mut host_applied: Vec<Input> = required.iter().map(|s| sample(s)).collect();
    for spec in specs.iter().filter(|s| s.default.is_some()) {
        let default = spec.default.clone().unwrap();
        // The default parses as JSON of the declared kind, as the host checks it.
        let value: Value = serde_json::from_str(&default).unwrap();
        let fits = match spec.kind {
            ValueKind::String => value.is_string(),
            ValueKind::Number => value.is_number(),
            ValueKind::Boolean => value.is_boolean(),
            ValueKind::Duration => value.is_string() || value.is_number(),
            ValueKind::List => value.is_array(),
            ValueKind::Object => value.is_object(),
            ValueKind::Any => true,
        };
        assert!(
            fits,
            "the default of `{}` ({default}) is not of kind {:?}",
            spec.name, spec.kind
        );

        // Given alone, it parses, to what the SDK applies when it is absent.
        let mut one: Vec<Input> = required.iter().map(|s| sample(s)).collect();
        let input = Input {
            name: spec.name.clone(),
            value: default,
        };
        one.push(input.clone());
        let parsed = Config::parse(&one).unwrap_or_else(|e| panic!("the default of `{}`: {e:?}", spec.name));
        assert_eq!(format!("{parsed:?}"), baseline, "the default of `{}`", spec.name);
        host_applied.push(input);
    }
    assert_eq!(format!("{:?}", Config::parse(&host_applied).unwrap()), baseline);
}

/// A default that does not fit its field: a plugin bug, caught by `check_defaults`.
#[derive(Debug, tollgate_sdk::Inputs)]
struct Broken {
    /// A count.
    #[input(default = "two")]
    count: u32,
}

#[test]
fn a_default_that_does_not_fit_is_a_plugin_bug() {
    let expected = r#"the default of input `count` ("two") does not fit its field: expected a number, got "two""#;
    match Broken::check_defaults() {
        Err(PluginError::Internal(message)) => assert_eq!(message, expected),
        other => panic!("{other:?}"),
    }
    match Broken::from_inputs(&given(&[])) {
        Err(PluginError::Internal(message)) => assert_eq!(message, expected),
        other => panic!("{other:?}"),
    }
    // Given, the value is the workflow's mistake, not the plugin's.
    match Broken::from_inputs(&given(&[("count", json!(3))])) {
        std::result::Result::Ok(b) => assert_eq!(b.count, 3),
        other => panic!("{other:?}"),
    }
}

/// No inputs at all.
#[derive(tollgate_sdk::Inputs)]
struct Nothing {}

#[test]
fn a_struct_without_fields_has_no_inputs() {
    assert!(Nothing::specs().is_empty());
    assert!(Nothing::from_inputs(&given(&[])).is_ok());
    assert!(Nothing::check_defaults().is_ok());
}

#[test]
fn durations_read_and_write_the_same_text() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Nested {
        timeout: Duration,
    }
    let nested: Nested = serde_json::from_value(json!({"timeout": "1m 30s"})).unwrap();
    assert_eq!(*nested.timeout, std::time::Duration::from_secs(90));
    assert_eq!(serde_json::to_value(&nested).unwrap(), json!({"timeout": "1m 30s"}));
    assert_eq!(
        serde_json::from_value::<Duration>(json!(0.25)).unwrap(),
        Duration::from_millis(250)
    );
    assert_eq!(Duration::ZERO.to_string(), "0s");
    assert_eq!("14d".parse::<Duration>().unwrap(), Duration::from_secs(14 * 86_400));
    let err = serde_json::from_value::<Nested>(json!({"timeout": "later"})).unwrap_err();
    assert!(err.to_string().contains("`later` is not a duration"), "{err}");
}

/// Outputs of a sample plugin.
#[derive(tollgate_sdk::Outputs)]
struct Report {
    /// How many endpoints were healthy.
    healthy: u32,
    /// Comma-separated names of the unhealthy endpoints.
    failed_regions: String,
    /// The region that answered the global URL.
    #[output(name = "answered_by")]
    answered_by: Option<String>,
    /// Per-endpoint results, as JSON.
    report: BTreeMap<String, bool>,
    /// A value that may be absent.
    quorum: Option<u32>,
}

#[test]
fn outputs_are_declared_and_set_from_the_fields() {
    let specs: Vec<(String, String)> = <Report as TypedOutputs>::specs()
        .into_iter()
        .map(|o| (o.name, o.doc))
        .collect();
    let names: Vec<&str> = specs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["healthy", "failed-regions", "answered_by", "report", "quorum"]);
    assert_eq!(specs[0].1, "How many endpoints were healthy.");

    let report = Report {
        healthy: 2,
        failed_regions: "eu-west".into(),
        answered_by: None,
        report: BTreeMap::from([("us-east".into(), true), ("eu-west".into(), false)]),
        quorum: Some(2),
    };
    let values = report.values().unwrap();
    let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("healthy", "2"),
            ("failed-regions", "eu-west"),
            ("report", r#"{"eu-west":false,"us-east":true}"#),
            ("quorum", "2"),
        ]
    );
}

#[derive(Debug, tollgate_sdk::Inputs)]
struct Ranged {
    /// Retries.
    #[input(default = 2, range = 0..=10)]
    retries: u32,
    /// A share.
    #[input(range = 0.0..1.0)]
    share: Option<f64>,
    /// A floor.
    #[input(required, range = 1..)]
    floor: i64,
}

#[allow(dead_code)]
#[derive(Debug, tollgate_sdk::Inputs)]
struct BadRangedDefault {
    /// Retries.
    #[input(default = 11, range = 0..=10)]
    retries: u32,
}

fn message(e: PluginError) -> (String, String) {
    match e {
        PluginError::InvalidInput(e) => (e.input, e.message),
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[test]
fn ranges_bound_values_and_defaults() {
    let parse = |pairs: Value| {
        let map = pairs.as_object().unwrap().clone();
        Ranged::from_inputs(&Inputs::from_values(map))
    };
    let ok = parse(json!({"floor": 1})).unwrap();
    assert_eq!((ok.retries, ok.share, ok.floor), (2, None, 1));
    assert_eq!(
        message(parse(json!({"floor": 1, "retries": 11})).unwrap_err()),
        ("retries".into(), "expected a whole number from 0 to 10, got 11".into())
    );
    assert_eq!(
        message(parse(json!({"floor": 0})).unwrap_err()),
        ("floor".into(), "expected a whole number of at least 1, got 0".into())
    );
    assert_eq!(
        message(parse(json!({"floor": 1, "share": 1.0})).unwrap_err()).1,
        "expected a number from 0 up to but not including 1, got 1"
    );
    Ranged::check_defaults().unwrap();
    let e = BadRangedDefault::check_defaults().unwrap_err();
    assert!(
        matches!(&e, PluginError::Internal(m) if m.contains("expected a whole number from 0 to 10, got 11")),
        "{e:?}"
    );
}
