//! dbt unit tests: run a model's SQL on fixture rows and compare with expected rows.
//!
//! Each `given` input becomes a temporary table holding its rows, typed like the real input
//! relation's columns; the model is compiled with its refs/sources pointing at those tables, and
//! `expect` rows are compared with the output (both directions of `except all`). Why temporary
//! tables rather than inlined CTEs: the model's SQL is compiled unchanged, so any Jinja it uses
//! behaves exactly as in a real run, and temporary tables vanish with the connection.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::warehouse::ConnWarehouse;
use super::worker::{NodeOutcome, Shared};
use super::RunStatus;
use crate::compile::{CompileServices, Node, Warehouse};
use crate::sql::{Dialect, Relation};
use crate::templating::{Column, NodeInfo, Phase, QueryResult, RenderCtx, Services};

/// Services that resolve the given inputs to fixture tables.
struct UnitServices {
    inner: Arc<CompileServices>,
    refs: BTreeMap<String, Relation>,
    sources: BTreeMap<(String, String), Relation>,
    vars: Map<String, Value>,
    is_incremental: Option<bool>,
    /// `overrides: macros:`, by `name` or `package.name`.
    macros: Map<String, Value>,
}

impl Services for UnitServices {
    fn resolve_ref(
        &self,
        node: &NodeInfo,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String> {
        match self.refs.get(name) {
            Some(r) => Ok(r.clone()),
            None => self.inner.resolve_ref(node, package, name, version),
        }
    }
    fn resolve_source(
        &self,
        node: &NodeInfo,
        source: &str,
        table: &str,
    ) -> Result<Relation, String> {
        match self.sources.get(&(source.to_string(), table.to_string())) {
            Some(r) => Ok(r.clone()),
            None => self.inner.resolve_source(node, source, table),
        }
    }
    fn var(&self, package: &str, name: &str) -> Option<Value> {
        self.vars
            .get(name)
            .cloned()
            .or_else(|| self.inner.var(package, name))
    }
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        self.inner.execute_sql(sql, fetch)
    }
    fn get_relation(
        &self,
        d: &str,
        s: &str,
        i: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        self.inner.get_relation(d, s, i)
    }
    fn get_columns(&self, r: &Relation) -> Result<Vec<Column>, String> {
        self.inner.get_columns(r)
    }
    fn is_incremental(&self, node: &NodeInfo) -> bool {
        self.is_incremental
            .unwrap_or_else(|| self.inner.is_incremental(node))
    }
    fn macro_override(&self, package: &str, name: &str) -> Option<Value> {
        self.macros
            .get(&format!("{package}.{name}"))
            .or_else(|| self.macros.get(name))
            .cloned()
    }
    fn log(&self, m: &str, i: bool) {
        self.inner.log(m, i)
    }
    fn dialect(&self) -> crate::sql::Dialect {
        self.inner.dialect()
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => crate::sql::literal(&yaml_timestamp(s).unwrap_or_else(|| s.clone())),
        other => crate::sql::literal(&other.to_string()),
    }
}

/// A YAML 1.1 timestamp (`2013-11-03 00:00:00-0`, `2020-1-2`) as dbt passes it to a fixture:
/// PyYAML reads it as a date or datetime, which reaches the SQL in ISO form
/// (`2013-11-03T00:00:00+00:00`). serde_yaml keeps it as text, so sluice rewrites it the same way.
fn yaml_timestamp(s: &str) -> Option<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d*))?(?:[ \t]*(Z|[-+]\d{1,2}(?::\d{2})?))?)?$",
        )
        .expect("valid regex")
    });
    let c = RE.captures(s)?;
    let num = |i: usize| {
        c.get(i)
            .map_or(0, |m| m.as_str().parse::<u32>().unwrap_or(0))
    };
    let date = format!("{}-{:02}-{:02}", &c[1], num(2), num(3));
    if c.get(4).is_none() {
        return Some(date);
    }
    let mut out = format!("{date}T{:02}:{:02}:{:02}", num(4), num(5), num(6));
    // Python keeps microseconds: the first six digits, printed only when not zero.
    let micros: String = c
        .get(7)
        .map_or("", |m| m.as_str())
        .chars()
        .take(6)
        .collect();
    let micros = format!("{micros:0<6}");
    if micros != "000000" {
        out.push('.');
        out.push_str(&micros);
    }
    match c.get(8).map(|m| m.as_str()) {
        None => {}
        Some("Z") => out.push_str("+00:00"),
        Some(tz) => {
            let (sign, rest) = tz.split_at(1);
            let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
            let (h, m) = (h.parse::<u32>().unwrap_or(0), m.parse::<u32>().unwrap_or(0));
            let sign = if h == 0 && m == 0 { "+" } else { sign };
            out.push_str(&format!("{sign}{h:02}:{m:02}"));
        }
    }
    Some(out)
}

/// The rows of a `given`/`expect` block: values, or a query (`format: sql`).
enum Fixture {
    Rows(Vec<Map<String, Value>>),
    Sql(String),
}

fn fixture(block: &Map<String, Value>) -> Result<Fixture, String> {
    match (
        block.get("format").and_then(Value::as_str),
        block.get("rows"),
    ) {
        (Some("sql"), Some(Value::String(sql))) => {
            Ok(Fixture::Sql(sql.trim().trim_end_matches(';').to_string()))
        }
        (Some("sql"), _) => Err("`format: sql` needs `rows:` (a query) or `fixture:`".into()),
        _ => fixture_rows(block).map(Fixture::Rows),
    }
}

/// Rows of a `given`/`expect` block: dict rows, or CSV text with `format: csv`.
fn fixture_rows(block: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, String> {
    let format = block
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("dict");
    match (format, block.get("rows")) {
        (_, None) | (_, Some(Value::Null)) => Ok(vec![]),
        ("dict", Some(Value::Array(rows))) => {
            Ok(rows.iter().filter_map(|r| r.as_object().cloned()).collect())
        }
        ("csv", Some(Value::String(text))) => {
            crate::project::seeds::csv_fixture_rows(text, |v| Value::String(v.to_string())).map_err(
                |e| match e {
                    crate::project::seeds::FixtureCsvError::Header(e) => e.to_string(),
                    crate::project::seeds::FixtureCsvError::Row(e) => format!("csv rows: {e}"),
                },
            )
        }
        (f, _) => Err(format!(
            "unsupported fixture format `{f}` (dict, csv and sql are)"
        )),
    }
}

/// The type a fixture value is cast to: the column's, except that a string value for a sized
/// `character varying(n)` column is cast to the unsized type, so a fixture is never cut short
/// by the narrow type the real relation happens to have (dbt does the same, dbt-core#11974).
fn fixture_type<'a>(value: &Value, data_type: &'a str) -> &'a str {
    if value.is_string() && data_type.to_ascii_lowercase().contains("varying") {
        data_type.split('(').next().unwrap_or(data_type).trim_end()
    } else {
        data_type
    }
}

/// A fixture row with its keys matched to `columns` case-insensitively (as dbt matches them);
/// a key no column has is dbt's "Invalid column name" error, naming what `fixture` stands for.
fn match_row<'r>(
    row: &'r Map<String, Value>,
    columns: &[Column],
    fixture: &str,
) -> Result<BTreeMap<usize, &'r Value>, String> {
    let mut matched = BTreeMap::new();
    for (key, value) in row {
        let lower = key.to_lowercase();
        let Some(i) = columns.iter().position(|c| c.name.to_lowercase() == lower) else {
            let accepted: Vec<String> = columns
                .iter()
                .map(|c| format!("'{}'", c.name.to_lowercase()))
                .collect();
            return Err(format!(
                "Invalid column name: '{lower}' in unit test fixture for {fixture}.\nAccepted columns for {fixture} are: [{}]",
                accepted.join(", ")
            ));
        };
        matched.insert(i, value);
    }
    Ok(matched)
}

/// `select cast(v as t) as c, ...` for each row, over `columns` (a column a row leaves out is
/// null); `fixture` names the rows in errors (`'model'` or `expected output`).
fn rows_select(
    d: Dialect,
    rows: &[Map<String, Value>],
    columns: &[Column],
    fixture: &str,
) -> Result<String, String> {
    let typed = |r: &BTreeMap<usize, &Value>| -> String {
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = r.get(&i).copied().unwrap_or(&Value::Null);
                format!(
                    "cast({} as {}) as {}",
                    literal(v),
                    fixture_type(v, &c.data_type),
                    d.quote(&c.name)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if rows.is_empty() {
        return Ok(format!("select {} where false", typed(&BTreeMap::new())));
    }
    let selects = rows
        .iter()
        .map(|r| {
            Ok(format!(
                "select {}",
                typed(&match_row(r, columns, fixture)?)
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(selects.join("\nunion all\n"))
}

/// The model's output columns an `expect` block names (in the model's order), matched
/// case-insensitively.
fn expected_columns(rows: &[Map<String, Value>], actual: &[Column]) -> Result<Vec<Column>, String> {
    let mut picked: Vec<usize> = Vec::new();
    for r in rows {
        for i in match_row(r, actual, "expected output")?.into_keys() {
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
    }
    Ok(picked.into_iter().map(|i| actual[i].clone()).collect())
}

fn quoted_list(d: Dialect, cols: &[Column]) -> String {
    cols.iter()
        .map(|c| d.quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns as the diff compares them: `json` has no equality operator on PostgreSQL, so it
/// is compared as its text (both sides hold the same type, so equal values print alike).
fn compared_list(d: Dialect, cols: &[Column]) -> String {
    cols.iter()
        .map(|c| {
            if c.data_type.eq_ignore_ascii_case("json") {
                format!("cast({q} as text) as {q}", q = d.quote(&c.name))
            } else {
                d.quote(&c.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn run_unit_test(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    match unit_test(shared, node, wh) {
        Ok(o) => o,
        Err(e) => NodeOutcome {
            status: RunStatus::Error,
            message: e.clone(),
            failures: None,
            compiled_code: None,
            detail: Some(e),
            rows_affected: None,
        },
    }
}

fn unit_test(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> Result<NodeOutcome, String> {
    let def = node.definition.as_object().cloned().unwrap_or_default();
    let model_id = node.attached_node.clone().ok_or("unit test has no model")?;
    let model = shared
        .manifest
        .nodes
        .get(&model_id)
        .ok_or_else(|| format!("model `{model_id}` not found"))?;
    let tag = &crate::templating::local_md5(&node.unique_id)[..8];
    let dialect = shared.dialect;
    let run = |sql: &str| -> Result<(), String> { wh.execute_sql(sql, false).map(|_| ()) };
    let (refs, sources, temps) = load_givens(shared, node, &def, tag, wh)?;
    let model_sql = render_model(shared, model, &def, refs, sources, wh)?;
    let expect = def
        .get("expect")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let expected =
        fixture(&expect).map_err(|e| format!("unit test `{}`: expect: {e}", node.name))?;
    let actual_tmp = dialect.temp_relation(&format!("__sluice_unit_{tag}_actual"));
    run(&dialect.drop_temporary(&actual_tmp))?;
    let create = dialect.temporary_table_as(
        &actual_tmp.identifier,
        &format!(
            "select * from (\n{}\n) as __dbt_model",
            model_sql.trim_end().trim_end_matches(';')
        ),
    );
    if let Err(e) = run(&create) {
        cleanup(wh, dialect, &temps, &actual_tmp);
        return Ok(NodeOutcome {
            status: RunStatus::Error,
            message: format!("model SQL failed on the fixtures: {e}"),
            failures: None,
            compiled_code: Some(model_sql),
            detail: Some(e),
            rows_affected: None,
        });
    }
    let compared = wh
        .get_columns(&actual_tmp)
        .and_then(|actual_cols| match &expected {
            Fixture::Rows(rows) => {
                let cols = if rows.iter().all(|r| r.is_empty()) {
                    actual_cols
                } else {
                    expected_columns(rows, &actual_cols)?
                };
                Ok((rows_select(dialect, rows, &cols, "expected output")?, cols))
            }
            // The query's columns, in its order: read from a row-less run of it.
            Fixture::Sql(sql) => {
                let probe =
                    wh.execute_sql(&format!("select * from (\n{sql}\n) as e limit 0"), true)?;
                let cols: Vec<Column> = probe
                    .column_names
                    .iter()
                    .map(|n| Column::new(n.clone(), ""))
                    .collect();
                let list = quoted_list(dialect, &cols);
                Ok((
                    format!("select {list} from (\n{sql}\n) as __dbt_expected"),
                    cols,
                ))
            }
        });
    let (expected_sql, cols) = match compared {
        Ok(c) => c,
        Err(e) => {
            cleanup(wh, dialect, &temps, &actual_tmp);
            return Err(e);
        }
    };
    let diff_sql = format!(
        "with actual as (select {list} from {a}), expected as (select {list} from (\n{expected_sql}\n) as __dbt_expected_rows)\nselect 'missing' as __diff, * from (select * from expected except all select * from actual) m\nunion all\nselect 'unexpected' as __diff, * from (select * from actual except all select * from expected) u",
        a = dialect.rel(&actual_tmp),
        list = compared_list(dialect, &cols),
    );
    let diff = wh.execute_sql(&diff_sql, true);
    cleanup(wh, dialect, &temps, &actual_tmp);
    let diff = diff?;
    if diff.rows.is_empty() {
        return Ok(NodeOutcome {
            status: RunStatus::Pass,
            message: "PASS".into(),
            failures: Some(0),
            compiled_code: Some(model_sql),
            detail: None,
            rows_affected: None,
        });
    }
    let detail = diff_detail(&diff);
    Ok(NodeOutcome {
        status: RunStatus::Fail,
        message: format!("unit test {} failed", node.name),
        failures: Some(diff.rows.len() as u64),
        compiled_code: Some(model_sql),
        detail: Some(detail.trim_end().to_string()),
        rows_affected: None,
    })
}

/// Fixture relations keyed by what the model's SQL names: `ref` names, `(source, table)`.
type Fixtures = (
    BTreeMap<String, Relation>,
    BTreeMap<(String, String), Relation>,
    Vec<Relation>,
);

/// Loads each `given` input into a temporary table with the columns of the relation it stands
/// for; returns the tables for `ref`s and `source`s, and all of them (to drop afterwards).
fn load_givens(
    shared: &Shared,
    node: &Node,
    def: &serde_json::Map<String, Value>,
    tag: &str,
    wh: &Arc<ConnWarehouse>,
) -> Result<Fixtures, String> {
    let dialect = shared.dialect;
    let run = |sql: &str| -> Result<(), String> { wh.execute_sql(sql, false).map(|_| ()) };
    let mut refs = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut temps: Vec<Relation> = Vec::new();
    for (i, given) in def
        .get("given")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let g = given.as_object().cloned().unwrap_or_default();
        let input = g.get("input").and_then(Value::as_str).unwrap_or("");
        let (kind, args) = crate::compile::parse_relation_call(input)
            .ok_or_else(|| format!("unit test `{}`: cannot read input `{input}`", node.name))?;
        let Some(real) = shared
            .resolver
            .relation_of_call(&node.package_name, &kind, &args)?
        else {
            return Err(format!(
                "unit test `{}`: input must be ref(...) or source(...), got `{input}`",
                node.name
            ));
        };
        let columns = wh.get_columns(&real)?;
        if columns.is_empty() {
            return Err(format!(
                "unit test `{}`: cannot read the columns of input `{input}` ({}); build it first",
                node.name,
                real.display_name()
            ));
        }
        let rows =
            fixture(&g).map_err(|e| format!("unit test `{}`: given `{input}`: {e}", node.name))?;
        let select = match rows {
            Fixture::Rows(rows) => rows_select(
                dialect,
                &rows,
                &columns,
                &format!("'{}'", args.last().map(String::as_str).unwrap_or("")),
            )?,
            Fixture::Sql(sql) => format!("select * from (\n{sql}\n) as __dbt_fixture"),
        };
        let tmp = dialect.temp_relation(&format!("__sluice_unit_{tag}_{i}"));
        run(&dialect.drop_temporary(&tmp))?;
        run(&dialect.temporary_table_as(&tmp.identifier, &select))?;
        temps.push(tmp.clone());
        match kind.as_str() {
            "ref" => {
                refs.insert(args.last().cloned().unwrap_or_default(), tmp);
            }
            _ => {
                sources.insert((args[0].clone(), args[1].clone()), tmp);
            }
        }
    }
    Ok((refs, sources, temps))
}

/// The model's SQL over the fixtures, with the test's `overrides` (vars, macros such as
/// `is_incremental`).
fn render_model(
    shared: &Shared,
    model: &Node,
    def: &serde_json::Map<String, Value>,
    refs: BTreeMap<String, Relation>,
    sources: BTreeMap<(String, String), Relation>,
    wh: &Arc<ConnWarehouse>,
) -> Result<String, String> {
    let overrides = def
        .get("overrides")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let vars = overrides
        .get("vars")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let macros = overrides
        .get("macros")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let is_incremental = macros.get("is_incremental").and_then(Value::as_bool);
    let inner = Arc::new(CompileServices::new(
        shared.resolver.clone(),
        Some(wh.clone() as Arc<dyn Warehouse>),
        false,
        shared.dialect,
    ));
    let svc: Arc<dyn Services> = Arc::new(UnitServices {
        inner,
        refs,
        sources,
        vars,
        is_incremental,
        macros,
    });
    let ctx = Arc::new(RenderCtx::new(
        Phase::Compile,
        crate::compile::node_info(model),
        svc.clone(),
    ));
    let model_sql = shared
        .templates
        .render(&model.original_file_path, &model.raw_code, &ctx)
        .map_err(|d| d.to_string())?;
    Ok(model_sql)
}

/// The rows that differ, as the failure's detail (the first 20).
fn diff_detail(diff: &QueryResult) -> String {
    let mut detail = format!("actual differs from expected ({} rows):\n", diff.rows.len());
    detail.push_str(&format!("  {}\n", diff.column_names.join(" | ")));
    for r in diff.rows.iter().take(20) {
        detail.push_str(&format!(
            "  {}\n",
            r.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    detail
}

fn cleanup(wh: &Arc<ConnWarehouse>, dialect: Dialect, temps: &[Relation], actual: &Relation) {
    for t in temps.iter().chain(std::iter::once(actual)) {
        let _ = wh.execute_sql(&dialect.drop_temporary(t), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_timestamps_reach_sql_as_python_prints_them() {
        let cases = [
            ("2013-11-03 00:00:00-0", Some("2013-11-03T00:00:00+00:00")),
            ("2013-11-03 00:00:00", Some("2013-11-03T00:00:00")),
            (
                "2001-12-14t21:59:43.10-05:00",
                Some("2001-12-14T21:59:43.100000-05:00"),
            ),
            (
                "2001-12-14 21:59:43.10 Z",
                Some("2001-12-14T21:59:43.100000+00:00"),
            ),
            ("2020-1-2", Some("2020-01-02")),
            ("2020-01-02", Some("2020-01-02")),
            ("2020-01-02 is a date", None),
            ("longer_string_value", None),
        ];
        for (yaml, want) in cases {
            assert_eq!(yaml_timestamp(yaml).as_deref(), want, "{yaml}");
        }
    }

    #[test]
    fn fixture_rows_match_columns_case_insensitively_and_name_bad_ones() {
        let cols = vec![
            Column::new("tested_column", "INTEGER"),
            Column::new("name", "character varying(5)"),
        ];
        let rows: Vec<Map<String, Value>> = [
            json!({"TESTED_COLUMN": 2, "name": "longer_string_value"}),
            json!({"tested_colUmn": 3}),
        ]
        .iter()
        .map(|r| r.as_object().cloned().unwrap())
        .collect();
        let sql = rows_select(crate::adapters::IN_MEMORY_DIALECT, &rows, &cols, "'up'").unwrap();
        assert_eq!(
            sql,
            "select cast(2 as INTEGER) as \"tested_column\", cast('longer_string_value' as character varying) as \"name\"\n\
             union all\n\
             select cast(3 as INTEGER) as \"tested_column\", cast(null as character varying(5)) as \"name\""
        );
        let bad: Vec<Map<String, Value>> = vec![json!({"Nope": 1}).as_object().cloned().unwrap()];
        let err = rows_select(
            crate::adapters::IN_MEMORY_DIALECT,
            &bad,
            &cols,
            "expected output",
        )
        .unwrap_err();
        assert!(
            err.starts_with("Invalid column name: 'nope' in unit test fixture for expected output.\nAccepted columns for expected output are: ['tested_column', 'name']"),
            "{err}"
        );
        let picked = expected_columns(&rows[1..], &cols).unwrap();
        assert_eq!(
            picked.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["tested_column"]
        );
    }
}
