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

pub fn to_json(info: &PluginInfo, digest: &str) -> serde_json::Value {
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
        })).collect::<Vec<_>>(),
        "outputs": info.outputs.iter().map(|o| serde_json::json!({"name": o.name, "doc": o.doc})).collect::<Vec<_>>(),
        "capabilities": info.capabilities.iter().map(|c| serde_json::json!({
            "capability": capability(&c.capability),
            "reason": c.reason,
            "optional": c.optional,
        })).collect::<Vec<_>>(),
    })
}

pub fn to_text(info: &PluginInfo, digest: &str) -> String {
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
