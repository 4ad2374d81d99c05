//! Browser timings of the docs site (used by `scripts/bench-docs`):
//!
//! ```text
//! cargo run --release --example docs_bench -- SLUICE_BIN PROJECT_DIR MODEL_NAME
//! ```
//!
//! Serves PROJECT_DIR's generated site with `SLUICE_BIN docs serve --port 0`, opens it in
//! headless Chromium and prints how long it takes to load the site, to search for MODEL_NAME
//! (typed into the search box), to open its page (a real click on the result), and to draw its
//! lineage neighbourhood. Each figure is wall time seen by the driver, polling every 10 ms.

#[path = "../tests/it/cdp.rs"]
#[allow(dead_code)]
mod cdp;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bin, project, model] = args.as_slice() else {
        eprintln!("usage: docs_bench SLUICE_BIN PROJECT_DIR MODEL_NAME");
        std::process::exit(2);
    };
    let chromium = cdp::chromium_path().expect("Chromium is not installed");
    let mut server = Command::new(bin)
        .args(["docs", "serve", "--port", "0", "--project-dir", project])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sluice docs serve");
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("no URL from docs serve").unwrap();
        if let Some(i) = line.find("http://") {
            break line[i..].trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut b = cdp::Browser::launch(&chromium, 1280, 820);
    // Warm the browser itself (process start, first navigation) on a blank page.
    b.navigate("about:blank");

    let t = Instant::now();
    b.navigate(&url);
    b.wait_for("document.querySelector('#main[data-rendered=\"overview\"]') && document.querySelector('#results a')", "the page", 60);
    let load = t.elapsed().as_secs_f64();
    let booted = b.eval("Math.round(sluiceDocs.timings.booted)");

    b.click("#search");
    let t = Instant::now();
    b.type_text(model);
    let check = format!(
        "document.querySelector('#results a .name') && document.querySelector('#results a .name').textContent === {}",
        serde_json::to_string(model).unwrap()
    );
    b.wait_for(&check, "the page", 60);
    let search = t.elapsed().as_secs_f64();

    let id = b.eval("document.querySelector('#results a').getAttribute('data-id')");
    let id = id.as_str().unwrap().to_string();
    let t = Instant::now();
    b.click("#results a");
    b.wait_for(&format!(
        "document.querySelector('#main[data-rendered=\"node:{id}\"]') && document.querySelector('#node-graph svg')"
    ), "the page", 60);
    let open = t.elapsed().as_secs_f64();

    let t = Instant::now();
    b.eval(&format!(
        "location.hash = '#/lineage/' + encodeURIComponent('{id}') + '?u=3&d=3'"
    ));
    b.wait_for(
        "document.querySelector('#graph svg g.node.focus')",
        "the page",
        60,
    );
    let lineage = t.elapsed().as_secs_f64();
    let drawn = b.eval("document.querySelector('#graph').getAttribute('data-nodes')");

    let index_kb =
        std::fs::metadata(std::path::Path::new(project).join("target/docs/data/index.js"))
            .map(|m| m.len() / 1024)
            .unwrap_or(0);
    println!("site load (navigate -> overview and list shown): {load:.3}s (page booted at {booted} ms; data/index.js {index_kb} KB)");
    println!("search `{model}` (typed -> first result):       {search:.3}s");
    println!("open its page (click -> page with lineage):     {open:.3}s");
    println!(
        "load + search + open:                           {:.3}s",
        load + search + open
    );
    println!("lineage view 3+{model}+3 ({drawn} nodes drawn):  {lineage:.3}s");
    let _ = server.kill();
    let _ = server.wait();
}
