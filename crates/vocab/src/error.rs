//! The one error type of the crate: a value that is not spelled as its vocabulary says.

/// A value that is not valid in its vocabulary, e.g. ``invalid origin `ftp://x`: the scheme must be http or
/// https, not `ftp`; write origins as scheme://host[:port], e.g. …``.
///
/// `reason` reads `PROBLEM` or `PROBLEM; HINT`: [`Invalid::problem`] and [`Invalid::hint`] split it for callers
/// that show hints on their own line (pipeline diagnostics do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct Invalid {
    /// What the value should have been: `origin`, `URL`, `duration`, `size`, `GitHub permission`, `secret name`.
    pub what: &'static str,
    /// The value as written.
    pub value: String,
    /// What is wrong with it, then `; ` and how to write it.
    pub reason: String,
}

/// `Result` with [`Invalid`] as the error.
pub type Result<T, E = Invalid> = std::result::Result<T, E>;

impl Invalid {
    /// An error whose reason is `problem`, then `; hint` when there is a hint. A `; ` inside `problem` (from a
    /// library's message) becomes `, ` so the split stays unambiguous.
    pub(crate) fn new(what: &'static str, value: &str, problem: impl Into<String>, hint: Option<&str>) -> Self {
        let problem = problem.into().replace("; ", ", ");
        let reason = match hint {
            Some(hint) => format!("{problem}; {hint}"),
            None => problem,
        };
        Self {
            what,
            value: value.to_string(),
            reason,
        }
    }

    /// What is wrong, without the hint.
    pub fn problem(&self) -> &str {
        self.reason
            .split_once("; ")
            .map_or(self.reason.as_str(), |(problem, _)| problem)
    }

    /// How to write the value instead, when the error says.
    pub fn hint(&self) -> Option<&str> {
        self.reason.split_once("; ").map(|(_, hint)| hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_splits_into_problem_and_hint() {
        let e = Invalid::new("size", "lots", "it is not a size; really", Some("write `256MiB`"));
        assert_eq!(e.problem(), "it is not a size, really");
        assert_eq!(e.hint(), Some("write `256MiB`"));
        assert_eq!(
            e.to_string(),
            "invalid size `lots`: it is not a size, really; write `256MiB`"
        );
        let e = Invalid::new("size", "0MiB", "it must be more than zero", None);
        assert_eq!((e.problem(), e.hint()), ("it must be more than zero", None));
    }
}
