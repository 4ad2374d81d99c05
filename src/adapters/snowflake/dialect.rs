//! Snowflake's SQL text as dbt-snowflake writes it: names unquoted (Snowflake folds them to upper
//! case), its own cross-database macros.
//! Only what compiling needs: sluice does not run SQL on Snowflake.

use crate::sql::{literal, Dialect, Relation, SqlDialect};

pub(crate) struct Snowflake;

/// The Snowflake dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Snowflake);

impl SqlDialect for Snowflake {
    fn type_name(&self) -> &'static str {
        "snowflake"
    }
    fn display_name(&self) -> &'static str {
        "Snowflake"
    }
    fn relation_class(&self) -> &'static str {
        "SnowflakeRelation"
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
    fn quotes_names(&self) -> bool {
        false
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "snowflake"
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
        "float"
    }
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(255)
    }
}
