//! `sluice debug`: show the project, profile and target, and test the connection.

use serde_json::Value;

use crate::adapters::Adapter;
use crate::cli::session::{self};
use crate::cli::{GlobalArgs, Outcome};
use crate::execute::Event;

use super::{reporter, CmdResult};

pub(super) fn debug(g: &GlobalArgs, config_dir: bool) -> CmdResult {
    if config_dir {
        // dbt prints a command that opens the folder profiles.yml is looked for in.
        let dir = g.profiles_dir.clone().or_else(|| {
            let root = session::project_root(g).ok()?;
            crate::project::profile::search_dirs(None, &root)
                .into_iter()
                .find(|d| d.join("profiles.yml").is_file())
        });
        let dir = dir.map_or_else(|| "~/.dbt".to_string(), |d| d.display().to_string());
        println!("To view your profiles.yml file, run:\n\nxdg-open {dir}");
        return Ok(Outcome::Ok);
    }
    let root = session::project_root(g).map_err(|d| vec![d])?;
    let project = crate::project::load_without_packages(&root)?;
    let target = session::load_target(g, &root, &project).map_err(|d| vec![d])?;
    // Through the reporter, so that `--log-format json` gives one JSON event per line.
    let rep = reporter(g);
    let say = |line: String| rep.event(&Event::Info(line));
    say(format!("sluice {}", env!("CARGO_PKG_VERSION")));
    say(format!(
        "project: {} ({})",
        project.config.name,
        root.join("dbt_project.yml").display()
    ));
    say(format!("profiles.yml: {}", target.profiles_path.display()));
    say(format!(
        "profile: {}  target: {}",
        target.profile_name, target.target_name
    ));
    let redacted = target.redacted();
    for (k, v) in &redacted {
        if k == "resolved_path" {
            continue;
        }
        say(format!(
            "  {k}: {}",
            match v {
                Value::String(s) => s.clone(),
                o => o.to_string(),
            }
        ));
    }
    match Adapter::connect(&target).and_then(|a| a.connection().map(|_| ())) {
        Ok(()) => {
            say("Connection test: OK connection ok".into());
            Ok(Outcome::Ok)
        }
        Err(e) => {
            say(format!(
                "Connection test: ERROR {}",
                target.scrub(&e.to_string())
            ));
            Ok(Outcome::Failed)
        }
    }
}
