//! What the methods of every template object share: the errors they raise, the render they run
//! in, and the way they read Python-style arguments (by position, or by keyword from a trailing
//! `Kwargs`).
//!
//! Design decision: small helpers for the few call shapes dbt packages use (`x.f('a')`,
//! `x.f(name='a')`) rather than a declarative argument parser: each object keeps its own
//! defaults in plain sight, and the texts users see (the error of an unknown method, a compiler
//! error's prefix) are written once here.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Error, ErrorKind};

/// Marker prefix of errors raised by `exceptions.raise_compiler_error`.
pub(crate) const COMPILER_ERROR: &str = "Compilation Error: ";

/// An error of an operation on valid syntax (a bad argument, a failed query ...).
pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The error of calling an unknown method: "<owner> has no method \`<method>\`".
pub(crate) fn no_method(owner: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!("{owner} has no method `{method}`"),
    )
}

/// The render in progress (functions of the dbt context need the node being rendered).
pub(crate) fn ctx_or_err() -> Result<Arc<super::RenderCtx>, Error> {
    super::current().ok_or_else(|| err("no node is being rendered"))
}

/// The `i`-th positional argument as a string; "" when missing or not a string.
pub(crate) fn str_arg(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(|a| a.as_str()).unwrap_or("")
}

/// The argument named `key` (keyword) or else the `pos`-th positional one.
pub(crate) fn kw_or_pos(args: &[Value], pos: usize, key: &str) -> Option<Value> {
    let kw = args.iter().find_map(|a| Kwargs::try_from(a.clone()).ok());
    if let Some(v) = kw.and_then(|k| k.get::<Option<Value>>(key).ok().flatten()) {
        return Some(v);
    }
    args.iter().filter(|a| !a.is_kwargs()).nth(pos).cloned()
}

/// An object whose attributes are other objects (`api`, `modules`, `modules.datetime`).
pub(crate) struct Namespace {
    /// What `Debug` prints.
    pub(crate) name: &'static str,
    pub(crate) members: &'static [(&'static str, fn() -> Value)],
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Object for Namespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        self.members
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, make)| make())
    }
}
