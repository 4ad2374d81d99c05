"""dbt-tests-adapter's `empty` classes: `--empty`."""

from dbt.tests.adapter.empty.test_empty import BaseTestEmpty as _BaseTestEmpty
from dbt.tests.adapter.empty.test_empty import BaseTestEmptyInlineSourceRef as _BaseTestEmptyInlineSourceRef
from dbt.tests.adapter.empty.test_empty import BaseTestEmptySeedFlag as _BaseTestEmptySeedFlag


class TestTestEmpty(_BaseTestEmpty):
    pass


class TestTestEmptyInlineSourceRef(_BaseTestEmptyInlineSourceRef):
    pass


class TestTestEmptySeedFlag(_BaseTestEmptySeedFlag):
    pass
