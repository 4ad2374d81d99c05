//! The module table of `docs/ARCHITECTURE.md` holds: every top-level module of `src/` uses (outside
//! `#[cfg(test)]` code) only the modules its row lists, and the table has no cycle. One level down,
//! no two files of `src/` use each other, directly or through other files. And the library's
//! public API stays what outside code uses: `pub(crate)` is the default in `src/`.

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

/// No two files of `src/` use each other, directly or through other files. A file uses the files
/// its `crate::`, `super::` and `self::` paths outside `#[cfg(test)]` code (`use` groups expanded)
/// lead to: the longest prefix of the path that is a module file (`a/b.rs`, `a/b/mod.rs`), and,
/// when the next name is one that file imports rather than defines (`pub use x::Name`,
/// `pub use x::*`), the file the name comes from, so re-exports neither hide nor make a cycle.
/// Paths from a child module's bare name (`nodes::Node` in `compile/mod.rs`) do not count: that
/// is how a `mod.rs` declares and re-exports its children.
#[test]
fn no_import_cycle_between_files() {
    let src = repo().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let prefix = format!("{}/", src.display());
    let files: Vec<(String, String)> = files
        .into_iter()
        .map(|(path, code)| (path.trim_start_matches(&prefix).to_string(), code))
        // The binary is its own crate; its `crate::` is not the library's.
        .filter(|(path, _)| path != "main.rs")
        .collect();
    let cycles = file_cycles(&files);
    let report: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            cycle
                .iter()
                .map(|(file, uses)| format!("  src/{file} uses {}", uses.join(", ")))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "files of src/ that use each other (move what they share into a file below them):\n{}",
        report.join("\n\n")
    );
}

/// The check above finds a cycle, through a `use` group and a re-exporting `mod.rs`, and only
/// in non-test code.
#[test]
fn the_file_cycle_check_sees_groups_reexports_and_skips_tests() {
    let files = |parse: &str| -> Vec<(String, String)> {
        [
            ("lib.rs", "pub mod compile;"),
            (
                "compile/mod.rs",
                "mod nodes;\nmod parse;\npub use nodes::*;",
            ),
            (
                "compile/nodes.rs",
                "pub struct Node;\nuse super::{parse::{self}, Node as N};",
            ),
            ("compile/parse.rs", parse),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), without_test_items(c)))
        .collect()
    };
    let found = file_cycles(&files("use crate::compile::{Node};\npub fn parse() {}"));
    let names: Vec<Vec<&str>> = found
        .iter()
        .map(|c| c.iter().map(|(f, _)| f.as_str()).collect())
        .collect();
    assert_eq!(names, [["compile/nodes.rs", "compile/parse.rs"]]);
    let in_tests = "pub fn parse() {}\n#[cfg(test)]\nmod tests {\n    use crate::compile::Node;\n}";
    assert!(file_cycles(&files(in_tests)).is_empty());
}

/// How many bare `pub` items, fields, modules and re-exports `src/` has outside `lib.rs` and
/// `main.rs`. They are the library's public API: what `src/main.rs` and the integration tests in
/// `tests/it/` use, and nothing else; everything the crate only uses itself is `pub(crate)` (or
/// narrower), so the compiler reports it once nothing uses it.
const BARE_PUB_BOUND: usize = 185;

/// The library's public API is what outside code uses: the bare `pub`s of `src/` may not grow
/// past [`BARE_PUB_BOUND`] (and the bound goes down with them, so it stays tight).
#[test]
fn library_api_is_what_outside_code_uses() {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, line) in text.lines().enumerate() {
                    for _ in 0..bare_pubs(line) {
                        out.push(format!("{}:{}: {}", p.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    let src = repo().join("src");
    let mut found = Vec::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, &mut found);
        }
    }
    let n = found.len();
    assert!(
        n <= BARE_PUB_BOUND,
        "src/ has {n} bare `pub`s outside lib.rs and main.rs, more than BARE_PUB_BOUND \
         ({BARE_PUB_BOUND}): write `pub(crate)` (or narrower) unless src/main.rs or tests/it use \
         the item from outside the crate; only then raise the bound in \
         tests/it/architecture.rs. Every bare `pub`:\n{}",
        found.join("\n")
    );
    assert!(
        n >= BARE_PUB_BOUND,
        "src/ has {n} bare `pub`s, fewer than BARE_PUB_BOUND: lower it to {n} in \
         tests/it/architecture.rs"
    );
}

/// The bare `pub`s of a line of code (`pub fn`, `pub struct S(pub u8)`; not `pub(crate)`,
/// `pub(super)`, nor in a `//` comment).
fn bare_pubs(line: &str) -> usize {
    let code = line.split("//").next().unwrap_or("").as_bytes();
    words(code)
        .filter(|(at, word)| *word == "pub" && code.get(at + 3).is_none_or(u8::is_ascii_whitespace))
        .count()
}

#[test]
fn bare_pubs_counts_only_bare_pub() {
    assert_eq!(bare_pubs("pub struct S(pub u8, pub(crate) u8);"), 2);
    assert_eq!(bare_pubs("    pub(crate) fn f() {} // pub fn g"), 0);
    assert_eq!(bare_pubs("pub(super) mod m; /// pub"), 0);
    assert_eq!(bare_pubs("fn republish() { let public = 1; }"), 0);
    assert_eq!(bare_pubs("pub use x::*;"), 1);
}

/// The cycles of the file graph of `files` (path under `src/`, code without tests and comments):
/// per cycle, each file with the files of the cycle it uses.
fn file_cycles(files: &[(String, String)]) -> Vec<Vec<(String, Vec<String>)>> {
    let graph = FileGraph::new(files);
    let edges: Vec<BTreeSet<usize>> = (0..files.len()).map(|f| graph.uses(f)).collect();
    let mut cycles: Vec<Vec<(String, Vec<String>)>> = strongly_connected(&edges)
        .into_iter()
        .map(|cycle| {
            let mut files: Vec<(String, Vec<String>)> = cycle
                .iter()
                .map(|&f| {
                    let mut uses: Vec<String> = edges[f]
                        .iter()
                        .filter(|u| cycle.contains(u))
                        .map(|&u| format!("src/{}", files[u].0))
                        .collect();
                    uses.sort();
                    (files[f].0.clone(), uses)
                })
                .collect();
            files.sort();
            files
        })
        .collect();
    cycles.sort();
    cycles
}

/// The files of `src/` as modules, and what each file imports.
struct FileGraph<'a> {
    files: &'a [(String, String)],
    /// Module path (`["compile", "parse"]`) -> file index.
    modules: BTreeMap<Vec<String>, usize>,
    /// Per file: each name its `use` items bring in -> the absolute path it stands for.
    imports: Vec<BTreeMap<String, Vec<String>>>,
    /// Per file: the modules it glob-imports (`use x::*`).
    globs: Vec<Vec<Vec<String>>>,
    /// Per file: the names of the items it defines.
    defines: Vec<BTreeSet<String>>,
    /// Per file: its inline modules (`mod x { .. }`) as (start, end, name).
    inline: Vec<Vec<(usize, usize, String)>>,
}

impl<'a> FileGraph<'a> {
    fn new(files: &'a [(String, String)]) -> Self {
        let modules = files
            .iter()
            .enumerate()
            .map(|(i, (path, _))| (module_of(path), i))
            .collect();
        let mut graph = FileGraph {
            files,
            modules,
            imports: Vec::new(),
            globs: Vec::new(),
            defines: files.iter().map(|(_, code)| defined_names(code)).collect(),
            inline: files
                .iter()
                .map(|(_, code)| inline_modules(code.as_bytes()))
                .collect(),
        };
        for f in 0..files.len() {
            let (imports, globs) = graph.imports_of(f);
            graph.imports.push(imports);
            graph.globs.push(globs);
        }
        graph
    }

    /// The files `f`'s `crate::` / `super::` / `self::` paths lead to.
    fn uses(&self, f: usize) -> BTreeSet<usize> {
        let code = self.files[f].1.as_bytes();
        let mut out = BTreeSet::new();
        for (at, word) in words(code) {
            if !matches!(word, "crate" | "super" | "self")
                || !followed_by_path(code, at + word.len())
            {
                continue;
            }
            for (path, _) in use_tree(code, at).0 {
                let resolved =
                    absolute(&self.module_at(f, at), &path).and_then(|p| self.resolve(&p, 0));
                if let Some(target) = resolved.filter(|t| *t != f) {
                    out.insert(target);
                }
            }
        }
        out
    }

    /// `f`'s `use` items: name -> absolute path, and glob-imported modules. Only paths within the
    /// crate count (from `crate`, `super`, `self` or a child module).
    fn imports_of(&self, f: usize) -> (BTreeMap<String, Vec<String>>, Vec<Vec<String>>) {
        let code = self.files[f].1.as_bytes();
        let (mut names, mut globs) = (BTreeMap::new(), Vec::new());
        for (at, word) in words(code) {
            if word != "use" || !code.get(at + 3).is_some_and(u8::is_ascii_whitespace) {
                continue;
            }
            let me = self.module_at(f, at);
            for (path, name) in use_tree(code, at + 3).0 {
                let full = match absolute(&me, &path) {
                    Some(p) => p,
                    None => {
                        let mut child = me.clone();
                        child.push(path[0].clone());
                        if !self.modules.contains_key(&child) {
                            continue;
                        }
                        me.iter().chain(&path).cloned().collect()
                    }
                };
                if name == "*" {
                    globs.push(full[..full.len() - 1].to_vec());
                } else {
                    names.insert(name, full);
                }
            }
        }
        (names, globs)
    }

    /// The module at byte `at` of file `f`: the file's, or an inline `mod x { .. }`'s within it.
    fn module_at(&self, f: usize, at: usize) -> Vec<String> {
        let mut me = module_of(&self.files[f].0);
        for (start, end, name) in &self.inline[f] {
            if *start < at && at < *end {
                me.push(name.clone());
            }
        }
        me
    }

    /// The file an absolute path leads to: the longest prefix that is a module file, then, when
    /// the next name is one that file imports rather than defines, on to where it comes from.
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        let n = (0..=path.len())
            .rev()
            .find(|n| self.modules.contains_key(&path[..*n]))?;
        let file = self.modules[&path[..n]];
        let Some(name) = path.get(n).filter(|_| depth < 8) else {
            return Some(file);
        };
        if self.defines[file].contains(name) {
            return Some(file);
        }
        if let Some(target) = self.imports[file].get(name) {
            let next: Vec<String> = target.iter().chain(&path[n + 1..]).cloned().collect();
            return self.resolve(&next, depth + 1).or(Some(file));
        }
        for glob in &self.globs[file] {
            let next: Vec<String> = glob.iter().chain(&path[n..]).cloned().collect();
            if let Some(from) = self.resolve(&next, depth + 1) {
                if self.defines[from].contains(name) {
                    return Some(from);
                }
            }
        }
        Some(file)
    }
}

/// `compile/parse.rs` -> `["compile", "parse"]`; `compile/mod.rs` -> `["compile"]`; `lib.rs` -> `[]`.
fn module_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Each word of `code` that starts a path (not preceded by `::` or a letter), with its offset.
fn words(code: &[u8]) -> impl Iterator<Item = (usize, &str)> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < code.len() {
            let start = i;
            if is_ident(code[i]) {
                while i < code.len() && is_ident(code[i]) {
                    i += 1;
                }
                if start == 0 || code[start - 1] != b':' {
                    return Some((start, std::str::from_utf8(&code[start..i]).unwrap_or("")));
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

/// Whether `code[at..]` continues a path (`::`, not `::<`).
fn followed_by_path(code: &[u8], at: usize) -> bool {
    let rest = &code[at.min(code.len())..];
    let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    rest.starts_with(b"::") && !rest[2..].trim_ascii_start().starts_with(b"<")
}

/// The paths of the use-tree at `code[at..]` (`a::b`, `a::{b, c::{self, d}}`, `a::*`), each with
/// the name it brings into scope (`x as y` brings `y`), and where the tree ends.
fn use_tree(code: &[u8], mut at: usize) -> (Vec<(Vec<String>, String)>, usize) {
    let skip = |at: &mut usize| {
        while *at < code.len() && code[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    let mut segs: Vec<String> = Vec::new();
    loop {
        skip(&mut at);
        match code.get(at) {
            Some(b'{') => {
                at += 1;
                let mut out = Vec::new();
                loop {
                    while at < code.len() && (code[at].is_ascii_whitespace() || code[at] == b',') {
                        at += 1;
                    }
                    if code.get(at).is_none_or(|c| *c == b'}') {
                        return (out, at + 1);
                    }
                    let (inner, end) = use_tree(code, at);
                    if end == at {
                        return (out, at);
                    }
                    at = end;
                    for (path, name) in inner {
                        let mut full: Vec<String> = segs.iter().chain(&path).cloned().collect();
                        // `a::{self}` is `a`.
                        if path == ["self"] && !segs.is_empty() {
                            full.pop();
                            let alias = (name != "self").then_some(name);
                            out.push((full, alias.unwrap_or_else(|| segs[segs.len() - 1].clone())));
                        } else {
                            out.push((full, name));
                        }
                    }
                }
            }
            Some(b'*') => {
                segs.push("*".into());
                return (vec![(segs, "*".into())], at + 1);
            }
            _ => {}
        }
        let start = at;
        while at < code.len() && is_ident(code[at]) {
            at += 1;
        }
        if at == start {
            return (Vec::new(), start);
        }
        segs.push(String::from_utf8_lossy(&code[start..at]).to_string());
        if followed_by_path(code, at) {
            at += code[at..]
                .iter()
                .take_while(|c| c.is_ascii_whitespace())
                .count()
                + 2;
            continue;
        }
        let mut name = segs.last().cloned().unwrap_or_default();
        let rest = &code[at..];
        let ws = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if ws > 0 && rest[ws..].starts_with(b"as ") {
            let alias = &rest[ws + 3..];
            let alias = &alias[alias.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
            let len = alias.iter().take_while(|c| is_ident(**c)).count();
            name = String::from_utf8_lossy(&alias[..len]).to_string();
            at = code.len() - alias.len() + len;
        }
        return (vec![(segs, name)], at);
    }
}

/// `path` as written in module `me`, from the crate root (`super::b` in `a::c` -> `a::b`); `None`
/// for a path that does not start at `crate`, `super` or `self`.
fn absolute(me: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "super" | "self" => me.to_vec(),
        _ => return None,
    };
    let mut rest = &path[usize::from(path[0] == "crate")..];
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The inline modules of `code` (`mod x { .. }`), outer ones first, as (start, end, name).
fn inline_modules(code: &[u8]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (at, word) in words(code) {
        if word != "mod" {
            continue;
        }
        let rest = &code[at + 3..];
        let name_at = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let len = rest[name_at..].iter().take_while(|c| is_ident(**c)).count();
        let after = &rest[name_at + len..];
        let open =
            at + 3 + name_at + len + after.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if len == 0 || code.get(open) != Some(&b'{') {
            continue;
        }
        let mut depth = 0;
        let close = code[open..].iter().position(|c| {
            depth += match c {
                b'{' => 1,
                b'}' => -1,
                _ => 0,
            };
            depth == 0
        });
        let name = String::from_utf8_lossy(&rest[name_at..name_at + len]).to_string();
        out.push((open, close.map_or(code.len(), |k| open + k), name));
    }
    out
}

/// The names `code` defines (`fn x`, `struct X`, `mod x` ...).
fn defined_names(code: &str) -> BTreeSet<String> {
    let kinds = [
        "fn", "struct", "enum", "trait", "type", "const", "static", "mod", "union",
    ];
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut pending = false;
    for (_, word) in words(bytes) {
        if pending {
            out.insert(word.to_string());
        }
        pending = kinds.contains(&word) || word == "macro_rules";
    }
    out
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'e> {
        edges: &'e [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let edges = s.edges;
        for &w in &edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if s.index[v] == Some(s.low[v]) {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}
