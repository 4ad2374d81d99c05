//! The text of the query comment (`query-comment` in `dbt_project.yml`) for the run and for each
//! node: sluice's default (a JSON object naming the tool, the dbt version sluice speaks, the
//! profile, the target and the node), nothing (`null` or `''`), or the project's own Jinja
//! template rendered with its macros and `target`. The adapters' connections put it on the
//! statements (see `adapters::comment`).

use std::sync::Arc;

use serde_json::{json, Value};

use crate::compile::{CompileServices, Node, Resolver};
use crate::project::{CommentText, QueryComment, Target};
use crate::sql::Dialect;
use crate::templating::{NodeInfo, Phase, RenderCtx, Templates};

/// What the run needs to comment each node's statements.
pub(crate) struct NodeComments {
    text: CommentText,
    /// The default comment's fixed part, or a template's rendering that names no node.
    fixed: Option<Arc<str>>,
    profile_name: String,
    target_name: String,
    templates: Arc<Templates>,
    resolver: Arc<Resolver>,
    dialect: Dialect,
}

/// The default comment, as JSON: `{"app": "sluice", "dbt_version": ..., "profile_name": ...,
/// "target_name": ..., "node_id": ...}` (no `node_id` outside a node).
fn default_comment(profile: &str, target: &str, node_id: Option<&str>) -> String {
    let mut v = json!({
        "app": "sluice",
        "dbt_version": crate::project::DBT_VERSION,
        "profile_name": profile,
        "target_name": target,
    });
    if let (Some(id), Value::Object(m)) = (node_id, &mut v) {
        m.insert("node_id".into(), json!(id));
    }
    v.to_string()
}

impl NodeComments {
    /// Renders the run's comment once (a template that does not name `node` is the same for
    /// every node); an error (a Jinja error, or a comment holding `*/`) stops the run before it
    /// starts, as dbt's does.
    pub(crate) fn new(
        config: &QueryComment,
        target: &Target,
        templates: Arc<Templates>,
        resolver: Arc<Resolver>,
    ) -> Result<NodeComments, String> {
        let mut c = NodeComments {
            text: config.text.clone(),
            fixed: None,
            profile_name: target.profile_name.clone(),
            target_name: target.target_name.clone(),
            templates,
            resolver,
            dialect: target.dialect,
        };
        c.fixed = c.render(None)?;
        Ok(c)
    }

    /// The comment for the statements sent outside any node.
    pub(crate) fn run_comment(&self) -> Option<Arc<str>> {
        self.fixed.clone()
    }

    /// The comment for `node`'s statements.
    pub(crate) fn for_node(&self, node: &Node) -> Result<Option<Arc<str>>, String> {
        match &self.text {
            CommentText::Off => Ok(None),
            CommentText::Default => Ok(Some(
                default_comment(&self.profile_name, &self.target_name, Some(&node.unique_id))
                    .into(),
            )),
            CommentText::Template(t) if !t.contains("node") => Ok(self.fixed.clone()),
            CommentText::Template(_) => self.render(Some(node)),
        }
    }

    fn render(&self, node: Option<&Node>) -> Result<Option<Arc<str>>, String> {
        let template = match &self.text {
            CommentText::Off => return Ok(None),
            CommentText::Default => {
                return Ok(Some(
                    default_comment(&self.profile_name, &self.target_name, None).into(),
                ))
            }
            CommentText::Template(t) => t,
        };
        let info = match node {
            Some(n) => crate::compile::node_info(n),
            None => NodeInfo {
                unique_id: "query-comment".into(),
                name: "query-comment".into(),
                package: self.resolver.root_package.clone(),
                resource_type: "operation".into(),
                original_file_path: "dbt_project.yml".into(),
                ..Default::default()
            },
        };
        let services = Arc::new(CompileServices::new(
            self.resolver.clone(),
            None,
            false,
            self.dialect,
        ));
        let ctx = Arc::new(RenderCtx::new(Phase::Compile, info, services));
        // As a macro's body, as dbt renders it: the template may `return(...)` its text.
        let text = self
            .templates
            .render_returning("dbt_project.yml", template, &ctx)
            .map_err(|d| format!("query-comment in dbt_project.yml: {d}"))?;
        // Surrounding whitespace (a YAML block's last newline) is dropped, as dbt drops it.
        let text = text.trim();
        if text.contains("*/") {
            return Err(format!(
                "query-comment in dbt_project.yml renders to a comment holding `*/`, which would end it early: {text}\nhint: remove `*/` from the comment"
            ));
        }
        Ok((!text.is_empty()).then(|| text.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_comment_names_tool_target_and_node() {
        let v: Value =
            serde_json::from_str(&default_comment("shop", "dev", Some("model.shop.m"))).unwrap();
        assert_eq!(v["app"], "sluice");
        assert_eq!(v["profile_name"], "shop");
        assert_eq!(v["target_name"], "dev");
        assert_eq!(v["node_id"], "model.shop.m");
        let v: Value = serde_json::from_str(&default_comment("shop", "dev", None)).unwrap();
        assert!(v.get("node_id").is_none());
    }
}
