//! Projects written for cloud warehouses (Snowflake, BigQuery, Redshift, Databricks, Spark)
//! parse, compile, list and document offline, as their dbt adapters render them. The fixture
//! `tests/fixtures/warehouses/project` has one target per warehouse; `record.sh` there recorded
//! what real dbt 1.10 with each adapter compiles offline (`expected/<adapter>/compiled`, and
//! `stubbed/compiled` for the nodes dbt compiles only with a stubbed connection). sluice's
//! compiled SQL must say the same: compared token by token, without comments (dbt's macros carry
//! some) and with the time a temporary relation's name carries masked.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{copy_project, repo, sluice};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/warehouses")
}

/// The adapters dbt's answers were recorded for.
fn recorded() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(fixture().join("expected"))
        .expect("expected/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// SQL as compared: no `--` comments, whitespace collapsed and dropped around `(`, `)` and `,`,
/// the time in a temporary relation's name masked.
fn normalized(sql: &str) -> String {
    let no_comments: Vec<&str> = sql
        .lines()
        .map(|l| match l.find("--") {
            // A `--` inside a string literal is kept (an odd number of quotes before it).
            Some(i) if l[..i].matches('\'').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect();
    let words = no_comments.join(" ");
    let mut out = String::new();
    for w in words.split_whitespace() {
        let glue = out.ends_with(['(', ')', ',']) || w.starts_with(['(', ')', ',']);
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(w);
    }
    mask_temp_suffix(&out)
}

fn mask_temp_suffix(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("__dbt_tmp") {
        let end = i + "__dbt_tmp".len();
        out.push_str(&rest[..end]);
        rest = rest[end..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_warehouse_compiles_offline_as_its_dbt_adapter_does() {
    let adapters = recorded();
    assert!(
        adapters.len() >= 4,
        "recorded answers for {adapters:?}: run tests/fixtures/warehouses/record.sh"
    );
    let mut differences = Vec::new();
    let mut compared = 0;
    for adapter in &adapters {
        let (_tmp, dir) = copy_project(&fixture().join("project"));
        let r = sluice(
            &dir,
            &["compile", "--target", adapter, "--profiles-dir", "."],
        );
        assert_eq!(r.code, 0, "{adapter}: {r:?}");
        // The nodes that query the warehouse while compiling are named, not fatal.
        for node in ["dim_dates", "order_status_pivot", "stg_orders_columns"] {
            assert!(
                r.stderr
                    .contains(&format!("model `{node}` queries the warehouse"))
                    || r.stdout
                        .contains(&format!("model `{node}` queries the warehouse")),
                "{adapter}: {node} not reported: {r:?}"
            );
        }
        let expected = fixture().join("expected").join(adapter);
        let got = dir.join("target/compiled/warehouses");
        for base in [expected.join("compiled"), expected.join("stubbed/compiled")] {
            for file in files_under(&base) {
                let rel = file.strip_prefix(&base).expect("under base");
                let dbt = std::fs::read_to_string(&file).expect("recorded file");
                let ours = std::fs::read_to_string(got.join(rel)).unwrap_or_default();
                compared += 1;
                if normalized(&dbt) != normalized(&ours) {
                    differences.push(format!(
                        "{adapter} {}:\n  dbt:    {}\n  sluice: {}",
                        rel.display(),
                        normalized(&dbt),
                        normalized(&ours)
                    ));
                }
            }
        }
    }
    assert!(compared > 80, "only {compared} files compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn the_manifest_names_relations_and_keeps_configs_as_each_adapter_does() {
    // Configs only some adapters read, kept in the manifest as written.
    const ADAPTER_CONFIGS: &[&str] = &[
        "transient",
        "cluster_by",
        "copy_grants",
        "query_tag",
        "snowflake_warehouse",
        "partition_by",
        "require_partition_filter",
        "labels",
        "dist",
        "sort",
        "file_format",
        "location_root",
        "liquid_clustered_by",
    ];
    let mut differences = Vec::new();
    for adapter in recorded() {
        let (_tmp, dir) = copy_project(&fixture().join("project"));
        let r = sluice(
            &dir,
            &["parse", "--target", &adapter, "--profiles-dir", "."],
        );
        assert_eq!(r.code, 0, "{adapter}: {r:?}");
        let read = |p: &Path| -> Value {
            serde_json::from_str(&std::fs::read_to_string(p).expect("manifest")).expect("JSON")
        };
        let dbt = read(
            &fixture()
                .join("expected")
                .join(&adapter)
                .join("manifest.json"),
        );
        let ours = read(&dir.join("target/manifest.json"));
        for key in ["adapter_type", "quoting"] {
            if dbt["metadata"][key] != ours["metadata"][key] {
                differences.push(format!(
                    "{adapter} metadata.{key}: dbt {} sluice {}",
                    dbt["metadata"][key], ours["metadata"][key]
                ));
            }
        }
        for section in ["nodes", "sources"] {
            let Some(nodes) = dbt[section].as_object() else {
                continue;
            };
            for (id, n) in nodes {
                let o = &ours[section][id];
                let mut fields = vec!["relation_name", "database", "schema"];
                if section == "nodes" {
                    fields.push("alias");
                }
                for f in fields {
                    if n[f] != o[f] {
                        differences
                            .push(format!("{adapter} {id} {f}: dbt {} sluice {}", n[f], o[f]));
                    }
                }
                for k in ADAPTER_CONFIGS {
                    if n["config"].get(*k).is_some() && n["config"][*k] != o["config"][*k] {
                        differences.push(format!(
                            "{adapter} {id} config.{k}: dbt {} sluice {}",
                            n["config"][*k], o["config"][*k]
                        ));
                    }
                }
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn commands_that_need_the_warehouse_refuse_before_doing_anything() {
    let (_tmp, dir) = copy_project(&fixture().join("project"));
    for adapter in ["snowflake", "bigquery", "redshift", "databricks", "spark"] {
        for cmd in [
            &["run"][..],
            &["seed"],
            &["test"],
            &["build"],
            &["show", "--inline", "select 1"],
        ] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend(["--target", adapter, "--profiles-dir", "."]);
            let r = sluice(&dir, &args);
            assert_eq!(r.code, 2, "{args:?}: {r:?}");
            assert!(
                r.stderr.contains("sluice does not run SQL on"),
                "{args:?}: {r:?}"
            );
            assert!(
                !r.stderr.contains("not-a-real"),
                "a secret was printed: {r:?}"
            );
        }
        assert!(
            !dir.join("target/run_results.json").exists(),
            "{adapter}: a refused command wrote run_results.json"
        );
        for cmd in [
            &["parse"][..],
            &["ls"],
            &["docs", "generate", "--empty-catalog"],
        ] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend(["--target", adapter, "--profiles-dir", "."]);
            let r = sluice(&dir, &args);
            assert_eq!(r.code, 0, "{args:?}: {r:?}");
        }
    }
}

#[test]
fn a_warehouse_profile_missing_a_required_key_is_one_diagnostic_at_its_target() {
    let (_tmp, dir) = copy_project(&fixture().join("project"));
    let profiles = dir.join("profiles.yml");
    let text = std::fs::read_to_string(&profiles).expect("profiles.yml");
    // Snowflake without `account`; Databricks without `http_path`.
    let broken: String = text
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("account:") && !l.trim_start().starts_with("http_path:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&profiles, broken).expect("write");
    for (adapter, key) in [("snowflake", "account"), ("databricks", "http_path")] {
        let r = sluice(&dir, &["parse", "--target", adapter, "--profiles-dir", "."]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains(&format!(
                "`{key}` is required for a `type: {adapter}` target"
            )),
            "{r:?}"
        );
        assert!(r.stderr.contains("profiles.yml:"), "no line: {r:?}");
    }
}
