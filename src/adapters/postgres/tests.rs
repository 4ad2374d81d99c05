//! Unit tests of the PostgreSQL adapter's pure parts: COPY field encoding, text-to-JSON typing,
//! profile errors and connection hints.

use super::*;

#[test]
fn copy_fields_keep_nulls_and_empty_strings_apart() {
    let mut s = String::new();
    for v in [
        SeedValue::Null,
        SeedValue::Text(String::new()),
        SeedValue::Text("a \"b\", c".into()),
        SeedValue::Float(f64::INFINITY),
        SeedValue::Int(-3),
    ] {
        copy_field(&mut s, &v);
        s.push(',');
    }
    assert_eq!(s, r#","","a ""b"", c",Infinity,-3,"#);
}

#[test]
fn text_values_are_typed_by_column() {
    assert_eq!(
        text_to_json(Some("t"), Some(&Type::BOOL)),
        Value::Bool(true)
    );
    assert_eq!(text_to_json(Some("42"), Some(&Type::INT8)), Value::from(42));
    assert_eq!(
        text_to_json(Some("1672.00"), Some(&Type::NUMERIC)),
        Value::from(1672.0)
    );
    assert_eq!(
        text_to_json(Some("12"), Some(&Type::NUMERIC)),
        Value::from(12)
    );
    assert_eq!(
        text_to_json(Some("2024-01-02 03:04:05"), Some(&Type::TIMESTAMP)),
        Value::from("2024-01-02T03:04:05")
    );
    assert_eq!(text_to_json(None, Some(&Type::TEXT)), Value::Null);
    assert_eq!(
        text_to_json(Some("NaN"), Some(&Type::FLOAT8)),
        Value::from("NaN")
    );
}

#[test]
fn bad_sslmode_is_a_clear_error() {
    let e = tls::connector("maybe", None, None, None)
        .err()
        .unwrap_or_default();
    assert!(e.contains("`sslmode: maybe`") && e.contains("hint:"), "{e}");
    assert!(tls::connector("disable", None, None, None)
        .unwrap()
        .is_none());
    assert!(tls::connector("require", None, None, None)
        .unwrap()
        .is_some());
}

#[test]
fn connect_hints_name_the_likely_cause() {
    assert!(connect_hint("password authentication failed for user \"x\"").contains("password"));
    assert!(
        connect_hint("error connecting to server: Connection refused (os error 111)")
            .contains("server running")
    );
}
