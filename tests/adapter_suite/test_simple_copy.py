"""dbt-tests-adapter's `simple_copy` classes: copying a project."""

import os

import pytest

from dbt.tests.adapter.simple_copy.test_copy_uppercase import BaseSimpleCopyUppercase as _BaseSimpleCopyUppercase


@pytest.mark.skipif(os.environ.get("SUITE_ADAPTER", "duckdb") != "postgres", reason="a PostgreSQL database named in mixed case")
class TestSimpleCopyUppercase(_BaseSimpleCopyUppercase):
    # The suite names dbt-postgres's CI server here (localhost:5432, user root); the harness's
    # own server has the same mixed-case database (`scripts/adapter-suite` creates it).
    @pytest.fixture(scope="class")
    def dbt_profile_target(self):
        return {
            "type": "postgres",
            "threads": 4,
            "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": int(os.environ.get("PGPORT", "5432")),
            "user": os.environ.get("PGUSER", "postgres"),
            "pass": os.environ.get("PGPASSWORD", ""),
            "dbname": "dbtMixedCase",
        }
