//! Partial parsing: a `parse` that finds nothing changed keeps the last parse's manifest (with a
//! new `metadata`), and anything a parse reads that changes makes the next parse a full one.

use std::path::Path;

use serde_json::Value;

use crate::support::{copy_project, repo, Run};

const REUSED: &str = "(nothing changed since the last parse)";

fn parse(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("parse")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("DBT_") || k.starts_with("PP_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run sluice");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "parse {args:?} failed: {run:?}");
    run
}

fn reused(r: &Run) -> bool {
    r.stdout.contains(REUSED)
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// The manifest without what changes with every invocation: `metadata`, and each node's
/// `created_at` (a reused node keeps the time of the parse that made it, as in dbt).
fn content(mut m: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("created_at");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    m.as_object_mut().expect("object").remove("metadata");
    strip(&mut m);
    m
}

fn node<'m>(m: &'m Value, id: &str) -> &'m Value {
    &m["nodes"][id]
}

#[test]
fn an_unchanged_project_keeps_its_manifest_and_any_change_reparses() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    std::fs::write(
        dir.join("models/colours.sql"),
        "{{ config(alias=env_var('PP_ALIAS', 'colours_default'), tags=[var('pp_tag', 'untagged')]) }}\nselect 1 as id\n",
    )
    .expect("write model");
    let id = "model.shop.colours";

    // A first parse is a full one; the second finds nothing changed.
    assert!(!reused(&parse(&dir, &[], &[])));
    let first = manifest(&dir);
    let again = parse(&dir, &[], &[]);
    assert!(reused(&again), "{again:?}");
    let second = manifest(&dir);
    assert_ne!(
        first["metadata"]["invocation_id"], second["metadata"]["invocation_id"],
        "a reused manifest gets this invocation's metadata"
    );
    assert_eq!(
        first["metadata"]["project_name"],
        second["metadata"]["project_name"]
    );
    assert_eq!(
        content(first.clone()),
        content(second.clone()),
        "everything but metadata is kept"
    );
    assert_eq!(
        node(&first, id)["created_at"],
        node(&second, id)["created_at"]
    );

    // What it kept is what a full parse writes.
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(manifest(&dir)), content(second));
    assert!(!reused(&parse(
        &dir,
        &[],
        &[("DBT_PARTIAL_PARSE", "false")]
    )));
    assert!(reused(&parse(&dir, &[], &[])));

    // An environment variable `env_var()` read.
    assert!(!reused(&parse(&dir, &[], &[("PP_ALIAS", "colours_env")])));
    assert_eq!(node(&manifest(&dir), id)["alias"], "colours_env");
    assert!(reused(&parse(&dir, &[], &[("PP_ALIAS", "colours_env")])));
    assert!(!reused(&parse(&dir, &[], &[])));
    assert_eq!(node(&manifest(&dir), id)["alias"], "colours_default");

    // `--vars`.
    assert!(!reused(&parse(&dir, &["--vars", "{pp_tag: red}"], &[])));
    assert_eq!(
        node(&manifest(&dir), id)["tags"],
        serde_json::json!(["red"])
    );
    assert!(reused(&parse(&dir, &["--vars", "{pp_tag: red}"], &[])));
    assert!(!reused(&parse(&dir, &[], &[])));

    // A model's text, a properties file, `dbt_project.yml`.
    std::fs::write(dir.join("models/colours.sql"), "select 2 as id\n").expect("edit");
    assert!(!reused(&parse(&dir, &[], &[])));
    assert_eq!(node(&manifest(&dir), id)["raw_code"], "select 2 as id");
    let schema = dir.join("models/schema.yml");
    let text = std::fs::read_to_string(&schema).expect("schema.yml");
    std::fs::write(&schema, format!("{text}\n# a comment\n")).expect("edit");
    assert!(!reused(&parse(&dir, &[], &[])));
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).expect("dbt_project.yml");
    std::fs::write(&project, format!("{text}\n# a comment\n")).expect("edit");
    assert!(!reused(&parse(&dir, &[], &[])));
    assert!(reused(&parse(&dir, &[], &[])));

    // Another command rewrote the manifest; or it is gone.
    let compile = crate::support::sluice(&dir, &["compile", "-q"]);
    assert_eq!(compile.code, 0, "{compile:?}");
    assert!(!reused(&parse(&dir, &[], &[])));
    std::fs::remove_file(dir.join("target/manifest.json")).expect("rm");
    assert!(!reused(&parse(&dir, &[], &[])));
    assert!(manifest(&dir)["nodes"][id].is_object());
}

#[test]
fn a_parse_that_warned_is_never_reused() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    // A properties entry for a model that does not exist is a warning.
    std::fs::write(
        dir.join("models/ghost.yml"),
        "version: 2\nmodels:\n  - name: no_such_model\n    description: nobody\n",
    )
    .expect("write");
    let first = parse(&dir, &[], &[]);
    assert!(first.stdout.contains("no_such_model") || first.stderr.contains("no_such_model"));
    let second = parse(&dir, &[], &[]);
    assert!(!reused(&second), "{second:?}");
    assert!(second.stdout.contains("no_such_model") || second.stderr.contains("no_such_model"));
}

/// Sets the modification time of every file and folder of the project (but `target/`) an hour
/// back, as if the project had been checked out long before the parse.
fn age(dir: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                stack.push(p.clone());
            }
            let f = std::fs::File::open(&p).expect("open");
            f.set_modified(past).expect("set mtime");
        }
    }
}

/// Which check a reused parse made: by the files' stamps alone, or by reading them.
fn checked_by(r: &Run) -> &'static str {
    if r.stderr.contains("partial parse: contents checked") {
        "contents"
    } else {
        "stamps"
    }
}

#[test]
fn stamps_tell_an_unchanged_project_and_never_hide_a_change() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let timings = [("SLUICE_TIMINGS", "1")];
    // Files changed just before a parse cannot vouch for their contents by their stamps.
    assert!(!reused(&parse(&dir, &[], &timings)));
    let again = parse(&dir, &[], &timings);
    assert!(reused(&again), "{again:?}");
    assert_eq!(checked_by(&again), "contents", "{again:?}");

    // Files older than the parse do: the next parse reads none of them.
    age(&dir);
    let full = parse(&dir, &[], &timings);
    assert_eq!(checked_by(&full), "contents", "{full:?}");
    let by_stamps = parse(&dir, &[], &timings);
    assert!(reused(&by_stamps), "{by_stamps:?}");
    assert_eq!(checked_by(&by_stamps), "stamps", "{by_stamps:?}");

    // A file touched but unchanged is read and found the same.
    let model = dir.join("models/shoppers.sql");
    let text = std::fs::read_to_string(&model).expect("model");
    std::fs::write(&model, &text).expect("touch");
    let touched = parse(&dir, &[], &timings);
    assert!(reused(&touched), "{touched:?}");
    assert_eq!(checked_by(&touched), "contents");

    // A new file in a folder, a new folder, an edit, a removed file: each a full parse.
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    assert_eq!(checked_by(&parse(&dir, &[], &timings)), "stamps");
    std::fs::write(dir.join("models/added.sql"), "select 1 as id\n").expect("add");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert!(manifest(&dir)["nodes"]["model.shop.added"].is_object());
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    std::fs::create_dir(dir.join("models/more")).expect("mkdir");
    std::fs::write(dir.join("models/more/deeper.sql"), "select 2 as id\n").expect("add");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert!(manifest(&dir)["nodes"]["model.shop.deeper"].is_object());
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    std::fs::write(&model, "select 3 as id\n").expect("edit");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert_eq!(
        node(&manifest(&dir), "model.shop.shoppers")["raw_code"],
        "select 3 as id"
    );
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    std::fs::remove_file(dir.join("models/more/deeper.sql")).expect("rm");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert!(manifest(&dir)["nodes"]["model.shop.deeper"].is_null());
}
