//! The corpus of spellings (`spellings.json`) against the vocab parsers: every accepted spelling parses and
//! prints as its canonical spelling, which parses to the same value; every refused spelling is refused for the
//! reason the corpus names. The pipeline crate checks the same corpus against its loader and the JSON Schema.

use std::path::Path;

use serde_json::Value;
use tollgate_vocab::{
    GithubPermission, Invalid, OriginPattern, check_secret_name, format_duration, format_size, parse_duration,
    parse_size,
};

/// `(text, canonical spelling)` for accepted spellings, `(text, phrase of the problem)` for refused ones.
type Pairs = Vec<(String, String)>;

/// The corpus, as `(kind, accepted, refused)`.
fn corpus() -> Vec<(String, Pairs, Pairs)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spellings.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pairs = |v: &Value| -> Pairs {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap().to_string(),
                    pair[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    json.as_object()
        .unwrap()
        .iter()
        .filter(|(kind, _)| !kind.starts_with('$'))
        .map(|(kind, v)| (kind.clone(), pairs(&v["accept"]), pairs(&v["refuse"])))
        .collect()
}

/// Parse `text` as `kind`, returning the canonical spelling.
fn canonical(kind: &str, text: &str) -> Result<String, Invalid> {
    match kind {
        "origin" => OriginPattern::parse(text).map(|o| o.to_string()),
        "duration" => parse_duration(text).map(format_duration),
        "size" => parse_size(text).map(format_size),
        "github-permission" => GithubPermission::parse(text).map(|p| p.to_string()),
        "secret-name" => check_secret_name(text).map(|()| text.to_string()),
        other => panic!("unknown kind `{other}` in spellings.json"),
    }
}

#[test]
fn the_corpus_covers_every_vocabulary() {
    let mut kinds: Vec<String> = corpus().into_iter().map(|(kind, ..)| kind).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["duration", "github-permission", "origin", "secret-name", "size"]
    );
    for (kind, accept, refuse) in corpus() {
        assert!(!accept.is_empty() && !refuse.is_empty(), "{kind}");
    }
}

#[test]
fn accepted_spellings_parse_to_their_canonical_spelling() {
    let mut problems = Vec::new();
    for (kind, accept, _) in corpus() {
        for (text, expected) in accept {
            match canonical(&kind, &text) {
                Ok(got) if got == expected => match canonical(&kind, &got) {
                    Ok(again) if again == got => {}
                    other => problems.push(format!("{kind} `{text}`: canonical `{got}` reparses as {other:?}")),
                },
                Ok(got) => problems.push(format!("{kind} `{text}`: canonical `{got}`, expected `{expected}`")),
                Err(e) => problems.push(format!("{kind} `{text}`: refused: {e}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn refused_spellings_say_why() {
    let mut problems = Vec::new();
    for (kind, _, refuse) in corpus() {
        for (text, phrase) in refuse {
            match canonical(&kind, &text) {
                Ok(got) => problems.push(format!("{kind} `{text}`: accepted as `{got}`")),
                Err(e) if !e.problem().contains(&phrase) => {
                    problems.push(format!("{kind} `{text}`: problem `{}` lacks `{phrase}`", e.problem()))
                }
                Err(e) if e.value != text || e.hint().is_none() => {
                    problems.push(format!("{kind} `{text}`: {e:?} should name the value and give a hint"))
                }
                Err(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
