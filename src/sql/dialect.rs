//! What an engine writes differently, as a trait each engine implements in its own folder
//! (`adapters/<engine>/dialect.rs`): relation names, DDL details, the metric planner's time and
//! percentile fragments, how seeds read CSV, what a statement's status line says. Pure: text in,
//! text out, no connection.
//!
//! Design decision: a trait object behind a `Copy` handle ([`Dialect`]) rather than an enum, so
//! adding an engine is one folder plus one line in `adapters::registry`, and no code outside the
//! engine's folder branches on which engine it is. The handle compares by the engine's profile
//! `type`, and the SQL every engine writes the same way ([`Dialect::create_table_as`],
//! [`Dialect::suffixed`] ...) lives on the handle once.

use std::fmt;

use super::{QuotePolicy, Relation, RelationKind};

/// How a seed's CSV marks a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvNulls {
    /// Only an empty field (DuckDB's `COPY`).
    EmptyField,
    /// An empty field or a null word such as `null` / `NULL` (dbt's agate reader).
    NullWords,
}

/// The SQL text of one engine. Every method has the engine's answer; defaults are what most
/// engines do.
pub trait SqlDialect: Send + Sync + 'static {
    /// The profile `type` that names the engine (`duckdb`).
    fn type_name(&self) -> &'static str;
    /// The engine's name in messages (`DuckDB`).
    fn display_name(&self) -> &'static str;
    /// dbt's relation class for the engine (`relation.metadata.type`).
    fn relation_class(&self) -> &'static str;
    /// `CREATE SCHEMA IF NOT EXISTS`.
    fn create_schema(&self, database: &str, schema: &str) -> String;
    /// A relation as this engine names it (some engines cannot name another database).
    fn relation_name(&self, rel: &Relation) -> String {
        rel.quoted()
    }
    /// Whether the engine compares relation names without regard to case, quoted or not
    /// (DuckDB); otherwise quoted names are exact and unquoted ones fold to lower case.
    fn case_insensitive_names(&self) -> bool {
        false
    }
    /// The `where` condition on `information_schema.schemata` that finds `schema`.
    fn schema_filter(&self, database: &str, schema: &str) -> String;
    /// The condition on `information_schema.columns c` that keeps `database`'s rows (empty when
    /// the engine sees only its own database there).
    fn catalog_database_filter(&self, database: &str) -> String;
    /// Whether tables can be `unlogged` (dbt-postgres's `unlogged` config).
    fn has_unlogged_tables(&self) -> bool {
        false
    }
    /// Whether the `indexes` config makes indexes (dbt's `create_indexes`).
    fn has_index_config(&self) -> bool {
        false
    }
    /// Whether an index's `type` is written (`using hash`; DuckDB's indexes are all ART, so
    /// dbt-duckdb leaves it out).
    fn writes_index_type(&self) -> bool {
        true
    }
    /// A query of the names of `rel`'s indexes where they must be dropped before `rel` is
    /// renamed (DuckDB refuses to rename a table that has indexes).
    fn indexes_blocking_rename_query(&self, _rel: &Relation) -> Option<String> {
        None
    }
    /// A query of `(name, method, unique, comma-separated columns)` for `rel`'s indexes, where
    /// the `indexes` config is compared with them (a PostgreSQL materialized view).
    fn show_indexes_query(&self, _rel: &Relation) -> Option<String> {
        None
    }
    /// Whether models can be `materialized_view`s (dbt-postgres has the materialization,
    /// dbt-duckdb does not).
    fn has_materialized_views(&self) -> bool {
        false
    }
    /// The catalog's query of `(database, schema, relation, type, column, position, column type)`
    /// for the schemas whose lower-cased names are `schemas` (a SQL list of literals), where the
    /// engine's `information_schema` leaves relations out (PostgreSQL's materialized views);
    /// `None`: `information_schema.columns` serves.
    fn catalog_columns_query(&self, _schemas: &str) -> Option<String> {
        None
    }
    /// A query of `(database, schema, table, row count)` for the catalog, where the engine keeps
    /// row counts.
    fn table_row_counts_query(&self) -> Option<&'static str> {
        None
    }
    /// A query of `(database, schema, relation, owner)` for the catalog, where the engine keeps
    /// relations' owners.
    fn relation_owners_query(&self) -> Option<&'static str> {
        None
    }
    /// A query of `(database, schema, relation, column, comment)` for the catalog: the comments
    /// on relations (`column` null) and on their columns, where the engine keeps them.
    fn comments_query(&self) -> Option<&'static str> {
        None
    }
    /// A query of `(grantee, privilege_type)` for the privileges the current role has granted
    /// others on `rel`, where the engine has grants (`None`: a `grants` config is a no-op, as
    /// in dbt-duckdb).
    fn show_grants_query(&self, _rel: &Relation) -> Option<String> {
        None
    }
    /// The longest identifier the engine keeps, in bytes.
    fn max_identifier_bytes(&self) -> Option<usize> {
        None
    }
    /// The views and materialized views that read `rel`, directly or through other views, with
    /// their definitions, each after the views it reads (columns: schema, name, `relkind`,
    /// definition). `None` where views find their relations by name when queried, so replacing
    /// `rel` leaves them bound.
    fn dependent_views_query(&self, _rel: &Relation) -> Option<String> {
        None
    }
    /// Whether dropping a relation must say `cascade` (its views go with it).
    fn drop_cascades(&self) -> bool {
        false
    }
    /// Whether the engine's dbt adapter drops a relation `cascade` in `adapter.drop_relation`
    /// (Spark's `drop table` has no `cascade`).
    fn drops_relations_with_cascade(&self) -> bool {
        true
    }
    /// How to name this session's temporary table `identifier`.
    fn temp_relation(&self, identifier: &str) -> Relation;
    /// The keyword of `create <temporary> table`.
    fn temporary_keyword(&self) -> &'static str {
        "temporary"
    }
    /// The statement that holds an incremental model's new rows for the rest of the session,
    /// under `identifier` (a temporary table; Spark's dbt adapter makes a temporary view).
    fn temporary_table_as(&self, identifier: &str, sql: &str) -> String {
        format!(
            "create {} table {} as (\n{}\n)",
            self.temporary_keyword(),
            crate::sql::quote_with(identifier, self.quote_mark()),
            sql.trim_end().trim_end_matches(';')
        )
    }
    /// Drops temporary relation `rel` (made by [`SqlDialect::temporary_table_as`]) if it exists.
    fn drop_temporary(&self, rel: &Relation) -> String {
        format!("drop table if exists {}", self.relation_name(rel))
    }
    /// `alter table ... add column` as the engine writes it.
    fn add_column(&self, rel: &Relation, column: &str, data_type: &str) -> String {
        format!(
            "alter table {} add column {} {data_type}",
            self.relation_name(rel),
            crate::sql::quote_with(column, self.quote_mark())
        )
    }
    /// Whether the engine has `information_schema` (Spark does not: its catalog is read with
    /// `show tables` and `describe table`, relation by relation).
    fn has_information_schema(&self) -> bool {
        true
    }
    /// Whether tables can have rows updated or deleted in place (`update`, `delete`, `merge`):
    /// Spark's parquet tables cannot.
    fn changes_rows_in_place(&self) -> bool {
        true
    }
    /// The incremental strategy of a model that names none: `delete+insert` with a
    /// `unique_key`, else `append` (dbt-spark: always `append`).
    fn default_incremental_strategy(&self, has_unique_key: bool) -> &'static str {
        match has_unique_key {
            true => "delete+insert",
            false => "append",
        }
    }
    /// The incremental strategies the engine's dbt adapter offers.
    fn incremental_strategies(&self) -> &'static [&'static str] {
        &["append", "delete+insert", "merge"]
    }
    /// Why `strategy` is not offered, as a `\nhint: ...` line, where there is more to say.
    fn incremental_strategy_hint(&self, _strategy: &str) -> Option<String> {
        None
    }
    /// What a new table's `create table <name> ... as` carries between its name and `as`, from
    /// the model's configs (`config` reads one): Spark's `using <file_format>`, `partitioned by`,
    /// `clustered by ... into n buckets`, `location`. Empty by default.
    fn table_options(
        &self,
        _identifier: &str,
        _config: &dyn Fn(&str) -> Option<serde_json::Value>,
    ) -> Result<String, String> {
        Ok(String::new())
    }
    /// Whether an enforced contract's table is created from the contract's column definitions
    /// (then filled by `insert`); otherwise (Spark, whose parquet tables take no constraints) by
    /// `create table ... as` of the query with its columns in the contract's order, the types
    /// checked before by the contract's preflight, as dbt-spark does.
    fn creates_contract_columns(&self) -> bool {
        true
    }
    /// Whether statements can run in a transaction (Spark has none: a swap's renames each take
    /// effect as they run).
    fn has_transactions(&self) -> bool {
        true
    }
    /// Whether a view is rebuilt with `create or replace view` where it stands rather than
    /// created aside and swapped (dbt-spark: renaming a view makes Spark resolve it, which
    /// fails while what it reads is being rebuilt).
    fn replaces_views_in_place(&self) -> bool {
        false
    }
    /// The status line and row count of a table built from `rows` selected rows, or of a view
    /// (`rows: None`), as the engine's dbt adapter reports them.
    fn build_status(&self, rows: Option<u64>, created_table: bool) -> (String, Option<u64>);
    /// Whether an operation's statements run in one transaction (else each takes effect as it
    /// runs).
    fn operation_in_transaction(&self) -> bool {
        true
    }
    /// Whether dbt's `Column.data_type` keeps `text` and an unsized `character varying` as they
    /// are (else every string column is `character varying(256)`).
    fn keeps_text_type(&self) -> bool {
        false
    }
    /// Whether dbt's adapter reads a string's or number's size apart from its type (dbt-postgres:
    /// `character varying` with `char_size` 20, `numeric` with precision and scale), where the
    /// engine's column types carry them (`character varying(20)`); else the type is kept whole
    /// (dbt-duckdb's `DECIMAL(18,3)`).
    fn column_sizes_apart(&self) -> bool {
        false
    }
    /// How seed CSV files mark a missing value.
    fn csv_nulls(&self) -> CsvNulls {
        CsvNulls::NullWords
    }
    /// Whether seeds read their quote character from the file the way the engine's CSV sniffer
    /// does (else `"`).
    fn sniffs_csv_quote(&self) -> bool {
        false
    }
    /// Whether a subquery in `from` needs an alias (`--empty` names the zero-row subquery it
    /// puts in place of each ref and source, as the engine's dbt adapter does).
    fn subquery_needs_alias(&self) -> bool {
        true
    }
    /// Whether a contract's foreign key names the referenced table with its database (DuckDB's
    /// dbt adapter leaves it out: its foreign keys cannot cross databases).
    fn foreign_keys_name_database(&self) -> bool {
        true
    }
    /// `expr` truncated to the start of its `grain` period (`day`, `week`, `month` ...), a date.
    fn date_trunc(&self, grain: &str, expr: &str) -> String;
    /// `expr` moved back by `count` `grain`s, a date.
    fn minus_interval(&self, expr: &str, count: u64, grain: &str) -> String;
    /// The double-precision type's name.
    fn double_type(&self) -> &'static str;
    /// An expression numbering a query's rows in no particular order (a row id).
    fn row_id(&self) -> &'static str {
        "row_number() over ()"
    }
    /// `text` as a string literal the engine reads back as written (quotes doubled).
    fn string_literal(&self, text: &str) -> String {
        super::literal(text)
    }
    /// The statement that sets the comment of `rel` (named as the engine names it), a relation
    /// of the kind `keyword` names (`table`, `view`), to `comment` (a string literal):
    /// `persist_docs: {relation: true}`.
    fn comment_relation(&self, rel: &str, keyword: &str, comment: &str) -> String {
        format!("comment on {keyword} {rel} is {comment}")
    }
    /// The statement that sets the comment of `column` (quoted as the engine quotes) of `rel`,
    /// a relation of the kind `keyword` names; `None` where the engine keeps no comments on such
    /// columns.
    fn comment_column(
        &self,
        rel: &str,
        _keyword: &str,
        column: &str,
        comment: &str,
    ) -> Option<String> {
        Some(format!("comment on column {rel}.{column} is {comment}"))
    }
    /// The engine's own macros (`<type>__name` versions of dbt's dispatched macros), loaded into
    /// the `dbt` package when the target is this engine.
    fn macros(&self) -> &'static str {
        ""
    }
    /// The engine whose macros this engine's dbt adapter builds on (dbt-redshift on
    /// dbt-postgres, dbt-databricks on dbt-spark): `adapter.dispatch` tries this engine's
    /// `<type>__` macro, then the parent's, then `default__`.
    fn parent(&self) -> Option<Dialect> {
        None
    }
    /// Whether the engine's dbt adapter quotes relation names by default (every part, or none).
    fn quotes_names(&self) -> bool {
        true
    }
    /// Whether relation names include their database (Spark's have none above the schema).
    fn names_databases(&self) -> bool {
        true
    }
    /// The name of the `sqlparser` dialect that reads the engine's SQL (`generic` by default).
    fn sql_parser_dialect(&self) -> &'static str {
        "generic"
    }
    /// Whether relation names are written in lower case (Databricks).
    fn lowercases_names(&self) -> bool {
        false
    }
    /// The engine's quote character (`"`; BigQuery and Spark quote with backticks).
    fn quote_mark(&self) -> char {
        '"'
    }
    /// dbt's `Column.translate_type` as the engine's adapter has it: a type label (`string`,
    /// `integer` ...) in the engine's words (the base adapter: `string` is `TEXT`).
    fn translate_type(&self, label: &str) -> String {
        base_translate_type(label)
    }
    /// dbt's `Column.numeric_type`: `dtype(precision,scale)`, or `dtype` alone without both.
    fn numeric_type(&self, dtype: &str, precision: Option<&str>, scale: Option<&str>) -> String {
        match (precision, scale) {
            (Some(p), Some(s)) => format!("{dtype}({p},{s})"),
            _ => dtype.to_string(),
        }
    }
    /// An approximate `q` quantile of `col`, where the engine has one.
    fn approximate_percentile(&self, _col: &str, _q: f64) -> Option<String> {
        None
    }
}

/// dbt's base `Column.translate_type`: `string` is `TEXT`, every other label is kept.
pub(crate) fn base_translate_type(label: &str) -> String {
    if label.eq_ignore_ascii_case("string") {
        "TEXT".to_string()
    } else {
        label.to_string()
    }
}

/// Which engine's SQL to write: a handle to its [`SqlDialect`].
#[derive(Clone, Copy)]
pub struct Dialect(&'static dyn SqlDialect);

impl Dialect {
    pub(crate) const fn new(d: &'static dyn SqlDialect) -> Self {
        Dialect(d)
    }
    /// The profile `type` naming the engine.
    /// This engine, then the engines its dbt adapter builds on ([`SqlDialect::parent`]).
    pub(crate) fn lineage(self) -> Vec<Dialect> {
        let mut out = vec![self];
        while let Some(p) = out.last().and_then(|d| d.parent()) {
            out.push(p);
        }
        out
    }
    /// An identifier quoted as the engine quotes it (`"x"`, or `` `x` ``).
    pub(crate) fn quote(self, ident: &str) -> String {
        crate::sql::quote_with(ident, self.quote_mark())
    }
    /// Which parts of a relation's name the engine's dbt adapter quotes, and with what.
    pub(crate) fn quote_policy(self) -> QuotePolicy {
        let policy = match self.quotes_names() {
            true => QuotePolicy::all(self.quote_mark()),
            false => QuotePolicy::none(self.quote_mark()),
        };
        QuotePolicy {
            skip_database: !self.names_databases(),
            lowercase: self.lowercases_names(),
            ..policy
        }
    }
    pub(crate) fn name(self) -> &'static str {
        self.0.type_name()
    }
    /// A relation as this engine names it.
    pub(crate) fn rel(self, rel: &Relation) -> String {
        self.0.relation_name(rel)
    }
    pub(crate) fn case_insensitive_names(self) -> bool {
        self.0.case_insensitive_names()
    }
    pub(crate) fn create_view_as(self, rel: &Relation, sql: &str) -> String {
        format!(
            "create view {} as (\n{}\n)",
            self.rel(rel),
            sql.trim_end().trim_end_matches(';')
        )
    }
    pub(crate) fn create_table_as(self, rel: &Relation, sql: &str) -> String {
        self.create_table_with_options_as(rel, "", sql)
    }
    /// `create table rel <options> as (sql)`: the options the engine writes between the name
    /// and `as` ([`SqlDialect::table_options`]), none when empty.
    pub(crate) fn create_table_with_options_as(
        self,
        rel: &Relation,
        options: &str,
        sql: &str,
    ) -> String {
        let options = match options.is_empty() {
            true => String::new(),
            false => format!("{options} "),
        };
        format!(
            "create table {} {options}as (\n{}\n)",
            self.rel(rel),
            sql.trim_end().trim_end_matches(';')
        )
    }
    /// A sibling of `rel` named `identifier + suffix`, the identifier cut (at a character
    /// boundary) so the whole name fits the engine's limit, as dbt-postgres does for its
    /// intermediate relations.
    pub(crate) fn suffixed(self, rel: &Relation, suffix: &str) -> Relation {
        let mut base = rel.identifier.as_str();
        if let Some(max) = self.0.max_identifier_bytes() {
            let room = max.saturating_sub(suffix.len());
            if base.len() > room {
                let mut cut = room;
                while !base.is_char_boundary(cut) {
                    cut -= 1;
                }
                base = &base[..cut];
            }
        }
        rel.with_identifier(format!("{base}{suffix}"))
    }
    /// `rel` with its schema and identifier cut (at a character boundary) to the engine's
    /// limit, as the engine itself would cut them: for relations dbt leaves to that (the
    /// `<schema>_dbt_test__audit` schema of stored test failures).
    pub(crate) fn truncated(self, rel: &Relation) -> Relation {
        let Some(max) = self.0.max_identifier_bytes() else {
            return rel.clone();
        };
        let cut = |name: &str| {
            let mut end = name.len().min(max);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name[..end].to_string()
        };
        Relation {
            schema: cut(&rel.schema),
            identifier: cut(&rel.identifier),
            ..rel.clone()
        }
    }
    /// A schema name as the engine keeps it: cut (at a character boundary) to its limit. A
    /// longer schema is no error in dbt-postgres (the server cuts it), so sluice names the
    /// schema as the server will, and every statement and catalog lookup agrees with it.
    pub(crate) fn schema_as_kept(self, schema: &str) -> String {
        self.truncated(&Relation::new(
            String::new(),
            schema.to_string(),
            String::new(),
        ))
        .schema
    }
    /// Refuses an identifier the engine would silently truncate (as dbt-postgres refuses a
    /// relation name longer than 63 characters).
    pub(crate) fn check_relation(self, rel: &Relation) -> Result<(), String> {
        let Some(max) = self.0.max_identifier_bytes() else {
            return Ok(());
        };
        for (what, name) in [("relation", &rel.identifier)] {
            if name.len() > max {
                return Err(format!(
                    "{what} name `{name}` is {} bytes long, but {} keeps only the first {max} bytes of an identifier\nhint: shorten it (a model's `alias` config sets its relation name)",
                    name.len(),
                    self.0.display_name(),
                ));
            }
        }
        Ok(())
    }
    pub(crate) fn drop_relation(self, rel: &Relation, kind: RelationKind) -> String {
        let cascade = if self.0.drop_cascades() {
            " cascade"
        } else {
            ""
        };
        format!(
            "drop {} if exists {}{cascade}",
            kind.keyword(),
            self.rel(rel)
        )
    }
    pub(crate) fn rename_relation(
        self,
        rel: &Relation,
        kind: RelationKind,
        new_identifier: &str,
    ) -> String {
        format!(
            "alter {} {} rename to {}",
            kind.keyword(),
            self.rel(rel),
            self.quote(new_identifier)
        )
    }
}

impl std::ops::Deref for Dialect {
    type Target = dyn SqlDialect;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

/// Two handles are the same engine when they name the same profile `type`.
impl PartialEq for Dialect {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}
impl Eq for Dialect {}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dialect({})", self.name())
    }
}
