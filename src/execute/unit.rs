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
use crate::sql::{quote, Dialect, Relation};
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
        Value::String(s) => crate::sql::literal(s),
        other => crate::sql::literal(&other.to_string()),
    }
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

/// `select cast(v as t) as c, ...` for each row, over `columns`.
fn rows_select(rows: &[Map<String, Value>], columns: &[Column]) -> String {
    let typed = |r: Option<&Map<String, Value>>| -> String {
        columns
            .iter()
            .map(|c| {
                let v = r.and_then(|r| r.get(&c.name)).unwrap_or(&Value::Null);
                format!(
                    "cast({} as {}) as {}",
                    literal(v),
                    c.data_type,
                    quote(&c.name)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if rows.is_empty() {
        return format!("select {} where false", typed(None));
    }
    rows.iter()
        .map(|r| format!("select {}", typed(Some(r))))
        .collect::<Vec<_>>()
        .join("\nunion all\n")
}

fn parse_input(s: &str) -> Option<(String, Vec<String>)> {
    let s = s.trim();
    let (kind, rest) = s.split_once('(')?;
    let args = rest
        .trim_end_matches(')')
        .split(',')
        .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .collect();
    Some((kind.trim().to_string(), args))
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
    let mut cols: Vec<String> = Vec::new();
    match &expected {
        Fixture::Rows(rows) => {
            for r in rows {
                for k in r.keys() {
                    if !cols.contains(k) {
                        cols.push(k.clone());
                    }
                }
            }
        }
        // The query's columns, in its order: read from a row-less run of it.
        Fixture::Sql(sql) => {
            let probe = wh.execute_sql(&format!("select * from (\n{sql}\n) as e limit 0"), true)?;
            cols = probe.column_names;
        }
    }
    let actual_tmp = dialect.temp_relation(&format!("__sluice_unit_{tag}_actual"));
    run(&format!(
        "drop table if exists {}",
        dialect.rel(&actual_tmp)
    ))?;
    let col_list = if cols.is_empty() {
        "*".to_string()
    } else {
        cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
    };
    let create = format!(
        "create temporary table {} as select {col_list} from (\n{}\n) as __dbt_model",
        quote(&actual_tmp.identifier),
        model_sql.trim_end().trim_end_matches(';')
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
    let actual_cols = wh.get_columns(&actual_tmp)?;
    let expected_sql = match &expected {
        Fixture::Rows(rows) => rows_select(rows, &actual_cols),
        Fixture::Sql(sql) => format!("select {col_list} from (\n{sql}\n) as __dbt_expected",),
    };
    let diff_sql = format!(
        "with actual as (select * from {a}), expected as ({expected_sql})\nselect 'missing' as __diff, * from (select * from expected except all select * from actual) m\nunion all\nselect 'unexpected' as __diff, * from (select * from actual except all select * from expected) u",
        a = dialect.rel(&actual_tmp)
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
        let (kind, args) = parse_input(input)
            .ok_or_else(|| format!("unit test `{}`: cannot read input `{input}`", node.name))?;
        let real = match kind.as_str() {
            "ref" => {
                shared
                    .resolver
                    .ref_relation(
                        &node.package_name,
                        if args.len() > 1 {
                            Some(args[0].as_str())
                        } else {
                            None
                        },
                        args.last().map(String::as_str).unwrap_or(""),
                        None,
                    )?
                    .0
            }
            "source" if args.len() == 2 => shared.resolver.source_relation(&args[0], &args[1])?,
            _ => {
                return Err(format!(
                    "unit test `{}`: input must be ref(...) or source(...), got `{input}`",
                    node.name
                ))
            }
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
            Fixture::Rows(rows) => rows_select(&rows, &columns),
            Fixture::Sql(sql) => format!("select * from (\n{sql}\n) as __dbt_fixture"),
        };
        let tmp = dialect.temp_relation(&format!("__sluice_unit_{tag}_{i}"));
        run(&format!("drop table if exists {}", dialect.rel(&tmp)))?;
        run(&format!(
            "create temporary table {} as {select}",
            quote(&tmp.identifier),
        ))?;
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
        let _ = wh.execute_sql(&format!("drop table if exists {}", dialect.rel(t)), false);
    }
}
