//! The statement log: with `SLUICE_RECORD_SQL=<file>` set, every statement sluice sends through
//! a connection's `execute` or `query` is appended to that file as one JSON line
//! (`{"connection": n, "sql": "..."}`), in the order they ran. Off by default.
//!
//! It exists for the replay benchmark (`scripts/bench`, `examples/replay.rs`): the same
//! statements run back to back on one connection are the floor a build cannot go below, so
//! sluice's time over that replay is its own overhead. Catalog lookups the relation cache makes
//! are not logged (they are part of that overhead).

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{AdapterError, Column, Connection, QueryResult};
use crate::project::seeds::SeedTable;
use crate::sql::{Dialect, Relation, RelationKind};

/// The environment variable that names the log file.
pub(crate) const RECORD_ENV: &str = "SLUICE_RECORD_SQL";

/// An open statement log, shared by every connection of one adapter.
#[derive(Debug)]
pub(crate) struct StatementLog {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
    connections: AtomicUsize,
}

impl StatementLog {
    /// The log `SLUICE_RECORD_SQL` names, created (truncated) now; None when it is not set.
    pub(crate) fn from_env(target: &str) -> Result<Option<Arc<StatementLog>>, AdapterError> {
        let Some(path) = std::env::var_os(RECORD_ENV).filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let file = std::fs::File::create(&path).map_err(|e| AdapterError::Connection {
            target: target.to_string(),
            message: format!(
                "cannot create the statement log {} ({RECORD_ENV}): {e}",
                std::path::Path::new(&path).display()
            ),
        })?;
        Ok(Some(Arc::new(StatementLog {
            file: Mutex::new(std::io::BufWriter::new(file)),
            connections: AtomicUsize::new(0),
        })))
    }

    fn write(&self, connection: usize, sql: &str) {
        let line = serde_json::json!({"connection": connection, "sql": sql});
        if let Ok(mut f) = self.file.lock() {
            // The log is a benchmark aid: a full disk must not fail the build.
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
    }
}

/// SQL that creates `rel` with the seed's columns and inserts its rows, 1,000 per statement.
fn seed_sql(d: Dialect, rel: &Relation, table: &SeedTable, quote_columns: bool) -> Vec<String> {
    use crate::project::seeds::SeedValue;
    use crate::sql::{literal, quote};
    let name = |n: &str| {
        if quote_columns {
            quote(n)
        } else {
            n.to_string()
        }
    };
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", name(&c.name), c.sql_type))
        .collect();
    let mut out = vec![format!(
        "create table {} ({})",
        d.rel(rel),
        columns.join(", ")
    )];
    for rows in table.rows.chunks(1000) {
        let rows: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> = row
                    .iter()
                    .map(|v| match v {
                        SeedValue::Null => "null".to_string(),
                        SeedValue::Int(i) => i.to_string(),
                        SeedValue::Float(f) => format!("{f:?}"),
                        SeedValue::Bool(b) => b.to_string(),
                        SeedValue::Date(s) | SeedValue::DateTime(s) | SeedValue::Text(s) => {
                            literal(s)
                        }
                    })
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        out.push(format!(
            "insert into {} values {}",
            d.rel(rel),
            rows.join(", ")
        ));
    }
    out
}

/// A connection that logs what it runs to a [`StatementLog`].
pub(crate) struct RecordingConnection {
    inner: Box<dyn Connection>,
    log: Arc<StatementLog>,
    id: usize,
}

impl RecordingConnection {
    pub(crate) fn new(inner: Box<dyn Connection>, log: Arc<StatementLog>) -> Self {
        let id = log.connections.fetch_add(1, Ordering::Relaxed);
        RecordingConnection { inner, log, id }
    }
}

impl Connection for RecordingConnection {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        self.log.write(self.id, sql);
        self.inner.execute(sql)
    }
    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        self.log.write(self.id, sql);
        self.inner.query(sql)
    }
    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        self.inner.relation_kind(rel)
    }
    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        self.inner.list_relations(database, schema)
    }
    fn schema_exists(&mut self, database: &str, schema: &str) -> Result<bool, AdapterError> {
        self.inner.schema_exists(database, schema)
    }
    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError> {
        self.inner.columns(rel)
    }
    fn query_column_types(
        &mut self,
        sql: &str,
    ) -> Result<Option<Vec<(String, String)>>, AdapterError> {
        self.inner.query_column_types(sql)
    }
    /// Logged as the SQL that loads the same rows (the engine may load them another way).
    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError> {
        let d = self.inner.dialect();
        for sql in seed_sql(d, rel, table, quote_columns) {
            self.log.write(self.id, &sql);
        }
        self.inner.load_seed(rel, table, quote_columns)
    }
    fn reset_session(&mut self) -> Result<(), AdapterError> {
        self.inner.reset_session()
    }
    fn begin(&mut self) -> Result<(), AdapterError> {
        self.log.write(self.id, "begin");
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), AdapterError> {
        self.log.write(self.id, "commit");
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), AdapterError> {
        self.log.write(self.id, "rollback");
        self.inner.rollback()
    }
    fn set_query_context(&mut self, node_id: Option<&str>, comment: Option<Arc<str>>) {
        self.inner.set_query_context(node_id, comment);
    }
}
