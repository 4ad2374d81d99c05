//! Query comments: the `/* ... */` sluice adds to each statement it sends (`query-comment` in
//! `dbt_project.yml`), so that the warehouse's query history says which tool, target and node
//! sent it, and the statement observer that shows each statement under `--debug`.
//!
//! [`CommentingConnection`] wraps an engine's connection: the comment in force (the run's, or
//! the node's being built, set through [`Connection::set_query_context`]) goes before each
//! statement's text (`/* comment */\n`), or after it with `append: true`. Catalog lookups the
//! engines make with bound parameters are not commented, as they are sluice's own bookkeeping.

use std::sync::Arc;

use super::{AdapterError, Column, Connection, QueryResult};
use crate::project::seeds::SeedTable;
use crate::sql::{Dialect, Relation, RelationKind};

/// Called with (node id, statement) for every statement sent, as sent (`--debug`).
pub(crate) type StatementObserver = Arc<dyn Fn(Option<&str>, &str) + Send + Sync>;

/// Where the comment goes, and what it is for the statements sent outside any node.
#[derive(Clone, Default)]
pub(crate) struct CommentSettings {
    /// The comment for statements outside a node; `None`: no comment.
    pub(crate) comment: Option<Arc<str>>,
    /// After the statement instead of before it (`append: true`).
    pub(crate) append: bool,
    pub(crate) observer: Option<StatementObserver>,
}

/// A connection that comments what it sends.
pub(crate) struct CommentingConnection {
    inner: Box<dyn Connection>,
    settings: CommentSettings,
    comment: Option<Arc<str>>,
    node_id: Option<String>,
}

impl CommentingConnection {
    pub(crate) fn new(inner: Box<dyn Connection>, settings: CommentSettings) -> Self {
        CommentingConnection {
            inner,
            comment: settings.comment.clone(),
            settings,
            node_id: None,
        }
    }

    fn commented(&self, sql: &str) -> String {
        let sql = match &self.comment {
            Some(c) if self.settings.append => format!("{sql}\n/* {c} */"),
            Some(c) => format!("/* {c} */\n{sql}"),
            None => sql.to_string(),
        };
        if let Some(observe) = &self.settings.observer {
            observe(self.node_id.as_deref(), &sql);
        }
        sql
    }
}

impl Connection for CommentingConnection {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<u64, AdapterError> {
        let sql = self.commented(sql);
        self.inner.execute(&sql)
    }
    fn query(&mut self, sql: &str) -> Result<QueryResult, AdapterError> {
        let sql = self.commented(sql);
        self.inner.query(&sql)
    }
    fn relation_kind(&mut self, rel: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        self.inner.relation_kind(rel)
    }
    fn list_relations(
        &mut self,
        database: &str,
        schema: &str,
    ) -> Result<Option<Vec<(String, RelationKind)>>, AdapterError> {
        self.inner.list_relations(database, schema)
    }
    fn schema_exists(&mut self, database: &str, schema: &str) -> Result<bool, AdapterError> {
        self.inner.schema_exists(database, schema)
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
        self.inner.load_seed(rel, table, quote_columns)
    }
    fn reset_session(&mut self) -> Result<(), AdapterError> {
        self.inner.reset_session()
    }
    fn begin(&mut self) -> Result<(), AdapterError> {
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), AdapterError> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), AdapterError> {
        self.inner.rollback()
    }
    fn set_query_context(&mut self, node_id: Option<&str>, comment: Option<Arc<str>>) {
        self.node_id = node_id.map(str::to_string);
        self.comment = match node_id {
            Some(_) => comment,
            None => self.settings.comment.clone(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn comments_before_or_after_and_per_node() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        let settings = CommentSettings {
            comment: Some("run".into()),
            append: false,
            observer: Some(Arc::new(move |node, sql| {
                log.lock()
                    .unwrap()
                    .push(format!("{}: {sql}", node.unwrap_or("-")))
            })),
        };
        let inner = crate::adapters::in_memory_duckdb().unwrap();
        let mut c = CommentingConnection::new(inner, settings.clone());
        c.query("select 1").unwrap();
        c.set_query_context(Some("model.p.m"), Some("node m".into()));
        c.query("select 2").unwrap();
        c.set_query_context(Some("model.p.n"), None);
        c.execute("select 3").unwrap();
        c.set_query_context(None, None);
        c.execute("select 4").unwrap();
        let mut after = CommentingConnection::new(
            crate::adapters::in_memory_duckdb().unwrap(),
            CommentSettings {
                append: true,
                ..settings
            },
        );
        after.query("select 5").unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "-: /* run */\nselect 1",
                "model.p.m: /* node m */\nselect 2",
                "model.p.n: select 3",
                "-: /* run */\nselect 4",
                "-: select 5\n/* run */",
            ]
        );
    }
}
