//! Replays a statement log (`SLUICE_RECORD_SQL`, see `src/adapters/record.rs`) on one
//! connection, back to back, and prints how long it took (used by `scripts/bench`):
//!
//! ```text
//! cargo run --release --example replay -- duckdb PATH.duckdb LOG.jsonl
//! cargo run --release --example replay -- postgres "host=... user=... dbname=..." LOG.jsonl
//! ```
//!
//! The statements run in the order the log has them (the order they ran in, across sluice's
//! workers), each as one batch; a statement that fails (as some do in the run recorded, such as
//! a test query on purpose) is counted and skipped. The time, from the first statement until the
//! connection is closed (DuckDB checkpoints then), is the floor a build of the same statements
//! cannot go below on one connection: sluice's time over it is sluice's overhead.

use std::io::BufRead;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [engine, database, log] = args.as_slice() else {
        eprintln!("usage: replay duckdb|postgres DATABASE LOG.jsonl");
        std::process::exit(2);
    };
    let file = std::fs::File::open(log).unwrap_or_else(|e| {
        eprintln!("replay: cannot read {log}: {e}");
        std::process::exit(2)
    });
    let logged: Vec<(u64, String)> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .filter_map(|v| Some((v["connection"].as_u64()?, v["sql"].as_str()?.to_string())))
        .collect();
    let statements = serialise_transactions(logged);
    let mut run: Box<dyn FnMut(&str) -> Result<(), String>> = match engine.as_str() {
        "duckdb" => {
            let conn = duckdb::Connection::open(database).unwrap_or_else(|e| {
                eprintln!("replay: cannot open {database}: {e}");
                std::process::exit(2)
            });
            // As sluice runs them: one prepared statement, or a batch when there are several.
            Box::new(move |sql| {
                if conn.execute(sql, []).is_ok() {
                    return Ok(());
                }
                conn.execute_batch(sql).map_err(|e| e.to_string())
            })
        }
        "postgres" => {
            let mut client =
                postgres::Client::connect(database, postgres::NoTls).unwrap_or_else(|e| {
                    eprintln!("replay: cannot connect: {e}");
                    std::process::exit(2)
                });
            Box::new(move |sql| client.batch_execute(sql).map_err(|e| format!("{e:?}")))
        }
        other => {
            eprintln!("replay: unknown engine `{other}` (duckdb or postgres)");
            std::process::exit(2)
        }
    };
    let start = Instant::now();
    let mut failed = 0;
    for sql in &statements {
        if let Err(e) = run(sql) {
            if failed == 0 {
                let head: String = sql.chars().take(200).collect();
                eprintln!("replay: the first statement that failed: {head}\n  {e}");
            }
            failed += 1;
        }
    }
    let ran = start.elapsed().as_secs_f64();
    // Closing the connection is part of the work (DuckDB checkpoints its write-ahead log into
    // the database file then), as it is of the build's.
    drop(run);
    println!(
        "replay: {} statements in {:.3}s on one connection ({failed} failed; {ran:.3}s before closing it)",
        statements.len(),
        start.elapsed().as_secs_f64()
    );
}

/// The logged statements in an order one connection can run: a transaction of one worker
/// (`begin` ... `commit` / `rollback`) runs as one block where it ended, since no other worker
/// could see its changes before then; everything else keeps its place.
fn serialise_transactions(logged: Vec<(u64, String)>) -> Vec<String> {
    let mut open: std::collections::HashMap<u64, Vec<String>> = Default::default();
    let mut out = Vec::new();
    for (conn, sql) in logged {
        let word = sql.trim().to_ascii_lowercase();
        if word == "begin" {
            open.insert(conn, vec![sql]);
        } else if let Some(block) = open.get_mut(&conn) {
            block.push(sql);
            if word == "commit" || word == "rollback" {
                out.extend(open.remove(&conn).unwrap_or_default());
            }
        } else {
            out.push(sql);
        }
    }
    // Transactions still open at the end of the log.
    out.extend(open.into_values().flatten());
    out
}
