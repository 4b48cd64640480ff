//! `tollgate:plugin/log`: logs, annotations, groups and progress, masked and counted
//! against the step's log budget before they become events.

use super::StepIo;
use crate::bindings::tollgate::plugin::log;
use crate::bindings::tollgate::plugin::types::{Level, Location};
use crate::events::Event;

impl log::Host for StepIo {
    fn log(&mut self, level: Level, message: String) {
        self.emit_text(&message, |message| Event::Log {
            level,
            message,
            host: false,
        });
    }

    fn annotate(&mut self, level: Level, message: String, location: Location) {
        if !self.admit_log_bytes(location.file.len()) {
            return;
        }
        let file = self.masker.mask(&location.file);
        // The file becomes a property of a workflow command: only a path-like name may
        // go there; anything else is said in the message, where it is plain text.
        let (file, message) = if is_path_like(&file) {
            (file, message)
        } else {
            (String::new(), format!("{message} (at {file})"))
        };
        let location = Location { file, ..location };
        self.emit_text(&message, |message| Event::Annotate {
            level,
            message,
            location,
        });
    }

    fn group_start(&mut self, title: String) {
        self.emit_text(&title, Event::GroupStart);
    }

    fn group_end(&mut self) {
        if self.admit_log_bytes(0) {
            self.sink.emit(Event::GroupEnd);
        }
    }

    fn progress(&mut self, message: String, fraction: Option<f32>) {
        let fraction = fraction.filter(|f| f.is_finite()).map(|f| f.clamp(0.0, 1.0));
        self.emit_text(&message, |message| Event::Progress { message, fraction });
    }
}

/// A repository path as annotations use it: letters, digits and a few punctuation marks,
/// no `:` (command syntax), no control or invisible characters, at most 1 KiB.
fn is_path_like(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 1024
        && file
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+@~ ()[]{}#,=\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::is_path_like;

    #[test]
    fn only_path_like_names_become_annotation_files() {
        for ok in ["src/main.rs", "infra/us-east/main.tf", "docs/été.md", "a b/c (1).txt"] {
            assert!(is_path_like(ok), "{ok}");
        }
        for bad in ["", "::warning::x", "a\nb", "C:x", "a\u{202e}b", &"a".repeat(1025)] {
            assert!(!is_path_like(bad), "{bad:?}");
        }
    }
}
