//! A plugin that does nothing: the floor for step-overhead benchmarks.

use tollgate_sdk::{Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext};

struct Noop;

impl Plugin for Noop {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "noop".into(),
            version: "0.1.0".into(),
            summary: "Does nothing and passes.".into(),
            inputs: vec![],
            outputs: vec![],
            capabilities: vec![],
        }
    }

    fn run(_: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        Ok(RunReport {
            status: Status::Passed,
            message: "nothing to do".into(),
        })
    }
}

tollgate_sdk::export_plugin!(Noop);
