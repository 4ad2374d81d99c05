//! Tests of `modules.re`: each expected value is what Python's `re` gives for the same call.

use super::*;

fn render(src: &str) -> String {
    let mut env = minijinja::Environment::new();
    env.add_global("re", Value::from_object(ReModule));
    env.add_function("__sluice_list", super::super::pyvalues::new_list);
    env.add_function("__sluice_dict", super::super::pyvalues::new_dict);
    env.add_function("__sluice_tuple", super::super::pyvalues::new_tuple);
    env.set_formatter(super::super::pyvalues::format_output);
    let src = super::super::syntax::rewrite(src).into_owned();
    env.render_str(&src, ())
        .unwrap_or_else(|e| format!("ERR {e}"))
}

// Each expected value is what `~/dbtvenv/bin/python` prints for the same call on Python's `re`.
#[test]
fn functions_behave_as_python_re() {
    let cases = [
        (
            r"{{ re.sub('(\\w+)@(\\w+)', '\\2 at \\1', 'joe@site and ann@corp') }}",
            "site at joe and corp at ann",
        ),
        (
            r"{{ re.sub('(?P<first>\\w+) (?P<last>\\w+)', '\\g<last>, \\g<first>', 'John Smith') }}",
            "Smith, John",
        ),
        ("{{ re.sub('a', 'b', 'aaa', count=2) }}", "bba"),
        ("{{ re.sub('x*', '-', 'abxd') }}", "-a-b--d-"),
        (r"{{ re.sub('(?<=a)b', 'X', 'ab cb ab') }}", "aX cb aX"),
        (
            r"{{ re.sub('(\\w)\\1', '<\\1\\1>', 'aabbcd') }}",
            "<aa><bb>cd",
        ),
        ("{{ re.sub('A', 'x', 'aAa', flags=re.I) }}", "xxx"),
        (
            r"{{ re.findall('\\d+', 'a1b22c333') }}",
            "['1', '22', '333']",
        ),
        (
            r"{{ re.findall('(\\w)=(\\d)', 'a=1 b=2') }}",
            "[('a', '1'), ('b', '2')]",
        ),
        (r"{{ re.findall('(\\w)=\\d', 'a=1 b=2') }}", "['a', 'b']"),
        (
            "{{ re.findall('(a)|(b)', 'ab') }}",
            "[('a', ''), ('', 'b')]",
        ),
        (r"{{ re.split(',\\s*', 'a, b,c') }}", "['a', 'b', 'c']"),
        (
            "{{ re.split('(,)', 'a,b,c') }}",
            "['a', ',', 'b', ',', 'c']",
        ),
        ("{{ re.split(',', 'a,b,c', maxsplit=1) }}", "['a', 'b,c']"),
        (
            "{{ re.split('x*', 'axbc') }}",
            "['', 'a', '', 'b', 'c', '']",
        ),
        (
            r"{{ re.search('(?P<y>\\d{4})-(?P<m>\\d\\d)', 'on 2024-05-01').groupdict() }}",
            "{'y': '2024', 'm': '05'}",
        ),
        (
            r"{{ re.search('(\\d{4})-(\\d\\d)', 'on 2024-05-01').span() }}",
            "(3, 10)",
        ),
        (
            r"{{ re.search('(\\d{4})-(\\d\\d)', 'on 2024-05-01').group(0, 2) }}",
            "('2024-05', '05')",
        ),
        (
            r"{{ re.search('(\\d{4})-(\\d\\d)', 'on 2024-05-01') }}",
            "<re.Match object; span=(3, 10), match='2024-05'>",
        ),
        (r"{{ re.match('\\d', 'a1') }}", "None"),
        ("{{ re.match('a|ab', 'abc').group() }}", "a"),
        ("{{ re.fullmatch('a|ab', 'ab').group() }}", "ab"),
        ("{{ re.fullmatch('a', 'ab') }}", "None"),
        ("{{ re.escape('a.b*c d-e_f') }}", "a\\.b\\*c\\ d\\-e_f"),
        (
            "{{ re.compile('(?i)foo(?=bar)').findall('FOObar foobaz') }}",
            "['FOO']",
        ),
        ("{{ re.compile('a', re.I).flags }}", "34"),
        ("{{ re.compile('(a)(?P<n>b)').groups }}", "2"),
        ("{{ re.compile('(a)(?P<n>b)').groupindex['n'] }}", "2"),
        (
            r#"{{ re.sub('(?P<q>[\'"])(.*?)(?P=q)', '<\\2>', 'say "hi" and \'yo\'') }}"#,
            "say <hi> and <yo>",
        ),
        ("{{ re.search('^b$', 'a\\nb\\nc', re.M).group() }}", "b"),
        (
            "{{ re.search('a.b', 'a\\nb', re.S).group() | length }}",
            "3",
        ),
        (
            r"{% for m in re.finditer('\\d', 'a1b2') %}{{ m.group() }}{% endfor %}",
            "12",
        ),
        (
            "{{ re.search('(?x) \\\\d+  # digits\\n  [ ] x', 'ab 12 x').group() }}",
            "12 x",
        ),
        ("{{ re.search('a{', 'xa{').group() }}", "a{"),
        (
            r"{{ re.search('({{\\s*ref)', 'from {{ ref').group(1) }}",
            "{{ ref",
        ),
        ("{{ re.search('é(x)', 'caféx').span(1) }}", "(4, 5)"),
        ("{{ re.search('a$', 'a\\n').span() }}", "(0, 1)"),
        ("{{ re.subn('a', 'b', 'aaa') }}", "('bbb', 3)"),
        ("{{ re.sub('(a)|b', '[\\\\1]', 'ab') }}", "[a][]"),
        ("{{ re.search('(a)(b)?', 'a').groups() }}", "('a', None)"),
        ("{{ re.search('(a)(b)?', 'a').groups('z') }}", "('a', 'z')"),
        ("{{ re.search('(a)(b)?', 'a').lastindex }}", "1"),
        ("{{ re.search('a', 'a')[0] }}", "a"),
        (
            r"{{ re.sub('\\bfoo\\b', 'bar', 'foo food foo') }}",
            "bar food bar",
        ),
        (
            "{{ re.IGNORECASE }} {{ re.M }} {{ re.S }} {{ re.X }}",
            "2 8 16 64",
        ),
    ];
    let mut bad = Vec::new();
    for (src, want) in cases {
        let got = render(src);
        if got != want {
            bad.push(format!("{src}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
