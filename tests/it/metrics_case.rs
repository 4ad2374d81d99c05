//! MetricFlow reads its YAML enums in any case (`agg: SUM`, `type: SIMPLE`, `type: PRIMARY`,
//! `time_granularity: DAY`, `window: 7 DAYS` ...). `tests/fixtures/metrics_case` holds the
//! semantic layer of `tests/fixtures/metrics` twice, in lower case and capitalised; both must give
//! the artifacts dbt 1.10 gives (which differ only where dbt keeps a value as written, recorded
//! by running dbt on both) and the same query results.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{copy_project, repo, sluice};

/// A parsed copy of the metrics fixture with `variant`'s semantic layer.
fn parsed(variant: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = copy_project(&repo().join("tests/fixtures/metrics"));
    std::fs::copy(
        repo().join(format!("tests/fixtures/metrics_case/{variant}.yml")),
        dir.join("models/semantic.yml"),
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{variant}: {}{}", r.stdout, r.stderr);
    (tmp, dir)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The paths where two JSON values differ, with both values.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                if k == "created_at" {
                    continue;
                }
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => differences(u, v, &p, out),
                    _ => out.push(format!("{p}: only on one side")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}

#[test]
fn capitalised_enums_give_the_artifacts_of_lower_case_ones() {
    let (_t1, lower) = parsed("lower");
    let (_t2, upper) = parsed("upper");

    let mut diff = Vec::new();
    differences(
        &read_json(&lower.join("target/semantic_manifest.json")),
        &read_json(&upper.join("target/semantic_manifest.json")),
        "",
        &mut diff,
    );
    // As in dbt's: the metric's time_granularity as written, every enum in lower case.
    assert_eq!(
        diff,
        [r#".metrics[8].time_granularity: "month" != "MONTH""#]
    );
    let sem = read_json(&upper.join("target/semantic_manifest.json"));
    let orders = &sem["semantic_models"][2];
    assert_eq!(orders["name"], "orders");
    assert_eq!(orders["entities"][0]["type"], "primary");
    assert_eq!(orders["measures"][2]["agg"], "sum_boolean");
    assert_eq!(orders["dimensions"][0]["type"], "time");

    let (lm, um) = (
        read_json(&lower.join("target/manifest.json")),
        read_json(&upper.join("target/manifest.json")),
    );
    let mut diff = Vec::new();
    for section in ["metrics", "semantic_models", "saved_queries"] {
        differences(&lm[section], &um[section], section, &mut diff);
    }
    let m = "metrics.metric.shop_metrics";
    let q = "saved_queries.saved_query.shop_metrics.monthly_revenue.exports";
    assert_eq!(
        diff,
        [
            format!(
                r#"{m}.cumulative_revenue_growth.type_params.metrics[1].offset_to_grain: "month" != "MONTH""#
            ),
            format!(r#"{m}.order_count.time_granularity: "month" != "MONTH""#),
            format!(
                r#"{m}.revenue_mtd.type_params.cumulative_type_params.grain_to_date: "month" != "MONTH""#
            ),
            format!(
                r#"{m}.revenue_mtd_legacy.type_params.cumulative_type_params.grain_to_date: "month" != "MONTH""#
            ),
            format!(r#"{q}[0].unrendered_config.export_as: "table" != "TABLE""#),
            format!(r#"{q}[1].unrendered_config.export_as: "view" != "VIEW""#),
        ]
    );
}

#[test]
fn capitalised_enums_query_the_same_numbers() {
    let metrics = "revenue,paid_orders,p90_order_value,total_balance,revenue_filled,revenue_7d,revenue_mtd,revenue_mtd_legacy,revenue_7d_legacy,revenue_growth,order_count,visit_conversions,visit_to_order_rate";
    let mut results = Vec::new();
    for variant in ["lower", "upper"] {
        let (_tmp, dir) = parsed(variant);
        let r = sluice(&dir, &["build", "-q"]);
        assert_eq!(r.code, 0, "{variant}: {}{}", r.stdout, r.stderr);
        let csv = dir.join("q.csv");
        let r = sluice(
            &dir,
            &[
                "metrics",
                "query",
                "--metrics",
                metrics,
                "--group-by",
                "metric_time__month",
                "--order",
                "metric_time__month",
                "--csv",
                csv.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{variant}: {}{}", r.stdout, r.stderr);
        results.push(std::fs::read_to_string(&csv).unwrap());
    }
    assert!(results[0].lines().count() > 1, "{}", results[0]);
    assert_eq!(results[0], results[1]);
}
