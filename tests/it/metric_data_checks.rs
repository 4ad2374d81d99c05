//! `sluice metrics validate --data` checks that need data: primary entities not unique in the
//! built table, joins that fan out, and dates outside the time spine. Each scenario replaces some
//! seeds of `tests/fixtures/metrics` (`tests/fixtures/metric_data_checks/<scenario>`), builds, and
//! snapshots the diagnostics, on DuckDB and on PostgreSQL.

use crate::support::{copy_dir, repo, sluice};

fn validate_data(engine: &crate::pg_server::Engine, scenario: Option<&str>) -> (i32, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shop");
    copy_dir(&repo().join("tests/fixtures/metrics"), &dir);
    if let Some(s) = scenario {
        copy_dir(
            &repo().join("tests/fixtures/metric_data_checks").join(s),
            &dir,
        );
    }
    engine.write_profile(
        &dir,
        &format!("shop_metrics_{}", scenario.unwrap_or("clean")),
        "main",
        1,
    );
    // The profile name is the project's: point dbt_project.yml at it.
    let project = std::fs::read_to_string(dir.join("dbt_project.yml")).expect("dbt_project.yml");
    std::fs::write(
        dir.join("dbt_project.yml"),
        project.replace(
            "profile: shop_metrics",
            &format!("profile: shop_metrics_{}", scenario.unwrap_or("clean")),
        ),
    )
    .expect("write dbt_project.yml");
    let b = sluice(&dir, &["build", "-q"]);
    assert_eq!(b.code, 0, "{}: {}{}", engine.name(), b.stdout, b.stderr);
    let r = sluice(&dir, &["metrics", "validate", "--data"]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    (r.code, format!("{}{}", r.stdout, r.stderr))
}

#[test]
fn data_checks_find_repeated_keys_fan_out_and_dates_outside_the_spine() {
    crate::pg_server::on_both_engines("metric_data_checks", |engine| {
        let (code, out) = validate_data(engine, None);
        assert_eq!(code, 0, "{}: {out}", engine.name());
        assert!(out.contains("joins do not fan out"), "{out}");
        for scenario in ["not_unique", "fan_out", "second_hop", "outside_spine"] {
            let (code, out) = validate_data(engine, Some(scenario));
            assert_eq!(code, 2, "{} {scenario}: {out}", engine.name());
            insta::assert_snapshot!(format!("data_check_{scenario}"), out);
        }
    });
}
