//! Tests of the `str` methods and `str.format`: each expected value is what Python prints.

fn render(src: &str) -> String {
    super::super::functions::render_python(src, &[])
}

// Each expected value is what `~/dbtvenv/bin/python` prints for the same expression.
#[test]
fn string_methods_behave_as_python() {
    let cases = [
        ("{{ '{:>5}|{:<4}|{:^6}|{:05.2f}|{:,}'.format('r', 'l', 'c', 3.14159, 1234567) }}", "    r|l   |  c   |03.14|1,234,567"),
        ("{{ '{:.3}'.format(3.14159) }}|{{ '{}'.format(3.0) }}|{{ '{:10.3f}|'.format(2.5) }}|{{ '{:+d}'.format(5) }}", "3.14|3.0|     2.500||+5"),
        ("{{ '{:.2}'.format(12.0) }} {{ '{:.1}'.format(3.0) }} {{ '{:.2}'.format(123.0) }} {{ '{}'.format(1e20) }} {{ '{:.3}'.format(0.5) }}", "1.2e+01 3e+00 1.2e+02 1e+20 0.5"),
        ("{{ '{:x} {:#x} {:b} {:o} {:X}'.format(255, 255, 5, 8, 255) }}", "ff 0xff 101 10 FF"),
        ("{{ '{:e}'.format(1234.5) }}|{{ '{:%}'.format(0.25) }}|{{ '{:.1%}'.format(0.256) }}|{{ '{:g}'.format(0.00001) }}", "1.234500e+03|25.000000%|25.6%|1e-05"),
        ("{{ '{:*^9}'.format('mid') }}|{{ '{:=+8.2f}'.format(-3.14159) }}|{{ '{0[0]} {0[1]}'.format(['a', 'b']) }}|{{ '{d[k]}'.format(d={'k': 'v'}) }}", "***mid***|-   3.14|a b|v"),
        ("{{ '{:_}'.format(1234567) }}|{{ '{:>{w}}'.format('x', w=4) }}|{{ '{}'.format(none) }}|{{ '{}'.format([1, 'a']) }}|{{ '{!r}'.format('q') }}", "1_234_567|   x|None|[1, 'a']|'q'"),
        ("{{ '{:d}'.format(true) }}|{{ '{:.2s}'.format('abc') }}|{{ '{:c}'.format(65) }}|{{ '{:08.3f}'.format(-1.5) }}|{{ '{:,.2f}'.format(1234567.891) }}|{{ '{}{}'.format(1, 2.5) }}", "1|ab|A|-001.500|1,234,567.89|12.5"),
        ("{{ '{0}-{1}-{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='n') }}|{{ '{{x}}{}'.format(1) }}|{{ '{a}-{b}'.format_map({'a': 1, 'b': 2}) }}", "a-b-a|n!|{x}1|1-2"),
        ("{{ 'ab'.center(5, '-') }}|{{ 'ab'.center(6, '-') }}|{{ 'abc'.center(6) }}|{{ '-7'.zfill(4) }}|{{ 'ab'.rjust(5, '*') }}|{{ 'ab'.ljust(4) }}|", "--ab-|--ab--| abc  |-007|***ab|ab  |"),
        ("{{ \"they're bill's\".title() }}|{{ 'hELLO wORLD'.capitalize() }}|{{ 'Hello World'.swapcase() }}", "They'Re Bill'S|Hello world|hELLO wORLD"),
        ("{{ '  a b '.split(None, 1) }}|{{ 'a b  c '.rsplit(None, 1) }}|{{ 'a,,b'.split(',') }}|{{ ''.split() }}|{{ ''.split(',') }}|{{ 'a,b,c'.rsplit(',', 1) }}", "['a', 'b ']|['a b', 'c']|['a', '', 'b']|[]|['']|['a,b', 'c']"),
        ("{{ 'a\\r\\nb\\rc\\n'.splitlines() }}|{{ 'a\\nb'.splitlines(true) }}", "['a', 'b', 'c']|['a\\n', 'b']"),
        ("{{ 'abcabc'.find('c', 3) }} {{ 'abcabc'.rfind('b') }} {{ 'abc'.find('z') }} {{ 'abc'.index('b') }} {{ 'abc'.count('') }} {{ 'aXbXc'.count('X') }}", "5 4 -1 1 4 2"),
        ("{{ 'Hello World'.istitle() }} {{ 'x1'.isalnum() }} {{ '12.5'.isnumeric() }} {{ '12'.isdigit() }} {{ 'ab'.islower() }} {{ ' '.isspace() }}", "True True False True True True"),
        ("{{ 'abc'.removeprefix('a') }} {{ 'abc'.removesuffix('bc') }} {{ 'a=b=c'.rpartition('=') }} {{ 'a=b'.partition('x') }}", "bc a ('a=b', '=', 'c') ('a=b', '', '')"),
        ("{{ 'abc'.startswith('b', 1) }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith(('c',)) }} {{ 'a\\tbc\\td'.expandtabs(4) }} {{ 'x'.join('abc') }} {{ 'xxhixx'.lstrip('x') }} {{ 'abc'.replace('b', 'B', 1) }}", "True True True a   bc  d axbxc hixx aBc"),
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
