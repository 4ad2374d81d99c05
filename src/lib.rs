//! sluice: compile, run and test dbt-format analytics projects and their metrics.
//!
//! The pipeline, one way (see `../shared/DESIGN.md`):
//!
//! ```text
//! cli::args -> cli settings (flags + env + dbt_project.yml + profile)
//! project::load            -> Project         (files, configs, properties YAML)
//! compile::parse (phase 1) -> parsed nodes    (ref/source/config recorded, Jinja execute=false)
//! graph::Dag               -> DAG, cycles, --select / --exclude
//! compile (phase 2)        -> Manifest        (compiled SQL, relations resolved)
//! execute::run             -> RunResults      (DAG order on a pool of `threads` workers)
//! artifacts                -> manifest.json, run_results.json
//! ```
//!
//! `diagnostics` is used by every layer and depends on none. Everything above `adapters` is pure.

pub mod adapters;
pub mod artifacts;
pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod execute;
pub mod graph;
pub mod metrics;
pub mod project;
pub mod session;
pub mod sql;
pub mod templating;

/// Stack size of every thread that renders Jinja (the CLI's main work thread, rayon's global
/// pool, the run pool): templating's `MAX_MACRO_DEPTH` nested macro calls took about 8 MiB in a
/// debug build (dispatch, `{% call %}` and loops at every level included), so 64 MiB leaves
/// eight times that. Only the pages a thread touches are committed: the reservation costs
/// address space, not memory.
pub const RENDER_STACK_BYTES: usize = 64 << 20;

/// A rayon pool builder whose threads have [`RENDER_STACK_BYTES`] of stack (rayon's default,
/// 2 MiB, overflows on a few hundred nested macro calls). Every pool that may render uses it.
pub fn render_pool() -> rayon::ThreadPoolBuilder {
    rayon::ThreadPoolBuilder::new().stack_size(RENDER_STACK_BYTES)
}

/// When the process started, for the `at` column of [`timing`]; set by [`timing_start`].
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Marks the start of the process for [`timing`] (called first thing by the CLI).
pub fn timing_start() {
    PROCESS_START.get_or_init(std::time::Instant::now);
}

/// With `SLUICE_TIMINGS=1`, prints how long a stage took to stderr (for benchmarks only).
pub fn timing(stage: &str, since: std::time::Instant) {
    if std::env::var_os("SLUICE_TIMINGS").is_some() {
        #[allow(clippy::print_stderr)]
        {
            // Resident memory after the stage: page faults on fresh memory are a large part of
            // a big project's system time, so the benchmark shows where memory grows. The
            // process's CPU time so far (user + system, cumulative) tells a stage's own cost
            // apart from waiting on a busy machine.
            let rss_mib = std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
                .map_or(0, |pages| (pages * 4096) >> 20);
            let cpu = std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1;
                    let f: Vec<&str> = after.split_whitespace().collect();
                    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
                    Some(ticks as f64 / 100.0)
                })
                .unwrap_or(0.0);
            let at = PROCESS_START
                .get()
                .map_or(0.0, |s| s.elapsed().as_secs_f64());
            eprintln!(
                "timing: {stage}: {:.3}s (at {at:.3}s, cpu so far {cpu:.2}s, rss {rss_mib} MiB)",
                since.elapsed().as_secs_f64()
            );
        }
    }
}
