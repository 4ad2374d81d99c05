//! What each worker running nodes holds and hands back: [`Shared`], the state of the run every
//! worker shares, and [`NodeOutcome`], what happened to one node before it becomes a result. Kept
//! apart from `node` so that the runners of particular node kinds (`unit`, `metric_unit`,
//! `saved_query`), which `node` calls, can use them without using `node`.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};

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
    /// `--empty` (see [`super::RunContext::empty`]).
    pub(crate) empty: bool,
    pub(crate) store_failures: bool,
    /// `--warn-error`: a test that would warn fails.
    pub(crate) warn_error_tests: bool,
    pub(crate) reporter: Arc<dyn super::Reporter>,
    /// The relations this run builds (see [`materialize::Rebuilt`]).
    pub(crate) rebuilt: materialize::Rebuilt,
    /// Where nodes' compiled SQL files are written.
    pub(crate) files: FileWriter,
    /// The query comment of each node's statements.
    pub(crate) comments: Option<Arc<super::query_comment::NodeComments>>,
    /// `--event-time-start` / `--event-time-end` (see [`super::RunContext::event_time`]).
    pub(crate) event_time: (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>),
    /// `--sample` (see [`super::RunContext::sample`]).
    pub(crate) sample: Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)>,
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
            empty: c.empty,
            store_failures: c.store_failures,
            warn_error_tests: c.warn_error_tests,
            reporter: c.reporter.clone(),
            rebuilt: materialize::Rebuilt::new(),
            files: FileWriter::inline(),
            comments: c.comments.clone(),
            event_time: c.event_time,
            sample: c.sample,
        }
    }
}

/// Writes the files a run leaves beside its work (each node's compiled SQL under the target
/// path). In the background ([`FileWriter::background`]) a thread of its own writes them, so a
/// worker goes on to the warehouse instead of waiting on the disk: on a build of many small
/// models, writing the files in line was about 5% of the wall time. [`FileWriter::finish`] (or
/// dropping it) waits until every file is written. Write errors are ignored: the files are a
/// courtesy to the reader, the run's result does not depend on them.
pub(crate) struct FileWriter {
    queue: Mutex<Option<mpsc::Sender<(PathBuf, String)>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FileWriter {
    /// Writes each file when asked, on the caller's thread.
    pub(crate) fn inline() -> Self {
        FileWriter {
            queue: Mutex::new(None),
            thread: Mutex::new(None),
        }
    }

    /// Writes files on a thread of its own (in line if no thread can be made).
    pub(crate) fn background() -> Self {
        let (tx, rx) = mpsc::channel::<(PathBuf, String)>();
        let spawned = std::thread::Builder::new()
            .name("sluice-files".into())
            .spawn(move || {
                for (path, contents) in rx {
                    write_file(&path, &contents);
                }
            });
        match spawned {
            Ok(handle) => FileWriter {
                queue: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(handle)),
            },
            Err(_) => Self::inline(),
        }
    }

    pub(crate) fn write(&self, path: PathBuf, contents: String) {
        let queued = match self.queue.lock() {
            Ok(q) => match q.as_ref() {
                Some(tx) => tx.send((path, contents)).map_err(|e| e.0),
                None => Err((path, contents)),
            },
            Err(_) => Err((path, contents)),
        };
        if let Err((path, contents)) = queued {
            write_file(&path, &contents);
        }
    }

    /// Waits until every file asked for is written; later writes happen in line.
    pub(crate) fn finish(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        self.finish();
    }
}

fn write_file(path: &std::path::Path, contents: &str) {
    let _ = crate::compile::write_if_changed(path, contents);
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
