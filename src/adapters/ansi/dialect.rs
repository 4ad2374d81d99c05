//! The test engine's SQL text: names without a database part, standard `cast` and interval
//! syntax, nothing engine-specific beyond what a compile needs.

use crate::sql::{Dialect, Relation, SqlDialect};

pub(crate) struct Ansi;

/// The test engine's dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Ansi);

impl SqlDialect for Ansi {
    fn type_name(&self) -> &'static str {
        "ansi"
    }
    fn display_name(&self) -> &'static str {
        "ANSI SQL (test engine)"
    }
    fn relation_class(&self) -> &'static str {
        "BaseRelation"
    }
    fn create_schema(&self, _database: &str, schema: &str) -> String {
        format!("create schema {}", crate::sql::quote(schema))
    }
    fn relation_name(&self, rel: &Relation) -> String {
        rel.schema_and_identifier()
    }
    fn schema_filter(&self, _database: &str, schema: &str) -> String {
        format!("schema_name = {}", crate::sql::literal(schema))
    }
    fn catalog_database_filter(&self, _database: &str) -> String {
        String::new()
    }
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(128)
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
        format!("({expr} - interval '{count}' {grain})")
    }
    fn double_type(&self) -> &'static str {
        "double precision"
    }
}
