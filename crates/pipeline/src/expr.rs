//! The `${{ }}` expression language: parsing, evaluation with GitHub Actions' loose typing, and templates.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::diagnostic::suggestion;

/// How the job is going, for `success()`, `failure()` and `cancelled()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// No earlier step failed (steps with `continue-on-error: true` do not count) and nothing was cancelled.
    Success,
    /// An earlier step failed or timed out.
    Failure,
    /// The run was cancelled.
    Cancelled,
}

/// What an expression can read. The executor implements this.
pub trait Context {
    /// The value at `root.path[0].path[1]…`, e.g. `("steps", ["plan", "outputs", "digest"])` or
    /// `("inputs", ["region"])`; an empty `path` asks for the whole context object. `None` reads as null.
    /// Roots are `steps`, `inputs`, `env`, `matrix`, `github` and `runner`.
    fn lookup(&self, root: &str, path: &[String]) -> Option<Value>;

    /// The status `success()`, `failure()` and `cancelled()` test.
    fn job_status(&self) -> JobStatus;
}

/// A [`Context`] over plain JSON objects, one per root: for tests, `--dry-run` and simple executors.
#[derive(Debug, Clone, Default)]
pub struct StaticContext {
    /// The value of each root (`inputs`, `steps`, …); a missing root reads as null.
    pub roots: BTreeMap<String, Value>,
    /// What the status functions see; `None` means [`JobStatus::Success`].
    pub status: Option<JobStatus>,
}

impl StaticContext {
    /// An empty context: every reference reads as null and the job is succeeding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a root (`"inputs"`, `"steps"`, …) to a JSON value.
    pub fn with(mut self, root: &str, value: Value) -> Self {
        self.roots.insert(root.to_string(), value);
        self
    }

    /// Set the status `success()`, `failure()` and `cancelled()` test.
    pub fn with_status(mut self, status: JobStatus) -> Self {
        self.status = Some(status);
        self
    }
}

impl Context for StaticContext {
    fn lookup(&self, root: &str, path: &[String]) -> Option<Value> {
        let mut value = self.roots.get(root)?;
        for key in path {
            value = match value {
                Value::Object(map) => map.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value.clone())
    }

    fn job_status(&self) -> JobStatus {
        self.status.unwrap_or(JobStatus::Success)
    }
}

/// An expression or template that does not parse. `offset` counts characters from the start of the text parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ExprError {
    /// What is wrong with the expression.
    pub message: String,
    /// Character offset of the problem in the text parsed.
    pub offset: usize,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl ExprError {
    fn new(message: impl Into<String>, offset: usize) -> Self {
        Self {
            message: message.into(),
            offset,
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// An expression that parsed but cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// `fromJSON()` was given text that is not valid JSON.
    #[error("fromJSON: {0}")]
    FromJson(String),
    /// `format()` was given a bad template or too few arguments for its placeholders.
    #[error("format: {0}")]
    Format(String),
    /// A value of the wrong kind where a particular one is needed (e.g. a matrix axis that is not a list).
    #[error("{0}")]
    Type(String),
}

/// A reference to a context in an expression, e.g. `steps.plan.outputs.digest` gives root `steps` and path
/// `["plan", "outputs", "digest"]`. The path stops at the first index that is not a string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The context read: `steps`, `inputs`, `env`, `matrix`, `github` or `runner`.
    pub root: String,
    /// The member names after the root, in order.
    pub path: Vec<String>,
    /// Character offset of the root name in the expression's source.
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Success,
    Failure,
    Always,
    Cancelled,
    Contains,
    StartsWith,
    EndsWith,
    Format,
    Join,
    ToJson,
    FromJson,
}

/// Functions: name, function, fewest and most arguments.
const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
    ("success", Func::Success, 0, 0),
    ("failure", Func::Failure, 0, 0),
    ("always", Func::Always, 0, 0),
    ("cancelled", Func::Cancelled, 0, 0),
    ("contains", Func::Contains, 2, 2),
    ("startsWith", Func::StartsWith, 2, 2),
    ("endsWith", Func::EndsWith, 2, 2),
    ("format", Func::Format, 1, usize::MAX),
    ("join", Func::Join, 1, 2),
    ("toJSON", Func::ToJson, 1, 1),
    ("fromJSON", Func::FromJson, 1, 1),
];

#[derive(Debug, Clone, PartialEq)]
enum Ast {
    Lit(Value),
    Ctx { root: String, offset: usize },
    Member(Box<Ast>, String),
    Index(Box<Ast>, Box<Ast>),
    Not(Box<Ast>),
    Cmp(CmpOp, Box<Ast>, Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Call(Func, Vec<Ast>),
}

/// A parsed expression (the text between `${{` and `}}`, or an `if:` condition).
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    ast: Ast,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Expr {
    /// Parse an expression such as `success() && inputs.region != 'ap-south'`.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let tokens = lex(source)?;
        let mut parser = ExprParser {
            tokens,
            at: 0,
            depth: 0,
        };
        let ast = parser.or()?;
        let next = parser.peek();
        if next.tok != Tok::End {
            return Err(
                ExprError::new(format!("unexpected {} after the expression", next.tok), next.offset)
                    .hint("join conditions with `&&` or `||`"),
            );
        }
        Ok(Expr {
            source: source.to_string(),
            ast,
        })
    }

    /// Parse an `if:` condition, written with or without `${{ }}` around it.
    pub fn parse_condition(text: &str) -> Result<Expr, ExprError> {
        parse_condition(text).map(|(expr, _)| expr)
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluate against a context.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        eval(&self.ast, ctx)
    }

    /// Evaluate and coerce to a boolean the way GitHub does (`''`, `0`, `null`, `false` are false).
    pub fn eval_bool(&self, ctx: &dyn Context) -> Result<bool, EvalError> {
        Ok(truthy(&self.eval(ctx)?))
    }

    /// Every context reference in the expression, in order.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        references(&self.ast, &mut out);
        out
    }

    /// Whether the expression calls `success()`, `failure()`, `always()` or `cancelled()`; an `if:` that does
    /// not is read as `success() && (…)`, as on GitHub.
    pub fn uses_status_function(&self) -> bool {
        fn walk(ast: &Ast) -> bool {
            match ast {
                Ast::Call(f, args) => {
                    matches!(f, Func::Success | Func::Failure | Func::Always | Func::Cancelled) || args.iter().any(walk)
                }
                Ast::Lit(_) | Ast::Ctx { .. } => false,
                Ast::Member(a, _) | Ast::Not(a) => walk(a),
                Ast::Index(a, b) | Ast::Cmp(_, a, b) | Ast::And(a, b) | Ast::Or(a, b) => walk(a) || walk(b),
            }
        }
        walk(&self.ast)
    }
}

/// Parse a condition; also returns the character offset of the expression inside `text`.
pub(crate) fn parse_condition(text: &str) -> Result<(Expr, usize), ExprError> {
    let trimmed = text.trim();
    let lead = text.chars().count() - text.trim_start().chars().count();
    if trimmed.starts_with("${{") {
        let template = Template::parse(trimmed).map_err(|e| e.shifted(lead))?;
        if let [Part::Expr { expr, offset }] = template.parts.as_slice() {
            return Ok((expr.clone(), lead + *offset));
        }
        return Err(ExprError::new("a condition must be one expression", lead)
            .hint("write the whole condition inside one `${{ }}`, or leave `${{ }}` out"));
    }
    if let Some(at) = text.find("${{") {
        return Err(
            ExprError::new("a condition must be one expression", text[..at].chars().count())
                .hint("write the whole condition inside one `${{ }}`, or leave `${{ }}` out"),
        );
    }
    Expr::parse(trimmed).map(|e| (e, lead)).map_err(|e| e.shifted(lead))
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(Value),
    Str(String),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Dot,
    Comma,
    Bang,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Ident(s) => return write!(f, "`{s}`"),
            Tok::Num(n) => return write!(f, "`{n}`"),
            Tok::Str(s) => return write!(f, "'{}'", s.replace('\'', "''")),
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrack => "[",
            Tok::RBrack => "]",
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::Bang => "!",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::End => return f.write_str("the end of the expression"),
        };
        write!(f, "`{s}`")
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn lex(source: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let next = chars.get(i + 1).copied();
        let two = |t: Tok| (t, 2);
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBrack, 1),
            ']' => (Tok::RBrack, 1),
            ',' => (Tok::Comma, 1),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) || after_value(&tokens) => (Tok::Dot, 1),
            '!' if next == Some('=') => two(Tok::Ne),
            '!' => (Tok::Bang, 1),
            '=' if next == Some('=') => two(Tok::EqEq),
            '=' => {
                return Err(ExprError::new("`=` is not an operator", i).hint("compare with `==`"));
            }
            '<' if next == Some('=') => two(Tok::Le),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => two(Tok::Ge),
            '>' => (Tok::Gt, 1),
            '&' if next == Some('&') => two(Tok::AndAnd),
            '|' if next == Some('|') => two(Tok::OrOr),
            '&' | '|' => {
                return Err(ExprError::new(format!("`{c}` is not an operator"), i).hint(format!("write `{c}{c}`")));
            }
            '\'' => {
                let mut text = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(ExprError::new("string is never closed with `'`", i)),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            text.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&ch) => {
                            text.push(ch);
                            j += 1;
                        }
                    }
                }
                (Tok::Str(text), j + 1 - i)
            }
            '"' => {
                return Err(ExprError::new("strings are written in single quotes", i)
                    .hint("write 'text' (a quote inside is doubled: 'it''s')"));
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '.') && next.is_some_and(|n| n.is_ascii_digit() || n == '.')) =>
            {
                let (value, len) = lex_number(&chars, i)?;
                (Tok::Num(value), len)
            }
            c if is_ident_start(c) => {
                let mut j = i;
                while j < chars.len() && is_ident_char(chars[j]) {
                    j += 1;
                }
                (Tok::Ident(chars[i..j].iter().collect()), j - i)
            }
            c => return Err(ExprError::new(format!("unexpected character `{c}`"), i)),
        };
        tokens.push(Token { tok, offset: start });
        i += len;
    }
    tokens.push(Token {
        tok: Tok::End,
        offset: chars.len(),
    });
    Ok(tokens)
}

/// Whether the last token ends a value, so a following `.` is a property access, not a number's point.
fn after_value(tokens: &[Token]) -> bool {
    tokens
        .last()
        .is_some_and(|t| matches!(t.tok, Tok::Ident(_) | Tok::RParen | Tok::RBrack | Tok::Num(_)))
}

fn lex_number(chars: &[char], start: usize) -> Result<(Value, usize), ExprError> {
    let mut j = start;
    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '.' || (chars[j] == '-' && j == start)) {
        // Exponent signs: `1e-3`.
        j += 1;
        if j < chars.len() && (chars[j] == '-' || chars[j] == '+') && matches!(chars[j - 1], 'e' | 'E') {
            j += 1;
        }
    }
    let text: String = chars[start..j].iter().collect();
    let invalid = || ExprError::new(format!("`{text}` is not a number"), start);
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    if let Some(hex) = body.strip_prefix("0x") {
        let n = i64::from_str_radix(hex, 16).map_err(|_| invalid())?;
        return Ok((Value::from(if negative { -n } else { n }), j - start));
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
    {
        return Err(invalid());
    }
    if body.chars().all(|c| c.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Ok((Value::from(n), j - start));
    }
    let f: f64 = text.parse().map_err(|_| invalid())?;
    Ok((float(f), j - start))
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

struct ExprParser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl ExprParser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn consume(&mut self, tok: Tok, what: &str) -> Result<(), ExprError> {
        if self.eat(&tok) {
            return Ok(());
        }
        let next = self.peek();
        Err(ExprError::new(
            format!("expected {what}, found {}", next.tok),
            next.offset,
        ))
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new("expression is nested too deeply", self.peek().offset));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Ast, ExprError> {
        self.enter()?;
        let mut left = self.and()?;
        while self.eat(&Tok::OrOr) {
            left = Ast::Or(Box::new(left), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.equality()?;
        while self.eat(&Tok::AndAnd) {
            left = Ast::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.comparison()?;
        loop {
            let op = match self.peek().tok {
                Tok::EqEq => CmpOp::Eq,
                Tok::Ne => CmpOp::Ne,
                _ => return Ok(left),
            };
            self.bump();
            left = Ast::Cmp(op, Box::new(left), Box::new(self.comparison()?));
        }
    }

    fn comparison(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Lt => CmpOp::Lt,
                Tok::Le => CmpOp::Le,
                Tok::Gt => CmpOp::Gt,
                Tok::Ge => CmpOp::Ge,
                _ => return Ok(left),
            };
            self.bump();
            left = Ast::Cmp(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        if self.eat(&Tok::Bang) {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Ast::Not(Box::new(inner)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Ast, ExprError> {
        let mut ast = self.primary()?;
        loop {
            if self.eat(&Tok::Dot) {
                let next = self.bump();
                match next.tok {
                    Tok::Ident(name) => ast = Ast::Member(Box::new(ast), name),
                    Tok::Num(ref n) if n.is_u64() => ast = Ast::Member(Box::new(ast), n.to_string()),
                    other => {
                        return Err(ExprError::new(
                            format!("expected a property name after `.`, found {other}"),
                            next.offset,
                        )
                        .hint("names with other characters are written `['name']`"));
                    }
                }
            } else if self.eat(&Tok::LBrack) {
                let index = self.or()?;
                self.consume(Tok::RBrack, "`]`")?;
                ast = Ast::Index(Box::new(ast), Box::new(index));
            } else {
                return Ok(ast);
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, ExprError> {
        let token = self.bump();
        match token.tok {
            Tok::Num(n) => Ok(Ast::Lit(n)),
            Tok::Str(s) => Ok(Ast::Lit(Value::String(s))),
            Tok::LParen => {
                let inner = self.or()?;
                self.consume(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::Ident(name) if self.peek().tok == Tok::LParen => self.call(name, token.offset),
            Tok::Ident(name) => Ok(match name.as_str() {
                "true" => Ast::Lit(Value::Bool(true)),
                "false" => Ast::Lit(Value::Bool(false)),
                "null" => Ast::Lit(Value::Null),
                _ => Ast::Ctx {
                    root: name,
                    offset: token.offset,
                },
            }),
            Tok::End => Err(ExprError::new(
                "expected a value, found the end of the expression",
                token.offset,
            )),
            other => Err(ExprError::new(format!("expected a value, found {other}"), token.offset)),
        }
    }

    fn call(&mut self, name: String, offset: usize) -> Result<Ast, ExprError> {
        let Some(&(canonical, func, min, max)) = FUNCTIONS.iter().find(|(n, ..)| n.eq_ignore_ascii_case(&name)) else {
            let hint = suggestion(&name, FUNCTIONS.iter().map(|(n, ..)| *n)).unwrap_or_else(|| {
                let names: Vec<_> = FUNCTIONS.iter().map(|(n, ..)| format!("{n}()")).collect();
                format!("functions are {}", names.join(", "))
            });
            return Err(ExprError::new(format!("unknown function `{name}()`"), offset).hint(hint));
        };
        self.consume(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.or()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.consume(Tok::Comma, "`,` or `)`")?;
            }
        }
        if args.len() < min || args.len() > max {
            let wanted = match (min, max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} or {b}"),
            };
            return Err(ExprError::new(
                format!(
                    "`{canonical}()` takes {wanted} argument{}, found {}",
                    if max == 1 { "" } else { "s" },
                    args.len()
                ),
                offset,
            ));
        }
        Ok(Ast::Call(func, args))
    }
}

fn references(ast: &Ast, out: &mut Vec<Reference>) {
    match ast {
        Ast::Lit(_) => {}
        Ast::Ctx { root, offset } => out.push(Reference {
            root: root.clone(),
            path: Vec::new(),
            offset: *offset,
        }),
        Ast::Member(..) | Ast::Index(..) => {
            let (base, accessors) = chain(ast);
            if let Ast::Ctx { root, offset } = base {
                let path = static_prefix(&accessors).0;
                out.push(Reference {
                    root: root.clone(),
                    path,
                    offset: *offset,
                });
            } else {
                references(base, out);
            }
            for accessor in accessors {
                if let Accessor::Index(index) = accessor {
                    references(index, out);
                }
            }
        }
        Ast::Not(a) => references(a, out),
        Ast::Cmp(_, a, b) | Ast::And(a, b) | Ast::Or(a, b) => {
            references(a, out);
            references(b, out);
        }
        Ast::Call(_, args) => args.iter().for_each(|a| references(a, out)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

enum Accessor<'a> {
    Name(&'a str),
    Index(&'a Ast),
}

/// Split `a.b['c'][d]` into its base `a` and the accessors, outermost last.
fn chain(ast: &Ast) -> (&Ast, Vec<Accessor<'_>>) {
    let mut accessors = Vec::new();
    let mut node = ast;
    loop {
        match node {
            Ast::Member(base, name) => {
                accessors.push(Accessor::Name(name));
                node = base;
            }
            Ast::Index(base, index) => {
                accessors.push(Accessor::Index(index));
                node = base;
            }
            _ => break,
        }
    }
    accessors.reverse();
    (node, accessors)
}

/// The leading accessors that are names or string literals, and how many there were.
fn static_prefix(accessors: &[Accessor<'_>]) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    for accessor in accessors {
        match accessor {
            Accessor::Name(name) => path.push((*name).to_string()),
            Accessor::Index(Ast::Lit(Value::String(s))) => path.push(s.clone()),
            Accessor::Index(_) => break,
        }
    }
    let n = path.len();
    (path, n)
}

fn get_property(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => map
            .get(key)
            .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn get_index(value: &Value, index: &Value) -> Value {
    match (value, index) {
        (Value::Array(items), Value::Number(_)) => {
            let i = to_number(index);
            if i >= 0.0 && i.fract() == 0.0 {
                items.get(i as usize).cloned().unwrap_or(Value::Null)
            } else {
                Value::Null
            }
        }
        (Value::Object(_), _) => get_property(value, &to_string(index)),
        _ => Value::Null,
    }
}

fn eval(ast: &Ast, ctx: &dyn Context) -> Result<Value, EvalError> {
    Ok(match ast {
        Ast::Lit(v) => v.clone(),
        Ast::Ctx { root, .. } => ctx.lookup(root, &[]).unwrap_or(Value::Null),
        Ast::Member(..) | Ast::Index(..) => {
            let (base, accessors) = chain(ast);
            let (mut value, skip) = match base {
                Ast::Ctx { root, .. } => {
                    let (path, n) = static_prefix(&accessors);
                    (ctx.lookup(root, &path).unwrap_or(Value::Null), n)
                }
                other => (eval(other, ctx)?, 0),
            };
            for accessor in &accessors[skip..] {
                value = match accessor {
                    Accessor::Name(name) => get_property(&value, name),
                    Accessor::Index(index) => get_index(&value, &eval(index, ctx)?),
                };
            }
            value
        }
        Ast::Not(a) => Value::Bool(!truthy(&eval(a, ctx)?)),
        Ast::And(a, b) => {
            let left = eval(a, ctx)?;
            if truthy(&left) { eval(b, ctx)? } else { left }
        }
        Ast::Or(a, b) => {
            let left = eval(a, ctx)?;
            if truthy(&left) { left } else { eval(b, ctx)? }
        }
        Ast::Cmp(op, a, b) => {
            let (left, right) = (eval(a, ctx)?, eval(b, ctx)?);
            Value::Bool(match op {
                CmpOp::Eq => loose_eq(&left, &right),
                CmpOp::Ne => !loose_eq(&left, &right),
                CmpOp::Lt => compare(&left, &right) == Some(Ordering::Less),
                CmpOp::Le => matches!(compare(&left, &right), Some(Ordering::Less | Ordering::Equal)),
                CmpOp::Gt => compare(&left, &right) == Some(Ordering::Greater),
                CmpOp::Ge => matches!(compare(&left, &right), Some(Ordering::Greater | Ordering::Equal)),
            })
        }
        Ast::Call(func, args) => call(*func, args, ctx)?,
    })
}

fn call(func: Func, args: &[Ast], ctx: &dyn Context) -> Result<Value, EvalError> {
    let arg = |i: usize| -> Result<Value, EvalError> { args.get(i).map_or(Ok(Value::Null), |a| eval(a, ctx)) };
    Ok(match func {
        Func::Success => Value::Bool(ctx.job_status() == JobStatus::Success),
        Func::Failure => Value::Bool(ctx.job_status() == JobStatus::Failure),
        Func::Cancelled => Value::Bool(ctx.job_status() == JobStatus::Cancelled),
        Func::Always => Value::Bool(true),
        Func::Contains => {
            let (search, item) = (arg(0)?, arg(1)?);
            Value::Bool(match &search {
                Value::Array(items) => items.iter().any(|v| loose_eq(v, &item)),
                _ => to_string(&search)
                    .to_lowercase()
                    .contains(&to_string(&item).to_lowercase()),
            })
        }
        Func::StartsWith => {
            let (s, prefix) = (to_string(&arg(0)?).to_lowercase(), to_string(&arg(1)?).to_lowercase());
            Value::Bool(s.starts_with(&prefix))
        }
        Func::EndsWith => {
            let (s, suffix) = (to_string(&arg(0)?).to_lowercase(), to_string(&arg(1)?).to_lowercase());
            Value::Bool(s.ends_with(&suffix))
        }
        Func::Format => {
            let template = to_string(&arg(0)?);
            let values = args[1..]
                .iter()
                .map(|a| eval(a, ctx).map(|v| to_string(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            Value::String(format_string(&template, &values)?)
        }
        Func::Join => {
            let separator = if args.len() > 1 {
                to_string(&arg(1)?)
            } else {
                ",".to_string()
            };
            match arg(0)? {
                Value::Array(items) => Value::String(items.iter().map(to_string).collect::<Vec<_>>().join(&separator)),
                other => Value::String(to_string(&other)),
            }
        }
        Func::ToJson => Value::String(serde_json::to_string_pretty(&arg(0)?).unwrap_or_default()),
        Func::FromJson => {
            let text = to_string(&arg(0)?);
            serde_json::from_str(&text).map_err(|e| EvalError::FromJson(format!("{e} in {}", truncate(&text))))?
        }
    })
}

fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    format!("`{out}`")
}

/// `format('{0} and {1}', a, b)`; `{{` and `}}` are literal braces.
fn format_string(template: &str, values: &[String]) -> Result<String, EvalError> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(d) if d.is_ascii_digit() => digits.push(d),
                        _ => return Err(EvalError::Format(format!("bad placeholder in {}", truncate(template)))),
                    }
                }
                let index: usize = digits
                    .parse()
                    .map_err(|_| EvalError::Format(format!("bad placeholder in {}", truncate(template))))?;
                let value = values.get(index).ok_or_else(|| {
                    EvalError::Format(format!("`{{{index}}}` has no argument ({} given)", values.len()))
                })?;
                out.push_str(value);
            }
            '}' => return Err(EvalError::Format(format!("unmatched `}}` in {}", truncate(template)))),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// GitHub's truthiness: `null`, `false`, `0`, `NaN` and `''` are false; everything else, arrays and objects
/// included, is true.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// GitHub's number coercion: `null` is 0, booleans 1 and 0, strings are parsed (empty is 0, junk is NaN),
/// arrays and objects are NaN.
pub fn to_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return 0.0;
            }
            if let Some(hex) = s.strip_prefix("0x") {
                return i64::from_str_radix(hex, 16).map_or(f64::NAN, |n| n as f64);
            }
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.chars().any(|c| c.is_ascii_digit())
                && digits
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            {
                s.parse().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        }
        Value::Array(_) | Value::Object(_) => f64::NAN,
    }
}

fn format_number(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// The text a value interpolates as: `null` is empty, numbers without a needless `.0`, arrays and objects as
/// compact JSON.
pub fn to_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => format_number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

fn is_primitive(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// GitHub's `==`: same kinds compare directly (strings ignoring case); different primitive kinds are compared
/// as numbers; arrays and objects equal only an identical array or object.
pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => a == b,
        _ if is_primitive(a) && is_primitive(b) => to_number(a) == to_number(b),
        _ => false,
    }
}

/// GitHub's ordering: strings ignoring case, anything else as numbers; `None` when incomparable (NaN, arrays,
/// objects).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if !is_primitive(a) || !is_primitive(b) {
        return None;
    }
    if let (Value::String(x), Value::String(y)) = (a, b) {
        return Some(x.to_lowercase().cmp(&y.to_lowercase()));
    }
    to_number(a).partial_cmp(&to_number(b))
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// `offset`: character offset of the expression's first character in the template.
    Expr {
        expr: Expr,
        offset: usize,
    },
}

/// A string with zero or more `${{ … }}`. A template that is exactly one expression evaluates to the
/// expression's value with its JSON type; any other template interpolates to a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Template {
    /// Parse a template. Error offsets count characters from the start of `source`.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        let chars: Vec<char> = source.chars().collect();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i..].starts_with(&['$', '{', '{']) {
                let open = i;
                let inner = i + 3;
                let mut j = inner;
                let mut quoted = false;
                let close = loop {
                    match chars.get(j) {
                        None => {
                            return Err(ExprError::new("`${{` is never closed with `}}`", open));
                        }
                        Some('\'') => quoted = !quoted,
                        Some('}') if !quoted && chars.get(j + 1) == Some(&'}') => break j,
                        _ => {}
                    }
                    j += 1;
                };
                let raw: String = chars[inner..close].iter().collect();
                let lead = raw.chars().count() - raw.trim_start().chars().count();
                let expr = Expr::parse(raw.trim()).map_err(|e| e.shifted(inner + lead))?;
                if raw.trim().is_empty() {
                    return Err(ExprError::new("empty `${{ }}`", open));
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Expr {
                    expr,
                    offset: inner + lead,
                });
                i = close + 2;
            } else {
                text.push(chars[i]);
                i += 1;
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// A template with no expressions.
    pub fn literal(text: &str) -> Template {
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text(text.to_string())]
        };
        Template {
            source: text.to_string(),
            parts,
        }
    }

    /// The template's text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template has no `${{ }}`.
    pub fn is_literal(&self) -> bool {
        !self.parts.iter().any(|p| matches!(p, Part::Expr { .. }))
    }

    /// The expressions in the template with the character offset of each in the template's text.
    pub fn expressions(&self) -> impl Iterator<Item = (&Expr, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr { expr, offset } => Some((expr, *offset)),
            Part::Text(_) => None,
        })
    }

    /// Evaluate: one bare expression keeps its JSON type; anything else is a string.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        if let [Part::Expr { expr, .. }] = self.parts.as_slice() {
            return expr.eval(ctx);
        }
        self.render(ctx).map(Value::String)
    }

    /// Evaluate to a string, whatever the template's shape.
    pub fn render(&self, ctx: &dyn Context) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr { expr, .. } => out.push_str(&to_string(&expr.eval(ctx)?)),
            }
        }
        Ok(out)
    }
}

/// A YAML value whose strings are templates: what `with:` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTemplate {
    /// `null` (or an empty value).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string, which may contain `${{ }}` expressions.
    String(Template),
    /// A list.
    Array(Vec<ValueTemplate>),
    /// A mapping.
    Object(BTreeMap<String, ValueTemplate>),
}

impl ValueTemplate {
    /// Evaluate every template inside; a string that is exactly one expression keeps the expression's type.
    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, EvalError> {
        Ok(match self {
            ValueTemplate::Null => Value::Null,
            ValueTemplate::Bool(b) => Value::Bool(*b),
            ValueTemplate::Number(n) => Value::Number(n.clone()),
            ValueTemplate::String(t) => t.eval(ctx)?,
            ValueTemplate::Array(items) => Value::Array(items.iter().map(|i| i.eval(ctx)).collect::<Result<_, _>>()?),
            ValueTemplate::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), v.eval(ctx)?)))
                    .collect::<Result<Map<_, _>, EvalError>>()?,
            ),
        })
    }

    /// Every template inside, depth first.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        fn walk<'a>(v: &'a ValueTemplate, out: &mut Vec<&'a Template>) {
            match v {
                ValueTemplate::String(t) => out.push(t),
                ValueTemplate::Array(items) => items.iter().for_each(|i| walk(i, out)),
                ValueTemplate::Object(map) => map.values().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        walk(self, &mut out);
        out
    }
}
