//! Redshift's SQL text as dbt-redshift writes it: PostgreSQL's quoted names and macros (dbt-
//! redshift builds on dbt-postgres) under its own.
//! Only what compiling needs: sluice does not run SQL on Redshift.

use crate::sql::{Dialect, SqlDialect};

pub(crate) struct Redshift;

/// The Redshift dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Redshift);

impl SqlDialect for Redshift {
    super::super::offline::compile_only_sql!(DIALECT);
    fn type_name(&self) -> &'static str {
        "redshift"
    }
    fn display_name(&self) -> &'static str {
        "Redshift"
    }
    fn relation_class(&self) -> &'static str {
        "RedshiftRelation"
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "redshift"
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
