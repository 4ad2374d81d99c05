//! SQL text that depends on the engine but not on a connection: identifier quoting, relation
//! names, and the trait each engine implements for the DDL its materializations need
//! ([`SqlDialect`], implemented in `adapters/<engine>/dialect.rs`). Pure functions only; the IO
//! half lives in `adapters`.
//!
//! Why a trait rather than a macro library in Jinja: materializations are the hot path of a build
//! (thousands of statements) and must be identical across commands; Rust keeps them fast, typed
//! and testable. Projects can still override the naming macros in Jinja.

mod ddl;
mod dialect;

use std::fmt;

pub(crate) use ddl::{catalog_effects, split_statements, CatalogEffect, Ident};
pub use dialect::Dialect;
pub use dialect::SqlDialect;
pub(crate) use dialect::{base_translate_type, CsvNulls};
/// A database object: `database.schema.identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Relation {
    pub(crate) database: String,
    pub(crate) schema: String,
    pub(crate) identifier: String,
    /// Which parts are quoted when the relation is written out.
    #[serde(skip)]
    pub(crate) quote: QuotePolicy,
}

/// Which parts of a relation name are quoted: dbt's `quoting:` (in `dbt_project.yml`, on a
/// node or a source). All, unless a project says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct QuotePolicy {
    pub(crate) database: bool,
    pub(crate) schema: bool,
    pub(crate) identifier: bool,
    /// The quote character (`"`; BigQuery and Spark quote with backticks).
    pub(crate) mark: char,
    /// Whether names leave the database out whatever it is (Spark has no level above schemas).
    pub(crate) skip_database: bool,
    /// Whether names are written in lower case (Databricks' catalog keeps them so).
    pub(crate) lowercase: bool,
}

impl Default for QuotePolicy {
    fn default() -> Self {
        QuotePolicy::all('"')
    }
}

impl QuotePolicy {
    /// Every part quoted with `mark`.
    pub(crate) const fn all(mark: char) -> Self {
        QuotePolicy {
            database: true,
            schema: true,
            identifier: true,
            mark,
            skip_database: false,
            lowercase: false,
        }
    }
    /// A rendered name in the case the engine writes it.
    pub(crate) fn cased(self, name: String) -> String {
        match self.lowercase {
            true => name.to_lowercase(),
            false => name,
        }
    }
    /// No part quoted (quoted with `mark` where a project asks).
    pub(crate) const fn none(mark: char) -> Self {
        QuotePolicy {
            database: false,
            schema: false,
            identifier: false,
            mark,
            skip_database: false,
            lowercase: false,
        }
    }
}

impl QuotePolicy {
    /// `base` with the keys a `quoting:` mapping sets (booleans, or strings such as `"false"`).
    pub(crate) fn overridden_by(self, quoting: Option<&serde_json::Value>) -> Self {
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
            mark: self.mark,
            skip_database: self.skip_database,
            lowercase: self.lowercase,
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
        if self.database.is_empty() || self.quote.skip_database {
            return self.schema_and_identifier();
        }
        self.quote.cased(format!(
            "{}.{}",
            quote_if(&self.database, self.quote.database, self.quote.mark),
            self.schema_and_identifier()
        ))
    }
    /// `"schema"."identifier"`, each part quoted as the relation's policy says.
    pub fn schema_and_identifier(&self) -> String {
        self.quote.cased(format!(
            "{}.{}",
            quote_if(&self.schema, self.quote.schema, self.quote.mark),
            quote_if(&self.identifier, self.quote.identifier, self.quote.mark)
        ))
    }
    /// `schema.identifier` unquoted, as dbt prints it in log lines.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.identifier)
    }
    pub(crate) fn with_identifier(&self, identifier: impl Into<String>) -> Self {
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

fn quote_if(ident: &str, quoted: bool, mark: char) -> std::borrow::Cow<'_, str> {
    if quoted {
        quote_with(ident, mark).into()
    } else {
        ident.into()
    }
}

/// Double-quotes an identifier, doubling embedded quotes.
pub fn quote(ident: &str) -> String {
    quote_with(ident, '"')
}

/// Quotes an identifier with `mark` (`"` or `` ` ``), doubling an embedded mark.
pub(crate) fn quote_with(ident: &str, mark: char) -> String {
    let doubled: String = [mark, mark].iter().collect();
    format!("{mark}{}{mark}", ident.replace(mark, &doubled))
}

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// True when `sql` holds nothing but whitespace, `;` and comments.
pub(crate) fn is_blank_sql(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            return rest.is_empty();
        }
    }
}

/// Tables, views and materialized views (PostgreSQL): what `drop`/`rename` need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelationKind {
    Table,
    View,
    MaterializedView,
}

impl RelationKind {
    /// The word DDL uses for it (`drop view`, `alter table`, `drop materialized view`).
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            RelationKind::View => "view",
            RelationKind::Table => "table",
            RelationKind::MaterializedView => "materialized view",
        }
    }
}
