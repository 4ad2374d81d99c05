//! PostgreSQL's SQL text: names without a database part, the 63-byte identifier limit, views
//! bound to the relations they read (so a swap must restore them), dates kept as dates in metric
//! time arithmetic, and the status lines dbt-postgres prints.

use crate::sql::{literal, CsvNulls, Dialect, Relation, SqlDialect};

pub(crate) struct Postgres;

/// The PostgreSQL dialect.
pub(crate) const DIALECT: Dialect = Dialect::new(&Postgres);

impl SqlDialect for Postgres {
    fn type_name(&self) -> &'static str {
        "postgres"
    }
    fn display_name(&self) -> &'static str {
        "PostgreSQL"
    }
    fn relation_class(&self) -> &'static str {
        "PostgresRelation"
    }
    fn create_schema(&self, _database: &str, schema: &str) -> String {
        format!("create schema if not exists {}", crate::sql::quote(schema))
    }
    /// Postgres cannot name another database.
    fn relation_name(&self, rel: &Relation) -> String {
        rel.schema_and_identifier()
    }
    fn sql_parser_dialect(&self) -> &'static str {
        "postgresql"
    }
    fn schema_filter(&self, _database: &str, schema: &str) -> String {
        format!("schema_name = {}", literal(schema))
    }
    /// `information_schema` shows only the connected database.
    fn catalog_database_filter(&self, _database: &str) -> String {
        String::new()
    }
    fn table_row_counts_query(&self) -> Option<&'static str> {
        Some(
            "select current_database(), n.nspname, c.relname, c.reltuples::bigint \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relkind in ('r', 'p') and c.reltuples >= 0",
        )
    }
    fn relation_owners_query(&self) -> Option<&'static str> {
        Some(
            "select current_database(), n.nspname, c.relname, pg_get_userbyid(c.relowner) \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relkind in ('r', 'p', 'v', 'm', 'f')",
        )
    }
    fn comments_query(&self) -> Option<&'static str> {
        Some(
            "select current_database(), n.nspname, c.relname, a.attname, d.description \
             from pg_description d \
             join pg_class c on c.oid = d.objoid and d.classoid = 'pg_class'::regclass \
             join pg_namespace n on n.oid = c.relnamespace \
             left join pg_attribute a on a.attrelid = c.oid and a.attnum = d.objsubid \
             and d.objsubid > 0 \
             where c.relkind in ('r', 'p', 'v', 'm', 'f')",
        )
    }
    /// As dbt-postgres's `get_catalog_relations`: from `pg_catalog`, so materialized views are
    /// there, with column types as `format_type` writes them.
    fn catalog_columns_query(&self, schemas: &str) -> Option<String> {
        Some(format!(
            "select current_database()::text, n.nspname::text, c.relname::text, \
             case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' \
             else 'BASE TABLE' end, a.attname::text, a.attnum::int, \
             pg_catalog.format_type(a.atttypid, a.atttypmod) \
             from pg_catalog.pg_namespace n \
             join pg_catalog.pg_class c on c.relnamespace = n.oid \
             join pg_catalog.pg_attribute a on a.attrelid = c.oid \
             where lower(n.nspname) in ({schemas}) and not pg_is_other_temp_schema(n.oid) \
             and c.relpersistence in ('p', 'u') and c.relkind in ('r', 'v', 'f', 'p', 'm') \
             and a.attnum > 0 and not a.attisdropped \
             order by n.nspname, c.relname, a.attnum"
        ))
    }
    /// dbt-postgres's `get_show_grant_sql`: grants the current role made, to other roles.
    fn show_grants_query(&self, rel: &Relation) -> Option<String> {
        Some(format!(
            "select grantee, privilege_type from {}.information_schema.role_table_grants \
             where grantor = current_role and grantee != current_role \
             and table_schema = {} and table_name = {}",
            crate::sql::quote(&rel.database),
            literal(&rel.schema),
            literal(&rel.identifier)
        ))
    }
    /// `NAMEDATALEN - 1`.
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(63)
    }
    /// Postgres binds a view to the relation itself, so dropping the old relation (`cascade`)
    /// drops its views: they are found through `pg_depend` and recreated after a swap.
    fn dependent_views_query(&self, rel: &Relation) -> Option<String> {
        Some(format!(
            "with recursive deps(oid, depth) as (\n\
             select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid\n\
             where d.classid = 'pg_rewrite'::regclass and d.refobjid = to_regclass({})\n\
             and r.ev_class <> d.refobjid\n\
             union\n\
             select r.ev_class, deps.depth + 1 from deps\n\
             join pg_depend d on d.refobjid = deps.oid join pg_rewrite r on r.oid = d.objid\n\
             where d.classid = 'pg_rewrite'::regclass and r.ev_class <> d.refobjid\n\
             and deps.depth < 100)\n\
             select n.nspname::text, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid)\n\
             from (select oid, max(depth) as depth from deps group by oid) x\n\
             join pg_class c on c.oid = x.oid join pg_namespace n on n.oid = c.relnamespace\n\
             order by x.depth, n.nspname, c.relname",
            literal(&self.relation_name(rel))
        ))
    }
    fn drop_cascades(&self) -> bool {
        true
    }
    fn temp_relation(&self, identifier: &str) -> Relation {
        Relation::new("", "pg_temp", identifier)
    }
    fn build_status(&self, rows: Option<u64>, created_table: bool) -> (String, Option<u64>) {
        match (rows, created_table) {
            (Some(n), true) => (format!("SELECT {n}"), Some(n)),
            (Some(n), false) => (format!("INSERT 0 {n}"), Some(n)),
            (None, _) => ("CREATE VIEW".into(), None),
        }
    }
    fn keeps_text_type(&self) -> bool {
        true
    }
    fn column_sizes_apart(&self) -> bool {
        true
    }
    fn has_materialized_views(&self) -> bool {
        true
    }
    fn has_index_config(&self) -> bool {
        true
    }
    fn has_unlogged_tables(&self) -> bool {
        true
    }
    fn show_indexes_query(&self, rel: &Relation) -> Option<String> {
        Some(format!(
            "select i.relname::text, m.amname::text, ix.indisunique, \
             array_to_string(array_agg(a.attname::text order by a.attname), ',') \
             from pg_catalog.pg_index ix \
             join pg_catalog.pg_class i on i.oid = ix.indexrelid \
             join pg_catalog.pg_am m on m.oid = i.relam \
             join pg_catalog.pg_class t on t.oid = ix.indrelid \
             join pg_catalog.pg_namespace n on n.oid = t.relnamespace \
             join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = any(ix.indkey) \
             where n.nspname = {} and t.relname = {} \
             group by 1, 2, 3 order by 1",
            literal(&rel.schema),
            literal(&rel.identifier)
        ))
    }
    fn csv_nulls(&self) -> CsvNulls {
        CsvNulls::NullWords
    }
    /// `date_trunc` on a date returns a timestamptz: compute on a timestamp, keep a date.
    fn date_trunc(&self, grain: &str, expr: &str) -> String {
        format!("cast(date_trunc('{grain}', cast({expr} as timestamp)) as date)")
    }
    fn minus_interval(&self, expr: &str, count: u64, grain: &str) -> String {
        format!("cast({expr} - interval '{count} {grain}' as date)")
    }
    fn macros(&self) -> &'static str {
        include_str!("macros.sql")
    }
    fn double_type(&self) -> &'static str {
        "double precision"
    }
}

#[cfg(test)]
mod tests {
    use super::DIALECT;
    use crate::adapters::duckdb::DIALECT as DUCKDB;
    use crate::sql::Relation;

    #[test]
    fn postgres_names_fit_63_bytes() {
        let long = "a".repeat(60);
        let rel = Relation::new("db", "s", long.as_str());
        let tmp = DIALECT.suffixed(&rel, "__dbt_tmp");
        assert_eq!(tmp.identifier.len(), 63);
        assert!(tmp.identifier.ends_with("__dbt_tmp"));
        assert_eq!(DUCKDB.suffixed(&rel, "__dbt_tmp").identifier.len(), 69);
        // A multi-byte character is never split.
        let accented = Relation::new("db", "s", "é".repeat(30));
        let tmp = DIALECT.suffixed(&accented, "__dbt_backup");
        assert!(tmp.identifier.len() <= 63 && tmp.identifier.ends_with("__dbt_backup"));
        assert!(DIALECT.check_relation(&rel).is_ok());
        let too_long = Relation::new("db", "s", "x".repeat(64));
        let e = DIALECT.check_relation(&too_long).unwrap_err();
        assert!(
            e.contains("64 bytes") && e.contains("PostgreSQL") && e.contains("hint:"),
            "{e}"
        );
        assert!(DUCKDB.check_relation(&too_long).is_ok());
    }
}
