//! The few SQL fragments of a metric query that differ between engines: time truncation,
//! interval arithmetic, casts, percentiles and null-safe equality, for [`Dialect`].
//!
//! Design decision: a handful of free functions over the existing `crate::sql::Dialect` enum
//! rather than a second trait: the planner writes ANSI SQL everywhere else, so the engine-specific
//! surface stays small enough to unit-test as text for every dialect (Postgres included, before its
//! adapter lands).

use super::model::{Agg, AggParams, Grain, Window};
use super::plan::PlanError;
use crate::sql::Dialect;

/// `expr` truncated to the start of its `grain` period.
pub fn date_trunc(d: Dialect, grain: Grain, expr: &str) -> String {
    match d {
        Dialect::DuckDb => format!("date_trunc('{}', {expr})", grain.as_str()),
        // Postgres' date_trunc on a date returns a timestamptz: compute on a timestamp, keep a date.
        Dialect::Postgres => format!(
            "cast(date_trunc('{}', cast({expr} as timestamp)) as date)",
            grain.as_str()
        ),
    }
}

/// `expr` moved back by `w`.
pub fn minus_interval(d: Dialect, expr: &str, w: Window) -> String {
    match d {
        Dialect::DuckDb => format!("{expr} - interval '{} {}'", w.count, w.grain.as_str()),
        Dialect::Postgres => format!(
            "cast({expr} - interval '{} {}' as date)",
            w.count,
            w.grain.as_str()
        ),
    }
}

pub fn cast_double(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::DuckDb => format!("cast({expr} as double)"),
        Dialect::Postgres => format!("cast({expr} as double precision)"),
    }
}

/// The join condition between two group-by keys. Plain `=`, as MetricFlow writes it: Postgres
/// cannot run a full outer join on `is not distinct from`, so rows whose key is null stay apart.
pub fn same(_d: Dialect, a: &str, b: &str) -> String {
    format!("{a} = {b}")
}

/// The aggregate of a measure over the column `col`.
pub fn aggregate(
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
                match d {
                    Dialect::DuckDb => format!("approx_quantile({col}, {q})"),
                    Dialect::Postgres => {
                        return Err(PlanError::new(
                            "Postgres has no approximate percentile",
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

    #[test]
    fn postgres_and_duckdb_fragments() {
        let w = Window {
            count: 7,
            grain: Grain::Day,
        };
        assert_eq!(
            date_trunc(Dialect::DuckDb, Grain::Month, "d"),
            "date_trunc('month', d)"
        );
        assert_eq!(
            date_trunc(Dialect::Postgres, Grain::Month, "d"),
            "cast(date_trunc('month', cast(d as timestamp)) as date)"
        );
        assert_eq!(
            minus_interval(Dialect::Postgres, "s.ds", w),
            "cast(s.ds - interval '7 day' as date)"
        );
        assert_eq!(
            minus_interval(Dialect::DuckDb, "s.ds", w),
            "s.ds - interval '7 day'"
        );
        assert_eq!(
            cast_double(Dialect::Postgres, "x"),
            "cast(x as double precision)"
        );
        assert_eq!(
            aggregate(Dialect::Postgres, Agg::SumBoolean, None, "m").unwrap(),
            "sum(cast(m as integer))"
        );
        let p = AggParams {
            percentile: Some(0.9),
            use_discrete_percentile: false,
            use_approximate_percentile: true,
        };
        assert_eq!(
            aggregate(Dialect::DuckDb, Agg::Percentile, Some(&p), "m").unwrap(),
            "approx_quantile(m, 0.9)"
        );
        assert!(aggregate(Dialect::Postgres, Agg::Percentile, Some(&p), "m").is_err());
        assert_eq!(
            aggregate(Dialect::Postgres, Agg::Median, None, "m").unwrap(),
            "percentile_cont(0.5) within group (order by m)"
        );
    }
}
