//! Partial parsing: a `parse` that finds nothing changed keeps the last parse's manifest (with a
//! new `metadata`), and anything a parse reads that changes makes the next parse a full one.

use std::path::Path;

use serde_json::Value;

use crate::support::{copy_project, manifest, repo, Run};

const REUSED: &str = "(nothing changed since the last parse)";

fn parse(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let run = parse_any(dir, args, env);
    assert_eq!(run.code, 0, "parse {args:?} failed: {run:?}");
    run
}

/// `sluice parse` in `dir`, which may fail.
fn parse_any(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
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
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn reused(r: &Run) -> bool {
    r.stdout.contains(REUSED)
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

/// Where `a` and `b` first differ (a JSON path with both values), if they do.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (v, w) = (&x.get(k).cloned(), &y.get(k).cloned());
                let (v, w) = (v.clone().unwrap_or_default(), w.clone().unwrap_or_default());
                difference(&v, &w, &format!("{path}/{k}"))
            })
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// The manifest in `dir`'s target, after checking that it is what a full parse (written in
/// `full/`, so that the next patch patches this one) writes.
fn like_a_full_parse(dir: &Path) -> Value {
    let fast = manifest(dir);
    let full_parse = ["--no-partial-parse", "--target-path", "full"];
    assert!(!reused(&parse(dir, &full_parse, &[])));
    let text = std::fs::read_to_string(dir.join("full/manifest.json")).expect("manifest");
    let full = content(serde_json::from_str(&text).expect("manifest.json is JSON"));
    let diff = difference(&content(fast.clone()), &full, "");
    assert!(diff.is_none(), "{diff:?}");
    fast
}

/// Replaces the first `from` of `file` (which must hold it) with `to`, then parses `dir`.
fn edit_and_parse(dir: &Path, file: &Path, from: &str, to: &str) -> Run {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{text}");
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
    parse(dir, &[], &[])
}

fn node<'m>(m: &'m Value, id: &str) -> &'m Value {
    &m["nodes"][id]
}

/// Whether the parse `r` patched the manifest for the edit its note names `what`.
fn patched_for(r: &Run, what: &str) -> bool {
    r.stdout
        .contains(&format!("({what} since the last parse: patched)"))
}

/// Writes the model `file` as `text` disabled by a `config(...)` call before it.
fn write_disabled(file: &Path, text: &str) {
    let disabled = format!("{{{{ config(enabled=false) }}}}\n{text}");
    std::fs::write(file, disabled).expect("edit");
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
    std::fs::write(
        &schema,
        text.replacen("[unique, not_null]", "[not_null, unique]", 1),
    )
    .expect("edit");
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
    // (That parse patched the manifest: files touched after a patch are checked by a full parse.)
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &timings)));
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    std::fs::create_dir(dir.join("models/more")).expect("mkdir");
    std::fs::write(dir.join("models/more/deeper.sql"), "select 2 as id\n").expect("add");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert!(manifest(&dir)["nodes"]["model.shop.deeper"].is_object());
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &timings)));
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    let edited = "{{ config(alias='renamed') }}\nselect 3 as id";
    std::fs::write(&model, edited).expect("edit");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert_eq!(
        node(&manifest(&dir), "model.shop.shoppers")["raw_code"],
        edited
    );
    age(&dir);
    assert!(reused(&parse(&dir, &[], &timings)));
    std::fs::remove_file(dir.join("models/more/deeper.sql")).expect("rm");
    assert!(!reused(&parse(&dir, &[], &timings)));
    assert!(manifest(&dir)["nodes"]["model.shop.deeper"].is_null());

    // After a patch, files touched but not changed (a checkout, an editor saving every file)
    // are read and found the same, whatever they are; one changed means a full parse.
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &timings)));
    age(&dir);
    std::fs::write(&model, edited.replace('3', "4")).expect("edit");
    let r = parse(&dir, &[], &timings);
    assert!(r.stdout.contains("patched"), "{r:?}");
    let project = dir.join("dbt_project.yml");
    let project_text = std::fs::read_to_string(&project).expect("dbt_project.yml");
    let schema = dir.join("models/staging/schema.yml");
    let schema_text = std::fs::read_to_string(&schema).expect("schema.yml");
    std::fs::write(&project, &project_text).expect("touch");
    std::fs::write(&schema, &schema_text).expect("touch");
    let touched = parse(&dir, &[], &timings);
    assert!(reused(&touched), "{touched:?}");
    std::fs::write(&project, format!("{project_text}\n# a comment\n")).expect("edit");
    assert!(!reused(&parse(&dir, &[], &timings)));
}

#[test]
fn an_edit_of_models_text_outside_their_jinja_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let patched = |r: &Run| r.stdout.contains("changed since the last parse: patched");
    // A singular test and an analysis are one node per file too.
    let test = dir.join("tests/no_negative_orders.sql");
    let analysis = dir.join("analyses/big_orders.sql");
    for f in [&test, &analysis] {
        std::fs::create_dir_all(f.parent().expect("folder")).expect("mkdir");
    }
    std::fs::write(&test, "select * from {{ ref('orders') }} where 1 = 0\n").expect("test");
    std::fs::write(&analysis, "select * from {{ ref('orders') }}\n").expect("analysis");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let shoppers = dir.join("models/shoppers.sql");
    let orders = dir.join("models/orders.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");

    // SQL changed around the same Jinja: the two nodes are patched in the manifest, which is
    // then what a full parse writes.
    std::fs::write(
        &shoppers,
        text.replace(
            "spend.lifetime_value",
            "spend.lifetime_value,\n    1 as added",
        ),
    )
    .expect("edit");
    let orders_text = std::fs::read_to_string(&orders).expect("model");
    std::fs::write(&orders, format!("-- a note\n{orders_text}")).expect("edit");
    std::fs::write(&test, "select * from {{ ref('orders') }} where 1 = 2\n").expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(
        r.stdout
            .contains("the text of 3 SQL files changed since the last parse: patched"),
        "{r:?}"
    );
    let fast = manifest(&dir);
    assert!(node(&fast, "model.shop.shoppers")["raw_code"]
        .as_str()
        .expect("raw_code")
        .contains("1 as added"));
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    let full = manifest(&dir);
    assert_eq!(content(fast), content(full.clone()));
    // The analysis alone.
    std::fs::write(&analysis, "select * from {{ ref('orders') }} limit 5\n").expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(
        r.stdout
            .contains("the text of 1 SQL file changed since the last parse: patched"),
        "{r:?}"
    );
    let fast = manifest(&dir);
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));
    // A seed's rows: its checksum alone, with a model's text.
    let seed = dir.join("seeds/raw_orders.csv");
    let rows = std::fs::read_to_string(&seed).expect("seed");
    let before = node(&manifest(&dir), "seed.shop.raw_orders")["checksum"].clone();
    std::fs::write(&seed, format!("{rows}\n999,1,2025-06-01,placed\n")).expect("edit");
    std::fs::write(&analysis, "select * from {{ ref('orders') }} limit 6\n").expect("edit");
    let r = parse(&dir, &[], &[]);
    let said = "the text of 1 SQL file changed, the rows of 1 seed changed since the last parse";
    assert!(r.stdout.contains(said), "{r:?}");
    let fast = manifest(&dir);
    assert_ne!(node(&fast, "seed.shop.raw_orders")["checksum"], before);
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));

    // Just edited, the files cannot vouch by their stamps: the next parse reads them again and
    // finds them as patched.
    std::fs::write(&orders, &orders_text).expect("edit");
    let r = parse(&dir, &["--no-partial-parse"], &[]);
    assert!(!reused(&r));
    std::fs::write(&orders, format!("{orders_text}\n-- at the end\n")).expect("edit");
    let r = parse(&dir, &[], &[("SLUICE_TIMINGS", "1")]);
    assert!(patched(&r), "{r:?}");
    let again = parse(&dir, &[], &[("SLUICE_TIMINGS", "1")]);
    assert!(reused(&again), "{again:?}");
    assert_eq!(checked_by(&again), "contents", "{again:?}");
    let fast = manifest(&dir);
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));

    // A shorter text is written over the old entry, a longer one behind it (with blanks left
    // after it), and the next, shorter again, in those blanks: the manifest reads as each edit,
    // and at the end as a full parse writes it.
    for (from, to) in [
        ("1 as added", "1 as a"),
        ("1 as a", "1 as a_longer_name_than_before"),
        ("1 as a_longer_name_than_before", "1 as a_longer_name"),
    ] {
        let now = std::fs::read_to_string(&shoppers).expect("model");
        assert!(now.contains(from), "{now}");
        std::fs::write(&shoppers, now.replace(from, to)).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(patched(&r), "{r:?}");
        let raw = node(&manifest(&dir), "model.shop.shoppers")["raw_code"].clone();
        assert!(
            raw.as_str().expect("raw_code").contains(&format!("{to}\n")),
            "{raw}"
        );
    }
    let fast = manifest(&dir);
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));

    // A Jinja tag edited (not a plain ref), a comment tag added, a captured block: the file
    // is rendered before and after (it calls what it called: patched, as a full parse writes
    // it); a config call that sets a key dbt merges with the project's (`tags`): a full parse.
    for edit in [
        text.replace("ref('stg_payments')", "ref('stg_' ~ 'payments')"),
        format!("{{# why #}}\n{text}"),
        format!("{{% set note %}}a{{% endset %}}\n{text}"),
    ] {
        std::fs::write(&shoppers, &edit).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(patched(&r), "{edit}: {r:?}");
        let fast = manifest(&dir);
        assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
        assert_eq!(content(fast), content(manifest(&dir)), "{edit}");
    }
    age(&dir);
    assert!(reused(&parse(&dir, &[], &[])));
    let edit = format!("{{{{ config(tags=['renamed']) }}}}\n{text}");
    std::fs::write(&shoppers, &edit).expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !patched(&r), "{edit}: {r:?}");
    let now = manifest(&dir);
    let deps = &node(&now, "model.shop.shoppers")["depends_on"]["nodes"];
    assert!(deps.to_string().contains("stg_payments"), "{deps}");

    // A model and a properties file edited together (a comment: nothing it says changed): the
    // model is patched.
    std::fs::write(&shoppers, &text).expect("restore");
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    std::fs::write(&shoppers, format!("{text}\n-- more")).expect("edit");
    let schema = dir.join("models/schema.yml");
    let yml = std::fs::read_to_string(&schema).expect("schema.yml");
    std::fs::write(&schema, format!("{yml}\n# a comment\n")).expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = manifest(&dir);
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));
    // With a test changed in the properties file: a full parse.
    std::fs::write(&shoppers, format!("{text}\n-- less")).expect("edit");
    std::fs::write(&schema, yml.replacen("[unique, not_null]", "[unique]", 1)).expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !patched(&r), "{r:?}");
}

/// `sluice parse` in `dir` expected to fail: its output.
fn parse_failing(dir: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("parse")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run sluice");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

#[test]
fn an_edit_of_a_singular_tests_refs_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let test = dir.join("tests/no_negative_amounts.sql");
    std::fs::create_dir_all(test.parent().expect("folder")).expect("folder");
    let text = "select * from {{ ref('orders') }} where amount < 0\n";
    std::fs::write(&test, text).expect("write test");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let id = "test.shop.no_negative_amounts";
    // It reads `shoppers` too, then `stg_payments` instead of `orders`, then `shoppers` in a
    // block (a render before and after the edit).
    let both = text.replace(
        "where",
        "join {{ ref('shoppers') }} using (shopper_id) where",
    );
    let in_block = text.replace(
        "where",
        "{% if true %}join {{ ref('shoppers') }} using (shopper_id){% endif %} where",
    );
    for edited in [
        both.clone(),
        both.replace("ref('orders')", "ref('stg_payments')"),
        in_block,
    ] {
        std::fs::write(&test, &edited).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(
            r.stdout
                .contains("the text of 1 SQL file changed since the last parse: patched"),
            "{r:?}"
        );
        let fast = like_a_full_parse(&dir);
        let parents = node(&fast, id)["depends_on"]["nodes"].to_string();
        assert!(parents.contains("model.shop.shoppers"), "{parents}");
        assert!(fast["child_map"]["model.shop.shoppers"]
            .to_string()
            .contains(id));
    }
}

#[test]
fn an_edit_of_a_models_refs_and_sources_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let patched = |r: &Run| {
        r.stdout
            .contains("the text of 1 SQL file changed since the last parse: patched")
    };
    std::fs::write(
        dir.join("models/staging/sources.yml"),
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n      \
         - name: visits\n",
    )
    .expect("sources");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let shoppers = dir.join("models/shoppers.sql");
    let orders = dir.join("models/orders.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");
    let orders_text = std::fs::read_to_string(&orders).expect("model");
    let deps = |m: &Value, id: &str| node(m, id)["depends_on"]["nodes"].clone();
    // Each edit is patched, and the manifest is then what a full parse writes (the graph maps
    // of the model and of its old and new parents included). The full parse writes elsewhere,
    // so that each edit patches the manifest the last one patched (entries that grew before
    // have blanks after them).
    let check = |edit: &dyn Fn()| {
        edit();
        let r = parse(&dir, &[], &[]);
        assert!(patched(&r), "{r:?}");
        like_a_full_parse(&dir)
    };

    // A ref changed: `shoppers` reads `orders` (a model) instead of `stg_payments`.
    let edited = text.replace("ref('stg_payments')", "ref(\"orders\")");
    let fast = check(&|| std::fs::write(&shoppers, &edited).expect("edit"));
    assert_eq!(
        deps(&fast, "model.shop.shoppers"),
        serde_json::json!([
            "model.shop.stg_shoppers",
            "model.shop.stg_orders",
            "model.shop.orders"
        ])
    );
    let children = &fast["child_map"]["model.shop.orders"];
    assert!(
        children.to_string().contains("model.shop.shoppers"),
        "{children}"
    );
    let children = &fast["child_map"]["model.shop.stg_payments"];
    assert!(
        !children.to_string().contains("model.shop.shoppers"),
        "{children}"
    );

    // A source and a seed added to a model with blocks (its refs are outside them), the same
    // ref twice, trimming markers.
    let edited_orders = orders_text.replace(
        "{{ ref('stg_orders') }}",
        "{{ ref('stg_orders') }} join {{- source('raw', 'events') -}} join {{ ref('raw_orders') }} \
         join {{ ref('stg_orders') }}",
    );
    let fast = check(&|| std::fs::write(&orders, &edited_orders).expect("edit"));
    assert_eq!(
        node(&fast, "model.shop.orders")["sources"],
        serde_json::json!([["raw", "events"]])
    );
    assert_eq!(
        deps(&fast, "model.shop.orders"),
        // (Sources first, then refs, as dbt lists them.)
        serde_json::json!([
            "source.shop.raw.events",
            "model.shop.stg_orders",
            "seed.shop.raw_orders",
            "model.shop.stg_payments"
        ])
    );
    // Then removed again, and a ref dropped: the entries shrink in place.
    check(&|| {
        let fewer = orders_text.replace("{{ ref('stg_payments') }}", "stg_payments");
        std::fs::write(&orders, fewer).expect("edit");
    });

    // Jinja that calls what it called, as a render of the file before and after the edit
    // records it (macros' arguments, expressions, a ref inside a block, a var's default): the
    // same patches. `orders` then reads `stg_shoppers` only when a var says so.
    std::fs::write(&orders, &orders_text).expect("restore");
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    let blocks = orders_text.replace(
        "{% set methods = ['card', 'voucher', 'bank_transfer', 'wallet'] %}",
        "{% set methods = ['card', 'voucher'] + var('more_methods', ['wallet']) %}",
    );
    check(&|| std::fs::write(&orders, &blocks).expect("edit"));
    let blocks = format!(
        "{blocks}\n{{% if var('with_shoppers', true) %}}join {{{{ ref('stg_shoppers') ~ '' }}}} \
         using (shopper_id){{% endif %}}"
    );
    let fast = check(&|| std::fs::write(&orders, &blocks).expect("edit"));
    assert!(deps(&fast, "model.shop.orders")
        .to_string()
        .contains("model.shop.stg_shoppers"));

    // A config call that sets what it overrides (`materialized`, `unique_key` ...): patched
    // into `config` and `unrendered_config`; removed again, or made ephemeral: full parses
    // (the value comes from elsewhere then, or the relation goes).
    std::fs::write(&orders, &orders_text).expect("restore");
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    let configured = |c: &str| format!("{{{{ config({c}) }}}}\n{orders_text}");
    let fast = check(&|| {
        let c = configured("materialized='incremental', unique_key=['order_id']");
        std::fs::write(&orders, c).expect("edit")
    });
    let config = &node(&fast, "model.shop.orders")["config"];
    assert_eq!(config["materialized"], "incremental");
    assert_eq!(config["unique_key"], serde_json::json!(["order_id"]));
    check(&|| {
        let c = configured("materialized='view', unique_key=['order_id']");
        std::fs::write(&orders, c).expect("edit")
    });
    for c in [
        "materialized='view'",
        "materialized='ephemeral', unique_key=['order_id']",
    ] {
        std::fs::write(&orders, configured(c)).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(!reused(&r) && !patched(&r), "{c}: {r:?}");
        let written = node(&manifest(&dir), "model.shop.orders")["config"].clone();
        assert_eq!(
            written["unique_key"].is_null(),
            !c.contains("unique_key"),
            "{c}"
        );
        std::fs::write(
            &orders,
            configured("materialized='view', unique_key=['order_id']"),
        )
        .expect("edit");
        assert!(!reused(&parse(&dir, &[], &[])));
    }

    // What this cannot vouch for parses in full: a ref with a package, a config call that
    // sets a key dbt merges with the project's, an environment variable no parse read before.
    std::fs::write(&orders, &orders_text).expect("restore");
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    for edit in [
        text.replace("ref('stg_payments')", "ref('shop', 'stg_payments')"),
        format!("{{{{ config(tags=['renamed']) }}}}\n{text}"),
        text.replace(
            "{{ ref('stg_payments') }}",
            "{{ ref(env_var('PP_NEVER_READ', 'stg_payments')) }}",
        ),
    ] {
        age(&dir);
        std::fs::write(&shoppers, &edit).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(!reused(&r) && !patched(&r), "{edit}: {r:?}");
    }
    // A ref to no node, and a cycle: the full parse reports them.
    age(&dir);
    std::fs::write(
        &shoppers,
        text.replace("ref('stg_payments')", "ref('no_such')"),
    )
    .expect("edit");
    let out = parse_failing(&dir);
    assert!(out.contains("no_such"), "{out}");
    std::fs::write(&shoppers, &text).expect("restore");
    assert!(!reused(&parse(&dir, &[], &[])));
    age(&dir);
    assert!(reused(&parse(&dir, &[], &[])));
    let stg = dir.join("models/staging/stg_orders.sql");
    let stg_text = std::fs::read_to_string(&stg).expect("model");
    std::fs::write(
        &stg,
        stg_text.replace("ref('raw_orders')", "ref('shoppers')"),
    )
    .expect("edit");
    let out = parse_failing(&dir);
    assert!(out.to_lowercase().contains("cycle"), "{out}");
}

#[test]
fn a_relation_named_by_a_models_config_call_is_patched_as_a_full_parse_would_name_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    // Naming macros of the project's own, which read the node they name.
    std::fs::create_dir_all(dir.join("macros")).expect("macros");
    std::fs::write(
        dir.join("macros/naming.sql"),
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n\
         {%- if custom_schema_name is none -%}{{ target.schema }}\n\
         {%- else -%}{{ custom_schema_name | trim }}_{{ node.fqn | length }}{%- endif -%}\n\
         {%- endmacro %}\n\
         {% macro generate_alias_name(custom_alias_name=none, node=none) -%}\n\
         {%- if custom_alias_name -%}{{ custom_alias_name | trim }}_{{ node.config.materialized }}\n\
         {%- else -%}{{ node.name }}{%- endif -%}\n\
         {%- endmacro %}\n",
    )
    .expect("naming macros");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let shoppers = dir.join("models/shoppers.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");
    let text_of_shoppers = text.clone();
    let patched = |r: &Run| r.stdout.contains("changed since the last parse: patched");
    let check = |config: &str| {
        std::fs::write(&shoppers, format!("{{{{ config({config}) }}}}\n{text}")).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(patched(&r), "{config}: {r:?}");
        let fast = like_a_full_parse(&dir);
        node(&fast, "model.shop.shoppers").clone()
    };
    // An alias, then a schema and a database too: the entry's names and `relation_name`, as
    // the macros name them.
    let entry = check("alias='renamed'");
    assert_eq!(entry["alias"], "renamed_table", "{entry}");
    assert_eq!(
        entry["relation_name"],
        "\"shop\".\"main\".\"renamed_table\""
    );
    let entry = check("alias='renamed', schema='extra'");
    assert_eq!(entry["schema"], "extra_2", "{entry}");
    let entry = check("alias='renamed', schema='extra', database='shop', materialized='view'");
    assert_eq!(
        entry["relation_name"],
        "\"shop\".\"extra_2\".\"renamed_view\""
    );
    // A name no longer set by the file comes from elsewhere: a full parse.
    std::fs::write(
        &shoppers,
        format!("{{{{ config(alias='renamed') }}}}\n{text}"),
    )
    .expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !patched(&r), "{r:?}");
    // The same names set in the model's properties entry: patched with the entry's other
    // config (the entry and its tests parsed alone).
    std::fs::write(&shoppers, &text).expect("restore");
    assert!(!reused(&parse(&dir, &[], &[])));
    let schema = dir.join("models/schema.yml");
    let yml = std::fs::read_to_string(&schema).expect("schema.yml");
    let props = |config: &str| {
        let with = format!("  - name: shoppers\n    config: {{{config}}}\n");
        let edited = yml.replacen("  - name: shoppers\n", &with, 1);
        std::fs::write(&schema, edited).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(patched(&r), "{config}: {r:?}");
        node(&like_a_full_parse(&dir), "model.shop.shoppers").clone()
    };
    assert_eq!(props("alias: listed")["alias"], "listed_table");
    let entry = props("alias: listed, schema: props");
    assert_eq!(
        entry["relation_name"],
        "\"shop\".\"props_2\".\"listed_table\""
    );
    std::fs::write(&schema, &yml).expect("restore");
    // A model a semantic model reads: its `node_relation` names the relation too, so renaming
    // it is a full parse.
    std::fs::write(
        dir.join("models/semantic.yml"),
        "version: 2\nsemantic_models:\n  - name: shoppers\n    model: ref('shoppers')\n    \
         entities:\n      - name: shopper\n        type: primary\n        expr: shopper_id\n",
    )
    .expect("semantic model");
    assert!(!reused(&parse(&dir, &[], &[])));
    let edited = format!("{{{{ config(alias='again') }}}}\n{text}");
    // An edit of `file` to `text` that renames what the semantic model reads: a full parse,
    // after which the semantic model names the relation `alias`.
    let renamed_in_full = |file: &Path, text: &str, alias: &str| {
        std::fs::write(file, text).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(!reused(&r) && !patched(&r), "{r:?}");
        let m = manifest(&dir);
        let relation = &m["semantic_models"]["semantic_model.shop.shoppers"]["node_relation"];
        assert_eq!(relation["alias"], alias, "{relation}");
    };
    renamed_in_full(&shoppers, &edited, "again_table");
    // A time spine: the semantic manifest names its relation.
    let spine = dir.join("models/spine.sql");
    let spine_sql = "select cast('2024-01-01' as date) as date_day\n";
    std::fs::write(&spine, spine_sql).expect("spine");
    std::fs::write(
        dir.join("models/spine.yml"),
        "version: 2\nmodels:\n  - name: spine\n    time_spine:\n      \
         standard_granularity_column: date_day\n    columns:\n      - name: date_day\n        \
         granularity: day\n",
    )
    .expect("spine properties");
    assert!(!reused(&parse(&dir, &[], &[])));
    std::fs::write(
        &spine,
        format!("{{{{ config(alias='days') }}}}\n{spine_sql}"),
    )
    .expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !patched(&r), "{r:?}");
    let text = std::fs::read_to_string(dir.join("target/semantic_manifest.json")).expect("read");
    assert!(text.contains("days_table"), "{text}");
    // Renamed by its properties entry, the model the semantic model reads: a full parse too.
    std::fs::write(&shoppers, &text_of_shoppers).expect("restore");
    assert!(!reused(&parse(&dir, &[], &[])));
    let edited = yml.replacen(
        "  - name: shoppers\n",
        "  - name: shoppers\n    config: {alias: x}\n",
        1,
    );
    renamed_in_full(&schema, &edited, "x_table");
}

#[test]
fn an_edit_of_descriptions_alone_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let patched = |r: &Run| {
        r.stdout
            .contains("descriptions in 1 properties file changed since the last parse: patched")
    };
    let sources = dir.join("models/staging/sources.yml");
    let sources_yml = "version: 2\nsources:\n  - name: raw\n    description: Loaded nightly\n    \
                       tables:\n      - name: events\n        description: Clicks\n        \
                       columns:\n          - name: id\n            description: The click\n      \
                       - name: visits\n";
    std::fs::write(&sources, sources_yml).expect("sources");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let schema = dir.join("models/schema.yml");
    let yml = std::fs::read_to_string(&schema).expect("schema.yml");

    // A model's description and a column's, quotes and all.
    std::fs::write(
        &schema,
        yml.replace(
            "description: One row per shopper,",
            "description: \"Every shopper's row,\"\n    # was: One row per shopper,",
        )
        .replace("The shopper's id.", "The shopper's key, \"id\"."),
    )
    .expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = manifest(&dir);
    let shoppers = node(&fast, "model.shop.shoppers");
    assert_eq!(shoppers["description"], "Every shopper's row,");
    assert_eq!(
        shoppers["columns"]["shopper_id"]["description"],
        "The shopper's key, \"id\"."
    );
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));

    // A source's description reaches each of its tables; a table's and a column's their own.
    std::fs::write(
        &sources,
        sources_yml
            .replace("Loaded nightly", "Loaded hourly")
            .replace("Clicks", "Every click")
            .replace("The click", "The click's id"),
    )
    .expect("edit");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = manifest(&dir);
    assert_eq!(
        fast["sources"]["source.shop.raw.visits"]["source_description"],
        "Loaded hourly"
    );
    assert_eq!(
        fast["sources"]["source.shop.raw.events"]["columns"]["id"]["description"],
        "The click's id"
    );
    assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
    assert_eq!(content(fast), content(manifest(&dir)));

    // Anything else in the file, or a description with Jinja: a full parse.
    age(&dir);
    assert!(reused(&parse(&dir, &[], &[])));
    let now = std::fs::read_to_string(&schema).expect("schema.yml");
    for edit in [
        now.replace("data_tests: [unique, not_null]", "data_tests: [unique]"),
        now.replace(
            "Sum of every payment on the shopper's orders.",
            "\"Sum {{ var('what', 'of every') }} payment\"",
        ),
        now.replace(
            "  - name: orders\n",
            "  - name: orders\n    config: {tags: [x]}\n",
        ),
    ] {
        std::fs::write(&schema, &edit).expect("edit");
        let r = parse(&dir, &[], &[]);
        assert!(!reused(&r) && !patched(&r), "{edit}: {r:?}");
        std::fs::write(&schema, &now).expect("restore");
        assert!(!reused(&parse(&dir, &["--no-partial-parse"], &[])));
        age(&dir);
        assert!(reused(&parse(&dir, &[], &[])));
    }
}

#[test]
fn a_new_model_file_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let added = |r: &Run| {
        r.stdout
            .contains("model file added since the last parse: patched")
    };
    let removed = |r: &Run| {
        r.stdout
            .contains("model file removed since the last parse: patched")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    // Each addition is patched, and the manifest is then what a full parse (written elsewhere)
    // writes: the new node with its folder's config, its graph lists and its parents'.
    let check_as = |edit: &dyn Fn(), how: &dyn Fn(&Run) -> bool| {
        edit();
        let r = parse(&dir, &[], &[]);
        assert!(how(&r), "{r:?}");
        like_a_full_parse(&dir)
    };
    let check = |edit: &dyn Fn()| check_as(edit, &added);
    let staging = dir.join("models/staging/stg_refunds.sql");
    let fast = check(&|| {
        let sql = "-- refunds\nselect order_id, amount from {{ ref('stg_payments') }}\n\
                   where {{ var('refund_flag', 'amount < 0') }}\n";
        std::fs::write(&staging, sql).expect("new model");
    });
    let new = node(&fast, "model.shop.stg_refunds");
    assert_eq!(new["config"]["materialized"], "view", "{new}");
    assert_eq!(
        new["depends_on"]["nodes"],
        serde_json::json!(["model.shop.stg_payments"])
    );
    assert!(fast["child_map"]["model.shop.stg_payments"]
        .to_string()
        .contains("model.shop.stg_refunds"));
    // In a new folder, reading the model added before, with its own config.
    let marts = dir.join("models/marts");
    let fast = check(&|| {
        std::fs::create_dir_all(&marts).expect("folder");
        let sql = "{{ config(materialized='incremental', unique_key='order_id') }}\n\
                   select r.*, o.status from {{ ref('stg_refunds') }} r\n\
                   join {{ ref('orders') }} o using (order_id)\n";
        std::fs::write(marts.join("refunds.sql"), sql).expect("new model");
    });
    assert_eq!(
        fast["parent_map"]["model.shop.refunds"],
        serde_json::json!(["model.shop.orders", "model.shop.stg_refunds"])
    );
    assert_eq!(
        fast["child_map"]["model.shop.stg_refunds"],
        serde_json::json!(["model.shop.refunds"])
    );
    // The next parse reads the new file again (too recent to vouch by its stamp) and finds
    // nothing changed.
    let again = parse(&dir, &[], &[]);
    assert!(reused(&again), "{again:?}");

    // What this cannot vouch for parses in full: a name taken, a ref to no node (both errors),
    // a properties file or a docs file added.
    let taken = marts.join("orders.sql");
    std::fs::write(&taken, "select 1 as order_id\n").expect("new model");
    let out = parse_failing(&dir);
    assert!(out.contains("orders"), "{out}");
    // (Removed again: the project is what the last parse read.)
    std::fs::remove_file(&taken).expect("remove");
    assert!(reused(&parse(&dir, &[], &[])));
    let dangling = marts.join("dangling.sql");
    std::fs::write(&dangling, "select * from {{ ref('no_such') }}\n").expect("new model");
    let out = parse_failing(&dir);
    assert!(out.contains("no_such"), "{out}");
    std::fs::remove_file(&dangling).expect("remove");
    assert!(reused(&parse(&dir, &[], &[])));

    // A model removed that nothing depends on: its entry and graph lists go, and its place
    // among its parents' children.
    let refunds = marts.join("refunds.sql");
    let refunds_text = std::fs::read_to_string(&refunds).expect("model");
    let fast = check_as(
        &|| std::fs::remove_file(&refunds).expect("remove"),
        &removed,
    );
    assert!(node(&fast, "model.shop.refunds").is_null());
    assert!(fast["parent_map"]["model.shop.refunds"].is_null());
    assert_eq!(
        fast["child_map"]["model.shop.stg_refunds"],
        serde_json::json!([])
    );
    // Added back: its name was taken (a full parse decides).
    std::fs::write(&refunds, &refunds_text).expect("restore");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !added(&r), "{r:?}");
    // A model another reads, removed: the full parse reports the broken ref.
    let stg_refunds = std::fs::read_to_string(&staging).expect("model");
    std::fs::remove_file(&staging).expect("remove");
    let out = parse_failing(&dir);
    assert!(out.contains("stg_refunds"), "{out}");
    std::fs::write(&staging, &stg_refunds).expect("restore");
    assert!(reused(&parse(&dir, &[], &[])));
    // A model a properties file describes and tests: a full parse.
    let shoppers = dir.join("models/shoppers.sql");
    let shoppers_text = std::fs::read_to_string(&shoppers).expect("model");
    std::fs::remove_file(&shoppers).expect("remove");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !removed(&r), "{r:?}");
    std::fs::write(&shoppers, &shoppers_text).expect("restore");
    assert!(!reused(&parse(&dir, &[], &[])));
    for (file, text) in [
        (
            "models/marts/schema.yml",
            "version: 2\nmodels:\n  - name: refunds\n    description: Refunds.\n",
        ),
        (
            "models/marts/refunds.md",
            "{% docs refunds %}Refunds.{% enddocs %}\n",
        ),
    ] {
        std::fs::write(dir.join(file), text).expect("new file");
        let r = parse(&dir, &[], &[]);
        assert!(!reused(&r) && !added(&r), "{file}: {r:?}");
    }
    std::fs::remove_file(marts.join("refunds.sql")).expect("remove");
    std::fs::remove_file(dir.join("models/marts/schema.yml")).expect("remove");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !added(&r), "{r:?}");
    assert!(node(&manifest(&dir), "model.shop.refunds").is_null());
    // A model a properties file describes, and nothing tests or reads, removed: a full parse
    // (which warns that the entry describes no node).
    let described = marts.join("described.sql");
    std::fs::write(&described, "select 1 as id\n").expect("model");
    let properties = marts.join("described.yml");
    let entry = "version: 2\nmodels:\n  - name: described\n    description: One row.\n";
    std::fs::write(&properties, entry).expect("properties");
    assert!(!reused(&parse(&dir, &[], &[])));
    age(&dir);
    assert!(reused(&parse(&dir, &[], &[])));
    std::fs::remove_file(&described).expect("remove");
    let r = parse(&dir, &[], &[]);
    assert!(!reused(&r) && !removed(&r), "{r:?}");
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(
        said.contains("unknown-patch") && said.contains("`described`"),
        "{r:?}"
    );
}

#[test]
fn a_model_disabled_by_its_file_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let disabled = |r: &Run| patched_for(r, "1 model disabled");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    // `shoppers` is read by its own tests and by a relationships test of `orders`: its entry
    // moves to `disabled`, the tests that read it are disabled and keep their other parents.
    let shoppers = dir.join("models/shoppers.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");
    write_disabled(&shoppers, &text);
    let r = parse(&dir, &[], &[]);
    assert!(disabled(&r), "{r:?}");
    assert!(r.stdout.contains("Parsed"), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert!(node(&fast, "model.shop.shoppers").is_null());
    let entry = &fast["disabled"]["model.shop.shoppers"][0];
    assert_eq!(entry["config"]["enabled"], false, "{entry}");
    assert_eq!(entry["depends_on"]["nodes"], serde_json::json!([]));
    assert!(fast["child_map"]["model.shop.shoppers"].is_null());
    assert!(!fast["child_map"]["model.shop.stg_orders"]
        .to_string()
        .contains("model.shop.shoppers"));
    let test = |prefix: &str| -> Value {
        let nodes = fast["nodes"].as_object().expect("nodes");
        let mut found = nodes.iter().filter(|(id, _)| id.starts_with(prefix));
        let (_, t) = found.next().expect(prefix);
        assert!(found.next().is_none(), "{prefix}");
        t.clone()
    };
    let unique = test("test.shop.unique_shoppers_shopper_id.");
    assert_eq!(unique["config"]["enabled"], false);
    assert_eq!(unique["depends_on"]["nodes"], serde_json::json!([]));
    let relationships = test("test.shop.relationships_orders_shopper_id");
    assert_eq!(relationships["config"]["enabled"], false);
    assert_eq!(
        relationships["depends_on"]["nodes"],
        serde_json::json!(["model.shop.orders"])
    );
    // (A test of `orders` that does not read `shoppers` stays as it was.)
    let not_null = test("test.shop.not_null_orders_shopper_id.");
    assert_eq!(not_null["config"]["enabled"], true);
    // What the patch kept serves the next edits: another model's text, then the disabled
    // model's description.
    let r = edit_and_parse(&dir, &dir.join("models/orders.sql"), "select", "select  ");
    assert!(r.stdout.contains("patched"), "{r:?}");
    like_a_full_parse(&dir);
    let schema = dir.join("models/schema.yml");
    edit_and_parse(&dir, &schema, "One row per shopper", "One row per buyer");
    like_a_full_parse(&dir);
    // Enabled again: its entry moves back to `nodes` with what its calls resolve to and its
    // primary key, and the tests it disabled are enabled with their parents.
    std::fs::write(&shoppers, &text).expect("restore");
    let r = parse(&dir, &[], &[]);
    assert!(patched_for(&r, "1 model enabled again"), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let enabled = node(&fast, "model.shop.shoppers");
    assert_eq!(enabled["primary_key"], serde_json::json!(["shopper_id"]));
    assert!(fast["disabled"]["model.shop.shoppers"].is_null());
    assert_eq!(
        fast["parent_map"]["model.shop.shoppers"],
        serde_json::json!([
            "model.shop.stg_orders",
            "model.shop.stg_payments",
            "model.shop.stg_shoppers"
        ])
    );
    assert_eq!(
        fast["child_map"]["model.shop.shoppers"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Disabled and enabled again once more, from what those patches kept.
    write_disabled(&shoppers, &text);
    assert!(disabled(&parse(&dir, &[], &[])));
    like_a_full_parse(&dir);
    std::fs::write(&shoppers, &text).expect("restore");
    assert!(parse(&dir, &[], &[]).stdout.contains("enabled again"));
    like_a_full_parse(&dir);

    // What this cannot vouch for parses in full: `enabled` from a variable, a model another
    // model reads (the full parse refuses the broken ref).
    let r = edit_and_parse(
        &dir,
        &shoppers,
        "with",
        "{{ config(enabled=var('shoppers_on', false)) }}\nwith",
    );
    assert!(!disabled(&r) && !r.stdout.contains("patched"), "{r:?}");
    like_a_full_parse(&dir);
    std::fs::write(&shoppers, &text).expect("restore");
    parse(&dir, &[], &[]);
    let staging = dir.join("models/staging/stg_orders.sql");
    let staged = std::fs::read_to_string(&staging).expect("model");
    write_disabled(&staging, &staged);
    let out = parse_failing(&dir);
    assert!(
        out.contains("stg_orders") && out.contains("disabled"),
        "{out}"
    );
}

#[test]
fn a_model_disabled_in_its_properties_entry_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let schema = dir.join("models/schema.yml");
    let entry = "  - name: shoppers\n    description: One row per shopper";
    let disabled_entry =
        "  - name: shoppers\n    config:\n      enabled: false\n    description: One row per shopper";
    // `enabled: false` in the entry's `config:`: the model is disabled as by its file.
    let r = edit_and_parse(&dir, &schema, entry, disabled_entry);
    assert!(patched_for(&r, "1 model disabled"), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert!(node(&fast, "model.shop.shoppers").is_null());
    let disabled = &fast["disabled"]["model.shop.shoppers"][0];
    assert_eq!(
        disabled["unrendered_config"]["enabled"], false,
        "{disabled}"
    );
    // Other edits patch from what that patch kept.
    let orders = dir.join("models/orders.sql");
    let r = edit_and_parse(&dir, &orders, "select", "select  ");
    assert!(r.stdout.contains("patched"), "{r:?}");
    like_a_full_parse(&dir);
    // Taken out again: enabled again.
    let r = edit_and_parse(&dir, &schema, disabled_entry, entry);
    assert!(patched_for(&r, "1 model enabled again"), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(
        node(&fast, "model.shop.shoppers")["primary_key"],
        serde_json::json!(["shopper_id"])
    );
    // Where the model's file sets `enabled` itself (it wins over the entry), a full parse
    // decides: here the model stays enabled.
    let shoppers = dir.join("models/shoppers.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");
    std::fs::write(&shoppers, format!("{{{{ config(enabled=true) }}}}\n{text}")).expect("edit");
    parse(&dir, &[], &[]);
    let r = edit_and_parse(&dir, &schema, entry, disabled_entry);
    assert!(!r.stdout.contains("patched"), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert!(!node(&fast, "model.shop.shoppers").is_null());
}

#[test]
fn a_model_renamed_and_models_added_together_are_patched_as_a_full_parse_would_write_them() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let models = dir.join("models");
    std::fs::write(
        models.join("leaf.sql"),
        "select * from {{ ref('orders') }}\n",
    )
    .expect("model");
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let check = |said: &str| {
        let r = parse(&dir, &[], &[]);
        assert!(r.stdout.contains(said), "{r:?}");
        like_a_full_parse(&dir)
    };
    // Renamed (the file keeps its stamp): one removed, one added; `orders`' children change
    // twice in one patch.
    std::fs::rename(models.join("leaf.sql"), models.join("leaf_renamed.sql")).expect("mv");
    let fast = check("1 model file added, 1 model file removed since the last parse: patched");
    let children = fast["child_map"]["model.shop.orders"].to_string();
    assert!(
        children.contains("\"model.shop.leaf_renamed\"")
            && !children.contains("\"model.shop.leaf\""),
        "{children}"
    );
    // Two new models, the second reading the first.
    std::fs::write(models.join("a_first.sql"), "select 1 as id\n").expect("model");
    std::fs::write(
        models.join("b_second.sql"),
        "select * from {{ ref('a_first') }} join {{ ref('leaf_renamed') }} using (id)\n",
    )
    .expect("model");
    let fast = check("2 model files added since the last parse: patched");
    assert_eq!(
        fast["child_map"]["model.shop.a_first"],
        serde_json::json!(["model.shop.b_second"])
    );
}

#[test]
fn an_edit_of_macro_files_is_patched_when_what_their_callers_record_is_the_same() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let macros = dir.join("macros");
    std::fs::create_dir_all(&macros).expect("macros folder");
    let write = |path: &Path, text: &str| std::fs::write(path, text).expect("write");
    let cents = macros.join("cents.sql");
    let inner = macros.join("inner.sql");
    let hooked = macros.join("hooked.sql");
    write(
        &cents,
        "{% macro to_dollars(col) %}{{ col }} / 100.0{% endmacro %}\n\
         {% macro outer(col, deep=false) %}{% if deep %}{{ inner(col) }}{% else %}{{ col }}{% endif %}{% endmacro %}\n",
    );
    write(&inner, "{% macro inner(col) %}{{ col }}{% endmacro %}\n");
    write(&hooked, "{% macro hooked() %}select 1{% endmacro %}\n");
    let payments = dir.join("models/staging/stg_payments.sql");
    write(
        &payments,
        "select id as payment_id, order_id, method as payment_method,\n\
         {{ to_dollars('amount_cents') }} as amount, {{ outer('id') }} as id_again\n\
         from {{ ref('raw_payments') }}\n",
    );
    let shoppers = dir.join("models/shoppers.sql");
    let text = std::fs::read_to_string(&shoppers).expect("model");
    write(
        &shoppers,
        &format!("{{{{ config(post_hook=\"{{{{ hooked() }}}}\") }}}}\n{text}"),
    );
    let patched = |r: &Run| {
        r.stdout
            .contains("(1 macro file edited since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |path: &Path, from: &str, to: &str| edit_and_parse(&dir, path, from, to);

    // The SQL a model's macro writes: its entry's `macro_sql`, nothing else.
    let r = edit(&cents, "/ 100.0", "/ 100.00");
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let sql = &fast["macros"]["macro.shop.to_dollars"]["macro_sql"];
    assert!(sql.as_str().unwrap().contains("/ 100.00"), "{sql}");
    // Jinja that calls nothing new.
    let r = edit(
        &cents,
        "{{ col }} / 100.00",
        "{% set unit = 100 %}{{ col }} / {{ unit }}",
    );
    assert!(patched(&r), "{r:?}");
    like_a_full_parse(&dir);
    // A macro file no render ran: patched (no caller to render).
    let r = edit(&inner, "{{ col }}", "({{ col }})");
    assert!(patched(&r), "{r:?}");
    like_a_full_parse(&dir);
    // A macro no render ran now calling another: its `depends_on.macros` is rewritten.
    let r = edit(&inner, "({{ col }})", "({{ to_dollars(col) }})");
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(
        fast["macros"]["macro.shop.inner"]["depends_on"]["macros"],
        serde_json::json!(["macro.shop.to_dollars"])
    );
    let r = edit(&inner, "({{ to_dollars(col) }})", "({{ col }})");
    assert!(patched(&r), "{r:?}");
    like_a_full_parse(&dir);

    // What a model records changed: a full parse.
    let r = edit(
        &cents,
        "{% set unit",
        "{{ config(tags=['dollars']) }}{% set unit",
    );
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let tags = &node(&fast, "model.shop.stg_payments")["tags"];
    assert!(tags.to_string().contains("dollars"), "{tags}");
    // A macro defined, or one run by a hook: a full parse.
    let r = edit(
        &cents,
        "{% macro outer",
        "{% macro extra() %}1{% endmacro %}{% macro outer",
    );
    assert!(!patched(&r), "{r:?}");
    like_a_full_parse(&dir);
    let r = edit(&hooked, "select 1", "select 2");
    assert!(!patched(&r), "{r:?}");
    like_a_full_parse(&dir);

    // A model's Jinja edited (patched) so that it now runs `inner` through `outer`: an edit of
    // `inner` that changes what the model records must then parse in full.
    let r = edit(&payments, "outer('id')", "outer('id', deep=true)");
    assert!(r.stdout.contains("patched)"), "{r:?}");
    like_a_full_parse(&dir);
    let r = edit(
        &inner,
        "({{ col }})",
        "{{ config(tags=['inner']) }}({{ col }})",
    );
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let tags = &node(&fast, "model.shop.stg_payments")["tags"];
    assert!(tags.to_string().contains("inner"), "{tags}");
    // A new model (patched) that runs a macro: its render is known to the next macro edit.
    let r = {
        write(
            &dir.join("models/big_payments.sql"),
            "select * from {{ ref('stg_payments') }} where amount > {{ outer('10') }}\n",
        );
        parse(&dir, &[], &[])
    };
    assert!(r.stdout.contains("1 model file added"), "{r:?}");
    like_a_full_parse(&dir);
    let r = edit(
        &cents,
        "{{ col }}{% endif %}",
        "{{ config(materialized='table') }}{{ col }}{% endif %}",
    );
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let big = node(&fast, "model.shop.big_payments");
    assert_eq!(big["config"]["materialized"], "table", "{big}");

    // A macro's text read as a value (a ref's name): an edit of that text alone changes what
    // its caller records, a full parse.
    write(
        &macros.join("which.sql"),
        "{% macro which_model() %}stg_orders{% endmacro %}\n",
    );
    write(
        &dir.join("models/chosen.sql"),
        "select * from {{ ref(which_model()) }}\n",
    );
    assert!(!reused(&parse(&dir, &[], &[])));
    let r = edit(&macros.join("which.sql"), "stg_orders", "stg_payments");
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let parents = &node(&fast, "model.shop.chosen")["depends_on"]["nodes"];
    assert_eq!(parents, &serde_json::json!(["model.shop.stg_payments"]));
}

#[test]
fn an_edit_of_a_docs_blocks_text_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/features"));
    let docs = dir.join("models/docs.md");
    let marts = dir.join("models/marts/_marts.yml");
    // The block is called twice: a model's description, and a column's with text around it.
    let text = std::fs::read_to_string(&marts).expect("read");
    let text = text.replacen(
        "    columns:\n      - name: order_id\n",
        "    columns:\n      - name: amount\n        \
         description: 'Amount. {{ doc(\"big_orders\") }} In dollars.'\n      - name: order_id\n",
        1,
    );
    std::fs::write(&marts, text).expect("write");
    let patched = |r: &Run| {
        r.stdout
            .contains("(1 docs file edited since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |from: &str, to: &str| edit_and_parse(&dir, &docs, from, to);
    let r = edit("at least", "no less than");
    assert!(patched(&r), "{r:?}");
    // The model the block describes: its description and its column's, which calls it.
    let described = |manifest: &Value| -> (String, String) {
        let big = manifest["nodes"]
            .as_object()
            .expect("nodes")
            .values()
            .find(|n| n["columns"]["amount"]["description"].is_string())
            .expect("the model the block describes");
        let text = |v: &Value| v.as_str().expect("text").to_string();
        (
            text(&big["description"]),
            text(&big["columns"]["amount"]["description"]),
        )
    };
    let (model, column) = described(&like_a_full_parse(&dir));
    assert!(model.contains("no less than"), "{model}");
    assert!(
        column.starts_with("Amount. EU orders of no less than"),
        "{column}"
    );
    assert!(column.ends_with("In dollars."), "{column}");
    // Edited back to the text the full parse read: patched again, from the text last patched in.
    let r = edit("no less than", "at least");
    assert!(patched(&r), "{r:?}");
    let (model, column) = described(&like_a_full_parse(&dir));
    assert!(model.contains("at least"), "{model}");
    assert!(
        column.starts_with("Amount. EU orders of at least"),
        "{column}"
    );
    // A block added: a full parse.
    let r = edit(
        "{% enddocs %}",
        "{% enddocs %}\n{% docs other %}More.{% enddocs %}",
    );
    assert!(!patched(&r), "{r:?}");
    like_a_full_parse(&dir);
}

#[test]
fn an_edit_of_a_seed_entry_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let seeds = dir.join("seeds/seeds.yml");
    std::fs::write(
        &seeds,
        "version: 2\nseeds:\n  - name: raw_payments\n    columns:\n      - name: id\n        data_tests: [unique]\n",
    )
    .expect("write");
    let patched = |r: &Run| {
        r.stdout
            .contains("(the entries of 1 properties file changed since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |from: &str, to: &str| edit_and_parse(&dir, &seeds, from, to);
    // Its column types, meta and a column's description, with a test.
    let r = edit(
        "    columns:\n",
        "    config:\n      column_types: {amount_cents: bigint}\n      meta: {owner: finance}\n    columns:\n      \
         - name: amount_cents\n        description: Cents.\n        data_tests: [not_null]\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let seed = node(&fast, "seed.shop.raw_payments");
    assert_eq!(
        seed["config"]["column_types"]["amount_cents"], "bigint",
        "{seed}"
    );
    assert_eq!(seed["columns"]["amount_cents"]["description"], "Cents.");
    // Its relation renamed: patched as a full parse names it.
    let r = edit(
        "      meta: {owner: finance}\n",
        "      meta: {owner: finance}\n      alias: payments_v2\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(
        node(&fast, "seed.shop.raw_payments")["alias"],
        "payments_v2"
    );
}

#[test]
fn an_edit_of_a_source_entry_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/features"));
    let sources = dir.join("models/sources.yml");
    let patched = |r: &Run| {
        r.stdout
            .contains("(the entries of 1 properties file changed since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |from: &str, to: &str| edit_and_parse(&dir, &sources, from, to);
    // The table's meta, freshness, a column and its test.
    let r = edit(
        "        identifier: raw_orders\n",
        "        identifier: raw_orders\n        meta: {owner: ops}\n        loaded_at_field: ordered_at\n        \
         freshness: {warn_after: {count: 1, period: day}}\n        columns:\n          - name: id\n            \
         description: The order's id.\n            data_tests: [not_null]\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let orders = &fast["sources"]["source.feat.shop.orders"];
    assert_eq!(orders["meta"]["owner"], "ops", "{orders}");
    assert_eq!(orders["columns"]["id"]["description"], "The order's id.");
    let tests = fast["child_map"]["source.feat.shop.orders"].to_string();
    assert!(
        tests.contains("test.feat.source_not_null_shop_orders_id"),
        "{tests}"
    );
    // Its relation: a full parse.
    let r = edit("identifier: raw_orders", "identifier: raw_orders_v2");
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let orders = &fast["sources"]["source.feat.shop.orders"];
    assert!(
        orders["relation_name"]
            .to_string()
            .contains("raw_orders_v2"),
        "{orders}"
    );
}

#[test]
fn a_models_properties_entry_added_or_removed_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    std::fs::write(dir.join("models/notes.sql"), "select 1 as id\n").expect("write model");
    let schema = dir.join("models/schema.yml");
    let staging = dir.join("models/staging/schema.yml");
    let patched = |r: &Run| {
        r.stdout
            .contains("properties file changed since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let entry =
        "\n  - name: notes\n    description: Notes.\n    config: {meta: {owner: ops}}\n    \
                 columns:\n      - name: id\n        data_tests: [not_null]\n";
    let text = std::fs::read_to_string(&schema).expect("read");
    // An entry added for a model no file described: its description, config, columns and test.
    std::fs::write(&schema, format!("{text}{entry}")).expect("write");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let notes = node(&fast, "model.shop.notes");
    assert_eq!(notes["description"], "Notes.", "{notes}");
    assert_eq!(notes["patch_path"], "shop://models/schema.yml");
    let children = fast["child_map"]["model.shop.notes"].to_string();
    assert!(
        children.contains("test.shop.not_null_notes_id"),
        "{children}"
    );
    // Removed again: the model as its file alone makes it, its test gone.
    std::fs::write(&schema, &text).expect("write");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(node(&fast, "model.shop.notes")["patch_path"], Value::Null);
    assert_eq!(fast["child_map"]["model.shop.notes"], serde_json::json!([]));
    // An entry (without tests) added to another file, then moved from it back to the first
    // one: the move is a full parse.
    let staged = std::fs::read_to_string(&staging).expect("read");
    let plain = "\n  - name: notes\n    description: Notes.\n";
    std::fs::write(&staging, format!("{staged}{plain}")).expect("write");
    assert!(patched(&parse(&dir, &[], &[])));
    std::fs::write(&staging, &staged).expect("write");
    std::fs::write(&schema, format!("{text}{plain}")).expect("write");
    let r = parse(&dir, &[], &[]);
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let notes = node(&fast, "model.shop.notes");
    assert_eq!(notes["patch_path"], "shop://models/schema.yml", "{notes}");
    // A properties file of its own added in a new folder (the entry gone from the other), then
    // removed.
    std::fs::write(&schema, &text).expect("write");
    assert!(!reused(&parse(&dir, &[], &[])));
    let own = dir.join("models/notes/notes.yml");
    std::fs::create_dir_all(own.parent().expect("folder")).expect("folder");
    std::fs::write(&own, format!("version: 2\nmodels:{entry}")).expect("write");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let notes = node(&fast, "model.shop.notes");
    assert_eq!(
        notes["patch_path"], "shop://models/notes/notes.yml",
        "{notes}"
    );
    std::fs::remove_file(&own).expect("remove");
    let r = parse(&dir, &[], &[]);
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(node(&fast, "model.shop.notes")["description"], "");
    // A file with an entry of a model another file describes: a full parse (which refuses it).
    std::fs::write(&own, "version: 2\nmodels:\n  - name: orders\n").expect("write");
    let r = parse_any(&dir, &[], &[]);
    assert!(!patched(&r), "{r:?}");
    let full = parse_any(&dir, &["--no-partial-parse", "--target-path", "full"], &[]);
    assert_eq!((r.code, r.stderr), (full.code, full.stderr));
}

#[test]
fn an_edit_of_an_exposure_entry_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let exposures = dir.join("models/exposures.yml");
    std::fs::write(
        &exposures,
        "version: 2\nexposures:\n  - name: weekly_orders\n    type: dashboard\n    \
         owner: {name: Ops}\n    depends_on: [ref('orders')]\n  - name: churn\n    \
         type: ml\n    owner: {email: ml@example.com}\n    depends_on: [ref('shoppers')]\n",
    )
    .expect("write exposures");
    let patched = |r: &Run| {
        r.stdout
            .contains("(the entries of 1 properties file changed since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |from: &str, to: &str| edit_and_parse(&dir, &exposures, from, to);
    // Its owner, url, maturity, description, meta and tags.
    let r = edit(
        "    owner: {name: Ops}\n",
        "    owner: {name: Ops, email: ops@example.com}\n    url: https://bi.example.com/1\n    \
         maturity: high\n    description: Orders by week.\n    meta: {tier: 1}\n    tags: [board]\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let weekly = &fast["exposures"]["exposure.shop.weekly_orders"];
    assert_eq!(weekly["owner"]["email"], "ops@example.com", "{weekly}");
    assert_eq!(weekly["maturity"], "high");
    assert_eq!(weekly["config"]["meta"]["tier"], 1);
    assert_eq!(weekly["tags"], serde_json::json!(["board"]));
    // A test added to the model it reads: the model's children in id order, the exposure's
    // among them.
    let schema = dir.join("models/schema.yml");
    let from = "      - name: status\n        data_tests:\n";
    let r = edit_and_parse(
        &dir,
        &schema,
        from,
        &format!("{from}          - not_null\n"),
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let children = fast["child_map"]["model.shop.orders"].to_string();
    assert!(
        children.contains("test.shop.not_null_orders_status"),
        "{children}"
    );
    // What it reads: a full parse, with the new parent.
    let r = edit("[ref('orders')]", "[ref('orders'), ref('shoppers')]");
    assert!(!patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let parents = fast["parent_map"]["exposure.shop.weekly_orders"].to_string();
    assert!(parents.contains("model.shop.shoppers"), "{parents}");
    // Jinja in it: a full parse.
    let r = edit("maturity: high", "maturity: \"{{ 'low' }}\"");
    assert!(!patched(&r), "{r:?}");
    like_a_full_parse(&dir);
}

#[test]
fn an_edit_of_a_models_properties_entry_is_patched_as_a_full_parse_would_write_it() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let schema = dir.join("models/schema.yml");
    let patched = |r: &Run| {
        r.stdout
            .contains("(the entries of 1 properties file changed since the last parse: patched)")
    };
    age(&dir);
    assert!(!reused(&parse(&dir, &[], &[])));
    let edit = |from: &str, to: &str| edit_and_parse(&dir, &schema, from, to);
    let tests_of = |m: &Value, model: &str| -> Vec<String> {
        let mut ids: Vec<String> = m["child_map"][model]
            .as_array()
            .expect("children")
            .iter()
            .filter_map(|c| {
                c.as_str()
                    .filter(|c| c.starts_with("test."))
                    .map(String::from)
            })
            .collect();
        ids.sort();
        ids
    };
    // A test added to a column that had none, then one with arguments and another parent.
    let r = edit(
        "      - name: first_order_on\n",
        "      - name: first_order_on\n        data_tests: [not_null]\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let shoppers = tests_of(&fast, "model.shop.shoppers");
    assert!(
        shoppers
            .iter()
            .any(|t| t.starts_with("test.shop.not_null_shoppers_first_order_on.")),
        "{shoppers:?}"
    );
    let r = edit(
        "        data_tests: [not_null]\n",
        "        data_tests:\n          - not_null\n          - relationships:\n              to: ref('orders')\n              field: ordered_at\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let orders = tests_of(&fast, "model.shop.orders");
    assert!(
        orders
            .iter()
            .any(|t| t.contains("relationships_shoppers_first_order_on")),
        "{orders:?}"
    );
    // Its severity, then a test removed.
    let r = edit(
        "          - not_null\n          - relationships",
        "          - not_null:\n              config: {severity: warn}\n          - relationships",
    );
    assert!(patched(&r), "{r:?}");
    like_a_full_parse(&dir);
    let r = edit("data_tests: [unique, not_null]", "data_tests: [unique]");
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    assert_eq!(tests_of(&fast, "model.shop.shoppers").len(), shoppers.len());

    // A test with a column's meta, then the model's config, a new column and its description.
    let r = edit(
        "data_tests: [unique]",
        "data_tests: [unique, not_null]\n        meta: {owner: ops}",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let shoppers = node(&fast, "model.shop.shoppers");
    assert_eq!(shoppers["columns"]["shopper_id"]["meta"]["owner"], "ops");
    let r = edit(
        "  - name: shoppers\n",
        "  - name: shoppers\n    config:\n      materialized: table\n      tags: [finance]\n",
    );
    assert!(patched(&r), "{r:?}");
    let r = edit(
        "      - name: lifetime_value\n",
        "      - name: loyalty_tier\n        description: The shopper's tier.\n        data_type: varchar\n      - name: lifetime_value\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let shoppers = node(&fast, "model.shop.shoppers");
    assert_eq!(shoppers["config"]["materialized"], "table");
    assert_eq!(shoppers["tags"], serde_json::json!(["finance"]));
    let tier = &shoppers["columns"]["loyalty_tier"];
    assert_eq!(tier["description"], "The shopper's tier.");
    assert_eq!(tier["data_type"], "varchar");

    // Its relation renamed: patched as a full parse names it.
    let r = edit(
        "      tags: [finance]\n",
        "      tags: [finance]\n      alias: shoppers_v2\n",
    );
    assert!(patched(&r), "{r:?}");
    let fast = like_a_full_parse(&dir);
    let relation = &node(&fast, "model.shop.shoppers")["relation_name"];
    assert_eq!(relation, "\"shop\".\"main\".\"shoppers_v2\"");
    // What others see of the model (its access), or a test that cannot be: a full parse.
    let r = edit(
        "      tags: [finance]\n",
        "      tags: [finance]\n      access: private\n",
    );
    assert!(!patched(&r), "{r:?}");
    like_a_full_parse(&dir);
    let text = std::fs::read_to_string(&schema).expect("read");
    let unknown = text.replacen("[unique, not_null]", "[unique, not_null, no_such_test]", 1);
    std::fs::write(&schema, unknown).expect("write");
    let out = parse_failing(&dir);
    assert!(out.contains("no_such_test"), "{out}");
}

/// The kept texts of the properties files (`target/sluice_partial_parse_yaml`): each file's
/// name, inode, modification time and text.
fn kept_texts(
    dir: &Path,
) -> std::collections::BTreeMap<String, (u64, std::time::SystemTime, String)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir.join("target/sluice_partial_parse_yaml"))
        .expect("kept texts")
        .map(|e| {
            let e = e.expect("entry");
            let meta = e.metadata().expect("metadata");
            let text = std::fs::read_to_string(e.path()).expect("text");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, (meta.ino(), meta.modified().expect("mtime"), text))
        })
        .collect()
}

#[test]
fn a_full_parse_rewrites_only_the_kept_texts_of_properties_files_that_changed() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    parse(&dir, &["--no-partial-parse"], &[]);
    let first = kept_texts(&dir);
    let schema = dir.join("models/schema.yml");
    let yml = std::fs::read_to_string(&schema).expect("schema.yml");
    assert!(first.len() >= 2, "{first:?}");
    assert!(first.values().any(|(_, _, text)| *text == yml));

    // Nothing changed: every kept text is the same file, not written again.
    parse(&dir, &["--no-partial-parse"], &[]);
    assert_eq!(kept_texts(&dir), first);

    // One file edited, one added: its text alone is written; the others stay as they were.
    std::fs::write(&schema, format!("{yml}# edited\n")).expect("edit");
    let extra = dir.join("models/extra.yml");
    std::fs::write(&extra, "version: 2\n").expect("extra");
    parse(&dir, &["--no-partial-parse"], &[]);
    let now = kept_texts(&dir);
    assert_eq!(now.len(), first.len() + 1);
    let unchanged = now.iter().filter(|(k, v)| first.get(*k) == Some(v)).count();
    assert_eq!(unchanged, first.len() - 1);
    assert!(now
        .values()
        .any(|(_, _, t)| *t == format!("{yml}# edited\n")));
    assert!(now.values().any(|(_, _, t)| t == "version: 2\n"));

    // A file removed: its kept text goes too.
    std::fs::remove_file(&extra).expect("remove");
    parse(&dir, &["--no-partial-parse"], &[]);
    let after = kept_texts(&dir);
    assert_eq!(after.len(), first.len());
    assert!(!after.values().any(|(_, _, t)| t == "version: 2\n"));
}
