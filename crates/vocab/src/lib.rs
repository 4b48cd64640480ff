//! Tollgate's vocabularies, each spelled once, and the rules of the plugin contract.
//!
//! - Words: what an origin, a GitHub permission, a duration, a size and a secret name are,
//!   the default limits, what a step may write ([`limits`]), and the addresses a plugin
//!   may never reach.
//! - Contract rules the host and the SDK's `MockHost` both apply: what `describe` may
//!   declare ([`plugin`]), the kinds of input values ([`input`]), the words for a missing
//!   grant ([`grant`]), what a step's GitHub writes reach ([`reach`]).
//!
//! The pipeline loader, the command line, the action inputs and the sandbox all parse through this crate, so
//! a value a dry run accepts is a value the run accepts. Every refusal is an [`Invalid`] that says what was
//! wrong and, after `; `, how to write it instead. `schema/pipeline.schema.json` repeats the syntax as
//! patterns for editors; a test keeps the two in step on one corpus of spellings
//! (`crates/vocab/tests/spellings.json`).
//!
//! The crate has no runtime and no I/O.

#![deny(missing_docs)]

pub mod address;
pub mod defaults;
pub mod duration;
mod error;
pub mod github;
pub mod grant;
pub mod input;
pub mod limits;
pub mod origin;
pub mod plugin;
pub mod reach;
pub mod secret;
pub mod size;

pub use duration::{format_duration, parse_duration};
pub use error::{Invalid, Result};
pub use github::GithubPermission;
pub use origin::{HostPattern, OriginPattern, Scheme, normalize_host};
pub use secret::{check_secret_name, is_env_name, secret_ref_name, secret_request_covers};
pub use size::{format_size, parse_size};
