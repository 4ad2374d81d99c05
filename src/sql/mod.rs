//! SQL text that depends on the engine but not on a connection: identifier quoting, relation
//! names, and the DDL each materialization needs ([`SqlDialect`]). Pure functions only; the IO
//! half lives in `adapters`.
//!
//! Why a trait with two small impls rather than a macro library in Jinja: materializations are the
//! hot path of a build (thousands of statements) and must be identical across commands; Rust
//! keeps them fast, typed and testable. Projects can still override the naming macros in Jinja.

use std::fmt;

/// A database object: `database.schema.identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Relation {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    /// Which parts are quoted when the relation is written out.
    #[serde(skip)]
    pub quote: QuotePolicy,
}

/// Which parts of a relation name are quoted: dbt's `quoting:` (in `dbt_project.yml`, on a
/// node or a source). All, unless a project says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuotePolicy {
    pub database: bool,
    pub schema: bool,
    pub identifier: bool,
}

impl Default for QuotePolicy {
    fn default() -> Self {
        QuotePolicy {
            database: true,
            schema: true,
            identifier: true,
        }
    }
}

impl QuotePolicy {
    /// `base` with the keys a `quoting:` mapping sets (booleans, or strings such as `"false"`).
    pub fn overridden_by(self, quoting: Option<&serde_json::Value>) -> Self {
        let Some(serde_json::Value::Object(m)) = quoting else {
            return self;
        };
        let flag = |key: &str, default: bool| match m.get(key) {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => !matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "false" | "no" | "0" | "off"
            ),
            _ => default,
        };
        QuotePolicy {
            database: flag("database", self.database),
            schema: flag("schema", self.schema),
            identifier: flag("identifier", self.identifier),
        }
    }
}

impl Relation {
    pub fn new(
        database: impl Into<String>,
        schema: impl Into<String>,
        identifier: impl Into<String>,
    ) -> Self {
        Relation {
            database: database.into(),
            schema: schema.into(),
            identifier: identifier.into(),
            quote: QuotePolicy::default(),
        }
    }
    /// `"db"."schema"."identifier"` with double quotes (DuckDB and Postgres); without the
    /// database when it is empty (a Postgres session's `pg_temp` relations).
    pub fn quoted(&self) -> String {
        if self.database.is_empty() {
            return self.schema_and_identifier();
        }
        format!(
            "{}.{}",
            quote_if(&self.database, self.quote.database),
            self.schema_and_identifier()
        )
    }
    /// `"schema"."identifier"`, each part quoted as the relation's policy says.
    pub fn schema_and_identifier(&self) -> String {
        format!(
            "{}.{}",
            quote_if(&self.schema, self.quote.schema),
            quote_if(&self.identifier, self.quote.identifier)
        )
    }
    /// `schema.identifier` unquoted, as dbt prints it in log lines.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.identifier)
    }
    pub fn with_identifier(&self, identifier: impl Into<String>) -> Self {
        Relation {
            identifier: identifier.into(),
            ..self.clone()
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

fn quote_if(ident: &str, quoted: bool) -> std::borrow::Cow<'_, str> {
    if quoted {
        quote(ident).into()
    } else {
        ident.into()
    }
}

/// Double-quotes an identifier, doubling embedded quotes.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Which engine's SQL to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    Postgres,
}

impl Dialect {
    /// The dialect of a profile's `type`: an engine sluice does not know is an error, never a
    /// fallback to another engine's SQL.
    pub fn for_adapter(t: &str) -> Result<Self, crate::diagnostics::Diagnostic> {
        Self::from_adapter_type(t).ok_or_else(|| {
            crate::diagnostics::Diagnostic::error(
                "profile",
                format!("adapter type `{t}` is not supported"),
            )
            .with_hint("sluice supports `type: duckdb` and `type: postgres`")
        })
    }
    pub fn from_adapter_type(t: &str) -> Option<Self> {
        match t {
            "duckdb" => Some(Dialect::DuckDb),
            "postgres" => Some(Dialect::Postgres),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Postgres => "postgres",
        }
    }
    /// `CREATE SCHEMA IF NOT EXISTS`.
    pub fn create_schema(self, database: &str, schema: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "create schema if not exists {}.{}",
                quote(database),
                quote(schema)
            ),
            Dialect::Postgres => format!("create schema if not exists {}", quote(schema)),
        }
    }
    pub fn create_view_as(self, rel: &Relation, sql: &str) -> String {
        format!(
            "create view {} as (\n{}\n)",
            self.rel(rel),
            sql.trim_end().trim_end_matches(';')
        )
    }
    pub fn create_table_as(self, rel: &Relation, sql: &str) -> String {
        format!(
            "create table {} as (\n{}\n)",
            self.rel(rel),
            sql.trim_end().trim_end_matches(';')
        )
    }
    /// A relation as this engine names it (Postgres cannot name another database).
    pub fn rel(self, rel: &Relation) -> String {
        match self {
            Dialect::DuckDb => rel.quoted(),
            Dialect::Postgres => rel.schema_and_identifier(),
        }
    }
    /// The longest identifier the engine keeps, in bytes (Postgres: `NAMEDATALEN - 1`).
    pub fn max_identifier_bytes(self) -> Option<usize> {
        match self {
            Dialect::DuckDb => None,
            Dialect::Postgres => Some(63),
        }
    }
    /// A sibling of `rel` named `identifier + suffix`, the identifier cut (at a character
    /// boundary) so the whole name fits the engine's limit, as dbt-postgres does for its
    /// intermediate relations.
    pub fn suffixed(self, rel: &Relation, suffix: &str) -> Relation {
        let mut base = rel.identifier.as_str();
        if let Some(max) = self.max_identifier_bytes() {
            let room = max.saturating_sub(suffix.len());
            if base.len() > room {
                let mut cut = room;
                while !base.is_char_boundary(cut) {
                    cut -= 1;
                }
                base = &base[..cut];
            }
        }
        rel.with_identifier(format!("{base}{suffix}"))
    }
    /// Refuses a schema or identifier the engine would silently truncate.
    pub fn check_relation(self, rel: &Relation) -> Result<(), String> {
        let Some(max) = self.max_identifier_bytes() else {
            return Ok(());
        };
        for (what, name) in [("schema", &rel.schema), ("relation", &rel.identifier)] {
            if name.len() > max {
                return Err(format!(
                    "{what} name `{name}` is {} bytes long, but {} keeps only the first {max} bytes of an identifier\nhint: shorten it (a model's `alias` config sets its relation name)",
                    name.len(),
                    match self {
                        Dialect::Postgres => "PostgreSQL",
                        Dialect::DuckDb => "DuckDB",
                    }
                ));
            }
        }
        Ok(())
    }
    /// The views and materialized views that read `rel`, directly or through other views, with
    /// their definitions, each after the views it reads (columns: schema, name, `relkind`,
    /// definition). `None` where views find their relations by name when queried (DuckDB):
    /// replacing `rel` there leaves them bound. PostgreSQL binds a view to the relation itself,
    /// so dropping the old relation (`cascade`) drops its views.
    pub fn dependent_views_query(self, rel: &Relation) -> Option<String> {
        match self {
            Dialect::DuckDb => None,
            Dialect::Postgres => Some(format!(
                "with recursive deps(oid, depth) as (\n\
                 select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid\n\
                 where d.classid = 'pg_rewrite'::regclass and d.refobjid = to_regclass({})\n\
                 and r.ev_class <> d.refobjid\n\
                 union\n\
                 select r.ev_class, deps.depth + 1 from deps\n\
                 join pg_depend d on d.refobjid = deps.oid join pg_rewrite r on r.oid = d.objid\n\
                 where d.classid = 'pg_rewrite'::regclass and r.ev_class <> d.refobjid\n\
                 and deps.depth < 100)\n\
                 select n.nspname::text, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid)\n\
                 from (select oid, max(depth) as depth from deps group by oid) x\n\
                 join pg_class c on c.oid = x.oid join pg_namespace n on n.oid = c.relnamespace\n\
                 order by x.depth, n.nspname, c.relname",
                literal(&self.rel(rel))
            )),
        }
    }
    pub fn drop_relation(self, rel: &Relation, kind: RelationKind) -> String {
        let what = match kind {
            RelationKind::View => "view",
            RelationKind::Table => "table",
        };
        let cascade = if self == Dialect::Postgres {
            " cascade"
        } else {
            ""
        };
        format!("drop {what} if exists {}{cascade}", self.rel(rel))
    }
    pub fn rename_relation(
        self,
        rel: &Relation,
        kind: RelationKind,
        new_identifier: &str,
    ) -> String {
        let what = match kind {
            RelationKind::View => "view",
            RelationKind::Table => "table",
        };
        format!(
            "alter {what} {} rename to {}",
            self.rel(rel),
            quote(new_identifier)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_names_fit_63_bytes() {
        let long = "a".repeat(60);
        let rel = Relation::new("db", "s", long.as_str());
        let tmp = Dialect::Postgres.suffixed(&rel, "__dbt_tmp");
        assert_eq!(tmp.identifier.len(), 63);
        assert!(tmp.identifier.ends_with("__dbt_tmp"));
        assert_eq!(
            Dialect::DuckDb.suffixed(&rel, "__dbt_tmp").identifier.len(),
            69
        );
        // A multi-byte character is never split.
        let accented = Relation::new("db", "s", "é".repeat(30));
        let tmp = Dialect::Postgres.suffixed(&accented, "__dbt_backup");
        assert!(tmp.identifier.len() <= 63 && tmp.identifier.ends_with("__dbt_backup"));
        assert!(Dialect::Postgres.check_relation(&rel).is_ok());
        let too_long = Relation::new("db", "s", "x".repeat(64));
        let e = Dialect::Postgres.check_relation(&too_long).unwrap_err();
        assert!(e.contains("64 bytes") && e.contains("hint:"), "{e}");
        assert!(Dialect::DuckDb.check_relation(&too_long).is_ok());
    }
}

/// Tables and views: what `drop`/`rename` need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
}
