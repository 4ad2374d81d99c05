//! Calling a macro: [`MacroFn`] renders the macro's file in the current render context and
//! calls it, with the depth limit ([`MAX_MACRO_DEPTH`]), `return()` ([`do_return`]), `caller`
//! bodies (`{% call %}` with and without parameters) and Jinja2's `kwargs` / `varargs`.
//!
//! Apart from the index because this is what happens at render time, on the render thread's
//! state, while the index is built once and only looked up.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, Value};
use minijinja::{Error, State};
use regex::Regex;

use super::{IndexHandle, MacroDef};

/// A callable macro: evaluates its file in the current render context and calls it.
#[derive(Debug)]
pub(crate) struct MacroFn {
    pub(crate) def: Arc<MacroDef>,
}

/// How deeply macro calls may nest on one thread. Each call renders in a fresh minijinja
/// `State`, so the environment's recursion limit (which counts within one state) does not see
/// macro-to-macro recursion: this does. Python's Jinja2 under dbt gives up near 1,000 frames;
/// the render threads' stacks ([`crate::RENDER_STACK_BYTES`]) are sized for this many levels.
pub(crate) const MAX_MACRO_DEPTH: usize = 1000;

thread_local! {
    static MACRO_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of macro nesting on this thread, released when the call returns (or unwinds).
struct DepthGuard;

impl DepthGuard {
    fn enter(def: &MacroDef) -> Result<Self, Error> {
        let depth = MACRO_DEPTH.with(|d| d.get());
        if depth >= MAX_MACRO_DEPTH {
            return Err(Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!(
                    "maximum recursion depth exceeded: macro `{}` ({}) nested more than {} calls deep",
                    def.name, def.original_file_path, MAX_MACRO_DEPTH
                ),
            ));
        }
        MACRO_DEPTH.with(|d| d.set(depth + 1));
        Ok(DepthGuard)
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        MACRO_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

thread_local! {
    static RETURN_SLOT: std::cell::RefCell<Vec<Option<Value>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The marker detail of the error `return()` raises to unwind to its macro.
pub(crate) const RETURN_MARKER: &str = "__sluice_return__";

/// Runs `f` (a render) as a macro body: a `return(value)` in it ends it with `value`, which is
/// then the result (as text), as when dbt renders a string as a macro's body.
pub(crate) fn returning(f: impl FnOnce() -> Result<String, Error>) -> Result<String, Error> {
    RETURN_SLOT.with(|s| s.borrow_mut().push(None));
    let result = f();
    let slot = RETURN_SLOT.with(|s| s.borrow_mut().pop().flatten());
    match result {
        Err(e) if e.detail() == Some(RETURN_MARKER) => {
            Ok(slot.map(|v| v.to_string()).unwrap_or_default())
        }
        other => other,
    }
}

/// `return(value)`: stores the value and unwinds to the innermost macro call.
pub(crate) fn do_return(value: Value) -> Result<Value, Error> {
    let stored = RETURN_SLOT.with(|s| {
        let mut s = s.borrow_mut();
        match s.last_mut() {
            Some(slot) => {
                *slot = Some(value);
                true
            }
            None => false,
        }
    });
    if !stored {
        return Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            "return() called outside of a macro",
        ));
    }
    Err(Error::new(
        minijinja::ErrorKind::InvalidOperation,
        RETURN_MARKER,
    ))
}

impl Object for MacroFn {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call(self: &Arc<Self>, state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let _depth = DepthGuard::enter(&self.def)?;
        let ctx = crate::templating::current();
        if let Some(v) = ctx
            .as_ref()
            .and_then(|c| c.services.macro_override(&self.def.package, &self.def.name))
        {
            return Ok(Value::from_serialize(&v));
        }
        match &ctx {
            Some(c) => c.note_macro_run(&self.def),
            None if self.def.package != super::BUILTIN_PACKAGE => {
                super::super::MACRO_RAN_UNATTRIBUTED
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            None => {}
        }
        let base = ctx.as_ref().map(|c| c.jinja_ctx()).unwrap_or_default();
        let index = state
            .lookup("__sluice_index")
            .and_then(|v| v.downcast_object::<IndexHandle>());
        let locals = index
            .as_ref()
            .and_then(|i| i.0.locals_for(&self.def.package));
        let tmpl = state.env().get_template(&self.def.template)?;
        let (args, recorder) = render_caller(state, args)?;
        let (args, catch) = catch_extra_args(&self.def, &args);
        let base = match catch {
            Some(extra) => minijinja::context! { ..extra, ..base },
            None => base,
        };
        #[allow(deprecated)]
        let st = match locals {
            Some(l) => tmpl.eval_to_state(minijinja::context! { ..l, ..base })?,
            None => tmpl.eval_to_state(base)?,
        };
        let local_name = format!("__m_{}", self.def.name);
        let m = st.lookup(&local_name).ok_or_else(|| {
            Error::new(
                minijinja::ErrorKind::UnknownFunction,
                format!("macro `{}` not found in its file", self.def.name),
            )
        })?;
        use std::sync::atomic::Ordering;
        if let Some(c) = &ctx {
            if c.macro_depth.fetch_add(1, Ordering::SeqCst) == 0 {
                if let Ok(mut r) = c.recorded.lock() {
                    if !r.macros.contains(&self.def.unique_id) {
                        r.macros.push(self.def.unique_id.clone());
                    }
                }
            }
        }
        RETURN_SLOT.with(|s| s.borrow_mut().push(None));
        let result = m.call(&st, &args);
        if let Some(c) = &ctx {
            c.macro_depth.fetch_sub(1, Ordering::SeqCst);
        }
        let slot = RETURN_SLOT.with(|s| s.borrow_mut().pop().flatten());
        let value = match result {
            Ok(v) => v,
            Err(e) if e.detail() == Some(RETURN_MARKER) => slot.unwrap_or_default(),
            Err(e) => return Err(e),
        };
        match &recorder {
            Some((r, caller)) => fill_caller_markers(state, value, r, caller),
            None => Ok(value),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<macro {}>", self.def.name)
    }
}

/// `{% call m() %}body{% endcall %}`: the body is a macro of the calling template's state, which
/// minijinja cannot call from the state `m` runs in. So a body without parameters is rendered
/// here, in the caller's state, and `m` gets a `caller` that returns the text; a body with
/// parameters (`{% call(row) m() %}`) gets a [`CallerRecorder`]: each `caller(args)` in `m`
/// prints a marker, and once `m` returns, each marker is replaced by the body rendered here with
/// those arguments (see [`fill_caller_markers`]).
fn render_caller(
    state: &State<'_, '_>,
    args: &[Value],
) -> Result<(Vec<Value>, Option<(Arc<CallerRecorder>, Value)>), Error> {
    let Some(last) = args.last().filter(|a| a.is_kwargs()) else {
        return Ok((args.to_vec(), None));
    };
    let kw = minijinja::value::Kwargs::try_from(last.clone())?;
    let Some(caller) = kw.get::<Option<Value>>("caller")? else {
        return Ok((args.to_vec(), None));
    };
    if caller.downcast_object_ref::<CallerText>().is_some()
        || caller.downcast_object_ref::<CallerRecorder>().is_some()
    {
        return Ok((args.to_vec(), None));
    }
    let takes_args = caller
        .get_attr("arguments")
        .ok()
        .and_then(|a| a.len())
        .is_some_and(|n| n > 0);
    let mut recorder = None;
    let replacement = if takes_args {
        let r = Arc::new(CallerRecorder {
            id: NEXT_CALLER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            calls: std::sync::Mutex::new(Vec::new()),
        });
        recorder = Some((r.clone(), caller.clone()));
        Value::from_dyn_object(r)
    } else {
        Value::from_object(CallerText(caller.call(state, &[])?.to_string()))
    };
    let pairs: Vec<(String, Value)> = kw
        .args()
        .map(|k| {
            let v = if k == "caller" {
                replacement.clone()
            } else {
                kw.get::<Value>(k).unwrap_or_default()
            };
            (k.to_string(), v)
        })
        .collect();
    let mut out = args[..args.len() - 1].to_vec();
    out.push(Value::from(
        pairs.into_iter().collect::<minijinja::value::Kwargs>(),
    ));
    Ok((out, recorder))
}

/// A `caller` whose body was rendered already.
#[derive(Debug)]
struct CallerText(String);

impl Object for CallerText {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(Value::from_safe_string(self.0.clone()))
    }
}

static NEXT_CALLER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A `caller` taking arguments: records each call and prints a marker for it.
#[derive(Debug)]
struct CallerRecorder {
    id: u64,
    calls: std::sync::Mutex<Vec<Vec<Value>>>,
}

impl CallerRecorder {
    fn marker(&self, n: usize) -> String {
        format!("\u{1}sluice-caller:{}:{n}\u{1}", self.id)
    }
}

impl Object for CallerRecorder {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let mut calls = self
            .calls
            .lock()
            .map_err(|_| Error::new(minijinja::ErrorKind::InvalidOperation, "caller poisoned"))?;
        calls.push(args.to_vec());
        Ok(Value::from_safe_string(self.marker(calls.len() - 1)))
    }
}

/// Replaces the markers `caller(args)` printed in a macro's output by the call block's body
/// rendered (in the calling template's `state`) with those arguments.
fn fill_caller_markers(
    state: &State<'_, '_>,
    value: Value,
    recorder: &CallerRecorder,
    caller: &Value,
) -> Result<Value, Error> {
    let calls = recorder.calls.lock().map(|c| c.clone()).unwrap_or_default();
    let Some(text) = value.as_str().filter(|_| !calls.is_empty()) else {
        return Ok(value);
    };
    let mut text = text.to_string();
    for (n, args) in calls.iter().enumerate() {
        let marker = recorder.marker(n);
        if text.contains(&marker) {
            let body = caller.call(state, args)?;
            text = text.replace(&marker, &body.to_string());
        }
    }
    Ok(if value.is_safe() {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
}

static KWARGS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bkwargs\b").unwrap());
static VARARGS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bvarargs\b").unwrap());

/// Jinja2's `kwargs` / `varargs`: a macro whose body mentions them accepts keyword arguments it
/// does not declare (collected in `kwargs`) and extra positional ones (in `varargs`); minijinja
/// has neither, so they are split off here and handed to the macro as context variables.
fn catch_extra_args(def: &MacroDef, args: &[Value]) -> (Vec<Value>, Option<Value>) {
    let body = def
        .macro_sql
        .split_once("%}")
        .map_or(def.macro_sql.as_str(), |(_, b)| b);
    let catch_kwargs = KWARGS_RE.is_match(body);
    let catch_varargs = VARARGS_RE.is_match(body);
    if !catch_kwargs && !catch_varargs {
        return (args.to_vec(), None);
    }
    let mut positional: Vec<Value> = args.to_vec();
    let mut kwargs: Option<minijinja::value::Kwargs> = None;
    if let Some(last) = positional.last() {
        if last.is_kwargs() {
            kwargs = minijinja::value::Kwargs::try_from(last.clone()).ok();
            positional.pop();
        }
    }
    let mut extra_kw: BTreeMap<String, Value> = BTreeMap::new();
    let mut kept: Vec<(String, Value)> = Vec::new();
    if let Some(kw) = &kwargs {
        for k in kw.args() {
            let v: Value = kw.get(k).unwrap_or_default();
            if catch_kwargs && k != "caller" && !def.arguments.iter().any(|a| a == k) {
                extra_kw.insert(k.to_string(), v);
            } else {
                kept.push((k.to_string(), v));
            }
        }
    }
    let mut extra_pos = Vec::new();
    if catch_varargs && positional.len() > def.arguments.len() {
        extra_pos = positional.split_off(def.arguments.len());
    }
    if !kept.is_empty() {
        positional.push(Value::from(
            kept.into_iter().collect::<minijinja::value::Kwargs>(),
        ));
    }
    let ctx = minijinja::context! {
        kwargs => Value::from(extra_kw),
        varargs => Value::from(extra_pos),
    };
    (positional, Some(ctx))
}
