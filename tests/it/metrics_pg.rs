//! The semantic layer on a real PostgreSQL server: the hand-computed fixture of `metrics.rs` is
//! built with `sluice build` on a throwaway server (`pg_server.rs`) and every metric type is
//! queried through sluice's own Postgres connection (`sluice metrics query -t dev --csv`); the
//! results must equal the numbers computed by hand (the same ones `metrics.rs` checks on DuckDB).

use crate::pg_server::PgServer;
use crate::support::{copy_dir, repo, sluice};

/// Numbers to six decimals without trailing zeros, dates without a midnight time.
fn norm(cell: &str) -> String {
    if let Ok(f) = cell.parse::<f64>() {
        let s = format!("{f:.6}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    cell.trim_end_matches("T00:00:00")
        .trim_end_matches(" 00:00:00")
        .to_string()
}

#[test]
fn every_metric_type_on_postgres() {
    let Some(pg) = PgServer::start("every_metric_type_on_postgres") else {
        return;
    };
    pg.create_db("shop");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "shop_metrics:\n  target: dev\n  outputs:\n{}",
            pg.output_yaml("dev", "shop", "analytics", 2)
        ),
    )
    .unwrap();
    let built = sluice(&dir, &["build"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    let out = tmp.path().join("q.csv");
    let query = |args: &[&str]| -> Vec<Vec<String>> {
        let mut a = vec!["metrics", "query", "--csv", out.to_str().unwrap()];
        a.extend_from_slice(args);
        let r = sluice(&dir, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mut reader = csv::Reader::from_path(&out).unwrap();
        reader
            .records()
            .map(|rec| rec.unwrap().iter().map(norm).collect())
            .collect()
    };
    let rows = |e: &[&[&str]]| -> Vec<Vec<String>> {
        e.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    // Simple metrics, every agg (see metrics.rs for the arithmetic).
    assert_eq!(
        query(&[
            "--metrics",
            "revenue,order_count,paid_orders,customers_ordering",
            "--group-by",
            "metric_time__month"
        ]),
        rows(&[
            &["2025-01-01", "100", "4", "3", "3"],
            &["2025-02-01", "110", "2", "1", "2"],
            &["2025-03-01", "70", "1", "1", "1"],
        ])
    );
    assert_eq!(
        query(&[
            "--metrics",
            "max_order,min_order,avg_order,median_order_value,p90_order_value,revenue"
        ]),
        rows(&[&["70", "10", "40", "40", "64", "280"]])
    );
    // Join, metric filter, ratio, derived with and without offset.
    assert_eq!(
        query(&["--metrics", "revenue", "--group-by", "customer__region"]),
        rows(&[&["EU", "180"], &["US", "100"]])
    );
    // `revenue_per_customer` is the derived `revenue / customers_ordering`: the seeded amounts are
    // whole numbers, so dbt-postgres types them `integer` and Postgres divides 100 / 3 as
    // integers (33), as MetricFlow does there; DuckDB's `/` gives 33.333333 (see metrics.rs).
    assert_eq!(
        query(&[
            "--metrics",
            "eu_revenue,paid_share,revenue_per_customer,revenue_growth",
            "--group-by",
            "metric_time__month",
        ]),
        rows(&[
            &["2025-01-01", "60", "0.8", "33", ""],
            &["2025-02-01", "50", "0.454545", "55", "10"],
            &["2025-03-01", "70", "1", "70", "-40"],
        ])
    );
    // Cumulative: all time by month (first day), window and month-to-date by day.
    assert_eq!(
        query(&[
            "--metrics",
            "cumulative_revenue",
            "--group-by",
            "metric_time__month"
        ]),
        rows(&[
            &["2025-01-01", "10"],
            &["2025-02-01", "150"],
            &["2025-03-01", "210"]
        ])
    );
    assert_eq!(
        query(&[
            "--metrics",
            "revenue_7d,revenue_mtd",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-02-14",
            "--end-time",
            "2025-02-15",
        ]),
        // Feb 14: no order in (Feb 7, Feb 14] -> no value; Feb 15: order 6 (60). MTD: 50, 110.
        rows(&[&["2025-02-14", "", "50"], &["2025-02-15", "60", "110"]])
    );
    // Conversion: orders attributed to the latest visit in the 7 days before.
    assert_eq!(
        query(&[
            "--metrics",
            "visit_to_order_rate,visit_conversions",
            "--group-by",
            "metric_time__month"
        ]),
        rows(&[
            &["2024-12-01", "1", "1"],
            &["2025-01-01", "0.666667", "2"],
            &["2025-02-01", "0", ""]
        ])
    );
    // A filter on a metric computed per customer.
    assert_eq!(
        query(&[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__region",
            "--where",
            "{{ Metric('revenue', group_by=['customer']) }} < 90",
        ]),
        rows(&[&["EU", "80"]])
    );
    // Two joins away.
    assert_eq!(
        query(&[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__sales_region__manager"
        ]),
        rows(&[&["alice", "180"], &["bob", "100"]])
    );
    // Non-additive and time spine fill.
    assert_eq!(
        query(&[
            "--metrics",
            "total_balance",
            "--group-by",
            "metric_time__month"
        ]),
        rows(&[&["2025-01-01", "300"], &["2025-02-01", "350"]])
    );
    assert_eq!(
        query(&[
            "--metrics",
            "revenue_filled",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2025-01-02",
            "--end-time",
            "2025-01-03",
        ]),
        rows(&[&["2025-01-02", "0"], &["2025-01-03", "50"]])
    );
}
