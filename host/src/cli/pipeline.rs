//! `tollgate pipeline run`: the file loaded and validated by [`crate::pipeline`], run there
//! with the runner's printers, and reported by the runner.

use super::args::{EXIT_CODES, PipelineArgs, input_flags};
use crate::artifacts::ArtifactConfig;
use crate::error::{Error, ExitCode, Result};
use crate::events::Sink;
use crate::runner::{self, Mode, Printer};
use crate::sandbox::runtime::Runtime;
use crate::step;
use clap::Subcommand;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `tollgate pipeline …`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Validate the whole file, then run its steps and `finally:` steps.
    #[command(after_help = EXIT_CODES)]
    Run(PipelineArgs),
}

pub(super) async fn exec(command: PipelineCommand) -> Result<ExitCode> {
    match command {
        PipelineCommand::Run(args) => {
            let mode = Mode::detect(args.json);
            let given = input_flags(&args.inputs)?;
            run(mode, args, given).await
        }
    }
}

/// A pipeline from its flags and inputs, whichever route (flags or the action) gave them.
pub(super) async fn run(mode: Mode, args: PipelineArgs, given: BTreeMap<String, Value>) -> Result<ExitCode> {
    let pipeline = crate::pipeline::load(&args.file)?;
    if args.dry_run {
        runner::print_text(&crate::pipeline::dry_run(&pipeline));
        return Ok(ExitCode::Success);
    }
    let secret_values = runner::secret_values(&args.secrets);
    runner::mask_secrets(mode, secret_values.values().cloned());
    let github = runner::github_config()?;
    runner::mask_secrets(mode, github.token.clone());
    let env = crate::pipeline::PipelineEnv {
        runtime: Arc::new(Runtime::new(step::default_cache_dir())?),
        sinks: Arc::new(move |label: &str| Arc::new(Printer::for_step(mode, label)) as Arc<dyn Sink>),
        artifacts: Arc::new(ArtifactConfig::new(&args.keys.options()?)?),
        tls: crate::sandbox::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?,
        context: runner::context(pipeline.name.as_deref().unwrap_or("pipeline")),
        secret_values,
        github,
    };
    let result = crate::pipeline::run(&pipeline, &env, given, args.timeout).await?;
    runner::report_pipeline(mode, &result)?;
    Ok(result.exit_code())
}
