"""State oracle: sluice's `state:` selection methods checked against real dbt's, edit by edit.

For each project (the demo of this repository, MetricFlow's tutorial project and real projects of
the conformance runner's list, tests/conformance/projects.toml), it

1. lays the project out in a temporary folder (the conformance runner's layout functions, imported
   from scripts/conformance.py, and its DuckDB profile), once, as the pristine copy;
2. copies it to a fixed working path and parses it there with real dbt (`dbt parse`, artifacts in
   prev_dbt/) and with sluice (`sluice parse`, artifacts in prev_sluice/): the baseline state;
3. for each edit of the list below, recreates the working copy from the pristine one, applies that
   one edit, and asks both tools `ls --select SELECTOR --state prev_<tool>/ --output json
   --output-keys unique_id` for each selector of SELECTORS (dbt: its Python API, the edited project
   parsed once and the manifest reused for every selector; sluice: its binary, one `ls` each);
4. compares the two sets of unique ids per selector and prints one line per (project, edit): OK, or
   DIFFERENT with, per selector, the ids only dbt selects and the ids only sluice selects.

It exits 1 if a difference is not listed in tests/state_oracle/deliberate.toml (each entry gives
its reason), if sluice fails where dbt does not, or if a recording is missing or stale; 0 otherwise.

Edits (each written against the project's own files, chosen from what is there: "first" means
first in sorted path order, and only files of the root project count, never dbt_packages/):

  none                  nothing changes (control: every state:modified* is empty)
  yaml_reformat         every properties YAML of the model paths is loaded and written back
                        (same values, other text, comments gone)
  model_sql             the first model's SQL gets a trailing `-- state-oracle edit` line
  macro_body            the first macro that some file calls gets a Jinja comment in its body
  test_macro_body       the first generic test macro ({% test %}) gets a Jinja comment in its body
  project_materialized  dbt_project.yml: the first model folder's materialization changes
                        (table, or view if it is table already)
  project_tags          dbt_project.yml: the first model folder gets one more tag
                        (tags are left out of dbt's config comparison)
  project_persist_docs  dbt_project.yml: the root project's models get
                        +persist_docs {relation: true, columns: true}
  project_schema        dbt_project.yml: the first model folder gets +schema: state_oracle
  project_var           dbt_project.yml: the first var with a scalar or list value changes
                        (dbt only sees it where it changes unrendered config or SQL text)
  column_description    the first column description of a properties YAML changes
  test_severity         the first generic test of a model (or of its columns) gets severity warn
                        (error if it is warn already)
  model_meta            the first model of a properties YAML gets config.meta.state_oracle
  contract_column_type  the first model with an enforced contract gets another data_type for a
                        column (a breaking change: dbt warns for an unversioned model)
  unit_test_expect      the first unit test expects a copy of its first expected row too
                        (dbt compares unit tests by their checksum)
  seed_rows             the first seed CSV gets a copy of its last row appended
  source_freshness      the first source's freshness changes (warn_after count + 1, or a
                        warn_after of 1 day where it has none)
  new_source            a table is added to the first source (a new source file if there is none;
                        dbt counts a new source as state:new, not state:modified)
  metric_description    the first metric's description changes (dbt compares a metric's
                        description and label, not its type_params)
  metric_type_params    the first metric with a type_params.measure gets fill_nulls_with
                        (dbt does not count it as a modification)
  persisted_description column_description on a project whose models persist their docs
                        (the baseline has project_persist_docs too)
  new_model             a new model file in the first model folder
  deleted_model         the first model nothing refers to (no ref(), no unit test, not a time
                        spine) is deleted with its properties entry

An edit that does not apply to a project (no macro, no source, no var) is listed as n/a.

Selectors (plus `(all)`, a plain `ls`): state:modified+, state:modified, state:new, state:old,
state:unmodified and state:modified.body|configs|relation|persisted_descriptions|macros|contract.

The demo's sluice-only parts are stripped from its copy before anything runs (both tools read the
stripped copy): `data_tests:` under a metric (metric tests; dbt 1.10 rejects the key) and the
top-level `metric_unit_tests:` key (metric unit tests; dbt ignores it, sluice makes nodes of them).

Modes: live (default: run real dbt and sluice); --record (live, then write real dbt's answers for
the projects marked `record` below to tests/state_oracle/<project>.json, with a fingerprint of the
project's files); --recorded (dbt's answers for those projects are read from the recordings, so
only sluice runs: a recording whose fingerprint or edit differs from the project's is stale and
fails; the projects from GitHub still run live dbt, and are skipped when not fetched).

Diagnostics (live dbt; they do not change the exit status):
  --emulate  also runs dbt's own StateSelectorMethod on sluice's manifests (sluice's edited
             manifest against sluice's baseline), loaded into dbt's Manifest classes: where the
             emulation agrees with dbt and sluice does not, sluice's selection logic differs;
             where the emulation differs from dbt, a manifest field does. A manifest that dbt's
             schema rejects is repaired first (the repair is named).
  --cross    compares sluice's unedited manifest with dbt's, as `--state` would if production
             artifacts were dbt's: lists the fields dbt's comparison reads that differ between
             the two manifests (node by node, grouped), what dbt's selector makes of them, and what
             `sluice ls --state prev_dbt/` selects.
  --keep DIR keeps both manifests and all answers of every edit.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.dont_write_bytecode = True  # no scripts/__pycache__ from the import below
sys.path.insert(0, str(Path(__file__).resolve().parent))
import conformance as conf  # noqa: E402  (the conformance runner's layout and profile functions)

REPO = conf.REPO
RECORDINGS = REPO / "tests" / "state_oracle"
DELIBERATE = RECORDINGS / "deliberate.toml"
RECORDING_FORMAT = 1

# Projects: "demo" is this repository's project; the others are named as in
# tests/conformance/projects.toml. `record`: dbt's answers may be recorded (--record / --recorded).
PROJECTS = [
    {"name": "demo", "record": True},
    {"name": "metricflow_tutorial", "record": True},
    {"name": "jaffle_shop_classic"},
    {"name": "dbt_project_evaluator_integration_tests"},
]

ALL = "(all)"
SELECTORS = [
    ALL,
    "state:modified+",
    "state:modified",
    "state:new",
    "state:old",
    "state:unmodified",
    "state:modified.body",
    "state:modified.configs",
    "state:modified.relation",
    "state:modified.persisted_descriptions",
    "state:modified.macros",
    "state:modified.contract",
]

EDIT_MARK = "state-oracle edit"


class NotApplicable(Exception):
    """The edit does not apply to this project (it has no macro, no source, ...)."""


# --- YAML and files ------------------------------------------------------------------------------


def load_yaml(path: Path):
    import yaml  # from the dbt virtualenv

    return yaml.safe_load(path.read_text()) or {}


def dump_yaml(path: Path, data) -> None:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000))


class Project:
    """The root project of a working copy: its dbt_project.yml and its files by kind."""

    def __init__(self, root: Path):
        self.root = root
        self.cfg = load_yaml(root / "dbt_project.yml")
        self.name = self.cfg.get("name")

    def paths(self, key: str, default: list[str]) -> list[str]:
        return list(self.cfg.get(key) or default)

    def files(self, key: str, default: list[str], exts: tuple[str, ...]) -> list[Path]:
        out = []
        for d in self.paths(key, default):
            base = self.root / d
            if not base.is_dir():
                continue
            for p in base.rglob("*"):
                rel = p.relative_to(self.root)
                if p.is_file() and p.suffix in exts and not any(
                    part in ("dbt_packages", "target", "logs") or part.startswith(".")
                    for part in rel.parts
                ):
                    out.append(p)
        return sorted(out, key=lambda p: p.relative_to(self.root).as_posix())

    def models(self) -> list[Path]:
        return self.files("model-paths", ["models"], (".sql",))

    def model_yamls(self) -> list[Path]:
        return self.files("model-paths", ["models"], (".yml", ".yaml"))

    def macros(self) -> list[Path]:
        return self.files("macro-paths", ["macros"], (".sql",))

    def seeds(self) -> list[Path]:
        return self.files("seed-paths", ["seeds"], (".csv",))

    def text_files(self) -> list[Path]:
        """Every SQL and YAML file of the root project's paths (where ref() and macro calls are)."""
        out = set()
        for key, default in (("model-paths", ["models"]), ("macro-paths", ["macros"]),
                             ("test-paths", ["tests"]), ("analysis-paths", ["analyses"]),
                             ("snapshot-paths", ["snapshots"]), ("seed-paths", ["seeds"])):
            out.update(self.files(key, default, (".sql", ".yml", ".yaml")))
        return sorted(out)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.root).as_posix()

    def first_model_folder(self) -> tuple[str, str]:
        """(model path, folder) of the first model that lives in a subfolder of a model path."""
        for mp in self.paths("model-paths", ["models"]):
            for m in self.models():
                rel = m.relative_to(self.root / mp) if m.is_relative_to(self.root / mp) else None
                if rel is not None and len(rel.parts) > 1:
                    return mp, rel.parts[0]
        raise NotApplicable("no model in a subfolder")

    def save_cfg(self) -> None:
        dump_yaml(self.root / "dbt_project.yml", self.cfg)


def folder_config(prj: Project, folder: str | None) -> dict:
    """The dict of dbt_project.yml's models:<project>[:<folder>], created where missing."""
    models = prj.cfg.get("models")
    if not isinstance(models, dict):
        models = prj.cfg["models"] = {}
    node = models.get(prj.name)
    if not isinstance(node, dict):
        node = models[prj.name] = {}
    if folder is not None:
        sub = node.get(folder)
        if not isinstance(sub, dict):
            sub = node[folder] = {}
        node = sub
    return node


def set_config(node: dict, key: str, change) -> tuple[object, object]:
    """Sets `+key` (or `key`, if the project writes it without +) to change(old value)."""
    k = key if key in node and f"+{key}" not in node else f"+{key}"
    old = node.get(k)
    node[k] = change(old)
    return old, node[k]


def properties(prj: Project, section: str):
    """(file, loaded YAML, entry) for each entry of `section` (models, sources) in the model paths'
    properties files, in order."""
    for f in prj.model_yamls():
        data = load_yaml(f)
        if not isinstance(data, dict):
            continue
        for entry in data.get(section) or []:
            if isinstance(entry, dict):
                yield f, data, entry


def ref_pattern(name: str) -> re.Pattern:
    return re.compile(
        r"""ref\(\s*(?:['"][^'"]*['"]\s*,\s*)?['"]""" + re.escape(name) + r"""['"]"""
    )


# --- the edits -----------------------------------------------------------------------------------


def edit_none(prj: Project) -> str:
    return "nothing changes"


def edit_yaml_reformat(prj: Project) -> str:
    files = prj.model_yamls()
    if not files:
        raise NotApplicable("no properties YAML")
    for f in files:
        dump_yaml(f, load_yaml(f))
    return f"{len(files)} properties YAML file(s) written back from their values"


def edit_model_sql(prj: Project) -> str:
    models = prj.models()
    if not models:
        raise NotApplicable("no model")
    m = models[0]
    text = m.read_text()
    m.write_text(text + ("" if text.endswith("\n") else "\n") + f"-- {EDIT_MARK}\n")
    return f"{prj.rel(m)} gets a trailing comment"


MACRO_TAG = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?-?%}", re.S)


def edit_macro_body(prj: Project) -> str:
    others = {f: f.read_text() for f in prj.text_files()}
    candidates = []
    for f in prj.macros():
        for m in MACRO_TAG.finditer(f.read_text()):
            candidates.append((f, m))
    if not candidates:
        raise NotApplicable("no macro")

    def called(name: str, defined_in: Path) -> bool:
        call = re.compile(r"\b" + re.escape(name) + r"\s*\(")
        for f, text in others.items():
            if f == defined_in:
                text = MACRO_TAG.sub("", text)
            if call.search(text):
                return True
        return False

    f, m = next(((f, m) for f, m in candidates if called(m.group(1), f)), candidates[0])
    text = f.read_text()
    f.write_text(text[: m.end()] + "{# " + EDIT_MARK + " #}" + text[m.end():])
    return f"macro {m.group(1)} ({prj.rel(f)}) gets a Jinja comment in its body"


TEST_TAG = re.compile(r"{%-?\s*test\s+(\w+)\s*\(.*?-?%}", re.S)


def edit_test_macro_body(prj: Project) -> str:
    for f in sorted(set(prj.macros()) | set(prj.files("test-paths", ["tests"], (".sql",))),
                    key=prj.rel):
        text = f.read_text()
        m = TEST_TAG.search(text)
        if m:
            f.write_text(text[: m.end()] + "{# " + EDIT_MARK + " #}" + text[m.end():])
            return f"generic test {m.group(1)} ({prj.rel(f)}) gets a Jinja comment in its body"
    raise NotApplicable("no generic test macro")


def edit_project_materialized(prj: Project) -> str:
    _, folder = prj.first_model_folder()
    old, new = set_config(folder_config(prj, folder), "materialized",
                          lambda v: "view" if v == "table" else "table")
    prj.save_cfg()
    return f"dbt_project.yml: models {folder}/ +materialized {old} -> {new}"


def edit_project_tags(prj: Project) -> str:
    _, folder = prj.first_model_folder()

    def more(v):
        v = [] if v is None else ([v] if isinstance(v, str) else list(v))
        return v + ["state_oracle"]

    old, new = set_config(folder_config(prj, folder), "tags", more)
    prj.save_cfg()
    return f"dbt_project.yml: models {folder}/ +tags {old} -> {new}"


def edit_project_persist_docs(prj: Project) -> str:
    old, new = set_config(folder_config(prj, None), "persist_docs",
                          lambda v: {"relation": True, "columns": True})
    prj.save_cfg()
    return f"dbt_project.yml: models of {prj.name} +persist_docs {old} -> {new}"


def edit_project_schema(prj: Project) -> str:
    _, folder = prj.first_model_folder()
    old, new = set_config(folder_config(prj, folder), "schema", lambda v: "state_oracle")
    prj.save_cfg()
    return f"dbt_project.yml: models {folder}/ +schema {old} -> {new}"


def edit_project_var(prj: Project) -> str:
    variables = prj.cfg.get("vars")
    if not isinstance(variables, dict):
        raise NotApplicable("no vars in dbt_project.yml")
    for k, v in variables.items():
        if isinstance(v, bool):
            new = not v
        elif isinstance(v, (int, float)):
            new = v + 1
        elif isinstance(v, str):
            new = v + "_state_oracle"
        elif isinstance(v, list):
            new = v + ["state_oracle"]
        else:
            continue
        variables[k] = new
        prj.save_cfg()
        return f"dbt_project.yml: var {k} {v!r} -> {new!r}"
    raise NotApplicable("no var with a scalar or list value")


def edit_column_description(prj: Project) -> str:
    for f, data, model in properties(prj, "models"):
        for col in model.get("columns") or []:
            if isinstance(col, dict) and isinstance(col.get("description"), str):
                col["description"] += " (edited)"
                dump_yaml(f, data)
                return f"{prj.rel(f)}: description of {model.get('name')}.{col.get('name')}"
    raise NotApplicable("no column description")


def edit_test_severity(prj: Project) -> str:
    def tests_of(entry: dict):
        for key in ("data_tests", "tests"):
            if isinstance(entry.get(key), list) and entry[key]:
                return entry[key]
        return None

    for f, data, model in properties(prj, "models"):
        owners = [c for c in model.get("columns") or [] if isinstance(c, dict)] + [model]
        for owner in owners:
            tests = tests_of(owner)
            if not tests:
                continue
            t = tests[0]
            if isinstance(t, str):
                name, tests[0] = t, {t: {"config": {"severity": "warn"}}}
                old = None
            elif isinstance(t, dict):
                if "test_name" in t or "name" in t and len(t) > 1:
                    name, body = t.get("test_name") or t.get("name"), t
                else:
                    name = next(iter(t))
                    if not isinstance(t[name], dict):
                        t[name] = {}
                    body = t[name]
                cfg = body.setdefault("config", {}) or {}
                body["config"] = cfg
                old = cfg.get("severity")
                cfg["severity"] = "error" if str(old).lower() == "warn" else "warn"
            else:
                continue
            dump_yaml(f, data)
            where = model.get("name") + (f".{owner.get('name')}" if owner is not model else "")
            new = "warn" if isinstance(t, str) else cfg["severity"]
            return f"{prj.rel(f)}: test {name} of {where} severity {old} -> {new}"
    raise NotApplicable("no generic test on a model")


def edit_model_meta(prj: Project) -> str:
    for f, data, model in properties(prj, "models"):
        cfg = model.get("config")
        if not isinstance(cfg, dict):
            cfg = model["config"] = {}
        meta = cfg.get("meta")
        cfg["meta"] = dict(meta or {}, state_oracle="edited")
        dump_yaml(f, data)
        return f"{prj.rel(f)}: {model.get('name')} gets config.meta.state_oracle"
    raise NotApplicable("no model in a properties YAML")


def edit_contract_column_type(prj: Project) -> str:
    for f, data, model in properties(prj, "models"):
        contract = (model.get("config") or {}).get("contract") or model.get("contract") or {}
        if not (isinstance(contract, dict) and contract.get("enforced") is True):
            continue
        for col in model.get("columns") or []:
            if isinstance(col, dict) and col.get("data_type"):
                old = col["data_type"]
                col["data_type"] = "text" if str(old).lower() == "varchar" else "varchar"
                dump_yaml(f, data)
                return (f"{prj.rel(f)}: contracted model {model.get('name')} column "
                        f"{col.get('name')} data_type {old!r} -> {col['data_type']!r}")
    raise NotApplicable("no model with an enforced contract and a column data_type")


def edit_unit_test_expect(prj: Project) -> str:
    for f, data, ut in properties(prj, "unit_tests"):
        rows = (ut.get("expect") or {}).get("rows")
        if isinstance(rows, list) and rows:
            rows.append(rows[0])
            dump_yaml(f, data)
            return f"{prj.rel(f)}: unit test {ut.get('name')} expects a copy of its first row"
    raise NotApplicable("no unit test with expected rows")


def edit_seed_rows(prj: Project) -> str:
    seeds = prj.seeds()
    if not seeds:
        raise NotApplicable("no seed")
    s = seeds[0]
    text = s.read_text()
    rows = list(csv.reader(io.StringIO(text)))
    last = rows[-1] if len(rows) > 1 else [""] * len(rows[0] if rows else [""])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(last)
    s.write_text(text + ("" if text.endswith("\n") else "\n") + buf.getvalue())
    return f"{prj.rel(s)} gets a copy of its last row"


def edit_source_freshness(prj: Project) -> str:
    for f, data, src in properties(prj, "sources"):
        cfg = src.get("config") if isinstance(src.get("config"), dict) else None
        holder, key = ((cfg, "freshness") if cfg is not None and "freshness" in cfg
                       else (src, "freshness"))
        old = holder.get(key)
        new = json.loads(json.dumps(old)) if isinstance(old, dict) else {}
        for level in ("warn_after", "error_after"):
            if isinstance(new.get(level), dict) and isinstance(new[level].get("count"), int):
                new[level]["count"] += 1
                break
        else:
            new["warn_after"] = {"count": 1, "period": "day"}
        holder[key] = new
        dump_yaml(f, data)
        where = "config.freshness" if holder is cfg else "freshness"
        return f"{prj.rel(f)}: source {src.get('name')} {where} {old} -> {new}"
    raise NotApplicable("no source")


def edit_new_source(prj: Project) -> str:
    for f, data, src in properties(prj, "sources"):
        src["tables"] = list(src.get("tables") or []) + [{"name": "state_oracle_new_table"}]
        dump_yaml(f, data)
        return f"{prj.rel(f)}: source {src.get('name')} gets a table state_oracle_new_table"
    mp = prj.paths("model-paths", ["models"])[0]
    f = prj.root / mp / "state_oracle_sources.yml"
    dump_yaml(f, {"version": 2, "sources": [{"name": "state_oracle",
                                             "tables": [{"name": "new_table"}]}]})
    return f"new file {prj.rel(f)} with source state_oracle.new_table"


def edit_metric_description(prj: Project) -> str:
    for f, data, metric in properties(prj, "metrics"):
        old = metric.get("description")
        metric["description"] = (old or "") + " (edited)"
        dump_yaml(f, data)
        return f"{prj.rel(f)}: description of metric {metric.get('name')}"
    raise NotApplicable("no metric")


def edit_metric_type_params(prj: Project) -> str:
    for f, data, metric in properties(prj, "metrics"):
        params = metric.get("type_params")
        measure = params.get("measure") if isinstance(params, dict) else None
        if isinstance(measure, str):
            params["measure"] = {"name": measure, "fill_nulls_with": 0}
        elif isinstance(measure, dict) and measure.get("name"):
            measure["fill_nulls_with"] = 1 if measure.get("fill_nulls_with") == 0 else 0
        else:
            continue
        dump_yaml(f, data)
        return (f"{prj.rel(f)}: metric {metric.get('name')} type_params.measure "
                f"-> {params['measure']}")
    raise NotApplicable("no metric with a type_params.measure")


def edit_new_model(prj: Project) -> str:
    mp, folder = prj.first_model_folder()
    f = prj.root / mp / folder / "state_oracle_new_model.sql"
    f.write_text("select 1 as state_oracle_id\n")
    return f"new model {prj.rel(f)}"


def edit_deleted_model(prj: Project) -> str:
    texts = {f: f.read_text() for f in prj.text_files()}
    spines = set()
    for _, _, model in properties(prj, "models"):
        if "time_spine" in model:
            spines.add(model.get("name"))
    for m in prj.models():
        name = m.stem
        if name in spines or name == "metricflow_time_spine":
            continue
        refs = ref_pattern(name)
        unit = re.compile(r"^\s*model:\s*['\"]?" + re.escape(name) + r"['\"]?\s*$", re.M)
        if any(f != m and (refs.search(t) or unit.search(t)) for f, t in texts.items()):
            continue
        m.unlink()
        patched = []
        for f in prj.model_yamls():
            data = load_yaml(f)
            models = data.get("models") if isinstance(data, dict) else None
            if isinstance(models, list) and any(
                    isinstance(e, dict) and e.get("name") == name for e in models):
                data["models"] = [e for e in models
                                  if not (isinstance(e, dict) and e.get("name") == name)]
                dump_yaml(f, data)
                patched.append(prj.rel(f))
        extra = f" and its entry in {', '.join(patched)}" if patched else ""
        return f"{prj.rel(m)} deleted{extra}"
    raise NotApplicable("every model is referred to")


EDITS = [
    ("none", edit_none),
    ("yaml_reformat", edit_yaml_reformat),
    ("model_sql", edit_model_sql),
    ("macro_body", edit_macro_body),
    ("test_macro_body", edit_test_macro_body),
    ("project_materialized", edit_project_materialized),
    ("project_tags", edit_project_tags),
    ("project_persist_docs", edit_project_persist_docs),
    ("project_schema", edit_project_schema),
    ("project_var", edit_project_var),
    ("column_description", edit_column_description),
    ("test_severity", edit_test_severity),
    ("model_meta", edit_model_meta),
    ("contract_column_type", edit_contract_column_type),
    ("unit_test_expect", edit_unit_test_expect),
    ("seed_rows", edit_seed_rows),
    ("source_freshness", edit_source_freshness),
    ("new_source", edit_new_source),
    ("metric_description", edit_metric_description),
    ("metric_type_params", edit_metric_type_params),
    # (name, edit, setup): the setup change is in the edit's baseline too.
    ("persisted_description", edit_column_description, edit_project_persist_docs),
    ("new_model", edit_new_model),
    ("deleted_model", edit_deleted_model),
]


# --- laying out the projects ---------------------------------------------------------------------


def lay_out_demo(work: Path) -> Path:
    """The demo's dbt project (dbt_project.yml and the folders it names), without its sluice-only
    metric tests."""
    proj = work / "demo"
    proj.mkdir(parents=True)
    shutil.copy(REPO / "dbt_project.yml", proj / "dbt_project.yml")
    cfg = load_yaml(REPO / "dbt_project.yml")
    dirs = set()
    for key in ("model-paths", "seed-paths", "macro-paths", "analysis-paths", "snapshot-paths",
                "test-paths", "docs-paths"):
        dirs.update(cfg.get(key) or [])
    for d in sorted(dirs):
        if (REPO / d).is_dir():
            shutil.copytree(REPO / d, proj / d)
    for f in ("packages.yml", "dependencies.yml", "selectors.yml"):
        if (REPO / f).is_file():
            shutil.copy(REPO / f, proj / f)
    # The sluice-only parts: dbt 1.10 rejects `data_tests:` under a metric ("Additional properties
    # are not allowed"), and ignores the top-level `metric_unit_tests:` that sluice reads.
    for f in Project(proj).model_yamls():
        data = load_yaml(f)
        if not isinstance(data, dict):
            continue
        changed = data.pop("metric_unit_tests", None) is not None
        for metric in data.get("metrics") or []:
            if isinstance(metric, dict):
                changed |= metric.pop("data_tests", None) is not None
                changed |= metric.pop("tests", None) is not None
        if changed:
            dump_yaml(f, data)
    return proj


def lay_out(name: str, specs: dict, args, work: Path) -> tuple[Path, dict]:
    if name == "demo":
        return lay_out_demo(work), {}
    spec = specs[name]
    return conf.lay_out(spec, Path(args.repos), Path(args.venv), work), spec


def fingerprint(proj: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(proj.rglob("*")):
        rel = p.relative_to(proj)
        if p.is_file() and not p.is_symlink() and rel.parts[0] not in ("target", "logs") \
                and p.suffix not in (".duckdb", ".wal"):
            h.update(rel.as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


# --- the tools -----------------------------------------------------------------------------------


class Dbt:
    """Real dbt through its Python API (dbtRunner), in this process: an edited project is parsed
    once and its manifest reused for every selector's `ls`, as `dbt ls` would parse it."""

    def __init__(self):
        from dbt.cli.main import dbtRunner  # from the dbt virtualenv
        from dbt.version import __version__

        self.runner = dbtRunner
        self.version = __version__

    def _common(self, proj: Path, profiles: Path, target: Path, logs: Path, vars_: dict):
        args = ["--project-dir", str(proj), "--profiles-dir", str(profiles),
                "--target-path", str(target), "--log-path", str(logs), "--log-level", "none"]
        return args + (["--vars", json.dumps(vars_)] if vars_ else [])

    def parse(self, proj, profiles, target, logs, vars_):
        r = self.runner().invoke(["parse"] + self._common(proj, profiles, target, logs, vars_))
        if not r.success:
            raise RuntimeError(f"dbt parse failed: {r.exception}")
        return r.result

    def answers(self, proj, profiles, target, logs, vars_, state) -> dict:
        return self.select(self.parse(proj, profiles, target, logs, vars_), proj, profiles,
                           target, logs, vars_, state)

    def answers_on(self, manifest_json: Path, state_json: Path, proj, profiles, scratch, logs,
                   vars_) -> dict:
        """dbt's selection on another tool's artifacts: the manifest `manifest_json` compared with
        the manifest `state_json` (--emulate: dbt's StateSelectorMethod on sluice's manifests)."""
        from dbt.contracts.graph.manifest import Manifest, WritableManifest

        state, dropped = self.loadable(state_json, scratch / "state")
        current, dropped2 = self.loadable(manifest_json, scratch / "current")
        manifest = Manifest.from_writable_manifest(
            WritableManifest.read_and_check_versions(str(current / "manifest.json")))
        out = self.select(manifest, proj, profiles, scratch / "target", logs, vars_, state)
        out["dropped"] = sorted(set(dropped + dropped2))
        return out

    @staticmethod
    def loadable(manifest_json: Path, dest: Path) -> tuple[Path, list[str]]:
        """A folder with a copy of `manifest_json` that dbt's schema accepts: a section it rejects
        is emptied (and named in the second value), if it is one state selection does not read."""
        from dbt.contracts.graph.manifest import WritableManifest

        data = json.loads(manifest_json.read_text())
        dropped = []
        # A node naming a macro the manifest does not have makes dbt's macro check fail (KeyError):
        # those names go.
        macros = data.get("macros") or {}
        dangling = set()
        for section in ("nodes", "macros"):
            for n in (data.get(section) or {}).values():
                deps = (n.get("depends_on") or {}).get("macros")
                if deps and any(m not in macros for m in deps):
                    dangling.update(m for m in deps if m not in macros)
                    n["depends_on"]["macros"] = [m for m in deps if m in macros]
        if dangling:
            dropped.append("depends_on.macros naming macros it does not have: "
                           + ", ".join(sorted(dangling)))
        dest.mkdir(parents=True, exist_ok=True)
        while True:
            (dest / "manifest.json").write_text(json.dumps(data))
            try:
                WritableManifest.read_and_check_versions(str(dest / "manifest.json"))
                return dest, dropped
            except Exception as e:
                m = re.search(r'Field "(\w+)" of type', str(e))
                section = m and m.group(1)
                if section not in ("groups", "docs", "exposures", "selectors") or \
                        not data.get(section):
                    raise
                dropped.append(f"{section} emptied, dbt's schema rejects it "
                               f"({first_lines(str(e), 1)[:300]})")
                data[section] = {}

    def select(self, manifest, proj, profiles, target, logs, vars_, state) -> dict:
        out = {}
        for sel in SELECTORS:
            cmd = ["ls"] + self._common(proj, profiles, target, logs, vars_) + [
                "--state", str(state), "--output", "json", "--output-keys", "unique_id"]
            if sel != ALL:
                cmd += ["--select", sel]
            r = self.runner(manifest=manifest).invoke(cmd)
            if not r.success:
                raise RuntimeError(f"dbt ls --select {sel} failed: {r.exception}")
            out[sel] = sorted(json.loads(line)["unique_id"] for line in r.result or [])
        return out


class Sluice:
    def __init__(self, exe: list[str]):
        self.exe = exe
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("DBT_STATE", "DBT_DEFER", "DBT_ARTIFACT_STATE"))}
        self.env.pop("DBT_PROFILES_DIR", None)
        self.env["NO_COLOR"] = "1"

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(self.exe + args, capture_output=True, text=True, env=self.env)

    def _common(self, proj, profiles, target, vars_):
        args = ["--project-dir", str(proj), "--profiles-dir", str(profiles),
                "--target-path", str(target)]
        return args + (["--vars", json.dumps(vars_)] if vars_ else [])

    def parse(self, proj, profiles, target, vars_) -> None:
        p = self._run(["parse"] + self._common(proj, profiles, target, vars_))
        if p.returncode != 0:
            raise RuntimeError(f"sluice parse failed: {first_lines(p.stderr or p.stdout)}")

    def answers(self, proj, profiles, target, vars_, state) -> dict:
        """{selector: ids}, or {selector: "error: ..."} where sluice failed."""
        out = {}
        for sel in SELECTORS:
            cmd = ["ls"] + self._common(proj, profiles, target, vars_) + [
                "--state", str(state), "--output", "json", "--output-keys", "unique_id"]
            if sel != ALL:
                cmd += ["--select", sel]
            p = self._run(cmd)
            if p.returncode != 0:
                out[sel] = "error: " + first_lines(p.stderr or p.stdout)
                continue
            ids = []
            for line in p.stdout.splitlines():
                line = line.strip()
                if line.startswith("{"):
                    ids.append(json.loads(line)["unique_id"])
            out[sel] = sorted(ids)
        return out


def first_lines(text: str, n: int = 3) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " / ".join(lines[:n]) if lines else "(no output)"


# --- recordings ----------------------------------------------------------------------------------


def encode(answers: dict, base_all: list[str]) -> dict:
    """Compact form of one edit's answers: `(all)` as what it adds to and removes from the
    baseline's, a set of most of `(all)` as {"all_but": [...]}."""
    everything = set(answers[ALL])
    out = {}
    for sel, ids in answers.items():
        s = set(ids)
        if sel == ALL:
            out[sel] = {"plus": sorted(s - set(base_all)), "minus": sorted(set(base_all) - s)}
        elif s <= everything and len(s) > len(everything) / 2:
            out[sel] = {"all_but": sorted(everything - s)}
        else:
            out[sel] = sorted(s)
    return out


def decode(recorded: dict, base_all: list[str]) -> dict:
    a = recorded[ALL]
    everything = (set(base_all) | set(a["plus"])) - set(a["minus"])
    out = {ALL: sorted(everything)}
    for sel, v in recorded.items():
        if sel != ALL:
            out[sel] = sorted(everything - set(v["all_but"])) if isinstance(v, dict) else v
    return out


# --- deliberate differences ----------------------------------------------------------------------


def load_deliberate() -> list[dict]:
    if not DELIBERATE.exists():
        return []
    entries = tomllib.loads(DELIBERATE.read_text()).get("difference", [])
    for e in entries:
        if not e.get("reason"):
            raise SystemExit(f"state-oracle: {DELIBERATE}: an entry without a reason: {e}")
    return entries


def deliberate_reason(entries, project, edit, selector, side, uid) -> dict | None:
    for e in entries:
        if (fnmatch.fnmatchcase(project, e.get("project", "*"))
                and fnmatch.fnmatchcase(edit, e.get("edit", "*"))
                and fnmatch.fnmatchcase(selector, e.get("selector", "*"))
                and e.get("only_in", "*") in ("*", side)
                and any(fnmatch.fnmatchcase(uid, pat) for pat in e.get("ids", ["*"]))):
            return e
    return None


# --- comparing -----------------------------------------------------------------------------------


def short_ids(ids: list[str], n: int) -> str:
    return ", ".join(ids[:n]) + (f" ... (+{len(ids) - n})" if len(ids) > n else "")


def differences(want: dict, got: dict, other: str, listed, n_ids: int) -> tuple[list[str], int]:
    """Lines naming, per selector, the ids only dbt selects and the ids only `other` selects
    (those `listed(selector, side, id)` accepts marked deliberate), and how many are not listed.
    Identical failures of `other` are one line."""
    lines, unlisted = [], 0
    failures: dict[str, list[str]] = {}
    # Ids that one tool's plain `ls` lists and the other's does not: in the other selectors they
    # are counted, not listed again.
    outside = set()
    if isinstance(got.get(ALL), list):
        outside = set(want[ALL]) ^ set(got[ALL])
    for sel in SELECTORS:
        g = got.get(sel)
        if isinstance(g, str):
            failures.setdefault(g, []).append(sel)
            continue
        a, b = set(want[sel]), set(g)
        for side, ids in (("dbt", sorted(a - b)), (other, sorted(b - a))):
            if not ids:
                continue
            new = [uid for uid in ids if not listed(sel, side, uid)]
            old = [uid for uid in ids if uid not in new]
            unlisted += len(new)
            for tag, group in (("", new), (" (deliberate)", old)):
                inside = [uid for uid in group if sel == ALL or uid not in outside]
                rest = len(group) - len(inside)
                if not group:
                    continue
                text = short_ids(inside, n_ids) if inside else ""
                if rest:
                    text += ("; " if inside else "") + f"{rest} id(s) of the (all) difference"
                lines.append(f"      {sel}: only {side}{tag}: {text}")
    for msg, sels in failures.items():
        which = "every selector" if len(sels) == len(SELECTORS) else ", ".join(sels)
        lines.append(f"      {other} failed on {which}: {msg}")
        unlisted += len(sels)
    return lines, unlisted


# Keys of unrendered_config that dbt's config comparison leaves out (CompareBehavior.Exclude).
NOT_COMPARED = {"tags", "alias", "schema", "database", "group"}
BUILTIN_PACKAGES = {"dbt", "dbt_duckdb", "dbt_postgres"}


def field_differences(dbt_m: dict, sl_m: dict) -> list[tuple[str, int, str]]:
    """The fields dbt's state comparison reads (same_contents and the macro check), node by node,
    that differ between dbt's manifest and sluice's for the same project: [(resource type and
    field, how many nodes, an example with both values)], grouped."""
    groups: dict[str, list[str]] = {}

    def add(uid: str, field: str, a, b) -> None:
        key = f"{uid.split('.')[0]} {field}"
        groups.setdefault(key, []).append(f"{uid}: dbt {short(a)} / sluice {short(b)}")

    def short(v) -> str:
        t = "(absent)" if v is _ABSENT else json.dumps(v, sort_keys=True)
        return t if len(t) <= 160 else t[:160] + "..."

    for uid, a in (dbt_m.get("nodes") or {}).items():
        b = (sl_m.get("nodes") or {}).get(uid)
        if b is None:
            continue
        for f in ("raw_code", "fqn"):
            if a.get(f, _ABSENT) != b.get(f, _ABSENT):
                add(uid, f, a.get(f, _ABSENT), b.get(f, _ABSENT))
        if a.get("resource_type") == "seed" and a.get("checksum") != b.get("checksum"):
            add(uid, "checksum", a.get("checksum"), b.get("checksum"))
        ua, ub = a.get("unrendered_config") or {}, b.get("unrendered_config") or {}
        for k in sorted(set(ua) | set(ub)):
            if ua.get(k, _ABSENT) != ub.get(k, _ABSENT):
                add(uid, f"unrendered_config.{k}" + (" (not compared)" if k in NOT_COMPARED
                                                     else ""),
                    ua.get(k, _ABSENT), ub.get(k, _ABSENT))
        da = sorted((a.get("depends_on") or {}).get("macros") or [])
        db = sorted((b.get("depends_on") or {}).get("macros") or [])
        if da != db:
            add(uid, "depends_on.macros", da, db)
        ca, cb = (a.get("config") or {}).get("contract"), (b.get("config") or {}).get("contract")
        if ca != cb:
            add(uid, "config.contract", ca, cb)
        if a.get("contract", _ABSENT) != b.get("contract", _ABSENT):
            add(uid, "contract", a.get("contract", _ABSENT), b.get("contract", _ABSENT))
        pa = (a.get("config") or {}).get("persist_docs") or {}
        if pa.get("relation") and a.get("description") != b.get("description"):
            add(uid, "description (persisted)", a.get("description"), b.get("description"))
    for uid, a in (dbt_m.get("sources") or {}).items():
        b = (sl_m.get("sources") or {}).get(uid)
        if b is None:
            continue
        for f in ("database", "schema", "identifier", "fqn", "quoting", "freshness",
                  "loaded_at_field", "external"):
            if a.get(f, _ABSENT) != b.get(f, _ABSENT):
                add(uid, f, a.get(f, _ABSENT), b.get(f, _ABSENT))
        ua, ub = a.get("unrendered_config") or {}, b.get("unrendered_config") or {}
        for k in sorted(set(ua) | set(ub)):
            if ua.get(k, _ABSENT) != ub.get(k, _ABSENT):
                add(uid, f"unrendered_config.{k}", ua.get(k, _ABSENT), ub.get(k, _ABSENT))
    for section in ("exposures", "metrics", "semantic_models", "saved_queries", "unit_tests"):
        for uid, a in (dbt_m.get(section) or {}).items():
            b = (sl_m.get(section) or {}).get(uid)
            if b is None:
                continue
            for k in sorted(set(a) | set(b)):
                if k not in ("created_at", "root_path") and a.get(k, _ABSENT) != b.get(k, _ABSENT):
                    add(uid, k, a.get(k, _ABSENT), b.get(k, _ABSENT))
    for uid, a in (dbt_m.get("macros") or {}).items():
        b = (sl_m.get("macros") or {}).get(uid)
        if b is not None and a.get("package_name") not in BUILTIN_PACKAGES \
                and a.get("macro_sql") != b.get("macro_sql"):
            add(uid, "macro_sql", a.get("macro_sql"), b.get("macro_sql"))
    for section in ("nodes", "sources", "exposures", "metrics", "semantic_models",
                    "saved_queries", "unit_tests"):
        a, b = set(dbt_m.get(section) or {}), set(sl_m.get(section) or {})
        for uid in sorted(a - b):
            add(uid, f"{section} entry", "present", _ABSENT)
        for uid in sorted(b - a):
            add(uid, f"{section} entry", _ABSENT, "present")
    return sorted(((k, len(v), v[0]) for k, v in groups.items()), key=lambda t: t[0])


_ABSENT = object()


def cross_check(dbt: Dbt, sl: Sluice, run, profiles, prev_dbt, prev_sl, scratch, logs, vars_,
                n_ids: int) -> None:
    """--cross: the unedited project's sluice manifest against dbt's as the --state (where sluice
    is a drop-in for dbt, its CI may compare with production artifacts that dbt wrote). Each
    selected id is a node whose state-relevant fields differ between the two tools' manifests
    (state:modified.macros always selects nodes using dbt's built-in macros, whose text sluice
    does not copy)."""
    fields = field_differences(json.loads((prev_dbt / "manifest.json").read_text()),
                               json.loads((prev_sl / "manifest.json").read_text()))
    print(f"  cross, fields dbt's state comparison reads that differ (dbt / sluice): "
          f"{len(fields) or 'none'}")
    for key, n, example in fields:
        print(f"      {key}: {n} node(s), e.g. {example}")
    for label, run_it in (
            ("emulated (dbt's selector, sluice's manifest against dbt's)",
             lambda: dbt.answers_on(prev_sl / "manifest.json", prev_dbt / "manifest.json", run,
                                    profiles, scratch / "emulated", logs, vars_)),
            ("sluice --state prev_dbt", lambda: sl.answers(run, profiles, scratch / "sluice",
                                                           vars_, prev_dbt))):
        try:
            got = run_it()
        except Exception as e:
            print(f"  cross, {label}: failed: {type(e).__name__}: {first_lines(str(e))}")
            continue
        for d in got.pop("dropped", []):
            print(f"  cross, {label}: repaired in sluice's manifest to load it: {d}")
        errors = {v for v in got.values() if isinstance(v, str)}
        if errors:
            print(f"  cross, {label}: failed: {sorted(errors)[0]}")
            continue
        sels = [s for s in SELECTORS if s.startswith("state:modified") or s == "state:new"]
        counts = ", ".join(f"{s.removeprefix('state:')} {len(got[s])}" for s in sels)
        print(f"  cross, {label}: {counts}")
        for s in sels:
            if s not in ("state:modified+", "state:modified.macros") and got[s]:
                print(f"      {s}: {short_ids(got[s], n_ids)}")


# --- main ----------------------------------------------------------------------------------------


def run_project(project: dict, specs: dict, args, dbt: Dbt | None, sl: Sluice, deliberate,
                used: set) -> tuple[int, int]:
    """Runs one project's edits; returns (edits that differ or fail, edits compared)."""
    name = project["name"]
    recorded = args.recorded and project.get("record")
    rec_path = RECORDINGS / f"{name}.json"
    with tempfile.TemporaryDirectory(prefix=f"state-oracle-{name}-") as w:
        work = Path(w)
        try:
            pristine, spec = lay_out(name, specs, args, work / "layout")
        except conf.Skip as s:
            print(f"{name}: skipped ({s})")
            return 0, 0
        vars_ = spec.get("vars") or {}
        profiles = work / "profiles"
        run = work / "run" / pristine.name
        prev_dbt, prev_sl, t_dbt, t_sl, t_emu, logs = (
            work / d for d in ("prev_dbt", "prev_sluice", "t_dbt", "t_sluice", "t_emulated",
                               "logs"))
        fp = fingerprint(pristine)

        def fresh_copy():
            for d in (run, t_dbt, t_sl, t_emu):
                if d.exists():
                    shutil.rmtree(d)
            shutil.copytree(pristine, run, symlinks=True)
            conf.write_profile(run, spec, profiles)

        rec = None
        if recorded:
            if not rec_path.exists():
                print(f"{name}: FAILED: no recording {rec_path.relative_to(REPO)} "
                      f"(run scripts/state-oracle --record --project {name})")
                return 1, 1
            rec = json.loads(rec_path.read_text())
            if rec.get("fingerprint") != fp or rec.get("format") != RECORDING_FORMAT:
                print(f"{name}: FAILED: the recording is stale (the project's files changed since "
                      f"dbt's answers were recorded): run scripts/state-oracle --record "
                      f"--project {name}")
                return 1, 1
        elif dbt is None:
            raise SystemExit("state-oracle: real dbt is needed (run under the dbt virtualenv)")

        started = time.time()
        fresh_copy()
        try:
            if rec is None:
                dbt.parse(run, profiles, prev_dbt, logs, vars_)
            sl.parse(run, profiles, prev_sl, vars_)
        except RuntimeError as e:
            print(f"{name}: FAILED at the baseline: {e}")
            return 1, 1
        keep = Path(args.keep) / name if args.keep else None
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            for src, dst in ((prev_dbt, "prev_dbt_manifest.json"),
                             (prev_sl, "prev_sluice_manifest.json")):
                if (src / "manifest.json").exists():
                    shutil.copy(src / "manifest.json", keep / dst)

        print(f"{name}  (dbt {'recorded' if rec else dbt.version})")
        if args.cross and rec is None:
            cross_check(dbt, sl, run, profiles, prev_dbt, prev_sl, work / "cross", logs, vars_,
                        args.ids)
        recording = {"format": RECORDING_FORMAT, "project": name, "fingerprint": fp,
                     "dbt_version": None if rec else dbt.version, "baseline_all": None,
                     "edits": {}}
        base_all = None
        bad = compared = 0
        dropped_notes: list[str] = []
        width = max(len(e[0]) for e in EDITS)
        for edit, fn, *setup in EDITS:
            if args.edit and edit not in args.edit:
                continue
            state_dbt, state_sl = prev_dbt, prev_sl
            try:
                fresh_copy()
                what = (setup[0](Project(run)) + "; then ") if setup else ""
                what += fn(Project(run))
                if setup:
                    # The edit's own baseline: the project with the setup change, parsed by both.
                    fresh_copy()
                    setup[0](Project(run))
                    state_dbt, state_sl = work / f"prev_dbt_{edit}", work / f"prev_sluice_{edit}"
                    if rec is None:
                        dbt.parse(run, profiles, state_dbt, logs, vars_)
                    sl.parse(run, profiles, state_sl, vars_)
                    fresh_copy()
                    setup[0](Project(run))
                    fn(Project(run))
            except NotApplicable as na:
                print(f"  {edit:<{width}}  n/a ({na})")
                if rec is None:
                    recording["edits"][edit] = {"edit": None, "not_applicable": str(na)}
                continue
            except RuntimeError as e:  # a tool failed on the setup's baseline
                print(f"  {edit:<{width}}  ERROR at the edit's baseline: {e}")
                compared += 1
                bad += 1
                if rec is None:
                    recording["edits"][edit] = {"edit": None, "error": str(e)}
                continue
            compared += 1
            if rec is not None:
                r = rec["edits"].get(edit)
                if r is None or r.get("edit") != what:
                    print(f"  {edit:<{width}}  FAILED: stale recording (recorded edit: "
                          f"{r and r.get('edit')!r}, now: {what!r})")
                    bad += 1
                    continue
                if "error" in r:
                    want = r["error"]
                else:
                    want = decode(r["answers"], rec["baseline_all"])
            else:
                try:
                    want = dbt.answers(run, profiles, t_dbt, logs, vars_, state_dbt)
                except RuntimeError as e:
                    want = f"error: {e}"
                if base_all is None and edit == "none" and isinstance(want, dict):
                    base_all = want[ALL]
                    recording["baseline_all"] = base_all
                recording["edits"][edit] = (
                    {"edit": what, "error": want} if isinstance(want, str)
                    else {"edit": what, "answers": encode(want, recording.get("baseline_all")
                                                                or want[ALL])})
            got = sl.answers(run, profiles, t_sl, vars_, state_sl)
            emulated = None
            if args.emulate or keep:
                try:
                    sl.parse(run, profiles, t_sl, vars_)
                except RuntimeError as e:
                    emulated = f"error: {e}"
            if args.emulate and emulated is None and dbt is not None:
                try:
                    emulated = dbt.answers_on(t_sl / "manifest.json", state_sl / "manifest.json",
                                              run, profiles, t_emu, logs, vars_)
                except Exception as e:  # sluice's manifest does not load, or dbt fails on it
                    emulated = f"error: {type(e).__name__}: {first_lines(str(e))}"
            if keep:
                k = keep / edit
                k.mkdir(parents=True, exist_ok=True)
                (k / "edit.txt").write_text(what + "\n")
                for src, dst in ((t_dbt, "dbt_manifest.json"), (t_sl, "sluice_manifest.json")):
                    if (src / "manifest.json").exists():
                        shutil.copy(src / "manifest.json", k / dst)
                (k / "answers.json").write_text(json.dumps(
                    {"dbt": want, "sluice": got, "emulated": emulated}, indent=1))
            if isinstance(want, str):
                print(f"  {edit:<{width}}  ERROR: {want}  [{what}]")
                bad += 1
                continue

            def listed(sel, side, uid):
                e = deliberate_reason(deliberate, name, edit, sel, side, uid)
                if e is not None:
                    used.add(id(e))
                return e is not None

            lines, unlisted = differences(want, got, "sluice", listed, args.ids)
            n = len(want["state:modified+"])
            if not lines:
                verdict = "OK"
            elif unlisted:
                verdict = "DIFFERENT"
                bad += 1
            else:
                verdict = "OK (deliberate differences)"
            print(f"  {edit:<{width}}  {verdict}  [{what}; dbt state:modified+ selects {n}]")
            if lines and (unlisted or args.verbose):
                print("\n".join(lines))
            if args.emulate and emulated is not None:
                if isinstance(emulated, str):
                    print(f"      emulated: {emulated}")
                else:
                    for d in emulated.pop("dropped", []):
                        if d not in dropped_notes:
                            dropped_notes.append(d)
                            print(f"      emulated: repaired in sluice's manifest to load it: {d}")
                    elines, _ = differences(want, emulated, "emulated", lambda *a: False, args.ids)
                    print("      emulated (dbt's selector on sluice's manifests): "
                          + ("OK" if not elines else "DIFFERENT"))
                    if elines:
                        print("\n".join(elines))
            sys.stdout.flush()
        print(f"  {name}: {compared - bad}/{compared} edits agree ({time.time() - started:.0f}s)")
        if args.record and project.get("record") and rec is None:
            if base_all is None:
                print(f"  {name}: not recorded (the control edit `none` did not run)")
            elif any("error" in e for e in recording["edits"].values()):
                print(f"  {name}: not recorded (dbt failed on an edit)")
            else:
                RECORDINGS.mkdir(parents=True, exist_ok=True)
                rec_path.write_text(json.dumps(recording, indent=1, sort_keys=False) + "\n")
                print(f"  {name}: recorded dbt's answers in {rec_path.relative_to(REPO)}")
        return bad, compared


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", action="append", default=[],
                    help="run only this project (repeatable): " +
                    ", ".join(p["name"] for p in PROJECTS))
    ap.add_argument("--edit", action="append", default=[],
                    help="run only this edit (repeatable): " + ", ".join(e[0] for e in EDITS))
    ap.add_argument("--sluice", help="the sluice binary (default: cargo build, as conformance)")
    ap.add_argument("--release", action="store_true", help="build and use a release sluice")
    ap.add_argument("--record", action="store_true",
                    help="write real dbt's answers for the demo and the tutorial to "
                         "tests/state_oracle/<project>.json")
    ap.add_argument("--recorded", action="store_true",
                    help="read dbt's answers for the demo and the tutorial from the recordings")
    ap.add_argument("--repos", default=os.environ.get("SLUICE_CONFORMANCE_REPOS", "/work/.mirror"),
                    help="folder of fetched repositories")
    ap.add_argument("--venv", required=True)
    ap.add_argument("--list", default=str(REPO / "tests" / "conformance" / "projects.toml"))
    ap.add_argument("--emulate", action="store_true",
                    help="also run dbt's own state selection on sluice's manifests (live dbt; "
                         "tells manifest differences from selection differences)")
    ap.add_argument("--cross", action="store_true",
                    help="also compare sluice's unedited manifest with dbt's as the --state "
                         "(live dbt)")
    ap.add_argument("--keep", help="keep both tools' manifests and answers per edit under DIR")
    ap.add_argument("--ids", type=int, default=8, help="ids shown per difference")
    ap.add_argument("-v", "--verbose", action="store_true", help="show deliberate differences")
    args = ap.parse_args()
    if args.record and args.recorded:
        ap.error("--record and --recorded exclude each other")
    if args.record and args.edit:
        ap.error("--record records every edit: leave out --edit")

    names = [p["name"] for p in PROJECTS]
    for p in args.project:
        if p not in names:
            ap.error(f"no project {p!r} (one of {', '.join(names)})")
    for e in args.edit:
        if e not in {e[0] for e in EDITS}:
            ap.error(f"no edit {e!r}")
    projects = [p for p in PROJECTS if not args.project or p["name"] in args.project]
    specs = {p["name"]: p for p in tomllib.loads(Path(args.list).read_text())["project"]}

    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["NO_COLOR"] = "1"
    for k in list(os.environ):
        if k.startswith(("DBT_STATE", "DBT_DEFER", "DBT_ARTIFACT_STATE", "DBT_PROFILES_DIR",
                         "DBT_TARGET_PATH")):
            del os.environ[k]
    needs_dbt = (not args.recorded or args.emulate or args.cross
                 or any(not p.get("record") for p in projects))
    dbt = Dbt() if needs_dbt else None
    sl = Sluice(conf.sluice_exe(args))
    deliberate = load_deliberate()
    used: set = set()
    bad = compared = 0
    for project in projects:
        b, c = run_project(project, specs, args, dbt, sl, deliberate, used)
        bad, compared = bad + b, compared + c
    unused = [e for e in deliberate if id(e) not in used]
    if unused and not args.project and not args.edit:
        print(f"state-oracle: {len(unused)} deliberate difference(s) matched nothing:")
        for e in unused:
            print(f"  - {e.get('project', '*')} {e.get('edit', '*')} {e.get('selector', '*')}: "
                  f"{e['reason'][:100]}")
    print(f"state-oracle: {compared - bad}/{compared} (project, edit) pairs agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
