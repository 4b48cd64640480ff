//! Plugin authoring: a project from a template (`plugin new`), its component
//! (`plugin build`), its cases run through the real host (`plugin test`), and components
//! compiled ahead of time into the cache (`plugin compile`).
//!
//! Invariant: authoring never changes how a plugin runs. `plugin test` runs each case
//! through [`crate::step::run`], exactly as `tollgate run` does, and `plugin compile`
//! fills the same cache a run reads.

pub mod cases;
pub(crate) mod compile;
pub mod project;
mod serve;

pub use project::{Built, Lang};
