//! A plugin with an input it declares sensitive (`#[input(sensitive)]`), which then writes that
//! input's value every way a plugin can: log, message, output, summary, artifact. The host must
//! mask each and record the input in statements as a digest only.

use tollgate_sdk::{Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs, TypedOutputs};

struct Careless;

/// The inputs.
#[derive(tollgate_sdk::Inputs)]
struct Given {
    /// A credential the workflow passes in clear.
    #[input(sensitive, required)]
    token: String,
    /// Something that is not a secret.
    #[input(default = "public")]
    note: String,
}

/// The outputs.
#[derive(Default, tollgate_sdk::Outputs)]
struct Said {
    /// The token, echoed.
    echoed: String,
}

impl Plugin for Careless {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "careless".into(),
            version: "0.1.0".into(),
            summary: "Echoes a sensitive input everywhere.".into(),
            inputs: Given::specs(),
            outputs: Said::specs(),
            capabilities: vec![],
        }
    }

    fn run(inputs: tollgate_sdk::Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        let given = Given::from_inputs(&inputs)?;
        tollgate_sdk::info(&format!("the token is {} ({})", given.token, given.note));
        tollgate_sdk::append_summary(&format!("token: {}\n", given.token));
        let _ = tollgate_sdk::artifacts::put("token", "text/plain", given.token.as_bytes());
        Said {
            echoed: given.token.clone(),
        }
        .set_all()?;
        Ok(RunReport {
            status: Status::Passed,
            message: format!("told everyone {}", given.token),
        })
    }
}

tollgate_sdk::export_plugin!(Careless);
