//! Tests of the mutable containers: literal rewriting and in-place mutation as in Python.

use super::*;

#[test]
fn mutated_names_hold_mutable_values() {
    let src = "{%- set fields = [] -%}{% set x = y %}";
    assert_eq!(rewrite_literals(src), src);
    let src = "{% set cols = group_by | list %}{% set other = y %}{% do cols.append(1) %}";
    assert_eq!(
        rewrite_literals(src),
        "{% set cols = __sluice_mut(group_by | list) %}{% set other = y %}{% do cols.append(1) %}"
    );
}

#[test]
fn lists_and_dicts_mutate_like_python() {
    let mut env = minijinja::Environment::new();
    env.add_function("__sluice_list", new_list);
    env.add_function("__sluice_dict", new_dict);
    env.add_function("__sluice_tuple", new_tuple);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(format_output);
    let src = super::super::syntax::rewrite(
        "{% set xs = [] %}{% do xs.append(1) %}{% do xs.extend([2, 3]) %}{% set d = {} %}{% do d.update({'k': xs | length}) %}{{ xs | join(',') }} {{ d['k'] }} {{ xs[-1] }} {{ d.get('z', 'none') }} {% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}{{ xs.pop() }}{{ xs | length }} {{ (1,) }}{{ ('a', none) }}{{ () }}",
    )
    .into_owned();
    assert_eq!(
        env.render_str(&src, ()).unwrap(),
        "1,2,3 3 3 none k=332 (1,)('a', None)()"
    );
}
