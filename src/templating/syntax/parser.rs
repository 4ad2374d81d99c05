//! The expression parser behind [`super::rewrite`]: Jinja2's grammar (`jinja2/parser.py`) by
//! recursive descent, with Jinja2's precedence, finding each operator's operands and each literal
//! and recording the rewrites ([`super::Rw`]) that turn them into `__sluice_*` calls.
//!
//! Apart from the lexer and the edit machinery in `mod.rs` because it is the grammar itself:
//! everything here only reads tokens and builds [`super::Ex`] spans.

use super::{Ex, Kind, Lit, Rw, Tok};

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
pub(super) struct Parser<'t, 'a> {
    pub(super) src: &'a str,
    pub(super) toks: &'t [Tok<'a>],
    pub(super) pos: usize,
    /// How deeply the expression being read nests (unary operators, parentheses, calls).
    pub(super) depth: usize,
}

/// Expressions nested deeper than this are left as written (the template engine reports them if
/// they are wrong): Jinja2 itself stops near 1,000 Python frames, and a fuzzed tag of thousands
/// of `-` took seconds to read again from every token.
pub(super) const MAX_NESTING: usize = 200;

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<Kind<'a>> {
        self.toks.get(self.pos).map(|t| t.kind)
    }
    fn peek_at(&self, n: usize) -> Option<Kind<'a>> {
        self.toks.get(self.pos + n).map(|t| t.kind)
    }
    pub(super) fn is_op(&self, op: &str) -> bool {
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
    pub(super) fn find_top_level(&self, want: impl Fn(Kind<'a>) -> bool) -> Option<usize> {
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
    pub(super) fn skip_group(&mut self) {
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
    pub(super) fn tuple(&mut self) -> Option<Ex> {
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
