//! Comparing the rows a metric unit test's query returned with the expected rows, and the diff
//! a user reads when they differ.
//!
//! Design decision: rows are compared in Rust rather than with SQL `except`, because a metric's
//! value is a computed number: `0.3333` must be able to match `1/3` within a tolerance, a
//! PostgreSQL `numeric` arrives as text, and a `metric_time` as a timestamp while the test wrote a
//! date. Normalising cells here gives the same verdict and the same diff on every engine.

use serde_json::Value;

use super::fixtures::{DATE, TIMESTAMP};
use super::Compiled;

/// A cell, normalised for comparison: numbers (also numeric text, as PostgreSQL's `numeric`
/// arrives) compare as numbers, midnight timestamps as their date.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
}

fn cell(v: Option<&Value>) -> Cell {
    match v {
        None | Some(Value::Null) => Cell::Null,
        Some(Value::Bool(b)) => Cell::Text(b.to_string()),
        Some(Value::Number(n)) => n.as_f64().map_or(Cell::Null, Cell::Num),
        Some(Value::String(s)) => {
            let t = s.trim();
            if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
                return Cell::Num(f);
            }
            // A UTC offset of zero (`+00`, `+00:00`, `Z`) says nothing a date does not.
            let t = t
                .strip_suffix("+00:00")
                .or_else(|| t.strip_suffix("+00"))
                .or_else(|| t.strip_suffix('Z'))
                .unwrap_or(t);
            if TIMESTAMP.is_match(t) || DATE.is_match(t) {
                let t = t.replacen('T', " ", 1);
                let t = t.trim_end_matches(".000").trim_end_matches(".000000");
                let t = t.strip_suffix(" 00:00:00").unwrap_or(t);
                let t = t.strip_suffix(" 00:00").unwrap_or(t);
                return Cell::Text(t.to_string());
            }
            Cell::Text(t.to_string())
        }
        Some(other) => Cell::Text(other.to_string()),
    }
}

fn show(c: &Cell) -> String {
    match c {
        Cell::Null => "null".into(),
        Cell::Num(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Cell::Num(f) => {
            let s = format!("{f:.10}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Cell::Text(t) => t.clone(),
    }
}

fn same(a: &Cell, b: &Cell, tolerance: f64) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => (x - y).abs() <= tolerance + 1e-9 * y.abs().max(1.0),
        _ => a == b,
    }
}

/// The outcome of a comparison: how many rows differ and dbt's diff of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Difference {
    pub(crate) rows: u64,
    pub(crate) text: String,
}

/// Rows shown in a diff at most.
const SHOWN_DIFF_ROWS: usize = 30;

/// Compares the rows a run returned (`actual_columns`, `actual_rows`) with the expected ones, over
/// `c.columns`; `None` when they agree. Rows are matched on the group-by columns (in any order),
/// metric values within `c.tolerance`. The diff reads like dbt's unit test diff: `@@` the header,
/// `→` a row whose values differ (`expected→actual`), `---` an expected row the query did not
/// return, `+++` a returned row that was not expected.
pub(crate) fn compare(
    c: &Compiled,
    actual_columns: &[String],
    actual_rows: &[Vec<Value>],
) -> Result<Option<Difference>, String> {
    let mut idx = Vec::new();
    for col in &c.columns {
        let i = actual_columns
            .iter()
            .position(|a| a == col)
            .ok_or_else(|| format!("the query returned no column `{col}`"))?;
        idx.push(i);
    }
    let is_metric: Vec<bool> = c
        .columns
        .iter()
        .map(|col| c.metric_columns.contains(col))
        .collect();
    let expected: Vec<Vec<Cell>> = c
        .expected
        .iter()
        .map(|r| c.columns.iter().map(|col| cell(r.get(col))).collect())
        .collect();
    let actual: Vec<Vec<Cell>> = actual_rows
        .iter()
        .map(|r| idx.iter().map(|i| cell(r.get(*i))).collect())
        .collect();
    let keys_same = |a: &[Cell], b: &[Cell]| {
        a.iter()
            .zip(b)
            .zip(&is_metric)
            .all(|((x, y), m)| *m || same(x, y, 0.0))
    };
    let all_same = |a: &[Cell], b: &[Cell]| {
        a.iter()
            .zip(b)
            .zip(&is_metric)
            .all(|((x, y), m)| same(x, y, if *m { c.tolerance } else { 0.0 }))
    };
    // Pair every expected row: first with an identical actual row, then with one of equal keys.
    let mut used = vec![false; actual.len()];
    let mut pair: Vec<Option<usize>> = vec![None; expected.len()];
    for (ei, e) in expected.iter().enumerate() {
        if let Some(ai) = (0..actual.len()).find(|&ai| !used[ai] && all_same(e, &actual[ai])) {
            used[ai] = true;
            pair[ei] = Some(ai);
        }
    }
    let mut changed = vec![false; expected.len()];
    for (ei, e) in expected.iter().enumerate() {
        if pair[ei].is_some() {
            continue;
        }
        if let Some(ai) = (0..actual.len()).find(|&ai| !used[ai] && keys_same(e, &actual[ai])) {
            used[ai] = true;
            pair[ei] = Some(ai);
            changed[ei] = true;
        }
    }
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    let mut differing = 0u64;
    for (ei, e) in expected.iter().enumerate() {
        match pair[ei] {
            Some(ai) if changed[ei] => {
                differing += 1;
                let cells = e
                    .iter()
                    .zip(&actual[ai])
                    .zip(&is_metric)
                    .map(|((x, y), m)| {
                        if same(x, y, if *m { c.tolerance } else { 0.0 }) {
                            show(x)
                        } else {
                            format!("{}→{}", show(x), show(y))
                        }
                    })
                    .collect();
                lines.push(("→".into(), cells));
            }
            Some(_) => lines.push((String::new(), e.iter().map(show).collect())),
            None => {
                differing += 1;
                lines.push(("---".into(), e.iter().map(show).collect()));
            }
        }
    }
    for (ai, a) in actual.iter().enumerate() {
        if !used[ai] {
            differing += 1;
            lines.push(("+++".into(), a.iter().map(show).collect()));
        }
    }
    if differing == 0 {
        return Ok(None);
    }
    let hidden = lines.len().saturating_sub(SHOWN_DIFF_ROWS);
    lines.truncate(SHOWN_DIFF_ROWS);
    let mut widths: Vec<usize> = c.columns.iter().map(|h| h.chars().count()).collect();
    for (_, cells) in &lines {
        for (w, x) in widths.iter_mut().zip(cells) {
            *w = (*w).max(x.chars().count());
        }
    }
    let row = |mark: &str, cells: &[String]| {
        let mut s = format!("{mark:<3}");
        for (i, (x, w)) in cells.iter().zip(&widths).enumerate() {
            s.push(',');
            if i + 1 == cells.len() {
                s.push_str(x);
            } else {
                s.push_str(&format!("{x:<w$} ", w = *w));
            }
        }
        s
    };
    let mut text = String::from("actual differs from expected:\n\n");
    text.push_str(&row("@@", &c.columns));
    for (mark, cells) in &lines {
        text.push('\n');
        text.push_str(&row(mark, cells));
    }
    if hidden > 0 {
        text.push_str(&format!("\n... and {hidden} more rows"));
    }
    Ok(Some(Difference {
        rows: differing,
        text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::unit_tests::Engine;
    use serde_json::json;

    fn compiled(expected: Value, tolerance: f64) -> Compiled {
        Compiled {
            metric: "revenue".into(),
            engine: Engine::Duckdb,
            setup: vec![],
            teardown: vec![],
            sql: String::new(),
            columns: vec!["metric_time__month".into(), "revenue".into()],
            metric_columns: vec!["revenue".into()],
            expected: serde_json::from_value(expected).unwrap(),
            expected_sql: None,
            tolerance,
        }
    }

    #[test]
    fn equal_rows_in_any_order_agree() {
        let c = compiled(
            json!([{"metric_time__month": "2025-01-01", "revenue": 100},
                   {"metric_time__month": "2025-02-01", "revenue": 0.3333}]),
            0.0001,
        );
        let cols = vec!["metric_time__month".to_string(), "revenue".to_string()];
        let rows = vec![
            vec![json!("2025-02-01T00:00:00"), json!(1.0 / 3.0)],
            vec![json!("2025-01-01 00:00:00+00"), json!("100.0")],
        ];
        assert_eq!(compare(&c, &cols, &rows).unwrap(), None);
    }

    #[test]
    fn differences_read_like_dbt() {
        let c = compiled(
            json!([{"metric_time__month": "2025-01-01", "revenue": 100},
                   {"metric_time__month": "2025-02-01", "revenue": 120},
                   {"metric_time__month": "2025-04-01", "revenue": 5}]),
            0.0,
        );
        let cols = vec!["metric_time__month".to_string(), "revenue".to_string()];
        let rows = vec![
            vec![json!("2025-01-01"), json!(100)],
            vec![json!("2025-02-01"), json!(110)],
            vec![json!("2025-03-01"), json!(70)],
        ];
        let d = compare(&c, &cols, &rows).unwrap().unwrap();
        assert_eq!(d.rows, 3);
        assert_eq!(
            d.text,
            "actual differs from expected:\n\n\
             @@ ,metric_time__month ,revenue\n   \
             ,2025-01-01         ,100\n\
             →  ,2025-02-01         ,120→110\n\
             ---,2025-04-01         ,5\n\
             +++,2025-03-01         ,70"
        );
    }
}
