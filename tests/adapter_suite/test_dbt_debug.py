"""dbt-tests-adapter's `dbt_debug` classes: `debug`."""

from dbt.tests.adapter.dbt_debug.test_dbt_debug import BaseDebug as _BaseDebug
from dbt.tests.adapter.dbt_debug.test_dbt_debug import BaseDebugProfileVariable as _BaseDebugProfileVariable
from dbt.tests.adapter.dbt_debug.test_dbt_debug import BaseDebugPostgres as _BaseDebugPostgres
from dbt.tests.adapter.dbt_debug.test_dbt_debug import BaseDebugInvalidProjectPostgres as _BaseDebugInvalidProjectPostgres


class TestDebug(_BaseDebug):
    pass


class TestDebugProfileVariable(_BaseDebugProfileVariable):
    pass


class TestDebugPostgres(_BaseDebugPostgres):
    pass


class TestDebugInvalidProjectPostgres(_BaseDebugInvalidProjectPostgres):
    pass
