//! Source nodes from properties YAML: one node per `sources:` table, with the source's and the
//! table's config, quoting, freshness and columns merged as dbt merges them. Split out of parse
//! because building them needs only the properties YAML and the config trees, never a render.

use serde_json::Value;

use super::configs::package_cfgs;
use super::nodes::*;
use super::patches::{columns_of, DocsLookup};
use super::paths::{fqn, relative_to_resource};
use super::properties::{entry_config, Entry};
use crate::diagnostics::{Code, Diagnostic};
use crate::project::config::merge;
use crate::project::config::str_list;
use crate::project::{Project, Target};

pub(super) fn source_nodes(
    entry: &Entry,
    pkg: &str,
    (root, project): (&Project, &Project),
    target: &Target,
    docs: &DocsLookup,
) -> Result<Vec<Node>, Diagnostic> {
    let src_name = entry.name().to_string();
    let rel_path = relative_to_resource(entry.file, project);
    let src_cfg = entry_config(entry.value);
    let mut out = Vec::new();
    let tables = match entry.value.get("tables") {
        Some(Value::Array(t)) => t.clone(),
        None | Some(Value::Null) => vec![],
        Some(_) => {
            return Err(Diagnostic::error(
                Code::Yaml,
                format!("`tables:` of source `{src_name}` must be a list"),
            )
            .in_file(entry.file))
        }
    };
    for t in tables {
        let Value::Object(tm) = t else { continue };
        let tname = tm
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if tname.is_empty() {
            return Err(Diagnostic::error(
                Code::Yaml,
                format!("a table of source `{src_name}` has no `name`"),
            )
            .in_file(entry.file));
        }
        let fqn = fqn(pkg, &rel_path, &[src_name.as_str(), tname.as_str()]);
        let mut node = Node::new(
            format!("source.{pkg}.{src_name}.{tname}"),
            ResourceType::Source,
            tname.clone(),
            pkg.to_string(),
        );
        node.original_file_path = entry.file.to_string();
        node.path = entry.file.to_string();
        node.fqn = fqn.clone();
        let mut config =
            serde_json::json!({"enabled": true, "event_time": null, "freshness": null})
                .as_object()
                .cloned()
                .unwrap_or_default();
        let (project_cfg, project_unrendered) =
            package_cfgs(root, project, &project.config.sources, &fqn, |c| &c.sources);
        merge(&mut config, &project_cfg);
        merge(&mut config, &src_cfg);
        merge(&mut config, &entry_config(&tm));
        // Tags and meta as dbt's source parser settles them: the source's (top-level and
        // `config:`) and the table's together (tags sorted, once each; meta keys, later ones
        // winning). They replace the project's tags (a source's config does not append them)
        // and update its meta.
        let (own_tags, own_meta) = source_tags_and_meta(entry.value, &tm);
        let mut meta = match project_cfg.get("meta") {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        meta.extend(own_meta.clone());
        config.insert("tags".into(), Value::from(own_tags.clone()));
        config.insert("meta".into(), Value::Object(meta.clone()));
        // `quoting:` of the source, then of the table, key by key.
        let mut quoting = serde_json::Map::new();
        for q in [entry.value.get("quoting"), tm.get("quoting")] {
            if let Some(Value::Object(q)) = q {
                quoting.extend(q.clone());
            }
        }
        if !quoting.is_empty() {
            config.insert("quoting".into(), Value::Object(quoting));
        }
        node.config = std::sync::Arc::new(config.into());
        let description = tm.get("description").and_then(Value::as_str);
        (node.description, node.doc_blocks) = docs.render(description.unwrap_or(""), pkg);
        node.tags = own_tags.clone();
        node.meta = meta;
        let identifier = tm
            .get("identifier")
            .and_then(Value::as_str)
            .unwrap_or(&tname)
            .to_string();
        node.database = tm
            .get("database")
            .or(entry.value.get("database"))
            .or(entry.value.get("catalog"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| target.database.clone());
        node.schema = entry
            .value
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or(&src_name)
            .to_string();
        node.alias = identifier.clone();
        node.columns = columns_of(&tm, docs, pkg);
        let (loaded_at_field, loaded_at_query) = loaded_at(entry.value, &tm);
        node.config_mut()
            .insert("loaded_at_field".into(), loaded_at_field.clone().into());
        node.config_mut()
            .insert("loaded_at_query".into(), loaded_at_query.clone().into());
        node.source = Some(Box::new(SourceInfo {
            source_name: src_name.clone(),
            source_description: docs.render(entry.str("description").unwrap_or(""), pkg).0,
            loader: entry.str("loader").unwrap_or("").to_string(),
            identifier,
            loaded_at_field,
            loaded_at_query,
            freshness: Value::Null,
            source_meta: entry
                .value
                .get("meta")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            unrendered_database: entry.str("database").map(str::to_string),
            unrendered_schema: entry.str("schema").map(str::to_string),
        }));
        // The thresholds the schema file sets (source, its config, table, its config) win over
        // the project's `sources:` config; without any, that config's (or none) applies.
        let cfg_of = |m: &serde_json::Map<String, Value>| -> Option<Value> {
            m.get("config").and_then(|c| c.get("freshness")).cloned()
        };
        let levels = [
            entry.value.get("freshness").cloned(),
            cfg_of(entry.value),
            tm.get("freshness").cloned(),
            cfg_of(&tm),
        ];
        // `unrendered_config` in dbt's order: the project's as written, the source's and the
        // table's `config:` as written, the freshness the schema file sets (`null` when a level
        // clears it), then where it is loaded from (as resolved), `meta` and `tags`.
        node.unrendered_config = project_unrendered;
        for c in [entry.value.get("config"), tm.get("config")] {
            if let Some(Value::Object(c)) = c {
                super::configs::add_unrendered(&mut node.unrendered_config, c);
            }
        }
        let freshness = match merge_source_freshness(&levels) {
            Some(f) => {
                node.unrendered_config.insert("freshness".into(), f.clone());
                f
            }
            None => node.config.get("freshness").cloned().unwrap_or(Value::Null),
        };
        let (field, query) = node
            .source
            .as_ref()
            .map(|s| (s.loaded_at_field.clone(), s.loaded_at_query.clone()))
            .unwrap_or_default();
        for (k, v) in [
            ("loaded_at_field", Value::from(field)),
            ("loaded_at_query", Value::from(query)),
        ] {
            node.unrendered_config.entry(k).or_insert(v);
        }
        node.unrendered_config
            .insert("meta".into(), Value::Object(own_meta));
        node.unrendered_config
            .insert("tags".into(), Value::from(own_tags));
        node.config_mut()
            .insert("freshness".into(), freshness.clone());
        if let Some(src) = node.source.as_mut() {
            src.freshness = freshness;
        }
        node.definition = Value::Object(tm.clone());
        if node.is_enabled() {
            out.push(node);
        }
    }
    Ok(out)
}

/// A source table's own tags and meta, as dbt's source parser merges them from the source's
/// `tags:` / `meta:`, its `config:`'s, the table's, and the table's `config:`'s: the tags sorted
/// and once each, the meta keys merged in that order.
fn source_tags_and_meta(
    source: &serde_json::Map<String, Value>,
    table: &serde_json::Map<String, Value>,
) -> (Vec<String>, serde_json::Map<String, Value>) {
    let config = |m: &serde_json::Map<String, Value>, k: &str| -> Option<Value> {
        m.get("config").and_then(|c| c.get(k)).cloned()
    };
    let levels = [
        (source.get("tags").cloned(), source.get("meta").cloned()),
        (config(source, "tags"), config(source, "meta")),
        (table.get("tags").cloned(), table.get("meta").cloned()),
        (config(table, "tags"), config(table, "meta")),
    ];
    let mut tags = Vec::new();
    let mut meta = serde_json::Map::new();
    for (t, m) in levels {
        tags.extend(str_list(t.as_ref()));
        if let Some(Value::Object(m)) = m {
            meta.extend(m);
        }
    }
    tags.sort();
    tags.dedup();
    (tags, meta)
}

/// Which column (or query) tells a source table's freshness, as dbt decides it: the table's own
/// `loaded_at_field` / `loaded_at_query` (top-level or under `config:`) when it sets either, even
/// to `null`, else the source's. A table setting `loaded_at_field` stops the source's query.
fn loaded_at(
    source: &serde_json::Map<String, Value>,
    table: &serde_json::Map<String, Value>,
) -> (Option<String>, Option<String>) {
    let get = |m: &serde_json::Map<String, Value>, key: &str| -> Option<String> {
        let top = m.get(key).and_then(Value::as_str);
        let cfg = m
            .get("config")
            .and_then(|c| c.get(key))
            .and_then(Value::as_str);
        top.or(cfg).filter(|s| !s.is_empty()).map(str::to_string)
    };
    let sets = |m: &serde_json::Map<String, Value>, key: &str| {
        m.contains_key(key)
            || m.get("config")
                .and_then(Value::as_object)
                .is_some_and(|c| c.get(key).is_some_and(|v| !v.is_null()))
    };
    let field = if sets(table, "loaded_at_field") {
        get(table, "loaded_at_field")
    } else {
        get(source, "loaded_at_field")
    };
    let query = if get(table, "loaded_at_query").is_some() {
        get(table, "loaded_at_query")
    } else if table.contains_key("loaded_at_field") {
        None
    } else {
        get(source, "loaded_at_query")
    };
    (field, query)
}

/// dbt's `merge_source_freshness` over the levels a schema file may set freshness at, in order
/// (a missing level changes nothing, `null` clears it, a threshold set later wins per field).
/// `None` when no level sets anything.
fn merge_source_freshness(levels: &[Option<Value>]) -> Option<Value> {
    let is_set = |t: Option<&Value>| {
        t.is_some_and(|t| {
            !t.get("count").unwrap_or(&Value::Null).is_null()
                && !t.get("period").unwrap_or(&Value::Null).is_null()
        })
    };
    let time = |t: Option<&Value>| -> Value {
        let get = |k: &str| t.and_then(|t| t.get(k)).cloned().unwrap_or(Value::Null);
        serde_json::json!({"count": get("count"), "period": get("period")})
    };
    let mut state: Option<Value> = None;
    for level in levels.iter().flatten() {
        let Value::Object(update) = level else {
            state = Some(Value::Null);
            continue;
        };
        let truthy = ["warn_after", "error_after"]
            .iter()
            .any(|k| is_set(update.get(*k)));
        let base = match &state {
            Some(Value::Null) if !truthy => continue,
            Some(Value::Null) | None => None,
            Some(b) => Some(b.clone()),
        };
        let mut out = serde_json::Map::new();
        for k in ["warn_after", "error_after"] {
            let b = base
                .as_ref()
                .and_then(|b| b.get(k))
                .filter(|v| !v.is_null());
            let v = match update.get(k) {
                Some(Value::Null) => Value::Null,
                u if is_set(u) => match b {
                    Some(b) if is_set(Some(b)) => {
                        let mut m = b.as_object().cloned().unwrap_or_default();
                        for (mk, mv) in u.and_then(Value::as_object).into_iter().flatten() {
                            if !mv.is_null() {
                                m.insert(mk.clone(), mv.clone());
                            }
                        }
                        time(Some(&Value::Object(m)))
                    }
                    _ => time(u),
                },
                _ => match b {
                    Some(b) => time(Some(b)),
                    None => base.as_ref().map_or_else(|| time(None), |_| Value::Null),
                },
            };
            out.insert(k.into(), v);
        }
        let filter = update
            .get("filter")
            .filter(|f| !f.is_null())
            .or_else(|| base.as_ref().and_then(|b| b.get("filter")))
            .cloned()
            .unwrap_or(Value::Null);
        out.insert("filter".into(), filter);
        state = Some(Value::Object(out));
    }
    state
}

#[cfg(test)]
mod tests {
    use super::merge_source_freshness;
    use serde_json::json;

    #[test]
    fn source_freshness_levels_merge_as_dbt_merges_them() {
        let hour = json!({"warn_after": {"count": 12, "period": "hour"}});
        let got = merge_source_freshness(&[None, Some(hour.clone()), None, None]).unwrap();
        assert_eq!(
            got,
            json!({"warn_after": {"count": 12, "period": "hour"},
                   "error_after": {"count": null, "period": null}, "filter": null})
        );
        let table = json!({"error_after": {"count": 1, "period": "day"}});
        let got = merge_source_freshness(&[Some(hour), None, Some(table), None]).unwrap();
        assert_eq!(got["warn_after"]["count"], 12);
        assert_eq!(got["error_after"]["period"], "day");
        let cleared = merge_source_freshness(&[
            Some(json!({"warn_after": {"count": 1, "period": "day"}})),
            None,
            Some(json!(null)),
            None,
        ]);
        assert_eq!(cleared, Some(json!(null)));
        assert_eq!(merge_source_freshness(&[None, None, None, None]), None);
    }
}
