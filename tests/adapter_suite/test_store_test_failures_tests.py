"""dbt-tests-adapter's `store_test_failures_tests` classes: `--store-failures`."""

from dbt.tests.adapter.store_test_failures_tests.test_store_test_failures import BaseStoreTestFailures as _BaseStoreTestFailures
from dbt.tests.adapter.store_test_failures_tests.test_store_test_failures import BaseStoreTestFailuresLimit as _BaseStoreTestFailuresLimit


class TestStoreTestFailures(_BaseStoreTestFailures):
    pass


class TestStoreTestFailuresLimit(_BaseStoreTestFailuresLimit):
    pass
