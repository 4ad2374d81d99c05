//! BigQuery's SQL text as dbt-bigquery writes it: backquoted `project`.`dataset`.`table` names,
//! its own types (`string`, `int64`, `float64`) and cross-database macros.
//! Only what compiling needs: sluice does not run SQL on BigQuery.

use crate::sql::{Dialect, SqlDialect};

pub(crate) struct BigQuery;

/// The BigQuery dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&BigQuery);

impl SqlDialect for BigQuery {
    super::super::offline::compile_only_sql!(DIALECT);
    fn type_name(&self) -> &'static str {
        "bigquery"
    }
    fn display_name(&self) -> &'static str {
        "BigQuery"
    }
    fn relation_class(&self) -> &'static str {
        "BigQueryRelation"
    }
    fn quote_mark(&self) -> char {
        '`'
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "bigquery"
    }
    fn macros(&self) -> &'static str {
        include_str!("macros.sql")
    }
    fn date_trunc(&self, grain: &str, expr: &str) -> String {
        format!("date_trunc(cast({expr} as date), {grain})")
    }
    fn minus_interval(&self, expr: &str, count: u64, grain: &str) -> String {
        format!("date_sub(cast({expr} as date), interval {count} {grain})")
    }
    fn double_type(&self) -> &'static str {
        "float64"
    }
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(1024)
    }
    /// dbt-bigquery's labels: `text` is `STRING`, `float` `FLOAT64`, `integer` `INT64`.
    fn translate_type(&self, label: &str) -> String {
        match label.to_ascii_uppercase().as_str() {
            "TEXT" => "STRING".into(),
            "FLOAT" => "FLOAT64".into(),
            "INTEGER" => "INT64".into(),
            _ => label.to_string(),
        }
    }
    /// BigQuery takes a numeric type without precision and scale.
    fn numeric_type(&self, dtype: &str, _precision: Option<&str>, _scale: Option<&str>) -> String {
        dtype.to_string()
    }
}
