//! Warehouse connections: the IO half of an engine (the SQL text half is `crate::sql`).
//!
//! Owns opening the database a [`Target`] names (DuckDB file or `:memory:`, extensions,
//! settings; a Postgres server; a Spark Connect server), running SQL, converting result values to JSON ([`QueryResult`]), introspecting
//! relations and bulk-loading seeds. How a node is built (swap, incremental strategies) lives in
//! `crate::execute::materialize`, written against the engine-neutral [`Connection`] trait only.
//!
//! Design decisions: the [`Adapter`] opens the database exactly once and hands out one connection
//! per worker ([`Adapter::connection`]): DuckDB lets a single process hold a file database, so
//! workers share one instance through `try_clone()`; Postgres opens one client, and Spark one
//! Spark Connect session, per worker behind the same trait. A trait object rather than generics because the engine is chosen
//! at run time from the profile, and dynamic dispatch costs nothing next to executing SQL. Driver
//! messages pass through [`Scrubber`] so a secret never reaches a terminal or an artifact.

#[cfg(test)]
pub(crate) mod ansi;
pub(crate) mod bigquery;
pub(crate) mod cache;
pub(crate) mod comment;
pub(crate) mod databricks;
pub mod duckdb;
mod offline;
pub(crate) mod postgres;
pub(crate) mod record;
pub(crate) mod redshift;
pub(crate) mod registry;
pub(crate) mod snowflake;
pub(crate) mod spark;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::project::seeds::SeedTable;
use crate::project::Target;
use crate::sql::{Dialect, Relation, RelationKind};
pub(crate) use crate::templating::{CellKind, Column, QueryResult};

/// What can go wrong talking to a warehouse. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdapterError {
    /// A statement failed in the database (syntax, missing relation, constraint...).
    #[error("{message}")]
    Database { message: String },
    /// The database could not be opened or prepared (path, lock, extension, setting).
    #[error("cannot connect to target `{target}`: {message}")]
    Connection { target: String, message: String },
    /// The profile or the node asks for something this adapter cannot do.
    #[error("{message}")]
    Unsupported { message: String },
    /// A build was refused before it touched data (e.g. `on_schema_change: fail`).
    #[error("{message}")]
    Build { message: String },
}

/// How [`AdapterError::Connection`] begins when printed (its `#[error]` text).
const CONNECT_FAILED: &str = "cannot connect to target `";

/// Whether an error message (a node's, wrapped in others) is a compile-only engine's refusal
/// to connect ([`Engine::compiles_only`]).
pub(crate) fn is_offline_refusal(message: &str) -> bool {
    message.contains(offline::REFUSAL)
}

impl AdapterError {
    /// Whether a node's error message says the target could not be reached at all (a
    /// connection that could not be opened or re-established), after which running more nodes
    /// only repeats the error.
    pub(crate) fn is_unreachable_message(message: &str) -> bool {
        message.contains(CONNECT_FAILED)
    }
    pub(crate) fn db(message: impl Into<String>) -> Self {
        AdapterError::Database {
            message: message.into(),
        }
    }
    /// How dbt names this error in a node's message: a build refused before it touched data
    /// (an invalid strategy, `on_schema_change: fail`) is what dbt's materializations raise as
    /// a `Compilation Error`; anything else is a `Database Error`.
    pub(crate) fn dbt_kind(&self) -> &'static str {
        match self {
            AdapterError::Build { .. } => "Compilation Error",
            _ => "Database Error",
        }
    }
    pub(crate) fn build(message: impl Into<String>) -> Self {
        AdapterError::Build {
            message: message.into(),
        }
    }
}

impl AdapterError {
    /// The error as one diagnostic for the CLI: the message (scrubbed of `target`'s secrets)
    /// naming the target, and a `hint:` (the adapter's own when it gave one).
    pub(crate) fn to_diagnostic(&self, target: &Target) -> crate::diagnostics::Diagnostic {
        let text = target.scrub(&self.to_string());
        let text = match self {
            AdapterError::Connection { .. } => text,
            _ => format!("target `{}`: {text}", target.target_name),
        };
        let (message, hint) = match text.split_once("\nhint: ") {
            Some((m, h)) => (m.to_string(), h.to_string()),
            None => (
                text,
                "check the connection settings with `sluice debug`".to_string(),
            ),
        };
        crate::diagnostics::Diagnostic::error(crate::diagnostics::Code::Connection, message)
            .with_hint(hint)
    }
}

/// One session with the warehouse, used by one worker at a time (ask the [`Adapter`] for one per
/// worker). Implementations keep the engine's quirks inside.
pub(crate) trait Connection: Send {
    /// The SQL flavour this connection speaks.
    fn dialect(&self) -> Dialect;
    /// Runs one or more statements; returns the rows the last one changed, when the engine says.
    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError>;
    /// Runs a query and returns its rows as JSON (numbers, ISO date strings, booleans, text...).
    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError>;
    /// Whether `rel` exists, and as what.
    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError>;
    /// The columns `sql` returns, each with its type as the engine's dbt adapter names a result
    /// type (dbt-postgres: psycopg2's `INTEGER`, `STRING`, `DATETIMETZ` ...), without running it;
    /// `None` where the engine does not say (the contract preflight check is then skipped).
    fn query_column_types(
        &mut self,
        _sql: &str,
    ) -> Result<Option<Vec<(String, String)>>, AdapterError> {
        Ok(None)
    }
    /// Every table and view of `database.schema` with its kind (names as the catalog stores
    /// them), for the relation cache; `None` where the engine cannot list a schema cheaply.
    fn list_relations(
        &mut self,
        _database: &str,
        _schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        Ok(None)
    }
    /// Whether schema `database.schema` exists.
    fn schema_exists(&mut self, database: &str, schema: &str) -> Result<bool, AdapterError> {
        let filter = self.dialect().schema_filter(database, schema);
        let r = self.query(&format!(
            "select count(*) from information_schema.schemata where {filter}"
        ))?;
        Ok(r.rows
            .first()
            .and_then(|row| row.first())
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
            > 0)
    }
    /// The columns of `rel` in order (empty if it does not exist).
    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError>;
    /// Creates table `rel` from a seed's columns and bulk-loads its rows; returns the row count.
    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError>;
    /// Puts the session back as it was opened after a node failed (an open transaction, a
    /// hook's `set ...`), as dbt's rollback of the node's transaction does. No-op by default.
    fn reset_session(&mut self) -> Result<(), AdapterError> {
        Ok(())
    }
    fn begin(&mut self) -> Result<(), AdapterError> {
        self.execute("begin").map(|_| ())
    }
    fn commit(&mut self) -> Result<(), AdapterError> {
        self.execute("commit").map(|_| ())
    }
    fn rollback(&mut self) -> Result<(), AdapterError> {
        self.execute("rollback").map(|_| ())
    }
    /// The node whose statements follow (`None`: none) and the query comment they carry
    /// (`query-comment`; see [`comment`]). No-op where nothing comments the statements.
    fn set_query_context(&mut self, _node_id: Option<&str>, _comment: Option<Arc<str>>) {}
}

/// Removes secrets from driver messages: the target's secret keys plus secret-looking `settings`.
#[derive(Clone)]
pub(crate) struct Scrubber {
    target: Target,
    extra: Vec<String>,
}

/// Debug output names the target (itself redacted), never the secrets.
impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("target", &self.target)
            .field("extra", &self.extra.len())
            .finish()
    }
}

impl Scrubber {
    pub(crate) fn new(target: &Target) -> Self {
        let mut extra = Vec::new();
        if let Some(serde_json::Value::Object(settings)) = target.values.get("settings") {
            for (k, v) in settings {
                let k = k.to_ascii_lowercase();
                let secretish = ["secret", "password", "token", "key"]
                    .iter()
                    .any(|w| k.contains(w));
                if let (true, Some(s)) = (secretish, v.as_str()) {
                    if s.len() >= 4 {
                        extra.push(s.to_string());
                    }
                }
            }
        }
        Scrubber {
            target: target.clone(),
            extra,
        }
    }
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = self.target.scrub(text);
        for s in &self.extra {
            out = out.replace(s.as_str(), "****");
        }
        out
    }
}

/// An engine sluice runs on: its SQL ([`Dialect`]), how a profile's target names its schema and
/// database, and how to open it. Each lives in its own folder (`duckdb/`, `postgres/`), listed
/// once in [`registry`].
pub(crate) trait Engine: Sync {
    fn dialect(&self) -> Dialect;
    /// The target's schema and database from its profile `values`, with the engine's defaults
    /// for what the profile leaves out; may add derived values (DuckDB: `resolved_path`, the
    /// database file's absolute path, against `project_root`). Fails on a missing or invalid
    /// setting.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        project_root: &Path,
    ) -> Result<(String, String), crate::project::profile::ProfileProblem>;
    /// Opens the target's database once and prepares it (extensions, settings, a first
    /// session).
    fn open(
        &self,
        target: &Target,
        scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError>;
    /// Whether sluice only compiles for this engine (a warehouse it does not run SQL on):
    /// every command that needs a connection refuses before doing anything.
    fn compiles_only(&self) -> bool {
        false
    }
    /// Whether sluice only compiles for `target` (an engine that runs some of its connection
    /// methods only: Spark runs `method: connect`).
    fn compiles_only_target(&self, _target: &Target) -> bool {
        self.compiles_only()
    }
    /// Whether nothing can have been built on the target yet (DuckDB: its file is not there), so
    /// a compile-only command answers "no relation" without creating the database to look.
    fn nothing_built(&self, _target: &Target) -> bool {
        false
    }
}

/// An open database: hands out one [`Connection`] per worker. `Sync`, so workers on any thread
/// may ask.
pub(crate) trait Database: Send + Sync {
    fn connection(&self) -> Result<Box<dyn Connection>, AdapterError>;
}

/// A connected target: the dialect plus a way to open worker connections. `Sync`, so workers on
/// any thread may call [`Adapter::connection`].
pub(crate) struct Adapter {
    dialect: Dialect,
    target_name: String,
    database: String,
    schema: String,
    database_handle: Box<dyn Database>,
    /// The relations of this database, shared by every connection handed out.
    cache: Arc<cache::RelationCache>,
    /// Where statements are logged (`SLUICE_RECORD_SQL`), if anywhere.
    log: Option<Arc<record::StatementLog>>,
    /// The query comment and the `--debug` statement observer.
    comments: comment::CommentSettings,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("dialect", &self.dialect)
            .field("target", &self.target_name)
            .field("database", &self.database)
            .field("schema", &self.schema)
            .finish()
    }
}

/// The dialect of [`in_memory_duckdb`]'s connections.
pub(crate) const IN_MEMORY_DIALECT: Dialect = duckdb::DIALECT;

/// A throwaway in-memory DuckDB database (metric unit tests run their fixtures there, whatever
/// the target's engine).
pub(crate) fn in_memory_duckdb() -> Result<Box<dyn Connection>, AdapterError> {
    Ok(Box::new(duckdb::DuckDbConnection::in_memory()?))
}

impl Adapter {
    /// Opens the target's database once (DuckDB: the file, created with its folder if missing)
    /// and prepares it (extensions, settings).
    pub(crate) fn connect(target: &Target) -> Result<Adapter, AdapterError> {
        let engine =
            registry::engine(&target.adapter_type).ok_or_else(|| AdapterError::Unsupported {
                message: format!(
                    "adapter type `{}` is not supported\nhint: {}",
                    target.adapter_type,
                    registry::supported_hint()
                ),
            })?;
        let scrubber = Arc::new(Scrubber::new(target));
        let database_handle = engine.open(target, scrubber)?;
        Ok(Adapter {
            dialect: engine.dialect(),
            target_name: target.target_name.clone(),
            database: target.database.clone(),
            schema: target.schema.clone(),
            database_handle,
            cache: Arc::default(),
            log: record::StatementLog::from_env(&target.target_name)?,
            comments: comment::CommentSettings::default(),
        })
    }

    /// Comments the statements of the connections it opens from now on (see [`comment`]).
    pub(crate) fn with_query_comments(mut self, comments: comment::CommentSettings) -> Self {
        self.comments = comments;
        self
    }

    /// A new connection for one worker thread, its catalog lookups answered by the database's
    /// relation cache ([`cache`]).
    pub(crate) fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        let mut inner = self.database_handle.connection()?;
        if self.comments.comment.is_some() || self.comments.observer.is_some() {
            inner = Box::new(comment::CommentingConnection::new(
                inner,
                self.comments.clone(),
            ));
        }
        let inner: Box<dyn Connection> = match &self.log {
            Some(log) => Box::new(record::RecordingConnection::new(inner, log.clone())),
            None => inner,
        };
        Ok(Box::new(cache::CachedConnection::new(
            inner,
            self.cache.clone(),
        )))
    }

    /// The relation cache its connections share.
    #[cfg(test)]
    pub(crate) fn relation_cache(&self) -> &cache::RelationCache {
        &self.cache
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }
    /// The target's database (DuckDB: the catalog name, i.e. the file stem or `memory`).
    #[cfg(test)]
    pub(crate) fn database(&self) -> &str {
        &self.database
    }
}

static DB_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Adds the time since `t` to the time spent inside the warehouse (all workers summed).
pub(crate) fn record_db_time(t: std::time::Instant) {
    let n = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
    DB_NANOS.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// Seconds spent inside the warehouse so far by this process (all workers summed), for the
/// overhead figure of benchmarks (`SLUICE_TIMINGS=1`).
pub(crate) fn db_seconds() -> f64 {
    DB_NANOS.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
}

/// Records warehouse time when dropped (covers every return path of a query).
pub(crate) struct DbTimer(pub(crate) std::time::Instant);

impl Drop for DbTimer {
    fn drop(&mut self) {
        record_db_time(self.0);
    }
}
