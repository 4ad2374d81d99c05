//! Loading a seed into DuckDB: the table created from the seed's columns, the rows bulk-loaded
//! with DuckDB's Appender (overridden columns carry text, which the Appender casts to the
//! column's type).

use ::duckdb::types::{ToSql, ToSqlOutput, ValueRef};

use crate::project::seeds::{create_table_sql, SeedTable, SeedValue};
use crate::sql::Relation;

/// A seed cell as a DuckDB parameter.
struct Cell<'a>(&'a SeedValue);

impl ToSql for Cell<'_> {
    fn to_sql(&self) -> ::duckdb::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            SeedValue::Null => ValueRef::Null,
            SeedValue::Int(i) => ValueRef::BigInt(*i),
            SeedValue::Float(f) => ValueRef::Double(*f),
            SeedValue::Bool(b) => ValueRef::Boolean(*b),
            SeedValue::Date(s) | SeedValue::DateTime(s) | SeedValue::Text(s) => {
                ValueRef::Text(s.as_bytes())
            }
        }))
    }
}

/// Creates `rel` from the table's columns and bulk-loads the rows; returns how many.
pub(crate) fn load_seed(
    conn: &::duckdb::Connection,
    rel: &Relation,
    table: &SeedTable,
    quote_columns: bool,
) -> Result<usize, ::duckdb::Error> {
    conn.execute_batch(&create_table_sql(&rel.quoted(), table, quote_columns))?;
    let mut app = conn.appender_to_catalog_and_db(&rel.identifier, &rel.database, &rel.schema)?;
    for row in &table.rows {
        app.append_row(::duckdb::appender_params_from_iter(row.iter().map(Cell)))?;
    }
    app.flush()?;
    Ok(table.rows.len())
}
