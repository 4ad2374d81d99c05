//! Saved queries as nodes of `sluice build`, on DuckDB and on PostgreSQL: the hand-computed shop
//! of `tests/fixtures/metrics` is built, its saved query `monthly_revenue` writes a table and a
//! view, and their rows must equal `sluice metrics query --saved-query` and the hand-computed
//! numbers; a failing export leaves the previous relations intact; a saved query without exports
//! is a NO-OP counted and recorded like dbt 1.10 does.

use std::path::Path;

use crate::pg_server::{on_both_engines, Engine};
use crate::support::{copy_dir, repo, sluice};

/// Monthly revenue and order count (see metrics.rs): Jan 10+20+30+40 = 100 over 4 orders,
/// Feb 50+60 = 110 over 2, Mar 70 over 1.
const MONTHLY: &[[&str; 3]] = &[
    ["2025-01-01", "100", "4"],
    ["2025-02-01", "110", "2"],
    ["2025-03-01", "70", "1"],
];

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

fn expected() -> Vec<Vec<String>> {
    MONTHLY
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// The rows of an export relation: month, revenue, order count.
fn export_rows(engine: &Engine, dir: &Path, rel: &str) -> Vec<Vec<String>> {
    let v = engine.scalar(
        dir,
        "shop_metrics",
        &format!(
            "select string_agg(cast(cast(metric_time__month as date) as varchar) || '|' || \
             cast(revenue as varchar) || '|' || cast(order_count as varchar), ',' \
             order by metric_time__month) from {rel}"
        ),
    );
    v.as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.split('|').map(norm).collect())
        .collect()
}

/// `sluice metrics query --saved-query monthly_revenue` through the engine's connection.
fn saved_query_rows(dir: &Path) -> Vec<Vec<String>> {
    let out = dir.join("q.csv");
    let r = sluice(
        dir,
        &[
            "metrics",
            "query",
            "--saved-query",
            "monthly_revenue",
            "--csv",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut reader = csv::Reader::from_path(&out).unwrap();
    reader
        .records()
        .map(|rec| rec.unwrap().iter().map(norm).collect())
        .collect()
}

fn run_results(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("target/run_results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["results"].as_array().unwrap().clone()
}

fn result_of<'a>(results: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    results
        .iter()
        .find(|r| r["unique_id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

fn project(engine: &Engine) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    engine.write_profile(&dir, "shop_metrics", "analytics", 2);
    (tmp, dir)
}

#[test]
fn build_writes_saved_query_exports_on_both_engines() {
    on_both_engines("build_writes_saved_query_exports", |engine| {
        let (_tmp, dir) = project(engine);
        let r = sluice(&dir, &["build"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("OK exported saved query monthly_revenue ....")
                && r.stdout.contains("[EXPORT 2 in "),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("1 saved query, "), "{}", r.stdout);
        assert!(
            !r.stdout.contains("START saved query"),
            "dbt prints no START line for saved queries"
        );
        for rel in [
            "analytics.monthly_revenue_table",
            "reporting.monthly_revenue_view",
        ] {
            assert_eq!(export_rows(engine, &dir, rel), expected(), "{rel}");
        }
        assert_eq!(saved_query_rows(&dir), expected(), "{}", engine.name());
        let kinds = engine.scalar(
            &dir,
            "shop_metrics",
            "select string_agg(table_schema || '.' || table_name || ':' || table_type, ',' \
             order by table_schema, table_name) from information_schema.tables \
             where table_name like 'monthly_revenue%'",
        );
        assert_eq!(
            kinds,
            "analytics.monthly_revenue_table:BASE TABLE,reporting.monthly_revenue_view:VIEW",
            "{}",
            engine.name()
        );
        // The saved query runs after every model its SQL reads.
        let results = run_results(&dir);
        let pos = |id: &str| {
            results
                .iter()
                .position(|r| r["unique_id"] == id)
                .unwrap_or_else(|| panic!("no result for {id}"))
        };
        let sq = pos("saved_query.shop_metrics.monthly_revenue");
        assert!(sq > pos("model.shop_metrics.orders"));
        let entry = result_of(&results, "saved_query.shop_metrics.monthly_revenue");
        assert_eq!(entry["status"], "success");
        assert_eq!(entry["message"], "EXPORT 2");
        assert_eq!(entry["compiled"], true);
        assert!(entry["compiled_code"]
            .as_str()
            .unwrap()
            .contains("\"revenue\""));
    });
}

#[test]
fn a_failing_export_keeps_the_previous_relations() {
    on_both_engines("a_failing_export_keeps_previous", |engine| {
        let (_tmp, dir) = project(engine);
        let r = sluice(&dir, &["build", "-q"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        // The revenue measure now reads a column the orders table does not have: the models
        // still build, the saved query's SQL fails in the warehouse.
        let yml = dir.join("models/semantic.yml");
        let text = std::fs::read_to_string(&yml).unwrap();
        std::fs::write(
            &yml,
            text.replacen("expr: amount\n", "expr: amount_usd\n", 1),
        )
        .unwrap();
        let r = sluice(&dir, &["build", "-s", "saved_query:monthly_revenue"]);
        assert_eq!(r.code, 1, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        assert!(
            r.stdout.contains("ERROR saved query monthly_revenue")
                && r.stdout.contains(
                    "export `monthly_revenue_table` of saved query `monthly_revenue` to \
                     analytics.monthly_revenue_table failed"
                )
                && r.stdout
                    .contains("Done. PASS=0 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=1"),
            "{}",
            r.stdout
        );
        let results = run_results(&dir);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["status"], "error");
        for rel in [
            "analytics.monthly_revenue_table",
            "reporting.monthly_revenue_view",
        ] {
            assert_eq!(export_rows(engine, &dir, rel), expected(), "{rel}");
        }
        // No temporary relation is left behind.
        let left = engine.scalar(
            &dir,
            "shop_metrics",
            "select count(*) from information_schema.tables where table_name like '%dbt_tmp%' \
             or table_name like '%dbt_backup%'",
        );
        assert_eq!(left, "0");
    });
}

#[test]
fn saved_query_without_exports_is_a_no_op_like_dbt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let yml = dir.join("models/semantic.yml");
    let mut text = std::fs::read_to_string(&yml).unwrap();
    text.push_str(
        "  - name: revenue_by_region\n    query_params:\n      metrics: [revenue]\n      \
         group_by: [\"Dimension('customer__region')\"]\n",
    );
    std::fs::write(&yml, text).unwrap();
    let ls = sluice(&dir, &["ls", "-s", "resource_type:saved_query"]);
    assert_eq!(
        ls.stdout,
        "saved_query:shop_metrics.monthly_revenue\nsaved_query:shop_metrics.revenue_by_region\n",
        "{}",
        ls.stderr
    );
    let ls = sluice(
        &dir,
        &[
            "ls",
            "-s",
            "+saved_query:revenue_by_region",
            "--output",
            "name",
        ],
    );
    assert_eq!(
        ls.stdout, "revenue\ncustomers\norders\nrevenue_by_region\nraw_customers\nraw_orders\norders\n",
        "the saved query's parents: its metric (then its semantic model, as in dbt) and the models its SQL reads"
    );
    let r = sluice(&dir, &["build", "-s", "resource_type:saved_query+"]);
    assert_eq!(r.code, 1, "no model was built yet: {}", r.stdout);
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("NO-OP saved query revenue_by_region ....")
            && r.stdout.contains("[NO-OP in ")
            && r.stdout.contains("2 saved queries, ")
            && r.stdout.contains(" NO-OP=1 "),
        "{}",
        r.stdout
    );
    let results = run_results(&dir);
    let entry = result_of(&results, "saved_query.shop_metrics.revenue_by_region");
    // dbt 1.10's entry for a saved query it does not run.
    for (k, v) in [
        ("status", serde_json::json!("no-op")),
        ("message", serde_json::json!("NO-OP")),
        ("failures", serde_json::json!(0)),
        ("adapter_response", serde_json::json!({})),
        ("compiled", serde_json::Value::Null),
        ("compiled_code", serde_json::Value::Null),
        ("relation_name", serde_json::Value::Null),
    ] {
        assert_eq!(entry[k], v, "{k}");
    }
    // `run` builds models only, as in dbt.
    let r = sluice(&dir, &["run", "-q"]);
    assert_eq!(r.code, 0);
    assert!(!run_results(&dir)
        .iter()
        .any(|r| r["unique_id"].as_str().unwrap().starts_with("saved_query.")));
}

#[test]
fn a_saved_query_that_cannot_be_planned_fails_its_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    let yml = dir.join("models/semantic.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(
        &yml,
        text.replace(
            "metrics: [revenue, order_count]",
            "metrics: [revenue, order_cnt]",
        ),
    )
    .unwrap();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "saved query `monthly_revenue` cannot be planned: unknown metric `order_cnt` \
             (hint: did you mean `order_count`?)"
        ) && r.stdout.contains("ERROR=1 SKIP=0"),
        "{}",
        r.stdout
    );
    // The models it would read are built all the same.
    let results = run_results(&dir);
    assert_eq!(
        result_of(&results, "model.shop_metrics.orders")["status"],
        "success"
    );
}

#[test]
fn a_failing_model_skips_the_saved_queries_that_read_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    std::fs::write(
        dir.join("models/orders.sql"),
        "select no_such_column from {{ ref('raw_orders') }}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("SKIP saved query monthly_revenue ....")
            && r.stdout.contains("ERROR=1 SKIP=1"),
        "{}",
        r.stdout
    );
    let results = run_results(&dir);
    let entry = result_of(&results, "saved_query.shop_metrics.monthly_revenue");
    assert_eq!(entry["status"], "skipped");
}
