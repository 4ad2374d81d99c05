//! Databricks's SQL text as dbt-databricks writes it: backquoted `catalog`.`schema`.`table` names,
//! Spark's macros (dbt-databricks builds on dbt-spark) under its own.
//! Only what compiling needs: sluice does not run SQL on Databricks.

use crate::sql::{Dialect, SqlDialect};

pub(crate) struct Databricks;

/// The Databricks dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Databricks);

impl SqlDialect for Databricks {
    super::super::offline::compile_only_sql!(DIALECT);
    fn type_name(&self) -> &'static str {
        "databricks"
    }
    fn display_name(&self) -> &'static str {
        "Databricks"
    }
    fn relation_class(&self) -> &'static str {
        "DatabricksRelation"
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
    fn macros(&self) -> &'static str {
        include_str!("macros.sql")
    }
    fn drops_relations_with_cascade(&self) -> bool {
        false
    }
    fn row_id(&self) -> &'static str {
        // `row_number()` needs an ordered window on Databricks, as on Spark.
        "monotonically_increasing_id()"
    }
    fn string_literal(&self, text: &str) -> String {
        super::super::spark::string_literal(text)
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
