//! `sluice metrics validate`: the semantic layer's definitions (already checked when it loaded),
//! and with `--data` the relations and columns they name, looked up in the warehouse.

use super::*;
use crate::diagnostics::Code;

pub(super) fn validate(g: &GlobalArgs, s: &Ctx, layer: &SemanticLayer, data: bool) -> CmdResult {
    if data {
        let mut conn = connect(s)?;
        let mut errors = Vec::new();
        let d = dialect(s)?;
        for sm in &layer.semantic_models {
            let Some(rel) = &sm.relation else { continue };
            let columns: Vec<String> = match conn.columns(rel) {
                Ok(cols) if !cols.is_empty() => cols.into_iter().map(|c| c.name).collect(),
                _ => {
                    errors.push(
                        metrics::diag_at(
                            &s.project.yaml_files,
                            &sm.origin.file,
                            "semantic_models",
                            &[metrics::Step::Name(&sm.name), metrics::Step::Key("model")],
                            Code::SemanticData,
                            format!(
                                "semantic model `{}` reads `{}`, which is not in the warehouse",
                                sm.name,
                                rel.display_name()
                            ),
                        )
                        .with_hint("build it first: `sluice build`"),
                    );
                    continue;
                }
            };
            // Every expression of the semantic model, evaluated on zero rows.
            let mut exprs: Vec<(&str, &str, String, String)> = Vec::new();
            for e in &sm.entities {
                exprs.push(("entity", "entities", e.name.clone(), e.sql().to_string()));
            }
            for dim in &sm.dimensions {
                exprs.push((
                    "dimension",
                    "dimensions",
                    dim.name.clone(),
                    dim.sql().to_string(),
                ));
            }
            for m in &sm.measures {
                exprs.push(("measure", "measures", m.name.clone(), m.sql()));
            }
            for (what, key, name, e) in exprs {
                let sql = format!("select {e} from {} where 1 = 0", d.rel(rel));
                let Err(err) = conn.query(&sql) else { continue };
                let msg = s.target.scrub(&err.to_string());
                let first = msg.lines().next().unwrap_or_default().to_string();
                let hint = crate::diagnostics::did_you_mean(&e, columns.iter().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!(
                            "the columns of `{}` are: {}",
                            rel.display_name(),
                            columns.join(", ")
                        )
                    });
                errors.push(
                    metrics::diag_at(
                        &s.project.yaml_files,
                        &sm.origin.file,
                        "semantic_models",
                        &[
                            metrics::Step::Name(&sm.name),
                            metrics::Step::Key(key),
                            metrics::Step::Name(&name),
                            metrics::Step::Key("expr"),
                        ],
                        Code::SemanticData,
                        format!(
                            "{what} `{name}` of semantic model `{}` does not run on `{}`: {first}",
                            sm.name,
                            rel.display_name(),
                        ),
                    )
                    .with_hint(hint)
                    .with_source_from(&s.project.root),
                );
            }
        }
        // With every expression running: the checks on the data itself (unique entities,
        // fan-out joins, dates outside the time spine).
        if errors.is_empty() {
            for check in metrics::data_checks::checks(layer, d) {
                let answer = match conn.query(&check.sql) {
                    Ok(t) => t,
                    Err(e) => {
                        errors.push(
                            Diagnostic::error(
                                Code::SemanticData,
                                format!(
                                    "a data check of the semantic layer failed to run: {}",
                                    s.target.scrub(&e.to_string())
                                ),
                            )
                            .in_file(&check.file),
                        );
                        continue;
                    }
                };
                let row = answer.rows.first().cloned().unwrap_or_default();
                if let Some((msg, hint)) = check.explain(&answer.column_names, &row) {
                    errors.push(
                        metrics::diag_at(
                            &s.project.yaml_files,
                            &check.file,
                            "semantic_models",
                            &check.steps(),
                            Code::SemanticData,
                            msg,
                        )
                        .with_hint(hint)
                        .with_source_from(&s.project.root),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    let msg = format!(
        "Semantic layer is valid: {} semantic models, {} metrics, {} saved queries{}",
        layer.semantic_models.len(),
        layer.metrics.len(),
        layer.saved_queries.len(),
        if data {
            "; every expression runs on the warehouse, entities are unique, joins do not fan out and dates are within the time spine"
        } else {
            ""
        }
    );
    if g.log_format == LogFormat::Json {
        println!("{}", serde_json::json!({"event": "info", "message": msg}));
    } else {
        println!("{msg}");
    }
    Ok(Outcome::Ok)
}
