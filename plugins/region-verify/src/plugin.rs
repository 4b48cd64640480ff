//! The host-facing layer: `describe`, and `run`, which sends the requests with wstd, reads
//! certificates through the `tls` import and hands the verdict to the host. Judgement lives in
//! the plain modules so it is tested natively.

use crate::backoff;
use crate::conditions::{Observation, evaluate_all, format_ms, read_text};
use crate::config::{Config, Failover, StepInputs, Target};
use crate::report::{Attempt, FailoverResult, Outcome, StepOutputs, TargetResult};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_sdk::{
    Capability, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, TypedInputs, TypedOutputs,
    request,
};
use wstd::future::FutureExt;
use wstd::http::{Body, BodyExt, Client, ErrorCode, Request};
use wstd::time::{Instant, Timer};

/// Health bodies are small; a runaway body must not exhaust the plugin's memory.
const MAX_BODY: usize = 1024 * 1024;

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

    let (endpoints, failover) = wstd::runtime::block_on(check_all(&config));
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
    // Spawned first and awaited after, so every endpoint and the drill run at once.
    let tasks: Vec<_> = config
        .endpoints
        .iter()
        .cloned()
        .map(|t| wstd::runtime::spawn(async move { check(t, backoff).await.0 }))
        .collect();
    let drill = config.failover.clone().map(|f| wstd::runtime::spawn(drill(f, backoff)));
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await);
    }
    let failover = match drill {
        Some(task) => Some(task.await),
        None => None,
    };
    (results, failover)
}

async fn drill(failover: Failover, backoff: Duration) -> FailoverResult {
    let (target, last) = check(failover.target, backoff).await;
    let answered_by = last
        .and_then(|obs| read_text(&failover.region_from, &obs).ok())
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    FailoverResult {
        target,
        region_from: failover.region_from.to_string(),
        answered_by,
    }
}

/// Every attempt at one target, and the last response seen (for reading the region).
async fn check(target: Target, backoff: Duration) -> (TargetResult, Option<Observation>) {
    let mut client = Client::new();
    client.set_connect_timeout(target.timeout);
    client.set_first_byte_timeout(target.timeout);
    let mut cert = None;
    let mut attempts = Vec::new();
    let mut last = None;
    for retry in 0..=target.retries {
        let (attempt, obs) = attempt(&client, &target, &mut cert).await;
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
        Timer::after(backoff::delay(backoff, retry).into()).wait().await;
    }
    let result = TargetResult {
        name: target.name,
        url: target.url,
        attempts,
    };
    (result, last)
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

async fn attempt(
    client: &Client,
    target: &Target,
    cert: &mut Option<Result<i64, String>>,
) -> (Attempt, Option<Observation>) {
    let start = Instant::now();
    let exchange = send(client, target)
        .timeout(wstd::time::Duration::from(target.timeout))
        .await;
    let elapsed: Duration = start.elapsed().into();
    let response = match exchange {
        Err(_) => {
            let error = format!("timed out after {}", format_ms(target.timeout.as_secs_f64() * 1000.0));
            return (failed(error, false), None);
        }
        Ok(Err(e)) => {
            let (error, denied) = describe_error(&e, target);
            return (failed(error, denied), None);
        }
        Ok(Ok(response)) => response,
    };
    // Read once per endpoint; a failed read is retried with the request.
    if target.needs_cert() && !matches!(cert, Some(Ok(_))) {
        *cert = Some(cert_expires_in_ms(&target.origin));
    }
    let obs = Observation {
        status: response.status,
        response_time: elapsed,
        headers: response.headers,
        body: response.body,
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

fn failed(error: String, denied: bool) -> Attempt {
    Attempt {
        error: Some(error),
        denied,
        ..Attempt::default()
    }
}

async fn send(client: &Client, target: &Target) -> wstd::http::Result<Response> {
    let mut builder = Request::builder()
        .method(target.method.as_str())
        .uri(target.url.as_str());
    for (name, value) in &target.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !target.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("user-agent")) {
        builder = builder.header(
            "user-agent",
            concat!("tollgate-region-verify/", env!("CARGO_PKG_VERSION")),
        );
    }
    let response = client.send(builder.body(Body::empty())?).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body().into_boxed_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let room = MAX_BODY - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
            if bytes.len() >= MAX_BODY {
                break;
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
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

/// A failed exchange in words, and whether it was the sandbox saying no (never retried).
fn describe_error(error: &wstd::http::Error, target: &Target) -> (String, bool) {
    let origin = &target.origin;
    let timeout = format_ms(target.timeout.as_secs_f64() * 1000.0);
    let Some(code) = error.chain().find_map(|e| e.downcast_ref::<ErrorCode>()) else {
        return (format!("request to {} failed: {error:#}", target.url), false);
    };
    let text = match code {
        ErrorCode::HttpRequestDenied => {
            return (
                format!(
                    "request to {origin} was denied by the sandbox: grant it with \
                     --allow-net {origin} (or `allow-net:` in the workflow)"
                ),
                true,
            );
        }
        ErrorCode::DestinationIpProhibited => {
            return (
                format!(
                    "{origin} resolves to an address the sandbox never allows \
                     (link-local or cloud metadata)"
                ),
                true,
            );
        }
        ErrorCode::DnsTimeout => format!("DNS lookup for {origin} timed out"),
        ErrorCode::DnsError(p) => format!(
            "DNS lookup for {origin} failed{}",
            p.rcode.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        ErrorCode::DestinationNotFound => format!("{origin} was not found"),
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => {
            format!("{origin} is unreachable")
        }
        ErrorCode::ConnectionRefused => format!("connection to {origin} refused"),
        ErrorCode::ConnectionTerminated => format!("{origin} closed the connection"),
        ErrorCode::ConnectionTimeout => format!("connecting to {origin} timed out after {timeout}"),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            format!("timed out after {timeout} waiting for {origin} to respond")
        }
        ErrorCode::TlsCertificateError => {
            format!("{origin} presented a certificate that failed verification")
        }
        ErrorCode::TlsProtocolError => format!("TLS handshake with {origin} failed"),
        ErrorCode::TlsAlertReceived(p) => format!(
            "{origin} sent a TLS alert{}",
            p.alert_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        ),
        other => format!("request to {} failed: {other:?}", target.url),
    };
    (text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn describe_grants_written_urls_and_its_defaults_parse() {
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

        // The host applies these defaults before `run`; they must be values `run` accepts.
        let mut values: Vec<(String, serde_json::Value)> = info
            .inputs
            .iter()
            .filter_map(|i| {
                let default = i.default.as_ref()?;
                Some((i.name.clone(), serde_json::from_str(default).ok()?))
            })
            .collect();
        values.push(("endpoints".into(), json!({"us-east": "https://us.example.com/"})));
        values.push(("global-url".into(), json!("https://api.example.com/")));
        let config = Config::new(StepInputs::from_inputs(&Inputs::from_values(values)).unwrap()).unwrap();
        let us = &config.endpoints[0];
        assert_eq!(us.timeout, Duration::from_secs(5));
        assert_eq!(us.retries, 2);
        assert_eq!(us.conditions[0].text, "status == 200");
        assert_eq!(config.backoff, Duration::from_millis(500));
        assert_eq!(config.failover.unwrap().region_from.to_string(), "header.x-region");

        let outputs: Vec<&str> = info.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(outputs, ["healthy", "total", "failed-regions", "report", "answered-by"]);
    }
}
