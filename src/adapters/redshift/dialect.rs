//! Redshift's SQL text as dbt-redshift writes it: PostgreSQL's quoted names and macros (dbt-
//! redshift builds on dbt-postgres) under its own.
//! Only what compiling needs: sluice does not run SQL on Redshift.

use crate::sql::{literal, Dialect, Relation, SqlDialect};

pub(crate) struct Redshift;

/// The Redshift dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Redshift);

impl SqlDialect for Redshift {
    fn type_name(&self) -> &'static str {
        "redshift"
    }
    fn display_name(&self) -> &'static str {
        "Redshift"
    }
    fn relation_class(&self) -> &'static str {
        "RedshiftRelation"
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
    fn sql_parser_dialect(&self) -> &'static str {
        "redshift"
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
        format!("dateadd({grain}, -{count}, {expr})")
    }
    fn double_type(&self) -> &'static str {
        "double precision"
    }
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(127)
    }
    fn parent(&self) -> Option<Dialect> {
        Some(crate::adapters::postgres::DIALECT)
    }
}
