//! `on-run-start` / `on-run-end` hooks of the root project and its packages: their run order and
//! the `operation` nodes dbt lists for them in the manifest (`operation.<pkg>.<pkg>-on-run-start-0`),
//! whose results `run_results.json` reports. Split from `parse`, which calls [`run_hooks`] and
//! [`hook_nodes`] once per parse.

use std::collections::BTreeMap;

use serde_json::Value;

use super::configs::{default_config, package_cfgs};
use super::nodes::{Node, ProjectHook, ResourceType};
use crate::project::{Project, Target};

/// The hooks of one kind, in dbt's run order: the root project's first, then each package's in
/// the order of the package names.
pub(super) fn run_hooks(
    project: &Project,
    which: &'static str,
    hooks_of: impl Fn(&crate::project::ProjectConfig) -> &Vec<String>,
) -> Vec<ProjectHook> {
    let mut packages: Vec<&Project> = project.packages.iter().collect();
    packages.sort_by(|a, b| a.config.name.cmp(&b.config.name));
    std::iter::once(project)
        .chain(packages)
        .flat_map(|p| {
            hooks_of(&p.config)
                .iter()
                .enumerate()
                .map(move |(index, sql)| ProjectHook {
                    package: p.config.name.clone(),
                    which,
                    index,
                    sql: sql.clone(),
                })
        })
        .collect()
}

/// One `operation` node per hook, as dbt writes them: named `<pkg>-<which>-<index>`, defined in
/// `./dbt_project.yml`, tagged with the hook kind, configured like a model at
/// `[<pkg>, hooks, <name>]`, with a checksum of its project file (dbt hashes it differently).
pub(super) fn hook_nodes(
    project: &Project,
    target: &Target,
    hooks: &[&ProjectHook],
) -> BTreeMap<String, Node> {
    let projects: BTreeMap<&str, &Project> = std::iter::once(project)
        .chain(project.packages.iter())
        .map(|p| (p.config.name.as_str(), p))
        .collect();
    let mut out = BTreeMap::new();
    for h in hooks {
        let Some(proj) = projects.get(h.package.as_str()) else {
            continue;
        };
        let name = h.name();
        let mut node = Node::new(
            h.unique_id(),
            ResourceType::Operation,
            name.clone(),
            h.package.clone(),
        );
        node.path = format!("hooks/{name}.sql");
        node.original_file_path = "./dbt_project.yml".into();
        node.fqn = vec![h.package.clone(), "hooks".into(), name.clone()];
        node.database = target.database.clone();
        node.schema = target.schema.clone();
        node.alias = name;
        node.raw_code = h.sql.clone();
        node.tags = vec![h.which.to_string()];
        node.checksum = std::fs::read(proj.root.join("dbt_project.yml"))
            .map(|b| crate::project::FileHash::sha256(crate::project::sha256_hex(&b)))
            .unwrap_or_default();
        let mut cfg = default_config(ResourceType::Operation);
        let (project_cfg, unrendered) =
            package_cfgs(project, proj, &proj.config.models, &node.fqn, |c| &c.models);
        for (k, v) in &project_cfg {
            cfg.insert(k.clone(), v.clone());
        }
        node.unrendered_config = unrendered;
        cfg.insert("enabled".into(), Value::Bool(true));
        node.config = std::sync::Arc::new(cfg.into());
        out.insert(node.unique_id.clone(), node);
    }
    out
}

/// Renders the operation nodes' configs (`+schema: "x_{{ var('v') }}"` of the `models:` tree
/// they take) and names their relations through `generate_schema_name` & friends, as dbt does
/// for the hook nodes of the root project and of packages.
pub(super) fn name_operations(
    manifest: &mut super::nodes::Manifest,
    target: &Target,
    templates: &crate::templating::Templates,
    services: &std::sync::Arc<super::resolve::ParseServices>,
    errors: &mut Vec<crate::diagnostics::Diagnostic>,
) {
    for node in manifest.operations.values_mut() {
        let named = super::yaml_values::render_config_strings(node, templates, services, target)
            .and_then(|()| super::naming::name_relation(node, target, templates, services));
        if let Err(d) = named {
            errors.push(d);
        }
        node.schema = target.dialect.schema_as_kept(&node.schema);
        // The hook's SQL rendered as dbt parses it (`execute` false), for the macros it calls;
        // what fails here fails when the hook runs, where it is reported.
        let info = super::naming::node_info(node, target);
        let ctx = std::sync::Arc::new(crate::templating::RenderCtx::node_parse(
            info,
            services.clone(),
        ));
        if templates
            .render(&node.original_file_path, &node.raw_code, &ctx)
            .is_ok()
        {
            node.depends_on_macros = ctx.recorded().macros;
        }
    }
}
