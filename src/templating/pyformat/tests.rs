//! Tests of Python's number rules and `%` formatting: each expected value is what Python prints.

use super::*;

fn v<T: Into<Value>>(x: T) -> Value {
    x.into()
}

/// Found by the fuzzer: `'%99999999999999999999d' % 1` overflowed a `String`'s capacity.
#[test]
fn huge_widths_are_errors() {
    for fmt in [
        "%99999999999999999999d",
        "%99999999999s",
        "%.99999999999f",
        "%0123456789012d",
    ] {
        let e = percent_format(fmt, &v(1)).unwrap_err().to_string();
        assert!(e.contains("too big"), "{fmt}: {e}");
    }
    assert!(percent_format("%*d", &Value::from(vec![v(100_000_000_000i64), v(1)])).is_err());
    assert_eq!(percent_format("%5d", &v(1)).unwrap(), "    1");
}

// Expected values printed by Python 3 (`repr(x)`, `fmt % args`).
#[test]
fn floats_print_as_python_prints_them() {
    for (f, want) in [
        (1000.0, "1000.0"),
        (0.0025, "0.0025"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (1e15, "1000000000000000.0"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-2.5, "-2.5"),
        (1e20, "1e+20"),
        (f64::NAN, "nan"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        assert_eq!(py_float(f), want, "{f}");
    }
}

#[test]
fn percent_formats_as_python() {
    let t = |items: Vec<Value>| PyTuple::value(items);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("%s", v(1.5), "1.5"),
        ("%d", v(3.7), "3"),
        ("%5.2f", v(3.14158), " 3.14"),
        ("%-5d|", v(42), "42   |"),
        ("%05d", v(-42), "-0042"),
        ("%+d", v(5), "+5"),
        ("%#x", v(255), "0xff"),
        ("%X", v(255), "FF"),
        ("%#o", v(8), "0o10"),
        ("%e", v(12345.678), "1.234568e+04"),
        ("%.2e", v(0.000123), "1.23e-04"),
        ("%g", v(12345.678), "12345.7"),
        ("%g", v(0.0001), "0.0001"),
        ("%g", v(1e-5), "1e-05"),
        ("%g", v(123456789.0), "1.23457e+08"),
        ("%.3g", v(1234.5), "1.23e+03"),
        ("%#g", v(1.0), "1.00000"),
        ("%g", v(100.0), "100"),
        ("%r", v("a"), "'a'"),
        ("%s", v(()), "None"),
        ("%s", v(true), "True"),
        ("%d", v(true), "1"),
        ("%c", v(65), "A"),
        ("%10s|", v("ab"), "        ab|"),
        ("%.1s", v("abc"), "a"),
        ("100%%", t(vec![]), "100%"),
        ("%s", v(vec![v(1), v("a")]), "[1, 'a']"),
        ("%s-%s", t(vec![v("a"), v(2)]), "a-2"),
        ("%s-%s", v(vec![v("a"), v(2)]), "a-2"),
        ("% d", v(5), " 5"),
        ("%.0f", v(2.5), "2"),
        ("%.0f", v(3.5), "4"),
        ("%s", v(1e20), "1e+20"),
        ("%*d", t(vec![v(5), v(3)]), "    3"),
        ("%.*f", t(vec![v(2), v(3.14158)]), "3.14"),
        ("%E", v(1.5), "1.500000E+00"),
        ("%G", v(1e-10), "1E-10"),
    ];
    for (fmt, args, want) in cases {
        let got = percent_format(fmt, &args).unwrap_or_else(|e| e.to_string());
        assert_eq!(got, want, "{fmt} % {args:?}");
    }
    let mut m = indexmap::IndexMap::new();
    m.insert(Value::from("a"), Value::from("x"));
    m.insert(Value::from("b"), Value::from(2));
    let d = Value::from(m);
    assert_eq!(percent_format("%(a)s-%(b)d", &d).unwrap(), "x-2");
    assert!(percent_format("%s %s", &Value::from("a")).is_err());
    assert!(percent_format("%s", &t(vec![v(1), v(2)])).is_err());
    assert_eq!(
        percent_format("%s", &PyList::value(vec![v(1), v(2)])).unwrap(),
        "[1, 2]"
    );
}

// Expected values printed by `~/dbtvenv/bin/python` rendering `{{ x | int }}` with Jinja2.
#[test]
fn int_and_float_filters_as_jinja2() {
    let i = |x: Value| int_filter(x, None, None).unwrap().to_string();
    assert_eq!(i(v("-1")), "-1");
    assert_eq!(i(v(" 4 ")), "4");
    assert_eq!(i(v("4.5")), "4");
    assert_eq!(i(v("abc")), "0");
    assert_eq!(i(v("1_000")), "1000");
    assert_eq!(i(v(4.7)), "4");
    assert_eq!(i(v(true)), "1");
    assert_eq!(i(v(())), "0");
    assert_eq!(
        int_filter(v("abc"), Some(v(7)), None).unwrap().to_string(),
        "7"
    );
    assert_eq!(
        int_filter(v("0x1A"), Some(v(0)), Some(16))
            .unwrap()
            .to_string(),
        "26"
    );
    let r = |x: Value, p: Option<i32>, m: Option<&str>| {
        py_text(&round_filter(x, p, m.map(str::to_string)).unwrap())
    };
    assert_eq!(r(v(3.14158), Some(2), None), "3.14");
    assert_eq!(r(v(2.5), None, None), "2.0");
    assert_eq!(r(v(3.5), None, None), "4.0");
    assert_eq!(r(v(-2.5), None, None), "-2.0");
    assert_eq!(r(v(1.005), Some(2), None), "1.0");
    assert_eq!(r(v(2.567), Some(1), Some("floor")), "2.5");
    assert_eq!(r(v(2.12), Some(1), Some("ceil")), "2.2");
    assert_eq!(r(v(42), None, None), "42");
    assert_eq!(r(v(1250), Some(-2), None), "1200");
    assert_eq!(r(v(1234.5), Some(-2), None), "1200.0");
    let f = |x: Value| py_text(&float_filter(x, None));
    assert_eq!(f(v("3")), "3.0");
    assert_eq!(f(v("x")), "0.0");
    assert_eq!(f(v("1e3")), "1000.0");
    assert_eq!(f(v(2)), "2.0");
}

// `~/dbtvenv/bin/python`: 2 ** -1 == 0.5, 2 ** 10 == 1024, 4 ** 0.5 == 2.0, 7 / 2 == 3.5.
#[test]
fn power_and_division_as_python() {
    assert_eq!(py_pow(v(2), v(-1)).unwrap().to_string(), "0.5");
    assert_eq!(py_pow(v(2), v(10)).unwrap().to_string(), "1024");
    assert_eq!(py_text(&py_pow(v(4), v(0.5)).unwrap()), "2.0");
    assert_eq!(py_truediv(v(7), v(2)).unwrap().to_string(), "3.5");
    assert!(py_truediv(v(1), v(0)).is_err());
}

#[test]
fn modulo_and_floor_division_as_python() {
    let m = |a: Value, b: Value| py_mod(a, b).unwrap().to_string();
    let d = |a: Value, b: Value| py_floordiv(a, b).unwrap().to_string();
    assert_eq!(m(v(7), v(3)), "1");
    assert_eq!(m(v(-7), v(3)), "2");
    assert_eq!(m(v(7), v(-3)), "-2");
    assert_eq!(m(v(7.5), v(2)), "1.5");
    assert_eq!(m(v(-7.5), v(2)), "0.5");
    assert_eq!(d(v(7), v(2)), "3");
    assert_eq!(d(v(-7), v(2)), "-4");
    assert_eq!(d(v(7), v(-2)), "-4");
    assert_eq!(d(v(7.0), v(2)), "3.0");
    assert_eq!(d(v(1.0), v(0.1)), "9.0");
    assert!(py_mod(v(1), v(0)).is_err());
    assert!(py_floordiv(v(1), v(0)).is_err());
}
