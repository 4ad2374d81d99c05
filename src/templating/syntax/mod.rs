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
//!
//! The lexer, the per-tag driver and the edits live here; the grammar is in [`parser`], and the
//! static reading of the calls a macro makes (dbt's `depends_on.macros`) in [`calls`].

mod calls;
mod parser;
#[cfg(test)]
mod tests;

pub(crate) use calls::{static_calls, StaticCall};

use std::borrow::Cow;

use parser::Parser;

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
    for_each_tag(src, |toks, block| rewrite_tag(src, toks, block, &mut edits));
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

/// Calls `f` with the tokens of each tag of `src` and whether it is a statement tag (`{% %}`),
/// in order; comments and `{% raw %}` blocks are skipped, and a tag the lexer cannot read to its
/// end stops the walk (minijinja then reports it).
fn for_each_tag<'a>(src: &'a str, mut f: impl FnMut(&[Tok<'a>], bool)) {
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
                f(&toks, block);
                i = end;
            }
            _ => i = p + 1,
        }
    }
}

/// [`rewrite`] for a bare expression (`compile_expression`'s input).
pub(crate) fn rewrite_expression(expr: &str) -> Cow<'_, str> {
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
    // `call m(e)`); statement words and `=` between them are skipped. A failed attempt resumes
    // at the next token, so the tokens failed attempts read are counted: a tag that keeps
    // failing (a long expression broken near its end would be read again from each of its
    // tokens, quadratic time) is left as written, for minijinja to parse and report.
    let mut failed_reads = 0usize;
    let budget = 8 * toks.len() + 1_000;
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
            _ => {
                failed_reads += attempt.pos.saturating_sub(before).max(1);
                if failed_reads > budget {
                    return;
                }
                p.pos = before + 1;
            }
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
    // `x in['a']`: the call must not run into the word before it (`in__sluice_list(...)`).
    let before = rw.start.checked_sub(1).map(|i| src.as_bytes()[i]);
    if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.push(' ');
    }
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
