//! A node's resolved config: each resource type's dbt defaults (built once and shared), the
//! settings of each layer (project tree, properties, `config()`) merged over them copy on write,
//! with nodes that merge the same settings into the same base sharing the result, and the final
//! normalisation (tags and hooks as lists, test severities in capitals).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Map, Value};

use super::nodes::{Node, NodeConfig, ResourceType};
use crate::project::config::merge;
use crate::project::config::str_list;
use crate::project::config::ConfigTree;
use crate::project::Project;

/// dbt's default config for a resource type (the keys every manifest node carries).
pub(crate) fn default_config(rtype: ResourceType) -> Map<String, Value> {
    // Every node starts from a copy, and copying is cheaper than building.
    default_config_ref(rtype).clone()
}

/// [`default_config`] as a shared value: a node's config starts as this, copied on first write.
pub(crate) fn default_config_shared(rtype: ResourceType) -> Arc<NodeConfig> {
    shared_defaults(rtype).clone()
}

fn shared_defaults(rtype: ResourceType) -> &'static Arc<NodeConfig> {
    // One cell per resource type (more cells than there are types).
    static CELLS: [std::sync::OnceLock<Arc<NodeConfig>>; 32] =
        [const { std::sync::OnceLock::new() }; 32];
    CELLS[rtype as usize].get_or_init(|| Arc::new(build_default_config(rtype).into()))
}

/// Records configs as written (a properties file's `config:`, a `config()` call's arguments) in
/// a node's `unrendered_config`, where later layers replace earlier ones key by key, as dbt
/// keeps them for state comparison.
pub(crate) fn add_unrendered(unrendered: &mut Map<String, Value>, more: &Map<String, Value>) {
    for (k, v) in more {
        let key = crate::project::config::normalize_key(k.trim_start_matches('+'));
        unrendered.insert(key.to_string(), v.clone());
    }
}

/// Merges `more` into a shared config, copying it only when there is something to merge.
pub(crate) fn merge_into(config: &mut Arc<NodeConfig>, more: &Map<String, Value>) {
    if more.is_empty() {
        return;
    }
    // Thousands of nodes merge the same settings into the same base (a folder's `+materialized`,
    // a model's `config(materialized='table')`): merging once and sharing the result saves a
    // copy of the whole config per node (a fifth of the memory of parsing 10,000 models).
    let Ok(more_text) = serde_json::to_string(more) else {
        Arc::make_mut(config).merge(more);
        return;
    };
    let key = (Arc::as_ptr(config) as usize, more_text);
    let cached = MERGED
        .lock()
        .ok()
        .and_then(|c| c.get(&key).map(|(_, merged)| merged.clone()));
    if let Some(merged) = cached {
        *config = merged;
        return;
    }
    let base = config.clone();
    let mut merged = config.as_ref().clone();
    merged.merge(more);
    let merged = Arc::new(merged);
    if let Ok(mut c) = MERGED.lock() {
        // The entry keeps its base alive, so no other config can take the base's address.
        c.insert(key, (base, merged.clone()));
    }
    *config = merged;
}

/// Results of [`merge_into`] by (address of the base config, the merged settings as JSON);
/// emptied after each parse.
type MergeCache = HashMap<(usize, String), (Arc<NodeConfig>, Arc<NodeConfig>)>;
static MERGED: LazyLock<Mutex<MergeCache>> = LazyLock::new(Default::default);

/// Empties the [`merge_into`] cache (its configs live on in the nodes that share them).
pub(super) fn forget_merged_configs() {
    if let Ok(mut c) = MERGED.lock() {
        c.clear();
    }
}

/// [`default_config`], built once per resource type and shared (the value inside
/// [`default_config_shared`]).
pub(crate) fn default_config_ref(rtype: ResourceType) -> &'static Map<String, Value> {
    shared_defaults(rtype).values()
}

fn build_default_config(rtype: ResourceType) -> Map<String, Value> {
    let v = match rtype {
        ResourceType::Test => serde_json::json!({
            "enabled": true, "alias": null, "schema": "dbt_test__audit", "database": null, "tags": [], "meta": {},
            "group": null, "materialized": "test", "severity": "ERROR", "store_failures": null,
            "store_failures_as": null, "where": null, "limit": null, "fail_calc": "count(*)",
            "warn_if": "!= 0", "error_if": "!= 0"
        }),
        ResourceType::Seed => serde_json::json!({
            "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
            "group": null, "materialized": "seed", "incremental_strategy": null, "batch_size": null,
            "lookback": 1, "begin": null, "persist_docs": {}, "post-hook": [], "pre-hook": [],
            "quoting": {}, "column_types": {}, "full_refresh": null, "unique_key": null,
            "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {},
            "packages": [], "docs": {"show": true, "node_color": null},
            "contract": {"enforced": false, "alias_types": true}, "event_time": null,
            "concurrent_batches": null, "delimiter": ",", "quote_columns": null
        }),
        ResourceType::Snapshot => serde_json::json!({
            "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
            "group": null, "materialized": "snapshot", "persist_docs": {}, "post-hook": [], "pre-hook": [],
            "quoting": {}, "column_types": {}, "full_refresh": null, "unique_key": null,
            "on_schema_change": "ignore", "grants": {}, "packages": [],
            "docs": {"show": true, "node_color": null}, "strategy": null, "target_schema": null,
            "target_database": null, "updated_at": null, "check_cols": null
        }),
        ResourceType::Analysis | ResourceType::Model => serde_json::json!({
            "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
            "group": null, "materialized": "view",
            "incremental_strategy": null, "batch_size": null, "lookback": 1, "begin": null,
            "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {},
            "full_refresh": null, "unique_key": null, "on_schema_change": "ignore",
            "on_configuration_change": "apply", "grants": {}, "packages": [],
            "docs": {"show": true, "node_color": null},
            "contract": {"enforced": false, "alias_types": true}, "event_time": null,
            "concurrent_batches": null, "access": "protected", "freshness": null
        }),
        _ => serde_json::json!({"enabled": true, "tags": [], "meta": {}}),
    };
    match v {
        Value::Object(mut m) => {
            // `access` and `freshness` belong to dbt's ModelConfig, not to the NodeConfig an
            // analysis has.
            if rtype == ResourceType::Analysis {
                m.shift_remove("access");
                m.shift_remove("freshness");
            }
            m
        }
        _ => Map::new(),
    }
}

/// Normalises config after all layers are merged: tags/hooks as lists, tags and meta mirrored.
pub(crate) fn finish_config(node: &mut Node) {
    // Writes only what changes: a config still shared with its type's defaults stays shared.
    for k in ["tags", "pre-hook", "post-hook"] {
        if let Some(v) = node.config.get(k) {
            let list = Value::Array(crate::project::config::as_list(Some(v)));
            if &list != v {
                node.config_mut().insert(k.to_string(), list);
            }
        }
    }
    node.tags = str_list(node.config.get("tags"));
    let mut seen = std::collections::HashSet::new();
    node.tags.retain(|t| seen.insert(t.clone()));
    if let Some(Value::Object(m)) = node.config.get("meta") {
        let mut meta = node.meta.clone();
        for (k, v) in m {
            meta.insert(k.clone(), v.clone());
        }
        node.meta = meta;
    }
    // A test's `severity` stays as written (`warn`), as dbt keeps it; it is compared
    // case-insensitively where it is used.
    if node.resource_type == ResourceType::Test {
        store_failures_pair(node);
    }
}

/// dbt's test config settles `store_failures` and `store_failures_as` together: without
/// `store_failures_as`, `store_failures: true` means `table` and `false` `ephemeral`; with it,
/// `store_failures` follows it (false only for `ephemeral`).
fn store_failures_pair(node: &mut Node) {
    let (key, value) = match node.config.get("store_failures_as") {
        None | Some(Value::Null) => match node.config.get("store_failures") {
            Some(Value::Bool(b)) => (
                "store_failures_as",
                Value::String(if *b { "table" } else { "ephemeral" }.into()),
            ),
            _ => return,
        },
        Some(v) => (
            "store_failures",
            Value::Bool(v.as_str() != Some("ephemeral")),
        ),
    };
    if node.config.get(key) != Some(&value) {
        node.config_mut().insert(key.into(), value);
    }
}

/// For a package's node, what the root project's `dbt_project.yml` sets for it wins over
/// everything else, its properties `config:` and its `config(...)` calls included: dbt applies
/// the root project's config last (its tags were appended and its meta merged already).
/// With `unrendered`, the node's `unrendered_config` records the root project's values too (as
/// dbt records them for generic tests).
pub(super) fn root_config_wins(node: &mut Node, root: &Project, unrendered: bool) {
    if node.package_name == root.config.name {
        return;
    }
    let tree = match node.resource_type {
        ResourceType::Model => &root.config.models,
        ResourceType::Seed => &root.config.seeds,
        ResourceType::Snapshot => &root.config.snapshots,
        ResourceType::Analysis => &root.config.analyses,
        ResourceType::Test => &root.config.data_tests,
        _ => return,
    };
    let (cfg, written) = tree.resolve_with_unrendered(&node.fqn);
    // The root project's tags were appended after the package's own project's: dbt appends
    // them last, after the properties' and the `config(...)` calls'.
    let root_tags = str_list(cfg.get("tags"));
    let tags = str_list(node.config.get("tags"));
    if !root_tags.is_empty() && !tags.ends_with(&root_tags) {
        if let Some(i) = tags.windows(root_tags.len()).position(|w| w == root_tags) {
            let mut moved = tags[..i].to_vec();
            moved.extend_from_slice(&tags[i + root_tags.len()..]);
            moved.extend(root_tags);
            node.config_mut().insert("tags".into(), Value::from(moved));
        }
    }
    for (k, v) in cfg {
        // Lists dbt appends to (tags, hooks) already hold the root project's.
        if matches!(&k[..], "tags" | "pre-hook" | "post-hook") {
            continue;
        }
        // Mappings (meta, docs, persist_docs, column_types ...) are updated key by key.
        let v = match (node.config.get(&k), &v) {
            (Some(Value::Object(own)), Value::Object(root_map)) => {
                let mut m = own.clone();
                m.extend(root_map.clone());
                Value::Object(m)
            }
            _ => v,
        };
        if node.config.get(&k) != Some(&v) {
            node.config_mut().insert(k, v);
        }
    }
    if unrendered {
        for (k, v) in written {
            if !matches!(&k[..], "tags" | "pre-hook" | "post-hook") {
                node.unrendered_config.insert(k, v);
            }
        }
    }
}

/// A microbatch model's `begin` written as text, as dbt records it once parsed: read as an ISO
/// date or timestamp and written back in Python's ISO form (`2024-01-01` is
/// `2024-01-01T00:00:00`). Text that is no ISO date stays as written (the build reports it).
pub(super) fn normalize_microbatch_begin(node: &mut Node) {
    let microbatch = node.config_str("materialized") == Some("incremental")
        && node.config_str("incremental_strategy") == Some("microbatch");
    if !microbatch {
        return;
    }
    let Some(Value::String(text)) = node.config.get("begin") else {
        return;
    };
    if let Some(iso) = crate::templating::iso_datetime_text(text) {
        if &iso != text {
            node.config_mut().insert("begin".into(), Value::String(iso));
        }
    }
}

/// A node's config from `dbt_project.yml` trees: its own project's tree, then (for a package's
/// node) the root project's tree over it, as dbt lets the root project configure packages.
pub(super) fn package_cfg(
    root: &Project,
    proj: &Project,
    own: &ConfigTree,
    fqn: &[String],
    tree_of: impl Fn(&crate::project::ProjectConfig) -> &ConfigTree,
) -> Map<String, Value> {
    let mut cfg = own.resolve(fqn);
    if proj.config.name != root.config.name {
        merge(&mut cfg, &tree_of(&root.config).resolve(fqn));
    }
    cfg
}

/// [`package_cfg`], and what the node's `unrendered_config` records of those trees
/// ([`crate::project::config::ConfigTree::resolve_with_unrendered`]).
pub(super) fn package_cfgs(
    root: &Project,
    proj: &Project,
    own: &ConfigTree,
    fqn: &[String],
    tree_of: impl Fn(&crate::project::ProjectConfig) -> &ConfigTree,
) -> (Map<String, Value>, Map<String, Value>) {
    let (mut cfg, mut unrendered) = own.resolve_with_unrendered(fqn);
    if proj.config.name != root.config.name {
        let (more, more_unrendered) = tree_of(&root.config).resolve_with_unrendered(fqn);
        merge(&mut cfg, &more);
        unrendered.extend(more_unrendered);
    }
    (cfg, unrendered)
}
