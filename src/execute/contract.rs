//! Enforced model contracts (`contract: {enforced: true}`): the table is created from the
//! contract's columns, types and constraints, then filled from the model's query with its
//! columns in the contract's order, as dbt's `create_table_as` does with a contract
//! (`get_table_columns_and_constraints` + `get_select_subquery`). The constraints are rendered
//! as dbt's adapters render them, so the warehouse enforces them at run time.

use serde_json::Value;

use crate::compile::{Node, Resolver};
use crate::sql::{Dialect, Relation};

/// A contract's DDL pieces: each column's definition, the model-level constraints, and the
/// column names the insert lists.
#[derive(Debug, Clone)]
pub(crate) struct Contract {
    pub(crate) column_defs: Vec<String>,
    pub(crate) model_constraints: Vec<String>,
    pub(crate) column_names: Vec<String>,
}

impl Contract {
    /// The contract of `node`, if it enforces one; an error names a column without a type.
    pub(crate) fn of(
        node: &Node,
        resolver: &Resolver,
        dialect: Dialect,
    ) -> Result<Option<Contract>, String> {
        let enforced = node
            .config
            .get("contract")
            .and_then(|c| c.get("enforced"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !enforced {
            return Ok(None);
        }
        let to = |c: &Value| resolve_to(c, node, resolver, dialect);
        let mut column_defs = Vec::new();
        let mut column_names = Vec::new();
        for col in &node.columns {
            let Some(data_type) = col.data_type.as_deref().filter(|t| !t.is_empty()) else {
                return Err(format!(
                    "Contracted models require data_type to be defined for each column; \
                     column `{}` of `{}` has none",
                    col.name, node.name
                ));
            };
            let name = if col.quote == Some(true) {
                dialect.quote(&col.name)
            } else {
                col.name.clone()
            };
            let mut def = vec![format!("{name} {data_type}")];
            for c in &col.constraints {
                if let Some(r) = column_constraint(c, to(c)?) {
                    def.push(r);
                }
            }
            column_defs.push(def.join(" "));
            column_names.push(name);
        }
        let mut model_constraints = Vec::new();
        for c in &node.constraints {
            if let Some(r) = model_constraint(c, to(c)?) {
                model_constraints.push(r);
            }
        }
        Ok(Some(Contract {
            column_defs,
            model_constraints,
            column_names,
        }))
    }

    /// The model's query with its columns in the contract's order (dbt's
    /// `get_select_subquery`).
    pub(crate) fn select_subquery(&self, sql: &str) -> String {
        format!(
            "select\n       {}\n       from\n    (\n        {}\n    ) as model_subq",
            self.column_names.join(",\n       "),
            sql.trim().trim_end_matches(';')
        )
    }

    /// `create table` with the contract's columns, then `insert` of the query's rows (the
    /// statements as dbt writes them, without the last `;`).
    pub(crate) fn statements(&self, d: Dialect, rel: &Relation, sql: &str) -> (String, String) {
        let defs: Vec<&String> = self
            .column_defs
            .iter()
            .chain(&self.model_constraints)
            .collect();
        let create = format!(
            "create table {} (\n    {}\n)",
            d.rel(rel),
            defs.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",\n    ")
        );
        let insert = format!(
            "insert into {} (\n    {}\n)\n(\n    {}\n)",
            d.rel(rel),
            self.column_names.join(" ,\n    "),
            self.select_subquery(sql)
        );
        (create, insert)
    }
}

fn text<'a>(c: &'a Value, key: &str) -> &'a str {
    c.get(key).and_then(Value::as_str).unwrap_or("").trim()
}

fn kind(c: &Value) -> &str {
    text(c, "type")
}

fn list(c: &Value, key: &str) -> Vec<String> {
    crate::project::config::str_list(c.get(key))
}

/// A foreign key's `to:` (`ref('m')`, `source('s', 't')` or a relation written out) as the
/// relation it names; DuckDB's adapter leaves the database out (its foreign keys cannot cross
/// databases).
fn resolve_to(
    c: &Value,
    node: &Node,
    resolver: &Resolver,
    dialect: Dialect,
) -> Result<Option<String>, String> {
    let to = text(c, "to");
    if to.is_empty() {
        return Ok(None);
    }
    let call = crate::compile::parse_relation_call(to)
        .filter(|(kind, _)| kind == "ref" || kind == "source");
    let Some((kind, args)) = call else {
        return Ok(Some(to.to_string()));
    };
    let rel = resolver
        .relation_of_call(&node.package_name, &kind, &args)?
        .ok_or_else(|| format!("cannot read the foreign key target `{to}`"))?;
    Ok(Some(if dialect.foreign_keys_name_database() {
        dialect.rel(&rel)
    } else {
        let schema_only = Relation::new("", rel.schema.clone(), rel.identifier.clone());
        dialect.rel(&schema_only)
    }))
}

/// A column-level constraint as dbt's adapters render it (`not null`, `check (...)`,
/// `references t (c)` ...).
fn column_constraint(c: &Value, to: Option<String>) -> Option<String> {
    let expr = text(c, "expression");
    let rendered = match kind(c) {
        "check" if !expr.is_empty() => format!("check ({expr})"),
        "not_null" => format!("not null {expr}"),
        "unique" => format!("unique {expr}"),
        "primary_key" => format!("primary key {expr}"),
        "foreign_key" => {
            let cols = list(c, "to_columns");
            match to {
                Some(t) if !cols.is_empty() => format!("references {t} ({})", cols.join(", ")),
                _ if !expr.is_empty() => format!("references {expr}"),
                _ => return None,
            }
        }
        "custom" if !expr.is_empty() => expr.to_string(),
        _ => return None,
    };
    Some(rendered.trim().to_string())
}

/// A model-level constraint as dbt's adapters render it (`primary key (a, b)`, `constraint n
/// unique (a)`, `foreign key (a) references t (b)` ...).
fn model_constraint(c: &Value, to: Option<String>) -> Option<String> {
    let name = text(c, "name");
    let prefix = if name.is_empty() {
        String::new()
    } else {
        format!("constraint {name} ")
    };
    let expr = text(c, "expression");
    let with_expr = if expr.is_empty() {
        String::new()
    } else {
        format!(" {expr}")
    };
    let columns = list(c, "columns").join(", ");
    let rendered = match kind(c) {
        "check" if !expr.is_empty() => format!("check ({expr})"),
        "unique" => format!("unique{with_expr} ({columns})"),
        "primary_key" => format!("primary key{with_expr} ({columns})"),
        "foreign_key" => {
            let cols = list(c, "to_columns");
            match to {
                Some(t) if !cols.is_empty() => {
                    format!(
                        "foreign key ({columns}) references {t} ({})",
                        cols.join(", ")
                    )
                }
                _ if !expr.is_empty() => format!("foreign key ({columns}) references {expr}"),
                _ => return None,
            }
        }
        "custom" if !expr.is_empty() => expr.to_string(),
        _ => return None,
    };
    Some(format!("{prefix}{rendered}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn constraints_render_as_dbts_adapters_render_them() {
        let t = Some("\"s\".\"fk\"".to_string());
        let col = [
            (json!({"type": "not_null"}), "not null"),
            (
                json!({"type": "check", "expression": "(id > 0)"}),
                "check ((id > 0))",
            ),
            (
                json!({"type": "foreign_key", "to_columns": ["id"]}),
                "references \"s\".\"fk\" (id)",
            ),
            (json!({"type": "unique"}), "unique"),
            (json!({"type": "primary_key"}), "primary key"),
        ];
        for (c, want) in col {
            assert_eq!(column_constraint(&c, t.clone()).as_deref(), Some(want));
        }
        assert_eq!(column_constraint(&json!({"type": "check"}), None), None);
        let model = [
            (
                json!({"type": "check", "expression": "id >= 1"}),
                "check (id >= 1)",
            ),
            (
                json!({"type": "primary_key", "columns": ["id"]}),
                "primary key (id)",
            ),
            (
                json!({"type": "unique", "columns": ["color", "date_day"], "name": "u"}),
                "constraint u unique (color, date_day)",
            ),
            (
                json!({"type": "foreign_key", "columns": ["id"], "to_columns": ["id"]}),
                "foreign key (id) references \"s\".\"fk\" (id)",
            ),
        ];
        for (c, want) in model {
            assert_eq!(model_constraint(&c, t.clone()).as_deref(), Some(want));
        }
    }
}

/// dbt's contract preflight check (`assert_columns_equivalent`): the columns the model's query
/// returns must be the contract's, by name and by type as the engine's dbt adapter names result
/// types (compared through an empty query of each: `select cast(null as <type>) as <name>, ...`
/// for the contract). A difference is dbt's "enforced contract that failed" error with its table
/// of mismatches. Engines that do not name result types skip it (the warehouse then enforces the
/// contract when the table is created from it).
pub(crate) fn preflight(
    conn: &mut dyn crate::adapters::Connection,
    node: &Node,
    sql: &str,
) -> Result<(), String> {
    if node.columns.is_empty() {
        return Err(
            "This model has an enforced contract, and its 'columns' specification is missing"
                .into(),
        );
    }
    let empty = format!("select * from (\n{sql}\n) as __dbt_sbq\nwhere false\nlimit 0");
    let Some(sql_cols) = conn.query_column_types(&empty).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let d = conn.dialect();
    let casts: Vec<String> = node
        .columns
        .iter()
        .map(|c| {
            let name = if c.quote == Some(true) {
                d.quote(&c.name)
            } else {
                c.name.clone()
            };
            let data_type = c.data_type.as_deref().unwrap_or("");
            format!("cast(null as {data_type}) as {name}")
        })
        .collect();
    let Some(yaml_cols) = conn
        .query_column_types(&format!("select\n    {}", casts.join(",\n    ")))
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let formatted = |(n, t): &(String, String)| format!("{} {t}", n.to_lowercase());
    let equivalent = sql_cols.len() == yaml_cols.len()
        && sql_cols.iter().all(|s| {
            yaml_cols
                .iter()
                .find(|y| y.0 == s.0)
                .is_some_and(|y| formatted(y) == formatted(s))
        });
    if equivalent {
        return Ok(());
    }
    Err(contract_error(&yaml_cols, &sql_cols))
}

/// dbt's `ContractError` message: the mismatches as agate prints a table.
fn contract_error(yaml: &[(String, String)], sql: &[(String, String)]) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    for (name, t) in sql {
        match yaml.iter().find(|(n, _)| n == name) {
            Some((_, yt)) if yt == t => {}
            Some((_, yt)) => rows.push([
                name.clone(),
                t.clone(),
                yt.clone(),
                "data type mismatch".into(),
            ]),
            None => rows.push([
                name.clone(),
                t.clone(),
                String::new(),
                "missing in contract".into(),
            ]),
        }
    }
    for (name, t) in yaml {
        if !sql.iter().any(|(n, _)| n == name) {
            rows.push([
                name.clone(),
                String::new(),
                t.clone(),
                "missing in definition".into(),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let header = [
        "column_name",
        "definition_type",
        "contract_type",
        "mismatch_reason",
    ];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 4]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", parts.join(" | "))
    };
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut table = vec![
        line(header),
        line([&dashes[0], &dashes[1], &dashes[2], &dashes[3]]),
    ];
    for r in &rows {
        table.push(line([&r[0], &r[1], &r[2], &r[3]]));
    }
    format!(
        "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n{}",
        table.join("\n")
    )
}

#[cfg(test)]
mod preflight_tests {
    use super::contract_error;

    #[test]
    fn the_mismatch_table_reads_as_dbts() {
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        let msg = contract_error(
            &[s("id", "STRING"), s("color", "STRING")],
            &[s("id", "INTEGER"), s("colour", "STRING")],
        );
        assert_eq!(
            msg,
            "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n\
| column_name | definition_type | contract_type | mismatch_reason       |\n\
| ----------- | --------------- | ------------- | --------------------- |\n\
| color       |                 | STRING        | missing in definition |\n\
| colour      | STRING          |               | missing in contract   |\n\
| id          | INTEGER         | STRING        | data type mismatch    |"
        );
    }
}
