//! Values written in YAML that dbt renders or loads while parsing: Jinja in node configs
//! (`+enabled: "{{ target.type == 'duckdb' }}"`, a test's `severity`), in a source's database,
//! schema, identifier and config, and the unit-test fixture files a `fixture:` names; and
//! `ref('a')` / `source('a', 'b')` written as YAML strings ([`parse_call`]). Split out of `parse`
//! (which calls these for every node kind) so the rules live in one place.

use std::sync::Arc;

use serde_json::Value;

use super::naming::node_info;
use super::nodes::*;
use super::resolve::ParseServices;
use crate::diagnostics::{Code, Diagnostic};
use crate::project::{Project, Target};
use crate::templating::{Phase, RenderCtx, Templates};

/// Whether a string holds Jinja to render.
pub(super) fn has_jinja(s: &str) -> bool {
    // One pass over the text (configs hold many short strings, most without a brace).
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s[from..].find('{') {
        let at = from + i;
        if matches!(b.get(at + 1), Some(b'{' | b'%')) {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Renders Jinja in config values (e.g. `+schema: "{{ env_var('X') }}"`, or inside a map such as
/// a seed's `column_types: {id: "{{ 'int64' if target.type == 'bigquery' else 'bigint' }}"}`);
/// hooks excluded, they are rendered when they run. Like dbt's native rendering, a result that
/// reads as a Python literal (`True`, `None`, `3`) becomes that value.
pub(super) fn render_config_strings(
    node: &mut Node,
    templates: &Templates,
    services: &Arc<ParseServices>,
    target: &Target,
) -> Result<(), Diagnostic> {
    let keys: Vec<String> = node
        .config
        .iter()
        .filter(|(k, v)| !k.ends_with("hook") && value_has_jinja(v))
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let ctx = Arc::new(RenderCtx::new(
        Phase::Parse,
        node_info(node, target),
        services.clone(),
    ));
    for k in keys {
        let v = render_value(&node.config[&k], templates, &ctx)?;
        node.config_mut().insert(k, v);
    }
    Ok(())
}

/// Renders Jinja in the `data_type` of a node's documented columns (`data_type: "{{ 'int' if ...
/// }}"`), as dbt renders properties YAML.
pub(super) fn render_column_types(
    node: &mut Node,
    templates: &Templates,
    services: &Arc<ParseServices>,
    target: &Target,
) -> Result<(), Diagnostic> {
    if !node
        .columns
        .iter()
        .any(|c| c.data_type.as_deref().is_some_and(has_jinja))
    {
        return Ok(());
    }
    let ctx = Arc::new(RenderCtx::new(
        Phase::Parse,
        node_info(node, target),
        services.clone(),
    ));
    let file = node
        .patch_path
        .as_deref()
        .map_or(node.original_file_path.as_str(), |p| {
            p.split_once("://").map_or(p, |(_, f)| f)
        });
    let file = file.to_string();
    for c in &mut node.columns {
        if let Some(t) = c.data_type.as_mut().filter(|t| has_jinja(t)) {
            *t = templates.render(&file, t, &ctx)?.trim().to_string();
        }
    }
    Ok(())
}

/// Whether a config value holds Jinja anywhere (in a string, or inside a list or map).
pub(super) fn value_has_jinja(v: &Value) -> bool {
    match v {
        Value::String(s) => has_jinja(s),
        Value::Array(items) => items.iter().any(value_has_jinja),
        Value::Object(map) => map.values().any(value_has_jinja),
        _ => false,
    }
}

/// Whether rendering changes a YAML config value: Jinja in it, or text ending in a line break
/// (a `|` block), which dbt's renderer drops as Jinja drops a template's last line break
/// ([`without_last_line_break`]).
pub(super) fn value_needs_render(v: &Value) -> bool {
    match v {
        Value::String(s) => has_jinja(s) || s.ends_with('\n'),
        Value::Array(items) => items.iter().any(value_needs_render),
        Value::Object(map) => map.values().any(value_needs_render),
        _ => false,
    }
}

/// A properties file's config value as dbt's renderer leaves text without Jinja: its last line
/// break dropped (a `|` block's `date\n` is `date`), and then read as a Python literal would be
/// (`True`, numbers). Text with Jinja is rendered later, with the node.
pub(super) fn without_last_line_break(v: &Value) -> Value {
    map_text_with_line_break(v, &native)
}

/// A properties value as dbt's renderer leaves text without Jinja: it renders every value of an
/// entry but descriptions and tests (its native renderer, which keeps text as text), and Jinja
/// drops the last line break of what it renders (a `|` block's `text\n` is `text`).
pub(crate) fn rendered_text(v: &Value) -> Value {
    map_text_with_line_break(v, &|s| Value::String(s.to_string()))
}

/// `v` with `f` applied, wherever it is nested, to each text without Jinja that ends in a line
/// break (given without that line break).
fn map_text_with_line_break(v: &Value, f: &dyn Fn(&str) -> Value) -> Value {
    match v {
        Value::String(s) if !has_jinja(s) && s.ends_with('\n') => f(&s[..s.len() - 1]),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| map_text_with_line_break(x, f))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), map_text_with_line_break(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// [`rendered_text`] of each value of a mapping.
pub(super) fn rendered_map(m: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), rendered_text(v)))
        .collect()
}

fn render_value(
    v: &Value,
    templates: &Templates,
    ctx: &Arc<RenderCtx>,
) -> Result<Value, Diagnostic> {
    Ok(match v {
        Value::String(s) if has_jinja(s) => {
            native(templates.render("dbt_project.yml", s, ctx)?.trim())
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| render_value(x, templates, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| Ok((k.clone(), render_value(x, templates, ctx)?)))
                .collect::<Result<_, Diagnostic>>()?,
        ),
        other => other.clone(),
    })
}

/// A rendered config string as dbt's native renderer leaves it: Python's `True`/`False`/`None`
/// and numbers become values, anything else stays text.
fn native(s: &str) -> Value {
    match s {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "None" => Value::Null,
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                Value::from(i)
            } else {
                Value::String(s.to_string())
            }
        }
    }
}

/// A source's `database`, `schema` and `identifier` may be Jinja (packages write
/// `schema: "{{ var('hubspot_schema', 'hubspot') }}"`), and so may its config
/// (`enabled: "{{ var('hubspot_ticket_enabled', false) }}"`): rendered while parsing, in the
/// context of the source's package, as dbt renders them.
pub(super) fn render_source_names(
    node: &mut Node,
    target: &Target,
    templates: &Templates,
    services: &Arc<ParseServices>,
) -> Result<(), Diagnostic> {
    render_config_strings(node, templates, services, target)?;
    render_column_types(node, templates, services, target)?;
    if ![&node.database, &node.schema, &node.alias]
        .into_iter()
        .any(|s| has_jinja(s))
    {
        return Ok(());
    }
    let info = node_info(node, target);
    let ctx = Arc::new(RenderCtx::new(Phase::Parse, info, services.clone()));
    let file = node.original_file_path.clone();
    // Kept as rendered, spaces included (a folded `identifier: >` block joins its lines with a
    // space that dbt keeps); only the one trailing newline goes, as Jinja drops it.
    let render = |s: &str| -> Result<String, Diagnostic> {
        if has_jinja(s) {
            Ok(templates.render(&file, s, &ctx)?)
        } else {
            Ok(s.to_string())
        }
    };
    node.database = render(&node.database)?;
    node.schema = render(&node.schema)?;
    node.alias = render(&node.alias)?;
    if let Some(src) = node.source.as_mut() {
        src.identifier = node.alias.clone();
    }
    Ok(())
}

/// Reads the `fixture:` files a unit test's `given` and `expect` name into their `rows` (CSV text
/// or a SQL query, by `format:`), as dbt loads them from `<test-path>/fixtures/`.
pub(super) fn load_unit_fixtures(project: &Project, def: &mut Value) -> Result<(), Diagnostic> {
    let Some(def) = def.as_object_mut() else {
        return Ok(());
    };
    let mut blocks: Vec<&mut Value> = Vec::new();
    for (key, v) in def.iter_mut() {
        match (key.as_str(), v) {
            ("given", Value::Array(given)) => blocks.extend(given.iter_mut()),
            ("expect", expect) => blocks.push(expect),
            _ => {}
        }
    }
    for block in blocks {
        let Some(b) = block.as_object_mut() else {
            continue;
        };
        let Some(name) = b.get("fixture").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let format = b.get("format").and_then(Value::as_str).unwrap_or("dict");
        let file = project
            .fixture_files
            .iter()
            .find(|f| f.name == name && f.format == format)
            .ok_or_else(|| {
                Diagnostic::error(
                    Code::UnitTest,
                    format!("unit test fixture `{name}` ({format}) not found"),
                )
                .with_hint(format!(
                    "put it at `{}/fixtures/{name}.{}` (a `fixture:` needs `format: csv` or `format: sql`)",
                    project.config.test_paths.first().map_or("tests", String::as_str),
                    if format == "sql" { "sql" } else { "csv" }
                ))
            })?;
        let text =
            std::fs::read_to_string(project.root.join(&file.original_file_path)).map_err(|e| {
                Diagnostic::error(
                    Code::Io,
                    format!("cannot read `{}`: {e}", file.original_file_path),
                )
            })?;
        b.insert("rows".into(), Value::String(text));
    }
    Ok(())
}

/// The arguments of a `metric('name')` or `metric('package', 'name')` call written as a string
/// (an exposure's `depends_on` entry).
pub(super) fn parse_metric_call(s: &str) -> Option<Vec<String>> {
    call_of(s)
        .filter(|(kind, _)| *kind == "metric")
        .map(|(_, args)| args)
}

/// A `ref(...)` or `source(...)` call written as a string: its kind and its arguments
/// (`ref('a')` -> `("ref", ["a"])`).
pub(super) fn parse_call(s: &str) -> Option<(&'static str, Vec<String>)> {
    call_of(s).filter(|(kind, _)| *kind != "metric")
}

/// A `ref(...)`, `source(...)` or `metric(...)` call written as a string: the kind, then the
/// arguments (each quoted text inside the parentheses, in order). The whole string is the call,
/// give or take surrounding whitespace, and the parentheses hold no line break.
fn call_of(s: &str) -> Option<(&'static str, Vec<String>)> {
    let head = s.trim_start();
    let kind = ["ref", "source", "metric"]
        .into_iter()
        .find(|k| head.starts_with(k))?;
    let inner = head[kind.len()..]
        .trim_start()
        .strip_prefix('(')?
        .trim_end()
        .strip_suffix(')')?;
    if inner.contains('\n') {
        return None;
    }
    Some((kind, quoted_texts(inner)))
}

/// Each text between a quote (`'` or `"`) and the next quote, in order.
fn quoted_texts(s: &str) -> Vec<String> {
    let is_quote = |c: char| c == '\'' || c == '"';
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find(is_quote) {
        let after = &rest[open + 1..];
        let Some(close) = after.find(is_quote) else {
            break;
        };
        out.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use call_of as call;

    fn found(kind: &'static str, args: &[&str]) -> Option<(&'static str, Vec<String>)> {
        Some((kind, args.iter().map(|a| a.to_string()).collect()))
    }

    #[test]
    fn a_call_written_as_a_string_gives_its_kind_and_quoted_arguments() {
        assert_eq!(call("ref('orders')"), found("ref", &["orders"]));
        assert_eq!(call("  ref ( \"orders\" )\n"), found("ref", &["orders"]));
        assert_eq!(
            call("ref('pkg', 'orders')"),
            found("ref", &["pkg", "orders"])
        );
        assert_eq!(
            call("source('raw', \"events\")"),
            found("source", &["raw", "events"])
        );
        assert_eq!(call("metric('arr')"), found("metric", &["arr"]));
        // A version argument's number is no quoted text; a quoted one is.
        assert_eq!(call("ref('m', v=2)"), found("ref", &["m"]));
        assert_eq!(call("ref('m', version='2')"), found("ref", &["m", "2"]));
        // A quote of either kind ends a text (as dbt's own pattern reads them).
        assert_eq!(call("ref('it\"s')"), found("ref", &["it"]));
        assert_eq!(call("ref()"), found("ref", &[]));
        assert_eq!(call("ref('unclosed)"), found("ref", &[]));
    }

    #[test]
    fn a_string_that_is_not_only_a_call_is_no_call() {
        for s in [
            "orders",
            "references('x')",
            "sources('a', 'b')",
            "ref('a') + 1",
            "{{ ref('a') }}",
            "ref('a'\n)",
            "ref 'a'",
            "",
        ] {
            assert_eq!(call(s), None, "{s:?}");
        }
        assert_eq!(parse_call("metric('arr')"), None);
        assert_eq!(parse_metric_call("ref('a')"), None);
    }
}
