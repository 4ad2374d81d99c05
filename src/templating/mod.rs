//! Jinja with the dbt context, on minijinja.
//!
//! [`Templates`] owns one minijinja `Environment` holding every macro (sluice's built-in library
//! under `dbt`, the project's, and packages'). Nodes are rendered with [`Templates::render`] inside
//! a [`RenderCtx`]: which node, which [`Phase`], and the [`Services`] that resolve `ref`/`source`
//! and talk to the warehouse.
//!
//! Two phases, as in dbt: in [`Phase::Parse`] (`execute` is false) `ref`, `source` and `config`
//! calls are *recorded* and return placeholders; in [`Phase::Compile`] (also used to execute)
//! they resolve to relations. Why: a ref's relation depends on the target's own `config(alias=...)`,
//! which is only known once every node has been parsed.
//!
//! The globals (`ref`, `config`, `var`...) are registered once and find the node being rendered
//! through a thread-local stack of [`RenderCtx`], so one shared environment serves every worker
//! thread without rebuilding anything per node.

mod adapter;
mod calls;
mod functions;
mod macros;
mod objects;
mod pydatetime;
mod pyfilters;
pub(crate) mod pyformat;
mod pyitertools;
pub(crate) mod pymodules;
mod pyre;
mod pystr;
pub(crate) mod pyvalues;
mod syntax;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use minijinja::{Environment, Value};
use serde_json::Map;

use crate::diagnostics::{line_col, Code, Diagnostic, Location};
use crate::sql::Relation;
pub(crate) use functions::{local_md5, set_print_enabled};
pub use macros::preprocess;
pub use macros::preprocess_node;
pub use macros::MacroFile;
pub use macros::MacroIndex;
pub(crate) use macros::{MacroDef, BUILTIN_PACKAGE};
pub(crate) use objects::{relation_value, CellKind, Column, QueryResult};
pub(crate) use pydatetime::iso_datetime_text;

/// Whether a template's text calls `config(...)` (`config (` too: Jinja allows the space).
pub(crate) fn calls_config(text: &str) -> bool {
    text.match_indices("config").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
        word_start && text[i + "config".len()..].trim_start().starts_with('(')
    })
}
pub use syntax::rewrite;

/// Which render this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Recording refs, sources and configs; `execute` is false.
    Parse,
    /// Resolving refs to relations; `execute` is true, introspection allowed when a warehouse is.
    Compile,
}

/// What the templates need from the rest of sluice: ref resolution, vars, and the warehouse.
pub trait Services: Send + Sync {
    fn resolve_ref(
        &self,
        node: &NodeInfo,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String>;
    fn resolve_source(
        &self,
        node: &NodeInfo,
        source: &str,
        table: &str,
    ) -> Result<Relation, String>;
    /// `var(name)` for a node of `package`; None when undefined.
    fn var(&self, package: &str, name: &str) -> Option<serde_json::Value>;
    /// Runs SQL on the warehouse (only in the compile phase, with a connection).
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        let _ = (sql, fetch);
        Err("no warehouse connection in this command".into())
    }
    /// The relation if it exists: `(relation, "table" | "view")`.
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        let _ = (database, schema, identifier);
        Ok(None)
    }
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String> {
        let _ = relation;
        Ok(vec![])
    }
    /// A parse-phase render of something other than a node's own file (a hook, a config, a
    /// generic test, a relation name) ran a macro of the file `template`.
    fn note_macro_file(&self, template: &str) {
        let _ = template;
    }
    /// A parse made a generic test of a macro of the file `template` without running it, on
    /// the strength of its text: that the file calls no `config(`.
    fn note_test_macro_file(&self, template: &str) {
        let _ = template;
    }
    /// `is_incremental()` for this node.
    fn is_incremental(&self, node: &NodeInfo) -> bool {
        let _ = node;
        false
    }
    /// What a call of the macro `package.name` returns instead of running it (a unit test's
    /// `overrides: macros:`), if anything.
    fn macro_override(&self, package: &str, name: &str) -> Option<serde_json::Value> {
        let _ = (package, name);
        None
    }
    /// `log(msg, info=True)` (and `print(msg)`, unless [`Services::print`] says otherwise).
    fn log(&self, message: &str, info: bool) {
        let _ = (message, info);
    }
    /// `print(msg)`: by default an info-level `log`.
    fn print(&self, message: &str) {
        self.log(message, true);
    }
    /// `config.set(key, value)` while node `node_id` compiles (`set_sql_header` sets
    /// `sql_header` this way); the caller reads what was set after rendering.
    fn set_config(&self, node_id: &str, key: &str, value: serde_json::Value) {
        let _ = (node_id, key, value);
    }
    /// `--empty`: whether `ref` and `source` render as zero-row subqueries.
    fn empty_refs(&self) -> bool {
        false
    }
    /// While a microbatch model compiles one batch: the condition that limits `rel` (a parent
    /// with an `event_time` config) to the batch's window.
    fn event_time_filter(&self, rel: &Relation) -> Option<String> {
        let _ = rel;
        None
    }
    /// The target engine's SQL dialect.
    fn dialect(&self) -> crate::sql::Dialect;
    /// The target's adapter type (`duckdb`, `postgres`): `adapter.type()`, `target.type`.
    fn adapter_type(&self) -> &str {
        self.dialect().name()
    }
}

/// The node being rendered.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub unique_id: String,
    pub name: String,
    pub package: String,
    pub resource_type: String,
    pub original_file_path: String,
    /// Config from dbt_project.yml and properties YAML, before the file's own `config()` calls.
    pub config: Arc<crate::project::NodeConfig>,
    /// The node's own relation (`this`), when it has one.
    pub this: Option<Relation>,
}

/// A recorded `ref(...)` call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RefCall {
    pub(crate) package: Option<String>,
    pub(crate) name: String,
    /// `v=` / `version=` as dbt formats it into ids (`2`, `1.5`, `beta`).
    pub(crate) version: Option<String>,
    /// The version was given as text (`version='2'`): the manifest writes it as a string.
    pub(crate) version_quoted: bool,
}

/// What a parse-phase render recorded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorded {
    pub(crate) refs: Vec<RefCall>,
    pub(crate) sources: Vec<(String, String)>,
    /// Merged `config(...)` calls of the file.
    pub(crate) config: Map<String, serde_json::Value>,
    /// The same calls' arguments as written, a later call's key over an earlier one's (what
    /// dbt's `unrendered_config` records: a hook given as a string stays one).
    pub(crate) config_written: Map<String, serde_json::Value>,
    /// Macros called (unique ids), sorted on use.
    pub(crate) macros: Vec<String>,
    /// The files (template names) of the project's and its packages' macros a parse-phase
    /// render of the node's own file ran, at any depth, in the order first run: a macro file
    /// edited later changes what only these renders record ([`RenderCtx::note_macro_run`]).
    pub(crate) macro_files: Vec<String>,
}

/// One render's state: the node, the phase, the services, and what was recorded.
pub struct RenderCtx {
    pub(crate) phase: Phase,
    /// Shared with the template's lazy `model` object.
    pub(crate) node: Arc<NodeInfo>,
    pub(crate) services: Arc<dyn Services>,
    pub(crate) recorded: Mutex<Recorded>,
    /// Results of `{% call statement('name') %}` blocks, for `load_result`.
    pub(crate) results: Mutex<std::collections::HashMap<String, Value>>,
    jinja_ctx: Mutex<Option<Value>>,
    /// How deep in macro calls the render is: dbt records a node's macro dependencies only
    /// for the calls its own code makes (depth 0), not the macros those macros call.
    pub(crate) macro_depth: std::sync::atomic::AtomicUsize,
    /// Whether the render under way is of the node's own file (not its hooks or configs).
    file_render: std::sync::atomic::AtomicBool,
    /// A parse of a node's SQL, hooks or test (dbt's `ParseProvider`): `var()` of an undefined
    /// var without a default is `none` there, as in dbt, and fails when the node is compiled.
    pub(crate) missing_vars_are_none: bool,
}

impl RenderCtx {
    pub fn new(phase: Phase, node: NodeInfo, services: Arc<dyn Services>) -> Self {
        RenderCtx {
            phase,
            node: Arc::new(node),
            services,
            recorded: Mutex::new(Recorded::default()),
            results: Mutex::new(Default::default()),
            jinja_ctx: Mutex::new(None),
            macro_depth: Default::default(),
            file_render: Default::default(),
            missing_vars_are_none: false,
        }
    }
    /// A parse-phase context of a node's own parse (its SQL, hooks, or test arguments): see
    /// [`RenderCtx::missing_vars_are_none`].
    pub(crate) fn node_parse(node: NodeInfo, services: Arc<dyn Services>) -> Self {
        RenderCtx {
            missing_vars_are_none: true,
            ..RenderCtx::new(Phase::Parse, node, services)
        }
    }
    pub(crate) fn recorded(&self) -> Recorded {
        self.recorded.lock().map(|r| r.clone()).unwrap_or_default()
    }
    /// Config as the template sees it: YAML/project config overlaid with recorded `config()`.
    pub(crate) fn effective_config(&self) -> Map<String, serde_json::Value> {
        let mut c = self.node.config.values().clone();
        if let Ok(r) = self.recorded.lock() {
            crate::project::config::merge(&mut c, &r.config);
        }
        c
    }
    /// The Jinja context of this render (set when the render starts).
    pub(crate) fn jinja_ctx(&self) -> Value {
        self.jinja_ctx
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_default()
    }
    fn execute(&self) -> bool {
        self.phase == Phase::Compile
    }
    /// Marks the renders that follow as of the node's own file (`true`) or of something else
    /// of it (its hooks, its configs: `false`, the default).
    pub(crate) fn set_file_render(&self, on: bool) {
        self.file_render
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }
    /// Notes that the macro `def` runs in this render: at parse, a macro of the project or a
    /// package (sluice's own cannot change without a new sluice) is recorded with the node when
    /// the render is of its file ([`Recorded::macro_files`]), and reported to the services
    /// ([`Services::note_macro_file`]) when it is of anything else.
    pub(crate) fn note_macro_run(&self, def: &macros::MacroDef) {
        if self.phase != Phase::Parse || def.package == macros::BUILTIN_PACKAGE {
            return;
        }
        if self.file_render.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(mut r) = self.recorded.lock() {
                if !r.macro_files.contains(&def.template) {
                    r.macro_files.push(def.template.clone());
                }
            }
        } else {
            self.services.note_macro_file(&def.template);
        }
    }
}

/// Set when a macro of the project or a package ran outside any render (which no parse can
/// attribute): from then on, this process's parses say so ([`macro_ran_unattributed`]).
static MACRO_RAN_UNATTRIBUTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether a macro of the project or a package ever ran outside a render in this process.
pub(crate) fn macro_ran_unattributed() -> bool {
    MACRO_RAN_UNATTRIBUTED.load(std::sync::atomic::Ordering::Relaxed)
}

thread_local! {
    static STACK: RefCell<Vec<Arc<RenderCtx>>> = const { RefCell::new(Vec::new()) };
}

/// The render context of the innermost render on this thread.
pub(crate) fn current() -> Option<Arc<RenderCtx>> {
    STACK.with(|s| s.borrow().last().cloned())
}

struct StackGuard;
impl StackGuard {
    fn push(ctx: Arc<RenderCtx>) -> Self {
        STACK.with(|s| s.borrow_mut().push(ctx));
        StackGuard
    }
}
impl Drop for StackGuard {
    fn drop(&mut self) {
        STACK.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// Invocation-wide values every render sees.
#[derive(Debug, Clone)]
pub struct Globals {
    pub project_name: String,
    /// The target, secrets redacted, plus `name`, `type`, `schema`, `database`, `threads`.
    pub target: serde_json::Value,
    pub invocation_id: String,
    pub run_started_at: chrono::DateTime<chrono::Utc>,
    pub flags: serde_json::Value,
    /// `graph`: nodes and sources as dicts (built once).
    pub graph: Value,
    /// What `builtins.ref.config` shows of dbt's runtime config: `project_name`, `version`,
    /// `profile_name`, `target_name`, and `dependencies` (each package and the project itself,
    /// by name: `name`, `version`).
    pub runtime_config: serde_json::Value,
}

/// The shared environment with every macro.
pub struct Templates {
    env: Environment<'static>,
    pub(crate) index: Arc<MacroIndex>,
    globals: Globals,
    /// `target` and `flags` converted once, shared by every render.
    target_value: Value,
    flags_value: Value,
    /// `graph` once parsing has made it (see [`Templates::set_graph`]).
    graph: std::sync::OnceLock<Value>,
}

/// A render failure: a diagnostic pointing into the template.
pub(crate) type RenderError = Diagnostic;

impl Templates {
    /// Builds the environment from macro files (built-ins are added here).
    pub fn new(
        root_package: &str,
        dialect: crate::sql::Dialect,
        files: Vec<MacroFile>,
        dispatch: Vec<(String, Vec<String>)>,
        globals: Globals,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(false);
        // dbt never escapes output, whatever the file's extension (minijinja would JSON-escape .yml).
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        env.set_recursion_limit(500);
        env.set_unknown_method_callback(functions::unknown_method);
        env.set_formatter(pyvalues::format_output);
        let mut all = macros::builtin_files(dialect);
        all.extend(files);
        let lineage: Vec<&str> = dialect.lineage().iter().map(|d| d.name()).collect();
        let index = Arc::new(MacroIndex::build(root_package, &lineage, &all, dispatch)?);
        let mut errors = Vec::new();
        for f in &all {
            if let Err(d) = check_line_lengths(&f.original_file_path, &f.contents) {
                errors.push(d);
                continue;
            }
            let src = macros::preprocess(&f.contents);
            // Rewritten forms are longer than what they replace: a line may only outgrow the
            // limit then.
            if let Err(d) = check_line_lengths(&f.original_file_path, &src) {
                errors.push(d);
                continue;
            }
            if let Err(e) = env.add_template_owned(f.template_name(), src) {
                errors.push(jinja_error(&e, &f.original_file_path, &f.contents));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        functions::register(&mut env, &index, &globals);
        let target_value = Value::from_serialize(&globals.target);
        let flags_value = Value::from_serialize(&globals.flags);
        Ok(Templates {
            env,
            index,
            globals,
            target_value,
            flags_value,
            graph: std::sync::OnceLock::new(),
        })
    }

    pub(crate) fn globals(&self) -> &Globals {
        &self.globals
    }

    /// Sets `graph` (dbt's flat graph of the parsed project) for the renders that follow.
    pub(crate) fn set_graph(&self, graph: Value) {
        let _ = self.graph.set(graph);
    }

    /// Whether any macro reads `graph` (so that building it is worth it).
    pub(crate) fn macros_mention_graph(&self) -> bool {
        use rayon::prelude::*;
        // (In parallel: sluice's own macros alone are a few hundred kilobytes of text.)
        let defs: Vec<&MacroDef> = self
            .index
            .by_package
            .values()
            .flat_map(|defs| defs.values())
            .map(|d| &**d)
            .collect();
        defs.par_iter().any(|d| mentions_graph(&d.macro_sql))
    }

    /// Renders `source` (the text of `file`) for `ctx`. Returns the rendered text.
    pub fn render(
        &self,
        file: &str,
        source: &str,
        ctx: &Arc<RenderCtx>,
    ) -> Result<String, RenderError> {
        self.render_inner(file, source, ctx, false)
    }

    /// [`Templates::render`] of a text dbt renders as a macro's body (`query-comment`): it may
    /// end with `return(value)`, and is then `value`.
    pub(crate) fn render_returning(
        &self,
        file: &str,
        source: &str,
        ctx: &Arc<RenderCtx>,
    ) -> Result<String, RenderError> {
        self.render_inner(file, source, ctx, true)
    }

    fn render_inner(
        &self,
        file: &str,
        source: &str,
        ctx: &Arc<RenderCtx>,
        returning: bool,
    ) -> Result<String, RenderError> {
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            return Ok(source.to_string());
        }
        check_line_lengths(file, source)?;
        let _guard = StackGuard::push(ctx.clone());
        let jctx = self.context_for(ctx);
        if let Ok(mut slot) = ctx.jinja_ctx.lock() {
            *slot = Some(jctx.clone());
        }
        let prepared = macros::preprocess_node(source);
        check_line_lengths(file, &prepared)?;
        let render = || self.env.render_named_str(file, &prepared, jctx);
        let result = if returning {
            macros::returning(render)
        } else {
            render()
        };
        result.map_err(|e| {
            let mut d = jinja_error(&e, file, source);
            if e.kind() == minijinja::ErrorKind::UnknownFunction {
                let name = d
                    .message
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let names = self.index.global_names();
                if let Some(h) =
                    crate::diagnostics::did_you_mean(&name, names.iter().map(|(n, _)| n.as_str()))
                {
                    d.message = format!("unknown macro or function `{name}`");
                    d.hint = Some(h);
                }
            }
            d
        })
    }

    /// Calls a macro by (possibly dotted) name with positional and keyword arguments. An error
    /// names the macro's file and line in its message (the caller locates it in its node).
    pub(crate) fn call_macro(
        &self,
        name: &str,
        args: Vec<Value>,
        ctx: &Arc<RenderCtx>,
    ) -> Result<Value, RenderError> {
        self.call_macro_with(name, args, ctx, false)
    }

    /// [`Templates::call_macro`] for a macro that is the command itself (`run-operation`): an
    /// error raised in the macro's own file points at its line there.
    pub(crate) fn run_macro(
        &self,
        name: &str,
        args: Vec<Value>,
        ctx: &Arc<RenderCtx>,
    ) -> Result<Value, RenderError> {
        self.call_macro_with(name, args, ctx, true)
    }

    fn call_macro_with(
        &self,
        name: &str,
        args: Vec<Value>,
        ctx: &Arc<RenderCtx>,
        locate_in_macro: bool,
    ) -> Result<Value, RenderError> {
        let _guard = StackGuard::push(ctx.clone());
        let jctx = self.context_for(ctx);
        if let Ok(mut slot) = ctx.jinja_ctx.lock() {
            *slot = Some(jctx.clone());
        }
        let f = self
            .index
            .lookup_value(name, Some(&ctx.node.package))
            .ok_or_else(|| {
                Diagnostic::error(Code::UnknownMacro, format!("macro `{name}` not found"))
            })?;
        // A throwaway template provides the `State` the call needs.
        let tmpl = self
            .env
            .template_from_str("")
            .map_err(|e| Diagnostic::error(Code::Jinja, e.to_string()))?;
        #[allow(deprecated)]
        let state = tmpl
            .eval_to_state(jctx)
            .map_err(|e| Diagnostic::error(Code::Jinja, e.to_string()))?;
        let def = self.index.find(name, Some(&ctx.node.package));
        f.call(&state, &args).map_err(|e| match &def {
            Some(d) if locate_in_macro && e.name() == Some(d.template.as_str()) => {
                let mut diag = jinja_error(&e, &d.template, &d.contents);
                if let Some(loc) = diag.location.as_mut() {
                    loc.file = d.original_file_path.clone().into();
                }
                diag
            }
            Some(d) => jinja_error(&e, &d.original_file_path, &d.contents),
            None => Diagnostic::error(Code::Jinja, format!("in macro `{name}`: {e}")),
        })
    }

    /// Evaluates a Jinja expression (e.g. `ref('customers')` in a test argument) to a value.
    pub(crate) fn eval_expr(
        &self,
        file: &str,
        expr: &str,
        ctx: &Arc<RenderCtx>,
    ) -> Result<Value, RenderError> {
        let _guard = StackGuard::push(ctx.clone());
        let jctx = self.context_for(ctx);
        if let Ok(mut slot) = ctx.jinja_ctx.lock() {
            *slot = Some(jctx.clone());
        }
        let prepared = syntax::rewrite_expression(expr);
        let e = self
            .env
            .compile_expression(&prepared)
            .map_err(|e| jinja_error(&e, file, expr))?;
        e.eval(jctx).map_err(|e| jinja_error(&e, file, expr))
    }

    fn context_for(&self, ctx: &RenderCtx) -> Value {
        let mut m: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
        m.insert("execute".into(), Value::from(ctx.execute()));
        m.insert("target".into(), self.target_value.clone());
        m.insert(
            "project_name".into(),
            Value::from(self.globals.project_name.clone()),
        );
        m.insert(
            "invocation_id".into(),
            Value::from(self.globals.invocation_id.clone()),
        );
        m.insert(
            "run_started_at".into(),
            pydatetime::PyDateTime::utc_value(self.globals.run_started_at),
        );
        m.insert("flags".into(), self.flags_value.clone());
        m.insert(
            "graph".into(),
            self.graph
                .get()
                .cloned()
                .unwrap_or_else(|| self.globals.graph.clone()),
        );
        m.insert(
            "dbt_version".into(),
            Value::from(crate::project::DBT_VERSION),
        );
        if let Some(this) = &ctx.node.this {
            m.insert("this".into(), relation_value(this.clone()));
        }
        m.insert(
            "model".into(),
            Value::from_object(objects::ModelObj(ctx.node.clone())),
        );
        // A package's nodes call its macros by bare name, as its macros do (dbt renders a
        // package's nodes in that package's macro namespace).
        match self.index.locals_for(&ctx.node.package) {
            Some(locals) => minijinja::context! { ..Value::from(m), ..locals },
            None => Value::from(m),
        }
    }
}

/// Whether template text reads the `graph` variable.
pub(crate) fn mentions_graph(text: &str) -> bool {
    text.match_indices("graph").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + 5..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The template engine tracks columns in 16 bits: a template with a longer line is one clear
/// diagnostic (found by the fuzzer: a syntax error far along such a line overflowed).
pub(crate) fn check_line_lengths(file: &str, source: &str) -> Result<(), Diagnostic> {
    const MAX: usize = u16::MAX as usize - 1;
    if source.len() <= MAX {
        return Ok(());
    }
    match source.lines().position(|l| l.chars().count() > MAX) {
        None => Ok(()),
        Some(i) => Err(Diagnostic::error(
            Code::JinjaSyntax,
            format!(
                "line {} is longer than {MAX} characters, more than templates can hold",
                i + 1
            ),
        )
        .at(Location::at(file, i + 1, 1))
        .with_hint("break the line (SQL allows a line break wherever a space goes)")),
    }
}

/// Converts a minijinja error into a diagnostic pointing into `source` (named `file`).
pub(crate) fn jinja_error(e: &minijinja::Error, file: &str, source: &str) -> Diagnostic {
    // A `return()` that escaped, or an error raised by `exceptions.raise_compiler_error`.
    let mut msg = match e.kind() {
        minijinja::ErrorKind::SyntaxError => {
            format!("Jinja syntax error: {}", e.detail().unwrap_or(""))
        }
        _ => match e.detail() {
            Some(d) => d.to_string(),
            None => e.to_string(),
        },
    };
    let hint = functions::hint_for(e);
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if hint.as_deref() != Some(text.as_str()) {
            msg.push_str(&format!(": {text}"));
        }
        cause = c.source();
    }
    let in_this_file = e.name().is_none_or(|n| n == file);
    let mut d = Diagnostic::error(functions::error_code(e), msg);
    // A macro file's own error (compiled under its template name, after `preprocess`): its line
    // is right, its byte range is into the preprocessed text.
    let macro_file_line = e
        .name()
        .filter(|n| *n != file && macros::display_template_name(n) == file)
        .and(e.line());
    if let Some(l) = macro_file_line {
        d = d.at(Location {
            file: file.into(),
            line: Some(l),
            column: None,
        });
        d.source_line = source.lines().nth(l - 1).map(str::to_string);
    } else if in_this_file {
        let loc = match (e.range(), e.line()) {
            (Some(r), _) => {
                let (l, c) = line_col(source, r.start);
                Location::at(file, l, c)
            }
            (None, Some(l)) => Location {
                file: file.into(),
                line: Some(l),
                column: None,
            },
            _ => Location::file(file),
        };
        d = d.at(loc);
        if let Some(line) = d.location.as_ref().and_then(|l| l.line) {
            d.source_line = source.lines().nth(line - 1).map(str::to_string);
        }
    } else {
        let inner = e.name().unwrap_or("?").to_string();
        d.message = format!(
            "{} (in `{}` line {})",
            d.message,
            macros::display_template_name(&inner),
            e.line().unwrap_or(0)
        );
        d = d.in_file(file);
    }
    if d.hint.is_none() {
        d.hint = hint;
    }
    d
}

#[cfg(test)]
mod config_call_tests {
    use super::calls_config;

    #[test]
    fn a_config_call_is_found_with_or_without_a_space() {
        assert!(calls_config("{{ config(severity='warn') }}"));
        assert!(calls_config("{{ config (\n  severity = 'warn'\n) }}"));
        assert!(!calls_config(
            "{{ get_config('x') }} {% do node.config(1) %}"
        ));
        assert!(!calls_config("{{ config.get('x') }} select 1"));
    }
}
