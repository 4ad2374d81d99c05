//! Unit tests of seed reading: type inference, value conversion and the CREATE TABLE text, on CSV
//! files written here.

use super::*;

fn seed(dir: &Path, text: impl AsRef<[u8]>, opts: &SeedOptions) -> Result<SeedTable, Diagnostic> {
    std::fs::write(dir.join("s.csv"), text).expect("write csv");
    read_seed(&dir.join("s.csv"), "seeds/s.csv", opts)
}

/// Loads into a fresh in-memory DuckDB; returns `name:TYPE` per column and each row as
/// `|`-joined text (`~` for NULL).
fn load(table: &SeedTable, quote: bool) -> (Vec<String>, Vec<String>) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let rel = crate::sql::Relation::new("memory", "main", "s");
    let n = crate::adapters::duckdb::load_seed(&conn, &rel, table, quote).expect("load");
    assert_eq!(n, table.rows.len());
    let sql = "select column_name || ':' || data_type from information_schema.columns \
               where table_name = 's' order by ordinal_position";
    let mut stmt = conn.prepare(sql).expect("prepare");
    let cols: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("q")
        .flatten()
        .collect();
    let exprs: Vec<String> = (1..=cols.len())
        .map(|i| format!("coalesce(#{i}::varchar, '~')"))
        .collect();
    let mut stmt = conn
        .prepare(&format!(
            "select concat_ws('|', {}) from s",
            exprs.join(", ")
        ))
        .expect("prepare");
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("q")
        .flatten()
        .collect();
    (cols, rows)
}

/// The shop fixture's seeds load with the column types and contents real dbt-duckdb gives
/// them (`tests/fixtures/shop/expected/relations.json`, recorded from real dbt).
#[test]
fn shop_seeds_match_real_dbt() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop");
    let text = std::fs::read_to_string(root.join("expected/relations.json")).expect("read");
    let expected: serde_json::Value = serde_json::from_str(&text).expect("json");
    for name in ["raw_shoppers", "raw_orders", "raw_payments"] {
        let path = root.join(format!("seeds/{name}.csv"));
        let (cols, rows) = load(
            &read_seed(&path, name, &SeedOptions::default()).expect("seed"),
            true,
        );
        let want = &expected[format!("main.{name}")];
        assert_eq!(serde_json::json!(cols), want["columns"], "{name}");
        assert_eq!(serde_json::json!(rows.len()), want["row_count"], "{name}");
        let sum: f64 = rows
            .iter()
            .filter_map(|r| r.split('|').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(serde_json::json!(sum), want["sum(id)"], "{name}");
    }
    let amounts: f64 = std::fs::read_to_string(root.join("seeds/raw_payments.csv"))
        .expect("csv")
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        serde_json::json!(amounts),
        expected["main.raw_payments"]["sum(amount_cents)"]
    );
}

#[test]
fn inference_matches_dbt_duckdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = "int,dec,dec0,bool,date,ts,iso,iso_z,ts_frac,mixed,empty,none,lead0,yes,b01,Text\n\
        1,1.5,1.0,True,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00,2024-01-31T10:00:00Z,\
        2024-01-31 10:00:00.5,2024-01-31,,None,007,yes,1,x\n\
        -3,2,2.00,false,2024-1-5,2024-02-01 00:00:01,2024-02-01T00:00:00.123456789,\
        2024-02-01T00:00:00+02:00,,2024-01-31 10:00:00,,1,010,no,0,\n\
        ,null,NULL,,,,,,,,,,,,,null\n";
    let (cols, rows) = load(
        &seed(dir.path(), csv, &SeedOptions::default()).expect("read"),
        true,
    );
    let types: Vec<&str> = cols.iter().filter_map(|c| c.split(':').nth(1)).collect();
    assert_eq!(
        types.join(" "),
        "INTEGER DOUBLE INTEGER BOOLEAN DATE TIMESTAMP TIMESTAMP TIMESTAMP \
        VARCHAR VARCHAR INTEGER VARCHAR INTEGER VARCHAR INTEGER VARCHAR"
    );
    assert_eq!(rows, [
        "1|1.5|1|true|2024-01-31|2024-01-31 10:00:00|2024-01-31 10:00:00|2024-01-31 10:00:00|\
         2024-01-31 10:00:00.5|2024-01-31|~|None|7|yes|1|x",
        "-3|2.0|2|false|2024-01-05|2024-02-01 00:00:01|2024-02-01 00:00:00.123456|2024-02-01 00:00:00|\
         ~|2024-01-31 10:00:00|~|1|10|no|0|~",
        // Empty and "null" are NULL in typed columns; DuckDB text keeps "null" like COPY.
        "~|~|~|~|~|~|~|~|~|~|~|~|~|~|~|null",
    ]);
    // Postgres follows agate for text: "null" is NULL there. Type names are dbt's.
    let pg = SeedOptions {
        nulls: CsvNulls::NullWords,
        ..SeedOptions::default()
    };
    let t = seed(dir.path(), csv, &pg).expect("read");
    assert_eq!(t.rows[2][15], SeedValue::Null);
    let types: Vec<&str> = t.columns[..6].iter().map(|c| c.sql_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "integer",
            "float8",
            "integer",
            "boolean",
            "date",
            "timestamp without time zone"
        ]
    );
}

#[test]
fn header_only_and_agate_number_cleanups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = seed(dir.path(), "a,b\n", &SeedOptions::default()).expect("read");
    assert_eq!(load(&t, true).0, ["a:INTEGER", "b:INTEGER"]);
    let csv = "a,b,c\n\"1,000\",$5,1e5\n 6 ,-$6.50,2E-2\n";
    let t = seed(dir.path(), csv, &SeedOptions::default()).expect("read");
    use SeedValue::{Float as F, Int as I};
    assert_eq!(
        t.rows,
        [
            vec![I(1000), F(5.0), F(100000.0)],
            vec![I(6), F(-6.5), F(0.02)]
        ]
    );
}

#[test]
fn header_names_bom_quotes_delimiter_and_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = "\u{feff}My Col;UPPER;;UPPER;note;big;day\r\n1;2;3;4;\"two\nlines; here\";3000000000;2024-01-31\r\n\r\n5;6;7;8;;;\r\n";
    let mut opts = SeedOptions {
        delimiter: b';',
        ..SeedOptions::default()
    };
    opts.column_types.insert("big".into(), "bigint".into());
    opts.column_types.insert("day".into(), "varchar(10)".into());
    let t = seed(dir.path(), csv, &opts).expect("read");
    assert!(t.columns[5].overridden && t.columns[5].inferred == SeedType::Text);
    let (cols, rows) = load(&t, true);
    assert_eq!(
        cols.join(" "),
        "My Col:INTEGER UPPER:INTEGER c:INTEGER UPPER_2:INTEGER note:VARCHAR \
        big:BIGINT day:VARCHAR"
    );
    assert_eq!(
        rows,
        [
            "1|2|3|4|two\nlines; here|3000000000|2024-01-31",
            "5|6|7|8|~|~|~"
        ]
    );
    assert_eq!(
        create_table_sql("\"s\"", &t, false),
        "create table \"s\" (My Col integer, UPPER integer, c integer, UPPER_2 integer, note text, \
         big bigint, day varchar(10))"
    );
    let t = seed(dir.path(), "MyCol\n1\n", &SeedOptions::default()).expect("read");
    assert_eq!(load(&t, false).0, ["MyCol:INTEGER"]);
}

#[test]
fn errors_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SeedOptions::default();
    let cases = [
        (
            "a,b\n1,2\n\"x\ny\",2,3\n",
            3,
            "line 3 has 3 field(s), but the header has 2",
        ),
        (
            "a,b,c\n1,2,3\n4,5\n",
            3,
            "line 3 has 2 field(s), but the header has 3",
        ),
        (
            "a\n1\n3000000000\n",
            3,
            "does not fit in a 32-bit integer column",
        ),
        (
            "a\n1\nNaN\n",
            3,
            "cannot be stored in a 32-bit integer column",
        ),
        ("", 1, "the file is empty"),
    ];
    for (csv, line, msg) in cases {
        let e = seed(dir.path(), csv, &opts).expect_err(csv);
        let loc = e.location.clone().expect("location");
        assert_eq!(
            (loc.file.to_str(), loc.line),
            (Some("seeds/s.csv"), Some(line)),
            "{e}"
        );
        assert!(e.message.contains(msg), "{e}");
    }
    let e = seed(dir.path(), b"a\n\xff\n", &opts).expect_err("utf-8");
    assert!(e.message.contains("cannot parse line 2"), "{e}");
}
