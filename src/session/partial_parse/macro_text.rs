//! Whether an edit of macro files that changed only their text outside Jinja tags can change
//! what a parse-time render records ([`super::macro_edit`] then skips rendering the callers).
//!
//! When a macro file's tags are all as they were, in the same order, and none of its text is
//! captured into a value (no `{% set x %}`, `{% call %}` or `{% filter %}` block), running one
//! of its macros does what it did, and only the text it outputs differs. That text reaches a
//! render's record only if something reads it as a value: a caller that assigns it, passes it
//! to another call, compares it or captures it. So the edit is output alone when every use of
//! the edited macros' names, in every macro definition and every caller's file, is one of:
//!
//! - a tag of its own that outputs the call, `{{ name(..) }}` or `{{ package.name(..) }}`, with
//!   no other use of those names in its arguments;
//! - inside a macro, `{{ return(name(..)) }}` or `{{ return(adapter.dispatch('name', ..)(..)) }}`
//!   (the dispatched macro's output returned as this one's);
//! - the macro's own definition tag.
//!
//! A macro whose output holds an edited macro's output (a use of the first or second kind in
//! its body) is followed the same way, until no other macro joins. Any other use, or a use
//! inside a block that captures text, means the callers are rendered again.

use std::collections::BTreeSet;

use super::tags::{all_tags, block_closed, block_opened, tag_body};

/// The fingerprint of a macro file's tags, when none of its text is captured into a value;
/// `None` otherwise (or when its tags cannot be read off its text).
pub(super) fn tags_key(text: &str) -> Option<String> {
    let tags = all_tags(text)?;
    let captures = tags
        .iter()
        .any(|t| block_opened(t).is_some_and(|(w, _)| matches!(w, "set" | "call" | "filter")));
    if captures {
        return None;
    }
    Some(crate::session::fingerprint::checksum(
        tags.join("\0").as_bytes(),
    ))
}

/// The names whose output an edit changed, as the module says: the edited macros' and those
/// of every macro whose output holds theirs.
pub(super) struct Changed {
    names: BTreeSet<String>,
    /// What `adapter.dispatch('<suffix>')` finds among `names` (`default__x`: `x`).
    suffixes: BTreeSet<String>,
}

impl Changed {
    /// Follows the edited macros `edited` (by name) through the macro definitions `defs` (each
    /// one's own text, `{% macro .. %}..{% endmacro %}`); `None` when a definition uses them
    /// other than as the module allows.
    pub(super) fn follow<'a>(
        edited: impl IntoIterator<Item = String>,
        defs: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<Changed> {
        let mut changed = Changed {
            names: BTreeSet::new(),
            suffixes: BTreeSet::new(),
        };
        for name in edited {
            changed.add(name);
        }
        loop {
            let before = changed.names.len();
            for text in defs.clone() {
                for name in changed.uses(text)? {
                    changed.add(name);
                }
            }
            if changed.names.len() == before {
                return Some(changed);
            }
        }
    }

    fn add(&mut self, name: String) {
        if let Some((_, suffix)) = name.split_once("__") {
            self.suffixes.insert(suffix.to_string());
        }
        self.names.insert(name);
    }

    /// Whether every use of the names in a caller's file `text` outputs a call's text, outside
    /// any block that captures it or defines a macro.
    pub(super) fn output_only(&self, text: &str) -> bool {
        self.uses(text).is_some_and(|joined| joined.is_empty())
    }

    /// The macros of `text` whose output holds a use of the names; `None` when a use is
    /// another kind than the module allows.
    fn uses(&self, text: &str) -> Option<Vec<String>> {
        // The blocks open at each tag: (its first word, the macro it defines).
        let mut open: Vec<(&str, Option<String>)> = Vec::new();
        let mut joined = Vec::new();
        for tag in all_tags(text)? {
            if looks_up_by_value(tag) {
                return None;
            }
            if let Some((word, body)) = block_opened(tag) {
                let (defines, own) = match word {
                    "macro" => {
                        let name = definition_name(body)?;
                        (Some(name.to_string()), Some(name))
                    }
                    "test" => {
                        let name = definition_name(body)?;
                        (Some(format!("test_{name}")), Some(name))
                    }
                    _ => (None, None),
                };
                // A definition's own tag names it; its arguments' defaults must not use them.
                let others = self.words(body).filter(|w| Some(*w) != own).count();
                if others > 0 {
                    return None;
                }
                open.push((word, defines));
                continue;
            }
            if block_closed(tag) {
                let end = tag_body(tag).split_whitespace().next().unwrap_or("");
                match open.pop() {
                    Some((word, _)) if end.strip_prefix("end") == Some(word) => continue,
                    _ => return None,
                }
            }
            if self.words(tag).next().is_none() {
                continue;
            }
            let captured = open
                .iter()
                .any(|(w, _)| matches!(*w, "set" | "call" | "filter"));
            if captured || !tag.starts_with("{{") || !self.outputs_a_call(tag_body(tag)) {
                return None;
            }
            // Inside a macro, that macro's output now holds the changed text.
            if let Some((_, Some(def))) = open.iter().rev().find(|(_, d)| d.is_some()) {
                joined.push(def.clone());
            }
        }
        Some(joined)
    }

    /// The words of `text` that are the names (or what a dispatch finds among them).
    fn words<'t>(&'t self, text: &'t str) -> impl Iterator<Item = &'t str> + 't {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| self.names.contains(*w) || self.suffixes.contains(*w))
    }

    /// Whether an output tag's `body` is one call of a name, as the module allows.
    fn outputs_a_call(&self, body: &str) -> bool {
        if self.words(body).count() != 1 {
            return false;
        }
        let inner = match call(body) {
            Some(("return", args)) => args,
            _ => body,
        };
        if let Some(rest) = inner.strip_prefix("adapter.dispatch(") {
            // `adapter.dispatch('name', ..)(..)`: the name, quoted, first.
            let Some(close) = matching_paren(rest) else {
                return false;
            };
            let (dispatch_args, call_args) = (&rest[..close], &rest[close + 1..]);
            let quoted = dispatch_args
                .split(',')
                .next()
                .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"'));
            return quoted.is_some_and(|n| self.words(n).next() == Some(n))
                && call_args.starts_with('(')
                && matching_paren(&call_args[1..]) == Some(call_args.len() - 2);
        }
        match call(inner) {
            Some((callee, _)) => {
                let name = callee.rsplit('.').next().unwrap_or(callee);
                self.names.contains(name)
            }
            None => false,
        }
    }
}

/// Whether a tag finds a macro by a name it computes (`adapter.dispatch(name)`,
/// `context[..]`, `context.get(..)`): a use of a name no word of the text shows.
fn looks_up_by_value(tag: &str) -> bool {
    let dynamic_dispatch = tag.match_indices("dispatch(").any(|(i, m)| {
        let after = tag[i + m.len()..].trim_start();
        !after.starts_with(['\'', '"'])
    });
    dynamic_dispatch || tag.contains("context[") || tag.contains("context.get(")
}

/// The name a `macro` or `test` block's body defines (`macro name(args)`).
fn definition_name(body: &str) -> Option<&str> {
    let rest = body.split_once(char::is_whitespace)?.1.trim_start();
    let name = &rest[..rest.find('(')?];
    let name = name.trim();
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
}

/// `callee(args)` when `text` is exactly one call (a dotted name, its arguments up to the end).
fn call(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let callee = text[..open].trim();
    let dotted = !callee.is_empty()
        && callee
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let close = open + 1 + matching_paren(&text[open + 1..])?;
    (dotted && close == text.len() - 1).then(|| (callee, &text[open + 1..close]))
}

/// The position in `text` of the `)` that closes a `(` just before it (strings skipped).
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' if depth == 0 => return Some(i),
                ')' | ']' | '}' => depth = depth.checked_sub(1)?,
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{tags_key, Changed};

    fn follow(edited: &[&str], defs: &[&str]) -> Option<Changed> {
        Changed::follow(edited.iter().map(|s| s.to_string()), defs.iter().copied())
    }

    #[test]
    fn a_macro_files_tags_key_ignores_its_text_and_refuses_captured_text() {
        let a = "{% macro m(x) %}select {{ x }}{% endmacro %}";
        let b = "{% macro m(x) %}select {{ x }} + 1 -- edited{% endmacro %}";
        assert_eq!(tags_key(a), tags_key(b));
        assert!(tags_key(a).is_some());
        let c = "{% macro m(y) %}select {{ y }}{% endmacro %}";
        assert_ne!(tags_key(a), tags_key(c));
        let captured = "{% macro m() %}{% set q %}select 1{% endset %}{{ q }}{% endmacro %}";
        assert_eq!(tags_key(captured), None);
        let assigned = "{% macro m() %}{% set q = 1 %}{{ q }}{% endmacro %}";
        assert!(tags_key(assigned).is_some());
    }

    #[test]
    fn output_alone_is_followed_through_macros_and_dispatch() {
        let defs = [
            "{% macro safe_divide(a, b) -%}{{ return(adapter.dispatch('safe_divide', 'pkg')(a, b)) }}{%- endmacro %}",
            "{% macro default__safe_divide(a, b) %}({{ a }}) / nullif({{ b }}, 0){% endmacro %}",
            "{% macro ratio(a, b) %}{{ pkg.safe_divide(a, b) }} * 100{% endmacro %}",
            "{% macro unrelated() %}{% set x = other() %}{{ x }}{% endmacro %}",
        ];
        let changed = follow(&["default__safe_divide"], &defs).expect("output alone");
        for name in ["default__safe_divide", "safe_divide", "ratio"] {
            assert!(changed.names.contains(name), "{name}");
        }
        assert!(!changed.names.contains("unrelated"));
        // Callers that output the calls, in loops and conditions too.
        assert!(changed.output_only(
            "select {{ ratio('x', 'y') }} as r,\n{% for c in cols %}{{ safe_divide(c, 'n') }}{% endfor %}"
        ));
        // Anything that reads the output as a value, or captures it.
        for caller in [
            "{% set r = ratio('x', 'y') %}select {{ r }}",
            "select {{ ratio('x', 'y') | trim }}",
            "select {{ ref(ratio('a', 'b')) }}",
            "{% if ratio('a', 'b') == '1' %}select 1{% endif %}",
            "{% set q %}{{ ratio('a', 'b') }}{% endset %}select {{ q }}",
            "{% call statement('x') %}{{ ratio('a', 'b') }}{% endcall %}",
            "{{ config(sql_header=ratio('a', 'b')) }}select 1",
            "{{ safe_divide(ratio('a', 'b'), 2) }}",
            "{# ratio #}select 1",
        ] {
            assert!(!changed.output_only(caller), "{caller}");
        }
        // A macro that reads it as a value anywhere: the callers are rendered again.
        let reads = "{% macro pct(a) %}{% set v = ratio(a, 1) %}{{ v }}{% endmacro %}";
        assert!(follow(
            &["default__safe_divide"],
            &[defs[0], defs[1], defs[2], reads]
        )
        .is_none());
        // A use in a definition's argument defaults.
        let default = "{% macro p(a=ratio(1, 2)) %}{{ a }}{% endmacro %}";
        assert!(follow(&["ratio"], &[default]).is_none());
        // A macro found by a name computed at render time: no use can be told.
        let dynamic = "{% macro call_it(n) %}{{ return(adapter.dispatch(n)()) }}{% endmacro %}";
        assert!(follow(&["ratio"], &[dynamic]).is_none());
        let test = "{% test is_ratio(model) %}select {{ ratio(1, 2) }}{% endtest %}";
        let changed = follow(&["ratio"], &[test]).expect("output alone");
        assert!(changed.names.contains("test_is_ratio"));
    }
}
