//! Typed semantic-layer definitions: semantic models (entities, dimensions, measures), metrics of
//! every type, saved queries and the time spine, read from the properties YAML.
//!
//! Design decision: definitions are deserialised with serde from the already-parsed YAML values,
//! with small custom deserialisers for dbt's shorthand forms (`offset_window: 1 month`, a ratio
//! `numerator:` given as a bare name, `filter:` as one string or a list). serde rejects unknown
//! `agg`/`type` values with a message that lists the valid ones, which is exactly the hint a user
//! needs; the caller turns that message into a diagnostic on the entry's YAML line. An `Option`
//! field that may be left out needs no `#[serde(default)]`: serde reads a missing one as `None`.
//!
//! The types of a `metrics:` entry are in `model/metric.rs` (re-exported here), the unit tests
//! in `model/tests.rs`.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An enum read case-insensitively, as MetricFlow reads its YAML (`agg: SUM`, `type: SIMPLE`,
/// `type: PRIMARY`; dbt-semantic-interfaces' `ExtendedEnum._missing_`): `from_name` takes any
/// case, and an unknown value is serde's "unknown variant" error listing the valid names.
macro_rules! case_insensitive_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The names MetricFlow writes, lower case.
            pub(crate) const NAMES: &'static [&'static str] = &[$($name),+];
            /// The value named `s`, in any case.
            pub(crate) fn from_name(s: &str) -> Option<Self> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::from_name(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, $ty::NAMES))
            }
        }
    };
}

/// Where a definition was written: the YAML file and the line of its `name:`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
}

/// A time granularity, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Grain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Grain {
    pub(crate) const ALL: [Grain; 5] = [
        Grain::Day,
        Grain::Week,
        Grain::Month,
        Grain::Quarter,
        Grain::Year,
    ];
    pub(crate) fn parse(s: &str) -> Option<Grain> {
        match s.trim().to_ascii_lowercase().trim_end_matches('s') {
            "day" => Some(Grain::Day),
            "week" => Some(Grain::Week),
            "month" => Some(Grain::Month),
            "quarter" => Some(Grain::Quarter),
            "year" => Some(Grain::Year),
            _ => None,
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Grain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Grain::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown time granularity `{s}`, expected one of day, week, month, quarter, year"
            ))
        })
    }
}

/// A granularity and its text as written (`MONTH`): dbt's `manifest.json` keeps a few of them as
/// written (a metric's `time_granularity`, an input's `offset_to_grain`, the cumulative
/// `grain_to_date`), and the semantic manifest the metric's `time_granularity`; elsewhere the
/// lower-case name is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrainText {
    pub(crate) grain: Grain,
    pub(crate) written: String,
}

impl From<Grain> for GrainText {
    fn from(grain: Grain) -> Self {
        GrainText {
            grain,
            written: grain.as_str().to_string(),
        }
    }
}

impl fmt::Display for GrainText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.grain.fmt(f)
    }
}

impl<'de> Deserialize<'de> for GrainText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let written = String::deserialize(d)?;
        let grain =
            Grain::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&written))?;
        Ok(GrainText { grain, written })
    }
}

/// `7 days`, `1 month`: a count of grains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) count: u32,
    pub(crate) grain: Grain,
}

impl Window {
    pub(crate) fn parse(s: &str) -> Option<Window> {
        let mut parts = s.split_whitespace();
        let count = parts.next()?.parse().ok()?;
        let grain = Grain::parse(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Window { count, grain })
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let parsed = match &v {
            Value::String(s) => Window::parse(s),
            Value::Object(m) => {
                let count = m.get("count").and_then(Value::as_u64);
                let grain = m
                    .get("granularity")
                    .and_then(Value::as_str)
                    .and_then(Grain::parse);
                count.zip(grain).and_then(|(c, g)| {
                    u32::try_from(c)
                        .ok()
                        .map(|count| Window { count, grain: g })
                })
            }
            _ => None,
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid window `{}`, expected `<count> <granularity>` like `7 days`",
                match &v {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                }
            ))
        })
    }
}

/// One or more `where` templates (`filter: "..."` or `filter: ["...", "..."]`).
fn filters<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::Object(m)) => match m.get("where_filters") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| {
                    x.get("where_sql_template")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect(),
            _ => vec![],
        },
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "`filter` must be a string or a list of strings, not {other}"
            )))
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityType {
    Primary,
    Unique,
    Foreign,
    Natural,
}

case_insensitive_enum!(EntityType { Primary => "primary", Unique => "unique", Foreign => "foreign", Natural => "natural" });

impl EntityType {
    /// At most one row per value: joining to it cannot fan out.
    pub(crate) fn is_unique(self) -> bool {
        matches!(
            self,
            EntityType::Primary | EntityType::Unique | EntityType::Natural
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entity {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: EntityType,
    pub(crate) expr: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) config: Option<Value>,
    pub(crate) meta: Option<Value>,
}

impl Entity {
    pub(crate) fn sql(&self) -> &str {
        self.expr.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DimensionType {
    Categorical,
    Time,
}

case_insensitive_enum!(DimensionType { Categorical => "categorical", Time => "time" });

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidityParams {
    #[serde(default)]
    pub(crate) is_start: bool,
    #[serde(default)]
    pub(crate) is_end: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DimensionTypeParams {
    pub(crate) time_granularity: Option<Grain>,
    pub(crate) validity_params: Option<ValidityParams>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dimension {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) kind: DimensionType,
    pub(crate) expr: Option<String>,
    #[serde(default)]
    pub(crate) is_partition: bool,
    pub(crate) type_params: Option<DimensionTypeParams>,
    pub(crate) description: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) config: Option<Value>,
    pub(crate) meta: Option<Value>,
}

impl Dimension {
    pub(crate) fn sql(&self) -> &str {
        self.expr.as_deref().unwrap_or(&self.name)
    }
    pub(crate) fn grain(&self) -> Option<Grain> {
        self.type_params.as_ref().and_then(|t| t.time_granularity)
    }
    /// `validity_params` of a slowly changing dimension's start or end column.
    pub(crate) fn validity(&self) -> Option<&ValidityParams> {
        self.type_params
            .as_ref()
            .and_then(|t| t.validity_params.as_ref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agg {
    Sum,
    Max,
    Min,
    Count,
    CountDistinct,
    SumBoolean,
    Average,
    Percentile,
    Median,
}

case_insensitive_enum!(Agg { Sum => "sum", Max => "max", Min => "min", Count => "count", CountDistinct => "count_distinct", SumBoolean => "sum_boolean", Average => "average", Percentile => "percentile", Median => "median" });

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AggParams {
    pub(crate) percentile: Option<f64>,
    #[serde(default)]
    pub(crate) use_discrete_percentile: bool,
    #[serde(default)]
    pub(crate) use_approximate_percentile: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum WindowChoice {
    Min,
    #[default]
    Max,
}

case_insensitive_enum!(WindowChoice { Min => "min", Max => "max" });

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NonAdditiveDimension {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) window_choice: WindowChoice,
    #[serde(default)]
    pub(crate) window_groupings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Measure {
    pub(crate) name: String,
    pub(crate) agg: Agg,
    pub(crate) expr: Option<Value>,
    pub(crate) description: Option<String>,
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) create_metric: bool,
    pub(crate) agg_params: Option<AggParams>,
    pub(crate) non_additive_dimension: Option<NonAdditiveDimension>,
    pub(crate) agg_time_dimension: Option<String>,
    pub(crate) config: Option<Value>,
    pub(crate) meta: Option<Value>,
}

impl Measure {
    /// The SQL of the measure (`expr`, which YAML may have typed as a number, or the name).
    pub(crate) fn sql(&self) -> String {
        match &self.expr {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => self.name.clone(),
            Some(v) => v.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SemanticModelDefaults {
    pub(crate) agg_time_dimension: Option<String>,
}

/// A `semantic_models:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SemanticModel {
    pub(crate) name: String,
    /// `ref('model')` as written.
    pub(crate) model: String,
    pub(crate) description: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) defaults: Option<SemanticModelDefaults>,
    pub(crate) primary_entity: Option<String>,
    #[serde(default)]
    pub(crate) entities: Vec<Entity>,
    #[serde(default)]
    pub(crate) dimensions: Vec<Dimension>,
    #[serde(default)]
    pub(crate) measures: Vec<Measure>,
    pub(crate) config: Option<Value>,
    pub(crate) meta: Option<Value>,
    #[serde(skip)]
    pub(crate) origin: Origin,
    /// The relation the model resolves to (filled in from the manifest).
    #[serde(skip)]
    pub(crate) relation: Option<crate::sql::Relation>,
    /// `model.<pkg>.<name>` of the referenced model.
    #[serde(skip)]
    pub(crate) depends_on: Option<String>,
}

impl SemanticModel {
    pub(crate) fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
    pub(crate) fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }
    pub(crate) fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }
    pub(crate) fn default_agg_time(&self) -> Option<&str> {
        self.defaults
            .as_ref()
            .and_then(|d| d.agg_time_dimension.as_deref())
    }
    /// The primary entity: `primary_entity:` or the entity of type primary.
    pub(crate) fn primary(&self) -> Option<&str> {
        self.primary_entity.as_deref().or_else(|| {
            self.entities
                .iter()
                .find(|e| e.kind == EntityType::Primary)
                .map(|e| e.name.as_str())
        })
    }
    /// The agg time dimension of `measure` (its own, or the model default).
    pub(crate) fn agg_time_of<'a>(&'a self, measure: &'a Measure) -> Option<&'a str> {
        measure
            .agg_time_dimension
            .as_deref()
            .or(self.default_agg_time())
    }
    /// The name of the referenced model (`ref('x')` -> `x`).
    pub(crate) fn model_name(&self) -> Option<String> {
        parse_ref(&self.model)
    }
}

/// `ref('x')` / `ref("x")` / `ref('pkg', 'x')` -> `x`.
pub(crate) fn parse_ref(s: &str) -> Option<String> {
    let t = s.trim();
    let inner = t.strip_prefix("ref(")?.strip_suffix(')')?;
    let last = inner.split(',').next_back()?.trim();
    let name = last.trim_matches(|c| c == '\'' || c == '"');
    (!name.is_empty() && name.len() + 2 == last.len()).then(|| name.to_string())
}

mod metric;
pub(crate) use metric::*;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryParams {
    #[serde(default)]
    pub(crate) metrics: Vec<String>,
    #[serde(default)]
    pub(crate) group_by: Vec<String>,
    #[serde(default, rename = "where", deserialize_with = "filters")]
    pub(crate) where_: Vec<String>,
    #[serde(default)]
    pub(crate) order_by: Vec<String>,
    pub(crate) limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Export {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) config: serde_json::Map<String, Value>,
}

/// A `saved_queries:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SavedQuery {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) query_params: QueryParams,
    #[serde(default)]
    pub(crate) exports: Vec<Export>,
    pub(crate) config: Option<Value>,
    pub(crate) tags: Option<Value>,
    /// Accepted as dbt does (`deny_unknown_fields` would refuse the key), not used.
    #[serde(rename = "meta")]
    pub(crate) _meta: Option<Value>,
    #[serde(skip)]
    pub(crate) origin: Origin,
}

impl SavedQuery {
    /// dbt's config of a saved query of `project`: its defaults, the project's `saved-queries:`
    /// config along its fqn (`[project, folders of its file..., name]`), then its `config:` as
    /// written.
    pub(crate) fn resolved_config(
        &self,
        project: &crate::project::Project,
    ) -> serde_json::Map<String, Value> {
        let path = crate::compile::relative_to_resource(&self.origin.file, project);
        let mut fqn = vec![project.config.name.clone()];
        fqn.extend(crate::compile::dirs_of(&path));
        fqn.push(self.name.clone());
        let project = project.config.saved_queries.resolve(&fqn);
        let mut config = serde_json::Map::new();
        config.insert("enabled".into(), Value::Bool(true));
        config.insert("group".into(), Value::Null);
        config.insert("meta".into(), Value::Object(Default::default()));
        config.insert("export_as".into(), Value::Null);
        config.insert("schema".into(), Value::Null);
        config.insert("cache".into(), serde_json::json!({"enabled": false}));
        config.extend(project);
        if let Some(Value::Object(c)) = &self.config {
            for (k, v) in c {
                config.insert(k.clone(), v.clone());
            }
        }
        config
    }
    /// `metric.<package>.<name>` of each metric the query reads.
    pub(crate) fn metric_ids(&self, package: &str) -> Vec<String> {
        self.query_params
            .metrics
            .iter()
            .map(|m| format!("metric.{package}.{m}"))
            .collect()
    }
}

/// The day-grain calendar table used by cumulative metrics, offsets and `join_to_timespine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeSpine {
    pub(crate) model: String,
    pub(crate) relation: crate::sql::Relation,
    pub(crate) column: String,
    pub(crate) grain: Grain,
    /// The legacy `metricflow_time_spine` model found by name (not configured with `time_spine:`
    /// in YAML): the semantic manifest lists it among `time_spine_table_configurations`, and a
    /// configured one among `time_spines`, as dbt does.
    pub(crate) legacy: bool,
    /// `custom_granularities` (`name`, `column_name`), as its `time_spine:` lists them.
    pub(crate) custom_granularities: Vec<Value>,
}

/// Every definition of the project's semantic layer, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct SemanticLayer {
    pub(crate) semantic_models: Vec<SemanticModel>,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) saved_queries: Vec<SavedQuery>,
    pub(crate) time_spine: Option<TimeSpine>,
}

impl SemanticLayer {
    pub(crate) fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
    pub(crate) fn semantic_model(&self, name: &str) -> Option<&SemanticModel> {
        self.semantic_models.iter().find(|m| m.name == name)
    }
    pub(crate) fn saved_query(&self, name: &str) -> Option<&SavedQuery> {
        self.saved_queries.iter().find(|m| m.name == name)
    }
    /// Every measure `m` reads, in MetricFlow's order: its own measures, then those of its input
    /// metrics, depth first (repeats kept; definitions nested deeper than 20 are not followed).
    /// `m` and every metric it reads, directly or through other metrics, each once, in the order
    /// first read. A metric read twice (`revenue` and `revenue` with an offset) or a cycle
    /// (which validation reports) adds nothing new: walking it again doubled the work at every
    /// level (found by the fuzzer: a derived metric reading itself twice hung parsing).
    /// (Depth first, as MetricFlow lists a metric's input measures.)
    pub(crate) fn metrics_read<'a>(&'a self, m: &'a Metric) -> Vec<&'a Metric> {
        fn walk<'a>(layer: &'a SemanticLayer, m: &'a Metric, out: &mut Vec<&'a Metric>) {
            if out.iter().any(|x| x.name == m.name) {
                return;
            }
            out.push(m);
            for input in m.input_metrics() {
                if let Some(child) = layer.metric(&input.name) {
                    walk(layer, child, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, m, &mut out);
        out
    }
    pub(crate) fn measure_inputs<'a>(&'a self, m: &'a Metric) -> Vec<&'a MeasureInput> {
        self.metrics_read(m)
            .into_iter()
            .flat_map(|x| x.own_measures())
            .collect()
    }
    /// The semantic model defining `measure`, with the measure.
    pub(crate) fn measure(&self, name: &str) -> Option<(&SemanticModel, &Measure)> {
        self.semantic_models
            .iter()
            .find_map(|sm| sm.measure(name).map(|m| (sm, m)))
    }
}

#[cfg(test)]
mod tests;
