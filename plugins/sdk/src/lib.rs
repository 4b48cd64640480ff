//! The guest SDK for Tollgate plugins: bindings to the `tollgate:plugin` world plus the
//! small helpers every plugin needs (typed inputs, durations, logging, outputs).
//!
//! A plugin implements [`Plugin`] and registers it with [`export_plugin!`]. Keep the
//! plugin's logic in plain modules that do not call the host, so it also compiles and is
//! unit-tested natively; the host imports only work inside a component.
//!
//! ```text
//! struct Hello;
//! impl tollgate_sdk::Plugin for Hello {
//!     fn describe() -> tollgate_sdk::PluginInfo { /* … */ }
//!     fn run(inputs: tollgate_sdk::Inputs, ctx: tollgate_sdk::StepContext)
//!         -> Result<tollgate_sdk::RunReport, tollgate_sdk::PluginError> { /* … */ }
//! }
//! tollgate_sdk::export_plugin!(Hello);
//! ```

#![deny(missing_docs)]

mod inputs;

pub use inputs::{Inputs, duration_from_json, parse_duration};

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "tollgate_sdk::bindings",
        generate_all,
    });
}

pub use bindings::tollgate::plugin::types::{
    Capability, CapabilityRequest, GithubPermission, Input, InputError, InputSpec, Level, Location, OutputSpec,
    PluginError, PluginInfo, RunReport, Status, StepContext, ValueKind,
};
/// Host interfaces, for plugins that need more than the helpers below.
pub use bindings::tollgate::plugin::{artifacts, github, log, outputs, secrets, summary, tls};

/// What a plugin implements.
pub trait Plugin {
    /// What the plugin is, takes, produces and needs. No side effects.
    fn describe() -> PluginInfo;
    /// Run the step once with validated inputs.
    fn run(inputs: Inputs, context: StepContext) -> Result<RunReport, PluginError>;
}

/// Export a [`Plugin`] implementation as the component's `describe` and `run`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct __TollgateExport;
            impl $crate::bindings::Guest for __TollgateExport {
                fn describe() -> $crate::PluginInfo {
                    <$plugin as $crate::Plugin>::describe()
                }
                fn run(
                    inputs: ::std::vec::Vec<$crate::Input>,
                    context: $crate::StepContext,
                ) -> ::std::result::Result<$crate::RunReport, $crate::PluginError> {
                    let inputs = $crate::Inputs::from_wire(inputs)?;
                    <$plugin as $crate::Plugin>::run(inputs, context)
                }
            }
    $crate::bindings::__export_plugin_world!(__TollgateExport with_types_in $crate::bindings);
        };
    };
}

/// Describe an input (builder-style helpers keep `describe` readable).
pub fn input(name: &str, kind: ValueKind, doc: &str) -> InputSpec {
    InputSpec {
        name: name.into(),
        kind,
        required: false,
        default: None,
        doc: doc.into(),
        grants_origins: false,
    }
}

impl InputSpec {
    /// The step fails before `run` when this input is missing.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Default value, as JSON.
    pub fn default_json(mut self, value: serde_json::Value) -> Self {
        self.default = Some(value.to_string());
        self
    }
    /// URLs written in this input are granted as network origins.
    pub fn grants_origins(mut self) -> Self {
        self.grants_origins = true;
        self
    }
}

/// Describe an output.
pub fn output(name: &str, doc: &str) -> OutputSpec {
    OutputSpec {
        name: name.into(),
        doc: doc.into(),
    }
}

/// Request a capability.
pub fn request(capability: Capability, reason: &str) -> CapabilityRequest {
    CapabilityRequest {
        capability,
        reason: reason.into(),
        optional: false,
    }
}

impl CapabilityRequest {
    /// The plugin copes without it.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

/// An `invalid-input` error for `input`.
pub fn invalid_input(input: &str, message: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(InputError {
        input: input.into(),
        message: message.into(),
    })
}

/// Log at info level.
pub fn info(message: &str) {
    log::log(Level::Info, message);
}

/// Log at debug level.
pub fn debug(message: &str) {
    log::log(Level::Debug, message);
}

/// Log a warning (an annotation under GitHub Actions).
pub fn warn(message: &str) {
    log::log(Level::Warning, message);
}

/// Log an error (an annotation under GitHub Actions).
pub fn error(message: &str) {
    log::log(Level::Error, message);
}

/// Set a declared output.
pub fn set_output(name: &str, value: &str) -> Result<(), PluginError> {
    outputs::set(name, value).map_err(PluginError::Internal)
}

/// Append Markdown to the step summary. A full summary is not worth failing a step for,
/// so the host's refusal is logged and otherwise ignored.
pub fn append_summary(markdown: &str) {
    if let Err(e) = summary::append(markdown) {
        warn(&format!("step summary not written: {e}"));
    }
}

/// Text made safe for one Markdown table cell. Cell text often comes from a peer (a
/// response body, a header), so `|` is escaped, line breaks are flattened and `<` cannot
/// open an HTML tag.
pub fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push(' ');
                }
            }
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::md_cell;

    #[test]
    fn md_cell_keeps_a_value_inside_its_cell() {
        assert_eq!(md_cell("a|b"), "a\\|b");
        assert_eq!(md_cell("line 1\r\nline 2\nline 3"), "line 1 line 2 line 3");
        assert_eq!(md_cell("<b>x</b> & y"), "&lt;b&gt;x&lt;/b&gt; &amp; y");
        assert_eq!(md_cell("plain"), "plain");
    }
}
