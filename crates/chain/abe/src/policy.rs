//! The policy language: AND / OR / k-of-n threshold gates over leaf attributes.
//!
//! Grammar (ABNF; keywords are case-insensitive, attributes are case-sensitive bytes):
//!
//! ```text
//! policy    = or-expr
//! or-expr   = and-expr *( "or" and-expr )
//! and-expr  = term *( "and" term )
//! term      = attribute / "(" policy ")" / threshold
//! threshold = count "of" "(" policy *( "," policy ) ")"   ; 1 ≤ count ≤ number of parts
//! count     = 1*3DIGIT
//! attribute = 1*attr-char                                  ; not "and", "or" or "of"
//! attr-char = ALPHA / DIGIT / "_" / "-" / "." / ":" / "=" / "@" / "/"
//! ```
//!
//! `and` binds tighter than `or`: `a or b and c` is `a or (b and c)`. Whitespace separates
//! words and is otherwise ignored. A gate with one part is that part.
//!
//! Limits ([`POLICY_TEXT_BYTES_MAX`], [`POLICY_LEAVES_MAX`], [`POLICY_DEPTH_MAX`],
//! [`ATTRIBUTE_BYTES_MAX`]) are checked while parsing and by every constructor, so a
//! [`Policy`] value is always within them. Depth counts gates on the longest root-to-leaf
//! path (a single attribute has depth 0); parenthesis nesting in the text is bounded by
//! the same number.
//!
//! [`Policy`]'s `Display` is canonical: every gate is parenthesised, AND and OR are
//! written with their keywords, other thresholds as `k of (…)`; parsing the canonical
//! text gives the same policy back. Ciphertexts carry this text.

use std::fmt;

use crate::error::AbeError;

/// Longest policy text accepted, in bytes.
pub const POLICY_TEXT_BYTES_MAX: usize = 16 * 1024;
/// Most leaves (attribute occurrences) in one policy.
pub const POLICY_LEAVES_MAX: usize = 64;
/// Deepest nesting of gates (and of parentheses in the text).
pub const POLICY_DEPTH_MAX: usize = 8;
/// Longest attribute name, in bytes.
pub const ATTRIBUTE_BYTES_MAX: usize = 128;

const KEYWORDS: [&str; 3] = ["and", "or", "of"];

/// A parsed, bounded access policy. Build one with [`Policy::parse`] or the
/// constructors [`Policy::leaf`], [`Policy::and`], [`Policy::or`], [`Policy::threshold`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    root: Node,
}

/// A node of the policy tree: a leaf attribute, or a gate satisfied when at least
/// `threshold` of its children are (AND is n-of-n, OR is 1-of-n).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Leaf(String),
    Gate {
        threshold: usize,
        children: Vec<Node>,
    },
}

/// Checks that `name` is a well-formed attribute (see the module grammar).
pub fn validate_attribute(name: &str) -> Result<(), AbeError> {
    let invalid = |reason| AbeError::AttributeInvalid {
        attribute: name.chars().take(ATTRIBUTE_BYTES_MAX).collect(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name.len() > ATTRIBUTE_BYTES_MAX {
        return Err(invalid("longer than ATTRIBUTE_BYTES_MAX"));
    }
    if !name.bytes().all(is_attr_byte) {
        return Err(invalid("character outside A-Z a-z 0-9 _ - . : = @ /"));
    }
    if is_keyword(name) {
        return Err(invalid("a keyword (and, or, of) is not an attribute"));
    }
    Ok(())
}

fn is_attr_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'=' | b'@' | b'/')
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Policy {
    /// Parses policy text (see the module grammar) and checks every limit.
    pub fn parse(text: &str) -> Result<Self, AbeError> {
        if text.len() > POLICY_TEXT_BYTES_MAX {
            return Err(AbeError::TooLarge {
                what: "policy text bytes",
                count: text.len(),
                max: POLICY_TEXT_BYTES_MAX,
            });
        }
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: text.len(),
        };
        let root = parser.or_expr(0)?;
        if let Some(token) = parser.tokens.get(parser.pos) {
            return Err(syntax(token.at, "unexpected text after the policy"));
        }
        Self::checked(root)
    }

    /// A policy of one attribute.
    pub fn leaf(attribute: &str) -> Result<Self, AbeError> {
        validate_attribute(attribute)?;
        Ok(Self {
            root: Node::Leaf(attribute.to_owned()),
        })
    }

    /// All of `parts` (one part is that part).
    pub fn and(parts: Vec<Policy>) -> Result<Self, AbeError> {
        let n = parts.len();
        Self::threshold(n, parts)
    }

    /// Any of `parts` (one part is that part).
    pub fn or(parts: Vec<Policy>) -> Result<Self, AbeError> {
        Self::threshold(1, parts)
    }

    /// At least `k` of `parts`, `1 ≤ k ≤ parts.len()`.
    pub fn threshold(k: usize, parts: Vec<Policy>) -> Result<Self, AbeError> {
        let children: Vec<Node> = parts.into_iter().map(|p| p.root).collect();
        Self::checked(gate(k, children)?)
    }

    fn checked(root: Node) -> Result<Self, AbeError> {
        let leaves = root.leaf_count();
        if leaves > POLICY_LEAVES_MAX {
            return Err(AbeError::TooLarge {
                what: "policy leaves",
                count: leaves,
                max: POLICY_LEAVES_MAX,
            });
        }
        let depth = root.depth();
        if depth > POLICY_DEPTH_MAX {
            return Err(AbeError::TooLarge {
                what: "policy depth",
                count: depth,
                max: POLICY_DEPTH_MAX,
            });
        }
        Ok(Self { root })
    }

    pub(crate) fn root(&self) -> &Node {
        &self.root
    }

    /// The leaf attributes in text order, repeats included (one per row of the span
    /// program, one per ciphertext row).
    pub fn leaves(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.root.leaf_count());
        self.root.collect_leaves(&mut out);
        out
    }

    /// Gates on the longest root-to-leaf path.
    pub fn depth(&self) -> usize {
        self.root.depth()
    }

    /// Whether a holder of exactly `has` attributes satisfies the policy.
    pub fn is_satisfied_by(&self, has: &dyn Fn(&str) -> bool) -> bool {
        self.root.satisfied(has)
    }
}

fn gate(k: usize, mut children: Vec<Node>) -> Result<Node, AbeError> {
    let n = children.len();
    if k == 0 || k > n {
        return Err(AbeError::PolicyThreshold { k, n });
    }
    if n == 1 {
        return Ok(children.remove(0));
    }
    Ok(Node::Gate {
        threshold: k,
        children,
    })
}

impl Node {
    pub(crate) fn leaf_count(&self) -> usize {
        match self {
            Node::Leaf(_) => 1,
            Node::Gate { children, .. } => children.iter().map(Node::leaf_count).sum(),
        }
    }

    fn depth(&self) -> usize {
        match self {
            Node::Leaf(_) => 0,
            Node::Gate { children, .. } => 1 + children.iter().map(Node::depth).max().unwrap_or(0),
        }
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Leaf(a) => out.push(a),
            Node::Gate { children, .. } => children.iter().for_each(|c| c.collect_leaves(out)),
        }
    }

    pub(crate) fn satisfied(&self, has: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Node::Leaf(a) => has(a),
            Node::Gate {
                threshold,
                children,
            } => children.iter().filter(|c| c.satisfied(has)).count() >= *threshold,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Leaf(a) => f.write_str(a),
            Node::Gate {
                threshold,
                children,
            } => {
                let n = children.len();
                let sep = if *threshold == n {
                    " and "
                } else if *threshold == 1 {
                    " or "
                } else {
                    write!(f, "{threshold} of ")?;
                    ", "
                };
                f.write_str("(")?;
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    child.fmt(f)?;
                }
                f.write_str(")")
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind<'a> {
    Open,
    Close,
    Comma,
    Word(&'a str),
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    at: usize,
    kind: Kind<'a>,
}

fn syntax(at: usize, reason: &'static str) -> AbeError {
    AbeError::PolicySyntax { at, reason }
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, AbeError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let kind = match b {
            b'(' => Kind::Open,
            b')' => Kind::Close,
            b',' => Kind::Comma,
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ if is_attr_byte(b) => {
                let start = i;
                while i < bytes.len() && is_attr_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    at: start,
                    kind: Kind::Word(&text[start..i]),
                });
                continue;
            }
            _ => return Err(syntax(i, "character outside the policy alphabet")),
        };
        tokens.push(Token { at: i, kind });
        i += 1;
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Some(Token {
                kind: Kind::Word(w),
                ..
            }) if w.eq_ignore_ascii_case(keyword) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn expect(&mut self, kind: Kind<'static>, reason: &'static str) -> Result<(), AbeError> {
        match self.peek() {
            Some(t) if t.kind == kind => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(syntax(self.here(), reason)),
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Node, AbeError> {
        let mut parts = vec![self.and_expr(depth)?];
        while self.eat_keyword("or") {
            parts.push(self.and_expr(depth)?);
        }
        self.bounded(parts.len())?;
        gate(1, parts)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Node, AbeError> {
        let mut parts = vec![self.term(depth)?];
        while self.eat_keyword("and") {
            parts.push(self.term(depth)?);
        }
        self.bounded(parts.len())?;
        let n = parts.len();
        gate(n, parts)
    }

    /// Refuses a gate with more parts than a policy may have leaves, before recursing
    /// further (so a long flat list fails early, not after building it all).
    fn bounded(&self, parts: usize) -> Result<(), AbeError> {
        if parts > POLICY_LEAVES_MAX {
            return Err(AbeError::TooLarge {
                what: "policy leaves",
                count: parts,
                max: POLICY_LEAVES_MAX,
            });
        }
        Ok(())
    }

    fn nested(&self, depth: usize) -> Result<usize, AbeError> {
        if depth >= POLICY_DEPTH_MAX {
            return Err(AbeError::TooLarge {
                what: "policy depth",
                count: depth + 1,
                max: POLICY_DEPTH_MAX,
            });
        }
        Ok(depth + 1)
    }

    fn term(&mut self, depth: usize) -> Result<Node, AbeError> {
        let Some(token) = self.peek() else {
            return Err(syntax(
                self.end,
                "expected an attribute, '(' or a threshold",
            ));
        };
        match token.kind {
            Kind::Open => {
                self.pos += 1;
                let inner = self.or_expr(self.nested(depth)?)?;
                self.expect(Kind::Close, "expected ')'")?;
                Ok(inner)
            }
            Kind::Word(w) if self.is_threshold_start(w) => self.threshold(token.at, w, depth),
            Kind::Word(w) if is_keyword(w) => {
                Err(syntax(token.at, "expected an attribute, found a keyword"))
            }
            Kind::Word(w) => {
                validate_attribute(w).map_err(|_| syntax(token.at, "invalid attribute"))?;
                self.pos += 1;
                Ok(Node::Leaf(w.to_owned()))
            }
            Kind::Close | Kind::Comma => Err(syntax(
                token.at,
                "expected an attribute, '(' or a threshold",
            )),
        }
    }

    fn is_threshold_start(&self, word: &str) -> bool {
        word.bytes().all(|b| b.is_ascii_digit())
            && matches!(
                self.tokens.get(self.pos + 1),
                Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case("of")
            )
    }

    fn threshold(&mut self, at: usize, count: &str, depth: usize) -> Result<Node, AbeError> {
        if count.len() > 3 {
            return Err(syntax(at, "threshold count has more than 3 digits"));
        }
        let k: usize = count
            .parse()
            .map_err(|_| syntax(at, "threshold count is not a number"))?;
        self.pos += 2; // the count and "of"
        self.expect(Kind::Open, "expected '(' after 'of'")?;
        let inner_depth = self.nested(depth)?;
        let mut parts = vec![self.or_expr(inner_depth)?];
        while self.peek().is_some_and(|t| t.kind == Kind::Comma) {
            self.pos += 1;
            self.bounded(parts.len() + 1)?;
            parts.push(self.or_expr(inner_depth)?);
        }
        self.expect(Kind::Close, "expected ',' or ')' in a threshold")?;
        gate(k, parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Policy {
        match Policy::parse(text) {
            Ok(p) => p,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn precedence_and_canonical_text() {
        assert_eq!(p("a or b and c").to_string(), "(a or (b and c))");
        assert_eq!(p("(a OR b) And c").to_string(), "((a or b) and c)");
        assert_eq!(p("2 of (a, b, c)").to_string(), "2 of (a, b, c)");
        assert_eq!(p("3 of (a, b, c)").to_string(), "(a and b and c)");
        assert_eq!(p("1 of (a, b)").to_string(), "(a or b)");
        assert_eq!(p("((a))").to_string(), "a");
        assert_eq!(p("1 of (x)").to_string(), "x");
        assert_eq!(
            p("role=regulator and region=cn-west").leaves(),
            ["role=regulator", "region=cn-west"]
        );
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_policy() {
        for text in [
            "a",
            "a and b or c",
            "2 of (a, b or c, d and e)",
            "x and 2 of (y, z, (u or v))",
        ] {
            let policy = p(text);
            assert_eq!(p(&policy.to_string()), policy, "{text}");
        }
    }

    #[test]
    fn syntax_errors_carry_a_position_and_a_stable_code() {
        for (text, at) in [
            ("", 0),
            ("a and", 5),
            ("a b", 2),
            ("(a", 2),
            ("a )", 2),
            ("a & b", 2),
            ("and", 0),
        ] {
            match Policy::parse(text) {
                Err(AbeError::PolicySyntax { at: got, .. }) => assert_eq!(got, at, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let e = Policy::parse("4 of (a, b, c)").err();
        assert_eq!(e.map(|e| e.code()), Some("abe.policy_threshold"));
        let e = Policy::parse("0 of (a, b)").err();
        assert_eq!(e.map(|e| e.code()), Some("abe.policy_threshold"));
    }

    #[test]
    fn limits_are_enforced() {
        let wide = (0..=POLICY_LEAVES_MAX)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        assert_eq!(
            Policy::parse(&wide).err().map(|e| e.code()),
            Some("abe.too_large")
        );
        let ok = (0..POLICY_LEAVES_MAX)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        assert_eq!(p(&ok).leaves().len(), POLICY_LEAVES_MAX);

        let mut deep = "a".to_owned();
        for i in 0..POLICY_DEPTH_MAX {
            deep = format!("(b{i} and {deep})");
        }
        assert_eq!(p(&deep).depth(), POLICY_DEPTH_MAX);
        let deeper = format!("(c and {deep})");
        assert_eq!(
            Policy::parse(&deeper).err().map(|e| e.code()),
            Some("abe.too_large")
        );
        let parens = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Policy::parse(&parens[..POLICY_TEXT_BYTES_MAX]).is_err());

        let long = "x".repeat(ATTRIBUTE_BYTES_MAX + 1);
        assert!(Policy::parse(&long).is_err());
        assert!(Policy::leaf(&long).is_err());
        assert!(Policy::leaf("OR").is_err());
        assert!(Policy::leaf("a b").is_err());
    }

    #[test]
    fn satisfaction_follows_thresholds() {
        let policy = p("2 of (a, b, c) and d");
        let with = |set: &'static [&'static str]| move |x: &str| set.contains(&x);
        assert!(policy.is_satisfied_by(&with(&["a", "c", "d"])));
        assert!(!policy.is_satisfied_by(&with(&["a", "d"])));
        assert!(!policy.is_satisfied_by(&with(&["a", "b", "c"])));
    }
}
