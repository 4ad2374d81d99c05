//! `sluice docs generate` / `sluice docs serve`: catalog.json against real dbt's, the server, and
//! the site driven in headless Chromium (search, node page, columns, lineage, metrics).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::cdp::{chromium_path, Browser};
use crate::support::{copy_demo, sluice};

fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// A `sluice docs serve --port 0` child; killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["docs", "serve", "--port", "0"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("docs serve exited before printing its URL")
            .unwrap();
        if let Some(i) = line.find("http://") {
            break line[i..].trim().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

/// Raw HTTP GET: (status line, body).
fn get(url: &str, path: &str) -> (String, Vec<u8>) {
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http response");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    (
        head.lines().next().unwrap_or("").to_string(),
        out[split + 4..].to_vec(),
    )
}

#[test]
fn catalog_matches_dbt_on_the_shop_fixture() {
    let (_tmp, dir) = crate::shop::shop();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["docs", "generate"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Catalog written to"), "{}", r.stdout);
    let got = read_json(&dir.join("target/catalog.json"));
    let want = crate::shop::expected("dbt_catalog.json");
    assert_eq!(
        got["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    );
    assert_eq!(got["errors"], Value::Null);
    assert_eq!(got["sources"], want["sources"]);
    let (g, w) = (
        got["nodes"].as_object().unwrap(),
        want["nodes"].as_object().unwrap(),
    );
    assert_eq!(
        g.keys().collect::<Vec<_>>(),
        w.keys().collect::<Vec<_>>(),
        "catalog node ids"
    );
    for (id, wn) in w {
        let gn = &g[id];
        assert_eq!(gn["metadata"], wn["metadata"], "metadata of {id}");
        assert_eq!(gn["columns"], wn["columns"], "columns of {id}");
        assert_eq!(gn["unique_id"], wn["unique_id"]);
        assert_eq!(
            gn.as_object().unwrap().keys().collect::<Vec<_>>(),
            wn.as_object().unwrap().keys().collect::<Vec<_>>(),
            "key order of {id}"
        );
    }
    // Row counts where cheap: tables only, and right.
    let db = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let count: u64 = db
        .query_row("select count(*) from main.raw_orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        g["seed.shop.raw_orders"]["stats"]["row_count"]["value"],
        count
    );
    assert_eq!(
        g["seed.shop.raw_orders"]["stats"]["has_stats"]["value"],
        true
    );
    assert!(g["model.shop.stg_orders"]["stats"]
        .get("row_count")
        .is_none());
    // The whole shape, as users see it (timestamps and ids redacted).
    let mut shown = got.clone();
    for k in ["generated_at", "invocation_started_at", "invocation_id"] {
        shown["metadata"][k] = Value::String(format!("[{k}]"));
    }
    shown["metadata"]["dbt_version"] = "[dbt_version]".into();
    shown["nodes"] = serde_json::json!({
        "model.shop.shoppers": got["nodes"]["model.shop.shoppers"],
        "model.shop.stg_orders": got["nodes"]["model.shop.stg_orders"],
        "seed.shop.raw_orders": got["nodes"]["seed.shop.raw_orders"],
    });
    insta::assert_json_snapshot!(shown);

    // The site is there and every asset is local.
    let site = dir.join("target/docs");
    for f in [
        "index.html",
        "app.js",
        "app.css",
        "data/index.js",
        "data/s0.js",
    ] {
        assert!(site.join(f).is_file(), "missing {f}");
    }
    for f in ["index.html", "app.css"] {
        let text = std::fs::read_to_string(site.join(f)).unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{f} references the network"
        );
    }
    let index = std::fs::read_to_string(site.join("data/index.js")).unwrap();
    assert!(index.starts_with("sluiceDocs.index({"), "{}", &index[..80]);
    assert!(index.contains("model.shop.shoppers"));
}

#[test]
fn empty_catalog_and_no_compile_skip_the_warehouse() {
    let (_tmp, dir) = crate::shop::shop();
    let r = sluice(
        &dir,
        &["docs", "generate", "--empty-catalog", "--no-compile"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let got = read_json(&dir.join("target/catalog.json"));
    assert_eq!(got["nodes"], serde_json::json!({}));
    assert!(!dir.join("shop.duckdb").exists(), "touched the warehouse");
    assert!(dir.join("target/docs/index.html").is_file());
    assert!(
        !dir.join("target/manifest.json").exists(),
        "as dbt, --no-compile writes no manifest.json"
    );
}

/// As dbt: `asset-paths` folders are copied into the target folder (replacing an earlier copy),
/// and every artifact's `metadata.env` holds the `DBT_ENV_CUSTOM_ENV_*` variables.
#[test]
fn docs_generate_copies_assets_and_records_custom_env() {
    let (_tmp, dir) = crate::shop::shop();
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, format!("{text}\nasset-paths: [\"assets\"]\n")).unwrap();
    std::fs::create_dir_all(dir.join("assets/img")).unwrap();
    std::fs::write(dir.join("assets/img/logo.txt"), "logo").unwrap();
    std::fs::create_dir_all(dir.join("target/assets")).unwrap();
    std::fs::write(dir.join("target/assets/stale.txt"), "old").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["docs", "generate", "--empty-catalog"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("DBT_ENV_CUSTOM_ENV_run_by", "ci")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let copied = std::fs::read_to_string(dir.join("target/assets/img/logo.txt")).unwrap();
    assert_eq!(copied, "logo");
    assert!(!dir.join("target/assets/stale.txt").exists());
    for artifact in ["manifest.json", "catalog.json"] {
        let doc = read_json(&dir.join("target").join(artifact));
        assert_eq!(
            doc["metadata"]["env"],
            serde_json::json!({"run_by": "ci"}),
            "{artifact}"
        );
    }
}

#[test]
fn serve_without_a_site_says_what_to_do() {
    let (_tmp, dir) = crate::shop::shop();
    let r = sluice(&dir, &["docs", "serve", "--port", "0"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let text = r.stderr.replace(&dir.display().to_string(), "[PROJECT]");
    insta::assert_snapshot!(text);
}

#[test]
fn serve_serves_the_site_and_nothing_else() {
    let (_tmp, dir) = crate::shop::shop();
    let r = sluice(&dir, &["docs", "generate", "--empty-catalog"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let server = serve(&dir);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let (status, body) = get(&server.url, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(String::from_utf8_lossy(&body).contains("data/index.js"));
    let (status, body) = get(&server.url, "/data/index.js?v=1");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.starts_with(b"sluiceDocs.index("));
    for bad in ["/../dbt_project.yml", "/%2e%2e/dbt_project.yml", "/nope.js"] {
        assert_eq!(get(&server.url, bad).0, "HTTP/1.1 404 Not Found", "{bad}");
    }
}

/// The demo at the repository root (with its semantic models and metrics), built into a temp
/// copy so the catalog has types.
fn built_demo() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = copy_demo();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["docs", "generate"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    (tmp, dir)
}

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs_site")
}

#[test]
fn docs_site_in_headless_chromium() {
    let Some(chromium) = chromium_path() else {
        if std::env::var("SLUICE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("SLUICE_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install -y chromium)");
        }
        eprintln!("\n*** SKIPPED docs_site_in_headless_chromium: no Chromium (/usr/bin/chromium); install it with `apt-get install -y chromium` or set SLUICE_CHROMIUM ***\n");
        return;
    };
    eprintln!("docs e2e: building the demo");
    let (_tmp, dir) = built_demo();
    eprintln!("docs e2e: demo built, starting chromium");
    let manifest = read_json(&dir.join("out/manifest.json"));
    let metric_id = manifest["metrics"]
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .expect("a metric");
    let metric_name = manifest["metrics"][&metric_id]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let shots = out_dir();
    let mut b = Browser::launch(&chromium, 1280, 820);

    eprintln!("docs e2e: chromium up");
    // 1. From the file system, without a server.
    let file_url = format!(
        "file://{}#/node/model.saas_ops.dim_accounts",
        dir.join("out/docs/index.html").display()
    );
    b.navigate(&file_url);
    b.wait_for(
        "document.querySelector('#main[data-rendered=\"node:model.saas_ops.dim_accounts\"]')",
        "dim_accounts page from file://",
        30,
    );

    eprintln!("docs e2e: file:// ok");
    // 2. Through `docs serve`.
    let server = serve(&dir);
    b.requests.clear();
    b.navigate(&server.url);
    b.wait_for(
        "document.querySelector('#main[data-rendered=\"overview\"]')",
        "the overview",
        30,
    );
    assert!(b
        .eval("document.querySelector('#main').innerText")
        .as_str()
        .unwrap()
        .contains("saas_ops"));

    // Search for a model by typing, then open it with a real click.
    b.click("#search");
    b.type_text("fct_mrr");
    b.wait_for(
        "document.querySelector('#results a .name') && document.querySelector('#results a .name').textContent === 'fct_mrr'",
        "fct_mrr first in the search results",
        10,
    );
    let listed = b.eval("document.querySelectorAll('#results a').length");
    assert!(
        listed.as_u64().unwrap() < 10,
        "search did not filter: {listed}"
    );
    b.click("#results a");
    b.wait_for(
        "document.querySelector('#main[data-rendered=\"node:model.saas_ops.fct_mrr\"]')",
        "the fct_mrr page",
        10,
    );
    b.screenshot(&shots.join("model_page.png"));
    // Columns with warehouse types, descriptions from {% docs %} blocks, and their tests.
    let cols = b.eval(
        "[...document.querySelectorAll('#columns table.cols tr')].slice(1).map(r => [...r.cells].map(c => c.innerText.trim()))",
    );
    let cols = cols.as_array().unwrap();
    let row = |name: &str| {
        cols.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no column {name} in {cols:?}"))
    };
    assert_eq!(row("mrr_movement")[1], "VARCHAR", "{cols:?}");
    assert!(
        row("mrr_movement")[2]
            .as_str()
            .unwrap()
            .contains("How the account's MRR moved"),
        "{cols:?}"
    );
    assert!(
        row("account_month_id")[3]
            .as_str()
            .unwrap()
            .contains("unique"),
        "{cols:?}"
    );
    // Test results from run_results.json.
    let tests_text = b.eval("document.querySelector('#tests').innerText");
    assert!(
        tests_text.as_str().unwrap().contains("pass"),
        "{tests_text}"
    );
    // Lineage on the node page: the focus and its parents and children.
    let graph_nodes =
        b.eval("[...document.querySelectorAll('#node-graph g.node text')].map(t => t.textContent)");
    let graph_nodes: Vec<&str> = graph_nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(graph_nodes.contains(&"fct_mrr"), "{graph_nodes:?}");
    assert!(
        graph_nodes.contains(&"metricflow_time_spine"),
        "{graph_nodes:?}"
    );
    assert!(
        b.eval("document.querySelectorAll('#node-graph path.edge').length")
            .as_u64()
            .unwrap()
            >= 2
    );
    // Raw and compiled SQL, highlighted.
    assert!(
        b.eval("document.querySelectorAll('#code pre[data-pane=raw] .kw').length")
            .as_u64()
            .unwrap()
            > 5
    );
    b.click("#code button[data-tab=compiled]");
    assert_eq!(
        b.eval("document.querySelector('#code pre[data-pane=compiled]').hidden"),
        false
    );
    b.screenshot(&shots.join("model_code.png"));

    // 3. The lineage view: zoom with the wheel, pan by dragging, focus another node by clicking.
    b.click("a[href^='#/lineage/model.saas_ops.fct_mrr']");
    b.wait_for(
        "document.querySelector('#graph svg g.node.focus')",
        "the lineage view",
        10,
    );
    let before = b.eval("document.querySelector('#graph svg > g').getAttribute('transform')");
    let (x, y) = b.center_of("#graph");
    b.wheel(x, y, -300.0);
    let zoomed = b.eval("document.querySelector('#graph svg > g').getAttribute('transform')");
    assert_ne!(before, zoomed, "wheel did not zoom");
    b.drag((x, y), (x + 80.0, y + 40.0));
    let panned = b.eval("document.querySelector('#graph svg > g').getAttribute('transform')");
    assert_ne!(zoomed, panned, "drag did not pan");
    b.click("[data-act=fit]");
    let other = b.eval("document.querySelector('#graph g.node:not(.focus) title').textContent");
    let other = other.as_str().unwrap().to_string();
    b.click("#graph g.node:not(.focus)");
    b.wait_for(
        &format!("decodeURIComponent(location.hash).startsWith('#/lineage/{other}?') && document.querySelector('#graph g.node.focus title').textContent === '{other}'"),
        "focus moved to the clicked node",
        10,
    );
    b.screenshot(&shots.join("lineage.png"));

    // 4. The metrics catalog and a metric page.
    b.click("[data-nav=metrics]");
    b.wait_for(
        "document.querySelector('#main[data-rendered=\"metrics\"]')",
        "the metrics catalog",
        10,
    );
    b.click(&format!("#main a[href='#/node/{metric_id}']"));
    b.wait_for(
        &format!("document.querySelector('#main[data-rendered=\"node:{metric_id}\"]')"),
        "the metric page",
        10,
    );
    let def = b.eval("document.querySelector('#definition').innerText");
    let def = def.as_str().unwrap();
    assert!(def.contains("type"), "{def}");
    assert!(def.contains("Dimensions to group by"), "{def}");
    assert!(def.contains("metric_time"), "{def}");
    let models_behind = b.eval("document.querySelectorAll('#definition a .badge.t-model').length");
    assert!(
        models_behind.as_u64().unwrap() >= 1,
        "models behind the metric: {def}"
    );
    let title = b.eval("document.querySelector('.page-head h1').textContent");
    assert_eq!(title, metric_name.as_str());
    b.screenshot(&shots.join("metric_page.png"));

    // Nothing was fetched from anywhere but the docs server.
    assert!(!b.requests.is_empty());
    for u in &b.requests {
        assert!(u.starts_with(&server.url), "request outside the site: {u}");
    }
    eprintln!("screenshots in {}", shots.display());
}

/// `persist_docs`: descriptions become the warehouse's comments on tables, views, seeds and
/// their columns (quotes, `--` and `$$` kept as written), `catalog.json` reads them back,
/// documented columns the relation lacks are named in a warning, and a model without
/// `persist_docs` gets no comment. On DuckDB and PostgreSQL.
#[test]
fn persist_docs_comments_relations_and_columns_on_both_engines() {
    use crate::pg_server::on_both_engines;
    const TRICKY: &str = "says 'hi' -- not a comment\n/* nor this */ $$ or $lbl$ this $lbl$";
    on_both_engines("persist_docs", |engine| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        std::fs::create_dir_all(dir.join("models")).unwrap();
        std::fs::create_dir_all(dir.join("seeds")).unwrap();
        std::fs::write(
            dir.join("dbt_project.yml"),
            "name: p\nversion: '1'\nprofile: p\nmodels:\n  p:\n    +persist_docs: {relation: true, columns: true}\nseeds:\n  p:\n    +persist_docs: {relation: true, columns: true}\n",
        )
        .unwrap();
        engine.write_profile(&dir, "p", "main", 1);
        std::fs::write(dir.join("seeds/people.csv"), "id,name\n1,Ann\n").unwrap();
        std::fs::write(
            dir.join("models/t.sql"),
            "{{ config(materialized='table') }} select 1 as id, 'x' as name",
        )
        .unwrap();
        std::fs::write(dir.join("models/v.sql"), "select 2 as id, 'y' as name").unwrap();
        std::fs::write(
            dir.join("models/plain.sql"),
            "{{ config(persist_docs={'relation': false, 'columns': false}) }} select 3 as id",
        )
        .unwrap();
        let desc = TRICKY.replace('\n', "\\n");
        std::fs::write(
            dir.join("models/props.yml"),
            format!(
                "version: 2\nmodels:\n  - name: t\n    description: \"table {desc}\"\n    columns:\n      - name: ID\n        description: \"id {desc}\"\n      - name: gone\n        description: not there\n  - name: v\n    description: \"view {desc}\"\n    columns:\n      - name: id\n        description: \"view id\"\n  - name: plain\n    description: undocumented in the warehouse\n    columns:\n      - name: id\n        description: nor this\nseeds:\n  - name: people\n    description: the seed\n    columns:\n      - name: name\n        description: who\n"
            ),
        )
        .unwrap();
        let r = sluice(&dir, &["build"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(
            out.contains("The following columns are specified in the schema but are not present in the database: gone"),
            "{}: {out}",
            engine.name()
        );
        let r = sluice(&dir, &["docs", "generate"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        let catalog = read_json(&dir.join("target/catalog.json"));
        let node = |name: &str, kind: &str| catalog["nodes"][format!("{kind}.p.{name}")].clone();
        let t = node("t", "model");
        assert_eq!(
            t["metadata"]["comment"],
            format!("table {TRICKY}"),
            "{}",
            engine.name()
        );
        assert_eq!(t["columns"]["id"]["comment"], format!("id {TRICKY}"));
        assert_eq!(t["columns"]["name"]["comment"], Value::Null);
        let v = node("v", "model");
        assert_eq!(
            v["metadata"]["comment"],
            format!("view {TRICKY}"),
            "{}",
            engine.name()
        );
        assert_eq!(
            v["columns"]["id"]["comment"],
            "view id",
            "{}",
            engine.name()
        );
        let plain = node("plain", "model");
        assert_eq!(plain["metadata"]["comment"], Value::Null);
        assert_eq!(plain["columns"]["id"]["comment"], Value::Null);
        let seed = node("people", "seed");
        assert_eq!(seed["metadata"]["comment"], "the seed");
        assert_eq!(seed["columns"]["name"]["comment"], "who");
    });
}

/// `docs generate` compiles models that ask the warehouse (`run_query`) as `compile` does: with
/// a connection opened when a node asks, so their compiled SQL carries the answer.
#[test]
fn docs_generate_compiles_models_that_query_the_warehouse() {
    let (_tmp, dir) = crate::support::duckdb_project(
        "asks",
        "",
        &[(
            "models/asks.sql",
            "{% set n = run_query('select 40 + 2').columns[0].values()[0] if execute else 0 %}select {{ n }} as answer",
        )],
    );
    let r = crate::support::sluice(&dir, &["docs", "generate"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["nodes"]["model.asks.asks"]["compiled_code"],
        "select 42 as answer"
    );
}
