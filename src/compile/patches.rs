//! Properties entries applied to the nodes they describe: description, `meta`, `config:`,
//! columns (with constraints, granularity and rendered `{{ doc() }}` descriptions), and for models
//! `deprecation_date`, `time_spine`, `constraints` and a top-level `access:`; and the rule by which
//! a package's entry describes another package's same-named node when its own is disabled.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::configs::{merge_into, package_cfg};
use super::doc_calls::doc_calls;
use super::nodes::*;
use super::paths::{file_stem, fqn};
use super::properties::{entry_config, node_entry_config, Entry, Properties};
use super::versions::{normalize_deprecation_date, Versions};
use super::yaml_values::{rendered_map, rendered_text};
use crate::project::config::str_list;
use crate::project::config::ConfigTree;
use crate::project::{FileKind, Project};

/// A properties entry of another package for a model, seed or snapshot `name` of `pkg` that has
/// none of its own: dbt applies a package's patch to the same-named node of another package when
/// the package's own node is missing or disabled (e.g. a package documents a seed that the root
/// project provides instead of the package's, disabled, one).
pub(super) fn foreign_entry<'a>(
    root: &Project,
    all_props: &'a [(&Project, Properties<'a>, Versions)],
    pkg: &str,
    rtype: ResourceType,
    name: &str,
) -> Option<Entry<'a>> {
    for (p, props, _) in all_props {
        if p.config.name == pkg {
            continue;
        }
        let entries = match rtype {
            ResourceType::Model => &props.models,
            ResourceType::Seed => &props.seeds,
            ResourceType::Snapshot => &props.snapshots,
            _ => return None,
        };
        let Some(entry) = entries.get(name) else {
            continue;
        };
        if entry_config(entry.value).get("enabled") == Some(&Value::Bool(false)) {
            continue;
        }
        // The package's own node of that name, if it has one, must be disabled by the project
        // configs.
        let own_paths: Vec<&String> = match rtype {
            ResourceType::Seed => p
                .seed_files
                .iter()
                .map(|f| &f.path)
                .filter(|path| file_stem(path) == name)
                .collect(),
            _ => p
                .sql_files
                .iter()
                .filter(|f| {
                    f.kind
                        == match rtype {
                            ResourceType::Model => FileKind::Model,
                            _ => FileKind::Snapshot,
                        }
                })
                .map(|f| &f.path)
                .filter(|path| file_stem(path) == name)
                .collect(),
        };
        let disabled = own_paths.iter().all(|path| {
            let fqn = fqn(&p.config.name, path, &[name]);
            let cfg = package_cfg(root, p, tree_of(&p.config, rtype), &fqn, |c| {
                tree_of(c, rtype)
            });
            cfg.get("enabled") == Some(&Value::Bool(false))
        });
        if disabled {
            return Some(*entry);
        }
    }
    None
}

fn tree_of(c: &crate::project::ProjectConfig, rtype: ResourceType) -> &ConfigTree {
    match rtype {
        ResourceType::Seed => &c.seeds,
        ResourceType::Snapshot => &c.snapshots,
        _ => &c.models,
    }
}

/// Applies a properties entry (description, columns, config, docs) to a node.
pub(super) fn apply_entry(node: &mut Node, entry: &Entry, docs: &DocsLookup) {
    node.patch_path = Some(format!("{}://{}", node.package_name, entry.file));
    let package = node.package_name.clone();
    (node.description, node.doc_blocks) =
        docs.render(entry.str("description").unwrap_or(""), &package);
    if let Some(Value::Object(meta)) = entry.value.get("meta") {
        node.meta = super::yaml_values::rendered_map(meta);
    }
    let entry_cfg: Map<String, Value> = node_entry_config(entry.value)
        .iter()
        .map(|(k, v)| (k.clone(), super::yaml_values::without_last_line_break(v)))
        .collect();
    merge_into(&mut node.config, &entry_cfg);
    if let Some(Value::Object(c)) = entry.value.get("config") {
        super::configs::add_unrendered(&mut node.unrendered_config, c);
        node.rendered_entry_keys = c
            .iter()
            .map(|(k, v)| (crate::project::config::normalize_key(k), v))
            // (Merged keys aside: their config value is not the entry's alone.)
            .filter(|(k, v)| {
                !matches!(*k, "tags" | "meta" | "pre-hook" | "post-hook")
                    && super::yaml_values::value_needs_render(v)
            })
            .map(|(k, _)| k.to_string())
            .collect();
    }
    // Top-level `meta` and `docs` join the config dbt records as its renderer leaves them
    // (after `config:`).
    for k in ["meta", "docs"] {
        if let Some(Value::Object(v)) = entry.value.get(k) {
            let v = rendered_map(v);
            match node.unrendered_config.get_mut(k) {
                Some(Value::Object(prev)) => prev.extend(v),
                _ => {
                    node.unrendered_config
                        .insert(k.to_string(), Value::Object(v));
                }
            }
        }
    }
    node.columns = columns_of(entry.value, docs, &package);
    if node.resource_type == ResourceType::Model {
        // Checked when the versions were collected: an invalid date is reported there.
        node.deprecation_date = entry
            .value
            .get("deprecation_date")
            .and_then(|d| normalize_deprecation_date(d).ok().flatten());
        if let Some(Value::Array(list)) = entry.value.get("constraints") {
            node.constraints = list
                .iter()
                .map(|c| {
                    let mut out = column_constraint(c);
                    out["columns"] = c.get("columns").cloned().unwrap_or(Value::Array(vec![]));
                    out
                })
                .collect();
        }
        if let Some(Value::Object(ts)) = entry.value.get("time_spine") {
            let custom: Vec<Value> = match ts.get("custom_granularities") {
                Some(Value::Array(c)) => c
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "name": g.get("name"),
                            "column_name": g.get("column_name"),
                        })
                    })
                    .collect(),
                _ => vec![],
            };
            node.time_spine = Some(serde_json::json!({
                "standard_granularity_column": ts.get("standard_granularity_column"),
                "custom_granularities": custom,
            }));
        }
        // The top-level `access:` of a model; its `config: access:` wins.
        if let Some(Value::String(a)) = entry.value.get("access") {
            let own = entry
                .value
                .get("config")
                .and_then(|c| c.get("access"))
                .is_some();
            if !own {
                node.config_mut()
                    .insert("access".into(), Value::String(a.clone()));
            }
        }
    }
}

/// The documented columns of a properties entry (`columns:`), descriptions rendered.
pub(super) fn columns_of(
    entry: &Map<String, Value>,
    docs: &DocsLookup,
    package: &str,
) -> Vec<ColumnDef> {
    let Some(Value::Array(cols)) = entry.get("columns") else {
        return vec![];
    };
    // (Room for every column at once: a column is 320 bytes, and growing the list moved them.)
    let mut out = Vec::with_capacity(cols.len());
    out.extend(cols.iter().filter_map(|c| {
        let Value::Object(c) = c else { return None };
        // The entry's keys read in one pass (a column has a dozen at most; looking each
        // known key up hashed it, for every column of every model).
        let mut known: [Option<&Value>; COLUMN_KEYS.len()] = [None; COLUMN_KEYS.len()];
        let mut extra = Map::new();
        for (k, v) in c {
            match COLUMN_KEYS.iter().position(|known| known == k) {
                Some(i) => known[i] = Some(v),
                // Keys dbt does not know are kept as written, after the others.
                None => {
                    extra.insert(k.clone(), rendered_text(v));
                }
            }
        }
        let get = |key: &str| {
            let i = COLUMN_KEYS.iter().position(|known| *known == key)?;
            known[i]
        };
        let name = get("name").and_then(Value::as_str)?;
        let description = get("description").and_then(Value::as_str);
        let (description, doc_blocks) = docs.render(description.unwrap_or(""), package);
        // `config:` meta and tags join the column's own (dbt 1.10): the config's meta
        // keys win, tags are kept once each.
        let config = get("config").and_then(Value::as_object);
        // (Rendered as dbt renders properties: text loses its last line break.)
        let mut meta = get("meta")
            .and_then(Value::as_object)
            .map(rendered_map)
            .unwrap_or_default();
        if let Some(Value::Object(m)) = config.and_then(|c| c.get("meta")) {
            meta.extend(rendered_map(m));
        }
        let mut tags = str_list(get("tags"));
        for t in str_list(config.and_then(|c| c.get("tags"))) {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Some(ColumnDef {
            name: name.to_string(),
            description,
            doc_blocks,
            data_type: get("data_type").and_then(Value::as_str).map(str::to_string),
            meta,
            tags,
            quote: get("quote").and_then(Value::as_bool),
            constraints: match get("constraints") {
                Some(Value::Array(list)) => list.iter().map(column_constraint).collect(),
                _ => vec![],
            },
            granularity: get("granularity")
                .and_then(Value::as_str)
                .map(str::to_string),
            extra,
        })
    }));
    out
}

/// A column's constraint as dbt writes it: every field, with its defaults.
fn column_constraint(c: &Value) -> Value {
    let get = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
    let flag = |k: &str| c.get(k).cloned().unwrap_or(Value::Bool(true));
    serde_json::json!({
        "type": get("type"),
        "name": get("name"),
        "expression": get("expression"),
        "warn_unenforced": flag("warn_unenforced"),
        "warn_unsupported": flag("warn_unsupported"),
        "to": get("to"),
        "to_columns": c.get("to_columns").cloned().unwrap_or(Value::Array(vec![])),
    })
}

/// The docs blocks of a parse, and the root project's name: what a description's `doc()` calls
/// resolve with.
pub(crate) struct DocsLookup<'a> {
    pub(crate) blocks: &'a BTreeMap<String, DocBlock>,
    pub(crate) root: &'a str,
}

impl DocsLookup<'_> {
    /// The block `doc(name)` (or `doc(package, name)`) in a node of `node_package` names, as
    /// dbt's `resolve_doc` finds it: the package named, else the root project's block, the
    /// node's package's, then any package's.
    fn resolve(&self, package: Option<&str>, name: &str, node_package: &str) -> Option<&DocBlock> {
        let of = |p: &str| self.blocks.get(&format!("doc.{p}.{name}"));
        match package {
            Some(p) => of(p),
            None => of(self.root)
                .or_else(|| of(node_package))
                .or_else(|| self.blocks.values().find(|d| d.name == name)),
        }
    }

    /// A description with each `{{ doc(..) }}` replaced by its block's text, and the ids of the
    /// blocks it calls, in order (dbt's `doc_blocks`).
    pub(crate) fn render(&self, text: &str, node_package: &str) -> (String, Vec<String>) {
        let mut ids = Vec::new();
        let rendered = render_docs_with(text, |package, name| {
            let block = self.resolve(package, name, node_package)?;
            ids.push(block.unique_id.clone());
            Some(block.block_contents.as_str())
        });
        (rendered, ids)
    }
}

/// A description with each `{{ doc(..) }}` replaced by the text `block` finds for its package
/// (when the call names one) and name, in order.
pub(crate) fn render_docs_with<'d>(
    text: &str,
    mut block: impl FnMut(Option<&str>, &str) -> Option<&'d str>,
) -> String {
    // dbt renders a text holding Jinja, and Jinja drops one line break ending the text.
    let has_jinja = ["{{", "{%", "{#", "#}", "%}", "}}"]
        .iter()
        .any(|m| text.contains(m));
    let text = match has_jinja {
        true => text.strip_suffix('\n').unwrap_or(text),
        false => text,
    };
    if !text.contains("doc(") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for call in doc_calls(text) {
        out.push_str(&text[done..call.range.start]);
        out.push_str(block(call.package, call.name).unwrap_or_default());
        done = call.range.end;
    }
    out.push_str(&text[done..]);
    out
}

/// The names of the docs blocks `text`'s `{{ doc(..) }}` calls name, in order.
pub(crate) fn doc_names(text: &str) -> impl Iterator<Item = &str> {
    doc_calls(text).map(|c| c.name)
}

/// Applies each project's `macros:` properties entries to its macros (as dbt patches them):
/// `description` (with `doc()` rendered), `meta`, `docs`, `arguments` (each with `name`, `type`
/// and `description`) and the `patch_path` of the file. With the root project's
/// `validate_macro_args` flag, a macro no entry gives `arguments` has its signature's.
pub(super) fn patch_macros<'a>(
    all_props: impl Iterator<Item = (&'a Project, &'a Properties<'a>)>,
    macros: &mut BTreeMap<String, crate::templating::MacroDef>,
    docs: &DocsLookup,
    signature_arguments: bool,
) {
    if signature_arguments {
        for def in macros.values_mut() {
            let arguments: Vec<Value> = def
                .arguments
                .iter()
                .map(|a| serde_json::json!({"name": a, "type": null, "description": ""}))
                .collect();
            let mut out = Map::new();
            out.insert("arguments".into(), Value::Array(arguments));
            def.properties = Some(out);
        }
    }
    for (proj, props) in all_props {
        let pkg = &proj.config.name;
        for (name, entry) in &props.macros {
            let Some(def) = macros.get_mut(&format!("macro.{pkg}.{name}")) else {
                continue;
            };
            let (description, _) = docs.render(entry.str("description").unwrap_or(""), pkg);
            let mut out = Map::new();
            out.insert("description".into(), Value::String(description));
            let mut meta = entry
                .value
                .get("meta")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Object(m)) = entry.value.get("config").and_then(|c| c.get("meta")) {
                meta.extend(m.clone());
            }
            out.insert("meta".into(), Value::Object(meta));
            let mut shown = Map::new();
            shown.insert("show".into(), Value::Bool(true));
            shown.insert("node_color".into(), Value::Null);
            if let Some(Value::Object(d)) = entry.value.get("docs") {
                shown.extend(d.clone());
            }
            out.insert("docs".into(), Value::Object(shown));
            out.insert(
                "patch_path".into(),
                Value::String(format!("{pkg}://{}", entry.file)),
            );
            let arguments: Vec<Value> = match entry.value.get("arguments") {
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|a| {
                        let get = |k: &str| a.get(k).cloned();
                        serde_json::json!({
                            "name": get("name").unwrap_or(Value::Null),
                            "type": get("type").unwrap_or(Value::Null),
                            "description": get("description").unwrap_or(Value::from("")),
                        })
                    })
                    .collect(),
                _ => vec![],
            };
            if !arguments.is_empty() || !signature_arguments {
                out.insert("arguments".into(), Value::Array(arguments));
            } else if let Some(from_signature) =
                def.properties.as_ref().and_then(|p| p.get("arguments"))
            {
                out.insert("arguments".into(), from_signature.clone());
            }
            def.properties = Some(out);
        }
    }
}
