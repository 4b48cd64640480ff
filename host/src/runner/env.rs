//! What the runner tells a step: the run context, the action's inputs and the values of
//! granted secrets, all from the environment.

use crate::bindings::tollgate::plugin::types::StepContext;
use crate::github::{DEFAULT_API_URL, GithubConfig, RetryPolicy};
use std::path::PathBuf;
use std::sync::Arc;

/// Running under GitHub Actions (or act)?
pub fn under_actions() -> bool {
    env_is("GITHUB_ACTIONS", "true")
}

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == value)
}

pub(super) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The run context from the runner's variables (all empty locally).
pub fn context(step_id: &str) -> StepContext {
    let pull_request = env("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|event| {
            event["pull_request"]["number"]
                .as_u64()
                .or_else(|| event["number"].as_u64())
        });
    StepContext {
        step_id: step_id.to_string(),
        repository: env("GITHUB_REPOSITORY"),
        sha: env("GITHUB_SHA"),
        git_ref: env("GITHUB_REF"),
        event: env("GITHUB_EVENT_NAME"),
        run_id: env("GITHUB_RUN_ID"),
        run_attempt: env("GITHUB_RUN_ATTEMPT"),
        workflow: env("GITHUB_WORKFLOW"),
        actor: env("GITHUB_ACTOR"),
        pull_request,
        ci: env_is("GITHUB_ACTIONS", "true") || env_is("CI", "true"),
    }
}

/// The artifact store: `$RUNNER_TEMP/tollgate/artifacts` on a runner (upload it to hand
/// artifacts to a later job), `.tollgate/artifacts` locally.
pub fn default_artifacts_dir() -> PathBuf {
    match env("RUNNER_TEMP") {
        Some(temp) => PathBuf::from(temp).join("tollgate").join("artifacts"),
        None => PathBuf::from(".tollgate").join("artifacts"),
    }
}

/// The action's inputs (`INPUT_NAME`, also with `-` for `_` as the runner writes them).
pub fn action_input(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    env(&format!("INPUT_{}", upper.replace('-', "_"))).or_else(|| env(&format!("INPUT_{upper}")))
}

/// A list-valued action input: one item per line or comma.
pub fn action_list(name: &str) -> Vec<String> {
    action_input(name)
        .map(|v| {
            v.split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Values of the named secrets, from the step's environment (the workflow maps
/// `secrets.X` into `env:`).
pub fn secret_values(names: &[String]) -> std::collections::HashMap<String, String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.clone(), v)))
        .collect()
}

/// Where and as whom the host makes a step's GitHub calls: the action's `github-api-url`
/// input or `GITHUB_API_URL` (default `https://api.github.com`; a GitHub Enterprise Server
/// URL keeps its `/api/v3`), the action's `github-token` input or `GITHUB_TOKEN`, and
/// `GITHUB_REPOSITORY`. The action's inputs win: a workflow that passes a token (say, a
/// GitHub App's) or an API URL to the step means that one, whatever the job's `env:` holds.
/// `TOLLGATE_GITHUB_RETRY_BUDGET` (a duration, e.g. `30s`) bounds the time one call may
/// spend waiting between retries (default 5m); no wait outlasts the step's `--timeout` either.
pub fn github_config() -> Result<Arc<GithubConfig>, tollgate_vocab::Invalid> {
    let mut retry = RetryPolicy::default();
    if let Some(budget) = env("TOLLGATE_GITHUB_RETRY_BUDGET") {
        retry.budget = tollgate_vocab::duration::parse_duration(budget.trim())?;
    }
    Ok(Arc::new(GithubConfig {
        api_url: action_input("github-api-url")
            .or_else(|| env("GITHUB_API_URL"))
            .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
        token: action_input("github-token").or_else(|| env("GITHUB_TOKEN")),
        repository: env("GITHUB_REPOSITORY"),
        retry,
    }))
}
