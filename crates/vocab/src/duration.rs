//! Durations: timeouts on the command line, in action inputs and in pipeline files (`timeout:`,
//! `allow.timeout`), and any other duration a user writes, written one way and shown the same way.
//!
//! The grammar, which `$defs/duration` in `schema/pipeline.schema.json` repeats as a pattern: hours, minutes,
//! seconds and milliseconds (`h`, `m`, `s`, `ms`), largest first, each at most once, no spaces: `30s`, `5m`,
//! `1h30m`, `90m`, `2h0m15s`, `300ms`, `1s500ms`. The first number has no leading zero and is not zero; the
//! numbers after it have no leading zeros and are below 60 (minutes, seconds) or 1000 (milliseconds). The
//! duration is more than zero and at most [`MAX`] (24 hours).
//!
//! Why so strict: one spelling per value keeps files, flags and messages comparable, and the grammar is small
//! enough for a JSON Schema pattern to say exactly the same thing. Why 24 hours: a CI step that runs longer is
//! a typo (`10h` for `10m`) or a hang, GitHub-hosted jobs stop after 6 hours anyway, and a bound keeps the
//! host's deadline arithmetic far from overflow. Spellings `humantime` reads (`5 minutes`, `1.5h`, `90min`,
//! `1h 30m`) are refused with the accepted spelling as the hint.

use std::time::Duration;

use crate::error::{Invalid, Result};

/// The longest duration: 24 hours.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// The hint of every malformed-duration error.
pub const SYNTAX: &str = "write a duration such as `30s`, `5m`, `1h30m` or `300ms`";

/// The units, largest first: name, milliseconds, and the bound of a number that follows a larger unit.
const UNITS: [(&str, u64, u64); 4] = [("h", 3_600_000, 0), ("m", 60_000, 60), ("s", 1000, 60), ("ms", 1, 1000)];

/// Parse a duration (see the module docs).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = |problem: &str, hint: &str| Invalid::new("duration", text, problem, Some(hint));
    let too_long = || format!("it is longer than the maximum of {}", format_duration(MAX));
    if text.is_empty() {
        return Err(invalid("it is empty", SYNTAX));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let fits = |unit: &str| strict(&format!("{text}{unit}")).is_some_and(|d| !d.is_zero() && d <= MAX);
        let hint = match (fits("s"), fits("m")) {
            (true, true) => format!("write `{text}s` for seconds or `{text}m` for minutes"),
            (true, false) => format!("write `{text}s` for seconds"),
            _ => SYNTAX.to_string(),
        };
        return Err(invalid("it has no unit", &hint));
    }
    if text.starts_with('-') {
        return Err(invalid("it is negative", SYNTAX));
    }
    match strict(text) {
        Some(d) if d.is_zero() => Err(invalid("it must be more than zero", SYNTAX)),
        Some(d) if d > MAX => Err(invalid(&too_long(), SYNTAX)),
        Some(d) => Ok(d),
        None => Err(match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => invalid("it must be more than zero", SYNTAX),
            Ok(d) if d > MAX => invalid(&too_long(), SYNTAX),
            Ok(d) if d.subsec_nanos() % 1_000_000 == 0 => invalid(
                "durations are written as hours, minutes, seconds and milliseconds, largest first, without spaces",
                &format!("write `{}`", format_duration(d)),
            ),
            Ok(_) => invalid("durations are whole milliseconds", SYNTAX),
            Err(_) => invalid("it is not a number followed by `h`, `m`, `s` or `ms`", SYNTAX),
        }),
    }
}

/// The grammar of the module docs, without the range checks; `None` when `text` does not follow it.
fn strict(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut millis: u64 = 0;
    let mut previous: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(letters);
        let rank = UNITS.iter().position(|(name, ..)| *name == unit)?;
        if number.is_empty() || previous.is_some_and(|p| p >= rank) {
            return None;
        }
        let value: u64 = number.parse().ok()?;
        let (_, unit_millis, bound) = UNITS[rank];
        let canonical = match previous {
            None => !number.starts_with('0'),
            Some(_) => value < bound && (number == "0" || !number.starts_with('0')),
        };
        if !canonical {
            return None;
        }
        millis = millis.checked_add(value.checked_mul(unit_millis)?)?;
        previous = Some(rank);
        rest = after;
    }
    Some(Duration::from_millis(millis))
}

/// The accepted spelling of `d`: `1h30m`, `45s`, `1s500ms`, `24h`. Durations within (0, [`MAX`]] in whole
/// milliseconds parse back to themselves; zero is shown as `0s`, longer durations in hours (`72h`) and a
/// fraction of a millisecond in `us` or `ns`, for messages only.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let parts = [
        (secs / 3600, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(nanos / 1_000_000), "ms"),
        match nanos % 1_000_000 {
            n if n % 1000 == 0 => (u64::from(n / 1000), "us"),
            n => (u64::from(n), "ns"),
        },
    ];
    let out: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if out.is_empty() { "0s".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn accepted_spellings() {
        for (text, expected) in [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("90m", 5400),
            ("2h0m15s", 7215),
            ("1h5s", 3605),
            ("24h", 86400),
            ("24h0m0s", 86400),
            ("1440m", 86400),
            ("86400s", 86400),
            ("23h59m59s", 86399),
        ] {
            assert_eq!(parse_duration(text), Ok(secs(expected)), "{text}");
        }
        for (text, expected) in [
            ("300ms", 300),
            ("1s500ms", 1500),
            ("1500ms", 1500),
            ("1h5ms", 3_600_005),
            ("23h59m59s999ms", 86_399_999),
            ("86400000ms", 86_400_000),
        ] {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(expected)), "{text}");
        }
    }

    const WRITTEN: &str =
        "durations are written as hours, minutes, seconds and milliseconds, largest first, without spaces";

    #[test]
    fn refused_spellings_say_why() {
        for (text, problem, hint) in [
            ("", "it is empty", SYNTAX),
            ("10", "it has no unit", "write `10s` for seconds or `10m` for minutes"),
            (
                "1440",
                "it has no unit",
                "write `1440s` for seconds or `1440m` for minutes",
            ),
            ("3600", "it has no unit", "write `3600s` for seconds"),
            ("0", "it has no unit", SYNTAX),
            ("-1s", "it is negative", SYNTAX),
            ("0s", "it must be more than zero", SYNTAX),
            ("0h0m", "it must be more than zero", SYNTAX),
            ("25h", "it is longer than the maximum of 24h", SYNTAX),
            ("24h1s", "it is longer than the maximum of 24h", SYNTAX),
            ("2d", "it is longer than the maximum of 24h", SYNTAX),
            ("5 minutes", WRITTEN, "write `5m`"),
            ("1h90m", WRITTEN, "write `2h30m`"),
            ("1.5h", WRITTEN, "write `1h30m`"),
            ("30m1h", WRITTEN, "write `1h30m`"),
            ("05m", WRITTEN, "write `5m`"),
            ("1h05m", WRITTEN, "write `1h5m`"),
            (" 5m", WRITTEN, "write `5m`"),
            ("1.5s", WRITTEN, "write `1s500ms`"),
            ("1s1000ms", WRITTEN, "write `2s`"),
            ("0ms", "it must be more than zero", SYNTAX),
            ("86400001ms", "it is longer than the maximum of 24h", SYNTAX),
            ("24h1ms", "it is longer than the maximum of 24h", SYNTAX),
            ("500us", "durations are whole milliseconds", SYNTAX),
            ("soon", "it is not a number followed by `h`, `m`, `s` or `ms`", SYNTAX),
            ("1x", "it is not a number followed by `h`, `m`, `s` or `ms`", SYNTAX),
            (
                "99999999999999999999s",
                "it is not a number followed by `h`, `m`, `s` or `ms`",
                SYNTAX,
            ),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert_eq!((err.problem(), err.hint()), (problem, Some(hint)), "{text:?}");
            assert_eq!(err.what, "duration");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for n in (1..=86400)
            .step_by(7)
            .chain([1, 59, 60, 61, 3599, 3600, 3601, 86399, 86400])
        {
            let text = format_duration(secs(n));
            assert_eq!(parse_duration(&text), Ok(secs(n)), "{n}s formats as {text}");
        }
        assert_eq!(format_duration(secs(5400)), "1h30m");
        assert_eq!(format_duration(secs(0)), "0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_nanos(1_500)), "1500ns");
        assert_eq!(format_duration(Duration::from_micros(2)), "2us");
        assert_eq!(format_duration(secs(3 * 86400)), "72h");
    }
}
