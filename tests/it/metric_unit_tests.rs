//! Metric unit tests (`metric_unit_tests:`), end to end: the shop of `tests/fixtures/metrics` with
//! one overlay of `tests/fixtures/metric_unit_tests` added as `models/metric_unit_tests.yml`. One
//! test per metric type passes; wrong expectations fail with dbt's diff (snapshotted); bad
//! definitions are diagnostics; the same on DuckDB and on a real PostgreSQL server.

use std::path::{Path, PathBuf};

use crate::support::{copy_dir, repo, sluice, Run};

/// A copy of the shop with `overlay` added; returns the temp dir (keep it alive) and the project.
fn shop_with(overlay: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    std::fs::copy(
        repo()
            .join("tests/fixtures/metric_unit_tests")
            .join(overlay),
        dir.join("models/metric_unit_tests.yml"),
    )
    .expect("copy overlay");
    (tmp, dir)
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let r = sluice(dir, args);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

/// `STATUS name` of every unit test in a run's output, sorted.
fn unit_lines(r: &Run) -> Vec<String> {
    let mut out: Vec<String> = r
        .stdout
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(" of ").filter(|(head, _)| {
                head.split_whitespace()
                    .last()
                    .is_some_and(|n| n.parse::<u64>().is_ok())
            })?;
            let mut words = rest.split_whitespace().skip(1).peekable();
            let status = words.next()?;
            if status == "START" {
                return None;
            }
            if words.peek().is_some_and(|w| w.parse::<u64>().is_ok()) {
                words.next();
            }
            let name = words.next()?;
            Some(format!("{status} {name}"))
        })
        .filter(|l| !l.contains("metric_"))
        .collect();
    out.sort();
    out
}

/// Each failing test with the lines printed under it (clock cut), in output order.
fn failure_details(r: &Run) -> String {
    let mut out = Vec::new();
    for l in r.stdout.lines() {
        let l = match l.get(..10) {
            Some(p) if p.as_bytes().get(2) == Some(&b':') => &l[10..],
            _ => l,
        };
        if l.starts_with("Finished running") || l.starts_with("Completed with") {
            break;
        }
        if let Some((_, rest)) = l.split_once(" of ").filter(|(head, _)| {
            head.split_whitespace()
                .last()
                .is_some_and(|n| n.parse::<u64>().is_ok())
        }) {
            let mut words = rest.split_whitespace().skip(1);
            if words.next() == Some("FAIL") {
                out.push(format!("FAIL {}", words.nth(1).unwrap_or("")));
            }
        } else if l.starts_with("  ") && !l.trim().is_empty() {
            out.push(l.trim_end().to_string());
        }
    }
    out.join("\n")
}

const PASSING: [&str; 6] = [
    "PASS cumulative_revenue_runs_over_days",
    "PASS paid_share_is_paid_over_all",
    "PASS revenue_from_sql_fixtures",
    "PASS revenue_per_customer_by_segment",
    "PASS revenue_sums_orders_per_month",
    "PASS visits_convert_within_a_week",
];

#[test]
fn one_test_per_metric_type_passes_in_build_and_artifacts() {
    let (_tmp, dir) = shop_with("passing.yml");
    // Before anything is built: the fixtures stand in for the models.
    let r = run(&dir, &["test", "--select", "test_type:unit"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(unit_lines(&r), PASSING, "{}", r.stdout);

    let r = run(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let lines = unit_lines(&r);
    for p in PASSING {
        assert!(lines.iter().any(|l| l == p), "{p} not in\n{}", r.stdout);
    }
    // Selected like dbt unit tests, and by their metric.
    let ls = run(&dir, &["ls", "--select", "metric:paid_share", "-o", "name"]);
    assert_eq!(
        ls.stdout.trim(),
        "paid_share\npaid_share_is_paid_over_all",
        "{}",
        ls.stderr
    );
    let ls = run(
        &dir,
        &["ls", "--select", "unit_test:visits_convert_within_a_week"],
    );
    assert_eq!(
        ls.stdout.trim(),
        "unit_test:shop_metrics.visit_to_order_rate.visits_convert_within_a_week"
    );

    // manifest.json: a unit test naming its metric; run_results.json: every one passed.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let u = &manifest["unit_tests"]
        ["unit_test.shop_metrics.revenue_per_customer.revenue_per_customer_by_segment"];
    assert_eq!(u["resource_type"], "unit_test");
    assert_eq!(u["metric"], "revenue_per_customer");
    assert_eq!(u["given"][1]["input"], "ref('customers')");
    assert_eq!(
        u["depends_on"]["nodes"],
        serde_json::json!(["metric.shop_metrics.revenue_per_customer"])
    );
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).expect("run_results"),
    )
    .expect("json");
    let passed = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| {
            x["unique_id"]
                .as_str()
                .is_some_and(|u| u.starts_with("unit_test."))
                && x["status"] == "pass"
        })
        .count();
    assert_eq!(passed, 6);

    // The real tables are untouched: the seed's seven orders are still there. (`show` writes
    // run_results.json of its own, as dbt's does: it comes last.)
    let r = run(
        &dir,
        &[
            "show",
            "--inline",
            "select count(*) as n, sum(amount) as s from orders",
        ],
    );
    assert!(r.stdout.contains("| 7 | 280 |"), "{}", r.stdout);
}

#[test]
fn wrong_expectations_fail_with_a_diff() {
    let (_tmp, dir) = shop_with("failing.yml");
    let r = run(&dir, &["test", "--select", "test_type:unit"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!(failure_details(&r));
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).expect("run_results"),
    )
    .expect("json");
    let failures: Vec<(String, u64)> = rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| {
            (
                x["status"].as_str().unwrap_or("").to_string(),
                x["failures"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("fail".to_string(), 1),
            ("fail".to_string(), 1),
            ("fail".to_string(), 3)
        ],
        "{rr}"
    );
}

/// Bad definitions: one diagnostic with file, line and column, exit code 2.
fn diagnose(overlay: &str) -> String {
    let (tmp, dir) = shop_with(overlay);
    let r = run(&dir, &["parse"]);
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    format!("exit code: {}\n{}", r.code, r.stderr)
        .replace(&root.display().to_string(), "[TMP]")
        .replace(&tmp.path().display().to_string(), "[TMP]")
}

#[test]
fn a_unit_test_of_an_unknown_metric_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("unknown_metric.yml"));
}

#[test]
fn a_unit_test_of_an_unknown_input_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("unknown_input.yml"));
}

#[test]
fn a_unit_test_missing_an_input_the_query_reads_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("missing_input.yml"));
}

#[test]
fn a_unit_test_expecting_a_column_the_query_lacks_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("unknown_column.yml"));
}

/// The same verdicts and diffs on DuckDB and on PostgreSQL (`engine: target` tests run on the
/// target's connection; the others on an in-memory DuckDB whatever the target).
#[test]
fn same_verdicts_on_duckdb_and_postgres() {
    crate::pg_server::on_both_engines("metric_unit_tests_on_both", |engine| {
        let (_tmp, dir) = shop_with("passing.yml");
        engine.write_profile(&dir, "shop_metrics", "main", 1);
        let r = run(&dir, &["build"]);
        assert_eq!(r.code, 0, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        let lines = unit_lines(&r);
        for p in PASSING {
            assert!(
                lines.iter().any(|l| l == p),
                "{}: {p} in\n{}",
                engine.name(),
                r.stdout
            );
        }
        // The fixtures were temporary: nothing named like them is left in the warehouse.
        let left = engine.scalar(
            &dir,
            "shop_metrics",
            "select count(*) from information_schema.tables where table_name like '%sluice_metric_unit%'",
        );
        assert_eq!(left, serde_json::json!("0"), "{}", engine.name());

        std::fs::copy(
            repo().join("tests/fixtures/metric_unit_tests/failing.yml"),
            dir.join("models/metric_unit_tests.yml"),
        )
        .expect("copy overlay");
        let r = run(&dir, &["test", "--select", "test_type:unit"]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::assert_snapshot!("failing_diff_both_engines", failure_details(&r));
    });
}

/// The demo has one metric unit test per metric type; they pass on a fresh copy where nothing
/// has been built (the fixtures stand in for the marts).
#[test]
fn the_demo_checks_each_metric_type_before_building() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(&dir).expect("demo dir");
    std::fs::copy(repo().join("dbt_project.yml"), dir.join("dbt_project.yml")).expect("copy");
    for d in ["models", "seeds", "macros", "profiles", "metrics"] {
        if repo().join(d).exists() {
            copy_dir(&repo().join(d), &dir.join(d));
        }
    }
    let r = run(
        &dir,
        &[
            "test",
            "--select",
            "metric:*",
            "--resource-type",
            "unit_test",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        unit_lines(&r),
        [
            "PASS activation_needs_an_event_within_a_week",
            "PASS arr_is_twelve_times_mrr",
            "PASS mrr_takes_the_last_month_of_a_quarter",
            "PASS net_revenue_retention_counts_churn_not_new",
            "PASS weekly_active_users_look_back_seven_days",
        ],
        "{}",
        r.stdout
    );
}

/// Given rows without a column the query reads: the test errors with the engine's message and a
/// hint (the run goes on: exit code 1, not a crash).
#[test]
fn given_rows_missing_a_column_are_an_error_with_a_hint() {
    let (_tmp, dir) = shop_with("missing_column.yml");
    let r = run(&dir, &["test", "--select", "test_type:unit"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(unit_lines(&r), ["ERROR missing_column"], "{}", r.stdout);
    assert!(r.stdout.contains("\"is_paid\""), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("hint: the given rows need every column the query reads"),
        "{}",
        r.stdout
    );
}

#[test]
fn two_unit_tests_of_a_metric_with_one_name_are_a_diagnostic() {
    insta::assert_snapshot!(diagnose("duplicate_name.yml"));
}

/// On the latest spec (semantics on the models, `tests/fixtures/metrics_spec`): a dimension two
/// joins away needs rows for both joined models, and a cumulative metric gets a generated spine.
#[test]
fn latest_spec_two_hop_joins_and_cumulative_metrics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    let fixture = repo().join("tests/fixtures/metrics_spec");
    copy_dir(&fixture, &dir);
    std::fs::copy(
        fixture.join("variants/latest.yml"),
        dir.join("models/semantic.yml"),
    )
    .expect("copy variant");
    let overlay = repo().join("tests/fixtures/metric_unit_tests/latest_spec.yml");
    std::fs::copy(&overlay, dir.join("models/metric_unit_tests.yml")).expect("copy overlay");
    let r = run(&dir, &["test", "--select", "test_type:unit"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        unit_lines(&r),
        [
            "PASS revenue_by_manager_two_hops",
            "PASS revenue_mtd_latest_spec"
        ],
        "{}",
        r.stdout
    );
    // Without the rows of the second hop's model: a diagnostic.
    let text = std::fs::read_to_string(&overlay).expect("overlay");
    let without = text.replace(
        "      - input: ref('regions')\n        rows:\n          - {region: EU, manager: alice}\n          - {region: US, manager: bob}\n",
        "",
    );
    assert_ne!(text, without);
    std::fs::write(dir.join("models/metric_unit_tests.yml"), without).expect("write");
    let r = run(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("reads `regions` (semantic model `regions`), which has no `given` rows"),
        "{}",
        r.stderr
    );
}
