//! What a plugin declares in `describe`: how many inputs, outputs and capability requests, how long its names,
//! docs and defaults may be, which characters names and versions use, and which outputs the host reserves.
//!
//! `describe` is plugin-written, so the host checks it before anything uses it: sizes are capped and names are
//! restricted to what runner files and flags can carry. The host and the SDK's `MockHost` both check through
//! [`check_declared`], so a plugin a test accepts is a plugin the host accepts.

/// Most inputs, outputs or capability requests a plugin may declare.
pub const MAX_DECLARED: usize = 64;
/// Longest name (plugin, input, output) or version.
pub const MAX_NAME: usize = 64;
/// Longest summary, doc or reason.
pub const MAX_DOC: usize = 4 << 10;
/// Longest default value (JSON).
pub const MAX_DEFAULT: usize = 64 << 10;
/// Outputs the host sets on every step; the runner reads output names without regard to case.
pub const RESERVED_OUTPUTS: &[&str] = &["status", "message", "outputs"];

/// Is `name` a plugin, input or output name: 1-[`MAX_NAME`] ASCII letters, digits, `-` and `_`?
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Is `version` a plugin version: 1-[`MAX_NAME`] ASCII letters, digits, `.`, `-`, `+` and `_`?
pub fn is_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= MAX_NAME
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
}

/// An input or output as `describe` declares it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Field<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its doc.
    pub doc: &'a str,
    /// Its default, as JSON text (inputs only).
    pub default: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// An input: its name, doc and default (JSON text).
    pub fn input(name: &'a str, doc: &'a str, default: Option<&'a str>) -> Self {
        Field { name, doc, default }
    }

    /// An output: its name and doc.
    pub fn output(name: &'a str, doc: &'a str) -> Self {
        Field {
            name,
            doc,
            default: None,
        }
    }
}

/// What `describe` returned, in the parts the host checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared<'a> {
    /// The plugin's name.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// Its summary.
    pub summary: &'a str,
    /// Its inputs, in declaration order.
    pub inputs: Vec<Field<'a>>,
    /// Its outputs, in declaration order.
    pub outputs: Vec<Field<'a>>,
    /// The reason of each capability request, in declaration order.
    pub reasons: Vec<&'a str>,
}

impl<'a> Declared<'a> {
    /// What `describe` returned, from its `[name, version, summary]`, its inputs and outputs, and the reason of
    /// each capability request: the host and the `MockHost` each hold it in their own WIT bindings' types.
    pub fn new(
        [name, version, summary]: [&'a str; 3],
        inputs: impl IntoIterator<Item = Field<'a>>,
        outputs: impl IntoIterator<Item = Field<'a>>,
        reasons: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        Declared {
            name,
            version,
            summary,
            inputs: inputs.into_iter().collect(),
            outputs: outputs.into_iter().collect(),
            reasons: reasons.into_iter().collect(),
        }
    }
}

/// Check what `describe` returned. The error is the reason why the plugin is not valid ([`invalid`]).
pub fn check_declared(info: &Declared<'_>) -> Result<(), String> {
    let counts = [
        ("inputs", info.inputs.len()),
        ("outputs", info.outputs.len()),
        ("capability requests", info.reasons.len()),
    ];
    if let Some((what, n)) = counts.iter().find(|(_, n)| *n > MAX_DECLARED) {
        return Err(format!("it declares {n} {what}; the limit is {MAX_DECLARED}"));
    }
    let mut names = info
        .outputs
        .iter()
        .chain(&info.inputs)
        .map(|f| f.name)
        .chain([info.name]);
    if let Some(name) = names.find(|n| !is_name(n)) {
        return Err(format!(
            "it declares the name `{name}`; names are 1-{MAX_NAME} letters, digits, `-` and `_`"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for output in &info.outputs {
        let folded = output.name.to_ascii_lowercase();
        if RESERVED_OUTPUTS.contains(&folded.as_str()) || !seen.insert(folded) {
            return Err(format!(
                "it declares the output `{}` twice or under a name the host reserves ({}); names are compared without case",
                output.name,
                RESERVED_OUTPUTS.join(", ")
            ));
        }
    }
    if !is_version(info.version) {
        return Err(format!(
            "its version `{}` is not a version (1-{MAX_NAME} of letters, digits, `.-+_`)",
            info.version
        ));
    }
    let mut docs = [info.summary]
        .into_iter()
        .chain(info.inputs.iter().map(|i| i.doc))
        .chain(info.outputs.iter().map(|o| o.doc))
        .chain(info.reasons.iter().copied());
    if let Some(doc) = docs.find(|d| d.len() > MAX_DOC) {
        return Err(format!(
            "a summary, doc or reason is {} bytes; the limit is {MAX_DOC}",
            doc.len()
        ));
    }
    if let Some(input) = info
        .inputs
        .iter()
        .find(|i| i.default.is_some_and(|d| d.len() > MAX_DEFAULT))
    {
        return Err(format!(
            "the default of input `{}` is larger than {MAX_DEFAULT} bytes",
            input.name
        ));
    }
    Ok(())
}

/// The message for a plugin whose declaration (or component) is unusable:
/// ``"`PLUGIN` is not a valid Tollgate plugin: REASON"``.
pub fn invalid(plugin: &str, reason: &str) -> String {
    format!("`{plugin}` is not a valid Tollgate plugin: {reason}")
}

/// Why a plugin is invalid when a capability request names a malformed origin.
pub fn malformed_origin(error: &crate::Invalid) -> String {
    format!("it requests a malformed origin: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>() -> Declared<'a> {
        Declared::new(
            ["ping", "1.0.0+build_1", "Ping."],
            [Field::input("url", "What to ping.", Some("\"https://example.com\""))],
            [Field::output("latency-ms", "How long it took.")],
            ["to ping"],
        )
    }

    #[test]
    fn a_plain_declaration_passes() {
        assert_eq!(check_declared(&info()), Ok(()));
    }

    #[test]
    fn each_limit_is_said() {
        let check = |edit: &dyn Fn(&mut Declared<'static>)| {
            let mut i = info();
            edit(&mut i);
            check_declared(&i).unwrap_err()
        };
        assert_eq!(
            check(&|i| i.reasons = vec!["r"; 65]),
            "it declares 65 capability requests; the limit is 64"
        );
        assert_eq!(
            check(&|i| i.name = "a b"),
            "it declares the name `a b`; names are 1-64 letters, digits, `-` and `_`"
        );
        assert!(check(&|i| i.outputs[0].name = "Status").contains("the output `Status` twice or under a name"));
        assert!(check(&|i| i.outputs.push(i.outputs[0])).contains("twice"));
        assert_eq!(
            check(&|i| i.version = "1 0"),
            "its version `1 0` is not a version (1-64 of letters, digits, `.-+_`)"
        );
        let long: &'static str = Box::leak("x".repeat(MAX_DOC + 1).into_boxed_str());
        assert_eq!(
            check(&|i| i.outputs[0].doc = long),
            "a summary, doc or reason is 4097 bytes; the limit is 4096"
        );
        let big: &'static str = Box::leak("1".repeat(MAX_DEFAULT + 1).into_boxed_str());
        assert_eq!(
            check(&|i| i.inputs[0].default = Some(big)),
            "the default of input `url` is larger than 65536 bytes"
        );
    }

    #[test]
    fn names_and_versions() {
        assert!(is_name("a-b_C9") && !is_name("") && !is_name("a.b") && !is_name(&"a".repeat(65)));
        assert!(is_version("1.2.3-rc.1+g00d") && !is_version("") && !is_version("1/2"));
    }
}
