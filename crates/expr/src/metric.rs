//! The metric dialect: canary-gate's `successCondition`/`failureCondition` over `result`, with
//! strict types checked before the first measurement and no coercion at evaluation.
//!
//! Argo Rollouts evaluates these with expr-lang, so templates written for it read the same:
//! `result[0] < 0.01`, `len(result) > 0 && all(result, {# < 0.2})`, `isNaN(result)`,
//! `asFloat(result) >= 0.99`. Unlike GitHub's expressions nothing is truthy: `&&`, `||` and `!`
//! take booleans, comparisons take two numbers (or two strings), and a vector used where a
//! number is needed is refused with the column and the two ways to write it.

use crate::syntax::{self, Ast, BinaryOp, Dialect, ExprError, Function, Node, UnaryOp};
use std::collections::BTreeMap;
use std::fmt;

const fn function(name: &'static str, min: usize, max: usize) -> Function {
    Function { name, min, max }
}

/// The functions conditions can call.
pub const FUNCTIONS: &[Function] = &[
    function("len", 1, 1),
    function("all", 2, 2),
    function("any", 2, 2),
    function("none", 2, 2),
    function("isNaN", 1, 1),
    function("isInf", 1, 1),
    function("abs", 1, 1),
    function("min", 1, 1),
    function("max", 1, 1),
    function("sum", 1, 1),
    function("avg", 1, 1),
    function("asFloat", 1, 1),
    function("asInt", 1, 1),
];

/// What metric conditions admit of the shared grammar.
pub const DIALECT: Dialect = Dialect {
    name: "a metric condition",
    functions: FUNCTIONS,
    double_quotes: true,
    dashed_names: false,
    durations: false,
    arithmetic: true,
    word_operators: true,
    predicates: true,
};

/// The type of a value, as far as it is known before measuring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// A number (Prometheus scalars and vector elements; NaN and ±Inf included).
    Number,
    /// `true` or `false`.
    Bool,
    /// Text.
    Text,
    /// A list of values of one type: a Prometheus vector is `List(Number)`, a matrix `List(List(Number))`.
    List(Box<Type>),
    /// Known only when measured (a web provider's JSON): checked at evaluation instead.
    Any,
}

impl Type {
    /// A Prometheus instant vector: one number per series.
    pub fn vector() -> Self {
        Type::List(Box::new(Type::Number))
    }

    /// A Prometheus range result: one list of numbers per series.
    pub fn matrix() -> Self {
        Type::List(Box::new(Type::vector()))
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Number => f.write_str("a number"),
            Type::Bool => f.write_str("a boolean"),
            Type::Text => f.write_str("text"),
            Type::List(inner) if **inner == Type::Number => f.write_str("a vector (one number per series)"),
            Type::List(inner) if **inner == Type::vector() => f.write_str("a matrix (a list of numbers per series)"),
            Type::List(_) => f.write_str("a list"),
            Type::Any => f.write_str("any value"),
        }
    }
}

/// A measured value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number; NaN and ±Inf are kept as they came.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Text.
    Text(String),
    /// A list (a vector, a matrix row, a JSON array).
    List(Vec<Value>),
    /// A JSON object (web provider).
    Map(BTreeMap<String, Value>),
    /// JSON `null`.
    Null,
}

impl Value {
    /// From JSON (web provider bodies). Numbers that JSON cannot carry (NaN, ±Inf) arrive as
    /// text and stay text; `asFloat` reads them.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::Text(s.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// The first number in it that is NaN or infinite, if any.
    pub fn first_non_finite(&self) -> Option<f64> {
        match self {
            Value::Number(n) if !n.is_finite() => Some(*n),
            Value::List(items) => items.iter().find_map(Value::first_non_finite),
            Value::Map(map) => map.values().find_map(Value::first_non_finite),
            _ => None,
        }
    }

    /// Whether it carries no data: `null`, an empty list, or a list of empty lists.
    pub fn is_empty_data(&self) -> bool {
        match self {
            Value::Null => true,
            Value::List(items) => items.iter().all(Value::is_empty_data),
            _ => false,
        }
    }

    /// As [`Display`](fmt::Display) shows it, but bounded: lists past `items` elements end in
    /// `… (N more)`, text past 120 characters is cut. Measured values come from peers and a
    /// vector can hold thousands of series; reports keep this form.
    pub fn brief(&self, items: usize) -> String {
        match self {
            Value::List(list) => {
                let shown: Vec<String> = list.iter().take(items).map(|v| v.brief(items)).collect();
                let more = list.len().saturating_sub(items);
                if more == 0 {
                    format!("[{}]", shown.join(", "))
                } else {
                    format!("[{}, … ({more} more)]", shown.join(", "))
                }
            }
            Value::Text(s) if s.chars().count() > 120 => {
                let cut: String = s.chars().take(120).collect();
                format!("{cut:?}…")
            }
            other => other.to_string(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Text(_) => "text",
            Value::List(_) => "a list",
            Value::Map(_) => "an object",
            Value::Null => "null",
        }
    }
}

impl fmt::Display for Value {
    /// Numbers as Prometheus writes them (`NaN`, `+Inf`), lists in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => write!(f, "{{{} keys}}", map.len()),
            Value::Null => f.write_str("null"),
        }
    }
}

/// A number as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, else the shortest form that reads back.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let short = format!("{n:.6}");
        let short = short.trim_end_matches('0').trim_end_matches('.');
        if short.parse::<f64>().ok() == Some(n) || n.abs() >= 1e-4 {
            short.to_string()
        } else {
            format!("{n:e}")
        }
    }
}

/// A condition that parsed but could not be evaluated on a measured value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {message}", offset + 1)]
pub struct EvalError {
    /// What went wrong, e.g. `result[0]: the vector is empty`.
    pub message: String,
    /// Character offset of the part that failed.
    pub offset: usize,
}

fn eval_error(node: &Node, message: impl Into<String>) -> EvalError {
    EvalError {
        message: message.into(),
        offset: node.offset,
    }
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    node: Node,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Condition {
    /// Parse, and check what can be checked without knowing `result`'s type: names, the boolean
    /// shape of `&&`/`||`/`!`, predicates only where a function takes one.
    pub fn parse(source: &str) -> Result<Condition, ExprError> {
        let node = syntax::parse(source, &DIALECT)?;
        let condition = Condition {
            source: source.to_string(),
            node,
        };
        condition.check(&Type::Any)?;
        Ok(condition)
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Type-check against what `result` will be, e.g. [`Type::vector`] for a Prometheus
    /// instant query: a vector compared as a number is refused here, before any measurement.
    pub fn check(&self, result: &Type) -> Result<(), ExprError> {
        let found = type_of(&self.node, result, None)?;
        match found {
            Type::Bool | Type::Any => Ok(()),
            other => Err(
                ExprError::new(format!("a condition must be true or false, but this is {other}"), 0)
                    .hint("compare it, e.g. `result[0] < 0.01`"),
            ),
        }
    }

    /// Evaluate on a measured `result`. No coercion: a value of the wrong type is an error.
    pub fn eval(&self, result: &Value) -> Result<bool, EvalError> {
        match eval(&self.node, result, None)? {
            Value::Bool(b) => Ok(b),
            other => Err(eval_error(
                &self.node,
                format!("the condition gave {} ({other}), not true or false", other.type_name()),
            )),
        }
    }
}

fn vector_hint(op: &str) -> String {
    format!("compare one element (`result[0] {op} …`) or every element (`all(result, {{# {op} …}})`)")
}

fn type_of(node: &Node, result: &Type, element: Option<&Type>) -> Result<Type, ExprError> {
    let err = |message: String| ExprError::new(message, node.offset);
    Ok(match &node.ast {
        Ast::Lit(serde_json::Value::Bool(_)) => Type::Bool,
        Ast::Lit(serde_json::Value::Number(_)) => Type::Number,
        Ast::Lit(serde_json::Value::String(_)) => Type::Text,
        Ast::Lit(_) => {
            return Err(
                err("`null` has no use in a metric condition".into()).hint("for no data, test `len(result) == 0`")
            );
        }
        Ast::Duration(_) => return Err(err("durations have no use in a metric condition".into())),
        Ast::Name(name) if name == "result" => result.clone(),
        Ast::Name(name) if name == "#" => match element {
            Some(t) => t.clone(),
            None => {
                return Err(err(
                    "`#` is only meaningful inside a predicate such as `all(result, {# < 1})`".into(),
                ));
            }
        },
        Ast::Name(name) => {
            let hint = if name.eq_ignore_ascii_case("result") {
                "write `result` in lower case"
            } else {
                "conditions read `result`, the measured value"
            };
            return Err(err(format!("unknown name `{name}`")).hint(hint));
        }
        Ast::Member(base, _) => match type_of(base, result, element)? {
            Type::Any => Type::Any,
            other => {
                return Err(err(format!("{other} has no fields")).hint("fields exist on a web provider's JSON objects"));
            }
        },
        Ast::Index(base, index) => {
            let index_type = type_of(index, result, element)?;
            if !matches!(index_type, Type::Number | Type::Text | Type::Any) {
                return Err(ExprError::new(
                    format!("an index must be a number, not {index_type}"),
                    index.offset,
                ));
            }
            match type_of(base, result, element)? {
                Type::List(inner) => *inner,
                Type::Any => Type::Any,
                other => {
                    return Err(err(format!("{other} cannot be indexed")).hint(
                        "only a vector (or a list) has elements: `result` of a scalar query is already the number",
                    ));
                }
            }
        }
        Ast::Unary(UnaryOp::Not, inner) => {
            expect(
                inner,
                type_of(inner, result, element)?,
                &Type::Bool,
                "`!` takes true or false",
            )?;
            Type::Bool
        }
        Ast::Unary(UnaryOp::Neg, inner) => {
            expect(
                inner,
                type_of(inner, result, element)?,
                &Type::Number,
                "`-` takes a number",
            )?;
            Type::Number
        }
        Ast::Binary(op, a, b) => {
            let (ta, tb) = (type_of(a, result, element)?, type_of(b, result, element)?);
            binary_type(*op, node, (a, ta), (b, tb))?
        }
        Ast::Call(name, args) => call_type(name, node, args, result, element)?,
        Ast::Predicate(_) => {
            return Err(err(
                "a predicate `{…}` is only an argument of all(), any() or none()".into()
            ));
        }
    })
}

fn expect(node: &Node, found: Type, wanted: &Type, what: &str) -> Result<(), ExprError> {
    if found == *wanted || found == Type::Any {
        return Ok(());
    }
    let e = ExprError::new(format!("{what}, but this is {found}"), node.offset);
    Err(match (found, wanted) {
        (Type::List(_), Type::Number) => e.hint(vector_hint("<")),
        _ => e,
    })
}

fn binary_type(op: BinaryOp, node: &Node, (a, ta): (&Node, Type), (b, tb): (&Node, Type)) -> Result<Type, ExprError> {
    let symbol = op.symbol();
    match op {
        BinaryOp::And | BinaryOp::Or => {
            let what = format!("`{symbol}` joins true-or-false conditions");
            expect(a, ta, &Type::Bool, &what)?;
            expect(b, tb, &Type::Bool, &what)?;
            Ok(Type::Bool)
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
            let what = format!("`{symbol}` takes numbers");
            expect(a, ta, &Type::Number, &what)?;
            expect(b, tb, &Type::Number, &what)?;
            Ok(Type::Number)
        }
        _ if op.is_comparison() => {
            for (side, t) in [(a, &ta), (b, &tb)] {
                if let Type::List(_) = t {
                    return Err(ExprError::new(
                        format!("`{symbol}` compares single values, but this is {t}"),
                        side.offset,
                    )
                    .hint(vector_hint(symbol)));
                }
            }
            let comparable = ta == Type::Any || tb == Type::Any || ta == tb;
            let orderable = matches!(
                (&ta, &tb),
                (Type::Number | Type::Any, Type::Number | Type::Any) | (Type::Text, Type::Text)
            );
            if !comparable || (op.is_ordering() && !orderable) {
                return Err(
                    ExprError::new(format!("`{symbol}` cannot compare {ta} with {tb}"), node.offset)
                        .hint("compare two numbers; `asFloat(…)` reads a number from text"),
                );
            }
            Ok(Type::Bool)
        }
        BinaryOp::Contains => match (&ta, &tb) {
            (Type::Text | Type::Any, Type::Text | Type::Any) | (Type::List(_), _) => Ok(Type::Bool),
            _ => Err(ExprError::new(
                format!("`contains` needs text or a list on the left, not {ta}"),
                node.offset,
            )),
        },
        _ => Err(ExprError::new(
            format!("`{symbol}` has no use in a metric condition"),
            node.offset,
        )),
    }
}

fn call_type(name: &str, node: &Node, args: &[Node], result: &Type, element: Option<&Type>) -> Result<Type, ExprError> {
    let err = |message: String| ExprError::new(message, node.offset);
    if matches!(name, "all" | "any" | "none") {
        let list = type_of(&args[0], result, element)?;
        let item = match list {
            Type::List(inner) => *inner,
            Type::Any => Type::Any,
            other => {
                return Err(ExprError::new(
                    format!("`{name}()` takes a vector or list first, not {other}"),
                    args[0].offset,
                ));
            }
        };
        let body = match &args[1].ast {
            Ast::Predicate(body) => body,
            _ => &args[1],
        };
        let found = type_of(body, result, Some(&item))?;
        expect(
            body,
            found,
            &Type::Bool,
            &format!("`{name}()`'s predicate must be true or false"),
        )?;
        return Ok(Type::Bool);
    }
    let arg = type_of(&args[0], result, element)?;
    let numbers = |t: &Type| matches!(t, Type::Any) || *t == Type::vector();
    Ok(match name {
        "len" => match arg {
            Type::List(_) | Type::Text | Type::Any => Type::Number,
            other => {
                return Err(err(format!(
                    "`len()` counts a vector's series or a text's characters, not {other}"
                )));
            }
        },
        "isNaN" | "isInf" => {
            expect(&args[0], arg, &Type::Number, &format!("`{name}()` takes a number"))?;
            Type::Bool
        }
        "abs" => {
            expect(&args[0], arg, &Type::Number, "`abs()` takes a number")?;
            Type::Number
        }
        "min" | "max" | "sum" | "avg" if numbers(&arg) => Type::Number,
        "min" | "max" | "sum" | "avg" => return Err(err(format!("`{name}()` takes a vector of numbers, not {arg}"))),
        "asFloat" | "asInt" => match arg {
            Type::Number | Type::Text | Type::Any => Type::Number,
            other => {
                return Err(err(format!(
                    "`{name}()` reads a number from text or a number, not {other}"
                )));
            }
        },
        _ => return Err(err(format!("`{name}()` has no type rule"))),
    })
}

fn eval(node: &Node, result: &Value, element: Option<&Value>) -> Result<Value, EvalError> {
    Ok(match &node.ast {
        Ast::Lit(serde_json::Value::Bool(b)) => Value::Bool(*b),
        Ast::Lit(serde_json::Value::Number(n)) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Ast::Lit(serde_json::Value::String(s)) => Value::Text(s.clone()),
        Ast::Name(name) if name == "result" => result.clone(),
        Ast::Name(name) if name == "#" => element
            .cloned()
            .ok_or_else(|| eval_error(node, "`#` outside a predicate"))?,
        Ast::Member(base, field) => match eval(base, result, element)? {
            Value::Map(mut map) => map
                .remove(field)
                .ok_or_else(|| eval_error(node, format!("`.{field}`: the object has no such field")))?,
            other => {
                return Err(eval_error(
                    node,
                    format!("`.{field}`: {} has no fields", other.type_name()),
                ));
            }
        },
        Ast::Index(base, index) => {
            let container = eval(base, result, element)?;
            let index = eval(index, result, element)?;
            match (container, index) {
                (Value::List(items), Value::Number(i)) => {
                    let len = items.len();
                    if i < 0.0 || i.fract() != 0.0 || i as usize >= len {
                        let what = if len == 0 {
                            "the vector is empty (no data)".to_string()
                        } else {
                            format!("it has {len} element(s)")
                        };
                        return Err(eval_error(
                            node,
                            format!("index {} is out of range: {what}", format_number(i)),
                        ));
                    }
                    items.into_iter().nth(i as usize).unwrap_or(Value::Null)
                }
                (Value::Map(mut map), Value::Text(key)) => map
                    .remove(&key)
                    .ok_or_else(|| eval_error(node, format!("[{key:?}]: the object has no such field")))?,
                (c, i) => {
                    return Err(eval_error(
                        node,
                        format!("cannot index {} with {}", c.type_name(), i.type_name()),
                    ));
                }
            }
        }
        Ast::Unary(UnaryOp::Not, inner) => Value::Bool(!boolean(inner, eval(inner, result, element)?)?),
        Ast::Unary(UnaryOp::Neg, inner) => Value::Number(-number(inner, eval(inner, result, element)?)?),
        Ast::Binary(BinaryOp::And, a, b) => {
            Value::Bool(boolean(a, eval(a, result, element)?)? && boolean(b, eval(b, result, element)?)?)
        }
        Ast::Binary(BinaryOp::Or, a, b) => {
            Value::Bool(boolean(a, eval(a, result, element)?)? || boolean(b, eval(b, result, element)?)?)
        }
        Ast::Binary(op, a, b) => binary(*op, node, eval(a, result, element)?, eval(b, result, element)?)?,
        Ast::Call(name, args) => call(name, node, args, result, element)?,
        Ast::Lit(_) | Ast::Duration(_) | Ast::Name(_) | Ast::Predicate(_) => {
            return Err(eval_error(node, "this has no value in a metric condition"));
        }
    })
}

fn boolean(node: &Node, value: Value) -> Result<bool, EvalError> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(eval_error(
            node,
            format!("expected true or false, got {} ({other})", other.type_name()),
        )),
    }
}

fn number(node: &Node, value: Value) -> Result<f64, EvalError> {
    match value {
        Value::Number(n) => Ok(n),
        other => Err(eval_error(
            node,
            format!("expected a number, got {} ({other})", other.type_name()),
        )),
    }
}

fn binary(op: BinaryOp, node: &Node, a: Value, b: Value) -> Result<Value, EvalError> {
    use BinaryOp::*;
    Ok(match (op, a, b) {
        (Add | Sub | Mul | Div, Value::Number(x), Value::Number(y)) => Value::Number(match op {
            Add => x + y,
            Sub => x - y,
            Mul => x * y,
            _ => x / y,
        }),
        // IEEE comparisons: anything against NaN is false. The analysis never lets a NaN
        // measurement pass whatever the conditions say; this only keeps evaluation total.
        (Eq, x, y) => Value::Bool(x == y),
        (Ne, x, y) => Value::Bool(x != y),
        (Lt | Le | Gt | Ge, Value::Number(x), Value::Number(y)) => Value::Bool(ordered(op, x.partial_cmp(&y))),
        (Lt | Le | Gt | Ge, Value::Text(x), Value::Text(y)) => Value::Bool(ordered(op, Some(x.cmp(&y)))),
        (Contains, Value::Text(x), Value::Text(y)) => Value::Bool(x.contains(&y)),
        (Contains, Value::List(items), y) => Value::Bool(items.contains(&y)),
        (op, a, b) => {
            return Err(eval_error(
                node,
                format!(
                    "`{}` cannot take {} ({a}) and {} ({b})",
                    op.symbol(),
                    a.type_name(),
                    b.type_name()
                ),
            ));
        }
    })
}

fn ordered(op: BinaryOp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (op, ordering) {
        (_, None) => false,
        (BinaryOp::Lt, Some(o)) => o == Less,
        (BinaryOp::Le, Some(o)) => o != Greater,
        (BinaryOp::Gt, Some(o)) => o == Greater,
        (_, Some(o)) => o != Less,
    }
}

fn numbers(node: &Node, value: Value) -> Result<Vec<f64>, EvalError> {
    match value {
        Value::List(items) => items.into_iter().map(|v| number(node, v)).collect(),
        other => Err(eval_error(
            node,
            format!("expected a vector of numbers, got {}", other.type_name()),
        )),
    }
}

fn call(name: &str, node: &Node, args: &[Node], result: &Value, element: Option<&Value>) -> Result<Value, EvalError> {
    let first = eval(&args[0], result, element)?;
    Ok(match name {
        "all" | "any" | "none" => {
            let Value::List(items) = first else {
                return Err(eval_error(
                    &args[0],
                    format!("`{name}()` takes a list, got {}", first.type_name()),
                ));
            };
            let body = match &args[1].ast {
                Ast::Predicate(body) => body,
                _ => &args[1],
            };
            let mut hits = 0;
            for item in &items {
                if boolean(body, eval(body, result, Some(item))?)? {
                    hits += 1;
                }
            }
            Value::Bool(match name {
                "all" => hits == items.len(),
                "any" => hits > 0,
                _ => hits == 0,
            })
        }
        "len" => match first {
            Value::List(items) => Value::Number(items.len() as f64),
            Value::Text(s) => Value::Number(s.chars().count() as f64),
            other => return Err(eval_error(node, format!("`len()` of {}", other.type_name()))),
        },
        "isNaN" => Value::Bool(number(&args[0], first)?.is_nan()),
        "isInf" => Value::Bool(number(&args[0], first)?.is_infinite()),
        "abs" => Value::Number(number(&args[0], first)?.abs()),
        "min" | "max" | "sum" | "avg" => {
            let xs = numbers(&args[0], first)?;
            if xs.is_empty() && name != "sum" {
                return Err(eval_error(node, format!("`{name}()` of an empty vector (no data)")));
            }
            Value::Number(match name {
                "min" => xs.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "sum" => xs.iter().sum(),
                _ => xs.iter().sum::<f64>() / xs.len() as f64,
            })
        }
        "asFloat" | "asInt" => {
            let n = match first {
                Value::Number(n) => n,
                Value::Text(s) => {
                    parse_number(&s).ok_or_else(|| eval_error(node, format!("`{name}()`: {s:?} is not a number")))?
                }
                other => return Err(eval_error(node, format!("`{name}()` of {}", other.type_name()))),
            };
            Value::Number(if name == "asInt" { n.trunc() } else { n })
        }
        other => return Err(eval_error(node, format!("`{other}()` cannot be evaluated"))),
    })
}

/// A number as Prometheus and JSON APIs write it in text: `0.5`, `1e-3`, `NaN`, `+Inf`, `-Inf`.
pub fn parse_number(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        t if t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            && !t.is_empty() =>
        {
            t.parse().ok().filter(|n: &f64| n.is_finite())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(xs: &[f64]) -> Value {
        Value::List(xs.iter().map(|x| Value::Number(*x)).collect())
    }

    fn holds(condition: &str, result: &Value) -> bool {
        Condition::parse(condition).unwrap().eval(result).unwrap()
    }

    #[test]
    fn argo_style_conditions_evaluate() {
        let v = vector(&[0.004, 0.02]);
        assert!(holds("result[0] < 0.01", &v));
        assert!(!holds("all(result, {# < 0.01})", &v));
        assert!(holds("any(result, {# < 0.01})", &v));
        assert!(holds("any(result, # < 0.01)", &v));
        assert!(holds("len(result) == 2 and max(result) > 0.01", &v));
        assert!(holds("result[0] * 100 < 1", &v));
        assert!(holds("isNaN(result)", &Value::Number(f64::NAN)));
        assert!(holds("asFloat(result) >= 0.99", &Value::Text("0.995".into())));
        assert!(holds("!(result > 5) || result == 5", &Value::Number(3.0)));
        assert!(holds("none(result, {# > 1})", &vector(&[])));
    }

    #[test]
    fn a_vector_compared_as_a_number_is_refused_with_its_column() {
        let c = Condition::parse("len(result) > 0 && result < 0.01").unwrap();
        let e = c.check(&Type::vector()).unwrap_err();
        assert_eq!(e.offset, 19, "{e:?}");
        assert!(e.message.contains("vector"), "{e:?}");
        assert!(e.hint.unwrap().contains("all(result, {# < …})"));
        assert!(c.check(&Type::Number).is_err(), "len() of a number");
        assert!(
            Condition::parse("result[0] < 0.01")
                .unwrap()
                .check(&Type::Number)
                .is_err()
        );
        assert!(Condition::parse("result < 0.01").unwrap().check(&Type::Number).is_ok());
    }

    #[test]
    fn nothing_is_truthy() {
        for bad in [
            "result",
            "result && true",
            "!result[0]",
            "1 + true > 0",
            "result[0] == 'x'",
        ] {
            let c = Condition::parse(bad);
            let checked = c.as_ref().map_err(|e| e.clone()).and_then(|c| c.check(&Type::vector()));
            assert!(checked.is_err(), "{bad} passed the type check");
        }
        let e = Condition::parse("reslt[0] < 1").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (0, "unknown name `reslt`"));
        let e = Condition::parse("# < 1").unwrap_err();
        assert!(e.message.contains("predicate"), "{e:?}");
    }

    #[test]
    fn evaluation_errors_name_the_part_that_failed() {
        let c = Condition::parse("result[0] < 0.01").unwrap();
        let e = c.eval(&vector(&[])).unwrap_err();
        assert!(e.message.contains("empty (no data)"), "{e}");
        let any = Condition::parse("result.ok == true").unwrap();
        assert!(any.eval(&Value::from_json(&serde_json::json!({"ok": true}))).unwrap());
        assert!(any.eval(&Value::Number(1.0)).is_err());
    }

    #[test]
    fn nan_and_infinity_never_compare_true() {
        let nan = Value::Number(f64::NAN);
        assert!(!holds("result < 0.01", &nan));
        assert!(!holds("result > 0.01", &nan));
        assert!(!holds("result == result", &nan));
        assert_eq!(
            Value::List(vec![Value::Number(1.0), nan])
                .first_non_finite()
                .map(|n| n.is_nan()),
            Some(true)
        );
        assert_eq!(parse_number("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_number("1e309"), None);
        assert_eq!(format_number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_number(0.0123), "0.0123");
    }

    #[test]
    fn brief_forms_stay_small_whatever_a_peer_sends() {
        let big = vector(&vec![0.5; 100_000]);
        assert_eq!(big.brief(3), "[0.5, 0.5, 0.5, … (99997 more)]");
        let nested = Value::List(vec![big.clone(), big]);
        assert!(nested.brief(2).len() < 100);
        assert!(Value::Text("x".repeat(10_000)).brief(8).len() < 130);
    }
}
