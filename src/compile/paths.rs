//! Where a node's file sits, as node ids and fqns use it: the file's folders, its stem, and its
//! path below the resource folder (`models/`, `seeds/` ...) that holds it. Used by every kind of
//! node `parse` builds (files, sources, generic tests, YAML-only nodes).

use crate::project::Project;

pub(super) fn file_stem(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rsplit_once('.').map_or(base, |(s, _)| s).to_string()
}

/// A node's fqn: its package, the folders of its `path` (below the resource folder), then `tail`
/// (its name, and what follows it for versions and sources).
pub(crate) fn fqn(package: &str, path: &str, tail: &[&str]) -> Vec<String> {
    let mut fqn = vec![package.to_string()];
    fqn.extend(dirs_of(path));
    fqn.extend(tail.iter().map(|t| t.to_string()));
    fqn
}

pub(crate) fn dirs_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
    parts.pop();
    parts
}

pub(crate) fn relative_to_resource(file: &str, project: &Project) -> String {
    let c = &project.config;
    for folder in c
        .model_paths
        .iter()
        .chain(&c.seed_paths)
        .chain(&c.snapshot_paths)
        .chain(&c.analysis_paths)
        .chain(&c.macro_paths)
        .chain(&c.test_paths)
    {
        if let Some(rest) = file
            .strip_prefix(folder.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            return rest.to_string();
        }
    }
    file.to_string()
}
