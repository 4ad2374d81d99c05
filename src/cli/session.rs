//! The CLI's side of a session: [`crate::session::LoadOptions`] from the global flags, the
//! project's warnings printed (or made errors by `--warn-error`), and selections from the
//! selection flags.

use std::path::{Path, PathBuf};

use super::args::{GlobalArgs, SelectArgs};
use crate::diagnostics::{Diagnostic, Severity};
use crate::project::{Project, Target};
pub(crate) use crate::session::{ls_default_types, Session};
use crate::session::{LoadOptions, Selection};

/// The session options the global flags give, for the command `which`.
pub(crate) fn options(
    g: &GlobalArgs,
    which: &str,
    full_refresh: bool,
    store_failures: bool,
) -> LoadOptions {
    LoadOptions {
        project_dir: g.project_dir.clone(),
        profiles_dir: g.profiles_dir.clone(),
        profile: g.profile.clone(),
        target: g.target.clone(),
        threads: g.threads,
        vars: g.vars.clone(),
        target_path: g.target_path.clone(),
        version_check: g.settings.version_check,
        which: which.to_string(),
        full_refresh,
        store_failures,
        state: g.settings.state.clone(),
        defer_state: g.settings.defer_state.clone(),
    }
}

/// Loads the session for the current command.
pub(crate) fn load(
    g: &GlobalArgs,
    full_refresh: bool,
    store_failures: bool,
) -> Result<Session, Vec<Diagnostic>> {
    load_for(g, g.settings.which, full_refresh, store_failures)
}

/// [`load`] for the command `which` (what `flags.WHICH` says in Jinja).
pub(crate) fn load_for(
    g: &GlobalArgs,
    which: &str,
    full_refresh: bool,
    store_failures: bool,
) -> Result<Session, Vec<Diagnostic>> {
    let s = Session::load(&options(g, which, full_refresh, store_failures))?;
    // `--warn-error` / `--warn-error-options` make some of them errors (exit code 2).
    // The session keeps them: whether a parse warned decides if the next may reuse it.
    let warnings = g.settings.warn_error.apply(s.warnings.clone());
    if warnings.iter().any(|d| d.severity == Severity::Error) {
        return Err(warnings);
    }
    super::print_diagnostics(g, &warnings);
    Ok(s)
}

pub(crate) fn project_root(g: &GlobalArgs) -> Result<PathBuf, Diagnostic> {
    crate::session::project_root(g.project_dir.as_deref())
}

/// Loads the project's target without parsing nodes.
pub(crate) fn load_target(
    g: &GlobalArgs,
    root: &Path,
    project: &Project,
) -> Result<Target, Diagnostic> {
    crate::session::load_target(&options(g, g.settings.which, false, false), root, project)
}

/// The target of profile `name`, when there is no project to name it (`debug --profile`).
pub(crate) fn load_profile_target(
    g: &GlobalArgs,
    root: &Path,
    name: &str,
) -> Result<Target, Diagnostic> {
    crate::session::load_profile_target(&options(g, g.settings.which, false, false), root, name)
}

impl SelectArgs {
    /// The nodes these flags select.
    pub(crate) fn selection(&self) -> Selection<'_> {
        Selection {
            select: &self.select,
            exclude: &self.exclude,
            resource_types: &self.resource_type,
            exclude_resource_types: &self.exclude_resource_type,
            selector: self.selector.as_deref(),
            only: None,
            include_empty: false,
        }
    }
}
