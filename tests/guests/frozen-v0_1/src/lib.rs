//! A plugin built against the frozen `tollgate:plugin@0.1.0` (`wit/since_v0.1.0/`), not the
//! current WIT: the compatibility test runs it through today's host, so a release that
//! stops loading 0.1 plugins fails the suite. It uses no SDK, as a third party might.

wit_bindgen::generate!({
    path: "../../../wit/since_v0.1.0",
    world: "plugin",
    generate_all,
});

use tollgate::plugin::types::{InputSpec, OutputSpec};
use tollgate::plugin::types::{Status, ValueKind};

struct Frozen;

impl Guest for Frozen {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "frozen-v0-1".into(),
            version: "0.1.0".into(),
            summary: "Built against tollgate:plugin@0.1.0 as frozen.".into(),
            inputs: vec![InputSpec {
                name: "greeting".into(),
                kind: ValueKind::String,
                required: false,
                default: Some("\"hello\"".into()),
                doc: "what to echo".into(),
                grants_origins: false,
            }],
            outputs: vec![OutputSpec {
                name: "echo".into(),
                doc: "the greeting".into(),
            }],
            capabilities: vec![],
        }
    }

    fn run(inputs: Vec<Input>, _: StepContext) -> Result<RunReport, PluginError> {
        let greeting = inputs
            .iter()
            .find(|i| i.name == "greeting")
            .map(|i| i.value.trim_matches('"').to_string())
            .unwrap_or_default();
        tollgate::plugin::outputs::set("echo", &greeting).map_err(PluginError::Internal)?;
        Ok(RunReport {
            status: Status::Passed,
            message: format!("0.1 plugin ran: {greeting}"),
        })
    }
}

export!(Frozen);
