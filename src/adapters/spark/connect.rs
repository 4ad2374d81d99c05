//! Running SQL on Spark over Spark Connect (gRPC), the way dbt-spark's `session`/`connect`
//! methods reach a cluster: one Spark Connect session per worker, statements sent as SQL, results
//! read back as Arrow batches and turned into JSON rows.
//!
//! Design decisions:
//! * The blocking client of the `apache-spark-connect` crate (it drives its own Tokio runtime),
//!   so this engine fits the synchronous [`Connection`] trait like the others.
//! * Spark has no transactions: `begin`, `commit` and `rollback` do nothing, and the swap in
//!   `execute::materialize` puts the old relation back itself when a rename fails.
//! * The catalog is read with `show tables` / `show views` / `describe table` (Spark has no
//!   `information_schema`), names compared in lower case as the Hive metastore keeps them.

use std::sync::Arc;

use arrow::array::RecordBatch;
use serde_json::Value;
use spark_connect::row::{Row, Value as RowValue};
use spark_connect::types::{DataType as SparkType, StructField};
use spark_connect::{SparkError, SparkSession, SparkSessionBuilder};

use super::super::{AdapterError, Column, Connection, Database, QueryResult, Scrubber};
use super::arrow_rows::to_result;
use crate::project::seeds::{SeedTable, SeedType, SeedValue};
use crate::project::Target;
use crate::sql::{Dialect, Relation, RelationKind};

/// How long reaching the server may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a running statement checks that the server is still there, and how long that
/// check may take.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);
const WATCH_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How many seed rows one Arrow batch carries.
const SEED_BATCH_ROWS: usize = 50_000;

/// The session's temporary view that holds a batch of seed rows while they are inserted.
const SEED_ROWS_VIEW: &str = "sluice_seed_rows__dbt_tmp";

/// A `type: spark` target run over Spark Connect (`method: connect`, or `method: session` with
/// `SPARK_REMOTE`): the server's address, opened once to check it.
pub(crate) struct SparkDatabase {
    server: Arc<ServerAddress>,
    first: std::sync::Mutex<Option<SparkSession>>,
}

/// Where the Spark Connect server is, and how to say that it cannot be reached.
struct ServerAddress {
    /// `host:port`.
    address: String,
    url: String,
    target_name: String,
    scrubber: Arc<Scrubber>,
}

impl SparkDatabase {
    pub(crate) fn open(target: &Target, scrubber: Arc<Scrubber>) -> Result<Self, AdapterError> {
        let (address, url) = match target.get_str("method").as_deref() {
            // `method: session` with SPARK_REMOTE: the server pyspark would reach.
            Some("session") => {
                let url = super::spark_remote().unwrap_or_default();
                let rest = url.trim_start_matches("sc://");
                let authority = rest.split(['/', ';']).next().unwrap_or_default();
                let address = match authority.contains(':') {
                    true => authority.to_string(),
                    false => format!("{authority}:15002"),
                };
                (address, url)
            }
            _ => {
                let host = target.get_str("host").unwrap_or_default();
                let port = target
                    .get_str("port")
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "15002".to_string());
                let address = format!("{host}:{port}");
                let mut url = format!("sc://{address}");
                if let Some(token) = target.get_str("token").filter(|t| !t.is_empty()) {
                    url.push_str(&format!("/;token={token}"));
                }
                (address, url)
            }
        };
        let db = SparkDatabase {
            server: Arc::new(ServerAddress {
                address,
                url,
                target_name: target.target_name.clone(),
                scrubber,
            }),
            first: std::sync::Mutex::new(None),
        };
        // A first session (and round trip), so an unreachable server fails before any work.
        let session = db.session()?;
        *db.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
        Ok(db)
    }

    /// A new Spark Connect session. The server is reached over TCP first, with a timeout: the
    /// client retries an unreachable server with backoff for minutes.
    ///
    /// A build that was stopped while Spark wrote a table (its process or the server killed)
    /// leaves the table's files without a catalog entry, and Spark then refuses to create a
    /// table there: each session lets `create table ... as` write over such leftovers.
    fn session(&self) -> Result<SparkSession, AdapterError> {
        self.server
            .reachable_within(CONNECT_TIMEOUT)
            .map_err(|why| self.server.conn_err(&why))?;
        let session = SparkSessionBuilder::new()
            .remote(&self.server.url)
            .get_or_create()
            .map_err(|e| self.server.conn_err(&e.to_string()))?;
        session
            .sql("set spark.sql.legacy.allowNonEmptyLocationInCTAS = true")
            .and_then(|df| df.collect_record_batches())
            .map_err(|e| self.server.conn_err(&error_text(&e)))?;
        Ok(session)
    }
}

impl ServerAddress {
    /// Whether the server accepts a TCP connection within `timeout`; why not otherwise.
    fn reachable_within(&self, timeout: std::time::Duration) -> Result<(), String> {
        use std::net::ToSocketAddrs;
        let addrs = self
            .address
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{}`: {e}", self.address))?;
        let mut last = String::from("no address");
        for addr in addrs {
            match std::net::TcpStream::connect_timeout(&addr, timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }

    /// The server's message for a failed statement, secrets scrubbed.
    fn scrubbed(&self, e: &SparkError) -> String {
        self.scrubber.scrub(&error_text(e))
    }

    /// A statement the server refused.
    fn database_error(&self, e: &SparkError) -> AdapterError {
        AdapterError::Database {
            message: self.scrubbed(e),
        }
    }

    /// The server could not be reached or opened a session: `text` says why.
    fn conn_err(&self, text: &str) -> AdapterError {
        self.error("", text)
    }

    /// The server went away while a statement ran.
    fn lost(&self, text: &str) -> AdapterError {
        self.error(
            "lost the Spark Connect server while a statement ran: ",
            text,
        )
    }

    fn error(&self, what: &str, text: &str) -> AdapterError {
        let shown = self.url.split("/;").next().unwrap_or_default();
        AdapterError::Connection {
            target: self.target_name.clone(),
            message: self.scrubber.scrub(&format!(
                "{what}{shown}: {text}\nhint: is the Spark Connect server running (`scripts/spark-cluster start`), and are `host` and `port` in profiles.yml right?"
            )),
        }
    }
}

impl Database for SparkDatabase {
    fn connection(&self) -> Result<Box<dyn Connection>, AdapterError> {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let session = match first {
            Some(s) => s,
            None => self.session()?,
        };
        Ok(Box::new(SparkConnection {
            session,
            server: self.server.clone(),
            lost: false,
        }))
    }
}

/// One worker's Spark Connect session.
pub(crate) struct SparkConnection {
    session: SparkSession,
    /// How to reach the server again, to tell a slow statement from a dead server.
    server: Arc<ServerAddress>,
    /// The server stopped answering during an earlier statement: check it before the next.
    lost: bool,
}

impl SparkConnection {
    /// Runs one statement. The client retries a server that stops answering for minutes, so the
    /// statement runs on a thread of its own while this one checks every few seconds that the
    /// server still accepts connections: a server that died (the Spark driver) fails the
    /// statement within seconds with a clear error instead. The abandoned call ends with the
    /// process.
    fn run(&mut self, sql: &str) -> Result<Vec<RecordBatch>, AdapterError> {
        let t = std::time::Instant::now();
        let _timer = super::super::DbTimer(t);
        if self.lost {
            self.reachable()?;
            self.lost = false;
        }
        let session = self.session.clone();
        let statement = sql.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(
                session
                    .sql(&statement)
                    .and_then(|df| df.collect_record_batches()),
            );
        });
        let mut unreachable = 0;
        loop {
            match rx.recv_timeout(WATCH_INTERVAL) {
                Ok(Ok(batches)) => return Ok(batches),
                Ok(Err(e)) => {
                    let text = self.server.scrubbed(&e);
                    // A connection that broke (the server died) is not the statement's fault.
                    // A dying server may still accept connections for a moment after it broke
                    // this one, so a transport failure counts as a lost server by itself.
                    let why = match self.server.reachable_within(WATCH_CONNECT_TIMEOUT) {
                        Err(why) => why,
                        Ok(()) if is_transport_failure(&e) => "the connection broke".into(),
                        Ok(()) => return Err(AdapterError::Database { message: text }),
                    };
                    self.lost = true;
                    return Err(self
                        .server
                        .lost(&format!("{why} (the statement failed with: {text})")));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => match self.reachable() {
                    Ok(()) => unreachable = 0,
                    Err(e) => {
                        unreachable += 1;
                        if unreachable >= 2 {
                            self.lost = true;
                            return Err(e);
                        }
                    }
                },
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(AdapterError::Database {
                        message: "the Spark Connect client stopped without an answer".into(),
                    })
                }
            }
        }
    }

    /// Whether the server still accepts connections (a short TCP connect).
    fn reachable(&self) -> Result<(), AdapterError> {
        self.server
            .reachable_within(WATCH_CONNECT_TIMEOUT)
            .map_err(|why| self.server.lost(&why))
    }

    /// The first column of every row of `sql`, as text.
    fn names(&mut self, sql: &str, column: &str) -> Result<Vec<String>, AdapterError> {
        let r = self.query(sql)?;
        let at = r.column_names.iter().position(|c| c == column).unwrap_or(0);
        Ok(r.rows
            .iter()
            .filter_map(|row| row.get(at).and_then(Value::as_str).map(str::to_string))
            .collect())
    }
}

/// Whether `e` is the connection failing rather than the server refusing the statement: the
/// server's own errors carry an error class in the gRPC status details; a broken transport
/// (`h2 protocol error`, a reset stream) is a bare `Unknown`, `Unavailable` or `Cancelled` status.
fn is_transport_failure(e: &SparkError) -> bool {
    const CANCELLED: i32 = 1;
    const UNKNOWN: i32 = 2;
    const UNAVAILABLE: i32 = 14;
    e.error_class.is_empty()
        && e.grpc_details.is_none()
        && matches!(e.grpc_code, Some(CANCELLED | UNKNOWN | UNAVAILABLE))
}

/// The server's message without the JVM stack trace that follows it.
fn error_text(e: &SparkError) -> String {
    let text = e.to_string();
    let text = text
        .split("\n\nJVM stacktrace:")
        .next()
        .unwrap_or_default()
        .to_string();
    text.trim_end().to_string()
}

/// Spark's statements that return no rows but must not be sent (no transactions on Spark).
fn is_transaction_control(sql: &str) -> bool {
    let s = sql.trim().trim_end_matches(';').trim().to_ascii_lowercase();
    matches!(
        s.as_str(),
        "begin" | "begin transaction" | "commit" | "rollback" | "start transaction"
    )
}

impl Connection for SparkConnection {
    fn dialect(&self) -> Dialect {
        super::DIALECT
    }

    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        let mut n = 0;
        for statement in crate::sql::split_statements(sql) {
            let statement = statement.trim();
            if crate::sql::is_blank_sql(statement) || is_transaction_control(statement) {
                continue;
            }
            let batches = self.run(statement)?;
            // `insert` reports nothing on Spark; a query's rows are counted.
            n = batches.iter().map(|b| b.num_rows() as u64).sum();
        }
        Ok(n)
    }

    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        if crate::sql::is_blank_sql(sql) {
            return Ok(QueryResult::default());
        }
        let batches = self.run(sql)?;
        Ok(to_result(&batches))
    }

    /// The columns of `sql` with the types Spark reports for them (`int`, `bigint`, `string`,
    /// `decimal(10,2)` ...), from its analysed plan, as dbt-spark's contract check reads them.
    fn query_column_types(
        &mut self,
        sql: &str,
    ) -> Result<Option<Vec<(String, String)>>, AdapterError> {
        let t = std::time::Instant::now();
        let _timer = super::super::DbTimer(t);
        let types = self
            .session
            .sql(sql)
            .and_then(|df| df.dtypes())
            .map_err(|e| self.server.database_error(&e))?;
        Ok(Some(types))
    }

    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        if rel.schema.is_empty() {
            // A temporary view of this session.
            let r = self.query("show views")?;
            let found = r.rows.iter().any(|row| {
                row.get(1)
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(&rel.identifier))
                    && row.get(2) == Some(&Value::Bool(true))
            });
            return Ok(found.then_some(RelationKind::View));
        }
        let all = self
            .list_relations(&rel.database, &rel.schema)?
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&rel.identifier))
            .map(|(_, kind)| kind))
    }

    fn list_relations(
        &mut self,
        _database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        if !self.schema_exists("", schema)? {
            return Ok(Some(Vec::new()));
        }
        let schema_sql = super::DIALECT.quote(schema);
        let tables = self.names(&format!("show tables in {schema_sql}"), "tableName")?;
        let views = self.names(&format!("show views in {schema_sql}"), "viewName")?;
        Ok(Some(
            tables
                .into_iter()
                .map(|name| {
                    let kind = match views.iter().any(|v| v.eq_ignore_ascii_case(&name)) {
                        true => RelationKind::View,
                        false => RelationKind::Table,
                    };
                    (name, kind)
                })
                .collect(),
        ))
    }

    fn schema_exists(&mut self, _database: &str, schema: &str) -> Result<bool, AdapterError> {
        let schemas = self.names("show schemas", "namespace")?;
        Ok(schemas.iter().any(|s| s.eq_ignore_ascii_case(schema)))
    }

    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError> {
        if self.relation_kind(rel)?.is_none() {
            return Ok(Vec::new());
        }
        let r = self.query(&format!("describe table {}", super::DIALECT.rel(rel)))?;
        let mut out = Vec::new();
        for row in &r.rows {
            let name = row.first().and_then(Value::as_str).unwrap_or_default();
            // The columns end where the partition and detail sections begin.
            if name.is_empty() || name.starts_with('#') {
                break;
            }
            let dtype = row.get(1).and_then(Value::as_str).unwrap_or_default();
            out.push(Column::new(name, dtype));
        }
        Ok(out)
    }

    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError> {
        let d = super::DIALECT;
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let name = match quote_columns {
                    true => d.quote(&c.name),
                    false => c.name.clone(),
                };
                let ty = match c.overridden {
                    true => c.sql_type.clone(),
                    false => seed_type(c.inferred).to_string(),
                };
                format!("{name} {ty}")
            })
            .collect();
        self.execute(&format!(
            "create table {} ({}) using parquet",
            d.rel(rel),
            columns.join(", ")
        ))?;
        // The rows travel as Arrow batches of text (a local relation, as pyspark's
        // `createDataFrame`), and Spark casts them to the column types while inserting: Spark
        // parses the values as it parses literals, without a statement text per row.
        let text_schema = SparkType::Struct {
            fields: (0..table.columns.len())
                .map(|i| StructField {
                    name: format!("c{i}"),
                    data_type: SparkType::String {
                        collation: "UTF8_BINARY".to_string(),
                    },
                    nullable: true,
                    metadata: Default::default(),
                })
                .collect(),
        };
        let field_names: Vec<String> = (0..table.columns.len()).map(|i| format!("c{i}")).collect();
        let casts: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = match c.overridden {
                    true => c.sql_type.as_str(),
                    false => seed_type(c.inferred),
                };
                format!("cast(c{i} as {ty})")
            })
            .collect();
        for chunk in table.rows.chunks(SEED_BATCH_ROWS) {
            let rows: Vec<Row> = chunk
                .iter()
                .map(|row| Row::new(field_names.clone(), row.iter().map(seed_text).collect()))
                .collect();
            let t = std::time::Instant::now();
            let _timer = super::super::DbTimer(t);
            self.session
                .create_dataframe(rows, text_schema.clone())
                .and_then(|df| df.create_or_replace_temp_view(SEED_ROWS_VIEW))
                .map_err(|e| self.server.database_error(&e))?;
            self.execute(&format!(
                "insert into {} select {} from {SEED_ROWS_VIEW}",
                d.rel(rel),
                casts.join(", ")
            ))?;
        }
        self.execute(&format!("drop view if exists {SEED_ROWS_VIEW}"))?;
        Ok(table.rows.len())
    }
}

/// dbt-spark's `convert_*_type`: the Spark type of a seed column agate inferred.
fn seed_type(t: SeedType) -> &'static str {
    match t {
        SeedType::Integer => "bigint",
        SeedType::Number => "double",
        SeedType::Boolean => "boolean",
        SeedType::Date => "date",
        SeedType::DateTime => "timestamp",
        SeedType::Text => "string",
    }
}

/// A seed cell as the text Spark casts to its column's type (`null` stays null).
fn seed_text(v: &SeedValue) -> RowValue {
    RowValue::String(match v {
        SeedValue::Null => return RowValue::Null,
        SeedValue::Int(i) => i.to_string(),
        SeedValue::Float(f) if f.is_finite() => format!("{f:?}"),
        SeedValue::Float(f) if f.is_nan() => "NaN".to_string(),
        SeedValue::Float(f) if *f > 0.0 => "Infinity".to_string(),
        SeedValue::Float(_) => "-Infinity".to_string(),
        SeedValue::Bool(b) => b.to_string(),
        SeedValue::Date(s) | SeedValue::DateTime(s) | SeedValue::Text(s) => s.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::{is_transport_failure, seed_text, RowValue};
    use crate::project::seeds::SeedValue;
    use spark_connect::SparkError;

    /// What the client makes of a gRPC status: `code`, and an error class when the server sent one.
    fn grpc_error(code: i32, error_class: &str) -> SparkError {
        let mut e = SparkError::connect_msg(format!("[{code}] h2 protocol error"));
        e.grpc_code = Some(code);
        if !error_class.is_empty() {
            e.error_class = error_class.into();
            e.grpc_details = Some(vec![1]);
        }
        e
    }

    #[test]
    fn a_broken_connection_is_told_from_the_servers_own_errors() {
        assert!(is_transport_failure(&grpc_error(2, "")));
        assert!(is_transport_failure(&grpc_error(14, "")));
        assert!(!is_transport_failure(&grpc_error(
            2,
            "TABLE_OR_VIEW_NOT_FOUND"
        )));
        assert!(!is_transport_failure(&grpc_error(3, "")));
        let mut not_grpc = grpc_error(2, "");
        not_grpc.grpc_code = None;
        assert!(!is_transport_failure(&not_grpc));
    }

    #[test]
    fn seed_cells_travel_as_the_text_spark_casts() {
        let text = |v: SeedValue| seed_text(&v);
        let s = |t: &str| RowValue::String(t.to_string());
        assert_eq!(
            text(SeedValue::Text("it's a \\ path".into())),
            s("it's a \\ path")
        );
        assert_eq!(text(SeedValue::Float(1.5)), s("1.5"));
        assert_eq!(text(SeedValue::Float(f64::NEG_INFINITY)), s("-Infinity"));
        assert_eq!(text(SeedValue::Int(-3)), s("-3"));
        assert_eq!(text(SeedValue::Bool(true)), s("true"));
        assert_eq!(text(SeedValue::Date("2024-01-02".into())), s("2024-01-02"));
        assert_eq!(text(SeedValue::Null), RowValue::Null);
    }
}
