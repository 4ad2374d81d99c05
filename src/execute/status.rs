//! A node's outcome ([`RunStatus`]), as the scheduler reports it and `run_results.json` spells it.

/// A node's outcome, spelled as dbt spells it in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// A model, seed, snapshot or hook that ran.
    Success,
    /// A model, seed, snapshot or hook that failed.
    Error,
    Skipped,
    PartialSuccess,
    NoOp,
    /// A test that passed.
    Pass,
    /// A test whose failures crossed `error_if`.
    Fail,
    /// A test whose failures crossed `warn_if` only.
    Warn,
    /// A test that could not run.
    RuntimeError,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Error => "error",
            RunStatus::Skipped => "skipped",
            RunStatus::PartialSuccess => "partial success",
            RunStatus::NoOp => "no-op",
            RunStatus::Pass => "pass",
            RunStatus::Fail => "fail",
            RunStatus::Warn => "warn",
            RunStatus::RuntimeError => "runtime error",
        }
    }
}
