//! Why a metric query cannot be planned: [`PlanError`], a message with a hint for the user. Every
//! step of planning returns it (parsing group-by items and filters in `spec`, rendering
//! aggregations in `render`, the planner in `plan`), so it sits below them all.

/// Why a query cannot be planned, with a hint for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct PlanError {
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl PlanError {
    pub(crate) fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        PlanError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}
