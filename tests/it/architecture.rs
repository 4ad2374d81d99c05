//! The module table of `docs/ARCHITECTURE.md` holds: every top-level module of `src/` uses (outside
//! `#[cfg(test)]` code) only the modules its row lists, and the table has no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::repo;

/// The table: module -> the modules it may use.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(repo().join("docs/ARCHITECTURE.md")).unwrap();
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // `| `module` | `a`, `b` |`
            if cells.len() != 4 || !cells[1].starts_with('`') {
                return None;
            }
            Some((cells[1].trim_matches('`').to_string(), names(cells[2])))
        })
        .collect()
}

/// The non-test source of each `.rs` file under `dir`: `#[cfg(test)]` items, comments and files in
/// `tests` folders left out.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "tests" {
                sources(&p, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = without_test_items(&text)
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.push((p.display().to_string(), code));
        }
    }
}

/// `text` without its `#[cfg(test)]` items (each up to the brace that closes its first one).
fn without_test_items(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open) = after.find(['{', ';']) else {
            return out;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (k, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn modules_use_only_what_the_architecture_table_allows() {
    let table = table();
    let src = repo().join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        modules,
        table.keys().cloned().collect::<BTreeSet<_>>(),
        "every module of src/ has one row in docs/ARCHITECTURE.md"
    );
    let mut problems = Vec::new();
    for module in &modules {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        for (file, code) in files {
            for (i, _) in code.match_indices("crate::") {
                let used: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if used != *module && modules.contains(&used) && !table[module].contains(&used) {
                    problems.push(format!("{file} uses `{used}`"));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "uses the table in docs/ARCHITECTURE.md does not allow:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_architecture_table_has_no_cycle() {
    let table = table();
    // Kahn's algorithm: repeatedly take the modules whose allowed uses are all taken.
    let mut done: BTreeSet<String> = BTreeSet::new();
    loop {
        let ready: Vec<String> = table
            .iter()
            .filter(|(m, uses)| !done.contains(*m) && uses.iter().all(|u| done.contains(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        done.extend(ready);
    }
    let left: Vec<&String> = table.keys().filter(|m| !done.contains(*m)).collect();
    assert!(
        left.is_empty(),
        "modules on a cycle of the table, or above one: {left:?}"
    );
}

/// An engine's driver code is reached only through `adapters` (the `Connection` trait and its
/// registry): no other module names an engine's module or its driver crate.
#[test]
fn only_adapters_name_an_engine_driver() {
    let src = repo().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let problems: Vec<String> = files
        .iter()
        .filter(|(file, _)| !file.contains("/src/adapters/"))
        .filter(|(_, code)| {
            [
                "adapters::duckdb",
                "adapters::postgres",
                "::duckdb::",
                "use duckdb",
                "use postgres",
            ]
            .iter()
            .any(|needle| code.contains(needle))
        })
        .map(|(file, _)| file.clone())
        .collect();
    assert!(
        problems.is_empty(),
        "engine drivers named outside adapters/: {problems:?}"
    );
}
