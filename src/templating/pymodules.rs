//! `modules`: Python's modules as dbt exposes them to templates: `modules.datetime` and
//! `modules.pytz` ([`super::pydatetime`]), `modules.re` ([`super::pyre`]) and
//! `modules.itertools` ([`super::pyitertools`]).

use minijinja::value::Value;

use super::calls::Namespace;

/// `modules`: `modules.datetime`, `modules.pytz`, `modules.re`, `modules.itertools`.
pub(crate) fn modules() -> Value {
    Value::from_object(Namespace {
        name: "ModulesObj",
        members: &[
            ("datetime", || {
                Value::from_object(super::pydatetime::DatetimeModule)
            }),
            ("pytz", || Value::from_object(super::pydatetime::PytzModule)),
            ("re", || Value::from_object(super::pyre::ReModule)),
            ("itertools", || {
                Value::from_object(super::pyitertools::ItertoolsModule)
            }),
        ],
    })
}
