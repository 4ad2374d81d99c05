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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="run only this project (repeatable)")
    ap.add_argument("--list", default=str(REPO / "tests" / "conformance" / "projects.toml"))
    ap.add_argument("--repos", default=os.environ.get("SLUICE_CONFORMANCE_REPOS", "/work/.mirror"),
                    help="folder of fetched repositories")
    ap.add_argument("--venv", required=True)
    ap.add_argument("--sluice", help="the sluice binary (default: cargo build)")
    ap.add_argument("--release", action="store_true", help="build and use a release sluice")
    ap.add_argument("--keep", help="keep each project's two work folders under this folder")
    ap.add_argument("--diffs", type=int, default=12, help="differences shown per project")
    ap.add_argument("--no-cache", action="store_true", help="rerun real dbt even if cached")
    args = ap.parse_args()

    projects = tomllib.loads(Path(args.list).read_text())["project"]
    names = {p["name"] for p in projects}
    for o in args.only:
        if o not in names:
            print(f"conformance: no project named {o!r} in {args.list}", file=sys.stderr)
            return 2
    if args.only:
        projects = [p for p in projects if p["name"] in args.only]
    venv = Path(args.venv)
    repos = Path(args.repos)
    exe = sluice_exe(args)
    dbt = [str(venv / "bin" / "dbt")]
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for project in projects:
        name = project["name"]
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
            totals["skipped"] += 1
            continue
        except (Failed, subprocess.CalledProcessError) as f:
            print(f"{name}: FAILED: {f}")
            totals["failed"] += 1
            continue
        line, diffs = compare(project, want, got)
        print(f"{name}: {line}{' equal' if not diffs else ''}")
        if diffs:
            totals["failed"] += 1
            for d in diffs[: args.diffs]:
                print(f"  - {d}")
            if len(diffs) > args.diffs:
                print(f"  ... and {len(diffs) - args.diffs} more difference(s)")
            if not got["nodes"]:
                print("  sluice said:\n" + "\n".join("    " + l for l in got["log"][-2500:].splitlines()))
        else:
            totals["passed"] += 1
        sys.stdout.flush()
    print(f"conformance: {totals['passed']} passed, {totals['failed']} failed, "
          f"{totals['skipped']} skipped")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
