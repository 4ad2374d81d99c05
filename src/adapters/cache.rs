//! The relation cache: which tables and views each schema holds, listed once per schema per run
//! and kept current from the statements sluice sends, as dbt's adapters keep theirs.
//!
//! Every [`Connection`] an [`super::Adapter`] hands out is a [`CachedConnection`] over the
//! engine's own, sharing one [`RelationCache`]. `relation_kind` is answered from the cache: the
//! first question about a schema lists it with one query (the engine's
//! [`Connection::list_relations`]); later ones cost nothing, where each used to be a catalog query
//! whose cost grows with the relations built so far. Every statement executed through the
//! connection is read for its effect on the catalog ([`crate::sql::catalog_effects`]): a create,
//! drop or rename of a fully qualified relation updates the cache; anything that may change the
//! catalog otherwise (a rollback, `drop ... cascade`, `attach`, a statement the scanner does not
//! know, a failed statement that might have changed something) forgets every schema, which the
//! next question lists again.
//!
//! What it assumes, as dbt's cache does: within one run, nothing but this process changes the
//! relations of the schemas it has listed. Temporary relations (no database, or a `temp`
//! statement) are never cached. Engines that cannot list a schema are asked every time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::{AdapterError, Column, Connection, QueryResult};
use crate::project::seeds::SeedTable;
use crate::sql::{catalog_effects, CatalogEffect, Dialect, Ident, Relation, RelationKind};

/// `(database, schema)`, folded as the engine compares names.
type SchemaKey = (String, String);

/// The relations of the schemas listed so far, shared by every connection of one database.
#[derive(Debug, Default)]
pub(crate) struct RelationCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Listed schemas: each relation's folded name and kind.
    schemas: HashMap<SchemaKey, HashMap<String, RelationKind>>,
    /// Schemas known to exist.
    existing: HashSet<SchemaKey>,
    /// How many schema listings were queried (for tests and timings).
    listings: u64,
    /// Bumped by every change, so a listing that raced with one is not kept.
    generation: u64,
    /// Connections inside a transaction: while any is, a listing may miss what it has done but
    /// not committed, so listings are used for the question at hand only.
    open_transactions: usize,
}

impl RelationCache {
    /// How many schema listings the cache has queried so far.
    #[cfg(test)]
    pub(crate) fn listings(&self) -> u64 {
        self.lock().listings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent map (every update is one insert or
        // remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything (the next question lists again).
    pub(crate) fn forget(&self) {
        let mut s = self.lock();
        s.generation += 1;
        s.schemas.clear();
        s.existing.clear();
    }

    fn apply(&self, dialect: Dialect, effects: &[CatalogEffect]) {
        let mut s = self.lock();
        s.generation += 1;
        for effect in effects {
            let applied = match effect {
                CatalogEffect::Created { name, kind } => match key3(dialect, name) {
                    Some((schema, ident)) => {
                        s.existing.insert(schema.clone());
                        if let Some(rels) = s.schemas.get_mut(&schema) {
                            rels.insert(ident, *kind);
                        }
                        true
                    }
                    None => false,
                },
                CatalogEffect::Dropped { names } => names.iter().all(|name| {
                    let Some((schema, ident)) = key3(dialect, name) else {
                        return false;
                    };
                    if let Some(rels) = s.schemas.get_mut(&schema) {
                        rels.remove(&ident);
                    }
                    true
                }),
                CatalogEffect::Renamed { from, to } => match key3(dialect, from) {
                    Some((schema, ident)) => {
                        if let Some(rels) = s.schemas.get_mut(&schema) {
                            if let Some(kind) = rels.remove(&ident) {
                                rels.insert(fold_ident(dialect, to), kind);
                            } else {
                                // Renaming what the cache did not hold: it is out of step.
                                s.schemas.remove(&schema);
                            }
                        }
                        true
                    }
                    None => false,
                },
                CatalogEffect::SchemaCreated { name } => match name.as_slice() {
                    [db, schema] => {
                        s.existing
                            .insert((fold_ident(dialect, db), fold_ident(dialect, schema)));
                        true
                    }
                    [schema] if !dialect.names_databases() => {
                        s.existing
                            .insert((String::new(), fold_ident(dialect, schema)));
                        true
                    }
                    _ => false,
                },
                CatalogEffect::Unknown => false,
            };
            if !applied {
                s.schemas.clear();
                s.existing.clear();
            }
        }
    }
}

/// A name part as the engine compares it: as written when quoted on an engine with
/// case-sensitive names, else lower-cased.
fn fold(dialect: Dialect, text: &str, quoted: bool) -> String {
    if quoted && !dialect.case_insensitive_names() {
        text.to_string()
    } else {
        text.to_lowercase()
    }
}

fn fold_ident(dialect: Dialect, id: &Ident) -> String {
    fold(dialect, &id.text, id.quoted)
}

/// The schema key and folded identifier of a fully qualified name (None otherwise: the cache
/// cannot tell which schema a shorter name is in).
fn key3(dialect: Dialect, name: &[Ident]) -> Option<(SchemaKey, String)> {
    match name {
        [db, schema, ident] => Some((
            (fold_ident(dialect, db), fold_ident(dialect, schema)),
            fold_ident(dialect, ident),
        )),
        // An engine without databases above its schemas (Spark) names `schema.identifier`.
        [schema, ident] if !dialect.names_databases() => Some((
            (String::new(), fold_ident(dialect, schema)),
            fold_ident(dialect, ident),
        )),
        _ => None,
    }
}

/// The cache key of `rel`, unless it is temporary (in the engine's temporary schema, or with no
/// database).
fn relation_key(dialect: Dialect, rel: &Relation) -> Option<(SchemaKey, String)> {
    let temp = dialect.temp_relation("");
    if (rel.database.is_empty() && dialect.names_databases())
        || rel.schema.is_empty()
        || (rel.database.eq_ignore_ascii_case(&temp.database)
            && rel.schema.eq_ignore_ascii_case(&temp.schema))
    {
        return None;
    }
    Some((
        (
            match dialect.names_databases() {
                true => fold(dialect, &rel.database, rel.quote.database),
                false => String::new(),
            },
            fold(dialect, &rel.schema, rel.quote.schema),
        ),
        fold(dialect, &rel.identifier, rel.quote.identifier),
    ))
}

/// An engine's connection with the shared [`RelationCache`] in front of its catalog lookups.
pub(crate) struct CachedConnection {
    inner: Box<dyn Connection>,
    cache: Arc<RelationCache>,
    /// Inside a transaction opened with [`Connection::begin`].
    in_transaction: bool,
}

impl CachedConnection {
    pub(crate) fn new(inner: Box<dyn Connection>, cache: Arc<RelationCache>) -> Self {
        CachedConnection {
            inner,
            cache,
            in_transaction: false,
        }
    }

    /// Marks this connection in or out of a transaction.
    fn set_in_transaction(&mut self, open: bool) {
        if self.in_transaction != open {
            self.in_transaction = open;
            let mut s = self.cache.lock();
            if open {
                s.open_transactions += 1;
            } else {
                s.open_transactions -= 1;
            }
        }
    }

    /// Keeps the cache in step with `sql`, which ran (`ok`) or failed.
    fn observe(&self, sql: &str, ok: bool) {
        let effects = catalog_effects(sql);
        if effects.is_empty() {
            return;
        }
        if ok {
            self.cache.apply(self.inner.dialect(), &effects);
        } else {
            // Part of it may have run.
            self.cache.forget();
        }
    }
}

impl Connection for CachedConnection {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        let r = self.inner.execute(sql);
        self.observe(sql, r.is_ok());
        r
    }

    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        let r = self.inner.query(sql);
        self.observe(sql, r.is_ok());
        r
    }

    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let dialect = self.inner.dialect();
        let Some((schema, ident)) = relation_key(dialect, rel) else {
            return self.inner.relation_kind(rel);
        };
        let generation = {
            let s = self.cache.lock();
            if let Some(rels) = s.schemas.get(&schema) {
                return Ok(rels.get(&ident).copied());
            }
            s.generation
        };
        let Some(listed) = self.inner.list_relations(&rel.database, &rel.schema)? else {
            return self.inner.relation_kind(rel);
        };
        let rels: HashMap<String, RelationKind> = listed
            .into_iter()
            .map(|(name, kind)| (fold(dialect, &name, true), kind))
            .collect();
        let kind = rels.get(&ident).copied();
        let mut s = self.cache.lock();
        s.listings += 1;
        if s.generation == generation && s.open_transactions == 0 {
            if !rels.is_empty() {
                s.existing.insert(schema.clone());
            }
            s.schemas.insert(schema, rels);
        }
        Ok(kind)
    }

    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        self.inner.list_relations(database, schema)
    }

    fn schema_exists(&mut self, database: &str, schema: &str) -> Result<bool, AdapterError> {
        let dialect = self.inner.dialect();
        let key = (fold(dialect, database, true), fold(dialect, schema, true));
        if self.cache.lock().existing.contains(&key) {
            return Ok(true);
        }
        let exists = self.inner.schema_exists(database, schema)?;
        if exists {
            self.cache.lock().existing.insert(key);
        }
        Ok(exists)
    }

    fn columns(&mut self, rel: &Relation) -> Result<Vec<Column>, AdapterError> {
        self.inner.columns(rel)
    }

    fn query_column_types(
        &mut self,
        sql: &str,
    ) -> Result<Option<Vec<(String, String)>>, AdapterError> {
        self.inner.query_column_types(sql)
    }

    fn load_seed(
        &mut self,
        rel: &Relation,
        table: &SeedTable,
        quote_columns: bool,
    ) -> Result<usize, AdapterError> {
        let r = self.inner.load_seed(rel, table, quote_columns);
        let dialect = self.inner.dialect();
        match (&r, relation_key(dialect, rel)) {
            (Ok(_), Some((schema, ident))) => {
                let mut s = self.cache.lock();
                // A listing taken while the seed was loading may not have it: keep none.
                s.generation += 1;
                s.existing.insert(schema.clone());
                if let Some(rels) = s.schemas.get_mut(&schema) {
                    rels.insert(ident, RelationKind::Table);
                }
            }
            (Ok(_), None) => {}
            (Err(_), _) => self.cache.forget(),
        }
        r
    }

    fn reset_session(&mut self) -> Result<(), AdapterError> {
        // Undoes an open transaction, whatever DDL it held.
        self.cache.forget();
        self.set_in_transaction(false);
        self.inner.reset_session()
    }

    fn begin(&mut self) -> Result<(), AdapterError> {
        let r = self.inner.begin();
        self.set_in_transaction(r.is_ok());
        r
    }

    fn commit(&mut self) -> Result<(), AdapterError> {
        let r = self.inner.commit();
        if r.is_err() {
            self.cache.forget();
        }
        self.set_in_transaction(false);
        r
    }

    fn rollback(&mut self) -> Result<(), AdapterError> {
        self.cache.forget();
        let r = self.inner.rollback();
        self.set_in_transaction(false);
        r
    }
    fn set_query_context(&mut self, node_id: Option<&str>, comment: Option<Arc<str>>) {
        self.inner.set_query_context(node_id, comment);
    }
}

impl Drop for CachedConnection {
    fn drop(&mut self) {
        self.set_in_transaction(false);
    }
}
