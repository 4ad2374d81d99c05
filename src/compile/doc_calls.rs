//! The `{{ doc('name') }}` and `{{ doc('package', 'name') }}` calls of a description, found by a
//! scanner of their own rather than a regex.
//!
//! Decision: a large project's descriptions are read several times per parse (rendered into the
//! nodes, checked for missing blocks, counted for partial parsing), 10 000 of them or more, and
//! a regex's captures cost an allocation and a cache from its pool for each text: about 2.5% of
//! a full parse's CPU at 10 000 models. The calls are found exactly as the pattern
//! `\{\{\s*doc\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*\}\}` finds them
//! (leftmost, not overlapping, `\s` as Unicode whitespace); a test compares the two.

use std::ops::Range;

/// One call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocCall<'a> {
    /// Where the call is, `{{` to `}}`.
    pub(crate) range: Range<usize>,
    /// The package, when the call names two arguments.
    pub(crate) package: Option<&'a str>,
    /// The block's name.
    pub(crate) name: &'a str,
}

/// The calls of `text`, in order.
pub(crate) fn doc_calls(text: &str) -> DocCalls<'_> {
    DocCalls { text, at: 0 }
}

/// The iterator [`doc_calls`] returns.
pub(crate) struct DocCalls<'a> {
    text: &'a str,
    /// Where the search goes on.
    at: usize,
}

impl<'a> Iterator for DocCalls<'a> {
    type Item = DocCall<'a>;

    fn next(&mut self) -> Option<DocCall<'a>> {
        while let Some(i) = self.text.get(self.at..)?.find("{{") {
            let start = self.at + i;
            match call_at(self.text, start) {
                Some(call) => {
                    self.at = call.range.end;
                    return Some(call);
                }
                // (Not a call here: one may start at the next `{`, as in `{{{ doc('x') }}`.)
                None => self.at = start + 1,
            }
        }
        self.at = self.text.len();
        None
    }
}

/// The call that starts at `start` (a `{{`), if one does.
fn call_at(text: &str, start: usize) -> Option<DocCall<'_>> {
    let mut r = Reader {
        text,
        at: start + "{{".len(),
    };
    r.spaces();
    r.eat("doc(")?;
    r.spaces();
    let first = r.quoted()?;
    r.spaces();
    let second = if r.eat(",").is_some() {
        r.spaces();
        let s = r.quoted()?;
        r.spaces();
        Some(s)
    } else {
        None
    };
    r.eat(")")?;
    r.spaces();
    r.eat("}}")?;
    let (package, name) = match second {
        Some(name) => (Some(first), name),
        None => (None, first),
    };
    Some(DocCall {
        range: start..r.at,
        package,
        name,
    })
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> Option<()> {
        self.rest().starts_with(s).then(|| self.at += s.len())
    }

    /// A quote (either kind), one or more characters that are not quotes, a quote (either kind,
    /// as the pattern reads them).
    fn quoted(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let body = rest.strip_prefix(['\'', '"'])?;
        let len = body.find(['\'', '"'])?;
        if len == 0 {
            return None;
        }
        self.at += 1 + len + 1;
        Some(&body[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern the scanner reads as: the oracle of the tests.
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"\{\{\s*doc\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*\}\}"#,
        )
        .unwrap()
    });

    fn by_regex(text: &str) -> Vec<DocCall<'_>> {
        PATTERN
            .captures_iter(text)
            .map(|c| {
                let whole = c.get(0).unwrap();
                let (package, name) = match c.get(2) {
                    Some(n) => (Some(c.get(1).unwrap().as_str()), n.as_str()),
                    None => (None, c.get(1).unwrap().as_str()),
                };
                DocCall {
                    range: whole.range(),
                    package,
                    name,
                }
            })
            .collect()
    }

    #[test]
    fn finds_what_the_pattern_finds() {
        let cases = [
            "",
            "no calls",
            "{{ doc('orders') }}",
            "{{doc(\"orders\")}}",
            "before {{ doc('pkg', 'orders') }} after {{ doc(\"x\") }}.",
            "{{{ doc('x') }}}",
            "{{ {{ doc('x') }}",
            "{{ doc('x' ) }}{{ doc( 'y',  \"z\" ) }}",
            "{{ doc('') }} {{ doc('a', '') }} {{ doc('a',) }}",
            "{{ doc('a\") }} {{ doc(\"b') }}",
            "{{ doc('a b\nc') }}",
            "{{\u{a0}doc(\u{2003}'é')\u{3000}}}",
            "{{ doc('a') }",
            "{{ doc('a')",
            "{{ doc('a'",
            "{{ doc(",
            "{{",
            "{{ docs('a') }} {{ doc ('a') }} {{ doc('a', 'b', 'c') }}",
            "{{ doc('a') }}}} {{ doc('b') }}",
            "{{- doc('a') -}}",
            "ü{{ doc('ä') }}ü",
        ];
        for text in cases {
            assert_eq!(
                doc_calls(text).collect::<Vec<_>>(),
                by_regex(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn finds_what_the_pattern_finds_in_every_mix_of_its_pieces() {
        // Every string of up to 5 pieces from these, each compared with the pattern.
        let pieces = [
            "{{", "}}", "{", "}", " ", "doc(", ")", "'", "\"", "a", ",", "\u{2003}",
        ];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for t in &texts {
                for p in pieces {
                    next.push(format!("{t}{p}"));
                }
            }
            texts.extend(next);
            texts.sort();
            texts.dedup();
        }
        // (And each of them inside a well-formed call's pieces, where calls are likely.)
        let framed: Vec<String> = texts
            .iter()
            .map(|t| format!("{{{{ doc('{t}') }}}}{t}{{{{doc(\"p\",{t}'n'{t})}}}}"))
            .collect();
        for text in texts.iter().chain(&framed) {
            assert_eq!(
                doc_calls(text).collect::<Vec<_>>(),
                by_regex(text),
                "{text:?}"
            );
        }
    }
}
