//! Tests of the macro-file rewrites (renaming, tests as macros, defaults that see earlier
//! arguments).

use super::source::defaults_from_earlier_args;
use super::*;

#[test]
fn preprocess_renames_macros_and_tests() {
    let src = "{%- macro foo(a, b=1) -%}x{%- endmacro %}{% test is_pos(model, column_name) %}y{% endtest %}";
    let out = preprocess(src);
    assert_eq!(out, "{%- macro __m_foo(a, b=1) -%}x{%- endmacro %}{% macro __m_test_is_pos(model, column_name) %}y{% endmacro %}");
}

#[test]
fn defaults_see_earlier_arguments() {
    let src = "{%- macro m(a, b=a, c=b ~ '!', d='x') -%}\n{{ b }}{%- endmacro %}";
    assert_eq!(
        defaults_from_earlier_args(src),
        "{%- macro m(a, b=__sluice_missing, c=__sluice_missing, d='x') -%}{% if b is undefined %}{% set b = a %}{% endif %}{% if c is undefined %}{% set c = b ~ '!' %}{% endif -%}\n{{ b }}{%- endmacro %}"
    );
}

#[test]
fn a_macro_in_a_jinja_comment_is_not_defined() {
    let src = "{# {%- macro spark__wk(d) -%} x {%- endmacro %} #}\n{% macro default__wk(d) %}y{% endmacro %}\n{#- unclosed {% macro never() %}{% endmacro %}";
    let names: Vec<&str> = super::source::find_defs(src)
        .iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["default__wk"]);
}
