//! The constraint language: a demand's typed predicate over offer attributes.
//!
//! ```text
//! expr    := or
//! or      := and ( "or" and )*
//! and     := unary ( "and" unary )*
//! unary   := "not" unary | atom
//! atom    := "(" expr ")" | "true" | "false" | cmp
//! cmp     := operand ( cmpop operand | ["not"] "in" list )
//! cmpop   := "==" | "!=" | "<" | "<=" | ">" | ">="
//! operand := ident | int | float | string
//! list    := "[" [ literal ( "," literal )* ] "]"
//! ```
//!
//! Precedence, tightest first: comparison / `in`, `not`, `and`, `or`. Identifiers are
//! attribute names ([`Attr`]); strings are double-quoted with `\"` and `\\` escapes;
//! numbers are decimal (`80`, `0.5`, `-3`). Keywords are lower case.
//!
//! Checking happens in three passes — [`lex`], parse, type check — and every error carries
//! the byte span of the offending token ([`ConstraintError::span`]). Type rules: numbers
//! (integer or not) compare with numbers using all six operators; strings compare with
//! strings using `==` and `!=` only; `in` needs a list whose literals all have the left
//! operand's type (numbers mix freely); `and`, `or`, `not` take booleans; the whole
//! expression must be boolean.
//!
//! A checked [`Constraint`] evaluates against an [`Offer`] with [`Constraint::matches`];
//! [`Constraint::first_failure`] names the first top-level conjunct that an offer fails,
//! which is what `explain` shows.

use crate::attrs::{Attr, Offer, Ty, Val};

/// Longest accepted constraint source, in bytes.
pub const SOURCE_LEN_MAX_BYTES: usize = 4096;
/// Most tokens in one constraint.
pub const TOKENS_MAX: usize = 1024;
/// Deepest nesting of parentheses / `not`.
pub const DEPTH_MAX: usize = 32;
/// Most literals in one `in` list.
pub const LIST_LEN_MAX: usize = 64;

/// Byte range `[start, end)` in the constraint source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Why a constraint was refused. Every variant carries the offending span.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConstraintError {
    #[error("constraint is {len} bytes, at most {max} allowed")]
    TooLong { len: usize, max: usize, span: Span },
    #[error("unexpected character {ch:?} at {span}")]
    UnexpectedChar { ch: char, span: Span },
    #[error("unterminated string starting at {span}")]
    UnterminatedString { span: Span },
    #[error("bad number {text:?} at {span}")]
    BadNumber { text: String, span: Span },
    #[error("expected {expected} but found {found} at {span}")]
    Unexpected {
        expected: &'static str,
        found: String,
        span: Span,
    },
    #[error("unknown attribute {name:?} at {span}")]
    UnknownAttribute { name: String, span: Span },
    #[error("type error at {span}: {detail}")]
    Type { detail: String, span: Span },
    #[error("limit exceeded at {span}: {what}")]
    Limit { what: &'static str, span: Span },
}

impl ConstraintError {
    /// The byte span of the offending token.
    pub fn span(&self) -> Span {
        match self {
            ConstraintError::TooLong { span, .. }
            | ConstraintError::UnexpectedChar { span, .. }
            | ConstraintError::UnterminatedString { span }
            | ConstraintError::BadNumber { span, .. }
            | ConstraintError::Unexpected { span, .. }
            | ConstraintError::UnknownAttribute { span, .. }
            | ConstraintError::Type { span, .. }
            | ConstraintError::Limit { span, .. } => *span,
        }
    }
}

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    And,
    Or,
    Not,
    In,
    True,
    False,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(v) => format!("number `{v}`"),
            Tok::Float(v) => format!("number `{v}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::Not => "`not`".into(),
            Tok::In => "`in`".into(),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::End => "end of input".into(),
        }
    }
}

/// Split a source into tokens with their spans; the last token is always [`Tok::End`].
pub fn lex(src: &str) -> Result<Vec<(Tok, Span)>, ConstraintError> {
    if src.len() > SOURCE_LEN_MAX_BYTES {
        return Err(ConstraintError::TooLong {
            len: src.len(),
            max: SOURCE_LEN_MAX_BYTES,
            span: Span {
                start: SOURCE_LEN_MAX_BYTES,
                end: src.len(),
            },
        });
    }
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if out.len() >= TOKENS_MAX {
            return Err(ConstraintError::Limit {
                what: "too many tokens",
                span: Span {
                    start: i,
                    end: src.len(),
                },
            });
        }
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = |b: u8| bytes.get(i + 1) == Some(&b);
        let (tok, len) = match c {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b',' => (Tok::Comma, 1),
            b'=' if two(b'=') => (Tok::Eq, 2),
            b'!' if two(b'=') => (Tok::Ne, 2),
            b'<' if two(b'=') => (Tok::Le, 2),
            b'>' if two(b'=') => (Tok::Ge, 2),
            b'<' => (Tok::Lt, 1),
            b'>' => (Tok::Gt, 1),
            b'"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => {
                            return Err(ConstraintError::UnterminatedString {
                                span: Span {
                                    start,
                                    end: src.len(),
                                },
                            });
                        }
                        Some(b'"') => break,
                        Some(b'\\') => {
                            match bytes.get(j + 1) {
                                Some(b'"') => s.push('"'),
                                Some(b'\\') => s.push('\\'),
                                _ => {
                                    return Err(ConstraintError::UnexpectedChar {
                                        ch: '\\',
                                        span: Span {
                                            start: j,
                                            end: j + 1,
                                        },
                                    });
                                }
                            }
                            j += 2;
                        }
                        Some(_) => {
                            // Copy one whole UTF-8 character.
                            let ch = src[j..].chars().next().unwrap_or('\u{fffd}');
                            s.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                (Tok::Str(s), j + 1 - i)
            }
            b'0'..=b'9' | b'-' | b'.' => {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                    j += 1;
                }
                let text = &src[i..j];
                let span = Span { start, end: j };
                let bad = || ConstraintError::BadNumber {
                    text: text.to_string(),
                    span,
                };
                let tok = if text.contains('.') {
                    let v: f64 = text.parse().map_err(|_| bad())?;
                    if !v.is_finite() {
                        return Err(bad());
                    }
                    Tok::Float(v)
                } else {
                    Tok::Int(text.parse().map_err(|_| bad())?)
                };
                (tok, j - i)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                let word = &src[i..j];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "in" => Tok::In,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    w => Tok::Ident(w.to_string()),
                };
                (tok, j - i)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                return Err(ConstraintError::UnexpectedChar {
                    ch,
                    span: Span {
                        start,
                        end: start + ch.len_utf8(),
                    },
                });
            }
        };
        out.push((
            tok,
            Span {
                start,
                end: i + len,
            },
        ));
        i += len;
    }
    out.push((
        Tok::End,
        Span {
            start: src.len(),
            end: src.len(),
        },
    ));
    Ok(out)
}

/// A literal value in a constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Lit {
    fn ty(&self) -> Ty {
        match self {
            Lit::Int(_) => Ty::Int,
            Lit::Float(_) => Ty::Float,
            Lit::Str(_) => Ty::Str,
        }
    }

    fn val(&self) -> Val<'_> {
        match self {
            Lit::Int(v) => Val::Int(*v),
            Lit::Float(v) => Val::Float(*v),
            Lit::Str(s) => Val::Str(s),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    fn test(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::Ne => ord != Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::Le => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Ge => ord != Less,
        }
    }
}

/// An operand of a comparison: an attribute or a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Attr(Attr),
    Lit(Lit),
}

impl Operand {
    fn ty(&self) -> Ty {
        match self {
            Operand::Attr(a) => a.ty(),
            Operand::Lit(l) => l.ty(),
        }
    }

    #[inline]
    fn val<'a>(&'a self, offer: &'a Offer) -> Val<'a> {
        match self {
            Operand::Attr(a) => offer.value(*a),
            Operand::Lit(l) => l.val(),
        }
    }
}

/// A checked expression node. Every node keeps its source span.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(bool, Span),
    Not(Box<Expr>, Span),
    And(Vec<Expr>, Span),
    Or(Vec<Expr>, Span),
    Cmp {
        lhs: Operand,
        op: CmpOp,
        rhs: Operand,
        span: Span,
    },
    In {
        lhs: Operand,
        list: Vec<Lit>,
        negated: bool,
        span: Span,
    },
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Const(_, s) | Expr::Not(_, s) | Expr::And(_, s) | Expr::Or(_, s) => *s,
            Expr::Cmp { span, .. } | Expr::In { span, .. } => *span,
        }
    }

    /// Evaluate against an offer.
    pub fn eval(&self, offer: &Offer) -> bool {
        match self {
            Expr::Const(b, _) => *b,
            Expr::Not(e, _) => !e.eval(offer),
            Expr::And(es, _) => es.iter().all(|e| e.eval(offer)),
            Expr::Or(es, _) => es.iter().any(|e| e.eval(offer)),
            Expr::Cmp { lhs, op, rhs, .. } => {
                compare(lhs.val(offer), rhs.val(offer)).is_some_and(|o| op.test(o))
            }
            Expr::In {
                lhs, list, negated, ..
            } => {
                let v = lhs.val(offer);
                let found = list
                    .iter()
                    .any(|l| compare(v, l.val()) == Some(std::cmp::Ordering::Equal));
                found != *negated
            }
        }
    }
}

impl Expr {
    /// Three-valued evaluation when only some attributes are known (`known` returns
    /// `None` for the others): `Some(b)` if the value is decided, `None` if it depends on
    /// unknown attributes. The matching engine uses it to skip whole partitions of the
    /// book that cannot satisfy a constraint.
    pub fn eval_partial<'k>(&self, known: &dyn Fn(Attr) -> Option<Val<'k>>) -> Option<bool> {
        match self {
            Expr::Const(b, _) => Some(*b),
            Expr::Not(e, _) => e.eval_partial(known).map(|b| !b),
            Expr::And(es, _) => {
                let mut all = true;
                for e in es {
                    match e.eval_partial(known) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => all = false,
                    }
                }
                all.then_some(true)
            }
            Expr::Or(es, _) => {
                let mut all = true;
                for e in es {
                    match e.eval_partial(known) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => all = false,
                    }
                }
                if all { Some(false) } else { None }
            }
            Expr::Cmp { lhs, op, rhs, .. } => {
                let l = resolve(lhs, known)?;
                let r = resolve(rhs, known)?;
                Some(compare(l, r).is_some_and(|o| op.test(o)))
            }
            Expr::In {
                lhs, list, negated, ..
            } => {
                let v = resolve(lhs, known)?;
                let found = list
                    .iter()
                    .any(|l| compare(v, l.val()) == Some(std::cmp::Ordering::Equal));
                Some(found != *negated)
            }
        }
    }
}

/// An operand's value if known; `'a` is shorter than both the expression borrow and the
/// known values' lifetime.
fn resolve<'a, 'k: 'a>(o: &'a Operand, known: &dyn Fn(Attr) -> Option<Val<'k>>) -> Option<Val<'a>> {
    match o {
        Operand::Attr(a) => known(*a),
        Operand::Lit(l) => Some(l.val()),
    }
}

/// Compare two values of compatible types (numbers with numbers, strings with strings).
/// The type checker guarantees compatibility; `None` only for NaN (which offers reject).
#[inline]
fn compare(a: Val<'_>, b: Val<'_>) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(&y)),
        (Val::Int(x), Val::Float(y)) => (x as f64).partial_cmp(&y),
        (Val::Float(x), Val::Int(y)) => x.partial_cmp(&(y as f64)),
        (Val::Float(x), Val::Float(y)) => x.partial_cmp(&y),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

struct Parser<'a> {
    toks: &'a [(Tok, Span)],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &(Tok, Span) {
        // The token list always ends with `End`, and `pos` never passes it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self.peek().clone();
        if t.0 != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, expected: &'static str) -> ConstraintError {
        let (t, span) = self.peek();
        ConstraintError::Unexpected {
            expected,
            found: t.describe(),
            span: *span,
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), ConstraintError> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(ConstraintError::Limit {
                what: "nesting too deep",
                span,
            });
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ConstraintError> {
        let first = self.and()?;
        if self.peek().0 != Tok::Or {
            return Ok(first);
        }
        let start = first.span().start;
        let mut items = vec![first];
        while self.peek().0 == Tok::Or {
            self.bump();
            items.push(self.and()?);
        }
        let end = items.last().map_or(start, |e| e.span().end);
        check_bools(&items)?;
        Ok(Expr::Or(items, Span { start, end }))
    }

    fn and(&mut self) -> Result<Expr, ConstraintError> {
        let first = self.unary()?;
        if self.peek().0 != Tok::And {
            return Ok(first);
        }
        let start = first.span().start;
        let mut items = vec![first];
        while self.peek().0 == Tok::And {
            self.bump();
            items.push(self.unary()?);
        }
        let end = items.last().map_or(start, |e| e.span().end);
        check_bools(&items)?;
        Ok(Expr::And(items, Span { start, end }))
    }

    fn unary(&mut self) -> Result<Expr, ConstraintError> {
        if self.peek().0 == Tok::Not {
            let (_, s) = self.bump();
            self.enter(s)?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = Span {
                start: s.start,
                end: inner.span().end,
            };
            return Ok(Expr::Not(Box::new(inner), span));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ConstraintError> {
        let (tok, span) = self.peek().clone();
        match tok {
            Tok::LParen => {
                self.bump();
                self.enter(span)?;
                let inner = self.expr()?;
                self.depth -= 1;
                if self.peek().0 != Tok::RParen {
                    return Err(self.unexpected("`)`"));
                }
                self.bump();
                Ok(inner)
            }
            Tok::True | Tok::False => {
                self.bump();
                Ok(Expr::Const(tok == Tok::True, span))
            }
            _ => self.cmp(),
        }
    }

    fn operand(&mut self) -> Result<(Operand, Span), ConstraintError> {
        let (tok, span) = self.peek().clone();
        let op = match tok {
            Tok::Ident(name) => match Attr::from_name(&name) {
                Some(a) => Operand::Attr(a),
                None => return Err(ConstraintError::UnknownAttribute { name, span }),
            },
            Tok::Int(v) => Operand::Lit(Lit::Int(v)),
            Tok::Float(v) => Operand::Lit(Lit::Float(v)),
            Tok::Str(s) => Operand::Lit(Lit::Str(s)),
            _ => return Err(self.unexpected("an attribute, a literal, `not`, or `(`")),
        };
        self.bump();
        Ok((op, span))
    }

    fn cmp(&mut self) -> Result<Expr, ConstraintError> {
        let (lhs, lspan) = self.operand()?;
        let (tok, opspan) = self.peek().clone();
        let op = match tok {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::In | Tok::Not => return self.in_list(lhs, lspan),
            _ => return Err(self.unexpected("a comparison operator or `in`")),
        };
        self.bump();
        let (rhs, rspan) = self.operand()?;
        let (lt, rt) = (lhs.ty(), rhs.ty());
        let compatible = (lt.is_numeric() && rt.is_numeric()) || lt == rt;
        if !compatible {
            return Err(ConstraintError::Type {
                detail: format!(
                    "cannot compare {} with {} using `{}`",
                    lt.name(),
                    rt.name(),
                    op.symbol()
                ),
                span: rspan,
            });
        }
        if lt == Ty::Str && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(ConstraintError::Type {
                detail: format!("strings support only `==` and `!=`, not `{}`", op.symbol()),
                span: opspan,
            });
        }
        Ok(Expr::Cmp {
            lhs,
            op,
            rhs,
            span: Span {
                start: lspan.start,
                end: rspan.end,
            },
        })
    }

    fn in_list(&mut self, lhs: Operand, lspan: Span) -> Result<Expr, ConstraintError> {
        let negated = if self.peek().0 == Tok::Not {
            self.bump();
            true
        } else {
            false
        };
        if self.peek().0 != Tok::In {
            return Err(self.unexpected("`in`"));
        }
        self.bump();
        if self.peek().0 != Tok::LBracket {
            return Err(self.unexpected("`[`"));
        }
        self.bump();
        let lt = lhs.ty();
        let mut list = Vec::new();
        if self.peek().0 != Tok::RBracket {
            loop {
                let (tok, span) = self.peek().clone();
                let lit = match tok {
                    Tok::Int(v) => Lit::Int(v),
                    Tok::Float(v) => Lit::Float(v),
                    Tok::Str(s) => Lit::Str(s),
                    _ => return Err(self.unexpected("a literal")),
                };
                let ok = (lt.is_numeric() && lit.ty().is_numeric()) || lt == lit.ty();
                if !ok {
                    return Err(ConstraintError::Type {
                        detail: format!(
                            "list element is {} but the left side is {}",
                            lit.ty().name(),
                            lt.name()
                        ),
                        span,
                    });
                }
                if list.len() >= LIST_LEN_MAX {
                    return Err(ConstraintError::Limit {
                        what: "list too long",
                        span,
                    });
                }
                list.push(lit);
                self.bump();
                match self.peek().0 {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RBracket => break,
                    _ => return Err(self.unexpected("`,` or `]`")),
                }
            }
        }
        let (_, close) = self.bump();
        Ok(Expr::In {
            lhs,
            list,
            negated,
            span: Span {
                start: lspan.start,
                end: close.end,
            },
        })
    }
}

/// Every operand of `and`/`or` is boolean by construction of the grammar (comparisons,
/// `in`, `not`, constants); kept as an explicit check so a future grammar change cannot
/// silently admit a non-boolean operand.
fn check_bools(items: &[Expr]) -> Result<(), ConstraintError> {
    for e in items {
        if !matches!(
            e,
            Expr::Const(..)
                | Expr::Not(..)
                | Expr::And(..)
                | Expr::Or(..)
                | Expr::Cmp { .. }
                | Expr::In { .. }
        ) {
            return Err(ConstraintError::Type {
                detail: "operand of `and`/`or` must be boolean".into(),
                span: e.span(),
            });
        }
    }
    Ok(())
}

/// A parsed and type-checked constraint. Immutable once built, so clones share one
/// parsed tree (`Arc`): demands built from the same template cost no re-parse, no copy
/// and no per-demand frees.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    source: std::sync::Arc<str>,
    expr: std::sync::Arc<Expr>,
}

/// The first top-level conjunct an offer failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    /// Index of the conjunct among the top-level `and` operands (0 for a single clause).
    pub index: usize,
    /// Source text of the conjunct.
    pub clause: String,
    pub span: Span,
    /// The offer's values of the attributes the clause reads, e.g. `mem_gb = 40`.
    pub observed: Vec<String>,
}

impl Constraint {
    /// Lex, parse and type-check a constraint.
    pub fn parse(src: &str) -> Result<Constraint, ConstraintError> {
        let toks = lex(src)?;
        if toks.len() == 1 {
            return Err(ConstraintError::Unexpected {
                expected: "an expression",
                found: Tok::End.describe(),
                span: toks[0].1,
            });
        }
        let mut p = Parser {
            toks: &toks,
            pos: 0,
            depth: 0,
        };
        let expr = p.expr()?;
        if p.peek().0 != Tok::End {
            return Err(p.unexpected("`and`, `or` or end of input"));
        }
        Ok(Constraint {
            source: src.into(),
            expr: std::sync::Arc::new(expr),
        })
    }

    /// The constraint that accepts every offer.
    pub fn any() -> Constraint {
        Constraint {
            source: "true".into(),
            expr: std::sync::Arc::new(Expr::Const(true, Span { start: 0, end: 4 })),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Does the offer satisfy the constraint?
    #[inline]
    pub fn matches(&self, offer: &Offer) -> bool {
        self.expr.eval(offer)
    }

    /// The first top-level conjunct the offer fails, or `None` if it matches.
    pub fn first_failure(&self, offer: &Offer) -> Option<Failure> {
        let conjuncts: &[Expr] = match &*self.expr {
            Expr::And(items, _) => items,
            e => std::slice::from_ref(e),
        };
        for (index, c) in conjuncts.iter().enumerate() {
            if !c.eval(offer) {
                let span = c.span();
                let mut attrs = Vec::new();
                collect_attrs(c, &mut attrs);
                let observed = attrs
                    .iter()
                    .map(|a| format!("{} = {}", a.name(), offer.value(*a)))
                    .collect();
                return Some(Failure {
                    index,
                    clause: self
                        .source
                        .get(span.start..span.end)
                        .unwrap_or("")
                        .to_string(),
                    span,
                    observed,
                });
            }
        }
        None
    }
}

fn collect_attrs(e: &Expr, out: &mut Vec<Attr>) {
    let push = |o: &Operand, out: &mut Vec<Attr>| {
        if let Operand::Attr(a) = o
            && !out.contains(a)
        {
            out.push(*a);
        }
    };
    match e {
        Expr::Const(..) => {}
        Expr::Not(inner, _) => collect_attrs(inner, out),
        Expr::And(items, _) | Expr::Or(items, _) => {
            for i in items {
                collect_attrs(i, out);
            }
        }
        Expr::Cmp { lhs, rhs, .. } => {
            push(lhs, out);
            push(rhs, out);
        }
        Expr::In { lhs, .. } => push(lhs, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_operators_and_spans() {
        let t = lex("mem_gb>=80 and x != \"a\\\"b\"").unwrap();
        assert_eq!(t[0].0, Tok::Ident("mem_gb".into()));
        assert_eq!(t[1], (Tok::Ge, Span { start: 6, end: 8 }));
        assert_eq!(t[2].0, Tok::Int(80));
        assert_eq!(t[3].0, Tok::And);
        assert_eq!(t[6].0, Tok::Str("a\"b".into()));
        assert_eq!(t.last().unwrap().0, Tok::End);
    }

    #[test]
    fn unterminated_string_points_at_quote() {
        let e = lex("region == \"cn").unwrap_err();
        assert_eq!(e.span(), Span { start: 10, end: 13 });
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let c = Constraint::parse("gpu_count > 1 or gpu_count > 2 and mem_gb > 3").unwrap();
        match c.expr() {
            Expr::Or(items, _) => {
                assert_eq!(items.len(), 2);
                assert!(matches!(items[1], Expr::And(..)));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn partial_evaluation_is_three_valued() {
        let c = Constraint::parse(
            r#"gpu_model in ["A100"] and mem_gb >= 80 and (region == "x" or green_share > 0.5)"#,
        )
        .unwrap();
        let a100 = |a: Attr| match a {
            Attr::GpuModel => Some(Val::Str("A100")),
            Attr::MemGb => Some(Val::Int(80)),
            _ => None,
        };
        let h100 = |a: Attr| match a {
            Attr::GpuModel => Some(Val::Str("H100")),
            _ => None,
        };
        let a100_in_x = |a: Attr| match a {
            Attr::GpuModel => Some(Val::Str("A100")),
            Attr::MemGb => Some(Val::Int(80)),
            Attr::Region => Some(Val::Str("x")),
            _ => None,
        };
        assert_eq!(c.expr().eval_partial(&a100), None);
        assert_eq!(c.expr().eval_partial(&h100), Some(false));
        assert_eq!(c.expr().eval_partial(&a100_in_x), Some(true));
        assert_eq!(c.expr().eval_partial(&|_| None), None);
    }

    #[test]
    fn not_binds_tighter_than_and() {
        let c = Constraint::parse("not gpu_count > 1 and mem_gb > 3").unwrap();
        match c.expr() {
            Expr::And(items, _) => assert!(matches!(items[0], Expr::Not(..))),
            e => panic!("{e:?}"),
        }
    }
}
