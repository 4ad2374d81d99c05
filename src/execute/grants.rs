//! `grants`: once a model, seed or snapshot is built, the privileges its `grants` config names
//! are what the warehouse has on the relation: granted where missing, revoked where granted
//! before and no longer configured.
//!
//! As dbt's `apply_grants`: an empty config (`grants: {}`) changes nothing; otherwise the
//! grants the current role made on the relation are read back (dbt's `get_show_grant_sql`) and
//! compared without regard to case with the config. A privilege configured with no grantees
//! (`select: []`) revokes that privilege from everyone. Revokes go first, then grants, one
//! statement per privilege (`grant select on ... to a, b`; revoked grantees are quoted).
//!
//! Design decision: sluice always reads the current grants before changing them, where dbt
//! skips the read when it thinks the relation was just recreated (`should_revoke`). Whether a
//! replaced view keeps its grants depends on how it was replaced; reading them back costs one
//! query per node that has grants and is right either way. Engines without grants (DuckDB) make
//! the config a no-op, as dbt-duckdb does.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::adapters::{AdapterError, Connection};
use crate::sql::{quote, Relation};

/// Privilege → grantees, in the config's order of grantees.
type Grants = BTreeMap<String, Vec<String>>;

/// The `grants` config as a map (`None`: absent or empty, so nothing is done). A grantee given
/// as one string is a list of one.
fn configured(config: Option<&Value>) -> Option<Grants> {
    let Some(Value::Object(cfg)) = config else {
        return None;
    };
    if cfg.is_empty() {
        return None;
    }
    Some(
        cfg.iter()
            .map(|(privilege, grantees)| {
                (
                    privilege.clone(),
                    crate::project::config::str_list(Some(grantees)),
                )
            })
            .collect(),
    )
}

/// `a` minus `b`, as dbt's `diff_of_two_dicts`: per privilege of `a`, the grantees `b` lacks
/// (case-insensitively); a privilege `b` does not name at all is kept whole (even empty).
fn minus(a: &Grants, b: &Grants) -> Grants {
    let lower: BTreeMap<String, Vec<String>> = b
        .iter()
        .map(|(k, v)| {
            (
                k.to_lowercase(),
                v.iter().map(|g| g.to_lowercase()).collect(),
            )
        })
        .collect();
    let mut out = Grants::new();
    for (privilege, grantees) in a {
        match lower.get(&privilege.to_lowercase()) {
            Some(have) => {
                let missing: Vec<String> = grantees
                    .iter()
                    .filter(|g| !have.contains(&g.to_lowercase()))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    out.insert(privilege.clone(), missing);
                }
            }
            None => {
                out.insert(privilege.clone(), grantees.clone());
            }
        }
    }
    out
}

/// The revoke statements, then the grant statements, that take `rel` from `current` to
/// `wanted`.
fn statements(rel: &str, wanted: &Grants, current: &Grants) -> Vec<String> {
    let mut out = Vec::new();
    for (privilege, grantees) in minus(current, wanted) {
        if !grantees.is_empty() {
            let quoted: Vec<String> = grantees.iter().map(|g| quote(g)).collect();
            out.push(format!(
                "revoke {privilege} on {rel} from {}",
                quoted.join(", ")
            ));
        }
    }
    for (privilege, grantees) in minus(wanted, current) {
        if !grantees.is_empty() {
            out.push(format!(
                "grant {privilege} on {rel} to {}",
                grantees.join(", ")
            ));
        }
    }
    out
}

/// Gives `rel` (just built, with config `config`) the grants its `grants` config names.
pub(crate) fn apply(
    c: &mut dyn Connection,
    config: &serde_json::Map<String, Value>,
    rel: &Relation,
) -> Result<(), AdapterError> {
    let Some(wanted) = configured(config.get("grants")) else {
        return Ok(());
    };
    let dialect = c.dialect();
    let Some(show) = dialect.show_grants_query(rel) else {
        return Ok(());
    };
    let mut current = Grants::new();
    for row in c.query(&show)?.rows {
        if let [Value::String(grantee), Value::String(privilege), ..] = row.as_slice() {
            current
                .entry(privilege.clone())
                .or_default()
                .push(grantee.clone());
        }
    }
    for sql in statements(&dialect.rel(rel), &wanted, &current) {
        c.execute(&sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants(v: Value) -> Grants {
        configured(Some(&v)).unwrap_or_default()
    }

    #[test]
    fn grants_what_is_missing_and_revokes_what_is_no_longer_configured() {
        let wanted = grants(json!({"select": ["Alice", "bob"], "insert": "carol"}));
        let current = grants(json!({"SELECT": ["alice", "dave"], "UPDATE": ["erin"]}));
        assert_eq!(
            statements("\"s\".\"m\"", &wanted, &current),
            [
                "revoke SELECT on \"s\".\"m\" from \"dave\"",
                "revoke UPDATE on \"s\".\"m\" from \"erin\"",
                "grant insert on \"s\".\"m\" to carol",
                "grant select on \"s\".\"m\" to bob",
            ]
        );
    }

    #[test]
    fn nothing_when_in_place_and_a_privilege_without_grantees_revokes_it() {
        let wanted = grants(json!({"select": ["a", "b"]}));
        let current = grants(json!({"SELECT": ["B", "A"]}));
        assert!(statements("r", &wanted, &current).is_empty());
        let none = grants(json!({"select": []}));
        assert_eq!(
            statements("r", &none, &current),
            ["revoke SELECT on r from \"B\", \"A\""]
        );
        assert!(statements("r", &none, &Grants::new()).is_empty());
        assert_eq!(configured(Some(&json!({}))), None);
        assert_eq!(configured(None), None);
    }
}
