//! The static documentation site written by `sluice docs generate` under `<target-path>/docs/`:
//! `index.html`, `app.js`, `app.css` (embedded in the binary with `include_str!`, no CDN) and
//! the project's data in `data/`.
//!
//! Inputs: the [`Manifest`], the `catalog.json` value, and `run_results.json` when present.
//! Output: a folder that opens from the file system (`file://`) or from `sluice docs serve`.
//!
//! Decision: the data is JavaScript, not JSON (`data/index.js` calls `sluiceDocs.index(...)`,
//! `data/s<k>.js` calls `sluiceDocs.shard(k, ...)`), because browsers refuse `fetch()` of
//! `file://` URLs but run `<script>` tags from them. It is split in two so large projects stay
//! fast: a compact index (names, types, short descriptions, parents) that the list, the search
//! and the lineage graph need at load time, and shards of [`SHARD_SIZE`] nodes holding the page
//! details (Markdown already rendered to HTML, columns, SQL, tests) that are loaded only when a
//! page from them is opened. A 10,000-model project loads ~1.5 MB up front instead of all of it.

mod semantic;

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::{format_ts, write_text, ArtifactMeta};
use crate::compile::{Manifest, Node, ResourceType};

pub(crate) use semantic::{semantic_docs, SemanticDocs};

/// Nodes per details shard.
pub(crate) const SHARD_SIZE: usize = 250;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// What [`write_site`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SiteSummary {
    /// Documented nodes (models, seeds, sources, snapshots, analyses, exposures, semantic
    /// models, metrics).
    pub(crate) nodes: usize,
    pub(crate) shards: usize,
    /// Size of `data/index.js` in bytes.
    pub(crate) index_bytes: usize,
}

/// Renders dbt-flavoured Markdown (CommonMark + tables + strikethrough) to HTML. Raw HTML in
/// descriptions is shown as text, so a description cannot inject script into the site.
pub(crate) fn markdown_html(md: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    if md.trim().is_empty() {
        return String::new();
    }
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(md, opts).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut out = String::with_capacity(md.len() * 2);
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// The first sentence-ish of a description as plain text, for the list and the search.
fn snippet(md: &str) -> String {
    let mut s = String::new();
    for line in md.lines() {
        let l = line.trim();
        if l.is_empty() {
            if !s.is_empty() {
                break;
            }
            continue;
        }
        if l.starts_with('|') || l.starts_with("```") {
            break;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(l.trim_start_matches('#').trim());
        if s.len() > 160 {
            break;
        }
    }
    let s: String = s.chars().filter(|c| *c != '`' && *c != '*').collect();
    if s.chars().count() > 160 {
        let cut: String = s.chars().take(157).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn documented(n: &Node) -> bool {
    matches!(
        n.resource_type,
        ResourceType::Model
            | ResourceType::Seed
            | ResourceType::Snapshot
            | ResourceType::Analysis
            | ResourceType::Source
            | ResourceType::Exposure
    )
}

/// Last results by unique id from a `run_results.json` value.
fn last_results(run_results: Option<&Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Some(Value::Array(rs)) = run_results.and_then(|r| r.get("results")) {
        for r in rs {
            if let Some(id) = r.get("unique_id").and_then(Value::as_str) {
                out.insert(
                    id.to_string(),
                    json!({
                        "status": r.get("status").cloned().unwrap_or(Value::Null),
                        "message": r.get("message").cloned().unwrap_or(Value::Null),
                        "failures": r.get("failures").cloned().unwrap_or(Value::Null),
                        "execution_time": r.get("execution_time").cloned().unwrap_or(Value::Null),
                    }),
                );
            }
        }
    }
    out
}

/// The catalog entry of a node, if the warehouse had its relation.
fn catalog_entry<'a>(catalog: &'a Value, n: &Node) -> Option<&'a Value> {
    let part = if n.resource_type == ResourceType::Source {
        "sources"
    } else {
        "nodes"
    };
    catalog.get(part).and_then(|p| p.get(&n.unique_id))
}

struct Ctx<'a> {
    catalog: &'a Value,
    results: BTreeMap<String, Value>,
    /// attached node id -> its tests.
    tests_of: BTreeMap<&'a str, Vec<&'a Node>>,
    semantic: SemanticDocs,
}

impl Ctx<'_> {
    fn test_entry(&self, t: &Node) -> Value {
        let kind = t
            .test_metadata
            .as_ref()
            .map(|tm| match &tm.namespace {
                Some(ns) => format!("{ns}.{}", tm.name),
                None => tm.name.clone(),
            })
            .unwrap_or_else(|| "singular".into());
        let mut v = json!({
            "id": t.unique_id, "name": t.name, "kind": kind,
            "column": t.column_name, "severity": t.config.get("severity").cloned().unwrap_or(Value::Null),
        });
        if let Some(r) = self.results.get(&t.unique_id) {
            v["result"] = r.clone();
        }
        v
    }

    fn columns(&self, n: &Node, tests: &[Value]) -> Vec<Value> {
        // Warehouse order first (with documented descriptions merged), then documented columns
        // the warehouse does not have.
        let mut out: Vec<Value> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let doc = |name: &str| n.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name));
        let col_tests = |name: &str| -> Vec<Value> {
            tests
                .iter()
                .filter(|t| {
                    t["column"]
                        .as_str()
                        .is_some_and(|c| c.trim_matches('"').eq_ignore_ascii_case(name))
                })
                .map(|t| json!({"id": t["id"], "kind": t["kind"], "status": t.pointer("/result/status").cloned().unwrap_or(Value::Null)}))
                .collect()
        };
        if let Some(Value::Object(cols)) =
            catalog_entry(self.catalog, n).and_then(|e| e.get("columns"))
        {
            for (name, c) in cols {
                let d = doc(name);
                out.push(json!({
                    "name": name, "type": c.get("type").cloned().unwrap_or(Value::Null),
                    "description": d.map(|d| markdown_html(&d.description)).unwrap_or_default(),
                    "tags": d.map(|d| d.tags.clone()).unwrap_or_default(),
                    "meta": d.map(|d| d.meta.clone()).unwrap_or_default(),
                    "tests": col_tests(name),
                }));
                seen.push(name.to_lowercase());
            }
        }
        for c in &n.columns {
            if seen.contains(&c.name.to_lowercase()) {
                continue;
            }
            out.push(json!({
                "name": c.name, "type": c.data_type,
                "description": markdown_html(&c.description),
                "tags": c.tags, "meta": c.meta, "tests": col_tests(&c.name),
                "not_in_warehouse": catalog_entry(self.catalog, n).is_some(),
            }));
        }
        out
    }

    fn page(&self, n: &Node) -> Value {
        let tests: Vec<Value> = self
            .tests_of
            .get(n.unique_id.as_str())
            .map(|ts| ts.iter().map(|t| self.test_entry(t)).collect())
            .unwrap_or_default();
        let cat = catalog_entry(self.catalog, n);
        let mut v = json!({
            "description": markdown_html(&n.description),
            "path": n.original_file_path,
            "patch_path": n.patch_path,
            "package": n.package_name,
            "tags": n.tags,
            "meta": n.meta,
            "columns": self.columns(n, &tests),
            "tests": tests,
        });
        let o = v.as_object_mut().expect("object");
        if let Some(r) = self.results.get(&n.unique_id) {
            o.insert("result".into(), r.clone());
        }
        if let Some(owner) = n
            .meta
            .get("owner")
            .or_else(|| n.config.get("meta").and_then(|m| m.get("owner")))
        {
            o.insert("owner".into(), owner.clone());
        }
        match n.resource_type {
            ResourceType::Exposure => {
                let d = &n.definition;
                for k in ["type", "maturity", "url", "label"] {
                    if let Some(x) = d.get(k) {
                        o.insert(k.into(), x.clone());
                    }
                }
                if let Some(owner) = d.get("owner") {
                    o.insert("owner".into(), owner.clone());
                }
            }
            ResourceType::Source => {
                if let Some(s) = &n.source {
                    o.insert(
                        "source".into(),
                        json!({"source_name": s.source_name, "loader": s.loader,
                               "identifier": s.identifier,
                               "loaded_at_field": s.loaded_at_field, "freshness": s.freshness,
                               "source_description": markdown_html(&s.source_description)}),
                    );
                }
                o.insert("relation".into(), json!(n.relation_name()));
            }
            _ => {
                o.insert("relation".into(), json!(n.relation_name()));
                o.insert("materialized".into(), json!(n.materialized()));
                o.insert("raw_code".into(), json!(n.raw_code));
                if let Some(c) = &n.compiled_code {
                    o.insert("compiled_code".into(), json!(c));
                }
                o.insert(
                    "language".into(),
                    n.config.get("language").cloned().unwrap_or(json!("sql")),
                );
            }
        }
        if let Some(c) = cat {
            o.insert(
                "warehouse".into(),
                json!({
                    "type": c.pointer("/metadata/type"),
                    "row_count": c.pointer("/stats/row_count/value"),
                }),
            );
        }
        v
    }
}

/// The site's data: the index value and the shard values (each a map of index -> page).
pub(crate) fn site_data(
    m: &Manifest,
    catalog: &Value,
    run_results: Option<&Value>,
    meta: &ArtifactMeta,
) -> (Value, Vec<Value>) {
    let ctx = Ctx {
        catalog,
        results: last_results(run_results),
        tests_of: tests_of(m),
        semantic: semantic_docs(m),
    };
    let entries = entries(m, &ctx);
    let pos: BTreeMap<&str, usize> = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut types: Vec<&str> = entries.iter().map(|e| e.ty).collect();
    types.sort();
    types.dedup();
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut parents: Vec<usize> = e
                .parents
                .iter()
                .filter_map(|p| pos.get(p.as_str()).copied())
                .collect();
            parents.sort_unstable();
            parents.dedup();
            json!([
                e.id,
                types.iter().position(|t| *t == e.ty).unwrap_or(0),
                e.name,
                e.package,
                e.group,
                snippet(&e.description),
                e.tags.join(" "),
                parents,
            ])
        })
        .collect();
    let overview = m
        .docs
        .get(&format!("doc.{}.__overview__", m.project_name))
        .or_else(|| m.docs.values().find(|d| d.name == "__overview__"))
        .map(|d| markdown_html(&d.block_contents));
    let index = json!({
        "project": {
            "name": m.project_name,
            "adapter_type": m.adapter_type,
            "generated_at": format_ts(&meta.generated_at),
            "invocation_id": meta.invocation_id,
            "overview": overview,
            "has_run_results": run_results.is_some(),
            "has_catalog": catalog.get("nodes").and_then(Value::as_object).is_some_and(|n| !n.is_empty()),
        },
        "shard_size": SHARD_SIZE,
        "types": types,
        "nodes": rows,
    });
    let shards: Vec<Value> = entries
        .par_chunks(SHARD_SIZE)
        .map(|chunk| {
            let pages: Map<String, Value> = chunk
                .iter()
                .map(|e| {
                    let page = match e.node {
                        Some(n) => ctx.page(n),
                        None => {
                            let mut p = ctx.semantic.pages.get(e.id).cloned().unwrap_or(json!({}));
                            p["description"] = json!(markdown_html(&e.description));
                            p["tags"] = json!(e.tags);
                            p
                        }
                    };
                    (pos[e.id].to_string(), page)
                })
                .collect();
            Value::Object(pages)
        })
        .collect();
    (index, shards)
}

/// The tests of each node: generic tests by the node they are attached to, singular tests under
/// every node they read from.
fn tests_of(m: &Manifest) -> BTreeMap<&str, Vec<&Node>> {
    let mut tests_of: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for t in m.nodes.values().map(|n| &**n).chain(m.unit_tests.values()) {
        if !matches!(t.resource_type, ResourceType::Test | ResourceType::UnitTest) {
            continue;
        }
        let mut targets: Vec<&str> = Vec::new();
        if let Some(a) = t.attached_node.as_deref() {
            targets.push(a);
        } else {
            targets.extend(t.depends_on_nodes.iter().map(String::as_str));
        }
        for a in targets {
            tests_of.entry(a).or_default().push(t);
        }
    }
    tests_of
}

/// One documented resource of the site's list.
struct Entry<'a> {
    id: &'a str,
    ty: &'a str,
    name: String,
    package: String,
    /// The folder path the list groups by.
    group: String,
    description: String,
    tags: Vec<String>,
    parents: Vec<String>,
    /// The node, for nodes, sources and exposures (semantic entries have their page made).
    node: Option<&'a Node>,
}

/// Every documented resource, sorted by unique id: nodes, sources and exposures, then semantic
/// models and metrics.
fn entries<'a>(m: &'a Manifest, ctx: &Ctx) -> Vec<Entry<'a>> {
    let mut entries: Vec<Entry> = Vec::new();
    for n in m
        .nodes
        .values()
        .map(|n| &**n)
        .chain(m.sources.values())
        .chain(m.exposures.values())
    {
        if !documented(n) {
            continue;
        }
        let name = match &n.source {
            Some(s) => format!("{}.{}", s.source_name, n.name),
            None => n.name.clone(),
        };
        // fqn without the project and the node's name.
        let group = if n.fqn.len() > 2 {
            n.fqn[1..n.fqn.len() - 1].join("/")
        } else {
            String::new()
        };
        entries.push(Entry {
            id: &n.unique_id,
            ty: n.resource_type.as_str(),
            name,
            package: n.package_name.clone(),
            group,
            description: n.description.clone(),
            tags: n.tags.clone(),
            parents: n.depends_on_nodes.clone(),
            node: Some(n),
        });
    }
    let semantic_models: BTreeMap<&String, &Value> = m.semantic_models.iter().collect();
    for (ids, ty) in [
        (semantic_models, "semantic_model"),
        (m.all_metrics(), "metric"),
    ] {
        for (&id, &v) in ids.iter() {
            let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
            entries.push(Entry {
                id,
                ty,
                name: name.to_string(),
                package: id.split('.').nth(1).unwrap_or_default().to_string(),
                group: String::new(),
                description: ctx
                    .semantic
                    .descriptions
                    .get(id)
                    .cloned()
                    .unwrap_or_default(),
                tags: crate::project::config::str_list(v.get("tags")),
                parents: ctx.semantic.parents.get(id).cloned().unwrap_or_default(),
                node: None,
            });
        }
    }
    entries.sort_by(|a, b| a.id.cmp(b.id));
    entries
}

/// Writes the site into `dir` (created if missing; stale shards of a bigger project removed).
pub(crate) fn write_site(
    dir: &Path,
    m: &Manifest,
    catalog: &Value,
    run_results: Option<&Value>,
    meta: &ArtifactMeta,
) -> std::io::Result<SiteSummary> {
    let (index, shards) = site_data(m, catalog, run_results, meta);
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    for e in std::fs::read_dir(&data)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "js") {
            std::fs::remove_file(&p)?;
        }
    }
    let index_text = format!("sluiceDocs.index({});\n", serde_json::to_string(&index)?);
    write_text(&data.join("index.js"), &index_text)?;
    shards
        .par_iter()
        .enumerate()
        .try_for_each(|(k, s)| -> std::io::Result<()> {
            let text = format!("sluiceDocs.shard({k},{});\n", serde_json::to_string(s)?);
            write_text(&data.join(format!("s{k}.js")), &text)
        })?;
    write_text(&dir.join("app.js"), APP_JS)?;
    write_text(&dir.join("app.css"), APP_CSS)?;
    // The invocation id busts browser caches of the data when the site is regenerated.
    write_text(
        &dir.join("index.html"),
        &INDEX_HTML
            .replace("{{PROJECT}}", &html_escape(&m.project_name))
            .replace("{{VERSION}}", &meta.invocation_id),
    )?;
    Ok(SiteSummary {
        nodes: index["nodes"].as_array().map_or(0, Vec::len),
        shards: shards.len(),
        index_bytes: index_text.len(),
    })
}

/// Text for HTML or XML (element content and double-quoted attributes).
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_tables_and_escapes_html() {
        let html =
            markdown_html("Hello *world*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>x</script>");
        assert!(html.contains("<em>world</em>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn snippets_are_short_plain_text() {
        assert_eq!(snippet("# Title\n\nbody"), "Title");
        assert_eq!(
            snippet("One `row` per\naccount.\n\nMore."),
            "One row per account."
        );
        assert!(snippet(&"word ".repeat(100)).ends_with("..."));
        assert_eq!(snippet(""), "");
    }
}
