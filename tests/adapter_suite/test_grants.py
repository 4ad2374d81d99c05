"""dbt-tests-adapter's `grants` classes: grants."""

from dbt.tests.adapter.grants.base_grants import BaseGrants as _BaseGrants
from dbt.tests.adapter.grants.test_incremental_grants import BaseIncrementalGrants as _BaseIncrementalGrants
from dbt.tests.adapter.grants.test_invalid_grants import BaseInvalidGrants as _BaseInvalidGrants
from dbt.tests.adapter.grants.test_model_grants import BaseModelGrants as _BaseModelGrants
from dbt.tests.adapter.grants.test_seed_grants import BaseSeedGrants as _BaseSeedGrants
from dbt.tests.adapter.grants.test_snapshot_grants import BaseSnapshotGrants as _BaseSnapshotGrants


class TestGrants(_BaseGrants):
    pass


class TestIncrementalGrants(_BaseIncrementalGrants):
    pass


class TestInvalidGrants(_BaseInvalidGrants):
    pass


class TestModelGrants(_BaseModelGrants):
    pass


class TestSeedGrants(_BaseSeedGrants):
    pass


class TestSnapshotGrants(_BaseSnapshotGrants):
    pass
