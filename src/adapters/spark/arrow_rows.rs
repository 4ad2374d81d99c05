//! Spark's answers, Arrow record batches, as the rows of JSON values every engine's queries
//! return: numbers stay numbers (decimals at their scale), dates and timestamps become the text
//! Spark shows for them, in the session's time zone.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use serde_json::Value;

use super::super::{CellKind, QueryResult};

/// Arrow batches as rows of JSON values (numbers stay numbers, temporal values ISO text).
pub(super) fn to_result(batches: &[RecordBatch]) -> QueryResult {
    let Some(first) = batches.first() else {
        return QueryResult::default();
    };
    let schema = first.schema();
    let column_names = schema.fields().iter().map(|f| f.name().clone()).collect();
    let kinds = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Date32 | DataType::Date64 => CellKind::Date,
            // Spark's `timestamp` is wall-clock time in the session's time zone (Arrow carries
            // it as UTC instants with that zone): shown as Spark shows it, without an offset.
            DataType::Timestamp(..) => CellKind::Timestamp,
            _ => CellKind::Plain,
        })
        .collect();
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|col| cell(col.as_ref(), r))
                    .collect(),
            );
        }
    }
    QueryResult {
        column_names,
        rows,
        kinds,
    }
}

/// One Arrow value as JSON.
fn cell(col: &dyn Array, r: usize) -> Value {
    use arrow::datatypes::*;
    if col.is_null(r) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_boolean().value(r)),
        DataType::Int8 => Value::from(col.as_primitive::<Int8Type>().value(r)),
        DataType::Int16 => Value::from(col.as_primitive::<Int16Type>().value(r)),
        DataType::Int32 => Value::from(col.as_primitive::<Int32Type>().value(r)),
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(r)),
        DataType::Float32 => float(f64::from(col.as_primitive::<Float32Type>().value(r))),
        DataType::Float64 => float(col.as_primitive::<Float64Type>().value(r)),
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(r).to_string()),
        DataType::LargeUtf8 => Value::String(col.as_string::<i64>().value(r).to_string()),
        DataType::Decimal128(_, scale) => {
            let v = col.as_primitive::<Decimal128Type>().value(r);
            decimal(v, *scale)
        }
        DataType::Date32 => {
            let days = col.as_primitive::<Date32Type>().value(r);
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let d = epoch + chrono::Duration::days(i64::from(days));
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        DataType::Timestamp(unit, tz) => {
            let n = match unit {
                TimeUnit::Second => col.as_primitive::<TimestampSecondType>().value(r) * 1_000_000,
                TimeUnit::Millisecond => {
                    col.as_primitive::<TimestampMillisecondType>().value(r) * 1_000
                }
                TimeUnit::Microsecond => col.as_primitive::<TimestampMicrosecondType>().value(r),
                TimeUnit::Nanosecond => {
                    col.as_primitive::<TimestampNanosecondType>().value(r) / 1_000
                }
            };
            let utc = chrono::DateTime::from_timestamp_micros(n).unwrap_or_default();
            let t = match tz.as_deref().map(str::parse::<chrono_tz::Tz>) {
                Some(Ok(zone)) => utc.with_timezone(&zone).naive_local(),
                _ => utc.naive_utc(),
            };
            Value::String(t.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
        _ => {
            let options = arrow::util::display::FormatOptions::default();
            match arrow::util::display::ArrayFormatter::try_new(col, &options) {
                Ok(f) => Value::String(f.value(r).to_string()),
                Err(_) => Value::Null,
            }
        }
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(f.to_string()))
}

/// A decimal as a JSON number (`1250` at scale 2 is 12.5), as the other engines give it.
fn decimal(v: i128, scale: i8) -> Value {
    let text = match scale {
        s if s <= 0 => (v * 10i128.pow(u32::from(s.unsigned_abs()))).to_string(),
        s => {
            let s = s as usize;
            let digits = v.unsigned_abs().to_string();
            let digits = format!("{digits:0>width$}", width = s + 1);
            let (int, frac) = digits.split_at(digits.len() - s);
            format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
        }
    };
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_are_numbers_at_their_scale() {
        assert_eq!(decimal(1250, 2).to_string(), "12.5");
        assert_eq!(decimal(-5, 3).to_string(), "-0.005");
        assert_eq!(decimal(7, 0).to_string(), "7");
    }
}
