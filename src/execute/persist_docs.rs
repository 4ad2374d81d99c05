//! `persist_docs`: once a model, seed or snapshot is built, its description and its documented
//! columns' descriptions become the warehouse's own comments on the relation
//! (`comment on table|view ... is '...'`, `comment on column ...`), so that people who browse
//! the warehouse directly, and the catalog `docs generate` reads, see the project's docs.
//!
//! As dbt does: `persist_docs: {relation: true}` comments the relation when it has a
//! description; `{columns: true}` comments each documented column the relation has, matched
//! without regard to case unless the column says `quote: true`, and warns, naming them, about
//! documented columns the relation does not have. Comments are written as the engine's string
//! literals ([`crate::sql::SqlDialect::string_literal`]: quotes doubled on DuckDB and PostgreSQL,
//! backslash-escaped on Spark), so the engine reads them back as written, whatever the text
//! holds. The statements are the engine's ([`crate::sql::SqlDialect::comment_relation`]): on
//! Spark a table property, and column comments on tables only, as dbt-spark keeps them.

use serde_json::Value;

use crate::adapters::{AdapterError, Connection};
use crate::compile::{ColumnDef, Node};
use crate::sql::{Dialect, Relation, RelationKind};

/// Which comments a `persist_docs` config asks for: `(relation, columns)`.
fn wanted(config: Option<&Value>) -> (bool, bool) {
    let Some(Value::Object(cfg)) = config else {
        return (false, false);
    };
    let on = |key: &str| cfg.get(key).and_then(Value::as_bool).unwrap_or(false);
    (on("relation"), on("columns"))
}

/// What a node documents: its description and its columns.
struct Docs<'a> {
    description: &'a str,
    columns: &'a [ColumnDef],
}

/// The statements that persist `docs` on `rel` (a relation of `kind`, whose columns are
/// `existing`) as `(for_relation, for_columns)` ask, and the warning about documented columns it
/// lacks, if any.
fn statements(
    d: Dialect,
    (for_relation, for_columns): (bool, bool),
    docs: &Docs<'_>,
    rel: &Relation,
    kind: RelationKind,
    existing: &[String],
) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let name = d.rel(rel);
    if for_relation && !docs.description.is_empty() {
        out.push(d.comment_relation(&name, kind.keyword(), &d.string_literal(docs.description)));
    }
    let mut missing = Vec::new();
    if for_columns {
        for col in docs.columns {
            let found = existing.iter().find(|name| {
                if col.quote == Some(true) {
                    **name == col.name
                } else {
                    name.to_lowercase() == col.name.to_lowercase()
                }
            });
            match found {
                Some(column) => out.extend(d.comment_column(
                    &name,
                    kind.keyword(),
                    &d.quote(column),
                    &d.string_literal(&col.description),
                )),
                None => missing.push(col.name.as_str()),
            }
        }
    }
    let warning = (!missing.is_empty()).then(|| {
        format!(
            "In relation {rel}: The following columns are specified in the schema but are not present in the database: {}",
            missing.join(", ")
        )
    });
    (out, warning)
}

/// Comments `rel` (just built for `node`) as its `persist_docs` config asks. Returns the warning
/// to report, if documented columns are missing from the relation.
pub(crate) fn apply(
    c: &mut dyn Connection,
    node: &Node,
    rel: &Relation,
    kind: RelationKind,
) -> Result<Option<String>, AdapterError> {
    let (for_relation, for_columns) = wanted(node.config.get("persist_docs"));
    let for_columns = for_columns && !node.columns.is_empty();
    if !for_relation && !for_columns {
        return Ok(None);
    }
    let existing: Vec<String> = if for_columns {
        c.columns(rel)?.into_iter().map(|col| col.name).collect()
    } else {
        Vec::new()
    };
    let docs = Docs {
        description: &node.description,
        columns: &node.columns,
    };
    let (sqls, warning) = statements(
        c.dialect(),
        (for_relation, for_columns),
        &docs,
        rel,
        kind,
        &existing,
    );
    for sql in sqls {
        c.execute(&sql)?;
    }
    Ok(warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::duckdb::DIALECT as DUCKDB;
    use crate::adapters::spark::DIALECT as SPARK;

    fn columns(names: &[(&str, Option<bool>)]) -> Vec<ColumnDef> {
        names
            .iter()
            .map(|(name, quote)| ColumnDef {
                name: name.to_string(),
                description: format!("about {name}: it's"),
                quote: *quote,
                ..ColumnDef::default()
            })
            .collect()
    }

    #[test]
    fn comments_relation_and_present_columns_and_names_the_missing() {
        let cols = columns(&[("ID", None), ("MyCol", Some(true)), ("gone", None)]);
        let docs = Docs {
            description: "A 'model'\n-- with $$ text",
            columns: &cols,
        };
        let rel = Relation::new("db", "s", "m");
        let existing = ["id".to_string(), "mycol".to_string()];
        let (sqls, warning) = statements(
            DUCKDB,
            (true, true),
            &docs,
            &rel,
            RelationKind::View,
            &existing,
        );
        assert_eq!(
            sqls,
            [
                "comment on view \"db\".\"s\".\"m\" is 'A ''model''\n-- with $$ text'",
                "comment on column \"db\".\"s\".\"m\".\"id\" is 'about ID: it''s'",
            ]
        );
        assert_eq!(
            warning.as_deref(),
            Some("In relation \"db\".\"s\".\"m\": The following columns are specified in the schema but are not present in the database: MyCol, gone")
        );
    }

    #[test]
    fn nothing_unless_asked() {
        let rel = Relation::new("db", "s", "m");
        let existing = ["id".to_string()];
        let cols = columns(&[("id", None)]);
        let docs = Docs {
            description: "described",
            columns: &cols,
        };
        assert_eq!(wanted(Some(&serde_json::json!({}))), (false, false));
        assert_eq!(
            wanted(Some(&serde_json::json!({"columns": true}))),
            (false, true)
        );
        let none = statements(
            DUCKDB,
            (false, false),
            &docs,
            &rel,
            RelationKind::Table,
            &existing,
        );
        assert_eq!(none, (vec![], None));
        let (sqls, _) = statements(
            DUCKDB,
            (false, true),
            &docs,
            &rel,
            RelationKind::Table,
            &existing,
        );
        assert_eq!(
            sqls,
            ["comment on column \"db\".\"s\".\"m\".\"id\" is 'about id: it''s'"]
        );
    }

    #[test]
    fn spark_comments_are_table_properties_and_escape_with_backslashes() {
        let cols = columns(&[("id", None)]);
        let docs = Docs {
            description: "a 'quoted' \\ path",
            columns: &cols,
        };
        let rel = Relation {
            quote: SPARK.quote_policy(),
            ..Relation::new("", "s", "m")
        };
        let existing = ["id".to_string()];
        let (table, _) = statements(
            SPARK,
            (true, true),
            &docs,
            &rel,
            RelationKind::Table,
            &existing,
        );
        assert_eq!(
            table,
            [
                r"alter table s.m set tblproperties ('comment' = 'a \'quoted\' \\ path')",
                r"alter table s.m alter column `id` comment 'about id: it\'s'",
            ]
        );
        // A view's columns take no comment on Spark.
        let (view, _) = statements(
            SPARK,
            (true, true),
            &docs,
            &rel,
            RelationKind::View,
            &existing,
        );
        assert_eq!(
            view,
            [r"alter view s.m set tblproperties ('comment' = 'a \'quoted\' \\ path')"]
        );
    }
}
