//! Databricks's SQL text as dbt-databricks writes it: backquoted `catalog`.`schema`.`table` names,
//! Spark's macros (dbt-databricks builds on dbt-spark) under its own.
//! Only what compiling needs: sluice does not run SQL on Databricks.

use crate::sql::{literal, Dialect, Relation, SqlDialect};

pub(crate) struct Databricks;

/// The Databricks dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Databricks);

impl SqlDialect for Databricks {
    fn type_name(&self) -> &'static str {
        "databricks"
    }
    fn display_name(&self) -> &'static str {
        "Databricks"
    }
    fn relation_class(&self) -> &'static str {
        "DatabricksRelation"
    }
    fn create_schema(&self, database: &str, schema: &str) -> String {
        let q = DIALECT.quote_policy();
        let part = |s: &str, quoted: bool| match quoted {
            true => crate::sql::quote_with(s, q.mark),
            false => s.to_string(),
        };
        let name = match database.is_empty() {
            true => part(schema, q.schema),
            false => format!("{}.{}", part(database, q.database), part(schema, q.schema)),
        };
        format!("create schema if not exists {name}")
    }
    fn lowercases_names(&self) -> bool {
        true
    }
    fn quote_mark(&self) -> char {
        '`'
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "databricks"
    }
    fn schema_filter(&self, _database: &str, schema: &str) -> String {
        format!("lower(schema_name) = lower({})", literal(schema))
    }
    fn catalog_database_filter(&self, _database: &str) -> String {
        String::new()
    }
    fn temp_relation(&self, identifier: &str) -> Relation {
        Relation::new("", "", identifier)
    }
    fn build_status(&self, rows: Option<u64>, _created_table: bool) -> (String, Option<u64>) {
        ("OK".into(), rows)
    }
    fn macros(&self) -> &'static str {
        include_str!("macros.sql")
    }
    fn date_trunc(&self, grain: &str, expr: &str) -> String {
        format!("cast(date_trunc('{grain}', {expr}) as date)")
    }
    fn minus_interval(&self, expr: &str, count: u64, grain: &str) -> String {
        format!("cast({expr} - interval {count} {grain} as date)")
    }
    fn double_type(&self) -> &'static str {
        "double"
    }
    fn parent(&self) -> Option<Dialect> {
        Some(crate::adapters::spark::DIALECT)
    }
    /// dbt-databricks's labels (`long` is `bigint`), in lower case.
    fn translate_type(&self, label: &str) -> String {
        match label.to_ascii_uppercase().as_str() {
            "LONG" => "bigint".into(),
            _ => label.to_ascii_lowercase(),
        }
    }
    /// Spark has only `decimal`.
    fn numeric_type(&self, _dtype: &str, precision: Option<&str>, scale: Option<&str>) -> String {
        super::super::spark::decimal(precision, scale)
    }
}
