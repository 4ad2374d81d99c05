//! Unit tests of the typed definitions: dbt's shorthand forms and MetricFlow's case-insensitive
//! enums. A sibling file of `model.rs` so the definitions read without scrolling past them.

use super::*;

#[test]
fn shorthand_forms() {
    assert_eq!(
        Window::parse("7 days"),
        Some(Window {
            count: 7,
            grain: Grain::Day
        })
    );
    assert_eq!(Window::parse("seven days"), None);
    assert_eq!(parse_ref("ref('fct_mrr')").as_deref(), Some("fct_mrr"));
    assert_eq!(parse_ref("ref(\"pkg\", \"x\")").as_deref(), Some("x"));
    assert_eq!(parse_ref("fct_mrr"), None);
    let m: Metric = serde_json::from_value(serde_json::json!({
        "name": "r", "type": "ratio",
        "type_params": {"numerator": "a", "denominator": {"name": "b", "filter": "x = 1"}}
    }))
    .unwrap();
    assert_eq!(m.type_params.numerator.unwrap().name, "a");
    assert_eq!(m.type_params.denominator.unwrap().filter, vec!["x = 1"]);
    let e = serde_json::from_value::<Measure>(serde_json::json!({"name": "m", "agg": "summ"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `summ`"), "{e}");
}

#[test]
fn enums_are_read_in_any_case_as_metricflow_reads_them() {
    let sm: SemanticModel = serde_json::from_value(serde_json::json!({
        "name": "s", "model": "ref('x')",
        "entities": [
            {"name": "a", "type": "PRIMARY"}, {"name": "b", "type": "Unique"},
            {"name": "c", "type": "NATURAL"}, {"name": "d", "type": "foreign"},
        ],
        "dimensions": [
            {"name": "t", "type": "TIME", "type_params": {"time_granularity": "DAY"}},
            {"name": "k", "type": "Categorical"},
        ],
        "measures": [{"name": "m", "agg": "COUNT_DISTINCT",
                      "non_additive_dimension": {"name": "t", "window_choice": "MIN"}}],
    }))
    .unwrap();
    let kinds: Vec<EntityType> = sm.entities.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntityType::Primary,
            EntityType::Unique,
            EntityType::Natural,
            EntityType::Foreign
        ]
    );
    assert_eq!(sm.dimensions[0].kind, DimensionType::Time);
    assert_eq!(sm.dimensions[0].grain(), Some(Grain::Day));
    assert_eq!(sm.dimensions[1].kind, DimensionType::Categorical);
    assert_eq!(sm.measures[0].agg, Agg::CountDistinct);
    assert_eq!(
        sm.measures[0]
            .non_additive_dimension
            .as_ref()
            .unwrap()
            .window_choice,
        WindowChoice::Min
    );
    let m: Metric = serde_json::from_value(serde_json::json!({
        "name": "c", "type": "CONVERSION", "time_granularity": "MONTH",
        "type_params": {"conversion_type_params": {
            "base_measure": "a", "conversion_measure": "b", "entity": "e",
            "calculation": "CONVERSION_RATE", "window": "7 DAYS"}},
    }))
    .unwrap();
    assert_eq!(m.kind, MetricType::Conversion);
    let c = m.type_params.conversion_type_params.as_ref().unwrap();
    assert_eq!(c.calculation, ConversionCalculation::ConversionRate);
    assert_eq!(
        c.window,
        Some(Window {
            count: 7,
            grain: Grain::Day
        })
    );
    let g = m.time_granularity.unwrap();
    assert_eq!((g.grain, g.written.as_str()), (Grain::Month, "MONTH"));
    let m: Metric = serde_json::from_value(serde_json::json!({
        "name": "c", "type": "Cumulative",
        "type_params": {"measure": {"name": "m", "join_to_timespine": true},
                        "cumulative_type_params": {"grain_to_date": "Month", "period_agg": "AVERAGE"}},
    }))
    .unwrap();
    assert_eq!(m.kind, MetricType::Cumulative);
    assert_eq!(m.grain_to_date(), Some(Grain::Month));
    assert_eq!(m.grain_to_date_text().unwrap().written, "Month");
    assert_eq!(m.period_agg(), PeriodAgg::Average);
    let e = serde_json::from_value::<Measure>(serde_json::json!({"name": "m", "agg": "SUMM"}))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown variant `SUMM`, expected one of `sum`"),
        "{e}"
    );
    let e = serde_json::from_value::<MetricInput>(
        serde_json::json!({"name": "m", "offset_to_grain": "fortnight"}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown time granularity `fortnight`"), "{e}");
}
