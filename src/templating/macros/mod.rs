//! Macros: where they come from, how they are named, and how a call finds the right one.
//!
//! Every macro file is added to the environment as a template named `<package>://<path>`, after
//! [`preprocess`] renames `{% macro x(...) %}` to `{% macro __m_x(...) %}` and turns `{% test x %}`
//! blocks into `__m_test_x` macros. Why rename: a call `x()` then always goes through the global
//! [`MacroFn`] object rather than a same-file closure, so `return()` (which unwinds to the nearest
//! `MacroFn`) and dbt's lookup rules (package-local, then root project, then `dbt`) hold everywhere.
//!
//! Finding definitions and the rewrites are in [`source`], calling a macro in [`call`]; this file
//! holds the definitions, the index and the built-in library.

mod call;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Object, Value};

use crate::diagnostics::{Code, Diagnostic};

pub(crate) use call::{do_return, returning, MacroFn};
use source::find_defs;
pub use source::{preprocess, preprocess_node};

/// Package name of sluice's built-in macro library.
pub(crate) const BUILTIN_PACKAGE: &str = "dbt";

/// A file holding macros.
#[derive(Debug, Clone)]
pub struct MacroFile {
    pub package: String,
    pub original_file_path: String,
    pub contents: String,
}

impl MacroFile {
    pub(crate) fn template_name(&self) -> String {
        format!("{}://{}", self.package, self.original_file_path)
    }
}

/// `dbt://macros/x.sql` -> `macros/x.sql` for messages.
pub(crate) fn display_template_name(name: &str) -> &str {
    name.split_once("://").map_or(name, |(_, p)| p)
}

/// One macro definition.
#[derive(Debug, Clone)]
pub(crate) struct MacroDef {
    pub(crate) unique_id: String,
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) template: String,
    pub(crate) original_file_path: String,
    pub(crate) contents: String,
    /// The macro's own text (`{% macro ... %}...{% endmacro %}`).
    pub(crate) macro_sql: String,
    pub(crate) arguments: Vec<String>,
    /// How many of `arguments` (the leading ones) have no default value.
    pub(crate) required: usize,
    /// The macros it calls, as dbt reads them from its text ([`MacroIndex::dependencies`];
    /// filled for the manifest).
    pub(crate) depends_on: Vec<String>,
    /// What a `macros:` entry of a properties file says of it, in its manifest entry's shape
    /// (`description`, `meta`, `docs`, `patch_path`, `arguments`).
    pub(crate) properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Every macro, by package and name.
#[derive(Debug, Default)]
pub struct MacroIndex {
    pub(crate) root_package: String,
    /// The prefixes `adapter.dispatch` tries, in order: the target's adapter type, the types
    /// its dbt adapter builds on (`redshift`: `postgres`), then `default`.
    pub(crate) dispatch_prefixes: Vec<String>,
    pub(crate) by_package: BTreeMap<String, BTreeMap<String, Arc<MacroDef>>>,
    /// `dispatch:` search orders by macro namespace.
    pub(crate) dispatch: BTreeMap<String, Vec<String>>,
    /// Per package: its macros as `MacroFn` values, shadowing globals inside that package.
    locals: BTreeMap<String, Value>,
    /// The relation-naming macros (`generate_schema_name`, ...) the root project overrides,
    /// itself or through what dbt's own version dispatches to (`default__generate_schema_name`
    /// in the project, or a package a `dispatch:` search order names).
    naming_overridden: std::collections::BTreeSet<&'static str>,
}

/// The macros that name a node's relation, which sluice computes natively unless overridden.
pub(crate) const NAMING_MACROS: [&str; 3] = [
    "generate_schema_name",
    "generate_alias_name",
    "generate_database_name",
];

impl MacroIndex {
    pub fn build(
        root_package: &str,
        adapter_types: &[&str],
        files: &[MacroFile],
        dispatch: Vec<(String, Vec<String>)>,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut by_package: BTreeMap<String, BTreeMap<String, Arc<MacroDef>>> = BTreeMap::new();
        let mut errors = Vec::new();
        for f in files {
            for c in find_defs(&f.contents) {
                let kind = c.kind;
                let raw_name = c.name;
                let name = if kind == "test" {
                    format!("test_{raw_name}")
                } else {
                    raw_name.to_string()
                };
                let arguments = c.arguments;
                let required = c.required;
                let def = MacroDef {
                    unique_id: format!("macro.{}.{}", f.package, name),
                    package: f.package.clone(),
                    name: name.clone(),
                    template: f.template_name(),
                    original_file_path: f.original_file_path.clone(),
                    contents: f.contents.clone(),
                    macro_sql: c.text.to_string(),
                    arguments,
                    required,
                    depends_on: Vec::new(),
                    properties: None,
                };
                let pkg = by_package.entry(f.package.clone()).or_default();
                if let Some(prev) = pkg.get(&name) {
                    if f.package != BUILTIN_PACKAGE {
                        errors.push(
                            Diagnostic::error(
                                Code::DuplicateMacro,
                                format!(
                                    "macro `{name}` is defined twice in package `{}`",
                                    f.package
                                ),
                            )
                            .in_file(&f.original_file_path)
                            .with_hint(format!(
                                "the other definition is in `{}`",
                                prev.original_file_path
                            )),
                        );
                    }
                    continue;
                }
                pkg.insert(name, Arc::new(def));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut index = MacroIndex {
            root_package: root_package.to_string(),
            dispatch_prefixes: adapter_types
                .iter()
                .map(|t| t.to_string())
                .chain(std::iter::once("default".to_string()))
                .collect(),
            by_package,
            dispatch: dispatch.into_iter().collect(),
            locals: BTreeMap::new(),
            naming_overridden: Default::default(),
        };
        let root_defines = |name: &str| {
            index
                .by_package
                .get(root_package)
                .is_some_and(|m| m.contains_key(name))
        };
        let overridden: std::collections::BTreeSet<&'static str> = NAMING_MACROS
            .into_iter()
            .filter(|name| {
                root_defines(name)
                    || index
                        .dispatch(name, Some(BUILTIN_PACKAGE), root_package)
                        .is_some_and(|d| d.package != BUILTIN_PACKAGE)
            })
            .collect();
        index.naming_overridden = overridden;
        let mut locals = BTreeMap::new();
        for (pkg, defs) in &index.by_package {
            if pkg == BUILTIN_PACKAGE || pkg == root_package {
                continue;
            }
            let map: BTreeMap<String, Value> = defs
                .iter()
                .map(|(n, d)| (n.clone(), Value::from_object(MacroFn { def: d.clone() })))
                .collect();
            locals.insert(pkg.clone(), Value::from(map));
        }
        index.locals = locals;
        Ok(index)
    }

    /// Finds a macro by name as seen from `from_package`: `pkg.name`, or bare `name` looked up in
    /// the calling package, then the root project, then `dbt`.
    pub(crate) fn find(&self, name: &str, from_package: Option<&str>) -> Option<Arc<MacroDef>> {
        if let Some((pkg, n)) = name.split_once('.') {
            return self.by_package.get(pkg).and_then(|m| m.get(n)).cloned();
        }
        let mut order: Vec<&str> = Vec::new();
        if let Some(p) = from_package {
            order.push(p);
        }
        order.push(&self.root_package);
        order.push(BUILTIN_PACKAGE);
        order
            .into_iter()
            .find_map(|p| self.by_package.get(p).and_then(|m| m.get(name)).cloned())
    }

    pub(crate) fn lookup_value(&self, name: &str, from_package: Option<&str>) -> Option<Value> {
        self.find(name, from_package)
            .map(|def| Value::from_object(MacroFn { def }))
    }

    /// `adapter.dispatch(name, macro_namespace)`, as dbt resolves it: the packages searched are
    /// the project's `dispatch:` search order for the namespace, else the root project then the
    /// namespace (for an installed package or `dbt`), else (no namespace, or one that names no
    /// package) the calling context; in each, the first
    /// of `<adapter>__name` and `default__name`.
    pub(crate) fn dispatch(
        &self,
        name: &str,
        namespace: Option<&str>,
        from_package: &str,
    ) -> Option<Arc<MacroDef>> {
        let packages: Vec<Option<&str>> = match namespace {
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) => order.iter().map(|s| Some(s.as_str())).collect(),
                None if ns == BUILTIN_PACKAGE || self.by_package.contains_key(ns) => {
                    vec![Some(self.root_package.as_str()), Some(ns)]
                }
                // A namespace that names no package (`adapter.dispatch('x', 'macros')`): dbt
                // searches as if none was given.
                None => vec![None],
            },
            None => vec![None],
        };
        for pkg in &packages {
            for prefix in &self.dispatch_prefixes {
                let full = format!("{prefix}__{name}");
                let found = match pkg {
                    Some(p) => self.by_package.get(*p).and_then(|m| m.get(&full)).cloned(),
                    None => self.find(&full, Some(from_package)),
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// Whether a node of `package` gets its relation's `name` part (`generate_schema_name`, one
    /// of [`NAMING_MACROS`]) from a macro of the project or a package rather than dbt's default,
    /// as dbt picks it: the node's own package's `generate_schema_name` (for a package's nodes),
    /// the root project's, or what dbt's dispatches to.
    pub(crate) fn naming_overridden(&self, name: &str, package: &str) -> bool {
        self.naming_overridden.contains(name)
            || (package != self.root_package
                && self
                    .by_package
                    .get(package)
                    .is_some_and(|m| m.contains_key(name)))
    }

    /// The macros `def` calls, as dbt lists them in its `depends_on.macros`: each call its text
    /// makes (`name(...)`, `package.name(...)`, and for `adapter.dispatch('name', ...)` the
    /// name and the macro the dispatch picks), in the order written, resolved as dbt's macro
    /// resolver resolves them from `def`'s package; calls of `ref`, `source`, `config`, of the
    /// macro itself, and of anything that is not a macro are left out.
    pub(crate) fn dependencies(&self, def: &MacroDef) -> Vec<String> {
        use crate::templating::syntax::{static_calls, StaticCall};
        let mut names: Vec<String> = Vec::new();
        let mut note = |n: String| {
            if !names.contains(&n) {
                names.push(n);
            }
        };
        for call in static_calls(&def.macro_sql) {
            match call {
                StaticCall::Named(n) => note(n),
                StaticCall::Dispatch { name, namespace } => {
                    // (Read as dbt reads it: from the root project's namespace, which without
                    // a namespace finds a macro of any package.)
                    let known = |ns: &&str| {
                        self.dispatch.contains_key(*ns) || self.by_package.contains_key(*ns)
                    };
                    let picked = match namespace.as_deref().filter(known) {
                        Some(ns) => self.dispatch(&name, Some(ns), &self.root_package),
                        None => self.dispatch_prefixes.iter().find_map(|prefix| {
                            self.resolve(&self.root_package, &format!("{prefix}__{name}"))
                                .cloned()
                        }),
                    };
                    note(name);
                    if let Some(d) = picked {
                        note(format!("{}.{}", d.package, d.name));
                    }
                }
            }
        }
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if matches!(n.as_str(), "ref" | "source" | "config") || n == def.name {
                continue;
            }
            let (package, name) = n.split_once('.').unwrap_or((&def.package, &n));
            if let Some(d) = self.resolve(package, name) {
                // (`dbt.run_query` in a package's own `run_query`: dbt's is a macro, sluice's a
                // function, so the name finds the macro itself, which is no dependency; a
                // macro calling itself by its own package's name is one.)
                let itself = d.unique_id == def.unique_id && package != def.package;
                if !itself && !out.contains(&d.unique_id) {
                    out.push(d.unique_id.clone());
                }
            }
        }
        out
    }

    /// A macro as dbt's macro resolver finds it from `package`: that package's, else the root
    /// project's, else a package's (the last by name, as dbt's later packages replace earlier
    /// ones in its table of names), else dbt's own.
    fn resolve(&self, package: &str, name: &str) -> Option<&Arc<MacroDef>> {
        let of = |p: &str| self.by_package.get(p).and_then(|m| m.get(name));
        of(package)
            .or_else(|| of(&self.root_package))
            .or_else(|| {
                self.by_package
                    .iter()
                    .rev()
                    .filter(|(p, _)| *p != BUILTIN_PACKAGE && **p != self.root_package)
                    .find_map(|(_, m)| m.get(name))
            })
            .or_else(|| of(BUILTIN_PACKAGE))
    }

    /// The names `dispatch` tried, for its error message.
    pub(crate) fn dispatch_attempts(&self, name: &str, namespace: Option<&str>) -> Vec<String> {
        let packages: Vec<String> = match namespace {
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) => order.clone(),
                None if ns == BUILTIN_PACKAGE || self.by_package.contains_key(ns) => {
                    vec![self.root_package.clone(), ns.to_string()]
                }
                None => vec![String::new()],
            },
            None => vec![String::new()],
        };
        let mut out = Vec::new();
        for p in &packages {
            for prefix in &self.dispatch_prefixes {
                if p.is_empty() {
                    out.push(format!("{prefix}__{name}"));
                } else {
                    out.push(format!("{p}.{prefix}__{name}"));
                }
            }
        }
        out
    }

    /// All macro names visible bare from the root project (for globals and hints).
    pub(crate) fn global_names(&self) -> Vec<(String, Arc<MacroDef>)> {
        let mut out: BTreeMap<String, Arc<MacroDef>> = BTreeMap::new();
        for pkg in [BUILTIN_PACKAGE, self.root_package.as_str()] {
            if let Some(defs) = self.by_package.get(pkg) {
                for (n, d) in defs {
                    out.insert(n.clone(), d.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    /// A package namespace object (`dbt_utils.x`).
    pub(crate) fn namespace_value(&self, package: &str) -> Option<Value> {
        let defs = self.by_package.get(package)?;
        let map: BTreeMap<String, Value> = defs
            .iter()
            .map(|(n, d)| (n.clone(), Value::from_object(MacroFn { def: d.clone() })))
            .collect();
        Some(Value::from(map))
    }

    /// A package's macros by bare name, which its own nodes and macros see before the root's.
    pub(crate) fn locals_for(&self, package: &str) -> Option<Value> {
        self.locals.get(package).cloned()
    }
}

/// The index, reachable from inside templates as the hidden global `__sluice_index`.
#[derive(Debug)]
pub(crate) struct IndexHandle(pub(crate) Arc<MacroIndex>);
impl Object for IndexHandle {}

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        vec![$(MacroFile {
            package: BUILTIN_PACKAGE.to_string(),
            original_file_path: concat!("sluice/macros/", $name).to_string(),
            contents: include_str!(concat!("../builtins/", $name)).to_string(),
        }),*]
    };
}

/// sluice's own macro library (dbt's global project, written here), with the target engine's
/// own macros and those of the engines its dbt adapter builds on.
pub(crate) fn builtin_files(dialect: crate::sql::Dialect) -> Vec<MacroFile> {
    let mut files = builtin!["naming.sql", "tests.sql", "adapter.sql", "cross_db.sql"];
    for d in dialect.lineage() {
        files.push(MacroFile {
            package: BUILTIN_PACKAGE.to_string(),
            original_file_path: format!("sluice/macros/{}.sql", d.name()),
            contents: d.macros().to_string(),
        });
    }
    files
}
