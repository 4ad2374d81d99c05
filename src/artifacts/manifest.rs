//! `manifest.json` in dbt's v12 shape: [`manifest_json`] maps a [`Manifest`] onto the exact keys,
//! key order and per-resource-type variations dbt 1.10 writes.
//!
//! Decision: every node's `created_at` is the invocation start time, not a per-node parse time:
//! the value carries no information sluice has, and one shared value keeps two manifests of the
//! same invocation comparable key for key.

use std::collections::BTreeMap;
use std::path::Path;

use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::node_config::{default_docs, default_freshness, node_config};
use super::{format_ts, ArtifactMeta, DBT_VERSION};
use crate::compile::{ColumnDef, DocBlock, Manifest, Node, ResourceType};
use crate::templating::MacroDef;

/// The whole `manifest.json` document.
pub fn manifest_json(m: &Manifest, meta: &ArtifactMeta) -> Value {
    manifest_value(m, &Ctx::new(m, meta), true)
}

/// `manifest.json` as text, for writing. Nodes (the bulk of a large project) are serialised one
/// by one in parallel and spliced in, so the whole document never exists as one value tree;
/// the result equals `serde_json::to_string(&manifest_json(m, meta))`.
pub fn manifest_string(m: &Manifest, meta: &ArtifactMeta) -> String {
    use rayon::prelude::*;
    let ctx = Ctx::new(m, meta);
    let list: Vec<(&String, &Node)> = m.nodes.iter().collect();
    let parts: Vec<String> = list
        .par_iter()
        .map(|(id, n)| {
            let key = serde_json::to_string(id).unwrap_or_default();
            let val = serde_json::to_string(&ctx.node(n)).unwrap_or_default();
            format!("{key}:{val}")
        })
        .collect();
    let rest = serde_json::to_string(&manifest_value(m, &ctx, false)).unwrap_or_default();
    let marker = "\"nodes\":{}";
    match rest.find(marker) {
        Some(i) => {
            let mut out = String::with_capacity(
                rest.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>(),
            );
            out.push_str(&rest[..i]);
            out.push_str("\"nodes\":{");
            out.push_str(&parts.join(","));
            out.push('}');
            out.push_str(&rest[i + marker.len()..]);
            out
        }
        None => serde_json::to_string(&manifest_json(m, meta)).unwrap_or_default(),
    }
}

impl<'a> Ctx<'a> {
    fn new(m: &'a Manifest, meta: &'a ArtifactMeta) -> Self {
        let mut tests_of: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
        for t in m.nodes.values().chain(m.disabled.values().flatten()) {
            if let (Some(a), Some(_)) = (t.attached_node.as_deref(), &t.test_metadata) {
                tests_of.entry(a).or_default().push(t);
            }
        }
        Ctx {
            meta,
            created_at: created_at(meta),
            tests_of,
        }
    }
}

fn manifest_value(m: &Manifest, ctx: &Ctx, with_nodes: bool) -> Value {
    let meta = ctx.meta;
    // Nodes are independent: render them in parallel, then keep the sorted order.
    let list: Vec<(&String, &Node)> = if with_nodes {
        m.nodes.iter().collect()
    } else {
        Vec::new()
    };
    let rendered: Vec<(String, Value)> = {
        use rayon::prelude::*;
        list.par_iter()
            .map(|(id, n)| ((*id).clone(), ctx.node(n)))
            .collect()
    };
    let nodes: Map<String, Value> = rendered.into_iter().collect();
    let sources: Map<String, Value> = m
        .sources
        .iter()
        .map(|(id, n)| (id.clone(), ctx.source(n)))
        .collect();
    let macros: Map<String, Value> = m
        .macros
        .iter()
        .map(|(id, mac)| (id.clone(), ctx.macro_(mac)))
        .collect();
    let docs: Map<String, Value> = m.docs.iter().map(|(id, d)| (id.clone(), doc(d))).collect();
    let exposures: Map<String, Value> = m
        .exposures
        .iter()
        .map(|(id, n)| (id.clone(), ctx.exposure(n)))
        .collect();
    let unit_tests: Map<String, Value> = m
        .unit_tests
        .iter()
        .map(|(id, n)| (id.clone(), ctx.unit_test(n)))
        .collect();
    let disabled: Map<String, Value> = m
        .disabled
        .iter()
        .map(|(id, ns)| {
            (
                id.clone(),
                Value::Array(ns.iter().map(|n| ctx.any(n)).collect()),
            )
        })
        .collect();
    let pm = graph_map(m.parent_map(), &m.metrics, &m.semantic_models);
    let cm = graph_map(m.child_map(), &m.metrics, &m.semantic_models);
    json!({
        "metadata": metadata(m, meta),
        "nodes": nodes,
        "sources": sources,
        "macros": macros,
        "docs": docs,
        "exposures": exposures,
        "metrics": to_obj(&m.metrics),
        "groups": to_obj(&m.groups),
        "selectors": {},
        "disabled": disabled,
        "parent_map": pm,
        "child_map": cm,
        "group_map": group_map(m),
        "saved_queries": to_obj(&m.saved_queries),
        "semantic_models": to_obj(&m.semantic_models),
        "unit_tests": unit_tests,
    })
}

/// dbt's `project_id`: the md5 hex digest of the project name.
pub(crate) fn project_id(project_name: &str) -> String {
    Md5::digest(project_name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn metadata(m: &Manifest, meta: &ArtifactMeta) -> Value {
    let project_name = if meta.project_name.is_empty() {
        &m.project_name
    } else {
        &meta.project_name
    };
    let adapter_type = if meta.adapter_type.is_empty() {
        &m.adapter_type
    } else {
        &meta.adapter_type
    };
    json!({
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "dbt_version": DBT_VERSION,
        "generated_at": format_ts(&meta.generated_at),
        "invocation_id": meta.invocation_id,
        "invocation_started_at": format_ts(&meta.invocation_started_at),
        "env": {},
        "project_name": project_name,
        "project_id": project_id(project_name),
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": adapter_type,
        // DuckDB and Postgres quote database, schema and identifier; columns are left to dbt.
        "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
    })
}

fn created_at(meta: &ArtifactMeta) -> Value {
    let t = meta.invocation_started_at;
    json!(t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
}

fn to_obj(m: &BTreeMap<String, Value>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// parent_map / child_map, plus empty entries for metrics and semantic models (which sluice
/// does not wire into the graph).
fn graph_map(
    base: BTreeMap<String, Vec<String>>,
    metrics: &BTreeMap<String, Value>,
    sms: &BTreeMap<String, Value>,
) -> Value {
    let mut map = base;
    for id in metrics.keys().chain(sms.keys()) {
        map.entry(id.clone()).or_default();
    }
    Value::Object(map.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

/// `group_map`: group name -> ids of the nodes in that group.
fn group_map(m: &Manifest) -> Value {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in m.all_nodes() {
        if let Some(g) = n.config_str("group") {
            groups
                .entry(g.to_string())
                .or_default()
                .push(n.unique_id.clone());
        }
    }
    json!(groups)
}

fn doc(d: &DocBlock) -> Value {
    // `path` is relative to the docs/model folder the file was found in.
    let path = d
        .original_file_path
        .split_once('/')
        .map_or(d.original_file_path.as_str(), |(_, rest)| rest);
    json!({
        "name": d.name,
        "resource_type": "doc",
        "package_name": d.package_name,
        "path": path,
        "original_file_path": d.original_file_path,
        "unique_id": d.unique_id,
        "block_contents": d.block_contents,
    })
}

fn column(c: &ColumnDef) -> Value {
    json!({
        "name": c.name,
        "description": c.description,
        "meta": c.meta,
        "data_type": c.data_type,
        "constraints": [],
        "quote": c.quote,
        "config": {"meta": c.meta, "tags": c.tags},
        "tags": c.tags,
        "granularity": null,
        "doc_blocks": [],
    })
}

fn columns(n: &Node) -> Map<String, Value> {
    n.columns
        .iter()
        .map(|c| (c.name.clone(), column(c)))
        .collect()
}

fn refs(n: &Node) -> Value {
    Value::Array(
        n.refs
            .iter()
            .map(|r| json!({"name": r.name, "package": r.package, "version": r.version}))
            .collect(),
    )
}

fn sources(n: &Node) -> Value {
    Value::Array(n.sources.iter().map(|(s, t)| json!([s, t])).collect())
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

struct Ctx<'a> {
    /// Generic tests by the node they are attached to (for `primary_key`).
    tests_of: BTreeMap<&'a str, Vec<&'a Node>>,
    meta: &'a ArtifactMeta,
    created_at: Value,
}

impl Ctx<'_> {
    /// Any resource, by its type (used for `disabled`).
    fn any(&self, n: &Node) -> Value {
        match n.resource_type {
            ResourceType::Source => self.source(n),
            ResourceType::Exposure => self.exposure(n),
            ResourceType::UnitTest => self.unit_test(n),
            _ => self.node(n),
        }
    }

    /// `target/<kind>/<package>/<original_file_path>[/<path>]`: nodes defined in YAML (generic
    /// tests) or in dbt_project.yml (hooks) get their own `path` appended.
    fn target_file(&self, kind: &str, n: &Node) -> String {
        let mut p = format!(
            "{}/{kind}/{}/{}",
            path_str(&self.meta.target_path),
            n.package_name,
            n.original_file_path
        );
        let from_yaml =
            n.original_file_path.ends_with(".yml") || n.original_file_path.ends_with(".yaml");
        if from_yaml || n.resource_type == ResourceType::Operation {
            p.push('/');
            p.push_str(&n.path);
        }
        p
    }

    /// Models, seeds, snapshots, tests, analyses and operations (dbt's `nodes`).
    fn node(&self, n: &Node) -> Value {
        let rt = n.resource_type;
        let config = node_config(n);
        let checksum = if n.checksum.is_empty() {
            json!({"name": "none", "checksum": ""})
        } else {
            json!({"name": "sha256", "checksum": n.checksum})
        };
        let docs = match config.get("docs") {
            Some(Value::Object(d)) => Value::Object(d.clone()),
            _ => Value::Object(default_docs()),
        };
        let group = config.get("group").cloned().unwrap_or(Value::Null);
        let access = config.get("access").cloned();
        let build_path = if self.meta.built.contains(&n.unique_id) {
            Some(self.target_file("run", n))
        } else {
            None
        };
        let mut o = Map::new();
        o.insert("database".into(), json!(n.database));
        o.insert("schema".into(), json!(n.schema));
        o.insert("name".into(), json!(n.name));
        o.insert("resource_type".into(), json!(rt.as_str()));
        o.insert("package_name".into(), json!(n.package_name));
        o.insert("path".into(), json!(n.path));
        o.insert("original_file_path".into(), json!(n.original_file_path));
        o.insert("unique_id".into(), json!(n.unique_id));
        o.insert("fqn".into(), json!(n.fqn));
        o.insert("alias".into(), json!(n.alias));
        o.insert("checksum".into(), checksum);
        o.insert("config".into(), Value::Object(config));
        o.insert("tags".into(), json!(n.tags));
        o.insert("description".into(), json!(n.description));
        o.insert("columns".into(), Value::Object(columns(n)));
        o.insert("meta".into(), json!(n.meta));
        o.insert("group".into(), group);
        o.insert("docs".into(), docs);
        o.insert("patch_path".into(), json!(n.patch_path));
        o.insert("build_path".into(), json!(build_path));
        o.insert("unrendered_config".into(), json!(n.unrendered_config));
        o.insert("created_at".into(), self.created_at.clone());
        o.insert("relation_name".into(), json!(n.relation_name()));
        o.insert(
            "raw_code".into(),
            json!(if rt == ResourceType::Seed {
                ""
            } else {
                n.raw_code.as_str()
            }),
        );
        o.insert("doc_blocks".into(), json!([]));
        if rt == ResourceType::Seed {
            o.insert("root_path".into(), json!(path_str(&self.meta.project_root)));
            o.insert("depends_on".into(), json!({"macros": n.depends_on_macros}));
            if let Some(code) = &n.compiled_code {
                o.insert("compiled_code".into(), json!(code));
            }
            return Value::Object(o);
        }
        o.insert("language".into(), json!("sql"));
        o.insert("refs".into(), refs(n));
        o.insert("sources".into(), sources(n));
        o.insert("metrics".into(), json!([]));
        o.insert(
            "depends_on".into(),
            json!({"macros": n.depends_on_macros, "nodes": n.depends_on_nodes}),
        );
        // dbt leaves a snapshot's compiled_path unset even once it is compiled.
        let compiled_path = match (&n.compiled_code, rt) {
            (Some(_), ResourceType::Snapshot) | (None, _) => None,
            (Some(_), _) => Some(self.target_file("compiled", n)),
        };
        o.insert("compiled_path".into(), json!(compiled_path));
        if let Some(code) = &n.compiled_code {
            o.insert("compiled".into(), json!(true));
            o.insert("compiled_code".into(), json!(code));
            o.insert("extra_ctes_injected".into(), json!(true));
            o.insert("extra_ctes".into(), json!([]));
        }
        o.insert(
            "contract".into(),
            json!({"enforced": false, "alias_types": true, "checksum": null}),
        );
        if let Some(Value::Object(c)) = n.config.get("contract") {
            if let Some(enforced) = c.get("enforced") {
                o["contract"]["enforced"] = enforced.clone();
            }
        }
        match rt {
            ResourceType::Model => {
                o.insert(
                    "access".into(),
                    access.unwrap_or_else(|| json!("protected")),
                );
                o.insert("constraints".into(), json!([]));
                o.insert("version".into(), json!(n.version));
                o.insert("latest_version".into(), Value::Null);
                o.insert("deprecation_date".into(), Value::Null);
                o.insert("primary_key".into(), json!(self.primary_key(n)));
                o.insert("time_spine".into(), Value::Null);
            }
            ResourceType::Test => {
                if let Some(tm) = &n.test_metadata {
                    o.insert("column_name".into(), json!(n.column_name));
                    o.insert("file_key_name".into(), json!(n.file_key_name));
                    o.insert("attached_node".into(), json!(n.attached_node));
                    o.insert(
                        "test_metadata".into(),
                        json!({"name": tm.name, "kwargs": tm.kwargs, "namespace": tm.namespace}),
                    );
                } else if let Some(mt) = n.definition.get("metric_test") {
                    // A built-in metric test (sluice's `data_tests:` under a metric): its kind and
                    // arguments as written, plus the metric, like a generic test's kwargs.
                    let mut kwargs = mt.get("args").cloned().unwrap_or_else(|| json!({}));
                    if let Value::Object(k) = &mut kwargs {
                        k.insert(
                            "metric_name".into(),
                            mt.get("metric").cloned().unwrap_or_default(),
                        );
                    }
                    o.insert("column_name".into(), Value::Null);
                    o.insert("file_key_name".into(), json!(n.file_key_name));
                    o.insert("attached_node".into(), Value::Null);
                    o.insert(
                        "test_metadata".into(),
                        json!({"name": mt.get("kind"), "kwargs": kwargs, "namespace": Value::Null}),
                    );
                }
            }
            ResourceType::Operation => {
                let index = n
                    .name
                    .rsplit('-')
                    .next()
                    .and_then(|i| i.parse::<u64>().ok())
                    .map(|i| i + 1);
                o.insert("index".into(), json!(index));
            }
            _ => {}
        }
        Value::Object(o)
    }

    /// dbt's inferred `primary_key`: columns with both `unique` and `not_null` tests, else
    /// columns with a `unique` test (sorted, where dbt's set order is arbitrary).
    fn primary_key(&self, model: &Node) -> Vec<String> {
        let mut unique = Vec::new();
        let mut disabled_unique = Vec::new();
        let mut not_null = Vec::new();
        let tests = self
            .tests_of
            .get(model.unique_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for t in tests {
            let Some(tm) = &t.test_metadata else { continue };
            let cols: Vec<String> = match (
                tm.kwargs.get("column_name"),
                tm.kwargs.get("combination_of_columns"),
            ) {
                (Some(Value::String(c)), _) => vec![c.clone()],
                (_, Some(Value::Array(cs))) => cs
                    .iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect(),
                _ => t.column_name.clone().into_iter().collect(),
            };
            match tm.name.as_str() {
                "unique" | "unique_combination_of_columns" if t.is_enabled() => unique.extend(cols),
                "unique" | "unique_combination_of_columns" => disabled_unique.extend(cols),
                "not_null" => not_null.extend(cols),
                _ => {}
            }
        }
        for v in [&mut unique, &mut disabled_unique] {
            v.sort();
            v.dedup();
        }
        let both: Vec<String> = unique
            .iter()
            .filter(|c| not_null.contains(c))
            .cloned()
            .collect();
        if !both.is_empty() {
            both
        } else if !unique.is_empty() {
            unique
        } else {
            disabled_unique
        }
    }

    fn source(&self, n: &Node) -> Value {
        let default_info = Default::default();
        let s: &crate::compile::SourceInfo = n.source.as_ref().unwrap_or(&default_info);
        let freshness = if s.freshness.is_null() {
            default_freshness()
        } else {
            s.freshness.clone()
        };
        let mut config = node_config(n);
        // Relation settings live in the source's own fields, not in its config.
        for k in ["quoting", "schema", "database", "identifier", "loader"] {
            config.shift_remove(k);
        }
        config.insert("freshness".into(), freshness.clone());
        config.insert("loaded_at_field".into(), json!(s.loaded_at_field));
        let mut quoting =
            json!({"database": null, "schema": null, "identifier": null, "column": null});
        if let Some(Value::Object(q)) = n.config.get("quoting") {
            for (k, v) in q {
                quoting[k.as_str()] = v.clone();
            }
        }
        let mut unrendered =
            json!({"loaded_at_field": null, "loaded_at_query": null, "meta": {}, "tags": []});
        for (k, v) in &n.unrendered_config {
            unrendered[k.as_str()] = v.clone();
        }
        json!({
            "database": n.database,
            "schema": n.schema,
            "name": n.name,
            "resource_type": "source",
            "package_name": n.package_name,
            "path": n.path,
            "original_file_path": n.original_file_path,
            "unique_id": n.unique_id,
            "fqn": n.fqn,
            "source_name": s.source_name,
            "source_description": s.source_description,
            "loader": s.loader,
            "identifier": s.identifier,
            "quoting": quoting,
            "loaded_at_field": s.loaded_at_field,
            "loaded_at_query": null,
            "freshness": freshness,
            "external": null,
            "description": n.description,
            "columns": columns(n),
            "meta": n.meta,
            "source_meta": s.source_meta,
            "tags": n.tags,
            "config": config,
            "patch_path": n.patch_path,
            "unrendered_config": unrendered,
            "relation_name": n.relation_name(),
            "created_at": self.created_at,
            "unrendered_database": null,
            "unrendered_schema": n.schema,
            "doc_blocks": [],
        })
    }

    fn macro_(&self, mac: &MacroDef) -> Value {
        json!({
            "name": mac.name,
            "resource_type": "macro",
            "package_name": mac.package,
            "path": mac.original_file_path,
            "original_file_path": mac.original_file_path,
            "unique_id": mac.unique_id,
            "macro_sql": mac.macro_sql,
            "depends_on": {"macros": []},
            "description": "",
            "meta": {},
            "docs": default_docs(),
            "patch_path": null,
            "arguments": [],
            "created_at": self.created_at,
            "supported_languages": null,
        })
    }

    fn exposure(&self, n: &Node) -> Value {
        let d = &n.definition;
        let field = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
        // dbt's Owner dataclass orders email before name; extra owner keys follow.
        let mut owner = json!({"email": null, "name": null});
        if let Some(Value::Object(o)) = d.get("owner") {
            for (k, v) in o {
                owner[k.as_str()] = v.clone();
            }
        }
        json!({
            "name": n.name,
            "resource_type": "exposure",
            "package_name": n.package_name,
            "path": n.path,
            "original_file_path": n.original_file_path,
            "unique_id": n.unique_id,
            "fqn": n.fqn,
            "type": field("type"),
            "owner": owner,
            "description": n.description,
            "label": field("label"),
            "maturity": field("maturity"),
            "meta": n.meta,
            "tags": n.tags,
            "config": node_config(n),
            "unrendered_config": n.unrendered_config,
            "url": field("url"),
            "depends_on": {"macros": n.depends_on_macros, "nodes": n.depends_on_nodes},
            "refs": refs(n),
            "sources": sources(n),
            "metrics": [],
            "created_at": self.created_at,
        })
    }

    fn unit_test(&self, n: &Node) -> Value {
        let d = &n.definition;
        let fixture_io = |v: &Value, with_input: bool| {
            let mut o = Map::new();
            if with_input {
                o.insert(
                    "input".into(),
                    v.get("input").cloned().unwrap_or(Value::Null),
                );
            }
            o.insert("rows".into(), v.get("rows").cloned().unwrap_or(Value::Null));
            o.insert(
                "format".into(),
                v.get("format").cloned().unwrap_or_else(|| json!("dict")),
            );
            o.insert(
                "fixture".into(),
                v.get("fixture").cloned().unwrap_or(Value::Null),
            );
            Value::Object(o)
        };
        let given: Vec<Value> = match d.get("given") {
            Some(Value::Array(g)) => g.iter().map(|v| fixture_io(v, true)).collect(),
            _ => vec![],
        };
        let expect = fixture_io(d.get("expect").unwrap_or(&Value::Null), false);
        let mut out = json!({
            "model": d.get("model").cloned().unwrap_or(Value::Null),
            "given": given,
            "expect": expect,
            "name": n.name,
            "resource_type": "unit_test",
            "package_name": n.package_name,
            "path": n.path,
            "original_file_path": n.original_file_path,
            "unique_id": n.unique_id,
            "fqn": n.fqn,
            "description": n.description,
            "overrides": d.get("overrides").cloned().unwrap_or(Value::Null),
            "depends_on": {"macros": n.depends_on_macros, "nodes": n.depends_on_nodes},
            "config": node_config(n),
            "checksum": n.checksum,
            "schema": n.schema,
            "created_at": self.created_at,
            "versions": d.get("versions").cloned().unwrap_or(Value::Null),
            "version": n.version,
        });
        // A metric unit test (sluice's `metric_unit_tests:`) names its metric instead of a model.
        if let (Some(m), Value::Object(o)) = (d.get("metric"), &mut out) {
            o.insert("metric".into(), m.clone());
        }
        out
    }
}
