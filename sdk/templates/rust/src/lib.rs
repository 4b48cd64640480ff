//! __NAME__: a Tollgate plugin.
//!
//! Build it with `tollgate plugin build`, test it with `cargo test` (in-process, against
//! the SDK's mock host) and `tollgate plugin test` (the built component, through the real
//! host, with the cases in `tollgate-tests.yaml`).

use tollgate_sdk::{Inputs, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs, TypedOutputs};

/// The step's inputs, declared once: `describe` and `run` both read them from here.
#[derive(tollgate_sdk::Inputs)]
pub struct Config {
    /// Who to greet.
    #[input(default = "world")]
    pub name: String,
}

/// The step's outputs.
#[derive(tollgate_sdk::Outputs)]
pub struct Greeting {
    /// The greeting, e.g. `Hello, world!`.
    pub greeting: String,
}

/// The plugin.
pub struct Plugin;

impl tollgate_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "__NAME__".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Greets someone by name.".into(),
            inputs: Config::specs(),
            outputs: Greeting::specs(),
            capabilities: Vec::new(),
        }
    }

    fn run(inputs: Inputs, _context: StepContext) -> Result<RunReport, PluginError> {
        let config = Config::from_inputs(&inputs)?;
        if config.name.trim().is_empty() {
            return Err(tollgate_sdk::invalid_input(
                "name",
                "it is empty: write who to greet, e.g. `name: Ada`",
            ));
        }
        let greeting = format!("Hello, {}!", config.name);
        tollgate_sdk::info(&greeting);
        Greeting {
            greeting: greeting.clone(),
        }
        .set_all()?;
        Ok(RunReport {
            status: Status::Passed,
            message: greeting,
        })
    }
}

tollgate_sdk::export_plugin!(Plugin);

#[cfg(test)]
mod tests {
    use super::Plugin;
    use tollgate_sdk::PluginError;
    use tollgate_sdk::testing::MockHost;

    #[test]
    fn greets_by_name() {
        let outcome = MockHost::new().input("name", "Ada").run::<Plugin>();
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        assert_eq!(outcome.output("greeting"), Some("Hello, Ada!"));
        assert!(outcome.logged("Hello, Ada!"));
    }

    #[test]
    fn greets_the_world_by_default() {
        let outcome = MockHost::new().run::<Plugin>();
        assert_eq!(outcome.output("greeting"), Some("Hello, world!"));
    }

    #[test]
    fn an_empty_name_is_an_invalid_input() {
        let outcome = MockHost::new().input("name", " ").run::<Plugin>();
        match &outcome.result {
            Err(PluginError::InvalidInput(e)) => assert_eq!(e.input, "name"),
            other => panic!("expected invalid-input, got {other:?}"),
        }
        assert_eq!(outcome.output("greeting"), None);
    }
}
