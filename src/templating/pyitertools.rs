//! `modules.itertools`: the functions dbt exposes (`count`, `cycle`, `repeat`, `accumulate`,
//! `chain`, `compress`, `islice`, `starmap`, `tee`, `zip_longest`,
//! `product`, `permutations`, `combinations`, `combinations_with_replacement`).
//!
//! Design decision: the infinite iterators (`count`, `cycle`, `repeat` without `times`) are lazy
//! iterables, so `islice(count(), 5)` and a `{% for %}` with `{% break %}` work; every other
//! function returns a list (of tuples where Python yields tuples): templates iterate over them or
//! turn them into lists, and a list prints better than `<itertools.chain object at 0x..>`.

use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::calls::{err, no_method};
use super::pyvalues::{PyList, PyTuple};

/// `modules.itertools`.
#[derive(Debug)]
pub(crate) struct ItertoolsModule;

/// How many items an endless iterator yields at most: one more than the functions that read it
/// (`islice`, the combinatorics) accept, so that they still say their result is too large.
const ENDLESS_CAP: usize = MAX_TUPLES as usize + 1;

/// `count(start, step)`, `cycle(iterable)`, `repeat(x)`: endless, produced as they are read.
#[derive(Debug)]
enum Endless {
    Count(Value, Value),
    Cycle(Vec<Value>),
    Repeat(Value),
}

impl Object for Endless {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }
    /// Read whole (`| list`, a `{% for %}` without `{% break %}`), an endless iterator stops
    /// after [`ENDLESS_CAP`] items, where Python would exhaust memory or loop for ever (found by
    /// the fuzzer: `repeat(x) | list` asked for a vector of `usize::MAX` items).
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match &**self {
            Endless::Count(start, step) => {
                let (mut next, step) = (start.clone(), step.clone());
                Enumerator::Iter(Box::new(
                    std::iter::from_fn(move || {
                        let cur = next.clone();
                        next = super::pyformat::py_add(cur.clone(), step.clone()).ok()?;
                        Some(cur)
                    })
                    .take(ENDLESS_CAP),
                ))
            }
            Endless::Cycle(items) if items.is_empty() => Enumerator::Empty,
            Endless::Cycle(items) => Enumerator::Iter(Box::new(
                items.clone().into_iter().cycle().take(ENDLESS_CAP),
            )),
            Endless::Repeat(v) => {
                Enumerator::Iter(Box::new(std::iter::repeat_n(v.clone(), ENDLESS_CAP)))
            }
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &**self {
            Endless::Count(start, step) if step.as_i64() == Some(1) => {
                write!(f, "count({start})")
            }
            Endless::Count(start, step) => write!(f, "count({start}, {step})"),
            Endless::Cycle(_) => f.write_str("<itertools.cycle object>"),
            Endless::Repeat(v) => write!(f, "repeat({})", super::pyvalues::py_repr(v)),
        }
    }
}

fn split(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last() {
        Some(last) if last.is_kwargs() => {
            (&args[..args.len() - 1], Kwargs::try_from(last.clone()).ok())
        }
        _ => (args, None),
    }
}

fn kw(kwargs: &Option<Kwargs>, name: &str) -> Option<Value> {
    kwargs
        .as_ref()
        .and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
}

fn items(v: Option<&Value>) -> Result<Vec<Value>, Error> {
    match v {
        Some(v) => Ok(v.try_iter()?.collect()),
        None => Err(err("TypeError: missing iterable argument")),
    }
}

fn opt_usize(v: Option<Value>, what: &str) -> Result<Option<usize>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => usize::try_from(v)
            .map(Some)
            .map_err(|_| err(format!("ValueError: {what} must be a non-negative integer"))),
    }
}

/// The most tuples `product`, `permutations` and `combinations*` make. Python's are lazy and
/// would run (for hours) on `combinations_with_replacement(long_list, 9) | list`; sluice builds
/// the list up front, so more than this is an error instead of a hang.
const MAX_TUPLES: u128 = 1_000_000;

/// An error when `count` tuples (None: more than `u128` holds) is over [`MAX_TUPLES`].
fn check_count(method: &str, count: Option<u128>) -> Result<(), Error> {
    match count {
        Some(c) if c <= MAX_TUPLES => Ok(()),
        _ => Err(err(format!(
            "OverflowError: itertools.{method} would make more than {MAX_TUPLES} tuples"
        ))),
    }
}

/// `n choose k`, or None past [`MAX_TUPLES`].
fn choose(n: usize, k: usize) -> Option<u128> {
    if k > n {
        return Some(0);
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    // C(n, i) grows with i up to n/2: once past the limit, so is C(n, k).
    for i in 0..k {
        c = c * (n - i) as u128 / (i as u128 + 1);
        if c > MAX_TUPLES {
            return None;
        }
    }
    Some(c)
}

/// How many `r`-permutations of `n` items there are, or None past [`MAX_TUPLES`].
fn permutation_count(n: usize, r: usize) -> Option<u128> {
    if r > n {
        return Some(0);
    }
    let mut c: u128 = 1;
    for i in 0..r {
        c *= (n - i) as u128;
        if c > MAX_TUPLES {
            return None;
        }
    }
    Some(c)
}

/// Index tuples of `r`-permutations of `n` items, in Python's order.
fn permutations(n: usize, r: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if r > n {
        return out;
    }
    let mut current = Vec::with_capacity(r);
    let mut used = vec![false; n];
    fn go(n: usize, r: usize, cur: &mut Vec<usize>, used: &mut [bool], out: &mut Vec<Vec<usize>>) {
        if cur.len() == r {
            out.push(cur.clone());
            return;
        }
        for i in 0..n {
            if !used[i] {
                used[i] = true;
                cur.push(i);
                go(n, r, cur, used, out);
                cur.pop();
                used[i] = false;
            }
        }
    }
    go(n, r, &mut current, &mut used, &mut out);
    out
}

/// Index tuples of `r`-combinations (with replacement when `again`), in Python's order.
fn combinations(n: usize, r: usize, again: bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    fn go(
        n: usize,
        r: usize,
        from: usize,
        again: bool,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if cur.len() == r {
            out.push(cur.clone());
            return;
        }
        // Without replacement, leave enough items for the positions still to fill (otherwise
        // the search is exponential when `r` is close to `n`, e.g. 998 of 1,000).
        let end = if again {
            n
        } else {
            (n + 1).saturating_sub(r - cur.len())
        };
        for i in from..end {
            cur.push(i);
            go(n, r, if again { i } else { i + 1 }, again, cur, out);
            cur.pop();
        }
    }
    if again && n == 0 && r > 0 {
        return out;
    }
    go(n, r, 0, again, &mut Vec::with_capacity(r), &mut out);
    out
}

fn pick(pool: &[Value], idx: &[usize]) -> Value {
    PyTuple::value(idx.iter().map(|i| pool[*i].clone()).collect())
}

impl Object for ItertoolsModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    /// One arm per function of Python's `itertools` module. Long on purpose (about 200 lines):
    /// the match is the table of functions, each arm a short, self-contained implementation.
    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let arg = |i: usize, name: &str| kw(&kwargs, name).or_else(|| pos.get(i).cloned());
        match method {
            "count" => Ok(Value::from_object(Endless::Count(
                arg(0, "start").unwrap_or(Value::from(0)),
                arg(1, "step").unwrap_or(Value::from(1)),
            ))),
            "cycle" => Ok(Value::from_object(Endless::Cycle(items(pos.first())?))),
            "repeat" => {
                let v = arg(0, "object").unwrap_or_default();
                match opt_usize(arg(1, "times"), "times")? {
                    Some(n) => {
                        check_count(method, Some(n as u128))?;
                        Ok(PyList::value(vec![v; n]))
                    }
                    None => Ok(Value::from_object(Endless::Repeat(v))),
                }
            }
            "accumulate" => {
                let func = arg(1, "func").filter(|f| !f.is_none());
                let mut out = Vec::new();
                let mut total = kw(&kwargs, "initial").filter(|v| !v.is_none());
                if let Some(t) = &total {
                    out.push(t.clone());
                }
                for x in items(pos.first())? {
                    let next = match total {
                        None => x,
                        Some(t) => match &func {
                            Some(f) => f.call(state, &[t, x])?,
                            None => super::pyformat::py_add(t, x)?,
                        },
                    };
                    out.push(next.clone());
                    total = Some(next);
                }
                Ok(PyList::value(out))
            }
            // dbt wraps each function (to warn that `modules.itertools` is deprecated), so
            // `chain.from_iterable` is not there.
            "chain" => {
                let mut out = Vec::new();
                for a in pos {
                    out.extend(a.try_iter()?);
                }
                Ok(PyList::value(out))
            }
            "compress" => {
                let data = items(pos.first())?;
                let selectors = items(pos.get(1))?;
                Ok(PyList::value(
                    data.into_iter()
                        .zip(selectors)
                        .filter(|(_, s)| s.is_true())
                        .map(|(d, _)| d)
                        .collect(),
                ))
            }
            "islice" => {
                let it = pos.first().cloned().unwrap_or_default();
                let (start, stop, step) = match pos.len() {
                    2 => (0, opt_usize(pos.get(1).cloned(), "stop")?, 1),
                    _ => (
                        opt_usize(pos.get(1).cloned(), "start")?.unwrap_or(0),
                        opt_usize(pos.get(2).cloned(), "stop")?,
                        opt_usize(pos.get(3).cloned(), "step")?.unwrap_or(1).max(1),
                    ),
                };
                let iter = it.try_iter()?.skip(start).step_by(step);
                let n = stop.map_or(usize::MAX, |stop| stop.saturating_sub(start).div_ceil(step));
                // An endless iterator (`count()`, `cycle()`) without a stop would never end.
                let taken: Vec<Value> = iter.take(n.min(MAX_TUPLES as usize + 1)).collect();
                if n > MAX_TUPLES as usize && taken.len() > MAX_TUPLES as usize {
                    check_count(method, None)?;
                }
                Ok(PyList::value(taken))
            }
            "starmap" => {
                let func = pos
                    .first()
                    .cloned()
                    .ok_or_else(|| err("TypeError: starmap needs a function"))?;
                let mut out = Vec::new();
                for a in items(pos.get(1))? {
                    let call_args: Vec<Value> = a.try_iter()?.collect();
                    out.push(func.call(state, &call_args)?);
                }
                Ok(PyList::value(out))
            }
            "tee" => {
                let v = items(pos.first())?;
                let n = opt_usize(arg(1, "n"), "n")?.unwrap_or(2);
                Ok(PyTuple::value(
                    (0..n).map(|_| PyList::value(v.clone())).collect(),
                ))
            }
            "zip_longest" => {
                let fill = kw(&kwargs, "fillvalue").unwrap_or(Value::from(()));
                let lists: Vec<Vec<Value>> = pos
                    .iter()
                    .map(|a| a.try_iter().map(|i| i.collect()))
                    .collect::<Result<_, _>>()?;
                let n = lists.iter().map(Vec::len).max().unwrap_or(0);
                Ok(PyList::value(
                    (0..n)
                        .map(|i| {
                            PyTuple::value(
                                lists
                                    .iter()
                                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                                    .collect(),
                            )
                        })
                        .collect(),
                ))
            }
            "product" => {
                let repeat = opt_usize(kw(&kwargs, "repeat"), "repeat")?.unwrap_or(1);
                let pools: Vec<Vec<Value>> = pos
                    .iter()
                    .map(|a| a.try_iter().map(|i| i.collect()))
                    .collect::<Result<_, _>>()?;
                let mut count: Option<u128> = Some(1);
                if pools.iter().any(Vec::is_empty) {
                    count = Some(0);
                } else {
                    for _ in 0..repeat.min(128) {
                        for p in &pools {
                            count = count.and_then(|c| c.checked_mul(p.len() as u128));
                            count = count.filter(|c| *c <= MAX_TUPLES);
                        }
                    }
                }
                // Repeating no pools (or only single-item ones) makes one tuple per repeat.
                let length = repeat.checked_mul(pools.len()).map(|l| l as u128);
                check_count(method, count)?;
                check_count(method, length)?;
                if pools.is_empty() {
                    return Ok(PyList::value(vec![PyTuple::value(vec![])]));
                }
                let pools: Vec<&Vec<Value>> = std::iter::repeat_n(pools.iter(), repeat)
                    .flatten()
                    .collect();
                let mut out: Vec<Vec<Value>> = vec![vec![]];
                for pool in pools {
                    out = out
                        .into_iter()
                        .flat_map(|prefix| {
                            pool.iter().map(move |x| {
                                let mut p = prefix.clone();
                                p.push(x.clone());
                                p
                            })
                        })
                        .collect();
                }
                Ok(PyList::value(out.into_iter().map(PyTuple::value).collect()))
            }
            "permutations" => {
                let pool = items(pos.first())?;
                let r = opt_usize(arg(1, "r"), "r")?.unwrap_or(pool.len());
                check_count(method, permutation_count(pool.len(), r))?;
                Ok(PyList::value(
                    permutations(pool.len(), r)
                        .iter()
                        .map(|idx| pick(&pool, idx))
                        .collect(),
                ))
            }
            "combinations" | "combinations_with_replacement" => {
                let pool = items(pos.first())?;
                let r = opt_usize(arg(1, "r"), "r")?
                    .ok_or_else(|| err("TypeError: missing required argument 'r'"))?;
                let again = method == "combinations_with_replacement";
                let count = if !again {
                    choose(pool.len(), r)
                } else if pool.is_empty() {
                    Some(u128::from(r == 0))
                } else {
                    (pool.len() - 1).checked_add(r).and_then(|n| choose(n, r))
                };
                check_count(method, count)?;
                Ok(PyList::value(
                    combinations(pool.len(), r, again)
                        .iter()
                        .map(|idx| pick(&pool, idx))
                        .collect(),
                ))
            }
            _ => Err(no_method("itertools", method)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        super::super::functions::render_python(
            src,
            &[("itertools", Value::from_object(ItertoolsModule))],
        )
    }

    #[test]
    fn results_past_a_million_tuples_are_errors_not_hangs() {
        // Found by the fuzzer: `combinations_with_replacement` of a 30,000-character string.
        for t in [
            "{{ itertools.combinations_with_replacement('abcdefghijklmnopqrstuvwxyz' * 1000, 3) }}",
            "{{ itertools.combinations(range(100000), 2) }}",
            "{{ itertools.permutations(range(50)) }}",
            "{{ itertools.product(range(1000), repeat=3) }}",
            "{{ itertools.product([1], repeat=10000000000) }}",
            "{{ itertools.repeat('x', 100000000000) }}",
            "{{ itertools.islice(itertools.count(), 10000000000) }}",
            "{{ itertools.islice(itertools.cycle('ab'), none) }}",
        ] {
            let out = render(t);
            assert!(out.contains("OverflowError"), "{t}: {out}");
        }
        assert_eq!(
            render("{{ itertools.combinations(range(40), 38) | length }}"),
            "780"
        );
    }

    // Each expected value is what `~/dbtvenv/bin/python` prints for `list(...)` of the same call.
    #[test]
    fn functions_behave_as_python_itertools() {
        let cases = [
            ("{{ itertools.chain([1, 2], (3,), 'ab') }}", "[1, 2, 3, 'a', 'b']"),
            ("{{ itertools.islice(itertools.count(), 5) }}", "[0, 1, 2, 3, 4]"),
            ("{{ itertools.islice(itertools.count(10, 5), 1, 7, 2) }}", "[15, 25, 35]"),
            ("{{ itertools.islice(itertools.cycle('ab'), 5) }}", "['a', 'b', 'a', 'b', 'a']"),
            ("{{ itertools.repeat('x', 3) }}", "['x', 'x', 'x']"),
            ("{{ itertools.accumulate([1, 2, 3, 4]) }}", "[1, 3, 6, 10]"),
            ("{{ itertools.accumulate([1, 2], initial=10) }}", "[10, 11, 13]"),
            ("{{ itertools.compress('abcd', [1, 0, 1, 0]) }}", "['a', 'c']"),
            ("{{ itertools.zip_longest([1, 2, 3], 'ab', fillvalue='-') }}", "[(1, 'a'), (2, 'b'), (3, '-')]"),
            ("{{ itertools.product('ab', [1, 2]) }}", "[('a', 1), ('a', 2), ('b', 1), ('b', 2)]"),
            ("{{ itertools.product([0, 1], repeat=2) }}", "[(0, 0), (0, 1), (1, 0), (1, 1)]"),
            ("{{ itertools.product([], repeat=0) }}", "[()]"),
            ("{{ itertools.combinations_with_replacement([], 0) }}", "[()]"),
            ("{{ itertools.combinations([1, 2, 3], 3) }}", "[(1, 2, 3)]"),
            ("{{ itertools.permutations('abc', 2) }}", "[('a', 'b'), ('a', 'c'), ('b', 'a'), ('b', 'c'), ('c', 'a'), ('c', 'b')]"),
            ("{{ itertools.combinations([1, 2, 3], 2) }}", "[(1, 2), (1, 3), (2, 3)]"),
            ("{{ itertools.combinations_with_replacement('ab', 2) }}", "[('a', 'a'), ('a', 'b'), ('b', 'b')]"),
            ("{{ itertools.tee([1, 2])[1] | list }}", "[1, 2]"),
            ("{% for i in itertools.count(1) %}{{ i }}{% if i == 3 %}{% break %}{% endif %}{% endfor %}", "123"),
        ];
        let mut bad = Vec::new();
        for (src, want) in cases {
            let got = render(src);
            if got != want {
                bad.push(format!("{src}\n  want {want}\n  got  {got}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
