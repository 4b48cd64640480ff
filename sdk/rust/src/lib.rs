//! The guest SDK for Tollgate plugins: bindings to the `tollgate:plugin` world plus the
//! small helpers every plugin needs (typed inputs, durations, logging, outputs).
//!
//! A plugin implements [`Plugin`] and registers it with [`export_plugin!`]. Keep the
//! plugin's judgement in plain modules that do not call the host, and unit-test them natively;
//! test the whole plugin natively too, under [`testing::MockHost`] (see [Testing](#testing)).
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
//!
//! # Typed inputs and outputs
//!
//! Declare the inputs once, as a struct: [`derive@Inputs`] turns each documented field into
//! an [`InputSpec`] for `describe` ([`TypedInputs::specs`]) and reads `run`'s inputs back into
//! the struct ([`TypedInputs::from_inputs`]). Defaults are written once and serialized for
//! `describe`, so the host and the plugin apply the same value; a missing or mistyped input
//! is a [`PluginError::InvalidInput`] that names it and says what to write.
//! [`derive@Outputs`] does the same for outputs. (The derive `Inputs` and the
//! [`struct@Inputs`] that `run` receives share a name but not a namespace.)
//!
//! ```
//! use serde::Deserialize;
//! use tollgate_sdk::{Duration, TypedInputs, TypedOutputs, ValueKind};
//!
//! #[derive(Debug, Deserialize)]
//! pub struct Endpoint {
//!     pub name: String,
//!     pub url: String,
//! }
//!
//! /// The struct's own doc is not used.
//! #[derive(tollgate_sdk::Inputs)]
//! pub struct Config {
//!     /// Endpoints to check, as `{name, url}` mappings.
//!     #[input(required, grants_origins)]
//!     pub endpoints: Vec<Endpoint>,
//!     /// How many times to retry a failed check.
//!     #[input(default = 2)]
//!     pub retries: u32,
//!     /// Pause between attempts.
//!     #[input(default = "1s")]
//!     pub backoff: Duration,
//!     /// Failover drill: the URL that must answer from a healthy region.
//!     #[input(name = "global-url")]
//!     pub global: Option<String>,
//! }
//!
//! #[derive(tollgate_sdk::Outputs)]
//! pub struct Report {
//!     /// How many endpoints were healthy.
//!     pub healthy: u32,
//!     /// The region that answered the global URL.
//!     pub answered_by: Option<String>,
//! }
//!
//! // In `describe`: `inputs: Config::specs()`, `outputs: Report::specs()`.
//! let specs = Config::specs();
//! assert_eq!(specs[1].name, "retries");
//! assert_eq!(specs[1].kind, ValueKind::Number);
//! assert_eq!(specs[1].default.as_deref(), Some("2"));
//!
//! // In `run`: `let config = Config::from_inputs(&inputs)?;`, and at the end
//! // `Report { … }.set_all()?`.
//! let inputs = tollgate_sdk::Inputs::from_values([(
//!     "endpoints".to_string(),
//!     serde_json::json!([{"name": "us-east", "url": "https://us.example.com/healthz"}]),
//! )]);
//! let config = Config::from_inputs(&inputs)?;
//! assert_eq!((config.retries, config.backoff), (2, Duration::from_secs(1)));
//! assert_eq!(config.global, None);
//!
//! let report = Report { healthy: 1, answered_by: None };
//! assert_eq!(report.values()?, [("healthy".to_string(), "1".to_string())]);
//!
//! // In a unit test: every default declared for `describe` parses.
//! Config::check_defaults()?;
//! # Ok::<(), tollgate_sdk::PluginError>(())
//! ```

//!
//! # Testing
//!
//! A plugin is tested with plain `cargo test`, natively and in-process: [`testing::MockHost`]
//! gives it inputs, grants and mocked answers, runs it as the host would (checking inputs
//! against `describe`, applying defaults, refusing what is not granted) and records what it
//! did. Inside the component the same calls reach the real host: the host interfaces
//! ([`log`], [`outputs`], [`secrets`], [`github`]…), [`http`] and [`runtime`] switch on the
//! target.
//!
//! ```
//! use tollgate_sdk::testing::{MockHost, MockResponse};
//! use tollgate_sdk::{Inputs, PluginError, PluginInfo, RunReport, Status, StepContext};
//!
//! struct Ping;
//! impl tollgate_sdk::Plugin for Ping {
//!     fn describe() -> PluginInfo {
//!         PluginInfo {
//!             name: "ping".into(),
//!             version: "0.1.0".into(),
//!             summary: "Pings a URL".into(),
//!             inputs: vec![tollgate_sdk::input("url", tollgate_sdk::ValueKind::String, "What to ping.")
//!                 .required()
//!                 .grants_origins()],
//!             outputs: vec![tollgate_sdk::output("http-status", "The HTTP status.")],
//!             capabilities: vec![tollgate_sdk::request(
//!                 tollgate_sdk::Capability::Net("https://*:*".into()),
//!                 "to ping `url`",
//!             )],
//!         }
//!     }
//!     fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
//!         let url: String = inputs.require("url")?;
//!         let status = tollgate_sdk::http::Request::get(&url).send()?.status();
//!         tollgate_sdk::info(&format!("{url} answered {status}"));
//!         tollgate_sdk::set_output("http-status", &status.to_string())?;
//!         Ok(RunReport { status: Status::Passed, message: format!("HTTP {status}") })
//!     }
//! }
//!
//! let outcome = MockHost::new()
//!     .input("url", "https://example.com/health") // a URL the author wrote grants its origin
//!     .respond("GET", "https://example.com/health", MockResponse::new(204))
//!     .run::<Ping>();
//! assert_eq!(outcome.status(), Some(Status::Passed));
//! assert_eq!(outcome.output("http-status"), Some("204"));
//! assert!(outcome.logged("answered 204"));
//!
//! // Without a mocked answer the request gets a 501 that names what to mock; an origin
//! // nobody granted is refused, as the sandbox refuses it.
//! let outcome = MockHost::new().input("url", "https://example.com/health").run::<Ping>();
//! assert_eq!(outcome.output("http-status"), Some("501"));
//!
//! let outcome = MockHost::new().run::<Ping>();
//! assert_eq!(
//!     outcome.error_message().as_deref(),
//!     Some("input `url`: ping requires it (What to ping.); pass `--with url=…`"),
//! );
//! ```

#![deny(missing_docs)]

mod backend;
mod exchange;
pub mod files;
pub mod http;
mod imports;
mod inputs;
pub mod markdown;
pub mod runtime;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod typed;

pub use inputs::{Inputs, duration_from_json, parse_duration};
/// Derive [`TypedInputs`] for a struct whose documented fields are the plugin's inputs.
///
/// Every field needs a `///` doc comment (it becomes the input's `doc`; a field without one
/// does not compile) and says what happens when the workflow gives no value:
/// `#[input(required)]`, `#[input(default = …)]`, or an `Option<…>` type. Options of
/// `#[input(...)]`:
///
/// - `required`: the input must be given; without it the step fails with
///   ``"`NAME` is required: pass `with: NAME: …` (a number)"``;
/// - `default = VALUE`: a Rust expression or `serde_json::json!` syntax (`["a", "b"]`,
///   `{"k": 1}`), serialized to JSON for `describe` and parsed into the field when absent
///   (wrap an expression with a top-level comma in parentheses);
/// - `default`: the field type's `Default::default()`, which must be `Serialize`;
/// - `name = "…"`: the input's name; otherwise the field name in kebab-case
///   (`min_healthy` → `min-healthy`);
/// - `kind = "…"`: one of `string`, `number`, `boolean`, `duration`, `list`, `object`, `any`;
/// - `grants_origins`: every URL written in the value is granted as a network origin.
/// - `sensitive`: the value is a credential even when the workflow writes it in clear: the host
///   masks it in everything the step writes and records it in statements as a `sha256:`
///   digest (see [`sensitive_inputs!`]).
/// - `range = LO..=HI` (or any range expression of the field's type): the value must lie in
///   it, else ``expected a whole number from 0 to 10, got 11``; a default outside it fails
///   [`TypedInputs::check_defaults`].
///
/// Without `kind`, the kind follows the field type (of `T` for `Option<T>`): `String` →
/// string; `bool` → boolean; integers and floats → number; [`Duration`] → duration (a field
/// typed with any other `Duration` does not compile); `Vec`, `VecDeque`, `HashSet`,
/// `BTreeSet`, arrays and tuples → list; `HashMap`, `BTreeMap`, `serde_json::Map` → object;
/// anything else (`serde_json::Value`, your own `Deserialize` types) → any.
///
/// An absent or null input takes its default (`None` for an `Option`). Values are
/// deserialized with serde into the field type after the host's kind check. A
/// mistyped value is an invalid-input error such as ``expected a number, got "two"`` or
/// ``expected a whole number from 0 to 255, got 300``; a value of the right kind that serde
/// refuses quotes serde's reason and the value.
pub use tollgate_sdk_macros::Inputs;
/// Derive [`TypedOutputs`] for a struct whose documented fields are the plugin's outputs.
///
/// Every field needs a `///` doc comment (the output's `doc`); `#[output(name = "…")]`
/// overrides the kebab-case field name. [`TypedOutputs::set_all`] sets strings as they are,
/// skips `None`, and sets any other `Serialize` value as JSON.
pub use tollgate_sdk_macros::Outputs;
#[doc(hidden)]
pub use typed::__private;
pub use typed::{Duration, TypedInputs, TypedOutputs};

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
        additional_derives: [PartialEq, Eq],
    });
}

pub use bindings::tollgate::plugin::types::{
    Capability, CapabilityRequest, GithubPermission, Input, InputError, InputSpec, Level, Location, OutputSpec,
    PluginError, PluginInfo, RunReport, Status, StepContext, ValueKind,
};
/// Host interfaces, for plugins that need more than the helpers below. Each function has the
/// signature of its `tollgate:plugin` import and calls it inside the component; natively it
/// calls the [`testing::MockHost`] running the plugin.
pub use imports::{artifacts, github, log, outputs, secrets, summary, tls};

/// What a plugin implements.
pub trait Plugin {
    /// What the plugin is, takes, produces and needs. No side effects.
    fn describe() -> PluginInfo;
    /// Run the step once with validated inputs.
    fn run(inputs: Inputs, context: StepContext) -> Result<RunReport, PluginError>;
}

/// Declare inputs sensitive: the host records their values in statements as `sha256:` digests and
/// masks them in everything the step writes, as it does for secrets. `#[input(sensitive)]` on a
/// `#[derive(Inputs)]` field writes this for you.
///
/// Contract 0.1 has no field for it in `input-spec`, so the names travel in the component's
/// custom section `tollgate:sensitive-inputs`, which the host reads before running the plugin.
/// (Only in WebAssembly builds: native tests under `MockHost` have no host to read it.)
#[macro_export]
macro_rules! sensitive_inputs {
    ($($name:expr),+ $(,)?) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            const TEXT: &str = ::core::concat!($($name, "\n"),+);
            #[used]
            #[unsafe(link_section = "tollgate:sensitive-inputs")]
            static SENSITIVE_INPUTS: [u8; TEXT.len()] = $crate::__private::section_bytes::<{ TEXT.len() }>(TEXT);
        };
    };
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
