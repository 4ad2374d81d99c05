//! Project loading: find `dbt_project.yml`, read it and every file the project is made of.
//!
//! Input: a directory. Output: a [`Project`] holding the parsed `dbt_project.yml`
//! ([`ProjectConfig`]) and the raw text of every model, test, snapshot, analysis, macro, seed,
//! docs and properties file, read in parallel. Nothing here renders Jinja or resolves refs: that
//! is `templating` and `compile`'s job. Jinja inside `dbt_project.yml` values is kept verbatim and
//! rendered later, because it may call `var()`/`env_var()`/`target` which need the profile.

pub mod config;
pub(crate) mod node_config;
pub(crate) mod packages;
pub(crate) mod profile;
mod read;
pub(crate) mod seeds;
pub(crate) mod walk;
pub mod yaml;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use crate::diagnostics::{Code, Diagnostic, Location};
pub(crate) use config::{CommentText, ProjectConfig, QueryComment, DBT_VERSION};
pub(crate) use node_config::{Materialization, NodeConfig};
pub(crate) use profile::{EngineLookup, Target};
pub(crate) use read::{lower_hex, read_text, seed_checksum, sha256_hex, FileHash, FileStamp};

/// What a file is, by the path it was found under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FileKind {
    Model,
    Analysis,
    /// A singular data test (`test-paths/**/*.sql`, outside `generic/`).
    SingularTest,
    Snapshot,
    /// Macros, including `{% test %}` blocks and `test-paths/generic/*.sql`.
    Macro,
}

/// A SQL (Jinja) file of the project.
#[derive(Debug, Clone)]
pub(crate) struct SqlFile {
    pub(crate) kind: FileKind,
    /// Path relative to the project root, with forward slashes (`models/staging/stg_orders.sql`).
    pub(crate) original_file_path: String,
    /// Path relative to the resource folder it was found in (`staging/stg_orders.sql`).
    pub(crate) path: String,
    pub(crate) contents: String,
}

/// A properties (`.yml`) file, parsed.
#[derive(Debug, Clone)]
pub struct YamlFile {
    pub original_file_path: String,
    pub text: String,
    pub value: Value,
}

/// A seed CSV (read lazily when loaded into the warehouse).
#[derive(Debug, Clone)]
pub(crate) struct SeedFile {
    pub(crate) original_file_path: String,
    pub(crate) path: String,
    pub(crate) checksum: FileHash,
}

/// A markdown file holding `{% docs %}` blocks.
#[derive(Debug, Clone)]
pub(crate) struct DocsFile {
    pub(crate) original_file_path: String,
    pub(crate) contents: String,
}

/// A unit-test fixture file (`<test-path>/fixtures/**/<name>.csv|sql`), named by `fixture:` in a
/// unit test's `given` or `expect`. Such files are not singular tests.
#[derive(Debug, Clone)]
pub(crate) struct FixtureFile {
    pub(crate) name: String,
    /// `csv` or `sql`.
    pub(crate) format: String,
    pub(crate) original_file_path: String,
}

/// A loaded dbt project (a root project, or one installed package).
#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub(crate) root: PathBuf,
    pub(crate) config: ProjectConfig,
    pub(crate) sql_files: Vec<SqlFile>,
    pub(crate) yaml_files: Vec<YamlFile>,
    pub(crate) seed_files: Vec<SeedFile>,
    pub(crate) docs_files: Vec<DocsFile>,
    pub(crate) fixture_files: Vec<FixtureFile>,
    /// Installed packages (each a project of its own, loaded from `packages-install-path`),
    /// sorted by folder; empty for a package itself.
    pub(crate) packages: Vec<Project>,
    /// What reading the files warned about (keys given twice in `dbt_project.yml` or a
    /// properties file, as dbt warns), packages' included.
    pub(crate) warnings: Vec<Diagnostic>,
    /// The stamp of each SQL, properties and docs file as it was opened to be read, by path
    /// (for partial parsing, which would otherwise ask the system again for each file).
    pub(crate) read_stamps: std::collections::HashMap<PathBuf, FileStamp>,
}

impl Project {
    /// The stamp of the file at `path` when this project or one of its packages read it.
    pub(crate) fn read_stamp(&self, path: &Path) -> Option<FileStamp> {
        std::iter::once(self)
            .chain(&self.packages)
            .find_map(|p| p.read_stamps.get(path))
            .copied()
    }
}

/// Walks up from `start` to the nearest folder holding `dbt_project.yml`.
pub(crate) fn find_root(start: &Path) -> Result<PathBuf, Diagnostic> {
    let start = std::fs::canonicalize(start).map_err(|e| {
        Diagnostic::error(
            Code::Project,
            format!(
                "Invalid value for '--project-dir': Path '{}' does not exist or cannot be opened ({e})",
                start.display()
            ),
        )
        .with_hint("pass the folder that holds dbt_project.yml")
    })?;
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        if d.join("dbt_project.yml").is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(Diagnostic::error(
        Code::Project,
        format!(
            "no `dbt_project.yml` found in `{}` or any parent directory",
            start.display()
        ),
    )
    .with_hint("run sluice inside a dbt project, or pass `--project-dir PATH`"))
}

/// Loads the project at `root` (which must hold `dbt_project.yml`) and its installed packages.
pub(crate) fn load(root: &Path) -> Result<Project, Vec<Diagnostic>> {
    load_with(root, Yaml::Parse)
}

/// [`load`], leaving every properties file unparsed (its [`YamlFile::value`] null, its
/// warnings unknown): for telling whether any file changed since an earlier load.
pub(crate) fn load_unparsed(root: &Path) -> Result<Project, Vec<Diagnostic>> {
    load_with(root, Yaml::Skip)
}

/// [`load`] of the macros alone (the SQL files of each project's macro folders and of its
/// tests' `generic/` folders): no other file is walked or read. For rendering a few files as a
/// parse would, the rest of the project known from an earlier parse.
pub(crate) fn load_macros(root: &Path) -> Result<Project, Vec<Diagnostic>> {
    load_with(root, Yaml::MacrosOnly)
}

/// Whether loading parses the properties files it reads (and whether it reads anything but
/// macros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Yaml {
    Parse,
    Skip,
    MacrosOnly,
}

fn load_with(root: &Path, yaml: Yaml) -> Result<Project, Vec<Diagnostic>> {
    let mut project = load_one(root, yaml)?;
    packages::check_installed(root, &project.config.packages_install_path).map_err(|d| vec![d])?;
    let mut errors = Vec::new();
    for inst in packages::installed(&root.join(&project.config.packages_install_path)) {
        if inst.name == project.config.name {
            continue;
        }
        match load_one(&inst.path, yaml) {
            Ok(mut p) => {
                // As dbt, a package's properties files are checked; its dbt_project.yml is not.
                let folder = relative(root, &inst.path);
                let checked = std::mem::take(&mut p.warnings).into_iter().filter(|d| {
                    d.location
                        .as_ref()
                        .is_none_or(|l| l.file != Path::new("dbt_project.yml"))
                });
                project.warnings.extend(checked.map(|mut d| {
                    if let Some(l) = &mut d.location {
                        l.file = Path::new(&folder).join(&l.file);
                    }
                    d
                }));
                project.packages.push(p)
            }
            Err(ds) => {
                let folder = relative(root, &inst.path);
                errors.extend(ds.into_iter().map(|mut d| {
                    if let Some(l) = &mut d.location {
                        l.file = Path::new(&folder).join(&l.file);
                    }
                    d
                }));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(project)
}

/// What a load of `project` depends on besides the contents of the files it read: the folders
/// it walks (every resource folder of the project and of each package) and the files it reads
/// outside them (each `dbt_project.yml`, the root's package lists and its packages' install
/// folder). A change to any of them, or to an entry under a walked folder, can change what a new
/// load finds; `session::partial_parse` keeps the stamps of all of them.
pub(crate) struct Watched {
    pub(crate) folders: Vec<PathBuf>,
    pub(crate) files: Vec<PathBuf>,
}

pub(crate) fn watched(project: &Project) -> Watched {
    let mut folders = Vec::new();
    let mut files = Vec::new();
    // (`selectors.yml` is written into the manifest.)
    for name in [
        "packages.yml",
        "dependencies.yml",
        "package-lock.yml",
        "selectors.yml",
    ] {
        files.push(project.root.join(name));
    }
    files.push(project.root.join(&project.config.packages_install_path));
    for p in std::iter::once(project).chain(&project.packages) {
        files.push(p.root.join("dbt_project.yml"));
        let c = &p.config;
        for folder in [
            &c.model_paths,
            &c.analysis_paths,
            &c.snapshot_paths,
            &c.macro_paths,
            &c.test_paths,
            &c.seed_paths,
            &c.docs_paths,
        ]
        .into_iter()
        .flatten()
        {
            let dir = p.root.join(folder);
            if !folders.contains(&dir) {
                folders.push(dir);
            }
        }
    }
    Watched { folders, files }
}

/// Loads the project at `root` alone: no packages, and no check that they are installed (for
/// commands that work before `sluice deps`, such as `clean` and `debug`).
pub(crate) fn load_without_packages(root: &Path) -> Result<Project, Vec<Diagnostic>> {
    load_one(root, Yaml::Parse)
}

/// The files of a project, found but not read yet.
#[derive(Default)]
struct Found {
    /// SQL files: (kind, resource folder, absolute path).
    jobs: Vec<(FileKind, String, PathBuf)>,
    yaml_paths: Vec<PathBuf>,
    /// Seeds: (seed folder, absolute path).
    seed_paths: Vec<(String, PathBuf)>,
    docs_paths: Vec<PathBuf>,
    fixture_files: Vec<FixtureFile>,
}

/// Walks the project's resource folders (in sorted order) for the files each kind of resource
/// reads: SQL, YAML, Markdown docs, seeds' CSV and unit-test fixtures (`macros_only`: the
/// macros' SQL files alone).
fn find_files(root: &Path, config: &ProjectConfig, macros_only: bool) -> Found {
    let mut found = Found::default();
    let Found {
        jobs,
        yaml_paths,
        seed_paths,
        docs_paths,
        fixture_files,
    } = &mut found;

    let walk = |folder: &str, f: &mut dyn FnMut(&Path)| {
        let dir = root.join(folder);
        if !dir.is_dir() {
            return;
        }
        // Each folder's entries sorted by name, depth first: the paths come in `Path` order
        // (component by component) without sorting 10,000 paths by their components.
        for e in walk::entries(&dir) {
            if let walk::Walked::Entry { path, kind } = e {
                if kind.is_file() {
                    f(&path);
                }
            }
        }
    };

    let ext = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let is_yaml = |p: &Path| matches!(ext(p).as_str(), "yml" | "yaml");
    let mut seen_yaml = std::collections::BTreeSet::new();

    let resource_folders: [(&Vec<String>, FileKind); 5] = [
        (&config.model_paths, FileKind::Model),
        (&config.analysis_paths, FileKind::Analysis),
        (&config.snapshot_paths, FileKind::Snapshot),
        (&config.macro_paths, FileKind::Macro),
        (&config.test_paths, FileKind::SingularTest),
    ];
    if macros_only {
        for folder in &config.macro_paths {
            walk(folder, &mut |p| {
                if ext(p) == "sql" {
                    jobs.push((FileKind::Macro, folder.clone(), p.to_path_buf()));
                }
            });
        }
        for folder in &config.test_paths {
            let generic = format!("{}/generic", folder.trim_end_matches('/'));
            walk(&generic, &mut |p| {
                if ext(p) == "sql" {
                    jobs.push((FileKind::Macro, folder.clone(), p.to_path_buf()));
                }
            });
        }
        return found;
    }
    for (folders, kind) in resource_folders {
        for folder in folders {
            walk(folder, &mut |p| {
                let e = ext(p);
                if kind == FileKind::SingularTest && is_fixture_dir(root, folder, p) {
                    if e == "sql" || e == "csv" {
                        fixture_files.push(FixtureFile {
                            name: p
                                .file_stem()
                                .map(|s| s.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                            format: e,
                            original_file_path: relative(root, p),
                        });
                    }
                } else if e == "sql" {
                    let kind =
                        if kind == FileKind::SingularTest && is_generic_test_dir(root, folder, p) {
                            FileKind::Macro
                        } else {
                            kind
                        };
                    jobs.push((kind, folder.clone(), p.to_path_buf()));
                } else if is_yaml(p) && seen_yaml.insert(p.to_path_buf()) {
                    yaml_paths.push(p.to_path_buf());
                } else if e == "md" {
                    docs_paths.push(p.to_path_buf());
                }
            });
        }
    }
    for folder in &config.seed_paths {
        walk(folder, &mut |p| {
            let e = ext(p);
            if e == "csv" {
                seed_paths.push((folder.clone(), p.to_path_buf()));
            } else if is_yaml(p) && seen_yaml.insert(p.to_path_buf()) {
                yaml_paths.push(p.to_path_buf());
            } else if e == "md" {
                docs_paths.push(p.to_path_buf());
            }
        });
    }
    for folder in &config.docs_paths {
        walk(folder, &mut |p| {
            if ext(p) == "md" && !docs_paths.contains(&p.to_path_buf()) {
                docs_paths.push(p.to_path_buf());
            }
        });
    }
    found
}

/// Loads one project (a root project or one package), without its packages.
fn load_one(root: &Path, yaml: Yaml) -> Result<Project, Vec<Diagnostic>> {
    let config = ProjectConfig::load(root).map_err(|d| vec![d])?;
    let Found {
        jobs,
        yaml_paths,
        seed_paths,
        docs_paths,
        fixture_files,
    } = find_files(root, &config, yaml == Yaml::MacrosOnly);
    let rel = |p: &Path| relative(root, p);
    // Every file is read first, by the reading threads (`read::read_all`), then made sense of.
    let paths: Vec<&Path> = jobs
        .iter()
        .map(|(_, _, p)| p.as_path())
        .chain(yaml_paths.iter().map(PathBuf::as_path))
        .chain(docs_paths.iter().map(PathBuf::as_path))
        .collect();
    let mut read_stamps = std::collections::HashMap::with_capacity(paths.len());
    let texts: Vec<Result<String, Diagnostic>> = paths
        .iter()
        .zip(read::read_all(&paths, rel))
        .map(|(p, read)| {
            let (text, stamp) = read?;
            if let Some(stamp) = stamp {
                read_stamps.insert(p.to_path_buf(), stamp);
            }
            Ok(text)
        })
        .collect();
    let mut texts = texts.into_iter();
    let sql_texts: Vec<_> = texts.by_ref().take(jobs.len()).collect();
    let yaml_texts: Vec<_> = texts.by_ref().take(yaml_paths.len()).collect();
    let docs_texts: Vec<_> = texts.collect();

    let sql_results: Vec<Result<SqlFile, Diagnostic>> = jobs
        .par_iter()
        .zip(sql_texts)
        .map(|((kind, folder, p), text)| {
            let contents = text?;
            let original_file_path = rel(p);
            let path = relative(&root.join(folder), p);
            Ok(SqlFile {
                kind: *kind,
                original_file_path,
                path,
                contents,
            })
        })
        .collect();
    let yaml_results: Vec<Result<(YamlFile, Vec<Diagnostic>), Diagnostic>> = yaml_paths
        .par_iter()
        .zip(yaml_texts)
        .map(|(p, text)| {
            let text = text?;
            let original_file_path = rel(p);
            let (value, warnings) = match yaml {
                Yaml::Parse => yaml::parse_checked(&text, Path::new(&original_file_path))?,
                Yaml::Skip | Yaml::MacrosOnly => (Value::Null, Vec::new()),
            };
            Ok((
                YamlFile {
                    original_file_path,
                    text,
                    value,
                },
                warnings,
            ))
        })
        .collect();
    let docs_results: Vec<Result<DocsFile, Diagnostic>> = docs_paths
        .par_iter()
        .zip(docs_texts)
        .map(|(p, text)| {
            Ok(DocsFile {
                original_file_path: rel(p),
                contents: text?,
            })
        })
        .collect();
    let seed_results: Vec<Result<SeedFile, Diagnostic>> = seed_paths
        .par_iter()
        .map(|(folder, p)| {
            let io = |e: std::io::Error| {
                Diagnostic::error(Code::Io, format!("cannot read `{}`: {e}", rel(p)))
                    .in_file(rel(p))
            };
            Ok(SeedFile {
                original_file_path: rel(p),
                path: relative(&root.join(folder), p),
                checksum: seed_checksum(p, &rel(p)).map_err(io)?,
            })
        })
        .collect();

    let mut errors = Vec::new();
    let sql_files = collect(sql_results, &mut errors);
    let mut warnings = config.warnings.clone();
    let yaml_files = collect(yaml_results, &mut errors)
        .into_iter()
        .map(|(f, w)| {
            warnings.extend(w);
            f
        })
        .collect();
    let docs_files = collect(docs_results, &mut errors);
    let seed_files = collect(seed_results, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Project {
        root: root.to_path_buf(),
        config,
        sql_files,
        yaml_files,
        seed_files,
        docs_files,
        fixture_files,
        packages: Vec::new(),
        warnings,
        read_stamps,
    })
}

fn collect<T>(results: Vec<Result<T, Diagnostic>>, errors: &mut Vec<Diagnostic>) -> Vec<T> {
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(d) => errors.push(d),
        }
    }
    out
}

fn is_generic_test_dir(root: &Path, folder: &str, p: &Path) -> bool {
    p.strip_prefix(root.join(folder))
        .ok()
        .and_then(|r| r.components().next())
        .is_some_and(|c| c.as_os_str() == "generic")
}

/// Whether `p` lies under `<folder>/fixtures/` (unit-test fixtures, as dbt reads them).
fn is_fixture_dir(root: &Path, folder: &str, p: &Path) -> bool {
    p.strip_prefix(root.join(folder))
        .ok()
        .and_then(|r| r.components().next())
        .is_some_and(|c| c.as_os_str() == "fixtures")
        && p.parent() != Some(root.join(folder).as_path())
}

/// `p` relative to `base`, with forward slashes.
pub(crate) fn relative(base: &Path, p: &Path) -> String {
    let r = p.strip_prefix(base).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A located error in a YAML properties file entry.
pub(crate) fn yaml_entry_error(file: &YamlFile, name: &str, code: Code, msg: String) -> Diagnostic {
    let d = Diagnostic::error(code, msg);
    match yaml::line_of_name(&file.text, name) {
        Some(line) => d.at(Location::at(&file.original_file_path, line, 1)),
        None => d.in_file(&file.original_file_path),
    }
}
