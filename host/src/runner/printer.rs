//! The printer: the one place text reaches stdout, stderr, a terminal or a runner file.
//!
//! Architecture invariant: every string that may carry plugin-controlled bytes passes
//! [`neutralise`] (or [`neutralise_block`]) here, and nowhere else prints. Workflow
//! commands are built only from [`Line::Command`], whose name is `'static` host text.

use crate::bindings::tollgate::plugin::types::{Level, Location};
use crate::events::{Event, Sink};
use crate::runner::Mode;
use std::io::Write;
use std::sync::Mutex;

/// Make untrusted text safe for one line of a terminal or a runner log: ANSI escape
/// sequences are dropped (terraform colours), every other control character (C0, DEL, C1,
/// including `\r` and `\n`, which the runner splits on), Unicode line and paragraph
/// separators and bidirectional overrides are shown as `\u{…}`, and the legacy `##[`
/// command marker is broken. The result never starts a workflow command on its own line
/// because it never *is* a line of its own: callers put it behind a prefix or in command
/// data.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in strip_ansi(text).chars() {
        if c == '\t' || !dangerous(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out.replace("##[", "# #[")
}

/// [`neutralise`] each line of a multi-line text (a summary, a report), keeping its line
/// breaks; `\r\n` counts as one break.
pub fn neutralise_block(text: &str) -> String {
    text.split('\n')
        .map(|line| neutralise(line.strip_suffix('\r').unwrap_or(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Characters no untrusted text may print raw.
pub(super) fn dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Line and paragraph separators: some terminals and parsers break lines on them.
            '\u{2028}' | '\u{2029}'
            // Bidirectional controls ("Trojan Source", CVE-2021-42574) and invisible marks.
            | '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{feff}')
}

/// Drop ANSI escape sequences: CSI (`ESC [ … final`), OSC / DCS / SOS / PM / APC strings
/// (`ESC ] … BEL|ESC \`), and two-character escapes. Their C1 single-character forms are
/// left for [`neutralise`] to escape.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            Some(']' | 'P' | 'X' | '^' | '_') => {
                while let Some(next) = chars.next() {
                    if next == '\x07' || (next == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Escape data of a workflow command (`::cmd::DATA`) as the runner specifies.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a property value of a workflow command (`::cmd key=VALUE::`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One line of output, before neutralising.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A workflow command: `::name prop=value,…::data`. Properties and data are untrusted.
    Command {
        /// The command, always host text (`error`, `group`, …).
        name: &'static str,
        /// `key=value` properties; keys are host text.
        props: Vec<(&'static str, String)>,
        /// The command's data.
        data: String,
    },
    /// Plain text behind a prefix: `[prefix] text`. Both parts are untrusted.
    Prefixed {
        /// Who speaks (a plugin name, a step label), possibly with a styled level label.
        prefix: String,
        /// What was said.
        text: String,
    },
    /// A local log line: a host-made label (level and colour codes), then untrusted text.
    Labelled {
        /// Host text, printed as is.
        label: String,
        /// Untrusted text.
        text: String,
    },
    /// Plain text a host report starts with (a heading, a table row); untrusted parts
    /// inside it are neutralised with it.
    Text(String),
}

impl Line {
    /// The bytes to print, neutralised. A line never holds `\r` or `\n`.
    pub fn render(&self) -> String {
        match self {
            Line::Command { name, props, data } => {
                let props = props
                    .iter()
                    .map(|(k, v)| format!("{k}={}", escape_property(&neutralise(v))))
                    .collect::<Vec<_>>()
                    .join(",");
                let sep = if props.is_empty() { "" } else { " " };
                // Multi-line data (an error quoting a traceback) stays multi-line in the
                // annotation: each line neutralised, the breaks escaped as `%0A`.
                format!("::{name}{sep}{props}::{}", escape_data(&neutralise_block(data)))
            }
            Line::Prefixed { prefix, text } => format!("[{}] {}", neutralise(prefix), neutralise(text)),
            Line::Labelled { label, text } => format!("{label} {}", neutralise(text)),
            Line::Text(text) => {
                let text = neutralise(text);
                // A report line must not start a command either, whatever it quotes; the
                // runner trims leading white space, so escape the first colon instead.
                let body = text.trim_start();
                match body.strip_prefix("::") {
                    Some(rest) => format!("{}\\u{{3a}}:{rest}", &text[..text.len() - body.len()]),
                    None => text,
                }
            }
        }
    }
}

/// Where a run's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: workflow commands and reports.
    Stdout,
    /// Standard error: local logs.
    Stderr,
}

/// Write lines. A closed pipe (`| head`) is not an error: the run's result still counts.
pub fn print(stream: Stream, lines: &[Line]) {
    fn write(out: &mut impl Write, lines: &[Line]) -> std::io::Result<()> {
        for line in lines {
            writeln!(out, "{}", line.render())?;
        }
        out.flush()
    }
    let _ = match stream {
        Stream::Stdout => write(&mut std::io::stdout().lock(), lines),
        Stream::Stderr => write(&mut std::io::stderr().lock(), lines),
    };
}

/// Print a multi-line host report (each line neutralised) on stdout.
pub fn print_text(text: &str) {
    let lines: Vec<Line> = text.lines().map(|l| Line::Text(l.to_string())).collect();
    print(Stream::Stdout, &lines);
}

/// Print the binary's closing error: an `::error` annotation under a runner, then
/// `error: …` on stderr. Error messages quote plugin text, so they are neutralised too.
pub fn print_error(message: &str) {
    if super::env::under_actions() {
        print(
            Stream::Stdout,
            &[Line::Command {
                name: "error",
                props: vec![("title", "tollgate".into())],
                data: message.to_string(),
            }],
        );
    }
    let lines: Vec<Line> = message
        .split('\n')
        .enumerate()
        .map(|(i, l)| Line::Text(if i == 0 { format!("error: {l}") } else { l.to_string() }))
        .collect();
    print(Stream::Stderr, &lines);
}

/// `::add-mask::` every secret value before anything else is printed. Secrets are the
/// workflow's, not the plugin's, so they are escaped, not neutralised: the runner must
/// mask exactly the value.
pub fn mask_secrets(mode: Mode, values: impl IntoIterator<Item = String>) {
    if mode != Mode::Actions {
        return;
    }
    let mut out = std::io::stdout().lock();
    for value in values {
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(out, "::add-mask::{}", escape_data(line));
        }
    }
}

/// Prints events as they happen, in the mode's format.
pub struct Printer {
    mode: Mode,
    plugin: Mutex<String>,
    /// A pipeline step's printer keeps the step's label as its prefix.
    fixed: bool,
}

impl Printer {
    /// A printer for a single step; its prefix becomes the plugin's name once known.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            plugin: Mutex::new("tollgate".into()),
            fixed: false,
        }
    }

    /// A printer whose prefix is a pipeline step's label.
    pub fn for_step(mode: Mode, label: &str) -> Self {
        Self {
            mode,
            plugin: Mutex::new(label.to_string()),
            fixed: true,
        }
    }

    /// Name the plugin whose events follow (used as the line prefix).
    pub fn set_plugin(&self, name: &str) {
        if let Ok(mut p) = self.plugin.lock() {
            *p = name.to_string();
        }
    }

    fn prefix(&self, host: bool) -> String {
        let name = self.plugin.lock().map(|p| p.clone()).unwrap_or_default();
        match (host, self.fixed) {
            (true, true) => format!("tollgate:{name}"),
            (true, false) => "tollgate".into(),
            (false, _) => name,
        }
    }

    fn actions(&self, event: Event) -> Vec<Line> {
        match event {
            Event::Log { level, message, host } => {
                let prefix = self.prefix(host);
                match level_command(level) {
                    Some(name) => vec![Line::Command {
                        name,
                        props: vec![("title", prefix)],
                        data: message,
                    }],
                    None => prefixed(&prefix, &message),
                }
            }
            Event::Annotate {
                level,
                message,
                location,
            } => {
                let name = level_command(level).filter(|c| *c != "debug").unwrap_or("notice");
                vec![Line::Command {
                    name,
                    props: location_properties(location, self.prefix(false)),
                    data: message,
                }]
            }
            Event::GroupStart(title) => vec![Line::Command {
                name: "group",
                props: vec![],
                data: format!("{}: {title}", self.prefix(false)),
            }],
            Event::GroupEnd => vec![Line::Command {
                name: "endgroup",
                props: vec![],
                data: String::new(),
            }],
            Event::Progress { message, fraction } => prefixed(&self.prefix(false), &progress_text(&message, fraction)),
        }
    }

    fn local(&self, event: Event, color: bool) -> Vec<Line> {
        // Colour codes are added after neutralising, so they are host bytes.
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let styled = |label: String, text: String| Line::Labelled { label, text };
        let lines = |label: String, prefix: String, message: &str| -> Vec<Line> {
            message
                .split('\n')
                .map(|l| styled(label.clone(), format!("[{prefix}] {l}")))
                .collect()
        };
        match event {
            Event::Log { level, message, host } => {
                let (label, code) = level_label(level);
                lines(paint(code, label), self.prefix(host), &message)
            }
            Event::Annotate {
                level,
                message,
                location,
            } => {
                let (label, code) = level_label(level);
                let at = match location.line {
                    Some(line) => format!("{}:{line}", location.file),
                    None => location.file,
                };
                lines(paint(code, label), format!("{} {at}", self.prefix(false)), &message)
            }
            Event::GroupStart(title) => vec![styled(paint("1", "▸"), title)],
            Event::GroupEnd => vec![],
            Event::Progress { message, fraction } => {
                lines(paint("36", "…"), self.prefix(false), &progress_text(&message, fraction))
            }
        }
    }
}

impl Sink for Printer {
    fn plugin_named(&self, name: &str) {
        if !self.fixed {
            self.set_plugin(name);
        }
    }

    fn emit(&self, event: Event) {
        match self.mode {
            // Workflow commands are read from stdout.
            Mode::Actions => print(Stream::Stdout, &self.actions(event)),
            // Locally, logs go to stderr so that stdout stays the report.
            Mode::Local { color } => print(Stream::Stderr, &self.local(event, color)),
            Mode::Json => print(Stream::Stderr, &self.local(event, false)),
        }
    }
}

fn prefixed(prefix: &str, message: &str) -> Vec<Line> {
    message
        .split('\n')
        .map(|line| Line::Prefixed {
            prefix: prefix.to_string(),
            text: line.to_string(),
        })
        .collect()
}

fn progress_text(message: &str, fraction: Option<f32>) -> String {
    match fraction {
        Some(f) => format!("{message} ({:.0}%)", f * 100.0),
        None => message.to_string(),
    }
}

fn level_command(level: Level) -> Option<&'static str> {
    match level {
        Level::Trace | Level::Debug => Some("debug"),
        Level::Info => None,
        Level::Notice => Some("notice"),
        Level::Warning => Some("warning"),
        Level::Error => Some("error"),
    }
}

fn level_label(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::Trace => ("trace", "2"),
        Level::Debug => ("debug", "2"),
        Level::Info => (" info", "32"),
        Level::Notice => ("notice", "34"),
        Level::Warning => (" warn", "33"),
        Level::Error => ("error", "31"),
    }
}

fn location_properties(location: Location, title: String) -> Vec<(&'static str, String)> {
    let mut props = Vec::new();
    if !location.file.is_empty() {
        props.push(("file", location.file));
    }
    let numbered = [
        ("line", location.line),
        ("endLine", location.end_line),
        ("col", location.column),
        ("endColumn", location.end_column),
    ];
    props.extend(numbered.into_iter().filter_map(|(k, v)| v.map(|v| (k, v.to_string()))));
    props.push(("title", title));
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the runner would do with our bytes: split lines on `\r` and `\n`, trim, and
    /// treat `::` or `##[` at the start as a command.
    fn commands(printed: &str) -> Vec<String> {
        printed
            .split(['\n', '\r'])
            .map(str::trim_start)
            .filter(|l| l.starts_with("::") || l.starts_with("##["))
            .map(String::from)
            .collect()
    }

    const PAYLOADS: &[&str] = &[
        "\n::add-mask::PWN",
        "\r::set-env name=PWN::x",
        "\r\n::stop-commands::PWN",
        "::set-output name=PWN::x",
        "  ::error::PWN",
        "##[error]PWN",
        "\x1b]0;PWN\x07\x1b[31mred\x1b[0m",
        "\u{85}::warning::PWN",
        "\u{2028}::error::PWN\u{2029}",
        "\u{202e}evil\u{2066}",
        "\x00\x08\x7f\u{9b}31m",
    ];

    #[test]
    fn neutralised_text_holds_no_control_bidi_or_marker() {
        for payload in PAYLOADS {
            let out = neutralise(payload);
            assert!(!out.chars().any(|c| c != '\t' && dangerous(c)), "{payload:?} → {out:?}");
            assert!(!out.contains("##["), "{payload:?} → {out:?}");
        }
        assert_eq!(neutralise("\x1b[1mPlan:\x1b[0m 4 to add"), "Plan: 4 to add");
        assert_eq!(neutralise("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn no_line_shape_lets_untrusted_text_issue_a_command() {
        for payload in PAYLOADS {
            let lines = [
                Line::Command {
                    name: "error",
                    props: vec![("title", payload.to_string()), ("file", payload.to_string())],
                    data: payload.to_string(),
                },
                Line::Prefixed {
                    prefix: payload.to_string(),
                    text: payload.to_string(),
                },
                Line::Text(payload.to_string()),
            ];
            for line in lines {
                let printed = line.render();
                let found = commands(&printed);
                let own = matches!(line, Line::Command { .. }) as usize;
                assert_eq!(found.len(), own, "{line:?} printed {printed:?}");
                if own == 1 {
                    assert!(found[0].starts_with("::error title="), "{printed:?}");
                    assert!(!found[0].contains('\r') && !found[0].contains('\n'));
                }
            }
        }
    }

    #[test]
    fn every_event_in_every_mode_is_safe() {
        let location = |s: &str| Location {
            file: s.to_string(),
            line: Some(1),
            column: None,
            end_line: None,
            end_column: None,
        };
        for payload in PAYLOADS {
            let printer = Printer::new(Mode::Actions);
            printer.set_plugin(payload);
            let events = [
                Event::Log {
                    level: Level::Info,
                    message: payload.to_string(),
                    host: false,
                },
                Event::Log {
                    level: Level::Error,
                    message: payload.to_string(),
                    host: true,
                },
                Event::Annotate {
                    level: Level::Warning,
                    message: payload.to_string(),
                    location: location(payload),
                },
                Event::GroupStart(payload.to_string()),
                Event::Progress {
                    message: payload.to_string(),
                    fraction: Some(0.5),
                },
            ];
            for event in events {
                for line in printer.actions(event.clone()) {
                    let printed = line.render();
                    for cmd in commands(&printed) {
                        let name = cmd[2..].split([' ', ':']).next().unwrap_or_default();
                        assert!(
                            ["error", "warning", "notice", "debug", "group"].contains(&name),
                            "{printed:?}"
                        );
                    }
                }
                for line in printer.local(event, true) {
                    let text = line.render();
                    let without_colours = strip_ansi(&text);
                    assert!(commands(&without_colours).is_empty(), "{text:?}");
                    assert!(!without_colours.chars().any(|c| c != '\t' && dangerous(c)), "{text:?}");
                }
            }
        }
    }
}
