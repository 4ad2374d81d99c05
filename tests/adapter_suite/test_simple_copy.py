"""dbt-tests-adapter's `simple_copy` classes: copying a project."""

from dbt.tests.adapter.simple_copy.test_copy_uppercase import BaseSimpleCopyUppercase as _BaseSimpleCopyUppercase


class TestSimpleCopyUppercase(_BaseSimpleCopyUppercase):
    pass
