//! Spark's SQL text as dbt-spark writes it: `schema.table` names (Spark has no database above its
//! schemas), unquoted unless a project asks (then with backquotes); tables `using` a file format;
//! views replaced in place (`create or replace view`); temporary views for an incremental
//! model's new rows; names compared without regard to case, as the Hive metastore keeps them.

use crate::sql::{Dialect, QuotePolicy, Relation, SqlDialect};

pub(crate) struct Spark;

/// The Spark dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Spark);

impl SqlDialect for Spark {
    fn create_schema(&self, database: &str, schema: &str) -> String {
        crate::adapters::offline::create_schema(DIALECT, database, schema)
    }
    /// Spark has no `information_schema`: the engine's connection answers schema lookups.
    fn schema_filter(&self, _database: &str, schema: &str) -> String {
        format!(
            "lower(schema_name) = lower({})",
            crate::sql::literal(schema)
        )
    }
    fn catalog_database_filter(&self, _database: &str) -> String {
        String::new()
    }
    /// A session's temporary view: named by its identifier alone.
    fn temp_relation(&self, identifier: &str) -> Relation {
        Relation {
            quote: DIALECT.quote_policy(),
            ..Relation::new("", "", identifier)
        }
    }
    /// `schema.identifier`, quoted with backquotes where the relation's policy quotes (a
    /// relation made without the project's policy quotes every part), or a temporary view's
    /// identifier alone.
    fn relation_name(&self, rel: &Relation) -> String {
        if rel.schema.is_empty() {
            return DIALECT.quote(&rel.identifier);
        }
        let quote = QuotePolicy {
            mark: '`',
            skip_database: true,
            ..rel.quote
        };
        Relation {
            quote,
            ..rel.clone()
        }
        .quoted()
    }
    /// dbt-spark reports `OK` for every statement.
    fn build_status(&self, rows: Option<u64>, _created_table: bool) -> (String, Option<u64>) {
        ("OK".into(), rows)
    }
    /// dbt-spark's strategies on parquet tables; `merge` needs a table format with row-level
    /// changes.
    fn incremental_strategies(&self) -> &'static [&'static str] {
        &["append", "insert_overwrite"]
    }
    fn default_incremental_strategy(&self, _has_unique_key: bool) -> &'static str {
        "append"
    }
    fn incremental_strategy_hint(&self, strategy: &str) -> Option<String> {
        matches!(strategy, "merge" | "delete+insert" | "microbatch").then(|| {
            format!(
                "\nhint: `{strategy}` changes rows in place, which Spark's parquet tables cannot; it needs a table format such as Delta Lake or Iceberg, which this cluster does not have: use `append`, or `insert_overwrite` with `partition_by`"
            )
        })
    }
    fn table_options(
        &self,
        identifier: &str,
        config: &dyn Fn(&str) -> Option<serde_json::Value>,
    ) -> Result<String, String> {
        super::table_options(identifier, config)
    }
    fn changes_rows_in_place(&self) -> bool {
        false
    }
    fn has_information_schema(&self) -> bool {
        false
    }
    fn case_insensitive_names(&self) -> bool {
        true
    }
    fn has_transactions(&self) -> bool {
        false
    }
    fn replaces_views_in_place(&self) -> bool {
        true
    }
    fn temporary_table_as(&self, identifier: &str, sql: &str) -> String {
        format!(
            "create or replace temporary view {} as\n{}",
            DIALECT.quote(identifier),
            sql.trim_end().trim_end_matches(';')
        )
    }
    fn drop_temporary(&self, rel: &Relation) -> String {
        format!("drop view if exists {}", self.relation_name(rel))
    }
    fn add_column(&self, rel: &Relation, column: &str, data_type: &str) -> String {
        format!(
            "alter table {} add columns ({} {data_type})",
            self.relation_name(rel),
            DIALECT.quote(column)
        )
    }
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
    fn drops_relations_with_cascade(&self) -> bool {
        false
    }
    fn creates_contract_columns(&self) -> bool {
        false
    }
    /// dbt-spark's relations do not alias the zero-row subquery of `--empty`
    /// (`require_alias: False`).
    fn subquery_needs_alias(&self) -> bool {
        false
    }
    fn row_id(&self) -> &'static str {
        // `row_number()` needs an ordered window on Spark.
        "monotonically_increasing_id()"
    }
    fn string_literal(&self, text: &str) -> String {
        string_literal(text)
    }
    /// The relation's `comment` property (Spark has no `comment on view`).
    fn comment_relation(&self, rel: &str, keyword: &str, comment: &str) -> String {
        format!("alter {keyword} {rel} set tblproperties ('comment' = {comment})")
    }
    /// A table's column comments (a view's columns take none after it was created).
    fn comment_column(
        &self,
        rel: &str,
        keyword: &str,
        column: &str,
        comment: &str,
    ) -> Option<String> {
        (keyword == "table")
            .then(|| format!("alter table {rel} alter column {column} comment {comment}"))
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

/// A Spark string literal: Spark reads a backslash as an escape, and two quotes as two literals
/// run together (`'it''s'` is `its`), so quotes and backslashes are escaped with a backslash.
pub(crate) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}
