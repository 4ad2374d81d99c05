//! Data-quality tests on metrics (`data_tests:` under a metric), end to end on DuckDB: the shop of
//! `tests/fixtures/metrics` with one overlay of `tests/fixtures/metric_tests` added as
//! `models/metric_tests.yml`; every kind passes on one overlay and fails on the other, and the
//! failure lines users see (group, value, bound) are snapshotted.

use std::path::{Path, PathBuf};

use crate::support::{copy_dir, repo, sluice, Run};

/// A copy of the shop with `overlay` added; returns the temp dir (keep it alive) and the project.
fn shop_with(overlay: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    std::fs::copy(
        repo().join("tests/fixtures/metric_tests").join(overlay),
        dir.join("models/metric_tests.yml"),
    )
    .expect("copy overlay");
    (tmp, dir)
}

/// The result lines of metric tests in a build's output (`1 of 20 PASS name .... [PASS in 0.01s]`
/// -> `PASS name`), sorted, and the explanation lines under each failure.
fn metric_lines(r: &Run) -> String {
    let mut results: Vec<String> = r
        .stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim();
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
            (name.starts_with("metric_") || name.starts_with("checked_"))
                .then(|| format!("{status} {name}"))
        })
        .collect();
    results.sort();
    results.dedup();
    results.join("\n")
}

/// Each failing or warning test with the lines printed under it (timestamps and timings cut),
/// in output order.
fn failure_details(r: &Run) -> String {
    let mut out = Vec::new();
    for l in r.stdout.lines() {
        // `10:36:05  text`: drop the clock.
        let l = match l.get(..10) {
            Some(p) if p.as_bytes().get(2) == Some(&b':') => &l[10..],
            _ => l,
        };
        if l.starts_with("Completed with") {
            break;
        }
        if let Some((_, rest)) = l.split_once(" of ").filter(|(head, _)| {
            head.split_whitespace()
                .last()
                .is_some_and(|n| n.parse::<u64>().is_ok())
        }) {
            let mut words = rest.split_whitespace().skip(1);
            let status = words.next().unwrap_or("");
            if status == "FAIL" || status == "WARN" {
                let name = words.nth(1).unwrap_or("");
                out.push(format!("{status} {name}"));
            }
        } else if l.starts_with("  ") && !l.trim().is_empty() {
            let l = l.trim_end();
            // The freshness cutoff moves with the clock.
            let l = match (l.contains("older than"), l.rfind(", expected ")) {
                (true, Some(at)) => format!("{}, expected [CUTOFF])", &l[..at]),
                _ => l.to_string(),
            };
            out.push(l);
        }
    }
    out.join("\n")
}

fn build(dir: &Path, args: &[&str]) -> Run {
    let mut a = vec!["build"];
    a.extend_from_slice(args);
    let r = sluice(dir, &a);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

#[test]
fn every_kind_passes_on_good_data() {
    let (_tmp, dir) = shop_with("passing.yml");
    let r = build(&dir, &[]);
    assert_eq!(r.code, 0, "build failed:\n{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!(metric_lines(&r));
    // Listed and selected like dbt tests.
    let ls = sluice(&dir, &["ls", "--select", "test_type:metric", "-o", "name"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert_eq!(ls.stdout.lines().count(), 12, "{}", ls.stdout);
    let ls = sluice(
        &dir,
        &["ls", "--select", "metric:late_revenue", "-o", "name"],
    );
    assert_eq!(
        ls.stdout.lines().collect::<Vec<_>>(),
        // The metric itself (a node of dbt's graph), and its tests.
        [
            "late_revenue",
            "metric_accepted_range_late_revenue_min_0_by_metric_time_month",
            "metric_not_null_late_revenue_by_metric_time_month"
        ],
        "{}",
        ls.stderr
    );
    // In the manifest, depending on the models the metric reads and on the metric.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let node = manifest["nodes"]
        .as_object()
        .unwrap()
        .values()
        .find(|n| n["name"] == "metric_reconciles_with_checked_revenue_expression")
        .expect("test node in the manifest");
    assert_eq!(node["resource_type"], "test");
    assert_eq!(
        node["depends_on"]["nodes"],
        serde_json::json!([
            "model.shop_metrics.orders",
            "metric.shop_metrics.checked_revenue"
        ])
    );
    // Like a generic test: test_metadata with the kind and its arguments, plus the metric.
    assert_eq!(node["test_metadata"]["name"], "reconciles_with");
    assert_eq!(
        node["test_metadata"]["kwargs"]["metric_name"],
        "checked_revenue"
    );
    assert!(node["test_metadata"]["kwargs"]["expression"].is_string());
    // A dimension joined in from another model makes that model a parent too.
    let node = manifest["nodes"]
        .as_object()
        .unwrap()
        .values()
        .find(|n| n["name"] == "metric_additive_over_checked_revenue_customer_segment")
        .expect("test node in the manifest");
    assert_eq!(
        node["depends_on"]["nodes"],
        serde_json::json!([
            "model.shop_metrics.customers",
            "model.shop_metrics.orders",
            "metric.shop_metrics.checked_revenue"
        ])
    );
    // run_results.json has every metric test.
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).expect("run_results"),
    )
    .expect("json");
    let passed = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| {
            x["unique_id"]
                .as_str()
                .is_some_and(|u| u.contains(".metric_") || u.contains(".checked_revenue_"))
                && x["status"] == "pass"
        })
        .count();
    assert_eq!(passed, 12);
}

#[test]
fn every_kind_fails_on_bad_data_and_says_where() {
    let (_tmp, dir) = shop_with("failing.yml");
    let r = build(&dir, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!("failing_results", metric_lines(&r));
    insta::assert_snapshot!("failing_details", failure_details(&r));
    // Selecting one metric's tests runs only those (after the models they read).
    let r = sluice(&dir, &["test", "--select", "metric:late_revenue"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("TOTAL=1"), "{}", r.stdout);
    // store_failures keeps the failing rows in a table.
    let r = sluice(
        &dir,
        &[
            "test",
            "--select",
            "metric:late_revenue",
            "--store-failures",
        ],
    );
    assert_eq!(r.code, 1);
    let r = sluice(
        &dir,
        &[
            "show",
            "--inline",
            "select count(*) as n from main_dbt_test__audit.metric_not_null_late_revenue_by_metric_time_month",
        ],
    );
    assert!(r.stdout.contains("1"), "{}{}", r.stdout, r.stderr);
}

#[test]
fn severity_warn_and_error_if_apply() {
    let (_tmp, dir) = shop_with("failing.yml");
    let yml = dir.join("models/metric_tests.yml");
    let text = std::fs::read_to_string(&yml).unwrap().replace(
        "      - freshness:\n          max_lag: 1 day\n",
        "      - freshness:\n          max_lag: 1 day\n          error_if: \">1\"\n",
    );
    std::fs::write(&yml, text).unwrap();
    let r = build(&dir, &[]);
    let lines = metric_lines(&r);
    assert!(
        lines.contains("WARN metric_reconciles_with_checked_revenue_expression"),
        "{lines}"
    );
    assert!(
        lines.contains("WARN metric_freshness_checked_revenue_1_day"),
        "{lines}"
    );
}

/// Bad definitions: one diagnostic with file, line and column, exit code 2.
fn diagnose(overlay: &str) -> String {
    let (tmp, dir) = shop_with(overlay);
    let r = sluice(&dir, &["parse"]);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    format!("exit code: {}\n{}", r.code, r.stderr)
        .replace(&root.display().to_string(), "[TMP]")
        .replace(&tmp.path().display().to_string(), "[TMP]")
}

#[test]
fn a_test_on_an_unknown_dimension_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("unknown_dimension.yml"));
}

#[test]
fn a_range_with_min_above_max_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("min_above_max.yml"));
}

/// The same failures, with the same explanations, on DuckDB and on a real Postgres server.
#[test]
fn same_failures_on_duckdb_and_postgres() {
    crate::pg_server::on_both_engines("metric_tests_on_both", |engine| {
        let (_tmp, dir) = shop_with("failing.yml");
        engine.write_profile(&dir, "shop_metrics", "main", 1);
        let r = build(&dir, &[]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::assert_snapshot!("failing_details_both_engines", failure_details(&r));
    });
}

/// The shop with `tests/fixtures/metric_windows`: a model of sales dated relative to today, its
/// semantic model, and `overlay` (the metric and its tests) as `models/recent_revenue.yml`.
fn recent_sales_with(overlay: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let fx = repo().join("tests/fixtures/metric_windows");
    for (from, to) in [
        ("recent_sales.sql", "recent_sales.sql"),
        ("semantic.yml", "recent_sales.yml"),
        (overlay, "recent_revenue.yml"),
    ] {
        std::fs::copy(fx.join(from), dir.join("models").join(to)).expect("copy fixture");
    }
    (tmp, dir)
}

/// `last: N units` and `freshness` count back from the run's start: the same data passes with
/// windows that leave out an old refund and fails with ones that reach it, on both engines.
#[test]
fn relative_windows_count_back_from_the_run_start() {
    crate::pg_server::on_both_engines("metric_windows", |engine| {
        let (_tmp, dir) = recent_sales_with("passing.yml");
        engine.write_profile(&dir, "shop_metrics", "main", 1);
        let r = build(&dir, &["--select", "+metric:recent_revenue"]);
        assert_eq!(r.code, 0, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::assert_snapshot!("windows_passing", metric_lines(&r));

        std::fs::copy(
            repo().join("tests/fixtures/metric_windows/failing.yml"),
            dir.join("models/recent_revenue.yml"),
        )
        .expect("copy overlay");
        let r = build(&dir, &["--select", "+metric:recent_revenue"]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::with_settings!({filters => vec![(r"\d{4}-\d{2}-\d{2}", "[DATE]")]}, {
            insta::assert_snapshot!("windows_failing", failure_details(&r));
        });
        // The cutoff is a date computed from the run's start, not the database's clock.
        let sql = std::fs::read_to_string(dir.join(
            "target/compiled/shop_metrics/models/recent_revenue.yml/metric_freshness_recent_revenue_5_day.sql",
        ))
        .expect("compiled freshness test");
        assert!(!sql.contains("current_timestamp"), "{sql}");
    });
}

/// The shop with the custom metric test macro of `tests/fixtures/metric_custom` and `overlay` as
/// `models/share.yml`.
fn custom_with(overlay: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let fx = repo().join("tests/fixtures/metric_custom");
    std::fs::create_dir_all(dir.join("macros")).expect("macros dir");
    std::fs::copy(
        fx.join("metric_share.sql"),
        dir.join("macros/metric_share.sql"),
    )
    .expect("copy macro");
    std::fs::copy(fx.join(overlay), dir.join("models/share.yml")).expect("copy overlay");
    (tmp, dir)
}

/// A `{% test name(metric_query, metric_name, group_by, ...) %}` macro is a metric test: it gets
/// the compiled metric query and returns the failing rows, explained like the built-in kinds'.
#[test]
fn custom_metric_tests_are_jinja_macros() {
    crate::pg_server::on_both_engines("metric_custom", |engine| {
        let (_tmp, dir) = custom_with("passing.yml");
        engine.write_profile(&dir, "shop_metrics", "main", 1);
        let r = build(&dir, &["--select", "+metric:share_checked_revenue"]);
        assert_eq!(r.code, 0, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        assert_eq!(
            metric_lines(&r),
            "PASS metric_share_at_most_share_checked_revenue_by_customer_segment"
        );
        // In the manifest like a generic test: the macro, its kwargs, selected as a metric test.
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest"),
        )
        .expect("json");
        let node = manifest["nodes"]
            .as_object()
            .expect("nodes")
            .values()
            .find(|n| n["name"] == "metric_share_at_most_share_checked_revenue_by_customer_segment")
            .expect("test node");
        assert_eq!(node["test_metadata"]["name"], "metric_share_at_most");
        assert_eq!(node["test_metadata"]["kwargs"]["max_share"], 0.8);
        assert_eq!(
            node["test_metadata"]["kwargs"]["group_by"],
            serde_json::json!(["customer__segment"])
        );
        assert_eq!(
            node["depends_on"]["macros"],
            serde_json::json!(["macro.shop_metrics.test_metric_share_at_most"])
        );
        let ls = sluice(&dir, &["ls", "--select", "test_type:metric", "-o", "name"]);
        assert_eq!(
            ls.stdout.trim(),
            "metric_share_at_most_share_checked_revenue_by_customer_segment"
        );

        std::fs::copy(
            repo().join("tests/fixtures/metric_custom/failing.yml"),
            dir.join("models/share.yml"),
        )
        .expect("copy overlay");
        let r = build(&dir, &["--select", "+metric:share_checked_revenue"]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::assert_snapshot!("custom_failing", failure_details(&r));
    });
}

#[test]
fn a_model_test_under_a_metric_is_a_diagnostic() {
    let (tmp, dir) = custom_with("model_test_on_metric.yml");
    let r = sluice(&dir, &["parse"]);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    insta::assert_snapshot!(format!("exit code: {}\n{}", r.code, r.stderr)
        .replace(&root.display().to_string(), "[TMP]"));
}

#[test]
fn a_window_that_is_not_a_duration_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("bad_window.yml"));
}

#[test]
fn a_relative_window_with_a_start_time_is_a_diagnostic() {
    insta::assert_snapshot!(diagnose("window_and_start.yml"));
}

/// The latest spec writes metrics under their model (`models: - metrics:`): `data_tests:` there
/// work the same, and diagnostics point into the model's entry. `tests/fixtures/metrics_spec`.
#[test]
fn data_tests_on_metrics_declared_under_a_model() {
    crate::pg_server::on_both_engines("metric_tests_latest_spec", |engine| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("shop");
        let fixture = repo().join("tests/fixtures/metrics_spec");
        copy_dir(&fixture, &dir);
        engine.write_profile(&dir, "shop_spec", "analytics", 1);
        let latest = std::fs::read_to_string(fixture.join("variants/latest.yml")).expect("variant");
        // Revenue by segment: smb 200, enterprise 80 (see the seeds).
        let with_test = |max: &str, group_by: &str| {
            let anchor = "      - name: revenue\n        type: simple\n        label: Revenue\n        agg: sum\n        expr: amount\n";
            assert!(latest.contains(anchor), "the fixture changed");
            latest.replace(
                anchor,
                &format!("{anchor}        data_tests:\n          - accepted_range:\n              min: 0\n              max: {max}\n              group_by: [{group_by}]\n"),
            )
        };
        let yml = dir.join("models/semantic.yml");
        std::fs::write(&yml, with_test("1000", "customer__customer_segment")).expect("write");
        let r = build(&dir, &[]);
        assert_eq!(r.code, 0, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        assert_eq!(
            metric_lines(&r),
            "PASS metric_accepted_range_revenue_min_0_max_1000_by_customer_customer_segment"
        );
        std::fs::write(&yml, with_test("100", "customer__customer_segment")).expect("write");
        let r = build(&dir, &[]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        insta::assert_snapshot!("latest_spec_failing", failure_details(&r));
        std::fs::write(&yml, with_test("100", "customer__segmnt")).expect("write");
        let r = sluice(&dir, &["parse"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let root = std::fs::canonicalize(tmp.path()).expect("canonical");
        insta::assert_snapshot!(
            "latest_spec_unknown_dimension",
            r.stderr.replace(&root.display().to_string(), "[TMP]")
        );
    });
}
