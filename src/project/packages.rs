//! Packages: `packages.yml` / `dependencies.yml`, installing them (`sluice deps`) and finding the
//! installed ones under `packages-install-path` (default `dbt_packages/`).
//!
//! Owns the package specs (`local:`, `package:` from the hub, `git:`), their install and the
//! checks that what is installed is what was asked for. Loading an installed package as a project
//! of its own is [`super::load`]'s job.
//!
//! Design decision: sluice never downloads anything. `local:` packages are linked (a symlink, as
//! dbt does; a copy where links are not possible); hub and git packages must already be vendored
//! into the install folder, and are checked against the requested version when the package's
//! `dbt_project.yml` states one. Why: builds must be reproducible offline and in CI, and a
//! package folder checked into a repository (or restored from a cache) is the vendoring unit
//! every dbt user already knows.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::yaml;
use crate::diagnostics::{Code, Diagnostic, Location};

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PackageSource {
    /// `local: path` (relative to the project root).
    Local(String),
    /// `package: owner/name` with `version:` (one constraint or a list).
    Hub {
        package: String,
        version: Vec<String>,
    },
    /// `git: url` with optional `revision:` and `subdirectory:`.
    Git {
        url: String,
        revision: Option<String>,
        subdirectory: Option<String>,
    },
}

/// One entry of `packages.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageSpec {
    pub(crate) source: PackageSource,
    /// Line of the entry in the file, for diagnostics.
    pub(crate) line: usize,
}

impl PackageSpec {
    /// The folder name dbt would install this package under, when it can be known without
    /// reading the package (hub: the part after `/`; git: the repository name).
    pub(crate) fn expected_name(&self) -> Option<String> {
        match &self.source {
            PackageSource::Local(_) => None,
            PackageSource::Hub { package, .. } => {
                Some(package.rsplit('/').next().unwrap_or(package).to_string())
            }
            PackageSource::Git {
                url, subdirectory, ..
            } => {
                let base = match subdirectory {
                    Some(s) => s.trim_end_matches('/').rsplit('/').next().unwrap_or(s),
                    None => url.trim_end_matches('/').rsplit('/').next().unwrap_or(url),
                };
                Some(base.trim_end_matches(".git").to_string())
            }
        }
    }

    pub(crate) fn describe(&self) -> String {
        match &self.source {
            PackageSource::Local(p) => format!("local: {p}"),
            PackageSource::Hub { package, version } => {
                format!("package: {package} (version {})", version.join(", "))
            }
            PackageSource::Git { url, revision, .. } => match revision {
                Some(r) => format!("git: {url} (revision {r})"),
                None => format!("git: {url}"),
            },
        }
    }
}

/// The packages file found at the project root: (file name, its entries).
pub(crate) fn read_specs(root: &Path) -> Result<Option<(String, Vec<PackageSpec>)>, Diagnostic> {
    for file in ["packages.yml", "dependencies.yml"] {
        let path = root.join(file);
        if !path.is_file() {
            continue;
        }
        let text = super::read_text(&path, file)?;
        return parse_specs(file, &text).map(|s| Some((file.to_string(), s)));
    }
    Ok(None)
}

/// Parses the text of `packages.yml` / `dependencies.yml` (named `file` in diagnostics).
pub(crate) fn parse_specs(file: &str, text: &str) -> Result<Vec<PackageSpec>, Diagnostic> {
    let value = yaml::parse(text, Path::new(file))?;
    let entries = match value.get("packages") {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => vec![],
        Some(_) => {
            return Err(Diagnostic::error(
                Code::Packages,
                format!("`packages:` in `{file}` must be a list"),
            )
            .at(Location::at(file, line_of(text, "packages:", 0), 1))
            .with_hint("write `packages:` followed by `- package: dbt-labs/dbt_utils` entries"))
        }
    };
    let mut out = Vec::new();
    let mut search_from = 0;
    for e in entries {
        let line = entry_line(text, &mut search_from);
        let at = Location::at(file, line, 1);
        let str_of = |k: &str| e.get(k).and_then(scalar);
        let source = if let Some(p) = str_of("local") {
            PackageSource::Local(render_env(&p).map_err(|e| {
                Diagnostic::error(Code::Packages, format!("cannot render `local: {p}`: {e}"))
                    .at(at.clone())
                    .with_hint("`local:` paths may use {{ env_var('NAME', 'default') }}")
            })?)
        } else if let Some(p) = str_of("package") {
            let version = match e.get("version") {
                Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
                Some(v) => scalar(v).into_iter().collect(),
                None => vec![],
            };
            if version.is_empty() {
                return Err(Diagnostic::error(
                    Code::Packages,
                    format!("hub package `{p}` has no `version:`"),
                )
                .at(at)
                .with_hint("add e.g. `version: [\">=1.0.0\", \"<2.0.0\"]` under the entry"));
            }
            PackageSource::Hub {
                package: p,
                version,
            }
        } else if let Some(url) = str_of("git") {
            PackageSource::Git {
                url,
                revision: str_of("revision"),
                subdirectory: str_of("subdirectory"),
            }
        } else if e.get("tarball").is_some() || e.get("private").is_some() {
            return Err(Diagnostic::error(
                Code::Packages,
                "`tarball:` and `private:` packages are not supported by sluice",
            )
            .at(at)
            .with_hint("vendor the package into the install folder and list it as `local:`"));
        } else {
            return Err(Diagnostic::error(
                Code::Packages,
                "a package entry needs one of `local:`, `package:` or `git:`",
            )
            .at(at)
            .with_hint("e.g. `- package: dbt-labs/dbt_utils` with `version: 1.3.3`"));
        };
        out.push(PackageSpec { source, line });
    }
    Ok(out)
}

/// Renders `{{ env_var(...) }}` in a value (dbt renders packages.yml with `env_var`). Only
/// `local:` paths are rendered: hub and git entries are never fetched, and a git URL may carry a
/// token that must not reach the output.
fn render_env(s: &str) -> Result<String, String> {
    if !s.contains("{{") && !s.contains("{%") {
        return Ok(s.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.add_function("env_var", super::profile::env_var_fn);
    env.render_str(s, minijinja::context! {})
        .map_err(|e| e.detail().unwrap_or("invalid Jinja").to_string())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// 1-based line of the first `needle` at or after byte `from`.
fn line_of(text: &str, needle: &str, from: usize) -> usize {
    let pos = text[from.min(text.len())..]
        .find(needle)
        .map_or(0, |p| p + from);
    text[..pos].matches('\n').count() + 1
}

/// Line of the next list item (`- `) in the file, advancing `from`.
fn entry_line(text: &str, from: &mut usize) -> usize {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        let start = offset;
        offset += l.len();
        if start < *from {
            continue;
        }
        let t = l.trim_start();
        if t.starts_with("- ") || t == "-" || t == "-\n" {
            *from = offset;
            return text[..start].matches('\n').count() + 1;
        }
    }
    1
}

/// An installed package folder: its path and the name its `dbt_project.yml` states.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    pub(crate) path: PathBuf,
}

/// Every package installed under `install_dir` (folders holding `dbt_project.yml`), by folder
/// name. dbt loads every such folder, listed in `packages.yml` or not; so does sluice.
pub(crate) fn installed(install_dir: &Path) -> Vec<Installed> {
    let Ok(rd) = std::fs::read_dir(install_dir) else {
        return vec![];
    };
    let mut out: Vec<Installed> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("dbt_project.yml").is_file())
        .filter_map(|p| {
            let cfg = super::ProjectConfig::load(&p).ok()?;
            Some(Installed {
                name: cfg.name,
                version: cfg.version,
                path: p,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What `sluice deps` did for one entry.
#[derive(Debug, Clone)]
pub(crate) struct InstallReport {
    pub(crate) name: String,
    pub(crate) spec: String,
    /// `installed` (linked or copied) or `vendored` (already in place).
    pub(crate) action: &'static str,
    /// A version mismatch or similar, reported but not fatal.
    pub(crate) warning: Option<String>,
}

/// `sluice deps`: installs `local:` packages and checks hub/git ones are vendored.
pub(crate) fn install(
    root: &Path,
    install_path: &str,
    file: &str,
    specs: &[PackageSpec],
) -> Result<Vec<InstallReport>, Vec<Diagnostic>> {
    let dir = root.join(install_path);
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for spec in specs {
        let at = Location::at(file, spec.line, 1);
        match &spec.source {
            PackageSource::Local(p) => {
                let src = root.join(p);
                let cfg = match super::ProjectConfig::load(&src) {
                    Ok(c) => c,
                    Err(_) => {
                        errors.push(
                            Diagnostic::error(
                                Code::Packages,
                                format!("local package `{p}` has no readable `dbt_project.yml`"),
                            )
                            .at(at)
                            .with_hint(format!(
                                "`local:` paths are relative to the project folder: `{}/dbt_project.yml` should exist",
                                p.trim_end_matches('/')
                            )),
                        );
                        continue;
                    }
                };
                let dst = dir.join(&cfg.name);
                if let Err(e) = link_or_copy(&src, &dst) {
                    errors.push(
                        Diagnostic::error(
                            Code::Io,
                            format!("cannot install `{p}` into `{}`: {e}", dst.display()),
                        )
                        .at(at),
                    );
                    continue;
                }
                reports.push(InstallReport {
                    name: cfg.name,
                    spec: spec.describe(),
                    action: "installed",
                    warning: None,
                });
            }
            PackageSource::Hub { .. } | PackageSource::Git { .. } => {
                let name = spec.expected_name().unwrap_or_default();
                let found = find_vendored(&dir, &name);
                let Some(found) = found else {
                    errors.push(
                        Diagnostic::error(
                            Code::Packages,
                            format!(
                                "`{}` is not vendored: sluice does not download packages",
                                spec.describe()
                            ),
                        )
                        .at(at)
                        .with_hint(format!(
                            "put the package's source (the folder holding its dbt_project.yml) at `{install_path}/{name}/`, or list it as `local: <path>`"
                        )),
                    );
                    continue;
                };
                let warning = match (&spec.source, &found.version) {
                    (PackageSource::Hub { version, .. }, Some(v)) if !satisfies(v, version) => Some(format!(
                        "`{install_path}/{}` states version {v} in its dbt_project.yml, but `{file}` asks for {}; using it as vendored",
                        relative_name(&dir, &found.path),
                        version.join(", ")
                    )),
                    _ => None,
                };
                reports.push(InstallReport {
                    name: found.name,
                    spec: spec.describe(),
                    action: "vendored",
                    warning,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(reports)
    } else {
        Err(errors)
    }
}

fn relative_name(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// The installed package for a hub/git entry: the folder or project named `name`, compared as
/// package names compare across the hub, git and `dbt_project.yml` (see [`same_package`]).
fn find_vendored(dir: &Path, name: &str) -> Option<Installed> {
    let all = installed(dir);
    let folder = |i: &&Installed| {
        i.path
            .file_name()
            .is_some_and(|f| same_package(&f.to_string_lossy(), name))
    };
    all.iter()
        .find(folder)
        .or_else(|| all.iter().find(|i| same_package(&i.name, name)))
        .cloned()
}

/// Whether two spellings name the same package: case, `-` / `_` and a leading `dbt` word aside.
/// A git repository is often named after its project with a `dbt-` prefix (`dbt-audit-helper.git`
/// holds the project `audit_helper`, `dbt_fivetran_utils.git` holds `fivetran_utils`), and `dbt
/// deps` installs it under its project's name.
fn same_package(a: &str, b: &str) -> bool {
    fn key(s: &str) -> String {
        let s = s.to_ascii_lowercase().replace('-', "_");
        s.strip_prefix("dbt_").map(str::to_string).unwrap_or(s)
    }
    key(a) == key(b)
}

fn link_or_copy(src: &Path, dst: &Path) -> std::io::Result<()> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if dst.is_symlink() || dst.is_file() {
        std::fs::remove_file(dst)?;
    } else if dst.is_dir() {
        std::fs::remove_dir_all(dst)?;
    }
    let abs = std::fs::canonicalize(src)?;
    #[cfg(unix)]
    if std::os::unix::fs::symlink(&abs, dst).is_ok() {
        return Ok(());
    }
    copy_dir(&abs, dst)
}

/// Copies the folder `src` to `dst` with everything in it.
pub(crate) fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, dst.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Does `version` meet every constraint (`1.3.3`, `>=1.0.0`, `<2.0.0`, `==1.2`...)?
pub(crate) fn satisfies(version: &str, constraints: &[String]) -> bool {
    let Some(v) = super::config::semver(version) else {
        return true;
    };
    constraints.iter().all(|c| {
        let c = c.trim();
        let (op, rest) = [">=", "<=", "==", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("=", c));
        let Some(want) = super::config::semver(rest) else {
            return true;
        };
        match op {
            ">=" => v >= want,
            "<=" => v <= want,
            ">" => v > want,
            "<" => v < want,
            "!=" => v != want,
            _ => v == want,
        }
    })
}

/// Before parsing: every package the packages file asks for must be installed.
pub(crate) fn check_installed(root: &Path, install_path: &str) -> Result<(), Diagnostic> {
    let Some((file, specs)) = read_specs(root)? else {
        return Ok(());
    };
    let dir = root.join(install_path);
    let all = installed(&dir);
    let mut missing = Vec::new();
    for s in &specs {
        let ok = match &s.source {
            PackageSource::Local(p) => super::ProjectConfig::load(&root.join(p))
                .map(|c| all.iter().any(|i| i.name == c.name))
                .unwrap_or(false),
            _ => find_vendored(&dir, &s.expected_name().unwrap_or_default()).is_some(),
        };
        if !ok {
            missing.push(s);
        }
    }
    // dbt itself only counts: fewer installed packages than listed is an error. A vendored
    // package whose folder name cannot be told from its entry is therefore accepted while the
    // counts allow it.
    if all.len() >= specs.len() {
        missing.clear();
    }
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(Diagnostic::error(
            Code::Packages,
            format!(
                "{} package(s) listed in `{file}` are not installed in `{install_path}/`: {}",
                missing.len(),
                missing
                    .iter()
                    .map(|s| s.describe())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
        .at(Location::at(&file, first.line, 1))
        .with_hint("run `sluice deps` (hub and git packages must be vendored into the install folder first)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_with_lines() {
        let text = "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.3\n  - local: ../pkg\n  - git: https://example.invalid/org/dbt-date.git\n    revision: 0.17.1\n  - package: godatadriven/dbt_date\n    version: [\">=0.17.0\", \"<0.18.0\"]\n";
        let specs = parse_specs("packages.yml", text).unwrap();
        assert_eq!(specs.len(), 4);
        assert_eq!(specs[0].line, 2);
        assert_eq!(specs[1].source, PackageSource::Local("../pkg".into()));
        assert_eq!(specs[1].line, 4);
        assert_eq!(specs[2].expected_name().as_deref(), Some("dbt-date"));
        assert_eq!(specs[3].line, 7);
        match &specs[3].source {
            PackageSource::Hub { version, .. } => assert_eq!(version.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn local_paths_may_use_env_var() {
        let specs = parse_specs(
            "packages.yml",
            "packages:\n  - local: \"{{ env_var('SLUICE_NO_SUCH_VAR_FOR_TEST', 'vendor') }}/pkg\"\n",
        )
        .unwrap();
        assert_eq!(specs[0].source, PackageSource::Local("vendor/pkg".into()));
        let d = parse_specs(
            "packages.yml",
            "packages:\n  - local: \"{{ env_var('SLUICE_NO_SUCH_VAR_FOR_TEST') }}\"\n",
        )
        .unwrap_err();
        assert!(
            d.message.contains("SLUICE_NO_SUCH_VAR_FOR_TEST"),
            "{}",
            d.message
        );
    }

    #[test]
    fn rejects_an_entry_without_a_source() {
        let d = parse_specs("packages.yml", "packages:\n  - version: 1\n").unwrap_err();
        assert!(d.message.contains("needs one of"), "{}", d.message);
        assert_eq!(d.location.unwrap().line, Some(2));
    }

    #[test]
    fn package_names_compare_as_dbt_deps_installs_them() {
        for (a, b) in [
            ("dbt-audit-helper", "audit_helper"),
            ("dbt_fivetran_utils", "fivetran_utils"),
            ("spark-utils", "spark_utils"),
            ("dbt-utils", "dbt_utils"),
            ("dbt_date", "dbt-date"),
        ] {
            assert!(same_package(a, b), "{a} {b}");
        }
        assert!(!same_package("dbt-utils", "dbt_date"));
        assert!(!same_package("codegen", "audit_helper"));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let text = "packages:\n  - &utils\n    package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - <<: *utils\n    package: dbt-labs/codegen\n";
        let specs = parse_specs("packages.yml", text).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!((specs[0].line, specs[1].line), (2, 5));
        match &specs[1].source {
            PackageSource::Hub { package, version } => {
                assert_eq!(package, "dbt-labs/codegen");
                assert_eq!(version, &vec![">=1.0.0".to_string(), "<2.0.0".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_constraints() {
        assert!(satisfies("1.3.3", &["1.3.3".into()]));
        assert!(satisfies("0.17.1", &[">=0.17.0".into(), "<0.18.0".into()]));
        assert!(!satisfies("0.16.0", &[">=0.17.0".into()]));
        assert!(!satisfies("0.1.0", &["1.3.3".into()]));
    }
}
