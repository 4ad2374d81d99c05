//! `sluice debug`: check the project, the profile and the connection, and report each check in
//! dbt's layout (`Configuration:`, `Connection:`, `Connection test: [OK connection ok]`, then
//! `All checks passed!` or `N checks failed:` with the reasons), so a team used to `dbt debug`
//! reads it at a glance. A failed check is exit code 1, as in dbt.

use serde_json::Value;

use crate::adapters::Adapter;
use crate::cli::session::{self};
use crate::cli::{GlobalArgs, Outcome};
use crate::execute::Event;
use crate::project::{Project, Target};

use super::{reporter, CmdResult};

pub(super) fn debug(g: &GlobalArgs, config_dir: bool, connection_only: bool) -> CmdResult {
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
    // A project folder that is not there is a usage error (exit 2), as in dbt.
    let root = session::project_root(g).map_err(|d| vec![d])?;
    // Through the reporter, so that `--log-format json` gives one JSON event per line.
    let rep = reporter(g);
    let say = |line: String| rep.event(&Event::Info(line));
    say(format!("sluice version: {}", env!("CARGO_PKG_VERSION")));
    say(format!(
        "os info: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    let dirs = crate::project::profile::search_dirs(g.profiles_dir.as_deref(), &root);
    let profiles_dir = dirs
        .iter()
        .find(|d| d.join("profiles.yml").is_file())
        .or(dirs.first());
    if let Some(d) = profiles_dir {
        say(format!("Using profiles dir at {}", d.display()));
        say(format!(
            "Using profiles.yml file at {}",
            d.join("profiles.yml").display()
        ));
    }
    say(format!(
        "Using dbt_project.yml file at {}",
        root.join("dbt_project.yml").display()
    ));
    let mut failures: Vec<String> = Vec::new();
    let project = crate::project::load_without_packages(&root).map_err(|ds| {
        ds.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let target = load_target(g, &root, project.as_ref().ok());
    if connection_only {
        say("Skipping steps before connection verification".into());
    } else {
        if let Ok(t) = &target {
            say(format!("adapter type: {}", t.adapter_type));
        }
        say("Configuration:".into());
        say(format!("  profiles.yml file [{}]", verdict(target.is_ok())));
        say(format!(
            "  dbt_project.yml file [{}]",
            verdict(project.is_ok())
        ));
        say(String::new());
    }
    if let Err(e) = &project {
        if !connection_only {
            failures.push(format!(
                "Project loading failed for the following reason:\n{e}\n"
            ));
        }
    }
    match &target {
        Err(e) => {
            say("Connection test skipped since no profile was found".into());
            // No profiles.yml anywhere: dbt's words, naming where it looked.
            let missing = profiles_dir.filter(|d| !d.join("profiles.yml").is_file());
            match missing {
                Some(d) => failures.push(format!(
                    "dbt looked for a profiles.yml file in {}, but did\nnot find one. For more information on configuring your profile, consult the\ndocumentation:\n\nhttps://docs.getdbt.com/docs/configure-your-profile\n",
                    d.join("profiles.yml").display()
                )),
                None => failures.push(format!(
                    "Profile loading failed for the following reason:\n{e}\n"
                )),
            }
        }
        Ok(t) => {
            if !connection_only {
                say("Connection:".into());
                for (k, v) in &t.redacted() {
                    if k == "resolved_path" {
                        continue;
                    }
                    let v = match v {
                        Value::String(s) => s.clone(),
                        o => o.to_string(),
                    };
                    say(format!("  {k}: {v}"));
                }
            }
            match Adapter::connect(t).and_then(|a| a.connection().map(|_| ())) {
                Ok(()) => say("  Connection test: [OK connection ok]".into()),
                Err(e) => {
                    say("  Connection test: [ERROR]".into());
                    failures.push(format!(
                        "sluice was unable to connect to the specified database.\n\
                         The database returned the following error:\n\n  >{}\n",
                        t.scrub(&e.to_string())
                    ));
                }
            }
            say(String::new());
        }
    }
    if failures.is_empty() {
        say("All checks passed!".into());
        return Ok(Outcome::Ok);
    }
    let n = failures.len();
    say(format!(
        "{n} check{} failed:",
        if n == 1 { "" } else { "s" }
    ));
    for f in failures {
        say(f);
    }
    Ok(Outcome::Failed)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "OK found and valid"
    } else {
        "ERROR invalid"
    }
}

/// The target, also when the project could not be loaded (with `--profile`, as dbt does).
fn load_target(
    g: &GlobalArgs,
    root: &std::path::Path,
    project: Option<&Project>,
) -> Result<Target, String> {
    match project {
        Some(p) => session::load_target(g, root, p).map_err(|d| d.to_string()),
        None => match &g.profile {
            Some(name) => session::load_profile_target(g, root, name).map_err(|d| d.to_string()),
            None => Err(
                "no profile could be chosen: the project did not load and no --profile was given"
                    .into(),
            ),
        },
    }
}
