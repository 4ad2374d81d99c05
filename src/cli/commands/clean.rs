//! `sluice clean`: remove the project's `clean-targets`.

use crate::cli::session::{self};
use crate::cli::{GlobalArgs, Outcome};
use crate::diagnostics::{Code, Diagnostic};

use super::CmdResult;

pub(super) fn clean(g: &GlobalArgs) -> CmdResult {
    let root = session::project_root(g).map_err(|d| vec![d])?;
    let project = crate::project::load_without_packages(&root)?;
    let mut targets = project.config.clean_targets.clone();
    if targets.is_empty() {
        targets.push(project.config.target_path.clone());
    }
    for t in targets {
        let p = root.join(&t);
        if !p.starts_with(&root) || p == root {
            return Err(vec![Diagnostic::error(
                Code::Clean,
                format!("refusing to delete `{t}`: it is not inside the project"),
            )
            .in_file("dbt_project.yml")]);
        }
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| {
                vec![Diagnostic::error(
                    Code::Io,
                    format!("cannot delete `{}`: {e}", p.display()),
                )]
            })?;
            println!("Cleaned {t}/");
        }
    }
    Ok(Outcome::Ok)
}
