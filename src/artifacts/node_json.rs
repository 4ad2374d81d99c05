//! One entry of the manifest's `nodes` (models, seeds, snapshots, tests, analyses, operations),
//! serialised straight from a [`Node`]: dbt's keys in dbt's order, per resource type.
//!
//! Decision: this writes through serde's `SerializeMap` from borrowed node fields instead of
//! building a `serde_json::Value` first. Nodes are nearly all of a large manifest (38,800 of them,
//! 130 MB, for the 10,000-model benchmark project), and an intermediate value tree cost a
//! quarter of `sluice parse`'s time in allocation and page faults alone. The key order is still
//! stated once, top to bottom, in [`NodeJson::serialize`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::node_config::{default_docs, ConfigJson};
use crate::compile::versions::version_json;
use crate::compile::{ColumnDef, Node, NodeConfig, ResourceType};
use crate::templating::RefCall;

/// What a node entry needs from the invocation (shared by every node of one manifest).
pub(crate) struct NodeEnv<'a> {
    pub(crate) target_path: String,
    pub(crate) project_root: String,
    /// Each package's folder (a package's seeds' `root_path`).
    pub(crate) package_roots: BTreeMap<String, String>,
    /// Each hook's number in its kind's run order, from 1.
    pub(crate) hook_run_index: BTreeMap<String, u64>,
    pub(crate) built: &'a BTreeSet<String>,
    /// Every node's `created_at` (the invocation start).
    pub(crate) created_at: Value,
    /// Generic tests by the node they are attached to (for `primary_key`).
    pub(crate) tests_of: crate::graph::IdMap<'a, Vec<&'a Node>>,
}

/// A node as its manifest entry.
pub(crate) struct NodeJson<'a> {
    pub(crate) env: &'a NodeEnv<'a>,
    pub(crate) node: &'a Node,
    /// Where the text of configs shared by several nodes is kept while a batch is written.
    pub(crate) memo: Option<&'a ConfigMemo>,
}

/// The parts of a node's entry that come from its config and type alone (`config`, `docs`,
/// `group`, a model's `access`), as JSON text.
struct ConfigText {
    config: Box<RawValue>,
    docs: Box<RawValue>,
    group: Box<RawValue>,
    access: Box<RawValue>,
}

impl ConfigText {
    fn of(n: &Node) -> Option<ConfigText> {
        let parts = ConfigParts::of(n);
        let raw = |v: &Value| serde_json::value::to_raw_value(v).ok();
        Some(ConfigText {
            config: serde_json::value::to_raw_value(&parts.config).ok()?,
            docs: raw(&parts.docs)?,
            group: raw(&parts.group)?,
            access: raw(&parts.access())?,
        })
    }
}

/// A node's config as its entry shows it, and the entry's keys that come from it.
struct ConfigParts<'a> {
    config: ConfigJson<'a>,
    docs: Cow<'a, Value>,
    group: Cow<'a, Value>,
}

impl<'a> ConfigParts<'a> {
    fn of(n: &'a Node) -> Self {
        let config = ConfigJson::of(n);
        let docs = match config.get("docs") {
            Some(d) if d.is_object() => d,
            _ => Cow::Owned(Value::Object(default_docs())),
        };
        let group = config.get("group").unwrap_or(Cow::Owned(Value::Null));
        ConfigParts {
            config,
            docs,
            group,
        }
    }

    fn access(&self) -> Cow<'a, Value> {
        self.config
            .get("access")
            .unwrap_or(Cow::Owned(Value::from("protected")))
    }
}

/// The config text of the shared configs (one `Arc` held by several nodes, as the tests of a
/// folder hold their type's defaults) met so far by one writer: 60% of a large project's nodes
/// are generic tests, most of which share a config, which is then serialised once per chunk of
/// nodes. A config is known by its address, which stays its own while the manifest is borrowed.
#[derive(Default)]
pub(crate) struct ConfigMemo(RefCell<Vec<(*const NodeConfig, ResourceType, Rc<ConfigText>)>>);

impl ConfigMemo {
    /// The text of `n`'s config when it is shared (`None`: the node's own, written directly).
    fn text_of(&self, n: &Node) -> Option<Rc<ConfigText>> {
        if Arc::strong_count(&n.config) < 2 {
            return None;
        }
        let (ptr, rt) = (Arc::as_ptr(&n.config), n.resource_type);
        let mut seen = self.0.borrow_mut();
        if let Some((.., text)) = seen.iter().find(|(p, t, _)| *p == ptr && *t == rt) {
            return Some(text.clone());
        }
        let text = Rc::new(ConfigText::of(n)?);
        seen.push((ptr, rt, text.clone()));
        Some(text)
    }
}

/// A node's `columns`: name -> column.
pub(crate) struct Columns<'a>(pub(crate) &'a [ColumnDef]);

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A later column of the same name replaces an earlier one in place, as a map insert does.
        let mut seen: Vec<&str> = Vec::with_capacity(self.0.len());
        let mut m = s.serialize_map(None)?;
        for (i, c) in self.0.iter().enumerate() {
            if seen.contains(&c.name.as_str()) {
                continue;
            }
            seen.push(&c.name);
            let last = self.0[i..]
                .iter()
                .rev()
                .find(|d| d.name == c.name)
                .unwrap_or(c);
            m.serialize_entry(&c.name, &ColumnJson(last))?;
        }
        m.end()
    }
}

/// A column of a node or source, as dbt writes it.
pub(crate) struct ColumnJson<'a>(pub(crate) &'a ColumnDef);

impl Serialize for ColumnJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("name", &c.name)?;
        m.serialize_entry("description", &c.description)?;
        m.serialize_entry("meta", &c.meta)?;
        m.serialize_entry("data_type", &c.data_type)?;
        m.serialize_entry("constraints", &c.constraints)?;
        m.serialize_entry("quote", &c.quote)?;
        m.serialize_entry("config", &ColumnConfig(c))?;
        m.serialize_entry("tags", &c.tags)?;
        m.serialize_entry("granularity", &c.granularity)?;
        m.serialize_entry("doc_blocks", &c.doc_blocks)?;
        for (k, v) in &c.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct ColumnConfig<'a>(&'a ColumnDef);

impl Serialize for ColumnConfig<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("meta", &self.0.meta)?;
        m.serialize_entry("tags", &self.0.tags)?;
        m.end()
    }
}

/// A node's `refs`: `[{"name", "package", "version"}]`.
pub(crate) struct Refs<'a>(pub(crate) &'a [RefCall]);

impl Serialize for Refs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&RefJson(r))?;
        }
        seq.end()
    }
}

struct RefJson<'a>(&'a RefCall);

impl Serialize for RefJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("package", &self.0.package)?;
        let version = match &self.0.version {
            Some(v) if self.0.version_quoted => Some(Value::from(v.as_str())),
            v => v.as_deref().map(version_json),
        };
        m.serialize_entry("version", &version)?;
        m.end()
    }
}

/// A node's `sources`: `[[source, table]]`.
pub(crate) struct Sources<'a>(pub(crate) &'a [(String, String)]);

impl Serialize for Sources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (a, b) in self.0 {
            seq.serialize_element(&[a, b])?;
        }
        seq.end()
    }
}

struct DependsOn<'a> {
    macros: &'a [String],
    nodes: Option<&'a [String]>,
}

impl Serialize for DependsOn<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("macros", self.macros)?;
        if let Some(nodes) = self.nodes {
            m.serialize_entry("nodes", nodes)?;
        }
        m.end()
    }
}

struct Checksum<'a>(&'a crate::project::FileHash);

impl Serialize for Checksum<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        let name = if self.0.checksum.is_empty() {
            "none"
        } else {
            self.0.name
        };
        m.serialize_entry("name", name)?;
        m.serialize_entry("checksum", &self.0.checksum)?;
        m.end()
    }
}

struct Contract {
    enforced: Value,
    checksum: Option<String>,
}

impl Serialize for Contract {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("enforced", &self.enforced)?;
        m.serialize_entry("alias_types", &true)?;
        m.serialize_entry("checksum", &self.checksum)?;
        m.end()
    }
}

/// dbt's checksum of an enforced contract: the sha256 of each column (by name) with its data
/// type and constraints, then, for a materialization that enforces constraints, the
/// materialization and the model's constraints, each written as Python prints them.
fn contract_checksum(n: &Node, materialized: Option<&str>) -> String {
    let mut state = String::new();
    let mut columns: Vec<&ColumnDef> = n.columns.iter().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    for c in columns {
        state.push('|');
        state.push_str(&c.name);
        state.push_str(c.data_type.as_deref().unwrap_or("None"));
        state.push_str(&constraints_repr(&c.constraints, "ColumnLevelConstraint"));
    }
    if let Some(m @ ("table" | "incremental")) = materialized {
        state.push_str(m);
        state.push_str(&constraints_repr(&n.constraints, "ModelLevelConstraint"));
    }
    crate::project::lower_hex(&<sha2::Sha256 as sha2::Digest>::digest(state.as_bytes()))
}

/// A list of constraints as Python's `str()` prints dbt's constraint objects.
fn constraints_repr(list: &[Value], class: &str) -> String {
    use crate::compile::py_repr;
    let items: Vec<String> = list
        .iter()
        .map(|c| {
            let field = |k: &str| py_repr(c.get(k).unwrap_or(&Value::Null));
            let kind = c.get("type").and_then(Value::as_str).unwrap_or("");
            let mut out = format!(
                "{class}(type=<ConstraintType.{kind}: '{kind}'>, name={}, expression={}, \
                 warn_unenforced={}, warn_unsupported={}, to={}, to_columns={}",
                field("name"),
                field("expression"),
                field("warn_unenforced"),
                field("warn_unsupported"),
                field("to"),
                field("to_columns"),
            );
            if class == "ModelLevelConstraint" {
                out.push_str(&format!(", columns={}", field("columns")));
            }
            out.push(')');
            out
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The columns a generic test tests, from its arguments (`kwargs`, as written) and its
/// `column_name`. (Its arguments are a handful: read in order, not hashed.)
pub(crate) fn tested_columns<'a>(
    kwargs: &'a Map<String, Value>,
    column_name: Option<&'a str>,
) -> Vec<&'a str> {
    let arg = |name: &str| kwargs.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    match (arg("column_name"), arg("combination_of_columns")) {
        (Some(Value::String(c)), _) => vec![c.as_str()],
        (_, Some(Value::Array(cs))) => cs.iter().filter_map(Value::as_str).collect(),
        _ => column_name.into_iter().collect(),
    }
}

/// dbt's inferred `primary_key` of an enabled model from its generic tests (each its name,
/// the columns it tests and whether it is enabled): columns with both `unique` and `not_null`
/// tests, else columns with a `unique` test (sorted, where dbt's set order is arbitrary).
pub(crate) fn inferred_primary_key<'a>(
    tests: impl Iterator<Item = (&'a str, Vec<&'a str>, bool)>,
) -> Vec<String> {
    let mut unique = Vec::new();
    let mut disabled_unique = Vec::new();
    let mut not_null = Vec::new();
    for (name, cols, enabled) in tests {
        match name {
            "unique" | "unique_combination_of_columns" if enabled => unique.extend(cols),
            "unique" | "unique_combination_of_columns" => disabled_unique.extend(cols),
            "not_null" => not_null.extend(cols),
            _ => {}
        }
    }
    for v in [&mut unique, &mut disabled_unique] {
        v.sort_unstable();
        v.dedup();
    }
    // A not_null column counts with a unique test enabled or not, as in dbt.
    let mut both: Vec<&str> = unique
        .iter()
        .chain(&disabled_unique)
        .filter(|c| not_null.contains(c))
        .copied()
        .collect();
    both.sort_unstable();
    both.dedup();
    let key = if !both.is_empty() {
        both
    } else if !unique.is_empty() {
        unique
    } else {
        disabled_unique
    };
    key.into_iter().map(str::to_string).collect()
}

struct TestMetadataJson<'a>(&'a crate::compile::TestMetadata);

impl Serialize for TestMetadataJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("kwargs", &self.0.kwargs)?;
        m.serialize_entry("namespace", &self.0.namespace)?;
        m.end()
    }
}

impl NodeEnv<'_> {
    /// dbt's inferred `primary_key`: columns with both `unique` and `not_null` tests, else
    /// columns with a `unique` test (sorted, where dbt's set order is arbitrary).
    fn primary_key(&self, model: &Node) -> Vec<String> {
        // (dbt works primary keys out for the enabled models only.)
        if !model.is_enabled() {
            return Vec::new();
        }
        let tests = self
            .tests_of
            .get(model.unique_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        inferred_primary_key(tests.iter().filter_map(|t| {
            let tm = t.test_metadata.as_ref()?;
            let cols = tested_columns(&tm.kwargs, t.column_name.as_deref());
            Some((tm.name.as_str(), cols, t.is_enabled()))
        }))
    }

    /// `target/<kind>/<package>/<original_file_path>[/<path>]`: nodes defined in YAML (generic
    /// tests) or in dbt_project.yml (hooks) get their own `path` appended.
    pub(crate) fn target_file(&self, kind: &str, n: &Node) -> String {
        let mut p = format!(
            "{}/{kind}/{}/{}",
            self.target_path, n.package_name, n.original_file_path
        );
        let from_yaml =
            n.original_file_path.ends_with(".yml") || n.original_file_path.ends_with(".yaml");
        if from_yaml || n.resource_type == ResourceType::Operation {
            p.push('/');
            p.push_str(&n.path);
        }
        p
    }
}

impl Serialize for NodeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (env, n) = (self.env, self.node);
        let rt = n.resource_type;
        // A shared config's text is made once; a node's own is written as it is read.
        let text = self.memo.and_then(|memo| memo.text_of(n));
        let parts = match text {
            Some(_) => None,
            None => Some(ConfigParts::of(n)),
        };
        let build_path = env
            .built
            .contains(&n.unique_id)
            .then(|| env.target_file("run", n));
        let mut m = s.serialize_map(None)?;
        // Spark's relations have no database: dbt-spark writes null.
        m.serialize_entry("database", &(!n.database.is_empty()).then_some(&n.database))?;
        m.serialize_entry("schema", &n.schema)?;
        m.serialize_entry("name", &n.name)?;
        m.serialize_entry("resource_type", rt.as_str())?;
        m.serialize_entry("package_name", &n.package_name)?;
        m.serialize_entry("path", &n.path)?;
        m.serialize_entry("original_file_path", &n.original_file_path)?;
        m.serialize_entry("unique_id", &n.unique_id)?;
        m.serialize_entry("fqn", &n.fqn)?;
        m.serialize_entry("alias", &n.alias)?;
        m.serialize_entry("checksum", &Checksum(&n.checksum))?;
        match (&text, &parts) {
            (Some(t), _) => m.serialize_entry("config", &*t.config)?,
            (_, Some(p)) => m.serialize_entry("config", &p.config)?,
            _ => {}
        }
        m.serialize_entry("tags", &n.tags)?;
        m.serialize_entry("description", &n.description)?;
        m.serialize_entry("columns", &Columns(&n.columns))?;
        m.serialize_entry("meta", &n.meta)?;
        match (&text, &parts) {
            (Some(t), _) => {
                m.serialize_entry("group", &*t.group)?;
                m.serialize_entry("docs", &*t.docs)?;
            }
            (_, Some(p)) => {
                m.serialize_entry("group", &p.group)?;
                m.serialize_entry("docs", &p.docs)?;
            }
            _ => {}
        }
        m.serialize_entry("patch_path", &n.patch_path)?;
        m.serialize_entry("build_path", &build_path)?;
        m.serialize_entry("unrendered_config", &n.unrendered_config)?;
        m.serialize_entry("created_at", &env.created_at)?;
        m.serialize_entry("relation_name", &n.relation_name())?;
        let raw_code = if rt == ResourceType::Seed {
            ""
        } else {
            &n.raw_code
        };
        m.serialize_entry("raw_code", raw_code)?;
        m.serialize_entry("doc_blocks", &n.doc_blocks)?;
        if rt == ResourceType::Seed {
            let root = env.package_roots.get(&n.package_name);
            m.serialize_entry("root_path", root.unwrap_or(&env.project_root))?;
            let deps = DependsOn {
                macros: &n.depends_on_macros,
                nodes: None,
            };
            m.serialize_entry("depends_on", &deps)?;
            if let Some(code) = &n.compiled_code {
                m.serialize_entry("compiled_code", code)?;
            }
            return m.end();
        }
        m.serialize_entry("language", "sql")?;
        m.serialize_entry("refs", &Refs(&n.refs))?;
        m.serialize_entry("sources", &Sources(&n.sources))?;
        m.serialize_entry("metrics", &[(); 0])?;
        let deps = DependsOn {
            macros: &n.depends_on_macros,
            nodes: Some(&n.depends_on_nodes),
        };
        m.serialize_entry("depends_on", &deps)?;
        // dbt leaves a snapshot's compiled_path unset even once it is compiled.
        let compiled_path = match (&n.compiled_code, rt) {
            (Some(_), ResourceType::Snapshot) | (None, _) => None,
            (Some(_), _) => Some(env.target_file("compiled", n)),
        };
        m.serialize_entry("compiled_path", &compiled_path)?;
        if let Some(code) = &n.compiled_code {
            m.serialize_entry("compiled", &true)?;
            m.serialize_entry("compiled_code", code)?;
            m.serialize_entry("extra_ctes_injected", &true)?;
            m.serialize_entry("extra_ctes", &[(); 0])?;
        }
        let enforced = match n.config.get("contract") {
            Some(Value::Object(c)) => c.get("enforced").cloned(),
            _ => None,
        };
        let enforced = enforced.unwrap_or(Value::Bool(false));
        let checksum = (enforced == Value::Bool(true)).then(|| {
            let config = ConfigJson::of(n);
            let materialized = config.get("materialized");
            contract_checksum(n, materialized.as_deref().and_then(Value::as_str))
        });
        let contract = Contract { enforced, checksum };
        m.serialize_entry("contract", &contract)?;
        match rt {
            ResourceType::Model => {
                match (&text, &parts) {
                    (Some(t), _) => m.serialize_entry("access", &*t.access)?,
                    (_, Some(p)) => m.serialize_entry("access", &p.access())?,
                    _ => {}
                }
                m.serialize_entry("constraints", &n.constraints)?;
                let json = |v: &Option<String>| v.as_deref().map(version_json);
                m.serialize_entry("version", &json(&n.version))?;
                m.serialize_entry("latest_version", &json(&n.latest_version))?;
                m.serialize_entry("deprecation_date", &n.deprecation_date)?;
                m.serialize_entry("primary_key", &env.primary_key(n))?;
                m.serialize_entry("time_spine", &n.time_spine)?;
            }
            ResourceType::Test => {
                if let Some(tm) = &n.test_metadata {
                    m.serialize_entry("column_name", &n.column_name)?;
                    m.serialize_entry("file_key_name", &n.file_key_name)?;
                    m.serialize_entry("attached_node", &n.attached_node)?;
                    m.serialize_entry("test_metadata", &TestMetadataJson(tm))?;
                } else if let Some(mt) = n.definition.get("metric_test") {
                    // A built-in metric test (sluice's `data_tests:` under a metric): its kind and
                    // arguments as written, plus the metric, like a generic test's kwargs.
                    let mut kwargs = mt.get("args").cloned().unwrap_or_default();
                    if let Value::Object(k) = &mut kwargs {
                        k.insert(
                            "metric_name".into(),
                            mt.get("metric").cloned().unwrap_or_default(),
                        );
                    }
                    m.serialize_entry("column_name", &())?;
                    m.serialize_entry("file_key_name", &n.file_key_name)?;
                    m.serialize_entry("attached_node", &())?;
                    m.serialize_entry(
                        "test_metadata",
                        &serde_json::json!({
                            "name": mt.get("kind"), "kwargs": kwargs, "namespace": Value::Null
                        }),
                    )?;
                }
            }
            ResourceType::Operation => {
                // Its place in its project's hooks (0-based), as parsed; a hook this command
                // ran is numbered as dbt's run numbers them: from 1, in run order, per kind.
                let index = match env.hook_run_index.get(&n.unique_id) {
                    Some(i) if env.built.contains(&n.unique_id) => Some(*i),
                    _ => n
                        .name
                        .rsplit('-')
                        .next()
                        .and_then(|i| i.parse::<u64>().ok()),
                };
                m.serialize_entry("index", &index)?;
            }
            _ => {}
        }
        m.end()
    }
}
