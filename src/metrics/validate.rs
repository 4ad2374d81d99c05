//! Validation of the semantic layer: the rules MetricFlow enforces before it answers a query
//! (unique names, references between metrics, measures, dimensions and entities, entity types,
//! agg time dimensions, granularities, derived expressions, cumulative and conversion parameters,
//! reserved words, one primary entity...). Each problem is one diagnostic on the YAML line of the
//! offending key, with a hint.
//!
//! Design decision: every rule is a small function over the typed [`SemanticLayer`] that pushes
//! diagnostics into one list, rather than stopping at the first error: users fix a broken metrics
//! file in one pass. Filter references are checked with the query planner's own resolver, so a
//! filter that validates is one the planner can render.
//!
//! This module holds the rules across definitions (unique names, metric cycles, saved queries)
//! and the diagnostic context; the rules of one semantic model are in `semantic_model`, those of
//! one metric in `metric`.

mod metric;
pub use metric::sql_expr_error;
mod semantic_model;

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use super::plan::Spec;
use super::{diag_at, Step};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::project::YamlFile;
use crate::sql::Dialect;

/// SQL words MetricFlow refuses as element names.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "exists",
    "false",
    "for",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "interval",
    "into",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "outer",
    "over",
    "partition",
    "right",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
    "with",
];

struct Ctx<'a> {
    files: &'a [YamlFile],
    out: Vec<Diagnostic>,
    /// The `sqlparser` dialect of the target's engine, for expressions written in its SQL.
    sql_dialect: &'static str,
}

impl Ctx<'_> {
    fn err(
        &mut self,
        file: &str,
        section: &str,
        steps: &[Step],
        code: Code,
        msg: String,
        hint: impl Into<String>,
    ) {
        let mut hint = hint.into();
        // Definitions written on a model (the latest spec) have no measures or `defaults:`:
        // say what those words mean there.
        let on_model = self.files.iter().any(|f| {
            f.original_file_path == file
                && super::latest_spec::locate_on_model(&f.text, &f.value, section, steps).is_some()
        });
        if on_model
            && (hint.contains("measure") || hint.contains("defaults") || msg.contains("measure"))
        {
            hint.push_str(
                " (on a model, a measure is the simple metric of the same name under `metrics:`, \
                 and `defaults: {agg_time_dimension}` is the model's `agg_time_dimension`)",
            );
        }
        self.out
            .push(diag_at(self.files, file, section, steps, code, msg).with_hint(hint));
    }

    /// A problem at `steps` under the list entry of definition `e`.
    fn at<E: Entry>(
        &mut self,
        e: &E,
        steps: &[Step],
        code: Code,
        msg: String,
        hint: impl Into<String>,
    ) {
        let mut path = vec![Step::Name(e.name())];
        path.extend_from_slice(steps);
        self.err(&e.origin().file, E::SECTION, &path, code, msg, hint);
    }
}

/// A definition written as one entry of a top-level YAML list: where its diagnostics point.
trait Entry {
    /// The list's key (`semantic_models`, `metrics`, `saved_queries`).
    const SECTION: &'static str;
    fn name(&self) -> &str;
    fn origin(&self) -> &Origin;
}

macro_rules! entry {
    ($ty:ty, $section:literal) => {
        impl Entry for $ty {
            const SECTION: &'static str = $section;
            fn name(&self) -> &str {
                &self.name
            }
            fn origin(&self) -> &Origin {
                &self.origin
            }
        }
    };
}
entry!(SemanticModel, "semantic_models");
entry!(Metric, "metrics");
entry!(SavedQuery, "saved_queries");

/// All problems of `layer`, in file order; SQL expressions are read as `dialect`'s engine
/// writes them.
pub fn validate(layer: &SemanticLayer, files: &[YamlFile], dialect: Dialect) -> Vec<Diagnostic> {
    let mut c = Ctx {
        files,
        out: Vec::new(),
        sql_dialect: dialect.sql_parser_dialect(),
    };
    unique_names(layer, &mut c);
    for sm in &layer.semantic_models {
        semantic_model::semantic_model(sm, &mut c);
    }
    for m in &layer.metrics {
        metric::metric(layer, m, &mut c);
    }
    metric_cycles(layer, &mut c);
    for q in &layer.saved_queries {
        saved_query(layer, q, &mut c);
    }
    c.out.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line.unwrap_or(0)))
        };
        key(a).cmp(&key(b))
    });
    c.out
}

fn name_rule(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
    if !ok_chars || !name.starts_with(|ch: char| ch.is_ascii_lowercase()) {
        return Some("names are lower-case letters, digits and `_`, starting with a letter".into());
    }
    if name.contains("__") {
        return Some(
            "`__` separates entities from dimensions in queries, so names cannot contain it".into(),
        );
    }
    if name.ends_with('_') {
        return Some("names cannot end with `_`".into());
    }
    if RESERVED.contains(&name) {
        return Some(format!("`{name}` is a reserved SQL word"));
    }
    if name == "metric_time" {
        return Some("`metric_time` is reserved for the query's time dimension".into());
    }
    None
}

fn unique_names(layer: &SemanticLayer, c: &mut Ctx) {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for sm in &layer.semantic_models {
        if let Some(prev) = seen.insert(&sm.name, &sm.origin) {
            c.at(
                sm,
                &[],
                Code::DuplicateName,
                format!(
                    "semantic model `{}` is defined twice (also in `{}`)",
                    sm.name, prev.file
                ),
                "give each semantic model its own name",
            );
        }
    }
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for m in &layer.metrics {
        if let Some(prev) = seen.insert(&m.name, &m.origin) {
            let created = layer
                .measure(&m.name)
                .is_some_and(|(_, me)| me.create_metric);
            c.at(
                m,
                &[],
                Code::DuplicateName,
                format!(
                    "metric `{}` is defined twice (also in `{}`)",
                    m.name, prev.file
                ),
                if created {
                    "a measure with `create_metric: true` already defines a metric of this name"
                        .to_string()
                } else {
                    "give each metric its own name".to_string()
                },
            );
        }
    }
    let mut measures: BTreeMap<&str, &str> = BTreeMap::new();
    for sm in &layer.semantic_models {
        for me in &sm.measures {
            if let Some(prev) = measures.insert(&me.name, &sm.name) {
                c.at(
                    sm,
                    &[Step::Key("measures"), Step::Name(&me.name)],
                    Code::DuplicateName,
                    format!(
                        "measure `{}` is defined in semantic models `{prev}` and `{}`",
                        me.name, sm.name
                    ),
                    "measure names are unique across the project; rename one",
                );
            }
        }
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for q in &layer.saved_queries {
        if !seen.insert(&q.name) {
            c.at(
                q,
                &[],
                Code::DuplicateName,
                format!("saved query `{}` is defined twice", q.name),
                "give each saved query its own name",
            );
        }
    }
}

fn metric_cycles(layer: &SemanticLayer, c: &mut Ctx) {
    fn visit<'a>(
        layer: &'a SemanticLayer,
        name: &'a str,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| *n == name) {
            let mut cyc: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
            cyc.push(name.to_string());
            return Some(cyc);
        }
        let m = layer.metric(name)?;
        stack.push(name);
        for input in m.input_metrics() {
            if let Some(cyc) = visit(layer, &input.name, stack) {
                return Some(cyc);
            }
        }
        stack.pop();
        None
    }
    let mut reported = BTreeSet::new();
    for m in &layer.metrics {
        if let Some(cyc) = visit(layer, &m.name, &mut Vec::new()) {
            let key: BTreeSet<String> = cyc.iter().cloned().collect();
            if cyc.first() == Some(&m.name) && reported.insert(key) {
                c.at(
                    m,
                    &[],
                    Code::MetricCycle,
                    format!(
                        "metric `{}` is defined in terms of itself: {}",
                        m.name,
                        cyc.join(" -> ")
                    ),
                    "break the cycle between these metrics",
                );
            }
        }
    }
}

fn saved_query(layer: &SemanticLayer, q: &SavedQuery, c: &mut Ctx) {
    let steps = [Step::Key("query_params")];
    if q.query_params.metrics.is_empty() {
        c.at(
            q,
            &steps,
            Code::SavedQuery,
            format!("saved query `{}` lists no metrics", q.name),
            "add `query_params: {metrics: [...]}`",
        );
    }
    for m in &q.query_params.metrics {
        if layer.metric(m).is_none() {
            c.at(
                q,
                &[Step::Key("query_params"), Step::Key("metrics")],
                Code::UnknownMetric,
                format!(
                    "saved query `{}` uses metric `{m}`, which is not defined",
                    q.name
                ),
                did_you_mean(m, layer.metrics.iter().map(|x| x.name.as_str()))
                    .unwrap_or_else(|| "define it under `metrics:`".into()),
            );
        }
    }
    for g in &q.query_params.group_by {
        if let Err(e) = Spec::parse(g) {
            c.at(
                q,
                &[Step::Key("query_params"), Step::Key("group_by")],
                Code::SavedQuery,
                format!("saved query `{}`: {}", q.name, e.message),
                e.hint,
            );
        }
    }
    for e in &q.exports {
        if let Some(v) = e.config.get("export_as").and_then(|v| v.as_str()) {
            if !v.eq_ignore_ascii_case("table") && !v.eq_ignore_ascii_case("view") {
                c.at(
                    q,
                    &[Step::Key("exports")],
                    Code::SavedQuery,
                    format!(
                        "export `{}` of saved query `{}` has `export_as: {v}`",
                        e.name, q.name
                    ),
                    "use `export_as: table` or `export_as: view`",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::metric::identifiers;
    use super::*;

    #[test]
    fn names_and_identifiers() {
        assert!(name_rule("mrr").is_none());
        assert!(name_rule("Mrr").is_some());
        assert!(name_rule("a__b").is_some());
        assert!(name_rule("select").is_some());
        assert_eq!(
            identifiers("a / nullif(b_2, 0) + 'x y'"),
            vec!["a", "nullif", "b_2"]
        );
    }

    #[test]
    fn expressions_are_read_in_each_engines_sql() {
        // Every engine's parser name is one `sqlparser` knows (an unknown one would silently
        // read generic SQL).
        for name in [
            "duckdb",
            "postgresql",
            "snowflake",
            "bigquery",
            "redshift",
            "databricks",
            "hive",
        ] {
            assert!(
                sqlparser::dialect::dialect_from_str(name).is_some(),
                "{name}"
            );
            assert_eq!(
                metric::sql_expr_error("(a - b) / nullif(a, 0)", name),
                None,
                "{name}"
            );
            assert!(metric::sql_expr_error("(a + ", name).is_some(), "{name}");
            assert!(metric::sql_expr_error("a b c", name).is_some(), "{name}");
        }
        // Snowflake's semi-structured paths are Snowflake SQL.
        assert_eq!(
            metric::sql_expr_error("payload:amount::float / n", "snowflake"),
            None
        );
    }
}
