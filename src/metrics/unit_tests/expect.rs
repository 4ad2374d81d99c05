//! The `expect` block of a metric unit test: the expected rows (a list of mappings, CSV text, or
//! a select with `format: sql`), the tolerance of metric values, and the columns compared (those
//! the rows name, in the query's order; all of them when the rows name none).
//!
//! Split from the unit tests' `mod.rs` as the last step of compiling an entry: it checks the
//! rows against the columns the planned query returns.

use serde_json::{Map, Value};

use super::fixtures::{fixture_rows, sql_rows};
use super::{unknown_key, Entry, EXPECT_KEYS};
use crate::diagnostics::Diagnostic;

/// The expected rows of a test and how they are compared.
pub(super) struct Expected {
    pub(super) rows: Vec<Map<String, Value>>,
    /// With `format: sql`, the select of the expected rows.
    pub(super) sql: Option<String>,
    pub(super) tolerance: f64,
    /// The columns compared, in the query's order.
    pub(super) columns: Vec<String>,
    /// Which of `columns` hold metric values.
    pub(super) metric_columns: Vec<String>,
}

/// The entry's `expect` block, checked against the columns the query returns (`returned`);
/// `metrics`: the metrics the query asks for.
pub(super) fn expected(
    e: &Entry,
    returned: &[String],
    metrics: &[String],
) -> Result<Expected, Diagnostic> {
    let name = &e.name;
    let expect = match e.v.get("expect") {
        Some(Value::Object(x)) => {
            unknown_key(e, Some("expect"), "`expect`", x, EXPECT_KEYS)?;
            x.clone()
        }
        _ => {
            return Err(e.err(
                Some("expect"),
                format!("metric unit test `{name}` has no `expect` rows"),
                format!(
                    "e.g. expect:\n  rows:\n    - {{{}: 100}}",
                    returned.join(": ..., ")
                ),
            ))
        }
    };
    let expected_sql = sql_rows(&expect).map_err(|m| {
        e.err(
            Some("expect"),
            format!("metric unit test `{name}`, expect: {m}"),
            "with format: sql, `rows` is one select of the expected rows",
        )
    })?;
    let expected = fixture_rows(&expect).map_err(|m| {
        e.err(
            Some("expect"),
            format!("metric unit test `{name}`, expect: {m}"),
            "rows: [{column: value, ...}], format: csv with CSV text, or format: sql with a select",
        )
    })?;
    let tolerance = match expect.get("tolerance") {
        None | Some(Value::Null) => 0.0,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| t >= 0.0) => n.as_f64().unwrap_or(0.0),
        Some(other) => {
            return Err(e.err(
                Some("expect"),
                format!(
                    "metric unit test `{name}`: `tolerance` must be a number >= 0, not `{other}`"
                ),
                "e.g. tolerance: 0.0001",
            ))
        }
    };
    let mut named: Vec<&String> = Vec::new();
    for r in &expected {
        for k in r.keys() {
            if !returned.contains(k) {
                return Err(e.err(
                    Some("expect"),
                    format!("metric unit test `{name}` expects column `{k}`, which the query does not return"),
                    format!(
                        "the query returns {}",
                        returned.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !named.contains(&k) {
                named.push(k);
            }
        }
    }
    let columns: Vec<String> = if named.is_empty() {
        returned.to_vec()
    } else {
        returned
            .iter()
            .filter(|c| named.contains(c))
            .cloned()
            .collect()
    };
    let metric_columns: Vec<String> = columns
        .iter()
        .filter(|c| metrics.contains(c))
        .cloned()
        .collect();
    Ok(Expected {
        rows: expected,
        sql: expected_sql,
        tolerance,
        columns,
        metric_columns,
    })
}
