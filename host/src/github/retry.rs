//! When a failed GitHub call is tried again, and after how long.
//!
//! - Exponential backoff with jitter for server errors and lost connections; GitHub's own
//!   times for rate limits.
//! - Never more than [`RetryPolicy::max_attempts`] attempts or [`RetryPolicy::budget`] of
//!   waiting in all, and never a wait that ends after the step's own deadline.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Total time a call may spend waiting between attempts; a wait that would pass it
    /// (a rate limit that resets later, say) ends the call instead.
    pub budget: Duration,
    /// The first backoff; each later one doubles, up to [`RetryPolicy::max_backoff`].
    pub base: Duration,
    /// The longest single backoff (rate-limit waits are GitHub's and may be longer).
    pub max_backoff: Duration,
    /// When the step's `--timeout` ends: a wait that would outlast it ends the call at once
    /// with a message saying so, instead of the step being killed mid-wait.
    pub deadline: Option<Instant>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            budget: Duration::from_secs(300),
            base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            deadline: None,
        }
    }
}

/// GitHub's advice for a secondary rate limit without `retry-after`: wait at least a minute.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// Added to a primary rate limit's reset time: `x-ratelimit-reset` and `date` are whole
/// seconds.
const RESET_MARGIN: Duration = Duration::from_secs(1);

/// Why an attempt failed, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again after the usual backoff.
    Backoff,
    /// A rate limit: try again after this long (GitHub's time).
    After(Duration),
}

/// The rate limit a response reports, if any: 403 or 429 with `x-ratelimit-remaining: 0`
/// (primary: wait for `x-ratelimit-reset`), or with `retry-after` (secondary), or whose
/// message says so. `now` is the server's clock when the response has a `date`.
pub fn rate_limit(status: u16, headers: &http::HeaderMap, message: &str) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        let now = header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        return Some(match reset {
            Some(reset) => Duration::from_secs(reset).saturating_sub(now) + RESET_MARGIN,
            None => SECONDARY_DEFAULT_WAIT,
        });
    }
    let lower = message.to_ascii_lowercase();
    if status == 429 || lower.contains("secondary rate limit") || lower.contains("rate limit exceeded") {
        return Some(SECONDARY_DEFAULT_WAIT);
    }
    None
}

/// The attempts of one call: counts them and the time waited, and says how long to wait
/// before the next one, or that there is none.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    attempts: u32,
    waited: Duration,
}

/// Why [`Backoff::next`] gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Every attempt is spent.
    Attempts(u32),
    /// The next wait would pass the budget; it was this long.
    Budget(Duration),
    /// The next wait would outlast the step's deadline; it was this long.
    Deadline(Duration),
}

impl Backoff {
    /// A call about to make its first attempt.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 1,
            waited: Duration::ZERO,
        }
    }

    /// The policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// After a failed attempt: how long to wait before the next one, counting it, or why
    /// there is none. `jitter` is a uniform draw from `0.0..1.0`.
    pub fn next(&mut self, why: Retry, jitter: f64) -> Result<Duration, GiveUp> {
        if self.attempts >= self.policy.max_attempts {
            return Err(GiveUp::Attempts(self.attempts));
        }
        let wait = match why {
            Retry::After(wait) => wait,
            Retry::Backoff => {
                let exp = self
                    .policy
                    .base
                    .saturating_mul(1u32 << (self.attempts - 1).min(20))
                    .min(self.policy.max_backoff);
                // "Equal jitter": at least half the backoff, so retries still spread out.
                exp.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
            }
        };
        if self.waited + wait > self.policy.budget {
            return Err(GiveUp::Budget(wait));
        }
        if self.policy.deadline.is_some_and(|end| Instant::now() + wait >= end) {
            return Err(GiveUp::Deadline(wait));
        }
        self.waited += wait;
        self.attempts += 1;
        Ok(wait)
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// A uniform draw from `0.0..1.0` from the OS's generator (0.5 if it has none).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            budget: Duration::from_secs(10),
            base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
            deadline: None,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_the_attempts() {
        let mut b = Backoff::new(policy());
        // Full jitter draws give the whole backoff, zero draws half of it.
        assert_eq!(b.next(Retry::Backoff, 1.0), Ok(Duration::from_millis(500)));
        assert_eq!(b.next(Retry::Backoff, 0.0), Ok(Duration::from_millis(500)));
        let third = b.next(Retry::Backoff, 0.5).unwrap();
        assert_eq!(third, Duration::from_millis(1500));
        // Capped at 3 s.
        assert_eq!(b.next(Retry::Backoff, 1.0), Ok(Duration::from_millis(3000)));
        assert_eq!(b.attempts(), 5);
        assert_eq!(b.next(Retry::Backoff, 0.0), Err(GiveUp::Attempts(5)));
    }

    #[test]
    fn waits_never_pass_the_budget() {
        let mut b = Backoff::new(policy());
        assert_eq!(
            b.next(Retry::After(Duration::from_secs(6)), 0.0),
            Ok(Duration::from_secs(6))
        );
        assert_eq!(
            b.next(Retry::After(Duration::from_secs(5)), 0.0),
            Err(GiveUp::Budget(Duration::from_secs(5)))
        );
        // A shorter wait still fits.
        assert_eq!(
            b.next(Retry::After(Duration::from_secs(4)), 0.0),
            Ok(Duration::from_secs(4))
        );
    }

    #[test]
    fn no_wait_outlasts_the_steps_deadline() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut b = Backoff::new(RetryPolicy {
            budget: Duration::from_secs(3600),
            deadline: Some(deadline),
            ..policy()
        });
        // A rate limit that resets in 50 minutes: within the budget, past the step's end.
        assert_eq!(
            b.next(Retry::After(Duration::from_secs(3000)), 0.0),
            Err(GiveUp::Deadline(Duration::from_secs(3000)))
        );
        assert_eq!(
            b.next(Retry::After(Duration::from_secs(2)), 0.0),
            Ok(Duration::from_secs(2))
        );
    }

    #[test]
    fn rate_limits_are_read_from_githubs_headers() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = http::HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        // Secondary: retry-after seconds.
        assert_eq!(
            rate_limit(
                403,
                &headers(&[("retry-after", "7")]),
                "You have exceeded a secondary rate limit"
            ),
            Some(Duration::from_secs(7))
        );
        // Primary: until the reset, by the server's clock, plus a margin.
        let primary = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000000010"),
            ("date", "Sun, 09 Sep 2001 01:46:40 GMT"), // 1_000_000_000
        ]);
        assert_eq!(
            rate_limit(403, &primary, "API rate limit exceeded"),
            Some(Duration::from_secs(11))
        );
        assert_eq!(rate_limit(429, &primary, ""), Some(Duration::from_secs(11)));
        // A reset already past waits only the margin.
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "999999990"),
            ("date", "Sun, 09 Sep 2001 01:46:40 GMT"),
        ]);
        assert_eq!(rate_limit(403, &past, ""), Some(RESET_MARGIN));
        // A secondary limit named only in the message waits a minute.
        assert_eq!(
            rate_limit(403, &headers(&[]), "You have exceeded a secondary rate limit."),
            Some(SECONDARY_DEFAULT_WAIT)
        );
        // A plain 403 is a permission problem, not a rate limit.
        assert_eq!(
            rate_limit(
                403,
                &headers(&[("x-ratelimit-remaining", "4999")]),
                "Resource not accessible by integration"
            ),
            None
        );
        assert_eq!(rate_limit(500, &headers(&[("retry-after", "1")]), ""), None);
    }
}
