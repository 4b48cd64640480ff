//! The retry schedule: the wait before each retry doubles from `backoff` up to a cap.

use std::time::Duration;

/// Doubling stops here, so a generous `retries` cannot stretch one check into minutes per
/// attempt; an author who asks for a longer base `backoff` still gets it.
pub const CAP: Duration = Duration::from_secs(10);

/// The wait before retry number `retry` (0 for the first retry).
pub fn delay(base: Duration, retry: u32) -> Duration {
    let cap = CAP.max(base);
    let factor = 2u32.saturating_pow(retry.min(31));
    base.saturating_mul(factor).min(cap)
}

/// Every wait for `retries` retries, in order.
pub fn schedule(base: Duration, retries: u32) -> Vec<Duration> {
    (0..retries).map(|r| delay(base, r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_from_the_base() {
        assert_eq!(schedule(ms(500), 4), vec![ms(500), ms(1000), ms(2000), ms(4000)]);
        assert!(schedule(ms(500), 0).is_empty());
    }

    #[test]
    fn caps_at_ten_seconds() {
        assert_eq!(schedule(ms(3000), 4), vec![ms(3000), ms(6000), ms(10_000), ms(10_000)]);
        assert_eq!(delay(ms(500), 1000), CAP);
    }

    #[test]
    fn a_long_base_is_honoured_not_shortened() {
        assert_eq!(schedule(ms(30_000), 2), vec![ms(30_000), ms(30_000)]);
    }

    #[test]
    fn zero_backoff_retries_immediately() {
        assert_eq!(schedule(Duration::ZERO, 3), vec![Duration::ZERO; 3]);
    }
}
