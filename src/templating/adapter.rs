//! `adapter.*` and `api.*` as templates see them: dispatch, relations and columns read from the
//! warehouse (`get_relation`, `get_columns_in_relation`, `list_relations` ...),
//! statements run through the connection, and dbt's `Relation` and `Column` factories.
//!
//! Design decision: at parse time (`Phase::Parse`) every method that would touch the warehouse
//! answers an empty value instead, as dbt's parser does, so a project parses without a
//! connection and packages that introspect the warehouse still parse.

use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Error, State};

use super::calls::{ctx_or_err, err, kw_or_pos, no_method, str_arg, Namespace, COMPILER_ERROR};
use super::macros::{MacroFn, MacroIndex};
use super::objects::relation_value_kind;
use super::{current, Phase};
use crate::sql::Relation;

/// `adapter.*`.
#[derive(Debug)]
pub(crate) struct AdapterObj {
    pub(crate) index: Arc<MacroIndex>,
}

fn relation_of(v: &Value) -> Option<Relation> {
    if let Some(r) = v.downcast_object_ref::<super::objects::RelationObj>() {
        return Some(r.rel.clone());
    }
    let get = |k: &str| {
        v.get_attr(k)
            .ok()
            .and_then(|x| x.as_str().map(str::to_string))
    };
    Some(Relation::new(
        get("database").unwrap_or_default(),
        get("schema")?,
        get("identifier")?,
    ))
}

impl Object for AdapterObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "type" => current().map(|c| Value::from(c.services.adapter_type().to_string())),
            _ => None,
        }
    }

    /// One arm per `adapter.<method>` dbt's adapters offer. Long on purpose (about 250 lines):
    /// the match is the table of methods, each arm a few lines calling the warehouse or the
    /// relation helpers; splitting it would scatter the table.
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let ctx = ctx_or_err()?;
        match method {
            "dispatch" => {
                let name = kw_or_pos(args, 0, "macro_name")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .ok_or_else(|| err("adapter.dispatch needs a macro name"))?;
                let ns = kw_or_pos(args, 1, "macro_namespace")
                    .and_then(|v| v.as_str().map(str::to_string));
                match self.index.dispatch(&name, ns.as_deref(), &ctx.node.package) {
                    Some(def) => Ok(Value::from_object(MacroFn { def })),
                    None => Err(err(format!(
                        "{COMPILER_ERROR}in dispatch: no macro named `{name}` found{} for adapter `{}`; searched for: {}",
                        ns.as_deref().map(|n| format!(" within namespace `{n}`")).unwrap_or_default(),
                        ctx.services.adapter_type(),
                        self.index.dispatch_attempts(&name, ns.as_deref()).join(", ")
                    ))),
                }
            }
            "quote" => Ok(Value::from(ctx.services.dialect().quote(str_arg(args, 0)))),
            "type" => Ok(Value::from(ctx.services.adapter_type().to_string())),
            "get_relation" => {
                let get = |i: usize, k: &str| {
                    kw_or_pos(args, i, k)
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_default())
                        .unwrap_or_default()
                };
                let (db, schema, ident) =
                    (get(0, "database"), get(1, "schema"), get(2, "identifier"));
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(()));
                }
                match ctx
                    .services
                    .get_relation(&db, &schema, &ident)
                    .map_err(err)?
                {
                    Some((rel, kind)) => Ok(relation_value_kind(rel, &kind)),
                    None => Ok(Value::from(())),
                }
            }
            "get_columns_in_relation" => {
                let Some(rel) = args.first().and_then(relation_of) else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(Vec::<Value>::new()));
                }
                let cols = ctx.services.get_columns(&rel).map_err(err)?;
                Ok(Value::from(
                    cols.into_iter()
                        .map(Value::from_object)
                        .collect::<Vec<Value>>(),
                ))
            }
            // `adapter.list_relations(database, schema)` and
            // `adapter.list_relations_without_caching(schema_relation)`: the tables and views of
            // one schema, from `information_schema` (the same query on DuckDB and Postgres).
            "list_relations" | "list_relations_without_caching" => {
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(Vec::<Value>::new()));
                }
                let text = |v: Option<Value>| {
                    v.and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                };
                let (db, schema) = match kw_or_pos(args, 0, "schema_relation") {
                    Some(rel) if rel.as_str().is_none() && !rel.is_undefined() => (
                        text(rel.get_attr("database").ok()),
                        text(rel.get_attr("schema").ok()),
                    ),
                    _ => (
                        text(kw_or_pos(args, 0, "database")),
                        text(kw_or_pos(args, 1, "schema")),
                    ),
                };
                let db_filter = if db.is_empty() {
                    String::new()
                } else {
                    format!(
                        " and lower(table_catalog) = lower({})",
                        crate::sql::literal(&db)
                    )
                };
                let sql = format!(
                    "select table_catalog, table_schema, table_name, table_type from information_schema.tables where table_schema = {}{db_filter} order by table_name",
                    crate::sql::literal(&schema)
                );
                let rows = ctx.services.execute_sql(&sql, true).map_err(err)?.rows;
                let cell = |r: &[serde_json::Value], i: usize| {
                    r.get(i)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                Ok(Value::from(
                    rows.iter()
                        .map(|r| {
                            let kind = if cell(r, 3).eq_ignore_ascii_case("VIEW") {
                                "view"
                            } else {
                                "table"
                            };
                            relation_value_kind(
                                Relation::new(cell(r, 0), cell(r, 1), cell(r, 2)),
                                kind,
                            )
                        })
                        .collect::<Vec<Value>>(),
                ))
            }
            "load_relation" => {
                let Some(rel) = args.first().and_then(relation_of) else {
                    return Ok(Value::from(()));
                };
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(()));
                }
                match ctx
                    .services
                    .get_relation(&rel.database, &rel.schema, &rel.identifier)
                    .map_err(err)?
                {
                    Some((rel, kind)) => Ok(relation_value_kind(rel, &kind)),
                    None => Ok(Value::from(())),
                }
            }
            "get_missing_columns" => {
                // Columns of the first relation that the second lacks (by name, any case).
                let (Some(from), Some(to)) = (
                    kw_or_pos(args, 0, "from_relation")
                        .as_ref()
                        .and_then(relation_of),
                    kw_or_pos(args, 1, "to_relation")
                        .as_ref()
                        .and_then(relation_of),
                ) else {
                    return Ok(Value::from(Vec::<Value>::new()));
                };
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(Vec::<Value>::new()));
                }
                let have: Vec<String> = ctx
                    .services
                    .get_columns(&to)
                    .map_err(err)?
                    .into_iter()
                    .map(|c| c.name.to_lowercase())
                    .collect();
                Ok(Value::from(
                    ctx.services
                        .get_columns(&from)
                        .map_err(err)?
                        .into_iter()
                        .filter(|c| !have.contains(&c.name.to_lowercase()))
                        .map(Value::from_object)
                        .collect::<Vec<Value>>(),
                ))
            }
            "expand_column_types"
            | "expand_target_column_types"
            | "cache_added"
            | "cache_dropped"
            | "cache_renamed" => Ok(Value::from(())),
            "already_exists" => {
                let get = |i: usize| {
                    args.get(i)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string()
                };
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(false));
                }
                let db = ctx
                    .node
                    .this
                    .as_ref()
                    .map(|t| t.database.clone())
                    .unwrap_or_default();
                Ok(Value::from(
                    ctx.services
                        .get_relation(&db, &get(0), &get(1))
                        .map_err(err)?
                        .is_some(),
                ))
            }
            "drop_relation" | "truncate_relation" | "rename_relation" | "create_schema"
            | "drop_schema" => {
                if ctx.phase == Phase::Parse {
                    return Ok(Value::from(()));
                }
                let rel = args
                    .first()
                    .and_then(relation_of)
                    .ok_or_else(|| err(format!("adapter.{method} needs a relation")))?;
                // A view is dropped and renamed as a view (DuckDB and Postgres refuse otherwise).
                let kind = match args.first().and_then(|v| {
                    v.downcast_object_ref::<super::objects::RelationObj>()
                        .map(|r| r.kind.clone())
                }) {
                    Some(k) if !k.is_empty() => k,
                    _ if matches!(method, "drop_relation" | "rename_relation") => ctx
                        .services
                        .get_relation(&rel.database, &rel.schema, &rel.identifier)
                        .map_err(err)?
                        .map(|(_, k)| k)
                        .unwrap_or_else(|| "table".into()),
                    _ => "table".into(),
                };
                let kind = match kind.as_str() {
                    "view" => crate::sql::RelationKind::View,
                    _ => crate::sql::RelationKind::Table,
                };
                let d = ctx.services.dialect();
                let sql = match method {
                    // As the engine's dbt adapter drops (`cascade`, except on Spark).
                    "drop_relation" => match d.drops_relations_with_cascade() {
                        true => {
                            format!("drop {} if exists {} cascade", kind.keyword(), d.rel(&rel))
                        }
                        false => d.drop_relation(&rel, kind),
                    },
                    "truncate_relation" => format!("truncate table {}", d.rel(&rel)),
                    "create_schema" => {
                        format!("create schema if not exists {}", d.quote(&rel.schema))
                    }
                    "drop_schema" => {
                        format!("drop schema if exists {} cascade", d.quote(&rel.schema))
                    }
                    _ => {
                        let to = args
                            .get(1)
                            .and_then(relation_of)
                            .ok_or_else(|| err("rename_relation needs a target"))?;
                        d.rename_relation(&rel, kind, &to.identifier)
                    }
                };
                ctx.services.execute_sql(&sql, false).map_err(err)?;
                Ok(Value::from(()))
            }
            "quote_as_configured" => Ok(Value::from(crate::sql::quote(str_arg(args, 0)))),
            "check_schema_exists" => Ok(Value::from(true)),
            "commit" => Ok(Value::from(())),
            // dbt's parser renders with a permissive adapter: a method it does not know fails
            // the node when it is compiled, not the whole parse (its dependents are skipped).
            _ if ctx.phase == Phase::Parse => Ok(Value::UNDEFINED),
            _ => Err(no_method("adapter", method)),
        }
    }
}

/// `api.Relation.create(...)`, `api.Column(...)`.
pub(crate) fn api() -> Value {
    Value::from_object(Namespace {
        name: "ApiObj",
        members: &[
            ("Relation", || Value::from_object(RelationFactory)),
            ("Column", || Value::from_object(ColumnFactory)),
        ],
    })
}

/// `api.Column`: dbt's base `Column` class (types as dbt names them, `create`, constructing).
#[derive(Debug)]
struct ColumnFactory;

/// dbt's `Column.translate_type` for the target's adapter (the base adapter's without one:
/// `string` becomes `TEXT`, anything else is kept).
fn translate_type(t: &str) -> String {
    match super::current() {
        Some(c) => c.services.dialect().translate_type(t),
        None => crate::sql::base_translate_type(t),
    }
}

impl Object for ColumnFactory {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let name = kw_or_pos(args, 0, "column").map(|v| v.to_string());
        let dtype = kw_or_pos(args, 1, "dtype").map(|v| v.to_string());
        Ok(Value::from_object(super::objects::Column::new(
            name.unwrap_or_default(),
            dtype.unwrap_or_default(),
        )))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| {
            args.get(i)
                .filter(|a| !a.is_none() && !a.is_undefined())
                .map(|a| a.to_string())
        };
        match method {
            "translate_type" => Ok(Value::from(translate_type(&arg(0).unwrap_or_default()))),
            "numeric_type" => {
                let dtype = arg(0).unwrap_or_default();
                let (p, s) = (arg(1), arg(2));
                Ok(Value::from(match super::current() {
                    Some(c) => {
                        c.services
                            .dialect()
                            .numeric_type(&dtype, p.as_deref(), s.as_deref())
                    }
                    None => match (p, s) {
                        (Some(p), Some(s)) => format!("{dtype}({p},{s})"),
                        _ => dtype,
                    },
                }))
            }
            "string_type" => Ok(Value::from(format!(
                "character varying({})",
                arg(0).unwrap_or_else(|| "256".into())
            ))),
            "create" | "from_description" => Ok(Value::from_object(super::objects::Column::new(
                arg(0).unwrap_or_default(),
                translate_type(&arg(1).unwrap_or_default()),
            ))),
            _ => Err(no_method("api.Column", method)),
        }
    }
}

#[derive(Debug)]
struct RelationFactory;

impl Object for RelationFactory {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "create" => {
                let get = |i: usize, k: &str| {
                    kw_or_pos(args, i, k)
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                };
                let mut rel =
                    Relation::new(get(0, "database"), get(1, "schema"), get(2, "identifier"));
                // Quoted as the target's adapter quotes its relations.
                if let Some(c) = super::current() {
                    rel.quote = c.services.dialect().quote_policy();
                }
                let kind = get(3, "type");
                Ok(relation_value_kind(rel, &kind))
            }
            "add_ephemeral_prefix" => Ok(Value::from(format!("__dbt__cte__{}", str_arg(args, 0)))),
            _ => Err(no_method("api.Relation", method)),
        }
    }
}
