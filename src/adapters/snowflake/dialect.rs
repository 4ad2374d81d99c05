//! Snowflake's SQL text as dbt-snowflake writes it: names unquoted (Snowflake folds them to upper
//! case), its own cross-database macros.
//! Only what compiling needs: sluice does not run SQL on Snowflake.

use crate::sql::{Dialect, SqlDialect};

pub(crate) struct Snowflake;

/// The Snowflake dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Snowflake);

impl SqlDialect for Snowflake {
    super::super::offline::compile_only_sql!(DIALECT);
    fn type_name(&self) -> &'static str {
        "snowflake"
    }
    fn display_name(&self) -> &'static str {
        "Snowflake"
    }
    fn relation_class(&self) -> &'static str {
        "SnowflakeRelation"
    }
    fn quotes_names(&self) -> bool {
        false
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "snowflake"
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
