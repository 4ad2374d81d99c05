//! What a statement does to the catalog, read from its first words: which relation it creates,
//! drops or renames, or that it may change the catalog in a way not read here. The relation cache
//! (`adapters::cache`) keeps itself current from these effects without asking the engine.
//!
//! Decision: a small scanner of statement heads rather than a SQL parser. The statements sluice
//! sends include whole model queries (`create table ... as <select>`), and only their first words
//! matter; a full parse of each would cost more than the catalog lookups the cache saves. The
//! scanner is conservative: any statement it does not recognise as harmless (DML, transaction
//! control, grants ...) or as a create/drop/rename of a fully qualified table or view is
//! [`CatalogEffect::Unknown`], and the cache then forgets what it knew.

use super::RelationKind;

/// One identifier as written: its text (quotes removed, doubled quotes undone) and whether it
/// was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub(crate) text: String,
    pub(crate) quoted: bool,
}

/// A dotted name: `db.schema.name`, `schema.name` or `name`.
pub(crate) type Name = Vec<Ident>;

/// What one statement does to the relations of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CatalogEffect {
    /// Creates a table or view (`create [or replace] table|view ...`).
    Created { name: Name, kind: RelationKind },
    /// Drops tables or views (`drop table|view [if exists] a, b`).
    Dropped { names: Vec<Name> },
    /// Renames a table or view within its schema (`alter table|view a rename to b`).
    Renamed { from: Name, to: Ident },
    /// Creates a schema (`create schema [if not exists] s`).
    SchemaCreated { name: Name },
    /// May change the catalog in a way not read here (a rollback, `drop ... cascade`, `attach`,
    /// a statement the scanner does not know).
    Unknown,
}

/// The catalog effects of `sql`'s statements, in order; statements that change no relation
/// (queries, DML, transaction control, grants ...) have none.
pub(crate) fn catalog_effects(sql: &str) -> Vec<CatalogEffect> {
    split_statements(sql)
        .into_iter()
        .filter_map(statement_effect)
        .collect()
}

/// Whether `sql` may change the catalog (has any effect at all).
#[cfg(test)]
pub(crate) fn may_change_catalog(sql: &str) -> bool {
    !catalog_effects(sql).is_empty()
}

/// The statements of `sql`, split at `;` outside quotes, dollar quotes and comments.
pub(crate) fn split_statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i, b[i]),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            }
            b'$' => i = skip_dollar_quoted(sql, i),
            b';' => {
                out.push(&sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(&sql[start..]);
    out
}

/// The index after the quoted text starting at `i` (a doubled quote is part of the text).
fn skip_quoted(b: &[u8], i: usize, q: u8) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// PostgreSQL's `$tag$ ... $tag$`: the index after it, or after the `$` when it is not one.
fn skip_dollar_quoted(sql: &str, i: usize) -> usize {
    let rest = &sql[i + 1..];
    let tag_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    if rest.as_bytes().get(tag_len) != Some(&b'$') {
        return i + 1;
    }
    let tag = &sql[i..i + tag_len + 2];
    let body = i + tag.len();
    sql[body..]
        .find(tag)
        .map_or(sql.len(), |p| body + p + tag.len())
}

/// A token of a statement's head.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A keyword or unquoted identifier, lower-cased, with its text as written.
    Word(String, String),
    Quoted(String),
    Dot,
    Comma,
    Other,
}

/// The first `limit` tokens of a statement (comments and whitespace skipped).
fn head_tokens(s: &str, limit: usize) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < limit {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = s[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
        } else if c == b'"' || c == b'`' {
            let end = skip_quoted(b, i, c);
            let inner = &s[i + 1..end.saturating_sub(1).max(i + 1)];
            let q = c as char;
            out.push(Tok::Quoted(
                inner.replace(&format!("{q}{q}"), &q.to_string()),
            ));
            i = end;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            let w = &s[start..i];
            out.push(Tok::Word(w.to_ascii_lowercase(), w.to_string()));
        } else {
            out.push(match c {
                b'.' => Tok::Dot,
                b',' => Tok::Comma,
                _ => Tok::Other,
            });
            // Step over one whole character.
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// Reads statement head tokens left to right.
struct Head {
    toks: Vec<Tok>,
    pos: usize,
}

impl Head {
    fn word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w, _)) => Some(w),
            _ => None,
        }
    }
    /// Consumes `w` if it is next.
    fn eat(&mut self, w: &str) -> bool {
        let hit = self.word() == Some(w);
        if hit {
            self.pos += 1;
        }
        hit
    }
    /// Consumes the words of `ws` if all come next.
    fn eat_all(&mut self, ws: &[&str]) -> bool {
        let save = self.pos;
        if ws.iter().all(|w| self.eat(w)) {
            return true;
        }
        self.pos = save;
        false
    }
    fn ident(&mut self) -> Option<Ident> {
        let id = match self.toks.get(self.pos)? {
            Tok::Word(_, text) => Ident {
                text: text.clone(),
                quoted: false,
            },
            Tok::Quoted(text) => Ident {
                text: text.clone(),
                quoted: true,
            },
            _ => return None,
        };
        self.pos += 1;
        Some(id)
    }
    /// A dotted name.
    fn name(&mut self) -> Option<Name> {
        let mut parts = vec![self.ident()?];
        while self.toks.get(self.pos) == Some(&Tok::Dot) {
            self.pos += 1;
            parts.push(self.ident()?);
        }
        Some(parts)
    }
}

/// Words that start statements that change no relation.
const HARMLESS: &[&str] = &[
    "select",
    "with",
    "insert",
    "update",
    "delete",
    "merge",
    "upsert",
    "values",
    "table",
    "begin",
    "start",
    "commit",
    "end",
    "savepoint",
    "release",
    "grant",
    "revoke",
    "comment",
    "truncate",
    "copy",
    "analyze",
    "analyse",
    "vacuum",
    "checkpoint",
    "pragma",
    "set",
    "reset",
    "show",
    "describe",
    "desc",
    "explain",
    "summarize",
    "install",
    "load",
    "export",
    "listen",
    "notify",
    "unlisten",
    "discard",
    "lock",
    "prepare",
    "deallocate",
    "fetch",
    "close",
    "declare",
    "move",
    "refresh",
];

/// What `create`/`drop`/`alter` of these objects do not touch tables or views.
const NOT_RELATIONS: &[&str] = &[
    "index",
    "unique",
    "sequence",
    "function",
    "macro",
    "type",
    "extension",
    "role",
    "user",
    "secret",
    "trigger",
    "procedure",
    "aggregate",
    "collation",
    "domain",
    "policy",
    "rule",
    "statistics",
    "publication",
    "subscription",
    "server",
    "operator",
    "cast",
    "language",
    "database",
    "group",
];

fn statement_effect(s: &str) -> Option<CatalogEffect> {
    let toks = head_tokens(s, 24);
    let mut h = Head { toks, pos: 0 };
    while h.toks.get(h.pos) == Some(&Tok::Other) {
        // `(select ...)`
        h.pos += 1;
    }
    let first = h.word().map(str::to_string);
    let Some(first) = first else {
        return if h.toks.is_empty() {
            None
        } else {
            Some(CatalogEffect::Unknown)
        };
    };
    h.pos += 1;
    match first.as_str() {
        "create" => create_effect(&mut h),
        "drop" => drop_effect(&mut h),
        "alter" => alter_effect(&mut h),
        "rollback" | "abort" => Some(CatalogEffect::Unknown),
        w if HARMLESS.contains(&w) => None,
        _ => Some(CatalogEffect::Unknown),
    }
}

fn create_effect(h: &mut Head) -> Option<CatalogEffect> {
    let mut temporary = false;
    let mut materialized = false;
    let mut kind = None;
    while let Some(w) = h.word() {
        match w {
            "or" | "replace" | "unlogged" | "global" | "local" | "transient" | "secure"
            | "recursive" | "external" => {}
            "materialized" => materialized = true,
            "temp" | "temporary" => temporary = true,
            "table" => kind = Some(RelationKind::Table),
            "view" if materialized => kind = Some(RelationKind::MaterializedView),
            "view" => kind = Some(RelationKind::View),
            "schema" => {
                h.pos += 1;
                h.eat_all(&["if", "not", "exists"]);
                return Some(match h.name() {
                    Some(name) => CatalogEffect::SchemaCreated { name },
                    None => CatalogEffect::Unknown,
                });
            }
            w if NOT_RELATIONS.contains(&w) => return None,
            _ => return Some(CatalogEffect::Unknown),
        }
        h.pos += 1;
        if kind.is_some() {
            break;
        }
    }
    let kind = kind?;
    if temporary {
        // Temporary relations live in the session's own schema, which the cache does not hold.
        return None;
    }
    h.eat_all(&["if", "not", "exists"]);
    Some(match h.name() {
        Some(name) => CatalogEffect::Created { name, kind },
        None => CatalogEffect::Unknown,
    })
}

/// Reads `[materialized] table|view [if exists]` after `drop` / `alter`; any other object is the
/// statement's whole effect: none for objects that are not relations, else unknown.
fn relation_object(h: &mut Head) -> Result<(), Option<CatalogEffect>> {
    h.eat("materialized");
    if !(h.eat("table") || h.eat("view")) {
        return Err(match h.word() {
            Some(w) if NOT_RELATIONS.contains(&w) => None,
            _ => Some(CatalogEffect::Unknown),
        });
    }
    h.eat_all(&["if", "exists"]);
    Ok(())
}

fn drop_effect(h: &mut Head) -> Option<CatalogEffect> {
    if let Err(effect) = relation_object(h) {
        return effect;
    }
    let mut names = Vec::new();
    loop {
        let Some(name) = h.name() else {
            return Some(CatalogEffect::Unknown);
        };
        names.push(name);
        if h.toks.get(h.pos) == Some(&Tok::Comma) {
            h.pos += 1;
        } else {
            break;
        }
    }
    // `cascade` also drops what depends on them.
    if h.word() == Some("cascade") {
        return Some(CatalogEffect::Unknown);
    }
    Some(CatalogEffect::Dropped { names })
}

fn alter_effect(h: &mut Head) -> Option<CatalogEffect> {
    if let Err(effect) = relation_object(h) {
        return effect;
    }
    let Some(from) = h.name() else {
        return Some(CatalogEffect::Unknown);
    };
    if h.eat_all(&["rename", "to"]) {
        return Some(match h.ident() {
            Some(to) if h.toks.get(h.pos) != Some(&Tok::Dot) => CatalogEffect::Renamed { from, to },
            _ => CatalogEffect::Unknown,
        });
    }
    // `set schema` moves the relation; other changes (columns, owners, options) keep it.
    if h.eat_all(&["set", "schema"]) {
        return Some(CatalogEffect::Unknown);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str, quoted: bool) -> Ident {
        Ident {
            text: text.into(),
            quoted,
        }
    }

    fn q3(a: &str, b: &str, c: &str) -> Name {
        vec![id(a, true), id(b, true), id(c, true)]
    }

    #[test]
    fn sluice_own_ddl_is_read_exactly() {
        assert_eq!(
            catalog_effects(
                "create view \"db\".\"main\".\"orders__dbt_tmp\" as (\nselect 1 as \"a;b\"\n)"
            ),
            [CatalogEffect::Created {
                name: q3("db", "main", "orders__dbt_tmp"),
                kind: RelationKind::View
            }]
        );
        assert_eq!(
            catalog_effects("  create or replace table db.main.t as select ';' -- ;\n"),
            [CatalogEffect::Created {
                name: vec![id("db", false), id("main", false), id("t", false)],
                kind: RelationKind::Table
            }]
        );
        assert_eq!(
            catalog_effects(
                "alter table \"db\".\"main\".\"t\" rename to \"t__dbt_backup\"; drop view if exists \"db\".\"main\".\"a\"\"b\""
            ),
            [
                CatalogEffect::Renamed {
                    from: q3("db", "main", "t"),
                    to: id("t__dbt_backup", true)
                },
                CatalogEffect::Dropped {
                    names: vec![q3("db", "main", "a\"b")]
                }
            ]
        );
        assert_eq!(
            catalog_effects("create schema if not exists \"db\".\"s\""),
            [CatalogEffect::SchemaCreated {
                name: vec![id("db", true), id("s", true)]
            }]
        );
    }

    #[test]
    fn statements_that_change_no_relation_have_no_effect() {
        for sql in [
            "select 1",
            "  -- a comment\n/* another */ insert into t values (1)",
            "begin; delete from x; commit",
            "with a as (select 1) select * from a",
            "create temp table x as select 1",
            "create index i on t (a)",
            "alter table db.s.t add column c int",
            "grant select on db.s.t to r",
            "",
            "  ;  ",
            "select '$$; drop table x; $$'",
            "select $body$ ; drop table x ; $body$",
        ] {
            assert_eq!(catalog_effects(sql), [], "{sql}");
        }
    }

    #[test]
    fn what_might_change_the_catalog_otherwise_is_unknown() {
        for sql in [
            "rollback",
            "drop table db.s.t cascade",
            "drop schema s",
            "attach 'x.duckdb' as x",
            "alter table db.s.t set schema other",
            "alter schema s rename to t",
            "call my_procedure()",
            "do $$ begin create table x (a int); end $$",
            "create frobnicator x",
        ] {
            assert_eq!(catalog_effects(sql), [CatalogEffect::Unknown], "{sql}");
        }
        assert!(may_change_catalog("select 1; drop table t"));
        assert!(!may_change_catalog("select 1; select 2"));
    }
}
