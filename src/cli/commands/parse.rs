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
            let what = match r.patched {
                0 => " (nothing changed since the last parse)".to_string(),
                1 => " (the text of 1 SQL file changed since the last parse: patched)".to_string(),
                n => format!(" (the text of {n} SQL files changed since the last parse: patched)"),
            };
            rep.event(&Event::Info(parsed_line(
                &r.summary,
                r.seconds,
                &format!("{what}{wrote}"),
            )));
            return Ok(Outcome::Ok);
        }
    }
    let s = session::load(g, false, false)?;
    if g.settings.write_json {
        write_manifest(&s, &meta(&s))?;
    }
    let inputs_key = super::metrics::on_parse(&s, g)?;
    let summary = ParseSummary::of(s.manifest());
    let wrote = if g.settings.write_json {
        partial_parse::save(&s, &opts, summary, &inputs_key, started);
        format!("; wrote {}", s.target_path.join("manifest.json").display())
    } else {
        String::new()
    };
    rep.event(&Event::Info(parsed_line(&summary, s.parse_seconds, &wrote)));
    Ok(Outcome::Ok)
}

fn parsed_line(c: &ParseSummary, seconds: f64, tail: &str) -> String {
    format!(
        "Parsed {} nodes ({} models, {} tests, {} seeds, {} sources, {} macros) in {seconds:.2}s{tail}",
        c.nodes, c.models, c.tests, c.seeds, c.sources, c.macros,
    )
}
