//! How Python prints a float (`repr(float)`, which `str()` and `{{ x }}` use too). Used by the
//! operators and filters here and by how `pyvalues` prints values, so it depends on neither.

/// Python's `repr(float)`: the shortest digits that read back, `1e+16` / `1e-05` outside
/// `1e-4 <= |x| < 1e16`, `.0` on whole numbers, `nan`, `inf`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Python's rule: exponent notation when the decimal point would sit 17 or more digits in,
    // or 4 or more zeros after the point.
    if !(-4..16).contains(&exp) {
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    }
}
