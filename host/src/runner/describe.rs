//! Rendering a plugin's self-description for people (`plugin describe`) and machines (`--json`).

use crate::bindings::tollgate::plugin::types::{Capability, PluginInfo, ValueKind};

fn kind(k: ValueKind) -> &'static str {
    match k {
        ValueKind::String => "string",
        ValueKind::Number => "number",
        ValueKind::Boolean => "boolean",
        ValueKind::Duration => "duration",
        ValueKind::List => "list",
        ValueKind::Object => "object",
        ValueKind::Any => "any",
    }
}

fn capability(c: &Capability) -> String {
    match c {
        Capability::Net(origin) => format!("net {origin}"),
        Capability::Read => "read".into(),
        Capability::Write => "write".into(),
        Capability::Secret(name) => format!("secret {name}"),
        Capability::Github(p) => format!("github {p:?}"),
    }
}

/// The `--json` form.
pub fn to_json(info: &PluginInfo, digest: &str, sensitive: &[String]) -> serde_json::Value {
    serde_json::json!({
        "name": info.name,
        "version": info.version,
        "summary": info.summary,
        "digest": digest,
        "inputs": info.inputs.iter().map(|i| serde_json::json!({
            "name": i.name,
            "kind": kind(i.kind),
            "required": i.required,
            "default": i.default.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()),
            "doc": i.doc,
            "grants_origins": i.grants_origins,
            "sensitive": sensitive.contains(&i.name),
        })).collect::<Vec<_>>(),
        "outputs": info.outputs.iter().map(|o| serde_json::json!({"name": o.name, "doc": o.doc})).collect::<Vec<_>>(),
        "capabilities": info.capabilities.iter().map(|c| serde_json::json!({
            "capability": capability(&c.capability),
            "reason": c.reason,
            "optional": c.optional,
        })).collect::<Vec<_>>(),
    })
}

/// The form for people; the printer neutralises it line by line.
pub fn to_text(info: &PluginInfo, digest: &str, sensitive: &[String]) -> String {
    let mut out = format!(
        "{} {} — {}\ndigest: {digest}\n\ninputs:\n",
        info.name, info.version, info.summary
    );
    for i in &info.inputs {
        let mut flags = vec![kind(i.kind).to_string()];
        if i.required {
            flags.push("required".into());
        }
        if let Some(d) = &i.default {
            flags.push(format!("default {d}"));
        }
        if i.grants_origins {
            flags.push("its URLs are granted".into());
        }
        if sensitive.contains(&i.name) {
            flags.push("sensitive: masked, recorded as a digest".into());
        }
        out.push_str(&format!("  {} ({})\n      {}\n", i.name, flags.join(", "), i.doc));
    }
    out.push_str("\noutputs:\n");
    for o in &info.outputs {
        out.push_str(&format!("  {}\n      {}\n", o.name, o.doc));
    }
    out.push_str("\ncapabilities requested:\n");
    for c in &info.capabilities {
        let optional = if c.optional { " (optional)" } else { "" };
        out.push_str(&format!("  {}{optional}: {}\n", capability(&c.capability), c.reason));
    }
    out
}

/// Print a plugin's self-description on stdout, marking the inputs it declares `sensitive`.
pub fn print(info: &PluginInfo, digest: &str, sensitive: &[String], json: bool) {
    if json {
        super::report::print_json(&to_json(info, digest, sensitive));
    } else {
        super::printer::print_text(&to_text(info, digest, sensitive));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::tollgate::plugin::types::{CapabilityRequest, GithubPermission, InputSpec, OutputSpec};
    use crate::runner::printer::Line;

    /// Every string field of `plugin-info`, each holding an attack, rendered both ways.
    #[test]
    fn every_string_of_a_description_is_neutralised() {
        for payload in [
            "\n::add-mask::PWN",
            "\r::set-env name=PWN::x",
            "##[error]PWN",
            "\x1b]0;PWN\x07",
            "\u{202e}PWN",
            "\u{85}::warning::PWN",
        ] {
            let p = payload.to_string();
            let info = PluginInfo {
                name: p.clone(),
                version: p.clone(),
                summary: p.clone(),
                inputs: vec![InputSpec {
                    name: p.clone(),
                    kind: ValueKind::String,
                    required: false,
                    default: Some(p.clone()),
                    doc: p.clone(),
                    grants_origins: true,
                }],
                outputs: vec![OutputSpec {
                    name: p.clone(),
                    doc: p.clone(),
                }],
                capabilities: [
                    Capability::Net(p.clone()),
                    Capability::Secret(p.clone()),
                    Capability::Github(GithubPermission::IssuesRead),
                ]
                .into_iter()
                .map(|capability| CapabilityRequest {
                    capability,
                    reason: p.clone(),
                    optional: false,
                })
                .collect(),
            };
            let text: Vec<String> = to_text(&info, "sha256:0", &[])
                .lines()
                .map(|l| Line::Text(l.into()).render())
                .collect();
            let json = super::super::report::json_text(&to_json(&info, "sha256:0", &[]));
            serde_json::from_str::<serde_json::Value>(&json).expect("still JSON");
            for line in text.iter().map(String::as_str).chain(json.lines()) {
                let trimmed = line.trim_start();
                assert!(
                    !trimmed.starts_with("::") && !line.contains("##["),
                    "{payload:?}: {line:?}"
                );
                assert!(
                    !line
                        .chars()
                        .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                    "{payload:?}: {line:?}"
                );
            }
        }
    }
}
