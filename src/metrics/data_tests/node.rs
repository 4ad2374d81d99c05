//! The test node of a compiled metric test: its name (kind, metric, arguments, group-by), an id
//! hashed from the definition, the models it reads (also those joined in for a dimension), its
//! config, and for a custom test macro the call of the macro with the metric query.
//!
//! Split from the data tests' `mod.rs` as the last steps of compiling a definition
//! ([`super::build`]): every check of the definition has passed when they run.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{query, slug, Declared, Target, TestMacro, COMMON, CONFIG_KEYS};
use crate::compile::{Node, ResourceType};
use crate::diagnostics::Diagnostic;
use crate::metrics::model::SemanticLayer;

/// The SQL of a test of a custom test macro (the metric query, which the macro receives and
/// turns into the failing rows) and the macro's keyword arguments; names the test after the
/// macro.
pub(super) fn custom_call(
    d: &Declared,
    layer: &SemanticLayer,
    group_by: &[String],
    target: &Target,
    name_parts: &mut [String],
) -> Result<(String, Map<String, Value>), Diagnostic> {
    let metric = d.metric.name.as_str();
    let (q, cols) = query(d, layer, metric, group_by, target)?;
    let mut kwargs = Map::new();
    for (k, v) in &d.args {
        if !COMMON.contains(&k.as_str()) && !CONFIG_KEYS.contains(&k.as_str()) {
            kwargs.insert(k.clone(), v.clone());
        }
    }
    kwargs.insert(
        "group_by".into(),
        Value::Array(
            cols[..cols.len() - 1]
                .iter()
                .cloned()
                .map(Value::String)
                .collect(),
        ),
    );
    kwargs.insert("metric_name".into(), Value::String(metric.to_string()));
    kwargs.insert("metric_query".into(), Value::String(q.clone()));
    let kind = slug(&Value::String(d.kind.clone()));
    name_parts[0] = if kind.starts_with("metric_") {
        kind
    } else {
        format!("metric_{kind}")
    };
    Ok((q, kwargs))
}

/// Adds the models the SQL reads to join in a dimension (`account__segment` from
/// `dim_accounts`).
pub(super) fn joined_models(
    d: crate::sql::Dialect,
    layer: &SemanticLayer,
    sql: &str,
    models: &mut BTreeSet<String>,
) {
    for sm in &layer.semantic_models {
        if let (Some(rel), Some(id)) = (&sm.relation, &sm.depends_on) {
            if sql.contains(&format!(
                "{}.{}",
                d.quote(&rel.schema),
                d.quote(&rel.identifier)
            )) {
                models.insert(id.clone());
            }
        }
    }
}

/// A compiled definition, ready to become a node.
pub(super) struct Compiled<'t> {
    pub(super) sql: String,
    /// The parts of the test's default name, joined with `_`.
    pub(super) name_parts: Vec<String>,
    /// The unique ids of the models it reads.
    pub(super) models: BTreeSet<String>,
    pub(super) config: Map<String, Value>,
    pub(super) tags: Vec<String>,
    /// A custom test macro and the keyword arguments it is called with.
    pub(super) custom: Option<(&'t TestMacro, Map<String, Value>)>,
}

/// The test node of a compiled definition.
pub(super) fn node(d: &Declared, target: &Target, compiled: Compiled) -> Node {
    let Compiled {
        sql,
        name_parts,
        models,
        config,
        tags,
        custom,
    } = compiled;
    let metric = d.metric.name.as_str();
    let name = match d.args.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => name_parts.join("_"),
    };
    let hash = {
        use md5::{Digest, Md5};
        let def = serde_json::json!({"metric": metric, "kind": d.kind, "args": d.args});
        let h = Md5::digest(def.to_string().as_bytes());
        crate::project::lower_hex(&h)[..10].to_string()
    };
    let pkg = target.package;
    let mut node = Node::new(
        format!("test.{pkg}.{name}.{hash}"),
        ResourceType::Test,
        name.clone(),
        pkg.to_string(),
    );
    node.alias = config
        .get("alias")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| name.clone());
    node.path = format!("{}.sql", node.alias);
    node.original_file_path = d.file.original_file_path.clone();
    node.patch_path = None;
    node.fqn = vec![
        pkg.to_string(),
        "metrics".into(),
        metric.to_string(),
        name.clone(),
    ];
    node.database = target.database.to_string();
    node.schema = format!("{}_dbt_test__audit", target.schema);
    node.raw_code = sql;
    node.checksum = crate::project::FileHash::sha256(hash.clone());
    node.tags = tags;
    node.config = std::sync::Arc::new(config.into());
    node.file_key_name = Some(format!("metrics.{metric}"));
    node.depends_on_nodes = models.into_iter().collect();
    node.depends_on_nodes.push(format!("metric.{pkg}.{metric}"));
    node.definition = serde_json::json!({
        "metric_test": {"metric": metric, "kind": d.kind, "args": d.args}
    });
    if let Some((m, kwargs)) = custom {
        // Rendered like a generic test: the macro called with these kwargs.
        let namespace = (m.package != target.package).then(|| m.package.clone());
        node.raw_code = match &namespace {
            Some(ns) => format!("{{{{ {ns}.test_{}(**_dbt_generic_test_kwargs) }}}}", m.name),
            None => format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", m.name),
        };
        node.depends_on_macros = vec![m.unique_id.clone()];
        node.test_metadata = Some(crate::compile::TestMetadata {
            name: m.name.clone(),
            namespace,
            kwargs,
        });
    }
    node
}
