//! The fixture tables of a metric unit test: the rows of a `given` or `expect` block as written
//! (a list of mappings, CSV text, or a select with `format: sql`), the SQL types their values
//! imply, and the statements that create the tables on either engine.
//!
//! Split from the unit tests' `mod.rs` because it is about values, SQL types and tables, not
//! about the entry: it knows no YAML locations and makes no diagnostics (its errors are plain
//! messages the caller places).

use serde_json::{Map, Value};

use super::Engine;
use crate::sql::{quote, Dialect, Relation};

/// The select of a `format: sql` block (`None` for the other formats).
pub(super) fn sql_rows(block: &Map<String, Value>) -> Result<Option<String>, String> {
    if block.get("format").and_then(Value::as_str) != Some("sql") {
        return Ok(None);
    }
    match block.get("rows") {
        Some(Value::String(sql)) if !sql.trim().is_empty() => {
            Ok(Some(sql.trim().trim_end_matches(';').to_string()))
        }
        _ => Err("with `format: sql`, `rows` is one select statement".into()),
    }
}

/// Rows of a `given`/`expect` block: a list of mappings, or CSV text with `format: csv` (none
/// for `format: sql`, see [`sql_rows`]).
pub(super) fn fixture_rows(block: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, String> {
    let format = block
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("dict");
    match (format, block.get("rows")) {
        ("sql", _) => Ok(vec![]),
        (_, None) | (_, Some(Value::Null)) => Ok(vec![]),
        ("dict", Some(Value::Array(rows))) => rows
            .iter()
            .map(|r| match r {
                Value::Object(o) => Ok(o.clone()),
                other => Err(format!(
                    "a row must be a mapping of column to value, not `{other}`"
                )),
            })
            .collect(),
        ("dict", Some(_)) => Err("`rows` must be a list of mappings".into()),
        ("csv", Some(Value::String(text))) => {
            let typed = |v: &str| {
                if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                    Value::Bool(v.eq_ignore_ascii_case("true"))
                } else if let Ok(i) = v.parse::<i64>() {
                    Value::from(i)
                } else if let Some(f) = v.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    Value::from(f)
                } else {
                    Value::String(v.to_string())
                }
            };
            crate::project::seeds::csv_fixture_rows(text, typed).map_err(|e| match e {
                crate::project::seeds::FixtureCsvError::Header(e)
                | crate::project::seeds::FixtureCsvError::Row(e) => format!("csv rows: {e}"),
            })
        }
        ("csv", Some(_)) => Err("with `format: csv`, `rows` is one CSV text with a header".into()),
        (f, _) => Err(format!("unknown fixture format `{f}`")),
    }
}

pub(super) static DATE: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"^\d{4}-\d{2}-\d{2}$").expect("valid regex"));
pub(super) static TIMESTAMP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$").expect("valid regex")
});

/// The SQL type of a fixture column, from its values: integers `bigint`, other numbers
/// `double precision`, booleans, ISO dates and timestamps; anything else (or only nulls) text.
fn column_type(values: &[&Value]) -> &'static str {
    let mut kind: Option<&'static str> = None;
    for v in values {
        let k = match v {
            Value::Null => continue,
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "bigint",
            Value::Number(_) => "double precision",
            Value::String(s) if DATE.is_match(s.trim()) => "date",
            Value::String(s) if TIMESTAMP.is_match(s.trim()) => "timestamp",
            _ => "varchar",
        };
        kind = Some(match (kind, k) {
            (None, k) => k,
            (Some(a), b) if a == b => a,
            (Some("bigint" | "double precision"), "bigint" | "double precision") => {
                "double precision"
            }
            (Some("date" | "timestamp"), "date" | "timestamp") => "timestamp",
            _ => "varchar",
        });
    }
    kind.unwrap_or("varchar")
}

fn sql_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => crate::sql::literal(s),
        other => crate::sql::literal(&other.to_string()),
    }
}

/// `select cast(v as t) as c, ... union all ...` over the rows (columns in first-seen order).
pub(super) fn rows_select(rows: &[Map<String, Value>]) -> String {
    let mut cols: Vec<&String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !cols.contains(&k) {
                cols.push(k);
            }
        }
    }
    let types: Vec<&str> = cols
        .iter()
        .map(|c| {
            let vals: Vec<&Value> = rows.iter().filter_map(|r| r.get(c.as_str())).collect();
            column_type(&vals)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = cols
                .iter()
                .zip(&types)
                .map(|(c, t)| {
                    format!(
                        "cast({} as {t}) as {}",
                        sql_value(r.get(c.as_str()).unwrap_or(&Value::Null)),
                        quote(c)
                    )
                })
                .collect();
            format!("select {}", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\nunion all\n")
}

/// The fixture table of the `i`-th input (`spine` for a generated time spine).
pub(super) fn fixture_relation(
    engine: Engine,
    dialect: Dialect,
    tag: &str,
    what: &str,
) -> Relation {
    match (engine, dialect) {
        (Engine::Duckdb, _) => Relation::new("", "main", format!("given_{what}")),
        (Engine::Target, d) => d.temp_relation(&format!("__sluice_metric_unit_{tag}_{what}")),
    }
}

pub(super) fn create_table(
    engine: Engine,
    dialect: Dialect,
    rel: &Relation,
    select: &str,
) -> String {
    match engine {
        Engine::Duckdb => format!("create table {} as\n{select}", dialect.rel(rel)),
        Engine::Target => format!(
            "create temporary table {} as\n{select}",
            quote(&rel.identifier)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_come_from_values() {
        assert_eq!(column_type(&[&json!(1), &json!(2)]), "bigint");
        assert_eq!(column_type(&[&json!(1), &json!(2.5)]), "double precision");
        assert_eq!(column_type(&[&json!("2025-01-01"), &Value::Null]), "date");
        assert_eq!(
            column_type(&[&json!("2025-01-01"), &json!("2025-01-02 10:00:00")]),
            "timestamp"
        );
        assert_eq!(column_type(&[&json!("smb"), &json!(1)]), "varchar");
        assert_eq!(column_type(&[&Value::Null]), "varchar");
    }
}
