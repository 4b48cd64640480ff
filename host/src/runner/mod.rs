//! Runner integration: the only module that reads `GITHUB_*` and `INPUT_*` variables or prints.
//!
//! On a runner it writes workflow commands, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`;
//! locally it renders a readable terminal report instead, or JSON with `--json`.
//!
//! - [`env`]: what the runner tells us (run context, action inputs, secret values, GitHub
//!   API URL, token and repository).
//! - [`printer`]: the one neutraliser and every line printed while a step runs.
//! - [`report`]: how a finished step or pipeline is reported (runner files, text, JSON).
//! - [`describe`]: a plugin's self-description for people and machines.

pub mod describe;
pub mod env;
pub mod printer;
pub mod report;

pub use env::{action_input, action_list, context, default_artifacts_dir, github_config, secret_values};
pub use printer::{Printer, mask_secrets, neutralise, print_error, print_text};
pub use report::{print_case_results, print_json, report, report_pipeline};

use std::io::IsTerminal;

/// Where the step runs and how it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// GitHub Actions (or act): workflow commands and runner files.
    Actions,
    /// A terminal or a pipe: readable text.
    Local {
        /// Colour the output (stderr is a terminal and `NO_COLOR` is unset).
        color: bool,
    },
    /// Machine-readable JSON on stdout, text logs on stderr.
    Json,
}

impl Mode {
    /// The mode of this process: `--json`, else Actions under a runner, else local.
    pub fn detect(json: bool) -> Self {
        if json {
            Mode::Json
        } else if env::under_actions() {
            Mode::Actions
        } else {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            Mode::Local { color }
        }
    }
}
