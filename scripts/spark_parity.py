"""Spark parity: real dbt-spark's builds as the reference for sluice's on Spark, and sluice's
Spark builds against its DuckDB builds.

For each project (the demo without its sluice-only metric tests, laid out as
scripts/state_oracle.py does; MetricFlow's tutorial, from the dbt-metricflow wheel as
tests/conformance/projects.toml lays it out):

1. (unless --no-record) real dbt-spark builds it twice on a Spark Connect server (the second
   build runs incremental models incrementally); every node's status in each build, and after
   both every relation's row count and checksum (`sum(hash(*))`, which also covers column order
   and types), are recorded in tests/spark_parity/<project>.json;
2. sluice builds the same project twice into another schema of the same server: the same
   verdicts, row counts and checksums as the recording;
3. sluice builds it twice on DuckDB: every relation has the same rows as on Spark, and every
   metric, queried by `metric_time` at its default grain, gives the same rows on both engines.

The Spark integration test (`tests/it/spark.rs`) does 2 and 3 for the demo on every CI run, and
`.ci/run` runs this script with --no-record for the tutorial, so dbt-spark only runs to record.

  scripts/spark-parity [--project NAME ...] [--remote sc://127.0.0.1:15002] [--sluice PATH]
                       [--no-record] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import conformance as conf  # noqa: E402  (the layout of projects a registry serves)
import state_oracle as oracle  # noqa: E402  (the demo's layout and its fingerprint)

REPO = oracle.REPO
RECORDINGS = REPO / "tests" / "spark_parity"
RECORDING_FORMAT = 1
PROJECTS = ["demo", "metricflow_tutorial"]


# dbt-spark's seed loader works out a column's type from the whole table for every cell: the
# reference projects override it with the same statements, each column's type worked out once.
SEED_TYPES_ONCE = Path(__file__).resolve().parent / "dbt_spark_seed_types_once.sql"


def lay_out(name: str, work: Path) -> Path:
    if name == "demo":
        return oracle.lay_out_demo(work)
    specs = {p["name"]: p for p in tomllib.loads(
        (REPO / "tests" / "conformance" / "projects.toml").read_text())["project"]}
    return conf.lay_out(specs[name], work / "repos", Path(sys.executable).parent.parent, work)


def profiles(proj: Path, kind: str, host: str, port: str, schema: str) -> None:
    """profiles.yml in `proj` for its profile: a `spark` target (dbt-spark's `session` method or
    sluice's `connect`) and a `dev` DuckDB target."""
    profile = oracle.load_yaml(proj / "dbt_project.yml")["profile"]
    if kind == "dbt-spark":
        out = f"      type: spark\n      method: session\n      host: {host}\n"
    else:
        out = f"      type: spark\n      method: connect\n      host: {host}\n      port: {port}\n"
    (proj / "profiles.yml").write_text(
        f"{profile}:\n  target: spark\n  outputs:\n    spark:\n{out}"
        f"      schema: {schema}\n      threads: 4\n"
        f"    dev:\n      type: duckdb\n      path: parity.duckdb\n      schema: main\n"
        f"      threads: 4\n"
    )


def target_path(proj: Path) -> Path:
    return proj / (oracle.load_yaml(proj / "dbt_project.yml").get("target-path") or "target")


def build_twice(cmd: list[str], proj: Path, env: dict, target: str = "spark") -> list[dict]:
    """Every node's status of each of two `build`s (from run_results.json)."""
    builds = []
    for n in (1, 2):
        print(f"  build {n}: {Path(cmd[0]).name} build --target {target}", flush=True)
        r = subprocess.run(cmd + ["build", "--profiles-dir", str(proj), "--target", target],
                           cwd=proj, env=env, capture_output=True, text=True)
        log = proj / f"build-{target}-{n}.log"
        log.write_text(r.stdout + r.stderr)
        results = target_path(proj) / "run_results.json"
        if not results.is_file():
            sys.exit(f"spark-parity: build {n} wrote no run_results.json (exit {r.returncode}); "
                     f"see {log}")
        data = json.loads(results.read_text())
        builds.append({x["unique_id"]: x["status"] for x in data["results"]})
        print(f"    exit {r.returncode}, {len(builds[-1])} nodes", flush=True)
    return builds


def relations(proj: Path) -> dict[str, str]:
    """The relations the project builds: unique_id -> identifier (from manifest.json)."""
    manifest = json.loads((target_path(proj) / "manifest.json").read_text())
    out = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] in ("model", "seed", "snapshot") and \
                node["config"].get("materialized") != "ephemeral":
            out[uid] = node.get("alias") or node["name"]
    return out


def checksums(remote: str, schema: str, rels: dict[str, str]) -> dict[str, dict]:
    """Row count and `sum(hash(*))` of every relation, read over Spark Connect."""
    from pyspark.sql import SparkSession  # from the dbt-spark virtualenv

    spark = SparkSession.builder.remote(remote).getOrCreate()
    out = {}
    for uid, name in sorted(rels.items()):
        row = spark.sql(
            f"select count(*) as n, coalesce(sum(cast(hash(*) as bigint)), 0) as h "
            f"from `{schema}`.`{name}`"
        ).collect()[0]
        out[uid] = {"rows": int(row["n"]), "checksum": int(row["h"])}
    spark.stop()
    return out


def compare(reference: dict, sluice: dict) -> list[str]:
    problems = []
    for i, (ref, got) in enumerate(zip(reference["builds"], sluice["builds"]), start=1):
        for uid, status in sorted(ref.items()):
            # Known difference (README): sluice writes saved queries' exports, dbt Core does not.
            if uid.startswith("saved_query.") and (status, got.get(uid)) == ("no-op", "success"):
                continue
            if got.get(uid) != status:
                problems.append(f"build {i}: {uid}: dbt-spark {status}, sluice {got.get(uid)}")
    for uid, ref in sorted(reference["relations"].items()):
        got = sluice["relations"].get(uid)
        if got != ref:
            problems.append(f"{uid}: dbt-spark {ref}, sluice {got}")
    return problems


def show(sluice: str, proj: Path, target: str, sql: str) -> list[str]:
    """Every row of `sql` on `target`, normalised (numbers to 6 decimals, timestamps without
    zero fractions, midnight timestamps as dates), sorted: a multiset to compare engines with."""
    r = subprocess.run([sluice, "show", "--profiles-dir", str(proj), "--target", target,
                        "--inline", sql, "--limit", "-1", "--output", "json", "-q"],
                       cwd=proj, capture_output=True, text=True)
    if r.returncode != 0:
        return [f"error: {r.stdout.strip()} {r.stderr.strip()}"[:300]]
    return sorted("|".join(f"{k.lower()}={normal(v)}" for k, v in row.items())
                  for row in json.loads(r.stdout)["show"])


def normal(v) -> str:
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return repr(round(float(v), 6))
    s = str(v).replace("T", " ")
    head, _, frac = s.partition(".")
    if frac and set(frac) <= {"0"} and len(head) == 19:
        s = head
    return s.removesuffix(" 00:00:00")


def metric_queries(sluice: str, proj: Path, target: str) -> dict[str, list[str]]:
    """Each metric of the project by `metric_time` at its default grain, as sorted CSV rows."""
    manifest = json.loads((target_path(proj) / "semantic_manifest.json").read_text())
    out = {}
    for metric in sorted(m["name"] for m in manifest["metrics"]):
        csv_path = proj / f"{metric}.{target}.csv"
        r = subprocess.run([sluice, "metrics", "query", "--metrics", metric, "--group-by",
                            "metric_time", "--profiles-dir", str(proj), "--target", target,
                            "--csv", str(csv_path)], cwd=proj, capture_output=True, text=True)
        if r.returncode != 0:
            out[metric] = [f"error: {r.stdout.strip()} {r.stderr.strip()}"[:300]]
            continue
        rows = list(csv.reader(io.StringIO(csv_path.read_text())))
        out[metric] = sorted("|".join(normal(num(c)) for c in row) for row in rows[1:])
    return out


def num(cell: str):
    try:
        return float(cell)
    except ValueError:
        return cell


def run_project(name: str, args, sluice_bin: str, work: Path, host: str, port: str) -> list[str]:
    """The problems found for one project (empty: all agree)."""
    recording = RECORDINGS / f"{name}.json"
    suffix = f"{name[:4]}_{os.getpid()}"
    if args.no_record:
        reference = json.loads(recording.read_text())
    else:
        proj = lay_out(name, work / name / "dbt-spark")
        fingerprint = oracle.fingerprint(proj)
        (proj / "macros").mkdir(exist_ok=True)
        shutil.copy(SEED_TYPES_ONCE, proj / "macros" / SEED_TYPES_ONCE.name)
        schema = f"parity_dbt_spark_{suffix}"
        profiles(proj, "dbt-spark", host, port, schema)
        env = dict(os.environ, SPARK_REMOTE=args.remote, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        print(f"{name}: dbt-spark into schema {schema}", flush=True)
        builds = build_twice([args.dbt], proj, env)
        version = subprocess.run([args.dbt, "--version"], capture_output=True, text=True).stdout
        reference = {
            "format": RECORDING_FORMAT,
            "fingerprint": fingerprint,
            "dbt": [l.strip() for l in version.splitlines()
                    if l.strip().startswith(("- installed", "- spark"))],
            "builds": builds,
            "relations": checksums(args.remote, schema, relations(proj)),
        }
        recording.parent.mkdir(parents=True, exist_ok=True)
        recording.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
        print(f"{name}: recorded {recording.relative_to(REPO)}", flush=True)

    proj = lay_out(name, work / name / "sluice")
    if oracle.fingerprint(proj) != reference["fingerprint"]:
        return [f"{name}: the project changed since {recording.relative_to(REPO)} was recorded; "
                "record it again (scripts/spark-parity)"]
    schema = f"parity_sluice_{suffix}"
    profiles(proj, "sluice", host, port, schema)
    print(f"{name}: sluice into schema {schema}", flush=True)
    builds = build_twice([sluice_bin], proj, dict(os.environ))
    rels = relations(proj)
    ours = {"builds": builds, "relations": checksums(args.remote, schema, rels)}
    problems = [f"{name}: {p}" for p in compare(reference, ours)]
    nodes = sum(len(b) for b in reference["builds"])
    print(f"{name}: {nodes} verdicts over two builds and {len(reference['relations'])} relations' "
          f"row counts and checksums compared with dbt-spark's", flush=True)

    # The same project on DuckDB: the same rows, the same metric values.
    duck = build_twice([sluice_bin], proj, dict(os.environ), target="dev")
    if any(s not in ("success", "pass", "no-op") for b in duck for s in b.values()):
        problems.append(f"{name}: the DuckDB build did not pass: {duck}")
    for uid, ident in sorted(rels.items()):
        model = uid.rsplit(".", 1)[1]
        sql = "select * from {{ ref('%s') }}" % model
        a, b = show(sluice_bin, proj, "spark", sql), show(sluice_bin, proj, "dev", sql)
        if a != b or not a:
            problems.append(f"{name}: {uid}: Spark's rows differ from DuckDB's "
                            f"({len(a)} and {len(b)} rows)")
    spark_m, duck_m = (metric_queries(sluice_bin, proj, t) for t in ("spark", "dev"))
    for metric in sorted(spark_m):
        if spark_m[metric] != duck_m.get(metric) or not spark_m[metric] or \
                spark_m[metric][0].startswith("error"):
            problems.append(f"{name}: metric {metric}: Spark {spark_m[metric][:2]}..., "
                            f"DuckDB {(duck_m.get(metric) or [])[:2]}...")
    print(f"{name}: {len(rels)} relations' rows and {len(spark_m)} metrics compared between "
          "Spark and DuckDB", flush=True)
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--project", action="append", choices=PROJECTS)
    ap.add_argument("--remote", default=os.environ.get("SPARK_REMOTE", "sc://127.0.0.1:15002"))
    ap.add_argument("--sluice", default=None)
    ap.add_argument("--dbt", default=str(Path(sys.executable).parent / "dbt"))
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--keep", default=None)
    args = ap.parse_args()
    host, port = args.remote.removeprefix("sc://").split("/")[0].rsplit(":", 1)
    sluice_bin = args.sluice or str(
        Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "sluice")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="spark-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        problems = []
        for name in args.project or PROJECTS:
            problems += run_project(name, args, sluice_bin, work, host, port)
        if problems:
            print(f"{len(problems)} differences:", *problems, sep="\n  ")
            return 1
        print("agree")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
