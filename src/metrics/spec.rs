//! Group-by items and filter references: `metric_time__month`, `account__segment`,
//! `user__account__segment`, `{{ Dimension('account__segment', entity_path=['user']) }}`,
//! `{{ TimeDimension('metric_time', 'month') }}`, `{{ Entity('account') }}`,
//! `{{ Metric('revenue', group_by=['account']) }}` parsed into a [`Spec`], and filter templates
//! rendered with the column names the planner gives each reference.
//!
//! Design decision: the text is parsed with a few regular expressions rather than a Jinja engine:
//! filters are kept unrendered until query time (dbt stores them as templates), the call forms
//! MetricFlow accepts are few and fixed, and a parse that never executes user text cannot fail
//! in surprising ways. What the parse cannot decide (is `a__b` an entity's dimension or an
//! entity reached through another?) is left to resolution against the semantic models.

use std::sync::LazyLock;

use regex::Regex;

use super::model::Grain;
use super::plan_error::PlanError;

type PResult<T> = Result<T, PlanError>;

/// What a group-by item or filter reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SpecKind {
    MetricTime,
    Dimension,
    Entity,
    /// `{{ Metric('revenue', group_by=['customer']) }}` in a filter: `name` is the metric,
    /// `links` the entity it is computed per.
    Metric,
}

/// A group-by item: `metric_time__month`, `account__segment`, `opportunity__close_date__week`,
/// `account`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Spec {
    pub(crate) kind: SpecKind,
    pub(crate) links: Vec<String>,
    pub(crate) name: String,
    pub(crate) grain: Option<Grain>,
}

impl Spec {
    /// Parses `a__b__month` style names (an unknown kind is decided on resolution).
    pub(crate) fn parse(s: &str) -> PResult<Spec> {
        let s = s.trim();
        if let Some(spec) = parse_template_call(s)? {
            return Ok(spec);
        }
        let mut parts: Vec<String> = s.split("__").map(str::to_string).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(PlanError::new(
                format!("`{s}` is not a valid group-by item"),
                "write `metric_time__<grain>`, `<entity>__<dimension>` or `<entity>`",
            ));
        }
        let grain = if parts.len() > 1 {
            Grain::parse_exact(parts.last().map(String::as_str).unwrap_or(""))
        } else {
            None
        };
        if grain.is_some() {
            parts.pop();
        }
        let name = parts.pop().unwrap_or_default();
        let kind = if name == "metric_time" && parts.is_empty() {
            SpecKind::MetricTime
        } else if parts.is_empty() {
            SpecKind::Entity
        } else {
            SpecKind::Dimension
        };
        Ok(Spec {
            kind,
            links: parts,
            name,
            grain,
        })
    }

    /// The column name in results (time items always carry their grain).
    pub(crate) fn column(&self) -> String {
        let mut parts = self.links.clone();
        parts.push(self.name.clone());
        if let Some(g) = self.grain {
            parts.push(g.as_str().to_string());
        }
        parts.join("__")
    }
}

impl Grain {
    /// Exactly a grain name (no plural), for the last part of a group-by item.
    pub(crate) fn parse_exact(s: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

static CALL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(Dimension|TimeDimension|Entity|Metric)\s*\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,[^)]*)?\)\s*((?:\.\s*\w+\s*\([^)]*\)\s*)*)$"#,
    )
    .unwrap()
});
static METHOD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\.\s*(\w+)\s*\(\s*['"]?([^'")]*)['"]?\s*\)"#).unwrap());

/// `Dimension('a__b')`, `TimeDimension('metric_time', 'month')`, `Entity('a')`,
/// `Dimension('a__d').grain('month')`.
fn parse_template_call(s: &str) -> PResult<Option<Spec>> {
    let Some(c) = CALL_RE.captures(s) else {
        return Ok(None);
    };
    let func = &c[1];
    if func == "Metric" {
        static GROUP_BY: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r#"group_by\s*=\s*\[([^\]]*)\]"#).unwrap());
        let entities: Vec<String> = GROUP_BY
            .captures(s)
            .map(|g| {
                g[1].split(',')
                    .map(|x| x.trim().trim_matches(|q| q == '\'' || q == '"').to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if entities.len() != 1 {
            return Err(PlanError::new(
                format!("`{s}`: a metric filter is computed per one entity"),
                "write e.g. {{ Metric('revenue', group_by=['customer']) }} > 100",
            ));
        }
        return Ok(Some(Spec {
            kind: SpecKind::Metric,
            links: entities,
            name: c[2].to_string(),
            grain: None,
        }));
    }
    let mut spec = Spec::parse(&c[2])?;
    // `entity_path=['user']`: the entities joined through before the item's own links, as
    // MetricFlow writes a dimension two hops away (`Dimension('account__segment',
    // entity_path=['user'])` is `user__account__segment`).
    static ENTITY_PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"entity_path\s*=\s*\[([^\]]*)\]"#).unwrap());
    if let Some(p) = ENTITY_PATH.captures(s) {
        let mut links: Vec<String> = p[1]
            .split(',')
            .map(|x| x.trim().trim_matches(|q| q == '\'' || q == '"').to_string())
            .filter(|x| !x.is_empty())
            .collect();
        links.append(&mut spec.links);
        spec.links = links;
    }
    if let Some(g) = c.get(3) {
        spec.grain = Some(Grain::parse(g.as_str()).ok_or_else(|| {
            PlanError::new(
                format!("unknown time granularity `{}`", g.as_str()),
                "use day, week, month, quarter or year",
            )
        })?);
    }
    for m in METHOD_RE.captures_iter(c.get(4).map_or("", |m| m.as_str())) {
        if &m[1] == "grain" {
            spec.grain = Grain::parse(&m[2]);
        }
    }
    match func {
        "Entity" => {
            if !spec.links.is_empty() || spec.grain.is_some() {
                let mut links = spec.links.clone();
                links.push(spec.name.clone());
                spec.name = links.pop().unwrap_or_default();
                spec.links = links;
            }
            spec.kind = SpecKind::Entity;
        }
        _ if spec.name == "metric_time" && spec.links.is_empty() => {
            spec.kind = SpecKind::MetricTime
        }
        _ => {
            if spec.kind == SpecKind::Entity {
                // `Dimension('region')` without an entity: keep it a dimension, resolution says why.
                spec.kind = SpecKind::Dimension;
            }
        }
    }
    Ok(Some(spec))
}

static TEMPLATE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{\s*(.*?)\s*\}\}").unwrap());

/// The references of a `where` template, in order.
pub(crate) fn filter_specs(template: &str) -> PResult<Vec<Spec>> {
    let mut out = Vec::new();
    for c in TEMPLATE_RE.captures_iter(template) {
        match parse_template_call(&c[1])? {
            Some(s) => out.push(s),
            None => {
                return Err(PlanError::new(
                    format!("`{{{{ {} }}}}` in a filter is not a dimension, time dimension or entity", &c[1]),
                    "write {{ Dimension('entity__dimension') }}, {{ TimeDimension('metric_time', 'month') }} or {{ Entity('entity') }}",
                ))
            }
        }
    }
    Ok(out)
}

/// A filter with its references replaced by column names.
pub(crate) fn render_filter(template: &str, grains: &dyn Fn(&Spec) -> Spec) -> PResult<String> {
    let mut err = None;
    let out = TEMPLATE_RE.replace_all(template, |c: &regex::Captures| {
        match parse_template_call(&c[1]) {
            Ok(Some(s)) => grains(&s).column(),
            Ok(None) => String::new(),
            Err(e) => {
                err = Some(e);
                String::new()
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(format!("({out})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_path_prefixes_the_links() {
        let s = Spec::parse("Dimension('account__segment', entity_path=['user'])").unwrap();
        assert_eq!(s.column(), "user__account__segment");
        let s =
            Spec::parse("TimeDimension('account__created_at', 'month', entity_path=[\"user\"])")
                .unwrap();
        assert_eq!(s.column(), "user__account__created_at__month");
        let s = Spec::parse("Entity('account', entity_path=['user'])").unwrap();
        assert_eq!(
            (s.kind, s.column()),
            (SpecKind::Entity, "user__account".to_string())
        );
    }

    #[test]
    fn group_by_items_parse() {
        let s = Spec::parse("metric_time__month").unwrap();
        assert_eq!(
            (s.kind, s.grain),
            (SpecKind::MetricTime, Some(Grain::Month))
        );
        let s = Spec::parse("account__segment").unwrap();
        assert_eq!(
            (s.kind, s.links.clone(), s.name.as_str()),
            (SpecKind::Dimension, vec!["account".to_string()], "segment")
        );
        let s = Spec::parse("opportunity__close_date__week").unwrap();
        assert_eq!(s.column(), "opportunity__close_date__week");
        let s = Spec::parse("TimeDimension('metric_time', 'quarter')").unwrap();
        assert_eq!(s.column(), "metric_time__quarter");
        let s = Spec::parse("Dimension('account__created_date').grain('month')").unwrap();
        assert_eq!(s.column(), "account__created_date__month");
        assert_eq!(Spec::parse("account").unwrap().kind, SpecKind::Entity);
        assert!(Spec::parse("a____b").is_err());
        let f = filter_specs("{{ Dimension('account__region') }} = 'EU' and {{ TimeDimension('metric_time', 'day') }} > '2025-01-01'").unwrap();
        assert_eq!(f.len(), 2);
        let m = filter_specs("{{ Metric('revenue', group_by=['customer']) }} > 1").unwrap();
        assert_eq!(
            (m[0].kind, m[0].column()),
            (SpecKind::Metric, "customer__revenue".to_string())
        );
        assert!(filter_specs("{{ Metric('x', group_by=['a', 'b']) }} > 1").is_err());
    }
}
