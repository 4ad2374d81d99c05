//! The warehouse as templates see it (`run_query`, `get_relation`, `get_columns_in_relation`
//! ...): a worker's own connection during a run ([`ConnWarehouse`]), or one opened on the first
//! introspective call of a compile-only command ([`LazyWarehouse`]).

use std::sync::Mutex;

use crate::adapters::Connection;
use crate::compile::Warehouse;
use crate::sql::Relation;
use crate::templating::{Column, QueryResult};

/// A worker's connection, shared with the templates while the node compiles.
pub(crate) struct ConnWarehouse {
    pub(crate) conn: Mutex<Box<dyn Connection>>,
}

impl Warehouse for ConnWarehouse {
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| "connection poisoned".to_string())?;
        if fetch {
            c.query(sql).map_err(|e| e.to_string())
        } else {
            c.execute(sql)
                .map(|_| QueryResult::default())
                .map_err(|e| e.to_string())
        }
    }
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| "connection poisoned".to_string())?;
        let rel = Relation::new(database, schema, identifier);
        let kind = c.relation_kind(&rel).map_err(|e| e.to_string())?;
        Ok(kind.map(|k| {
            let s = match k {
                crate::sql::RelationKind::Table => "table",
                crate::sql::RelationKind::View => "view",
                crate::sql::RelationKind::MaterializedView => "materialized_view",
            };
            (rel, s.to_string())
        }))
    }
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| "connection poisoned".to_string())?;
        c.columns(relation).map_err(|e| e.to_string())
    }
}

/// The warehouse of a command that only compiles (`compile`, `show`): connected on the first
/// introspective call (`get_relation`, `get_columns_in_relation`, `run_query` ...), as dbt's
/// `compile` introspects, so a project whose Jinja never asks costs no connection. A DuckDB file
/// that does not exist yet holds no relations: it is not created just to look.
pub(crate) struct LazyWarehouse {
    target: crate::project::Target,
    conn: std::sync::OnceLock<Result<ConnWarehouse, String>>,
}

impl LazyWarehouse {
    pub(crate) fn new(target: &crate::project::Target) -> Self {
        LazyWarehouse {
            target: target.clone(),
            conn: std::sync::OnceLock::new(),
        }
    }

    /// A target where nothing can have been built yet (nothing to introspect).
    fn nothing_built(&self) -> bool {
        self.conn.get().is_none()
            && crate::adapters::registry::engine(&self.target.adapter_type)
                .is_some_and(|e| e.nothing_built(&self.target))
    }

    fn warehouse(&self) -> Result<&ConnWarehouse, String> {
        self.conn
            .get_or_init(|| {
                let adapter = crate::adapters::Adapter::connect(&self.target)
                    .map_err(|e| e.to_diagnostic(&self.target).to_string())?;
                let conn = adapter
                    .connection()
                    .map_err(|e| e.to_diagnostic(&self.target).to_string())?;
                Ok(ConnWarehouse {
                    conn: Mutex::new(conn),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Warehouse for LazyWarehouse {
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        self.warehouse()?.execute_sql(sql, fetch)
    }
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        if self.nothing_built() {
            return Ok(None);
        }
        self.warehouse()?.get_relation(database, schema, identifier)
    }
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String> {
        if self.nothing_built() {
            return Ok(Vec::new());
        }
        self.warehouse()?.get_columns(relation)
    }
}
