"""dbt-tests-adapter's `column_types` classes: column types."""

from dbt.tests.adapter.column_types.test_column_types import BaseColumnTypes as _BaseColumnTypes
from dbt.tests.adapter.column_types.test_column_types import BasePostgresColumnTypes as _BasePostgresColumnTypes


class TestColumnTypes(_BaseColumnTypes):
    pass


class TestPostgresColumnTypes(_BasePostgresColumnTypes):
    pass
