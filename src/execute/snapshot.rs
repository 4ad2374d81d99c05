//! Snapshots: type-2 slowly changing dimensions over a query, as dbt's snapshot materialization
//! builds them (`timestamp` and `check` strategies, `unique_key` (one column or a list),
//! `updated_at`, `check_cols`, `hard_deletes` / `invalidate_hard_deletes`, `dbt_valid_to_current`,
//! and the `dbt_scd_id` / `dbt_updated_at` / `dbt_valid_from` / `dbt_valid_to` / `dbt_is_deleted`
//! columns).
//!
//! Owns the SQL of a snapshot run: the first run creates the table from the query; later runs
//! build a staging table of changes (`insert` / `update` / `delete` rows), close the changed
//! current rows and insert the new versions, then drop the staging table.
//!
//! Design decision: the staging query is generated here in Rust, clause for clause the SQL
//! dbt's `snapshot_staging_table` renders (the same CTEs, hash and change detection), rather
//! than by rendering dbt's snapshot macros. Why: the macros need most of dbt's materialization
//! machinery in Jinja, while the SQL is fixed once the strategy is known; generating it keeps
//! the table contents identical to dbt's (checked against real dbt in `tests/it/snapshots.rs`)
//! with no template round trips.

use serde_json::Value;

use crate::adapters::{AdapterError, Connection};
use crate::sql::{quote, Relation};

/// What to do with current rows whose key left the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HardDeletes {
    Ignore,
    Invalidate,
    NewRecord,
}

/// A snapshot's configuration, read from its node config.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotSpec {
    pub(crate) relation: Relation,
    /// The compiled `select` of the snapshot.
    pub(crate) sql: String,
    pub(crate) unique_key: Vec<String>,
    /// `timestamp` or `check`.
    pub(crate) strategy: String,
    pub(crate) updated_at: Option<String>,
    /// `None` for `all`.
    pub(crate) check_cols: Option<Vec<String>>,
    pub(crate) hard_deletes: HardDeletes,
    pub(crate) valid_to_current: Option<String>,
    /// `snapshot_meta_column_names`: the name each of dbt's meta columns has in the table,
    /// keyed by the default name (`dbt_valid_to` ...); the defaults where not configured.
    pub(crate) meta_names: Vec<(&'static str, String)>,
}

/// dbt's snapshot meta columns, by their default names.
const META_COLUMNS: [&str; 5] = [
    "dbt_scd_id",
    "dbt_updated_at",
    "dbt_valid_from",
    "dbt_valid_to",
    "dbt_is_deleted",
];

/// Stands for the snapshot's query while the generated SQL's column names are renamed.
const QUERY_SLOT: &str = "\u{1}snapshot_query\u{1}";

impl SnapshotSpec {
    /// Reads the spec from a snapshot node's config; an error names what is missing.
    pub(crate) fn from_config(
        relation: Relation,
        sql: String,
        config: &serde_json::Map<String, Value>,
    ) -> Result<Self, String> {
        let s = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| match config.get(k) {
            Some(Value::String(v)) => Some(vec![v.clone()]),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        };
        let unique_key = list("unique_key")
            .filter(|k| !k.is_empty())
            .ok_or("snapshot config `unique_key` is required")?;
        let strategy = s("strategy")
            .ok_or("snapshot config `strategy` is required (`timestamp` or `check`)")?;
        let updated_at = s("updated_at");
        let check_cols = match config.get("check_cols") {
            Some(Value::String(a)) if a == "all" => None,
            _ => list("check_cols"),
        };
        match strategy.as_str() {
            "timestamp" if updated_at.is_none() => {
                return Err("the `timestamp` strategy needs `updated_at`".into())
            }
            "check" if check_cols.is_none() && config.get("check_cols").is_none() => {
                return Err("the `check` strategy needs `check_cols` (a list, or `all`)".into())
            }
            "timestamp" | "check" => {}
            other => {
                return Err(format!(
                    "unknown snapshot strategy `{other}` (use `timestamp` or `check`)"
                ))
            }
        }
        let hard_deletes = match s("hard_deletes").as_deref() {
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            Some("ignore") => HardDeletes::Ignore,
            Some(other) => {
                return Err(format!(
                    "unknown `hard_deletes` value `{other}` (use `ignore`, `invalidate` or `new_record`)"
                ))
            }
            None if config.get("invalidate_hard_deletes") == Some(&Value::Bool(true)) => {
                HardDeletes::Invalidate
            }
            None => HardDeletes::Ignore,
        };
        let configured = config
            .get("snapshot_meta_column_names")
            .and_then(Value::as_object);
        let meta_names = META_COLUMNS
            .iter()
            .map(|&default| {
                let name = configured
                    .and_then(|c| c.get(default))
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(default);
                (default, name.to_string())
            })
            .collect();
        Ok(SnapshotSpec {
            relation,
            sql,
            unique_key,
            strategy,
            updated_at,
            check_cols,
            hard_deletes,
            valid_to_current: s("dbt_valid_to_current"),
            meta_names,
        })
    }

    /// The configured name of the meta column `default` (`dbt_valid_to` ...).
    fn meta<'a>(&'a self, default: &'a str) -> &'a str {
        self.meta_names
            .iter()
            .find(|(d, _)| *d == default)
            .map_or(default, |(_, n)| n.as_str())
    }

    /// `sql`, generated here with dbt's default meta column names, with the configured names
    /// instead; the snapshot's own query stands in it as [`QUERY_SLOT`] and is put back
    /// untouched.
    fn renamed(&self, sql: &str) -> String {
        static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"\bdbt_(scd_id|updated_at|valid_from|valid_to|is_deleted)\b")
                .expect("valid regex")
        });
        let out = RE.replace_all(sql, |c: &regex::Captures| self.meta(&c[0]).to_string());
        out.replace(QUERY_SLOT, &self.sql)
    }

    /// The meta columns the existing table lacks (compared case-insensitively): dbt refuses
    /// to snapshot into it.
    pub(crate) fn missing_meta_columns(&self, table_cols: &[String]) -> Vec<String> {
        // Every meta column but `dbt_is_deleted`, which only `hard_deletes: new_record` adds.
        let needed = META_COLUMNS[..4]
            .iter()
            .copied()
            .chain((self.hard_deletes == HardDeletes::NewRecord).then_some("dbt_is_deleted"));
        needed
            .map(|d| self.meta(d).to_string())
            .filter(|n| !table_cols.iter().any(|c| c.eq_ignore_ascii_case(n)))
            .collect()
    }

    /// The time a check-strategy row or a deletion is stamped with.
    fn now(&self) -> &'static str {
        "now()::timestamp"
    }

    fn updated_at_expr(&self) -> String {
        match (&self.strategy[..], &self.updated_at) {
            ("timestamp", Some(u)) => u.clone(),
            (_, Some(u)) => u.clone(),
            _ => self.now().to_string(),
        }
    }

    fn hash(args: &[String]) -> String {
        let parts: Vec<String> = args
            .iter()
            .map(|a| format!("coalesce(cast({a} as varchar ), '')"))
            .collect();
        format!("md5({})", parts.join(" || '|' || "))
    }

    fn scd_id(&self) -> String {
        let mut args = self.unique_key.clone();
        args.push(self.updated_at_expr());
        Self::hash(&args)
    }

    fn valid_to_current(&self) -> String {
        let u = self.updated_at_expr();
        format!(
            "coalesce(nullif({u}, {u}), {})",
            self.valid_to_current.as_deref().unwrap_or("null")
        )
    }

    fn key_fields(&self) -> String {
        if self.unique_key.len() == 1 {
            format!("{} as dbt_unique_key", self.unique_key[0])
        } else {
            self.unique_key
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{k} as dbt_unique_key_{}", i + 1))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    fn key_join(&self, a: &str, b: &str) -> String {
        if self.unique_key.len() == 1 {
            format!("{a}.dbt_unique_key = {b}.dbt_unique_key")
        } else {
            (1..=self.unique_key.len())
                .map(|i| {
                    let (x, y) = (
                        format!("{a}.dbt_unique_key_{i}"),
                        format!("{b}.dbt_unique_key_{i}"),
                    );
                    // dbt's `equals()` without the truthy-nulls behaviour flag (dbt 1.10).
                    format!("({x} = {y})")
                })
                .collect::<Vec<_>>()
                .join(" and ")
        }
    }

    fn key_is_null(&self, a: &str) -> String {
        if self.unique_key.len() == 1 {
            format!("{a}.dbt_unique_key is null")
        } else {
            (1..=self.unique_key.len())
                .map(|i| format!("{a}.dbt_unique_key_{i} is null"))
                .collect::<Vec<_>>()
                .join(" and ")
        }
    }

    fn current_filter(&self, alias: &str) -> String {
        match &self.valid_to_current {
            Some(v) => format!("({alias}dbt_valid_to = {v} or {alias}dbt_valid_to is null)"),
            None => format!("{alias}dbt_valid_to is null"),
        }
    }

    /// `create table` for the first run.
    pub(crate) fn create_sql(&self, dialect_create: impl Fn(&Relation, &str) -> String) -> String {
        let u = self.updated_at_expr();
        let is_deleted = if self.hard_deletes == HardDeletes::NewRecord {
            ", 'False' as dbt_is_deleted"
        } else {
            ""
        };
        let select = format!(
            "select *,\n        {} as dbt_scd_id,\n        {u} as dbt_updated_at,\n        {u} as dbt_valid_from,\n        {} as dbt_valid_to{is_deleted}\n    from (\n        {QUERY_SLOT}\n    ) sbq",
            self.scd_id(),
            self.valid_to_current(),
        );
        self.renamed(&dialect_create(&self.relation, &select))
    }

    /// The staging query of a later run. `check_cols` are the (quoted) columns compared by the
    /// check strategy, `column_added` whether the query has a column the table lacks, and
    /// `source_cols` / `snapshot_cols` the columns of the query and of the table.
    pub(crate) fn staging_sql(
        &self,
        check_cols: &[String],
        column_added: bool,
        source_cols: &[String],
        snapshot_cols: &[String],
    ) -> String {
        let target = self.relation.quoted();
        let new_record = self.hard_deletes == HardDeletes::NewRecord;
        let deletes_on = self.hard_deletes != HardDeletes::Ignore;
        let u = self.updated_at_expr();
        let row_changed = if self.strategy == "timestamp" {
            format!("(snapshotted_data.dbt_valid_from < source_data.{u})")
        } else if column_added {
            "(TRUE)".to_string()
        } else {
            let parts: Vec<String> = check_cols
                .iter()
                .map(|c| {
                    format!(
                        "snapshotted_data.{c} != source_data.{c} or (((snapshotted_data.{c} is null) and not (source_data.{c} is null)) or ((not snapshotted_data.{c} is null) and (source_data.{c} is null)))"
                    )
                })
                .collect();
            format!("({})", parts.join(" or "))
        };
        let deleted_again = if new_record {
            " or snapshotted_data.dbt_is_deleted = 'True'"
        } else {
            ""
        };
        let keys = self.key_fields();
        let mut sql = format!(
            "with snapshot_query as (\n    {sql}\n),\nsnapshotted_data as (\n    select *, {keys}\n    from {target}\n    where {current}\n),\ninsertions_source_data as (\n    select *, {keys},\n        {u} as dbt_updated_at,\n        {u} as dbt_valid_from,\n        {valid_to} as dbt_valid_to,\n        {scd} as dbt_scd_id\n    from snapshot_query\n),\nupdates_source_data as (\n    select *, {keys},\n        {u} as dbt_updated_at,\n        {u} as dbt_valid_from,\n        {u} as dbt_valid_to\n    from snapshot_query\n),\n",
            sql = QUERY_SLOT,
            current = self.current_filter(""),
            valid_to = self.valid_to_current(),
            scd = self.scd_id(),
        );
        if deletes_on {
            sql.push_str(&format!(
                "deletes_source_data as (\n    select *, {keys}\n    from snapshot_query\n),\n"
            ));
        }
        let join = self.key_join("snapshotted_data", "source_data");
        let snap_not_null = format!("not ({})", self.key_is_null("snapshotted_data"));
        sql.push_str(&format!(
            "insertions as (\n    select 'insert' as dbt_change_type, source_data.*{flag}\n    from insertions_source_data as source_data\n    left outer join snapshotted_data on {join}\n    where {snap_null} or ({snap_not_null} and ({row_changed}{deleted_again}))\n),\nupdates as (\n    select 'update' as dbt_change_type, source_data.*, snapshotted_data.dbt_scd_id{deleted_col}\n    from updates_source_data as source_data\n    join snapshotted_data on {join}\n    where ({row_changed}{deleted_again})\n)",
            flag = if new_record { ", 'False' as dbt_is_deleted" } else { "" },
            snap_null = self.key_is_null("snapshotted_data"),
            snap_not_null = snap_not_null,
            deleted_col = if new_record { ", snapshotted_data.dbt_is_deleted" } else { "" },
        ));
        let not_already_deleted = format!(
            "not (snapshotted_data.dbt_is_deleted = 'True' and {})",
            self.current_filter("snapshotted_data.")
        );
        if deletes_on {
            let now = self.now();
            sql.push_str(&format!(
                ",\ndeletes as (\n    select 'delete' as dbt_change_type, source_data.*,\n        {now} as dbt_valid_from,\n        {now} as dbt_updated_at,\n        {now} as dbt_valid_to,\n        snapshotted_data.dbt_scd_id{deleted_col}\n    from snapshotted_data\n    left join deletes_source_data as source_data on {join}\n    where {src_null}{extra}\n)",
                deleted_col = if new_record { ", snapshotted_data.dbt_is_deleted" } else { "" },
                src_null = self.key_is_null("source_data"),
                extra = if new_record { format!(" and {not_already_deleted}") } else { String::new() },
            ));
        }
        if new_record {
            let now = self.now();
            let cols: Vec<String> = source_cols
                .iter()
                .map(|c| {
                    let side = if snapshot_cols.contains(c) {
                        "snapshotted_data"
                    } else {
                        "source_data"
                    };
                    format!("{side}.{}", quote(c))
                })
                .collect();
            let key_cols = if self.unique_key.len() == 1 {
                "snapshotted_data.dbt_unique_key as dbt_unique_key".to_string()
            } else {
                self.unique_key
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("snapshotted_data.{k} as dbt_unique_key_{}", i + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            sql.push_str(&format!(
                ",\ndeletion_records as (\n    select 'insert' as dbt_change_type, {cols}, {key_cols},\n        {now} as dbt_valid_from,\n        {now} as dbt_updated_at,\n        snapshotted_data.dbt_valid_to as dbt_valid_to,\n        {scd} as dbt_scd_id,\n        'True' as dbt_is_deleted\n    from snapshotted_data\n    left join deletes_source_data as source_data on {join}\n    where {src_null} and {not_already_deleted}\n)",
                cols = cols.join(", "),
                scd = Self::hash(&["dbt_scd_id".to_string(), now.to_string()]),
                src_null = self.key_is_null("source_data"),
            ));
        }
        sql.push_str("\nselect * from insertions\nunion all\nselect * from updates");
        if deletes_on {
            sql.push_str("\nunion all\nselect * from deletes");
        }
        if new_record {
            sql.push_str("\nunion all\nselect * from deletion_records");
        }
        self.renamed(&sql)
    }
}

/// Runs one snapshot; returns the message dbt prints (`SELECT n` / `INSERT n`).
pub(crate) fn run(
    conn: &mut dyn Connection,
    spec: &SnapshotSpec,
    create_table_as: impl Fn(&Relation, &str) -> String,
) -> Result<(String, Option<u64>), AdapterError> {
    let d = conn.dialect();
    if !d.changes_rows_in_place() {
        return Err(AdapterError::build(format!(
            "snapshot `{}` cannot be built on {}: a snapshot updates the rows it keeps, which needs a table format with row-level changes\nhint: Delta Lake or Iceberg tables have them (dbt-spark's snapshots require `file_format: delta`, `iceberg` or `hudi`); this engine's tables are parquet",
            spec.relation.display_name(),
            d.display_name()
        )));
    }
    let exists = conn.relation_kind(&spec.relation)?.is_some();
    if !exists {
        conn.execute(&spec.create_sql(&create_table_as))?;
        let n = count(conn, &spec.relation)?;
        return Ok((format!("SELECT {n}"), Some(n)));
    }
    let source_cols = conn
        .query(&format!(
            "select * from (\n{}\n) as __dbt_sbq where false limit 0",
            spec.sql
        ))?
        .column_names;
    let snapshot_cols: Vec<String> = conn
        .columns(&spec.relation)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let lacking = spec.missing_meta_columns(&snapshot_cols);
    if !lacking.is_empty() {
        return Err(AdapterError::build(format!(
            "Snapshot target is missing configured columns (missing: {lacking:?}). See \
             https://docs.getdbt.com/docs/build/snapshots#snapshot-meta-fields for more information.\n  \
             hint: rebuild it with --full-refresh, or configure `snapshot_meta_column_names` as the table has them"
        )));
    }
    // Source columns the table lacks are added first (dbt's `create_columns`).
    let missing: Vec<String> = source_cols
        .iter()
        .filter(|c| !snapshot_cols.iter().any(|s| s.eq_ignore_ascii_case(c)))
        .cloned()
        .collect();
    let (check_cols, column_added) = match &spec.check_cols {
        _ if spec.strategy != "check" => (vec![], false),
        None => (
            source_cols
                .iter()
                .filter(|c| snapshot_cols.contains(c))
                .map(|c| quote(c))
                .collect(),
            !missing.is_empty(),
        ),
        Some(cols) => {
            let added = cols
                .iter()
                .any(|c| !snapshot_cols.iter().any(|s| s == c.trim_matches('"')));
            (
                cols.iter()
                    .filter(|c| snapshot_cols.iter().any(|s| s == c.trim_matches('"')))
                    .map(|c| quote(c.trim_matches('"')))
                    .collect(),
                added,
            )
        }
    };
    let staging = Relation::new(
        spec.relation.database.clone(),
        spec.relation.schema.clone(),
        format!("{}__dbt_tmp", spec.relation.identifier),
    );
    conn.execute(&format!("drop table if exists {}", staging.quoted()))?;
    let select = spec.staging_sql(&check_cols, column_added, &source_cols, &snapshot_cols);
    conn.execute(&create_table_as(&staging, &select))?;
    // Columns, closing updates and inserts land together or not at all.
    conn.begin()?;
    let result = (|| -> Result<u64, AdapterError> {
        // Source columns the table lacks are added with the staging table's types (dbt's
        // `create_columns` over `get_missing_columns(staging, target)`).
        if !missing.is_empty() {
            let staging_types = conn.columns(&staging)?;
            for c in &missing {
                let t = staging_types
                    .iter()
                    .find(|s| &s.name == c)
                    .map(|s| s.data_type.clone())
                    .unwrap_or_else(|| "varchar".into());
                conn.execute(&format!(
                    "alter table {} add column {} {t}",
                    spec.relation.quoted(),
                    quote(c)
                ))?;
            }
        }
        let snapshot_cols: Vec<String> = conn
            .columns(&spec.relation)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let target = spec.relation.quoted();
        let src = staging.quoted();
        let cur = match &spec.valid_to_current {
            Some(v) => format!(
                "(DBT_INTERNAL_TARGET.dbt_valid_to = {v} or DBT_INTERNAL_TARGET.dbt_valid_to is null)"
            ),
            None => "DBT_INTERNAL_TARGET.dbt_valid_to is null".into(),
        };
        let updated = conn.execute(&spec.renamed(&format!(
            "update {target} as DBT_INTERNAL_TARGET\n    set dbt_valid_to = DBT_INTERNAL_SOURCE.dbt_valid_to\n    from {src} as DBT_INTERNAL_SOURCE\n    where DBT_INTERNAL_SOURCE.dbt_scd_id::text = DBT_INTERNAL_TARGET.dbt_scd_id::text\n      and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)\n      and {cur}"
        )))?;
        let cols: Vec<String> = snapshot_cols.iter().map(|c| quote(c)).collect();
        let inserted = conn.execute(&format!(
            "insert into {target} ({})\n    select {}\n    from {src} as DBT_INTERNAL_SOURCE\n    where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text",
            cols.join(", "),
            cols.iter()
                .map(|c| format!("DBT_INTERNAL_SOURCE.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        Ok(updated + inserted)
    })();
    let result = match result {
        Ok(n) => conn.commit().map(|_| n),
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    };
    let dropped = conn.execute(&format!("drop table if exists {}", staging.quoted()));
    let n = result?;
    dropped?;
    Ok((format!("INSERT 0 {n}"), Some(n)))
}

fn count(conn: &mut dyn Connection, rel: &Relation) -> Result<u64, AdapterError> {
    let r = conn.query(&format!("select count(*) from {}", rel.quoted()))?;
    Ok(r.rows
        .first()
        .and_then(|row| row.first())
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> Result<SnapshotSpec, String> {
        SnapshotSpec::from_config(
            Relation::new("db", "snapshots", "s"),
            "select 1 as id".into(),
            config.as_object().unwrap(),
        )
    }

    #[test]
    fn config_errors_name_what_is_missing() {
        assert!(
            spec(serde_json::json!({"strategy": "timestamp", "updated_at": "u"}))
                .unwrap_err()
                .contains("unique_key")
        );
        assert!(
            spec(serde_json::json!({"unique_key": "id", "strategy": "timestamp"}))
                .unwrap_err()
                .contains("updated_at")
        );
        assert!(
            spec(serde_json::json!({"unique_key": "id", "strategy": "merge"}))
                .unwrap_err()
                .contains("unknown snapshot strategy")
        );
        let s = spec(serde_json::json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "invalidate_hard_deletes": true})).unwrap();
        assert_eq!(s.hard_deletes, HardDeletes::Invalidate);
        assert!(s.check_cols.is_none());
    }

    #[test]
    fn timestamp_scd_id_hashes_key_and_updated_at_like_dbt() {
        let s = spec(
            serde_json::json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at"}),
        )
        .unwrap();
        assert_eq!(
            s.scd_id(),
            "md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(updated_at as varchar ), ''))"
        );
    }
}
