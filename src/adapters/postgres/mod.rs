//! PostgreSQL through the synchronous `postgres` crate, with TLS by rustls (no system libraries).
//!
//! Owns turning a `type: postgres` target into connections (the dbt-postgres profile keys:
//! `host`, `port`, `user`, `password`/`pass`, `dbname`/`database`, `schema`, `connect_timeout`,
//! `keepalives_idle`, `retries`, `search_path`, `role`, `sslmode`, `sslcert`, `sslkey`,
//! `sslrootcert`, `application_name`), running SQL, reading results as JSON, introspecting through
//! `pg_catalog`, and loading seeds with `COPY ... FROM STDIN`.
//!
//! Design decisions:
//! * One client per worker ([`PgDatabase::connection`]); a worker whose connection was lost (a
//!   server restart) reconnects before its next statement, unless a transaction was open on the
//!   lost connection: then the statement fails, so a half-done swap is never continued in
//!   autocommit on a fresh session.
//! * Query results are read with the simple-query protocol (every value as text) after a
//!   `prepare` that only describes the columns' types: one text-to-JSON conversion per type
//!   instead of a binary decoder per type (numeric, intervals, arrays...), and values print the
//!   way `psql` prints them.
//! * Error messages are built from the server's fields (message, detail, hint) or the client's
//!   IO error, then pass through the [`Scrubber`]: the password never reaches a message.

mod dialect;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::types::Type;
use postgres::{Client, SimpleQueryMessage};
use serde_json::Value;

use super::{AdapterError, CellKind, Column, Connection, Database, Engine, QueryResult, Scrubber};
use crate::project::seeds::{create_table_sql, SeedTable, SeedValue};
use crate::project::Target;
use crate::sql::{Dialect, Relation, RelationKind};
pub(crate) use dialect::DIALECT;

/// How to open a session: everything from the profile, resolved once.
struct Connector {
    config: postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    role: Option<String>,
    /// Connection attempts: 1 + dbt-postgres `retries` (default 1).
    attempts: u32,
    target_name: String,
    /// `user@host:port/dbname`, for messages (never the password).
    shown: String,
    scrubber: Arc<Scrubber>,
}

impl Connector {
    fn from_target(target: &Target, scrubber: Arc<Scrubber>) -> Result<Self, AdapterError> {
        let conn_err = |message: String| AdapterError::Connection {
            target: target.target_name.clone(),
            message: scrubber.scrub(&message),
        };
        let get = |k: &str| target.get_str(k).filter(|s| !s.is_empty());
        let host = get("host").ok_or_else(|| {
            conn_err(
                "the profile has no `host`\nhint: add `host: localhost` (or `{{ env_var('PGHOST') }}`) to the target in profiles.yml".into(),
            )
        })?;
        let user = get("user").ok_or_else(|| {
            conn_err(
                "the profile has no `user`\nhint: add `user:` to the target in profiles.yml".into(),
            )
        })?;
        let port: u16 = match get("port") {
            None => 5432,
            Some(p) => p.parse().map_err(|_| {
                conn_err(format!(
                    "`port: {p}` is not a port number\nhint: use a number such as 5432"
                ))
            })?,
        };
        let dbname = target.database.clone();
        let seconds = |key: &str, default: Option<u64>| -> Result<Option<u64>, AdapterError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                    conn_err(format!(
                        "`{key}: {v}` is not a whole number of seconds\nhint: fix `{key}` in profiles.yml"
                    ))
                }),
            }
        };
        let mut config = postgres::Config::new();
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        config.port(port).user(&user).dbname(&dbname);
        if let Some(pw) = get("password").or_else(|| get("pass")) {
            config.password(pw);
        }
        config.application_name(&get("application_name").unwrap_or_else(|| "sluice".to_string()));
        if let Some(s) = seconds("connect_timeout", Some(10))?.filter(|s| *s > 0) {
            config.connect_timeout(Duration::from_secs(s));
        }
        if let Some(s) = seconds("keepalives_idle", None)?.filter(|s| *s > 0) {
            config
                .keepalives(true)
                .keepalives_idle(Duration::from_secs(s));
        }
        if let Some(path) = get("search_path") {
            // libpq options syntax: spaces in the value are escaped with a backslash.
            config.options(&format!("-c search_path={}", path.replace(' ', "\\ ")));
        }
        let attempts = 1 + seconds("retries", Some(1))?.unwrap_or(1).min(100) as u32;
        let sslmode = get("sslmode").unwrap_or_else(|| "prefer".to_string());
        let tls = tls::connector(
            &sslmode,
            get("sslrootcert").as_deref(),
            get("sslcert").as_deref(),
            get("sslkey").as_deref(),
        )
        .map_err(conn_err)?;
        config.ssl_mode(match sslmode.as_str() {
            "disable" => postgres::config::SslMode::Disable,
            "allow" | "prefer" => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        Ok(Connector {
            config,
            tls,
            role: get("role"),
            attempts,
            target_name: target.target_name.clone(),
            shown: format!("{user}@{host}:{port}/{dbname}"),
            scrubber,
        })
    }

    /// Opens a session (retrying `retries` times), then `set role` when the profile names one.
    fn open(&self) -> Result<Client, AdapterError> {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            let opened = match &self.tls {
                Some(tls) => self.config.connect(tls.clone()),
                None => self.config.connect(postgres::NoTls),
            };
            match opened {
                Ok(mut client) => {
                    if let Some(role) = &self.role {
                        client
                            .batch_execute(&format!("set role {}", crate::sql::quote(role)))
                            .map_err(|e| {
                                self.conn_err(format!(
                                    "cannot set role `{role}`: {}",
                                    error_text(&e)
                                ))
                            })?;
                    }
                    return Ok(client);
                }
                Err(e) => {
                    // The server answered (bad password, unknown database...): retrying won't
                    // help, unless it is starting or stopping (57P03 cannot_connect_now).
                    let fatal = e.as_db_error().is_some()
                        && e.code() != Some(&postgres::error::SqlState::CANNOT_CONNECT_NOW);
                    last = error_text(&e);
                    if fatal {
                        break;
                    }
                }
            }
        }
        Err(self.conn_err(format!(
            "{}: {last}\nhint: {}",
            self.shown,
            connect_hint(&last)
        )))
    }

    fn conn_err(&self, message: String) -> AdapterError {
        AdapterError::Connection {
            target: self.target_name.clone(),
            message: self.scrubber.scrub(&message),
        }
    }
}

/// A hint for a failed connection, from the failure's text.
fn connect_hint(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    if t.contains("password authentication failed") || t.contains("password missing") {
        "check `user` and `password` in profiles.yml (or the env vars they read)"
    } else if t.contains("does not exist") && t.contains("database") {
        "check `dbname` in profiles.yml; the database must exist"
    } else if t.contains("refused")
        || t.contains("no such file")
        || t.contains("timed out")
        || t.contains("timeout")
    {
        "is the server running, and are `host` and `port` in profiles.yml right?"
    } else if t.contains("ssl") || t.contains("tls") || t.contains("certificate") {
        "check `sslmode` and the certificate files in profiles.yml"
    } else {
        "check the connection settings with `sluice debug`"
    }
}

/// `type: postgres` in the registry.
pub(crate) struct PgEngine;

impl Engine for PgEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-postgres's keys: `schema` (default `public`), `dbname` or `database` (default
    /// `postgres`).
    fn resolve_target(
        &self,
        values: &mut serde_json::Map<String, Value>,
        _project_root: &std::path::Path,
    ) -> Result<(String, String), crate::project::profile::ProfileProblem> {
        let schema = values
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or("public")
            .to_string();
        let database = values
            .get("dbname")
            .or_else(|| values.get("database"))
            .and_then(Value::as_str)
            .unwrap_or("postgres")
            .to_string();
        Ok((schema, database))
    }
    fn open(
        &self,
        target: &Target,
        scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        Ok(Box::new(PgDatabase::open(target, scrubber)?))
    }
}

impl Database for PgDatabase {
    fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        Ok(Box::new(PgDatabase::connection(self)?))
    }
}

/// A connected `type: postgres` target; hands out one client per worker.
pub(crate) struct PgDatabase {
    connector: Arc<Connector>,
    /// The client opened to check the target, handed to the first worker.
    first: Mutex<Option<Client>>,
}

impl PgDatabase {
    /// Resolves the profile and opens one client (so a bad password fails before any work).
    pub(crate) fn open(target: &Target, scrubber: Arc<Scrubber>) -> Result<Self, AdapterError> {
        let connector = Connector::from_target(target, scrubber)?;
        let client = connector.open()?;
        Ok(PgDatabase {
            connector: Arc::new(connector),
            first: Mutex::new(Some(client)),
        })
    }

    /// A session for one worker.
    pub(crate) fn connection(&self) -> Result<PgConnection, AdapterError> {
        let first = match self.first.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        let client = match first {
            Some(c) if !c.is_closed() => c,
            _ => self.connector.open()?,
        };
        Ok(PgConnection {
            client,
            connector: self.connector.clone(),
            in_transaction: false,
            broken: false,
        })
    }
}

/// One worker's session.
pub(crate) struct PgConnection {
    client: Client,
    connector: Arc<Connector>,
    /// True between `begin` and `commit`/`rollback`.
    in_transaction: bool,
    /// The last statement failed because the session ended (even if the client has not
    /// noticed yet): reconnect before the next one.
    broken: bool,
}

impl PgConnection {
    fn db_err(&mut self, e: &postgres::Error) -> AdapterError {
        if session_lost(e) {
            self.broken = true;
        }
        let text = error_text(e);
        let text = if e.as_db_error().is_none() {
            format!(
                "lost the connection to target `{}` ({}): {text}",
                self.connector.target_name, self.connector.shown
            )
        } else {
            text
        };
        AdapterError::Database {
            message: self.connector.scrubber.scrub(&text),
        }
    }

    /// Reconnects a lost session, unless that would silently leave a transaction.
    fn ready(&mut self) -> Result<(), AdapterError> {
        if !self.broken && !self.client.is_closed() {
            return Ok(());
        }
        if self.in_transaction {
            return Err(AdapterError::Database {
                message: format!(
                    "lost the connection to target `{}` ({}) inside a transaction; it was rolled back by the server",
                    self.connector.target_name, self.connector.shown
                ),
            });
        }
        self.client = self.connector.open()?;
        self.broken = false;
        Ok(())
    }

    fn simple(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, AdapterError> {
        self.ready()?;
        let t = std::time::Instant::now();
        let r = self.client.simple_query(sql);
        super::record_db_time(t);
        r.map_err(|e| self.db_err(&e))
    }

    /// Rows of a catalog query with text parameters, as text.
    fn catalog(
        &mut self,
        sql: &str,
        params: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>, AdapterError> {
        self.ready()?;
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(sql, &params)
            .map_err(|e| self.db_err(&e))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect()
            })
            .collect())
    }
}

/// The server's message (with detail and hint), or the client's error and its causes.
fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!("\nDETAIL: {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("\nHINT: {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(&format!(": {t}"));
        }
        src = inner.source();
    }
    s
}

/// `pg_temp` names this session's temporary schema; any other schema is looked up by name.
const REL_FILTER: &str = "case when $1 = 'pg_temp' then n.oid = pg_my_temp_schema() else n.nspname = $1 end and c.relname = $2";

impl Connection for PgConnection {
    fn dialect(&self) -> Dialect {
        DIALECT
    }

    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        if crate::sql::is_blank_sql(sql) {
            return Ok(0);
        }
        let msgs = self.simple(sql)?;
        Ok(msgs
            .iter()
            .rev()
            .find_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0))
    }

    fn query_column_types(
        &mut self,
        sql: &str,
    ) -> Result<Option<Vec<(String, String)>>, AdapterError> {
        self.ready()?;
        let stmt = self.client.prepare(sql).map_err(|e| self.db_err(&e))?;
        Ok(Some(
            stmt.columns()
                .iter()
                .map(|c| (c.name().to_string(), psycopg2_type_name(c.type_().oid())))
                .collect(),
        ))
    }

    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        if crate::sql::is_blank_sql(sql) {
            return Ok(QueryResult::default());
        }
        self.ready()?;
        // Describe first (types), then run with the simple protocol (text values).
        let t = std::time::Instant::now();
        let described = self.client.prepare(sql);
        super::record_db_time(t);
        let types: Option<Vec<Type>> = match described {
            Ok(stmt) => Some(stmt.columns().iter().map(|c| c.type_().clone()).collect()),
            Err(e) if is_multi_statement(&e) => None,
            Err(e) => return Err(self.db_err(&e)),
        };
        let msgs = self.simple(sql)?;
        let mut out = QueryResult::default();
        for m in msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    // A later statement's rows replace an earlier one's (the last one wins).
                    out.column_names = cols.iter().map(|c| c.name().to_string()).collect();
                    out.rows.clear();
                    out.kinds = (0..cols.len())
                        .map(|i| match types.as_ref().and_then(|t| t.get(i)) {
                            Some(&Type::DATE) => CellKind::Date,
                            Some(&Type::TIMESTAMP) => CellKind::Timestamp,
                            Some(&Type::TIMESTAMPTZ) => CellKind::TimestampTz,
                            _ => CellKind::Plain,
                        })
                        .collect();
                }
                SimpleQueryMessage::Row(row) => {
                    let mut values = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        let ty = types.as_ref().and_then(|t| t.get(i));
                        values.push(text_to_json(row.get(i), ty));
                    }
                    out.rows.push(values);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let sql = format!(
            "select c.relkind::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where {REL_FILTER}"
        );
        let rows = self.catalog(&sql, &[&rel.schema, &rel.identifier])?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|k| match k.as_str() {
                "v" => Some(RelationKind::View),
                "m" => Some(RelationKind::MaterializedView),
                "r" | "p" | "f" => Some(RelationKind::Table),
                _ => None,
            }))
    }

    /// The schema's tables and views from `pg_class` (not the session's temporary schema).
    fn list_relations(
        &mut self,
        _database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        if schema == "pg_temp" {
            return Ok(None);
        }
        let rows = self.catalog(
            "select c.relname::text, c.relkind::text from pg_catalog.pg_class c \
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = $1 and c.relkind in ('r', 'p', 'f', 'v', 'm')",
            &[schema],
        )?;
        Ok(Some(
            rows.into_iter()
                .filter_map(|r| {
                    let name = r.first().cloned().flatten()?;
                    let kind = match r.get(1).cloned().flatten()?.as_str() {
                        "v" => RelationKind::View,
                        "m" => RelationKind::MaterializedView,
                        _ => RelationKind::Table,
                    };
                    Some((name, kind))
                })
                .collect(),
        ))
    }

    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError> {
        let sql = format!(
            "select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) \
             from pg_catalog.pg_attribute a \
             join pg_catalog.pg_class c on c.oid = a.attrelid \
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
             where {REL_FILTER} and a.attnum > 0 and not a.attisdropped order by a.attnum"
        );
        let rows = self.catalog(&sql, &[&rel.schema, &rel.identifier])?;
        Ok(rows
            .into_iter()
            .map(|r| Column {
                name: r.first().cloned().flatten().unwrap_or_default(),
                data_type: r.get(1).cloned().flatten().unwrap_or_default(),
            })
            .collect())
    }

    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError> {
        let rel_sql = DIALECT.rel(rel);
        self.execute(&create_table_sql(&rel_sql, table, quote_columns))?;
        if table.rows.is_empty() {
            return Ok(0);
        }
        let cols = table
            .columns
            .iter()
            .map(|c| {
                if quote_columns {
                    crate::sql::quote(&c.name)
                } else {
                    c.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut data = String::with_capacity(table.rows.len() * 32);
        for row in &table.rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    data.push(',');
                }
                copy_field(&mut data, v);
            }
            data.push('\n');
        }
        self.ready()?;
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let copy = format!("copy {rel_sql} ({cols}) from stdin with (format csv)");
        let copied = match self.client.copy_in(copy.as_str()) {
            Ok(mut w) => match std::io::Write::write_all(&mut w, data.as_bytes()) {
                Ok(()) => w.finish(),
                Err(io) => {
                    drop(w);
                    return Err(AdapterError::db(format!(
                        "cannot send the rows of `{}`: {io}",
                        rel.display_name()
                    )));
                }
            },
            Err(e) => Err(e),
        };
        copied.map(|n| n as usize).map_err(|e| self.db_err(&e))
    }

    fn reset_session(&mut self) -> Result<(), AdapterError> {
        if self.broken || self.client.is_closed() {
            // The next statement reconnects; a new session starts clean.
            return Ok(());
        }
        if self.in_transaction {
            self.rollback()?;
        }
        self.execute("reset all")?;
        if let Some(role) = self.connector.role.clone() {
            self.execute(&format!("set role {}", crate::sql::quote(&role)))?;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), AdapterError> {
        self.execute("begin")?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), AdapterError> {
        let r = self.execute("commit").map(|_| ());
        self.in_transaction = false;
        r
    }

    fn rollback(&mut self) -> Result<(), AdapterError> {
        let was = std::mem::replace(&mut self.in_transaction, false);
        if was && (self.broken || self.client.is_closed()) {
            // The server rolled the transaction back when the session ended.
            return Ok(());
        }
        self.execute("rollback").map(|_| ())
    }
}

/// True when `e` means the session is gone: a client-side (IO) failure, or the server ending the
/// session (a FATAL error, or class 57P: operator intervention such as a shutdown).
fn session_lost(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        None => true,
        Some(db) => {
            db.severity() == "FATAL"
                || db.severity() == "PANIC"
                || db.code().code().starts_with("57P")
        }
    }
}

/// True for "cannot insert multiple commands into a prepared statement".
fn is_multi_statement(e: &postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.message().contains("multiple commands"))
}

/// One value in `COPY ... (format csv)`: NULL is an empty unquoted field, text is always quoted.
fn copy_field(out: &mut String, v: &SeedValue) {
    match v {
        SeedValue::Null => {}
        SeedValue::Int(i) => out.push_str(&i.to_string()),
        SeedValue::Float(f) if f.is_nan() => out.push_str("NaN"),
        SeedValue::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        SeedValue::Float(f) => out.push_str(&f.to_string()),
        SeedValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        SeedValue::Date(s) | SeedValue::DateTime(s) | SeedValue::Text(s) => {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        }
    }
}

/// A value as the server printed it, typed by its column: numbers and booleans become JSON
/// numbers and booleans, timestamps take DuckDB's ISO `T` form, everything else stays text.
fn text_to_json(text: Option<&str>, ty: Option<&Type>) -> Value {
    let Some(s) = text else {
        return Value::Null;
    };
    let Some(ty) = ty else {
        return Value::String(s.to_string());
    };
    let float = |s: &str| {
        s.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(s.to_string()), Value::Number)
    };
    match *ty {
        Type::BOOL => Value::Bool(s == "t"),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => s
            .parse::<i64>()
            .map_or_else(|_| Value::String(s.to_string()), Value::from),
        Type::FLOAT4 | Type::FLOAT8 => float(s),
        Type::NUMERIC => match s.parse::<i64>() {
            Ok(i) if !s.contains('.') => Value::from(i),
            _ => float(s),
        },
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Value::String(s.replacen(' ', "T", 1)),
        Type::JSON | Type::JSONB => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
        _ => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests;

/// The name psycopg2 gives a result type (`psycopg2.extensions.string_types`), which is how
/// dbt-postgres names a query's column types in its contract check.
fn psycopg2_type_name(oid: u32) -> String {
    let name = match oid {
        16 => "BOOLEAN",
        17 => "BINARY",
        // psycopg2 says STRING; dbt's `Column.translate_type` reads it as TEXT.
        18 | 19 | 25 | 1042 | 1043 => "TEXT",
        20 => "LONGINTEGER",
        21 | 23 => "INTEGER",
        26 => "ROWID",
        114 => "JSON",
        199 => "JSONARRAY",
        700 | 701 => "FLOAT",
        704 | 1186 => "INTERVAL",
        705 => "UNKNOWN",
        1000 => "BOOLEANARRAY",
        1001 => "BINARYARRAY",
        1002 | 1003 | 1009 | 1014 | 1015 => "STRINGARRAY",
        1005..=1007 => "INTEGERARRAY",
        1016 => "LONGINTEGERARRAY",
        1021 | 1022 => "FLOATARRAY",
        1082 => "DATE",
        1083 | 1266 => "TIME",
        1114 => "DATETIME",
        1115 => "DATETIMEARRAY",
        1182 => "DATEARRAY",
        1183 | 1270 => "TIMEARRAY",
        1184 => "DATETIMETZ",
        1185 => "DATETIMETZARRAY",
        1187 => "INTERVALARRAY",
        1231 => "DECIMALARRAY",
        1700 => "DECIMAL",
        3802 => "JSONB",
        3807 => "JSONBARRAY",
        other => return format!("unknown type_code {other}"),
    };
    name.to_string()
}
