//! `tollgate action`: the action's `INPUT_*` variables (read through the runner) mapped onto
//! the flags of `run` or, when the `pipeline` input is set, of `pipeline run`.

use super::args::{PipelineArgs, RunArgs};
use crate::error::{Error, ExitCode, Result};
use crate::runner::{self, Mode};
use crate::sandbox::inputs::Given;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tollgate_vocab::reach::{OwnerGrant, RefPattern};
use tollgate_vocab::{GithubPermission, OriginPattern};

pub(super) async fn exec() -> Result<ExitCode> {
    match runner::action_input("pipeline") {
        Some(file) => {
            let (args, given) = action_pipeline_args(file)?;
            super::pipeline::run(Mode::Actions, args, given).await
        }
        None => {
            let (args, inputs) = action_args()?;
            super::run::run(Mode::Actions, &args, inputs).await
        }
    }
}

/// The action's inputs as run flags, and its `with:` mapping as typed inputs.
fn action_args() -> Result<(RunArgs, BTreeMap<String, Given>)> {
    let plugin = runner::action_input("plugin")
        .ok_or_else(|| Error::invalid("action input", "plugin", "the `plugin` input is required"))?;
    let args = RunArgs {
        plugin,
        allow_net: action_items("allow-net", OriginPattern::parse)?,
        allow_read: runner::action_list("allow-read")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        allow_write: runner::action_list("allow-write")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        secrets: runner::action_list("secrets"),
        allow_github: action_items("allow-github", GithubPermission::parse)?,
        allow_refs: action_items("allow-refs", RefPattern::parse)?,
        allow_owners: action_items("allow-owners", OwnerGrant::parse)?,
        timeout: action_typed("timeout", tollgate_vocab::duration::parse_duration)?
            .unwrap_or(tollgate_vocab::defaults::DEFAULT_TIMEOUT),
        memory: action_typed("memory", tollgate_vocab::size::parse_size)?
            .unwrap_or(tollgate_vocab::defaults::DEFAULT_MEMORY),
        ..RunArgs::default()
    };
    let inputs = action_mapping("with")?
        .into_iter()
        .map(|(name, value)| (name, Given::Value(value)))
        .collect();
    Ok((args, inputs))
}

/// The action's inputs for a pipeline run: `inputs` (a YAML mapping) and `timeout`, the
/// whole pipeline's limit.
fn action_pipeline_args(file: String) -> Result<(PipelineArgs, BTreeMap<String, Value>)> {
    let args = PipelineArgs {
        file: PathBuf::from(file),
        secrets: runner::action_list("secrets"),
        timeout: action_typed("timeout", tollgate_vocab::duration::parse_duration)?,
        ..PipelineArgs::default()
    };
    Ok((args, action_mapping("inputs")?))
}

/// A YAML mapping given as an action input (`with:`, `inputs:`), values kept typed.
fn action_mapping(name: &'static str) -> Result<BTreeMap<String, Value>> {
    let Some(text) = runner::action_input(name) else {
        return Ok(BTreeMap::new());
    };
    serde_yaml_ng::from_str::<Option<BTreeMap<String, Value>>>(&text)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            Error::invalid(
                "action input",
                name,
                format!("{e}; write a YAML mapping of input names to values"),
            )
        })
}

/// An action input in the vocabulary's spelling, or its default.
fn action_typed<T>(
    name: &'static str,
    parse: fn(&str) -> std::result::Result<T, tollgate_vocab::Invalid>,
) -> Result<Option<T>> {
    runner::action_input(name)
        .map(|text| parse(text.trim()).map_err(Error::from))
        .transpose()
}

/// A list-valued action input, each item in the vocabulary's spelling.
fn action_items<T>(
    name: &'static str,
    parse: fn(&str) -> std::result::Result<T, tollgate_vocab::Invalid>,
) -> Result<Vec<T>> {
    runner::action_list(name)
        .iter()
        .map(|item| parse(item).map_err(Error::from))
        .collect()
}
