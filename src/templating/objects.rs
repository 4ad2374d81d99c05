//! Objects the dbt context exposes to templates: relations (`this`, `ref()` results), query
//! results shaped like agate tables (`run_query`), columns, and `run_started_at`.
//!
//! They are minijinja `Object`s rather than plain maps so that they print the way dbt prints them
//! (a relation renders as `"db"."schema"."name"`) while still answering attribute lookups.

use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use super::calls::no_method;
use crate::sql::Relation;

/// A relation as templates see it.
#[derive(Debug)]
pub(crate) struct RelationObj {
    pub(crate) rel: Relation,
    /// `table`, `view`, `cte` or empty when unknown.
    pub(crate) kind: String,
    /// Ephemeral models render as their CTE name, not a qualified relation.
    pub(crate) cte: bool,
    /// `--empty`: the relation renders as a zero-row subquery; `Some(true)` when the engine
    /// needs the subquery aliased (as `_dbt_limit_subq_<name>`, dbt's alias).
    pub(crate) empty: Option<bool>,
    /// A microbatch's event-time window: the relation renders as `(select * from <rel> where
    /// <condition>)`, aliased `_dbt_et_filter_subq_<name>` where the engine needs it.
    pub(crate) filter: Option<(String, bool)>,
}

pub(crate) fn relation_value(rel: Relation) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: String::new(),
        cte: false,
        empty: None,
        filter: None,
    })
}

/// A relation as `--empty` renders it: `(select * from <rel> where false limit 0)`, aliased
/// where the engine needs it, as dbt's `render_limited` does.
pub(crate) fn empty_relation_value(rel: Relation, needs_alias: bool) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: String::new(),
        cte: false,
        empty: Some(needs_alias),
        filter: None,
    })
}

/// `rel` limited to a microbatch's window (`condition`), as dbt renders an event-time filter.
pub(crate) fn filtered_relation_value(
    rel: Relation,
    condition: String,
    needs_alias: bool,
) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: String::new(),
        cte: false,
        empty: None,
        filter: Some((condition, needs_alias)),
    })
}

pub(crate) fn relation_value_kind(rel: Relation, kind: &str) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: kind.to_string(),
        cte: false,
        empty: None,
        filter: None,
    })
}

/// The relation an ephemeral model's `ref()` renders as: `__dbt__cte__<name>`.
pub(crate) fn cte_value(rel: Relation) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: "cte".into(),
        cte: true,
        empty: None,
        filter: None,
    })
}

/// An ephemeral model's CTE as `--empty` renders it (see [`empty_relation_value`]).
pub(crate) fn empty_cte_value(rel: Relation, needs_alias: bool) -> Value {
    Value::from_object(RelationObj {
        rel,
        kind: "cte".into(),
        cte: true,
        empty: Some(needs_alias),
        filter: None,
    })
}

impl RelationObj {
    fn rendered(&self) -> String {
        if self.cte {
            format!("__dbt__cte__{}", self.rel.identifier)
        } else if self.rel.identifier.is_empty() || self.rel.schema.is_empty() {
            // A path without some parts (`api.Relation.create(database=d, schema=s)`, a schema):
            // dbt renders the parts it has.
            rendered_parts(&self.rel, true, true, true)
        } else {
            self.rel.quoted()
        }
    }
}

impl Object for RelationObj {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let r = &self.rel;
        Some(match key.as_str()? {
            // Spark's relations have none (Python's `None`, as dbt-spark prints it).
            "database" if r.database.is_empty() => Value::from(()),
            "database" => Value::from(r.database.clone()),
            "schema" => Value::from(r.schema.clone()),
            "identifier" | "name" | "table" => Value::from(r.identifier.clone()),
            "type" => {
                if self.kind.is_empty() {
                    Value::from(())
                } else {
                    Value::from(self.kind.clone())
                }
            }
            "is_table" => Value::from(self.kind == "table"),
            "is_view" => Value::from(self.kind == "view"),
            "is_cte" => Value::from(self.cte),
            "is_materialized_view" | "is_pointer" => Value::from(false),
            "metadata" => {
                let kind = super::current()
                    .map_or("BaseRelation", |c| c.services.dialect().relation_class());
                Value::from_serialize(serde_json::json!({ "type": kind }))
            }
            "quote_policy" => Value::from_serialize(serde_json::json!({
                "database": r.quote.database, "schema": r.quote.schema,
                "identifier": r.quote.identifier
            })),
            "include_policy" => Value::from_serialize(serde_json::json!({
                "database": !r.database.is_empty() && !r.quote.skip_database,
                "schema": true, "identifier": true
            })),
            "path" => Value::from_serialize(serde_json::json!({
                "database": r.database, "schema": r.schema, "identifier": r.identifier
            })),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "render" => Ok(Value::from(self.rendered())),
            "information_schema" | "information_schema_only" => {
                let view = args.first().and_then(Value::as_str).map(str::to_string);
                Ok(Value::from_object(InformationSchema {
                    rel: self.rel.clone(),
                    view,
                }))
            }
            "without_identifier" => Ok(Value::from_object(PartialRelation {
                rel: self.rel.clone(),
                database: true,
                schema: true,
                identifier: false,
            })),
            "include" | "quote" | "replace_path" => {
                // include(database=False) etc.: drop parts from the rendered name.
                let kwargs = args.iter().find_map(|a| Kwargs::try_from(a.clone()).ok());
                let given = |k: &str| {
                    kwargs
                        .as_ref()
                        .and_then(|kw| kw.get::<Option<bool>>(k).ok().flatten())
                };
                let keep = |k: &str| given(k).unwrap_or(true);
                if method == "quote" {
                    // quote(identifier=True) etc.: quote those parts (or not), keep the others.
                    let mut rel = self.rel.clone();
                    let q = &mut rel.quote;
                    q.database = given("database").unwrap_or(q.database);
                    q.schema = given("schema").unwrap_or(q.schema);
                    q.identifier = given("identifier").unwrap_or(q.identifier);
                    return Ok(Value::from_object(RelationObj {
                        rel,
                        kind: self.kind.clone(),
                        cte: self.cte,
                        empty: self.empty,
                        filter: self.filter.clone(),
                    }));
                }
                if method == "include"
                    && (!keep("database") || !keep("schema") || !keep("identifier"))
                {
                    return Ok(Value::from_object(PartialRelation {
                        rel: self.rel.clone(),
                        database: keep("database"),
                        schema: keep("schema"),
                        identifier: keep("identifier"),
                    }));
                }
                Ok(Value::from_object(RelationObj {
                    rel: self.rel.clone(),
                    kind: self.kind.clone(),
                    cte: self.cte,
                    empty: self.empty,
                    filter: self.filter.clone(),
                }))
            }
            "incorporate" => {
                let mut rel = self.rel.clone();
                let mut kind = self.kind.clone();
                if let Some(kw) = args.iter().find_map(|a| Kwargs::try_from(a.clone()).ok()) {
                    if let Ok(Some(path)) = kw.get::<Option<Value>>("path") {
                        // A part given as a string replaces it; given as `none`, removes it
                        // (`path={"schema": none}`); not given, keeps it.
                        let part = |k: &str| match path.get_attr(k) {
                            Ok(v) if v.is_none() => Some(String::new()),
                            Ok(v) => v.as_str().map(str::to_string),
                            Err(_) => None,
                        };
                        if let Some(id) = part("identifier") {
                            rel.identifier = id;
                        }
                        if let Some(s) = part("schema") {
                            rel.schema = s;
                        }
                        if let Some(d) = part("database") {
                            rel.database = d;
                        }
                    }
                    if let Ok(Some(t)) = kw.get::<Option<String>>("type") {
                        kind = t;
                    }
                }
                Ok(Value::from_object(RelationObj {
                    rel,
                    kind,
                    cte: false,
                    empty: None,
                    filter: None,
                }))
            }
            _ => Err(no_method("relation", method)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rendered = match self.empty {
            None => self.rendered(),
            Some(alias) => {
                let mut r = format!("(select * from {} where false limit 0)", self.rendered());
                if alias {
                    r.push_str(&format!(" _dbt_limit_subq_{}", self.rel.identifier));
                }
                r
            }
        };
        // As dbt, the event-time filter wraps the limited subquery, not the other way around.
        if let Some((condition, alias)) = &self.filter {
            rendered = format!("(select * from {rendered} where {condition})");
            if *alias {
                rendered.push_str(&format!(" _dbt_et_filter_subq_{}", self.rel.identifier));
            }
        }
        f.write_str(&rendered)
    }
}

/// A relation rendered with some parts left out (`this.include(database=False)`).
#[derive(Debug)]
struct PartialRelation {
    rel: Relation,
    database: bool,
    schema: bool,
    identifier: bool,
}

impl Object for PartialRelation {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        relation_value(self.rel.clone())
            .get_attr(key.as_str()?)
            .ok()
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&rendered_parts(
            &self.rel,
            self.database,
            self.schema,
            self.identifier,
        ))
    }
}

/// `relation.information_schema('columns')`: the database's `INFORMATION_SCHEMA` (and one of
/// its views), as dbt's `InformationSchema` renders it: the database quoted as the relation's
/// policy says, `INFORMATION_SCHEMA` and the view as written.
#[derive(Debug)]
struct InformationSchema {
    rel: Relation,
    view: Option<String>,
}

impl Object for InformationSchema {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "database" if self.rel.database.is_empty() => Value::from(()),
            "database" => Value::from(self.rel.database.clone()),
            "schema" => Value::from(()),
            "identifier" | "name" => Value::from("INFORMATION_SCHEMA"),
            "information_schema_view" => Value::from(self.view.clone()),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = rendered_parts(&self.rel, true, false, false);
        let mut parts: Vec<&str> = Vec::new();
        if !database.is_empty() {
            parts.push(&database);
        }
        parts.push("INFORMATION_SCHEMA");
        if let Some(v) = &self.view {
            parts.push(v);
        }
        f.write_str(&parts.join("."))
    }
}

/// The parts of `rel` that are kept and not empty, each quoted as its policy says, joined by
/// dots, in the engine's case (a database the engine does not name is left out).
fn rendered_parts(rel: &Relation, database: bool, schema: bool, identifier: bool) -> String {
    let q = rel.quote;
    let parts: Vec<String> = [
        (&rel.database, database && !q.skip_database, q.database),
        (&rel.schema, schema, q.schema),
        (&rel.identifier, identifier, q.identifier),
    ]
    .into_iter()
    .filter(|(part, kept, _)| *kept && !part.is_empty())
    .map(|(part, _, quoted)| match quoted {
        true => crate::sql::quote_with(part, q.mark),
        false => part.clone(),
    })
    .collect();
    q.cased(parts.join("."))
}

/// A column of a relation (`adapter.get_columns_in_relation`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Column {
    pub(crate) name: String,
    pub(crate) data_type: String,
}

impl Column {
    pub(crate) fn new(name: impl Into<String>, dtype: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            data_type: dtype.into(),
        }
    }
    /// The type as dbt's adapter describes it: `(dtype, char_size, numeric_precision,
    /// numeric_scale)`. Where the engine's adapter reads sizes apart (dbt-postgres), a string's
    /// or number's size is taken off its type (`character varying(20)` is `character varying`
    /// of size 20); elsewhere the type stays whole.
    fn described(&self) -> (String, Option<u64>, Option<u64>, Option<u64>) {
        let apart = super::current().is_some_and(|c| c.services.dialect().column_sizes_apart());
        let whole = (self.data_type.clone(), None, None, None);
        if !apart {
            return whole;
        }
        // PostgreSQL's `information_schema.columns` gives binary precisions to its fixed-size
        // numbers (and scale 0 to the integers).
        let fixed = match self.data_type.to_ascii_lowercase().as_str() {
            "smallint" => Some((16, Some(0))),
            "integer" => Some((32, Some(0))),
            "bigint" => Some((64, Some(0))),
            "real" => Some((24, None)),
            "double precision" => Some((53, None)),
            _ => None,
        };
        if let Some((p, s)) = fixed {
            return (self.data_type.clone(), None, Some(p), s);
        }
        let Some((base, rest)) = self.data_type.split_once('(') else {
            return whole;
        };
        let Some(args) = rest.strip_suffix(')') else {
            return whole;
        };
        let base = base.trim_end().to_string();
        let nums: Vec<Option<u64>> = args.split(',').map(|a| a.trim().parse().ok()).collect();
        let lower = base.to_ascii_lowercase();
        match nums.as_slice() {
            [Some(n)] if is_string_type(&lower) => (base, Some(*n), None, None),
            [Some(p)] if is_numeric_type(&lower) => (base, None, Some(*p), Some(0)),
            [Some(p), Some(s)] if is_numeric_type(&lower) => (base, None, Some(*p), Some(*s)),
            _ => whole,
        }
    }
    fn lower(&self) -> String {
        self.described().0.to_ascii_lowercase()
    }
    /// dbt's `Column.is_string()`: the dtype is exactly one of the string types.
    pub(crate) fn is_string(&self) -> bool {
        is_string_type(&self.lower())
    }
    pub(crate) fn is_float(&self) -> bool {
        [
            "real",
            "float",
            "float4",
            "float8",
            "double",
            "double precision",
        ]
        .contains(&self.lower().as_str())
    }
    pub(crate) fn is_integer(&self) -> bool {
        [
            "smallint",
            "integer",
            "bigint",
            "smallserial",
            "serial",
            "bigserial",
            "int2",
            "int4",
            "int8",
            "int",
            "tinyint",
            "hugeint",
            "utinyint",
            "usmallint",
            "uinteger",
            "ubigint",
            "uhugeint",
        ]
        .contains(&self.lower().as_str())
    }
    pub(crate) fn is_numeric(&self) -> bool {
        is_numeric_type(&self.lower())
    }
    /// dbt's `Column.data_type`: a string as `character varying(<size>)` (256 when no size is
    /// known), a number with its precision and scale when both are known, everything else as the
    /// dtype. Where the engine keeps them (Postgres), `text` and an unsized
    /// `character varying` stay as they are (dbt-postgres's `PostgresColumn`).
    pub(crate) fn dbt_data_type(&self) -> String {
        let keeps_text = super::current().is_some_and(|c| c.services.dialect().keeps_text_type());
        let (dtype, size, precision, scale) = self.described();
        let lower = dtype.to_ascii_lowercase();
        if keeps_text && (lower == "text" || (lower == "character varying" && size.is_none())) {
            dtype
        } else if is_string_type(&lower) {
            match size {
                Some(n) if lower != "text" => format!("character varying({n})"),
                _ => "character varying(256)".to_string(),
            }
        } else if let (true, Some(p), Some(s)) = (is_numeric_type(&lower), precision, scale) {
            format!("{dtype}({p},{s})")
        } else {
            self.data_type.clone()
        }
    }
}

fn is_string_type(lower: &str) -> bool {
    ["text", "character varying", "character", "varchar"].contains(&lower)
}

fn is_numeric_type(lower: &str) -> bool {
    ["numeric", "decimal"].contains(&lower)
}

impl Object for Column {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.name.clone()),
            "dtype" => Value::from(self.described().0),
            "data_type" | "expanded_data_type" => Value::from(self.dbt_data_type()),
            "quoted" => Value::from(crate::sql::quote(&self.name)),
            "char_size" => Value::from(self.described().1),
            "numeric_precision" => Value::from(self.described().2),
            "numeric_scale" => Value::from(self.described().3),
            "fields" => Value::from(Vec::<Value>::new()),
            _ => return None,
        })
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        Ok(match method {
            "is_string" => Value::from(self.is_string()),
            "is_number" => Value::from(self.is_integer() || self.is_numeric() || self.is_float()),
            "is_numeric" => Value::from(self.is_numeric()),
            "is_integer" => Value::from(self.is_integer()),
            "is_float" => Value::from(self.is_float()),
            "is_struct" => Value::from(self.lower().starts_with("struct")),
            "string_size" => Value::from(match self.described() {
                (d, Some(n), _, _) if !d.eq_ignore_ascii_case("text") => n,
                _ => 256,
            }),
            "literal" => Value::from(format!(
                "{}::{}",
                args.first().map(|a| a.to_string()).unwrap_or_default(),
                self.dbt_data_type()
            )),
            "can_expand_to" => Value::from(false),
            _ => return Err(no_method("column", method)),
        })
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Column {} ({})>", self.name, self.data_type)
    }
}

/// Rows returned by `run_query` / `load_result(...)['table']`, shaped like an agate table.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub(crate) column_names: Vec<String>,
    pub(crate) rows: Vec<Vec<serde_json::Value>>,
    /// Per column, what templates see its values as (empty: all plain).
    pub(crate) kinds: Vec<CellKind>,
}

/// What a result column's values are to a template. agate hands dbt's macros Python `date` and
/// `datetime` objects, so `{{ v }}` prints `2024-01-02 03:04:05+00:00` and `v.strftime(..)`
/// works; rows keep them as ISO text and they become objects when a template reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum CellKind {
    #[default]
    Plain,
    Date,
    Timestamp,
    TimestampTz,
}

impl QueryResult {
    fn kind(&self, column: usize) -> CellKind {
        self.kinds.get(column).copied().unwrap_or_default()
    }
}

/// A result cell as a template value (see [`CellKind`]).
fn cell(v: &serde_json::Value, kind: CellKind) -> Value {
    use super::pydatetime::{parse_iso, PyDate, PyDateTime, TzInfo};
    let text = match (v, kind) {
        (serde_json::Value::String(s), k) if k != CellKind::Plain => s,
        _ => return Value::from_serialize(v),
    };
    match (kind, parse_iso(text)) {
        (CellKind::Date, Some((t, _))) => PyDate::value(t.date()),
        (CellKind::Timestamp, Some((t, tz))) => PyDateTime::value(t, tz),
        (CellKind::TimestampTz, Some((t, tz))) => {
            PyDateTime::value(t, Some(tz.unwrap_or_else(TzInfo::pytz_utc)))
        }
        _ => Value::from(text.clone()),
    }
}

#[derive(Debug)]
pub(crate) struct TableObj(pub(crate) QueryResult);

impl Object for TableObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "rows" => Some(Value::from(
                self.0
                    .rows
                    .iter()
                    .map(|r| {
                        Value::from_object(RowObj {
                            names: self.0.column_names.clone(),
                            values: r.clone(),
                            kinds: self.0.kinds.clone(),
                        })
                    })
                    .collect::<Vec<_>>(),
            )),
            "columns" => Some(Value::from_object(ColumnsObj(self.0.clone()))),
            "column_names" => Some(Value::from_serialize(&self.0.column_names)),
            _ => None,
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let rows: Vec<Value> = self
            .0
            .rows
            .iter()
            .map(|r| {
                Value::from_object(RowObj {
                    names: self.0.column_names.clone(),
                    values: r.clone(),
                    kinds: self.0.kinds.clone(),
                })
            })
            .collect();
        Enumerator::Values(rows)
    }
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "print_table" => Ok(Value::from(())),
            _ => Err(no_method("table", method)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct RowObj {
    names: Vec<String>,
    values: Vec<serde_json::Value>,
    kinds: Vec<CellKind>,
}

impl RowObj {
    fn at(&self, i: usize) -> Option<Value> {
        let kind = self.kinds.get(i).copied().unwrap_or_default();
        self.values.get(i).map(|v| cell(v, kind))
    }
}

impl Object for RowObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(i) = key.as_i64() {
            let i = if i < 0 {
                self.values.len() as i64 + i
            } else {
                i
            };
            return self.at(i as usize);
        }
        let name = key.as_str()?;
        let i = self.names.iter().position(|n| n == name)?;
        self.at(i)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.values.len())
    }
}

#[derive(Debug)]
pub(crate) struct ColumnsObj(QueryResult);

impl Object for ColumnsObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = match key.as_i64() {
            Some(i) => i as usize,
            None => self
                .0
                .column_names
                .iter()
                .position(|n| Some(n.as_str()) == key.as_str())?,
        };
        let name = self.0.column_names.get(i)?.clone();
        let values: Vec<serde_json::Value> = self
            .0
            .rows
            .iter()
            .map(|r| r.get(i).cloned().unwrap_or_default())
            .collect();
        let kind = self.0.kind(i);
        Some(Value::from_object(ResultColumn { name, values, kind }))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.column_names.len())
    }
    /// agate's `MappedSequence` methods: `keys()`, `values()`, `items()`, `get(name)`.
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let column = |i: usize| self.get_value(&Value::from(i as i64)).unwrap_or_default();
        let names = &self.0.column_names;
        match method {
            "keys" => Ok(Value::from(names.clone())),
            "values" => Ok(Value::from(
                (0..names.len()).map(column).collect::<Vec<_>>(),
            )),
            "items" => Ok(Value::from(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Value::from(vec![Value::from(n.clone()), column(i)]))
                    .collect::<Vec<_>>(),
            )),
            "get" => Ok(args
                .first()
                .and_then(|k| self.get_value(k))
                .or_else(|| args.get(1).cloned())
                .unwrap_or_default()),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("columns have no method `{method}`"),
            )),
        }
    }
}

#[derive(Debug)]
struct ResultColumn {
    name: String,
    values: Vec<serde_json::Value>,
    kind: CellKind,
}

impl Object for ResultColumn {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.name.clone())),
            _ => None,
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from(
                self.values
                    .iter()
                    .map(|v| cell(v, self.kind))
                    .collect::<Vec<_>>(),
            )),
            _ => Err(no_method("column", method)),
        }
    }
}

/// The `model` variable of a render: the node's identity and config, converted to template
/// values only when a template reads them (most never do, and converting every node's whole
/// config up front was a tenth of compiling a large project).
#[derive(Debug)]
pub(crate) struct ModelObj(pub(crate) Arc<super::NodeInfo>);

impl ModelObj {
    const KEYS: &'static [&'static str] = &[
        "unique_id",
        "name",
        "package_name",
        "resource_type",
        "original_file_path",
        "config",
    ];
}

impl Object for ModelObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let n = &self.0;
        Some(match key.as_str()? {
            "unique_id" => Value::from(n.unique_id.clone()),
            "name" => Value::from(n.name.clone()),
            "package_name" => Value::from(n.package.clone()),
            "resource_type" => Value::from(n.resource_type.clone()),
            "original_file_path" => Value::from(n.original_file_path.clone()),
            "config" => Value::from_serialize(&n.config),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(Self::KEYS)
    }
}

#[cfg(test)]
mod tests {
    use super::super::functions::render_python;

    fn render(src: &str) -> String {
        render_python(src, &[("api", super::super::adapter::api())])
    }

    #[test]
    fn a_relation_renders_the_parts_it_has() {
        // A schema made with `api.Relation.create` (no identifier), as dbt renders it.
        assert_eq!(
            render("{{ api.Relation.create(database='db', schema='raw') }}"),
            r#""db"."raw""#
        );
        assert_eq!(
            render("{{ api.Relation.create(database='db', schema='raw') }}.events"),
            r#""db"."raw".events"#
        );
        assert_eq!(
            render("{{ api.Relation.create(schema='raw', identifier='t') }}"),
            r#""raw"."t""#
        );
        assert_eq!(
            render("{{ api.Relation.create(database='db', schema='raw', identifier='t') }}"),
            r#""db"."raw"."t""#
        );
        assert_eq!(
            render("{{ api.Relation.create(database='db', schema='raw', identifier='t').include(identifier=False) }}"),
            r#""db"."raw""#
        );
    }
}
