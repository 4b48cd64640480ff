//! Sizes: memory limits on the command line, in action inputs and in pipeline files (`allow.memory`),
//! written one way and shown the same way.
//!
//! The grammar, which `$defs/size` in `schema/pipeline.schema.json` repeats as a pattern: a whole number
//! without leading zeros, then a unit, no space: `MiB` (2^20 bytes), `GiB` (2^30), `MB` (10^6) or `GB` (10^9),
//! as `bytesize` reads them: `256MiB`, `1GiB`, `512MB`. The size is more than zero and at most [`MAX`]
//! (4 GiB), the largest memory a wasm32 module can have, so a larger limit would limit nothing. Spellings
//! `bytesize` reads otherwise (`1.5GiB`, `256 MiB`, `512mb`, `512M`) are refused with the accepted spelling
//! as the hint.

use crate::error::{Invalid, Result};

/// The largest size: 4 GiB.
pub const MAX: u64 = 4 << 30;

/// The hint of every malformed-size error.
pub const SYNTAX: &str = "write a size such as `256MiB` or `1GiB`";

/// The units, with their size in bytes.
const UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
];

/// Parse a size in bytes (see the module docs).
pub fn parse_size(text: &str) -> Result<u64> {
    let invalid = |problem: &str, hint: &str| Invalid::new("size", text, problem, Some(hint));
    let too_big = || format!("it is more than the maximum of {}", format_size(MAX));
    if text.is_empty() {
        return Err(invalid("it is empty", SYNTAX));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let fits = |t: &str| strict(t).is_some_and(|n| n != 0 && n <= MAX);
        let as_bytes = text.parse::<u64>().map(format_size).unwrap_or_default();
        let hint = if fits(&format!("{text}MiB")) {
            format!("write `{text}MiB` for mebibytes")
        } else if fits(&as_bytes) {
            format!("write `{as_bytes}`")
        } else {
            SYNTAX.to_string()
        };
        return Err(invalid("it has no unit", &hint));
    }
    match strict(text) {
        Some(0) => Err(invalid("it must be more than zero", SYNTAX)),
        Some(n) if n > MAX => Err(invalid(&too_big(), SYNTAX)),
        Some(n) => Ok(n),
        None => Err(match text.parse::<bytesize::ByteSize>().map(|b| b.as_u64()) {
            Ok(0) => invalid("it must be more than zero", SYNTAX),
            Ok(n) if n > MAX => invalid(&too_big(), SYNTAX),
            Ok(n) if n.is_multiple_of(1_000_000) || n.is_multiple_of(1 << 20) => invalid(
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                &format!("write `{}`", format_size(n)),
            ),
            Ok(_) => invalid("it is not a whole number of MiB, GiB, MB or GB", SYNTAX),
            Err(_) => invalid("it is not a number followed by MiB, GiB, MB or GB", SYNTAX),
        }),
    }
}

/// The grammar of the module docs, without the range checks; `None` when `text` does not follow it.
fn strict(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    if number.is_empty() || number.starts_with('0') && number != "0" {
        return None;
    }
    let (_, factor) = UNITS.iter().find(|(name, _)| *name == unit)?;
    number.parse::<u64>().ok()?.checked_mul(*factor)
}

/// The accepted spelling of `bytes`, in the largest unit that divides it: `512MiB`, `1GiB`, `512MB`. Sizes
/// within (0, [`MAX`]] written in one of the units parse back to themselves; other sizes are shown in `KiB` or
/// `B`, for messages only.
pub fn format_size(bytes: u64) -> String {
    let units = UNITS.iter().chain(&[("KiB", 1 << 10), ("B", 1)]);
    for (name, factor) in units {
        if bytes != 0 && bytes.is_multiple_of(*factor) {
            return format!("{}{name}", bytes / factor);
        }
    }
    "0B".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_spellings() {
        for (text, expected) in [
            ("256MiB", 256 << 20),
            ("1GiB", 1 << 30),
            ("512MB", 512_000_000),
            ("2GB", 2_000_000_000),
            ("4GiB", 4 << 30),
            ("4096MiB", 4 << 30),
            ("4294MB", 4_294_000_000),
            ("1MiB", 1 << 20),
        ] {
            assert_eq!(parse_size(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refused_spellings_say_why() {
        for (text, problem, hint) in [
            ("", "it is empty", SYNTAX),
            ("256", "it has no unit", "write `256MiB` for mebibytes"),
            ("268435456", "it has no unit", "write `256MiB`"),
            ("0", "it has no unit", SYNTAX),
            ("0MiB", "it must be more than zero", SYNTAX),
            ("0GB", "it must be more than zero", SYNTAX),
            ("5GiB", "it is more than the maximum of 4GiB", SYNTAX),
            ("4097MiB", "it is more than the maximum of 4GiB", SYNTAX),
            ("1TB", "it is more than the maximum of 4GiB", SYNTAX),
            (
                "1.5GiB",
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                "write `1536MiB`",
            ),
            (
                "256 MiB",
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                "write `256MiB`",
            ),
            (
                "512mb",
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                "write `512MB`",
            ),
            (
                "512M",
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                "write `512MB`",
            ),
            (
                "0256MiB",
                "sizes are whole numbers followed by MiB, GiB, MB or GB, without spaces",
                "write `256MiB`",
            ),
            ("64KiB", "it is not a whole number of MiB, GiB, MB or GB", SYNTAX),
            ("lots", "it is not a number followed by MiB, GiB, MB or GB", SYNTAX),
            ("-1MiB", "it is not a number followed by MiB, GiB, MB or GB", SYNTAX),
        ] {
            let err = parse_size(text).unwrap_err();
            assert_eq!((err.problem(), err.hint()), (problem, Some(hint)), "{text:?}");
            assert_eq!(err.what, "size");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for (bytes, text) in [
            (512 << 20, "512MiB"),
            (1 << 30, "1GiB"),
            (1536 << 20, "1536MiB"),
            (512_000_000, "512MB"),
            (3_000_000_000, "3GB"),
            (64 << 10, "64KiB"),
            (1000, "1000B"),
            (0, "0B"),
        ] {
            assert_eq!(format_size(bytes), text);
        }
        for n in 1..=4096u64 {
            assert_eq!(parse_size(&format_size(n << 20)), Ok(n << 20));
        }
    }
}
