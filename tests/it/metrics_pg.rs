//! The semantic layer's Postgres SQL on a real Postgres server started by the test: the fixture's
//! rows are loaded with psql, `sluice metrics query --explain -t pg` plans each query for
//! Postgres, psql runs it, and the results must equal the numbers computed by hand (the same
//! ones `metrics.rs` checks on DuckDB). Needs PostgreSQL's server binaries (`initdb`, `pg_ctl`)
//! on the PATH or under /usr/lib/postgresql/*/bin; `.ci/run` installs them when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{copy_dir, repo, sluice};

fn pg_bin(name: &str) -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path().join("bin").join(name))
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("PostgreSQL's `{name}` is not installed (apt-get install -y postgresql)")
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A throwaway server on a Unix socket in a temp dir, stopped on drop.
struct Pg {
    dir: tempfile::TempDir,
    port: u16,
}

impl Pg {
    fn server_cmd(bin: &str) -> Command {
        // The server refuses to run as root: run it as the `postgres` user then.
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_bin(bin));
            c
        } else {
            Command::new(pg_bin(bin))
        }
    }

    fn start() -> Pg {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the temp dir to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        let out = Self::server_cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "shop", "--auth=trust"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=''",
            dir.path().display()
        );
        let out = Self::server_cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-w", "-l"])
            .arg(dir.path().join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = Pg { dir, port };
        pg.psql_cmd("postgres", "create database shop");
        pg
    }

    fn psql(&self, db: &str) -> Command {
        let mut c = Command::new(pg_bin("psql"));
        c.arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", "shop", "-d", db])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "--csv"]);
        c
    }

    fn psql_cmd(&self, db: &str, sql: &str) -> String {
        let out = self.psql(db).args(["-c", sql]).output().unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run_file(&self, file: &Path) -> String {
        let out = self.psql("shop").arg("-f").arg(file).output().unwrap();
        assert!(
            out.status.success(),
            "psql -f: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Self::server_cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn norm(cell: &str) -> String {
    if let Ok(f) = cell.parse::<f64>() {
        let s = format!("{f:.6}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    cell.trim_end_matches(" 00:00:00").to_string()
}

#[test]
fn every_metric_type_on_postgres() {
    let pg = Pg::start();
    let seeds = repo().join("tests/fixtures/metrics/seeds");
    let load = format!(
        "create schema analytics;
create table analytics.customers (customer_id int, region text, segment text);
create table analytics.orders (order_id int, customer_id int, ordered_at date, amount numeric, is_paid boolean);
create table analytics.balances (customer_id int, balance_date date, balance int);
create table analytics.visits (visit_id int, customer_id int, visited_at date, channel text);
create table analytics.regions (region text, manager text);
create table analytics.metricflow_time_spine as
  select d::date as date_day from generate_series('2025-01-01'::timestamp, '2025-03-31'::timestamp, interval '1 day') as d;
\\copy analytics.customers from '{s}/raw_customers.csv' csv header
\\copy analytics.orders from '{s}/raw_orders.csv' csv header
\\copy analytics.balances from '{s}/raw_balances.csv' csv header
\\copy analytics.visits from '{s}/raw_visits.csv' csv header
\\copy analytics.regions from '{s}/raw_regions.csv' csv header
",
        s = seeds.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let load_file = tmp.path().join("load.sql");
    std::fs::write(&load_file, load).unwrap();
    pg.run_file(&load_file);
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let query = |args: &[&str]| -> Vec<Vec<String>> {
        let mut a = vec!["metrics", "query", "--explain", "-t", "pg"];
        a.extend_from_slice(args);
        let r = sluice(&dir, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let f = tmp.path().join("q.sql");
        std::fs::write(&f, &r.stdout).unwrap();
        let csv = pg.run_file(&f);
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').map(norm).collect())
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
    assert_eq!(
        query(&[
            "--metrics",
            "eu_revenue,paid_share,revenue_per_customer,revenue_growth",
            "--group-by",
            "metric_time__month",
        ]),
        rows(&[
            &["2025-01-01", "60", "0.8", "33.333333", ""],
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
