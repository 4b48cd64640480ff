//! The default limits of a plugin step, as values and as the text that `--timeout`/`--memory` and the action's
//! `timeout`/`memory` inputs show as their defaults. A test checks that the text parses to the value.

use std::time::Duration;

/// Wall-clock limit of a plugin step when nothing else is said: 10 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// [`DEFAULT_TIMEOUT`] as written, for clap's `default_value` and `action.yml`.
pub const DEFAULT_TIMEOUT_TEXT: &str = "10m";

/// Wall-clock limit of a plugin's `describe` when a command only inspects it (`plugin describe`,
/// `plugin publish`): a working `describe` answers at once, a spinning one should not hold a
/// terminal for the step default.
pub const DEFAULT_INSPECT_TIMEOUT: Duration = Duration::from_secs(30);

/// [`DEFAULT_INSPECT_TIMEOUT`] as written, for clap's `default_value`.
pub const DEFAULT_INSPECT_TIMEOUT_TEXT: &str = "30s";

/// Linear-memory limit of a plugin when nothing else is said: 512 MiB.
pub const DEFAULT_MEMORY: u64 = 512 << 20;

/// [`DEFAULT_MEMORY`] as written, for clap's `default_value` and `action.yml`.
pub const DEFAULT_MEMORY_TEXT: &str = "512MiB";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{format_duration, format_size, parse_duration, parse_size};

    #[test]
    fn the_text_is_the_value() {
        assert_eq!(parse_duration(DEFAULT_TIMEOUT_TEXT), Ok(DEFAULT_TIMEOUT));
        assert_eq!(format_duration(DEFAULT_TIMEOUT), DEFAULT_TIMEOUT_TEXT);
        assert_eq!(
            parse_duration(DEFAULT_INSPECT_TIMEOUT_TEXT),
            Ok(DEFAULT_INSPECT_TIMEOUT)
        );
        assert_eq!(format_duration(DEFAULT_INSPECT_TIMEOUT), DEFAULT_INSPECT_TIMEOUT_TEXT);
        assert_eq!(parse_size(DEFAULT_MEMORY_TEXT), Ok(DEFAULT_MEMORY));
        assert_eq!(format_size(DEFAULT_MEMORY), DEFAULT_MEMORY_TEXT);
    }
}
