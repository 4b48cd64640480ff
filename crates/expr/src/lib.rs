//! Tollgate's one expression language, parsed once for every dialect.
//!
//! - [`syntax`] is the grammar every dialect shares (the pipeline's `${{ }}` expressions,
//!   region-verify's health conditions, canary-gate's metric conditions), with character
//!   offsets for every error.
//! - A [`syntax::Dialect`] says which parts of the grammar a dialect admits and which
//!   functions it has; what values mean is the dialect's: GitHub Actions' loose typing in the
//!   pipeline crate, response fields in region-verify, strict type-checked numbers in [`metric`].
//!
//! No host dependencies: plugins compiled to `wasm32-wasip2` use it as the host does.

#![deny(missing_docs)]

pub mod metric;
pub mod syntax;

pub use syntax::{Ast, BinaryOp, Dialect, ExprError, Function, Node, UnaryOp, did_you_mean, parse};
