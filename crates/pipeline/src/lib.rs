//! Tollgate pipeline files: model, validation with positions, expressions, JSON Schema.
//!
//! [`parse`] reads a pipeline file into a [`Pipeline`] or reports every problem as a [`Diagnostic`] with
//! `file:line:column`. [`Expr`] and [`Template`] are the `${{ }}` language; the executor evaluates them
//! against its own [`Context`].

#![deny(missing_docs)]

mod diagnostic;
mod expr;
mod load;
mod model;
mod yaml;

pub use diagnostic::{Diagnostic, Pos, Span, did_you_mean};
pub use expr::{
    Context, EvalError, Expr, ExprError, JobStatus, Reference, StaticContext, Template, ValueTemplate, loose_eq,
    to_number, to_string, truthy,
};
pub use load::parse;
pub use model::{
    ALLOW_KEYS, ARTIFACT_KEYS, Allow, ArtifactDecl, AxisValues, CONTEXT_ROOTS, GroupStep, INPUT_KEYS, Input, Matrix,
    MatrixAxis, Pipeline, RunStep, STEP_KEYS, Section, Step, StepKind, StepVisit, TOP_LEVEL_KEYS, UsesStep,
};
/// The vocabularies `allow:` and `timeout:` values are checked against; [`Allow`] holds their types.
pub use tollgate_vocab as vocab;
