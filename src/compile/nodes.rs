//! The compiled project: [`Node`]s (models, seeds, snapshots, tests, analyses, sources, unit
//! tests, exposures) and the [`Manifest`] that holds them. Shapes follow dbt's manifest v12 so the
//! artifact writer is a plain mapping.

use std::collections::BTreeMap;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::sql::Relation;
use crate::templating::RefCall;

/// dbt's resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    Model,
    Seed,
    Snapshot,
    Test,
    Analysis,
    Source,
    UnitTest,
    Exposure,
    Operation,
    /// A saved query of the semantic layer: run by `build` to write its exports.
    SavedQuery,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Test => "test",
            ResourceType::Analysis => "analysis",
            ResourceType::Source => "source",
            ResourceType::UnitTest => "unit_test",
            ResourceType::Exposure => "exposure",
            ResourceType::Operation => "operation",
            ResourceType::SavedQuery => "saved_query",
        }
    }

    /// Every resource type a node can have.
    pub const ALL: [ResourceType; 10] = [
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
        ResourceType::Test,
        ResourceType::Analysis,
        ResourceType::Source,
        ResourceType::UnitTest,
        ResourceType::Exposure,
        ResourceType::Operation,
        ResourceType::SavedQuery,
    ];

    /// The resource type dbt spells `s` (`model`, `unit_test`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Nodes that are built as relations and can be `ref`'d.
    pub fn is_refable(self) -> bool {
        matches!(
            self,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        )
    }
}

pub use crate::project::{Materialization, NodeConfig};

/// A documented column.
#[derive(Debug, Clone, Default)]
pub struct ColumnDef {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
    pub meta: Map<String, Value>,
    pub tags: Vec<String>,
    pub quote: Option<bool>,
    /// `constraints:`, each with dbt's defaults filled in.
    pub constraints: Vec<Value>,
    /// Time-spine columns: `granularity`.
    pub granularity: Option<String>,
}

/// A generic test's metadata.
#[derive(Debug, Clone)]
pub struct TestMetadata {
    pub name: String,
    pub namespace: Option<String>,
    /// kwargs as written (unrendered), `model` last.
    pub kwargs: Map<String, Value>,
}

/// Source-only fields.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    pub source_name: String,
    pub source_description: String,
    pub loader: String,
    pub identifier: String,
    pub loaded_at_field: Option<String>,
    pub freshness: Value,
    pub source_meta: Map<String, Value>,
}

/// One node of the project.
#[derive(Debug, Clone)]
pub struct Node {
    pub unique_id: String,
    pub resource_type: ResourceType,
    pub name: String,
    pub package_name: String,
    /// Path relative to its resource folder (tests from YAML: `<name>.sql`).
    pub path: String,
    pub original_file_path: String,
    pub patch_path: Option<String>,
    pub fqn: Vec<String>,
    pub database: String,
    pub schema: String,
    pub alias: String,
    pub raw_code: String,
    pub checksum: String,
    /// Resolved config. Shared (copy on write): most nodes of a type keep a type's defaults, or
    /// one set of them, unchanged; write through [`Node::config_mut`].
    pub config: Arc<NodeConfig>,
    pub unrendered_config: Map<String, Value>,
    pub tags: Vec<String>,
    pub description: String,
    pub columns: Vec<ColumnDef>,
    pub meta: Map<String, Value>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub depends_on_nodes: Vec<String>,
    pub depends_on_macros: Vec<String>,
    pub compiled_code: Option<String>,
    pub test_metadata: Option<TestMetadata>,
    pub column_name: Option<String>,
    pub attached_node: Option<String>,
    pub file_key_name: Option<String>,
    /// Versioned models: the version (`v: 2` -> `"2"`, as dbt formats it into ids and names).
    pub version: Option<String>,
    /// Versioned models: the model's latest version.
    pub latest_version: Option<String>,
    /// Models: `deprecation_date` (the version's, for a versioned model), in ISO form.
    pub deprecation_date: Option<String>,
    /// Models: `time_spine` (`standard_granularity_column`, `custom_granularities`).
    pub time_spine: Option<Value>,
    /// Models: model-level `constraints:` (the version's, for a versioned model).
    pub constraints: Vec<Value>,
    pub source: Option<SourceInfo>,
    /// Unit tests and exposures keep their YAML definition.
    pub definition: Value,
    /// How its relation name is quoted: the root project's `quoting:`, then the node's own.
    pub quote_policy: crate::sql::QuotePolicy,
}

impl Node {
    pub fn new(
        unique_id: String,
        resource_type: ResourceType,
        name: String,
        package_name: String,
    ) -> Self {
        Node {
            unique_id,
            resource_type,
            name,
            package_name,
            path: String::new(),
            original_file_path: String::new(),
            patch_path: None,
            fqn: vec![],
            database: String::new(),
            schema: String::new(),
            alias: String::new(),
            raw_code: String::new(),
            checksum: String::new(),
            config: Arc::default(),
            unrendered_config: Map::new(),
            tags: vec![],
            description: String::new(),
            columns: vec![],
            meta: Map::new(),
            refs: vec![],
            sources: vec![],
            depends_on_nodes: vec![],
            depends_on_macros: vec![],
            compiled_code: None,
            test_metadata: None,
            column_name: None,
            attached_node: None,
            file_key_name: None,
            version: None,
            latest_version: None,
            deprecation_date: None,
            time_spine: None,
            constraints: vec![],
            source: None,
            definition: Value::Null,
            quote_policy: crate::sql::QuotePolicy::default(),
        }
    }

    /// The config, for writing (copied first when it is shared).
    pub fn config_mut(&mut self) -> &mut NodeConfig {
        Arc::make_mut(&mut self.config)
    }

    /// `config.materialized`, typed.
    pub fn materialization(&self) -> Materialization {
        self.config.materialization()
    }

    /// `config.materialized` as written (`""` when unset).
    pub fn materialized(&self) -> &str {
        self.config.materialized()
    }

    pub fn relation(&self) -> Relation {
        Relation {
            quote: self.quote_policy,
            ..Relation::new(
                self.database.clone(),
                self.schema.clone(),
                self.alias.clone(),
            )
        }
    }

    /// `relation_name` in the manifest: the quoted relation, or None for ephemeral models and
    /// nodes that are not built.
    pub fn relation_name(&self) -> Option<String> {
        match self.resource_type {
            ResourceType::Model
            | ResourceType::Seed
            | ResourceType::Snapshot
            | ResourceType::Source => {
                if self.materialization() == Materialization::Ephemeral {
                    None
                } else {
                    Some(self.relation().quoted())
                }
            }
            _ => None,
        }
    }

    /// A versioned model that is its model's latest version (what an unversioned `ref` picks).
    pub fn is_latest_version(&self) -> bool {
        self.version.is_some() && self.version == self.latest_version
    }

    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config.str(key)
    }

    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.config.bool(key)
    }

    pub fn is_enabled(&self) -> bool {
        self.config.enabled()
    }

    /// `generic`, `singular` or `unit` for tests.
    pub fn test_type(&self) -> Option<&'static str> {
        match self.resource_type {
            // Before `generic`: a custom metric test macro carries test_metadata too.
            ResourceType::Test if self.definition.get("metric_test").is_some() => Some("metric"),
            ResourceType::Test if self.test_metadata.is_some() => Some("generic"),
            ResourceType::Test => Some("singular"),
            ResourceType::UnitTest => Some("unit"),
            _ => None,
        }
    }
}

/// A `{% docs %}` block.
#[derive(Debug, Clone)]
pub struct DocBlock {
    pub unique_id: String,
    pub name: String,
    pub package_name: String,
    pub original_file_path: String,
    pub block_contents: String,
}

/// One `on-run-start` / `on-run-end` entry of a project's `dbt_project.yml`.
#[derive(Debug, Clone, Default)]
pub struct ProjectHook {
    /// The project (root or package) whose `dbt_project.yml` has it.
    pub package: String,
    /// `on-run-start` or `on-run-end`.
    pub which: &'static str,
    /// Its place in that project's list.
    pub index: usize,
    pub sql: String,
}

impl ProjectHook {
    /// `<package>-on-run-start-<index>`, the name of its `operation` node.
    pub fn name(&self) -> String {
        format!("{}-{}-{}", self.package, self.which, self.index)
    }
    pub fn unique_id(&self) -> String {
        format!("operation.{}.{}", self.package, self.name())
    }
}

/// Everything sluice knows about the project after parsing (and, per node, compiling).
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub project_name: String,
    pub adapter_type: String,
    /// Models, seeds, snapshots, tests, analyses (dbt's `nodes`).
    /// Boxed: a node is over a kilobyte, and the map moves its values as it grows.
    pub nodes: BTreeMap<String, Box<Node>>,
    pub sources: BTreeMap<String, Node>,
    pub unit_tests: BTreeMap<String, Node>,
    pub exposures: BTreeMap<String, Node>,
    pub macros: BTreeMap<String, crate::templating::MacroDef>,
    pub docs: BTreeMap<String, DocBlock>,
    pub groups: BTreeMap<String, Value>,
    pub semantic_models: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, Value>,
    pub saved_queries: BTreeMap<String, Value>,
    /// The semantic layer's entries in dbt's manifest node shape (unique id, paths, fqn,
    /// `depends_on`, config ...), by unique id, made by `metrics::manifest` after parsing; the
    /// raw definitions above stand in for any entry missing here (one that does not parse).
    pub semantic_entries: BTreeMap<String, Value>,
    /// Saved queries as runnable graph nodes (`build` writes their exports), keyed like
    /// `saved_queries`; made by `metrics::nodes` after parsing. Not part of `all_nodes()`, so
    /// `nodes`, `parent_map` and `child_map` of manifest.json are unchanged.
    pub saved_query_nodes: BTreeMap<String, Node>,
    pub disabled: BTreeMap<String, Vec<Node>>,
    /// Project hooks (`on-run-start`, `on-run-end`), rendered at run time.
    pub on_run_start: Vec<ProjectHook>,
    /// The `operation` node of every hook, by unique id (written among the manifest's nodes).
    pub operations: BTreeMap<String, Node>,
    pub on_run_end: Vec<ProjectHook>,
    /// Folder of each installed package, by package name (their files are relative to it).
    pub package_roots: BTreeMap<String, std::path::PathBuf>,
}

impl Manifest {
    /// Every metric: the definitions as written, and those only the semantic layer has (made
    /// from measures with `create_metric: true`) in their manifest shape.
    pub fn all_metrics(&self) -> BTreeMap<&String, &Value> {
        let mut out: BTreeMap<&String, &Value> = self.metrics.iter().collect();
        for (id, v) in &self.semantic_entries {
            if id.starts_with("metric.") {
                out.entry(id).or_insert(v);
            }
        }
        out
    }

    /// Any node by id (nodes, sources, unit tests, exposures).
    pub fn get(&self, id: &str) -> Option<&Node> {
        self.nodes
            .get(id)
            .map(|n| &**n)
            .or_else(|| self.sources.get(id))
            .or_else(|| self.unit_tests.get(id))
            .or_else(|| self.exposures.get(id))
            .or_else(|| self.saved_query_nodes.get(id))
    }

    pub fn all_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .values()
            .map(|n| &**n)
            .chain(self.sources.values())
            .chain(self.unit_tests.values())
            .chain(self.exposures.values())
    }

    /// parent_map: every node's parents (sorted).
    pub fn parent_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut m = BTreeMap::new();
        for n in self.all_nodes() {
            let mut deps = n.depends_on_nodes.clone();
            deps.sort();
            deps.dedup();
            m.insert(n.unique_id.clone(), deps);
        }
        m
    }

    /// child_map: every node's children (sorted).
    pub fn child_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = self
            .all_nodes()
            .map(|n| (n.unique_id.clone(), vec![]))
            .collect();
        for n in self.all_nodes() {
            for d in &n.depends_on_nodes {
                if let Some(children) = m.get_mut(d) {
                    if !children.contains(&n.unique_id) {
                        children.push(n.unique_id.clone());
                    }
                }
            }
        }
        for v in m.values_mut() {
            v.sort();
        }
        m
    }
}
