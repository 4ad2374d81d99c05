//! Running a metric unit test: load its fixture tables, run the metric query over them and
//! compare the rows with the expected ones (`metrics::unit_tests` compiled all three at parse
//! time; this module only does the IO).
//!
//! Design decision: the default engine is a fresh in-memory DuckDB per test, opened here and
//! dropped at the end, rather than the worker's warehouse connection: nothing of the warehouse is
//! read or written, so a metric definition is checked in milliseconds, before (and without) any
//! model being built, and a test cannot leave anything behind. `engine: target` uses the worker's
//! connection with temporary tables, dropped afterwards whatever happened.

use std::sync::Arc;

use super::warehouse::ConnWarehouse;
use super::worker::NodeOutcome;
use super::RunStatus;
use crate::adapters::Connection;
use crate::compile::Node;
use crate::metrics::unit_tests::{compare, Compiled, Engine};
use crate::templating::QueryResult;

pub(crate) fn run(node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let error = |message: String, sql: Option<String>| NodeOutcome {
        status: RunStatus::Error,
        detail: Some(message.clone()),
        message,
        failures: None,
        compiled_code: sql,
        rows_affected: None,
    };
    let compiled: Compiled = match node
        .definition
        .get("metric_unit_test")
        .cloned()
        .map(serde_json::from_value)
    {
        Some(Ok(c)) => c,
        _ => {
            return error(
                format!("metric unit test {} has no compiled definition", node.name),
                None,
            )
        }
    };
    let result = match compiled.engine {
        Engine::Duckdb => match crate::adapters::in_memory_duckdb() {
            Ok(mut conn) => query(conn.as_mut(), &compiled),
            Err(e) => Err(e.to_string()),
        },
        Engine::Target => match wh.conn.lock() {
            Ok(mut conn) => {
                let r = query(conn.as_mut(), &compiled);
                for stmt in &compiled.teardown {
                    let _ = conn.execute(stmt);
                }
                r
            }
            Err(_) => Err("connection poisoned".into()),
        },
    };
    let sql = Some(compiled.sql.clone());
    let (table, expected) = match result {
        Ok(t) => t,
        Err(e) => {
            return error(
                format!(
                    "metric unit test {} could not run the query of `{}` on its fixtures: {}\nhint: the given rows need every column the query reads (see the compiled SQL), with values of the right type",
                    node.name,
                    compiled.metric,
                    e.trim_end()
                ),
                sql,
            )
        }
    };
    let compiled = match expected {
        Some(t) => match with_expected_rows(compiled, &t) {
            Ok(c) => c,
            Err(e) => return error(format!("metric unit test {}: {e}", node.name), sql),
        },
        None => compiled,
    };
    match compare(&compiled, &table.column_names, &table.rows) {
        Ok(None) => NodeOutcome {
            status: RunStatus::Pass,
            message: "PASS".into(),
            failures: Some(0),
            compiled_code: sql,
            detail: None,
            rows_affected: None,
        },
        Ok(Some(diff)) => NodeOutcome {
            status: RunStatus::Fail,
            message: format!("unit test {} failed", node.name),
            failures: Some(diff.rows),
            compiled_code: sql,
            detail: Some(diff.text),
            rows_affected: None,
        },
        Err(e) => error(format!("metric unit test {}: {e}", node.name), sql),
    }
}

/// Creates the fixtures, runs the metric query, and (with `format: sql`) the select of the
/// expected rows.
fn query(
    conn: &mut dyn Connection,
    c: &Compiled,
) -> Result<(QueryResult, Option<QueryResult>), String> {
    for stmt in &c.setup {
        conn.execute(stmt).map_err(|e| e.to_string())?;
    }
    let actual = conn.query(&c.sql).map_err(|e| e.to_string())?;
    let expected = match &c.expected_sql {
        Some(sql) => Some(
            conn.query(sql)
                .map_err(|e| format!("the select of the expected rows failed: {e}"))?,
        ),
        None => None,
    };
    Ok((actual, expected))
}

/// `compiled` with the rows of its expected select, compared over the select's columns.
fn with_expected_rows(mut c: Compiled, t: &QueryResult) -> Result<Compiled, String> {
    if let Some(unknown) = t.column_names.iter().find(|n| !c.columns.contains(n)) {
        return Err(format!(
            "the expected rows have a column `{unknown}`, which the query does not return (it returns {})",
            c.columns
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    c.columns.retain(|x| t.column_names.contains(x));
    c.metric_columns.retain(|x| t.column_names.contains(x));
    c.expected = t
        .rows
        .iter()
        .map(|r| {
            t.column_names
                .iter()
                .cloned()
                .zip(r.iter().cloned())
                .collect()
        })
        .collect();
    Ok(c)
}
