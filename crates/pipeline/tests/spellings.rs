//! One rule, three readers: `tollgate_vocab`'s parsers, the pipeline loader and the JSON Schema's patterns must
//! agree on every spelling of an origin, a duration, a size, a GitHub permission and a secret name.
//!
//! The corpus is `crates/vocab/tests/spellings.json` (also read by the vocab crate's tests and by
//! `scripts/check-schema.py`, which validates whole documents with a real JSON Schema validator). Generated
//! spellings probe the edges the corpus cannot list one by one: every duration and size near a bound, and
//! hosts, IPv4 and IPv6 literals built from the characters that matter.

use std::path::Path;

use fancy_regex::Regex;
use serde_json::Value;
use tollgate_pipeline::vocab::{
    self, GithubPermission, OriginPattern, check_secret_name, format_duration, format_size, parse_duration, parse_size,
};
use tollgate_pipeline::{StepKind, parse};

const KINDS: [&str; 5] = ["origin", "duration", "size", "github-permission", "secret-name"];

fn read_json(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every spelling of the corpus: `(kind, text, accepted)`.
fn corpus() -> Vec<(&'static str, String, bool)> {
    let json = read_json("../vocab/tests/spellings.json");
    let mut out = Vec::new();
    for kind in KINDS {
        for (side, accepted) in [("accept", true), ("refuse", false)] {
            let items = json[kind][side]
                .as_array()
                .unwrap_or_else(|| panic!("spellings.json has no {kind}.{side}"));
            for item in items {
                out.push((kind, item[0].as_str().unwrap().to_string(), accepted));
            }
        }
    }
    out
}

/// The schema's definition of each kind: a pattern, or a list of names.
struct Schema {
    json: Value,
    patterns: Vec<(&'static str, Regex)>,
}

impl Schema {
    fn load() -> Self {
        let json = read_json("../../schema/pipeline.schema.json");
        let patterns = KINDS
            .iter()
            .filter_map(|kind| {
                let def = &json["$defs"][Self::def_name(kind)];
                let pattern = def["pattern"].as_str()?;
                assert_eq!(def["type"], "string", "$defs.{}", Self::def_name(kind));
                let regex =
                    Regex::new(pattern).unwrap_or_else(|e| panic!("$defs.{}.pattern: {e}", Self::def_name(kind)));
                Some((*kind, regex))
            })
            .collect();
        Self { json, patterns }
    }

    fn def_name(kind: &str) -> &'static str {
        match kind {
            "origin" => "origin",
            "duration" => "duration",
            "size" => "size",
            "github-permission" => "github-permission",
            "secret-name" => "env-name",
            other => panic!("unknown kind {other}"),
        }
    }

    fn accepts(&self, kind: &str, text: &str) -> bool {
        if let Some((_, regex)) = self.patterns.iter().find(|(k, _)| *k == kind) {
            return regex.is_match(text).unwrap_or_else(|e| panic!("{kind} `{text}`: {e}"));
        }
        let names = self.json["$defs"][Self::def_name(kind)]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("$defs.{} has neither a pattern nor an enum", Self::def_name(kind)));
        names.iter().any(|n| n == text)
    }
}

/// The canonical spelling by the vocab parser, or its error's problem.
fn by_vocab(kind: &str, text: &str) -> Result<String, vocab::Invalid> {
    match kind {
        "origin" => OriginPattern::parse(text).map(|o| o.to_string()),
        "duration" => parse_duration(text).map(format_duration),
        "size" => parse_size(text).map(format_size),
        "github-permission" => GithubPermission::parse(text).map(|p| p.to_string()),
        "secret-name" => check_secret_name(text).map(|()| text.to_string()),
        other => panic!("unknown kind {other}"),
    }
}

/// The canonical spelling by the pipeline loader, or its diagnostics. Durations are read both as a step's
/// `timeout` and as `allow.timeout`, secret names both as `allow.secrets` and as an `env` key, and the readings
/// must agree.
fn by_loader(kind: &str, text: &str) -> Result<String, Vec<String>> {
    let quoted = serde_json::to_string(text).unwrap();
    let uses = |allow: &str| format!("steps:\n  - id: a\n    uses: x\n    allow: {{ {allow} }}\n");
    let files = match kind {
        "origin" => vec![uses(&format!("net: [{quoted}]"))],
        "duration" => vec![
            uses(&format!("timeout: {quoted}")),
            format!("steps:\n  - id: a\n    run: echo\n    timeout: {quoted}\n"),
        ],
        "size" => vec![uses(&format!("memory: {quoted}"))],
        "github-permission" => vec![uses(&format!("github: [{quoted}]"))],
        "secret-name" => vec![
            uses(&format!("secrets: [{quoted}]")),
            format!("steps:\n  - id: a\n    run: echo\n    env: {{ {quoted}: x }}\n"),
        ],
        other => panic!("unknown kind {other}"),
    };
    let readings: Vec<Result<String, Vec<String>>> = files
        .iter()
        .map(|file| match parse("p.yml", file) {
            Err(diags) => Err(diags.iter().map(ToString::to_string).collect()),
            Ok(p) => {
                let step = &p.steps[0];
                Ok(match &step.kind {
                    StepKind::Uses(u) => match kind {
                        "origin" => u.allow.net.iter().map(ToString::to_string).collect(),
                        "duration" => u.allow.timeout.map(format_duration).unwrap_or_default(),
                        "size" => u.allow.memory.map(format_size).unwrap_or_default(),
                        "github-permission" => u.allow.github.iter().map(ToString::to_string).collect(),
                        _ => u.allow.secrets.concat(),
                    },
                    _ if kind == "duration" => step.timeout.map(format_duration).unwrap_or_default(),
                    _ => step.env.keys().cloned().collect(),
                })
            }
        })
        .collect();
    let first = readings[0].clone();
    for (file, reading) in files.iter().zip(&readings) {
        assert_eq!(
            reading.is_ok(),
            first.is_ok(),
            "{kind} `{text}` read differently in:\n{file}{reading:?}"
        );
        if let (Ok(a), Ok(b)) = (reading, &first) {
            assert_eq!(a, b, "{kind} `{text}`");
        }
    }
    first
}

#[test]
fn the_schema_uses_the_vocabularies_everywhere() {
    let schema = Schema::load().json;
    let defs = &schema["$defs"];
    let allow = &defs["allow"]["properties"];
    for (at, value, def) in [
        ("allow.net.items", &allow["net"]["items"], "origin"),
        ("allow.timeout", &allow["timeout"], "duration"),
        ("allow.memory", &allow["memory"], "size"),
        ("allow.github.items", &allow["github"]["items"], "github-permission"),
        ("allow.secrets.items", &allow["secrets"]["items"], "env-name"),
        ("step.timeout", &defs["step"]["properties"]["timeout"], "duration"),
        ("env.propertyNames", &defs["env"]["propertyNames"], "env-name"),
    ] {
        assert_eq!(value["$ref"], format!("#/$defs/{def}"), "{at}");
    }
    let names: Vec<&str> = GithubPermission::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(defs["github-permission"]["enum"], serde_json::json!(names));
}

#[test]
fn vocab_loader_and_schema_agree_on_the_corpus() {
    let schema = Schema::load();
    let mut problems = Vec::new();
    for (kind, text, accepted) in corpus() {
        let vocab = by_vocab(kind, &text);
        let loader = by_loader(kind, &text);
        let schema_ok = schema.accepts(kind, &text);
        if vocab.is_ok() != accepted {
            problems.push(format!(
                "{kind} `{text}`: corpus says accepted={accepted}, vocab says {vocab:?}"
            ));
        }
        if schema_ok != vocab.is_ok() {
            problems.push(format!(
                "{kind} `{text}`: schema accepts={schema_ok}, vocab says {vocab:?}"
            ));
        }
        match (&vocab, &loader) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(e), Err(diags)) => {
                // One diagnostic per file, saying what vocab says.
                if !(diags.len() == 1 && diags[0].contains(e.problem())) {
                    problems.push(format!("{kind} `{text}`: vocab says `{e}`, the loader says {diags:?}"));
                }
            }
            _ => problems.push(format!(
                "{kind} `{text}`: vocab says {vocab:?}, the loader says {loader:?}"
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn typed_yaml_values_are_refused_by_loader_and_schema() {
    // `timeout: 10` and `memory: 256` are YAML numbers: the schema's `type: string` refuses them, and the
    // loader reads their text, which has no unit.
    let schema = Schema::load().json;
    for def in ["duration", "size"] {
        assert_eq!(schema["$defs"][def]["type"], "string");
    }
    for file in [
        "steps:\n  - id: a\n    run: echo\n    timeout: 10\n",
        "steps:\n  - id: a\n    uses: x\n    allow: { memory: 256 }\n",
        "steps:\n  - id: a\n    uses: x\n    allow: { timeout: 1.5 }\n",
    ] {
        let diags = parse("p.yml", file).err().unwrap_or_default();
        assert_eq!(diags.len(), 1, "{file}");
    }
}

/// A small deterministic generator, so generated spellings are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Check generated spellings: schema and vocab must agree on each.
fn agree(schema: &Schema, kind: &str, spellings: impl IntoIterator<Item = String>) -> usize {
    let mut problems = Vec::new();
    let mut accepted = 0;
    let mut total = 0;
    for text in spellings {
        total += 1;
        let vocab = by_vocab(kind, &text);
        accepted += usize::from(vocab.is_ok());
        let schema_ok = schema.accepts(kind, &text);
        if schema_ok != vocab.is_ok() {
            problems.push(format!("`{text}`: schema accepts={schema_ok}, vocab says {vocab:?}"));
        }
    }
    let shown: Vec<_> = problems.iter().take(30).cloned().collect();
    assert!(
        problems.is_empty(),
        "{kind}: {} of {total} disagree:\n{}",
        problems.len(),
        shown.join("\n")
    );
    assert!(
        accepted > 0 && accepted < total,
        "{kind}: the generator should produce both"
    );
    total
}

/// Numbers near every bound of the duration grammar.
#[rustfmt::skip]
const NUMBERS: [&str; 36] = [
    "0", "00", "05", "1", "5", "9", "10", "23", "24", "25", "30", "59", "60", "61", "99", "100", "999", "1000",
    "1439", "1440", "1441", "3600", "9999", "10000", "86399", "86400", "86401", "99999", "100000", "9999999",
    "10000000", "85999999", "86399999", "86400000", "86400001", "99999999999999999999",
];

#[test]
fn schema_and_vocab_agree_on_generated_durations() {
    let schema = Schema::load();
    let parts: Vec<String> = NUMBERS
        .iter()
        .flat_map(|n| ["h", "m", "s", "ms", "", "d", "H", "us"].map(|u| format!("{n}{u}")))
        .collect();
    let mut spellings: Vec<String> = Vec::new();
    for a in &parts {
        spellings.push(a.clone());
        for b in &parts {
            spellings.push(format!("{a}{b}"));
        }
    }
    for h in NUMBERS {
        for m in NUMBERS {
            for s in NUMBERS {
                spellings.push(format!("{h}h{m}m{s}s"));
            }
        }
    }
    for first in ["1h", "24h", "1439m", "1440m", "86399s", "86400s", "23h59m59s", "1h1m"] {
        for ms in ["0", "00", "1", "999", "1000", "0999", "86400000", "86400001"] {
            spellings.push(format!("{first}{ms}ms"));
        }
    }
    agree(&schema, "duration", spellings);
}

#[test]
fn schema_and_vocab_agree_on_generated_sizes() {
    let schema = Schema::load();
    let units = ["MiB", "GiB", "MB", "GB", "KiB", "B", "mib", "", " MiB", "TiB"];
    let mut spellings: Vec<String> = (0..=5000).flat_map(|n| units.map(|u| format!("{n}{u}"))).collect();
    for n in [
        "04",
        "4294",
        "4295",
        "4096",
        "4097",
        "4294967296",
        "99999999999999999999",
        "1.5",
        "-1",
    ] {
        spellings.extend(units.map(|u| format!("{n}{u}")));
    }
    agree(&schema, "size", spellings);
}

#[test]
fn schema_and_vocab_agree_on_generated_origins() {
    let schema = Schema::load();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let schemes = ["https://", "http://", "HTTPS://", "ftp://", "https:/", ""];
    let ports = [
        "", "", "", ":*", ":443", ":8080", ":0", ":65535", ":65536", ":080", ":", "/", ":*/", "/x",
    ];
    let mut spellings = Vec::new();

    // Hosts from the characters that matter.
    let pieces = [
        "a", "b", "x", "Z", "0", "1", "9", "-", ".", ".", "*", "*.", "0x", "ab-c", "127", "255", "256", "01", "_", " ",
        "%", "ü", ":", "[", "]", "@",
    ];
    for _ in 0..20_000 {
        let len = 1 + rng.below(6);
        let host: String = (0..len).map(|_| rng.pick(&pieces)).collect();
        spellings.push(format!("{}{host}{}", rng.pick(&schemes), rng.pick(&ports)));
    }
    // IPv4-looking hosts.
    let octets = [
        "0", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "300", "01", "1000", "0x7f", "a",
    ];
    for _ in 0..5_000 {
        let parts = 1 + rng.below(5);
        let host: Vec<&str> = (0..parts).map(|_| rng.pick(&octets)).collect();
        let dot = if rng.below(8) == 0 { "." } else { "" };
        spellings.push(format!("https://{}{dot}{}", host.join("."), rng.pick(&ports)));
    }
    // IPv6 literals: groups, one or two `::`, an IPv4 tail.
    let groups = [
        "0",
        "1",
        "ab",
        "FFFF",
        "fffff",
        "12345",
        "g",
        "",
        "0000",
        "1.2.3.4",
        "256.1.1.1",
        "01.2.3.4",
    ];
    for _ in 0..20_000 {
        let n = rng.below(10);
        let mut inner: Vec<String> = (0..n).map(|_| rng.pick(&groups).to_string()).collect();
        for _ in 0..rng.below(3) {
            let at = rng.below(inner.len() + 1);
            inner.insert(at, String::new());
        }
        let mut text = inner.join(":");
        if rng.below(10) == 0 {
            text.push_str("%25eth0");
        }
        spellings.push(format!("https://[{text}]{}", rng.pick(&ports)));
    }
    // Hosts near the length limits: labels of 61-64 characters, names of 250-256.
    for total in 248..=258 {
        for label in [61, 62, 63, 64] {
            let mut labels = Vec::new();
            let mut left: usize = total;
            while left > 0 {
                let take = left.min(label);
                labels.push("a".repeat(take));
                left = left.saturating_sub(take + 1);
            }
            let host = labels.join(".");
            for wrap in ["{}", "{}.", "*.{}", "x{}"] {
                spellings.push(format!("https://{}", wrap.replace("{}", &host)));
            }
        }
    }
    agree(&schema, "origin", spellings);
}
