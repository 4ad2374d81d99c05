//! `sluice parse`: load and parse the project, write `manifest.json`.

use crate::cli::session;
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::ResourceType;
use crate::execute::Event;

use super::{meta, reporter, write_manifest, CmdResult};

pub(super) fn parse(g: &GlobalArgs) -> CmdResult {
    let s = session::load(g, false, false)?;
    if g.settings.write_json {
        write_manifest(&s, &meta(&s))?;
    }
    super::metrics::on_parse(&s, g)?;
    let rep = reporter(g);
    let m = s.manifest();
    let wrote = if g.settings.write_json {
        format!("; wrote {}", s.target_path.join("manifest.json").display())
    } else {
        String::new()
    };
    rep.event(&Event::Info(format!(
        "Parsed {} nodes ({} models, {} tests, {} seeds, {} sources, {} macros) in {:.2}s{wrote}",
        m.nodes.len() + m.sources.len() + m.unit_tests.len(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Model)
            .count(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Test)
            .count(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Seed)
            .count(),
        m.sources.len(),
        m.macros.len(),
        s.parse_seconds,
    )));
    Ok(Outcome::Ok)
}
