//! Running a saved query in `build`: its compiled SQL (planned by `metrics::nodes` when the
//! session loaded) is written to each of its `exports` as a table or a view.
//!
//! Design decision: an export is built by the same swap as a table or view model
//! ([`materialize::build`]): the new relation is created under a temporary name and renamed into
//! place in one transaction, so a failing export leaves the previous relation as it was. A saved
//! query without exports has nothing to write and is reported `NO-OP`, as dbt reports every
//! saved query.

use std::sync::Arc;

use super::materialize::{self, BuildSpec};
use super::warehouse::ConnWarehouse;
use super::worker::NodeOutcome;
use super::RunStatus;
use crate::adapters::{AdapterError, Connection};
use crate::compile::{Materialization, Node};
use crate::metrics::nodes::{node_exports, node_plan_error};
use crate::sql::Relation;

pub(crate) fn run(node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    if let Some(e) = node_plan_error(node) {
        return NodeOutcome::error(
            format!("saved query `{}` cannot be planned: {e}", node.name),
            None,
        );
    }
    let exports = node_exports(node);
    let sql = node.compiled_code.clone().unwrap_or_default();
    if exports.is_empty() {
        return NodeOutcome {
            status: RunStatus::NoOp,
            message: "NO-OP".into(),
            failures: None,
            compiled_code: None,
            detail: None,
            rows_affected: None,
        };
    }
    let Ok(mut conn) = wh.conn.lock() else {
        return NodeOutcome::error("connection poisoned", None);
    };
    let conn = conn.as_mut();
    for e in &exports {
        if let Err(err) = write_export(conn, &e.relation, e.export_as == "view", &sql) {
            return NodeOutcome::error(
                format!(
                    "export `{}` of saved query `{}` to {} failed: {err}",
                    e.name,
                    node.name,
                    e.relation.display_name()
                ),
                Some(sql),
            );
        }
    }
    NodeOutcome {
        status: RunStatus::Success,
        message: format!("EXPORT {}", exports.len()),
        failures: None,
        compiled_code: Some(sql),
        detail: None,
        rows_affected: None,
    }
}

/// Writes one export: `sql` as a table (or a view) at `relation`, its schema created first. The
/// same swap as a table model, so a failing export leaves the previous relation as it was. Used
/// by `build` and by `sluice metrics export`.
pub(crate) fn write_export(
    conn: &mut dyn Connection,
    relation: &Relation,
    as_view: bool,
    sql: &str,
) -> Result<(), AdapterError> {
    let spec = BuildSpec {
        relation,
        materialization: if as_view {
            Materialization::View
        } else {
            Materialization::Table
        },
        sql,
        unique_key: vec![],
        incremental_strategy: None,
        full_refresh: false,
        on_schema_change: None,
        incremental_predicates: vec![],
        merge_update_columns: vec![],
        merge_exclude_columns: vec![],
        contract: None,
        sql_header: None,
        indexes: &[],
        on_configuration_change: None,
        unlogged: false,
        table_options: conn
            .dialect()
            .table_options(&relation.identifier, &|_| None)
            .map_err(AdapterError::build)?,
        partition_by: Vec::new(),
        // An export is a relation of its own: nothing reads it in the run that writes it.
        rebuilt: &materialize::Rebuilt::new(),
    };
    materialize::ensure_schema(conn, &relation.database, &relation.schema)?;
    materialize::build(conn, &spec).map(|_| ())
}
