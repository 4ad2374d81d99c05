//! `--defer`: refs to nodes this command does not build resolve to the relations a previous run
//! (the `--state` / `--defer-state` manifest) built, when this target lacks them or when
//! `--favor-state` asks for the state's.
//!
//! dbt 1.10 decides per ref while compiling (`RuntimeRefResolver.create_relation`): a node with
//! a counterpart in the state manifest (a model, seed or snapshot that was not ephemeral there)
//! resolves to the state's relation when `--favor-state` is on and the node is not selected, or
//! when its own relation does not exist in the target. sluice decides once, before compiling,
//! from the same facts: a node that this command builds exists by the time its children compile
//! (or they are skipped), so only the others are looked up in the warehouse.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::compile::{Manifest, Materialization};
use crate::sql::Relation;

/// The relation each deferred node resolves to, by unique id.
pub(crate) fn deferred_relations(
    manifest: &Manifest,
    state_manifest: &Value,
    selected: &BTreeSet<String>,
    built: &BTreeSet<String>,
    favor_state: bool,
    mut exists: impl FnMut(&Relation) -> bool,
) -> BTreeMap<String, Relation> {
    let mut out = BTreeMap::new();
    let Some(state_nodes) = state_manifest.get("nodes").and_then(Value::as_object) else {
        return out;
    };
    for (id, old) in state_nodes {
        let refable = matches!(
            old.get("resource_type").and_then(Value::as_str),
            Some("model" | "seed" | "snapshot")
        );
        let ephemeral =
            old.pointer("/config/materialized").and_then(Value::as_str) == Some("ephemeral");
        let Some(current) = manifest.nodes.get(id) else {
            continue;
        };
        if !refable || ephemeral || current.materialization() == Materialization::Ephemeral {
            continue;
        }
        let text = |k: &str| old.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let alias = match old.get("alias").and_then(Value::as_str) {
            Some(a) => a.to_string(),
            None => text("name"),
        };
        let state_relation = Relation {
            quote: current.quote_policy,
            ..Relation::new(text("database"), text("schema"), alias)
        };
        let defer = (favor_state && !selected.contains(id))
            || (!built.contains(id) && !exists(&current.relation()));
        if defer {
            out.insert(id.clone(), state_relation);
        }
    }
    out
}
