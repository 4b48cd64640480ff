//! Positions in a pipeline file and the diagnostics reported against them.

use std::fmt;

/// The typo suggestion every diagnostic uses: the shared one, so pipeline files and expressions suggest alike.
pub use tollgate_expr::did_you_mean;

/// A position in a pipeline file: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes).
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A region of a pipeline file: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First position in the region.
    pub start: Pos,
    /// Position just past the region's last character.
    pub end: Pos,
}

/// One problem found in a pipeline file, with where it is and, when we can tell, how to fix it.
///
/// Displays as `FILE:LINE:COL: error: MESSAGE`, followed by `\n  hint: HINT` when there is a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The pipeline file's name, as given to [`parse`](crate::parse).
    pub file: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem, in characters.
    pub column: usize,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when we can tell (e.g. a "did you mean …?" suggestion).
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `file` at `pos`.
    pub fn new(file: &str, pos: Pos, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint,
        }
    }

    /// The position of the diagnostic.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// `did you mean `X`?` for the closest candidate, if any.
pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, candidates).map(|c| format!("did you mean `{c}`?"))
}
