//! The few SQL fragments of a metric query that differ between engines: time truncation,
//! interval arithmetic, casts, percentiles and null-safe equality, for [`Dialect`].
//!
//! Design decision: a handful of free functions over the engine's `crate::sql::SqlDialect`
//! (which holds the engine's text) rather than a second trait: the planner writes ANSI SQL
//! everywhere else, so the engine-specific surface stays small enough to unit-test as text for
//! every dialect.

use super::model::{Agg, AggParams, Grain, Window};
use super::plan_error::PlanError;
use crate::sql::Dialect;

/// `expr` truncated to the start of its `grain` period.
pub(crate) fn date_trunc(d: Dialect, grain: Grain, expr: &str) -> String {
    d.date_trunc(grain.as_str(), expr)
}

/// `expr` moved back by `w`.
pub(crate) fn minus_interval(d: Dialect, expr: &str, w: Window) -> String {
    d.minus_interval(expr, u64::from(w.count), w.grain.as_str())
}

pub(crate) fn cast_double(d: Dialect, expr: &str) -> String {
    format!("cast({expr} as {})", d.double_type())
}

/// The join condition between two group-by keys. Plain `=`, as MetricFlow writes it: Postgres
/// cannot run a full outer join on `is not distinct from`, so rows whose key is null stay apart.
pub(crate) fn same(_d: Dialect, a: &str, b: &str) -> String {
    format!("{a} = {b}")
}

/// The aggregate of a measure over the column `col`.
pub(crate) fn aggregate(
    d: Dialect,
    agg: Agg,
    params: Option<&AggParams>,
    col: &str,
) -> Result<String, PlanError> {
    Ok(match agg {
        Agg::Sum => format!("sum({col})"),
        Agg::Max => format!("max({col})"),
        Agg::Min => format!("min({col})"),
        Agg::Count => format!("count({col})"),
        Agg::CountDistinct => format!("count(distinct {col})"),
        Agg::SumBoolean => format!("sum(cast({col} as integer))"),
        Agg::Average => format!("avg({col})"),
        Agg::Median => format!("percentile_cont(0.5) within group (order by {col})"),
        Agg::Percentile => {
            let p = params.cloned().unwrap_or_default();
            let q = p.percentile.unwrap_or(0.5);
            if p.use_approximate_percentile {
                match d.approximate_percentile(col, q) {
                    Some(sql) => sql,
                    None => {
                        return Err(PlanError::new(
                            format!("{} has no approximate percentile", d.display_name()),
                            "set `use_approximate_percentile: false` for this measure",
                        ))
                    }
                }
            } else if p.use_discrete_percentile {
                format!("percentile_disc({q}) within group (order by {col})")
            } else {
                format!("percentile_cont({q}) within group (order by {col})")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::duckdb::DIALECT as DUCKDB;
    use crate::adapters::postgres::DIALECT as POSTGRES;

    #[test]
    fn postgres_and_duckdb_fragments() {
        let w = Window {
            count: 7,
            grain: Grain::Day,
        };
        assert_eq!(
            date_trunc(DUCKDB, Grain::Month, "d"),
            "date_trunc('month', d)"
        );
        assert_eq!(
            date_trunc(POSTGRES, Grain::Month, "d"),
            "cast(date_trunc('month', cast(d as timestamp)) as date)"
        );
        assert_eq!(
            minus_interval(POSTGRES, "s.ds", w),
            "cast(s.ds - interval '7 day' as date)"
        );
        assert_eq!(minus_interval(DUCKDB, "s.ds", w), "s.ds - interval '7 day'");
        assert_eq!(cast_double(POSTGRES, "x"), "cast(x as double precision)");
        assert_eq!(
            aggregate(POSTGRES, Agg::SumBoolean, None, "m").unwrap(),
            "sum(cast(m as integer))"
        );
        let p = AggParams {
            percentile: Some(0.9),
            use_discrete_percentile: false,
            use_approximate_percentile: true,
        };
        assert_eq!(
            aggregate(DUCKDB, Agg::Percentile, Some(&p), "m").unwrap(),
            "approx_quantile(m, 0.9)"
        );
        assert!(aggregate(POSTGRES, Agg::Percentile, Some(&p), "m").is_err());
        assert_eq!(
            aggregate(POSTGRES, Agg::Median, None, "m").unwrap(),
            "percentile_cont(0.5) within group (order by m)"
        );
    }
}
