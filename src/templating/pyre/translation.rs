//! Python's pattern syntax turned into `fancy-regex`'s: leading inline flags, `\Z`, `$` before
//! a final newline, a `{` that is no repetition, `[` / `&` / `~` / `--` inside a class, and
//! verbose mode's comments and spaces.
//!
//! Apart from the module's functions and objects because it is a pure text-to-text translation
//! with no regex engine or template values in it.

use super::{FLAG_A, FLAG_I, FLAG_L, FLAG_M, FLAG_S, FLAG_U, FLAG_X};

/// The leading inline flags of a pattern (`(?ix)`), as flag bits, and where the pattern goes on.
pub(super) fn leading_flags(p: &str) -> (i64, usize) {
    let mut flags = 0;
    let mut at = 0;
    while let Some(rest) = p[at..].strip_prefix("(?") {
        let letters: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if letters.is_empty() || !rest[letters.len()..].starts_with(')') {
            break;
        }
        for c in letters.chars() {
            flags |= match c {
                'i' => FLAG_I,
                'm' => FLAG_M,
                's' => FLAG_S,
                'x' => FLAG_X,
                'a' => FLAG_A,
                'u' => FLAG_U,
                'L' => FLAG_L,
                _ => 0,
            };
        }
        at += 2 + letters.len() + 1;
    }
    (flags, at)
}

/// Python pattern syntax -> fancy-regex syntax, and the effective flags (with leading inline
/// flags folded in; verbose mode is resolved here, so the result is never verbose).
pub(crate) fn translate(p: &str, flags: i64) -> (String, i64) {
    let (inline, start) = leading_flags(p);
    let flags = flags | inline;
    let verbose = flags & FLAG_X != 0;
    let multiline = flags & FLAG_M != 0;
    let src: Vec<char> = p[start..].chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_first = false;
    while i < src.len() {
        let c = src[i];
        if c == '\\' {
            let Some(&n) = src.get(i + 1) else {
                out.push_str("\\\\");
                break;
            };
            match n {
                'Z' if !in_class => out.push_str("\\z"),
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            i += 2;
            class_first = false;
            continue;
        }
        if in_class {
            match c {
                ']' if !class_first => {
                    in_class = false;
                    out.push(']');
                }
                ']' => out.push_str("\\]"),
                '[' => out.push_str("\\["),
                '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if src.get(i + 1) == Some(&'-') => out.push_str("\\-"),
                _ => out.push(c),
            }
            class_first = false;
            i += 1;
            continue;
        }
        match c {
            '[' => {
                out.push('[');
                in_class = true;
                class_first = true;
                if src.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '(' if src.get(i + 1) == Some(&'?') && src.get(i + 2) == Some(&'#') => {
                while i < src.len() && src[i] != ')' {
                    i += 1;
                }
            }
            '$' if !multiline => out.push_str("(?=\\n?\\z)"),
            '{' => {
                let len = quantifier_len(&src[i..]);
                if len > 0 {
                    out.extend(&src[i..i + len]);
                    i += len;
                    continue;
                }
                out.push_str("\\{");
            }
            '}' => out.push_str("\\}"),
            c if verbose && c.is_whitespace() => {}
            '#' if verbose => {
                while i < src.len() && src[i] != '\n' {
                    i += 1;
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    (out, flags & !FLAG_X)
}

/// The length of a repetition `{m}`, `{m,}`, `{,n}`, `{m,n}` at the start of `s`; 0 if none.
fn quantifier_len(s: &[char]) -> usize {
    let mut i = 1;
    let mut digits = 0;
    while s.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        while s.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits > 0 && s.get(i) == Some(&'}') {
        i + 1
    } else {
        0
    }
}
