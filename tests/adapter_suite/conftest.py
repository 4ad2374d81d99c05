"""Runs dbt's adapter test suite (dbt-tests-adapter, from PyPI) against sluice or real dbt.

`SUITE_ENGINE` picks who runs the dbt commands the tests issue: `sluice` (the binary named by
`SLUICE_BIN`, as a subprocess, its artifacts turned into the result objects the tests assert on)
or `dbt` (real dbt, in process, the baseline). `SUITE_ADAPTER` picks the warehouse: `duckdb`
(one database file per test class), `postgres` (the server `PGHOST`/`PGPORT`/`PGUSER` name) or
`spark` (the Spark Connect server `SPARK_REMOTE` names).
The tests' own checks (`check_relations_equal`, `run_sql` ...) always look at the database
through dbt's adapter, which lets go of its DuckDB file around each sluice call (DuckDB allows
one writing process per file).
"""

import datetime
import gc
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["dbt.tests.fixtures.project"]

ENGINE = os.environ.get("SUITE_ENGINE", "sluice")
ADAPTER = os.environ.get("SUITE_ADAPTER", "duckdb")


@pytest.fixture(scope="class")
def dbt_profile_target(tmp_path_factory):
    if ADAPTER == "duckdb":
        path = tmp_path_factory.mktemp("duckdb") / "suite.duckdb"
        return {"type": "duckdb", "threads": 1, "path": str(path)}
    if ADAPTER == "spark":
        # dbt-spark's `session` method reaches the Spark Connect server SPARK_REMOTE names;
        # sluice reads the same profile the same way.
        return {"type": "spark", "method": "session", "host": "127.0.0.1", "threads": 1}
    return {
        "type": "postgres",
        "threads": 1,
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": int(os.environ.get("PGPORT", "5432")),
        "user": os.environ.get("PGUSER", "postgres"),
        "pass": os.environ.get("PGPASSWORD", ""),
        "dbname": os.environ.get("PGDATABASE", "postgres"),
    }


# --- sending dbt's invocations to sluice -------------------------------------------------------


def _pin_microbatch_clock():
    """`patch_microbatch_end_time` patches dbt's clock in-process; sluice reads the time its
    microbatch models take as now from SLUICE_MICROBATCH_END_TIME, set for as long as the patch
    is (the suite imports the helper from `dbt.tests.util` after this file is loaded)."""
    import contextlib

    import dbt.tests.util as util

    original = getattr(util, "patch_microbatch_end_time", None)
    if original is None:
        return

    @contextlib.contextmanager
    def patched(dt_str):
        os.environ["SLUICE_MICROBATCH_END_TIME"] = dt_str
        try:
            with original(dt_str):
                yield
        finally:
            os.environ.pop("SLUICE_MICROBATCH_END_TIME", None)

    util.patch_microbatch_end_time = patched


_pin_microbatch_clock()

_CAPTURE = []  # the streams `run_dbt_and_capture` is capturing into, innermost last

# The commands whose result is a RunExecutionResult built from run_results.json.
_EXECUTION = {"run", "seed", "test", "build", "snapshot", "compile", "show", "retry", "clone"}


def _release_duckdb():
    """Closes dbt-duckdb's shared connection so another process may open the file."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    conn = getattr(env, "conn", None)
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
    gc.collect()


def _fresh_spark_session():
    """Spark: ends the test process's Spark Connect session after sluice has run, so the next
    query dbt-spark sends opens a new one, as a new dbt process would. A session caches the
    file listing of each table it has read; a table sluice has since written in its own
    sessions would otherwise be read as it was before."""
    if ADAPTER != "spark":
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def _reopen_connections():
    """After sluice has run, leaves dbt's connections as an in-process dbt run leaves them: open.

    DuckDB: the handles were closed by `_release_duckdb`; every connection that had one gets a
    fresh one (a released connection keeps its handle in dbt-duckdb, and dbt still uses it).
    PostgreSQL: a connection a test released is reopened, as real dbt's run would have reopened
    the thread's connection. Tests use the adapter outside `connection_named` (as
    `project.adapter.list_relations(...)` does), where dbt reuses the thread's connection."""
    try:
        from dbt.adapters.contracts.connection import ConnectionState
        from dbt.adapters.factory import FACTORY
    except ImportError:
        return
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        DuckDBConnectionManager = None
    for adapter in list(FACTORY.adapters.values()):
        manager = getattr(adapter, "connections", None)
        if manager is None:
            continue
        duck = DuckDBConnectionManager is not None and isinstance(manager, DuckDBConnectionManager)
        for conn in list(manager.thread_connections.values()):
            if duck and conn.handle is not None:
                state = conn.state
                conn.state = ConnectionState.INIT
                DuckDBConnectionManager.open(conn)
                conn.state = state
                # dbt thinks the transaction it began on the old handle is still open.
                if conn.transaction_open and state == ConnectionState.OPEN:
                    conn.handle.cursor().execute("begin")
                else:
                    conn.transaction_open = False
            elif not duck and conn.state == ConnectionState.CLOSED:
                type(manager).open(conn)
                conn.transaction_open = False


def _command(args):
    """The dbt command in `args` (after any global flags), e.g. `run` or `docs`."""
    takes_value = {"--project-dir", "--profiles-dir", "--target", "-t", "--profile", "--vars",
                   "--log-format", "--log-level", "--target-path", "--threads", "--log-path"}
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in takes_value:
            skip = True
            continue
        if not a.startswith("-"):
            return a
    return "run"


def _load_manifest(target):
    from dbt.contracts.graph.manifest import Manifest, WritableManifest

    path = target / "manifest.json"
    if not path.exists():
        return None
    return Manifest.from_writable_manifest(WritableManifest.read_and_check_versions(str(path)))


def _execution_result(target, manifest):
    from dbt.artifacts.schemas.results import RunStatus, TestStatus, TimingInfo
    from dbt.artifacts.schemas.run import RunExecutionResult, RunResult

    path = target / "run_results.json"
    if not path.exists():
        return RunExecutionResult(results=[], elapsed_time=0.0)
    doc = json.loads(path.read_text())
    results = []
    for r in doc.get("results", []):
        uid = r["unique_id"]
        node = None
        if manifest is not None:
            node = (manifest.nodes.get(uid) or manifest.sources.get(uid)
                    or manifest.unit_tests.get(uid))
        if node is None and r.get("compiled_code") is not None:
            # A node outside the manifest (`show --inline`'s sql_operation): what dbt's result
            # carries of it.
            from types import SimpleNamespace
            node = SimpleNamespace(unique_id=uid, compiled_code=r["compiled_code"])
        is_test = uid.startswith(("test.", "unit_test."))
        status = (TestStatus if is_test and r["status"] in TestStatus._value2member_map_
                  else RunStatus)(r["status"])
        timing = [TimingInfo.from_dict(t) for t in r.get("timing", [])]
        results.append(RunResult(
            status=status, timing=timing, thread_id=r.get("thread_id", ""),
            execution_time=r.get("execution_time", 0.0), message=r.get("message"),
            adapter_response=r.get("adapter_response", {}), failures=r.get("failures"),
            node=node, batch_results=None,
        ))
    return RunExecutionResult(results=results, elapsed_time=doc.get("elapsed_time", 0.0),
                              args=doc.get("args", {}))


def _shown_table(stdout):
    """The rows `show` printed (its `| a | b |` table) as the agate table dbt's result holds."""
    import agate

    lines = [l.strip() for l in stdout.splitlines() if l.strip().startswith("|")]
    if not lines:
        return None
    cells = lambda l: [c.strip() for c in l.strip("|").split("|")]
    names = cells(lines[0])
    rows = [cells(l) for l in lines[2:]]
    return agate.Table(rows, names, [agate.Text()] * len(names))


class SluiceRunner:
    """Stands in for `dbtRunner`: runs the sluice binary and returns a `dbtRunnerResult`."""

    def __init__(self, manifest=None, callbacks=None):
        self.callbacks = callbacks or []

    def invoke(self, args, **kwargs):
        from dbt.cli.main import dbtRunnerResult
        from dbt_common.exceptions import DbtRuntimeError

        args = [str(a) for a in args]
        _release_duckdb()
        env = dict(os.environ)
        env["NO_COLOR"] = "1"
        # The test process's clock (which a class may freeze with freezegun) is sluice's for
        # `--sample` windows: a subprocess does not see the freeze.
        env["SLUICE_NOW"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        proc = subprocess.run([os.environ["SLUICE_BIN"], *args], capture_output=True, text=True,
                              env=env, cwd=os.getcwd())
        _fresh_spark_session()
        _reopen_connections()
        out = proc.stdout + proc.stderr
        print(out)
        for stream in _CAPTURE:
            stream.write(out)
        command = _command(args)
        project_dir = Path(args[args.index("--project-dir") + 1]) if "--project-dir" in args \
            else Path.cwd()
        target = project_dir / "target"
        if "--target-path" in args:
            target = project_dir / args[args.index("--target-path") + 1]
        success = proc.returncode == 0
        if proc.returncode == 2:
            # sluice's diagnostic says which kind of error dbt would raise.
            from dbt.exceptions import ParsingError
            from dbt_common.exceptions import CompilationError, DbtDatabaseError

            if "Invalid value for '--" in out:
                # A flag's value refused before anything ran: what click reports in dbt.
                from dbt.cli.exceptions import DbtUsageException
                return dbtRunnerResult(success=False, exception=DbtUsageException(out.strip()))
            kind = (ParsingError if "Parsing Error" in out
                    else CompilationError if "Compilation Error" in out
                    else DbtDatabaseError if "Database Error" in out else DbtRuntimeError)
            return dbtRunnerResult(success=False, exception=kind(out.strip()))
        if command in _EXECUTION:
            result = _execution_result(target, _load_manifest(target))
            if command == "show" and result.results:
                result.results[0].agate_table = _shown_table(proc.stdout)
        elif command == "parse":
            result = _load_manifest(target)
        elif command == "docs" and "generate" in args:
            from dbt.artifacts.schemas.catalog import CatalogArtifact
            result = CatalogArtifact.read_and_check_versions(str(target / "catalog.json"))
        elif command in ("ls", "list"):
            result = [l for l in proc.stdout.splitlines() if l.strip()]
        elif command == "debug":
            result = success
        else:
            result = None
        return dbtRunnerResult(success=success, result=result)


# Installed before the test modules are imported, so the names they import are these.
if ENGINE == "sluice":
    import dbt.tests.util as _util

    _util.dbtRunner = SluiceRunner
    _original_capture = _util.capture_stdout_logs
    _original_stop = _util.stop_capture_stdout_logs

    def _capture(stream):
        _CAPTURE.append(stream)

    def _stop():
        if _CAPTURE:
            _CAPTURE.pop()

    _util.capture_stdout_logs = _capture
    _util.stop_capture_stdout_logs = _stop

    def _get_manifest(project_root):
        """dbt reads its internal `partial_parse.msgpack`; sluice's state is `manifest.json`."""
        return _load_manifest(Path(project_root) / "target")

    _util.get_manifest = _get_manifest
