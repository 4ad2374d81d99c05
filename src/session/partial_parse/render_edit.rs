//! The partial parse of a model whose Jinja changed in a way its text cannot tell: the file is
//! rendered as a parse renders it, before and after the edit, with the project's macros (loaded
//! alone, no other file of the project read) and the node's config as the manifest has it. When
//! both renders call the same macros, and the old one recorded what the manifest says the last
//! parse recorded (the same refs, sources and macros), the edit changed nothing a parse keeps
//! but the calls to `ref` and `source`, which [`super::ref_edit`] rewrites, and what its
//! `config(...)` calls set: a few keys that replace what they override and name no relation
//! (`materialized`, `unique_key` ...: [`PATCHED_CONFIG_KEYS`]) are written into the node's
//! `config` and `unrendered_config`; or none of those, and only the text and its checksum
//! change. A model's `schema`, `alias` or `database` set by the file is patched too: its
//! relation is named again through the project's naming macros (`generate_schema_name` &
//! friends) and its `relation_name` quoted as the old one was, provided the manifest names the
//! old relation in that entry alone and the semantic manifest does not (no semantic model or
//! time spine reads it).
//!
//! Anything else is a full parse: a render that fails (the full parse reports it), an
//! environment variable no earlier parse read, a node with hooks that call macros or `ref`
//! (the manifest's calls are then not the file's alone), another config key changed.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ref_edit::Calls;
use crate::compile::ParseServices;
use crate::project::Target;
use crate::templating::{NodeInfo, Recorded, RenderCtx, Templates};

/// The parse-phase renderer of a project's SQL files, from its macros alone.
pub(super) struct Renderer {
    templates: Arc<Templates>,
    services: Arc<ParseServices>,
    target: Target,
}

impl Renderer {
    /// The renderer of the project at `root` for `target` and `--vars` (`vars`); `None` when its
    /// macros do not load.
    pub(super) fn new(root: &Path, target: Target, vars: Option<&str>) -> Option<Renderer> {
        let project = crate::project::load_macros(root).ok()?;
        let opts = super::patch_parse_options(vars, None, false)?;
        let (templates, services) = crate::compile::template_env(&project, &target, &opts).ok()?;
        Some(Renderer {
            templates,
            services,
            target,
        })
    }

    /// The macros the renders run.
    pub(super) fn macros(&self) -> &crate::templating::MacroIndex {
        &self.templates.index
    }

    /// The node of `entry` as a parse-phase render sees it, with `config` as its config.
    fn node_info(
        &self,
        entry: &Map<String, Value>,
        config: Map<String, Value>,
    ) -> Option<NodeInfo> {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
        Some(NodeInfo {
            unique_id: field("unique_id")?,
            name: field("name")?,
            package: field("package_name")?,
            resource_type: field("resource_type")?,
            original_file_path: field("original_file_path")?,
            config: Arc::new(config.into()),
            this: Some(crate::sql::Relation::new(
                self.target.database.clone(),
                self.target.schema.clone(),
                field("name")?,
            )),
        })
    }

    /// What a parse of `text` as the node of `entry` records; `None` when it fails.
    pub(super) fn record(&self, entry: &Map<String, Value>, text: &str) -> Option<Recorded> {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
        let config = entry.get("config").and_then(Value::as_object)?.clone();
        let info = self.node_info(entry, config)?;
        let ctx = Arc::new(RenderCtx::node_parse(info, self.services.clone()));
        let file = field("original_file_path")?;
        ctx.set_file_render(true);
        self.templates.render(&file, text, &ctx).ok()?;
        Some(ctx.recorded())
    }

    /// The `database`, `schema` and `alias` of the model of `entry` with `config` as its config,
    /// as a parse names them; `None` when a naming macro fails.
    fn name(&self, entry: &Map<String, Value>, config: &Map<String, Value>) -> Option<[String; 3]> {
        let node = [
            "name",
            "unique_id",
            "resource_type",
            "package_name",
            "fqn",
            "path",
        ]
        .into_iter()
        .chain(["original_file_path", "tags", "version"])
        .map(|k| Some((k.to_string(), entry.get(k)?.clone())))
        .chain([Some(("config".to_string(), Value::Object(config.clone())))])
        .collect::<Option<Map<String, Value>>>()?;
        let custom = ["schema", "alias", "database"].map(|k| config.get(k).and_then(Value::as_str));
        let version = match entry.get("version")? {
            Value::Null => None,
            Value::String(v) => Some(v.clone()),
            v => Some(v.to_string()),
        };
        let info = self.node_info(entry, config.clone())?;
        let (name, package) = (info.name.clone(), info.package.clone());
        let naming = crate::compile::Naming {
            name: &name,
            package: &package,
            context: move || (info, Value::Object(node)),
            custom,
            version: version.as_deref(),
        };
        let [database, schema, alias] = naming
            .relation(&self.target, &self.templates, &self.services)
            .ok()?;
        let schema = self.target.dialect.schema_as_kept(&schema);
        Some([database, schema, alias])
    }
}

/// `relation_name` for the relation `now` (database, schema, alias), quoted as `old_name`
/// quotes the relation `was`: the quoting that writes `was` as `old_name` (the adapter's, with
/// the project's and the node's `quoting` over it) writes `now`. `None` when no single quoting
/// does.
fn relation_name_like(
    old_name: &str,
    was: &[String; 3],
    now: &[String; 3],
    dialect: crate::sql::Dialect,
) -> Option<String> {
    let base = dialect.quote_policy();
    let mut found: Option<String> = None;
    for bits in 0..8u8 {
        let quote = crate::sql::QuotePolicy {
            database: bits & 1 != 0,
            schema: bits & 2 != 0,
            identifier: bits & 4 != 0,
            ..base
        };
        let name = |[d, s, a]: &[String; 3]| {
            let rel = crate::sql::Relation::new(d.clone(), s.clone(), a.clone());
            crate::sql::Relation { quote, ..rel }.quoted()
        };
        if name(was) == old_name {
            let new = name(now);
            if found.as_ref().is_some_and(|f| *f != new) {
                return None;
            }
            found = Some(new);
        }
    }
    found
}

/// The config keys that name a model's relation (through the naming macros).
const RELATION_CONFIG_KEYS: [&str; 3] = ["schema", "alias", "database"];

/// Patches the manifest `entry` of a node for its file's new text `new` (its old text `old`)
/// as the module says, `repoint` rewriting its refs and sources (given the entry, the old calls
/// and the new); returns what the new text's render recorded, `None` when the edit is not one
/// this can patch. `env_read`: the environment variables the last full parse read;
/// `named_alone`: whether the manifest names a `relation_name` in one entry only (asked before
/// a model's relation is renamed).
pub(super) fn patch(
    renderer: &Renderer,
    entry: &mut Map<String, Value>,
    (old, new): (&str, &str),
    env_read: &std::collections::BTreeMap<String, Option<String>>,
    repoint: &mut dyn FnMut(&mut Map<String, Value>, &Calls, &Calls) -> bool,
    named_alone: &mut dyn FnMut(&str) -> bool,
) -> Option<Recorded> {
    let (before, after) = (renderer.record(entry, old)?, renderer.record(entry, new)?);
    let env_known = super::env_reads_known(env_read);
    if !(env_known && before.macros == after.macros && recorded_as(entry, &before)) {
        return None;
    }
    let changed = config_changes(entry, &before.config, &after.config)?;
    if !repoint(entry, &Calls::recorded(&before), &Calls::recorded(&after)) {
        return None;
    }
    let renamed = RELATION_CONFIG_KEYS
        .iter()
        .any(|k| changed.contains_key(*k));
    let relation = match renamed {
        true => Some(rename(renderer, entry, &changed, named_alone)?),
        false => None,
    };
    for (key, value) in changed {
        for section in ["config", "unrendered_config"] {
            if let Some(Value::Object(m)) = entry.get_mut(section) {
                m.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some((parts, relation_name)) = relation {
        for (key, value) in ["database", "schema", "alias"].into_iter().zip(parts) {
            entry.insert(key.to_string(), Value::String(value));
        }
        entry.insert("relation_name".to_string(), Value::String(relation_name));
    }
    Some(after)
}

/// What the new text of a node's file does to the `enabled` its `config(...)` calls set.
pub(super) enum Toggle {
    /// It sets what the old text set.
    Same,
    /// It now sets `enabled=false` (the literal), where the old text did not; what the new
    /// text's render recorded.
    Disables(Recorded),
    /// It no longer sets `enabled`, where the old text set `enabled=false` (the literal); what
    /// the new text's render recorded.
    Enables(Recorded),
}

/// What the new text `new` of the node of `entry` (its old text `old`) does to `enabled`
/// ([`Toggle`]), when it changes nothing else a parse records (its calls, its macros, its
/// other config); `None` when this cannot tell (a render fails, an environment variable no
/// earlier parse read, calls the entry does not record, another change with it).
pub(super) fn enabled_toggle(
    renderer: &Renderer,
    entry: &Map<String, Value>,
    (old, new): (&str, &str),
    env_read: &std::collections::BTreeMap<String, Option<String>>,
) -> Option<Toggle> {
    let (before, after) = (renderer.record(entry, old)?, renderer.record(entry, new)?);
    let without_enabled = |m: &Map<String, Value>| -> Map<String, Value> {
        m.iter()
            .map(|(k, v)| {
                let key = crate::project::config::normalize_key(k.trim_start_matches('+'));
                (key.to_string(), v.clone())
            })
            .filter(|(k, _)| k != "enabled")
            .collect()
    };
    let enabled = |m: &Map<String, Value>| {
        m.iter()
            .find(|(k, _)| k.trim_start_matches('+') == "enabled")
            .map(|(_, v)| v.clone())
    };
    let (was, is) = (enabled(&before.config), enabled(&after.config));
    if was == is {
        return Some(Toggle::Same);
    }
    static LITERAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\benabled\s*=\s*(false|False)\b").expect("a valid pattern")
    });
    let disabled =
        |v: &Option<Value>, text: &str| *v == Some(Value::Bool(false)) && LITERAL.is_match(text);
    let toggle = match (disabled(&was, old), disabled(&is, new)) {
        (false, true) => Toggle::Disables(after),
        (true, false) if is.is_none() => Toggle::Enables(after),
        _ => return None,
    };
    let after = match &toggle {
        Toggle::Disables(a) | Toggle::Enables(a) => a,
        Toggle::Same => return None,
    };
    let same = super::env_reads_known(env_read)
        && before.macros == after.macros
        && before.refs == after.refs
        && before.sources == after.sources
        && without_enabled(&before.config) == without_enabled(&after.config)
        && without_enabled(&before.config_written) == without_enabled(&after.config_written)
        && recorded_as(entry, &before);
    same.then_some(toggle)
}

/// The new `database`, `schema` and `alias` of the model of `entry` whose config `changed`
/// (some of them named by the changes) and its new `relation_name`; `None` when the entry is
/// not a model's with a relation named in it alone, or the naming fails.
fn rename(
    renderer: &Renderer,
    entry: &Map<String, Value>,
    changed: &Map<String, Value>,
    named_alone: &mut dyn FnMut(&str) -> bool,
) -> Option<([String; 3], String)> {
    (entry.get("resource_type")?.as_str()? == "model").then_some(())?;
    let old_name = entry.get("relation_name")?.as_str()?;
    let field = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
    let was = [field("database")?, field("schema")?, field("alias")?];
    let mut config = entry.get("config")?.as_object()?.clone();
    for (k, v) in changed {
        config.insert(k.clone(), v.clone());
    }
    // (The old naming must be what the manifest says: the macros see the same node.)
    let old_config = entry.get("config")?.as_object()?;
    (renderer.name(entry, old_config)? == was).then_some(())?;
    let now = renderer.name(entry, &config)?;
    let relation_name = relation_name_like(old_name, &was, &now, renderer.target.dialect)?;
    named_alone(old_name).then_some(())?;
    Some((now, relation_name))
}

/// The keys a `config(...)` call may change in a patch: set by the call, replacing what the
/// project or properties files say (no list or mapping dbt merges), and naming no relation
/// (`schema`, `alias` and `database` go through the naming macros).
const PATCHED_CONFIG_KEYS: [&str; 6] = [
    "materialized",
    "incremental_strategy",
    "unique_key",
    "on_schema_change",
    "on_configuration_change",
    "full_refresh",
];

/// What the node's `config` and `unrendered_config` take from its file's new `config(...)`
/// calls (`after`; they were `before`); `None` when a change is not one a patch can make: a
/// key no longer set by the file (its value comes from elsewhere), a key not in
/// [`PATCHED_CONFIG_KEYS`], an ephemeral model or one becoming ephemeral (its relation goes).
fn config_changes(
    entry: &Map<String, Value>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let normal = |m: &Map<String, Value>| -> Map<String, Value> {
        m.iter()
            .map(|(k, v)| {
                let key = crate::project::config::normalize_key(k.trim_start_matches('+'));
                (key.to_string(), v.clone())
            })
            .collect()
    };
    let (before, after) = (normal(before), normal(after));
    let mut changed = Map::new();
    for key in before.keys().chain(after.keys()) {
        let new = after.get(key)?;
        if before.get(key) == Some(new) || changed.contains_key(key) {
            continue;
        }
        let naming = RELATION_CONFIG_KEYS.contains(&key.as_str());
        if !PATCHED_CONFIG_KEYS.contains(&key.as_str()) && !naming {
            return None;
        }
        // (A string with Jinja in it is rendered again by a full parse.)
        let jinja = |t: &str| t.contains("{{") || t.contains("{%");
        // (`materialized` must name a materialization: a full parse refuses anything else.)
        let scalar = matches!(new, Value::String(t) if !jinja(t))
            || key != "materialized" && !naming && matches!(new, Value::Bool(_) | Value::Null)
            || key == "unique_key"
                && new
                    .as_array()
                    .is_some_and(|a| a.iter().all(|v| v.as_str().is_some_and(|t| !jinja(t))));
        if !scalar {
            return None;
        }
        changed.insert(key.clone(), new.clone());
    }
    if !changed.is_empty() {
        let materialized = |m: &Map<String, Value>| {
            m.get("materialized")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let was = entry
            .get("config")
            .and_then(Value::as_object)
            .and_then(materialized);
        let ephemeral = |m: Option<String>| m.is_none_or(|m| m == "ephemeral");
        if ephemeral(was) || ephemeral(materialized(&after)) && changed.contains_key("materialized")
        {
            return None;
        }
    }
    Some(changed)
}

/// Whether `rec` is what the manifest `entry` says its node's parse recorded (its refs, sources
/// and macros), as the entry of a node without hooks writes them.
pub(super) fn recorded_as(entry: &Map<String, Value>, rec: &Recorded) -> bool {
    let refs = serde_json::to_value(crate::artifacts::node_json::Refs(&rec.refs));
    let sources = serde_json::to_value(crate::artifacts::node_json::Sources(&rec.sources));
    let macros = entry.get("depends_on").and_then(|d| d.get("macros"));
    matches!(refs, Ok(r) if entry.get("refs") == Some(&r))
        && matches!(sources, Ok(s) if entry.get("sources") == Some(&s))
        && macros == Some(&Value::from(rec.macros.clone()))
}
