//! The grammar every dialect shares: tokens, precedence, nesting bound and error positions.
//!
//! ```text
//! expr     := or
//! or       := and (("||" | "or") and)*
//! and      := equality (("&&" | "and") equality)*
//! equality := compare (("==" | "!=") compare)*
//! compare  := additive (("<" | "<=" | ">" | ">=" | "contains" | "matches") additive)*
//! additive := product (("+" | "-") product)*            -- arithmetic dialects
//! product  := unary (("*" | "/") unary)*                -- arithmetic dialects
//! unary    := ("!" | "not" | "-") unary | postfix
//! postfix  := primary ("." name | "[" expr "]")*
//! primary  := number | duration | string | true | false | null | name | "#"
//!           | name "(" (expr ("," expr)*)? ")" | "(" expr ")" | "{" expr "}"
//! ```
//!
//! A [`Dialect`] switches on the parts it admits (double-quoted strings, `-` inside names,
//! durations such as `300ms`, arithmetic, word operators, `{ # … }` predicates) and lists its
//! functions; anything else is refused at parse time with the offset of the offending token.

use serde_json::Value;
use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// Nesting deeper than this is refused rather than risking the stack (plugins run in a small one).
pub const MAX_DEPTH: usize = 64;

/// A function a dialect offers: its name as documented and how many arguments it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// The name as documented; calls match it ignoring ASCII case.
    pub name: &'static str,
    /// Fewest arguments.
    pub min: usize,
    /// Most arguments (`usize::MAX`: any number).
    pub max: usize,
}

/// Which parts of the shared grammar a dialect admits.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// What the dialect is called in hints, e.g. `a pipeline expression`.
    pub name: &'static str,
    /// The functions it offers.
    pub functions: &'static [Function],
    /// `"…"` strings with JSON escapes (single-quoted `'…'` strings, with `''` for a quote, are always admitted).
    pub double_quotes: bool,
    /// `-` inside names (`steps.my-step`, `header.content-type`); without it `-` is subtraction.
    pub dashed_names: bool,
    /// Duration literals: a number followed by a unit, `300ms`, `5s`, `14d`.
    pub durations: bool,
    /// `+ - * /` and unary minus.
    pub arithmetic: bool,
    /// `and`, `or`, `not`, `contains`, `matches` as operators.
    pub word_operators: bool,
    /// `{ # < 1 }` predicates (for `all`, `any`, …) and `#`, the element a predicate looks at.
    pub predicates: bool,
}

/// An expression that does not parse. `offset` counts characters from the start of the text parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ExprError {
    /// What is wrong.
    pub message: String,
    /// Character offset of the problem in the text parsed.
    pub offset: usize,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl ExprError {
    /// An error at `offset`.
    pub fn new(message: impl Into<String>, offset: usize) -> Self {
        Self {
            message: message.into(),
            offset,
            hint: None,
        }
    }

    /// With a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Moved right by `by` characters (the expression sat inside a longer text).
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }

    /// `column N: message (hint)`, columns counted from 1, for one-line messages.
    pub fn with_column(&self) -> String {
        match &self.hint {
            Some(hint) => format!("column {}: {} ({hint})", self.offset + 1, self.message),
            None => format!("column {}: {}", self.offset + 1, self.message),
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `!` or `not`.
    Not,
    /// `-` (arithmetic dialects).
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `||` or `or`.
    Or,
    /// `&&` or `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains` (word-operator dialects).
    Contains,
    /// `matches` (word-operator dialects).
    Matches,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinaryOp {
    /// As written in the source.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Or => "||",
            Self::And => "&&",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Contains => "contains",
            Self::Matches => "matches",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
        }
    }

    /// Whether it orders two values (`<`, `<=`, `>`, `>=`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }

    /// Whether it compares two values (ordering, `==`, `!=`).
    pub fn is_comparison(self) -> bool {
        self.is_ordering() || matches!(self, Self::Eq | Self::Ne)
    }
}

/// One node of a parsed expression, with the character offset it starts at (an operator's own
/// offset for binary operators).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it is.
    pub ast: Ast,
    /// Character offset in the parsed text.
    pub offset: usize,
}

/// The shapes an expression is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// A number, string, boolean or null.
    Lit(Value),
    /// A duration literal (durations dialects).
    Duration(Duration),
    /// A name: a context root (`steps`, `result`, `status`), or `#` inside a predicate.
    Name(String),
    /// `a.name` (also `a.0` for an index written after a dot).
    Member(Box<Node>, String),
    /// `a[index]`.
    Index(Box<Node>, Box<Node>),
    /// `!a`, `-a`.
    Unary(UnaryOp, Box<Node>),
    /// `a op b`.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// `name(args…)`, the name as the dialect documents it.
    Call(&'static str, Vec<Node>),
    /// `{ … }`: a predicate over `#`.
    Predicate(Box<Node>),
}

/// Parse `source` in `dialect`.
pub fn parse(source: &str, dialect: &Dialect) -> Result<Node, ExprError> {
    let tokens = lex(source, dialect)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        dialect,
    };
    let node = parser.or()?;
    let next = parser.peek();
    if next.tok != Tok::End {
        return Err(
            ExprError::new(format!("unexpected {} after the expression", next.tok), next.offset)
                .hint("join conditions with `&&` or `||`"),
        );
    }
    Ok(node)
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (word.chars().count().max(c.chars().count()) / 3).max(2) && *d < word.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(Value),
    Duration(Duration, String),
    Str(String),
    Hash,
    LParen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Bang,
    Op(BinaryOp),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Ident(s) => return write!(f, "`{s}`"),
            Tok::Num(n) => return write!(f, "`{n}`"),
            Tok::Duration(_, text) => return write!(f, "`{text}`"),
            Tok::Str(s) => return write!(f, "'{}'", s.replace('\'', "''")),
            Tok::Op(op) => op.symbol(),
            Tok::Hash => "#",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrack => "[",
            Tok::RBrack => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::Bang => "!",
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

fn is_name_char(c: char, dialect: &Dialect) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (dialect.dashed_names && c == '-')
}

/// Whether the last token ends a value, so what follows is an operator or accessor, not a new value.
fn after_value(tokens: &[Token]) -> bool {
    tokens.last().is_some_and(|t| {
        matches!(
            t.tok,
            Tok::Ident(_)
                | Tok::RParen
                | Tok::RBrack
                | Tok::RBrace
                | Tok::Num(_)
                | Tok::Duration(..)
                | Tok::Str(_)
                | Tok::Hash
        )
    })
}

fn lex(source: &str, dialect: &Dialect) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_dot = tokens.last().is_some_and(|t| t.tok == Tok::Dot);
        let two = |op: BinaryOp| (Tok::Op(op), 2);
        let one = |op: BinaryOp| (Tok::Op(op), 1);
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBrack, 1),
            ']' => (Tok::RBrack, 1),
            '{' if dialect.predicates => (Tok::LBrace, 1),
            '}' if dialect.predicates => (Tok::RBrace, 1),
            '#' if dialect.predicates => (Tok::Hash, 1),
            ',' => (Tok::Comma, 1),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) || after_value(&tokens) => (Tok::Dot, 1),
            '!' if next == Some('=') => two(BinaryOp::Ne),
            '!' => (Tok::Bang, 1),
            '=' if next == Some('=') => two(BinaryOp::Eq),
            '=' => return Err(ExprError::new("`=` is not an operator", i).hint("compare with `==`")),
            '<' if next == Some('=') => two(BinaryOp::Le),
            '<' => one(BinaryOp::Lt),
            '>' if next == Some('=') => two(BinaryOp::Ge),
            '>' => one(BinaryOp::Gt),
            '&' if next == Some('&') => two(BinaryOp::And),
            '|' if next == Some('|') => two(BinaryOp::Or),
            '&' | '|' => {
                return Err(ExprError::new(format!("`{c}` is not an operator"), i).hint(format!("write `{c}{c}`")));
            }
            '+' | '*' | '/' if dialect.arithmetic => one(match c {
                '+' => BinaryOp::Add,
                '*' => BinaryOp::Mul,
                _ => BinaryOp::Div,
            }),
            '-' if dialect.arithmetic && after_value(&tokens) => one(BinaryOp::Sub),
            '\'' => lex_single_quoted(&chars, i)?,
            '"' if dialect.double_quotes => lex_double_quoted(&chars, i)?,
            '"' => {
                return Err(ExprError::new("strings are written in single quotes", i)
                    .hint("write 'text' (a quote inside is doubled: 'it''s')"));
            }
            // After a dot comes a name, even one starting with a digit (`body.5m_load`); digits alone are an
            // index (`body.checks.0.ok`), so `0.ok` is not read as a number.
            c if c.is_ascii_digit() && after_dot => {
                let end = (i..chars.len())
                    .find(|&j| !is_name_char(chars[j], dialect))
                    .unwrap_or(chars.len());
                let text: String = chars[i..end].iter().collect();
                let tok = if text.chars().all(|c| c.is_ascii_digit()) {
                    let n: u64 = text
                        .parse()
                        .map_err(|_| ExprError::new(format!("`{text}` is not an index"), i))?;
                    Tok::Num(Value::from(n))
                } else {
                    Tok::Ident(text)
                };
                (tok, end - i)
            }
            '-' if dialect.arithmetic && next.is_some_and(|n| n.is_ascii_digit() || n == '.') => {
                // Unary minus in arithmetic dialects: the parser negates the number that follows.
                (Tok::Op(BinaryOp::Sub), 1)
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '.') && next.is_some_and(|n| n.is_ascii_digit() || n == '.')) =>
            {
                lex_number(&chars, i, dialect)?
            }
            c if is_ident_start(c) => {
                let mut j = i;
                while j < chars.len() && is_name_char(chars[j], dialect) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let tok = match word.as_str() {
                    _ if !dialect.word_operators || after_dot => Tok::Ident(word),
                    "and" => Tok::Op(BinaryOp::And),
                    "or" => Tok::Op(BinaryOp::Or),
                    "not" => Tok::Bang,
                    "contains" => Tok::Op(BinaryOp::Contains),
                    "matches" => Tok::Op(BinaryOp::Matches),
                    _ => Tok::Ident(word),
                };
                (tok, j - i)
            }
            '{' | '}' | '#' => {
                return Err(ExprError::new(format!("`{c}` has no meaning in {}", dialect.name), i));
            }
            '+' | '*' | '/' | '-' => {
                return Err(ExprError::new(
                    format!("`{c}`: there is no arithmetic in {}", dialect.name),
                    i,
                ));
            }
            c => return Err(ExprError::new(format!("unexpected character `{c}`"), i)),
        };
        tokens.push(Token { tok, offset: i });
        i += len;
    }
    tokens.push(Token {
        tok: Tok::End,
        offset: chars.len(),
    });
    Ok(tokens)
}

fn lex_single_quoted(chars: &[char], start: usize) -> Result<(Tok, usize), ExprError> {
    let mut text = String::new();
    let mut j = start + 1;
    loop {
        match chars.get(j) {
            None => return Err(ExprError::new("string is never closed with `'`", start)),
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
    Ok((Tok::Str(text), j + 1 - start))
}

fn lex_double_quoted(chars: &[char], start: usize) -> Result<(Tok, usize), ExprError> {
    let mut j = start + 1;
    loop {
        match chars.get(j) {
            None => return Err(ExprError::new("string is never closed with `\"`", start)),
            Some('\\') => j += 2,
            Some('"') => break,
            Some(_) => j += 1,
        }
    }
    let quoted: String = chars[start..=j].iter().collect();
    let text = serde_json::from_str::<String>(&quoted)
        .map_err(|_| ExprError::new(format!("{quoted} is not a well-formed quoted string"), start))?;
    Ok((Tok::Str(text), j + 1 - start))
}

fn lex_number(chars: &[char], start: usize, dialect: &Dialect) -> Result<(Tok, usize), ExprError> {
    let mut j = start;
    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '.' || (chars[j] == '-' && j == start)) {
        j += 1;
        // Exponent signs: `1e-3`.
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
        return Ok((Tok::Num(Value::from(if negative { -n } else { n })), j - start));
    }
    if body.ends_with(|c: char| c.is_ascii_alphabetic()) && !negative {
        let unit_at = body.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(body.len());
        let looks_like_exponent = body[unit_at..].starts_with(['e', 'E']) && body.len() > unit_at + 1;
        if dialect.durations && !looks_like_exponent {
            return humantime::parse_duration(body)
                .map(|d| (Tok::Duration(d, text.clone()), j - start))
                .map_err(|_| {
                    ExprError::new(format!("`{text}` is neither a number nor a duration"), start)
                        .hint("write a number, or a duration such as `300ms`, `5s` or `14d`")
                });
        }
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
        return Ok((Tok::Num(Value::from(n)), j - start));
    }
    let f: f64 = text.parse().map_err(|_| invalid())?;
    // Too large for a float (`1e999`): refused rather than read as something else.
    let n = serde_json::Number::from_f64(f)
        .ok_or_else(|| ExprError::new(format!("`{text}` is too large a number"), start))?;
    Ok((Tok::Num(Value::Number(n)), j - start))
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

struct Parser<'d> {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    dialect: &'d Dialect,
}

fn node(ast: Ast, offset: usize) -> Node {
    Node { ast, offset }
}

impl Parser<'_> {
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

    /// One precedence level: `next (op next)*` for the operators in `ops`.
    fn level(&mut self, ops: &[BinaryOp], next: fn(&mut Self) -> Result<Node, ExprError>) -> Result<Node, ExprError> {
        let mut left = next(self)?;
        loop {
            let (op, offset) = match self.peek() {
                Token {
                    tok: Tok::Op(op),
                    offset,
                } if ops.contains(op) => (*op, *offset),
                _ => return Ok(left),
            };
            self.bump();
            let right = next(self)?;
            left = node(Ast::Binary(op, Box::new(left), Box::new(right)), offset);
        }
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let result = self.level(&[BinaryOp::Or], Self::and);
        self.depth -= 1;
        result
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        self.level(&[BinaryOp::And], Self::equality)
    }

    fn equality(&mut self) -> Result<Node, ExprError> {
        self.level(&[BinaryOp::Eq, BinaryOp::Ne], Self::comparison)
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        use BinaryOp::*;
        self.level(&[Lt, Le, Gt, Ge, Contains, Matches], Self::additive)
    }

    fn additive(&mut self) -> Result<Node, ExprError> {
        self.level(&[BinaryOp::Add, BinaryOp::Sub], Self::product)
    }

    fn product(&mut self) -> Result<Node, ExprError> {
        self.level(&[BinaryOp::Mul, BinaryOp::Div], Self::unary)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let offset = self.peek().offset;
        let op = match self.peek().tok {
            Tok::Bang => UnaryOp::Not,
            Tok::Op(BinaryOp::Sub) => UnaryOp::Neg,
            _ => return self.postfix(),
        };
        self.bump();
        self.enter()?;
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(node(Ast::Unary(op, Box::new(inner)), offset))
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut ast = self.primary()?;
        loop {
            let offset = self.peek().offset;
            if self.eat(&Tok::Dot) {
                let next = self.bump();
                let name = match next.tok {
                    Tok::Ident(name) => name,
                    Tok::Num(ref n) if n.is_u64() => n.to_string(),
                    other => {
                        return Err(ExprError::new(
                            format!("expected a property name after `.`, found {other}"),
                            next.offset,
                        )
                        .hint("names with other characters are written `['name']`"));
                    }
                };
                ast = node(Ast::Member(Box::new(ast), name), offset);
            } else if self.eat(&Tok::LBrack) {
                let index = self.or()?;
                self.consume(Tok::RBrack, "`]`")?;
                ast = node(Ast::Index(Box::new(ast), Box::new(index)), offset);
            } else {
                return Ok(ast);
            }
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let token = self.bump();
        let offset = token.offset;
        match token.tok {
            Tok::Num(n) => Ok(node(Ast::Lit(n), offset)),
            Tok::Duration(d, _) => Ok(node(Ast::Duration(d), offset)),
            Tok::Str(s) => Ok(node(Ast::Lit(Value::String(s)), offset)),
            Tok::Hash => Ok(node(Ast::Name("#".into()), offset)),
            Tok::LParen => {
                let inner = self.or()?;
                self.consume(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::LBrace => {
                let inner = self.or()?;
                self.consume(Tok::RBrace, "`}`")?;
                Ok(node(Ast::Predicate(Box::new(inner)), offset))
            }
            Tok::Ident(name) if self.peek().tok == Tok::LParen => self.call(name, offset),
            Tok::Ident(name) => Ok(node(
                match name.as_str() {
                    "true" => Ast::Lit(Value::Bool(true)),
                    "false" => Ast::Lit(Value::Bool(false)),
                    "null" => Ast::Lit(Value::Null),
                    _ => Ast::Name(name),
                },
                offset,
            )),
            Tok::End => Err(ExprError::new(
                "expected a value, found the end of the expression",
                offset,
            )),
            other => Err(ExprError::new(format!("expected a value, found {other}"), offset)),
        }
    }

    fn call(&mut self, name: String, offset: usize) -> Result<Node, ExprError> {
        let functions = self.dialect.functions;
        let Some(function) = functions.iter().find(|f| f.name.eq_ignore_ascii_case(&name)) else {
            if functions.is_empty() {
                return Err(ExprError::new(format!("unknown function `{name}()`"), offset)
                    .hint(format!("there are no functions in {}", self.dialect.name)));
            }
            let hint = did_you_mean(&name, functions.iter().map(|f| f.name))
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    let names: Vec<_> = functions.iter().map(|f| format!("{}()", f.name)).collect();
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
        let (min, max) = (function.min, function.max);
        if args.len() < min || args.len() > max {
            let wanted = match (min, max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} or {b}"),
            };
            return Err(ExprError::new(
                format!(
                    "`{}()` takes {wanted} argument{}, found {}",
                    function.name,
                    if max == 1 { "" } else { "s" },
                    args.len()
                ),
                offset,
            ));
        }
        Ok(node(Ast::Call(function.name, args), offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Dialect = Dialect {
        name: "a test expression",
        functions: &[
            Function {
                name: "len",
                min: 1,
                max: 1,
            },
            Function {
                name: "all",
                min: 2,
                max: 2,
            },
        ],
        double_quotes: true,
        dashed_names: false,
        durations: true,
        arithmetic: true,
        word_operators: true,
        predicates: true,
    };

    const PLAIN: Dialect = Dialect {
        name: "a plain expression",
        functions: &[],
        double_quotes: false,
        dashed_names: true,
        durations: false,
        arithmetic: false,
        word_operators: false,
        predicates: false,
    };

    fn shape(node: &Node) -> String {
        match &node.ast {
            Ast::Lit(v) => v.to_string(),
            Ast::Duration(d) => format!("{}ms", d.as_millis()),
            Ast::Name(n) => n.clone(),
            Ast::Member(a, n) => format!("{}.{n}", shape(a)),
            Ast::Index(a, i) => format!("{}[{}]", shape(a), shape(i)),
            Ast::Unary(UnaryOp::Not, a) => format!("!{}", shape(a)),
            Ast::Unary(UnaryOp::Neg, a) => format!("-{}", shape(a)),
            Ast::Binary(op, a, b) => format!("({} {} {})", shape(a), op.symbol(), shape(b)),
            Ast::Call(f, args) => format!("{f}({})", args.iter().map(shape).collect::<Vec<_>>().join(", ")),
            Ast::Predicate(a) => format!("{{{}}}", shape(a)),
        }
    }

    fn parsed(source: &str, dialect: &Dialect) -> String {
        shape(&parse(source, dialect).unwrap_or_else(|e| panic!("{source}: {e:?}")))
    }

    #[test]
    fn precedence_is_arithmetic_then_comparison_then_and_then_or() {
        assert_eq!(
            parsed("a + b * 2 < 3 && c or not d", &ALL),
            "((((a + (b * 2)) < 3) && c) || !d)"
        );
        assert_eq!(parsed("a - 1", &ALL), "(a - 1)");
        assert_eq!(parsed("-1 < a", &ALL), "(-1 < a)");
        assert_eq!(parsed("result[0] >= 0.95", &ALL), "(result[0] >= 0.95)");
    }

    #[test]
    fn predicates_durations_and_word_operators() {
        assert_eq!(
            parsed("len(result) > 0 and all(result, {# < 0.01})", &ALL),
            "((len(result) > 0) && all(result, {(# < 0.01)}))"
        );
        assert_eq!(parsed("latency < 300ms", &ALL), "(latency < 300ms)");
        assert_eq!(parsed("cert > 14d", &ALL), "(cert > 1209600000ms)");
        assert_eq!(parsed("body contains \"ok\"", &ALL), "(body contains \"ok\")");
        assert_eq!(parsed("1e-3 < x", &ALL), "(0.001 < x)");
    }

    #[test]
    fn indexes_after_dots_and_dashed_names() {
        assert_eq!(parsed("body.checks.0.ok == true", &PLAIN), "(body.checks.0.ok == true)");
        assert_eq!(parsed("steps.my-step.outputs.x", &PLAIN), "steps.my-step.outputs.x");
        assert_eq!(parsed("a-b", &ALL), "(a - b)");
    }

    #[test]
    fn names_after_a_dot_may_start_with_a_digit() {
        assert_eq!(parsed("body.5m_load.0 > 1", &PLAIN), "(body.5m_load.0 > 1)");
        assert_eq!(parsed("header.2fa-token", &PLAIN), "header.2fa-token");
        let e = parse("x.99999999999999999999999", &PLAIN).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (2, "`99999999999999999999999` is not an index")
        );
    }

    #[test]
    fn numbers_too_large_for_a_float_are_refused() {
        let e = parse("x < 1e999", &ALL).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (4, "`1e999` is too large a number"));
    }

    #[test]
    fn what_a_dialect_lacks_is_refused_where_it_is_written() {
        let e = parse("a + 1", &PLAIN).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("no arithmetic"), "{e:?}");
        let e = parse("a == \"x\"", &PLAIN).unwrap_err();
        assert_eq!(e.offset, 5);
        let e = parse("all(x, {# > 1})", &PLAIN).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (7, "`{` has no meaning in a plain expression")
        );
        let e = parse("all(x)", &PLAIN).unwrap_err();
        assert!(e.message.contains("unknown function `all()`"), "{e:?}");
        assert_eq!(e.hint.as_deref(), Some("there are no functions in a plain expression"));
        let e = parse("x < 5m", &PLAIN).unwrap_err();
        assert_eq!(e.offset, 4);
        let e = parse("len(a, b)", &ALL).unwrap_err();
        assert!(e.message.contains("takes 1 argument, found 2"), "{e:?}");
        let e = parse("ln(a)", &ALL).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `len`?"));
        assert_eq!(
            e.with_column(),
            "column 1: unknown function `ln()` (did you mean `len`?)"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep, &ALL).unwrap_err().message.contains("nested too deeply"));
        let nots = format!("{}a", "!".repeat(500));
        assert!(parse(&nots, &ALL).is_err());
    }
}
