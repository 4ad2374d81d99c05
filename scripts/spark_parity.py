"""Spark parity: dbt-spark's verdicts and relations on the demo, as the reference for sluice's.

Builds the demo (without its sluice-only metric tests, laid out as scripts/state_oracle.py does)
with real dbt-spark on a Spark Connect server, twice (the second build runs the incremental model
incrementally), and records for each build every node's status, and after both every relation's
row count and checksum (`sum(hash(*))`, which also covers column order and types) in
tests/spark_parity/demo.json. Then builds the same project with sluice into another schema of the
same server and compares.

The Spark integration test (`tests/it/spark.rs`) compares sluice's builds with that recording on
every CI run, so dbt-spark is not needed there.

  scripts/spark-parity [--remote sc://127.0.0.1:15002] [--sluice PATH] [--no-record] [--keep DIR]

--no-record compares sluice with the recording only (no dbt-spark run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import state_oracle as oracle  # noqa: E402  (the demo's layout and its fingerprint)

REPO = oracle.REPO
RECORDING = REPO / "tests" / "spark_parity" / "demo.json"
RECORDING_FORMAT = 1
PROFILE = "saas_ops"


# dbt-spark's seed loader works out a column's type from the whole table for every cell
# (`adapter.convert_type` inside its loop over rows and columns): quadratic, hours for the demo's
# 28,000-row seed. The reference project overrides `spark__load_csv_rows` with the same
# statements, each column's type worked out once.
SEED_TYPES_ONCE = """
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set overrides = model['config'].get('column_types', {}) %}
  {% set types = [] %}
  {% for name in agate_table.column_names %}
    {% do types.append(overrides.get(name, adapter.convert_type(agate_table, loop.index0))) %}
  {% endfor %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(get_batch_size()) %}
    {% set bindings = [] %}
    {% for row in chunk %}{% do bindings.extend(row) %}{% endfor %}
    {% set sql %}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for t in types -%}cast({{ get_binding_char() }} as {{ t }}){%- if not loop.last %},{% endif -%}{%- endfor -%})
        {%- if not loop.last %},{% endif %}
      {%- endfor %}
    {% endset %}
    {% do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) %}
    {% if loop.first %}{% do statements.append(sql) %}{% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}
"""


def profiles(folder: Path, kind: str, host: str, port: str, schema: str) -> None:
    if kind == "dbt-spark":
        out = f"      type: spark\n      method: session\n      host: {host}\n"
    else:
        out = f"      type: spark\n      method: connect\n      host: {host}\n      port: {port}\n"
    (folder / "profiles.yml").write_text(
        f"{PROFILE}:\n  target: spark\n  outputs:\n    spark:\n{out}"
        f"      schema: {schema}\n      threads: 4\n"
    )


def target_path(proj: Path) -> Path:
    return proj / (oracle.load_yaml(proj / "dbt_project.yml").get("target-path") or "target")


def build_twice(cmd: list[str], proj: Path, env: dict) -> list[dict]:
    """Every node's status of each of two `build`s (from run_results.json)."""
    builds = []
    for n in (1, 2):
        print(f"  build {n}: {' '.join(cmd[:1])} build", flush=True)
        r = subprocess.run(cmd + ["build", "--profiles-dir", str(proj)], cwd=proj, env=env,
                           capture_output=True, text=True)
        log = proj / f"build{n}.log"
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
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
    suffix = str(os.getpid())
    try:
        if args.no_record:
            reference = json.loads(RECORDING.read_text())
        else:
            proj = oracle.lay_out_demo(work / "dbt-spark")
            fingerprint = oracle.fingerprint(proj)
            (proj / "macros" / "parity_seed_types_once.sql").write_text(SEED_TYPES_ONCE)
            schema = f"parity_dbt_spark_{suffix}"
            profiles(proj, "dbt-spark", host, port, schema)
            env = dict(os.environ, SPARK_REMOTE=args.remote, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
            print(f"dbt-spark into schema {schema}", flush=True)
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
            RECORDING.parent.mkdir(parents=True, exist_ok=True)
            RECORDING.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
            print(f"recorded {RECORDING.relative_to(REPO)}", flush=True)

        proj = oracle.lay_out_demo(work / "sluice")
        if oracle.fingerprint(proj) != reference["fingerprint"]:
            print("spark-parity: the demo changed since the recording; record again "
                  "(scripts/spark-parity)", file=sys.stderr)
            return 1
        schema = f"parity_sluice_{suffix}"
        profiles(proj, "sluice", host, port, schema)
        print(f"sluice into schema {schema}", flush=True)
        builds = build_twice([sluice_bin], proj, dict(os.environ))
        ours = {"builds": builds, "relations": checksums(args.remote, schema, relations(proj))}
        problems = compare(reference, ours)
        nodes = sum(len(b) for b in reference["builds"])
        if problems:
            print(f"{len(problems)} differences:", *problems, sep="\n  ")
            return 1
        print(f"agree: {nodes} verdicts over two builds, {len(reference['relations'])} relations' "
              "row counts and checksums")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
