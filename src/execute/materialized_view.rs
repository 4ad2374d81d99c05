//! Materialized views (PostgreSQL), built as dbt-postgres's `materialized_view` materialization
//! builds them.
//!
//! - Not there yet: created (`create materialized view ... as (...)`, under `__dbt_tmp`, then
//!   swapped in), and its `indexes` made by the caller.
//! - There as something else (a table, a view), or `--full-refresh`: created the same way and
//!   swapped in for what was there (`Applying REPLACE to: <relation>`).
//! - There as a materialized view: its indexes are compared with the `indexes` config (as sets
//!   of columns, uniqueness and method; names do not matter). Equal: `refresh materialized
//!   view`. Different: `on_configuration_change` decides: `apply` (the default) drops the
//!   indexes no longer configured and creates the new ones (`Applying ALTER to: ...`),
//!   `continue` leaves the view as it is with a warning, `fail` is the model's error.

use std::collections::BTreeSet;

use serde_json::Value;

use super::indexes::{create_sql, stamp, IndexConfig};
use super::materialize::{drop_if_exists, outcome, swap_into_place, BuildOutcome, BuildSpec};
use crate::adapters::{AdapterError, Connection};
use crate::sql::{quote, RelationKind};

/// An index as compared: its columns (as a set), whether it is unique, its method.
type IndexKey = (BTreeSet<String>, bool, String);

fn key_of(index: &IndexConfig) -> IndexKey {
    (
        index.columns.iter().map(|c| c.to_lowercase()).collect(),
        index.unique,
        index
            .kind
            .clone()
            .unwrap_or_else(|| "btree".to_string())
            .to_lowercase(),
    )
}

/// The indexes the view has: `(name, key)`.
fn existing_indexes(
    conn: &mut dyn Connection,
    rel: &crate::sql::Relation,
) -> Result<Vec<(String, IndexKey)>, AdapterError> {
    let Some(sql) = conn.dialect().show_indexes_query(rel) else {
        return Ok(Vec::new());
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(conn
        .query(&sql)?
        .rows
        .iter()
        .filter(|row| row.len() == 4)
        .map(|row| {
            let unique = row[2].as_bool().unwrap_or(text(&row[2]) == "true");
            let columns = text(&row[3])
                .split(',')
                .map(|c| c.trim().to_lowercase())
                .collect();
            (
                text(&row[0]),
                (columns, unique, text(&row[1]).to_lowercase()),
            )
        })
        .collect())
}

pub(super) fn build(
    conn: &mut dyn Connection,
    spec: &BuildSpec,
) -> Result<BuildOutcome, AdapterError> {
    let (rel, rebuilt) = (spec.relation, spec.rebuilt);
    let d = conn.dialect();
    d.check_relation(rel).map_err(AdapterError::build)?;
    let existing = conn.relation_kind(rel)?;
    if existing == Some(RelationKind::MaterializedView) && !spec.full_refresh {
        return update(conn, spec);
    }
    let tmp = d.suffixed(rel, "__dbt_tmp");
    drop_if_exists(conn, &tmp)?;
    let main = spec.headed(format!(
        "create materialized view {} as (\n{}\n)",
        d.rel(&tmp),
        spec.sql.trim_end().trim_end_matches(';')
    ));
    let n = conn.execute(&main)?;
    swap_into_place(conn, rel, &tmp, RelationKind::MaterializedView, rebuilt)?;
    let what = if existing.is_some() {
        "REPLACE"
    } else {
        "CREATE"
    };
    Ok(BuildOutcome {
        main_sql: Some(main),
        log: vec![format!("Applying {what} to: {rel}")],
        ..outcome(d, Some(n), true)
    })
}

/// An existing materialized view: refreshed, or its configuration changes handled.
fn update(conn: &mut dyn Connection, spec: &BuildSpec) -> Result<BuildOutcome, AdapterError> {
    let rel = spec.relation;
    let have = existing_indexes(conn, rel)?;
    let have_keys: BTreeSet<&IndexKey> = have.iter().map(|(_, k)| k).collect();
    let want_keys: BTreeSet<IndexKey> = spec.indexes.iter().map(key_of).collect();
    if have_keys == want_keys.iter().collect() {
        let refresh = format!("refresh materialized view {}", conn.dialect().rel(rel));
        conn.execute(&refresh)?;
        return Ok(BuildOutcome {
            message: "REFRESH MATERIALIZED VIEW".into(),
            main_sql: Some(refresh),
            ..BuildOutcome::default()
        });
    }
    let changed = |what: &str| {
        format!(
            "Configuration changes were identified and `on_configuration_change` was set to `{what}` for `{rel}`"
        )
    };
    match spec.on_configuration_change.unwrap_or("apply") {
        "apply" => {}
        "continue" => {
            return Ok(BuildOutcome {
                message: format!("skip {rel}"),
                warning: Some(changed("continue")),
                ..BuildOutcome::default()
            })
        }
        "fail" => return Err(AdapterError::build(changed("fail"))),
        other => {
            return Err(AdapterError::build(format!(
                "Unexpected configuration scenario: `on_configuration_change` is `{other}` (use `apply`, `continue` or `fail`)"
            )))
        }
    }
    // Drop what is no longer configured, then create what is new (the same index dropped and
    // made again keeps its place in that order).
    let mut statements = Vec::new();
    for (name, key) in &have {
        if !want_keys.contains(key) {
            statements.push(format!(
                "drop index if exists {}.{}",
                quote(&rel.schema),
                quote(name)
            ));
        }
    }
    let (rendered, now) = (rel.to_string(), stamp());
    let using = conn.dialect().writes_index_type();
    for index in spec.indexes {
        if !have_keys.contains(&key_of(index)) {
            statements.push(create_sql(&rendered, index, &now, using));
        }
    }
    for sql in &statements {
        conn.execute(sql)?;
    }
    Ok(BuildOutcome {
        message: "ALTER".into(),
        rows_affected: None,
        main_sql: Some(statements.join(";\n")),
        log: vec![
            format!("Applying ALTER to: {rel}"),
            format!("Applying UPDATE INDEXES to: {rel}"),
        ],
        ..BuildOutcome::default()
    })
}
