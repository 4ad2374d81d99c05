//! Jinja2 expression forms minijinja parses differently or not at all, rewritten into calls before
//! a template is compiled:
//!
//! - `{% do <expression> %}` with any expression (`{% do a.append(x) if c else b.append(x) %}`,
//!   `{% do x.extend(y) or z %}`): minijinja's `do` takes a call only, so a non-call expression
//!   becomes `{% do __sluice_do(<expression>) %}`.
//! - `a % b`: Python's `%`, which formats strings (`"%s-%05.2f" % (a, b)`, which minijinja
//!   rejects) and takes the sign of the divisor for numbers, becomes `__sluice_mod(a, b)`.
//! - `a // b`: Python's floor division (minijinja's is Euclidean: `7 // -2` is -3, not -4)
//!   becomes `__sluice_floordiv(a, b)`; `a / b` (unless `b` is a number literal) becomes
//!   `__sluice_truediv(a, b)` (division by zero fails, a timedelta divides), `a ** b` (unless both
//!   are literals) `__sluice_pow(a, b)` (`2 ** -1` is 0.5).
//! - `a + b`, `a - b`, `a * b` (unless a side is a literal that settles it) become
//!   `__sluice_add` / `__sluice_sub` / `__sluice_mul`: Python's rules for lists, tuples, strings
//!   and datetimes.
//! - List and dict literals become Python's mutable lists and dicts (`__sluice_list([..])`,
//!   `__sluice_dict({..})`, see [`super::pyvalues`]), so `{% do x.append(y) %}` changes the list
//!   wherever it is referenced, as in Python; tuple literals become Python's tuples
//!   (`__sluice_tuple(a, b)`), which print as `(a, b)` and which `%` spreads.
//! - Unary minus negates its whole operand, calls and attributes included (`- var('n', 5)` is
//!   `-(var('n', 5))` in Jinja2; minijinja negates `var`), and unary plus, which minijinja lacks,
//!   becomes parentheses.
//!
//! Design decision: a small lexer finds the tags (skipping comments, `{% raw %}` blocks and
//! strings) and a recursive-descent parser with Jinja2's precedence finds each operator's operands
//! and each literal; only those spans are rewritten, everything else is kept byte for byte (tags
//! without these forms are not touched). A tag the parser does not understand is left as it is:
//! minijinja then parses it (or reports it) as before.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind<'a> {
    Name(&'a str),
    Num,
    Str,
    Op(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: Kind<'a>,
    start: usize,
    end: usize,
}

/// A rewritten span: `func(part, part...extra)` replaces `start..end`.
#[derive(Debug)]
struct Rw {
    start: usize,
    end: usize,
    func: &'static str,
    parts: Vec<Ex>,
    extra: &'static str,
}

/// A parsed expression: its span in the source and the rewrites inside it (outermost only).
#[derive(Debug, Default)]
struct Ex {
    start: usize,
    end: usize,
    rws: Vec<Rw>,
    /// The expression is a call (`f(x)`, `a.b(c)`), what minijinja's `do` accepts.
    call: bool,
    /// The expression is a number or string literal (`1`, `-2.5`, `'a'`).
    lit: Option<Lit>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lit {
    Num,
    Str,
}

impl Ex {
    fn join(mut self, other: Ex) -> Ex {
        self.end = other.end;
        self.rws.extend(other.rws);
        self.call = false;
        self.lit = None;
        self
    }
}

/// One replacement in the source.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Rewrites the forms listed in the module docs; returns the source itself when it has none.
pub fn rewrite(src: &str) -> Cow<'_, str> {
    if !src.contains("{%") && !src.contains("{{") {
        return Cow::Borrowed(src);
    }
    let mut edits = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(off) = src[i..].find('{') {
        let p = i + off;
        match bytes.get(p + 1) {
            Some(b'#') => match src[p + 2..].find("#}") {
                Some(e) => i = p + 2 + e + 2,
                None => break,
            },
            Some(b @ (b'{' | b'%')) => {
                let block = *b == b'%';
                let mut body = p + 2;
                if matches!(bytes.get(body), Some(b'-' | b'+')) {
                    body += 1;
                }
                let Some((toks, end)) = lex_tag(src, body, block) else {
                    break;
                };
                if block && matches!(toks.as_slice(), [t] if t.kind == Kind::Name("raw")) {
                    match find_endraw(src, end) {
                        Some(e) => {
                            i = e;
                            continue;
                        }
                        None => break,
                    }
                }
                rewrite_tag(src, &toks, block, &mut edits);
                i = end;
            }
            _ => i = p + 1,
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + edits.len() * 24);
    let mut last = 0;
    for e in edits {
        out.push_str(&src[last..e.start]);
        out.push_str(&e.text);
        last = e.end;
    }
    out.push_str(&src[last..]);
    Cow::Owned(out)
}

/// [`rewrite`] for a bare expression (`compile_expression`'s input).
pub fn rewrite_expression(expr: &str) -> Cow<'_, str> {
    let wrapped = format!("{{{{ {expr} }}}}");
    match rewrite(&wrapped) {
        Cow::Borrowed(_) => Cow::Borrowed(expr),
        Cow::Owned(o) => Cow::Owned(o[3..o.len() - 3].to_string()),
    }
}

/// The end of the `{% endraw %}` tag after `from`.
fn find_endraw(src: &str, from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = src[i..].find("{%") {
        let p = i + off;
        let rest = src[p + 2..].trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = rest.strip_prefix("endraw") {
            let after = after.trim_start();
            let after = after.strip_prefix(['-', '+']).unwrap_or(after);
            if after.starts_with("%}") {
                return Some(src.len() - after.len() + 2);
            }
        }
        i = p + 2;
    }
    None
}

const OPS2: [&str; 6] = ["//", "**", "==", "!=", ">=", "<="];
const OPS1: [&str; 19] = [
    "+", "-", "*", "/", "%", ".", ",", ":", "~", "|", "=", ">", "<", "(", ")", "[", "]", "{", "}",
];

/// Tokens of a tag whose body starts at `from`, and the index just past its closing delimiter.
fn lex_tag(src: &str, from: usize, block: bool) -> Option<(Vec<Tok<'_>>, usize)> {
    let bytes = src.as_bytes();
    let close = if block { "%}" } else { "}}" };
    let mut toks = Vec::new();
    let mut depth = 0i32;
    let mut i = from;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let rest = &src[i..];
        if depth <= 0 {
            if rest.starts_with(close) {
                return Some((toks, i + 2));
            }
            if matches!(bytes[i], b'-' | b'+') && rest[1..].starts_with(close) {
                return Some((toks, i + 3));
            }
        }
        let c = bytes[i];
        let start = i;
        let kind = if c == b'\'' || c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                return None;
            }
            i += 1;
            Kind::Str
        } else if c.is_ascii_digit() {
            while i < bytes.len() {
                let b = bytes[i];
                let exp_sign = matches!(b, b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E');
                let dot = b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if b.is_ascii_alphanumeric() || b == b'_' || dot || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Num
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            while !src.is_char_boundary(i) {
                i += 1;
            }
            Kind::Name(&src[start..i])
        } else if let Some(op) = OPS2.iter().find(|o| rest.starts_with(**o)) {
            i += 2;
            Kind::Op(op)
        } else if let Some(op) = OPS1.iter().find(|o| rest.starts_with(**o)) {
            i += 1;
            match *op {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth -= 1,
                _ => {}
            }
            Kind::Op(op)
        } else {
            // Something this lexer does not know: leave the tag alone.
            let len = rest.chars().next().map_or(1, char::len_utf8);
            i += len;
            Kind::Op("?")
        };
        toks.push(Tok {
            kind,
            start,
            end: i,
        });
    }
}

/// Statement tags whose expressions are rewritten; other tags are left alone.
const STATEMENTS: [&str; 9] = [
    "if", "elif", "set", "for", "with", "call", "macro", "filter", "do",
];

/// Finds the rewrites of one tag.
fn rewrite_tag(src: &str, toks: &[Tok], block: bool, edits: &mut Vec<Edit>) {
    let interesting = toks.iter().any(|t| {
        matches!(
            t.kind,
            Kind::Op("%" | "//" | "/" | "**" | "[" | "{" | "(" | "+" | "-" | "*")
                | Kind::Name("do")
        )
    });
    if !interesting || toks.iter().any(|t| t.kind == Kind::Op("?")) {
        return;
    }
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
    };
    if block {
        let Some(Kind::Name(word)) = toks.first().map(|t| t.kind) else {
            return;
        };
        if !STATEMENTS.contains(&word) {
            return;
        }
        p.pos = 1;
        match word {
            "do" => {
                let Some(ex) = p.tuple() else { return };
                if p.pos != toks.len() {
                    return;
                }
                if ex.call {
                    push_edits(src, ex.rws, edits);
                } else {
                    let (start, end) = (ex.start, ex.end);
                    let mut text = String::from("__sluice_do(");
                    emit(src, start, end, &ex.rws, &mut text);
                    text.push(')');
                    edits.push(Edit { start, end, text });
                }
                return;
            }
            // Assignment targets (`for (a, b) in`, `set a, b =`) are not expressions.
            "for" => match p.find_top_level(|k| k == Kind::Name("in")) {
                Some(i) => p.pos = i + 1,
                None => return,
            },
            "set" => match p.find_top_level(|k| k == Kind::Op("=")) {
                Some(i) => p.pos = i + 1,
                None => return,
            },
            // `{% call(args) m() %}`: the caller's parameters are not a tuple.
            "call" if p.is_op("(") => match p.find_top_level(|k| k == Kind::Op(")")) {
                Some(_) => {
                    p.skip_group();
                }
                None => return,
            },
            _ => {}
        }
    }
    // The tag's expressions, wherever they are (`if e`, `in e if e`, `macro m(a=e)`, `with a = e`,
    // `call m(e)`); statement words and `=` between them are skipped.
    while p.pos < toks.len() {
        let before = p.pos;
        let mut attempt = Parser {
            src,
            toks,
            pos: p.pos,
            depth: 0,
        };
        match attempt.tuple() {
            Some(ex) if attempt.pos > before => {
                push_edits(src, ex.rws, edits);
                p.pos = attempt.pos;
            }
            _ => p.pos = before + 1,
        }
    }
}

fn push_edits(src: &str, rws: Vec<Rw>, edits: &mut Vec<Edit>) {
    for rw in rws {
        let (start, end) = (rw.start, rw.end);
        let mut text = String::new();
        emit_rw(src, &rw, &mut text);
        edits.push(Edit { start, end, text });
    }
}

/// The source from `start` to `end` with the rewrites `rws` (which lie inside it) applied.
fn emit(src: &str, start: usize, end: usize, rws: &[Rw], out: &mut String) {
    let mut pos = start;
    for rw in rws {
        out.push_str(&src[pos..rw.start]);
        emit_rw(src, rw, out);
        pos = rw.end;
    }
    out.push_str(&src[pos..end]);
}

fn emit_rw(src: &str, rw: &Rw, out: &mut String) {
    out.push_str(rw.func);
    out.push('(');
    for (i, part) in rw.parts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        emit(src, part.start, part.end, &part.rws, out);
    }
    out.push_str(rw.extra);
    out.push(')');
}

/// `func(lhs, rhs)` in place of `lhs <op> rhs`.
fn binary(func: &'static str, lhs: Ex, rhs: Ex) -> Ex {
    let (start, end) = (lhs.start, rhs.end);
    Ex {
        start,
        end,
        rws: vec![Rw {
            start,
            end,
            func,
            parts: vec![lhs, rhs],
            extra: "",
        }],
        call: true,
        lit: None,
    }
}

/// Jinja2's expression grammar (`jinja2/parser.py`), keeping spans and the rewrites only.
struct Parser<'t, 'a> {
    src: &'a str,
    toks: &'t [Tok<'a>],
    pos: usize,
    /// How deeply the expression being read nests (unary operators, parentheses, calls).
    depth: usize,
}

/// Expressions nested deeper than this are left as written (the template engine reports them if
/// they are wrong): Jinja2 itself stops near 1,000 Python frames, and a fuzzed tag of thousands
/// of `-` took seconds to read again from every token.
const MAX_NESTING: usize = 200;

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<Kind<'a>> {
        self.toks.get(self.pos).map(|t| t.kind)
    }
    fn peek_at(&self, n: usize) -> Option<Kind<'a>> {
        self.toks.get(self.pos + n).map(|t| t.kind)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Kind::Op(o)) if o == op)
    }
    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Kind::Name(n)) if n == name)
    }
    fn start(&self) -> usize {
        self.toks.get(self.pos).map_or(0, |t| t.start)
    }
    fn last_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }
    fn expect_op(&mut self, op: &str) -> Option<()> {
        if self.is_op(op) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// The index of the first token from here, outside brackets, for which `want` holds.
    fn find_top_level(&self, want: impl Fn(Kind<'a>) -> bool) -> Option<usize> {
        let mut depth = 0i32;
        for (i, t) in self.toks.iter().enumerate().skip(self.pos) {
            if depth == 0 && want(t.kind) {
                return Some(i);
            }
            match t.kind {
                Kind::Op("(" | "[" | "{") => depth += 1,
                Kind::Op(")" | "]" | "}") => depth -= 1,
                _ => {}
            }
            if depth == 0 && want(t.kind) {
                return Some(i);
            }
        }
        None
    }

    /// Skips a bracketed group starting at the current token.
    fn skip_group(&mut self) {
        let mut depth = 0i32;
        while let Some(k) = self.peek() {
            self.pos += 1;
            match k {
                Kind::Op("(" | "[" | "{") => depth += 1,
                Kind::Op(")" | "]" | "}") => {
                    depth -= 1;
                    if depth <= 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// `a, b, c` (a tuple without parentheses) or one expression.
    fn tuple(&mut self) -> Option<Ex> {
        let mut ex = self.cond()?;
        while self.is_op(",") {
            self.pos += 1;
            ex.call = false;
            if self.at_tuple_end() {
                ex.end = self.last_end();
                break;
            }
            let next = self.cond()?;
            ex = ex.join(next);
        }
        Some(ex)
    }

    fn at_tuple_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(Kind::Op(o)) => matches!(o, ")" | "]" | "}" | "="),
            Some(Kind::Name(n)) => matches!(n, "in" | "recursive"),
            _ => false,
        }
    }

    fn cond(&mut self) -> Option<Ex> {
        let mut ex = self.or()?;
        while self.is_name("if") {
            self.pos += 1;
            ex = ex.join(self.or()?);
            if self.is_name("else") {
                self.pos += 1;
                ex = ex.join(self.cond()?);
            }
        }
        Some(ex)
    }

    fn or(&mut self) -> Option<Ex> {
        let mut ex = self.and()?;
        while self.is_name("or") {
            self.pos += 1;
            ex = ex.join(self.and()?);
        }
        Some(ex)
    }

    fn and(&mut self) -> Option<Ex> {
        let mut ex = self.not()?;
        while self.is_name("and") {
            self.pos += 1;
            ex = ex.join(self.not()?);
        }
        Some(ex)
    }

    fn not(&mut self) -> Option<Ex> {
        if self.is_name("not") {
            let start = self.start();
            self.pos += 1;
            let mut ex = self.not()?;
            ex.start = start;
            ex.call = false;
            return Some(ex);
        }
        self.compare()
    }

    fn compare(&mut self) -> Option<Ex> {
        let mut ex = self.math1()?;
        loop {
            if matches!(
                self.peek(),
                Some(Kind::Op("==" | "!=" | "<" | ">" | "<=" | ">="))
            ) || self.is_name("in")
            {
                self.pos += 1;
            } else if self.is_name("not") && matches!(self.peek_at(1), Some(Kind::Name("in"))) {
                self.pos += 2;
            } else {
                return Some(ex);
            }
            ex = ex.join(self.math1()?);
        }
    }

    /// `a + b`, `a - b`: Python's operators (`__sluice_add` / `__sluice_sub`, for datetimes,
    /// lists and tuples), except between literals and something else, where minijinja's do.
    fn math1(&mut self) -> Option<Ex> {
        let mut ex = self.concat()?;
        while let Some(Kind::Op(op @ ("+" | "-"))) = self.peek() {
            self.pos += 1;
            let rhs = self.concat()?;
            ex = if ex.lit.is_some() || rhs.lit.is_some() {
                ex.join(rhs)
            } else {
                binary(
                    if op == "+" {
                        "__sluice_add"
                    } else {
                        "__sluice_sub"
                    },
                    ex,
                    rhs,
                )
            };
        }
        Some(ex)
    }

    fn concat(&mut self) -> Option<Ex> {
        let mut ex = self.math2()?;
        while self.is_op("~") {
            self.pos += 1;
            ex = ex.join(self.math2()?);
        }
        Some(ex)
    }

    /// Whether a number literal is zero (`0`, `0.0`, `-0`): dividing by it must raise.
    fn is_zero(&self, ex: &Ex) -> bool {
        let text = self.src.get(ex.start..ex.end).unwrap_or("");
        let digits = text.trim_start_matches(['-', '+', ' ']);
        let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
        !mantissa.is_empty() && mantissa.chars().all(|c| matches!(c, '0' | '.' | '_'))
    }

    fn math2(&mut self) -> Option<Ex> {
        let mut ex = self.pow()?;
        while let Some(Kind::Op(op @ ("*" | "/" | "//" | "%"))) = self.peek() {
            self.pos += 1;
            let rhs = self.pow()?;
            let literals = (ex.lit, rhs.lit);
            ex = match op {
                "%" => binary("__sluice_mod", ex, rhs),
                // `x / 2` stays minijinja's (the same result); a variable divisor may be zero
                // (Python raises) or the dividend a timedelta.
                "/" if literals.1 != Some(Lit::Num) || self.is_zero(&rhs) => {
                    binary("__sluice_truediv", ex, rhs)
                }
                "//" => binary("__sluice_floordiv", ex, rhs),
                "*" if !matches!(literals, (Some(Lit::Num), Some(Lit::Num)))
                    && literals.0 != Some(Lit::Str)
                    && literals.1 != Some(Lit::Str) =>
                {
                    binary("__sluice_mul", ex, rhs)
                }
                _ => ex.join(rhs),
            };
        }
        Some(ex)
    }

    /// `a ** b` (left-associative in Jinja2): Python's (`2 ** -1` is 0.5) unless both sides are
    /// literals with a non-negative exponent.
    fn pow(&mut self) -> Option<Ex> {
        let mut ex = self.unary(true)?;
        while self.is_op("**") {
            self.pos += 1;
            let exp_start = self.pos;
            let rhs = self.unary(true)?;
            let negative = matches!(
                self.toks.get(exp_start).map(|t| t.kind),
                Some(Kind::Op("-"))
            );
            ex = if ex.lit == Some(Lit::Num) && rhs.lit == Some(Lit::Num) && !negative {
                ex.join(rhs)
            } else {
                binary("__sluice_pow", ex, rhs)
            };
        }
        Some(ex)
    }

    fn unary(&mut self, with_filter: bool) -> Option<Ex> {
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let ex = self.unary_nested(with_filter);
        self.depth -= 1;
        ex
    }

    fn unary_nested(&mut self, with_filter: bool) -> Option<Ex> {
        let mut ex = if matches!(self.peek(), Some(Kind::Op("-" | "+"))) {
            let start = self.start();
            let plus = self.peek() == Some(Kind::Op("+"));
            self.pos += 1;
            let operand_at = self.pos;
            let mut ex = self.unary(false)?;
            if plus {
                // minijinja has no unary plus: `+x` is `(x)` (for numbers, what Python gives).
                let end = ex.end;
                ex = Ex {
                    start,
                    end,
                    rws: vec![Rw {
                        start,
                        end,
                        func: "",
                        parts: vec![ex],
                        extra: "",
                    }],
                    call: false,
                    lit: None,
                };
            } else if self.pos - operand_at > 1 {
                // Jinja2 negates the whole operand with its calls and attributes
                // (`- var('n', 5)` is `-(var('n', 5))`); minijinja would negate `var` itself.
                let (s, e) = (ex.start, ex.end);
                ex = Ex {
                    start: s,
                    end: e,
                    rws: vec![Rw {
                        start: s,
                        end: e,
                        func: "",
                        parts: vec![ex],
                        extra: "",
                    }],
                    call: false,
                    lit: None,
                };
            }
            ex.start = start;
            ex.call = false;
            ex.lit = ex.lit.filter(|l| *l == Lit::Num);
            ex
        } else {
            self.primary()?
        };
        let before = self.pos;
        ex = self.postfix(ex)?;
        if with_filter {
            ex = self.filter_expr(ex)?;
        }
        if self.pos != before {
            ex.lit = None;
        }
        Some(ex)
    }

    /// A literal, name or parenthesized expression. List and dict literals become Python's
    /// mutable lists and dicts (`__sluice_list([..])`, `__sluice_dict({..})`), tuple literals
    /// Python's tuples (`__sluice_tuple(..)`).
    fn primary(&mut self) -> Option<Ex> {
        let start = self.start();
        let plain = |p: &Self, rws: Vec<Rw>| Ex {
            start,
            end: p.last_end(),
            rws,
            call: false,
            lit: None,
        };
        let wrap = |p: &Self, func: &'static str, inner: Ex| {
            let end = p.last_end();
            Ex {
                start,
                end,
                rws: vec![Rw {
                    start,
                    end,
                    func,
                    parts: vec![inner],
                    extra: "",
                }],
                call: true,
                lit: None,
            }
        };
        match self.peek()? {
            Kind::Name(_) => {
                self.pos += 1;
                Some(plain(self, vec![]))
            }
            Kind::Num => {
                self.pos += 1;
                let mut ex = plain(self, vec![]);
                ex.lit = Some(Lit::Num);
                Some(ex)
            }
            Kind::Str => {
                while self.peek() == Some(Kind::Str) {
                    self.pos += 1;
                }
                let mut ex = plain(self, vec![]);
                ex.lit = Some(Lit::Str);
                Some(ex)
            }
            Kind::Op("(") => {
                self.pos += 1;
                let inner_start = self.start();
                if self.is_op(")") {
                    self.pos += 1;
                    let inner = Ex {
                        start: inner_start,
                        end: inner_start,
                        ..Ex::default()
                    };
                    return Some(wrap(self, "__sluice_tuple", inner));
                }
                let mut inner = self.cond()?;
                let mut tuple = false;
                while self.is_op(",") {
                    self.pos += 1;
                    tuple = true;
                    if self.is_op(")") {
                        break;
                    }
                    inner = inner.join(self.cond()?);
                }
                inner.end = self.last_end();
                self.expect_op(")")?;
                if tuple {
                    Some(wrap(self, "__sluice_tuple", inner))
                } else {
                    Some(plain(self, inner.rws))
                }
            }
            Kind::Op("[") => {
                self.pos += 1;
                let rws = self.items("]", false)?;
                let inner = plain(self, rws);
                Some(wrap(self, "__sluice_list", inner))
            }
            Kind::Op("{") => {
                self.pos += 1;
                let rws = self.items("}", true)?;
                let inner = plain(self, rws);
                Some(wrap(self, "__sluice_dict", inner))
            }
            _ => None,
        }
    }

    /// The items of a list (`a, b`) or dict (`k: v, ...`) literal up to `close`.
    fn items(&mut self, close: &str, dict: bool) -> Option<Vec<Rw>> {
        let mut rws = Vec::new();
        loop {
            if self.is_op(close) {
                self.pos += 1;
                return Some(rws);
            }
            rws.extend(self.cond()?.rws);
            if dict {
                self.expect_op(":")?;
                rws.extend(self.cond()?.rws);
            }
            if !self.is_op(close) {
                self.expect_op(",")?;
            }
        }
    }

    fn postfix(&mut self, mut ex: Ex) -> Option<Ex> {
        loop {
            if self.is_op(".") {
                self.pos += 1;
                match self.peek()? {
                    Kind::Name(_) | Kind::Num => self.pos += 1,
                    _ => return None,
                }
                ex.call = false;
            } else if self.is_op("[") {
                self.pos += 1;
                loop {
                    if self.is_op("]") {
                        self.pos += 1;
                        break;
                    }
                    if self.is_op(":") || self.is_op(",") {
                        self.pos += 1;
                        continue;
                    }
                    ex.rws.extend(self.cond()?.rws);
                }
                ex.call = false;
            } else if self.is_op("(") {
                self.call_args(&mut ex)?;
            } else {
                break;
            }
            ex.end = self.last_end();
        }
        Some(ex)
    }

    /// `(args)` of a call, filter or test; marks `ex` a call.
    fn call_args(&mut self, ex: &mut Ex) -> Option<()> {
        self.expect_op("(")?;
        loop {
            if self.is_op(")") {
                self.pos += 1;
                break;
            }
            if self.is_op("*") || self.is_op("**") {
                self.pos += 1;
            } else if matches!(self.peek(), Some(Kind::Name(_)))
                && matches!(self.peek_at(1), Some(Kind::Op("=")))
            {
                self.pos += 2;
            }
            ex.rws.extend(self.cond()?.rws);
            if !self.is_op(")") {
                self.expect_op(",")?;
            }
        }
        ex.end = self.last_end();
        ex.call = true;
        Some(())
    }

    fn dotted_name(&mut self) -> Option<()> {
        match self.peek()? {
            Kind::Name(_) => self.pos += 1,
            _ => return None,
        }
        while self.is_op(".") && matches!(self.peek_at(1), Some(Kind::Name(_))) {
            self.pos += 2;
        }
        Some(())
    }

    fn filter_expr(&mut self, mut ex: Ex) -> Option<Ex> {
        loop {
            if self.is_op("|") {
                self.pos += 1;
                self.dotted_name()?;
                if self.is_op("(") {
                    self.call_args(&mut ex)?;
                }
                ex.call = false;
            } else if self.is_name("is") {
                self.pos += 1;
                if self.is_name("not") {
                    self.pos += 1;
                }
                self.dotted_name()?;
                if self.is_op("(") {
                    self.call_args(&mut ex)?;
                } else if matches!(
                    self.peek(),
                    Some(Kind::Name(_) | Kind::Str | Kind::Num | Kind::Op("(" | "[" | "{"))
                ) && !self.is_name("else")
                    && !self.is_name("or")
                    && !self.is_name("and")
                {
                    let arg = self.primary()?;
                    let arg = self.postfix(arg)?;
                    ex.rws.extend(arg.rws);
                }
                ex.call = false;
            } else if self.is_op("(") {
                self.call_args(&mut ex)?;
            } else {
                break;
            }
            ex.end = self.last_end();
        }
        Some(ex)
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn do_takes_any_expression() {
        assert_eq!(
            rewrite("{%- do a.append(x) if c else b.append(y) -%}"),
            "{%- do __sluice_do(a.append(x) if c else b.append(y)) -%}"
        );
        assert_eq!(
            rewrite("{% do d.update({'k': 1}) %}"),
            "{% do d.update(__sluice_dict({'k': 1})) %}"
        );
        assert_eq!(
            rewrite("{% do x.extend(y) or z %}"),
            "{% do __sluice_do(x.extend(y) or z) %}"
        );
    }

    #[test]
    fn percent_and_floor_division_become_calls() {
        assert_eq!(
            rewrite("{{ '%s-%s' % (a, b) | upper }}"),
            "{{ __sluice_mod('%s-%s', __sluice_tuple(a, b) | upper) }}"
        );
        assert_eq!(
            rewrite("{% set x = -a * b % c ~ 'x' %}"),
            "{% set x = __sluice_mod(__sluice_mul(-a, b), c) ~ 'x' %}"
        );
        assert_eq!(
            rewrite("{{ a % b % c }} {{ f(a // 2, k=(x % 3)) }}"),
            "{{ __sluice_mod(__sluice_mod(a, b), c) }} {{ f(__sluice_floordiv(a, 2), k=(__sluice_mod(x, 3))) }}"
        );
        assert_eq!(
            rewrite("{% for i in range(10) if i % 2 == 0 %}{{ i }}{% endfor %}"),
            "{% for i in range(10) if __sluice_mod(i, 2) == 0 %}{{ i }}{% endfor %}"
        );
        assert_eq!(
            rewrite("{% do x.append('%s' % y) %}"),
            "{% do x.append(__sluice_mod('%s', y)) %}"
        );
    }

    #[test]
    fn arithmetic_on_values_becomes_calls() {
        assert_eq!(
            rewrite("{{ d - delta }} {{ a + b + c }} {{ x + 1 }} {{ 'a' + y }} {{ t * 2 }} {{ 2 * 3 }} {{ -1 - n }}"),
            "{{ __sluice_sub(d, delta) }} {{ __sluice_add(__sluice_add(a, b), c) }} {{ x + 1 }} {{ 'a' + y }} {{ __sluice_mul(t, 2) }} {{ 2 * 3 }} {{ -1 - n }}"
        );
    }

    #[test]
    fn literals_become_python_values() {
        assert_eq!(
            rewrite("{% set x = [{'a': (1,)}, ()] %}"),
            "{% set x = __sluice_list([__sluice_dict({'a': __sluice_tuple(1,)}), __sluice_tuple()]) %}"
        );
        assert_eq!(
            rewrite("{% for (a, b) in [(1, 2)] %}{% endfor %}{% set (c, d) = e %}"),
            "{% for (a, b) in __sluice_list([__sluice_tuple(1, 2)]) %}{% endfor %}{% set (c, d) = e %}"
        );
        assert_eq!(
            rewrite("{% call(row) m(cols=[]) %}{% endcall %}{% macro m(x=[]) %}{% endmacro %}"),
            "{% call(row) m(cols=__sluice_list([])) %}{% endcall %}{% macro m(x=__sluice_list([])) %}{% endmacro %}"
        );
        assert_eq!(
            rewrite("{{ x in ('a', 'b') }}{{ (1) }}"),
            "{{ x in __sluice_tuple('a', 'b') }}{{ (1) }}"
        );
    }

    #[test]
    fn leaves_strings_comments_raw_and_data_alone() {
        for src in [
            "select '%' || x {# a % b #} {{ '%Y-%m' }}",
            "{% raw %}{{ a % b }}{% do x if y %}{% endraw %}",
            "{{ x['a'] }} {% set x = y %}",
            "{% do f(x) %}{% include 'a' %}",
        ] {
            assert_eq!(rewrite(src), src);
        }
    }

    /// Nesting within the limit is rewritten; deeper nesting (a fuzzed tag of thousands of `-`,
    /// which took seconds as it was read again from each of its tokens) is not read past the
    /// limit.
    #[test]
    fn nesting_beyond_the_limit_is_left_as_written() {
        let nested = |n: usize| format!("{{{{ {}f(x) }}}}", "- ".repeat(n));
        let shallow = nested(super::MAX_NESTING - 2);
        assert!(
            rewrite(&shallow).contains("(f(x))"),
            "{}",
            rewrite(&shallow)
        );
        let deep = format!(
            "{}\n{}",
            nested(20 * super::MAX_NESTING),
            "year_e".repeat(3)
        );
        // (Read again from each token, only the innermost levels within the limit are.)
        let out = rewrite(&deep);
        let wrapped = out.matches("(").count();
        assert!(wrapped <= super::MAX_NESTING + 1, "{wrapped} parentheses");
    }
}
