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
        let location = Location {
            file: self.masker.mask(&location.file),
            ..location
        };
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
        self.sink.emit(Event::GroupEnd);
    }

    fn progress(&mut self, message: String, fraction: Option<f32>) {
        let fraction = fraction.filter(|f| f.is_finite()).map(|f| f.clamp(0.0, 1.0));
        self.emit_text(&message, |message| Event::Progress { message, fraction });
    }
}
