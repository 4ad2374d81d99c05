//! Helpers: copy a project into a temp dir, run the real binary, check relation facts.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies `src` (a folder) into a fresh temp dir and returns (guard, project path).
pub fn copy_project(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dst = tmp.path().join(src.file_name().unwrap_or_default());
    copy_dir(src, &dst);
    (tmp, dst)
}

/// A temp copy of the demo project at the repository root (project file, models, seeds, macros,
/// profiles, analyses, singular tests, metrics, snapshots), for tests that build it.
pub fn copy_demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo().join("dbt_project.yml"), dir.join("dbt_project.yml")).unwrap();
    for d in [
        "models",
        "seeds",
        "macros",
        "profiles",
        "analyses",
        "tests/data",
        "metrics",
        "snapshots",
    ] {
        if repo().join(d).exists() {
            copy_dir(&repo().join(d), &dir.join(d));
        }
    }
    (tmp, dir)
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "target"
            || n == "out"
            || n == ".git"
            || n.ends_with(".duckdb")
            || n.ends_with(".wal")
        {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &dst.join(&name));
        } else {
            std::fs::copy(&p, dst.join(&name)).expect("copy");
        }
    }
}

/// Output of one sluice invocation.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The `target/manifest.json` the last parse in `dir` wrote.
pub fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// `sluice parse` in `dir`, which must succeed, and the manifest it wrote.
pub fn parsed_manifest(dir: &Path) -> serde_json::Value {
    let r = sluice(dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    manifest(dir)
}

pub fn sluice(dir: &Path, args: &[&str]) -> Run {
    sluice_with_env(dir, args, &[])
}

/// [`sluice`] with these environment variables set.
pub fn sluice_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DBT_PROFILES_DIR")
        .env_remove("DBT_TARGET")
        .env_remove("SPARK_REMOTE")
        .envs(env.iter().copied())
        .output()
        .expect("run sluice");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Checks a DuckDB file against recorded facts per relation (`type`, `columns`, `row_count`,
/// `sum(col)`, `distinct(col)`, `nulls(col)`, `range(col)`), as `tests/fixtures/shop/expected/record.sh`
/// records them from real dbt.
pub fn check_profile(db: &Path, expected: &serde_json::Value) -> Vec<String> {
    let conn = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    let mut problems = Vec::new();
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for (rel, facts) in expected.as_object().expect("object") {
        let (schema, table) = rel.split_once('.').expect("schema.table");
        let ttype: Option<String> = conn
            .query_row(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
                |r| r.get(0),
            )
            .ok();
        let Some(ttype) = ttype else {
            problems.push(format!("{rel}: relation is missing"));
            continue;
        };
        let fq = format!("{}.{}", q(schema), q(table));
        for (key, want) in facts.as_object().expect("facts") {
            let got: serde_json::Value = match key.as_str() {
                "type" => ttype.clone().into(),
                "columns" => {
                    let mut st = conn
                        .prepare("select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position")
                        .unwrap();
                    let cols: Vec<String> = st
                        .query_map([schema, table], |r| {
                            Ok(format!(
                                "{}:{}",
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?
                            ))
                        })
                        .unwrap()
                        .map(|r| r.unwrap())
                        .collect();
                    serde_json::json!(cols)
                }
                "row_count" => conn
                    .query_row(&format!("select count(*) from {fq}"), [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .unwrap()
                    .into(),
                k => {
                    let (f, col) = k.split_once('(').unwrap();
                    let col = q(col.trim_end_matches(')'));
                    match f {
                        "sum" => conn
                            .query_row(&format!("select sum({col})::double from {fq}"), [], |r| {
                                r.get::<_, Option<f64>>(0)
                            })
                            .unwrap()
                            .map_or(serde_json::Value::Null, |v| v.into()),
                        "distinct" => conn
                            .query_row(
                                &format!("select count(distinct {col}) from {fq}"),
                                [],
                                |r| r.get::<_, i64>(0),
                            )
                            .unwrap()
                            .into(),
                        "nulls" => conn
                            .query_row(
                                &format!("select count(*) - count({col}) from {fq}"),
                                [],
                                |r| r.get::<_, i64>(0),
                            )
                            .unwrap()
                            .into(),
                        "range" => {
                            let (lo, hi): (Option<String>, Option<String>) = conn
                                .query_row(
                                    &format!(
                                        "select min({col})::varchar, max({col})::varchar from {fq}"
                                    ),
                                    [],
                                    |r| Ok((r.get(0)?, r.get(1)?)),
                                )
                                .unwrap();
                            format!(
                                "{} .. {}",
                                lo.unwrap_or_else(|| "None".into()),
                                hi.unwrap_or_else(|| "None".into())
                            )
                            .into()
                        }
                        _ => panic!("unknown fact {k}"),
                    }
                }
            };
            let same = match (want.as_f64(), got.as_f64()) {
                (Some(w), Some(g)) if want.is_f64() => (w - g).abs() <= 1e-6 * w.abs().max(1.0),
                _ => &got == want,
            };
            if !same {
                problems.push(format!("{rel}: {key}: expected {want}, got {got}"));
            }
        }
    }
    problems
}

/// A DuckDB project in a temporary folder: `dbt_project.yml` (`name` and `profile` set to
/// `name`, then `project_extra`), a one-thread `profiles.yml` with the database `<name>.duckdb`,
/// and `files` (their folders made).
pub fn duckdb_project(
    name: &str,
    project_extra: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dbt_project.yml"),
        format!("name: {name}\nprofile: {name}\n{project_extra}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{name}.duckdb\"\n      threads: 1\n"
        ),
    )
    .unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    (tmp, dir)
}
