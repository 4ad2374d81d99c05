//! The nodes and entries properties files define on their own: unit tests (checked against the
//! models and inputs they name), exposures (their `depends_on` read as refs and sources), groups,
//! and the semantic layer's raw entries (semantic models, metrics, saved queries).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::checks;
use super::configs::add_unrendered;
use super::generic_tests::find_refable;
use super::nodes::{Manifest, Node, ResourceType};
use super::paths::{dirs_of, relative_to_resource};
use super::properties::{entry_config, Entry, Properties};
use super::yaml_values::{load_unit_fixtures, parse_call, parse_metric_call};
use crate::diagnostics::{did_you_mean, Code, Diagnostic, Location};
use crate::project::config::str_list;
use crate::project::Project;

/// Adds the root project's unit tests, exposures, groups, semantic models, metrics and saved
/// queries (from `props`) to `manifest`; problems go to `errors`.
pub(super) fn yaml_nodes(
    project: &Project,
    props: &Properties<'_>,
    manifest: &mut Manifest,
    errors: &mut Vec<Diagnostic>,
) {
    unit_tests(project, props, manifest, errors);
    yaml_entities(project, props, manifest);
}

/// Adds the unit tests of one project (the root project or a package: dbt lists a package's
/// too) from its `props` to `manifest`.
pub(super) fn unit_tests(
    project: &Project,
    props: &Properties<'_>,
    manifest: &mut Manifest,
    errors: &mut Vec<Diagnostic>,
) {
    let pkg = &project.config.name;
    for entry in &props.unit_tests {
        let model = entry.str("model").unwrap_or("").to_string();
        let name = entry.name().to_string();
        let mut node = yaml_node(
            entry,
            project,
            ResourceType::UnitTest,
            format!("unit_test.{pkg}.{model}.{name}"),
            &[model.clone(), name.clone()],
        );
        node.config_mut()
            .insert_default("tags", Value::Array(vec![]));
        node.config_mut()
            .insert_default("meta", Value::Object(Map::new()));
        node.tags = str_list(node.config.get("tags"));
        if let Err(e) = load_unit_fixtures(project, &mut node.definition) {
            errors.push(e.in_file(entry.file));
        }
        match find_refable(manifest, pkg, None, &model) {
            Some(id) => {
                node.depends_on_nodes = vec![id.clone()];
                node.attached_node = Some(id);
            }
            None => errors.push(
                crate::project::yaml::line_of_name(
                    &project
                        .yaml_files
                        .iter()
                        .find(|f| f.original_file_path == entry.file)
                        .map(|f| f.text.clone())
                        .unwrap_or_default(),
                    &name,
                )
                .map_or_else(
                    || {
                        Diagnostic::error(
                            Code::UnknownRef,
                            format!("unit test `{name}` tests unknown model `{model}`"),
                        )
                        .in_file(entry.file)
                    },
                    |l| {
                        Diagnostic::error(
                            Code::UnknownRef,
                            format!("unit test `{name}` tests unknown model `{model}`"),
                        )
                        .at(Location::at(entry.file, l, 1))
                    },
                )
                .maybe_hint(did_you_mean(
                    &model,
                    manifest
                        .nodes
                        .values()
                        .filter(|n| n.resource_type == ResourceType::Model)
                        .map(|n| n.name.as_str()),
                )),
            ),
        }
        if node.is_enabled() {
            let text = project
                .yaml_files
                .iter()
                .find(|f| f.original_file_path == entry.file)
                .map_or("", |f| f.text.as_str());
            errors.extend(checks::unit_test_inputs(
                &name,
                &node.definition,
                manifest,
                pkg,
                entry.file,
                text,
            ));
            manifest.unit_tests.insert(node.unique_id.clone(), node);
        }
    }
}

/// The root project's exposures, groups, semantic models, metrics and saved queries.
fn yaml_entities(project: &Project, props: &Properties<'_>, manifest: &mut Manifest) {
    let pkg = &project.config.name;
    for entry in &props.exposures {
        let name = entry.name().to_string();
        let mut node = yaml_node(
            entry,
            project,
            ResourceType::Exposure,
            format!("exposure.{pkg}.{name}"),
            std::slice::from_ref(&name),
        );
        exposure_config(&mut node, entry, project);
        for dep in str_list(entry.value.get("depends_on")) {
            if let Some((kind, args)) = parse_call(&dep) {
                match kind {
                    "ref" => node.refs.push(crate::templating::RefCall {
                        package: if args.len() > 1 {
                            Some(args[0].clone())
                        } else {
                            None
                        },
                        name: args.last().cloned().unwrap_or_default(),
                        version: None,
                        version_quoted: false,
                    }),
                    "source" if args.len() == 2 => {
                        node.sources.push((args[0].clone(), args[1].clone()))
                    }
                    _ => {}
                }
            }
        }
        if node.config.get("enabled") == Some(&Value::Bool(false)) {
            manifest
                .disabled
                .entry(node.unique_id.clone())
                .or_default()
                .push(node);
        } else {
            manifest.exposures.insert(node.unique_id.clone(), node);
        }
    }
    for e in &props.groups {
        let id = format!("group.{pkg}.{}", e.name());
        manifest
            .groups
            .insert(id.clone(), group_entry(e, project, id));
    }
    for e in &props.semantic_models {
        manifest.semantic_models.insert(
            format!("semantic_model.{pkg}.{}", e.name()),
            Value::Object(e.value.clone()),
        );
    }
    for e in &props.metrics {
        manifest.metrics.insert(
            format!("metric.{pkg}.{}", e.name()),
            Value::Object(e.value.clone()),
        );
    }
    for e in &props.saved_queries {
        manifest.saved_queries.insert(
            format!("saved_query.{pkg}.{}", e.name()),
            Value::Object(e.value.clone()),
        );
    }
}

/// A node defined by a properties-file entry (unit test, exposure): id, paths, fqn (`[package,
/// folders of the file..., fqn_tail...]`), description, `config:` (enabled by default) and the
/// entry itself as its definition.
fn yaml_node(
    entry: &Entry,
    project: &Project,
    rtype: ResourceType,
    unique_id: String,
    fqn_tail: &[String],
) -> Node {
    let pkg = &project.config.name;
    let mut node = Node::new(unique_id, rtype, entry.name().to_string(), pkg.clone());
    node.original_file_path = entry.file.to_string();
    node.path = relative_to_resource(entry.file, project);
    let mut fqn = vec![pkg.clone()];
    fqn.extend(dirs_of(&node.path));
    fqn.extend(fqn_tail.iter().cloned());
    node.fqn = fqn;
    node.description = entry.str("description").unwrap_or("").to_string();
    node.config = Arc::new(entry_config(entry.value).into());
    node.config_mut()
        .insert_default("enabled", Value::Bool(true));
    node.definition = Value::Object(entry.value.clone());
    node
}

/// The `metric(...)` entries of an exposure's `depends_on`, each as its arguments (what dbt
/// writes as the exposure's `metrics`).
pub(crate) fn exposure_metrics(n: &Node) -> Vec<Vec<String>> {
    str_list(n.definition.get("depends_on"))
        .iter()
        .filter_map(|d| parse_metric_call(d))
        .collect()
}

/// An exposure's config as dbt 1.10 makes it: the `exposures:` config of `dbt_project.yml`
/// for its fqn, each key the entry's `config:` sets replaced by the entry's value (not merged),
/// then the entry's own `meta` under the config's (the config's keys win) and its `tags` with
/// the config's, sorted; its `meta` and `tags` are those, its `unrendered_config` the project's
/// and the entry's config as written.
fn exposure_config(node: &mut Node, entry: &Entry, project: &Project) {
    let mut config = project.config.exposures.resolve(&node.fqn);
    if let Some(Value::Object(own)) = entry.value.get("config") {
        add_unrendered(&mut config, own);
    }
    node.unrendered_config = config.clone();
    // (Rendered as dbt renders properties: text loses its last line break.)
    let mut meta = match entry.value.get("meta") {
        Some(Value::Object(m)) => super::yaml_values::rendered_map(m),
        _ => Map::new(),
    };
    if let Some(Value::Object(m)) = config.get("meta") {
        meta.extend(super::yaml_values::rendered_map(m));
    }
    let mut tags = str_list(entry.value.get("tags"));
    tags.extend(str_list(config.get("tags")));
    tags.sort();
    tags.dedup();
    config.insert("meta".into(), Value::Object(meta.clone()));
    config.insert("tags".into(), Value::from(tags.clone()));
    config.entry("enabled").or_insert(Value::Bool(true));
    node.config = Arc::new(config.into());
    node.meta = meta;
    node.tags = tags;
}

/// A group's manifest entry as dbt 1.10 writes it: its owner with `email` and `name` first,
/// its description (null when none), and its config: `meta`, then what the `models:` config of
/// `dbt_project.yml` sets along its fqn (dbt reads a group's project config from that tree),
/// then the entry's `config:`.
fn group_entry(entry: &Entry, project: &Project, id: String) -> Value {
    let path = relative_to_resource(entry.file, project);
    let fqn = super::paths::fqn(&project.config.name, &path, &[entry.name()]);
    let mut owner = Map::new();
    owner.insert("email".into(), Value::Null);
    owner.insert("name".into(), Value::Null);
    if let Some(Value::Object(o)) = entry.value.get("owner") {
        owner.extend(o.clone());
    }
    let mut config = Map::new();
    config.insert("meta".into(), Value::Object(Map::new()));
    config.extend(project.config.models.resolve(&fqn));
    if let Some(Value::Object(own)) = entry.value.get("config") {
        add_unrendered(&mut config, own);
    }
    serde_json::json!({
        "name": entry.name(),
        "resource_type": "group",
        "package_name": project.config.name,
        "path": path,
        "original_file_path": entry.file,
        "unique_id": id,
        "owner": owner,
        "description": entry.value.get("description").cloned().unwrap_or(Value::Null),
        "config": config,
    })
}
