//! The nodes files define: models, analyses, singular tests and snapshots from SQL files (in
//! parallel, in file order), snapshots defined in YAML (`relation:`, dbt 1.9+) and seeds, each
//! with its project-level config and its properties entry applied.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;
use serde_json::Value;

use super::configs::{default_config_shared, merge_into, package_cfgs};
use super::nodes::{Node, ResourceType};
use super::patches::{apply_entry, foreign_entry, DocsLookup};
use super::paths::{file_stem, fqn, relative_to_resource};
use super::properties::{Entry, Properties};
use super::versions::{has_versions, Versions};
use crate::project::config::ConfigTree;
use crate::project::{sha256_hex, FileHash, FileKind, Project};

static SNAPSHOT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}",
    )
    .unwrap()
});

/// Every node of `all_props`' projects' files (the root project first), not yet rendered.
// Boxed from the start: a node is a large struct (over a kilobyte), and the vectors that
// collect, render and place 10,000 of them would otherwise copy each one several times.
#[allow(clippy::vec_box)]
pub(super) fn file_nodes(
    project: &Project,
    all_props: &[(&Project, Properties<'_>, Versions)],
    docs: &DocsLookup,
) -> Vec<Box<Node>> {
    let mut nodes: Vec<Box<Node>> = Vec::new();
    for (proj, props, versions) in all_props {
        let pkg = &proj.config.name;
        // Files are independent: build their nodes in parallel, in file order.
        let file_nodes: Vec<Box<Node>> = proj
            .sql_files
            .par_iter()
            .flat_map_iter(|f| {
                let (rtype, tree, props_map): (
                    ResourceType,
                    &ConfigTree,
                    Option<&BTreeMap<String, Entry>>,
                ) = match f.kind {
                    FileKind::Model => (
                        ResourceType::Model,
                        &proj.config.models,
                        Some(&props.models),
                    ),
                    FileKind::Analysis => (
                        ResourceType::Analysis,
                        &proj.config.analyses,
                        Some(&props.analyses),
                    ),
                    FileKind::SingularTest => (ResourceType::Test, &proj.config.data_tests, None),
                    FileKind::Snapshot => (
                        ResourceType::Snapshot,
                        &proj.config.snapshots,
                        Some(&props.snapshots),
                    ),
                    FileKind::Macro => return Vec::new(),
                };
                let bodies: Vec<(String, String)> = if rtype == ResourceType::Snapshot {
                    SNAPSHOT_RE
                        .captures_iter(&f.contents)
                        .map(|c| (c[1].to_string(), c[2].to_string()))
                        .collect()
                } else {
                    // dbt reads node files stripped of leading and trailing whitespace
                    // (`load_file_contents(strip=True)`), so that is what renders.
                    vec![(file_stem(&f.path), f.contents.trim().to_string())]
                };
                let mut out = Vec::with_capacity(bodies.len());
                for (name, raw) in bodies {
                    // A model file that is a version of a versioned model takes the model's
                    // name, `model.<pkg>.<name>.v<v>` as id and `[..., name, v<v>]` as fqn.
                    let version = (rtype == ResourceType::Model)
                        .then(|| versions.for_file(&name))
                        .flatten();
                    let node_name = version.map_or(&name, |p| &p.model);
                    // A snapshot's fqn has its file's name too, as dbt's snapshot parser
                    // writes it (`[pkg, folders..., file, snapshot]`).
                    let stem = file_stem(&f.path);
                    // An analysis's path (and so its fqn) is under `analysis/`, as dbt's
                    // analysis parser writes it.
                    let path = match rtype {
                        ResourceType::Analysis => format!("analysis/{}", f.path),
                        _ => f.path.clone(),
                    };
                    let mut fqn = match rtype {
                        ResourceType::Snapshot => fqn(pkg, &path, &[&stem, node_name]),
                        _ => fqn(pkg, &path, &[node_name]),
                    };
                    let unique_id = match version {
                        Some(p) => {
                            fqn.push(format!("v{}", p.v));
                            p.unique_id(pkg)
                        }
                        None => format!("{}.{pkg}.{name}", rtype.as_str()),
                    };
                    let mut node = Node::new(unique_id, rtype, node_name.clone(), pkg.clone());
                    node.path = path;
                    node.original_file_path = f.original_file_path.clone();
                    node.checksum = FileHash::sha256(sha256_hex(f.contents.trim().as_bytes()));
                    node.raw_code = raw;
                    node.config = default_config_shared(rtype);
                    let (project_cfg, unrendered) =
                        package_cfgs(project, proj, tree, &fqn, |c| match rtype {
                            ResourceType::Model => &c.models,
                            ResourceType::Analysis => &c.analyses,
                            ResourceType::Snapshot => &c.snapshots,
                            _ => &c.data_tests,
                        });
                    node.unrendered_config = unrendered;
                    merge_into(&mut node.config, &project_cfg);
                    if let Some(p) = version {
                        let entry = Entry {
                            file: &p.file,
                            value: &p.entry,
                        };
                        apply_entry(&mut node, &entry, docs);
                        node.version = Some(p.v.clone());
                        node.latest_version = Some(p.latest.clone());
                    } else if let Some(entry) = props_map.and_then(|m| m.get(&name)) {
                        // A versioned model's entry patches its versions, not a same-named file.
                        if !(rtype == ResourceType::Model && has_versions(entry.value)) {
                            apply_entry(&mut node, entry, docs);
                        }
                    } else if let Some(entry) = foreign_entry(project, all_props, pkg, rtype, &name)
                    {
                        apply_entry(&mut node, &entry, docs);
                    }
                    node.fqn = fqn;
                    out.push(Box::new(node));
                }
                out
            })
            .collect();
        nodes.extend(file_nodes);

        nodes.extend(
            yaml_snapshot_nodes(project, proj, props, docs)
                .into_iter()
                .map(Box::new),
        );
        nodes.extend(
            seed_nodes(project, all_props, proj, props, docs)
                .into_iter()
                .map(Box::new),
        );
    }
    nodes
}

/// Snapshots defined in YAML (`relation:`), dbt 1.9+.
fn yaml_snapshot_nodes(
    project: &Project,
    proj: &Project,
    props: &Properties<'_>,
    docs: &DocsLookup,
) -> Vec<Node> {
    let pkg = &proj.config.name;
    let mut nodes = Vec::new();
    for (name, entry) in &props.snapshots {
        let Some(relation) = entry.value.get("relation").and_then(Value::as_str) else {
            continue;
        };
        let path = relative_to_resource(entry.file, proj);
        let fqn = fqn(pkg, &path, &[name]);
        let mut node = Node::new(
            format!("snapshot.{pkg}.{name}"),
            ResourceType::Snapshot,
            name.clone(),
            pkg.clone(),
        );
        node.path = path;
        node.original_file_path = entry.file.to_string();
        node.raw_code = format!("select * from {{{{ {} }}}}", relation.trim());
        node.checksum = FileHash::sha256(sha256_hex(node.raw_code.as_bytes()));
        node.config = default_config_shared(ResourceType::Snapshot);
        let (project_cfg, unrendered) =
            package_cfgs(project, proj, &proj.config.snapshots, &fqn, |c| {
                &c.snapshots
            });
        node.unrendered_config = unrendered;
        merge_into(&mut node.config, &project_cfg);
        apply_entry(&mut node, entry, docs);
        node.fqn = fqn;
        nodes.push(node);
    }

    nodes
}

/// The seeds of one project (`proj`, the root or a package).
fn seed_nodes(
    project: &Project,
    all_props: &[(&Project, Properties<'_>, Versions)],
    proj: &Project,
    props: &Properties<'_>,
    docs: &DocsLookup,
) -> Vec<Node> {
    let pkg = &proj.config.name;
    let mut nodes = Vec::new();
    for s in &proj.seed_files {
        let name = file_stem(&s.path);
        let fqn = fqn(pkg, &s.path, &[&name]);
        let mut node = Node::new(
            format!("seed.{pkg}.{name}"),
            ResourceType::Seed,
            name.clone(),
            pkg.clone(),
        );
        node.path = s.path.clone();
        node.original_file_path = s.original_file_path.clone();
        node.checksum = s.checksum.clone();
        node.config = default_config_shared(ResourceType::Seed);
        let (project_cfg, unrendered) =
            package_cfgs(project, proj, &proj.config.seeds, &fqn, |c| &c.seeds);
        node.unrendered_config = unrendered;
        merge_into(&mut node.config, &project_cfg);
        if let Some(entry) = props.seeds.get(&name) {
            apply_entry(&mut node, entry, docs);
        } else if let Some(entry) =
            foreign_entry(project, all_props, pkg, ResourceType::Seed, &name)
        {
            apply_entry(&mut node, &entry, docs);
        }
        node.fqn = fqn;
        nodes.push(node);
    }
    nodes
}
