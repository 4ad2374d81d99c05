//! `indexes` (PostgreSQL and DuckDB, as dbt-postgres and dbt-duckdb have it): the indexes a model's, seed's or snapshot's config lists are created
//! on its relation whenever the relation is created anew (a table rebuilt, an incremental model's
//! first or full-refresh build, a seed loaded into a new table, a snapshot's first run, a
//! materialized view created or replaced), as dbt-postgres's `create_indexes` does; an
//! incremental run, a seed refilled in place and a refreshed materialized view keep theirs.
//!
//! Each entry is `{columns: [...], unique: bool, type: 'btree' | 'hash' | ...}`, and becomes
//! `create [unique] index if not exists "<name>" on <relation> [using <type>] (<columns>)`. The
//! name is dbt-postgres's: the md5 of the columns, the relation, `unique`, the type and the
//! current time, so a rebuilt relation never meets an index name its predecessor still holds.

use serde_json::Value;

/// One entry of the `indexes` config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexConfig {
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
    pub(crate) kind: Option<String>,
}

/// The `indexes` config as entries, or what is wrong with it (dbt's `IndexConfigError`).
pub(crate) fn configured(config: Option<&Value>) -> Result<Vec<IndexConfig>, String> {
    let entries = match config {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(format!(
                "`indexes` must be a list of dictionaries, not {other}"
            ))
        }
    };
    entries
        .iter()
        .map(|entry| {
            let Value::Object(map) = entry else {
                return Err(format!(
                    "each of `indexes` must be a dictionary, not {entry}"
                ));
            };
            let columns = match map.get("columns") {
                Some(Value::Array(cols)) if !cols.is_empty() => cols
                    .iter()
                    .map(|c| c.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            }
            .ok_or_else(|| format!("an index needs `columns`, a list of column names: {entry}"))?;
            let unique = match map.get("unique") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(format!(
                        "an index's `unique` must be true or false, not {other}"
                    ))
                }
            };
            let kind = match map.get("type") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(other) => {
                    return Err(format!("an index's `type` must be a string, not {other}"))
                }
            };
            Ok(IndexConfig {
                columns,
                unique,
                kind,
            })
        })
        .collect()
}

/// The time an index name is made from: now, in UTC, as Python's `isoformat()` writes it.
pub(crate) fn stamp() -> String {
    chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Creates `indexes` on `rel` (nothing where the engine has no `indexes` config).
pub(crate) fn create_all(
    c: &mut dyn crate::adapters::Connection,
    rel: &crate::sql::Relation,
    indexes: &[IndexConfig],
) -> Result<(), crate::adapters::AdapterError> {
    let d = c.dialect();
    if !d.has_index_config() {
        return Ok(());
    }
    let (rendered, now) = (rel.to_string(), stamp());
    for index in indexes {
        c.execute(&create_sql(&rendered, index, &now, d.writes_index_type()))?;
    }
    Ok(())
}

/// The statement creating `index` on `rel` (as rendered, `"db"."schema"."name"`), named from
/// `now` (an ISO timestamp) as dbt-postgres names it; `using` writes its `type`.
pub(crate) fn create_sql(rel: &str, index: &IndexConfig, now: &str, using: bool) -> String {
    let mut inputs = index.columns.clone();
    inputs.push(rel.to_string());
    inputs.push(if index.unique { "True" } else { "False" }.to_string());
    inputs.push(index.kind.clone().unwrap_or_else(|| "None".to_string()));
    inputs.push(now.to_string());
    let name = crate::templating::local_md5(&inputs.join("_"));
    format!(
        "create {}index if not exists \"{name}\" on {rel} {}({})",
        if index.unique { "unique " } else { "" },
        index
            .kind
            .as_deref()
            .filter(|_| using)
            .map(|t| format!("using {t} "))
            .unwrap_or_default(),
        index.columns.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PG: bool = true;

    #[test]
    fn entries_become_create_index_statements() {
        let idx = configured(Some(&json!([
            {"columns": ["id"], "unique": true},
            {"columns": ["a", "b"], "type": "hash"}
        ])))
        .unwrap();
        let rel = "\"db\".\"s\".\"m\"";
        let now = "2026-12-05T00:00:00";
        let first = create_sql(rel, &idx[0], now, PG);
        let name = crate::templating::local_md5(&format!("id_{rel}_True_None_{now}"));
        assert_eq!(
            first,
            format!("create unique index if not exists \"{name}\" on {rel} (id)")
        );
        assert!(create_sql(rel, &idx[1], now, PG).ends_with(&format!("on {rel} using hash (a, b)")));
        assert_ne!(first, create_sql(rel, &idx[0], "2026-12-05T00:00:01", PG));
        // DuckDB's indexes are all ART: no `using`.
        assert!(create_sql(rel, &idx[1], now, false).ends_with(&format!("on {rel} (a, b)")));
    }

    #[test]
    fn malformed_indexes_are_errors() {
        assert_eq!(configured(None), Ok(vec![]));
        assert!(configured(Some(&json!({"columns": ["id"]}))).is_err());
        assert!(configured(Some(&json!([{"unique": true}]))).is_err());
        assert!(configured(Some(&json!([{"columns": []}]))).is_err());
        assert!(configured(Some(&json!([{"columns": ["id"], "unique": "yes"}]))).is_err());
    }
}
