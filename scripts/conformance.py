"""Conformance runner: real dbt projects, built by real dbt and by sluice, compared.

For every project of tests/conformance/projects.toml whose source is at hand, it lays out two
fresh copies of the project (packages in `dbt_packages/` as `dbt deps` would put them), runs the
project's commands with real dbt-core 1.10 + dbt-duckdb on one copy and with sluice on the other,
then `compile` on both, and compares:

- nodes: the manifest's node set (nodes, disabled nodes, sources, metrics, semantic models, saved
  queries), each with its resource type, `depends_on.nodes`, materialization and `enabled`;
- sql: each node's compiled SQL (as the last command that compiled it left it), up to whitespace
  and comments (runs of whitespace count as one space, none next to parentheses and commas);
- verdicts: each command's per-node status and failure count (run_results.json);
- relations: every relation in the DuckDB file, with its row count and an order-independent
  checksum of its rows;
- semantic: target/semantic_manifest.json, value by value (key order aside, and the order of its
  semantic models, metrics and saved queries, which dbt lists in the order it walks the files).

It prints one line per project, a readable list of the first differences under it, and a total;
it exits 1 on any difference or failure, 0 otherwise. Projects whose source is not at hand are
listed as skipped. Real dbt's results are cached (~/.cache/sluice/conformance/dbt) under a key of
the project's whole specification, dbt's version and the day (UTC), so reruns on the same day only
rerun sluice.

The warehouse axis (`--adapter snowflake`, repeatable, or `--adapters all` for snowflake,
bigquery, redshift and databricks; `spark` may be named too, and `duckdb` names the axis above)
compiles every project OFFLINE for each cloud warehouse instead: real dbt-core 1.10 with the
adapter's PyPI package (a second virtualenv, --warehouse-venv, default
~/.cache/sluice/warehouse-venv) and sluice each get a profile of that adapter's type with dummy
credentials (every host under the reserved .invalid TLD: nothing can connect), and run `parse`
then `compile` (dbt: `compile --no-populate-cache`; when it stops at nodes that need the
warehouse, those nodes alone are excluded (`--indirect-selection empty --exclude fqn:...`) and it
is run again, until it succeeds,
as tests/fixtures/warehouses/record.sh does; a node still compiling after --node-timeout seconds
with nothing else progressing, as dbt-bigquery retrying an API call, counts as needing it). It
compares, per project and adapter:

- graph: the node set of `parse` (nodes, disabled nodes, sources, unit tests, metrics, semantic
  models, saved queries, exposures), each with its resource type, `depends_on.nodes` and `enabled`;
- configs: each node's and source's whole `config`, key by key (adapter-specific keys included);
- relations: each node's and source's database, schema, alias / identifier and relation_name;
- sql: each node's compiled SQL, up to whitespace and comments as above (and the digits after
  `__dbt_tmp`; when two differ only in timestamp literals, the time each tool compiled at, they
  are equal);
- offline: the nodes real dbt could not compile without a connection (with its error) against the
  nodes sluice left out ("queries the warehouse while it compiles: left out").

It prints one line per project and adapter with the first differences under it. Real dbt's
results are cached as above (the key adds the adapter, the adapter's version and the profile).
--report FILE writes every difference of the run as JSON lines, for grouping.

Sources of a project (one of):
  repo = "owner/name", commit = "sha"      a fetched GitHub repository (--repos DIR holds
                                            `owner+name/repo` git directories, as fetch leaves them,
                                            or `owner+name` / `owner/name` git directories)
  pypi = "package==version"                a wheel from PyPI (downloaded into the cache)
  local = "path"                           a folder of this repository (fixtures written here)
with `path` (the project folder inside the source, default ".") or `layout` (a list of
[from, to] pairs copied from the source into the project folder). Packages: a list of tables with
`name` (the folder under dbt_packages/) and a source of their own (`repo`+`commit`, `local`),
plus `path`; `local:` entries of the project's packages.yml are linked in by the runner.
Other keys: `volatile` (relations, as `schema.name`, whose rows depend on when they are built,
e.g. `now()` or `random()`: only their row counts are compared; the nodes reading them have the
timestamp literals of their SQL masked, and a test's pass/warn/fail counts as ran),
`set_ordered` (relations, as `schema.name`, whose columns dbt orders by a Python set, an order
that changes from one dbt run to the next: their SQL is compared as a multiset of words (commas aside)
and their rows by count), `format` (a table: dbt_project.yml is a template filled in with str.format, as
`dbt init` fills the starter project), `commands` (default ["build"]), `vars` (a table, passed as --vars), `env` (a table),
`threads` (default 4).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SLUICE_CACHE", Path.home() / ".cache" / "sluice")) / "conformance"
CACHE_FORMAT = "3"  # bump when what is cached of a dbt run changes
SQL_SPACE = re.compile(r"\s+")
SQL_PUNCT_SPACE = re.compile(r" ?([(),]) ?")


class Skip(Exception):
    """The project's source is not at hand."""


class Failed(Exception):
    """A tool failed in a way that makes comparing pointless."""


# --- laying out sources ---------------------------------------------------------------------


def git_dir(repos: Path, name: str) -> Path | None:
    owner, repo = name.split("/", 1)
    for cand in (
        repos / f"{owner}+{repo}" / "repo",
        repos / f"{owner}+{repo}",
        repos / owner / repo,
        repos / owner / repo / ".git",
    ):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


def extract_repo(repos: Path, name: str, commit: str, dest: Path) -> None:
    gd = git_dir(repos, name)
    if gd is None:
        raise Skip(f"not fetched: {name}")
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "--git-dir", str(gd), "archive", "--format=tar", commit],
        capture_output=True,
    )
    if archive.returncode != 0:
        raise Skip(f"{name} has no commit {commit}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def extract_wheel(spec: str, dest: Path, venv: Path) -> None:
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.partition("==")
    stem = name.replace("-", "_")
    found = sorted(wheels.glob(f"{stem}-{version}-*.whl")) if version else []
    if not found:
        subprocess.run(
            [str(venv / "bin" / "pip"), "download", "-q", "--no-deps", "--only-binary", ":all:",
             "-d", str(wheels), spec],
            check=True,
        )
        found = sorted(wheels.glob(f"{stem}-{version or '*'}-*.whl"))
    if not found:
        raise Skip(f"no wheel for {spec}")
    with zipfile.ZipFile(found[-1]) as z:
        z.extractall(dest)


def lay_source(spec: dict, repos: Path, venv: Path, dest: Path) -> Path:
    """Extracts the source of `spec` under `dest`; returns the folder its paths are relative to."""
    if "repo" in spec:
        extract_repo(repos, spec["repo"], spec["commit"], dest)
    elif "pypi" in spec:
        extract_wheel(spec["pypi"], dest, venv)
    elif "local" in spec:
        shutil.copytree(REPO / spec["local"], dest, symlinks=True,
                        ignore=shutil.ignore_patterns("target", "*.duckdb", "*.wal", "dbt_packages"))
    else:
        raise Failed(f"no source (repo, pypi or local) in {spec}")
    return dest


def read_yaml(path: Path):
    import yaml  # from the dbt virtualenv

    with open(path) as f:
        return yaml.safe_load(f) or {}


def lay_out(project: dict, repos: Path, venv: Path, work: Path) -> Path:
    src = lay_source(project, repos, venv, work / "src")
    if "layout" in project:
        proj = work / "project"
        for frm, to in project["layout"]:
            target = proj / to
            target.parent.mkdir(parents=True, exist_ok=True)
            if (src / frm).is_dir():
                shutil.copytree(src / frm, target, dirs_exist_ok=True)
            else:
                shutil.copy(src / frm, target)
    else:
        proj = src / project.get("path", ".")
    if "format" in project:  # a template, filled in as `dbt init` fills it (str.format)
        f = proj / "dbt_project.yml"
        f.write_text(f.read_text().format(**project["format"]))
    packages = proj / "dbt_packages"
    for i, pkg in enumerate(project.get("packages", [])):
        root = lay_source(pkg, repos, venv, work / f"pkg{i}")
        packages.mkdir(parents=True, exist_ok=True)
        shutil.move(str(root / pkg.get("path", ".")), packages / pkg["name"])
    # `local:` entries of packages.yml / dependencies.yml, linked as `dbt deps` links them.
    for fname in ("packages.yml", "dependencies.yml"):
        if not (proj / fname).is_file():
            continue
        for entry in read_yaml(proj / fname).get("packages") or []:
            if isinstance(entry, dict) and "local" in entry:
                local = (proj / entry["local"]).resolve()
                name = read_yaml(local / "dbt_project.yml").get("name")
                packages.mkdir(parents=True, exist_ok=True)
                link = packages / name
                if not link.exists():
                    link.symlink_to(local, target_is_directory=True)
    return proj


def write_profile(proj: Path, project: dict, profiles: Path) -> str:
    name = read_yaml(proj / "dbt_project.yml").get("profile") or "default"
    profiles.mkdir(parents=True, exist_ok=True)
    db = proj / f"{name}.duckdb"
    threads = int(project.get("threads", 4))
    text = (
        f"{json.dumps(name)}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {json.dumps(str(db))}\n      threads: {threads}\n"
    )
    (profiles / "profiles.yml").write_text(text)
    return str(db)


# --- running the tools ---------------------------------------------------------------------


def run_tool(kind: str, exe: list[str], proj: Path, profiles: Path, project: dict,
             out: Path) -> dict:
    """Runs the project's commands then `compile`; keeps each command's run_results and the
    last manifest in `out`. Returns each command's verdicts and the compiled SQL of every node
    any command compiled (the latest)."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({k: str(v) for k, v in project.get("env", {}).items()})
    env["NO_COLOR"] = "1"
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env.pop("DBT_PROFILES_DIR", None)
    common = ["--profiles-dir", str(profiles)]
    if project.get("vars"):
        common += ["--vars", json.dumps(project["vars"])]
    log = []
    results = []
    compiled = {}
    for i, command in enumerate(list(project.get("commands", ["build"])) + ["compile"]):
        args = shlex.split(command)
        rr = proj / "target" / "run_results.json"
        if rr.exists():
            rr.unlink()
        started = time.time()
        p = subprocess.run(exe + args + common, cwd=proj, env=env, capture_output=True, text=True)
        took = time.time() - started
        log.append(f"$ {kind} {command}  (exit {p.returncode}, {took:.1f}s)\n{p.stdout}{p.stderr}")
        statuses = {}
        if rr.exists():
            for r in json.loads(rr.read_text()).get("results", []):
                statuses[r["unique_id"]] = [r.get("status"), r.get("failures")]
            shutil.copy(rr, out / f"run_results_{i}.json")
        results.append({"command": command, "exit": p.returncode, "seconds": round(took, 2),
                         "statuses": statuses})
        manifest = proj / "target" / "manifest.json"
        if manifest.exists():
            # Each command's compiled SQL counts (a failing `compile` compiles nothing).
            compiled.update(compiled_sql(json.loads(manifest.read_text())))
            shutil.copy(manifest, out / "manifest.json")
            manifest.unlink()
        semantic = proj / "target" / "semantic_manifest.json"
        if semantic.exists():
            shutil.copy(semantic, out / "semantic_manifest.json")
    (out / "log.txt").write_text("\n".join(log))
    return {"commands": results, "compiled": compiled}


def relation_facts(db_path: str) -> dict:
    import duckdb  # from the dbt virtualenv

    if not Path(db_path).exists():
        return {}
    con = duckdb.connect(db_path, read_only=True)
    try:
        rels = con.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') "
            "and table_catalog not in ('system', 'temp') order by 1, 2, 3"
        ).fetchall()
        facts = {}
        for cat, schema, name in rels:
            fq = ".".join('"' + p.replace('"', '""') + '"' for p in (cat, schema, name))
            key = f"{schema}.{name}"
            try:
                n, digest = con.execute(
                    f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
                    f"from (select cast(t as varchar) as r from {fq} t)"
                ).fetchone()
                facts[key] = {"rows": n, "md5": digest}
            except Exception as e:  # a view that no longer binds, for instance
                facts[key] = {"error": str(e).splitlines()[0]}
        return facts
    finally:
        con.close()


def node_facts(manifest: dict) -> dict:
    facts = {}

    def add(uid, n, enabled):
        cfg = n.get("config") or {}
        deps = (n.get("depends_on") or {}).get("nodes") or []
        facts[uid] = {
            "resource_type": n.get("resource_type"),
            "depends_on": sorted(deps),
            "materialized": cfg.get("materialized"),
            "enabled": enabled,
        }

    for section in ("nodes", "sources", "metrics", "semantic_models", "saved_queries",
                    "exposures"):
        for uid, n in (manifest.get(section) or {}).items():
            add(uid, n, True)
    for uid, ns in (manifest.get("disabled") or {}).items():
        for n in ns:
            add(uid, n, False)
    return facts


def semantic_facts(semantic: dict) -> dict:
    """The semantic manifest as {path: value}; lists of named items are keyed by name."""
    out = {}

    def walk(v, path):
        if isinstance(v, dict):
            if not v:
                out[path] = {}
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else k)
        elif isinstance(v, list) and v and all(isinstance(x, dict) and "name" in x for x in v):
            for x in v:
                walk(x, f"{path}[{x['name']}]")
        else:
            out[path] = v

    walk(semantic, "")
    return out


def compiled_sql(manifest: dict) -> dict:
    out = {}
    for uid, n in (manifest.get("nodes") or {}).items():
        code = n.get("compiled_code")
        if code is not None:
            out[uid] = code
    return out


def collect(kind, exe, project, repos, venv, work, keep) -> dict:
    proj = lay_out(project, repos, venv, work)
    profiles = work / "profiles"
    db = write_profile(proj, project, profiles)
    out = work / "out"
    ran = run_tool(kind, exe, proj, profiles, project, out)
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    result = {
        "commands": ran["commands"],
        "nodes": node_facts(manifest),
        "sql": ran["compiled"],
        "relations": relation_facts(db),
        "semantic": semantic_facts(json.loads((out / "semantic_manifest.json").read_text()))
        if (out / "semantic_manifest.json").exists()
        else None,
        "log": (out / "log.txt").read_text(),
    }
    if keep:
        dst = keep / kind
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(work, dst, symlinks=True)
    return result


# --- comparing -----------------------------------------------------------------------------


def compare_maps(what: str, dbt: dict, sl: dict, show) -> tuple[int, int, list[str]]:
    """(equal, total, differences) over the union of keys."""
    keys = sorted(set(dbt) | set(sl))
    diffs = []
    equal = 0
    for k in keys:
        a, b = dbt.get(k), sl.get(k)
        if a == b:
            equal += 1
        elif a is None:
            diffs.append(f"{what} {k}: only in sluice: {show(b)}")
        elif b is None:
            diffs.append(f"{what} {k}: only in dbt: {show(a)}")
        else:
            diffs.append(f"{what} {k}:\n      dbt:    {show(a)}\n      sluice: {show(b)}")
    return equal, len(keys), diffs


def short(v, n=400):
    s = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[:n] + " ..."


SQL_COMMENT_OR_STRING = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)


def normalized_sql(code: str) -> str:
    """Up to whitespace and comments: comments go (sluice's built-in macros are its own text,
    not dbt's, comments included), runs of whitespace are one space, and none is kept next to
    ( ) or ,."""
    code = SQL_COMMENT_OR_STRING.sub(lambda m: m.group(0) if m.group(0)[0] in "'\"" else " ", code)
    return SQL_PUNCT_SPACE.sub(r"\1", SQL_SPACE.sub(" ", code)).strip()


def first_sql_difference(a: str, b: str) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 120)
    return f"\n      dbt:    ...{a[lo:i + 160]}\n      sluice: ...{b[lo:i + 160]}"


TIMESTAMP_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:?\d{2})?)?'")


def readers_of_volatile(project: dict, nodes: dict) -> set:
    """The nodes that read a volatile relation (one listed in `volatile`, matched by name): their
    SQL may embed a value queried from it (a build time), and a test's verdict on random rows is
    itself random."""
    names = {v.rsplit(".", 1)[-1] for v in project.get("volatile", [])}
    ids = {uid for uid in nodes if uid.split(".")[-1] in names}
    return {uid for uid, n in nodes.items() if ids.intersection(n.get("depends_on") or [])}


def compare(project: dict, dbt: dict, sl: dict) -> tuple[str, list[str]]:
    parts, diffs = [], []
    e, t, d = compare_maps("node", dbt["nodes"], sl["nodes"], short)
    parts.append(f"nodes {e}/{t}")
    diffs += d
    readers = readers_of_volatile(project, dbt["nodes"])
    # Relations whose columns dbt orders by a Python set (hash order, different on every dbt
    # run): their SQL is compared as a multiset of words, their rows by count.
    set_ordered = {v.rsplit(".", 1)[-1] for v in project.get("set_ordered", [])}
    # SQL: nodes that dbt compiled (a reader of a volatile relation with its timestamps masked).
    eq, total = 0, 0
    for uid, want in sorted(dbt["sql"].items()):
        total += 1
        want = normalized_sql(want)
        got = sl["sql"].get(uid)
        got = None if got is None else normalized_sql(got)
        if uid.split(".")[-1] in set_ordered and got is not None:
            want, got = (" ".join(sorted(re.split(r"[\s,]+", x))) for x in (want, got))
        if uid in readers and got is not None:
            want, got = (TIMESTAMP_LITERAL.sub("'<timestamp>'", x) for x in (want, got))
        if got == want:
            eq += 1
        elif got is None:
            diffs.append(f"sql {uid}: not compiled by sluice")
        else:
            diffs.append(f"sql {uid}:{first_sql_difference(want, got)}")
    parts.append(f"sql {eq}/{total}")
    # Verdicts, command by command.
    eq, total = 0, 0
    for i, (a, b) in enumerate(zip(dbt["commands"], sl["commands"])):
        if a["command"] == "compile":
            continue
        def ran(statuses: dict) -> dict:
            # A test of random rows: that it ran (pass, warn or fail) is what compares.
            return {k: (["ran", None] if k in readers and v and v[0] in ("pass", "warn", "fail")
                        else v) for k, v in statuses.items()}

        e, t, d = compare_maps(f"verdict [{a['command']}]", ran(a["statuses"]), ran(b["statuses"]),
                               short)
        eq, total = eq + e, total + t
        diffs += d
        if (a["exit"] == 0) != (b["exit"] == 0) or (a["exit"] >= 2) != (b["exit"] >= 2):
            diffs.append(f"exit code [{a['command']}]: dbt {a['exit']}, sluice {b['exit']}")
            total += 1
    parts.append(f"verdicts {eq}/{total}")
    # Relations whose rows depend on when they were built (`now()`): row counts only.
    volatile = set(project.get("volatile", [])) | set(project.get("set_ordered", []))

    def rows_only(facts: dict) -> dict:
        return {k: ({"rows": v.get("rows")} if k in volatile else v) for k, v in facts.items()}

    e, t, d = compare_maps("relation", rows_only(dbt["relations"]), rows_only(sl["relations"]), short)
    parts.append(f"relations {e}/{t}")
    diffs += d
    # The semantic manifest, when dbt wrote one (results cached before it was compared have none).
    if dbt.get("semantic"):
        e, t, d = compare_maps("semantic", dbt["semantic"], sl.get("semantic") or {}, short)
        parts.append(f"semantic {e}/{t}")
        diffs += d
    return ", ".join(parts), diffs


# --- the warehouse axis: compiling offline for cloud warehouses -----------------------------

WAREHOUSE_FORMAT = "2"  # bump when what is cached of a warehouse dbt run changes
ALL_ADAPTERS = ["snowflake", "bigquery", "redshift", "databricks"]
KNOWN_ADAPTERS = ALL_ADAPTERS + ["spark"]
# Dummy credentials, as tests/fixtures/warehouses/project/profiles.yml has them: every host is under
# the reserved .invalid TLD, so whatever tries to connect fails at once.
WAREHOUSE_OUTPUTS = {
    "snowflake": """\
      type: snowflake
      account: xy12345.eu-west-1
      host: xy12345.snowflake.example.invalid
      user: dbt_ci
      password: not-a-real-password
      role: TRANSFORMER
      warehouse: TRANSFORMING
      database: ANALYTICS
      schema: dbt_ci
      connect_retries: 0
      connect_timeout: 5
""",
    # oauth-secrets with a dummy token: dbt-bigquery builds its client on closing the 'master'
    # connection, even in compile; a token builds it with no network and no file.
    "bigquery": """\
      type: bigquery
      method: oauth-secrets
      token: not-a-real-token
      refresh_token: not-a-real-refresh-token
      client_id: not-a-real-client-id
      client_secret: not-a-real-client-secret
      token_uri: https://oauth2.example.invalid/token
      api_endpoint: https://bigquery.example.invalid
      project: my-gcp-project
      dataset: dbt_ci
      location: EU
      job_retries: 0
      job_retry_deadline_seconds: 5
      job_creation_timeout_seconds: 5
      job_execution_timeout_seconds: 5
""",
    "redshift": """\
      type: redshift
      host: cluster.redshift.example.invalid
      port: 5439
      user: dbt_ci
      password: not-a-real-password
      dbname: analytics
      schema: dbt_ci
      connect_timeout: 5
      retries: 0
""",
    "databricks": """\
      type: databricks
      host: dbc-0000.databricks.example.invalid
      http_path: /sql/1.0/warehouses/0000000000000000
      token: dapi-not-a-real-token
      catalog: main
      schema: dbt_ci
      connect_retries: 0
      connect_timeout: 5
      connection_parameters:
        _retry_stop_after_attempts_count: 1
        _socket_timeout: 5
""",
    "spark": """\
      type: spark
      method: thrift
      host: spark.example.invalid
      port: 10000
      user: dbt_ci
      schema: dbt_ci
      connect_retries: 0
      connect_timeout: 5
""",
}
ADAPTER_PACKAGES = {"snowflake": "dbt-snowflake", "bigquery": "dbt-bigquery",
                    "redshift": "dbt-redshift", "databricks": "dbt-databricks",
                    "spark": "dbt-spark"}
WAREHOUSE_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_USE_COLORS": "false",
    "DBT_VERSION_CHECK": "false",
    "NO_COLOR": "1",
    "PYTHONWARNINGS": "ignore",
}
# What sluice prints for a node it leaves out (src: "queries the warehouse while it compiles").
LEFT_OUT = re.compile(r"^warning\[connection\]: (\S+) `([^`]+)` queries the warehouse while it "
                      r"compiles: left out", re.M)
LEFT_OUT_UNNAMED = re.compile(r"^warning\[connection\]: a node queries the warehouse while it "
                              r"compiles: left out", re.M)
# What `compile` compiles (dbt 1.10's compile leaves unit tests as they are).
COMPILED_TYPES = ("model", "test", "analysis", "snapshot")
# An error of sluice's and the file it points at: `error[code]: message` then `  --> path`.
SLUICE_ERROR = re.compile(r"^error\[[^\]]+\]: (.*)\n(?:.*\n)*?\s+--> ([^\s:]+)", re.M)
TMP_SUFFIX = re.compile(r"(__dbt_tmp)\d+")
# `dbt compile` stops at the first node in error (CompileTask.raise_on_first_error), so each run
# finds only the few nodes that needed the warehouse while it was stopping: a project with dozens
# of them takes dozens of runs. This launcher runs the same dbt with compile told to go on, as
# `dbt run` goes on: when it stops changes, not what it renders (--stock-dbt runs dbt as is).
DBT_KEEP_GOING = """
import sys
from dbt.task.compile import CompileTask
CompileTask.raise_on_first_error = lambda self: False
from dbt.cli.main import cli
sys.argv[0] = "dbt"
sys.exit(cli())
"""
# More threads in flight: more of the nodes waiting on an unreachable warehouse (dbt-bigquery
# retries for minutes) are found in one run. What each node renders does not depend on it.
COMPILE_THREADS = "16"


def write_warehouse_profile(proj: Path, project: dict, profiles: Path, adapter: str) -> None:
    name = read_yaml(proj / "dbt_project.yml").get("profile") or "default"
    profiles.mkdir(parents=True, exist_ok=True)
    threads = int(project.get("threads", 4))
    text = (f"{json.dumps(name)}:\n  target: dev\n  outputs:\n    dev:\n"
            f"{WAREHOUSE_OUTPUTS[adapter]}      threads: {threads}\n")
    (profiles / "profiles.yml").write_text(text)


def warehouse_env(project: dict) -> dict:
    env = dict(os.environ)
    # The profile is all literals; no credential or target of the caller's may leak in.
    for k in list(env):
        if k.startswith(("DBT_", "SNOWFLAKE_", "GOOGLE_", "DATABRICKS_", "REDSHIFT_", "AWS_")):
            del env[k]
    env.update(WAREHOUSE_ENV)
    env.update({k: str(v) for k, v in project.get("env", {}).items()})
    return env


class DbtRun:
    """One real dbt command, with its JSON log events."""

    def __init__(self, rc, out, events, stalled):
        self.rc, self.out, self.events, self.stalled = rc, out, events, stalled

    def success(self) -> bool:
        """dbt's own verdict, CommandCompleted.success: a `dbt compile` on snowflake whose nodes
        needed a connection prints "Encountered an error" yet exits 0."""
        done = [e for e in self.events if e["info"]["name"] == "CommandCompleted"]
        return self.rc == 0 and bool(done) and all(e["data"].get("success") for e in done)

    def errored(self) -> dict:
        """{unique_id: message} of the nodes that finished in error, or stalled."""
        failed = {}
        for e in self.events:
            if e["info"]["name"] != "NodeFinished":
                continue
            rr = e["data"].get("run_result") or {}
            uid = (e["data"].get("node_info") or {}).get("unique_id")
            if uid and rr.get("status") == "error":
                failed[uid] = (rr.get("message") or "").strip()
        for uid, secs in self.stalled.items():
            failed.setdefault(uid, f"still compiling after {secs:.0f}s with nothing else "
                                   "progressing (killed): it waits on the warehouse")
        return failed


def run_dbt_logged(exe: list[str], args: list[str], proj: Path, env: dict, logs: Path,
                   node_timeout: float, timeout: float) -> DbtRun:
    """Runs dbt with a JSON debug log, watching it: when nodes are in flight and no node has
    started or finished for `node_timeout` seconds (dbt-bigquery retries an unreachable API for
    minutes), the process group is killed and the nodes in flight count as stalled."""
    if logs.exists():
        shutil.rmtree(logs)
    full = args + ["--log-path", str(logs), "--log-format-file", "json",
                   "--log-level-file", "debug"]
    out_path = logs.parent / (logs.name + ".out")
    events, in_flight, buf = [], {}, ""
    stalled = {}
    with open(out_path, "w") as out_f:
        p = subprocess.Popen(exe + full, cwd=proj, env=env, stdout=out_f,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        started = last_progress = time.time()
        log_f = None
        rc = None
        while True:
            try:
                rc = p.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                rc = None
            if log_f is None and (logs / "dbt.log").exists():
                log_f = open(logs / "dbt.log", encoding="utf-8", errors="replace")
            if log_f is not None:
                buf += log_f.read()
                *lines, buf = buf.split("\n")
                for line in lines:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    events.append(e)
                    name = e["info"]["name"]
                    uid = ((e.get("data") or {}).get("node_info") or {}).get("unique_id")
                    if name == "NodeStart" and uid:
                        in_flight[uid] = time.time()
                        last_progress = time.time()
                    elif name == "NodeFinished" and uid:
                        in_flight.pop(uid, None)
                        last_progress = time.time()
            if rc is not None:
                break
            now = time.time()
            if (in_flight and now - last_progress > node_timeout) or now - started > timeout:
                stalled = {u: now - t for u, t in in_flight.items()}
                os.killpg(p.pid, 9)  # the process group this call started
                p.wait()
                rc = "timeout"
                break
        if log_f is not None:
            log_f.close()
    return DbtRun(rc, out_path.read_text(errors="replace"), events, stalled)


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def warehouse_facts(parse: dict, compiled_manifest: dict) -> dict:
    """What the warehouse axis compares, from the `parse` manifest and the `compile` one."""
    graph, configs, relations, sql = {}, {}, {}, {}

    def graph_fact(n, enabled):
        return {"resource_type": n.get("resource_type"),
                "depends_on": sorted((n.get("depends_on") or {}).get("nodes") or []),
                "enabled": enabled and (n.get("config") or {}).get("enabled", True)}

    for section in ("nodes", "sources", "unit_tests", "metrics", "semantic_models",
                    "saved_queries", "exposures"):
        for uid, n in (parse.get(section) or {}).items():
            graph[uid] = graph_fact(n, True)
            if section in ("nodes", "sources"):
                configs[uid] = n.get("config") or {}
                rel = {k: n.get(k) for k in ("database", "schema", "relation_name")}
                rel["identifier" if section == "sources" else "alias"] = \
                    n.get("identifier" if section == "sources" else "alias")
                relations[uid] = rel
    for uid, ns in (parse.get("disabled") or {}).items():
        for n in ns:
            graph.setdefault(uid, graph_fact(n, False))
    for section in ("nodes", "unit_tests"):
        for uid, n in (compiled_manifest.get(section) or {}).items():
            if n.get("compiled_code") is not None:
                sql[uid] = n["compiled_code"]
    return {"graph": graph, "configs": configs, "relations": relations, "sql": sql}


def fqn_selector(manifest: dict, uid: str) -> str:
    for section in ("nodes", "unit_tests"):
        n = (manifest.get(section) or {}).get(uid)
        if n and n.get("fqn"):
            return "fqn:" + ".".join(n["fqn"])
    return uid.split(".")[-1] if not uid.startswith("test.") else uid.split(".")[2]


def collect_dbt_warehouse(exe, project, adapter, repos, venv, work, keep, node_timeout,
                          stock) -> dict:
    proj = lay_out(project, repos, venv, work)
    profiles = work / "profiles"
    write_warehouse_profile(proj, project, profiles, adapter)
    env = warehouse_env(project)
    common = ["--profiles-dir", str(profiles), "--project-dir", str(proj)]
    if project.get("vars"):
        common += ["--vars", json.dumps(project["vars"])]
    log = []

    def dbt(n, *args, target_path):
        started = time.time()
        launcher = exe
        if args[0] == "compile" and not stock:
            launcher = [str(venv / "bin" / "python"), "-c", DBT_KEEP_GOING]
            args = args + ("--threads", COMPILE_THREADS)
        r = run_dbt_logged(launcher, list(args) + common + ["--target-path", target_path], proj,
                           env, work / f"logs_{n}", node_timeout, 20 * 60)
        log.append(f"$ dbt {' '.join(args)}  (exit {r.rc}, {time.time() - started:.1f}s)\n"
                   f"{r.out[-6000:]}")
        return r

    timing = {}
    t = time.time()
    r = dbt(0, "parse", "--no-partial-parse", target_path="target_parse")
    timing["parse"] = round(time.time() - t, 2)
    parse = read_manifest(proj / "target_parse" / "manifest.json")
    if not r.success() or not parse:
        (work / "log.txt").write_text("\n".join(log))
        raise Failed(f"real dbt parse failed ({adapter}):\n" + "\n".join(log)[-3000:])
    excluded = {}
    t = time.time()
    for attempt in range(1, 31):
        args = ["compile", "--no-populate-cache"]
        if excluded:
            # `empty`: the tests of an excluded node are compiled still (they need only its name).
            args += ["--indirect-selection", "empty", "--exclude"] + \
                sorted({fqn_selector(parse, u) for u in excluded})
        shutil.rmtree(proj / "target_compile", ignore_errors=True)
        r = dbt(attempt, *args, target_path="target_compile")
        if r.success():
            break
        new = {u: m for u, m in r.errored().items() if u not in excluded}
        if not new:
            (work / "log.txt").write_text("\n".join(log))
            raise Failed(f"real dbt compile failed ({adapter}) with no failing node:\n"
                         + "\n".join(log)[-3000:])
        excluded.update(new)
    else:
        raise Failed(f"real dbt compile ({adapter}) still failed after 30 rounds")
    timing["compile"] = round(time.time() - t, 2)
    timing["compile_rounds"] = attempt
    result = warehouse_facts(parse, read_manifest(proj / "target_compile" / "manifest.json"))
    result["offline"] = excluded
    result["seconds"] = timing
    return finish_warehouse(result, log, work, keep and keep / "dbt")


def finish_warehouse(result: dict, log: list, work: Path, keep: Path | None) -> dict:
    """Adds the run's log to `result` (and to `work/log.txt`), and copies `work` to `keep`."""
    result["log"] = "\n".join(log)
    (work / "log.txt").write_text(result["log"])
    if keep:
        if keep.exists():
            shutil.rmtree(keep)
        shutil.copytree(work, keep, symlinks=True)
    return result


def collect_sluice_warehouse(exe, project, adapter, repos, venv, work, keep) -> dict:
    proj = lay_out(project, repos, venv, work)
    profiles = work / "profiles"
    write_warehouse_profile(proj, project, profiles, adapter)
    env = warehouse_env(project)
    common = ["--profiles-dir", str(profiles)]
    if project.get("vars"):
        common += ["--vars", json.dumps(project["vars"])]
    log, timing, outs = [], {}, {}
    for command in ("parse", "compile"):
        started = time.time()
        p = subprocess.run(exe + [command] + common, cwd=proj, env=env, capture_output=True,
                           text=True)
        timing[command] = round(time.time() - started, 2)
        outs[command] = p
        log.append(f"$ sluice {command}  (exit {p.returncode}, {timing[command]:.1f}s)\n"
                   f"{p.stdout}{p.stderr}")
        manifest = proj / "target" / "manifest.json"
        if manifest.exists():
            shutil.copy(manifest, work / f"manifest_{command}.json")
            manifest.unlink()
    parse = read_manifest(work / "manifest_parse.json")
    result = warehouse_facts(parse, read_manifest(work / "manifest_compile.json"))
    compilable = {uid: n for uid, n in (parse.get("nodes") or {}).items()
                  if n.get("resource_type") in COMPILED_TYPES
                  and (n.get("config") or {}).get("enabled", True)}
    if outs["compile"].returncode != 0 and not result["sql"]:
        # A compile with errors leaves the manifest as parsed (as dbt's does); what it compiled
        # is in its files, where dbt would write them.
        for uid, n in compilable.items():
            f = proj / "target" / "compiled" / n["package_name"] / n["original_file_path"]
            if n.get("resource_type") == "test" and n["original_file_path"].endswith(
                    (".yml", ".yaml")):
                f = f / n["path"]
            if f.is_file():
                result["sql"][uid] = f.read_text()
    # The nodes sluice left out, named in its warnings as `<resource type> `<name>``.
    by_name = {}
    for uid, n in compilable.items():
        by_name.setdefault((n.get("resource_type"), n.get("name")), []).append(uid)
    offline = {}
    text = outs["compile"].stdout + outs["compile"].stderr
    for kind, name in LEFT_OUT.findall(text):
        for uid in by_name.get((kind, name), [f"{kind}.?.{name}"]):
            offline[uid] = "left out"
    # Nodes in error, by the file its error points at.
    for message, path in SLUICE_ERROR.findall(text):
        for uid, n in compilable.items():
            if n["original_file_path"] == path and uid not in result["sql"]:
                offline.setdefault(uid, f"error: {message}")
    # Some warnings name no node ("a node queries the warehouse ..."): the compilable nodes that
    # were not compiled are then taken for those it left out.
    unnamed = len(LEFT_OUT_UNNAMED.findall(text))
    if unnamed:
        for uid in compilable:
            if uid not in result["sql"] and uid not in offline:
                offline[uid] = "left out (its warning names no node)"
    result["offline"] = offline
    result["unnamed_warnings"] = unnamed
    result["exits"] = {c: p.returncode for c, p in outs.items()}
    result["seconds"] = timing
    return finish_warehouse(result, log, work, keep and keep / "sluice")


def warehouse_sql(code: str) -> str:
    return TMP_SUFFIX.sub(r"\1", normalized_sql(code))


# Differences the README lists as deliberate, each with the README's reason: (adapter, a test of
# what sluice compiled for a node real dbt could not compile offline, the reason).
DELIBERATE_OFFLINE = [
    ("databricks", lambda sql, config: re.search(r"\btimestamp(add|diff)\s*\(", sql, re.I),
     "dbt-databricks asks the cluster its runtime version for dateadd/datediff; sluice writes "
     "the 10.4+ form offline"),
    (None, lambda sql, config: config.get("materialized") == "incremental",
     "is_incremental() asks the warehouse whether the table exists; offline sluice takes it as "
     "not built yet and compiles the full-build form"),
]


def deliberate_offline(adapter: str, sql: str | None, config: dict) -> str | None:
    """The README's reason (Projects for cloud warehouses, known differences) when a node real
    dbt could not compile offline, and sluice compiled, is a deliberate difference."""
    for who, test, reason in DELIBERATE_OFFLINE:
        if who in (None, adapter) and sql is not None and test(sql, config):
            return reason
    return None


def compare_warehouse(dbt: dict, sl: dict, adapter: str) -> tuple[str, list[dict]]:
    """The summary line and the differences, each a dict: kind, uid, key, dbt, sluice, text.
    Deliberate differences are counted on the line, not returned."""
    parts, diffs = [], []
    deliberate = 0

    def diff(kind, uid, key, a, b, text):
        diffs.append({"kind": kind, "uid": uid, "key": key, "dbt": a, "sluice": b, "text": text})

    for kind in ("graph", "relations"):
        eq, keys = 0, sorted(set(dbt[kind]) | set(sl[kind]))
        for k in keys:
            a, b = dbt[kind].get(k), sl[kind].get(k)
            if a == b:
                eq += 1
            elif a is None:
                diff(kind, k, None, None, b, f"{kind} {k}: only in sluice: {short(b)}")
            elif b is None:
                diff(kind, k, None, a, None, f"{kind} {k}: only in dbt: {short(a)}")
            else:
                for f in sorted(set(a) | set(b)):
                    if a.get(f) != b.get(f):
                        diff(kind, k, f, a.get(f), b.get(f),
                             f"{kind} {k} {f}:\n      dbt:    {short(a.get(f))}\n"
                             f"      sluice: {short(b.get(f))}")
        parts.append(f"{kind} {eq}/{len(keys)}")
    # Configs of the nodes both have, key by key.
    eq, total = 0, 0
    for uid in sorted(set(dbt["configs"]) & set(sl["configs"])):
        a, b = dbt["configs"][uid], sl["configs"][uid]
        total += 1
        if a == b:
            eq += 1
            continue
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                diff("config", uid, k, a.get(k, "<absent>"), b.get(k, "<absent>"),
                     f"config {uid} {k}:\n      dbt:    {short(a.get(k, '<absent>'))}\n"
                     f"      sluice: {short(b.get(k, '<absent>'))}")
    parts.append(f"configs {eq}/{total}")
    # Compiled SQL of the nodes dbt compiled offline (those sluice left out count under offline).
    eq, total = 0, 0
    for uid, want in sorted(dbt["sql"].items()):
        if uid in sl["offline"]:
            continue
        total += 1
        got = sl["sql"].get(uid)
        want = warehouse_sql(want)
        if got is not None:
            got = warehouse_sql(got)
            if got != want and TIMESTAMP_LITERAL.sub("'<ts>'", got) == \
                    TIMESTAMP_LITERAL.sub("'<ts>'", want):
                got = want  # the time each tool compiled at
        if got == want:
            eq += 1
        elif got is None:
            diff("sql", uid, None, "compiled", None, f"sql {uid}: not compiled by sluice")
        else:
            diff("sql", uid, None, want, got, f"sql {uid}:{first_sql_difference(want, got)}")
    parts.append(f"sql {eq}/{total}")
    # The nodes that need the warehouse.
    a, b = dbt["offline"], sl["offline"]
    both = set(a) & set(b)
    for uid in sorted(set(a) | set(b)):
        if uid in both:
            continue
        if uid in a:
            if deliberate_offline(adapter, sl["sql"].get(uid), sl["configs"].get(uid) or {}):
                deliberate += 1
                continue
            how = "sluice compiled it" if uid in sl["sql"] else "sluice did not compile it either"
            first = (a[uid].splitlines() or [""])[0]
            diff("offline", uid, None, a[uid], None,
                 f"offline {uid}: real dbt could not compile it offline; {how}\n"
                 f"      dbt said: {short(' '.join(a[uid].split()), 300)}")
        else:
            how = "dbt compiled it" if uid in dbt["sql"] else "dbt did not compile it either"
            diff("offline", uid, None, None, b[uid],
                 f"offline {uid}: sluice did not compile it ({short(b[uid], 200)}); {how}")
    parts.append(f"offline {len(both)}/{len(set(a) | set(b)) - deliberate}"
                 + (f" (+{deliberate} deliberate)" if deliberate else ""))
    unnamed = sl.get("unnamed_warnings", 0)
    if unnamed:
        guessed = sum(1 for v in b.values() if "names no node" in v)
        diff("warning", None, None, None, unnamed,
             f"warning: {unnamed} of sluice's 'left out' warnings name no node (\"a node queries "
             f"the warehouse\"); {guessed} compilable node(s) it did not compile are taken for them")
    return ", ".join(parts), diffs


def warehouse_versions(venv: Path, adapter: str) -> str:
    code = ("import importlib.metadata as m, sys\n"
            "for p in sys.argv[1:]:\n"
            "    try: print(p, m.version(p))\n"
            "    except m.PackageNotFoundError: print(p, None)\n")
    return subprocess.run([str(venv / "bin" / "python"), "-c", code, "dbt-core", "dbt-adapters",
                           ADAPTER_PACKAGES[adapter]], capture_output=True, text=True).stdout


def warehouse_cache_key(project: dict, adapter: str, venv: Path) -> str:
    ran = {k: v for k, v in project.items() if k not in ("volatile", "set_ordered", "commands")}
    blob = (WAREHOUSE_FORMAT + adapter + WAREHOUSE_OUTPUTS[adapter] + json.dumps(ran, sort_keys=True)
            + warehouse_versions(venv, adapter))
    # Compiled SQL may embed the day (a date spine up to today): compared within the same day.
    blob += datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    if "local" in project:
        h = hashlib.sha256()
        for p in sorted((REPO / project["local"]).rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(REPO)).encode())
                h.update(p.read_bytes())
        blob += h.hexdigest()
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_warehouse(project, adapter, args, exe, wvenv, repos, report) -> str:
    """Compares one project on one warehouse adapter; returns passed, failed or skipped."""
    name = project["name"]
    label = f"{name} [{adapter}]"
    keep = Path(args.keep) / name / adapter if args.keep else None
    try:
        key = warehouse_cache_key(project, adapter, wvenv)
        cached = CACHE / "dbt" / f"{name}-{adapter}-{key}.json"
        if cached.exists() and not args.no_cache:
            want = json.loads(cached.read_text())
        else:
            with tempfile.TemporaryDirectory(prefix=f"conf-dbt-{name}-{adapter}-") as w:
                want = collect_dbt_warehouse([str(wvenv / "bin" / "dbt")], project, adapter,
                                             repos, wvenv, Path(w), keep, args.node_timeout,
                                             args.stock_dbt)
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(want))
        with tempfile.TemporaryDirectory(prefix=f"conf-sluice-{name}-{adapter}-") as w:
            got = collect_sluice_warehouse(exe, project, adapter, repos, wvenv, Path(w), keep)
    except Skip as s:
        print(f"{label}: skipped ({s})")
        return "skipped"
    except (Failed, subprocess.CalledProcessError) as f:
        print(f"{label}: FAILED: {f}")
        if report:
            report.write(json.dumps({"project": name, "adapter": adapter, "kind": "failed",
                                     "text": str(f)}) + "\n")
        return "failed"
    line, diffs = compare_warehouse(want, got, adapter)
    secs = (f"  (dbt {want['seconds'].get('parse', 0) + want['seconds'].get('compile', 0):.0f}s"
            f" in {want['seconds'].get('compile_rounds', 1)} compile(s), sluice "
            f"{sum(got['seconds'].values()):.1f}s)")
    # A compile that fails on nodes dbt fails on too is equal; a parse that fails is not.
    exits = got["exits"]
    if any(exits.values()):
        line += f", sluice exit {exits['parse']}/{exits['compile']}"
    failed = bool(diffs) or exits["parse"] != 0
    print(f"{label}: {line}{'' if failed else ' equal'}{secs}")
    for d in diffs[: args.diffs]:
        print(f"  - {d['text']}")
    if len(diffs) > args.diffs:
        print(f"  ... and {len(diffs) - args.diffs} more difference(s)")
    if not got["graph"] or exits["parse"] != 0:
        print("  sluice said:\n" + "\n".join("    " + l for l in got["log"][-2500:].splitlines()))
    if report:
        for d in diffs:
            report.write(json.dumps({"project": name, "adapter": adapter, **d}) + "\n")
        report.flush()
    sys.stdout.flush()
    return "failed" if failed else "passed"


# --- main ----------------------------------------------------------------------------------


def dbt_cache_key(project: dict, venv: Path) -> str:
    version = subprocess.run([str(venv / "bin" / "dbt"), "--version"], capture_output=True,
                             text=True).stdout
    version = " ".join(sorted(re.findall(r"(?:core|duckdb):?\s+[\w.-]+", version, re.I)))
    # The DuckDB engine too (its casts and functions change between versions).
    version += subprocess.run([str(venv / "bin" / "python"), "-c",
                               "import duckdb; print(duckdb.__version__)"],
                              capture_output=True, text=True).stdout.strip()
    # What real dbt runs (not how its results are compared) keys the cache.
    ran = {k: v for k, v in project.items() if k not in ("volatile", "set_ordered")}
    blob = CACHE_FORMAT + json.dumps(ran, sort_keys=True) + version
    # Projects build relations from the current date (date spines, recency checks): a dbt run is
    # compared only with sluice runs of the same (UTC) day.
    blob += datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    if "local" in project:  # fixtures change: key on their content too
        h = hashlib.sha256()
        for p in sorted((REPO / project["local"]).rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(REPO)).encode())
                h.update(p.read_bytes())
        blob += h.hexdigest()
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sluice_exe(args) -> list[str]:
    if args.sluice:
        return [args.sluice]
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    profile = "release" if args.release else "debug"
    cmd = ["cargo", "build", "--locked", "-q"] + (["--release"] if args.release else [])
    subprocess.run(cmd, cwd=REPO, check=True)
    return [str(target / profile / "sluice")]


def run_duckdb(project, args, exe, venv, repos) -> str:
    """Builds one project with real dbt and sluice on DuckDB and compares; returns passed, failed
    or skipped."""
    name = project["name"]
    dbt = [str(venv / "bin" / "dbt")]
    keep = Path(args.keep) / name if args.keep else None
    try:
        key = dbt_cache_key(project, venv)
        cached = CACHE / "dbt" / f"{name}-{key}.json"
        if cached.exists() and not args.no_cache:
            want = json.loads(cached.read_text())
        else:
            with tempfile.TemporaryDirectory(prefix=f"conf-dbt-{name}-") as w:
                want = collect("dbt", dbt, project, repos, venv, Path(w), keep)
            if not want["nodes"]:
                raise Failed("real dbt produced no manifest:\n" + want["log"][-3000:])
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(want))
        with tempfile.TemporaryDirectory(prefix=f"conf-sluice-{name}-") as w:
            got = collect("sluice", exe, project, repos, venv, Path(w), keep)
    except Skip as s:
        print(f"{name}: skipped ({s})")
        return "skipped"
    except (Failed, subprocess.CalledProcessError) as f:
        print(f"{name}: FAILED: {f}")
        return "failed"
    line, diffs = compare(project, want, got)
    print(f"{name}: {line}{' equal' if not diffs else ''}")
    sys.stdout.flush()
    if not diffs:
        return "passed"
    for d in diffs[: args.diffs]:
        print(f"  - {d}")
    if len(diffs) > args.diffs:
        print(f"  ... and {len(diffs) - args.diffs} more difference(s)")
    if not got["nodes"]:
        print("  sluice said:\n" + "\n".join("    " + l for l in got["log"][-2500:].splitlines()))
    sys.stdout.flush()
    return "failed"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="run only this project (repeatable)")
    ap.add_argument("--list", default=str(REPO / "tests" / "conformance" / "projects.toml"))
    ap.add_argument("--repos", default=os.environ.get("SLUICE_CONFORMANCE_REPOS", "/work/.mirror"),
                    help="folder of fetched repositories")
    ap.add_argument("--venv", help="the virtualenv of dbt-core + dbt-duckdb (the DuckDB axis)")
    ap.add_argument("--sluice", help="the sluice binary (default: cargo build)")
    ap.add_argument("--release", action="store_true", help="build and use a release sluice")
    ap.add_argument("--keep", help="keep each project's two work folders under this folder")
    ap.add_argument("--diffs", type=int, default=12, help="differences shown per project")
    ap.add_argument("--no-cache", action="store_true", help="rerun real dbt even if cached")
    ap.add_argument("--adapter", action="append", default=[],
                    help="the warehouse axis: compile offline for this adapter (repeatable): "
                         f"{', '.join(KNOWN_ADAPTERS)}, or duckdb for the DuckDB axis")
    ap.add_argument("--adapters", help="comma-separated adapters, or `all` for "
                                       f"{','.join(ALL_ADAPTERS)}")
    ap.add_argument("--warehouse-venv",
                    default=os.environ.get("WAREHOUSE_VENV",
                                           str(Path.home() / ".cache/sluice/warehouse-venv")),
                    help="the virtualenv of dbt-core + the warehouse adapters")
    ap.add_argument("--node-timeout", type=float, default=45,
                    help="warehouse axis: seconds a dbt node may compile with nothing else "
                         "progressing before it counts as waiting on the warehouse")
    ap.add_argument("--stock-dbt", action="store_true",
                    help="warehouse axis: let `dbt compile` stop at its first node in error, as "
                         "it does (many more reruns; the same results)")
    ap.add_argument("--report", help="write every warehouse difference as JSON lines here")
    args = ap.parse_args()

    adapters = list(args.adapter)
    if args.adapters:
        adapters += ALL_ADAPTERS if args.adapters == "all" else args.adapters.split(",")
    adapters = list(dict.fromkeys(a.strip() for a in adapters if a.strip()))
    for a in adapters:
        if a not in KNOWN_ADAPTERS + ["duckdb"]:
            print(f"conformance: unknown adapter {a!r}: one of {', '.join(KNOWN_ADAPTERS)}, duckdb",
                  file=sys.stderr)
            return 2
    duckdb_axis = not adapters or "duckdb" in adapters
    warehouses = [a for a in adapters if a != "duckdb"]
    if duckdb_axis and not args.venv:
        print("conformance: the DuckDB axis needs --venv", file=sys.stderr)
        return 2
    wvenv = Path(args.warehouse_venv)
    if warehouses and not (wvenv / "bin" / "dbt").exists():
        print(f"conformance: no dbt in {wvenv} (scripts/conformance creates it)", file=sys.stderr)
        return 2

    projects = tomllib.loads(Path(args.list).read_text())["project"]
    names = {p["name"] for p in projects}
    for o in args.only:
        if o not in names:
            print(f"conformance: no project named {o!r} in {args.list}", file=sys.stderr)
            return 2
    if args.only:
        projects = [p for p in projects if p["name"] in args.only]
    venv = Path(args.venv) if args.venv else wvenv
    repos = Path(args.repos)
    exe = sluice_exe(args)
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    report = open(args.report, "w") if args.report else None
    try:
        for project in projects:
            if duckdb_axis:
                totals[run_duckdb(project, args, exe, venv, repos)] += 1
            for adapter in warehouses:
                totals[run_warehouse(project, adapter, args, exe, wvenv, repos, report)] += 1
    finally:
        if report:
            report.close()
    print(f"conformance: {totals['passed']} passed, {totals['failed']} failed, "
          f"{totals['skipped']} skipped")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
