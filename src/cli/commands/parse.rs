//! `sluice parse`: load and parse the project, write `manifest.json`; or, when nothing the last
//! parse read has changed, keep its manifest (partial parsing, `crate::session::partial_parse`).

use crate::cli::session;
use crate::cli::{GlobalArgs, Outcome};
use crate::execute::Event;
use crate::session::partial_parse::{self, ParseSummary};

use super::{meta, reporter, write_manifest, CmdResult};

pub(super) fn parse(g: &GlobalArgs) -> CmdResult {
    let started = std::time::SystemTime::now();
    let opts = session::options(g, g.settings.which, false, false);
    let rep = reporter(g);
    if g.settings.partial_parse && g.settings.write_json {
        if let Some(r) = partial_parse::reuse(&opts) {
            let wrote = format!("; wrote {}", r.manifest.display());
            let what = patched_note(r.patched);
            rep.event(&Event::Info(parsed_line(
                &r.summary,
                r.seconds,
                &format!("{what}{wrote}"),
            )));
            return Ok(Outcome::Ok);
        }
    }
    let s = session::load(g, false, false)?;
    let summary = ParseSummary::of(s.manifest());
    if !g.settings.write_json {
        super::metrics::on_parse(&s, g)?;
        rep.event(&Event::Info(parsed_line(&summary, s.parse_seconds, "")));
        return Ok(Outcome::Ok);
    }
    // The manifest is written while the semantic manifest and what partial parsing keeps are
    // made (each about a tenth of the manifest's time on a large project).
    let (written, pending) = rayon::join(
        || write_manifest(&s, &meta(&s)),
        || {
            let t = std::time::Instant::now();
            let inputs_key = super::metrics::on_parse(&s, g)?;
            let pending = partial_parse::prepare(&s, &opts, summary, &inputs_key, started);
            crate::timing("semantic manifest and partial parse state", t);
            Ok::<_, Vec<crate::diagnostics::Diagnostic>>(pending)
        },
    );
    written?;
    partial_parse::save(pending?);
    let wrote = format!("; wrote {}", s.target_path.join("manifest.json").display());
    rep.event(&Event::Info(parsed_line(&summary, s.parse_seconds, &wrote)));
    Ok(Outcome::Ok)
}

fn parsed_line(c: &ParseSummary, seconds: f64, tail: &str) -> String {
    format!(
        "Parsed {} nodes ({} models, {} tests, {} seeds, {} sources, {} macros) in {seconds:.2}s{tail}",
        c.nodes, c.models, c.tests, c.seeds, c.sources, c.macros,
    )
}

/// What a reused parse says it did: nothing changed, or which edits it patched.
fn patched_note(p: partial_parse::Patched) -> String {
    // `1 SQL file`, `2 SQL files`.
    let count = |n: usize, what: &str| match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    };
    let changed = match (p.sql, p.properties) {
        (0, 0) => None,
        (n, 0) => Some(format!("the text of {} changed", count(n, "SQL file"))),
        (0, m) => Some(format!(
            "the descriptions in {} changed",
            count(m, "properties file")
        )),
        (n, m) => Some(format!(
            "the text of {} and the descriptions in {} changed",
            count(n, "SQL file"),
            count(m, "properties file")
        )),
    };
    let others = [
        (p.seeds, "the rows of ", "seed", " changed"),
        (p.macros, "", "macro file", " edited"),
        (p.docs_files, "", "docs file", " edited"),
        (p.tests, "the entries of ", "properties file", " changed"),
        (p.added, "", "model file", " added"),
        (p.removed, "", "model file", " removed"),
        (p.disabled, "", "model", " disabled"),
        (p.enabled, "", "model", " enabled again"),
    ];
    let edits: Vec<String> = changed
        .into_iter()
        .chain(
            others
                .iter()
                .filter(|(n, ..)| *n > 0)
                .map(|(n, before, what, after)| format!("{before}{}{after}", count(*n, what))),
        )
        .collect();
    if edits.is_empty() {
        return " (nothing changed since the last parse)".to_string();
    }
    format!(" ({} since the last parse: patched)", edits.join(", "))
}
