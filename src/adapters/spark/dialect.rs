//! Spark's SQL text as dbt-spark writes it: `schema.table` names (Spark has no database above its
//! schemas), unquoted unless a project asks (then with backquotes).
//! Only what compiling needs: sluice does not run SQL on Spark.

use crate::sql::{Dialect, SqlDialect};

pub(crate) struct Spark;

/// The Spark dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Spark);

impl SqlDialect for Spark {
    super::super::offline::compile_only_sql!(DIALECT);
    fn type_name(&self) -> &'static str {
        "spark"
    }
    fn display_name(&self) -> &'static str {
        "Spark"
    }
    fn relation_class(&self) -> &'static str {
        "SparkRelation"
    }
    fn names_databases(&self) -> bool {
        false
    }
    fn quotes_names(&self) -> bool {
        false
    }
    fn quote_mark(&self) -> char {
        '`'
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "hive"
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
    /// dbt-spark keeps every type label as written.
    fn translate_type(&self, label: &str) -> String {
        label.to_string()
    }
    /// Spark has only `decimal`.
    fn numeric_type(&self, _dtype: &str, precision: Option<&str>, scale: Option<&str>) -> String {
        super::decimal(precision, scale)
    }
}
