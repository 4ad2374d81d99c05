//! What dbt's static reading of a macro's text finds it calls (its manifest entry's
//! `depends_on.macros`): `name(...)`, `package.name(...)` and `adapter.dispatch(...)` calls,
//! read from the tokens of each tag with the lexer of [`super`].

use super::{for_each_tag, Kind, Tok};

/// A call written in a template, as dbt's static reading of a macro's calls finds it (what a
/// macro's `depends_on.macros` lists).
#[derive(Debug, PartialEq)]
pub(crate) enum StaticCall {
    /// `name(...)`, or `package.name(...)` (written `package.name`).
    Named(String),
    /// `adapter.dispatch('name', 'namespace')` (`macro_name=` / `macro_namespace=` too).
    Dispatch {
        name: String,
        namespace: Option<String>,
    },
}

/// Words followed by `(` that are not calls: Jinja's keywords, and the names a `{% macro %}`,
/// `{% test %}` or `{% materialization %}` tag defines.
const NOT_CALLED: [&str; 20] = [
    "if",
    "elif",
    "else",
    "for",
    "in",
    "and",
    "or",
    "not",
    "is",
    "set",
    "with",
    "filter",
    "macro",
    "call",
    "import",
    "from",
    "as",
    "recursive",
    "test",
    "materialization",
];

/// The calls written in `src`'s tags, in the order written (see [`StaticCall`]): not filters
/// (`x | f(...)`), tests (`x is t(...)`), definitions, nor calls of what an attribute chain or
/// an index returns (`a.b.c(...)`, `x[0].f(...)`), as dbt's reading leaves those out.
pub(crate) fn static_calls(src: &str) -> Vec<StaticCall> {
    let mut out = Vec::new();
    for_each_tag(src, |toks, _| {
        for (i, t) in toks.iter().enumerate() {
            if t.kind != Kind::Op("(") || i == 0 {
                continue;
            }
            let Kind::Name(name) = toks[i - 1].kind else {
                continue;
            };
            let before = |k: usize| i.checked_sub(k).map(|j| toks[j].kind);
            if before(2) == Some(Kind::Op(".")) {
                let Some(Kind::Name(object)) = before(3) else {
                    continue;
                };
                if matches!(before(4), Some(Kind::Op("." | "|"))) {
                    continue;
                }
                if object == "adapter" {
                    if name == "dispatch" {
                        if let Some(d) = dispatch_call(src, &toks[i + 1..]) {
                            out.push(d);
                        }
                    }
                    continue;
                }
                out.push(StaticCall::Named(format!("{object}.{name}")));
                continue;
            }
            let defined_or_filtered = matches!(
                before(2),
                Some(
                    Kind::Op("|") | Kind::Name("is" | "not" | "macro" | "test" | "materialization")
                )
            );
            if !defined_or_filtered && !NOT_CALLED.contains(&name) {
                out.push(StaticCall::Named(name.to_string()));
            }
        }
    });
    out
}

/// `adapter.dispatch(...)`'s macro name and namespace, from the tokens after its `(`.
fn dispatch_call(src: &str, args: &[Tok]) -> Option<StaticCall> {
    let text = |t: &Tok| {
        let s = &src[t.start..t.end];
        s.get(1..s.len().saturating_sub(1))
            .unwrap_or("")
            .to_string()
    };
    // The top-level arguments, each as its tokens.
    let mut parts: Vec<&[Tok]> = Vec::new();
    let (mut depth, mut from) = (0i32, 0usize);
    for (j, t) in args.iter().enumerate() {
        match t.kind {
            Kind::Op("(" | "[" | "{") => depth += 1,
            Kind::Op(")" | "]" | "}") if depth == 0 => {
                parts.push(&args[from..j]);
                break;
            }
            Kind::Op(")" | "]" | "}") => depth -= 1,
            Kind::Op(",") if depth == 0 => {
                parts.push(&args[from..j]);
                from = j + 1;
            }
            _ => {}
        }
    }
    let (mut name, mut namespace) = (None, None);
    let mut positional = 0;
    for part in parts {
        match part {
            [Tok {
                kind: Kind::Name(key),
                ..
            }, Tok {
                kind: Kind::Op("="),
                ..
            }, value @ Tok {
                kind: Kind::Str, ..
            }] => match *key {
                "macro_name" => name = Some(text(value)),
                "macro_namespace" => namespace = Some(text(value)),
                _ => {}
            },
            [value @ Tok {
                kind: Kind::Str, ..
            }] => {
                match positional {
                    0 => name = Some(text(value)),
                    1 => namespace = Some(text(value)),
                    _ => {}
                }
                positional += 1;
            }
            _ => positional += 1,
        }
    }
    Some(StaticCall::Dispatch {
        name: name?,
        namespace,
    })
}
