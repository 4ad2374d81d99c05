"""dbt-tests-adapter's `materialized_view` classes: materialized views.

The suite leaves four database lookups to each adapter (dbt-postgres's own test folder writes
them for PostgreSQL); they are written here the same way for both engines, through dbt's
adapter, so sluice and real dbt are judged by the same lookups. DuckDB has no materialized
views (dbt-duckdb has no such materialization), so there both fail alike.
"""

from typing import Optional, Tuple

from dbt.adapters.base.relation import BaseRelation
from dbt.tests.adapter.materialized_view.basic import MaterializedViewBasic as _MaterializedViewBasic


class TestMaterializedViewBasic(_MaterializedViewBasic):
    @staticmethod
    def insert_record(project, table: BaseRelation, record: Tuple[int, int]):
        project.run_sql(f"insert into {table} values {record}")

    @staticmethod
    def refresh_materialized_view(project, materialized_view: BaseRelation):
        project.run_sql(f"refresh materialized view {materialized_view}")

    @staticmethod
    def query_row_count(project, relation: BaseRelation) -> int:
        return project.run_sql(f"select count(*) from {relation}", fetch="one")[0]

    @staticmethod
    def query_relation_type(project, relation: BaseRelation) -> Optional[str]:
        # pg_class's kind of the relation, by schema and name.
        sql = f"""
            select case c.relkind when 'r' then 'table' when 'v' then 'view'
                when 'm' then 'materialized_view' end
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = '{relation.schema}' and c.relname = '{relation.identifier}'
        """
        row = project.run_sql(sql, fetch="one")
        return row[0] if row else None
