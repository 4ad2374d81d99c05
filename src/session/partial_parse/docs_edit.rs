//! The partial parse of a documentation edit: descriptions changed in the project's properties
//! files, and nothing else in them. A description of a model, seed, snapshot or analysis, of a
//! source or source table, or of one of their columns, reaches the manifest as written (when it
//! holds no Jinja and no `doc()` call), in the one place its entry names; nothing else of the
//! parse depends on it. So when the rest of the file is as the last full parse read it, the
//! changed descriptions are written into the manifest's entries
//! ([`crate::artifacts::patch_manifest_nodes`]) instead of parsing again.
//!
//! A full parse keeps, per properties file of the root project, the checksum of its YAML with
//! those descriptions taken out (its shape) and a checksum of each description, in the order
//! [`places`] finds them. A changed file whose shape is the same has the same places: the
//! descriptions whose checksums differ are the edit. Anything else (another key changed, a
//! versioned model's description, a description with Jinja, a file of a package) is a full
//! parse.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::Session;

/// What a full parse keeps of one properties file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Described {
    /// The checksum of the file's YAML with its descriptions taken out.
    shape: String,
    /// Each description's checksum, in [`places`] order.
    descriptions: Vec<u64>,
}

/// Where a description lands in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Place {
    /// The `description` of the entry `id`, or of its column.
    Node { id: String, column: Option<String> },
    /// The `source_description` of each of a source's tables.
    Source { tables: Vec<String> },
}

/// The changes a documentation edit makes to one manifest entry.
#[derive(Debug, Default)]
pub(super) struct DocsEdit {
    description: Option<String>,
    source_description: Option<String>,
    /// Column name and its description, in the file's order (a later one of the same name wins).
    columns: Vec<(String, String)>,
}

impl DocsEdit {
    /// The values the edit sets in a manifest entry, each by its path of keys (a column's
    /// description under `columns` and the column's name), in order.
    pub(super) fn sets(&self) -> Vec<(Vec<String>, Value)> {
        let top = |key: &str, d: &Option<String>| {
            let d = d.as_ref()?;
            Some((vec![key.to_string()], Value::String(d.clone())))
        };
        let columns = self.columns.iter().map(|(name, d)| {
            let path = ["columns", name, "description"].map(String::from).to_vec();
            (path, Value::String(d.clone()))
        });
        top("description", &self.description)
            .into_iter()
            .chain(top("source_description", &self.source_description))
            .chain(columns)
            .collect()
    }

    /// Writes the edit into `entry`; false when the entry lacks a column it names.
    pub(super) fn apply(&self, entry: &mut Map<String, Value>) -> bool {
        self.sets().into_iter().all(|(path, value)| {
            let Some((last, within)) = path.split_last() else {
                return false;
            };
            let mut map = Some(&mut *entry);
            for key in within {
                map = map
                    .and_then(|m| m.get_mut(key))
                    .and_then(Value::as_object_mut);
            }
            map.map(|m| m.insert(last.clone(), value)).is_some()
        })
    }
}

/// The properties files of `s`'s root project, each with what [`patch`] compares it by.
///
/// With it, what `survey` makes of each file that calls a docs block (`doc(`), given its YAML
/// and its descriptions' places, in the files' order.
pub(super) fn save<T: Send>(
    s: &Session,
    survey: impl Fn(&Value, &[(Place, &str)]) -> T + Sync,
) -> (BTreeMap<std::path::PathBuf, Described>, Vec<T>) {
    let package = &s.project.config.name;
    let each: Vec<(Option<(std::path::PathBuf, Described)>, Option<T>)> = s
        .project
        .yaml_files
        .par_iter()
        .map(|f| {
            let places = places(&f.value, package);
            let found = places.as_ref().map_or(&[][..], |(_, found)| found);
            let surveyed = f.text.contains("doc(").then(|| survey(&f.value, found));
            let described = places.as_ref().map(|(shape, found)| {
                let path = s.project.root.join(&f.original_file_path);
                (path, described_by(shape, found))
            });
            (described, surveyed)
        })
        .collect();
    let mut files = BTreeMap::new();
    let mut surveyed = Vec::new();
    for (d, t) in each {
        files.extend(d);
        surveyed.extend(t);
    }
    (files, surveyed)
}

/// What a full parse keeps of a file whose YAML is `value`; `None` when it documents nothing.
pub(super) fn described(value: &Value, package: &str) -> Option<Described> {
    let (shape, found) = places(value, package)?;
    Some(described_by(&shape, &found))
}

fn described_by(shape: &Shape, found: &[(Place, &str)]) -> Described {
    Described {
        shape: shape.checksum(),
        descriptions: found.iter().map(|(_, text)| text_checksum(text)).collect(),
    }
}

/// The edits of the properties file at `path`, last kept as `before` (updated to the file as it
/// is now), added to `edits` by manifest entry. `None` when the change is not a documentation
/// edit this can patch.
pub(super) fn patch(
    path: &Path,
    package: &str,
    before: &mut Described,
    edits: &mut BTreeMap<String, DocsEdit>,
) -> Option<()> {
    let text = std::fs::read_to_string(path).ok()?;
    let (value, warnings) = crate::project::yaml::parse_checked(&text, path).ok()?;
    if !warnings.is_empty() {
        return None;
    }
    let (shape, found) = places(&value, package)?;
    if shape.checksum() != before.shape || found.len() != before.descriptions.len() {
        return None;
    }
    for ((place, text), sum) in found.into_iter().zip(before.descriptions.iter_mut()) {
        let now = text_checksum(text);
        if now == *sum {
            continue;
        }
        // `doc()` and other Jinja are rendered by a full parse.
        if text.contains("{{") || text.contains("{%") || text.contains("doc(") {
            return None;
        }
        *sum = now;
        describe(edits, place, text);
    }
    Some(())
}

/// Adds to `edits` the description `text` written at `place`.
pub(super) fn describe(edits: &mut BTreeMap<String, DocsEdit>, place: Place, text: &str) {
    match place {
        Place::Node { id, column: None } => {
            edits.entry(id).or_default().description = Some(text.to_string());
        }
        Place::Node {
            id,
            column: Some(name),
        } => edits
            .entry(id)
            .or_default()
            .columns
            .push((name, text.to_string())),
        Place::Source { tables } => {
            for id in tables {
                edits.entry(id).or_default().source_description = Some(text.to_string());
            }
        }
    }
}

/// The YAML `value` with its descriptions taken out (written as null), and each description
/// with its place, in document order; `None` when the file documents nothing.
pub(super) fn places<'a>(
    value: &'a Value,
    package: &str,
) -> Option<(Shape<'a>, Vec<(Place, &'a str)>)> {
    let Value::Object(top) = value else {
        return None;
    };
    let mut shape = Shape {
        value,
        taken: HashSet::new(),
    };
    let mut found = Vec::new();
    for (key, rtype) in [
        ("models", "model"),
        ("seeds", "seed"),
        ("snapshots", "snapshot"),
        ("analyses", "analysis"),
    ] {
        let Some(Value::Array(entries)) = top.get(key) else {
            continue;
        };
        for entry in entries {
            // A versioned model's descriptions reach several nodes: parsed in full.
            if entry.get("versions").is_some() {
                continue;
            }
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            let id = format!("{rtype}.{package}.{name}");
            shape.take_described(entry, &id, &mut found);
        }
    }
    if let Some(Value::Array(sources)) = top.get("sources") {
        for source in sources {
            let Some(name) = source.get("name").and_then(Value::as_str) else {
                continue;
            };
            let Some(Value::Array(tables)) = source.get("tables") else {
                continue;
            };
            let ids: Vec<String> = tables
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(|t| format!("source.{package}.{name}.{t}"))
                .collect();
            // Every table must have a name for the source's description to reach them all.
            if ids.len() != tables.len() {
                continue;
            }
            for (table, id) in tables.iter().zip(&ids) {
                shape.take_described(table, id, &mut found);
            }
            if let Some(text) = shape.take(source) {
                found.push((Place::Source { tables: ids }, text));
            }
        }
    }
    (!found.is_empty()).then_some((shape, found))
}

/// A properties file's YAML with the descriptions [`places`] found taken out: a view of the
/// file's value that serialises as a copy of it with those descriptions set to null would. (A
/// view, as copying every file's YAML tree was most of what a full parse spent keeping them.)
pub(super) struct Shape<'a> {
    value: &'a Value,
    /// The objects whose `description` is taken out, by address.
    taken: HashSet<usize>,
}

impl<'a> Shape<'a> {
    /// Takes the description of `entry` and of its columns.
    fn take_described(&mut self, entry: &'a Value, id: &str, found: &mut Vec<(Place, &'a str)>) {
        if let Some(text) = self.take(entry) {
            let place = Place::Node {
                id: id.to_string(),
                column: None,
            };
            found.push((place, text));
        }
        let Some(Value::Array(columns)) = entry.get("columns") else {
            return;
        };
        for column in columns {
            let Some(name) = column.get("name").and_then(Value::as_str) else {
                continue;
            };
            if let Some(text) = self.take(column) {
                let place = Place::Node {
                    id: id.to_string(),
                    column: Some(name.to_string()),
                };
                found.push((place, text));
            }
        }
    }

    /// The string `description` of `entry`, taken out of the shape.
    fn take(&mut self, entry: &'a Value) -> Option<&'a str> {
        let Value::Object(map) = entry else {
            return None;
        };
        let text = map.get("description").and_then(Value::as_str)?;
        self.taken.insert(address(map));
        Some(text)
    }

    /// The shape as JSON.
    fn json(&self) -> ShapeJson<'_, 'a> {
        ShapeJson {
            shape: self,
            value: self.value,
        }
    }

    /// The shape's checksum: of its JSON text.
    fn checksum(&self) -> String {
        crate::project::sha256_hex(&serde_json::to_vec(&self.json()).unwrap_or_default())
    }
}

fn address(map: &Map<String, Value>) -> usize {
    std::ptr::from_ref(map) as usize
}

/// One value of a [`Shape`], as JSON.
struct ShapeJson<'s, 'a> {
    shape: &'s Shape<'a>,
    value: &'a Value,
}

impl Serialize for ShapeJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let within = |value| ShapeJson {
            shape: self.shape,
            value,
        };
        match self.value {
            Value::Object(map) => {
                let taken = self.shape.taken.contains(&address(map));
                let mut out = s.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    if taken && key == "description" {
                        out.serialize_entry(key, &())?;
                    } else {
                        out.serialize_entry(key, &within(value))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => s.collect_seq(items.iter().map(within)),
            other => other.serialize(s),
        }
    }
}

/// FNV-1a: a checksum that is the same in every process (descriptions are compared with the
/// file they came from, so a collision is not a concern worth a longer one).
fn text_checksum(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        crate::project::yaml::parse_checked(text, Path::new("m.yml"))
            .unwrap()
            .0
    }

    const DOCS: &str = "version: 2
models:
  - name: orders
    description: All orders
    columns:
      - name: id
        description: The key
      - name: amount
  - name: versioned
    description: several nodes
    versions: [{v: 1}]
sources:
  - name: raw
    description: The raw data
    tables:
      - name: events
        description: Events
";

    #[test]
    fn descriptions_are_found_in_their_places_and_left_out_of_the_shape() {
        let v = yaml(DOCS);
        let (shape, found) = places(&v, "shop").unwrap();
        let texts: Vec<&str> = found.iter().map(|(_, t)| *t).collect();
        assert_eq!(texts, ["All orders", "The key", "Events", "The raw data"]);
        assert_eq!(
            found[1].0,
            Place::Node {
                id: "model.shop.orders".into(),
                column: Some("id".into())
            }
        );
        assert_eq!(
            found[3].0,
            Place::Source {
                tables: vec!["source.shop.raw.events".into()]
            }
        );
        // The versioned model's description stays in the shape.
        let shape = serde_json::to_value(shape.json()).unwrap();
        assert_eq!(shape["models"][1]["description"], "several nodes");
        assert!(shape["models"][0]["description"].is_null());
        // Nothing else of the file is taken out.
        let mut copy = v.clone();
        copy["models"][0]["description"] = Value::Null;
        copy["models"][0]["columns"][0]["description"] = Value::Null;
        copy["sources"][0]["description"] = Value::Null;
        copy["sources"][0]["tables"][0]["description"] = Value::Null;
        assert_eq!(shape, copy);
        // Only descriptions changed: the same shape.
        let edited = yaml(&DOCS.replace("The key", "The primary key"));
        assert_eq!(
            described(&v, "shop").unwrap().shape,
            described(&edited, "shop").unwrap().shape
        );
        // Anything else changed: another shape.
        for other in [
            DOCS.replace("name: amount", "name: total"),
            DOCS.replace("several nodes", "many nodes"),
            DOCS.replace("      - name: amount\n", ""),
        ] {
            assert_ne!(
                described(&v, "shop").unwrap().shape,
                described(&yaml(&other), "shop").unwrap().shape,
                "{other}"
            );
        }
        assert!(places(&yaml("version: 2\nmacros: []\n"), "shop").is_none());
    }

    #[test]
    fn an_edit_writes_descriptions_and_refuses_a_column_the_entry_lacks() {
        let mut entry = serde_json::json!({
            "description": "old",
            "columns": {"id": {"name": "id", "description": ""}}
        });
        let entry = entry.as_object_mut().unwrap();
        let edit = DocsEdit {
            description: Some("new".into()),
            source_description: None,
            columns: vec![("id".into(), "a".into()), ("id".into(), "b".into())],
        };
        assert!(edit.apply(entry));
        assert_eq!(entry["description"], "new");
        assert_eq!(entry["columns"]["id"]["description"], "b");
        let missing = DocsEdit {
            columns: vec![("gone".into(), "x".into())],
            ..DocsEdit::default()
        };
        assert!(!missing.apply(entry));
    }
}
