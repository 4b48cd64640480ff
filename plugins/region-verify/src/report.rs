//! What the checks found and how it is told: verdict, one-line message, log lines, the JSON
//! `report` output and the Markdown step summary.

use crate::conditions::{ConditionResult, format_ms};
use crate::quorum::Quorum;
use serde_json::{Value, json};
use std::fmt::Write as _;
use tollgate_sdk::md_cell;

/// One request to a target and what came of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempt {
    /// The HTTP status code, when a response arrived.
    pub status: Option<u16>,
    /// How long the request took in milliseconds, when a response arrived.
    pub response_time_ms: Option<u64>,
    /// Why no response could be judged (timeout, refused, denied…).
    pub error: Option<String>,
    /// The verdict on each condition; empty when no response arrived.
    pub conditions: Vec<ConditionResult>,
    /// The sandbox refused the request: retrying cannot help.
    pub denied: bool,
}

impl Attempt {
    /// Whether a response arrived and met every condition.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.conditions.iter().all(|c| c.passed)
    }

    /// The first thing that went wrong, in a few words.
    pub fn failure(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        self.conditions
            .iter()
            .find(|c| !c.passed)
            .map(|c| c.reason.clone().unwrap_or_else(|| format!("{} failed", c.condition)))
    }
}

/// Every attempt at one target (an endpoint, or the global URL).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResult {
    /// The target's name (`global` for the failover drill).
    pub name: String,
    /// The URL requested.
    pub url: String,
    /// Every attempt, in order; the last one decides.
    pub attempts: Vec<Attempt>,
}

impl TargetResult {
    fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// Healthy when the final attempt passed; earlier failures were what retries are for.
    pub fn healthy(&self) -> bool {
        self.last().is_some_and(Attempt::passed)
    }

    /// Why the last attempt failed, or that none was made; `None` when healthy.
    pub fn failure(&self) -> Option<String> {
        match self.last() {
            None => Some("no request was made".into()),
            Some(a) => a.failure(),
        }
    }

    /// The log line for this endpoint's verdict.
    pub fn verdict_line(&self) -> String {
        let n = self.attempts.len();
        let tries = if n == 1 {
            "1 attempt".to_string()
        } else {
            format!("{n} attempts")
        };
        let last = self.last();
        if self.healthy() {
            let status = last.and_then(|a| a.status).map(|s| format!("status {s}, "));
            let time = last
                .and_then(|a| a.response_time_ms)
                .map(|ms| format_ms(ms as f64))
                .unwrap_or_default();
            format!(
                "{}: healthy ({}{time}, {tries}) at {}",
                self.name,
                status.unwrap_or_default(),
                self.url
            )
        } else {
            format!(
                "{}: unhealthy after {tries} at {}: {}",
                self.name,
                self.url,
                self.failure().unwrap_or_default()
            )
        }
    }

    fn to_json(&self) -> Value {
        let last = self.last();
        json!({
            "name": self.name,
            "url": self.url,
            "healthy": self.healthy(),
            "attempts": self.attempts.len(),
            "status": last.and_then(|a| a.status),
            "response_time_ms": last.and_then(|a| a.response_time_ms),
            "error": last.and_then(|a| a.error.clone()),
            "reason": if self.healthy() { None } else { self.failure() },
            "conditions": last.map(|a| a.conditions.clone()).unwrap_or_default(),
            "attempt_log": self.attempts.iter().enumerate().map(|(i, a)| json!({
                "attempt": i + 1,
                "passed": a.passed(),
                "status": a.status,
                "response_time_ms": a.response_time_ms,
                "reason": a.failure(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The failover drill's result, judged against the regional verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverResult {
    /// Every attempt at the global URL.
    pub target: TargetResult,
    /// Where the answering region was read, e.g. `header.x-region`.
    pub region_from: String,
    /// The region the global URL answered from, when it could be read.
    pub answered_by: Option<String>,
}

/// Everything the step found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One result per regional endpoint, in the configured order.
    pub endpoints: Vec<TargetResult>,
    /// How many endpoints had to be healthy.
    pub quorum: Quorum,
    /// The failover drill's result, when there was a drill.
    pub failover: Option<FailoverResult>,
}

/// The step's outputs as declared: each field's doc is what `describe` reports, and `run`
/// sets them all from [`Outcome::outputs`].
#[derive(Debug, Clone, PartialEq, tollgate_sdk::Outputs)]
pub struct StepOutputs {
    /// How many endpoints were healthy.
    pub healthy: usize,
    /// How many endpoints were checked.
    pub total: usize,
    /// Comma-separated names of the unhealthy endpoints; empty when none.
    pub failed_regions: String,
    /// JSON: per endpoint its URL, verdict, attempts, last status, response time and each
    /// condition with its actual value; the quorum; the failover result.
    pub report: Value,
    /// The region that answered the global URL (failover drill only).
    pub answered_by: Option<String>,
}

impl Outcome {
    /// The step's outputs. `answered-by` is set only with a failover drill, and is empty when
    /// no region could be read.
    pub fn outputs(&self) -> StepOutputs {
        StepOutputs {
            healthy: self.healthy(),
            total: self.total(),
            failed_regions: self.failed_regions(),
            report: self.to_json(),
            answered_by: self
                .failover
                .as_ref()
                .map(|f| f.answered_by.clone().unwrap_or_default()),
        }
    }

    /// How many endpoints are healthy (the `healthy` output).
    pub fn healthy(&self) -> usize {
        self.endpoints.iter().filter(|e| e.healthy()).count()
    }

    /// How many endpoints were checked (the `total` output).
    pub fn total(&self) -> usize {
        self.endpoints.len()
    }

    /// The unhealthy endpoints, in order.
    pub fn failed(&self) -> impl Iterator<Item = &TargetResult> {
        self.endpoints.iter().filter(|e| !e.healthy())
    }

    /// For the `failed-regions` output.
    pub fn failed_regions(&self) -> String {
        self.failed().map(|e| e.name.as_str()).collect::<Vec<_>>().join(",")
    }

    /// `Ok(region)` when the drill passed, `Err(why)` when it failed, `None` without a drill.
    pub fn failover_verdict(&self) -> Option<Result<String, String>> {
        let f = self.failover.as_ref()?;
        let answered = f.answered_by.as_deref();
        if !f.target.healthy() {
            let why = f.target.failure().unwrap_or_default();
            return Some(Err(match answered {
                Some(region) => format!("{} answered from {region} but {why}", f.target.url),
                None => format!("{}: {why}", f.target.url),
            }));
        }
        let Some(region) = answered else {
            return Some(Err(format!("{} did not say which region answered", f.target.url)));
        };
        let verdict = match self
            .endpoints
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(region.trim()))
        {
            Some(e) if e.healthy() => Ok(e.name.clone()),
            Some(e) => Err(format!("{} answered from {}, which is unhealthy", f.target.url, e.name)),
            None => Err(format!(
                "{} answered from `{region}`, which is not one of the endpoints ({})",
                f.target.url,
                self.endpoints
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        Some(verdict)
    }

    /// Whether the step passes: the quorum is met and the failover drill, if any, did not fail.
    pub fn passed(&self) -> bool {
        self.quorum.met(self.healthy()) && !matches!(self.failover_verdict(), Some(Err(_)))
    }

    /// The step's one-line result.
    pub fn message(&self) -> String {
        let (healthy, total, need) = (self.healthy(), self.total(), self.quorum.required);
        let failures = self
            .failed()
            .map(|e| format!("{} ({})", e.name, e.failure().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut message = if self.quorum.met(healthy) {
            let mut m = format!("{healthy} of {total} regions healthy (quorum {need})");
            if !failures.is_empty() {
                let _ = write!(m, "; unhealthy: {failures}");
            }
            m
        } else {
            format!("{healthy} of {total} regions healthy, need {need}: {failures}")
        };
        match self.failover_verdict() {
            Some(Ok(region)) => {
                let _ = write!(message, "; failover answered from {region}");
            }
            Some(Err(why)) => {
                let joiner = if self.quorum.met(healthy) { ", but" } else { ";" };
                let _ = write!(message, "{joiner} failover failed: {why}");
            }
            None => {}
        }
        message
    }

    /// The `report` output.
    pub fn to_json(&self) -> Value {
        let failover = self.failover.as_ref().map(|f| {
            let verdict = self.failover_verdict();
            json!({
                "url": f.target.url,
                "region_from": f.region_from,
                "answered_by": f.answered_by,
                "passed": matches!(verdict, Some(Ok(_))),
                "reason": verdict.and_then(Result::err),
                "request": f.target.to_json(),
            })
        });
        json!({
            "passed": self.passed(),
            "message": self.message(),
            "healthy": self.healthy(),
            "total": self.total(),
            "quorum": {
                "required": self.quorum.required,
                "met": self.quorum.met(self.healthy()),
            },
            "failed_regions": self.failed().map(|e| e.name.clone()).collect::<Vec<_>>(),
            "endpoints": self.endpoints.iter().map(TargetResult::to_json).collect::<Vec<_>>(),
            "failover": failover,
        })
    }

    /// The step summary.
    pub fn summary(&self) -> String {
        let mut md = String::new();
        let mark = if self.passed() { "✅" } else { "❌" };
        let _ = writeln!(md, "### {mark} Region verify: {}\n", md_cell(&self.message()));

        md.push_str("| Region | Verdict | Status | Response time | Attempts | Endpoint |\n");
        md.push_str("|---|---|---|---|---|---|\n");
        for e in &self.endpoints {
            let last = e.last();
            let verdict = if e.healthy() {
                "✅ healthy".to_string()
            } else {
                format!("❌ {}", e.failure().unwrap_or_default())
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                md_cell(&e.name),
                md_cell(&verdict),
                last.and_then(|a| a.status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "—".into()),
                last.and_then(|a| a.response_time_ms)
                    .map(|ms| format_ms(ms as f64))
                    .unwrap_or_else(|| "—".into()),
                e.attempts.len(),
                md_cell(&e.url),
            );
        }

        md.push_str("\n| Region | Check | | Actual | Threshold |\n|---|---|---|---|---|\n");
        for e in &self.endpoints {
            let Some(last) = e.last() else { continue };
            if let Some(error) = &last.error {
                let _ = writeln!(md, "| {} | request | ❌ | {} | |", md_cell(&e.name), md_cell(error));
                continue;
            }
            for c in &last.conditions {
                let actual = match (&c.actual, &c.reason) {
                    (Some(a), _) if c.passed => a.clone(),
                    (_, Some(reason)) => reason.clone(),
                    (Some(a), None) => a.clone(),
                    (None, None) => String::new(),
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    md_cell(&e.name),
                    md_cell(&c.condition),
                    if c.passed { "✅" } else { "❌" },
                    md_cell(&actual),
                    md_cell(&c.expected),
                );
            }
        }

        if let (Some(f), Some(verdict)) = (&self.failover, self.failover_verdict()) {
            let line = match verdict {
                Ok(region) => format!(
                    "✅ {} answered from **{}**, a healthy region (read from `{}`)",
                    md_cell(&f.target.url),
                    md_cell(&region),
                    md_cell(&f.region_from)
                ),
                Err(why) => format!("❌ {}", md_cell(&why)),
            };
            let _ = writeln!(md, "\n**Failover:** {line}");
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::{Condition, Observation, evaluate_all};
    use std::time::Duration;

    fn attempt(status: u16, conditions: &[&str]) -> Attempt {
        let parsed: Vec<Condition> = conditions.iter().map(|c| Condition::parse(c).unwrap()).collect();
        let obs = Observation {
            status,
            response_time: Duration::from_millis(42),
            ..Observation::default()
        };
        Attempt {
            status: Some(status),
            response_time_ms: Some(42),
            error: None,
            conditions: evaluate_all(&parsed, &obs),
            denied: false,
        }
    }

    fn timed_out() -> Attempt {
        Attempt {
            error: Some("timed out after 5s".into()),
            ..Attempt::default()
        }
    }

    fn target(name: &str, attempts: Vec<Attempt>) -> TargetResult {
        TargetResult {
            name: name.into(),
            url: format!("https://{name}.example.com/healthz"),
            attempts,
        }
    }

    fn outcome(required: usize) -> Outcome {
        Outcome {
            endpoints: vec![
                target("us-east", vec![attempt(200, &["status == 200"])]),
                target(
                    "eu-west",
                    vec![attempt(503, &["status == 200"]), attempt(503, &["status == 200"])],
                ),
                target("ap-south", vec![timed_out(), timed_out(), timed_out()]),
            ],
            quorum: Quorum { required, total: 3 },
            failover: None,
        }
    }

    #[test]
    fn failed_quorum_names_each_failed_region_and_why() {
        let o = outcome(2);
        assert!(!o.passed());
        assert_eq!(
            o.message(),
            "1 of 3 regions healthy, need 2: eu-west (status 503 != 200), ap-south (timed out after 5s)"
        );
        assert_eq!(o.failed_regions(), "eu-west,ap-south");
    }

    #[test]
    fn met_quorum_passes_but_still_lists_unhealthy_regions() {
        let o = outcome(1);
        assert!(o.passed());
        assert!(
            o.message()
                .starts_with("1 of 3 regions healthy (quorum 1); unhealthy: eu-west")
        );
    }

    #[test]
    fn a_later_passing_attempt_makes_the_region_healthy() {
        let t = target("eu-west", vec![timed_out(), attempt(200, &["status == 200"])]);
        assert!(t.healthy());
        assert_eq!(
            t.verdict_line(),
            "eu-west: healthy (status 200, 42ms, 2 attempts) at https://eu-west.example.com/healthz"
        );
    }

    #[test]
    fn outputs_are_set_as_text_and_answered_by_only_with_a_drill() {
        use tollgate_sdk::TypedOutputs;
        let names: Vec<String> = StepOutputs::specs().into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["healthy", "total", "failed-regions", "report", "answered-by"]);

        let o = outcome(2);
        let values = o.outputs().values().unwrap();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let report = o.to_json().to_string();
        assert_eq!(
            pairs,
            [
                ("healthy", "1"),
                ("total", "3"),
                ("failed-regions", "eu-west,ap-south"),
                ("report", report.as_str()),
            ]
        );

        let mut o = outcome(1);
        o.endpoints.truncate(1);
        o.failover = Some(FailoverResult {
            target: target("global", vec![timed_out()]),
            region_from: "header.x-region".into(),
            answered_by: None,
        });
        let values = o.outputs().values().unwrap();
        assert_eq!(values[2], ("failed-regions".to_string(), String::new()));
        assert_eq!(values.last().unwrap(), &("answered-by".to_string(), String::new()));
    }

    #[test]
    fn report_json_carries_conditions_attempts_and_quorum() {
        let report = outcome(2).to_json();
        assert_eq!(report["healthy"], 1);
        assert_eq!(report["quorum"]["met"], false);
        assert_eq!(report["failed_regions"], json!(["eu-west", "ap-south"]));
        let eu = &report["endpoints"][1];
        assert_eq!(eu["attempts"], 2);
        assert_eq!(eu["status"], 503);
        assert_eq!(eu["conditions"][0]["actual"], "503");
        assert_eq!(eu["conditions"][0]["passed"], false);
        assert_eq!(eu["conditions"][0]["reason"], "status 503 != 200");
        assert_eq!(report["endpoints"][2]["attempt_log"].as_array().unwrap().len(), 3);
        assert_eq!(report["failover"], Value::Null);
    }

    #[test]
    fn summary_shows_verdicts_values_and_thresholds() {
        let md = outcome(2).summary();
        assert!(
            md.starts_with("### ❌ Region verify: 1 of 3 regions healthy, need 2"),
            "{md}"
        );
        assert!(md.contains("| us-east | ✅ healthy | 200 | 42ms | 1 |"), "{md}");
        assert!(
            md.contains("| eu-west | status == 200 | ❌ | status 503 != 200 | == 200 |"),
            "{md}"
        );
        assert!(
            md.contains("| ap-south | request | ❌ | timed out after 5s | |"),
            "{md}"
        );
    }

    #[test]
    fn summary_escapes_pipes_and_newlines_from_peers() {
        let mut o = outcome(1);
        o.endpoints[2].attempts = vec![Attempt {
            error: Some("bad | thing\nhappened".into()),
            ..Attempt::default()
        }];
        let md = o.summary();
        assert!(md.contains("bad \\| thing happened"), "{md}");
        assert!(!md.contains("bad | thing"), "{md}");
    }

    fn with_failover(answered_by: Option<&str>, ok: bool) -> Outcome {
        let mut o = outcome(1);
        let attempts = if ok {
            vec![attempt(200, &["status == 200"])]
        } else {
            vec![attempt(502, &["status == 200"])]
        };
        o.failover = Some(FailoverResult {
            target: TargetResult {
                name: "global".into(),
                url: "https://api.example.com/healthz".into(),
                attempts,
            },
            region_from: "header.x-region".into(),
            answered_by: answered_by.map(str::to_string),
        });
        o
    }

    #[test]
    fn failover_passes_only_from_a_healthy_region() {
        let o = with_failover(Some("US-EAST"), true);
        assert!(o.passed());
        assert!(
            o.message().ends_with("; failover answered from us-east"),
            "{}",
            o.message()
        );
        assert!(
            o.summary()
                .contains("**Failover:** ✅ https://api.example.com/healthz answered from **us-east**")
        );

        let o = with_failover(Some("eu-west"), true);
        assert!(!o.passed());
        assert!(
            o.message().ends_with(
                ", but failover failed: https://api.example.com/healthz answered from eu-west, which is unhealthy"
            ),
            "{}",
            o.message()
        );

        let o = with_failover(Some("mars"), true);
        assert!(!o.passed());
        assert!(
            o.message()
                .contains("`mars`, which is not one of the endpoints (us-east, eu-west, ap-south)")
        );

        let o = with_failover(Some("us-east"), false);
        assert!(!o.passed());
        assert!(
            o.message().contains("answered from us-east but status 502 != 200"),
            "{}",
            o.message()
        );
        assert_eq!(o.to_json()["failover"]["answered_by"], "us-east");
        assert_eq!(o.to_json()["failover"]["passed"], false);
    }
}
