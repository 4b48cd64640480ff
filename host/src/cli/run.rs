//! `tollgate run`: the flags validated into a [`StepRequest`], run by [`step::run`] and
//! reported by the runner.

use super::args::{KeyArgs, RunArgs, parse_resolve, with_flags};
use crate::artifacts::ArtifactConfig;
use crate::error::{Error, ExitCode, Result};
use crate::runner::{self, Mode, Printer};
use crate::sandbox::capabilities::{GrantLists, Grants};
use crate::sandbox::inputs::Given;
use crate::sandbox::runtime::{Limits, Runtime};
use crate::sources::PluginRef;
use crate::step::{self, StepRequest};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) async fn exec(args: &RunArgs) -> Result<ExitCode> {
    let mode = Mode::detect(args.json);
    let inputs = with_flags(&args.with)?;
    run(mode, args, inputs).await
}

/// One step from run flags and its inputs, whichever route (flags or the action) gave them.
pub(super) async fn run(mode: Mode, args: &RunArgs, inputs: BTreeMap<String, Given>) -> Result<ExitCode> {
    let request = request(args, inputs)?;
    runner::mask_secrets(mode, request.secret_values.values().cloned());
    runner::mask_secrets(mode, request.github.iter().filter_map(|g| g.token.clone()));
    let runtime = Runtime::new(step::default_cache_dir())?;
    let printer = Arc::new(Printer::new(mode));
    printer.set_plugin(&request.plugin.display_name());
    let result = step::run(&runtime, request, printer).await?;
    runner::report(mode, &result)?;
    Ok(result.exit_code())
}

/// Validate raw flags into a step request.
fn request(args: &RunArgs, inputs: BTreeMap<String, Given>) -> Result<StepRequest> {
    let plugin = PluginRef::parse(&args.plugin)?;
    let paths = |dirs: &[PathBuf]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>();
    let (read, write) = (paths(&args.allow_read), paths(&args.allow_write));
    let lists = GrantLists {
        net: &args.allow_net,
        read: &read,
        write: &write,
        secrets: &args.secrets,
        github: &args.allow_github,
        refs: &args.allow_refs,
        owners: &args.allow_owners,
    };
    let grants = Grants::new(&lists, Path::new("."))?;
    let tls = crate::sandbox::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?;
    Ok(StepRequest {
        context: runner::context(&plugin.display_name()),
        plugin,
        inputs,
        grants,
        secret_values: runner::secret_values(&args.secrets),
        limits: Limits {
            timeout: args.timeout,
            memory: args.memory,
        },
        resolve: args
            .resolve
            .iter()
            .map(|r| parse_resolve(r))
            .collect::<Result<HashMap<_, _>>>()?,
        tls,
        artifacts: step_artifacts(&args.keys)?,
        github: Some(runner::github_config()?),
    })
}

/// A single step stores artifacts where it was told to (`--artifacts DIR`) or on a
/// runner; a bare local run has no store, so a plugin cannot litter the working directory.
fn step_artifacts(keys: &KeyArgs) -> Result<Option<Arc<ArtifactConfig>>> {
    if keys.artifacts.is_none() && !runner::env::under_actions() {
        return Ok(None);
    }
    Ok(Some(Arc::new(ArtifactConfig::new(&keys.options()?)?)))
}
