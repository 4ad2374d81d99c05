//! `sluice show`: run a node's or an inline query's SQL and print its first rows as a table.

use std::sync::Arc;

use serde_json::Value;

use crate::adapters::Adapter;
use crate::artifacts::{self, RunResult, RunStatus, Timing};
use crate::cli::args::{SelectArgs, ShowOutput};
use crate::cli::session;
use crate::cli::{GlobalArgs, LogFormat, Outcome};
use crate::compile::{compile_node, CompileServices, ResourceType};
use crate::diagnostics::{Code, Diagnostic};

use super::CmdResult;

/// `show --inline` SQL: rendered as Jinja, or run as written (`--inline-direct`).
#[derive(Clone, Copy)]
pub(super) enum Inline<'a> {
    Jinja(&'a str),
    Direct(&'a str),
}

/// JSON with two-space indentation, as dbt prints `--output json`.
pub(super) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub(super) fn show(
    g: &GlobalArgs,
    sel: &SelectArgs,
    inline: Option<Inline>,
    limit: i64,
    output: ShowOutput,
) -> CmdResult {
    let s = session::load(g, false, false)?;
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let mut conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let selected = match inline {
        Some(_) => Vec::new(),
        None => s
            .select(
                &sel.selection(),
                Some(&[
                    ResourceType::Model,
                    ResourceType::Seed,
                    ResourceType::Snapshot,
                    ResourceType::Analysis,
                ]),
            )
            .map_err(|d| vec![d])?,
    };
    let resolver =
        super::deferring_resolver(g, &s, &selected, &Default::default(), Some(&adapter))?;
    let services = Arc::new(CompileServices::new(
        resolver,
        None,
        false,
        s.target.dialect,
    ));
    let started_at = chrono::Utc::now();
    let (title, unique_id, sql) = match inline {
        Some(Inline::Direct(q)) => ("inline".to_string(), inline_id(&s), q.to_string()),
        Some(Inline::Jinja(q)) => (
            "inline".to_string(),
            inline_id(&s),
            crate::compile::compile_inline(
                s.manifest(),
                q,
                &s.project.config.name,
                &s.templates(),
                services.clone(),
            )
            .map_err(|d| vec![d])?,
        ),
        None => {
            let Some(id) = selected.first() else {
                return Err(vec![Diagnostic::error(
                    Code::Select,
                    "`show` needs --select MODEL or --inline SQL",
                )
                .with_hint("e.g. sluice show --select orders")]);
            };
            let name = s
                .manifest()
                .get(id)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            (
                name,
                id.clone(),
                compile_node(s.manifest(), id, &s.templates(), services.clone())
                    .map_err(|d| vec![d])?,
            )
        }
    };
    // The node's `sql_header` (`set_sql_header`, or the config key) goes first, and the limit
    // is appended as dbt's `get_limit_sql` appends it (so SQL that has its own `limit` fails, as
    // in dbt); a negative limit (`--limit -1`) shows every row.
    let header = services
        .set_config_of(&unique_id, "sql_header")
        .or_else(|| {
            s.manifest()
                .get(&unique_id)
                .and_then(|n| n.config.get("sql_header").cloned())
        })
        .and_then(|v| v.as_str().map(str::to_string));
    let body = sql.trim_end().trim_end_matches(';');
    let mut q = header
        .map(|h| format!("{}\n", h.trim()))
        .unwrap_or_default();
    q.push_str(body);
    if limit >= 0 {
        q.push_str(&format!("\nlimit {limit}"));
    }
    let executed_at = chrono::Utc::now();
    let t = conn
        .query(&q)
        .map_err(|e| vec![Diagnostic::error(Code::Sql, format!("query failed: {e}"))])?;
    write_run_results(
        &s,
        g,
        &unique_id,
        &q,
        limit,
        inline,
        sel,
        started_at,
        executed_at,
    );
    let is_inline = inline.is_some();
    if output == ShowOutput::Json || g.log_format == LogFormat::Json {
        let rows: Vec<Value> = t
            .rows
            .iter()
            .map(|r| {
                Value::Object(
                    t.column_names
                        .iter()
                        .cloned()
                        .zip(r.iter().cloned())
                        .collect(),
                )
            })
            .collect();
        if output == ShowOutput::Json {
            // dbt's `show --output json`.
            let v = if is_inline {
                serde_json::json!({"show": rows})
            } else {
                serde_json::json!({"node": title, "show": rows})
            };
            println!("{}", pretty(&v));
        } else {
            println!("{}", serde_json::json!({"node": title, "rows": rows}));
        }
        return Ok(Outcome::Ok);
    }
    // Like dbt: the table alone under --quiet.
    if !g.quiet {
        if is_inline {
            println!("Previewing inline node:");
        } else {
            println!("Previewing node '{title}':");
        }
    }
    print!("{}", render_table(&t.column_names, &t.rows));
    Ok(Outcome::Ok)
}

/// dbt's id for an inline query's node.
fn inline_id(s: &session::Session) -> String {
    format!("sql_operation.{}.inline_query", s.project.config.name)
}

/// `run_results.json` as dbt's `show` writes it: the query's node, with the SQL that ran (its
/// limit included) as `compiled_code`, and the invocation's `limit`.
fn write_run_results(
    s: &session::Session,
    g: &GlobalArgs,
    unique_id: &str,
    sql: &str,
    limit: i64,
    inline: Option<Inline>,
    sel: &SelectArgs,
    started_at: chrono::DateTime<chrono::Utc>,
    executed_at: chrono::DateTime<chrono::Utc>,
) {
    if !g.settings.write_json {
        return;
    }
    let end = chrono::Utc::now();
    let seconds = (end - started_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let mut r = RunResult::new(unique_id, RunStatus::Success);
    r.timing = vec![
        Timing::new("compile", started_at, executed_at),
        Timing::new("execute", executed_at, end),
    ];
    r.execution_time = seconds;
    r.adapter_response = serde_json::json!({"_message": "OK"});
    r.compiled = Some(true);
    r.compiled_code = Some(sql.to_string());
    let inline = match inline {
        Some(Inline::Jinja(q) | Inline::Direct(q)) => Value::from(q),
        None => Value::Null,
    };
    let args = serde_json::json!({
        "which": "show",
        "limit": limit,
        "inline": inline,
        "select": sel.selection().select,
    });
    let mut m = super::meta(s);
    m.generated_at = end;
    let doc = artifacts::run_results_json(&[r], &m, seconds, args);
    let _ = artifacts::write_json(&s.target_path.join("run_results.json"), &doc);
}

/// A plain text table like dbt's `show` output.
pub(crate) fn render_table(cols: &[String], rows: &[Vec<Value>]) -> String {
    let cell = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        o => o.to_string(),
    };
    let mut widths: Vec<usize> = cols.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (i, v) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell(v).chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!(" {:<w$} ", c, w = widths[i]))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    out.push_str(&line(cols.to_vec()));
    out.push_str(&format!(
        "|{}|\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    ));
    for r in rows {
        out.push_str(&line(r.iter().map(cell).collect()));
    }
    out
}
