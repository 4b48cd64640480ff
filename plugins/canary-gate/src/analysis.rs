//! The analysis run: every metric measured on its own schedule, each measurement judged, each
//! metric and then the run given a phase with Argo Rollouts' rules — and refusing to call a run
//! Successful on no data, NaN, or measurements that all errored.

use crate::provider::{Measured, ProviderError};
use crate::stats::{self, Comparison};
use crate::template::Metric;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use tollgate_expr::metric::{Type, Value, format_number};
use tollgate_sdk::runtime::{self, Instant};

/// Elements of a measured vector kept in reports (the first ones; the count of the rest).
const SHOWN_ITEMS: usize = 8;

/// The phase of a measurement, a metric, or the whole run (Argo's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Passed.
    Successful,
    /// A condition said no (more often than `failureLimit` allows, for a metric).
    Failed,
    /// Neither pass nor fail: no data, NaN, or neither condition held.
    Inconclusive,
    /// The measurement could not be taken (more often in a row than `consecutiveErrorLimit`).
    Error,
}

impl Phase {
    /// As shown: `Successful`, `Failed`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Successful => "Successful",
            Phase::Failed => "Failed",
            Phase::Inconclusive => "Inconclusive",
            Phase::Error => "Error",
        }
    }

    /// A symbol for tables, as `kubectl argo rollouts get` marks phases.
    pub fn icon(self) -> &'static str {
        match self {
            Phase::Successful => "✔",
            Phase::Failed => "✖",
            Phase::Inconclusive => "?",
            Phase::Error => "⚠",
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// 1-based.
    pub index: u32,
    /// When it was taken, since the analysis started.
    pub elapsed_ms: u64,
    /// The value as shown (`[0.012]`, `NaN`); `None` when it could not be taken.
    pub value: Option<String>,
    /// The baseline's value, for comparisons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Its verdict.
    pub phase: Phase,
    /// Why, when not plainly Successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One metric's run.
#[derive(Debug, Clone, Serialize)]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// Measured and reported, never deciding.
    pub dry_run: bool,
    /// Its phase.
    pub phase: Phase,
    /// Why, in one line.
    pub message: String,
    /// Successful measurements.
    pub successful: u32,
    /// Failed measurements.
    pub failed: u32,
    /// Inconclusive measurements.
    pub inconclusive: u32,
    /// Errored measurements.
    pub error: u32,
    /// Every measurement, in order.
    pub measurements: Vec<Measurement>,
    /// The baseline-vs-canary comparison, if the metric asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The conditions, as written.
    pub success_condition: Option<String>,
    /// The conditions, as written.
    pub failure_condition: Option<String>,
    /// Limits applied, for the report.
    pub failure_limit: u32,
    /// Limits applied, for the report.
    pub inconclusive_limit: u32,
    /// Limits applied, for the report.
    pub consecutive_error_limit: u32,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The run's phase: the worst of its deciding metrics.
    pub phase: Phase,
    /// Why, in one line.
    pub message: String,
    /// Every metric, in the order written.
    pub metrics: Vec<MetricResult>,
    /// When it started (the runner's clock, as HTTP writes dates); measurement times count from it.
    pub started_at: String,
    /// How long the analysis took.
    pub elapsed_ms: u64,
}

/// Why the analysis could not run at all: the step must change (a query Prometheus refuses, a
/// condition of the wrong type for the query, a missing grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// The analysis as written cannot work; `metric` names where.
    Invalid {
        /// The metric.
        metric: String,
        /// What and how to fix it.
        message: String,
    },
    /// The sandbox refused an address.
    Denied(String),
}

/// What one measurement looked at and concluded (pure: unit-tested without a provider).
pub fn judge(metric: &Metric, value: &Value) -> (Phase, Option<String>) {
    let problem = if value.is_empty_data() {
        Some("no data: the query returned nothing, which is never a pass".to_string())
    } else {
        value
            .first_non_finite()
            .map(|n| format!("the value is {}, which is never a pass", format_number(n)))
    };
    if let Some(failure) = &metric.failure {
        match failure.eval(value) {
            Ok(true) => return (Phase::Failed, Some(format!("failureCondition `{failure}` holds"))),
            Ok(false) => {}
            Err(e) if problem.is_none() => return (Phase::Error, Some(format!("failureCondition `{failure}`: {e}"))),
            Err(_) => {}
        }
    }
    if let Some(problem) = problem {
        return (Phase::Inconclusive, Some(problem));
    }
    match (&metric.success, &metric.failure) {
        (Some(success), failure) => match success.eval(value) {
            Ok(true) => (Phase::Successful, None),
            Ok(false) if failure.is_some() => (
                Phase::Inconclusive,
                Some(format!(
                    "neither successCondition `{success}` nor the failureCondition holds"
                )),
            ),
            Ok(false) => (
                Phase::Failed,
                Some(format!("successCondition `{success}` does not hold")),
            ),
            Err(e) => (Phase::Error, Some(format!("successCondition `{success}`: {e}"))),
        },
        (None, _) => (Phase::Successful, None),
    }
}

/// Check the metric's conditions against the type its query returns.
pub fn check_types(metric: &Metric, ty: &Type) -> Result<(), Abort> {
    for (key, condition) in [
        ("successCondition", &metric.success),
        ("failureCondition", &metric.failure),
    ] {
        if let Some(c) = condition
            && let Err(e) = c.check(ty)
        {
            return Err(Abort::Invalid {
                metric: metric.name.clone(),
                message: format!("{key} `{c}`: the query returns {ty}: {}", e.with_column()),
            });
        }
    }
    Ok(())
}

struct Tally {
    result: MetricResult,
    consecutive_error: u32,
    baseline: Vec<f64>,
    canary: Vec<f64>,
    typed: bool,
}

impl Tally {
    fn new(metric: &Metric) -> Tally {
        Tally {
            result: MetricResult {
                name: metric.name.clone(),
                dry_run: metric.dry_run,
                phase: Phase::Inconclusive,
                message: String::new(),
                successful: 0,
                failed: 0,
                inconclusive: 0,
                error: 0,
                measurements: Vec::new(),
                comparison: None,
                success_condition: metric.success.as_ref().map(|c| c.to_string()),
                failure_condition: metric.failure.as_ref().map(|c| c.to_string()),
                failure_limit: metric.failure_limit,
                inconclusive_limit: metric.inconclusive_limit,
                consecutive_error_limit: metric.consecutive_error_limit,
            },
            consecutive_error: 0,
            baseline: Vec::new(),
            canary: Vec::new(),
            typed: false,
        }
    }

    fn record(&mut self, m: Measurement) {
        let r = &mut self.result;
        match m.phase {
            Phase::Successful => r.successful += 1,
            Phase::Failed => r.failed += 1,
            Phase::Inconclusive => r.inconclusive += 1,
            Phase::Error => r.error += 1,
        }
        self.consecutive_error = if m.phase == Phase::Error {
            self.consecutive_error + 1
        } else {
            0
        };
        r.measurements.push(m);
    }

    /// A phase reached before the last measurement, with Argo's limits.
    fn decided(&self, metric: &Metric) -> Option<(Phase, String)> {
        let r = &self.result;
        let taken = r.measurements.len();
        if r.failed > metric.failure_limit {
            return Some((
                Phase::Failed,
                format!(
                    "{} of {taken} measurements failed (failureLimit {})",
                    r.failed, metric.failure_limit
                ),
            ));
        }
        if self.consecutive_error > metric.consecutive_error_limit {
            let last = r
                .measurements
                .last()
                .and_then(|m| m.message.clone())
                .unwrap_or_default();
            return Some((
                Phase::Error,
                format!(
                    "{} measurements in a row errored (consecutiveErrorLimit {}): {last}",
                    self.consecutive_error, metric.consecutive_error_limit
                ),
            ));
        }
        if r.inconclusive > metric.inconclusive_limit {
            let last = r
                .measurements
                .iter()
                .rev()
                .find(|m| m.phase == Phase::Inconclusive)
                .and_then(|m| m.message.clone())
                .unwrap_or_default();
            return Some((
                Phase::Inconclusive,
                format!(
                    "{} of {taken} measurements inconclusive (inconclusiveLimit {}): {last}",
                    r.inconclusive, metric.inconclusive_limit
                ),
            ));
        }
        None
    }

    /// The phase once measuring stops (count reached, time up, or another metric ended the run).
    fn conclude(&mut self, metric: &Metric, terminated: bool) -> (Phase, String) {
        if let Some(decided) = self.decided(metric) {
            return decided;
        }
        let r = &self.result;
        let taken = r.measurements.len();
        let stopped = if terminated {
            " (stopped early: the run was decided by another metric)"
        } else {
            ""
        };
        if r.successful == 0 {
            return (
                Phase::Inconclusive,
                format!("no successful measurement in {taken}{stopped}: a metric is never Successful without one"),
            );
        }
        if let Some(rule) = &metric.compare {
            let c = stats::compare(&self.baseline, &self.canary, rule);
            let verdict = c.verdict;
            let message = c.message.clone();
            self.result.comparison = Some(c);
            match verdict {
                stats::Verdict::Fail => return (Phase::Failed, message),
                stats::Verdict::Inconclusive => return (Phase::Inconclusive, format!("{message}{stopped}")),
                stats::Verdict::Pass => {
                    return (
                        Phase::Successful,
                        format!(
                            "{} of {taken} measurements successful; {message}",
                            self.result.successful
                        ),
                    );
                }
            }
        }
        (
            Phase::Successful,
            format!("{} of {taken} measurements successful{stopped}", r.successful),
        )
    }
}

/// Run every metric to its end; `limit` bounds metrics without a `count`.
pub async fn run(metrics: Vec<Metric>, limit: Option<Duration>) -> Result<RunResult, Abort> {
    let started = Instant::now();
    let started_at = httpdate::fmt_http_date(std::time::SystemTime::now());
    let stop = Rc::new(Cell::new(false));
    let abort: Rc<RefCell<Option<Abort>>> = Rc::new(RefCell::new(None));
    let tallies: Vec<Rc<RefCell<Tally>>> = metrics.iter().map(|m| Rc::new(RefCell::new(Tally::new(m)))).collect();
    let futures = metrics.into_iter().zip(&tallies).map(|(metric, tally)| {
        let (stop, abort, tally) = (stop.clone(), abort.clone(), tally.clone());
        async move {
            if let Err(e) = measure_metric(&metric, &tally, &stop, started, limit).await {
                abort.borrow_mut().get_or_insert(e);
                stop.set(true);
            }
        }
    });
    runtime::join_all(futures.collect::<Vec<_>>()).await;
    if let Some(e) = abort.borrow_mut().take() {
        return Err(e);
    }
    let results: Vec<MetricResult> = tallies.iter().map(|t| t.borrow().result.clone()).collect();
    let (phase, message) = run_phase(&results);
    Ok(RunResult {
        phase,
        message,
        metrics: results,
        started_at,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// The run's phase: Failed over Error over Inconclusive over Successful, among deciding metrics.
pub fn run_phase(results: &[MetricResult]) -> (Phase, String) {
    let deciding: Vec<&MetricResult> = results.iter().filter(|r| !r.dry_run).collect();
    if deciding.is_empty() {
        return (Phase::Inconclusive, "every metric is a dry run: nothing decided".into());
    }
    for phase in [Phase::Failed, Phase::Error, Phase::Inconclusive] {
        let hit: Vec<String> = deciding
            .iter()
            .filter(|r| r.phase == phase)
            .map(|r| format!("{}: {}", r.name, r.message))
            .collect();
        if !hit.is_empty() {
            return (phase, hit.join("; "));
        }
    }
    (Phase::Successful, format!("{} metric(s) successful", deciding.len()))
}

async fn measure_metric(
    metric: &Metric,
    tally: &RefCell<Tally>,
    stop: &Cell<bool>,
    started: Instant,
    limit: Option<Duration>,
) -> Result<(), Abort> {
    sleep_for(metric.initial_delay, started.elapsed(), started, stop).await;
    let mut index = 0u32;
    let mut terminated = false;
    loop {
        if stop.get() {
            terminated = true;
            break;
        }
        if metric.count.is_some_and(|c| index >= c) || limit.is_some_and(|l| started.elapsed() >= l) {
            break;
        }
        let began = started.elapsed();
        index += 1;
        let measurement = measure_once(metric, tally, index, began).await?;
        log_measurement(metric, &measurement);
        let decided = {
            let mut t = tally.borrow_mut();
            t.record(measurement);
            let decided = t.decided(metric);
            if let Some((phase, message)) = &decided {
                t.result.phase = *phase;
                t.result.message = message.clone();
            }
            decided.is_some()
        };
        if decided {
            if !metric.dry_run {
                stop.set(true);
            }
            return Ok(());
        }
        let last = metric.count.is_some_and(|c| index >= c);
        if last {
            break;
        }
        let interval = metric.interval.unwrap_or_default();
        let fraction = metric.count.map(|c| index as f32 / c as f32);
        let of = metric.count.map(|c| format!(" of {c}")).unwrap_or_default();
        tollgate_sdk::log::progress(
            &format!(
                "{}: {index}{of} measurements, next in {}",
                metric.name,
                tollgate_vocab::duration::format_duration(interval)
            ),
            fraction,
        );
        sleep_for(interval, began, started, stop).await;
    }
    let mut t = tally.borrow_mut();
    let (phase, message) = t.conclude(metric, terminated);
    t.result.phase = phase;
    t.result.message = message;
    Ok(())
}

/// Sleep until `from + duration` on the analysis clock (measured from `started`).
async fn sleep_for(duration: Duration, from: Duration, started: Instant, stop: &Cell<bool>) {
    let target = from + duration;
    loop {
        if stop.get() {
            return;
        }
        let now = started.elapsed();
        if now >= target {
            return;
        }
        runtime::sleep((target - now).min(Duration::from_secs(1))).await;
    }
}

async fn measure_once(
    metric: &Metric,
    tally: &RefCell<Tally>,
    index: u32,
    began: Duration,
) -> Result<Measurement, Abort> {
    let mut m = Measurement {
        index,
        elapsed_ms: began.as_millis() as u64,
        value: None,
        baseline: None,
        phase: Phase::Error,
        message: None,
    };
    let fatal = |e: &ProviderError| match e {
        ProviderError::BadQuery(message) => Some(Abort::Invalid {
            metric: metric.name.clone(),
            message: message.clone(),
        }),
        ProviderError::Denied(message) => Some(Abort::Denied(message.clone())),
        ProviderError::Failed(_) => None,
    };
    let canary_variant = metric.compare.as_ref().map(|c| c.canary.as_str());
    let canary = metric.provider.measure(canary_variant).await;
    let baseline = match &metric.compare {
        Some(c) => Some(metric.provider.measure(Some(&c.baseline)).await),
        None => None,
    };
    let measured: Measured = match canary {
        Ok(v) => v,
        Err(e) => {
            if let Some(abort) = fatal(&e) {
                return Err(abort);
            }
            m.message = Some(e.message().to_string());
            return Ok(m);
        }
    };
    {
        let mut t = tally.borrow_mut();
        if !t.typed {
            check_types(metric, &measured.ty)?;
            t.typed = true;
        }
    }
    m.value = Some(measured.value.brief(SHOWN_ITEMS));
    let (phase, message) = judge(metric, &measured.value);
    m.phase = phase;
    m.message = message;
    if let Some(baseline) = baseline {
        let baseline = match baseline {
            Ok(b) => b,
            Err(e) => {
                if let Some(abort) = fatal(&e) {
                    return Err(abort);
                }
                m.phase = Phase::Error;
                m.message = Some(format!("baseline: {}", e.message()));
                return Ok(m);
            }
        };
        m.baseline = Some(baseline.value.brief(SHOWN_ITEMS));
        match (single(&baseline.value), single(&measured.value)) {
            (Ok(b), Ok(c)) if m.phase == Phase::Successful => {
                let mut t = tally.borrow_mut();
                t.baseline.push(b);
                t.canary.push(c);
            }
            (Ok(_), Ok(_)) => {}
            (Err(why), _) | (_, Err(why)) if m.phase != Phase::Inconclusive => {
                m.phase = Phase::Error;
                m.message = Some(why);
            }
            _ => {}
        }
    }
    Ok(m)
}

/// The one number a comparison sample needs: a scalar, or a vector of one series.
fn single(value: &Value) -> Result<f64, String> {
    let n = match value {
        Value::Number(n) => *n,
        Value::List(items) if items.len() == 1 => match &items[0] {
            Value::Number(n) => *n,
            _ => return Err("a comparison needs one number per variant".into()),
        },
        Value::List(items) => {
            return Err(format!(
                "a comparison needs one number per variant, the query returned {} series: aggregate it, e.g. `sum(…)`",
                items.len()
            ));
        }
        _ => return Err("a comparison needs one number per variant".into()),
    };
    if n.is_finite() {
        Ok(n)
    } else {
        Err(format!("the value is {}", format_number(n)))
    }
}

fn log_measurement(metric: &Metric, m: &Measurement) {
    let value = match (&m.baseline, &m.value) {
        (Some(b), Some(v)) => format!("canary {v}, baseline {b}"),
        (None, Some(v)) => v.clone(),
        (_, None) => "no value".into(),
    };
    let why = m.message.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
    let line = format!(
        "{} #{} (t+{:.1}s): {value} → {}{why}",
        metric.name,
        m.index,
        m.elapsed_ms as f64 / 1000.0,
        m.phase.as_str()
    );
    match m.phase {
        Phase::Successful => tollgate_sdk::info(&line),
        _ => tollgate_sdk::warn(&line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::read_metrics;
    use serde_json::json;

    fn metric(success: Option<&str>, failure: Option<&str>) -> Metric {
        let mut m = json!({"name": "m", "provider": {"prometheus": {"address": "http://p", "query": "q"}}});
        if let Some(s) = success {
            m["successCondition"] = json!(s);
        }
        if let Some(f) = failure {
            m["failureCondition"] = json!(f);
        }
        read_metrics(&json!([m]), &[], None).unwrap().remove(0)
    }

    fn vector(xs: &[f64]) -> Value {
        Value::List(xs.iter().map(|x| Value::Number(*x)).collect())
    }

    #[test]
    fn argo_verdicts_for_each_condition_form() {
        let both = metric(Some("result[0] < 0.01"), Some("result[0] > 0.05"));
        assert_eq!(judge(&both, &vector(&[0.001])).0, Phase::Successful);
        assert_eq!(judge(&both, &vector(&[0.1])).0, Phase::Failed);
        assert_eq!(judge(&both, &vector(&[0.02])).0, Phase::Inconclusive);
        let success_only = metric(Some("result[0] < 0.01"), None);
        assert_eq!(judge(&success_only, &vector(&[0.02])).0, Phase::Failed);
        let failure_only = metric(None, Some("result[0] > 0.05"));
        assert_eq!(judge(&failure_only, &vector(&[0.02])).0, Phase::Successful);
    }

    #[test]
    fn no_data_and_nan_never_pass_whatever_the_form() {
        for m in [
            metric(None, Some("result[0] > 0.05")),
            metric(Some("all(result, {# < 0.01})"), None),
            metric(Some("isNaN(result[0]) || result[0] < 0.01"), None),
            metric(None, Some("any(result, {# > 0.05})")),
        ] {
            for value in [
                vector(&[]),
                vector(&[f64::NAN]),
                vector(&[0.001, f64::INFINITY]),
                vector(&[f64::NEG_INFINITY]),
            ] {
                let (phase, why) = judge(&m, &value);
                assert_ne!(phase, Phase::Successful, "{:?} on {value}: {why:?}", m.success);
                if phase == Phase::Inconclusive {
                    assert!(why.unwrap().contains("never a pass"));
                }
            }
        }
        // A failure condition that catches the problem still fails the measurement.
        let m = metric(None, Some("len(result) == 0"));
        assert_eq!(judge(&m, &vector(&[])).0, Phase::Failed);
    }

    #[test]
    fn a_metric_whose_measurements_all_errored_is_never_successful() {
        let m = metric(Some("result[0] < 1"), None);
        let mut t = Tally::new(&m);
        for i in 1..=3 {
            t.record(Measurement {
                index: i,
                elapsed_ms: 0,
                value: None,
                baseline: None,
                phase: Phase::Error,
                message: Some("down".into()),
            });
        }
        let (phase, message) = t.conclude(&m, true);
        assert_eq!(phase, Phase::Inconclusive, "{message}");
        let results = vec![MetricResult {
            phase,
            ..t.result.clone()
        }];
        assert_ne!(run_phase(&results).0, Phase::Successful);
    }
}
