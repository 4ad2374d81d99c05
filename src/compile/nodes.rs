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
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) const ALL: [ResourceType; 10] = [
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
    pub(crate) fn parse(s: &str) -> Option<Self> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Nodes that are built as relations and can be `ref`'d.
    pub(crate) fn is_refable(self) -> bool {
        matches!(
            self,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        )
    }
}

pub(crate) use crate::project::{Materialization, NodeConfig};

/// A documented column.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnDef {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) data_type: Option<String>,
    pub(crate) meta: Map<String, Value>,
    pub(crate) tags: Vec<String>,
    pub(crate) quote: Option<bool>,
    /// `constraints:`, each with dbt's defaults filled in.
    pub(crate) constraints: Vec<Value>,
    /// Time-spine columns: `granularity`.
    pub(crate) granularity: Option<String>,
    /// The ids of the docs blocks its description calls (dbt's `doc_blocks`).
    pub(crate) doc_blocks: Vec<String>,
    /// Keys of the column's entry that dbt does not know (`mapping_instructions: ...`), kept
    /// as written, after the others, as dbt keeps them.
    pub(crate) extra: Map<String, Value>,
}

/// The keys of a column's properties entry dbt reads (any other is kept as an extra).
pub(crate) const COLUMN_KEYS: [&str; 12] = [
    "name",
    "description",
    "meta",
    "data_type",
    "constraints",
    "docs",
    "config",
    "data_tests",
    "tests",
    "quote",
    "tags",
    "granularity",
];

/// A generic test's metadata.
#[derive(Debug, Clone)]
pub(crate) struct TestMetadata {
    pub(crate) name: String,
    pub(crate) namespace: Option<String>,
    /// kwargs as written (unrendered), `model` last.
    pub(crate) kwargs: Map<String, Value>,
}

/// Source-only fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceInfo {
    pub(crate) source_name: String,
    pub(crate) source_description: String,
    pub(crate) loader: String,
    pub(crate) identifier: String,
    pub(crate) loaded_at_field: Option<String>,
    pub(crate) loaded_at_query: Option<String>,
    pub(crate) freshness: Value,
    pub(crate) source_meta: Map<String, Value>,
    /// The source's `database:` and `schema:` as written (before Jinja renders them), if given.
    pub(crate) unrendered_database: Option<String>,
    pub(crate) unrendered_schema: Option<String>,
}

/// One node of the project.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) unique_id: String,
    pub(crate) resource_type: ResourceType,
    pub(crate) name: String,
    pub(crate) package_name: String,
    /// Path relative to its resource folder (tests from YAML: `<name>.sql`).
    pub(crate) path: String,
    pub(crate) original_file_path: String,
    pub(crate) patch_path: Option<String>,
    pub(crate) fqn: Vec<String>,
    pub(crate) database: String,
    pub(crate) schema: String,
    pub(crate) alias: String,
    pub(crate) raw_code: String,
    pub(crate) checksum: crate::project::FileHash,
    /// Resolved config. Shared (copy on write): most nodes of a type keep a type's defaults, or
    /// one set of them, unchanged; write through [`Node::config_mut`].
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) unrendered_config: Map<String, Value>,
    pub(crate) tags: Vec<String>,
    pub(crate) description: String,
    /// The ids of the docs blocks its description calls (dbt's `doc_blocks`).
    pub(crate) doc_blocks: Vec<String>,
    pub(crate) columns: Vec<ColumnDef>,
    pub(crate) meta: Map<String, Value>,
    pub(crate) refs: Vec<RefCall>,
    pub(crate) sources: Vec<(String, String)>,
    pub(crate) depends_on_nodes: Vec<String>,
    pub(crate) depends_on_macros: Vec<String>,
    pub(crate) compiled_code: Option<String>,
    pub(crate) test_metadata: Option<TestMetadata>,
    pub(crate) column_name: Option<String>,
    pub(crate) attached_node: Option<String>,
    pub(crate) file_key_name: Option<String>,
    /// Versioned models: the version (`v: 2` -> `"2"`, as dbt formats it into ids and names).
    pub(crate) version: Option<String>,
    /// Versioned models: the model's latest version.
    pub(crate) latest_version: Option<String>,
    /// Models: `deprecation_date` (the version's, for a versioned model), in ISO form.
    pub(crate) deprecation_date: Option<String>,
    /// Models: `time_spine` (`standard_granularity_column`, `custom_granularities`).
    pub(crate) time_spine: Option<Value>,
    /// Models: model-level `constraints:` (the version's, for a versioned model).
    pub(crate) constraints: Vec<Value>,
    /// Boxed: only sources have it, and inline it would be over a fifth of every node's size.
    pub(crate) source: Option<Box<SourceInfo>>,
    /// Unit tests and exposures keep their YAML definition.
    pub(crate) definition: Value,
    /// How its relation name is quoted: the root project's `quoting:`, then the node's own.
    pub(crate) quote_policy: crate::sql::QuotePolicy,
    /// What the parse-phase render of its own file ran of the project's macros and what its
    /// `config(...)` calls set (`None`: no macro of the project or a package ran).
    pub(crate) file_render: Option<Arc<FileRender>>,
    /// The keys its properties entry's `config:` sets to values the parse renders (Jinja, or a
    /// `|` block's text): dbt's `unrendered_config` records them rendered.
    pub(crate) rendered_entry_keys: Vec<String>,
}

/// What a parse-phase render of a node's file depends on besides its text, for partial parsing
/// (`session::partial_parse`): the macro files it ran, and its own `config(...)` calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileRender {
    /// The files (template names) of the macros the render ran, in the order first run.
    pub(crate) macro_files: Vec<String>,
    /// The merged `config(...)` calls of the file, as JSON.
    pub(crate) config: String,
}

impl FileRender {
    /// What `rec` says of a render; `None` when it ran no macro of the project or a package.
    pub(crate) fn of(rec: &crate::templating::Recorded) -> Option<FileRender> {
        (!rec.macro_files.is_empty()).then(|| FileRender {
            macro_files: rec.macro_files.clone(),
            config: serde_json::to_string(&rec.config).unwrap_or_default(),
        })
    }
}

impl Node {
    pub(crate) fn new(
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
            checksum: Default::default(),
            config: Arc::default(),
            unrendered_config: Map::new(),
            tags: vec![],
            description: String::new(),
            doc_blocks: vec![],
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
            file_render: None,
            rendered_entry_keys: Vec::new(),
        }
    }

    /// The config, for writing (copied first when it is shared).
    pub(crate) fn config_mut(&mut self) -> &mut NodeConfig {
        Arc::make_mut(&mut self.config)
    }

    /// `config.materialized`, typed.
    pub(crate) fn materialization(&self) -> Materialization {
        self.config.materialization()
    }

    /// `config.materialized` as written (`""` when unset).
    pub(crate) fn materialized(&self) -> &str {
        self.config.materialized()
    }

    pub(crate) fn relation(&self) -> Relation {
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
    pub(crate) fn relation_name(&self) -> Option<String> {
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
            // A data test that stores its failures names the relation that holds them.
            ResourceType::Test if self.stores_failures(false).is_some() => {
                Some(self.relation().quoted())
            }
            _ => None,
        }
    }

    /// Whether (and as what) a data test keeps its failing rows: `store_failures_as` (`table`,
    /// `view`; `ephemeral` keeps none) decides where set, else `store_failures` (the node's
    /// config, else `flag`: `--store-failures`) keeps them in a table, as dbt decides.
    pub(crate) fn stores_failures(&self, flag: bool) -> Option<crate::sql::RelationKind> {
        use crate::sql::RelationKind;
        match self.config_str("store_failures_as") {
            Some(a) if a.eq_ignore_ascii_case("table") => Some(RelationKind::Table),
            Some(a) if a.eq_ignore_ascii_case("view") => Some(RelationKind::View),
            Some(a) if a.eq_ignore_ascii_case("ephemeral") => None,
            _ => self
                .config_bool("store_failures")
                .unwrap_or(flag)
                .then_some(RelationKind::Table),
        }
    }

    /// A versioned model that is its model's latest version (what an unversioned `ref` picks).
    pub(crate) fn is_latest_version(&self) -> bool {
        self.version.is_some() && self.version == self.latest_version
    }

    pub(crate) fn config_str(&self, key: &str) -> Option<&str> {
        self.config.str(key)
    }

    pub(crate) fn config_bool(&self, key: &str) -> Option<bool> {
        self.config.bool(key)
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.config.enabled()
    }

    /// `generic`, `singular` or `unit` for tests.
    pub(crate) fn test_type(&self) -> Option<&'static str> {
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
pub(crate) struct DocBlock {
    pub(crate) unique_id: String,
    pub(crate) name: String,
    pub(crate) package_name: String,
    pub(crate) original_file_path: String,
    pub(crate) block_contents: String,
}

/// One `on-run-start` / `on-run-end` entry of a project's `dbt_project.yml`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProjectHook {
    /// The project (root or package) whose `dbt_project.yml` has it.
    pub(crate) package: String,
    /// `on-run-start` or `on-run-end`.
    pub(crate) which: &'static str,
    /// Its place in that project's list.
    pub(crate) index: usize,
    pub(crate) sql: String,
}

impl ProjectHook {
    /// `<package>-on-run-start-<index>`, the name of its `operation` node.
    pub(crate) fn name(&self) -> String {
        format!("{}-{}-{}", self.package, self.which, self.index)
    }
    pub(crate) fn unique_id(&self) -> String {
        format!("operation.{}.{}", self.package, self.name())
    }
}

/// Everything sluice knows about the project after parsing (and, per node, compiling).
#[derive(Debug, Clone, Default)]
pub(crate) struct Manifest {
    pub(crate) project_name: String,
    pub(crate) adapter_type: String,
    /// Models, seeds, snapshots, tests, analyses (dbt's `nodes`).
    /// Boxed: a node is over a kilobyte, and the map moves its values as it grows.
    pub(crate) nodes: BTreeMap<String, Box<Node>>,
    pub(crate) sources: BTreeMap<String, Node>,
    pub(crate) unit_tests: BTreeMap<String, Node>,
    pub(crate) exposures: BTreeMap<String, Node>,
    pub(crate) macros: BTreeMap<String, crate::templating::MacroDef>,
    pub(crate) docs: BTreeMap<String, DocBlock>,
    pub(crate) groups: BTreeMap<String, Value>,
    pub(crate) semantic_models: BTreeMap<String, Value>,
    pub(crate) metrics: BTreeMap<String, Value>,
    pub(crate) saved_queries: BTreeMap<String, Value>,
    /// The semantic layer's entries in dbt's manifest node shape (unique id, paths, fqn,
    /// `depends_on`, config ...), by unique id, made by `metrics::manifest` after parsing; the
    /// raw definitions above stand in for any entry missing here (one that does not parse).
    pub(crate) semantic_entries: BTreeMap<String, Value>,
    /// Saved queries as runnable graph nodes (`build` writes their exports), keyed like
    /// `saved_queries`; made by `metrics::nodes` after parsing. Not part of `all_nodes()`, so
    /// `nodes`, `parent_map` and `child_map` of manifest.json are unchanged.
    pub(crate) saved_query_nodes: BTreeMap<String, Node>,
    pub(crate) disabled: BTreeMap<String, Vec<Node>>,
    /// Project hooks (`on-run-start`, `on-run-end`), rendered at run time.
    pub(crate) on_run_start: Vec<ProjectHook>,
    /// The `operation` node of every hook, by unique id (written among the manifest's nodes).
    pub(crate) operations: BTreeMap<String, Node>,
    pub(crate) on_run_end: Vec<ProjectHook>,
    /// Folder of each installed package, by package name (their files are relative to it).
    pub(crate) package_roots: BTreeMap<String, std::path::PathBuf>,
    /// The files of the macros the parse ran other than in nodes' own files (their hooks and
    /// configs, generic tests, relation names ...); `None` when it cannot tell (a macro ran
    /// outside any render).
    pub(crate) macro_files_elsewhere: Option<std::collections::BTreeSet<String>>,
    /// The files of generic tests' macros the parse did not run because they call no
    /// `config(` (what makes the tests depends on that).
    pub(crate) test_macro_files: std::collections::BTreeSet<String>,
    /// `selectors.yml`'s selectors by name, as dbt records them: rendered, as written.
    pub(crate) selectors: serde_json::Map<String, Value>,
}

impl Manifest {
    /// Every metric: the definitions as written, and those only the semantic layer has (made
    /// from measures with `create_metric: true`) in their manifest shape.
    pub(crate) fn all_metrics(&self) -> BTreeMap<&String, &Value> {
        let mut out: BTreeMap<&String, &Value> = self.metrics.iter().collect();
        for (id, v) in &self.semantic_entries {
            if id.starts_with("metric.") {
                out.entry(id).or_insert(v);
            }
        }
        out
    }

    /// A node of dbt's `nodes` by id: a model, seed, snapshot, test, analysis, or a run hook's
    /// operation.
    pub(crate) fn node_or_hook(&self, id: &str) -> Option<&Node> {
        self.nodes
            .get(id)
            .map(|n| &**n)
            .or_else(|| self.operations.get(id))
    }

    /// [`Manifest::node_or_hook`], to change it.
    pub(crate) fn node_or_hook_mut(&mut self, id: &str) -> Option<&mut Node> {
        match self.nodes.get_mut(id) {
            Some(n) => Some(&mut **n),
            None => self.operations.get_mut(id),
        }
    }

    /// Any node by id (nodes, sources, unit tests, exposures).
    pub(crate) fn get(&self, id: &str) -> Option<&Node> {
        self.nodes
            .get(id)
            .map(|n| &**n)
            .or_else(|| self.sources.get(id))
            .or_else(|| self.unit_tests.get(id))
            .or_else(|| self.exposures.get(id))
            .or_else(|| self.saved_query_nodes.get(id))
    }

    pub(crate) fn all_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .values()
            .map(|n| &**n)
            .chain(self.sources.values())
            .chain(self.unit_tests.values())
            .chain(self.exposures.values())
    }
}
