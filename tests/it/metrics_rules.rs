//! Validation of the semantic layer: one fixture per MetricFlow rule
//! (`tests/fixtures/metrics_rules/<rule>.yml`, dropped into a small project), each failing `parse`
//! with one diagnostic on the offending YAML line, with a hint, exit code 2. Snapshots of stderr.

use crate::support::{copy_dir, repo, sluice};

fn check(rule: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rules");
    let fixtures = repo().join("tests/fixtures/metrics_rules");
    copy_dir(&fixtures.join("base"), &dir);
    std::fs::copy(
        fixtures.join(format!("{rule}.yml")),
        dir.join("models/semantic.yml"),
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v = sluice(&dir, &["metrics", "validate"]);
    assert_eq!(v.code, r.code, "parse and metrics validate agree");
    (r.code, r.stderr)
}

#[test]
fn valid_layer_passes() {
    let (code, stderr) = check("valid");
    assert_eq!(code, 0, "{stderr}");
}

macro_rules! rules {
    ($($rule:ident),* $(,)?) => {$(
        #[test]
        fn $rule() {
            let (code, stderr) = check(stringify!($rule));
            assert_eq!(code, 2, "{stderr}");
            assert_eq!(stderr.matches("error[").count(), 1, "one diagnostic: {stderr}");
            assert!(stderr.contains("hint: "), "{stderr}");
            assert!(stderr.contains("--> models/semantic.yml:"), "points at the YAML line: {stderr}");
            insta::assert_snapshot!(stderr);
        }
    )*};
}

rules!(
    duplicate_metric,
    duplicate_measure,
    unknown_model,
    two_primary_entities,
    dimensions_without_primary_entity,
    time_dimension_without_granularity,
    measure_without_agg_time_dimension,
    agg_time_dimension_not_time,
    percentile_without_percentile,
    non_additive_dimension_unknown,
    unknown_agg,
    unknown_measure,
    ratio_unknown_metric,
    derived_expr_unknown_input,
    derived_two_offsets,
    cumulative_window_and_grain_to_date,
    conversion_entity_missing,
    reserved_word,
    double_underscore_name,
    filter_unknown_dimension,
    metric_cycle,
    saved_query_unknown_metric,
    metric_without_label,
    constrained_measure_without_alias,
);
