//! `sluice run-operation MACRO [--args YAML]`: calls one macro with the execute context, as
//! dbt 1.10's `run-operation` does.
//!
//! The project is parsed (and manifest.json written), then the macro runs on one warehouse
//! connection with `execute` true: `run_query`, `statement`, `adapter.*`, `log` and `print` work
//! as in a model's render, and its output text is discarded. On Postgres its statements share
//! one transaction, committed when the macro returns and rolled back when it raises; on DuckDB
//! each statement takes effect as it runs, as real dbt-duckdb runs an operation (what ran before
//! a failure stays).
//!
//! `MACRO` is `name` (looked up in the root project, then in installed packages, then in dbt's
//! own macros) or `package.name`. `--args` is a YAML mapping passed as keyword arguments.
//!
//! Exit codes, as dbt's: 0 when the macro returned, 1 when it raised or a query failed (then
//! run_results.json holds one `error` result), 2 for an unknown macro or `--args` that is not a
//! YAML mapping (then run_results.json is left alone).

use std::sync::Arc;

use chrono::Utc;
use minijinja::value::{Kwargs, Value as JValue};
use serde_json::{Map, Value};

use super::{meta, reporter, write_manifest};
use crate::adapters::Adapter;
use crate::artifacts::{self, RunResult, RunStatus, Timing};
use crate::cli::args::OperationArgs;
use crate::cli::session::{self, Session};
use crate::cli::{print_diagnostics, GlobalArgs, Outcome};
use crate::compile::{CompileServices, Warehouse};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::{ConnWarehouse, Event, Reporter};
use crate::sql::Relation;
use crate::templating::{
    Column, MacroDef, NodeInfo, Phase, QueryResult, RenderCtx, Services, BUILTIN_PACKAGE,
};

type CmdResult = Result<Outcome, Vec<Diagnostic>>;

pub(super) fn run(g: &GlobalArgs, a: &OperationArgs) -> CmdResult {
    // dbt rejects `--args` that is not a mapping before it reads the project.
    let kwargs = parse_args(a.args.as_deref()).map_err(|d| vec![d])?;
    let s = session::load_for(g, "run-operation", false, false)?;
    let m = meta(&s);
    if g.settings.write_json {
        write_manifest(&s, &m)?;
    }
    let templates = s.templates();
    let def = find_macro(&templates.index, &s.project.config.name, &a.macro_name)?;
    let rep = reporter(g);
    let compile_start = Utc::now();
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let wh = Arc::new(ConnWarehouse {
        conn: std::sync::Mutex::new(conn),
    });
    let warehouse: Arc<dyn Warehouse> = wh.clone();
    let services = Arc::new(OperationServices {
        inner: CompileServices::new(
            s.parsed.resolver.clone(),
            Some(warehouse),
            false,
            s.target.dialect,
        ),
        reporter: rep.clone(),
    });
    let info = NodeInfo {
        unique_id: def.unique_id.clone(),
        name: def.name.clone(),
        // The macro sees its own package's vars and macros, as dbt's macro context does.
        package: def.package.clone(),
        resource_type: "operation".into(),
        original_file_path: def.original_file_path.clone(),
        ..Default::default()
    };
    let ctx = Arc::new(RenderCtx::new(Phase::Compile, info, services));
    let call_args = if kwargs.is_empty() {
        vec![]
    } else {
        let kw: Kwargs = kwargs
            .iter()
            .map(|(k, v)| (k.clone(), JValue::from_serialize(v)))
            .collect();
        vec![JValue::from(kw)]
    };
    let execute_start = Utc::now();
    // One transaction for the macro's statements where the engine's dbt adapter opens one
    // (Postgres); else each statement takes effect as it runs (DuckDB: `checkpoint`, `attach`).
    let began = if adapter.dialect().operation_in_transaction() {
        transaction(&wh, "begin")
    } else {
        Err("no transaction".to_string())
    };
    let called = templates.run_macro(&format!("{}.{}", def.package, def.name), call_args, &ctx);
    let called = match (called, began) {
        (Ok(_), Ok(())) => transaction(&wh, "commit").map_err(|e| {
            Diagnostic::error(
                Code::Operation,
                format!("cannot commit the transaction: {e}"),
            )
        }),
        (Ok(_), Err(_)) => Ok(()),
        (Err(d), began) => {
            if began.is_ok() {
                let _ = transaction(&wh, "rollback");
            }
            Err(d)
        }
    };
    let end = Utc::now();
    let ok = called.is_ok();
    if let Err(mut d) = called {
        d.message = format!(
            "Encountered an error while running operation `{}`: {}",
            a.macro_name, d.message
        );
        if d.location.is_none() {
            d = d.in_file(&def.original_file_path);
        }
        // A package's file is shown from the project folder (`dbt_packages/pkg/macros/x.sql`).
        if let (Some(loc), Some(dir)) = (d.location.as_mut(), package_dir(&s, &def.package)) {
            if loc.file.is_relative() {
                loc.file = dir.join(&loc.file);
            }
        }
        print_diagnostics(g, &[d]);
    }
    if g.settings.write_json {
        let rv = run_results(
            &s,
            g,
            &def,
            a,
            &kwargs,
            ok,
            compile_start,
            execute_start,
            end,
        );
        let path = s.target_path.join("run_results.json");
        artifacts::write_json(&path, &rv).map_err(|e| {
            vec![Diagnostic::error(
                Code::Io,
                format!("cannot write `{}`: {e}", path.display()),
            )]
        })?;
    }
    Ok(if ok { Outcome::Ok } else { Outcome::Failed })
}

/// `--args`: a YAML (or JSON) mapping; nothing or an empty text is no arguments.
fn parse_args(text: Option<&str>) -> Result<Map<String, Value>, Diagnostic> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Map::new());
    };
    let hint = "--args takes a YAML mapping of the macro's keyword arguments, e.g. --args '{role: reporter, days: 7}'";
    match crate::project::yaml::parse(text, std::path::Path::new("--args")) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Diagnostic::error(
            Code::Args,
            format!("the YAML given to --args is not a mapping: `{text}`"),
        )
        .with_hint(hint)),
        Err(mut d) => {
            d.code = Code::Args;
            d.location = None;
            d.message = format!("the YAML given to --args is not valid: {}", d.message);
            Err(d.with_hint(hint))
        }
    }
}

/// The macro `name` (or `package.name`) as dbt's `find_macro_by_name` finds it: the root
/// project's first, then an installed package's, then dbt's own.
fn find_macro(
    index: &crate::templating::MacroIndex,
    root: &str,
    name: &str,
) -> Result<Arc<MacroDef>, Vec<Diagnostic>> {
    let (package, bare) = match name.split_once('.') {
        Some((p, n)) => (Some(p), n),
        None => (None, name),
    };
    let found = match package {
        Some(p) => index.by_package.get(p).and_then(|m| m.get(bare)).cloned(),
        None => {
            let packages = std::iter::once(root)
                .chain(
                    index
                        .by_package
                        .keys()
                        .map(String::as_str)
                        .filter(|p| *p != root && *p != BUILTIN_PACKAGE),
                )
                .chain(std::iter::once(BUILTIN_PACKAGE));
            packages
                .into_iter()
                .find_map(|p| index.by_package.get(p).and_then(|m| m.get(bare)).cloned())
        }
    };
    found.ok_or_else(|| {
        let place = match package {
            Some(p) if index.by_package.contains_key(p) => format!("in package `{p}`"),
            Some(p) => format!("in package `{p}` (no such package is installed)"),
            None => "in any package".to_string(),
        };
        let candidates: Vec<String> = match package.filter(|p| index.by_package.contains_key(*p)) {
            Some(p) => index.by_package[p]
                .keys()
                .map(|n| format!("{p}.{n}"))
                .collect(),
            None => index
                .by_package
                .iter()
                .flat_map(|(p, defs)| {
                    defs.keys().map(move |n| {
                        if p == root || p == BUILTIN_PACKAGE {
                            n.clone()
                        } else {
                            format!("{p}.{n}")
                        }
                    })
                })
                .collect(),
        };
        let hint = crate::diagnostics::did_you_mean(name, candidates.iter().map(String::as_str))
            .unwrap_or_else(|| {
                "check the name; a package's macro needs the package installed (`sluice deps`)"
                    .to_string()
            });
        vec![Diagnostic::error(
            Code::UnknownMacro,
            format!("no macro named `{bare}` {place}"),
        )
        .with_hint(hint)]
    })
}

/// A package's folder relative to the project folder (None for the root project and dbt).
fn package_dir(s: &Session, package: &str) -> Option<std::path::PathBuf> {
    let dir = s.manifest().package_roots.get(package)?;
    Some(
        dir.strip_prefix(&s.project.root)
            .map_or_else(|_| dir.clone(), std::path::Path::to_path_buf),
    )
}

/// Runs `begin`, `commit` or `rollback` on the operation's connection. A `commit` after the
/// macro committed by itself finds no transaction: that is not an error.
fn transaction(wh: &ConnWarehouse, what: &str) -> Result<(), String> {
    let mut c = wh
        .conn
        .lock()
        .map_err(|_| "connection poisoned".to_string())?;
    let r = match what {
        "begin" => c.begin(),
        "commit" => c.commit(),
        _ => c.rollback(),
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if what == "commit" && no_transaction(&e.to_string()) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn no_transaction(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no transaction is active") || m.contains("no transaction in progress")
}

/// run_results.json as dbt 1.10 writes it for `run-operation`: one result for the macro.
#[allow(clippy::too_many_arguments)]
fn run_results(
    s: &Session,
    g: &GlobalArgs,
    def: &MacroDef,
    a: &OperationArgs,
    kwargs: &Map<String, Value>,
    ok: bool,
    compile_start: chrono::DateTime<Utc>,
    execute_start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
) -> Value {
    let status = if ok {
        RunStatus::Success
    } else {
        RunStatus::Error
    };
    let seconds = (end - compile_start).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let mut r = RunResult::new(def.unique_id.clone(), status);
    r.timing = vec![
        Timing::new("compile", compile_start, execute_start),
        Timing::new("execute", execute_start, end),
    ];
    r.thread_id = "MainThread".into();
    r.execution_time = seconds;
    r.failures = Some(if ok { 0 } else { 1 });
    r.compiled = Some(false);
    let mut m = meta(s);
    m.generated_at = end;
    // As dbt: `vars` always (`{}` without `--vars`), `args` only when `--args` was given, and
    // what `retry` needs to call the macro again on the same target.
    let vars = g
        .vars
        .as_deref()
        .and_then(|v| crate::session::parse_vars(Some(v)).ok())
        .unwrap_or_default();
    let mut args = serde_json::json!({
        "which": "run-operation",
        "macro": a.macro_name,
        "vars": vars,
    });
    if let Value::Object(m) = &mut args {
        if a.args.is_some() {
            m.insert("args".into(), Value::Object(kwargs.clone()));
        }
        if let Some(t) = &g.target {
            m.insert("target".into(), t.clone().into());
        }
    }
    artifacts::run_results_json(&[r], &m, seconds, args)
}

/// The compile services with a warehouse, whose `log(info=True)` lines and `print()` output
/// appear as the macro runs (a long operation shows its progress).
struct OperationServices {
    inner: CompileServices,
    reporter: Arc<dyn Reporter>,
}

impl Services for OperationServices {
    fn resolve_ref(
        &self,
        node: &NodeInfo,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String> {
        self.inner.resolve_ref(node, package, name, version)
    }
    fn resolve_source(
        &self,
        node: &NodeInfo,
        source: &str,
        table: &str,
    ) -> Result<Relation, String> {
        self.inner.resolve_source(node, source, table)
    }
    fn var(&self, package: &str, name: &str) -> Option<Value> {
        self.inner.var(package, name)
    }
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        self.inner.execute_sql(sql, fetch)
    }
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        self.inner.get_relation(database, schema, identifier)
    }
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String> {
        self.inner.get_columns(relation)
    }
    fn log(&self, message: &str, info: bool) {
        if info {
            self.reporter.event(&Event::Info(message.to_string()));
        }
    }
    /// `print()` writes the bare text to stdout, as dbt does (`--no-print` stops it earlier).
    fn print(&self, message: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{message}");
        let _ = out.flush();
    }
    fn dialect(&self) -> crate::sql::Dialect {
        self.inner.dialect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_a_yaml_mapping() {
        let m = parse_args(Some("{n: 3, label: hi, tags: [a, b]}")).unwrap();
        assert_eq!(m["n"], serde_json::json!(3));
        assert_eq!(m["label"], serde_json::json!("hi"));
        assert_eq!(m["tags"], serde_json::json!(["a", "b"]));
        assert!(parse_args(None).unwrap().is_empty());
        assert!(parse_args(Some("  ")).unwrap().is_empty());
        assert!(parse_args(Some("{}")).unwrap().is_empty());
    }

    #[test]
    fn args_that_are_not_a_mapping_are_rejected() {
        let d = parse_args(Some("[1, 2]")).unwrap_err();
        assert_eq!(d.code, Code::Args);
        assert!(d.message.contains("not a mapping"), "{}", d.message);
        let d = parse_args(Some("{n: [1")).unwrap_err();
        assert!(d.message.contains("not valid"), "{}", d.message);
        assert!(d.hint.is_some());
    }

    #[test]
    fn a_commit_without_a_transaction_is_fine() {
        assert!(no_transaction(
            "TransactionContext Error: cannot commit - no transaction is active"
        ));
        assert!(no_transaction(
            "WARNING: there is no transaction in progress"
        ));
        assert!(!no_transaction("Catalog Error: Table does not exist"));
    }
}
