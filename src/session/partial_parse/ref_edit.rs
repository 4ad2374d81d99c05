//! The partial parse of the next most common edit after the text of a model: a `ref` or a
//! `source` added to a model, removed from it or changed. A tag such as `{{ ref('orders') }}`
//! or `{{ source('crm', 'accounts') }}` with literal arguments, outside any block, records its
//! call when the file is parsed and does nothing else; so when the new file's other tags are
//! the old file's, in the same order, the new parse would record the old calls with only those
//! refs and sources changed. The node's `refs`, `sources` and `depends_on.nodes` are then
//! recomputed from the calls as a full parse resolves them (through what [`Index`] kept of the
//! last full parse's resolver), and the node's lists in `parent_map` and `child_map`, and its
//! parents', are rewritten with it.
//!
//! Anything this cannot vouch for parses in full: a call it cannot resolve (a full parse
//! reports it), a new parent that depends on the model (a cycle: reported too), a `ref` or
//! `source` anywhere but in such a tag, an old node whose recorded calls are not those of its
//! tags (a macro that calls `ref` itself), a project that overrides `ref` or `source`, a model
//! with unit tests (they check its inputs), or a node of a package. Models, analyses and
//! singular tests are patched this way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::Session;
use crate::artifacts::{GraphEdit, GraphMapKind, ListEdit};
use crate::compile::ResourceType;
use crate::templating::RefCall;

/// A disabled model enabled again ([`Index::enable_model`]): its parents, and each test it
/// had disabled with its new `depends_on.nodes`.
pub(super) struct EnabledAgain {
    pub(super) parents: Vec<String>,
    pub(super) tests: Vec<(String, Vec<String>)>,
}

/// What a full parse keeps to resolve a root-project model's new calls and to find cycles.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Index {
    /// What `ref('<name>')` in a root-project node resolves to, for each name that resolves.
    #[serde(deserialize_with = "super::sorted_map")]
    refs: BTreeMap<String, String>,
    /// What `source('<source>', '<table>')` resolves to: source, then table.
    sources: BTreeMap<String, BTreeMap<String, String>>,
    /// The `depends_on.nodes` of each enabled node but tests (what a cycle can run through).
    #[serde(deserialize_with = "super::sorted_map")]
    parents: BTreeMap<String, Vec<String>>,
    /// The models a unit test tests.
    unit_tested: BTreeSet<String>,
    /// Every name a `ref` may give, of enabled nodes or disabled ones (a new node's name must
    /// be none of them).
    names: BTreeSet<String>,
    /// The names more than one node has (enabled or disabled, of any package): what `ref` gives
    /// for them may change when one of those nodes is disabled.
    #[serde(default)]
    shared: BTreeSet<String>,
    /// The tests among the nodes that a `ref` to a disabled node disables (they stay among the
    /// nodes with `enabled: false`), by the name of each disabled node they read: a model
    /// enabled again enables them.
    #[serde(default)]
    disabled_tests: BTreeMap<String, BTreeSet<String>>,
}

impl Index {
    /// The index of a parsed session; `None` when a macro overrides `ref` or `source`.
    pub(super) fn of(s: &Session) -> Option<Index> {
        let manifest = s.manifest();
        let root = &manifest.project_name;
        let templates = &s.parsed.templates;
        let overridden = ["ref", "source"].iter().any(|name| {
            templates
                .index
                .find(name, Some(root))
                .is_some_and(|d| d.package != crate::templating::BUILTIN_PACKAGE)
        });
        if overridden {
            return None;
        }
        let resolver = &s.parsed.resolver;
        let refs: BTreeMap<String, String> = resolver
            .ref_names()
            .filter_map(|name| {
                let id = resolver.ref_id(root, None, name, None).ok()?;
                Some((name.to_string(), id))
            })
            .collect();
        let mut sources: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (source, table, id) in resolver.source_tables() {
            sources
                .entry(source.to_string())
                .or_default()
                .insert(table.to_string(), id.to_string());
        }
        let parents = manifest
            .nodes
            .values()
            .filter(|n| n.resource_type != ResourceType::Test)
            .map(|n| (n.unique_id.clone(), n.depends_on_nodes.clone()))
            .collect();
        let unit_tested = manifest
            .unit_tests
            .values()
            .flat_map(|u| u.depends_on_nodes.iter().cloned())
            .collect();
        let names: BTreeSet<String> = resolver.ref_names().map(str::to_string).collect();
        let shared = resolver.shared_ref_names().map(str::to_string).collect();
        let mut disabled_tests: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let disabled = manifest
            .nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Test && !n.is_enabled());
        for test in disabled {
            for r in &test.refs {
                if !refs.contains_key(&r.name) && names.contains(&r.name) {
                    let tests = disabled_tests.entry(r.name.clone()).or_default();
                    tests.insert(test.unique_id.clone());
                }
            }
        }
        Some(Index {
            refs,
            sources,
            parents,
            unit_tested,
            names,
            shared,
            disabled_tests,
        })
    }

    /// Rewrites the manifest `entry` of the node `id` for its new text `new` when the edit is
    /// one the module describes, adding to `graph` the changes of the graph maps it makes;
    /// `false` when it is not (then nothing was changed).
    pub(super) fn patch(
        &mut self,
        id: &str,
        root: &str,
        entry: &mut Map<String, Value>,
        new: &str,
        graph: &mut Vec<GraphEdit>,
    ) -> bool {
        let Some(old) = entry.get("raw_code").and_then(Value::as_str) else {
            return false;
        };
        let (Some((old, old_rest)), Some((new, new_rest))) = (Calls::of(old), Calls::of(new))
        else {
            return false;
        };
        // The old node recorded exactly its tags' calls.
        old_rest == new_rest
            && entry.get("refs") == Some(&old.refs_json())
            && entry.get("sources") == Some(&old.sources_json())
            && self.repoint(id, root, entry, &old, &new, graph)
    }

    /// Rewrites the `refs`, `sources` and `depends_on.nodes` of the manifest `entry` of the
    /// node `id`, which records the calls `old`, for the calls `new`, adding to `graph` the
    /// changes of the graph maps; `false` when this cannot (then `entry` is as it was).
    pub(super) fn repoint(
        &mut self,
        id: &str,
        root: &str,
        entry: &mut Map<String, Value>,
        old: &Calls,
        new: &Calls,
        graph: &mut Vec<GraphEdit>,
    ) -> bool {
        if old == new {
            return true;
        }
        // (A test here is a singular test's: it has a SQL file. Nothing depends on it, so it
        // closes no cycle, and the index keeps no test's parents.)
        let kind = entry.get("resource_type").and_then(Value::as_str);
        let is_test = kind == Some("test");
        let is_root_node = entry.get("package_name").and_then(Value::as_str) == Some(root)
            && matches!(kind, Some("model" | "analysis" | "test"));
        if !is_root_node || self.unit_tested.contains(id) {
            return false;
        }
        // The old calls resolve, as this index resolves them, to what the manifest says.
        let (Some(old_deps), Some(new_deps)) = (self.resolve(old), self.resolve(new)) else {
            return false;
        };
        let old_nodes = entry.get("depends_on").and_then(|d| d.get("nodes"));
        if old_nodes != Some(&Value::from(old_deps.clone())) {
            return false;
        }
        if new_deps.iter().any(|p| self.reaches(p, id)) {
            return false;
        }
        let Some(depends_on) = entry.get_mut("depends_on").and_then(Value::as_object_mut) else {
            return false;
        };
        depends_on.insert("nodes".into(), Value::from(new_deps.clone()));
        entry.insert("refs".into(), new.refs_json());
        entry.insert("sources".into(), new.sources_json());
        if old_deps != new_deps {
            let before: BTreeSet<&String> = old_deps.iter().collect();
            let after: BTreeSet<&String> = new_deps.iter().collect();
            graph.push(GraphEdit {
                map: GraphMapKind::Parents,
                id: id.to_string(),
                edit: ListEdit::Set(after.iter().map(|p| p.to_string()).collect()),
            });
            for gone in before.difference(&after) {
                graph.push(GraphEdit {
                    map: GraphMapKind::Children,
                    id: gone.to_string(),
                    edit: ListEdit::Remove(id.to_string()),
                });
            }
            for added in after.difference(&before) {
                graph.push(GraphEdit {
                    map: GraphMapKind::Children,
                    id: added.to_string(),
                    edit: ListEdit::InsertChild(id.to_string()),
                });
            }
            if !is_test {
                self.parents.insert(id.to_string(), new_deps);
            }
        }
        true
    }

    /// Adds the new model `id` named `name` whose calls are `calls` to the index, and sets its
    /// entry's `depends_on.nodes`; returns its parents, or `None` when its name is taken or a
    /// call does not resolve (then nothing changed).
    pub(super) fn add_model(
        &mut self,
        id: &str,
        name: &str,
        entry: &mut Map<String, Value>,
        calls: &Calls,
    ) -> Option<Vec<String>> {
        if self.names.contains(name) || self.parents.contains_key(id) {
            return None;
        }
        let deps = self.resolve(calls)?;
        let depends_on = entry.get_mut("depends_on")?.as_object_mut()?;
        depends_on.insert("nodes".into(), Value::from(deps.clone()));
        self.names.insert(name.to_string());
        self.refs.insert(name.to_string(), id.to_string());
        self.parents.insert(id.to_string(), deps.clone());
        Some(deps)
    }

    /// Removes the model `id` from the index; returns its parents, or `None` when some node
    /// depends on it, a unit test tests it, or it is not a model of the root project.
    pub(super) fn remove_model(&mut self, id: &str) -> Option<Vec<String>> {
        let depended_on = self.parents.values().any(|p| p.iter().any(|p| p == id));
        let name = self
            .refs
            .iter()
            .find(|(_, v)| *v == id)
            .map(|(k, _)| k.clone())?;
        if depended_on || self.unit_tested.contains(id) {
            return None;
        }
        self.refs.remove(&name);
        self.parents.remove(id)
    }

    /// Takes the model `id` named `name` out of what refs resolve to, as a full parse of the
    /// project with the model disabled keeps it (its name still taken); returns its parents, or
    /// `None` when another node has its name (a `ref` may now resolve to that one), some node
    /// but a test depends on it, a unit test tests it, or it is not a model of the root project.
    /// `tests`: the tests that read it, which the model disabled disables.
    pub(super) fn disable_model(
        &mut self,
        id: &str,
        name: &str,
        tests: &[String],
    ) -> Option<Vec<String>> {
        let alone = !self.shared.contains(name) && self.refs.get(name).is_some_and(|r| r == id);
        let parents = alone.then(|| self.remove_model(id)).flatten()?;
        let disabled = self.disabled_tests.entry(name.to_string()).or_default();
        disabled.extend(tests.iter().cloned());
        Some(parents)
    }

    /// The tests among the nodes that the disabled node named `name` disables.
    pub(super) fn disabled_by(&self, name: &str) -> BTreeSet<String> {
        self.disabled_tests.get(name).cloned().unwrap_or_default()
    }

    /// Puts the disabled model `id` named `name`, whose calls are `calls`, back among what refs
    /// resolve to, as a full parse of the project with the model enabled keeps it; returns its
    /// parents and the tests it disabled (each with what its calls now resolve to, all of
    /// which then resolve), or `None` when this cannot vouch for what a full parse resolves: a
    /// name another node also has, a call or a disabled test's call that does not resolve here.
    pub(super) fn enable_model(
        &mut self,
        id: &str,
        name: &str,
        calls: &Calls,
        test_calls: impl Fn(&str) -> Option<Calls>,
    ) -> Option<EnabledAgain> {
        let disabled = self.names.contains(name)
            && !self.shared.contains(name)
            && !self.refs.contains_key(name)
            && !self.parents.contains_key(id);
        if !disabled {
            return None;
        }
        let parents = self.resolve(calls)?;
        self.refs.insert(name.to_string(), id.to_string());
        let tests = self.disabled_tests.remove(name).unwrap_or_default();
        let tests = tests
            .into_iter()
            .map(|t| {
                let deps = self.resolve(&test_calls(&t)?)?;
                Some((t, deps))
            })
            .collect::<Option<Vec<_>>>()?;
        self.parents.insert(id.to_string(), parents.clone());
        Some(EnabledAgain { parents, tests })
    }

    /// What `ref('<name>')` in a root-project node resolves to.
    pub(super) fn resolves_to(&self, name: &str) -> Option<&String> {
        self.refs.get(name)
    }

    /// [`Index::resolve`], for a node the index does not keep (a test).
    pub(super) fn resolve_calls(&self, calls: &Calls) -> Option<Vec<String>> {
        self.resolve(calls)
    }

    /// The `depends_on.nodes` of `calls` (sources, then refs, each once), as
    /// `compile::dependencies` resolves them; `None` if one does not resolve here.
    fn resolve(&self, calls: &Calls) -> Option<Vec<String>> {
        let mut deps: Vec<String> = Vec::new();
        // Only a ref by its name alone (no package, no version) is kept resolved.
        let refs = calls.refs.iter().map(|r| {
            let plain = r.package.is_none() && r.version.is_none();
            plain.then(|| self.refs.get(&r.name)).flatten()
        });
        let sources = calls
            .sources
            .iter()
            .map(|(s, t)| self.sources.get(s).and_then(|ts| ts.get(t)));
        for dep in sources.chain(refs) {
            let dep = dep?;
            if !deps.contains(dep) {
                deps.push(dep.clone());
            }
        }
        Some(deps)
    }

    /// Whether `to` is `from` or one of its ancestors.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                if let Some(ps) = self.parents.get(n) {
                    stack.extend(ps.iter().map(String::as_str));
                }
            }
        }
        false
    }
}

/// The calls to `ref` and `source` a parse of a file records, in order, each once.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Calls {
    refs: Vec<RefCall>,
    sources: Vec<(String, String)>,
}

static REF_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\{\{[-+]?\s*ref\(\s*(?:'([^'\\]+)'|"([^"\\]+)")\s*\)\s*[-+]?\}\}$"#).unwrap()
});

static SOURCE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\{\{[-+]?\s*source\(\s*(?:'([^'\\]+)'|"([^"\\]+)")\s*,\s*(?:'([^'\\]+)'|"([^"\\]+)")\s*\)\s*[-+]?\}\}$"#,
    )
    .unwrap()
});

impl Calls {
    pub(super) fn new(refs: Vec<RefCall>, sources: Vec<(String, String)>) -> Calls {
        Calls { refs, sources }
    }

    /// What a parse recorded.
    pub(super) fn recorded(rec: &crate::templating::Recorded) -> Calls {
        Calls {
            refs: rec.refs.clone(),
            sources: rec.sources.clone(),
        }
    }

    /// The calls of `text` read off its plain tags, with its other tags; `None` when some may
    /// come from elsewhere than a plain tag: a `ref(` or `source(` in another tag, a plain one
    /// inside a block, or a tag this cannot follow (see [`super::tags::jinja_tags`]).
    fn of(text: &str) -> Option<(Calls, Vec<&str>)> {
        let mut calls = Calls::default();
        let mut rest = Vec::new();
        let mut depth = 0usize;
        for tag in super::tags::jinja_tags(text)? {
            let either = |c: &regex::Captures, a: usize| {
                c.get(a)
                    .or_else(|| c.get(a + 1))
                    .map(|m| m.as_str().to_string())
            };
            if let Some(c) = REF_TAG.captures(tag) {
                let call = RefCall {
                    package: None,
                    name: either(&c, 1)?,
                    version: None,
                    version_quoted: false,
                };
                if depth > 0 {
                    return None;
                }
                // (Each call, as a parse records them: a ref made twice is listed twice.)
                calls.refs.push(call);
                continue;
            }
            if let Some(c) = SOURCE_TAG.captures(tag) {
                let call = (either(&c, 1)?, either(&c, 3)?);
                if depth > 0 {
                    return None;
                }
                if !calls.sources.contains(&call) {
                    calls.sources.push(call);
                }
                continue;
            }
            if tag.contains("ref(") || tag.contains("source(") {
                return None;
            }
            if let Some(body) = tag.strip_prefix("{%") {
                let word = body
                    .trim_start_matches(['-', '+'])
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .find(|w| !w.is_empty())
                    .unwrap_or("");
                if word.starts_with("end") {
                    depth = depth.checked_sub(1)?;
                } else if matches!(
                    word,
                    "if" | "for"
                        | "macro"
                        | "call"
                        | "filter"
                        | "block"
                        | "with"
                        | "raw"
                        | "autoescape"
                ) {
                    depth += 1;
                }
            }
            rest.push(tag);
        }
        Some((calls, rest))
    }

    /// The calls a manifest entry records (its `refs` and `sources`); `None` when it does not
    /// record them as sluice writes them.
    pub(super) fn of_entry(entry: &Map<String, Value>) -> Option<Calls> {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let refs = entry
            .get("refs")?
            .as_array()?
            .iter()
            .map(|r| {
                let version = match r.get("version")? {
                    Value::Null => None,
                    Value::String(v) => Some(v.clone()),
                    v => Some(v.to_string()),
                };
                Some(RefCall {
                    package: r.get("package").and_then(text),
                    name: text(r.get("name")?)?,
                    version_quoted: matches!(r.get("version"), Some(Value::String(_))),
                    version,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let sources = entry
            .get("sources")?
            .as_array()?
            .iter()
            .map(|s| Some((text(s.get(0)?)?, text(s.get(1)?)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Calls { refs, sources })
    }

    /// `refs` as the manifest writes them.
    fn refs_json(&self) -> Value {
        serde_json::to_value(crate::artifacts::node_json::Refs(&self.refs)).unwrap_or_default()
    }

    /// `sources` as the manifest writes them.
    fn sources_json(&self) -> Value {
        Value::Array(
            self.sources
                .iter()
                .map(|(s, t)| Value::from(vec![s.clone(), t.clone()]))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Calls;

    #[test]
    fn plain_refs_and_sources_are_read_off_the_tags() {
        let (c, rest) = Calls::of(
            "{{ config(materialized='table') }}\nselect * from {{ ref('a') }} join {{ ref(\"b\") }}\
             join {{ source('crm', \"accounts\") }} join {{ ref('a') }}\
             {% if is_incremental() %}where x > 1{% endif %}",
        )
        .unwrap();
        // Every ref call (`a` twice, as a parse records it), each source once.
        let names: Vec<&str> = c.refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
        assert_eq!(c.sources, [("crm".to_string(), "accounts".to_string())]);
        assert_eq!(
            rest,
            [
                "{{ config(materialized='table') }}",
                "{% if is_incremental() %}",
                "{% endif %}"
            ]
        );
        // A call elsewhere than in a plain tag at the top: not followed.
        for text in [
            "select * from {{ ref('a', v=2) }}",
            "select * from {{ ref('pkg', 'a') }}",
            "{% if x %}select * from {{ ref('a') }}{% endif %}",
            "{% for t in ['a'] %}{{ ref(t) }}{% endfor %}",
            "select {{ dbt_utils.star(ref('a')) }}",
            "{% set r = ref('a') %}select * from {{ r }}",
            "{% raw %}{{ ref('a') }}{% endraw %}",
        ] {
            assert!(Calls::of(text).is_none(), "{text}");
        }
        // Trimming markers are part of a plain tag.
        let (c, _) = Calls::of("select * from {{- ref('a') -}}").unwrap();
        assert_eq!(c.refs[0].name, "a");
    }
}
