//! A seeded mutation fuzzer for the front end: YAML properties, `dbt_project.yml`, the Jinja
//! rewrite layer, template rendering (parse and compile phases), macro files, the semantic
//! layer's YAML and metric expressions, and the SQL helpers.
//!
//! Every input is a mutation of a corpus item (inline seeds below plus the repository's own
//! fixture projects), made by a deterministic engine: input `i` of target `t` depends only on
//! the seed, `t` and `i`, so any failure can be replayed from its `(seed, target, iteration)`.
//! Each call runs under `catch_unwind` (a panic is a failure) on a worker thread watched by a
//! watchdog (an input running longer than the budget is a hang, a failure).
//!
//! By default a few thousand executions run (seconds, in CI). Long runs: `scripts/fuzz`, or
//! `SLUICE_FUZZ_ITERS` (iterations per target), `SLUICE_FUZZ_SEED`, `SLUICE_FUZZ_THREADS`,
//! `SLUICE_FUZZ_TARGETS` (comma-separated names), `SLUICE_FUZZ_BUDGET_MS` (hang budget),
//! `SLUICE_FUZZ_SECS` (stop after this many seconds), `SLUICE_FUZZ_JOURNAL` (a folder: each
//! worker writes the target and iteration it is about to run to `fuzz-<n>` there, so an abort
//! that kills the process, such as a stack overflow, can still be replayed);
//! `SLUICE_FUZZ_REPLAY=target:iteration` reruns one input and prints it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::compile::{inject_ctes, Properties};
use sluice::diagnostics::Diagnostic;
use sluice::metrics::ModelIndex;
use sluice::project::config::ProjectConfig;
use sluice::project::{yaml, YamlFile};
use sluice::sql::Relation;
use sluice::templating::{
    Globals, MacroFile, MacroIndex, NodeInfo, Phase, RenderCtx, Services, Templates,
};

// ---------------------------------------------------------------------------------------------
// Random numbers and mutations
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, fast, and good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Tokens that matter to one of the grammars (YAML, Jinja, SQL, dbt's own forms).
const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{%-",
    "-%}",
    "{{-",
    "-}}",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "`",
    ":",
    ": ",
    "-",
    "- ",
    "*",
    "&",
    "&a ",
    "*a",
    "<<: ",
    "<<",
    "\t",
    "\n",
    "\r\n",
    "\r",
    " ",
    "  ",
    "#",
    "|",
    "|-",
    ">",
    "!",
    "!!str ",
    "!!binary ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    ",",
    ".",
    "..",
    "=",
    "==",
    "~",
    "%",
    "**",
    "//",
    "/",
    "\\",
    "\\u",
    "$",
    "@",
    ";",
    "--",
    "/*",
    "*/",
    "null",
    "~",
    "true",
    "yes",
    "no",
    "0",
    "-1",
    "1e400",
    "99999999999999999999999",
    "0x",
    "nan",
    ".inf",
    "{% if %}",
    "{% endif %}",
    "{% for x in y %}",
    "{% endfor %}",
    "{% macro m(a, b=1) %}",
    "{% endmacro %}",
    "{% set x = [1, {'a': 2}] %}",
    "{% call m() %}",
    "{% endcall %}",
    "{% raw %}",
    "{% endraw %}",
    "{% do x.append(1) %}",
    "{{ ref('a') }}",
    "{{ source('s', 't') }}",
    "{{ config(materialized='table') }}",
    "{{ var('v') }}",
    "{{ this }}",
    "{{ caller() }}",
    "{{ return(1) }}",
    "{{ adapter.dispatch('m')() }}",
    " is not ",
    " in ",
    " not in ",
    " if ",
    " else ",
    "loop.",
    "recursive",
    "self.",
    "super()",
    "models:",
    "sources:",
    "metrics:",
    "semantic_models:",
    "columns:",
    "name: ",
    "tests:",
    "data_tests:",
    "config:",
    "+materialized: ",
    "vars:",
    "type_params:",
    "expr: ",
    "measure: ",
    "dimensions:",
    "entities:",
    "measures:",
    "agg: ",
    "type: ",
    "filter: ",
    "{{ Dimension('a__b') }}",
    "{{ TimeDimension('t', 'day') }}",
    "{{ Entity('e') }}",
    "{{ Metric('m', ['e']) }}",
    "select ",
    "from ",
    "with ",
    " as ",
    "union all ",
    "where ",
    "join ",
    "over (",
    "case when ",
    " end",
    "cast(",
    "::",
    "\u{0}",
    "\u{feff}",
    "\u{2028}",
    "\u{85}",
    "é",
    "\u{301}",
    "𝕏",
    "\u{10FFFF}",
    "\u{fffd}",
    "日本",
];

/// Deep-nesting openers: repeated many times in a row.
const NESTERS: &[&str] = &[
    "(",
    "[",
    "{",
    "{{ ",
    "{% if x %}",
    "{% for a in b %}",
    "- ",
    "  ",
    "a: ",
    "[{",
    "((",
    "{% macro m() %}",
    "case when 1 then ",
    "not ",
    "-",
    "{{ (",
    "'",
    "\"",
    "x.",
    "|upper",
    "{% call m() %}",
    "&a [*a, ",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2147483648",
    "-9223372036854775809",
    "18446744073709551616",
    "1e308",
    "1e-400",
    "0.5",
    "NaN",
    "inf",
    "99999999",
];

/// Largest input handed to a target (bigger inputs are cut: slow, not interesting).
const MAX_INPUT: usize = 64 * 1024;

fn insert(buf: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    buf.splice(at..at, bytes.iter().copied());
}

/// One random edit of `buf`; `other` is another corpus item (for splicing).
fn mutate_once(rng: &mut Rng, buf: &mut Vec<u8>, other: &[u8]) {
    let len = buf.len();
    let pos = |rng: &mut Rng| if len == 0 { 0 } else { rng.below(len + 1) };
    match rng.below(16) {
        0 if len > 0 => {
            let i = rng.below(len);
            buf[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            buf[i] = rng.next() as u8;
        }
        2..=4 => {
            let at = pos(rng);
            insert(buf, at, rng.pick(TOKENS).as_bytes());
        }
        5 if len > 0 => {
            // Delete a range.
            let a = rng.below(len);
            let b = (a + 1 + rng.below(32.min(len - a))).min(len);
            buf.drain(a..b);
        }
        6 if len > 0 => {
            // Duplicate a range, sometimes many times.
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64.min(len - a))).min(len);
            let chunk = buf[a..b].to_vec();
            let times = if rng.below(4) == 0 {
                1 + rng.below(200)
            } else {
                1
            };
            let at = pos(rng);
            let mut rep = Vec::with_capacity(chunk.len() * times);
            for _ in 0..times {
                rep.extend_from_slice(&chunk);
            }
            insert(buf, at, &rep);
        }
        7 => {
            // Deep nesting, sometimes closed again.
            let opener = rng.pick(NESTERS);
            let deep = rng.below(4) == 0;
            let depth = 1 + rng.below(if deep { 2000 } else { 64 });
            let at = pos(rng);
            insert(buf, at, opener.repeat(depth).as_bytes());
        }
        8 => {
            // A long run of one token or character.
            let tok = rng.pick(TOKENS);
            let at = pos(rng);
            insert(buf, at, tok.repeat(1 + rng.below(3000)).as_bytes());
        }
        9 if len > 0 => {
            buf.truncate(rng.below(len));
        }
        10 if !other.is_empty() => {
            // Splice: a piece of another corpus item replaces a piece of this one.
            let a = rng.below(other.len());
            let b = (a + 1 + rng.below(other.len() - a)).min(other.len());
            let at = pos(rng);
            let end = (at + rng.below(64)).min(len);
            buf.splice(at..end, other[a..b].iter().copied());
        }
        11 if len > 0 => {
            // Swap two lines.
            let text = String::from_utf8_lossy(buf).into_owned();
            let mut lines: Vec<&str> = text.split('\n').collect();
            if lines.len() > 1 {
                let i = rng.below(lines.len());
                let j = rng.below(lines.len());
                lines.swap(i, j);
                *buf = lines.join("\n").into_bytes();
            }
        }
        12 if len > 0 => {
            // Replace a digit run with an interesting number.
            let start = rng.below(len);
            if let Some(off) = buf[start..].iter().position(u8::is_ascii_digit) {
                let a = start + off;
                let b = a + buf[a..].iter().take_while(|c| c.is_ascii_digit()).count();
                buf.splice(a..b, rng.pick(NUMBERS).bytes());
            }
        }
        13 if len > 0 => {
            // Re-indent a line (YAML structure).
            let at = rng.below(len);
            let line_start = buf[..at]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            if rng.below(2) == 0 {
                insert(buf, line_start, &b"  "[..1 + rng.below(2)]);
            } else if buf.get(line_start) == Some(&b' ') {
                buf.remove(line_start);
            }
        }
        14 => {
            // Random bytes (often invalid UTF-8, made lossy below).
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let at = pos(rng);
            insert(buf, at, &bytes);
        }
        _ => {
            // Replace a quoted or bare word with another token.
            let at = pos(rng);
            let end = (at + 1 + rng.below(8)).min(buf.len());
            let tok = rng.pick(TOKENS).as_bytes().to_vec();
            buf.splice(at.min(end)..end, tok);
        }
    }
    if buf.len() > MAX_INPUT {
        buf.truncate(MAX_INPUT);
    }
}

/// Input `iteration` of a target: a corpus item, one to eight stacked mutations (none for the
/// first pass over the corpus, so that every seed is also run as written).
fn make_input(corpus: &[String], seed: u64, target: usize, iteration: u64) -> String {
    let mut rng = Rng(seed ^ (target as u64).wrapping_mul(0xA076_1D64_78BD_642F) ^ iteration);
    // Decorrelate neighbouring iterations.
    for _ in 0..2 {
        rng.next();
    }
    if (iteration as usize) < corpus.len() {
        return corpus[iteration as usize].clone();
    }
    let base = rng.pick(corpus);
    let other = rng.pick(corpus).as_bytes().to_vec();
    let mut buf = base.as_bytes().to_vec();
    let many = rng.below(3) == 0;
    let n = 1 + rng.below(if many { 8 } else { 3 });
    for _ in 0..n {
        mutate_once(&mut rng, &mut buf, &other);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

const SEED_PROPERTIES: &[&str] = &[
    "version: 2\nmodels:\n  - name: orders\n    description: \"All orders\"\n    config:\n      materialized: table\n      tags: [a, b]\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n      - name: status\n        tests:\n          - accepted_values:\n              values: ['placed', 'shipped']\n          - relationships:\n              to: ref('customers')\n              field: id\n",
    "version: 2\nsources:\n  - name: raw\n    schema: main\n    loaded_at_field: _loaded\n    freshness:\n      warn_after: {count: 12, period: hour}\n    tables:\n      - name: orders\n        identifier: raw_orders\n        columns:\n          - name: id\n            tests: [not_null]\n",
    "version: 2\nseeds:\n  - name: countries\n    config:\n      column_types: {code: varchar}\n      delimiter: \";\"\nsnapshots:\n  - name: snap\n    config:\n      strategy: timestamp\n      unique_key: id\n      updated_at: updated\n",
    "defaults: &d\n  materialized: view\n  tags: [x]\nmodels:\n  - name: a\n    config:\n      <<: *d\n      materialized: table\n  - name: b\n    config: *d\n    versions:\n      - v: 1\n      - v: 2\n        columns:\n          - include: all\n            exclude: [x]\n",
    "version: 2\nunit_tests:\n  - name: t1\n    model: orders\n    given:\n      - input: ref('stg')\n        rows:\n          - {id: 1, amount: 2.5}\n      - input: source('raw', 'o')\n        format: csv\n        rows: |\n          id,amount\n          1,2\n    expect:\n      rows:\n        - {id: 1}\n    overrides:\n      vars: {x: 1}\n      macros: {is_incremental: true}\n",
    "version: 2\nexposures:\n  - name: dash\n    type: dashboard\n    owner: {name: me, email: me@x.io}\n    depends_on: [ref('orders'), source('raw', 'orders')]\ngroups:\n  - name: finance\n    owner: {name: f}\nmacros:\n  - name: cents\n    arguments:\n      - name: col\n        type: string\n",
    "version: 2\nmodels:\n  - name: x\n    columns:\n      - name: a\n        data_type: int\n        constraints:\n          - type: not_null\n          - type: check\n            expression: \"a > 0\"\n    data_tests:\n      - dbt_utils.expression_is_true:\n          expression: \"a >= 0\"\n          config:\n            where: \"a is not null\"\n            severity: warn\n",
    "models:\n- name: \"quoted\"\n  description: >-\n    folded\n    text\n  meta: {owner: '@me', \"k\": [1, 2.0, null, ~, true, 0x1F, 1e3]}\n  docs: {show: false}\n",
];

const SEED_METRICS: &[&str] = &[
    "semantic_models:\n  - name: orders\n    model: ref('orders')\n    defaults:\n      agg_time_dimension: ordered_at\n    entities:\n      - name: order\n        type: primary\n        expr: id\n      - name: customer\n        type: foreign\n        expr: customer_id\n    dimensions:\n      - name: ordered_at\n        type: time\n        type_params:\n          time_granularity: day\n      - name: status\n        type: categorical\n    measures:\n      - name: revenue\n        agg: sum\n        expr: amount\n      - name: order_count\n        agg: count\n        expr: 1\n      - name: p90\n        agg: percentile\n        agg_params: {percentile: 0.9}\n        expr: amount\nmetrics:\n  - name: revenue\n    label: Revenue\n    type: simple\n    type_params:\n      measure: revenue\n  - name: aov\n    type: ratio\n    type_params:\n      numerator: revenue\n      denominator: order_count\n  - name: growth\n    type: derived\n    type_params:\n      expr: (revenue - prev) / nullif(prev, 0)\n      metrics:\n        - name: revenue\n        - name: revenue\n          alias: prev\n          offset_window: 1 month\n  - name: cum\n    type: cumulative\n    type_params:\n      measure: revenue\n      window: 7 days\n  - name: conv\n    type: conversion\n    type_params:\n      conversion_type_params:\n        entity: customer\n        base_measure: order_count\n        conversion_measure: order_count\n        window: 7 days\n  - name: shipped\n    type: simple\n    type_params:\n      measure: revenue\n    filter: \"{{ Dimension('order__status') }} = 'shipped'\"\n",
    "semantic_models:\n  - name: customers\n    model: ref('customers')\n    entities:\n      - {name: customer, type: primary, expr: id}\n    dimensions:\n      - {name: region, type: categorical}\n      - {name: signed_up, type: time, type_params: {time_granularity: month}}\n    measures:\n      - {name: customers, agg: count_distinct, expr: id, agg_time_dimension: signed_up}\nsaved_queries:\n  - name: by_region\n    query_params:\n      metrics: [revenue]\n      group_by: [\"Dimension('customer__region')\", \"TimeDimension('metric_time', 'month')\"]\n      where: [\"{{ TimeDimension('metric_time', 'day') }} >= '2024-01-01'\"]\n    exports:\n      - name: e\n        config: {export_as: table}\n",
    "models:\n  - name: orders\n    semantic_model:\n      enabled: true\n    agg_time_dimension: ordered_at\n    columns:\n      - name: id\n        entity: {type: primary, name: order}\n      - name: ordered_at\n        granularity: day\n        dimension: {type: time}\n    metrics:\n      - name: n_orders\n        type: simple\n        agg: count\n        expr: id\n      - name: ratio2\n        type: derived\n        expr: n_orders * 2 + 1\n        input_metrics: [n_orders]\n",
];

const SEED_PROJECTS: &[&str] = &[
    "name: shop\nversion: '1.0'\nconfig-version: 2\nprofile: shop\nmodel-paths: [models]\nmacro-paths: [macros]\nrequire-dbt-version: [\">=1.8.0\", \"<2.0.0\"]\nvars:\n  start: '2024-01-01'\n  shop:\n    n: 3\nmodels:\n  shop:\n    +materialized: view\n    staging:\n      +schema: stg\n      +tags: [\"a\"]\n    marts:\n      materialized: table\n      +post-hook: \"select 1\"\nseeds:\n  +quote_columns: false\n  shop:\n    countries:\n      +column_types: {code: varchar(2)}\ndispatch:\n  - macro_namespace: dbt_utils\n    search_order: [shop, dbt_utils]\non-run-start: [\"create schema if not exists x\"]\non-run-end: \"{{ log('done') }}\"\nquoting:\n  identifier: false\nflags:\n  send_anonymous_usage_stats: false\n",
    "name: 'p'\nprofile: \"{{ env_var('P', 'p') }}\"\nrequire-dbt-version: '>=1.10.0'\nclean-targets: [target, dbt_packages]\ntarget-path: target\nquery-comment:\n  comment: \"{{ node.unique_id }}\"\n  append: true\nsnapshots:\n  +target_schema: snaps\ntests:\n  +severity: warn\n  +store_failures: true\ndata_tests:\n  p:\n    +limit: 5\nsemantic-models:\n  +enabled: true\n",
];

const SEED_TEMPLATES: &[&str] = &[
    "{{ config(materialized='incremental', unique_key='id', tags=['a']) }}\nwith src as (\n  select * from {{ ref('stg_orders') }}\n  {% if is_incremental() %}\n  where updated > (select max(updated) from {{ this }})\n  {% endif %}\n)\nselect id, {{ cents('amount') }} as amount from src\n",
    "{% set cols = ['a', 'b', 'c'] %}\nselect\n{%- for c in cols %}\n  sum({{ c }}) as {{ c }}_total{% if not loop.last %},{% endif %}\n{%- endfor %}\nfrom {{ source('raw', 'orders') }}\n{# a comment #}\n",
    "{% set d = {'a': 1, 'b': [1, 2]} %}{% do d.update({'c': 3}) %}{% set xs = [] %}{% do xs.append(d['a']) %}\nselect {{ d | tojson }} as j, {{ xs | length }} as n, '{{ var('start', '2020-01-01') }}' as s, {{ \"%s-%d\" % ('x', 4) }} as f\n",
    "{% macro twice(x) %}{{ x }} * 2{% endmacro %}\n{% call statement('q', fetch_result=True) %}select 1{% endcall %}\nselect {{ twice(3) }}, {{ 'abc'.upper() }}, {{ 'a,b'.split(',') | join('|') }}, {{ modules.datetime.date(2024, 1, 2).isoformat() }}\n",
    "{%- set rel = adapter.get_relation(database=target.database, schema=target.schema, identifier='x') -%}\n{% if rel is none %}select 1{% else %}select * from {{ rel }}{% endif %}\n{{ log('hi', info=True) }}{{ dbt_utils.star(ref('a')) if false }}\n{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}\n",
    "select {{ dbt.current_timestamp() }} as now, {{ dbt.dateadd('day', 1, 'd') }} as tomorrow, {{ adapter.quote('x') }}, {{ dbt.safe_cast('1', api.Column.translate_type('string')) }}, {{ range(3) | list }}, {{ (1, 2) }} , {{ none }}, {{ 7 // 2 }}, {{ 2 ** 8 }}\n",
    "{% raw %}{{ not rendered }}{% endraw %}\n{%- if execute -%}\n{% set r = run_query('select 1') %}\n{%- endif %}\nselect {{ \"a\" ~ 'b' }}, {{ [1,2,3][1:] }}, {{ {'k': 'v'}.get('k') }}, {{ 'x' in 'xyz' }}, {{ 3 is divisibleby 3 }}\n",
    "{% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns.total + i %}{% endfor %}select {{ ns.total }}, {{ fromjson('{\"a\": [1]}')['a'][0] }}, {{ tojson({'b': none}) }}, {{ fromyaml('a: 1') }}, {{ toyaml({'a': 1}) }}, {{ zip([1], [2]) | list }}\n",
];

const SEED_MACROS: &[&str] = &[
    "{% macro cents(col, scale=2) -%}\n  ({{ col }} / 100)::numeric(16, {{ scale }})\n{%- endmacro %}\n\n{% macro default__thing() %}1{% endmacro %}\n{% macro thing() %}{{ return(adapter.dispatch('thing')()) }}{% endmacro %}\n",
    "{% test positive(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} < 0\n{% endtest %}\n{% materialization custom, default %}\n{%- set target_relation = this.incorporate(type='table') -%}\n{% call statement('main') %}{{ sql }}{% endcall %}\n{{ return({'relations': [target_relation]}) }}\n{% endmaterialization %}\n",
    "{% macro generate_schema_name(custom_schema_name, node) -%}\n    {%- set default_schema = target.schema -%}\n    {%- if custom_schema_name is none -%}{{ default_schema }}{%- else -%}{{ default_schema }}_{{ custom_schema_name | trim }}{%- endif -%}\n{%- endmacro %}\n{% docs x %}docs block{% enddocs %}\n{% snapshot snap %}select 1{% endsnapshot %}\n",
    "{% macro rec(n) %}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{{ n }}{% endmacro %}\n{% macro outer() %}{{ caller() }}{% endmacro %}\n{% macro kw(a, b=none) %}{{ varargs }}{{ kwargs }}{% endmacro %}\n",
];

const SEED_SQL: &[&str] = &[
    "select 1 as a",
    "with a as (select 1), b as (select * from a) select * from b",
    "  WITH recursive t(n) as (select 1 union all select n + 1 from t where n < 5) select * from t",
    "-- comment\nselect 'with' as w /* with x as () */, \"with\" from x",
    "select * from (with inner_cte as (select 1) select * from inner_cte) s",
    "(select 1) union all (select 2)",
    "a + b * 2 / nullif(c, 0)",
    "case when x > 1 then 'a''b' else coalesce(y, 0) end",
    "sum(amount) filter (where status = 'done') over (partition by k order by t rows between 1 preceding and current row)",
    "cast(x as decimal(10, 2)) :: varchar || 'z' between 1 and 2 and not exists (select 1)",
];

/// What each target reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Properties,
    Metrics,
    Project,
    Template,
    Macro,
    Sql,
}

/// Repository files of one kind (fixture projects and the demo), sorted, small ones only.
fn repo_files(kind: Kind) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in ["tests/fixtures", "models", "macros", "metrics", "snapshots"] {
        for e in walkdir::WalkDir::new(root.join(dir))
            .into_iter()
            .filter_map(Result::ok)
        {
            let p = e.path();
            let s = p.to_string_lossy();
            if !e.file_type().is_file()
                || s.contains("/target/")
                || s.contains("/dbt_packages/")
                || s.contains("/expected/")
            {
                continue;
            }
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let yml = name.ends_with(".yml") || name.ends_with(".yaml");
            let in_macros = s.contains("/macros/");
            let keep = match kind {
                Kind::Project => name == "dbt_project.yml",
                Kind::Properties | Kind::Metrics => {
                    yml && name != "dbt_project.yml" && name != "profiles.yml"
                }
                Kind::Template => name.ends_with(".sql") && !in_macros,
                Kind::Macro => name.ends_with(".sql") && in_macros,
                Kind::Sql => false,
            };
            if keep {
                paths.push(p.to_path_buf());
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|t| t.len() <= 16 * 1024)
        .collect()
}

fn corpus(kind: Kind) -> Vec<String> {
    let seeds: &[&str] = match kind {
        Kind::Properties => SEED_PROPERTIES,
        Kind::Metrics => SEED_METRICS,
        Kind::Project => SEED_PROJECTS,
        Kind::Template => SEED_TEMPLATES,
        Kind::Macro => SEED_MACROS,
        Kind::Sql => SEED_SQL,
    };
    let mut out: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    out.extend(repo_files(kind));
    out
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// Services of a render: refs and sources resolve to `main.<name>`, a few vars, no warehouse.
struct FuzzServices;

impl Services for FuzzServices {
    fn resolve_ref(
        &self,
        _: &NodeInfo,
        _: Option<&str>,
        name: &str,
        _: Option<&str>,
    ) -> Result<Relation, String> {
        if name.starts_with("missing") {
            return Err(format!("ref('{name}') not found"));
        }
        Ok(Relation::new("db", "main", name))
    }
    fn resolve_source(&self, _: &NodeInfo, source: &str, table: &str) -> Result<Relation, String> {
        Ok(Relation::new("db", source, table))
    }
    fn var(&self, _: &str, name: &str) -> Option<serde_json::Value> {
        match name {
            "start" => Some("2024-01-01".into()),
            "n" => Some(3.into()),
            "list" => Some(serde_json::json!([1, "a", {"k": null}])),
            _ => None,
        }
    }
    fn dialect(&self) -> sluice::sql::Dialect {
        sluice::adapters::duckdb::DIALECT
    }
}

/// What a worker thread builds once: the template environment and the semantic layer's index.
struct Fixture {
    templates: Templates,
    services: Arc<dyn Services>,
    models: ModelIndex,
}

impl Fixture {
    fn new(macros: &[String]) -> Fixture {
        let files = macros
            .iter()
            .enumerate()
            .filter_map(|(i, text)| {
                let f = MacroFile {
                    package: "fuzz".into(),
                    original_file_path: format!("macros/m{i}.sql"),
                    contents: text.clone(),
                };
                // Only files that build on their own (fixtures may override the same names).
                let ok = MacroIndex::build("fuzz", &["duckdb"], std::slice::from_ref(&f), vec![])
                    .is_ok()
                    && minijinja::Environment::new()
                        .add_template_owned("t", sluice::templating::preprocess(text))
                        .is_ok();
                ok.then_some(f)
            })
            .take(4)
            .collect::<Vec<_>>();
        let globals = Globals {
            project_name: "fuzz".into(),
            target: serde_json::json!({
                "name": "dev", "type": "duckdb", "schema": "main", "database": "db", "threads": 1,
            }),
            invocation_id: "00000000-0000-0000-0000-000000000000".into(),
            run_started_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            flags: serde_json::json!({}),
            graph: minijinja::Value::from(()),
            runtime_config: serde_json::json!({}),
        };
        let templates = Templates::new(
            "fuzz",
            sluice::adapters::duckdb::DIALECT,
            files,
            vec![],
            globals,
        )
        .unwrap_or_else(|e| panic!("fixture macros: {e:?}"));
        let mut models = ModelIndex::default();
        for name in [
            "orders",
            "customers",
            "stg_orders",
            "events",
            "subscriptions",
        ] {
            models.nodes.insert(
                name.into(),
                (
                    format!("model.fuzz.{name}"),
                    "db".into(),
                    "main".into(),
                    name.into(),
                    true,
                ),
            );
        }
        Fixture {
            templates,
            services: Arc::new(FuzzServices),
            models,
        }
    }
}

/// Checks a diagnostic is one (a code and a message) and that it renders.
fn check_diag(d: &Diagnostic) {
    assert!(
        !d.code.as_str().is_empty(),
        "diagnostic without a code: {d:?}"
    );
    assert!(!d.message.is_empty(), "diagnostic without a message: {d:?}");
    let _ = d.to_string();
}

fn yaml_file(text: &str) -> Option<YamlFile> {
    match yaml::parse_checked(text, Path::new("models/schema.yml")) {
        Ok((value, warnings)) => {
            warnings.iter().for_each(check_diag);
            Some(YamlFile {
                original_file_path: "models/schema.yml".into(),
                text: text.to_string(),
                value,
            })
        }
        Err(d) => {
            check_diag(&d);
            None
        }
    }
}

fn run_properties(_: &Fixture, text: &str, _: u64) {
    if let Err(d) = yaml::parse(text, Path::new("models/schema.yml")) {
        check_diag(&d);
    }
    let Some(file) = yaml_file(text) else { return };
    let files = [file];
    match Properties::collect(&files) {
        Ok(p) => p.warnings.iter().for_each(check_diag),
        Err(ds) => ds.iter().for_each(check_diag),
    }
}

fn run_metrics(fx: &Fixture, text: &str, _: u64) {
    let Some(file) = yaml_file(text) else { return };
    let files = [file];
    let (layer, errors) = sluice::metrics::load_indexed(&files, &fx.models);
    errors.iter().for_each(check_diag);
    sluice::metrics::validate::validate(&layer, &files, sluice::adapters::duckdb::DIALECT)
        .iter()
        .for_each(check_diag);
}

fn run_project(_: &Fixture, text: &str, _: u64) {
    match ProjectConfig::from_text(text) {
        Ok(c) => {
            let _ = c.check_dbt_version().map_err(|d| check_diag(&d));
            let _ = c.vars_for(&c.name, &[c.name.as_str(), "other"]);
            let fqn: Vec<String> = vec![c.name.clone(), "staging".into(), "m".into()];
            for tree in [&c.models, &c.seeds, &c.data_tests, &c.metrics] {
                let _ = tree.resolve(&fqn);
            }
        }
        Err(d) => check_diag(&d),
    }
}

fn run_rewrite(_: &Fixture, text: &str, _: u64) {
    let _ = sluice::templating::rewrite(text);
    let _ = sluice::templating::preprocess_node(text);
    let _ = sluice::templating::preprocess(text);
}

fn run_render(fx: &Fixture, text: &str, iteration: u64) {
    let node = NodeInfo {
        unique_id: "model.fuzz.m".into(),
        name: "m".into(),
        package: "fuzz".into(),
        resource_type: "model".into(),
        original_file_path: "models/m.sql".into(),
        config: Arc::default(),
        this: Some(Relation::new("db", "main", "m")),
    };
    let phase = if iteration % 2 == 0 {
        Phase::Parse
    } else {
        Phase::Compile
    };
    let ctx = Arc::new(RenderCtx::new(phase, node, fx.services.clone()));
    if let Err(d) = fx.templates.render("models/m.sql", text, &ctx) {
        check_diag(&d);
    }
}

fn run_macro(_: &Fixture, text: &str, _: u64) {
    let file = MacroFile {
        package: "fuzz".into(),
        original_file_path: "macros/m.sql".into(),
        contents: text.to_string(),
    };
    match MacroIndex::build("fuzz", &["duckdb"], &[file], vec![]) {
        Ok(_) => {}
        Err(ds) => ds.iter().for_each(check_diag),
    }
    let _ = minijinja::Environment::new()
        .add_template_owned("fuzz://macros/m.sql", sluice::templating::preprocess(text));
}

fn run_sql(_: &Fixture, text: &str, _: u64) {
    let _ = inject_ctes(text, &["__dbt__cte__e as (select 1)".to_string()]);
    let _ = inject_ctes(text, &[]);
    let _ = sluice::metrics::validate::sql_expr_error(text, "generic");
    let _ = sluice::sql::quote(text);
    let _ = sluice::sql::literal(text);
    let rel = Relation::new(text, "s", text);
    let _ = (
        rel.quoted(),
        rel.display_name(),
        rel.schema_and_identifier(),
    );
}

/// The index of the macro target in [`TARGETS`] (its corpus builds the render fixture).
const MACRO_TARGET: usize = 5;

struct Target {
    name: &'static str,
    kind: Kind,
    run: fn(&Fixture, &str, u64),
}

const TARGETS: &[Target] = &[
    Target {
        name: "properties",
        kind: Kind::Properties,
        run: run_properties,
    },
    Target {
        name: "metrics",
        kind: Kind::Metrics,
        run: run_metrics,
    },
    Target {
        name: "project",
        kind: Kind::Project,
        run: run_project,
    },
    Target {
        name: "rewrite",
        kind: Kind::Template,
        run: run_rewrite,
    },
    Target {
        name: "render",
        kind: Kind::Template,
        run: run_render,
    },
    Target {
        name: "macro",
        kind: Kind::Macro,
        run: run_macro,
    },
    Target {
        name: "sql",
        kind: Kind::Sql,
        run: run_sql,
    },
];

// ---------------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------------

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A failure: which input, and what happened.
struct Failure {
    target: &'static str,
    iteration: u64,
    what: String,
    input: String,
}

/// Per target: executions, total time, slowest input.
#[derive(Default, Clone)]
struct Stats {
    execs: u64,
    nanos: u128,
    slowest: (u128, u64),
}

/// What a worker is doing, for the watchdog: target index + 1 (0 when idle), iteration, start.
struct Busy {
    target: AtomicU64,
    iteration: AtomicU64,
    started_ms: AtomicU64,
}

/// The input as a Rust string literal, cut to 4,000 characters (replay prints it whole).
fn shorten(input: &str) -> String {
    let quoted = format!("{input:?}");
    match quoted.char_indices().nth(4000) {
        Some((i, _)) => format!("{}... ({} bytes in all)", &quoted[..i], input.len()),
        None => quoted,
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

fn selected_targets() -> Vec<usize> {
    let only = std::env::var("SLUICE_FUZZ_TARGETS").unwrap_or_default();
    (0..TARGETS.len())
        .filter(|&i| only.is_empty() || only.split(',').any(|n| n.trim() == TARGETS[i].name))
        .collect()
}

/// Runs the fuzzer: `SLUICE_FUZZ_ITERS` inputs per target (default 3,000) on
/// `SLUICE_FUZZ_THREADS` workers; fails on any panic or hang, printing the input and how to
/// replay it.
#[test]
fn front_end_survives_mutated_input() {
    let seed = env_u64("SLUICE_FUZZ_SEED", 0x5EED_2026);
    let iters = env_u64("SLUICE_FUZZ_ITERS", 3_000);
    let threads = env_u64("SLUICE_FUZZ_THREADS", 1).max(1);
    let budget = Duration::from_millis(env_u64("SLUICE_FUZZ_BUDGET_MS", 20_000));
    // Optional wall-clock limit for long runs: stop (and report) after this many seconds.
    let max_secs = env_u64("SLUICE_FUZZ_SECS", u64::MAX);
    let targets = selected_targets();
    let corpora: Arc<Vec<Vec<String>>> = Arc::new(TARGETS.iter().map(|t| corpus(t.kind)).collect());

    if let Ok(replay) = std::env::var("SLUICE_FUZZ_REPLAY") {
        let (name, it) = replay
            .split_once(':')
            .expect("SLUICE_FUZZ_REPLAY=target:iteration");
        let t = TARGETS
            .iter()
            .position(|t| t.name == name)
            .expect("a target name");
        let it: u64 = it.parse().expect("an iteration number");
        let input = make_input(&corpora[t], seed, t, it);
        println!("fuzz replay {name}:{it} seed {seed:#x}, input {input:?}");
        let fx = Fixture::new(&corpora[MACRO_TARGET]);
        (TARGETS[t].run)(&fx, &input, it);
        return;
    }

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    // Executions per target, readable while the workers run (reported after a hang too).
    let counts: Arc<Vec<AtomicU64>> = Arc::new(TARGETS.iter().map(|_| AtomicU64::new(0)).collect());
    let mut busy = Vec::new();
    let mut handles = Vec::new();
    for w in 0..threads {
        let b = Arc::new(Busy {
            target: AtomicU64::new(0),
            iteration: AtomicU64::new(0),
            started_ms: AtomicU64::new(0),
        });
        busy.push(b.clone());
        let counts = counts.clone();
        let (corpora, stop, failures, targets) = (
            corpora.clone(),
            stop.clone(),
            failures.clone(),
            targets.clone(),
        );
        let h = std::thread::Builder::new()
            .name(format!("fuzz-{w}"))
            .stack_size(sluice::RENDER_STACK_BYTES)
            .spawn(move || {
                let fx = Fixture::new(&corpora[MACRO_TARGET]);
                let mut journal = std::env::var_os("SLUICE_FUZZ_JOURNAL").map(|dir| {
                    std::fs::File::create(Path::new(&dir).join(format!("fuzz-{w}")))
                        .expect("create the fuzz journal")
                });
                let mut stats = vec![Stats::default(); TARGETS.len()];
                let mut i = w;
                while i < iters
                    && !stop.load(Ordering::Relaxed)
                    && start.elapsed().as_secs() < max_secs
                {
                    for &t in &targets {
                        let input = make_input(&corpora[t], seed, t, i);
                        if let Some(file) = journal.as_mut() {
                            use std::os::unix::fs::FileExt;
                            let line = format!("{}:{i:<20}\n", TARGETS[t].name);
                            file.write_all_at(line.as_bytes(), 0)
                                .expect("write the journal");
                        }
                        b.iteration.store(i, Ordering::Relaxed);
                        b.started_ms
                            .store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                        b.target.store(t as u64 + 1, Ordering::Release);
                        let t0 = Instant::now();
                        let r = catch_unwind(AssertUnwindSafe(|| (TARGETS[t].run)(&fx, &input, i)));
                        let took = t0.elapsed().as_nanos();
                        b.target.store(0, Ordering::Release);
                        counts[t].fetch_add(1, Ordering::Relaxed);
                        let s = &mut stats[t];
                        s.execs += 1;
                        s.nanos += took;
                        if took > s.slowest.0 {
                            s.slowest = (took, i);
                        }
                        if let Err(p) = r {
                            let mut f = failures.lock().unwrap_or_else(|e| e.into_inner());
                            f.push(Failure {
                                target: TARGETS[t].name,
                                iteration: i,
                                what: format!("panic: {}", panic_message(&*p)),
                                input,
                            });
                            if f.len() >= 20 {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    i += threads;
                }
                stats
            })
            .expect("spawn a fuzz worker");
        handles.push(h);
    }

    // The watchdog: every 50 ms, is any worker past its budget on one input?
    let mut hang = None;
    let mut last_report = Instant::now();
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
        let now = start.elapsed().as_millis() as u64;
        for b in &busy {
            let t = b.target.load(Ordering::Acquire);
            let since = b.started_ms.load(Ordering::Relaxed);
            if t != 0 && now.saturating_sub(since) > budget.as_millis() as u64 {
                let t = (t - 1) as usize;
                let it = b.iteration.load(Ordering::Relaxed);
                // Still on the same input?
                if b.target.load(Ordering::Acquire) == t as u64 + 1
                    && b.iteration.load(Ordering::Relaxed) == it
                {
                    hang = Some((t, it));
                }
            }
        }
        if hang.is_some() {
            stop.store(true, Ordering::Relaxed);
            break;
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            println!(
                "fuzz: {:.0}s elapsed, {} failure(s) so far",
                start.elapsed().as_secs_f64(),
                failures.lock().map_or(0, |f| f.len())
            );
        }
    }
    if let Some((t, it)) = hang {
        let all: u64 = counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        for &t in &targets {
            println!(
                "fuzz: {:<10} {:>10} execs (before the hang)",
                TARGETS[t].name,
                counts[t].load(Ordering::Relaxed)
            );
        }
        println!(
            "fuzz: total {all} execs in {:.1}s before the hang",
            start.elapsed().as_secs_f64()
        );
        let input = make_input(&corpora[t], seed, t, it);
        panic!(
            "fuzz: HANG in target {} (over {budget:?}); replay with SLUICE_FUZZ_SEED={seed} \
             SLUICE_FUZZ_REPLAY={}:{it}\ninput: {}",
            TARGETS[t].name,
            TARGETS[t].name,
            shorten(&input)
        );
    }
    let mut total = vec![Stats::default(); TARGETS.len()];
    for h in handles {
        let stats = h.join().expect("a fuzz worker");
        for (acc, s) in total.iter_mut().zip(stats) {
            acc.execs += s.execs;
            acc.nanos += s.nanos;
            if s.slowest.0 > acc.slowest.0 {
                acc.slowest = s.slowest;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let all: u64 = total.iter().map(|s| s.execs).sum();
    println!("fuzz: seed {seed:#x}, {threads} thread(s), {secs:.1}s wall");
    for &t in &targets {
        let s = &total[t];
        println!(
            "fuzz: {:<10} {:>10} execs {:>9.0} execs/s (per thread busy) slowest {:.1} ms (iteration {}) corpus {}",
            TARGETS[t].name,
            s.execs,
            s.execs as f64 / (s.nanos as f64 / 1e9).max(1e-9),
            s.slowest.0 as f64 / 1e6,
            s.slowest.1,
            corpora[t].len(),
        );
    }
    println!(
        "fuzz: total {all} execs, {:.0} execs/s",
        all as f64 / secs.max(1e-9)
    );
    let failures = failures.lock().unwrap_or_else(|e| e.into_inner());
    if !failures.is_empty() {
        let mut msg = format!("fuzz: {} failure(s), seed {seed:#x}\n", failures.len());
        for f in failures.iter() {
            msg.push_str(&format!(
                "- {} iteration {}: {}\n  replay: SLUICE_FUZZ_SEED={seed} SLUICE_FUZZ_REPLAY={}:{}\n  input: {:?}\n",
                f.target,
                f.iteration,
                f.what,
                f.target,
                f.iteration,
                shorten(&f.input)
            ));
        }
        panic!("{msg}");
    }
}

/// Inputs the fuzzer found that once panicked, minimized, each run through its target.
const REGRESSIONS: &[(&str, &str)] = &[
    // A namespace set to hold itself, printed: the printing recursed until the stack overflowed.
    (
        "render",
        "{% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns %}{% endfor %}select {{ ns.total }}, {{ tojson(ns) }}",
    ),
    // `inject_ctes` sliced a `str` four bytes after a `w`, inside a multi-byte character.
    ("sql", "case wh\u{fffd} end"),
    ("sql", "WI\u{feff}H x as (select 1) select 2"),
    // A template error's offset (counted in the rewritten template, where `from=` is renamed)
    // fell inside a multi-byte character of the original text.
    ("render", "{{ f(from=1, \u{301}\u{301}) }}"),
    // Padding to a width of 2**31 (a hang, then an allocation failure).
    (
        "render",
        "{{ '{:>2147483648}'.format('r') }}{{ 'a'.center(99999999999) }}",
    ),
    (
        "render",
        "{{ '{:.99999999999999999999f}'.format(1.5) }}{{ 'a'.zfill(2147483648) }}",
    ),
    // Jinja2's `divisibleby` by zero (minijinja's own test divided by zero); an endless
    // iterator read whole; a timedelta past what a date can add.
    ("render", "{{ 6 is divisibleby 0 }}{{ 6.5 is divisibleby 0.0 }}"),
    ("render", "{{ modules.itertools.repeat(1) | list | length }}"),
    (
        "render",
        "{{ modules.datetime.date(2020, 1, 1) + modules.datetime.timedelta(days=999999999) }}",
    ),
    // A derived metric reading itself twice: every walk over its inputs doubled per level.
    (
        "metrics",
        "metrics:\n  - name: r\n    label: R\n    type: derived\n    type_params:\n      expr: r - p\n      metrics: [{name: r}, {name: r, alias: p}]\n",
    ),
    // `slice` into a hundred million lists.
    ("render", "{{ [1, 2, 3] | slice(99999999) | list }}"),
    // The `center` filter (not the method) to a width of 2**31: seconds of padding.
    ("render", "{{ 'ab' | center(2147483648) }}"),
    // A macro head whose parentheses span the next macro's head: the rewrite of defaults that
    // name earlier arguments sliced backwards.
    (
        "macro",
        "{% macro a(x, y=x, z=(%}{% macro b(p, q=p) %}) %}1{% endmacro %}",
    ),
    (
        "render",
        "{% macro a(x, y=x, z=(%}{% macro b(p, q=p) %}) %}1{% endmacro %}",
    ),
];

#[test]
fn inputs_that_once_panicked() {
    let fx = Fixture::new(&corpus(Kind::Macro));
    for (i, (name, input)) in REGRESSIONS.iter().enumerate() {
        let t = TARGETS
            .iter()
            .find(|t| t.name == *name)
            .expect("a target name");
        for it in [0, 1] {
            let r = catch_unwind(AssertUnwindSafe(|| (t.run)(&fx, input, it)));
            assert!(r.is_ok(), "regression {i} ({name}) panics: {input:?}");
        }
    }
    // A line under the engine's column limit that the rewriting of Python forms (`[1]` into
    // `__sluice_list([1])`) made longer than it: the engine's column count overflowed.
    let long_line = format!("{}{{{{ $ }}}}", "{% set x = [1, {'a': 2}] %}".repeat(2_400));
    assert!(long_line.len() < 65_534);
    let t = TARGETS.iter().find(|t| t.name == "render").expect("render");
    for it in [0, 1] {
        let r = catch_unwind(AssertUnwindSafe(|| (t.run)(&fx, &long_line, it)));
        assert!(r.is_ok(), "a line made too long by rewriting panics");
    }
}
