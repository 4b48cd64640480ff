//! Why a plan could not be read: where in the JSON, and what was expected there.

use std::fmt;

/// A plan that could not be read. [`Display`](fmt::Display) names the JSON path (e.g.
/// `resource_changes[3].change.actions[0]`), what was found and what was expected, and the
/// line and column when the JSON itself is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The JSON path where reading stopped, `.` for the document itself.
    pub path: String,
    /// What was wrong there.
    pub message: String,
    /// 1-based line and column of the offending byte, when known.
    pub position: Option<(usize, usize)>,
}

impl PlanError {
    pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError {
            path: path.into(),
            message: message.into(),
            position: None,
        }
    }

    pub(crate) fn from_serde(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let position = (inner.line() > 0).then(|| (inner.line(), inner.column()));
        let message = match inner.classify() {
            serde_json::error::Category::Eof => "the JSON ends too early (a truncated file?)".to_string(),
            serde_json::error::Category::Syntax => format!("malformed JSON: {}", strip_position(&inner.to_string())),
            serde_json::error::Category::Data | serde_json::error::Category::Io => strip_position(&inner.to_string()),
        };
        PlanError {
            path: if path.is_empty() { ".".into() } else { path },
            message,
            position,
        }
    }
}

/// serde_json appends ` at line L column C`; the position is kept separately.
fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plan JSON at `{}`: {}", self.path, self.message)?;
        if let Some((line, column)) = self.position {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanError {}
