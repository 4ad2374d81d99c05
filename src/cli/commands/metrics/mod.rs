//! `sluice metrics ...`: validate the semantic layer, list its metrics, dimensions, entities and
//! saved queries, list a dimension's values, and answer metric queries on the target warehouse.
//! Also the hook `parse` calls to validate and write `semantic_manifest.json`.
//!
//! Design decision: every subcommand loads the project exactly like `parse` does (same session,
//! same diagnostics), then reads the semantic layer on top of the manifest; a query therefore
//! always sees the same definitions `parse` validated, and broken definitions stop every command
//! with exit code 2 before any SQL runs.

use std::io::Write;

use serde_json::Value;

use std::path::Path;

use crate::adapters::Adapter;
use crate::cli::args::{ListWhat, MetricsArgs, MetricsCommand, QueryArgs};
use crate::cli::session::{self, Session};
use crate::cli::{GlobalArgs, LogFormat, Outcome};
use crate::diagnostics::{Code, Diagnostic};
use crate::metrics::{self, plan, MetricQuery, SemanticLayer};
use crate::project::{Project, Target};
use crate::sql::{Dialect, Relation, RelationKind};

mod list;
mod validate;

use list::{dimension_values, list};
use validate::validate;

type CmdResult = Result<Outcome, Vec<Diagnostic>>;

/// What the metric commands use of a loaded project (from a full parse or from the cache).
pub(crate) struct Ctx {
    pub(crate) project: Project,
    pub(crate) target: Target,
}

/// Reads and validates the semantic layer against a parsed manifest.
fn load_layer(
    project: &Project,
    index: &metrics::ModelIndex,
    dialect: crate::sql::Dialect,
) -> Result<SemanticLayer, Vec<Diagnostic>> {
    let (layer, mut errors) = metrics::load_indexed(&project.yaml_files, index);
    // Definitions that do not parse would make every rule about them misfire: report those first.
    if errors.is_empty() {
        errors = metrics::validate::validate(&layer, &project.yaml_files, dialect);
    }
    if errors.is_empty() {
        Ok(layer)
    } else {
        Err(errors
            .into_iter()
            .map(|d| d.with_source_from(&project.root))
            .collect())
    }
}

/// Called by `parse`: validate, write `semantic_manifest.json` and the query cache. Returns the
/// cache's key, the fingerprint of the parse's inputs, for `parse` to reuse.
pub(crate) fn on_parse(s: &Session, g: &GlobalArgs) -> Result<String, Vec<Diagnostic>> {
    let index = metrics::ModelIndex::from_manifest(s.manifest());
    let layer = load_layer(&s.project, &index, s.target.dialect)?;
    if g.settings.write_json {
        write_semantic_manifest(&s.target_path, &s.target, &layer)?;
    }
    Ok(write_cache(
        g,
        &s.project,
        &s.target,
        &s.target_path,
        &index,
    ))
}

/// Called by the commands that write `manifest.json` (`compile`, `build`, `run` ...), as dbt
/// writes `semantic_manifest.json` with it: best effort, skipped when the definitions do not
/// parse (`parse` and the metrics commands report those).
pub(crate) fn write_with_manifest(s: &Session) {
    let (layer, errors) = metrics::load(&s.project.yaml_files, s.manifest());
    if errors.is_empty() {
        let _ = write_semantic_manifest(&s.target_path, &s.target, &layer);
    }
}

fn write_semantic_manifest(
    target_path: &Path,
    target: &Target,
    layer: &SemanticLayer,
) -> Result<(), Vec<Diagnostic>> {
    let v = metrics::manifest::semantic_manifest(layer, &target.schema);
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    let path = target_path.join("semantic_manifest.json");
    crate::artifacts::write_text(&path, &text).map_err(|e| {
        vec![Diagnostic::error(
            Code::Io,
            format!("cannot write `{}`: {e}", path.display()),
        )]
    })
}

const CACHE_FILE: &str = "sluice_semantic_cache.json";

/// A checksum of everything a parse reads that can change the semantic layer or the relations
/// it names: every file of the project and its packages, the target, `--vars` and sluice itself.
fn cache_key(g: &GlobalArgs, project: &Project, target: &Target) -> String {
    crate::session::fingerprint::inputs_key(project, target, g.vars.as_deref().unwrap_or(""))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cache {
    key: String,
    index: metrics::ModelIndex,
}

/// Best effort: a cache that cannot be written only costs the next query a parse. Returns its
/// key. It keeps of `index` the names the layer was loaded with looked up: the cache is used
/// only while every file is as it was, so loading the layer from it looks up the same names.
fn write_cache(
    g: &GlobalArgs,
    project: &Project,
    target: &Target,
    target_path: &Path,
    index: &metrics::ModelIndex,
) -> String {
    let c = Cache {
        key: cache_key(g, project, target),
        index: index.asked_only(),
    };
    if let Ok(text) = serde_json::to_string(&c) {
        let _ = crate::artifacts::write_text(&target_path.join(CACHE_FILE), &text);
    }
    c.key
}

/// The full path: parse the project, validate, write the artifacts and the cache.
fn load_full(g: &GlobalArgs) -> Result<(Ctx, SemanticLayer), Vec<Diagnostic>> {
    let s = session::load(g, false, false)?;
    let index = metrics::ModelIndex::from_manifest(s.manifest());
    let layer = load_layer(&s.project, &index, s.target.dialect)?;
    if g.settings.write_json {
        write_semantic_manifest(&s.target_path, &s.target, &layer)?;
    }
    write_cache(g, &s.project, &s.target, &s.target_path, &index);
    Ok((
        Ctx {
            project: std::mem::ManuallyDrop::into_inner(s.project),
            target: s.target,
        },
        layer,
    ))
}

/// Reads the project's files and, when their checksum matches the cache written by the last
/// parse, builds the (already validated) layer from the cached relations without parsing.
fn load_cached(g: &GlobalArgs) -> Option<(Ctx, SemanticLayer)> {
    if std::env::var_os("SLUICE_NO_METRICS_CACHE").is_some() {
        return None;
    }
    let t = std::time::Instant::now();
    let root = session::project_root(g).ok()?;
    let project = crate::project::load(&root).ok()?;
    let target = session::load_target(g, &root, &project).ok()?;
    let target_path = root.join(
        g.target_path
            .clone()
            .unwrap_or_else(|| project.config.target_path.clone()),
    );
    let text = std::fs::read_to_string(target_path.join(CACHE_FILE)).ok()?;
    let cache: Cache = serde_json::from_str(&text).ok()?;
    if cache.key != cache_key(g, &project, &target) {
        return None;
    }
    let (layer, errors) = metrics::load_indexed(&project.yaml_files, &cache.index);
    if !errors.is_empty() {
        return None;
    }
    crate::cli::timing("metrics: cached definitions", t);
    Some((Ctx { project, target }, layer))
}

pub(crate) fn run(g: &GlobalArgs, a: &MetricsArgs) -> CmdResult {
    let (ctx, layer) = match &a.command {
        // Validation always reparses; the others answer from the cache when nothing changed.
        MetricsCommand::Validate { .. } => load_full(g)?,
        _ => match load_cached(g) {
            Some(x) => x,
            None => load_full(g)?,
        },
    };
    let s = &ctx;
    match &a.command {
        MetricsCommand::Validate { data } => validate(g, s, &layer, *data),
        MetricsCommand::Query(q) => query(g, s, &layer, q),
        MetricsCommand::List { what, metrics } => list(g, &layer, *what, metrics),
        MetricsCommand::DimensionValues { dimension, metrics } => {
            dimension_values(g, s, &layer, dimension, metrics)
        }
        MetricsCommand::Export { saved_query } => export(g, s, &layer, saved_query),
    }
}

/// Builds each export under a temporary name and swaps it in, so a failing query leaves the
/// previous relation intact.
fn export(g: &GlobalArgs, s: &Ctx, layer: &SemanticLayer, only: &[String]) -> CmdResult {
    for name in only {
        if layer.saved_query(name).is_none() {
            return Err(vec![Diagnostic::error(
                Code::MetricQuery,
                format!("unknown saved query `{name}`"),
            )
            .with_hint(
                crate::diagnostics::did_you_mean(
                    name,
                    layer.saved_queries.iter().map(|q| q.name.as_str()),
                )
                .unwrap_or_else(|| "see `sluice metrics list saved-queries`".into()),
            )]);
        }
    }
    let d = dialect(s)?;
    let mut conn = connect(s)?;
    let mut done = 0;
    for q in &layer.saved_queries {
        if !only.is_empty() && !only.contains(&q.name) {
            continue;
        }
        let p = plan::plan(layer, &MetricQuery::from_saved(q), d).map_err(plan_error)?;
        for e in &q.exports {
            let schema = e
                .config
                .get("schema")
                .and_then(Value::as_str)
                .unwrap_or(&s.target.schema);
            let alias = e
                .config
                .get("alias")
                .and_then(Value::as_str)
                .unwrap_or(&e.name);
            let kind = match e.config.get("export_as").and_then(Value::as_str) {
                Some("view") => RelationKind::View,
                _ => RelationKind::Table,
            };
            let rel = Relation::new(&s.target.database, schema, alias);
            crate::execute::write_export(conn.as_mut(), &rel, kind == RelationKind::View, &p.sql)
                .map_err(|e| {
                vec![Diagnostic::error(
                    Code::Sql,
                    format!(
                        "export `{}` of saved query `{}` failed: {}",
                        rel.display_name(),
                        q.name,
                        s.target.scrub(&e.to_string())
                    ),
                )
                .with_hint(
                    "run the saved query with `sluice metrics query --saved-query NAME \
                         --explain` to see its SQL",
                )]
            })?;
            done += 1;
            if !g.quiet {
                println!(
                    "Exported saved query {} to {} ({})",
                    q.name,
                    rel.display_name(),
                    if kind == RelationKind::View {
                        "view"
                    } else {
                        "table"
                    }
                );
            }
        }
    }
    if !g.quiet {
        println!("Done. {done} exports");
    }
    Ok(Outcome::Ok)
}

fn plan_error(e: plan::PlanError) -> Vec<Diagnostic> {
    vec![Diagnostic::error(Code::MetricQuery, e.message).with_hint(e.hint)]
}

fn connect(s: &Ctx) -> Result<Box<dyn crate::adapters::Connection>, Vec<Diagnostic>> {
    let adapter = Adapter::connect(&s.target).map_err(|e| {
        vec![Diagnostic::error(
            Code::Connection,
            s.target.scrub(&e.to_string()),
        )]
    })?;
    adapter.connection().map_err(|e| {
        vec![Diagnostic::error(
            Code::Connection,
            s.target.scrub(&e.to_string()),
        )]
    })
}

fn dialect(s: &Ctx) -> Result<Dialect, Vec<Diagnostic>> {
    Ok(s.target.dialect)
}

fn query(g: &GlobalArgs, s: &Ctx, layer: &SemanticLayer, a: &QueryArgs) -> CmdResult {
    let mut q = match &a.saved_query {
        Some(name) => {
            let sq = layer.saved_query(name).ok_or_else(|| {
                vec![
                    Diagnostic::error(Code::MetricQuery, format!("unknown saved query `{name}`"))
                        .with_hint(
                            crate::diagnostics::did_you_mean(
                                name,
                                layer.saved_queries.iter().map(|q| q.name.as_str()),
                            )
                            .unwrap_or_else(|| "see `sluice metrics list saved-queries`".into()),
                        ),
                ]
            })?;
            MetricQuery::from_saved(sq)
        }
        None => MetricQuery::default(),
    };
    q.metrics.extend(
        a.metrics
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
    );
    q.group_by.extend(
        a.group_by
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
    );
    q.where_.extend(a.where_.iter().cloned());
    if !a.order.is_empty() {
        q.order_by = a.order.clone();
    }
    q.limit = a.limit.or(q.limit);
    q.start_time = a.start_time.clone();
    q.end_time = a.end_time.clone();
    let p = plan::plan(layer, &q, dialect(s)?).map_err(plan_error)?;
    if a.explain {
        println!("{}", p.sql);
        return Ok(Outcome::Ok);
    }
    let mut conn = connect(s)?;
    let t = std::time::Instant::now();
    let r = conn.query(&p.sql).map_err(|e| {
        vec![Diagnostic::error(Code::Sql, format!("the metric query failed: {}", s.target.scrub(&e.to_string())))
            .with_hint("run with --explain to see the SQL; `sluice metrics validate --data` checks the columns")]
    })?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(path) = &a.csv {
        let io = |e: &dyn std::fmt::Display| {
            vec![
                Diagnostic::error(Code::Io, format!("cannot write `{}`: {e}", path.display()))
                    .with_hint("check that the folder exists and is writable"),
            ]
        };
        let mut w = csv::Writer::from_path(path).map_err(|e| io(&e))?;
        w.write_record(&r.column_names).map_err(|e| io(&e))?;
        for row in &r.rows {
            w.write_record(row.iter().map(cell)).map_err(|e| io(&e))?;
        }
        w.flush().map_err(|e| io(&e))?;
        if !g.quiet {
            println!("Wrote {} rows to {}", r.rows.len(), path.display());
        }
        return Ok(Outcome::Ok);
    }
    if g.log_format == LogFormat::Json {
        let rows: Vec<Value> = r
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    r.column_names
                        .iter()
                        .cloned()
                        .zip(row.iter().cloned())
                        .collect(),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"columns": r.column_names, "rows": rows})
        );
        return Ok(Outcome::Ok);
    }
    let rows: Vec<Vec<Value>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(|v| Value::String(cell(v))).collect())
        .collect();
    print!("{}", super::render_table(&r.column_names, &rows));
    if !g.quiet {
        eprintln!("{} rows in {:.3}s", r.rows.len(), secs);
    }
    Ok(Outcome::Ok)
}

/// A value as text: numbers without float noise (rounded to 10 significant decimals).
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            // Round to 10 decimals, then print the shortest form of that double.
            let f = n.as_f64().unwrap_or(0.0);
            let r: f64 = format!("{f:.10}").parse().unwrap_or(f);
            if r == 0.0 {
                "0".into()
            } else {
                r.to_string()
            }
        }
        o => o.to_string(),
    }
}
