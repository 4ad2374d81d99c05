//! Source nodes from properties YAML: one node per `sources:` table, with the source's and the
//! table's config, quoting, freshness and columns merged as dbt merges them. Split out of parse
//! because building them needs only the properties YAML and the config trees, never a render.

use std::collections::BTreeMap;

use serde_json::Value;

use super::nodes::*;
use super::parse::{columns_of, dirs_of, package_cfg, relative_to_resource, render_docs, str_list};
use super::properties::{entry_config, Entry};
use crate::diagnostics::Diagnostic;
use crate::project::config::merge;
use crate::project::{Project, Target};

pub(super) fn source_nodes(
    entry: &Entry,
    pkg: &str,
    (root, project): (&Project, &Project),
    target: &Target,
    docs: &BTreeMap<String, DocBlock>,
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
                "yaml",
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
                "yaml",
                format!("a table of source `{src_name}` has no `name`"),
            )
            .in_file(entry.file));
        }
        let mut fqn = vec![pkg.to_string()];
        fqn.extend(dirs_of(&rel_path));
        fqn.push(src_name.clone());
        fqn.push(tname.clone());
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
        merge(
            &mut config,
            &package_cfg(root, project, &project.config.sources, &fqn, |c| &c.sources),
        );
        merge(&mut config, &src_cfg);
        merge(&mut config, &entry_config(&tm));
        node.config = config.into();
        node.description = render_docs(
            tm.get("description").and_then(Value::as_str).unwrap_or(""),
            docs,
        );
        node.tags = {
            let mut t = str_list(entry.value.get("tags"));
            for x in str_list(tm.get("tags")) {
                if !t.contains(&x) {
                    t.push(x);
                }
            }
            t
        };
        node.meta = tm
            .get("meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
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
        node.columns = columns_of(&tm, docs);
        node.source = Some(SourceInfo {
            source_name: src_name.clone(),
            source_description: render_docs(entry.str("description").unwrap_or(""), docs),
            loader: entry.str("loader").unwrap_or("").to_string(),
            identifier,
            loaded_at_field: tm
                .get("loaded_at_field")
                .or(entry.value.get("loaded_at_field"))
                .and_then(Value::as_str)
                .map(str::to_string),
            freshness: tm
                .get("freshness")
                .or(entry.value.get("freshness"))
                .cloned()
                .unwrap_or(Value::Null),
            source_meta: entry
                .value
                .get("meta")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        });
        node.definition = Value::Object(tm.clone());
        if node.is_enabled() {
            out.push(node);
        }
    }
    Ok(out)
}
