//! `sub`'s replacement templates, as Python reads them: `\1`, `\g<1>`, `\g<name>`, `\n` and the
//! other character escapes; then filling them in from one match.
//!
//! Apart from the module's functions because `re.sub`, `re.subn` and `match.expand` share it and
//! it has its own small grammar and errors.

use minijinja::Error;

use super::{Pattern, Spans};
use crate::templating::calls::err;

/// A piece of a `sub` replacement.
pub(super) enum Piece {
    Text(String),
    Group(usize),
}

/// Python's replacement template: `\1`, `\g<1>`, `\g<name>`, `\n` and the other character
/// escapes; an unknown letter escape is an error, other escapes stay as written.
pub(super) fn parse_template(t: &str, p: &Pattern) -> Result<Vec<Piece>, Error> {
    let groups = p.names.len();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = t.chars().peekable();
    let flush = |text: &mut String, out: &mut Vec<Piece>| {
        if !text.is_empty() {
            out.push(Piece::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(n) = chars.next() else {
            return Err(err("re.error: bad escape (end of pattern)"));
        };
        match n {
            'g' => {
                if chars.next() != Some('<') {
                    return Err(err("re.error: missing <"));
                }
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                let index = match name.parse::<usize>() {
                    Ok(i) => i,
                    Err(_) => p
                        .names
                        .iter()
                        .position(|n| n.as_deref() == Some(name.as_str()))
                        .ok_or_else(|| err(format!("IndexError: unknown group name '{name}'")))?,
                };
                if index >= groups {
                    return Err(err(format!("re.error: invalid group reference {index}")));
                }
                flush(&mut text, &mut out);
                out.push(Piece::Group(index));
            }
            '0' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && chars.peek().is_some_and(|c| ('0'..='7').contains(c)) {
                    v = v * 8 + chars.next().and_then(|c| c.to_digit(8)).unwrap_or(0);
                    k += 1;
                }
                text.extend(char::from_u32(v));
            }
            '1'..='9' => {
                let mut index = n.to_digit(10).unwrap_or(0) as usize;
                if let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    index = index * 10 + d as usize;
                    chars.next();
                }
                if index >= groups {
                    return Err(err(format!("re.error: invalid group reference {index}")));
                }
                flush(&mut text, &mut out);
                out.push(Piece::Group(index));
            }
            'n' => text.push('\n'),
            't' => text.push('\t'),
            'r' => text.push('\r'),
            'f' => text.push('\u{c}'),
            'v' => text.push('\u{b}'),
            'a' => text.push('\u{7}'),
            'b' => text.push('\u{8}'),
            '\\' => text.push('\\'),
            c if c.is_ascii_alphabetic() => {
                return Err(err(format!("re.error: bad escape \\{c}")));
            }
            c => {
                text.push('\\');
                text.push(c);
            }
        }
    }
    flush(&mut text, &mut out);
    Ok(out)
}

pub(super) fn expand(t: &[Piece], text: &str, s: &Spans) -> String {
    let mut out = String::new();
    for piece in t {
        match piece {
            Piece::Text(x) => out.push_str(x),
            Piece::Group(i) => {
                if let Some((a, b)) = s.get(*i).copied().flatten() {
                    out.push_str(&text[a..b]);
                }
            }
        }
    }
    out
}
