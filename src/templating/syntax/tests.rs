//! Tests of the rewriting of Jinja2 expression forms (`do`, `%`, `//`, arithmetic, literals),
//! including what must be left alone (strings, comments, raw blocks, too deep nesting).

use super::rewrite;

/// A long expression broken in the middle (`* /`) is read a bounded number of times and left as
/// written, for minijinja to report: each of its tokens used to start a new attempt that read up
/// to the break (quadratic: 27 s for a 13 KB tag; found by the fuzzer).
#[test]
fn a_long_broken_expression_is_left_as_written() {
    let chain = "-1".repeat(3_000);
    let src = format!("{{{{ c{chain} * / x ** 2 }}}}");
    assert_eq!(rewrite(&src), src.as_str());
    // A short one still has its readable part rewritten, and a good tag beside it too.
    assert_eq!(
        rewrite("{{ c-1 * / x ** 2 }}"),
        "{{ c-1 * / __sluice_pow(x, 2) }}"
    );
    let ok = format!("{{{{ 2 ** -1 }}}}{src}");
    assert!(rewrite(&ok).starts_with("{{ __sluice_pow(2, -1) }}"));
}

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
    let shallow = nested(super::parser::MAX_NESTING - 2);
    assert!(
        rewrite(&shallow).contains("(f(x))"),
        "{}",
        rewrite(&shallow)
    );
    let deep = format!(
        "{}\n{}",
        nested(20 * super::parser::MAX_NESTING),
        "year_e".repeat(3)
    );
    // (Read again from each token, only the innermost levels within the limit are.)
    let out = rewrite(&deep);
    let wrapped = out.matches("(").count();
    assert!(
        wrapped <= super::parser::MAX_NESTING + 1,
        "{wrapped} parentheses"
    );
}

/// `in` written against a literal with no space (`x in['a','b']`, `x in('a','b')`) is the
/// operator, as Jinja2 reads it; the literal after it is still rewritten.
#[test]
fn in_without_a_space_before_a_literal() {
    assert_eq!(
        rewrite("{% if x in['a','b'] %}"),
        "{% if x in __sluice_list(['a','b']) %}"
    );
    assert_eq!(
        rewrite("{% if x not in('a','b') %}"),
        "{% if x not in __sluice_tuple('a','b') %}"
    );
}

/// The calls dbt's static reading finds in a macro's text, in order: bare and package calls, a
/// `{% call %}` block's macro, and `adapter.dispatch`'s name and namespace; not definitions,
/// filters, tests, keywords, or calls on what an attribute chain returns.
#[test]
fn static_calls_are_read_as_dbt_reads_a_macros_calls() {
    use super::{static_calls, StaticCall};
    let src = "{% macro mc(a) -%}\n  {{ ma() }} {{ pk.pk_hook(x | default(1)) }}\n  \
        {{ adapter.dispatch('md', 'dbt')() }} {{ adapter.dispatch(macro_name='me')() }}\n  \
        {% call statement('s') %}select 1{% endcall %}\n  \
        {% if (a is divisibleby(3)) and x.y.z(1) %}{{ modules.re.match('a', 'b') }}{% endif %}\n  \
        {{ adapter.quote('q') }} {# not(me) #} '{{ \"f(\" }}'\n{%- endmacro %}";
    assert_eq!(
        static_calls(src),
        vec![
            StaticCall::Named("ma".into()),
            StaticCall::Named("pk.pk_hook".into()),
            StaticCall::Dispatch {
                name: "md".into(),
                namespace: Some("dbt".into())
            },
            StaticCall::Dispatch {
                name: "me".into(),
                namespace: None
            },
            StaticCall::Named("statement".into()),
        ]
    );
}
