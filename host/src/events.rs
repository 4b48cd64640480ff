//! What a running step reports as it goes (logs, annotations, groups, progress), and the
//! [`Sink`] that the runner module turns into terminal text or workflow commands.
//!
//! Text in an [`Event`] is untrusted plugin text: sinks must neutralise it.

use crate::bindings::tollgate::plugin::types::{Level, Location};

/// One thing a step reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A log line from the plugin (`host` = false) or from Tollgate about the plugin.
    Log {
        /// Its severity.
        level: Level,
        /// Its text.
        message: String,
        /// Whether Tollgate wrote it rather than the plugin.
        host: bool,
    },
    /// An annotation on a file location.
    Annotate {
        /// Its severity.
        level: Level,
        /// Its text.
        message: String,
        /// The file location it is attached to.
        location: Location,
    },
    /// The start of a collapsible group of log lines, with its title.
    GroupStart(String),
    /// The end of the innermost open group.
    GroupEnd,
    /// How far the step has got.
    Progress {
        /// What is in progress.
        message: String,
        /// The fraction done, from 0.0 to 1.0, if known.
        fraction: Option<f32>,
    },
}

impl Event {
    /// A warning from Tollgate itself, e.g. a denied request.
    pub fn host_warning(message: String) -> Self {
        Event::Log {
            level: Level::Warning,
            message,
            host: true,
        }
    }

    /// A notice from Tollgate itself.
    pub fn host_notice(message: String) -> Self {
        Event::Log {
            level: Level::Notice,
            message,
            host: true,
        }
    }
}

/// Receives events as they happen.
pub trait Sink: Send + Sync {
    /// Handle one event.
    fn emit(&self, event: Event);

    /// The plugin's declared name is known (after `describe`); later events are its.
    fn plugin_named(&self, _name: &str) {}
}

/// Collects events in memory (benchmarks, tests, and embedding).
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<Event>>);

impl Sink for Collect {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
