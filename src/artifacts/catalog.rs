//! `catalog.json` in dbt's v1 shape: what the warehouse says about the project's relations
//! (table or view, columns in order with their types, row counts where cheap).
//!
//! [`read_catalog`] asks the warehouse through the engine-neutral [`Connection`] trait;
//! [`catalog_json`] is pure and maps the rows onto manifest nodes and sources.
//!
//! Decision: one `information_schema` query per database for all the schemas the project uses,
//! rather than one introspection call per relation: a 10,000-model project lives in a handful of
//! schemas, so the catalog costs a few round trips instead of ten thousand, and
//! `information_schema` is spoken by DuckDB and Postgres alike. Row counts come from a second,
//! engine-specific query that is allowed to fail (then the catalog simply has no row counts).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::{format_ts, ArtifactMeta, DBT_VERSION};
use crate::adapters::{AdapterError, Connection};
use crate::compile::{Manifest, Node, ResourceType};
use crate::sql::{Relation, RelationKind};

/// One relation as the warehouse describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CatalogTable {
    pub(crate) database: String,
    pub(crate) schema: String,
    pub(crate) name: String,
    /// `BASE TABLE` or `VIEW` (information_schema's `table_type`).
    pub(crate) kind: String,
    /// (name, type) in column order.
    pub(crate) columns: Vec<(String, String)>,
    pub(crate) row_count: Option<u64>,
    /// The relation's owner, where the engine keeps one.
    pub(crate) owner: Option<String>,
    /// The warehouse's comment on the relation (`persist_docs` writes them).
    pub(crate) comment: Option<String>,
    /// The comments on its columns, by column name.
    pub(crate) column_comments: BTreeMap<String, String>,
}

/// Key used to match a node to a warehouse relation (engines differ in case folding).
fn key(database: &str, schema: &str, name: &str) -> (String, String, String) {
    (
        database.to_lowercase(),
        schema.to_lowercase(),
        name.to_lowercase(),
    )
}

/// Nodes that have a relation in the warehouse: models (not ephemeral), seeds, snapshots, and
/// sources.
pub(crate) fn catalog_nodes(m: &Manifest) -> impl Iterator<Item = &Node> {
    m.nodes
        .values()
        .map(|n| &**n)
        .filter(|n| match n.resource_type {
            ResourceType::Model => {
                n.materialization() != crate::compile::Materialization::Ephemeral && n.is_enabled()
            }
            ResourceType::Seed | ResourceType::Snapshot => n.is_enabled(),
            _ => false,
        })
        .chain(m.sources.values())
}

fn identifier(n: &Node) -> &str {
    match &n.source {
        Some(s) if !s.identifier.is_empty() => &s.identifier,
        _ => &n.alias,
    }
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Reads the relations of every schema the project's nodes live in.
pub(crate) fn read_catalog(
    conn: &mut dyn Connection,
    m: &Manifest,
) -> Result<Vec<CatalogTable>, AdapterError> {
    let mut schemas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in catalog_nodes(m) {
        schemas
            .entry(n.database.to_lowercase())
            .or_default()
            .insert(n.schema.to_lowercase());
    }
    let dialect = conn.dialect();
    let mut tables: BTreeMap<(String, String, String), CatalogTable> = BTreeMap::new();
    for (database, schemas) in &schemas {
        if !dialect.has_information_schema() {
            // Relation by relation, from the engine's own catalog commands (Spark's `show
            // tables` and `describe table`).
            for schema in schemas {
                for (name, kind) in conn.list_relations(database, schema)?.unwrap_or_default() {
                    let rel = Relation {
                        quote: dialect.quote_policy(),
                        ..Relation::new(database.as_str(), schema.as_str(), name.as_str())
                    };
                    let columns = conn
                        .columns(&rel)?
                        .into_iter()
                        .map(|c| (c.name, c.data_type))
                        .collect();
                    let kind = match kind {
                        RelationKind::View => "VIEW",
                        _ => "BASE TABLE",
                    };
                    tables.insert(
                        key(database, schema, &name),
                        CatalogTable {
                            database: database.clone(),
                            schema: schema.clone(),
                            name,
                            kind: kind.to_string(),
                            columns,
                            row_count: None,
                            owner: None,
                            comment: None,
                            column_comments: BTreeMap::new(),
                        },
                    );
                }
            }
            continue;
        }
        let list: Vec<String> = schemas.iter().map(|s| sql_str(s)).collect();
        // Postgres only sees its own database in information_schema; DuckDB sees every attached
        // catalog, so the database filter matters there.
        let db_filter = dialect.catalog_database_filter(database);
        let sql = dialect
            .catalog_columns_query(&list.join(", "))
            .unwrap_or_else(|| {
                format!(
                    "select c.table_catalog, c.table_schema, c.table_name, t.table_type, c.column_name, \
                     c.ordinal_position, c.data_type \
                     from information_schema.columns c \
                     join information_schema.tables t on t.table_catalog = c.table_catalog \
                     and t.table_schema = c.table_schema and t.table_name = c.table_name \
                     where lower(c.table_schema) in ({}){db_filter} \
                     order by c.table_catalog, c.table_schema, c.table_name, c.ordinal_position",
                    list.join(", ")
                )
            });
        let rows = conn.query(&sql)?;
        for r in &rows.rows {
            let text = |i: usize| match r.get(i) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            let (db, schema, name) = (text(0), text(1), text(2));
            let entry = tables
                .entry(key(&db, &schema, &name))
                .or_insert_with(|| CatalogTable {
                    database: db.clone(),
                    schema: schema.clone(),
                    name: name.clone(),
                    kind: text(3),
                    columns: Vec::new(),
                    row_count: None,
                    owner: None,
                    comment: None,
                    column_comments: BTreeMap::new(),
                });
            entry.columns.push((text(4), text(6)));
        }
    }
    // Row counts where the engine keeps them: optional, so errors are ignored.
    let counts_sql = dialect.table_row_counts_query();
    if let Some(sql) = counts_sql {
        if let Ok(rows) = conn.query(sql) {
            for r in &rows.rows {
                let s = |i: usize| r.get(i).and_then(Value::as_str).unwrap_or_default();
                if let Some(t) = tables.get_mut(&key(s(0), s(1), s(2))) {
                    if t.kind == "BASE TABLE" {
                        t.row_count = r.get(3).and_then(|v| {
                            v.as_u64()
                                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        });
                    }
                }
            }
        }
    }
    // Owners, likewise optional.
    if let Some(sql) = dialect.relation_owners_query() {
        if let Ok(rows) = conn.query(sql) {
            for r in &rows.rows {
                let s = |i: usize| r.get(i).and_then(Value::as_str).unwrap_or_default();
                if let Some(t) = tables.get_mut(&key(s(0), s(1), s(2))) {
                    t.owner = r.get(3).and_then(Value::as_str).map(str::to_string);
                }
            }
        }
    }
    // Comments, likewise optional.
    if let Some(sql) = dialect.comments_query() {
        if let Ok(rows) = conn.query(sql) {
            for r in &rows.rows {
                let s = |i: usize| r.get(i).and_then(Value::as_str);
                let (Some(t), Some(comment)) = (
                    tables.get_mut(&key(
                        s(0).unwrap_or_default(),
                        s(1).unwrap_or_default(),
                        s(2).unwrap_or_default(),
                    )),
                    s(4),
                ) else {
                    continue;
                };
                match s(3) {
                    Some(column) => {
                        t.column_comments
                            .insert(column.to_string(), comment.to_string());
                    }
                    None => t.comment = Some(comment.to_string()),
                }
            }
        }
    }
    Ok(tables.into_values().collect())
}

/// One catalog entry (`nodes.<id>` / `sources.<id>`).
fn entry(id: &str, t: &CatalogTable) -> Value {
    let columns: Map<String, Value> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            (
                name.clone(),
                json!({"type": ty, "index": i + 1, "name": name,
                       "comment": t.column_comments.get(name)}),
            )
        })
        .collect();
    let mut stats = Map::new();
    stats.insert(
        "has_stats".into(),
        json!({"id": "has_stats", "label": "Has Stats?", "value": t.row_count.is_some(),
               "include": false,
               "description": "Indicates whether there are statistics for this table"}),
    );
    if let Some(n) = t.row_count {
        stats.insert(
            "row_count".into(),
            json!({"id": "row_count", "label": "Row Count", "value": n, "include": true,
                   "description": "Number of rows in the table (as the warehouse estimates it)"}),
        );
    }
    json!({
        "metadata": {"type": t.kind, "schema": t.schema, "name": t.name, "database": t.database,
                     "comment": t.comment, "owner": t.owner},
        "columns": columns,
        "stats": stats,
        "unique_id": id,
    })
}

/// The whole `catalog.json` document: every node and source whose relation was found, in the
/// warehouse's order of relations (database, schema, name), as dbt lists them.
pub(crate) fn catalog_json(m: &Manifest, tables: &[CatalogTable], meta: &ArtifactMeta) -> Value {
    let mut by_key: BTreeMap<(String, String, String), Vec<&Node>> = BTreeMap::new();
    for n in catalog_nodes(m) {
        by_key
            .entry(key(&n.database, &n.schema, identifier(n)))
            .or_default()
            .push(n);
    }
    let mut tables: Vec<&CatalogTable> = tables.iter().collect();
    tables.sort_by_key(|t| key(&t.database, &t.schema, &t.name));
    let mut nodes = Map::new();
    let mut sources = Map::new();
    for t in tables {
        for n in by_key
            .get(&key(&t.database, &t.schema, &t.name))
            .into_iter()
            .flatten()
        {
            let out = if n.resource_type == ResourceType::Source {
                &mut sources
            } else {
                &mut nodes
            };
            out.insert(n.unique_id.clone(), entry(&n.unique_id, t));
        }
    }
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": DBT_VERSION,
            "generated_at": format_ts(&meta.generated_at),
            "invocation_id": meta.invocation_id,
            "invocation_started_at": format_ts(&meta.invocation_started_at),
            "env": super::metadata_env(),
        },
        "nodes": nodes,
        "sources": sources,
        "errors": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::SourceInfo;

    fn node(id: &str, rt: ResourceType, name: &str, mat: &str) -> Node {
        let mut n = Node::new(id.into(), rt, name.into(), "shop".into());
        n.database = "shop".into();
        n.schema = "main".into();
        n.alias = name.into();
        n.config_mut().insert("materialized".into(), json!(mat));
        n
    }

    fn table(schema: &str, name: &str, kind: &str, rows: Option<u64>) -> CatalogTable {
        CatalogTable {
            database: "SHOP".into(),
            schema: schema.into(),
            name: name.into(),
            kind: kind.into(),
            columns: vec![
                ("ID".into(), "INTEGER".into()),
                ("name".into(), "VARCHAR".into()),
            ],
            row_count: rows,
            owner: None,
            comment: None,
            column_comments: BTreeMap::new(),
        }
    }

    /// Nodes match relations case-insensitively, sources by their identifier, ephemeral models
    /// and relations no node owns are left out, and entries follow the relations' order.
    #[test]
    fn maps_relations_onto_nodes_and_sources() {
        let mut m = Manifest::default();
        for n in [
            node("model.shop.orders", ResourceType::Model, "orders", "table"),
            node("model.shop.stg", ResourceType::Model, "stg", "view"),
            node("model.shop.eph", ResourceType::Model, "eph", "ephemeral"),
        ] {
            m.nodes.insert(n.unique_id.clone(), Box::new(n));
        }
        let mut src = node("source.shop.raw.orders", ResourceType::Source, "orders", "");
        src.schema = "raw".into();
        src.source = Some(Box::new(SourceInfo {
            source_name: "raw".into(),
            identifier: "orders_v2".into(),
            ..Default::default()
        }));
        m.sources.insert(src.unique_id.clone(), src);
        let tables = vec![
            table("main", "stg", "VIEW", None),
            table("MAIN", "ORDERS", "BASE TABLE", Some(3)),
            table("main", "eph", "BASE TABLE", None),
            table("raw", "orders_v2", "BASE TABLE", Some(7)),
            table("main", "unrelated", "BASE TABLE", None),
        ];
        let meta = ArtifactMeta::new("shop", "duckdb", "target");
        let c = catalog_json(&m, &tables, &meta);
        let ids: Vec<&String> = c["nodes"].as_object().unwrap().keys().collect();
        assert_eq!(ids, ["model.shop.orders", "model.shop.stg"]);
        let o = &c["nodes"]["model.shop.orders"];
        assert_eq!(o["metadata"]["name"], "ORDERS");
        assert_eq!(
            o["columns"]["ID"],
            json!({"type": "INTEGER", "index": 1, "name": "ID", "comment": null})
        );
        assert_eq!(o["columns"]["name"]["index"], 2);
        assert_eq!(o["stats"]["row_count"]["value"], 3);
        assert_eq!(
            c["nodes"]["model.shop.stg"]["stats"]["has_stats"]["value"],
            false
        );
        let s = &c["sources"]["source.shop.raw.orders"];
        assert_eq!(s["metadata"]["name"], "orders_v2");
        assert_eq!(s["unique_id"], "source.shop.raw.orders");
        assert_eq!(c["errors"], Value::Null);
    }
}
