//! A SQL file's Jinja tags, read off its text without rendering it: what tells a partial parse
//! that an edit left what the file calls as it was ([`same_calls`]), or changed only its plain
//! `ref` and `source` tags (`super::ref_edit`).

/// Whether a parse of `new` records what a parse of `old` recorded: the same Jinja tags in the
/// same order, text between them that holds no part of a tag, and no block that captures text.
pub(super) fn same_calls(old: &str, new: &str) -> bool {
    match (jinja_tags(old), jinja_tags(new)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The Jinja tags of `text` in order (`{{ .. }}`, `{% .. %}`, `{# .. #}`), or `None` when its
/// text could reach a call: a tag left open, a closing delimiter outside a tag (a tag that holds
/// a string with `}}` in it ends later than it seems), or a block that captures text.
pub(super) fn jinja_tags(text: &str) -> Option<Vec<&str>> {
    const CAPTURING: [&str; 4] = ["call", "filter", "macro", "set"];
    let tags = all_tags(text)?;
    let captures = tags
        .iter()
        .any(|t| block_opened(t).is_some_and(|(word, _)| CAPTURING.contains(&word)));
    (!captures).then_some(tags)
}

/// Every Jinja tag of `text` in order, or `None` when a tag is left open or a closing delimiter
/// stands outside a tag.
pub(super) fn all_tags(text: &str) -> Option<Vec<&str>> {
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        let open = rest
            .find('{')
            .filter(|&i| matches!(rest.as_bytes().get(i + 1), Some(b'{' | b'%' | b'#')));
        let literal = &rest[..open.unwrap_or(rest.len())];
        if ["}}", "%}", "#}"].iter().any(|d| literal.contains(d)) {
            return None;
        }
        let Some(i) = open else {
            return Some(tags);
        };
        let close = match rest.as_bytes()[i + 1] {
            b'{' => "}}",
            b'%' => "%}",
            _ => "#}",
        };
        let end = i + 2 + rest[i + 2..].find(close)? + 2;
        tags.push(&rest[i..end]);
        rest = &rest[end..];
    }
}

/// The inside of a tag, without its delimiters and whitespace control.
pub(super) fn tag_body(tag: &str) -> &str {
    tag[2..tag.len() - 2]
        .trim_matches(|c: char| c == '-' || c == '+')
        .trim()
}

/// The block a `{% .. %}` tag opens, by its first word, with its body (`{% set x %}` opens a
/// block that captures text, `{% set x = .. %}` none); `None` for any other tag.
pub(super) fn block_opened(tag: &str) -> Option<(&str, &str)> {
    if !tag.starts_with("{%") {
        return None;
    }
    let body = tag_body(tag);
    let first = body.split_whitespace().next().unwrap_or("");
    let opens = match first {
        "set" => !body.contains('='),
        "macro" | "test" | "materialization" | "call" | "filter" | "for" | "if" | "block"
        | "raw" => true,
        _ => false,
    };
    opens.then_some((first, body))
}

/// Whether a `{% .. %}` tag closes a block (`{% endmacro %}`, `{% endset %}` ...).
pub(super) fn block_closed(tag: &str) -> bool {
    tag.starts_with("{%") && tag_body(tag).starts_with("end")
}

#[cfg(test)]
mod tests {
    use super::same_calls;

    #[test]
    fn only_text_outside_the_jinja_may_change() {
        let old = "{{ config(materialized='table') }}\nselect a from {{ ref('x') }} where b > 1";
        // Text, whitespace and SQL around the tags.
        assert!(same_calls(
            old,
            "{{ config(materialized='table') }}\nselect a, c from {{ ref('x') }}"
        ));
        // A tag edited, added or removed.
        assert!(!same_calls(
            old,
            "{{ config(materialized='view') }}\nselect a from {{ ref('x') }}"
        ));
        assert!(!same_calls(
            old,
            "{{ config(materialized='table') }}\nselect a from {{ ref('y') }}"
        ));
        assert!(!same_calls(old, "select a from {{ ref('x') }}"));
        // A comment is a tag too (its text is not looked into).
        assert!(!same_calls("{# a #}select 1", "{# b #}select 1"));
        // Assignments are tags; blocks that capture text are never patched.
        let set = "{% set n = 3 %}select {{ n }}";
        assert!(same_calls(set, "{% set n = 3 %}select {{ n }} as n"));
        let captured = "{% set q %}select 1{% endset %}{{ config(sql_header=q) }}select 2";
        assert!(!same_calls(captured, captured));
        for block in [
            "{% call statement('x') %}select 1{% endcall %}",
            "{% filter upper %}a{% endfilter %}",
        ] {
            assert!(!same_calls(block, block), "{block}");
        }
        // A string holding a closing delimiter: the tag ends later than the first `}}`.
        let tricky = "select {{ \"}}\" ~ ref('a') }}";
        assert!(!same_calls(tricky, tricky));
        // A tag left open.
        assert!(!same_calls("select {{ ref('a')", "select {{ ref('a')"));
    }
}
