//! State comparison: what the `state:`, `result:` and `source_status:` selection methods know
//! about each node, from a previous run's artifacts (`--state DIR`) compared with this one's.
//!
//! Input: the previous `manifest.json`, `run_results.json` and `sources.json` as JSON values, and
//! the current manifest in the same JSON shape (what `manifest.json` would hold now). Output:
//! [`StateFacts`], one set of flags per current unique id, which the selector reads.
//!
//! Decision: the comparison works on the artifacts' JSON, field by field as dbt-core 1.10's
//! `same_contents` family compares its node objects (`contracts/graph/nodes.py`,
//! `StateSelectorMethod` in `graph/selector_methods.py`), rather than on sluice's parsed structs.
//! A state folder is whatever a previous run wrote, possibly by another sluice version or by dbt
//! itself, and the JSON is the one shape both sides are sure to have. dbt's rules are kept with
//! their quirks, so that `state:modified+` selects what dbt selects: a node that did not exist is
//! `modified`, but a new source, exposure, metric, semantic model or saved query is not (dbt
//! compares those only when both sides have them); tags, meta and descriptions are no change
//! (except descriptions that `persist_docs` writes to the warehouse); the unrendered configs are
//! compared, so a `var()` or `env_var()` whose value changed is no change either.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The checks `state:` takes, as dbt names them.
pub(crate) const STATE_CHECKS: &[&str] = &[
    "new",
    "old",
    "modified",
    "unmodified",
    "modified.body",
    "modified.configs",
    "modified.persisted_descriptions",
    "modified.relation",
    "modified.macros",
    "modified.contract",
];

const NEW: u8 = 1;
const BODY: u8 = 2;
const CONFIGS: u8 = 4;
const DESCRIPTIONS: u8 = 8;
const RELATION: u8 = 16;
const MACROS: u8 = 32;
const CONTRACT: u8 = 64;
const MODIFIED: u8 = 128;

/// The manifest sections that hold selectable resources.
const SECTIONS: &[&str] = &[
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "unit_tests",
    "saved_queries",
];

/// A previous run's artifacts, as read from the `--state` folder (each may be missing).
#[derive(Debug, Default, Clone)]
pub(crate) struct PreviousArtifacts {
    pub(crate) manifest: Option<Value>,
    pub(crate) run_results: Option<Value>,
    pub(crate) sources: Option<Value>,
}

/// What the state methods know about the current project's nodes.
#[derive(Debug, Default)]
pub(crate) struct StateFacts {
    /// Flags per current unique id; `None` without a previous manifest.
    nodes: Option<BTreeMap<String, u8>>,
    /// Why each new or changed node counts as such (`ls --explain`).
    reasons: BTreeMap<String, Vec<String>>,
    /// The previous run's status per unique id (`result:`); `None` without `run_results.json`.
    results: Option<BTreeMap<String, String>>,
    /// Sources whose data is fresher now than in the previous `sources.json`
    /// (`source_status:fresher`); `None` when either `sources.json` is missing.
    fresher: Option<BTreeSet<String>>,
}

impl StateFacts {
    /// Compares `previous` with the current manifest (`current`, manifest.json's shape) and,
    /// for `source_status:`, the current `sources.json`.
    pub(crate) fn compare(
        previous: &PreviousArtifacts,
        current: &Value,
        current_sources: Option<&Value>,
    ) -> StateFacts {
        let mut reasons = BTreeMap::new();
        let nodes = previous
            .manifest
            .as_ref()
            .map(|prev| compare_manifests(prev, current, &mut reasons));
        let results = previous
            .run_results
            .as_ref()
            .map(|rr| field_by_id(rr, "status"));
        let fresher = match (previous.sources.as_ref(), current_sources) {
            (Some(prev), Some(cur)) => Some(fresher_sources(prev, cur)),
            _ => None,
        };
        StateFacts {
            nodes,
            reasons,
            results,
            fresher,
        }
    }

    /// Whether there was a previous manifest to compare with.
    pub(crate) fn has_manifest(&self) -> bool {
        self.nodes.is_some()
    }

    pub(crate) fn has_results(&self) -> bool {
        self.results.is_some()
    }

    pub(crate) fn has_sources(&self) -> bool {
        self.fresher.is_some()
    }

    /// `state:<check>` for node `id` (`check` one of [`STATE_CHECKS`]).
    pub(crate) fn state(&self, check: &str, id: &str) -> bool {
        let Some(flags) = self.nodes.as_ref().and_then(|n| n.get(id)).copied() else {
            return false;
        };
        let has = |f: u8| flags & f != 0;
        match check {
            "new" => has(NEW),
            "old" => !has(NEW),
            "modified" => has(MODIFIED),
            "unmodified" => !has(MODIFIED),
            "modified.body" => has(BODY),
            "modified.configs" => has(CONFIGS),
            "modified.persisted_descriptions" => has(DESCRIPTIONS),
            "modified.relation" => has(RELATION),
            "modified.macros" => has(MACROS),
            "modified.contract" => has(CONTRACT),
            _ => false,
        }
    }

    /// Why node `id` counts as new or modified: one line per check that holds, naming what
    /// differs (empty when it is neither).
    pub(crate) fn reasons(&self, id: &str) -> &[String] {
        self.reasons.get(id).map_or(&[], Vec::as_slice)
    }

    /// `result:<status>` for node `id`.
    pub(crate) fn result_is(&self, status: &str, id: &str) -> bool {
        self.results
            .as_ref()
            .and_then(|r| r.get(id))
            .is_some_and(|s| s == status)
    }

    /// `source_status:fresher` for node `id`.
    pub(crate) fn is_fresher(&self, id: &str) -> bool {
        self.fresher.as_ref().is_some_and(|f| f.contains(id))
    }
}

/// Flags for every current node, compared with its namesake in `prev`; the reasons of those
/// that are new or changed go to `reasons`.
fn compare_manifests(
    prev: &Value,
    cur: &Value,
    reasons: &mut BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, u8> {
    let modified_macros = modified_macros(prev, cur);
    let cur_macros = cur.get("macros").and_then(Value::as_object);
    let mut out = BTreeMap::new();
    for section in SECTIONS {
        let Some(items) = cur.get(*section).and_then(Value::as_object) else {
            continue;
        };
        let old_items = prev.get(*section).and_then(Value::as_object);
        for (id, new) in items {
            let old = old_items.and_then(|o| o.get(id));
            let macro_hit = if modified_macros.is_empty() {
                None
            } else {
                uses_modified_macro(new, cur_macros, &modified_macros)
            };
            let f = flags(section, new, old, macro_hit.is_some());
            if f != 0 {
                reasons.insert(id.clone(), explain(f, new, old, macro_hit.as_deref()));
            }
            out.insert(id.clone(), f);
        }
    }
    out
}

/// The flags of one node (`new`) against its previous version (`old`), as dbt's checks decide.
fn flags(section: &str, new: &Value, old: Option<&Value>, macros: bool) -> u8 {
    let mut f = if macros { MACROS } else { 0 };
    let Some(old) = old else {
        // A new node: `not old` holds for every check a resource type has.
        f |= NEW;
        f |= match section {
            "nodes" => MODIFIED | BODY | CONFIGS | DESCRIPTIONS | RELATION | CONTRACT,
            "sources" => CONFIGS | RELATION,
            "exposures" | "metrics" | "semantic_models" | "saved_queries" => CONFIGS,
            "unit_tests" => MODIFIED,
            _ => 0,
        };
        if macros {
            f |= MODIFIED;
        }
        return f;
    };
    let same = |key: &str| new.get(key) == old.get(key);
    let different_contents = match section {
        "nodes" => {
            let body = if is_seed(new) {
                same("checksum")
            } else {
                same("raw_code")
            };
            let configs = if is_test(new) {
                same_test_config(new, old)
            } else {
                same_node_config(new, old)
            };
            let descriptions = same_persisted_description(new, old);
            let relation = same_unrendered(new, old, &["database", "schema", "alias"]);
            if !body {
                f |= BODY;
            }
            if !configs {
                f |= CONFIGS;
            }
            if !descriptions {
                f |= DESCRIPTIONS;
            }
            if !relation {
                f |= RELATION;
            }
            if is_model(old) && !same_contract(new, old) {
                f |= CONTRACT;
            }
            let fqn = same("fqn");
            if is_generic_test(new) {
                !(configs && fqn)
            } else {
                let refs = !is_model(new)
                    || (same("latest_version") && same("access") && same("deprecation_date"));
                !(body && configs && descriptions && fqn && relation && refs)
            }
        }
        "sources" => {
            let configs = same_unrendered_all(new, old, &[]);
            let relation = same("database") && same("schema") && same("identifier");
            if !configs {
                f |= CONFIGS;
            }
            if !relation {
                f |= RELATION;
            }
            !(relation
                && same("fqn")
                && configs
                && same("quoting")
                && same("freshness")
                && same("loaded_at_field")
                && same("external"))
        }
        "exposures" => {
            let configs = same_unrendered_all(new, old, &[]);
            if !configs {
                f |= CONFIGS;
            }
            let deps = |v: &Value| -> BTreeSet<String> {
                strings_at(v, "/depends_on/nodes").into_iter().collect()
            };
            !(same("fqn")
                && same("type")
                && same("owner")
                && same("maturity")
                && same("url")
                && same("description")
                && same("label")
                && deps(new) == deps(old)
                && configs)
        }
        "metrics" => {
            let configs = same_unrendered_all(new, old, &["meta"]);
            if !configs {
                f |= CONFIGS;
            }
            !(same("type") && same("description") && same("label") && configs)
        }
        "semantic_models" => {
            let configs = same("config");
            if !configs {
                f |= CONFIGS;
            }
            !(same("model")
                && same("description")
                && same("defaults")
                && same("entities")
                && same("dimensions")
                && same("measures")
                && configs
                && same("primary_entity")
                && same("group"))
        }
        "saved_queries" => {
            let configs = same("config");
            if !configs {
                f |= CONFIGS;
            }
            let param = |v: &Value, k: &str| v.get("query_params").and_then(|q| q.get(k)).cloned();
            let same_param = |k: &str| param(new, k) == param(old, k);
            !(same_param("metrics")
                && same_param("group_by")
                && same("description")
                && same_param("where")
                && same("label")
                && configs
                && same("group")
                && same_exports(new, old)
                && same("tags"))
        }
        "unit_tests" => !same("checksum"),
        _ => false,
    };
    if different_contents || macros || f & CONTRACT != 0 {
        f |= MODIFIED;
    }
    f
}

fn resource_type(v: &Value) -> &str {
    v.get("resource_type").and_then(Value::as_str).unwrap_or("")
}

fn is_model(v: &Value) -> bool {
    resource_type(v) == "model"
}

fn is_seed(v: &Value) -> bool {
    resource_type(v) == "seed"
}

fn is_test(v: &Value) -> bool {
    resource_type(v) == "test"
}

fn is_generic_test(v: &Value) -> bool {
    is_test(v) && v.get("test_metadata").is_some_and(|t| !t.is_null())
}

fn unrendered(v: &Value) -> Option<&Map<String, Value>> {
    v.get("unrendered_config").and_then(Value::as_object)
}

/// The unrendered configs agree on `keys` (a key missing on both sides agrees).
fn same_unrendered(new: &Value, old: &Value, keys: &[&str]) -> bool {
    let (a, b) = (unrendered(new), unrendered(old));
    keys.iter()
        .all(|k| a.and_then(|m| m.get(*k)) == b.and_then(|m| m.get(*k)))
}

/// The unrendered configs agree on every key but `excluded`.
fn same_unrendered_all(new: &Value, old: &Value, excluded: &[&str]) -> bool {
    let empty = Map::new();
    let (a, b) = (
        unrendered(new).unwrap_or(&empty),
        unrendered(old).unwrap_or(&empty),
    );
    a.keys()
        .chain(b.keys())
        .filter(|k| !excluded.contains(&k.as_str()))
        .all(|k| a.get(k) == b.get(k))
}

/// Config keys a node's `modified.configs` ignores: the relation's (`database`, `schema`,
/// `alias`) and those that are no change (`tags`, `group`).
const NOT_CONFIG_KEYS: &[&str] = &["alias", "schema", "database", "tags", "group"];

/// The only config keys a data test's `modified.configs` compares: those that change its verdict.
const TEST_CONFIG_KEYS: &[&str] = &[
    "severity",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
    "store_failures",
    "store_failures_as",
];

/// dbt's `NodeConfig.same_contents`.
fn same_node_config(new: &Value, old: &Value) -> bool {
    same_unrendered_all(new, old, NOT_CONFIG_KEYS)
}

/// dbt's `TestConfig.same_contents`.
fn same_test_config(new: &Value, old: &Value) -> bool {
    same_unrendered(new, old, TEST_CONFIG_KEYS)
}

/// Descriptions that `persist_docs` writes to the warehouse are a change.
fn same_persisted_description(new: &Value, old: &Value) -> bool {
    let persist = |k: &str| {
        new.pointer(&format!("/config/persist_docs/{k}"))
            .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
    };
    if persist("relation") && new.get("description") != old.get("description") {
        return false;
    }
    if persist("columns") {
        let descriptions = |v: &Value| -> BTreeMap<String, Value> {
            v.get("columns")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, c)| (k.clone(), c.get("description").cloned().unwrap_or_default()))
                .collect()
        };
        if descriptions(new) != descriptions(old) {
            return false;
        }
    }
    true
}

/// dbt's `ModelNode.same_contract`: unchanged unless the contract is (or was) enforced and its
/// columns, types, constraints (or, for materializations that enforce constraints, the
/// materialization and model constraints) changed.
fn same_contract(new: &Value, old: &Value) -> bool {
    let enforced = |v: &Value| {
        v.pointer("/contract/enforced")
            .or_else(|| v.pointer("/config/contract/enforced"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    match (enforced(old), enforced(new)) {
        (false, false) => true,
        (false, true) | (true, false) => false,
        (true, true) => contract_state(new) == contract_state(old),
    }
}

/// What dbt's contract checksum covers.
fn contract_state(v: &Value) -> Value {
    let mut columns: Vec<(String, Value, Value)> = v
        .get("columns")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(_, c)| {
            (
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                c.get("data_type").cloned().unwrap_or_default(),
                c.get("constraints").cloned().unwrap_or_default(),
            )
        })
        .collect();
    columns.sort_by(|a, b| a.0.cmp(&b.0));
    let materialized = v
        .pointer("/config/materialized")
        .and_then(Value::as_str)
        .unwrap_or("");
    let model_level = if matches!(materialized, "table" | "incremental") {
        serde_json::json!([materialized, v.get("constraints")])
    } else {
        Value::Null
    };
    serde_json::json!([columns, model_level])
}

fn same_exports(new: &Value, old: &Value) -> bool {
    let exports = |v: &Value| -> Vec<Value> {
        v.get("exports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let u = e.get("unrendered_config");
                let key = |k: &str| u.and_then(|u| u.get(k)).cloned();
                serde_json::json!([e.get("name"), key("export_as"), key("schema"), key("alias")])
            })
            .collect()
    };
    exports(new) == exports(old)
}

/// Macros whose text changed, appeared or disappeared.
fn modified_macros(prev: &Value, cur: &Value) -> BTreeSet<String> {
    let sql = |m: &Value| m.get("macro_sql").cloned();
    let empty = Map::new();
    let old = prev
        .get("macros")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new = cur
        .get("macros")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out: BTreeSet<String> = new
        .iter()
        .filter(|(id, m)| old.get(*id).is_none_or(|o| sql(o) != sql(m)))
        .map(|(id, _)| id.clone())
        .collect();
    out.extend(old.keys().filter(|id| !new.contains_key(*id)).cloned());
    out
}

/// The strings of the list at `pointer` (`/depends_on/nodes` ...), empty when there is none.
pub(crate) fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The modified macro `node` calls, directly or through the macros it calls, if any.
fn uses_modified_macro(
    node: &Value,
    macros: Option<&Map<String, Value>>,
    modified: &BTreeSet<String>,
) -> Option<String> {
    let called = |v: &Value| strings_at(v, "/depends_on/macros");
    let mut stack = called(node);
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if modified.contains(&id) {
            return Some(id);
        }
        if let Some(m) = macros.and_then(|m| m.get(&id)) {
            stack.extend(called(m));
        }
    }
    None
}

/// The lines `ls --explain` prints for a node with flags `f`.
fn explain(f: u8, new: &Value, old: Option<&Value>, macro_hit: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let file = new
        .get("original_file_path")
        .and_then(Value::as_str)
        .unwrap_or("its file");
    let Some(old) = old else {
        out.push("new: not in the state manifest".to_string());
        if let Some(m) = macro_hit {
            out.push(format!("macros: calls {m}, which changed"));
        }
        return out;
    };
    if f & BODY != 0 {
        out.push(if is_seed(new) {
            format!("body: the contents of {file} changed")
        } else {
            format!("body: the SQL of {file} changed")
        });
    }
    if f & CONFIGS != 0 {
        let empty = Map::new();
        let (a, b) = (
            unrendered(new).unwrap_or(&empty),
            unrendered(old).unwrap_or(&empty),
        );
        let counts = |k: &str| {
            if is_test(new) {
                TEST_CONFIG_KEYS.contains(&k)
            } else {
                !NOT_CONFIG_KEYS.contains(&k)
            }
        };
        let mut keys: Vec<&String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k) && counts(k))
            .collect();
        keys.sort();
        keys.dedup();
        let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        out.push(if keys.is_empty() {
            "configs: the configuration changed".to_string()
        } else {
            format!("configs: {} changed", keys.join(", "))
        });
    }
    if f & RELATION != 0 {
        out.push("relation: the configured database, schema or alias changed".into());
    }
    if f & DESCRIPTIONS != 0 {
        out.push("persisted_descriptions: a description persist_docs writes changed".into());
    }
    if let Some(m) = macro_hit {
        out.push(format!("macros: calls {m}, which changed"));
    }
    if f & CONTRACT != 0 {
        out.push("contract: the enforced contract's columns, types or constraints changed".into());
    }
    if f & MODIFIED != 0 && out.is_empty() {
        let keys: Vec<&str> = [
            "fqn",
            "access",
            "latest_version",
            "deprecation_date",
            "description",
            "type",
            "label",
            "owner",
            "url",
            "maturity",
            "quoting",
            "freshness",
            "loaded_at_field",
            "external",
            "checksum",
        ]
        .into_iter()
        .filter(|k| new.get(*k) != old.get(*k))
        .collect();
        out.push(format!("modified: {} changed", keys.join(", ")));
    }
    out
}

/// One text field of each entry of an artifact's `results` (run_results.json, sources.json), by
/// unique id.
fn field_by_id(artifact: &Value, field: &str) -> BTreeMap<String, String> {
    artifact
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r.get("unique_id")?.as_str()?.to_string(),
                r.get(field)?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// `source_status:fresher`: sources whose latest data is newer now than before (or that were
/// not measured before), from the `max_loaded_at` of each `sources.json`.
fn fresher_sources(prev: &Value, cur: &Value) -> BTreeSet<String> {
    let (before, now) = (
        field_by_id(prev, "max_loaded_at"),
        field_by_id(cur, "max_loaded_at"),
    );
    now.into_iter()
        .filter(|(id, at)| before.get(id).is_none_or(|b| at.as_str() > b.as_str()))
        .map(|(id, _)| id)
        .collect()
}

#[cfg(test)]
mod tests;
