//! What each worker running nodes holds and hands back: [`Shared`], the state of the run every
//! worker shares, and [`NodeOutcome`], what happened to one node before it becomes a result. Kept
//! apart from `node` so that the runners of particular node kinds (`unit`, `metric_unit`,
//! `saved_query`), which `node` calls, can use them without using `node`.

use std::sync::Arc;

use super::RunStatus;
use super::{materialize, RunContext};
use crate::compile::{Manifest, Resolver};
use crate::sql::Dialect;
use crate::templating::Templates;

/// What every worker shares.
pub(crate) struct Shared {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) dialect: Dialect,
    pub(crate) project_root: std::path::PathBuf,
    pub(crate) target_path: std::path::PathBuf,
    pub(crate) full_refresh: bool,
    pub(crate) store_failures: bool,
    /// `--warn-error`: a test that would warn fails.
    pub(crate) warn_error_tests: bool,
    pub(crate) reporter: Arc<dyn super::Reporter>,
    /// The relations this run builds (see [`materialize::Rebuilt`]).
    pub(crate) rebuilt: materialize::Rebuilt,
}

impl From<&RunContext> for Shared {
    fn from(c: &RunContext) -> Self {
        Shared {
            manifest: c.manifest.clone(),
            templates: c.templates.clone(),
            resolver: c.resolver.clone(),
            dialect: c.adapter.dialect(),
            project_root: c.project_root.clone(),
            target_path: c.target_path.clone(),
            full_refresh: c.full_refresh,
            store_failures: c.store_failures,
            warn_error_tests: c.warn_error_tests,
            reporter: c.reporter.clone(),
            rebuilt: materialize::Rebuilt::new(),
        }
    }
}

/// What happened, before it becomes a result.
#[derive(Debug, Clone)]
pub(crate) struct NodeOutcome {
    pub(crate) status: RunStatus,
    pub(crate) message: String,
    pub(crate) failures: Option<u64>,
    pub(crate) compiled_code: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) rows_affected: Option<u64>,
}

impl NodeOutcome {
    pub(crate) fn error(message: impl Into<String>, compiled: Option<String>) -> Self {
        let message = message.into();
        NodeOutcome {
            status: RunStatus::Error,
            detail: Some(message.clone()),
            message,
            failures: None,
            compiled_code: compiled,
            rows_affected: None,
        }
    }
}
