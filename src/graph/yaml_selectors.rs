//! `selectors.yml`: named selections (`--selector NAME`, `default: true`, `method: selector`),
//! read into [`SelectExpr`]s as dbt-core 1.10 reads them (`graph/cli.py`
//! `parse_from_selectors_definition`).
//!
//! A definition is a selector string (one criterion: `tag:nightly`, `+orders`), a one-key
//! mapping (`tag: nightly`), a full mapping (`method`, `value`, `parents`, `children`,
//! `parents_depth`, `children_depth`, `childrens_parents`, `exclude`), or a `union:` /
//! `intersection:` list whose one `exclude:` item is subtracted from the rest. `method: selector`
//! reuses a selector defined earlier in the file. The caller renders Jinja in the file's strings
//! first (dbt renders `env_var()`, `var()` and `target` there).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::selector::{criterion_from_parts, parse_single, SelectExpr};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};

/// The selectors of a project's `selectors.yml`, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selectors {
    by_name: BTreeMap<String, Named>,
}

#[derive(Debug, Clone)]
struct Named {
    default: bool,
    expr: SelectExpr,
}

impl Selectors {
    /// Reads the (rendered) YAML document of `file`.
    pub(crate) fn parse(doc: &Value, file: &Path) -> Result<Selectors, Diagnostic> {
        let bad = |msg: String| {
            Diagnostic::error(Code::Selector, msg)
                .in_file(file)
                .with_hint("see https://docs.getdbt.com/reference/node-selection/yaml-selectors")
        };
        let mut out = Selectors::default();
        let list = match doc {
            Value::Null => return Ok(out),
            Value::Object(m) => match m.get("selectors") {
                Some(Value::Array(list)) => list,
                Some(Value::Null) | None => return Ok(out),
                Some(_) => return Err(bad("`selectors:` must be a list".into())),
            },
            _ => {
                return Err(bad(
                    "selectors.yml must be a mapping with a `selectors:` list".into(),
                ))
            }
        };
        let mut default_name: Option<String> = None;
        for item in list {
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                return Err(bad("every selector needs a `name:`".into()));
            };
            let Some(definition) = item.get("definition") else {
                return Err(bad(format!("selector `{name}` has no `definition:`")));
            };
            if let Value::Object(m) = definition {
                if (m.contains_key("union") || m.contains_key("intersection")) && m.len() > 1 {
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    return Err(bad(format!(
                        "Only a single 'union' or 'intersection' key is allowed in a root level \
                         selector definition; found {}.",
                        keys.join(",")
                    )));
                }
            }
            let expr = definition_expr(definition, &out)
                .map_err(|msg| bad(format!("selector `{name}`: {msg}")))?;
            let default = match item.get("default") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
                Some(other) => {
                    return Err(bad(format!(
                        "selector `{name}`: `default:` must be true or false, not {other}"
                    )))
                }
            };
            if default {
                if let Some(first) = &default_name {
                    return Err(bad(format!(
                        "Found multiple selectors with `default: true`:{first} and {name}"
                    )));
                }
                default_name = Some(name.to_string());
            }
            out.by_name
                .insert(name.to_string(), Named { default, expr });
        }
        Ok(out)
    }

    /// The selector named `name` (`--selector NAME`).
    pub(crate) fn get(&self, name: &str) -> Result<&SelectExpr, Diagnostic> {
        self.by_name.get(name).map(|n| &n.expr).ok_or_else(|| {
            let known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            Diagnostic::error(
                Code::Selector,
                format!("Could not find selector named {name}, expected one of {known:?}"),
            )
            .maybe_hint(did_you_mean(name, known.iter().copied()))
        })
    }

    /// The selector with `default: true`, used when no `--select`, `--exclude` or `--selector`
    /// is given.
    pub(crate) fn default_name(&self) -> Option<&str> {
        self.by_name
            .iter()
            .find(|(_, n)| n.default)
            .map(|(k, _)| k.as_str())
    }
}

/// One definition (or part of one) as an expression; `earlier` holds the selectors defined
/// above it in the file, for `method: selector`.
fn definition_expr(def: &Value, earlier: &Selectors) -> Result<SelectExpr, String> {
    match def {
        Value::String(s) => parse_single(s).map_err(|d| d.message),
        Value::Object(m) if m.contains_key("union") || m.contains_key("intersection") => {
            let union = m.contains_key("union");
            let key = if union { "union" } else { "intersection" };
            let Some(Value::Array(items)) = m.get(key) else {
                return Err(format!("Invalid value for key \"{key}\". Expected a list."));
            };
            let (include, exclude) = include_exclude(items, earlier)?;
            let set = if union {
                SelectExpr::Union(include)
            } else {
                SelectExpr::Intersection(include)
            };
            Ok(match exclude {
                None => set,
                Some(x) => SelectExpr::Difference(Box::new(set), Box::new(x)),
            })
        }
        Value::Object(m) if m.len() == 1 => {
            let (method, value) = m.iter().next().expect("one key");
            let value = scalar(value)
                .ok_or_else(|| format!("the value of `{method}` must be a string, not {value}"))?;
            criterion_from_parts(method, &value, None, None, false).map_err(|d| d.message)
        }
        Value::Object(m) if m.get("method").and_then(Value::as_str) == Some("selector") => {
            let name = m.get("value").and_then(scalar).unwrap_or_default();
            earlier
                .by_name
                .get(&name)
                .map(|n| n.expr.clone())
                .ok_or_else(|| format!("Existing selector definition for {name} not found."))
        }
        Value::Object(m) if m.contains_key("method") && m.contains_key("value") => {
            let method = m.get("method").and_then(scalar).unwrap_or_default();
            let value = m
                .get("value")
                .and_then(scalar)
                .ok_or_else(|| format!("the value of method `{method}` must be a string"))?;
            let flag = |k: &str| -> bool {
                match m.get(k) {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                }
            };
            let depth = |k: &str| -> Result<Option<usize>, String> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => scalar(v)
                        .and_then(|s| s.parse().ok())
                        .map(Some)
                        .ok_or_else(|| format!("Invalid node spec - {k} is not an integer: {v}")),
                }
            };
            if let Some(mode) = m.get("indirect_selection").and_then(Value::as_str) {
                if !mode.eq_ignore_ascii_case("eager") {
                    return Err(format!(
                        "`indirect_selection: {mode}` is not supported by sluice yet (it selects \
                         tests eagerly, dbt's default)"
                    ));
                }
            }
            let parents = flag("parents")
                .then(|| depth("parents_depth"))
                .transpose()?;
            let children = flag("children")
                .then(|| depth("children_depth"))
                .transpose()?;
            let base = criterion_from_parts(
                &method,
                &value,
                parents,
                children,
                flag("childrens_parents"),
            )
            .map_err(|d| d.message)?;
            match m.get("exclude") {
                None => Ok(base),
                Some(Value::Array(items)) => {
                    let excl = exclusions(items, earlier)?;
                    Ok(SelectExpr::Difference(Box::new(base), Box::new(excl)))
                }
                Some(_) => Err("Invalid value for key \"exclude\". Expected a list.".into()),
            }
        }
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            Err(format!(
                "Expected either 1 key or else \"method\" and \"value\" keys, but got {keys:?}"
            ))
        }
        other => Err(format!(
            "Expected to find union, intersection, str or dict, instead found {other}"
        )),
    }
}

/// The items of a `union:` / `intersection:` list, and its one `exclude:` item.
fn include_exclude(
    items: &[Value],
    earlier: &Selectors,
) -> Result<(Vec<SelectExpr>, Option<SelectExpr>), String> {
    let mut include = Vec::new();
    let mut exclude = None;
    for item in items {
        match item.get("exclude") {
            Some(x) => {
                if exclude.is_some() {
                    return Err(
                        "You cannot provide multiple exclude arguments to the same selector set \
                         operator"
                            .into(),
                    );
                }
                let Value::Array(list) = x else {
                    return Err("Invalid value for key \"exclude\". Expected a list.".into());
                };
                exclude = Some(exclusions(list, earlier)?);
            }
            None => include.push(definition_expr(item, earlier)?),
        }
    }
    Ok((include, exclude))
}

fn exclusions(items: &[Value], earlier: &Selectors) -> Result<SelectExpr, String> {
    let mut parts: Vec<SelectExpr> = items
        .iter()
        .map(|i| definition_expr(i, earlier))
        .collect::<Result<_, _>>()?;
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        SelectExpr::Union(parts)
    })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
