//! `sluice docs generate` and `sluice docs serve`.
//!
//! `generate` compiles the project, writes `manifest.json`, reads the warehouse into
//! `catalog.json` and writes the static site (`crate::artifacts::docs`) under
//! `<target-path>/docs/`. `serve` serves that folder over HTTP.
//!
//! Decision: the server is a few dozen lines on std's `TcpListener` (one thread per connection,
//! `GET`/`HEAD` of files under the site folder only) rather than an HTTP framework: the site is
//! static, the server is for one reader on loopback, and a framework would add an async runtime
//! to a binary that has none.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::{compile_into_manifest, meta, reporter, write_manifest};
use crate::adapters::Adapter;
use crate::artifacts;
use crate::cli::args::DocsCommand;
use crate::cli::session::{self, Session};
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::{CompileServices, ResourceType};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::Event;

type CmdResult = Result<Outcome, Vec<Diagnostic>>;

pub(crate) fn run(g: &GlobalArgs, cmd: &DocsCommand) -> CmdResult {
    match cmd {
        DocsCommand::Generate {
            no_compile,
            empty_catalog,
            ..
        } => generate(g, *no_compile, *empty_catalog),
        DocsCommand::Serve { port, host, .. } => {
            serve(g, host.as_deref().unwrap_or("127.0.0.1"), *port)
        }
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Vec<Diagnostic> {
    vec![Diagnostic::error(
        Code::Io,
        format!("cannot write `{}`: {e}", path.display()),
    )]
}

fn generate(g: &GlobalArgs, no_compile: bool, empty_catalog: bool) -> CmdResult {
    let t0 = std::time::Instant::now();
    let mut s = session::load(g, false, false)?;
    let rep = reporter(g);
    if !no_compile {
        let t = std::time::Instant::now();
        let left_out = compile_all(&mut s)?;
        crate::cli::print_diagnostics(g, &left_out);
        crate::timing("docs: compile", t);
    }
    let m = meta(&s);
    if !empty_catalog {
        rep.event(&Event::Info("Building catalog".into()));
    }
    // The manifest does not depend on the catalog or the site: write it meanwhile. As dbt,
    // `--no-compile` writes none.
    let (manifest, site) = rayon::join(
        || match no_compile {
            true => Ok(()),
            false => write_manifest(&s, &m),
        },
        || catalog_and_site(&s, &m, empty_catalog),
    );
    manifest?;
    let site = site?;
    copy_assets(&s)?;
    rep.event(&Event::Info(format!(
        "Catalog written to {} ({} relations)",
        site.catalog_path.display(),
        site.relations
    )));
    rep.event(&Event::Info(format!(
        "Docs site written to {} ({} pages) in {:.2}s ({:.2}s in the warehouse)",
        site.dir.join("index.html").display(),
        site.pages,
        t0.elapsed().as_secs_f64(),
        site.warehouse_seconds
    )));
    Ok(Outcome::Ok)
}

/// Copies each of the project's `asset-paths` into the target folder, replacing what an earlier
/// run copied there, as dbt does.
fn copy_assets(s: &Session) -> Result<(), Vec<Diagnostic>> {
    for asset in &s.project.config.asset_paths {
        // Only folders inside the project: the copy replaces what is at the same path in target.
        let inside = Path::new(asset)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(vec![Diagnostic::error(
                Code::Project,
                format!("`asset-paths` entry `{asset}` is not a folder inside the project"),
            )
            .in_file("dbt_project.yml")
            .with_hint("list folders relative to the project, such as `assets`")]);
        }
        let (from, to) = (s.project.root.join(asset), s.target_path.join(asset));
        let copied = (|| {
            if to.is_dir() {
                std::fs::remove_dir_all(&to)?;
            }
            if from.is_dir() {
                crate::project::packages::copy_dir(&from, &to)?;
            }
            Ok::<(), std::io::Error>(())
        })();
        copied.map_err(|e| {
            vec![Diagnostic::error(
                Code::Io,
                format!("cannot copy the asset folder `{asset}` into the target folder: {e}"),
            )]
        })?;
    }
    Ok(())
}

/// What [`catalog_and_site`] wrote.
struct SiteWritten {
    catalog_path: std::path::PathBuf,
    relations: usize,
    dir: std::path::PathBuf,
    pages: usize,
    warehouse_seconds: f64,
}

/// Reads the catalog from the warehouse (unless `empty_catalog`), writes `catalog.json` and the
/// static site.
fn catalog_and_site(
    s: &Session,
    m: &artifacts::ArtifactMeta,
    empty_catalog: bool,
) -> Result<SiteWritten, Vec<Diagnostic>> {
    // The catalog: the only step that talks to the warehouse.
    let t = std::time::Instant::now();
    let tables = if empty_catalog {
        Vec::new()
    } else {
        let scrub = |e: &dyn std::fmt::Display| s.target.scrub(&e.to_string());
        let adapter = Adapter::connect(&s.target).map_err(|e| {
            vec![Diagnostic::error(
                Code::Connection,
                format!(
                    "cannot connect to target `{}`: {}",
                    s.target.target_name,
                    scrub(&e)
                ),
            )
            .with_hint("check the connection with `sluice debug`, or skip the warehouse with `--empty-catalog`")]
        })?;
        let mut conn = adapter
            .connection()
            .map_err(|e| vec![Diagnostic::error(Code::Connection, scrub(&e))])?;
        artifacts::read_catalog(conn.as_mut(), s.manifest()).map_err(|e| {
            vec![Diagnostic::error(
                Code::Catalog,
                format!("cannot read the catalog: {}", scrub(&e)),
            )
            .with_hint("skip the warehouse with `--empty-catalog`")]
        })?
    };
    let warehouse_seconds = t.elapsed().as_secs_f64();
    crate::timing("docs: catalog queries", t);

    let t = std::time::Instant::now();
    let catalog = artifacts::catalog_json(s.manifest(), &tables, m);
    let catalog_path = s.target_path.join("catalog.json");
    artifacts::write_json(&catalog_path, &catalog).map_err(|e| io_error(&catalog_path, e))?;
    let found = catalog["nodes"].as_object().map_or(0, |o| o.len())
        + catalog["sources"].as_object().map_or(0, |o| o.len());
    // Last results, when a build or test ran before (an unreadable file is ignored like dbt).
    let run_results: Option<Value> =
        std::fs::read_to_string(s.target_path.join("run_results.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let site = s.target_path.join("docs");
    let summary =
        artifacts::docs::write_site(&site, s.manifest(), &catalog, run_results.as_ref(), m)
            .map_err(|e| io_error(&site, e))?;
    crate::timing("docs: catalog.json + site", t);
    Ok(SiteWritten {
        catalog_path,
        relations: found,
        dir: site,
        pages: summary.nodes,
        warehouse_seconds,
    })
}

/// Compiles models, snapshots, analyses, tests and run hooks, like `sluice compile`, so the
/// manifest and the pages carry compiled SQL: the warehouse is connected only when a node asks
/// it something (`run_query`, `adapter.get_relation` ...). On a compile-only target, the nodes
/// that need the warehouse to compile are left out with a warning each (returned).
fn compile_all(s: &mut Session) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    // A compile-only target refuses to connect, and says so for each node that asks.
    let warehouse = Some(Arc::new(crate::execute::LazyWarehouse::new(&s.target))
        as Arc<dyn crate::compile::Warehouse>);
    let services = Arc::new(CompileServices::new(
        s.parsed.resolver.clone(),
        warehouse,
        false,
        s.target.dialect,
    ));
    let ids: Vec<String> = s
        .manifest()
        .nodes
        .values()
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model
                    | ResourceType::Snapshot
                    | ResourceType::Analysis
                    | ResourceType::Test
            )
        })
        .map(|n| n.unique_id.clone())
        // The run hooks' operation nodes too, as dbt's docs generate compiles them.
        .chain(s.manifest().operations.keys().cloned())
        .collect();
    let (_, errors) = compile_into_manifest(s, &ids, &services, None);
    let (left_out, errors) = super::compile::needs_warehouse(s, errors);
    if errors.is_empty() {
        Ok(left_out)
    } else {
        Err(errors)
    }
}

fn serve(g: &GlobalArgs, host: &str, port: u16) -> CmdResult {
    let root = session::project_root(g).map_err(|d| vec![d])?;
    let project = crate::project::load(&root)?;
    let target_path = root.join(
        g.target_path
            .clone()
            .unwrap_or_else(|| project.config.target_path.clone()),
    );
    let site = target_path.join("docs");
    if !site.join("index.html").is_file() {
        return Err(vec![Diagnostic::error(
            Code::Docs,
            format!("no documentation site in `{}`", site.display()),
        )
        .with_hint("run `sluice docs generate` first")]);
    }
    let listener = TcpListener::bind((host, port)).map_err(|e| {
        vec![
            Diagnostic::error(Code::Docs, format!("cannot listen on {host}:{port}: {e}"))
                .with_hint("pick another port with `--port N` (0 picks a free one)"),
        ]
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| vec![Diagnostic::error(Code::Docs, format!("cannot listen: {e}"))])?;
    let rep = reporter(g);
    if !addr.ip().is_loopback() {
        rep.event(&Event::Warning(format!(
            "serving on {} makes the docs reachable from other machines",
            addr.ip()
        )));
    }
    let url = format!("http://{addr}/");
    rep.event(&Event::Info(format!("Serving docs at {url}")));
    rep.event(&Event::Info("Press Ctrl+C to exit.".into()));
    let _ = std::io::stdout().flush();
    let site = Arc::new(site);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let site = site.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &site);
        });
    }
    Ok(Outcome::Ok)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Maps a request path onto a file inside `site`; `None` for anything that would leave it.
pub(crate) fn resolve_path(site: &Path, raw: &str) -> Option<PathBuf> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    let mut out = site.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0') && !s.contains('\\')).then_some(s)
}

fn handle(stream: TcpStream, site: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.by_ref().take(8192).read_line(&mut request_line)?;
    // Drain the headers.
    loop {
        let mut line = String::new();
        let n = reader.by_ref().take(8192).read_line(&mut line)?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut out = stream;
    let respond = |out: &mut TcpStream, status: &str, ctype: &str, body: &[u8], head: bool| {
        let header = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
            body.len()
        );
        out.write_all(header.as_bytes())?;
        if !head {
            out.write_all(body)?;
        }
        out.flush()
    };
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
            false,
        );
    }
    let head = method == "HEAD";
    match resolve_path(site, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
        Some((p, body)) => respond(&mut out, "200 OK", content_type(&p), &body, head),
        None => respond(
            &mut out,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            head,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_path;
    use std::path::Path;

    #[test]
    fn paths_stay_inside_the_site() {
        let site = Path::new("/nonexistent/site");
        assert_eq!(
            resolve_path(site, "/data/s0.js?v=1"),
            Some(site.join("data/s0.js"))
        );
        assert_eq!(resolve_path(site, "/a%20b.js"), Some(site.join("a b.js")));
        assert_eq!(resolve_path(site, "/../secret"), None);
        assert_eq!(resolve_path(site, "/%2e%2e/secret"), None);
        assert_eq!(resolve_path(site, "/a/..%5c..%5csecret"), None);
    }
}
