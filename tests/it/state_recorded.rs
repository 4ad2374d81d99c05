//! `retry`, `--defer`, `source freshness`, `run-operation` and `selectors.yml` against real dbt:
//! the `orchestration` fixture's scenario (`tests/fixtures/orchestration/scenario.json`: run
//! operations, a build with a model failing on demand, retries, `ls` with every selector,
//! freshness checks, a deferred build and compiles in a CI schema) run by sluice on DuckDB and on
//! PostgreSQL, and compared step by step with what real dbt-duckdb and dbt-postgres did, recorded
//! by the fixture's `record.sh` in `expected/{duckdb,postgres}/facts.json`: exit codes, statuses
//! per unique_id in `run_results.json` and `sources.json`, the ids `ls` lists, the verdicts
//! printed, the relations built (columns, rows) and the relations compiled SQL reads.
//!
//! The facts are computed as the fixture's `scenario.py` computes them from dbt's runs: keep the
//! two in step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

use crate::pg_server::{PgServer, PASSWORD};
use crate::support::{copy_project, repo, Run};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/orchestration")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The warehouse a scenario runs on.
enum Warehouse {
    DuckDb(PathBuf),
    Postgres(PgServer),
}

impl Warehouse {
    /// `--target` names (production, CI) and the variables `profiles.yml` reads.
    fn targets(&self) -> (&'static str, &'static str) {
        match self {
            Warehouse::DuckDb(_) => ("duckdb", "duckdb_ci"),
            Warehouse::Postgres(_) => ("pg", "pg_ci"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Warehouse::DuckDb(path) => vec![("ORCH_DUCKDB_PATH", path.display().to_string())],
            Warehouse::Postgres(pg) => vec![
                ("ORCH_PG_PORT", pg.port.to_string()),
                ("ORCH_PG_PASSWORD", PASSWORD.to_string()),
            ],
        }
    }

    /// The rows of `sql`, every column read as text (the query casts them).
    fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Warehouse::DuckDb(path) => {
                let conn = duckdb::Connection::open_with_flags(
                    path,
                    duckdb::Config::default()
                        .access_mode(duckdb::AccessMode::ReadOnly)
                        .unwrap(),
                )
                .expect("open the DuckDB file");
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let mut out = Vec::new();
                let mut rows = stmt.query([]).unwrap_or_else(|e| panic!("{sql}: {e}"));
                while let Some(row) = rows.next().unwrap() {
                    let n = row.as_ref().column_count();
                    out.push(
                        (0..n)
                            .map(|i| row.get::<_, Option<String>>(i).unwrap())
                            .collect(),
                    );
                }
                out
            }
            Warehouse::Postgres(pg) => pg
                .client("orchestration")
                .query(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.get::<_, Option<String>>(i))
                        .collect()
                })
                .collect(),
        }
    }

    /// `scenario.py`'s `relations(schema)`: each relation's type, columns (name:type), row
    /// count and, outside `raw` (whose rows hold the time of the run), its rows as sorted text.
    fn relations(&self, schema: &str) -> Map<String, Value> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut out = Map::new();
        let rels = self.rows(&format!(
            "select cast(table_name as varchar), cast(table_type as varchar) from information_schema.tables \
             where table_schema = '{schema}' order by table_name"
        ));
        for rel in rels {
            let (name, ttype) = (text(&rel[0]), text(&rel[1]));
            let cols: Vec<(String, String)> = self
                .rows(&format!(
                    "select cast(column_name as varchar), cast(data_type as varchar) from information_schema.columns \
                     where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
                ))
                .iter()
                .map(|c| (text(&c[0]), text(&c[1])))
                .collect();
            let fq = format!("\"{schema}\".\"{name}\"");
            let count: i64 =
                text(&self.rows(&format!("select cast(count(*) as varchar) from {fq}"))[0][0])
                    .parse()
                    .unwrap();
            let mut facts = json!({
                "type": ttype,
                "columns": cols.iter().map(|(c, t)| format!("{c}:{t}")).collect::<Vec<_>>(),
                "row_count": count,
            });
            if schema != "raw" {
                let row = cols
                    .iter()
                    .map(|(c, _)| format!("coalesce(cast(\"{c}\" as varchar), '<null>')"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let mut rows: Vec<String> = self
                    .rows(&format!("select {row} from {fq}"))
                    .iter()
                    .map(|r| text(&r[0]))
                    .collect();
                rows.sort();
                facts["rows"] = json!(rows);
            }
            out.insert(format!("{schema}.{name}"), facts);
        }
        out
    }
}

fn run(dir: &Path, args: &[String], env: &[(&str, String)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DBT_PROFILES_DIR")
        .env_remove("DBT_TARGET")
        .env_remove("DBT_STATE")
        .env_remove("DBT_DEFER");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run sluice");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `scenario.py`'s `op_lines`: the output from each `op: ` to the end of its line, in order,
/// each once; not where a quote stands before it (a line of the macro's source that an error
/// message quotes).
fn op_lines(text: &str) -> Value {
    let mut seen: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(i) = line.find("op: ") {
            if line[..i].ends_with(['"', '\'']) {
                continue;
            }
            let s = line[i..].trim_end().to_string();
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    json!(seen)
}

/// The `run_results.json` `args` the scenario compares.
const ARGS: [&str; 4] = ["which", "vars", "macro", "args"];

fn run_results(doc: &Value) -> Value {
    let mut results = BTreeMap::new();
    for r in doc["results"].as_array().expect("results") {
        results.insert(
            r["unique_id"].as_str().expect("unique_id").to_string(),
            json!({"status": r["status"], "failures": r.get("failures").cloned().unwrap_or(Value::Null)}),
        );
    }
    let args: Map<String, Value> = ARGS
        .iter()
        .filter_map(|k| Some((k.to_string(), doc["args"].get(*k)?.clone())))
        .collect();
    json!({
        "schema": doc["metadata"]["dbt_schema_version"],
        "args": args,
        "results": results,
    })
}

fn sources(doc: &Value) -> Value {
    let mut results = BTreeMap::new();
    for r in doc["results"].as_array().expect("results") {
        let obj = r.as_object().expect("result");
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort();
        let mut f = json!({"status": r["status"], "keys": keys});
        if let Some(c) = obj.get("criteria") {
            f["criteria"] = c.clone();
        }
        // Only times that do not depend on when the scenario ran.
        if let Some(loaded) = obj.get("max_loaded_at").and_then(Value::as_str) {
            if loaded < "2024" {
                f["max_loaded_at"] = loaded.into();
                let age = r["max_loaded_at_time_ago_in_s"].as_f64().expect("age");
                f["age_digits"] = ((age as i64).to_string().len()).into();
            }
        }
        if let Some(e) = obj.get("error") {
            f["error"] = e.clone();
        }
        results.insert(r["unique_id"].as_str().expect("unique_id").to_string(), f);
    }
    json!({"schema": doc["metadata"]["dbt_schema_version"], "results": results})
}

/// `scenario.py`'s `compiled_refs`: the relations (`"a"."b"` or `"a"."b"."c"`) a compiled file
/// names, in order.
fn compiled_refs(path: &Path) -> Value {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Value::Null;
    };
    let re = regex::Regex::new(r#"(?:"[^"]+"\.)?"[^"]+"\."[^"]+""#).unwrap();
    json!(re
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect::<Vec<_>>())
}

fn freshness_lines(text: &str) -> Value {
    let re =
        regex::Regex::new(r"\d+ of \d+ (PASS|WARN|ERROR STALE|ERROR) freshness of (\S+)").unwrap();
    let lines: BTreeMap<String, String> = re
        .captures_iter(text)
        .map(|c| (c[2].to_string(), c[1].to_string()))
        .collect();
    json!(lines)
}

/// Runs the scenario in a fresh copy of the fixture on `wh`; returns the facts per step.
fn run_scenario(wh: &Warehouse, dir: &Path) -> Map<String, Value> {
    let scenario = read_json(&fixture().join("scenario.json"));
    let (target, ci) = wh.targets();
    let env = wh.env();
    let target_dir = dir.join("target");
    let mut facts = Map::new();
    for step in scenario["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().expect("name");
        let args: Vec<String> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| match a.as_str().expect("arg") {
                "{target}" => target.to_string(),
                "{ci}" => ci.to_string(),
                other => other.to_string(),
            })
            .collect();
        let artifact = |f: &str| std::fs::read(target_dir.join(f)).ok();
        let before = [artifact("run_results.json"), artifact("sources.json")];
        let r = run(dir, &args, &env);
        let out = format!("{}{}", r.stdout, r.stderr);
        let written = |i: usize, f: &str| {
            let now = artifact(f);
            (now.is_some() && now != before[i])
                .then(|| serde_json::from_slice::<Value>(&now.unwrap()).expect("artifact JSON"))
        };
        let collect: Vec<&str> = step["collect"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut got = json!({"exit": r.code});
        if collect.contains(&"op_lines") {
            got["op_lines"] = op_lines(&out);
        }
        if collect.contains(&"run_results") {
            got["run_results"] =
                written(0, "run_results.json").map_or(Value::Null, |d| run_results(&d));
        }
        if collect.contains(&"sources") {
            got["sources"] = written(1, "sources.json").map_or(Value::Null, |d| sources(&d));
        }
        if collect.contains(&"freshness_lines") {
            got["freshness_lines"] = freshness_lines(&out);
        }
        if collect.contains(&"ls") {
            let mut ids: Vec<String> = r
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with('{'))
                .map(|l| {
                    let v: Value = serde_json::from_str(l).expect("ls JSON line");
                    v["unique_id"].as_str().expect("unique_id").to_string()
                })
                .collect();
            ids.sort();
            got["ls"] = json!(ids);
        }
        if let Some(schemas) = step.get("relations").and_then(Value::as_array) {
            let mut rels = Map::new();
            for s in schemas {
                rels.extend(wh.relations(s.as_str().expect("schema")));
            }
            got["relations"] = Value::Object(rels);
        }
        if let Some(files) = step.get("compiled").and_then(Value::as_array) {
            let mut compiled = Map::new();
            for f in files {
                let f = f.as_str().expect("compiled file");
                compiled.insert(
                    f.to_string(),
                    compiled_refs(&target_dir.join("compiled/orchestration").join(f)),
                );
            }
            got["compiled"] = Value::Object(compiled);
        }
        if let Some(state) = step.get("save_state").and_then(Value::as_str) {
            let state = dir.join(state);
            std::fs::create_dir_all(&state).unwrap();
            for f in ["manifest.json", "run_results.json", "sources.json"] {
                if target_dir.join(f).exists() {
                    std::fs::copy(target_dir.join(f), state.join(f))
                        .unwrap_or_else(|e| panic!("{name}: {f}: {e}"));
                }
            }
        }
        got["output"] = format!("$ sluice {}\n{out}", args.join(" ")).into();
        facts.insert(name.to_string(), got);
    }
    facts
}

/// Every difference between dbt's facts and sluice's under `path`, as `path: dbt=.. sluice=..`.
fn differences(path: &str, dbt: &Value, sluice: &Value, out: &mut Vec<String>) {
    match (dbt, sluice) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differences(&p, x, y, out),
                    (Some(x), None) => out.push(format!("{p}: dbt={x}, missing in sluice's")),
                    (None, Some(y)) => out.push(format!("{p}: only in sluice's: {y}")),
                    _ => {}
                }
            }
        }
        _ if dbt != sluice => out.push(format!("{path}: dbt={dbt} sluice={sluice}")),
        _ => {}
    }
}

/// Runs the scenario on `wh` and fails with every difference from real dbt's recorded facts.
fn compare_with_dbt(wh: &Warehouse, dir: &Path, engine: &str) {
    let expected = read_json(&fixture().join(format!("expected/{engine}/facts.json")));
    let got = run_scenario(wh, dir);
    let mut problems = Vec::new();
    let mut outputs = Vec::new();
    for (step, want) in expected.as_object().expect("facts") {
        let Some(have) = got.get(step) else {
            problems.push(format!(
                "{step}: not in scenario.json any more (record again)"
            ));
            continue;
        };
        let mut have = have.clone();
        let output = have
            .as_object_mut()
            .and_then(|m| m.remove("output"))
            .unwrap_or_default();
        let before = problems.len();
        differences(step, want, &have, &mut problems);
        if problems.len() > before {
            outputs.push(output.as_str().unwrap_or("").to_string());
        }
    }
    for step in got.keys() {
        if !expected.as_object().unwrap().contains_key(step) {
            problems.push(format!(
                "{step}: not recorded (run tests/fixtures/orchestration/record.sh)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{engine}: {} difference(s) from real dbt:\n{}\n\nsluice's output of those steps:\n{}",
        problems.len(),
        problems.join("\n"),
        outputs.join("\n")
    );
}

#[test]
fn orchestration_scenario_matches_dbt_on_duckdb() {
    let (_tmp, dir) = copy_project(&fixture());
    let wh = Warehouse::DuckDb(dir.join("orchestration.duckdb"));
    compare_with_dbt(&wh, &dir, "duckdb");
}

#[test]
fn orchestration_scenario_matches_dbt_on_postgres() {
    let Some(pg) = PgServer::start("orchestration_scenario_matches_dbt_on_postgres") else {
        return;
    };
    pg.create_db("orchestration");
    let (_tmp, dir) = copy_project(&fixture());
    compare_with_dbt(&Warehouse::Postgres(pg), &dir, "postgres");
}
