//! The rule that only what the workflow author wrote may grant: which parts of a `with:`
//! value, and which matrices, are the author's own words rather than a step's output.

use serde_json::Value;
use tollgate_pipeline::StaticContext;

/// Whether a `with:` value is the workflow author's own words: literals, and expressions
/// over `inputs` (and `matrix`, when the matrix is itself the author's). A value built from
/// `steps.*` or `env.*` may carry what a plugin or command printed, so it must not grant.
fn author_written(template: &tollgate_pipeline::ValueTemplate, matrix_authored: bool) -> bool {
    use tollgate_pipeline::ValueTemplate as V;
    match template {
        V::Null | V::Bool(_) | V::Number(_) => true,
        V::String(t) => t.expressions().all(|(expr, _)| authored_expr(expr, matrix_authored)),
        V::Array(items) => items.iter().all(|v| author_written(v, matrix_authored)),
        V::Object(map) => map.values().all(|v| author_written(v, matrix_authored)),
    }
}

/// The template evaluated with every string that is not [`author_written`] replaced by
/// null: the part of a `with:` value that may grant.
pub(super) fn authored_part(
    template: &tollgate_pipeline::ValueTemplate,
    matrix_authored: bool,
    ctx: &StaticContext,
) -> std::result::Result<Value, tollgate_pipeline::EvalError> {
    use tollgate_pipeline::ValueTemplate as V;
    Ok(match template {
        V::String(t) if author_written(template, matrix_authored) => t.eval(ctx)?,
        V::String(_) => Value::Null,
        V::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| authored_part(v, matrix_authored, ctx))
                .collect::<std::result::Result<_, _>>()?,
        ),
        V::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), authored_part(v, matrix_authored, ctx)?)))
                .collect::<std::result::Result<_, tollgate_pipeline::EvalError>>()?,
        ),
        scalar => scalar.eval(ctx)?,
    })
}

fn authored_expr(expr: &tollgate_pipeline::Expr, matrix_authored: bool) -> bool {
    expr.references()
        .iter()
        .all(|r| r.root == "inputs" || (matrix_authored && r.root == "matrix"))
}

/// Whether a matrix's items are the author's words (see [`author_written`]).
pub(super) fn matrix_authored(matrix: &tollgate_pipeline::Matrix) -> bool {
    matrix.axes.iter().all(|axis| match &axis.values {
        tollgate_pipeline::AxisValues::List(items) => items.iter().all(|v| author_written(v, false)),
        tollgate_pipeline::AxisValues::Expr(expr) => authored_expr(expr, false),
    })
}
