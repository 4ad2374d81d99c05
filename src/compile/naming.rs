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
    let named = Naming {
        info: node_info(node, target),
        node: serde_json::json!({
            "name": node.name, "unique_id": node.unique_id, "resource_type": node.resource_type.as_str(),
            "package_name": node.package_name, "fqn": node.fqn, "path": node.path,
            "original_file_path": node.original_file_path, "config": node.config, "tags": node.tags,
            "version": node.version,
        }),
        custom: ["schema", "alias", "database"].map(|k| node.config_str(k).map(str::to_string)),
        version: node.version.clone(),
    }
    .relation(target, templates, services)?;
    [node.database, node.schema, node.alias] = named;
    Ok(())
}

/// What the naming macros (`generate_schema_name` & friends) are given of a node: as a render
/// sees it, as their `node` argument, its custom schema, alias and database, and its version.
pub(crate) struct Naming {
    pub(crate) info: NodeInfo,
    pub(crate) node: serde_json::Value,
    pub(crate) custom: [Option<String>; 3],
    pub(crate) version: Option<String>,
}

impl Naming {
    /// The node's database, schema and alias, through the naming macros (natively when the
    /// project does not override them).
    pub(crate) fn relation(
        self,
        target: &Target,
        templates: &Templates,
        services: &Arc<ParseServices>,
    ) -> Result<[String; 3], Diagnostic> {
        let [custom_schema, custom_alias, custom_db] = self.custom;
        let package = self.info.package.clone();
        let overridden = |name: &str| templates.index.naming_overridden(name, &package);
        let node_val = minijinja::Value::from_serialize(&self.node);
        let call = |name: &str, arg: Option<String>| -> Result<String, Diagnostic> {
            let ctx = Arc::new(RenderCtx::new(
                Phase::Parse,
                self.info.clone(),
                services.clone(),
            ));
            let arg = arg
                .map(minijinja::Value::from)
                .unwrap_or(minijinja::Value::from(()));
            let v = templates.call_macro(name, vec![arg, node_val.clone()], &ctx)?;
            Ok(v.to_string().trim().to_string())
        };
        let schema = if overridden("generate_schema_name") {
            call("generate_schema_name", custom_schema)?
        } else {
            match custom_schema {
                Some(s) => format!("{}_{}", target.schema, s.trim()),
                None => target.schema.clone(),
            }
        };
        let alias = if overridden("generate_alias_name") {
            call("generate_alias_name", custom_alias)?
        } else {
            match custom_alias {
                Some(a) => a.trim().to_string(),
                None => match &self.version {
                    Some(v) => format!("{}_v{}", self.info.name, v.replace('.', "_")),
                    None => self.info.name.clone(),
                },
            }
        };
        let database = if overridden("generate_database_name") {
            call("generate_database_name", custom_db)?
        } else {
            custom_db.unwrap_or_else(|| target.database.clone())
        };
        Ok([database, schema, alias])
    }
}
