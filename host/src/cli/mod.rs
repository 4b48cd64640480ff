//! The command line: flags, parsed in two stages (clap's raw arguments, then a validated
//! [`StepRequest`](crate::step::StepRequest)), and dispatch to one file per command family.
//!
//! - `args`: flag groups several commands share, and the parsers of flag values.
//! - `action`: the action's `INPUT_*` route onto `run` or `pipeline run`.
//! - `run`, `pipeline`, `plugin`, `keys`: the commands, thin; the work is in the library.

mod action;
mod args;
mod keys;
mod pipeline;
mod plugin;
mod run;

pub use args::{KeyArgs, PipelineArgs, RunArgs};
pub use keys::VerifyArgs;
pub use pipeline::PipelineCommand;
pub use plugin::PluginCommand;

use crate::error::{ExitCode, Result};
use args::EXIT_CODES;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Run sandboxed WebAssembly plugins as CI steps.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one plugin as a step.
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Run the step described by the action's `INPUT_*` variables (used by action.yml).
    #[command(after_help = EXIT_CODES)]
    Action,
    /// List or describe plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run a pipeline file.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Write an ed25519 key pair for signing artifacts (PREFIX.key and PREFIX.pub).
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, default_value = "tollgate")]
        out: PathBuf,
    },
    /// Verify an artifact: its digest, its signature and its subject.
    #[command(after_help = "Exit codes: 0 verified; 1 verification failed; 2 usage error.")]
    Verify(VerifyArgs),
}

impl Cli {
    /// Whether the command asked for a JSON report.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Run(args) => args.json,
            Command::Pipeline(PipelineCommand::Run(args)) => args.json,
            Command::Plugin(PluginCommand::List { json } | PluginCommand::Describe { json, .. }) => *json,
            Command::Verify(args) => args.json,
            Command::Plugin(
                PluginCommand::New { .. }
                | PluginCommand::Build { .. }
                | PluginCommand::Test { .. }
                | PluginCommand::Compile { .. }
                | PluginCommand::Publish { .. },
            )
            | Command::Action
            | Command::Keygen { .. } => false,
        }
    }
}

/// Run a parsed command line; the error carries the exit code.
pub async fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::exec(&args).await,
        Command::Action => action::exec().await,
        Command::Pipeline(command) => pipeline::exec(command).await,
        Command::Plugin(command) => plugin::exec(command).await,
        Command::Keygen { out } => keys::keygen(&out),
        Command::Verify(args) => keys::verify(&args),
    }
}
