//! The `metrics:` entry ([`Metric`]) and what its `type_params` hold: the type, the measure it
//! reads ([`MeasureInput`]), the metrics a ratio or derived metric reads ([`MetricInput`]), and
//! the cumulative and conversion parameters, with the deserialisers of their shorthand forms.
//!
//! Split from `model.rs` (which re-exports everything here) because a metric's definition is a
//! group of its own: semantic models and saved queries do not use these types.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{filters, Grain, GrainText, Origin, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricType {
    Simple,
    Ratio,
    Derived,
    Cumulative,
    Conversion,
}

case_insensitive_enum!(MetricType { Simple => "simple", Ratio => "ratio", Derived => "derived", Cumulative => "cumulative", Conversion => "conversion" });

/// The measure of a simple, cumulative or conversion metric (`measure: name` or a mapping).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeasureInput {
    pub(crate) name: String,
    #[serde(default, deserialize_with = "filters")]
    pub(crate) filter: Vec<String>,
    pub(crate) alias: Option<String>,
    #[serde(default)]
    pub(crate) join_to_timespine: bool,
    pub(crate) fill_nulls_with: Option<Value>,
}

fn measure_input<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MeasureInput>, D::Error> {
    name_or_mapping(d, |name| MeasureInput {
        name,
        ..Default::default()
    })
}

/// An input given as a bare name or as a mapping: `T` from the name, or deserialised from the
/// mapping (its errors kept as the message).
fn name_or_mapping<'de, D, T>(
    d: D,
    from_name: impl FnOnce(String) -> T,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => Ok(Some(from_name(name))),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A metric used by a ratio or derived metric (`name` or a mapping with filter, alias, offset).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricInput {
    pub(crate) name: String,
    #[serde(default, deserialize_with = "filters")]
    pub(crate) filter: Vec<String>,
    pub(crate) alias: Option<String>,
    pub(crate) offset_window: Option<Window>,
    pub(crate) offset_to_grain: Option<GrainText>,
}

impl MetricInput {
    /// The column name the input is known by in a derived expression.
    pub(crate) fn column(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

fn metric_input<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MetricInput>, D::Error> {
    name_or_mapping(d, |name| MetricInput {
        name,
        ..Default::default()
    })
}

/// A derived metric's `metrics:`, each a bare name or a mapping (as dbt accepts both).
fn metric_inputs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MetricInput>, D::Error> {
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .filter_map(|v| metric_input(v).transpose())
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PeriodAgg {
    #[default]
    First,
    Last,
    Average,
}

case_insensitive_enum!(PeriodAgg { First => "first", Last => "last", Average => "average" });

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CumulativeParams {
    pub(crate) window: Option<Window>,
    pub(crate) grain_to_date: Option<GrainText>,
    pub(crate) period_agg: Option<PeriodAgg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ConversionCalculation {
    Conversions,
    #[default]
    ConversionRate,
}

case_insensitive_enum!(ConversionCalculation { Conversions => "conversions", ConversionRate => "conversion_rate" });

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConstantProperty {
    pub(crate) base_property: String,
    pub(crate) conversion_property: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConversionParams {
    #[serde(deserialize_with = "measure_input")]
    pub(crate) base_measure: Option<MeasureInput>,
    #[serde(deserialize_with = "measure_input")]
    pub(crate) conversion_measure: Option<MeasureInput>,
    pub(crate) entity: String,
    #[serde(default)]
    pub(crate) calculation: ConversionCalculation,
    pub(crate) window: Option<Window>,
    #[serde(default)]
    pub(crate) constant_properties: Vec<ConstantProperty>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricTypeParams {
    #[serde(default, deserialize_with = "measure_input")]
    pub(crate) measure: Option<MeasureInput>,
    #[serde(default, deserialize_with = "metric_input")]
    pub(crate) numerator: Option<MetricInput>,
    #[serde(default, deserialize_with = "metric_input")]
    pub(crate) denominator: Option<MetricInput>,
    pub(crate) expr: Option<Value>,
    #[serde(default, deserialize_with = "metric_inputs")]
    pub(crate) metrics: Vec<MetricInput>,
    /// Legacy places of the cumulative parameters.
    pub(crate) window: Option<Window>,
    pub(crate) grain_to_date: Option<GrainText>,
    pub(crate) cumulative_type_params: Option<CumulativeParams>,
    pub(crate) conversion_type_params: Option<ConversionParams>,
}

/// A `metrics:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metric {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: MetricType,
    #[serde(default)]
    pub(crate) type_params: MetricTypeParams,
    pub(crate) label: Option<String>,
    pub(crate) description: Option<String>,
    #[serde(default, deserialize_with = "filters")]
    pub(crate) filter: Vec<String>,
    pub(crate) time_granularity: Option<GrainText>,
    pub(crate) config: Option<Value>,
    pub(crate) meta: Option<Value>,
    pub(crate) tags: Option<Value>,
    /// Metric tests (`data_tests:`): accepted here (`deny_unknown_fields` would refuse the key),
    /// compiled from the YAML itself by [`crate::metrics::data_tests`].
    #[serde(rename = "data_tests")]
    pub(crate) _data_tests: Option<Value>,
    #[serde(skip)]
    pub(crate) origin: Origin,
}

impl Metric {
    fn cumulative(&self) -> Option<&CumulativeParams> {
        self.type_params.cumulative_type_params.as_ref()
    }
    /// Window of a cumulative metric (nested or legacy place).
    pub(crate) fn window(&self) -> Option<Window> {
        self.cumulative()
            .and_then(|c| c.window)
            .or(self.type_params.window)
    }
    pub(crate) fn grain_to_date(&self) -> Option<Grain> {
        self.grain_to_date_text().map(|g| g.grain)
    }
    /// The cumulative `grain_to_date` as written (nested or legacy place).
    pub(crate) fn grain_to_date_text(&self) -> Option<&GrainText> {
        self.cumulative()
            .and_then(|c| c.grain_to_date.as_ref())
            .or(self.type_params.grain_to_date.as_ref())
    }
    pub(crate) fn period_agg(&self) -> PeriodAgg {
        self.cumulative()
            .and_then(|c| c.period_agg)
            .unwrap_or_default()
    }
    /// The expression of a derived metric.
    pub(crate) fn expr(&self) -> Option<String> {
        match &self.type_params.expr {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(v) => Some(v.to_string()),
        }
    }
    /// The measures this metric reads itself: its measure, then a conversion's base and
    /// conversion measures.
    pub(crate) fn own_measures(&self) -> impl Iterator<Item = &MeasureInput> {
        let tp = &self.type_params;
        tp.measure.iter().chain(
            tp.conversion_type_params
                .iter()
                .flat_map(|c| c.base_measure.iter().chain(c.conversion_measure.iter())),
        )
    }
    /// The metrics this one is built from (ratio and derived).
    pub(crate) fn input_metrics(&self) -> Vec<&MetricInput> {
        let tp = &self.type_params;
        match self.kind {
            MetricType::Ratio => tp.numerator.iter().chain(tp.denominator.iter()).collect(),
            MetricType::Derived => tp.metrics.iter().collect(),
            _ => vec![],
        }
    }
}
