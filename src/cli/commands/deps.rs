//! `sluice deps`: installs the packages of `packages.yml` / `dependencies.yml`.
//!
//! Owns the command's output; the work (reading specs, linking `local:` packages, checking that
//! hub and git packages are vendored) is `project::packages`. Design decision: a version mismatch
//! between what a vendored hub package's `dbt_project.yml` states and what `packages.yml` asks
//! for is a warning, not an error, because real packages often leave a placeholder version there
//! (dbt_utils 1.3.3 states `0.1.0`); a package that is missing altogether is an error.

use crate::cli::session::project_root;
use crate::cli::{print_diagnostics, GlobalArgs, Outcome};
use crate::diagnostics::{Code, Diagnostic, Location};
use crate::project::{packages, ProjectConfig};

/// `lock`: dbt's `deps --lock` writes package-lock.yml without installing; sluice keeps no lock
/// file, so it only checks `packages.yml` reads.
pub(crate) fn run(g: &GlobalArgs, lock: bool) -> Result<Outcome, Vec<Diagnostic>> {
    let root = project_root(g).map_err(|d| vec![d])?;
    let config = ProjectConfig::load(&root).map_err(|d| vec![d])?;
    let Some((file, specs)) = packages::read_specs(&root).map_err(|d| vec![d])? else {
        println!("No packages to install (no packages.yml or dependencies.yml).");
        return Ok(Outcome::Ok);
    };
    if specs.is_empty() {
        println!("No packages to install ({file} lists none).");
        return Ok(Outcome::Ok);
    }
    if lock {
        println!(
            "{} package(s) listed in {file}; sluice keeps no package-lock.yml, nothing installed.",
            specs.len()
        );
        return Ok(Outcome::Ok);
    }
    let install_path = &config.packages_install_path;
    let reports = packages::install(&root, install_path, &file, &specs)?;
    let mut warnings = Vec::new();
    for (r, spec) in reports.iter().zip(&specs) {
        println!("{:<10} {} ({})", r.action, r.name, r.spec);
        if let Some(w) = &r.warning {
            warnings.push(
                Diagnostic::warning(Code::Packages, w.clone())
                    .at(Location::at(&file, spec.line, 1))
                    .with_hint("check that the vendored folder is the release you want"),
            );
        }
    }
    print_diagnostics(g, &warnings);
    println!(
        "Installed {} package(s) into {install_path}/.",
        reports.len()
    );
    Ok(Outcome::Ok)
}
