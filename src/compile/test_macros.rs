//! A generic test's macro: how dbt resolves the `test_<name>` a test calls and which macros it
//! records for it, the parse-phase render of a macro that calls `config(...)`, and the check that
//! the macro exists and gets the arguments it needs. Split from `generic_tests`, which builds the
//! test nodes: everything here depends on the test's name, namespace and package alone, so a
//! worker works it out once per name ([`MacroMemo`]) rather than once per test.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::resolve::ParseServices;
use super::test_names::TestDefinition;
use super::yaml_values::parse_call;
use crate::diagnostics::{Code, Diagnostic};
use crate::project::Project;
use crate::templating::{MacroDef, RenderCtx, Templates};

/// What the tests of one macro name (`namespace`, `test_name`) find of their macro, the same
/// for each of them (a project's thousands of tests call a handful of macros).
pub(super) struct TestMacro {
    /// The test's namespace and name, as written (`dbt_utils`, `expression_is_true`).
    namespace: Option<String>,
    test_name: String,
    /// What the test's raw code calls: `test_<name>` or `<namespace>.test_<name>`.
    pub(super) call: String,
    /// Its definition, as a call from the test's package finds it.
    pub(super) def: Option<Arc<MacroDef>>,
    /// Whether a project or package (not sluice) defines it in a file that calls `config(`:
    /// such a macro is rendered while parsing, for those calls (most custom tests make none,
    /// and rendering every test twice would slow parsing down).
    pub(super) own_calls_config: bool,
    /// `macro.<package>.test_<name>`: the namespace's, else the defining package's, else dbt's.
    id: String,
    /// The macro dbt records first and whether the named one follows (`resolved_test_macro`).
    resolved: Option<(String, bool)>,
}

impl TestMacro {
    /// A generic test's macro dependencies: its macro as dbt resolves it from the test's package
    /// (which may not be the one a namespace names), then (except for dbt's own `not_null` and
    /// `unique`, which dbt does not render while parsing) what its arguments call:
    /// `get_where_subquery` for the `model` argument (its static read does not render it), the
    /// macro the test names, and what the parse-phase renders ran (`recorded`).
    pub(super) fn dependencies(
        &self,
        td: &TestDefinition,
        where_subquery: impl FnOnce() -> String,
        recorded: Vec<String>,
        refs: &mut [crate::templating::RefCall],
    ) -> Vec<String> {
        let (first, named_too) = match &self.resolved {
            Some((first, named_too)) => (first, *named_too),
            None => (&self.id, true),
        };
        let builtin = is_dbt_static(first);
        let mut m = vec![first.clone()];
        let model_arg = td.kwargs.get("model").and_then(Value::as_str);
        if !builtin && model_arg.is_some_and(|s| s.contains("get_where_subquery(")) {
            m.push(where_subquery());
        }
        if !builtin && named_too && !m.contains(&self.id) {
            m.push(self.id.clone());
        }
        if builtin {
            // dbt records the ref to the tested node as it read it (a versioned
            // model's `v` as written), without rendering the arguments.
            for r in refs.iter_mut() {
                r.version_quoted = false;
            }
        }
        for x in recorded.into_iter().filter(|_| !builtin) {
            if !m.contains(&x) {
                m.push(x);
            }
        }
        m
    }
}

/// One worker's test macros by name, and `get_where_subquery`, as calls from the tests'
/// package find them.
pub(super) struct MacroMemo<'a> {
    pkg: &'a str,
    templates: &'a Templates,
    services: &'a Arc<ParseServices>,
    macros: Vec<Rc<TestMacro>>,
    where_subquery: Option<String>,
}

impl<'a> MacroMemo<'a> {
    pub(super) fn new(
        pkg: &'a str,
        templates: &'a Templates,
        services: &'a Arc<ParseServices>,
    ) -> Self {
        MacroMemo {
            pkg,
            templates,
            services,
            macros: Vec::new(),
            where_subquery: None,
        }
    }

    /// The macro of the tests named as `td` is.
    pub(super) fn test_macro(&mut self, td: &TestDefinition) -> Rc<TestMacro> {
        let found = self
            .macros
            .iter()
            .find(|m| m.test_name == td.test_name && m.namespace == td.namespace);
        if let Some(m) = found {
            return m.clone();
        }
        let m = Rc::new(self.look_up(td));
        self.macros.push(m.clone());
        m
    }

    fn look_up(&self, td: &TestDefinition) -> TestMacro {
        let call = match &td.namespace {
            Some(ns) => [ns.as_str(), ".test_", &td.test_name].concat(),
            None => ["test_", td.test_name.as_str()].concat(),
        };
        let def = self.templates.index.find(&call, Some(self.pkg));
        // The test macro when a project or package defines it (not sluice's own).
        let own = def
            .as_deref()
            .filter(|d| d.package != crate::templating::BUILTIN_PACKAGE);
        // What the test makes depends on whether its macro's file calls `config(` (rendered
        // then, which notes what it runs), not only on what the macro runs: partial parsing
        // must know it.
        if let Some(d) = own {
            crate::templating::Services::note_test_macro_file(self.services.as_ref(), &d.template);
        }
        let package = td
            .namespace
            .as_deref()
            .or(own.map(|d| d.package.as_str()))
            .unwrap_or("dbt");
        TestMacro {
            own_calls_config: own.is_some_and(|d| crate::templating::calls_config(&d.contents)),
            id: ["macro.", package, ".test_", &td.test_name].concat(),
            resolved: resolved_test_macro(self.templates, self.pkg, td),
            namespace: td.namespace.clone(),
            test_name: td.test_name.clone(),
            call,
            def,
        }
    }

    /// `get_where_subquery` as a call from the tests' package finds it (a project may override
    /// dbt's); looked up only for a test whose model argument calls it.
    pub(super) fn where_subquery(&mut self) -> &str {
        let (templates, pkg) = (self.templates, self.pkg);
        self.where_subquery.get_or_insert_with(|| {
            templates
                .index
                .find("get_where_subquery", Some(pkg))
                .map_or_else(
                    || "macro.dbt.get_where_subquery".to_string(),
                    |d| format!("macro.{}.get_where_subquery", d.package),
                )
        })
    }
}

/// The macro dbt first records for a generic test: `test_<name>` as its macro resolver finds it
/// from the test's package, the namespace written aside (the package's own, the root
/// project's, then any package's, then dbt's); and whether the macro the test names is
/// recorded after it too: dbt renders the test with only that first macro and what it calls
/// in reach, so a namespaced test macro it does not call is not recorded.
fn resolved_test_macro(
    templates: &Templates,
    pkg: &str,
    td: &TestDefinition,
) -> Option<(String, bool)> {
    let name = format!("test_{}", td.test_name);
    let index = &templates.index;
    let defines = |p: &str| {
        index
            .by_package
            .get(p)
            .is_some_and(|m| m.contains_key(&name))
    };
    let builtin = crate::templating::BUILTIN_PACKAGE;
    let package = [
        Some(pkg),
        Some(index.root_package.as_str()),
        td.namespace.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|p| defines(p))
    .or_else(|| {
        index
            .by_package
            .keys()
            .map(String::as_str)
            .find(|p| *p != builtin && defines(p))
    })
    .or_else(|| defines(builtin).then_some(builtin))?;
    let named_too = match td.namespace.as_deref() {
        Some(ns) if ns != package => index
            .by_package
            .get(package)
            .and_then(|m| m.get(&name))
            .is_some_and(|d| d.macro_sql.contains(&format!("{ns}.{name}"))),
        _ => true,
    };
    Some((format!("macro.{package}.{name}"), named_too))
}

/// Whether a test's macro is dbt's own `not_null` or `unique`, which dbt's parser handles
/// without rendering (a shortcut it takes for those two only).
pub(super) fn is_dbt_static(macro_id: &str) -> bool {
    macro_id == "macro.dbt.test_not_null" || macro_id == "macro.dbt.test_unique"
}

/// Calls a generic test's macro with `execute` false, for the `config()` calls it makes; what it
/// renders is discarded, and so is a failure (the compile-phase render reports real errors).
pub(super) fn parse_render_test_macro(
    macro_name: &str,
    kwargs: &Map<String, Value>,
    file: &str,
    templates: &Templates,
    ctx: &Arc<RenderCtx>,
) {
    let mut values: Vec<(String, minijinja::Value)> = Vec::new();
    for (k, v) in kwargs {
        let val = match v {
            Value::String(s) => {
                let t = s.trim();
                let expr = t
                    .strip_prefix("{{")
                    .and_then(|r| r.strip_suffix("}}"))
                    .map(str::trim)
                    .or_else(|| parse_call(t).map(|_| t));
                match expr {
                    Some(e) => match templates.eval_expr(file, e, ctx) {
                        Ok(v) => v,
                        Err(_) => return,
                    },
                    None => minijinja::Value::from(s.clone()),
                }
            }
            other => minijinja::Value::from_serialize(other),
        };
        values.push((k.clone(), val));
    }
    let kw: minijinja::value::Kwargs = values.into_iter().collect();
    let _ = templates.call_macro(macro_name, vec![minijinja::Value::from(kw)], ctx);
}

/// A generic test whose macro does not exist (dbt: a compilation error while parsing), or one of
/// dbt's own tests without an argument it cannot run without (`accepted_values` without
/// `values`, which would only fail in the warehouse), is a parse error at the test's line of its
/// properties file.
pub(super) fn check_test_macro(
    td: &TestDefinition,
    def: Option<&crate::templating::MacroDef>,
    macro_name: &str,
    file: &str,
    project: &Project,
    templates: &Templates,
) -> Option<Diagnostic> {
    // (Written only for a test that fails the check.)
    let shown = || match &td.namespace {
        Some(ns) => format!("{ns}.{}", td.test_name),
        None => td.test_name.clone(),
    };
    let (message, hint) = match def {
        None => {
            let shown = shown();
            let known: Vec<String> = templates
                .index
                .by_package
                .values()
                .flat_map(|m| m.keys())
                .filter_map(|k| k.strip_prefix("test_").map(str::to_string))
                .collect();
            (
                format!("unknown generic test `{shown}`: no macro `{macro_name}` was found"),
                crate::diagnostics::did_you_mean(&td.test_name, known.iter().map(String::as_str))
                    .unwrap_or_else(|| {
                        "define it with `{% test name(model, column_name) %}` in a macros or tests folder, or install the package that has it".to_string()
                    }),
            )
        }
        // Only dbt's own tests: a package's test macro may well cope with an argument left out
        // (Jinja passes it as undefined, and dbt runs such tests), dbt's cannot.
        Some(d) if d.package != crate::templating::BUILTIN_PACKAGE => return None,
        Some(d) => {
            let missing: Vec<&String> = d
                .arguments
                .iter()
                .take(d.required)
                .filter(|arg| !matches!(arg.as_str(), "model" | "column_name"))
                .filter(|arg| !td.kwargs.contains_key(arg.as_str()))
                .collect();
            let first = missing.first()?;
            let shown = shown();
            (
                format!("generic test `{shown}` needs argument `{first}`, which is not given"),
                format!(
                    "give it under the test (`- {shown}:` then `{first}: ...`, or under `arguments:`)"
                ),
            )
        }
    };
    let text = project
        .yaml_files
        .iter()
        .chain(project.packages.iter().flat_map(|p| p.yaml_files.iter()))
        .find(|f| f.original_file_path == file)
        .map_or("", |f| f.text.as_str());
    let at = text
        .find(&td.test_name)
        .map(|i| crate::diagnostics::line_col(text, i));
    let d = Diagnostic::error(Code::TestDefinition, message);
    let d = match at {
        Some((line, col)) => d.at(crate::diagnostics::Location::at(file, line, col)),
        None => d.in_file(file),
    };
    Some(d.with_hint(hint))
}
