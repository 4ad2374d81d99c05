//! `manifest.json` in dbt's v12 shape: [`manifest_json`] maps a [`Manifest`] onto the exact keys,
//! key order and per-resource-type variations dbt 1.10 writes.
//!
//! Decision: every node's `created_at` is the start time of the invocation that parsed it, not a
//! per-node parse time: the value carries no information sluice has, and one shared value keeps
//! two manifests of the same invocation comparable key for key. A parse that found nothing
//! changed keeps the previous manifest's nodes, and with them their `created_at`, as dbt's
//! partial parsing keeps the nodes of unchanged files (`manifest_patch::rewrite_manifest_metadata`).

use std::collections::BTreeMap;
use std::path::Path;

use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::node_config::{default_docs, default_freshness, node_config};
use super::node_json::{Columns, ConfigMemo, NodeEnv, NodeJson, Refs, Sources};
use super::{format_ts, ArtifactMeta, DBT_VERSION};
use crate::compile::{DocBlock, Manifest, Node, ResourceType};
use crate::graph::IdMap;
use crate::templating::MacroDef;

/// The whole `manifest.json` document (as written by [`write_manifest`], read back).
pub(crate) fn manifest_json(m: &Manifest, meta: &ArtifactMeta) -> Value {
    serde_json::from_str(&manifest_string(m, meta)).unwrap_or_default()
}

/// `manifest.json` as text.
pub(crate) fn manifest_string(m: &Manifest, meta: &ArtifactMeta) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and serde_json writes valid UTF-8.
    let _ = write_manifest(m, meta, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `manifest.json` to `out`, one top-level key after another in dbt's order. The large
/// sections are serialised straight from the parsed project rather than through a value tree:
/// nodes in parallel batches written in order as they are done, and the parent and child maps
/// from borrowed ids.
pub(crate) fn write_manifest(
    m: &Manifest,
    meta: &ArtifactMeta,
    out: &mut Out,
) -> std::io::Result<()> {
    let ctx = Ctx::new(m, meta);
    let mut w = TopLevel { out, first: true };
    w.entry("metadata", &metadata(m, meta))?;
    w.key("nodes")?;
    // The sections after `nodes` are serialised into memory meanwhile (the graph maps alone
    // are a tenth of the document's time on a large project), then written after the nodes.
    // They go first, on this thread: the nodes, split in chunks, can use every thread to the
    // end, where these sections, one thread's work, would be left alone at the end.
    let (rest, nodes) = rayon::join(
        || {
            // (About 250 bytes a node: the maps' ids, most of it; grown by doubling, the
            // buffer was copied several times over.)
            let mut buf: Vec<u8> = Vec::with_capacity(256 * m.nodes.len());
            let mut rest = TopLevel {
                out: &mut buf,
                first: false,
            };
            write_after_nodes(m, &ctx, &mut rest).map(|()| buf)
        },
        || write_nodes(m, &ctx, w.out),
    );
    nodes?;
    w.out.write_all(&rest?)?;
    w.out.write_all(b"}")
}

/// Every top-level section after `nodes`, in dbt's order.
fn write_after_nodes(m: &Manifest, ctx: &Ctx, w: &mut TopLevel) -> std::io::Result<()> {
    let sources: Map<String, Value> = m
        .sources
        .iter()
        .map(|(id, n)| (id.clone(), ctx.source(n)))
        .collect();
    w.entry("sources", &sources)?;
    let macros: Map<String, Value> = m
        .macros
        .iter()
        .map(|(id, mac)| (id.clone(), ctx.macro_(mac)))
        .collect();
    w.entry("macros", &macros)?;
    let docs: Map<String, Value> = m.docs.iter().map(|(id, d)| (id.clone(), doc(d))).collect();
    w.entry("docs", &docs)?;
    let exposures: Map<String, Value> = m
        .exposures
        .iter()
        .map(|(id, n)| (id.clone(), ctx.exposure(n)))
        .collect();
    w.entry("exposures", &exposures)?;
    w.entry("metrics", &semantic_section(m, "metric", &m.metrics, ctx))?;
    w.entry("groups", &m.groups)?;
    w.entry("selectors", &m.selectors)?;
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
    w.entry("disabled", &disabled)?;
    let (parents, children) = graph_maps(m);
    w.entry("parent_map", &parents)?;
    w.entry("child_map", &children)?;
    w.entry("group_map", &group_map(m))?;
    w.entry(
        "saved_queries",
        &semantic_section(m, "saved_query", &m.saved_queries, ctx),
    )?;
    w.entry(
        "semantic_models",
        &semantic_section(m, "semantic_model", &m.semantic_models, ctx),
    )?;
    let unit_tests: Map<String, Value> = m
        .unit_tests
        .iter()
        .map(|(id, n)| (id.clone(), ctx.unit_test(n)))
        .collect();
    w.entry("unit_tests", &unit_tests)
}

/// A semantic-layer section: each entry in dbt's node shape where the semantic layer made one
/// (with the invocation's `created_at`), else the definition as written.
fn semantic_section(
    m: &Manifest,
    prefix: &str,
    raw: &BTreeMap<String, Value>,
    ctx: &Ctx,
) -> Map<String, Value> {
    // Metrics created from measures (`create_metric: true`) exist only in the semantic layer.
    let made = m
        .semantic_entries
        .keys()
        .filter(|id| id.split('.').next() == Some(prefix));
    let ids: std::collections::BTreeSet<&String> = raw.keys().chain(made).collect();
    ids.into_iter()
        .map(|id| {
            let v = match m.semantic_entries.get(id) {
                Some(Value::Object(e)) => {
                    let mut e = e.clone();
                    if let Some(c) = e.get_mut("created_at") {
                        *c = ctx.env.created_at.clone();
                    }
                    Value::Object(e)
                }
                _ => raw.get(id).cloned().unwrap_or_default(),
            };
            (id.clone(), v)
        })
        .collect()
}

/// The top-level object of a JSON document being written key by key.
struct TopLevel<'w> {
    out: &'w mut Out,
    first: bool,
}

impl TopLevel<'_> {
    fn key(&mut self, k: &str) -> std::io::Result<()> {
        self.out.write_all(if self.first { b"{" } else { b"," })?;
        self.first = false;
        serde_json::to_writer(&mut *self.out, k)?;
        self.out.write_all(b":")
    }

    fn entry(&mut self, k: &str, v: &impl serde::Serialize) -> std::io::Result<()> {
        self.key(k)?;
        serde_json::to_writer(&mut *self.out, v).map_err(Into::into)
    }
}

/// The `nodes` object: serialised in parallel chunks, batch by batch; each batch is written out
/// while the next one is serialised (the batches bound the text in memory at once).
fn write_nodes(m: &Manifest, ctx: &Ctx, out: &mut Out) -> std::io::Result<()> {
    use rayon::prelude::*;
    const CHUNK: usize = 64;
    const BATCH: usize = 8 * CHUNK;
    let list: Vec<(&String, &Node)> = m
        .nodes
        .iter()
        .map(|(k, n)| (k, &**n))
        .chain(&m.operations)
        .collect();
    let serialise = |batch: &[(&String, &Node)]| -> Vec<std::io::Result<Vec<u8>>> {
        batch
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 4096);
                let memo = ConfigMemo::default();
                for (id, n) in chunk {
                    if !buf.is_empty() {
                        buf.push(b',');
                    }
                    serde_json::to_writer(&mut buf, id)?;
                    buf.push(b':');
                    let entry = NodeJson {
                        env: &ctx.env,
                        node: n,
                        memo: Some(&memo),
                    };
                    serde_json::to_writer(&mut buf, &entry)?;
                }
                Ok(buf)
            })
            .collect()
    };
    let mut first = true;
    let mut write = |out: &mut Out, parts: Vec<std::io::Result<Vec<u8>>>| {
        for part in parts {
            if !first {
                out.write_all(b",")?;
            }
            out.write_all(&part?)?;
            first = false;
        }
        Ok::<(), std::io::Error>(())
    };
    out.write_all(b"{")?;
    let mut pending = Vec::new();
    for batch in list.chunks(BATCH) {
        let (written, parts) = rayon::join(|| write(out, pending), || serialise(batch));
        written?;
        pending = parts;
    }
    write(out, pending)?;
    out.write_all(b"}")
}

/// Where an artifact is written: a file, or memory.
pub(crate) type Out = dyn std::io::Write + Send;

impl<'a> Ctx<'a> {
    fn new(m: &'a Manifest, meta: &'a ArtifactMeta) -> Self {
        let mut tests_of: IdMap<Vec<&Node>> = IdMap::default();
        for t in m
            .nodes
            .values()
            .map(|n| &**n)
            .chain(m.disabled.values().flatten())
        {
            if let (Some(a), Some(_)) = (t.attached_node.as_deref(), &t.test_metadata) {
                tests_of.entry(a).or_default().push(t);
            }
        }
        Ctx {
            env: NodeEnv {
                target_path: path_str(&meta.target_path),
                project_root: path_str(&meta.project_root),
                package_roots: m
                    .package_roots
                    .iter()
                    .map(|(name, root)| (name.clone(), path_str(root)))
                    .collect(),
                hook_run_index: [&m.on_run_start, &m.on_run_end]
                    .into_iter()
                    .flat_map(|hooks| hooks.iter().zip(1..).map(|(h, i)| (h.unique_id(), i)))
                    .collect(),
                built: &meta.built,
                created_at: created_at(meta),
                tests_of,
            },
        }
    }
}

/// dbt's `project_id`: the md5 hex digest of the project name.
pub(crate) fn project_id(project_name: &str) -> String {
    crate::project::lower_hex(&Md5::digest(project_name.as_bytes()))
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
    metadata_of(project_name, adapter_type, meta)
}

fn quoting_of(adapter_type: &str) -> Value {
    let q = crate::adapters::registry::engine(adapter_type)
        .map(|e| e.dialect().quote_policy())
        .unwrap_or_default();
    json!({"database": q.database, "schema": q.schema, "identifier": q.identifier, "column": null})
}

pub(super) fn metadata_of(project_name: &str, adapter_type: &str, meta: &ArtifactMeta) -> Value {
    json!({
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "dbt_version": DBT_VERSION,
        "generated_at": format_ts(&meta.generated_at),
        "invocation_id": meta.invocation_id,
        "invocation_started_at": format_ts(&meta.invocation_started_at),
        "env": super::metadata_env(),
        "project_name": project_name,
        "project_id": project_id(project_name),
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": adapter_type,
        // The adapter's quoting (DuckDB and Postgres quote database, schema and identifier;
        // Snowflake and Spark none); columns are left to dbt.
        "quoting": quoting_of(adapter_type),
    })
}

fn created_at(meta: &ArtifactMeta) -> Value {
    let t = meta.invocation_started_at;
    json!(t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
}

/// parent_map and child_map, from borrowed ids: every node's sorted, distinct parents and
/// children, plus empty entries for metrics and semantic models (which sluice does not wire into
/// the graph).
fn graph_maps(m: &Manifest) -> (GraphMap<'_>, GraphMap<'_>) {
    // Every id that has a `child_map` entry, sorted, and its place among them: children are
    // gathered by place (a hash of the id), not by looking each parent up in a sorted map,
    // where 40,000 ids sharing long prefixes made each of 70,000 lookups a dozen string
    // comparisons.
    let semantic_ids: Vec<&String> = m
        .metrics
        .keys()
        .chain(m.semantic_models.keys())
        .chain(m.saved_queries.keys())
        .chain(m.semantic_entries.keys())
        .collect();
    // (A node's own parents count as its children only among the nodes: a metric test is no
    // metric's child, the semantic layer's edges are added from its entries below.)
    let mut ids: Vec<(&str, bool)> = m
        .all_nodes()
        .chain(m.operations.values())
        .map(|n| (n.unique_id.as_str(), true))
        .chain(semantic_ids.iter().map(|id| (id.as_str(), false)))
        .collect();
    ids.sort_unstable();
    ids.dedup_by(|b, a| {
        // One place per id, a node's if it is one.
        a.0 == b.0 && {
            a.1 |= b.1;
            true
        }
    });
    let place: IdMap<(usize, bool)> = ids
        .iter()
        .enumerate()
        .map(|(i, (id, node))| (*id, (i, *node)))
        .collect();
    let mut kids: Vec<Vec<&str>> = vec![Vec::new(); ids.len()];
    fn add_child<'a>(
        place: &IdMap<(usize, bool)>,
        kids: &mut [Vec<&'a str>],
        parent: &str,
        child: &'a str,
        nodes_only: bool,
    ) {
        match place.get(parent) {
            Some(&(i, node)) if node || !nodes_only => kids[i].push(child),
            _ => {}
        }
    }
    // Each id's parents, in the order written (a later entry of the same id wins, as an insert
    // into the map would).
    let mut parents: Vec<(&str, Vec<&str>)> = m
        .operations
        .keys()
        .map(|id| (id.as_str(), Vec::new()))
        .collect();
    for n in m.all_nodes() {
        let mut deps: Vec<&str> = n.depends_on_nodes.iter().map(String::as_str).collect();
        deps.sort_unstable();
        deps.dedup();
        for d in &deps {
            add_child(&place, &mut kids, d, &n.unique_id, true);
        }
        parents.push((&n.unique_id, deps));
    }
    // The semantic layer: semantic models read models, metrics read semantic models or other
    // metrics, saved queries read metrics (from their dbt-shaped entries' `depends_on`), and
    // exposures may read metrics. (Sluice's own metric tests and metric unit tests, which dbt
    // has not, are no metric's children, as above.)
    for n in m.exposures.values() {
        for d in n
            .depends_on_nodes
            .iter()
            .filter(|d| d.starts_with("metric."))
        {
            add_child(&place, &mut kids, d, &n.unique_id, false);
        }
    }
    for id in semantic_ids {
        let mut deps: Vec<&str> = m
            .semantic_entries
            .get(id)
            .and_then(|e| e.pointer("/depends_on/nodes"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        deps.sort_unstable();
        deps.dedup();
        for d in &deps {
            add_child(&place, &mut kids, d, id, false);
        }
        parents.push((id, deps));
    }
    let children = ids
        .into_iter()
        .zip(kids)
        .map(|((id, _), mut v)| {
            v.sort_unstable();
            v.dedup();
            (id, v)
        })
        .collect();
    // (Sorted stably, so that of one id's entries the last comes last and is the one kept.)
    parents.sort_by(|a, b| a.0.cmp(b.0));
    let mut kept: Vec<(&str, Vec<&str>)> = Vec::with_capacity(parents.len());
    for (id, deps) in parents {
        match kept.last_mut() {
            Some(last) if last.0 == id => last.1 = deps,
            _ => kept.push((id, deps)),
        }
    }
    (kept.into_iter().collect(), children)
}

type GraphMap<'a> = BTreeMap<&'a str, Vec<&'a str>>;

/// `group_map`: group name -> ids of the nodes in that group.
fn group_map(m: &Manifest) -> Value {
    // Every group, members or not; a node naming no group defined is left out, as dbt does.
    let mut groups: BTreeMap<String, Vec<String>> = m
        .groups
        .values()
        .filter_map(|g| g.get("name").and_then(Value::as_str))
        .map(|name| (name.to_string(), Vec::new()))
        .collect();
    // (No group, no member: the nodes' configs are not looked through.)
    if groups.is_empty() {
        return json!({});
    }
    for n in m.all_nodes() {
        if let Some(members) = n.config_str("group").and_then(|g| groups.get_mut(g)) {
            members.push(n.unique_id.clone());
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

fn path_str(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

struct Ctx<'a> {
    env: NodeEnv<'a>,
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

    /// Models, seeds, snapshots, tests, analyses and operations (dbt's `nodes`).
    fn node(&self, n: &Node) -> Value {
        serde_json::to_value(self.node_json(n)).unwrap_or_default()
    }

    fn node_json<'n>(&'n self, node: &'n Node) -> NodeJson<'n> {
        NodeJson {
            env: &self.env,
            node,
            memo: None,
        }
    }

    fn source(&self, n: &Node) -> Value {
        let default_info = Default::default();
        let s: &crate::compile::SourceInfo = n.source.as_ref().unwrap_or(&default_info);
        // A schema file that clears the freshness (`freshness: null`) leaves none, as dbt does.
        let cleared = n.unrendered_config.get("freshness") == Some(&Value::Null);
        let freshness = if cleared {
            Value::Null
        } else if s.freshness.is_null() {
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
        config.insert("loaded_at_query".into(), json!(s.loaded_at_query));
        let mut quoting =
            json!({"database": null, "schema": null, "identifier": null, "column": null});
        if let Some(Value::Object(q)) = n.config.get("quoting") {
            for (k, v) in q {
                quoting[k.as_str()] = v.clone();
            }
        }
        let mut unrendered = n.unrendered_config.clone();
        for k in ["loaded_at_field", "loaded_at_query"] {
            unrendered.entry(k).or_insert(Value::Null);
        }
        unrendered.entry("meta").or_insert(json!({}));
        unrendered.entry("tags").or_insert(json!([]));
        json!({
            "database": (!n.database.is_empty()).then_some(&n.database),
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
            "loaded_at_query": s.loaded_at_query,
            "freshness": freshness,
            "external": null,
            "description": n.description,
            "columns": Columns(&n.columns),
            "meta": n.meta,
            "source_meta": s.source_meta,
            "tags": n.tags,
            "config": config,
            "patch_path": n.patch_path,
            "unrendered_config": unrendered,
            "relation_name": n.relation_name(),
            "created_at": self.env.created_at,
            "unrendered_database": s.unrendered_database,
            "unrendered_schema": s.unrendered_schema,
            "doc_blocks": n.doc_blocks,
        })
    }

    fn macro_(&self, mac: &MacroDef) -> Value {
        let prop = |k: &str, default: Value| {
            mac.properties
                .as_ref()
                .and_then(|p| p.get(k).cloned())
                .unwrap_or(default)
        };
        json!({
            "name": mac.name,
            "resource_type": "macro",
            "package_name": mac.package,
            "path": mac.original_file_path,
            "original_file_path": mac.original_file_path,
            "unique_id": mac.unique_id,
            "macro_sql": mac.macro_sql,
            "depends_on": {"macros": mac.depends_on},
            "description": prop("description", json!("")),
            "meta": prop("meta", json!({})),
            "docs": prop("docs", Value::Object(default_docs())),
            "patch_path": prop("patch_path", Value::Null),
            "arguments": prop("arguments", json!([])),
            "created_at": self.env.created_at,
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
            "refs": Refs(&n.refs),
            "sources": Sources(&n.sources),
            "metrics": crate::compile::exposure_metrics(n),
            "created_at": self.env.created_at,
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
        // As dbt's, the checksum covers everything but the description (what `state:modified`
        // compares a unit test by): sluice hashes the JSON of those parts.
        let checksum = if n.checksum.checksum.is_empty() {
            let parts = json!([
                d.get("model"),
                d.get("versions"),
                given,
                expect,
                d.get("overrides")
            ]);
            crate::project::sha256_hex(parts.to_string().as_bytes())
        } else {
            n.checksum.checksum.clone()
        };
        // Overrides as dbt writes them: `macros`, `vars` and `env_vars`, each a mapping.
        let overrides = match d.get("overrides") {
            Some(Value::Object(o)) => {
                let mut all = Map::new();
                for k in ["macros", "vars", "env_vars"] {
                    all.insert(k.into(), o.get(k).cloned().unwrap_or_else(|| json!({})));
                }
                Value::Object(all)
            }
            other => other.cloned().unwrap_or(Value::Null),
        };
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
            "overrides": overrides,
            "depends_on": {"macros": n.depends_on_macros, "nodes": n.depends_on_nodes},
            "config": node_config(n),
            "checksum": checksum,
            "schema": n.schema,
            "created_at": self.env.created_at,
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
