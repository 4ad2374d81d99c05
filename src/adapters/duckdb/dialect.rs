//! DuckDB's SQL text: three-part names (every attached catalog is visible), views that find their
//! relations by name when queried (a swap leaves them bound), seeds read as DuckDB's `COPY` reads
//! CSV, and the status lines dbt-duckdb prints.

use crate::sql::{literal, CsvNulls, Dialect, Relation, SqlDialect};

pub(crate) struct DuckDb;

/// The DuckDB dialect.
pub const DIALECT: Dialect = Dialect::new(&DuckDb);

impl SqlDialect for DuckDb {
    fn type_name(&self) -> &'static str {
        "duckdb"
    }
    fn display_name(&self) -> &'static str {
        "DuckDB"
    }
    fn relation_class(&self) -> &'static str {
        "DuckDBRelation"
    }
    fn create_schema(&self, database: &str, schema: &str) -> String {
        format!(
            "create schema if not exists {}.{}",
            crate::sql::quote(database),
            crate::sql::quote(schema)
        )
    }
    fn case_insensitive_names(&self) -> bool {
        true
    }
    fn has_index_config(&self) -> bool {
        true
    }
    /// dbt-duckdb's `duckdb__get_create_index_sql`: no `using` (every index is an ART).
    fn writes_index_type(&self) -> bool {
        false
    }
    fn indexes_blocking_rename_query(&self, rel: &Relation) -> Option<String> {
        Some(format!(
            "select index_name from duckdb_indexes() where database_name = {} \
             and schema_name = {} and table_name = {}",
            crate::sql::literal(&rel.database),
            crate::sql::literal(&rel.schema),
            crate::sql::literal(&rel.identifier)
        ))
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "duckdb"
    }
    fn schema_filter(&self, database: &str, schema: &str) -> String {
        format!(
            "lower(catalog_name) = lower({}) and lower(schema_name) = lower({})",
            literal(database),
            literal(schema)
        )
    }
    /// `information_schema` shows every attached catalog.
    fn catalog_database_filter(&self, database: &str) -> String {
        format!(" and lower(c.table_catalog) = {}", literal(database))
    }
    fn table_row_counts_query(&self) -> Option<&'static str> {
        Some("select database_name, schema_name, table_name, estimated_size from duckdb_tables()")
    }
    fn comments_query(&self) -> Option<&'static str> {
        Some(
            "select database_name, schema_name, table_name, null::varchar, comment \
             from duckdb_tables() where comment is not null \
             union all select database_name, schema_name, view_name, null::varchar, comment \
             from duckdb_views() where comment is not null and not internal \
             union all select database_name, schema_name, table_name, column_name, comment \
             from duckdb_columns() where comment is not null",
        )
    }
    fn temp_relation(&self, identifier: &str) -> Relation {
        Relation::new("temp", "main", identifier)
    }
    fn temporary_keyword(&self) -> &'static str {
        "temp"
    }
    /// dbt-duckdb says `OK`, with no row count for a table it created.
    fn build_status(&self, rows: Option<u64>, created_table: bool) -> (String, Option<u64>) {
        ("OK".into(), if created_table { None } else { rows })
    }
    /// Each statement takes effect as it runs, as with dbt-duckdb (so `checkpoint` or `attach`
    /// work in an operation).
    fn operation_in_transaction(&self) -> bool {
        false
    }
    fn csv_nulls(&self) -> CsvNulls {
        CsvNulls::EmptyField
    }
    fn sniffs_csv_quote(&self) -> bool {
        true
    }
    fn subquery_needs_alias(&self) -> bool {
        false
    }
    fn foreign_keys_name_database(&self) -> bool {
        false
    }
    fn date_trunc(&self, grain: &str, expr: &str) -> String {
        format!("date_trunc('{grain}', {expr})")
    }
    fn minus_interval(&self, expr: &str, count: u64, grain: &str) -> String {
        format!("{expr} - interval '{count} {grain}'")
    }
    fn macros(&self) -> &'static str {
        include_str!("macros.sql")
    }
    fn double_type(&self) -> &'static str {
        "double"
    }
    fn approximate_percentile(&self, col: &str, q: f64) -> Option<String> {
        Some(format!("approx_quantile({col}, {q})"))
    }
}
