//! `--dry-run`: what a pipeline would do and grant, without running anything.

use tollgate_pipeline::{Pipeline, Section, StepKind};

/// `--dry-run`: every step with its kind, condition, fan-out and grants; nothing runs.
pub(crate) fn dry_run(pipeline: &Pipeline) -> String {
    let mut out = format!("pipeline {}\n", pipeline.name.as_deref().unwrap_or(&pipeline.file));
    let mut section = None;
    for visit in pipeline.walk_steps() {
        if section != Some(visit.section) {
            section = Some(visit.section);
            out.push_str(match visit.section {
                Section::Steps => "steps:\n",
                Section::Finally => "finally (always runs, also after a failure, timeout or signal):\n",
            });
        }
        let pad = "  ".repeat(visit.depth + 1);
        let step = visit.step;
        let what = match &step.kind {
            StepKind::Uses(u) => format!("uses {}", u.uses),
            StepKind::Run(r) => format!(
                "run `{}` (native, outside the sandbox)",
                r.run.source().lines().next().unwrap_or_default()
            ),
            StepKind::Group(g) => format!("group of {} step(s)", g.steps.len()),
        };
        out.push_str(&format!("{pad}- {}: {what}\n", step.id));
        if let Some(condition) = &step.condition {
            out.push_str(&format!("{pad}    if: {}\n", condition.source()));
        }
        if let Some(matrix) = &step.matrix {
            let keys: Vec<&str> = matrix.keys().collect();
            let parallel = matrix.max_parallel.map_or("all".to_string(), |n| n.to_string());
            out.push_str(&format!(
                "{pad}    fan-out over {} (max-parallel {parallel})\n",
                keys.join(", ")
            ));
        }
        if let StepKind::Uses(u) = &step.kind {
            out.push_str(&format!("{pad}    grants: {}\n", describe_allow(&u.allow)));
            if !u.allow.github.is_empty()
                && let Ok(plugin) = crate::sources::PluginRef::parse(&u.uses)
            {
                let owner = plugin.owner();
                let others: Vec<String> = u.allow.owners.iter().map(|o| format!("`{o}`")).collect();
                let also = match others.is_empty() {
                    true => String::new(),
                    false => format!(" and those of {}", others.join(", ")),
                };
                out.push_str(&format!(
                    "{pad}    on GitHub as `{owner}`: its refs are {}{owner}/…; it changes only comments and issues it created{also}\n",
                    tollgate_vocab::reach::NAMESPACE_ROOT
                ));
            }
        }
        if let StepKind::Run(r) = &step.kind {
            for a in &r.use_artifacts {
                out.push_str(&format!(
                    "{pad}    verifies artifact {} before running\n",
                    a.name.source()
                ));
            }
            for a in &r.artifacts {
                out.push_str(&format!(
                    "{pad}    signs artifact {} from {}\n",
                    a.name.source(),
                    a.path.source()
                ));
            }
        }
    }
    out
}

fn describe_allow(allow: &tollgate_pipeline::Allow) -> String {
    let mut parts = Vec::new();
    fn list<T: ToString>(name: &str, items: &[T]) -> Option<String> {
        let items: Vec<String> = items.iter().map(T::to_string).collect();
        (!items.is_empty()).then(|| format!("{name} {}", items.join(", ")))
    }
    parts.extend(list("net", &allow.net));
    parts.extend(list("read", &allow.read));
    parts.extend(list("write", &allow.write));
    parts.extend(list("secrets", &allow.secrets));
    parts.extend(list("github", &allow.github));
    parts.extend(list("refs", &allow.refs));
    parts.extend(list("owners", &allow.owners));
    if let Some(t) = allow.timeout {
        parts.push(format!("timeout {}", tollgate_vocab::format_duration(t)));
    }
    if let Some(m) = allow.memory {
        parts.push(format!("memory {}", tollgate_vocab::format_size(m)));
    }
    match parts.is_empty() {
        true => "none beyond the origins of URLs written in `with:`".into(),
        false => parts.join("; "),
    }
}
