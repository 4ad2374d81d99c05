//! Building one node in the warehouse: views, tables, incremental models and seeds.
//!
//! Input: a [`BuildSpec`] (relation, materialization, compiled SQL, incremental configs) and a
//! worker's `&mut dyn Connection`. Output: a [`BuildOutcome`] (dbt's `adapter_response` message and
//! rows affected) or an [`AdapterError`]. The SQL text comes from [`Dialect`]; everything here is
//! engine-neutral, so the same code serves DuckDB, Postgres and Spark.
//!
//! Design decision: every rebuild is a *swap*. The new relation is created under
//! `<name>__dbt_tmp` first (so a failing query never touches the old one), then one transaction
//! renames the old relation to `<name>__dbt_backup`, the new one into place, and drops the
//! backup. Readers see either the old or the new relation, never none, as in dbt's own
//! table/view materializations. Where the engine says otherwise, its dbt adapter's way is
//! followed: Spark has no transactions (a half-done swap is undone by renaming the backup back),
//! replaces views in place, and cannot change rows in place (strategies that must are refused).

use crate::adapters::{AdapterError, Column, Connection};
use crate::compile::Materialization;
use crate::project::seeds::SeedTable;
use crate::sql::{quote, Dialect, Relation, RelationKind};

/// What to build.
#[derive(Debug, Clone)]
pub(crate) struct BuildSpec<'a> {
    pub(crate) relation: &'a Relation,
    pub(crate) materialization: Materialization,
    /// The compiled `select`.
    pub(crate) sql: &'a str,
    /// Incremental `unique_key` (one or several columns/expressions, used verbatim).
    pub(crate) unique_key: Vec<String>,
    /// `append`, `delete+insert` or `merge` (default: `delete+insert` with a key, else `append`).
    pub(crate) incremental_strategy: Option<&'a str>,
    pub(crate) full_refresh: bool,
    /// `ignore` (default), `fail`, `append_new_columns` or `sync_all_columns`.
    pub(crate) on_schema_change: Option<&'a str>,
    /// `incremental_predicates`: extra conditions on the rows `merge` matches and
    /// `delete+insert` deletes (SQL, used verbatim, as dbt does).
    pub(crate) incremental_predicates: Vec<String>,
    /// `merge_update_columns`: the only columns a `merge` updates (default: every column).
    pub(crate) merge_update_columns: Vec<String>,
    /// `merge_exclude_columns`: columns a `merge` leaves as they were on matched rows.
    pub(crate) merge_exclude_columns: Vec<String>,
    /// The relations this run builds after this one (see [`Rebuilt`]).
    pub(crate) rebuilt: &'a Rebuilt,
    /// An enforced contract: tables are created from its columns and constraints.
    pub(crate) contract: Option<&'a super::contract::Contract>,
    /// SQL run before the statement that creates the relation, in the same call (dbt's
    /// `sql_header`: session settings, temporary functions).
    pub(crate) sql_header: Option<&'a str>,
    /// The `indexes` config (a materialized view compares it with the indexes it has).
    pub(crate) indexes: &'a [super::indexes::IndexConfig],
    /// `apply` (default), `continue` or `fail`: what a materialized view whose configuration
    /// changed does.
    pub(crate) on_configuration_change: Option<&'a str>,
    /// dbt-postgres's `unlogged: true`: tables are created `unlogged` (not written to the
    /// write-ahead log: faster, emptied by a crash) where the engine has such tables.
    pub(crate) unlogged: bool,
    /// What the engine writes between a new table's name and `as` (Spark: `using parquet
    /// partitioned by (...)`, from the model's `file_format`, `partition_by` ... configs).
    pub(crate) table_options: String,
    /// `partition_by`: the partitions an `insert_overwrite` incremental build replaces.
    pub(crate) partition_by: Vec<String>,
}

impl<'a> BuildSpec<'a> {
    /// A plain build of `sql` as `materialization`: no key, strategy, predicates or contract.
    pub(crate) fn plain(
        relation: &'a Relation,
        materialization: Materialization,
        sql: &'a str,
        rebuilt: &'a Rebuilt,
    ) -> Self {
        BuildSpec {
            relation,
            materialization,
            sql,
            unique_key: Vec::new(),
            incremental_strategy: None,
            full_refresh: true,
            on_schema_change: None,
            incremental_predicates: Vec::new(),
            merge_update_columns: Vec::new(),
            merge_exclude_columns: Vec::new(),
            rebuilt,
            contract: None,
            sql_header: None,
            indexes: &[],
            on_configuration_change: None,
            unlogged: false,
            table_options: String::new(),
            partition_by: Vec::new(),
        }
    }

    /// `create table ...` as the spec's `unlogged` config writes it on this engine.
    fn table_statement(&self, d: Dialect, statement: String) -> String {
        match statement.strip_prefix("create table ") {
            Some(rest) if self.unlogged && d.has_unlogged_tables() => {
                format!("create unlogged table {rest}")
            }
            _ => statement,
        }
    }

    /// `create table rel [options] as (sql)`, with the spec's table options and `unlogged`.
    fn create_table_as(&self, d: Dialect, rel: &Relation, sql: &str) -> String {
        let statement = d.create_table_with_options_as(rel, &self.table_options, sql);
        self.headed(self.table_statement(d, statement))
    }

    /// `statement` after the spec's `sql_header`, as dbt's `create_table_as` and
    /// `create_view_as` write it.
    pub(super) fn headed(&self, statement: String) -> String {
        match self.sql_header {
            Some(h) => format!("{}\n{statement}", h.trim()),
            None => statement,
        }
    }
}

/// The relations a run rebuilds, as lower-case `(schema, identifier)`. When replacing a relation
/// drops the views that read it (PostgreSQL), each view is recreated in the same transaction;
/// a view that cannot be recreated on the new relation (it reads a column that is gone) may be
/// left for its own model to rebuild only when it is in this set. Otherwise the replacement is
/// refused and the old relation and its views stay as they were.
pub(crate) type Rebuilt = std::collections::BTreeSet<(String, String)>;

/// The key of `rel` in [`Rebuilt`].
pub(crate) fn rebuilt_key(rel: &Relation) -> (String, String) {
    (rel.schema.to_lowercase(), rel.identifier.to_lowercase())
}

/// What building reported, like dbt's `adapter_response`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct BuildOutcome {
    /// `OK` on DuckDB (as dbt-duckdb reports), `SELECT n` / `INSERT 0 n` on Postgres.
    pub(crate) message: String,
    pub(crate) rows_affected: Option<u64>,
    /// The statement that built the relation (`create view|table ... as (...)`), which dbt
    /// keeps under `target/run/`.
    pub(crate) main_sql: Option<String>,
    /// Lines for `--debug` about what was done (dbt's `Applying REPLACE to: <relation>`).
    pub(crate) log: Vec<String>,
    /// A warning to report (a materialized view's configuration change left alone).
    pub(crate) warning: Option<String>,
    /// Whether the relation is a new table or materialized view (so its `indexes` are made).
    pub(crate) created: bool,
}

/// Creates `database.schema` unless it exists (tolerating a concurrent worker creating it too:
/// DuckDB then fails with a write-write conflict until the other worker's statement commits, so
/// the creation is retried a few times before the error counts).
pub(crate) fn ensure_schema(
    conn: &mut dyn Connection,
    database: &str,
    schema: &str,
) -> Result<(), AdapterError> {
    let sql = conn.dialect().create_schema(database, schema);
    let mut attempt = 0;
    loop {
        if schema_exists(conn, database, schema)? {
            return Ok(());
        }
        match conn.execute(&sql) {
            Ok(_) => return Ok(()),
            Err(_) if schema_exists(conn, database, schema)? => return Ok(()),
            Err(_) if attempt < 5 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
            }
            Err(e) => return Err(e),
        }
    }
}

fn schema_exists(
    conn: &mut dyn Connection,
    database: &str,
    schema: &str,
) -> Result<bool, AdapterError> {
    conn.schema_exists(database, schema)
}

/// Builds one model. The schema must exist ([`ensure_schema`]).
pub(crate) fn build(
    conn: &mut dyn Connection,
    spec: &BuildSpec,
) -> Result<BuildOutcome, AdapterError> {
    if spec.materialization != Materialization::Ephemeral {
        conn.dialect()
            .check_relation(spec.relation)
            .map_err(AdapterError::build)?;
    }
    match spec.materialization {
        Materialization::View => build_view(conn, spec),
        Materialization::Table => build_table(conn, spec),
        Materialization::Incremental => build_incremental(conn, spec),
        Materialization::Ephemeral => Ok(BuildOutcome {
            message: "OK".into(),
            ..BuildOutcome::default()
        }),
        other => Err(AdapterError::Unsupported {
            message: format!(
                "`{}` cannot be built as a model with materialization `{other:?}`",
                spec.relation.display_name()
            ),
        }),
    }
}

/// Loads a seed into `<name>__dbt_tmp` and puts it in place. On a re-run without `full_refresh`
/// whose columns are unchanged, the existing table is emptied and refilled instead (as dbt does),
/// so views depending on it survive on engines that drop dependents.
pub(crate) fn build_seed(
    conn: &mut dyn Connection,
    rel: &Relation,
    table: &SeedTable,
    quote_columns: bool,
    full_refresh: bool,
    rebuilt: &Rebuilt,
) -> Result<(usize, bool), AdapterError> {
    let d = conn.dialect();
    d.check_relation(rel).map_err(AdapterError::build)?;
    let tmp = d.suffixed(rel, "__dbt_tmp");
    drop_if_exists(conn, &tmp)?;
    let n = match conn.load_seed(&tmp, table, quote_columns) {
        Ok(n) => n,
        Err(e) => {
            let _ = drop_if_exists(conn, &tmp);
            return Err(e);
        }
    };
    let existing = conn.relation_kind(rel)?;
    let result = if !full_refresh
        && existing == Some(RelationKind::Table)
        && same_columns(&conn.columns(rel)?, &conn.columns(&tmp)?)
    {
        let cols = quoted_csv(d, &conn.columns(rel)?);
        let refill = in_transaction(conn, |c| {
            if !d.changes_rows_in_place() {
                // Same columns in the same order: the new rows replace the old ones.
                return c.execute(&format!(
                    "insert overwrite table {} select {cols} from {}",
                    d.rel(rel),
                    d.rel(&tmp)
                ));
            }
            c.execute(&format!("delete from {}", d.rel(rel)))?;
            c.execute(&format!(
                "insert into {} ({cols}) (select {cols} from {})",
                d.rel(rel),
                d.rel(&tmp)
            ))
        });
        let _ = drop_if_exists(conn, &tmp);
        refill.map(|_| false)
    } else {
        swap_into_place(conn, rel, &tmp, RelationKind::Table, rebuilt).map(|()| true)
    };
    result.map(|created| (n, created))
}

fn build_view(conn: &mut dyn Connection, spec: &BuildSpec) -> Result<BuildOutcome, AdapterError> {
    let (rel, sql, rebuilt) = (spec.relation, spec.sql, spec.rebuilt);
    let d = conn.dialect();
    if d.replaces_views_in_place() {
        // Replaced where it stands: a table of the same name goes first.
        if conn.relation_kind(rel)? == Some(RelationKind::Table) {
            conn.execute(&d.drop_relation(rel, RelationKind::Table))?;
        }
        let main = spec.headed(format!(
            "create or replace view {} as\n{}",
            d.rel(rel),
            sql.trim_end().trim_end_matches(';')
        ));
        conn.execute(&main)?;
        return Ok(BuildOutcome {
            main_sql: Some(main),
            ..ok_outcome(d, None)
        });
    }
    let tmp = d.suffixed(rel, "__dbt_tmp");
    drop_if_exists(conn, &tmp)?;
    let main = spec.headed(d.create_view_as(&tmp, sql));
    conn.execute(&main)?;
    swap_into_place(conn, rel, &tmp, RelationKind::View, rebuilt)?;
    Ok(BuildOutcome {
        main_sql: Some(main),
        ..ok_outcome(d, None)
    })
}

fn build_table(conn: &mut dyn Connection, spec: &BuildSpec) -> Result<BuildOutcome, AdapterError> {
    let (rel, sql, rebuilt) = (spec.relation, spec.sql, spec.rebuilt);
    let d = conn.dialect();
    let tmp = d.suffixed(rel, "__dbt_tmp");
    drop_if_exists(conn, &tmp)?;
    let (main, n) = match spec.contract {
        None => {
            let main = spec.create_table_as(d, &tmp, sql);
            let n = conn.execute(&main)?;
            (main, n)
        }
        // The query's columns in the contract's order, as a `create table ... as`.
        Some(contract) if !d.creates_contract_columns() => {
            let main = spec.create_table_as(d, &tmp, &contract.select_subquery(sql));
            let n = conn.execute(&main)?;
            (main, n)
        }
        // The contract's table, then the query's rows in the contract's column order.
        Some(contract) => {
            let (create, insert) = contract.statements(d, &tmp, sql);
            let create = spec.headed(spec.table_statement(d, create));
            conn.execute(&create)?;
            let n = conn.execute(&insert)?;
            (format!("{create} ;\n{insert}"), n)
        }
    };
    swap_into_place(conn, rel, &tmp, RelationKind::Table, rebuilt)?;
    Ok(BuildOutcome {
        main_sql: Some(main),
        ..outcome(d, Some(n), true)
    })
}

/// What the engine's dbt adapter reports for a table created from `rows` rows, or for rows
/// written into an existing table, or for a view (`rows: None`).
pub(super) fn outcome(d: Dialect, rows: Option<u64>, created_table: bool) -> BuildOutcome {
    let (message, rows_affected) = d.build_status(rows, created_table);
    BuildOutcome {
        message,
        rows_affected,
        created: created_table,
        ..BuildOutcome::default()
    }
}

fn ok_outcome(d: Dialect, rows: Option<u64>) -> BuildOutcome {
    outcome(d, rows, false)
}

/// Renames `tmp` (already built) to `target`'s name in one transaction, replacing whatever
/// `target` was. On failure the transaction is rolled back (the old relation stays) and `tmp` is
/// dropped.
///
/// Where dropping the old relation drops the views that read it (PostgreSQL), those views are
/// recreated from their definitions in the same transaction, so readers never lose them; see
/// [`Rebuilt`] for a view that cannot be.
pub(super) fn swap_into_place(
    conn: &mut dyn Connection,
    target: &Relation,
    tmp: &Relation,
    tmp_kind: RelationKind,
    rebuilt: &Rebuilt,
) -> Result<(), AdapterError> {
    let d = conn.dialect();
    let backup = d.suffixed(target, "__dbt_backup");
    let swapped = (|| {
        if !d.has_transactions() {
            // A swap that lost its connection between the two renames left the old relation
            // only under the backup's name: put it back before the backup is dropped.
            restore_backup(conn, target, &backup);
        }
        drop_if_exists(conn, &backup)?;
        let existing = conn.relation_kind(target)?;
        in_transaction(conn, |c| {
            let mut dependents = Vec::new();
            if let Some(kind) = existing {
                dependents = dependent_views(c, target)?;
                drop_indexes_blocking_rename(c, target)?;
                c.execute(&d.rename_relation(target, kind, &backup.identifier))?;
            }
            c.execute(&d.rename_relation(tmp, tmp_kind, &target.identifier))?;
            if let Some(kind) = existing {
                c.execute(&d.drop_relation(&backup, kind))?;
            }
            restore_views(c, target, &dependents, rebuilt)
        })
    })();
    if swapped.is_err() {
        if !d.has_transactions() {
            restore_backup(conn, target, &backup);
        }
        let _ = drop_if_exists(conn, tmp);
    }
    swapped
}

/// Puts the old relation back under `target`'s name after a swap failed half-way on an engine
/// without transactions (its rename to `backup` took effect, the new relation's did not).
fn restore_backup(conn: &mut dyn Connection, target: &Relation, backup: &Relation) {
    let d = conn.dialect();
    if let (Ok(None), Ok(Some(kind))) = (conn.relation_kind(target), conn.relation_kind(backup)) {
        let _ = conn.execute(&d.rename_relation(backup, kind, &target.identifier));
    }
}

/// Drops `rel`'s indexes where the engine refuses to rename a table that has some (DuckDB), as
/// dbt-duckdb's `drop_indexes_on_relation` does before its swap. In the swap's transaction, so a
/// failed swap keeps them; the new relation gets its own from the `indexes` config.
fn drop_indexes_blocking_rename(
    conn: &mut dyn Connection,
    rel: &Relation,
) -> Result<(), AdapterError> {
    let Some(sql) = conn.dialect().indexes_blocking_rename_query(rel) else {
        return Ok(());
    };
    let names: Vec<String> = conn
        .query(&sql)?
        .rows
        .iter()
        .filter_map(|row| row.first()?.as_str().map(str::to_string))
        .collect();
    for name in names {
        conn.execute(&format!(
            "drop index {}.{}.{}",
            quote(&rel.database),
            quote(&rel.schema),
            quote(&name)
        ))?;
    }
    Ok(())
}

/// A view that reads a relation about to be replaced, as it was defined.
struct DependentView {
    relation: Relation,
    materialized: bool,
    definition: String,
}

/// The views reading `rel` (directly or through other views) that replacing it would drop, each
/// after the views it reads; none where views are bound by name.
fn dependent_views(
    conn: &mut dyn Connection,
    rel: &Relation,
) -> Result<Vec<DependentView>, AdapterError> {
    let Some(sql) = conn.dialect().dependent_views_query(rel) else {
        return Ok(Vec::new());
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Ok(conn
        .query(&sql)?
        .rows
        .iter()
        .filter(|row| row.len() == 4)
        .map(|row| DependentView {
            relation: Relation::new(rel.database.clone(), text(&row[0]), text(&row[1])),
            materialized: row[2].as_str() == Some("m"),
            definition: text(&row[3]),
        })
        .collect())
}

/// Recreates the views the swap of `target` dropped. A view that fails on the new relation is
/// left to its own model when this run rebuilds it; otherwise the whole swap is refused.
fn restore_views(
    conn: &mut dyn Connection,
    target: &Relation,
    views: &[DependentView],
    rebuilt: &Rebuilt,
) -> Result<(), AdapterError> {
    let d = conn.dialect();
    for v in views {
        let what = if v.materialized {
            "materialized view"
        } else {
            "view"
        };
        let body = v.definition.trim_end().trim_end_matches(';');
        conn.execute("savepoint sluice_restore_view")?;
        match conn.execute(&format!("create {what} {} as {body}", d.rel(&v.relation))) {
            Ok(_) => {
                conn.execute("release savepoint sluice_restore_view")?;
            }
            Err(_) if rebuilt.contains(&rebuilt_key(&v.relation)) => {
                conn.execute("rollback to savepoint sluice_restore_view")?;
            }
            Err(e) => {
                return Err(AdapterError::build(format!(
                    "the new `{}` would drop {what} `{}`, which reads it, and it cannot be recreated on the new relation: {e}\n\
                     hint: the previous `{}` and `{}` are kept; select the view's model too, so the run rebuilds it (`+` after a model's name selects what reads it), or change or drop the view first",
                    target.display_name(),
                    v.relation.display_name(),
                    target.display_name(),
                    v.relation.display_name(),
                )));
            }
        }
    }
    Ok(())
}

/// One microbatch into an existing table: the rows of its window (`condition`, on the table's
/// `event_time`) are replaced by the batch's, in one transaction.
pub(crate) fn replace_window(
    conn: &mut dyn Connection,
    rel: &Relation,
    sql: &str,
    condition: &str,
) -> Result<BuildOutcome, AdapterError> {
    let d = conn.dialect();
    d.check_relation(rel).map_err(AdapterError::build)?;
    let cols = quoted_csv(d, &conn.columns(rel)?);
    let insert = format!(
        "insert into {} ({cols}) (select {cols} from ({sql}) as _dbt_batch)",
        d.rel(rel)
    );
    in_transaction(conn, |c| {
        c.execute(&format!("delete from {} where {condition}", d.rel(rel)))?;
        c.execute(&insert)
    })?;
    Ok(BuildOutcome {
        main_sql: Some(insert),
        ..ok_outcome(d, None)
    })
}

/// Runs `f` between `begin` and `commit`, rolling back if anything fails.
fn in_transaction<T>(
    conn: &mut dyn Connection,
    f: impl FnOnce(&mut dyn Connection) -> Result<T, AdapterError>,
) -> Result<T, AdapterError> {
    conn.begin()?;
    match f(conn) {
        Ok(v) => match conn.commit() {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = conn.rollback();
                Err(e)
            }
        },
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

pub(super) fn drop_if_exists(
    conn: &mut dyn Connection,
    rel: &Relation,
) -> Result<(), AdapterError> {
    if let Some(kind) = conn.relation_kind(rel)? {
        let sql = conn.dialect().drop_relation(rel, kind);
        conn.execute(&sql)?;
    }
    Ok(())
}

fn build_incremental(
    conn: &mut dyn Connection,
    spec: &BuildSpec,
) -> Result<BuildOutcome, AdapterError> {
    let (rel, d) = (spec.relation, conn.dialect());
    let strategy = spec
        .incremental_strategy
        .unwrap_or_else(|| d.default_incremental_strategy(!spec.unique_key.is_empty()));
    if !d.incremental_strategies().contains(&strategy) {
        let known = d
            .incremental_strategies()
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let why = d.incremental_strategy_hint(strategy).unwrap_or_default();
        return Err(AdapterError::build(format!(
            "incremental strategy `{strategy}` is not supported for `{}` on {} (use {known}){why}",
            rel.display_name(),
            d.display_name()
        )));
    }
    let on_change = spec.on_schema_change.unwrap_or("ignore");
    if !matches!(
        on_change,
        "ignore" | "fail" | "append_new_columns" | "sync_all_columns"
    ) {
        return Err(AdapterError::build(format!(
            "on_schema_change `{on_change}` is not valid for `{}` (use `ignore`, `fail`, `append_new_columns` or `sync_all_columns`)",
            rel.display_name()
        )));
    }
    match conn.relation_kind(rel)? {
        Some(RelationKind::Table) if !spec.full_refresh => {}
        _ => return build_table(conn, spec),
    }
    let tmp = d.temp_relation(&d.suffixed(rel, "__dbt_tmp").identifier);
    drop_if_exists(conn, &tmp)?;
    conn.execute(&spec.headed(d.temporary_table_as(&tmp.identifier, spec.sql)))?;
    let result = merge_into(conn, spec, strategy, on_change, &tmp);
    let _ = drop_if_exists(conn, &tmp);
    result
}

/// Applies the schema policy, then the strategy, in one transaction.
fn merge_into(
    conn: &mut dyn Connection,
    spec: &BuildSpec,
    strategy: &str,
    on_change: &str,
    tmp: &Relation,
) -> Result<BuildOutcome, AdapterError> {
    let (rel, d) = (spec.relation, conn.dialect());
    let source = conn.columns(tmp)?;
    let target = conn.columns(rel)?;
    let find = |cols: &[Column], name: &str| {
        cols.iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
    };
    let new_cols: Vec<Column> = source
        .iter()
        .filter(|c| find(&target, &c.name).is_none())
        .cloned()
        .collect();
    let gone_cols: Vec<Column> = target
        .iter()
        .filter(|c| find(&source, &c.name).is_none())
        .cloned()
        .collect();
    let retyped: Vec<Column> = source
        .iter()
        .filter(|c| {
            find(&target, &c.name).is_some_and(|t| !t.data_type.eq_ignore_ascii_case(&c.data_type))
        })
        .cloned()
        .collect();
    let changed = !(new_cols.is_empty() && gone_cols.is_empty() && retyped.is_empty());
    if changed && on_change == "fail" {
        let names = |cols: &[Column]| {
            cols.iter()
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let types = retyped
            .iter()
            .map(|c| format!("`{}` {}", c.name, c.data_type))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AdapterError::build(format!(
            "the source and target schemas of incremental model `{}` are out of sync (on_schema_change: fail)\n  \
             source columns not in target: [{}]\n  target columns not in source: [{}]\n  new column types: [{}]\n\
             hint: set `on_schema_change` to `append_new_columns` or `sync_all_columns`, or rebuild with --full-refresh",
            rel.display_name(),
            names(&new_cols),
            names(&gone_cols),
            types
        )));
    }
    let target_sql = d.rel(rel);
    let source_sql = d.rel(tmp);
    in_transaction(conn, |c| {
        if changed && matches!(on_change, "append_new_columns" | "sync_all_columns") {
            for col in &new_cols {
                c.execute(&d.add_column(rel, &col.name, &col.data_type))?;
            }
            if on_change == "sync_all_columns" {
                for col in &gone_cols {
                    c.execute(&format!(
                        "alter table {target_sql} drop column {}",
                        d.quote(&col.name)
                    ))?;
                }
                for col in &retyped {
                    c.execute(&format!(
                        "alter table {target_sql} alter column {} type {}",
                        d.quote(&col.name),
                        col.data_type
                    ))?;
                }
            }
        }
        let dest: Vec<Column> = c
            .columns(rel)?
            .into_iter()
            .filter(|t| find(&source, &t.name).is_some())
            .collect();
        let cols = quoted_csv(d, &dest);
        let insert = format!("insert into {target_sql} ({cols}) (select {cols} from {source_sql})");
        let keys = &spec.unique_key;
        let preds = &spec.incremental_predicates;
        let rows = match strategy {
            "merge" if !keys.is_empty() => {
                let on = preds
                    .iter()
                    .cloned()
                    .chain(
                        keys.iter()
                            .map(|k| format!("DBT_INTERNAL_SOURCE.{k} = DBT_INTERNAL_DEST.{k}")),
                    )
                    .collect::<Vec<_>>()
                    .join(" and ");
                let set = merge_update_columns(spec, &dest)
                    .iter()
                    .map(|name| format!("{0} = DBT_INTERNAL_SOURCE.{0}", d.quote(name)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let values = dest
                    .iter()
                    .map(|col| format!("DBT_INTERNAL_SOURCE.{}", d.quote(&col.name)))
                    .collect::<Vec<_>>()
                    .join(", ");
                c.execute(&format!(
                    "merge into {target_sql} as DBT_INTERNAL_DEST using {source_sql} as DBT_INTERNAL_SOURCE on ({on}) \
                     when matched then update set {set} when not matched then insert ({cols}) values ({values})"
                ))?
            }
            "delete+insert" if !keys.is_empty() => {
                let and_preds: String = preds.iter().map(|p| format!(" and {p}")).collect();
                let delete = if keys.len() == 1 {
                    format!(
                        "delete from {target_sql} where ({0}) in (select ({0}) from {source_sql}){and_preds}",
                        keys[0]
                    )
                } else {
                    // The target is aliased as dbt-duckdb aliases it, for predicates naming it.
                    let on = keys
                        .iter()
                        .map(|k| format!("DBT_INTERNAL_SOURCE.{k} = DBT_INCREMENTAL_TARGET.{k}"))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    format!("delete from {target_sql} as DBT_INCREMENTAL_TARGET using {source_sql} as DBT_INTERNAL_SOURCE where {on}{and_preds}")
                };
                c.execute(&delete)?;
                c.execute(&insert)?
            }
            "insert_overwrite" => {
                let partitions = match spec.partition_by.is_empty() {
                    true => String::new(),
                    false => {
                        c.execute("set spark.sql.sources.partitionOverwriteMode = dynamic")?;
                        format!(" partition ({})", spec.partition_by.join(", "))
                    }
                };
                c.execute(&format!(
                    "insert overwrite table {target_sql}{partitions} select {cols} from {source_sql}"
                ))?
            }
            _ => c.execute(&insert)?,
        };
        Ok(ok_outcome(d, Some(rows)))
    })
}

/// The columns a `merge` updates on matched rows, as dbt's `get_merge_update_columns` picks
/// them: `merge_update_columns` as given, else every column but `merge_exclude_columns`
/// (compared case-insensitively).
fn merge_update_columns(spec: &BuildSpec, dest: &[Column]) -> Vec<String> {
    if !spec.merge_update_columns.is_empty() {
        return spec.merge_update_columns.clone();
    }
    dest.iter()
        .filter(|c| {
            !spec
                .merge_exclude_columns
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&c.name))
        })
        .map(|c| c.name.clone())
        .collect()
}

fn quoted_csv(d: Dialect, cols: &[Column]) -> String {
    cols.iter()
        .map(|c| d.quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn same_columns(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name.eq_ignore_ascii_case(&y.name) && x.data_type.eq_ignore_ascii_case(&y.data_type)
        })
}
