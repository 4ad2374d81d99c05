//! Macros: where they come from, how they are named, and how a call finds the right one.
//!
//! Every macro file is added to the environment as a template named `<package>://<path>`, after
//! [`preprocess`] renames `{% macro x(...) %}` to `{% macro __m_x(...) %}` and turns `{% test x %}`
//! blocks into `__m_test_x` macros. Why rename: a call `x()` then always goes through the global
//! [`MacroFn`] object rather than a same-file closure, so `return()` (which unwinds to the nearest
//! `MacroFn`) and dbt's lookup rules (package-local, then root project, then `dbt`) hold everywhere.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, Value};
use minijinja::{Error, State};
use regex::Regex;

use crate::diagnostics::Diagnostic;

/// Package name of sluice's built-in macro library.
pub const BUILTIN_PACKAGE: &str = "dbt";

/// A file holding macros.
#[derive(Debug, Clone)]
pub struct MacroFile {
    pub package: String,
    pub original_file_path: String,
    pub contents: String,
}

impl MacroFile {
    pub fn template_name(&self) -> String {
        format!("{}://{}", self.package, self.original_file_path)
    }
}

/// `dbt://macros/x.sql` -> `macros/x.sql` for messages.
pub fn display_template_name(name: &str) -> &str {
    name.split_once("://").map_or(name, |(_, p)| p)
}

/// One macro definition.
#[derive(Debug, Clone)]
pub struct MacroDef {
    pub unique_id: String,
    pub package: String,
    pub name: String,
    pub template: String,
    pub original_file_path: String,
    pub contents: String,
    /// The macro's own text (`{% macro ... %}...{% endmacro %}`).
    pub macro_sql: String,
    pub arguments: Vec<String>,
    /// How many of `arguments` (the leading ones) have no default value.
    pub required: usize,
}

static MACRO_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%(-?)\s*(macro|test|materialization)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\(|,)?")
        .unwrap()
});
static ENDTEST_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%(-?)\s*endtest\s*(-?)%\}").unwrap());
static ENDMAT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%(-?)\s*endmaterialization\s*(-?)%\}").unwrap());
static HEAD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*(macro|test)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(").unwrap());
static END_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*end(?:macro|test)\s*-?%\}").unwrap());

/// One `{% macro %}` / `{% test %}` definition found in a file.
struct FoundDef<'a> {
    kind: &'a str,
    name: &'a str,
    arguments: Vec<String>,
    required: usize,
    text: &'a str,
}

/// Finds the macro and test definitions of a file. Signatures are scanned with brackets and
/// quotes balanced, so defaults such as `order_by='count(*) desc'` do not end them early.
fn find_defs(src: &str) -> Vec<FoundDef<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(c) = HEAD_RE.captures_at(src, from) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let kind = c.get(1).map_or("", |m| m.as_str());
        let name = c.get(2).map_or("", |m| m.as_str());
        let Some(close) = matching_paren(src, whole.end) else {
            break;
        };
        let args = &src[whole.end..close];
        let Some(end) = END_RE.find_at(src, close) else {
            break;
        };
        let parts = split_top_level(args);
        out.push(FoundDef {
            kind,
            name,
            required: parts
                .iter()
                .take_while(|a| !a.contains('=') && !a.trim().is_empty())
                .count(),
            arguments: parts
                .into_iter()
                .map(|a| a.split('=').next().unwrap_or("").trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            text: &src[whole.start..end.end()],
        });
        from = end.end();
    }
    out
}

/// Index of the `)` closing the `(` just before `start`.
fn matching_paren(src: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, ch) in src[start..].char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')') if depth == 0 => return Some(start + i),
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Splits an argument list at its top-level commas.
fn split_top_level(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut last = 0;
    for (i, ch) in args.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                out.push(&args[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    out.push(&args[last..]);
    out
}

/// Rewrites a macro file for minijinja (see the module docs).
pub fn preprocess(src: &str) -> String {
    let s = MACRO_RE.replace_all(src, |c: &regex::Captures| {
        let dash = &c[1];
        let name = &c[3];
        let open = c.get(4).map_or("", |m| m.as_str());
        match &c[2] {
            "macro" => format!(
                "{{%{dash} macro __m_{name}{}",
                if open.is_empty() { "" } else { "(" }
            ),
            "test" => format!(
                "{{%{dash} macro __m_test_{name}{}",
                if open.is_empty() { "" } else { "(" }
            ),
            // Custom materializations are not supported: keep the block as an unused macro.
            _ => format!("{{%{dash} macro __materialization_{name}() %}}{{#"),
        }
    });
    let s = ENDTEST_RE.replace_all(&s, "{%$1 endmacro $2%}");
    let s = ENDMAT_RE.replace_all(&s, "#}{%$1 endmacro $2%}");
    let s = defaults_from_earlier_args(&s);
    let s = super::pyvalues::rewrite_literals(&s);
    super::syntax::rewrite(&s).into_owned()
}

static MACRO_HEAD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*macro\s+[A-Za-z_][A-Za-z0-9_]*\s*\(").unwrap());

/// Jinja2 evaluates a macro's defaults left to right with the earlier arguments bound
/// (`{% macro m(schema, name=schema) %}`); minijinja evaluates them before binding any. So such a
/// default moves into the body: `{% macro m(schema, name=__sluice_missing) %}{% if name is
/// undefined %}{% set name = schema %}{% endif %}` (`__sluice_missing` is undefined, as is a
/// missing argument).
fn defaults_from_earlier_args(src: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut last = 0;
    for m in MACRO_HEAD_RE.find_iter(src) {
        // A head inside the previous macro's rewritten head (its parentheses never closed
        // before this one): already copied, and not a head of its own.
        if m.start() < last {
            continue;
        }
        let Some(close) = matching_paren(src, m.end()) else {
            continue;
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut params: Vec<String> = Vec::new();
        let mut moved: Vec<(String, String)> = Vec::new();
        for arg in split_top_level(&src[m.end()..close]) {
            let (name, default) = match arg.split_once('=') {
                Some((n, d)) => (n.trim(), Some(d.trim())),
                None => (arg.trim(), None),
            };
            if name.is_empty() {
                continue;
            }
            let refers = default.is_some_and(|d| {
                seen.iter().any(|p| {
                    d.match_indices(p).any(|(i, _)| {
                        let before = d[..i].chars().next_back();
                        let after = d[i + p.len()..].chars().next();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
            });
            match default {
                Some(d) if refers => {
                    // An undefined name: the argument stays optional.
                    params.push(format!("{name}=__sluice_missing"));
                    moved.push((name.to_string(), d.to_string()));
                }
                Some(d) => params.push(format!("{name}={d}")),
                None => params.push(name.to_string()),
            }
            seen.push(name);
        }
        if moved.is_empty() {
            continue;
        }
        let Some(tag_end) = src[close..].find("%}").map(|i| close + i) else {
            continue;
        };
        let trim = src[..tag_end].ends_with('-');
        out.push_str(&src[last..m.end()]);
        out.push_str(&params.join(", "));
        out.push_str(&src[close..tag_end + 2]);
        for (i, (name, default)) in moved.iter().enumerate() {
            let end = if i + 1 == moved.len() && trim {
                "-%}"
            } else {
                "%}"
            };
            out.push_str(&format!(
                "{{% if {name} is undefined %}}{{% set {name} = {default} %}}{{% endif {end}"
            ));
        }
        last = tag_end + 2;
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(src);
    }
    out.push_str(&src[last..]);
    std::borrow::Cow::Owned(out)
}

/// Rewrites a node's SQL: list and dict literals assigned with `{% set %}` become mutable.
pub fn preprocess_node(src: &str) -> std::borrow::Cow<'_, str> {
    match super::pyvalues::rewrite_literals(src) {
        std::borrow::Cow::Borrowed(s) => super::syntax::rewrite(s),
        std::borrow::Cow::Owned(s) => {
            std::borrow::Cow::Owned(super::syntax::rewrite(&s).into_owned())
        }
    }
}

/// Every macro, by package and name.
#[derive(Debug, Default)]
pub struct MacroIndex {
    pub root_package: String,
    pub adapter_type: String,
    pub by_package: BTreeMap<String, BTreeMap<String, Arc<MacroDef>>>,
    /// `dispatch:` search orders by macro namespace.
    pub dispatch: BTreeMap<String, Vec<String>>,
    /// Per package: its macros as `MacroFn` values, shadowing globals inside that package.
    locals: BTreeMap<String, Value>,
}

impl MacroIndex {
    pub fn build(
        root_package: &str,
        adapter_type: &str,
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
                };
                let pkg = by_package.entry(f.package.clone()).or_default();
                if let Some(prev) = pkg.get(&name) {
                    if f.package != BUILTIN_PACKAGE {
                        errors.push(
                            Diagnostic::error(
                                "duplicate-macro",
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
            adapter_type: adapter_type.to_string(),
            by_package,
            dispatch: dispatch.into_iter().collect(),
            locals: BTreeMap::new(),
        };
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
    pub fn find(&self, name: &str, from_package: Option<&str>) -> Option<Arc<MacroDef>> {
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

    pub fn lookup_value(&self, name: &str, from_package: Option<&str>) -> Option<Value> {
        self.find(name, from_package)
            .map(|def| Value::from_object(MacroFn { def }))
    }

    /// `adapter.dispatch(name, macro_namespace)`, as dbt resolves it: the packages searched are
    /// the project's `dispatch:` search order for the namespace, else the root project then the
    /// namespace (for an installed package or `dbt`), else the calling context; in each, the first
    /// of `<adapter>__name` and `default__name`.
    pub fn dispatch(
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
                None => vec![Some(ns)],
            },
            None => vec![None],
        };
        let prefixes: [&str; 2] = [self.adapter_type.as_str(), "default"];
        for pkg in &packages {
            for prefix in &prefixes {
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

    /// The names `dispatch` tried, for its error message.
    pub fn dispatch_attempts(&self, name: &str, namespace: Option<&str>) -> Vec<String> {
        let packages: Vec<String> = match namespace {
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) => order.clone(),
                None if ns == BUILTIN_PACKAGE || self.by_package.contains_key(ns) => {
                    vec![self.root_package.clone(), ns.to_string()]
                }
                None => vec![ns.to_string()],
            },
            None => vec![String::new()],
        };
        let mut out = Vec::new();
        for p in &packages {
            for prefix in [self.adapter_type.as_str(), "default"] {
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
    pub fn global_names(&self) -> Vec<(String, Arc<MacroDef>)> {
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
    pub fn namespace_value(&self, package: &str) -> Option<Value> {
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

/// A callable macro: evaluates its file in the current render context and calls it.
#[derive(Debug)]
pub struct MacroFn {
    pub def: Arc<MacroDef>,
}

/// How deeply macro calls may nest on one thread. Each call renders in a fresh minijinja
/// `State`, so the environment's recursion limit (which counts within one state) does not see
/// macro-to-macro recursion: this does. Python's Jinja2 under dbt gives up near 1,000 frames;
/// the render threads' stacks ([`crate::RENDER_STACK_BYTES`]) are sized for this many levels.
pub const MAX_MACRO_DEPTH: usize = 1000;

thread_local! {
    static MACRO_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of macro nesting on this thread, released when the call returns (or unwinds).
struct DepthGuard;

impl DepthGuard {
    fn enter(def: &MacroDef) -> Result<Self, Error> {
        let depth = MACRO_DEPTH.with(|d| d.get());
        if depth >= MAX_MACRO_DEPTH {
            return Err(Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!(
                    "maximum recursion depth exceeded: macro `{}` ({}) nested more than {} calls deep",
                    def.name, def.original_file_path, MAX_MACRO_DEPTH
                ),
            ));
        }
        MACRO_DEPTH.with(|d| d.set(depth + 1));
        Ok(DepthGuard)
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        MACRO_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

thread_local! {
    static RETURN_SLOT: std::cell::RefCell<Vec<Option<Value>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The marker detail of the error `return()` raises to unwind to its macro.
pub const RETURN_MARKER: &str = "__sluice_return__";

/// `return(value)`: stores the value and unwinds to the innermost macro call.
pub fn do_return(value: Value) -> Result<Value, Error> {
    let stored = RETURN_SLOT.with(|s| {
        let mut s = s.borrow_mut();
        match s.last_mut() {
            Some(slot) => {
                *slot = Some(value);
                true
            }
            None => false,
        }
    });
    if !stored {
        return Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            "return() called outside of a macro",
        ));
    }
    Err(Error::new(
        minijinja::ErrorKind::InvalidOperation,
        RETURN_MARKER,
    ))
}

impl Object for MacroFn {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call(self: &Arc<Self>, state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let _depth = DepthGuard::enter(&self.def)?;
        let ctx = super::current();
        if let Some(v) = ctx
            .as_ref()
            .and_then(|c| c.services.macro_override(&self.def.package, &self.def.name))
        {
            return Ok(Value::from_serialize(&v));
        }
        let base = ctx.as_ref().map(|c| c.jinja_ctx()).unwrap_or_default();
        let index = state
            .lookup("__sluice_index")
            .and_then(|v| v.downcast_object::<IndexHandle>());
        let locals = index
            .as_ref()
            .and_then(|i| i.0.locals_for(&self.def.package));
        let tmpl = state.env().get_template(&self.def.template)?;
        let (args, recorder) = render_caller(state, args)?;
        let (args, catch) = catch_extra_args(&self.def, &args);
        let base = match catch {
            Some(extra) => minijinja::context! { ..extra, ..base },
            None => base,
        };
        #[allow(deprecated)]
        let st = match locals {
            Some(l) => tmpl.eval_to_state(minijinja::context! { ..l, ..base })?,
            None => tmpl.eval_to_state(base)?,
        };
        let local_name = format!("__m_{}", self.def.name);
        let m = st.lookup(&local_name).ok_or_else(|| {
            Error::new(
                minijinja::ErrorKind::UnknownFunction,
                format!("macro `{}` not found in its file", self.def.name),
            )
        })?;
        use std::sync::atomic::Ordering;
        if let Some(c) = &ctx {
            if c.macro_depth.fetch_add(1, Ordering::SeqCst) == 0 {
                if let Ok(mut r) = c.recorded.lock() {
                    if !r.macros.contains(&self.def.unique_id) {
                        r.macros.push(self.def.unique_id.clone());
                    }
                }
            }
        }
        RETURN_SLOT.with(|s| s.borrow_mut().push(None));
        let result = m.call(&st, &args);
        if let Some(c) = &ctx {
            c.macro_depth.fetch_sub(1, Ordering::SeqCst);
        }
        let slot = RETURN_SLOT.with(|s| s.borrow_mut().pop().flatten());
        let value = match result {
            Ok(v) => v,
            Err(e) if e.detail() == Some(RETURN_MARKER) => slot.unwrap_or_default(),
            Err(e) => return Err(e),
        };
        match &recorder {
            Some((r, caller)) => fill_caller_markers(state, value, r, caller),
            None => Ok(value),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<macro {}>", self.def.name)
    }
}

/// `{% call m() %}body{% endcall %}`: the body is a macro of the calling template's state, which
/// minijinja cannot call from the state `m` runs in. So a body without parameters is rendered
/// here, in the caller's state, and `m` gets a `caller` that returns the text; a body with
/// parameters (`{% call(row) m() %}`) gets a [`CallerRecorder`]: each `caller(args)` in `m`
/// prints a marker, and once `m` returns, each marker is replaced by the body rendered here with
/// those arguments (see [`fill_caller_markers`]).
fn render_caller(
    state: &State<'_, '_>,
    args: &[Value],
) -> Result<(Vec<Value>, Option<(Arc<CallerRecorder>, Value)>), Error> {
    let Some(last) = args.last().filter(|a| a.is_kwargs()) else {
        return Ok((args.to_vec(), None));
    };
    let kw = minijinja::value::Kwargs::try_from(last.clone())?;
    let Some(caller) = kw.get::<Option<Value>>("caller")? else {
        return Ok((args.to_vec(), None));
    };
    if caller.downcast_object_ref::<CallerText>().is_some()
        || caller.downcast_object_ref::<CallerRecorder>().is_some()
    {
        return Ok((args.to_vec(), None));
    }
    let takes_args = caller
        .get_attr("arguments")
        .ok()
        .and_then(|a| a.len())
        .is_some_and(|n| n > 0);
    let mut recorder = None;
    let replacement = if takes_args {
        let r = Arc::new(CallerRecorder {
            id: NEXT_CALLER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            calls: std::sync::Mutex::new(Vec::new()),
        });
        recorder = Some((r.clone(), caller.clone()));
        Value::from_dyn_object(r)
    } else {
        Value::from_object(CallerText(caller.call(state, &[])?.to_string()))
    };
    let pairs: Vec<(String, Value)> = kw
        .args()
        .map(|k| {
            let v = if k == "caller" {
                replacement.clone()
            } else {
                kw.get::<Value>(k).unwrap_or_default()
            };
            (k.to_string(), v)
        })
        .collect();
    let mut out = args[..args.len() - 1].to_vec();
    out.push(Value::from(
        pairs.into_iter().collect::<minijinja::value::Kwargs>(),
    ));
    Ok((out, recorder))
}

/// A `caller` whose body was rendered already.
#[derive(Debug)]
struct CallerText(String);

impl Object for CallerText {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(Value::from_safe_string(self.0.clone()))
    }
}

static NEXT_CALLER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A `caller` taking arguments: records each call and prints a marker for it.
#[derive(Debug)]
struct CallerRecorder {
    id: u64,
    calls: std::sync::Mutex<Vec<Vec<Value>>>,
}

impl CallerRecorder {
    fn marker(&self, n: usize) -> String {
        format!("\u{1}sluice-caller:{}:{n}\u{1}", self.id)
    }
}

impl Object for CallerRecorder {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let mut calls = self
            .calls
            .lock()
            .map_err(|_| Error::new(minijinja::ErrorKind::InvalidOperation, "caller poisoned"))?;
        calls.push(args.to_vec());
        Ok(Value::from_safe_string(self.marker(calls.len() - 1)))
    }
}

/// Replaces the markers `caller(args)` printed in a macro's output by the call block's body
/// rendered (in the calling template's `state`) with those arguments.
fn fill_caller_markers(
    state: &State<'_, '_>,
    value: Value,
    recorder: &CallerRecorder,
    caller: &Value,
) -> Result<Value, Error> {
    let calls = recorder.calls.lock().map(|c| c.clone()).unwrap_or_default();
    let Some(text) = value.as_str().filter(|_| !calls.is_empty()) else {
        return Ok(value);
    };
    let mut text = text.to_string();
    for (n, args) in calls.iter().enumerate() {
        let marker = recorder.marker(n);
        if text.contains(&marker) {
            let body = caller.call(state, args)?;
            text = text.replace(&marker, &body.to_string());
        }
    }
    Ok(if value.is_safe() {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
}

static KWARGS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bkwargs\b").unwrap());
static VARARGS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bvarargs\b").unwrap());

/// Jinja2's `kwargs` / `varargs`: a macro whose body mentions them accepts keyword arguments it
/// does not declare (collected in `kwargs`) and extra positional ones (in `varargs`); minijinja
/// has neither, so they are split off here and handed to the macro as context variables.
fn catch_extra_args(def: &MacroDef, args: &[Value]) -> (Vec<Value>, Option<Value>) {
    let body = def
        .macro_sql
        .split_once("%}")
        .map_or(def.macro_sql.as_str(), |(_, b)| b);
    let catch_kwargs = KWARGS_RE.is_match(body);
    let catch_varargs = VARARGS_RE.is_match(body);
    if !catch_kwargs && !catch_varargs {
        return (args.to_vec(), None);
    }
    let mut positional: Vec<Value> = args.to_vec();
    let mut kwargs: Option<minijinja::value::Kwargs> = None;
    if let Some(last) = positional.last() {
        if last.is_kwargs() {
            kwargs = minijinja::value::Kwargs::try_from(last.clone()).ok();
            positional.pop();
        }
    }
    let mut extra_kw: BTreeMap<String, Value> = BTreeMap::new();
    let mut kept: Vec<(String, Value)> = Vec::new();
    if let Some(kw) = &kwargs {
        for k in kw.args() {
            let v: Value = kw.get(k).unwrap_or_default();
            if catch_kwargs && k != "caller" && !def.arguments.iter().any(|a| a == k) {
                extra_kw.insert(k.to_string(), v);
            } else {
                kept.push((k.to_string(), v));
            }
        }
    }
    let mut extra_pos = Vec::new();
    if catch_varargs && positional.len() > def.arguments.len() {
        extra_pos = positional.split_off(def.arguments.len());
    }
    if !kept.is_empty() {
        positional.push(Value::from(
            kept.into_iter().collect::<minijinja::value::Kwargs>(),
        ));
    }
    let ctx = minijinja::context! {
        kwargs => Value::from(extra_kw),
        varargs => Value::from(extra_pos),
    };
    (positional, Some(ctx))
}

/// The index, reachable from inside templates as the hidden global `__sluice_index`.
#[derive(Debug)]
pub struct IndexHandle(pub Arc<MacroIndex>);
impl Object for IndexHandle {}

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        vec![$(MacroFile {
            package: BUILTIN_PACKAGE.to_string(),
            original_file_path: concat!("sluice/macros/", $name).to_string(),
            contents: include_str!(concat!("builtins/", $name)).to_string(),
        }),*]
    };
}

/// sluice's own macro library (dbt's global project, written here), with the target engine's
/// own macros.
pub fn builtin_files(dialect: crate::sql::Dialect) -> Vec<MacroFile> {
    let mut files = builtin!["naming.sql", "tests.sql", "adapter.sql", "cross_db.sql"];
    files.push(MacroFile {
        package: BUILTIN_PACKAGE.to_string(),
        original_file_path: format!("sluice/macros/{}.sql", dialect.name()),
        contents: dialect.macros().to_string(),
    });
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocess_renames_macros_and_tests() {
        let src = "{%- macro foo(a, b=1) -%}x{%- endmacro %}{% test is_pos(model, column_name) %}y{% endtest %}";
        let out = preprocess(src);
        assert_eq!(out, "{%- macro __m_foo(a, b=1) -%}x{%- endmacro %}{% macro __m_test_is_pos(model, column_name) %}y{% endmacro %}");
    }

    #[test]
    fn defaults_see_earlier_arguments() {
        let src = "{%- macro m(a, b=a, c=b ~ '!', d='x') -%}\n{{ b }}{%- endmacro %}";
        assert_eq!(
            defaults_from_earlier_args(src),
            "{%- macro m(a, b=__sluice_missing, c=__sluice_missing, d='x') -%}{% if b is undefined %}{% set b = a %}{% endif %}{% if c is undefined %}{% set c = b ~ '!' %}{% endif -%}\n{{ b }}{%- endmacro %}"
        );
    }
}
