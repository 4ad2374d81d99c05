//! DuckDB through the `duckdb` crate (linked against the prebuilt `libduckdb`).
//!
//! [`DuckDbDatabase::open`] opens the file a profile names once per run (creating its folder),
//! installs/loads `extensions` and applies `settings`; [`DuckDbDatabase::connection`] hands each
//! worker a `try_clone()` of it. Why one database and clones: DuckDB lets only one process hold a
//! file open for writing, and clones share the instance (catalog, buffer pool) without reopening.

use std::path::Path;
use std::sync::{Arc, Mutex};

use ::duckdb::types::{TimeUnit, Value as DuckValue};
use serde_json::{Map, Number, Value};

use super::{AdapterError, CellKind, Column, Connection, Database, Engine, QueryResult, Scrubber};
use crate::project::seeds::SeedTable;

mod dialect;
mod seeds;
use crate::project::Target;
use crate::sql::{literal, Dialect, Relation, RelationKind};
pub use dialect::DIALECT;
pub(crate) use seeds::load_seed;

/// `type: duckdb` in the registry.
pub(crate) struct DuckDbEngine;

impl Engine for DuckDbEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-duckdb's defaults: an in-memory database, schema `main`, the database named after
    /// the file's stem (`memory` in memory); a relative `path` is against the project.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        project_root: &Path,
    ) -> Result<(String, String), crate::project::profile::ProfileProblem> {
        let path = values
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or(":memory:")
            .to_string();
        let schema = values
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or("main")
            .to_string();
        let database = match values.get("database").and_then(Value::as_str) {
            Some(d) => d.to_string(),
            None if path.starts_with(":memory:") => "memory".to_string(),
            None => Path::new(&path)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "main".into()),
        };
        if path != ":memory:" && !path.starts_with("md:") && Path::new(&path).is_relative() {
            let abs = project_root.join(&path);
            values.insert(
                "resolved_path".into(),
                Value::String(abs.display().to_string()),
            );
        }
        Ok((schema, database))
    }
    fn open(
        &self,
        target: &Target,
        scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        Ok(Box::new(DuckDbDatabase::open(target, scrubber)?))
    }
    /// The database file is not there yet.
    fn nothing_built(&self, target: &Target) -> bool {
        target
            .get_str("resolved_path")
            .or_else(|| target.get_str("path"))
            .is_some_and(|p| {
                !p.is_empty()
                    && !p.starts_with(":memory:")
                    && !p.contains(':')
                    && !Path::new(&p).exists()
            })
    }
}

impl Database for DuckDbDatabase {
    fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        Ok(Box::new(DuckDbDatabase::connection(self)?))
    }
}

/// An open DuckDB database; `Sync`, hands out per-worker connections.
pub(crate) struct DuckDbDatabase {
    root: Mutex<::duckdb::Connection>,
    target_name: String,
    /// `SET` statements applied to every new connection (some settings are session-scoped).
    settings: Vec<String>,
    scrubber: Arc<Scrubber>,
}

impl DuckDbDatabase {
    /// Opens the database of a `type: duckdb` target.
    pub(crate) fn open(target: &Target, scrubber: Arc<Scrubber>) -> Result<Self, AdapterError> {
        let conn_err = |message: String| AdapterError::Connection {
            target: target.target_name.clone(),
            message: scrubber.scrub(&message),
        };
        let path = target
            .get_str("resolved_path")
            .or_else(|| target.get_str("path"))
            .unwrap_or_else(|| ":memory:".to_string());
        let conn = if path.is_empty() || path.starts_with(":memory:") {
            ::duckdb::Connection::open_in_memory()
                .map_err(|e| conn_err(format!("cannot open an in-memory DuckDB: {e}")))?
        } else if path.starts_with("md:") || path.starts_with("motherduck:") {
            return Err(conn_err(format!(
                "`path: {path}` names a MotherDuck database, which sluice does not support"
            )));
        } else {
            open_file(Path::new(&path)).map_err(conn_err)?
        };
        for ext in extension_names(target) {
            load_extension(&conn, &ext).map_err(conn_err)?;
        }
        let settings = setting_statements(target).map_err(conn_err)?;
        for stmt in &settings {
            conn.execute_batch(stmt).map_err(|e| {
                conn_err(format!("cannot apply setting `{stmt}`: {}", error_text(&e)))
            })?;
        }
        // Relations are named `database.schema.identifier`: the profile's `database` must be a
        // catalog DuckDB knows (the file stem, `memory`, or one attached by a setting/hook).
        let attached: Result<i64, _> = conn.query_row(
            "select count(*) from duckdb_databases() where lower(database_name) = lower(?)",
            [&target.database],
            |r| r.get(0),
        );
        if !target.database.is_empty() && matches!(attached, Ok(0)) {
            let current: String = conn
                .query_row("select current_database()", [], |r| r.get(0))
                .unwrap_or_default();
            return Err(conn_err(format!(
                "the DuckDB database `{path}` is attached as `{current}`, but the profile says `database: {}`\nhint: remove `database` from the profile or make it match the file name",
                target.database
            )));
        }
        Ok(DuckDbDatabase {
            root: Mutex::new(conn),
            target_name: target.target_name.clone(),
            settings,
            scrubber,
        })
    }

    /// A new connection to the same database, for one worker.
    pub(crate) fn connection(&self) -> Result<DuckDbConnection, AdapterError> {
        let err = |e: ::duckdb::Error| AdapterError::Connection {
            target: self.target_name.clone(),
            message: self.scrubber.scrub(&format!(
                "cannot open another connection: {}",
                error_text(&e)
            )),
        };
        let conn = match self.root.lock() {
            Ok(root) => root.try_clone().map_err(err)?,
            Err(poisoned) => poisoned.into_inner().try_clone().map_err(err)?,
        };
        for stmt in &self.settings {
            conn.execute_batch(stmt).map_err(err)?;
        }
        Ok(DuckDbConnection {
            conn,
            scrubber: self.scrubber.clone(),
        })
    }
}

/// Opens (creating if needed) a database file, turning failures into messages with a hint.
fn open_file(path: &Path) -> Result<::duckdb::Connection, String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!(
            "the DuckDB `path` `{shown}` is a directory\nhint: point `path` in profiles.yml at a file, e.g. `{shown}/dev.duckdb`"
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            std::fs::create_dir_all(parent).map_err(|e| {
                format!(
                    "cannot create the folder `{}` for the DuckDB database `{shown}`: {e}\nhint: check the `path` in profiles.yml and that its folder is writable",
                    parent.display()
                )
            })?;
        }
    }
    ::duckdb::Connection::open(path).map_err(|e| {
        let text = error_text(&e);
        let hint = if text.contains("Could not set lock") || text.contains("Conflicting lock") {
            "another process (a DuckDB shell, a notebook, another dbt or sluice run) has this database open; close it and retry"
        } else if text.contains("Permission denied") || text.contains("Read-only") {
            "the file or its folder is not writable by this user"
        } else {
            "check the `path` in profiles.yml; it must be a DuckDB database file (or `:memory:`)"
        };
        format!("cannot open the DuckDB database `{shown}`: {text}\nhint: {hint}")
    })
}

/// `extensions:` entries: plain names, or mappings with a `name`.
fn extension_names(target: &Target) -> Vec<String> {
    match target.values.get("extensions") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(m) => m.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `LOAD`s an extension, `INSTALL`ing it first if it is not available locally.
fn load_extension(conn: &::duckdb::Connection, name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a valid DuckDB extension name (see `extensions` in profiles.yml)"
        ));
    }
    if conn.execute_batch(&format!("load {name}")).is_ok() {
        return Ok(());
    }
    conn.execute_batch(&format!("install {name}")).map_err(|e| {
        format!(
            "cannot install DuckDB extension `{name}`: {}\nhint: INSTALL downloads from extensions.duckdb.org; without network access, install it beforehand (e.g. `duckdb -c \"install {name}\"`) or remove it from `extensions`",
            error_text(&e)
        )
    })?;
    conn.execute_batch(&format!("load {name}"))
        .map_err(|e| format!("cannot load DuckDB extension `{name}`: {}", error_text(&e)))
}

/// `settings:` as `SET key = value` statements.
fn setting_statements(target: &Target) -> Result<Vec<String>, String> {
    let Some(Value::Object(settings)) = target.values.get("settings") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (key, value) in settings {
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(format!(
                "`{key}` is not a valid DuckDB setting name (see `settings` in profiles.yml)"
            ));
        }
        let v = match value {
            Value::String(s) => literal(s),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            other => literal(&other.to_string()),
        };
        out.push(format!("set {key} = {v}"));
    }
    Ok(out)
}

/// The driver's message without the Rust enum wrapping.
fn error_text(e: &::duckdb::Error) -> String {
    match e {
        ::duckdb::Error::DuckDBFailure(_, Some(msg)) => msg.clone(),
        ::duckdb::Error::DuckDBFailure(code, None) => format!("DuckDB error ({code})"),
        other => other.to_string(),
    }
}

/// One worker's session.
pub(crate) struct DuckDbConnection {
    conn: ::duckdb::Connection,
    scrubber: Arc<Scrubber>,
}

impl DuckDbConnection {
    /// A connection to a fresh in-memory database of its own (metric unit tests load their
    /// fixtures there). It holds no secret, so its scrubber has nothing to remove.
    pub(crate) fn in_memory() -> Result<Self, AdapterError> {
        let conn =
            ::duckdb::Connection::open_in_memory().map_err(|e| AdapterError::Connection {
                target: "in-memory".into(),
                message: format!("cannot open an in-memory DuckDB: {}", error_text(&e)),
            })?;
        let target = Target {
            profile_name: String::new(),
            target_name: "in-memory".into(),
            adapter_type: "duckdb".into(),
            dialect: DIALECT,
            schema: "main".into(),
            database: String::new(),
            threads: 1,
            values: serde_json::Map::new(),
            profiles_path: std::path::PathBuf::new(),
        };
        Ok(DuckDbConnection {
            conn,
            scrubber: Arc::new(Scrubber::new(&target)),
        })
    }

    fn db_err(&self, e: ::duckdb::Error) -> AdapterError {
        AdapterError::Database {
            message: self.scrubber.scrub(&error_text(&e)),
        }
    }
}

impl Connection for DuckDbConnection {
    fn dialect(&self) -> Dialect {
        DIALECT
    }

    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        if crate::sql::is_blank_sql(sql) {
            return Ok(0);
        }
        let t = std::time::Instant::now();
        let r = self.conn.execute(sql, []);
        super::record_db_time(t);
        match r {
            Ok(n) => Ok(n as u64),
            Err(e) => Err(self.db_err(e)),
        }
    }

    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        if crate::sql::is_blank_sql(sql) {
            return Ok(QueryResult::default());
        }
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        let mut rows = stmt.query([]).map_err(|e| AdapterError::Database {
            message: self.scrubber.scrub(&error_text(&e)),
        })?;
        let (column_names, width, kinds) = match rows.as_ref() {
            Some(s) => {
                use duckdb::core::LogicalTypeId as Id;
                let kinds = (0..s.column_count())
                    .map(|i| match s.column_logical_type(i).id() {
                        Id::Date => CellKind::Date,
                        Id::Timestamp | Id::TimestampS | Id::TimestampMs | Id::TimestampNs => {
                            CellKind::Timestamp
                        }
                        Id::TimestampTZ => CellKind::TimestampTz,
                        _ => CellKind::Plain,
                    })
                    .collect();
                (s.column_names(), s.column_count(), kinds)
            }
            None => (Vec::new(), 0, Vec::new()),
        };
        let mut out = Vec::new();
        loop {
            let row = match rows.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    return Err(AdapterError::Database {
                        message: self.scrubber.scrub(&error_text(&e)),
                    })
                }
            };
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let v: DuckValue = row.get(i).map_err(|e| AdapterError::Database {
                    message: self.scrubber.scrub(&error_text(&e)),
                })?;
                values.push(to_json(v));
            }
            out.push(values);
        }
        Ok(QueryResult {
            column_names,
            rows: out,
            kinds,
        })
    }

    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let sql = "select table_type from information_schema.tables \
                   where lower(table_catalog) = lower(?) and lower(table_schema) = lower(?) and lower(table_name) = lower(?)";
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        let kinds: Vec<String> = stmt
            .query_map([&rel.database, &rel.schema, &rel.identifier], |r| {
                r.get::<_, String>(0)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| AdapterError::Database {
                message: self.scrubber.scrub(&error_text(&e)),
            })?;
        Ok(kinds.first().map(|k| {
            if k == "VIEW" {
                RelationKind::View
            } else {
                RelationKind::Table
            }
        }))
    }

    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        let sql = "select table_name, table_type from information_schema.tables \
                   where lower(table_catalog) = lower(?) and lower(table_schema) = lower(?)";
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([database, schema], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| AdapterError::Database {
                message: self.scrubber.scrub(&error_text(&e)),
            })?;
        Ok(Some(
            rows.into_iter()
                .map(|(name, kind)| {
                    let kind = if kind == "VIEW" {
                        RelationKind::View
                    } else {
                        RelationKind::Table
                    };
                    (name, kind)
                })
                .collect(),
        ))
    }

    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError> {
        let sql = "select column_name, data_type from duckdb_columns() \
                   where lower(database_name) = lower(?) and lower(schema_name) = lower(?) and lower(table_name) = lower(?) \
                   order by column_index";
        let t = std::time::Instant::now();
        let _timer = super::DbTimer(t);
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        stmt.query_map([&rel.database, &rel.schema, &rel.identifier], |r| {
            Ok(Column {
                name: r.get(0)?,
                data_type: r.get(1)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| AdapterError::Database {
            message: self.scrubber.scrub(&error_text(&e)),
        })
    }

    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError> {
        load_seed(&self.conn, rel, table, quote_columns).map_err(|e| self.db_err(e))
    }
}

/// A DuckDB value as JSON: numbers stay numbers (decimals too), temporal values become ISO text.
pub(crate) fn to_json(v: DuckValue) -> Value {
    match v {
        DuckValue::Null => Value::Null,
        DuckValue::Boolean(b) => Value::Bool(b),
        DuckValue::TinyInt(i) => Value::from(i),
        DuckValue::SmallInt(i) => Value::from(i),
        DuckValue::Int(i) => Value::from(i),
        DuckValue::BigInt(i) => Value::from(i),
        DuckValue::UTinyInt(i) => Value::from(i),
        DuckValue::USmallInt(i) => Value::from(i),
        DuckValue::UInt(i) => Value::from(i),
        DuckValue::UBigInt(i) => Value::from(i),
        DuckValue::HugeInt(i) => match i64::try_from(i) {
            Ok(i) => Value::from(i),
            Err(_) => float_or_text(i as f64, i.to_string()),
        },
        DuckValue::UHugeInt(i) => match u64::try_from(i) {
            Ok(i) => Value::from(i),
            Err(_) => float_or_text(i as f64, i.to_string()),
        },
        DuckValue::Float(f) => float_or_text(f64::from(f), f.to_string()),
        DuckValue::Double(f) => float_or_text(f, f.to_string()),
        DuckValue::Decimal(d) => {
            let text = d.to_string();
            if d.scale() == 0 {
                if let Ok(i) = i64::try_from(d.value()) {
                    return Value::from(i);
                }
            }
            match text.parse::<f64>() {
                Ok(f) => float_or_text(f, text),
                Err(_) => Value::String(text),
            }
        }
        DuckValue::Timestamp(unit, n) => {
            let micros = unit_to_micros(unit, n);
            match chrono::DateTime::from_timestamp_micros(micros) {
                Some(dt) => {
                    Value::String(dt.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
                }
                None => Value::from(micros),
            }
        }
        DuckValue::Date32(days) => {
            match chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163)) {
                Some(d) => Value::String(d.format("%Y-%m-%d").to_string()),
                None => Value::from(days),
            }
        }
        DuckValue::Time64(unit, n) => {
            let micros = unit_to_micros(unit, n);
            let secs = micros.div_euclid(1_000_000);
            let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
            match u32::try_from(secs)
                .ok()
                .and_then(|s| chrono::NaiveTime::from_num_seconds_from_midnight_opt(s, nanos))
            {
                Some(t) => Value::String(t.format("%H:%M:%S%.f").to_string()),
                None => Value::from(micros),
            }
        }
        DuckValue::Interval {
            months,
            days,
            nanos,
        } => Value::String(interval_text(months, days, nanos)),
        DuckValue::Text(s) | DuckValue::Enum(s) => Value::String(s),
        DuckValue::Blob(b) | DuckValue::Geometry(b) => {
            Value::String(b.iter().map(|x| format!("\\x{x:02X}")).collect::<String>())
        }
        DuckValue::List(items) | DuckValue::Array(items) => {
            Value::Array(items.into_iter().map(to_json).collect())
        }
        DuckValue::Struct(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v.clone())))
                .collect::<Map<_, _>>(),
        ),
        DuckValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match to_json(k.clone()) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v.clone()))
                })
                .collect::<Map<_, _>>(),
        ),
        DuckValue::Union(inner) => to_json(*inner),
        // Variants added by newer drivers: their debug text beats losing the value.
        other => Value::String(format!("{other:?}")),
    }
}

fn float_or_text(f: f64, text: String) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(text),
    }
}

fn unit_to_micros(unit: TimeUnit, n: i64) -> i64 {
    match unit {
        TimeUnit::Second => n.saturating_mul(1_000_000),
        TimeUnit::Millisecond => n.saturating_mul(1_000),
        TimeUnit::Microsecond => n,
        TimeUnit::Nanosecond => n / 1_000,
    }
}

/// DuckDB's own rendering: `1 year 2 months 3 days 04:05:06`.
fn interval_text(months: i32, days: i32, nanos: i64) -> String {
    let mut parts = Vec::new();
    let plural = |n: i64, w: &str| {
        if n == 1 || n == -1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let (years, months) = (i64::from(months) / 12, i64::from(months) % 12);
    if years != 0 {
        parts.push(plural(years, "year"));
    }
    if months != 0 {
        parts.push(plural(months, "month"));
    }
    if days != 0 {
        parts.push(plural(i64::from(days), "day"));
    }
    if nanos != 0 || parts.is_empty() {
        let sign = if nanos < 0 { "-" } else { "" };
        let micros = (nanos / 1000).unsigned_abs();
        let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
        let mut t = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if frac != 0 {
            t.push_str(&format!(".{frac:06}"));
        }
        parts.push(t);
    }
    parts.join(" ")
}
