//! A node's relation and the node as parse-phase templates see it: [`node_info`] (the `NodeInfo`
//! a parse-phase render gets) and [`name_relation`], which sets database, schema and alias
//! through `generate_schema_name` & friends. Shared by `parse`, generic tests and the rendering of
//! YAML values.

use std::sync::Arc;

use super::nodes::*;
use super::resolve::ParseServices;
use crate::diagnostics::Diagnostic;
use crate::project::Target;
use crate::templating::{NodeInfo, Phase, RenderCtx, Templates};

/// The node as a render sees it (`this` is its relation, for nodes that have one).
pub(crate) fn render_node_info(node: &Node) -> NodeInfo {
    NodeInfo {
        unique_id: node.unique_id.clone(),
        name: node.name.clone(),
        package: node.package_name.clone(),
        resource_type: node.resource_type.as_str().to_string(),
        original_file_path: node.original_file_path.clone(),
        config: node.config.clone(),
        this: match node.resource_type {
            ResourceType::Model
            | ResourceType::Seed
            | ResourceType::Snapshot
            | ResourceType::Test => Some(node.relation()),
            _ => None,
        },
    }
}

/// The node as a parse-phase render sees it: as at render time, except that `this` is the
/// node's name in the target's schema (its own database and schema are not resolved yet).
pub(super) fn node_info(node: &Node, target: &Target) -> NodeInfo {
    NodeInfo {
        this: Some(crate::sql::Relation::new(
            target.database.clone(),
            target.schema.clone(),
            node.name.clone(),
        )),
        ..render_node_info(node)
    }
}

/// Sets database, schema and alias from config through the naming macros (natively when the
/// project does not override them).
pub(super) fn name_relation(
    node: &mut Node,
    target: &Target,
    templates: &Templates,
    services: &Arc<ParseServices>,
) -> Result<(), Diagnostic> {
    let n = &*node;
    let named = Naming {
        name: &n.name,
        package: &n.package_name,
        context: || {
            let as_argument = serde_json::json!({
                "name": n.name, "unique_id": n.unique_id, "resource_type": n.resource_type.as_str(),
                "package_name": n.package_name, "fqn": n.fqn, "path": n.path,
                "original_file_path": n.original_file_path, "config": n.config, "tags": n.tags,
                "version": n.version,
            });
            (node_info(n, target), as_argument)
        },
        custom: ["schema", "alias", "database"].map(|k| n.config_str(k)),
        version: n.version.as_deref(),
    }
    .relation(target, templates, services)?;
    [node.database, node.schema, node.alias] = named;
    Ok(())
}

/// What the naming macros (`generate_schema_name` & friends) are given of a node: its name and
/// package, its custom schema, alias and database, its version, and (made only when the project
/// overrides one of them, since most do not and a large project names tens of thousands of
/// nodes) the node as a render sees it and as their `node` argument, by `context`. Borrowed, so
/// that naming a node allocates nothing it does not return.
pub(crate) struct Naming<'a, F> {
    pub(crate) name: &'a str,
    pub(crate) package: &'a str,
    pub(crate) context: F,
    pub(crate) custom: [Option<&'a str>; 3],
    pub(crate) version: Option<&'a str>,
}

impl<F: FnOnce() -> (NodeInfo, serde_json::Value)> Naming<'_, F> {
    /// The node's database, schema and alias, through the naming macros (natively when the
    /// project does not override them).
    pub(crate) fn relation(
        self,
        target: &Target,
        templates: &Templates,
        services: &Arc<ParseServices>,
    ) -> Result<[String; 3], Diagnostic> {
        let [custom_schema, custom_alias, custom_db] = self.custom;
        let overridden = [
            "generate_schema_name",
            "generate_alias_name",
            "generate_database_name",
        ]
        .map(|name| templates.index.naming_overridden(name, self.package));
        let make = self.context;
        let context = std::cell::LazyCell::new(move || {
            let (info, node) = make();
            (info, minijinja::Value::from_serialize(&node))
        });
        let call = |name: &str, arg: Option<&str>| -> Result<String, Diagnostic> {
            let (info, node_val) = &*context;
            let ctx = Arc::new(RenderCtx::new(Phase::Parse, info.clone(), services.clone()));
            let arg = arg
                .map(minijinja::Value::from)
                .unwrap_or(minijinja::Value::from(()));
            let v = templates.call_macro(name, vec![arg, node_val.clone()], &ctx)?;
            Ok(v.to_string().trim().to_string())
        };
        let schema = if overridden[0] {
            call("generate_schema_name", custom_schema)?
        } else {
            match custom_schema {
                Some(s) => format!("{}_{}", target.schema, s.trim()),
                None => target.schema.clone(),
            }
        };
        let alias = if overridden[1] {
            call("generate_alias_name", custom_alias)?
        } else {
            match custom_alias {
                Some(a) => a.trim().to_string(),
                None => match self.version {
                    Some(v) => format!("{}_v{}", self.name, v.replace('.', "_")),
                    None => self.name.to_string(),
                },
            }
        };
        let database = if overridden[2] {
            call("generate_database_name", custom_db)?
        } else {
            custom_db.map_or_else(|| target.database.clone(), str::to_string)
        };
        Ok([database, schema, alias])
    }
}
