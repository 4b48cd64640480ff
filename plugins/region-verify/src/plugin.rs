//! The host-facing layer: `describe`, and `run`.
//!
//! - `run` sends the requests through `tollgate_sdk::http` (all endpoints at once), reads
//!   certificates through the `tls` import and hands the verdict to the host.
//! - Judgement lives in the plain modules so it is tested natively; the whole plugin is
//!   tested natively under `tollgate_sdk::testing::MockHost`.

use crate::backoff;
use crate::conditions::{Observation, evaluate_all, read_text};
use crate::config::{Config, StepInputs, Target};
use crate::report::{Attempt, FailoverResult, Outcome, StepOutputs, TargetResult};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_sdk::http::{HttpError, Method, Request};
use tollgate_sdk::runtime::{Instant, block_on, join_all, sleep};
use tollgate_sdk::{
    Capability, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs, TypedOutputs,
    request,
};

/// The plugin: `describe` declares its inputs, outputs and network needs; `run` checks the
/// endpoints and hands the verdict, outputs and summary to the host.
pub struct RegionVerify;

impl Plugin for RegionVerify {
    fn describe() -> PluginInfo {
        describe()
    }

    fn run(inputs: Inputs, _context: StepContext) -> Result<RunReport, PluginError> {
        run(&inputs)
    }
}

fn describe() -> PluginInfo {
    PluginInfo {
        name: "region-verify".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        summary: "Verify regional endpoints after a deploy or failover: conditions, retries, \
                  quorum and a failover drill"
            .into(),
        inputs: StepInputs::specs(),
        outputs: StepOutputs::specs(),
        capabilities: vec![
            request(
                Capability::Net("https://*:*".into()),
                "to request the endpoints and global URL named in `endpoints` and `global-url`",
            ),
            request(
                Capability::Net("http://*:*".into()),
                "to request plain-http endpoints named in `endpoints` and `global-url`",
            ),
        ],
    }
}

fn run(inputs: &Inputs) -> Result<RunReport, PluginError> {
    let config = Config::new(StepInputs::from_inputs(inputs)?)?;
    tollgate_sdk::info(&format!(
        "checking {} endpoint(s), need {} healthy{}",
        config.endpoints.len(),
        config.quorum.required,
        config
            .failover
            .as_ref()
            .map(|f| format!(", failover drill via {}", f.target.url))
            .unwrap_or_default()
    ));

    let (endpoints, failover) = block_on(check_all(&config));
    let outcome = Outcome {
        endpoints,
        quorum: config.quorum.clone(),
        failover,
    };

    for e in &outcome.endpoints {
        tollgate_sdk::info(&e.verdict_line());
    }
    for e in outcome.failed() {
        tollgate_sdk::error(&format!("{} is unhealthy: {}", e.name, e.failure().unwrap_or_default()));
    }
    match outcome.failover_verdict() {
        Some(Ok(region)) => tollgate_sdk::info(&format!("failover: answered from {region}")),
        Some(Err(why)) => tollgate_sdk::error(&format!("failover failed: {why}")),
        None => {}
    }

    outcome.outputs().set_all()?;
    tollgate_sdk::append_summary(&outcome.summary());

    Ok(RunReport {
        status: if outcome.passed() {
            Status::Passed
        } else {
            Status::Failed
        },
        message: outcome.message(),
    })
}

async fn check_all(config: &Config) -> (Vec<TargetResult>, Option<FailoverResult>) {
    let backoff = config.backoff;
    // Every endpoint and the drill's global URL at once.
    let targets = config
        .endpoints
        .iter()
        .chain(config.failover.as_ref().map(|f| &f.target))
        .cloned();
    let mut checked = join_all(targets.map(|t| check(t, backoff))).await;
    let failover = config.failover.as_ref().map(|failover| {
        let (target, last) = checked.pop().expect("the drill was checked last");
        let answered_by = last
            .and_then(|obs| read_text(&failover.region_from, &obs).ok())
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        FailoverResult {
            target,
            region_from: failover.region_from.to_string(),
            answered_by,
        }
    });
    (checked.into_iter().map(|(result, _)| result).collect(), failover)
}

/// Every attempt at one target, and the last response seen (for reading the region).
async fn check(target: Target, backoff: Duration) -> (TargetResult, Option<Observation>) {
    let mut cert = None;
    let mut attempts = Vec::new();
    let mut last = None;
    for retry in 0..=target.retries {
        let (attempt, obs) = attempt(&target, &mut cert).await;
        let stop = attempt.passed() || attempt.denied;
        if !attempt.passed() {
            tollgate_sdk::debug(&format!(
                "{}: attempt {} of {} failed: {}",
                target.name,
                retry + 1,
                target.retries + 1,
                attempt.failure().unwrap_or_default()
            ));
        }
        attempts.push(attempt);
        last = obs;
        if stop || retry == target.retries {
            break;
        }
        sleep(backoff::delay(backoff, retry)).await;
    }
    let result = TargetResult {
        name: target.name,
        url: target.url,
        attempts,
    };
    (result, last)
}

async fn attempt(target: &Target, cert: &mut Option<Result<i64, String>>) -> (Attempt, Option<Observation>) {
    let start = Instant::now();
    let response = match to_request(target).send_async().await {
        Ok(response) => response,
        Err(e) => {
            let attempt = Attempt {
                error: Some(e.to_string()),
                // The sandbox said no: retrying cannot help.
                denied: matches!(e, HttpError::Denied { .. }),
                ..Attempt::default()
            };
            return (attempt, None);
        }
    };
    let elapsed = start.elapsed();
    // Read once per endpoint; a failed read is retried with the request.
    if target.needs_cert() && !matches!(cert, Some(Ok(_))) {
        *cert = Some(cert_expires_in_ms(&target.origin));
    }
    let obs = Observation {
        status: response.status(),
        response_time: elapsed,
        headers: response.headers().to_vec(),
        body: response.text().into_owned(),
        cert_expires_in_ms: cert.clone(),
    };
    let attempt = Attempt {
        status: Some(obs.status),
        response_time_ms: Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
        error: None,
        conditions: evaluate_all(&target.conditions, &obs),
        denied: false,
    };
    (attempt, Some(obs))
}

/// One attempt's request: the timeout covers connect to the last body byte; retries are this
/// plugin's own, since a failed condition is retried too.
fn to_request(target: &Target) -> Request {
    let method = match target.method.as_str() {
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => Method::Get,
    };
    let mut request = Request::new(method, target.url.as_str()).timeout(target.timeout);
    for (name, value) in &target.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if !target.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("user-agent")) {
        request = request.header(
            "user-agent",
            concat!("tollgate-region-verify/", env!("CARGO_PKG_VERSION")),
        );
    }
    request
}

/// Milliseconds until the leaf certificate at `origin` expires, negative once it has.
fn cert_expires_in_ms(origin: &str) -> Result<i64, String> {
    let cert = tollgate_sdk::tls::peer_certificate(origin)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .map_err(|_| "the clock is before 1970".to_string())?;
    Ok(cert.not_after.saturating_sub(now).saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tollgate_sdk::testing::{MockHost, MockResponse};

    #[test]
    fn describe_grants_written_urls_and_requires_endpoints() {
        let info = describe();
        let granting: Vec<&str> = info
            .inputs
            .iter()
            .filter(|i| i.grants_origins)
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(granting, ["endpoints", "global-url"]);
        let required: Vec<&str> = info
            .inputs
            .iter()
            .filter(|i| i.required)
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(required, ["endpoints"]);
        let outputs: Vec<&str> = info.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(outputs, ["healthy", "total", "failed-regions", "report", "answered-by"]);
    }

    #[test]
    fn the_declared_defaults_are_what_run_applies() {
        // A region that always fails: the default retries (2), backoff (500 ms, doubling) and
        // condition (`status == 200`) show in what the plugin did; the global URL's answer is
        // read from the default `header.x-region`.
        let outcome = MockHost::new()
            .input(
                "endpoints",
                json!({"us-east": "https://us.example.com/", "eu-west": "https://eu.example.com/"}),
            )
            .input("global-url", "https://api.example.com/")
            .input("min-healthy", 1)
            .respond("GET", "https://us.example.com/", MockResponse::new(200))
            .respond("GET", "https://eu.example.com/", MockResponse::new(503))
            .respond(
                "GET",
                "https://api.example.com/",
                MockResponse::new(200).header("x-region", "us-east"),
            )
            .run::<RegionVerify>();
        assert_eq!(
            outcome.result.as_ref().map(|r| r.status),
            Ok(Status::Passed),
            "{:?}",
            outcome.result
        );
        let eu: Vec<_> = outcome.requests.iter().filter(|r| r.url.contains("eu.")).collect();
        assert_eq!(eu.len(), 3, "1 attempt + 2 retries");
        assert_eq!(outcome.output("answered-by"), Some("us-east"));
        assert!(
            outcome.logged("eu-west: attempt 3 of 3 failed: status 503"),
            "{:?}",
            outcome.logs
        );
        let report: serde_json::Value = serde_json::from_str(outcome.output("report").unwrap()).unwrap();
        assert_eq!(report["quorum"]["required"], 1);
    }
}
