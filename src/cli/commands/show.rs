//! `sluice show`: run a node's or an inline query's SQL and print its first rows as a table.

use std::sync::Arc;

use serde_json::Value;

use crate::adapters::Adapter;
use crate::cli::args::{SelectArgs, ShowOutput};
use crate::cli::session;
use crate::cli::{GlobalArgs, LogFormat, Outcome};
use crate::compile::{compile_node, CompileServices, ResourceType};
use crate::diagnostics::{Code, Diagnostic};

use super::CmdResult;

/// `show --inline` SQL: rendered as Jinja, or run as written (`--inline-direct`).
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
    let services = Arc::new(CompileServices::new(
        s.parsed.resolver.clone(),
        None,
        false,
        s.target.dialect,
    ));
    let (title, sql) = match inline {
        Some(Inline::Direct(q)) => ("inline".to_string(), q.to_string()),
        Some(Inline::Jinja(q)) => (
            "inline".to_string(),
            crate::compile::compile_inline(
                s.manifest(),
                q,
                &s.project.config.name,
                &s.templates(),
                services,
            )
            .map_err(|d| vec![d])?,
        ),
        None => {
            let ids = s
                .select(
                    &sel.selection(),
                    Some(&[
                        ResourceType::Model,
                        ResourceType::Seed,
                        ResourceType::Snapshot,
                        ResourceType::Analysis,
                    ]),
                )
                .map_err(|d| vec![d])?;
            let Some(id) = ids.first() else {
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
                compile_node(s.manifest(), id, &s.templates(), services).map_err(|d| vec![d])?,
            )
        }
    };
    // A negative limit (dbt's `--limit -1`) shows every row.
    let body = sql.trim_end().trim_end_matches(';');
    let q = match limit {
        n if n < 0 => body.to_string(),
        n => format!("select * from (\n{body}\n) as __sluice_show limit {n}"),
    };
    let t = conn
        .query(&q)
        .map_err(|e| vec![Diagnostic::error(Code::Sql, format!("query failed: {e}"))])?;
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
