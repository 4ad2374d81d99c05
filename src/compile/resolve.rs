//! Name resolution: `var()` precedence and `ref()`/`source()` lookups.
//!
//! [`ParseServices`] answers templates during the parse phase (vars only: refs are recorded, not
//! resolved). [`Resolver`] is built from the parsed manifest and resolves refs and sources to
//! node ids and relations for the compile phase; `execute` wraps it with a warehouse connection.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::nodes::{Manifest, Materialization, ResourceType};
use crate::diagnostics::did_you_mean;
use crate::project::Target;
use crate::sql::{Dialect, Relation};
use crate::templating::{NodeInfo, Services};

/// Adds `template` to `files` (once).
fn note(files: &std::sync::Mutex<std::collections::BTreeSet<String>>, template: &str) {
    if let Ok(mut files) = files.lock() {
        if !files.contains(template) {
            files.insert(template.to_string());
        }
    }
}

/// Vars for the parse phase.
#[derive(Debug, Clone)]
pub(crate) struct ParseServices {
    pub(crate) cli_vars: Map<String, Value>,
    pub(crate) project_vars: Map<String, Value>,
    pub(crate) root_package: String,
    pub(crate) dialect: Dialect,
    /// Each installed package's own `vars:` (its dbt_project.yml), for that package's nodes.
    pub(crate) package_vars: BTreeMap<String, Map<String, Value>>,
    /// The files of the macros that parse-phase renders other than nodes' own files ran
    /// ([`Services::note_macro_file`]).
    pub(crate) macro_files_elsewhere:
        std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    /// The files of the generic tests' macros a parse did not run ([`Services::note_test_macro_file`]).
    pub(crate) test_macro_files:
        std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl ParseServices {
    /// `var(name)` for a node of `package`: CLI > root project package-scoped > root project
    /// global > (for a package's node) the package's own vars, scoped then global.
    pub(crate) fn lookup_var(&self, package: &str, name: &str) -> Option<Value> {
        if let Some(v) = self.cli_vars.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = scoped_var(&self.project_vars, package, name) {
            return Some(v);
        }
        if package == self.root_package {
            return None;
        }
        self.package_vars
            .get(package)
            .and_then(|vars| scoped_var(vars, package, name))
    }
}

/// `name` in one project's `vars:`: the block scoped to `package` first, then the globals.
fn scoped_var(vars: &Map<String, Value>, package: &str, name: &str) -> Option<Value> {
    if let Some(Value::Object(scoped)) = vars.get(package) {
        if let Some(v) = scoped.get(name) {
            return Some(v.clone());
        }
    }
    vars.get(name).filter(|_| name != package).cloned()
}

impl Services for ParseServices {
    fn note_macro_file(&self, template: &str) {
        note(&self.macro_files_elsewhere, template);
    }
    fn note_test_macro_file(&self, template: &str) {
        note(&self.test_macro_files, template);
    }
    fn resolve_ref(
        &self,
        _: &NodeInfo,
        _: Option<&str>,
        name: &str,
        _: Option<&str>,
    ) -> Result<Relation, String> {
        Err(format!("ref('{name}') cannot be resolved while parsing"))
    }
    fn resolve_source(&self, _: &NodeInfo, source: &str, table: &str) -> Result<Relation, String> {
        Err(format!(
            "source('{source}', '{table}') cannot be resolved while parsing"
        ))
    }
    fn var(&self, package: &str, name: &str) -> Option<Value> {
        self.lookup_var(package, name)
    }
    fn dialect(&self) -> Dialect {
        self.dialect
    }
}

#[derive(Debug, Clone)]
struct RefTarget {
    id: String,
    package: String,
    version: Option<String>,
    /// A versioned model's latest version: what a ref without a version resolves to.
    latest: bool,
    relation: Relation,
    ephemeral: bool,
    enabled: bool,
}

/// Resolves refs and sources against the parsed manifest.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    pub(crate) vars: ParseServices,
    pub(crate) root_package: String,
    by_name: BTreeMap<String, Vec<RefTarget>>,
    sources: BTreeMap<(String, String), (String, Relation)>,
    source_names: Vec<String>,
    /// The `event_time` column of each model, seed, snapshot and source that has one, by
    /// relation (lower-cased `database.schema.identifier`): what microbatch batches filter on.
    event_times: BTreeMap<String, String>,
}

/// A `ref` that names no enabled node: `disabled` when a disabled node has that name.
#[derive(Debug)]
pub(crate) struct RefMiss {
    pub(crate) disabled: bool,
    pub(crate) message: String,
}

impl Resolver {
    pub(crate) fn build(manifest: &Manifest, vars: ParseServices, _target: &Target) -> Self {
        use rayon::prelude::*;
        // What each node contributes is read in parallel (a pass over every node), then
        // gathered in node order.
        let ref_target = |n: &super::nodes::Node, enabled: bool| RefTarget {
            id: n.unique_id.clone(),
            package: n.package_name.clone(),
            version: n.version.clone(),
            latest: n.is_latest_version(),
            relation: n.relation(),
            ephemeral: n.materialization() == Materialization::Ephemeral
                && n.resource_type == ResourceType::Model,
            enabled,
        };
        let nodes: Vec<&super::nodes::Node> = manifest.nodes.values().map(|b| &**b).collect();
        let read: Vec<(Option<(String, String)>, Option<RefTarget>)> = nodes
            .par_iter()
            .map(|n| {
                let event_time = n
                    .config_str("event_time")
                    .filter(|c| !c.is_empty())
                    .map(|col| (relation_key(&n.relation()), col.to_string()));
                let refable = n.resource_type.is_refable().then(|| ref_target(n, true));
                (event_time, refable)
            })
            .collect();
        let mut event_times = BTreeMap::new();
        // Every name's targets: the enabled nodes' in id order, then the disabled ones'. They
        // are sorted by name (stably) and grouped, not inserted one by one into the map.
        let mut named: Vec<(&str, RefTarget)> = Vec::with_capacity(nodes.len());
        for (n, (event_time, refable)) in nodes.iter().zip(read) {
            event_times.extend(event_time);
            if let Some(t) = refable {
                named.push((&n.name, t));
            }
        }
        for n in manifest.sources.values() {
            if let Some(col) = n.config_str("event_time").filter(|c| !c.is_empty()) {
                event_times.insert(relation_key(&n.relation()), col.to_string());
            }
        }
        for list in manifest.disabled.values() {
            for n in list.iter().filter(|n| n.resource_type.is_refable()) {
                named.push((&n.name, ref_target(n, false)));
            }
        }
        named.par_sort_by(|a, b| a.0.cmp(b.0));
        let mut grouped: Vec<(String, Vec<RefTarget>)> = Vec::new();
        for (name, t) in named {
            match grouped.last_mut() {
                Some((last, targets)) if last == name => targets.push(t),
                _ => grouped.push((name.to_string(), vec![t])),
            }
        }
        let by_name: BTreeMap<String, Vec<RefTarget>> = grouped.into_iter().collect();
        let mut sources = BTreeMap::new();
        let mut source_names = Vec::new();
        for s in manifest.sources.values() {
            if let Some(info) = &s.source {
                sources.insert(
                    (info.source_name.clone(), s.name.clone()),
                    (s.unique_id.clone(), s.relation()),
                );
                source_names.push(format!("{}.{}", info.source_name, s.name));
            }
        }
        Resolver {
            root_package: manifest.project_name.clone(),
            vars,
            by_name,
            sources,
            source_names,
            event_times,
        }
    }

    /// The `event_time` column of the node or source whose relation is `rel`.
    pub(crate) fn event_time_of(&self, rel: &Relation) -> Option<&str> {
        self.event_times.get(&relation_key(rel)).map(String::as_str)
    }

    /// This resolver with the refs of `deferred` nodes pointing at other relations (`--defer`).
    pub(crate) fn with_deferred(&self, deferred: &BTreeMap<String, Relation>) -> Resolver {
        let mut out = self.clone();
        for targets in out.by_name.values_mut() {
            for t in targets {
                if let Some(r) = deferred.get(&t.id) {
                    t.relation = r.clone();
                }
            }
        }
        out
    }

    fn find(
        &self,
        from_package: &str,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<&RefTarget, String> {
        // (Read in place, without lists: `find` runs for every ref of every node.)
        let all = self
            .by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let candidates = || {
            all.iter()
                .filter(move |t| package.is_none_or(|p| p == t.package))
                .filter(move |t| match version {
                    // dbt's ref lookup: an unversioned name, or a versioned model's latest.
                    None => t.version.is_none() || t.latest,
                    Some(ver) => t.version.as_deref() == Some(ver),
                })
        };
        let enabled = || candidates().filter(|t| t.enabled);
        let Some(first) = enabled().next() else {
            let what = match version {
                Some(v) => format!("`{name}` with version `{v}`"),
                None => format!("`{name}`"),
            };
            if candidates().next().is_some() {
                return Err(format!("depends on a node named {what} which is disabled"));
            }
            return Err(format!(
                "depends on a node named {what} which was not found"
            ));
        };
        let pick = enabled()
            .find(|t| t.package == from_package)
            .or_else(|| enabled().find(|t| t.package == self.root_package))
            .unwrap_or(first);
        Ok(pick)
    }

    pub(crate) fn ref_id(
        &self,
        from_package: &str,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<String, RefMiss> {
        self.find(from_package, package, name, version)
            .map(|t| t.id.clone())
            .map_err(|message| RefMiss {
                disabled: self.by_name.get(name).is_some_and(|ts| {
                    ts.iter().any(|t| {
                        package.is_none_or(|p| p == t.package)
                            && version.is_none_or(|v| t.version.as_deref() == Some(v))
                    })
                }),
                message,
            })
    }

    /// Every name a `ref` may give (enabled nodes or not).
    pub(crate) fn ref_names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every name more than one node (enabled or disabled, of any package) has.
    pub(crate) fn shared_ref_names(&self) -> impl Iterator<Item = &str> {
        self.by_name
            .iter()
            .filter(|(_, targets)| targets.len() > 1)
            .map(|(name, _)| name.as_str())
    }

    /// Every source table: its source's name, its name, its unique id.
    pub(crate) fn source_tables(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.sources
            .iter()
            .map(|((s, t), (id, _))| (s.as_str(), t.as_str(), id.as_str()))
    }

    pub(crate) fn source_id(&self, source: &str, table: &str) -> Result<String, String> {
        self.sources
            .get(&(source.to_string(), table.to_string()))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                format!("depends on a source named `{source}.{table}` which was not found")
            })
    }

    pub(crate) fn hint_ref(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.by_name.keys().map(String::as_str))
    }

    /// For a ref to a version that does not exist: the versions the model has.
    pub(crate) fn hint_versions(&self, name: &str) -> Option<String> {
        let mut versions: Vec<&str> = self
            .by_name
            .get(name)?
            .iter()
            .filter_map(|t| t.version.as_deref())
            .collect();
        if versions.is_empty() {
            return Some(format!(
                "`{name}` is not a versioned model: ref it without a version"
            ));
        }
        versions.sort_by(|a, b| crate::graph::version_cmp(a, b));
        Some(format!("`{name}` has versions {}", versions.join(", ")))
    }

    pub(crate) fn hint_source(&self, source: &str, table: &str) -> Option<String> {
        let wanted = format!("{source}.{table}");
        did_you_mean(&wanted, self.source_names.iter().map(String::as_str))
            .map(|h| h.replace("did you mean `", "did you mean source `"))
    }

    /// The relation a `ref(...)` / `source(...)` call written as text names (a unit test's
    /// `input`, a contract's foreign key `to`), read by [`parse_relation_call`], for a node of
    /// `from_package`; `None` when it is neither call.
    pub(crate) fn relation_of_call(
        &self,
        from_package: &str,
        kind: &str,
        args: &[String],
    ) -> Result<Option<Relation>, String> {
        match (kind, args) {
            ("ref", [name]) => Ok(Some(self.ref_relation(from_package, None, name, None)?.0)),
            ("ref", [package, name]) => Ok(Some(
                self.ref_relation(from_package, Some(package), name, None)?
                    .0,
            )),
            ("source", [source, table]) => Ok(Some(self.source_relation(source, table)?)),
            _ => Ok(None),
        }
    }

    /// The relation a ref resolves to; ephemeral models resolve to a CTE marker.
    pub(crate) fn ref_relation(
        &self,
        from_package: &str,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<(Relation, bool, String), String> {
        let t = self.find(from_package, package, name, version)?;
        Ok((t.relation.clone(), t.ephemeral, t.id.clone()))
    }

    pub(crate) fn source_relation(&self, source: &str, table: &str) -> Result<Relation, String> {
        self.sources
            .get(&(source.to_string(), table.to_string()))
            .map(|(_, r)| r.clone())
            .ok_or_else(|| format!("source `{source}.{table}` was not found"))
    }
}

fn relation_key(rel: &Relation) -> String {
    format!("{}.{}.{}", rel.database, rel.schema, rel.identifier).to_lowercase()
}

/// `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')` written as text: the call's name and its
/// arguments, unquoted.
pub(crate) fn parse_relation_call(s: &str) -> Option<(String, Vec<String>)> {
    let (kind, rest) = s.trim().split_once('(')?;
    let args = rest
        .trim_end_matches(')')
        .split(',')
        .map(|a| a.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .collect();
    Some((kind.trim().to_string(), args))
}
