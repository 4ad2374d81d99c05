//! The latest semantic layer spec (semantics on the model) against the legacy spec, and joins two
//! entities away. `tests/fixtures/metrics_spec` is the shop of `metrics.rs` with its semantics in
//! `variants/latest.yml` (on the models: `semantic_model`, column `entity:` / `dimension:`,
//! `derived_semantics`, `metrics:` under the model, type_params-free top-level metrics) and, the
//! same definitions, in `variants/legacy.yml`; each test copies one variant into `models/`.
//! Expected numbers are computed by hand from the seeds (arithmetic in the comments).

use std::path::{Path, PathBuf};

use crate::pg_server::{on_both_engines, Engine};
use crate::support::{copy_dir, repo, sluice};

/// A copy of the fixture with `variant`'s semantics, built (on DuckDB unless a profile is given).
fn project(variant: &str, engine: Option<&Engine>) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    let fixture = repo().join("tests/fixtures/metrics_spec");
    copy_dir(&fixture, &dir);
    std::fs::copy(
        fixture.join(format!("variants/{variant}.yml")),
        dir.join("models/semantic.yml"),
    )
    .unwrap();
    if let Some(e) = engine {
        e.write_profile(&dir, "shop_spec", "analytics", 2);
    }
    let r = sluice(&dir, &["build", "-q"]);
    assert_eq!(r.code, 0, "{variant}: {}{}", r.stdout, r.stderr);
    (tmp, dir)
}

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

/// A metric query's rows (through `--csv`, so on Postgres too).
fn query(dir: &Path, args: &[&str]) -> Vec<Vec<String>> {
    let out = dir.join("q.csv");
    let mut a = vec!["metrics", "query", "--csv", out.to_str().unwrap()];
    a.extend_from_slice(args);
    let r = sluice(dir, &a);
    assert_eq!(r.code, 0, "{a:?}: {}", r.stderr);
    let mut reader = csv::Reader::from_path(&out).unwrap();
    reader
        .records()
        .map(|rec| rec.unwrap().iter().map(norm).collect())
        .collect()
}

fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Queries over every kind of definition the fixture has, with their hand-computed rows.
/// Orders (id, customer, day, amount, paid): 1 c1 01-01 10 y, 2 c1 01-03 20 n, 3 c2 01-03 30 y,
/// 4 c3 01-10 40 y, 5 c2 02-01 50 y, 6 c3 02-15 60 n, 7 c1 03-31 70 y. Customers: c1 EU smb,
/// c2 EU enterprise, c3 US smb. Regions: EU alice, US bob.
fn cases() -> Vec<(Vec<&'static str>, Vec<Vec<String>>)> {
    vec![
        (
            // Jan: 10+20+30+40 = 100 over 4 orders by {c1,c2,c3}, paid 10+30+40 = 80, 100/4 = 25;
            // Feb: 50+60 = 110 over 2 by {c2,c3}, paid 50, 55; Mar: 70, 1, {c1}, 70, 70.
            vec![
                "--metrics",
                "revenue,order_count,customers_ordering,paid_revenue,average_order_value",
                "--group-by",
                "metric_time__month",
            ],
            rows(&[
                &["2025-01-01", "100", "4", "3", "80", "25"],
                &["2025-02-01", "110", "2", "2", "50", "55"],
                &["2025-03-01", "70", "1", "1", "70", "70"],
            ]),
        ),
        (
            // Segment (renamed column) and a derived dimension (>= 50 is large):
            // enterprise c2: large 50, small 30; smb c1+c3: large 60+70 = 130, small 10+20+40.
            // Discrete p90: of [50] 50, [30] 30, [60,70] 70, [10,20,40] 40.
            vec![
                "--metrics",
                "revenue,p90_order_value",
                "--group-by",
                "customer__customer_segment,purchase__order_size",
            ],
            rows(&[
                &["enterprise", "large", "50", "50"],
                &["enterprise", "small", "30", "30"],
                &["smb", "large", "130", "70"],
                &["smb", "small", "70", "40"],
            ]),
        ),
        (
            // Two hops: orders -> shoppers (customer) -> regions (sales_region). EU (alice):
            // c1+c2 = 10+20+30+50+70 = 180; US (bob): c3 = 40+60 = 100.
            vec![
                "--metrics",
                "revenue",
                "--group-by",
                "customer__sales_region__manager,customer__region_name",
            ],
            rows(&[&["alice", "EU", "180"], &["bob", "US", "100"]]),
        ),
        (
            // Month to date on the first day of each month (the order days): Jan 1 = 10,
            // Feb 1 = 50, Mar: only Mar 31 = 70. Growth: Feb 110-100, Mar 70-110.
            vec![
                "--metrics",
                "revenue_mtd,revenue_growth",
                "--group-by",
                "metric_time__month",
            ],
            rows(&[
                &["2025-01-01", "10", ""],
                &["2025-02-01", "50", "10"],
                &["2025-03-01", "70", "-40"],
            ]),
        ),
        (
            // A filter on a dimension two hops away: bob's orders only (c3: 40 in Jan, 60 in Feb).
            vec![
                "--metrics",
                "revenue",
                "--group-by",
                "metric_time__month",
                "--where",
                "{{ Dimension('customer__sales_region__manager') }} = 'bob'",
            ],
            rows(&[&["2025-01-01", "40"], &["2025-02-01", "60"]]),
        ),
        (
            // The same filter in MetricFlow's form: the first hop as `entity_path`.
            vec![
                "--metrics",
                "revenue",
                "--group-by",
                "metric_time__month",
                "--where",
                "{{ Dimension('sales_region__manager', entity_path=['customer']) }} = 'bob'",
            ],
            rows(&[&["2025-01-01", "40"], &["2025-02-01", "60"]]),
        ),
        (
            // A metric defined on another model of the latest spec, by its own dimension.
            vec![
                "--metrics",
                "customer_count",
                "--group-by",
                "sales_region__manager",
            ],
            rows(&[&["alice", "2"], &["bob", "1"]]),
        ),
    ]
}

#[test]
fn latest_and_legacy_specs_give_the_same_layer() {
    let (_a, latest) = project("latest", None);
    let (_b, legacy) = project("legacy", None);
    let manifest = |dir: &Path| {
        let r = sluice(dir, &["parse", "-q"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read_to_string(dir.join("target/semantic_manifest.json")).unwrap()
    };
    let m = manifest(&latest);
    assert!(m.contains("\"name\": \"shoppers\""), "{m}");
    assert_eq!(m, manifest(&legacy), "semantic_manifest.json differs");
    // manifest.json lists the same semantic models and metrics (in dbt's node shape).
    let listed = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("target/manifest.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The two parses ran at different times.
        for section in ["semantic_models", "metrics"] {
            for entry in v[section].as_object_mut().unwrap().values_mut() {
                entry.as_object_mut().unwrap().shift_remove("created_at");
            }
        }
        (v["semantic_models"].clone(), v["metrics"].clone())
    };
    let (sms, metrics) = listed(&latest);
    assert_eq!(sms.as_object().unwrap().len(), 4);
    assert_eq!(metrics.as_object().unwrap().len(), 9);
    assert_eq!((sms, metrics), listed(&legacy));
    for what in ["metrics", "dimensions", "entities"] {
        let list = |dir: &Path| sluice(dir, &["metrics", "list", what]).stdout;
        assert_eq!(list(&latest), list(&legacy), "metrics list {what}");
    }
    for (args, expected) in cases() {
        assert_eq!(query(&latest, &args), expected, "latest spec: {args:?}");
        assert_eq!(query(&legacy, &args), expected, "legacy spec: {args:?}");
    }
}

#[test]
fn joins_two_entities_away_on_both_engines() {
    on_both_engines("joins_two_entities_away", |engine| {
        let (_tmp, dir) = project("latest", Some(engine));
        for (args, expected) in cases() {
            assert_eq!(query(&dir, &args), expected, "{}: {args:?}", engine.name());
        }
        // Each hop refuses a join on an entity that is not a key of the model joined to.
        let refused = |args: &[&str]| {
            let mut a = vec!["metrics", "query"];
            a.extend_from_slice(args);
            let r = sluice(&dir, &a);
            assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
            r.stderr
        };
        // Second hop: region_targets has several rows per region.
        let second = refused(&[
            "--metrics",
            "revenue",
            "--group-by",
            "customer__sales_region__quarter_label",
        ]);
        assert!(
            second.contains(
                "joining `shoppers` to `region_targets` on `sales_region` would fan out: \
                 `sales_region` is foreign in `region_targets`"
            ),
            "{second}"
        );
        // First hop: from shoppers, `customer` is foreign in orders (many orders per customer).
        let first = refused(&[
            "--metrics",
            "customer_count",
            "--group-by",
            "customer__purchase__is_paid",
        ]);
        assert!(
            first.contains(
                "joining `shoppers` to `orders` on `customer` would fan out: `customer` is \
                 foreign in `orders`"
            ),
            "{first}"
        );
        if matches!(engine, Engine::DuckDb) {
            insta::assert_snapshot!("second_hop_fan_out", second);
            insta::assert_snapshot!("first_hop_fan_out", first);
        }
    });
}

#[test]
fn latest_spec_errors_point_at_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    let fixture = repo().join("tests/fixtures/metrics_spec");
    copy_dir(&fixture, &dir);
    let text = std::fs::read_to_string(fixture.join("variants/latest.yml")).unwrap();
    // The shoppers' metric loses its time dimension.
    let text = text.replace("    agg_time_dimension: signed_up_at\n", "");
    std::fs::write(dir.join("models/semantic.yml"), text).unwrap();
    let r = sluice(&dir, &["metrics", "validate"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    insta::assert_snapshot!(r.stderr);
    // A typo in a column's entity type points at the value.
    let text = std::fs::read_to_string(fixture.join("variants/latest.yml")).unwrap();
    let text = text.replacen(
        "type: foreign\n          name: customer",
        "type: foriegn\n          name: customer",
        1,
    );
    std::fs::write(dir.join("models/semantic.yml"), text).unwrap();
    let r = sluice(&dir, &["metrics", "validate"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    insta::assert_snapshot!("latest_spec_bad_entity_type", r.stderr);
}
