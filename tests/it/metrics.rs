//! The semantic layer end to end: a small shop (3 customers, 7 orders, 5 balance snapshots,
//! `tests/fixtures/metrics`) is built, then every metric type is queried and compared with
//! numbers computed by hand from the seed rows (the arithmetic is in the comments of [`CASES`]).
//!
//! The table of queries runs on both engines (`on_both_engines`): on DuckDB against one built
//! copy shared by the read-only tests of this file, on a throwaway PostgreSQL server against a
//! copy built there. The engines give the same numbers except where SQL itself differs (integer
//! division, see `revenue_per_customer`), and there the case states each engine's real value.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::pg_server::{on_both_engines, Engine};
use crate::support::{copy_dir, repo, sluice, Run};

/// One built copy of the fixture shared by the read-only tests (building takes a few seconds).
fn built() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("shop");
        copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
        let r = sluice(&dir, &["build", "-q"]);
        assert_eq!(r.code, 0, "build failed: {}{}", r.stdout, r.stderr);
        (tmp, dir)
    });
    dir
}

/// DuckDB lets one process at a time open the file: tests on the shared copy take turns.
fn on_built(args: &[&str]) -> Run {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = built();
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    sluice(dir, args)
}

/// Runs a metric query with `run` and returns its rows as text (numbers rounded to 6 decimals,
/// dates without a midnight time, null as "").
fn query_with(run: impl Fn(&[&str]) -> Run, args: &[&str]) -> Vec<Vec<String>> {
    let mut a = vec!["metrics", "query", "--log-format", "json"];
    a.extend_from_slice(args);
    let r = run(&a);
    assert_eq!(r.code, 0, "sluice {a:?} failed:\n{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json output");
    let cols: Vec<String> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| cols.iter().map(|c| text(&row[c])).collect())
        .collect()
}

/// A metric query on the shared DuckDB copy.
fn query(args: &[&str]) -> Vec<Vec<String>> {
    query_with(on_built, args)
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Number(n) => {
            let f = n.as_f64().unwrap();
            let s = format!("{f:.6}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        serde_json::Value::String(s) => s.trim_end_matches("T00:00:00").to_string(),
        o => o.to_string(),
    }
}

fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

type Rows = &'static [&'static [&'static str]];

/// One query of the hand-computed table and the rows it must give.
struct Case {
    args: &'static [&'static str],
    want: Rows,
    /// Postgres's rows where the engines really differ; `None`: the same as `want`.
    on_postgres: Option<Rows>,
}

const fn case(args: &'static [&'static str], want: Rows) -> Case {
    Case {
        args,
        want,
        on_postgres: None,
    }
}

/// Every metric type, with the arithmetic from the seed rows.
const CASES: &[Case] = &[
    // Simple metrics, every additive agg. Jan: orders 1-4 = 10+20+30+40 = 100, 4 orders, paid
    // 1,3,4 = 3, customers {1,2,3}; Feb: orders 5,6 = 50+60 = 110, paid 5 = 1, customers {2,3};
    // Mar: order 7 = 70, paid, {1}.
    case(
        &[
            "--metrics",
            "revenue,order_count,paid_orders,customers_ordering",
            "--group-by",
            "metric_time__month",
        ],
        &[
            &["2025-01-01", "100", "4", "3", "3"],
            &["2025-02-01", "110", "2", "1", "2"],
            &["2025-03-01", "70", "1", "1", "1"],
        ],
    ),
    // Every other agg over everything: amounts 10..70 by 10: max 70, min 10, mean 280/7 = 40,
    // median 40, p90 (continuous): position 0.9 * 6 = 5.4 -> 60 + 0.4 * (70 - 60) = 64.
    case(
        &[
            "--metrics",
            "max_order,min_order,avg_order,median_order_value,p90_order_value,revenue",
        ],
        &[&["70", "10", "40", "40", "64", "280"]],
    ),
    // Through a join: EU = customers 1 and 2: orders 1,2,3,5,7 = 10+20+30+50+70 = 180; US:
    // 40+60 = 100.
    case(
        &["--metrics", "revenue", "--group-by", "customer__region"],
        &[&["EU", "180"], &["US", "100"]],
    ),
    // Metric filter on a joined dimension: EU revenue by month = Jan 10+20+30, Feb 50, Mar 70.
    case(
        &[
            "--metrics",
            "eu_revenue",
            "--group-by",
            "metric_time__month",
        ],
        &[
            &["2025-01-01", "60"],
            &["2025-02-01", "50"],
            &["2025-03-01", "70"],
        ],
    ),
    // Query filter, and a time dimension of the model at a coarser grain.
    case(
        &[
            "--metrics",
            "revenue",
            "--group-by",
            "purchase__ordered_at__quarter,customer__segment",
            "--where",
            "{{ Dimension('customer__region') }} = 'EU'",
        ],
        &[
            &["2025-01-01", "enterprise", "80"],
            &["2025-01-01", "smb", "100"],
        ],
    ),
    // Two joins away: orders -> customers (on customer) -> regions (on sales_region): EU is
    // alice's, US bob's.
    case(
        &[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__sales_region__manager",
        ],
        &[&["alice", "180"], &["bob", "100"]],
    ),
    // A filter on a metric per entity. Revenue per customer: c1 10+20+70 = 100, c2 30+50 = 80,
    // c3 40+60 = 100. Customers under 90: c2 (EU), so EU revenue 80 and nothing for the US.
    case(
        &[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__region",
            "--where",
            "{{ Metric('revenue', group_by=['customer']) }} < 90",
        ],
        &[&["EU", "80"]],
    ),
    // Ratio: paid revenue / revenue: Jan (10+30+40)/100 = 0.8, Feb 50/110, Mar 70/70.
    case(
        &[
            "--metrics",
            "paid_share",
            "--group-by",
            "metric_time__month",
        ],
        &[
            &["2025-01-01", "0.8"],
            &["2025-02-01", "0.454545"],
            &["2025-03-01", "1"],
        ],
    ),
    // Derived, with and without offset: revenue / distinct customers: 100/3, 110/2, 70/1.
    // Growth: Jan has no December -> null, Feb 110 - 100 = 10, Mar 70 - 110 = -40. The seeded
    // amounts are whole numbers, so dbt-postgres types them `integer` and Postgres divides 100 / 3
    // as integers (33), as MetricFlow does there; DuckDB's `/` gives 33.333333.
    Case {
        args: &[
            "--metrics",
            "revenue_per_customer,revenue_growth",
            "--group-by",
            "metric_time__month",
        ],
        want: &[
            &["2025-01-01", "33.333333", ""],
            &["2025-02-01", "55", "10"],
            &["2025-03-01", "70", "-40"],
        ],
        on_postgres: Some(&[
            &["2025-01-01", "33", ""],
            &["2025-02-01", "55", "10"],
            &["2025-03-01", "70", "-40"],
        ]),
    },
    // Filtered, ratio, derived and offset metrics in one query: the same numbers as alone.
    Case {
        args: &[
            "--metrics",
            "eu_revenue,paid_share,revenue_per_customer,revenue_growth",
            "--group-by",
            "metric_time__month",
        ],
        want: &[
            &["2025-01-01", "60", "0.8", "33.333333", ""],
            &["2025-02-01", "50", "0.454545", "55", "10"],
            &["2025-03-01", "70", "1", "70", "-40"],
        ],
        on_postgres: Some(&[
            &["2025-01-01", "60", "0.8", "33", ""],
            &["2025-02-01", "50", "0.454545", "55", "10"],
            &["2025-03-01", "70", "1", "70", "-40"],
        ]),
    },
    // Cumulative, all time, by day: Jan 1 = 10, Jan 2 = 10, Jan 3 = 10+20+30 = 60, Jan 4 = 60.
    case(
        &[
            "--metrics",
            "cumulative_revenue",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-01-01",
            "--end-time",
            "2025-01-04",
        ],
        &[
            &["2025-01-01", "10"],
            &["2025-01-02", "10"],
            &["2025-01-03", "60"],
            &["2025-01-04", "60"],
        ],
    ),
    // By month, the value of the first day of each month (period_agg: first):
    // Jan 1 = 10, Feb 1 = 100 + 50 = 150, Mar 1 = 100 + 110 = 210.
    case(
        &[
            "--metrics",
            "cumulative_revenue",
            "--group-by",
            "metric_time__month",
        ],
        &[
            &["2025-01-01", "10"],
            &["2025-02-01", "150"],
            &["2025-03-01", "210"],
        ],
    ),
    // Month to date: Feb 14 = 50, Feb 15 = 50 + 60 = 110.
    case(
        &[
            "--metrics",
            "revenue_mtd",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-02-14",
            "--end-time",
            "2025-02-15",
        ],
        &[&["2025-02-14", "50"], &["2025-02-15", "110"]],
    ),
    // Window and month to date together. Feb 14: no order in (Feb 7, Feb 14] -> no value;
    // Feb 15: order 6 (60). MTD: 50, 110.
    case(
        &[
            "--metrics",
            "revenue_7d,revenue_mtd",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-02-14",
            "--end-time",
            "2025-02-15",
        ],
        &[&["2025-02-14", "", "50"], &["2025-02-15", "60", "110"]],
    ),
    // Non-additive: the last snapshot. Jan 31: 100 + 200 = 300; Feb 28: 110 + 190 + 50 = 350
    // (not 300 + 350).
    case(
        &[
            "--metrics",
            "total_balance",
            "--group-by",
            "metric_time__month",
        ],
        &[&["2025-01-01", "300"], &["2025-02-01", "350"]],
    ),
    case(
        &[
            "--metrics",
            "total_balance",
            "--group-by",
            "metric_time__quarter",
        ],
        &[&["2025-01-01", "350"]],
    ),
    // Without time: the last date overall, per customer.
    case(
        &["--metrics", "total_balance", "--group-by", "customer"],
        &[&["1", "110"], &["2", "190"], &["3", "50"]],
    ),
    // Conversion: orders within 7 days after a visit of the same customer, given to the latest
    // such visit: order 1 (c1, Jan 1) <- visit 1 (Dec 30); order 2 (c1, Jan 3) <- visit 2
    // (Jan 2); order 3 (c2, Jan 3) <- visit 3 (Jan 1); orders 4-7 have no visit in the 7 days
    // before. Visits by month: Dec 1, Jan 3 (visits 2, 3, 4), Feb 1 -> rates 1/1, 2/3, 0/1.
    case(
        &[
            "--metrics",
            "visit_to_order_rate,visit_conversions",
            "--group-by",
            "metric_time__month",
        ],
        &[
            &["2024-12-01", "1", "1"],
            &["2025-01-01", "0.666667", "2"],
            &["2025-02-01", "0", ""],
        ],
    ),
    // By the visit's channel: ads = visits 1, 3, 4 (2 converted), email = visits 2, 5 (1).
    case(
        &[
            "--metrics",
            "visit_to_order_rate",
            "--group-by",
            "visit__channel",
        ],
        &[&["ads", "0.666667"], &["email", "0.5"]],
    ),
    case(
        &["--metrics", "visit_to_order_rate,visit_conversions"],
        &[&["0.6", "3"]],
    ),
    // Join to the time spine: orders on Jan 1 (10) and Jan 3 (20 + 30); the spine fills Jan 2,
    // 4, 5 with 0.
    case(
        &[
            "--metrics",
            "revenue_filled",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-01-01",
            "--end-time",
            "2025-01-05",
        ],
        &[
            &["2025-01-01", "10"],
            &["2025-01-02", "0"],
            &["2025-01-03", "50"],
            &["2025-01-04", "0"],
            &["2025-01-05", "0"],
        ],
    ),
];

#[test]
fn every_metric_type_on_both_engines() {
    on_both_engines("every_metric_type_on_both_engines", |engine| {
        // DuckDB: the shared copy; Postgres: a copy built on the test's server.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shop");
        let run = |args: &[&str]| match engine {
            Engine::DuckDb => on_built(args),
            Engine::Postgres(_) => sluice(&dir, args),
        };
        if let Engine::Postgres(_) = engine {
            copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
            engine.write_profile(&dir, "shop_metrics", "analytics", 2);
            let r = sluice(&dir, &["build", "-q"]);
            assert_eq!(r.code, 0, "build failed: {}{}", r.stdout, r.stderr);
        }
        for c in CASES {
            let want = match engine {
                Engine::Postgres(_) => c.on_postgres.unwrap_or(c.want),
                Engine::DuckDb => c.want,
            };
            assert_eq!(
                query_with(run, c.args),
                rows(want),
                "{}: {:?}",
                engine.name(),
                c.args
            );
        }
        // The same rows written as CSV.
        let csv = tmp.path().join("r.csv");
        let r = run(&[
            "metrics",
            "query",
            "--metrics",
            "revenue",
            "--group-by",
            "customer__region",
            "--csv",
            csv.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{}: {}", engine.name(), r.stderr);
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "customer__region,revenue\nEU,180\nUS,100\n",
            "{}",
            engine.name()
        );
        // Trailing 7 days: Jan 3 = 10+20+30 = 60; Jan 9 = orders after Jan 2 = 20+30 = 50;
        // Jan 10 = orders after Jan 3 = 40.
        let r = query_with(
            run,
            &[
                "--metrics",
                "revenue_7d",
                "--group-by",
                "metric_time__day",
                "--start-time",
                "2025-01-03",
                "--end-time",
                "2025-01-10",
            ],
        );
        let pick = |d: &str| r.iter().find(|row| row[0] == d).map(|row| row[1].clone());
        assert_eq!(
            pick("2025-01-03").as_deref(),
            Some("60"),
            "{}",
            engine.name()
        );
        assert_eq!(
            pick("2025-01-09").as_deref(),
            Some("50"),
            "{}",
            engine.name()
        );
        assert_eq!(
            pick("2025-01-10").as_deref(),
            Some("40"),
            "{}",
            engine.name()
        );
    });
}

#[test]
fn saved_query_order_and_limit() {
    assert_eq!(
        query(&[
            "--saved-query",
            "monthly_revenue",
            "--order",
            "-revenue",
            "--limit",
            "2"
        ]),
        rows(&[&["2025-02-01", "110", "2"], &["2025-01-01", "100", "4"]])
    );
}

#[test]
fn explain_prints_the_sql() {
    let r = on_built(&[
        "metrics",
        "query",
        "--metrics",
        "eu_revenue",
        "--group-by",
        "metric_time__month",
        "--explain",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn list_and_dimension_values() {
    let r = on_built(&["metrics", "list", "dimensions", "--metrics", "revenue"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("list_dimensions", r.stdout);
    let r = on_built(&["metrics", "list", "saved-queries"]);
    assert!(r.stdout.contains("monthly_revenue"), "{}", r.stdout);
    let r = on_built(&[
        "metrics",
        "dimension-values",
        "--dimension",
        "customer__segment",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "enterprise\nsmb\n");
}

/// Query errors: one diagnostic, a hint, exit code 2.
fn query_error(args: &[&str]) -> String {
    let mut a = vec!["metrics", "query"];
    a.extend_from_slice(args);
    let r = on_built(&a);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r.stderr
}

#[test]
fn query_errors_are_diagnostics() {
    insta::assert_snapshot!("unknown_metric", query_error(&["--metrics", "revenu"]));
    // balances has `customer` as a foreign entity: joining orders to it would duplicate orders.
    insta::assert_snapshot!(
        "fan_out_refused",
        query_error(&[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__balance_date"
        ])
    );
    insta::assert_snapshot!(
        "unknown_dimension",
        query_error(&["--metrics", "revenue", "--group-by", "customer__regoin"])
    );
    insta::assert_snapshot!(
        "offset_of_a_cumulative_metric",
        query_error(&[
            "--metrics",
            "cumulative_revenue_growth",
            "--group-by",
            "metric_time__month"
        ])
    );
    insta::assert_snapshot!(
        "dimension_without_entity",
        query_error(&[
            "--metrics",
            "revenue",
            "--where",
            "{{ Dimension('region') }} = 'EU'"
        ])
    );
}

#[test]
fn an_exposure_reads_sources_models_and_metrics_as_dbt_records_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let exposures = dir.join("models/exposures.yml");
    let write = |metric: &str| {
        let yaml = format!(
            "version: 2\nsources:\n  - name: raw\n    tables: [{{name: events}}]\nexposures:\n  \
             - name: board\n    type: dashboard\n    owner: {{name: Finance}}\n    depends_on:\n      \
             - ref('orders')\n      - metric('{metric}')\n      - source('raw', 'events')\n"
        );
        std::fs::write(&exposures, yaml).unwrap();
    };
    write("revenue");
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(dir.join("target/manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let board = &m["exposures"]["exposure.shop_metrics.board"];
    // Sources first, then refs, then metrics, as dbt lists them.
    assert_eq!(
        board["depends_on"]["nodes"],
        serde_json::json!([
            "source.shop_metrics.raw.events",
            "model.shop_metrics.orders",
            "metric.shop_metrics.revenue"
        ])
    );
    assert_eq!(board["metrics"], serde_json::json!([["revenue"]]));
    let children = m["child_map"]["metric.shop_metrics.revenue"].to_string();
    assert!(
        children.contains("exposure.shop_metrics.board"),
        "{children}"
    );
    let r = sluice(
        &dir,
        &["ls", "-s", "+exposure:board", "--resource-type", "metric"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("metric:shop_metrics.revenue"),
        "{}",
        r.stdout
    );
    // A metric that does not exist: a diagnostic naming the file, exit code 2.
    write("revenu");
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("unknown-metric"), "{}", r.stderr);
    assert!(r.stderr.contains("models/exposures.yml"), "{}", r.stderr);
}

#[test]
fn parse_writes_semantic_manifest_like_dbt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(dir.join("target/semantic_manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "semantic_models",
            "metrics",
            "project_configuration",
            "saved_queries"
        ]
    );
    let growth = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "revenue_growth")
        .unwrap();
    insta::assert_json_snapshot!("semantic_manifest_derived_metric", growth);
    let spine = &v["project_configuration"]["time_spine_table_configurations"][0];
    assert_eq!(spine["column_name"], "date_day");
    assert_eq!(
        spine["location"],
        "\"shop\".\"main\".\"metricflow_time_spine\""
    );
    let orders = v["semantic_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "orders")
        .unwrap();
    assert_eq!(
        orders["node_relation"]["relation_name"],
        "\"shop\".\"main\".\"orders\""
    );
    assert_eq!(orders["measures"][8]["agg_params"]["percentile"], 0.9);
}

/// On the built demo (called by `demo::demo_builds_and_tests_green_twice`): the expressions run
/// on the warehouse, and two metrics equal the same numbers computed directly from the marts.
pub fn check_demo(dir: &Path) {
    let r = sluice(dir, &["metrics", "validate", "--data"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let metric = |args: &[&str]| -> Vec<(String, f64)> {
        let mut a = vec!["metrics", "query", "--log-format", "json"];
        a.extend_from_slice(args);
        let r = sluice(dir, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        let cols = v["columns"].as_array().unwrap().clone();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    text(&row[cols[0].as_str().unwrap()]),
                    row[cols[1].as_str().unwrap()].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let mrr = metric(&["--metrics", "mrr", "--group-by", "metric_time__month"]);
    let win = metric(&["--metrics", "win_rate", "--group-by", "account__segment"]);
    let conn = duckdb::Connection::open_with_flags(
        dir.join("out/saas_ops.duckdb"),
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .unwrap();
    let direct = |sql: &str| -> Vec<(String, f64)> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let close = |a: &[(String, f64)], b: &[(String, f64)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() < 1e-6)
    };
    let want = direct(
        "select strftime(mrr_month, '%Y-%m-%d'), sum(mrr)::double from main.fct_mrr group by 1 order by 1",
    );
    assert!(close(&mrr, &want), "mrr {mrr:?} != {want:?}");
    let want = direct(
        "select segment, sum(is_won::int)::double / sum(is_closed::int) from main.fct_opportunities group by 1 order by 1",
    );
    assert!(close(&win, &want), "win_rate {win:?} != {want:?}");
}

#[test]
fn query_answers_from_cached_definitions_until_a_file_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    assert_eq!(sluice(&dir, &["build", "-q"]).code, 0);
    let run = |metric: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["metrics", "query", "--metrics", metric, "--csv", "out.csv"])
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("SLUICE_TIMINGS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let csv = std::fs::read_to_string(dir.join("out.csv")).unwrap();
        (csv, stderr.contains("timing: metrics: cached definitions"))
    };
    // First query parses (build writes no cache); the second one reuses the definitions.
    assert_eq!(run("eu_revenue"), ("eu_revenue\n180\n".to_string(), false));
    // The cache keeps the relations the definitions name (their models and the time spine),
    // not the seeds' or every other node's.
    let cache = std::fs::read_to_string(dir.join("target/sluice_semantic_cache.json")).unwrap();
    let cache: serde_json::Value = serde_json::from_str(&cache).unwrap();
    let names: Vec<&String> = cache["index"]["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        names,
        [
            "balances",
            "customers",
            "metricflow_time_spine",
            "orders",
            "regions",
            "visits"
        ]
    );
    assert_eq!(run("eu_revenue"), ("eu_revenue\n180\n".to_string(), true));
    // A changed definition is seen at once: the project is parsed again.
    let yml = dir.join("models/semantic.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(&yml, text.replace("= 'EU'\"", "= 'US'\"")).unwrap();
    assert_eq!(run("eu_revenue"), ("eu_revenue\n100\n".to_string(), false));
    assert_eq!(run("eu_revenue"), ("eu_revenue\n100\n".to_string(), true));
}

#[test]
fn saved_query_exports_become_tables_and_views() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    assert_eq!(sluice(&dir, &["build", "-q"]).code, 0);
    for _ in 0..2 {
        // Twice: the second run replaces what the first one wrote.
        let r = sluice(&dir, &["metrics", "export"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout,
            "Exported saved query monthly_revenue to main.monthly_revenue_table (table)\n\
             Exported saved query monthly_revenue to reporting.monthly_revenue_view (view)\n\
             Done. 2 exports\n"
        );
    }
    let conn = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let kinds: Vec<(String, String)> = conn
        .prepare("select table_schema || '.' || table_name, table_type from information_schema.tables where table_name like 'monthly_revenue%' order by 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "main.monthly_revenue_table".to_string(),
                "BASE TABLE".to_string()
            ),
            (
                "reporting.monthly_revenue_view".to_string(),
                "VIEW".to_string()
            )
        ]
    );
    for rel in [
        "main.monthly_revenue_table",
        "reporting.monthly_revenue_view",
    ] {
        let rows: Vec<(f64, i64)> = conn
            .prepare(&format!(
                "select revenue::double, order_count from {rel} order by metric_time__month"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows, [(100.0, 4), (110.0, 2), (70.0, 1)], "{rel}");
    }
    drop(conn);
    // A query that fails in the warehouse leaves the previous export as it was.
    let yml = dir.join("models/semantic.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(
        &yml,
        text.replacen("expr: amount\n", "expr: amount_gone\n", 1),
    )
    .unwrap();
    let r = sluice(&dir, &["metrics", "export"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("export `main.monthly_revenue_table`"),
        "{}",
        r.stderr
    );
    let conn = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let rows: i64 = conn
        .query_row("select count(*) from main.monthly_revenue_table", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 3);
}

#[test]
fn validate_data_finds_columns_missing_from_the_warehouse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let yml = dir.join("models/semantic.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(
        &yml,
        text.replacen("expr: amount\n", "expr: amount_usd\n", 1),
    )
    .unwrap();
    // The saved query would fail on the missing column; the models build.
    assert_eq!(
        sluice(
            &dir,
            &["build", "-q", "--exclude", "resource_type:saved_query"]
        )
        .code,
        0
    );
    assert_eq!(
        sluice(&dir, &["metrics", "validate"]).code,
        0,
        "statically fine"
    );
    let r = sluice(&dir, &["metrics", "validate", "--data"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.matches("error[").count(), 1, "{}", r.stderr);
    insta::assert_snapshot!(r.stderr);
}
