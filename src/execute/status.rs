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
    pub(crate) fn as_str(self) -> &'static str {
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

    /// Every status, for parsing.
    pub(crate) const ALL: [RunStatus; 9] = [
        RunStatus::Success,
        RunStatus::Error,
        RunStatus::Skipped,
        RunStatus::PartialSuccess,
        RunStatus::NoOp,
        RunStatus::Pass,
        RunStatus::Fail,
        RunStatus::Warn,
        RunStatus::RuntimeError,
    ];
}

impl std::str::FromStr for RunStatus {
    type Err = String;

    /// dbt's spelling (`success`, `runtime error`, ...).
    fn from_str(s: &str) -> Result<Self, String> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown run status `{s}`"))
    }
}

impl serde::Serialize for RunStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RunStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
