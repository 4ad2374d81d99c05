//! Command-line arguments (clap derive), following dbt's verbs and flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "sluice", version, about = "Compile, run and test dbt projects and their metrics", long_about = None)]
#[command(disable_version_flag = true, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `--log-format` as dbt spells it: `default` and `debug` are text lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormatArg {
    Text,
    Json,
    Debug,
    Default,
    /// Text, plus GitHub Actions annotations for failures, warnings and diagnostics (sluice's).
    Github,
}

/// `--log-level` / `--log-level-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogLevelArg {
    Debug,
    Info,
    Warn,
    Error,
    None,
}

/// `--indirect-selection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IndirectSelection {
    Eager,
    Cautious,
    Buildable,
    Empty,
}

/// Flags every command accepts, before or after the subcommand (dbt 1.10's global flags, and the
/// project and profile flags its commands share). `--x` / `--no-x` pairs are two fields; the last
/// one given wins, and [`super::flags::resolve`] folds them with their `DBT_*` environment
/// variable and the project's `flags:` into [`GlobalArgs::settings`].
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct GlobalArgs {
    /// The project folder (default: the nearest folder holding dbt_project.yml, from the current one up).
    #[arg(long, global = true)]
    pub(crate) project_dir: Option<PathBuf>,
    /// Where to find profiles.yml (also DBT_PROFILES_DIR).
    #[arg(long, global = true)]
    pub(crate) profiles_dir: Option<PathBuf>,
    /// The profile to use (default: `profile:` of dbt_project.yml).
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,
    /// The target of the profile to use.
    #[arg(short = 't', long, global = true)]
    pub(crate) target: Option<String>,
    /// Variables as YAML or JSON, e.g. '{start_date: 2024-01-01}'.
    #[arg(long, global = true)]
    pub(crate) vars: Option<String>,
    /// Worker threads (default: `threads` of the target).
    #[arg(long, global = true)]
    pub(crate) threads: Option<usize>,
    /// Where artifacts go (default: `target-path` of dbt_project.yml).
    #[arg(long, global = true)]
    pub(crate) target_path: Option<String>,

    // --- Output ---
    /// Output format of logs: text lines (`text`, `default`, `debug`), one JSON object per event
    /// (`json`), or text with GitHub Actions annotations (`github`).
    #[arg(long = "log-format", global = true, value_enum, ignore_case = true)]
    pub(crate) log_format_arg: Option<LogFormatArg>,
    /// The resolved `--log-format`.
    #[arg(skip)]
    pub(crate) log_format: LogFormat,
    /// Write the tests' results as JUnit XML to this file (sluice's own; also SLUICE_JUNIT_XML).
    #[arg(long, global = true, env = "SLUICE_JUNIT_XML")]
    pub(crate) junit_xml: Option<std::path::PathBuf>,
    /// Format of the log file (sluice writes none: accepted for dbt compatibility).
    #[arg(long, global = true, value_enum, ignore_case = true)]
    pub(crate) log_format_file: Option<LogFormatArg>,
    /// Minimum level of what is printed: debug, info (default), warn, error (only failures), none.
    #[arg(long = "log-level", global = true, value_enum, ignore_case = true)]
    pub(crate) log_level: Option<LogLevelArg>,
    /// Level of the log file (sluice writes none: accepted for dbt compatibility).
    #[arg(long, global = true, value_enum, ignore_case = true)]
    pub(crate) log_level_file: Option<LogLevelArg>,
    /// Folder of the log file (sluice writes none: accepted for dbt compatibility).
    #[arg(long, global = true)]
    pub(crate) log_path: Option<PathBuf>,
    /// Size at which the log file rolls over (no-op: sluice writes no log file).
    #[arg(long, global = true, hide = true)]
    pub(crate) log_file_max_bytes: Option<u64>,
    /// Disable coloured output (also NO_COLOR).
    #[arg(long, global = true)]
    pub(crate) no_color: bool,
    /// Colour the output even when it is not a terminal (`--no-use-colors`: never; default: on a terminal).
    #[arg(long, global = true, overrides_with = "no_use_colors")]
    pub(crate) use_colors: bool,
    #[arg(long, global = true, overrides_with = "use_colors")]
    pub(crate) no_use_colors: bool,
    /// Colour the log file (no-op: sluice writes no log file).
    #[arg(long, global = true, overrides_with = "no_use_colors_file")]
    pub(crate) use_colors_file: bool,
    #[arg(long, global = true, overrides_with = "use_colors_file")]
    pub(crate) no_use_colors_file: bool,
    /// Width node lines are padded to (default 80).
    #[arg(long, global = true)]
    pub(crate) printer_width: Option<usize>,
    /// Suppress everything but errors and failures (also DBT_QUIET).
    #[arg(short, long, global = true, overrides_with = "no_quiet")]
    pub(crate) quiet: bool,
    #[arg(long, global = true, overrides_with = "quiet")]
    pub(crate) no_quiet: bool,
    /// Debug-level output (also DBT_DEBUG).
    #[arg(short = 'd', long, global = true, overrides_with = "no_debug")]
    pub(crate) debug: bool,
    #[arg(long, global = true, overrides_with = "debug")]
    pub(crate) no_debug: bool,
    /// Print `{{ print() }}` output (accepted; sluice prints it with `log` output).
    #[arg(long, global = true, overrides_with = "no_print")]
    pub(crate) print: bool,
    #[arg(long, global = true, overrides_with = "print")]
    pub(crate) no_print: bool,
    /// Show every deprecation warning, not only the first of each kind (sluice shows all).
    #[arg(long, global = true, overrides_with = "no_show_all_deprecations")]
    pub(crate) show_all_deprecations: bool,
    #[arg(long, global = true, overrides_with = "show_all_deprecations")]
    pub(crate) no_show_all_deprecations: bool,

    // --- Warnings ---
    /// Turn warnings into errors (tests that would warn fail; also DBT_WARN_ERROR).
    #[arg(long, global = true)]
    pub(crate) warn_error: bool,
    /// Which warnings are errors, as YAML: '{"error": "all" | [names], "warn": [names], "silence": [names]}'.
    #[arg(long, global = true)]
    pub(crate) warn_error_options: Option<String>,

    // --- Artifacts and run behaviour ---
    /// Write manifest.json, run_results.json and semantic_manifest.json (default; `--no-write-json`: do not).
    #[arg(long, global = true, overrides_with = "no_write_json")]
    pub(crate) write_json: bool,
    #[arg(long, global = true, overrides_with = "write_json")]
    pub(crate) no_write_json: bool,
    /// `parse` keeps the last parse's manifest when nothing it read changed (default;
    /// `--no-partial-parse`: always parse everything; also DBT_PARTIAL_PARSE).
    #[arg(long, global = true, overrides_with = "no_partial_parse")]
    pub(crate) partial_parse: bool,
    #[arg(long, global = true, overrides_with = "partial_parse")]
    pub(crate) no_partial_parse: bool,
    /// Stop at the first failure (also DBT_FAIL_FAST).
    #[arg(short = 'x', long, global = true, overrides_with = "no_fail_fast")]
    pub(crate) fail_fast: bool,
    #[arg(long, global = true, overrides_with = "fail_fast")]
    pub(crate) no_fail_fast: bool,
    /// Which tests to select next to selected nodes: eager (the default; the only one supported).
    #[arg(long, global = true, value_enum, ignore_case = true)]
    pub(crate) indirect_selection: Option<IndirectSelection>,

    // --- Accepted for dbt compatibility; nothing to change in sluice ---
    /// Check `require-dbt-version` (no-op).
    #[arg(long, global = true, overrides_with = "no_version_check")]
    pub(crate) version_check: bool,
    #[arg(long, global = true, overrides_with = "version_check")]
    pub(crate) no_version_check: bool,
    #[arg(long, global = true, hide = true)]
    pub(crate) partial_parse_file_path: Option<PathBuf>,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "no_partial_parse_file_diff"
    )]
    pub(crate) partial_parse_file_diff: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "partial_parse_file_diff"
    )]
    pub(crate) no_partial_parse_file_diff: bool,
    /// Anonymous usage statistics (no-op: sluice sends none).
    #[arg(long, global = true, overrides_with = "no_send_anonymous_usage_stats")]
    pub(crate) send_anonymous_usage_stats: bool,
    #[arg(long, global = true, overrides_with = "send_anonymous_usage_stats")]
    pub(crate) no_send_anonymous_usage_stats: bool,
    /// Populate the relation cache at start (no-op).
    #[arg(long, global = true, overrides_with = "no_populate_cache")]
    pub(crate) populate_cache: bool,
    #[arg(long, global = true, overrides_with = "populate_cache")]
    pub(crate) no_populate_cache: bool,
    /// Cache only the selected nodes' schemas (no-op).
    #[arg(long, global = true, overrides_with = "no_cache_selected_only")]
    pub(crate) cache_selected_only: bool,
    #[arg(long, global = true, overrides_with = "cache_selected_only")]
    pub(crate) no_cache_selected_only: bool,
    /// dbt's static SQL parser (no-op).
    #[arg(long, global = true, overrides_with = "no_static_parser")]
    pub(crate) static_parser: bool,
    #[arg(long, global = true, overrides_with = "static_parser")]
    pub(crate) no_static_parser: bool,
    /// dbt's experimental parser (no-op).
    #[arg(long, global = true, overrides_with = "no_use_experimental_parser")]
    pub(crate) use_experimental_parser: bool,
    #[arg(long, global = true, overrides_with = "use_experimental_parser")]
    pub(crate) no_use_experimental_parser: bool,
    /// Log relation cache events (no-op).
    #[arg(long, global = true, overrides_with = "no_log_cache_events")]
    pub(crate) log_cache_events: bool,
    #[arg(long, global = true, overrides_with = "log_cache_events")]
    pub(crate) no_log_cache_events: bool,
    /// Write Python profiling output to this file (no-op).
    #[arg(short = 'r', long, global = true)]
    pub(crate) record_timing_info: Option<PathBuf>,
    /// With `--defer`: unselected refs resolve to the state's relations even where this target has them.
    #[arg(long, global = true, overrides_with = "no_favor_state")]
    pub(crate) favor_state: bool,
    #[arg(long, global = true, overrides_with = "favor_state")]
    pub(crate) no_favor_state: bool,
    /// Refs to nodes not built here resolve to the `--state` manifest's relations when missing here.
    #[arg(long, global = true, overrides_with = "no_defer")]
    pub(crate) defer: bool,
    #[arg(long, global = true, overrides_with = "defer")]
    pub(crate) no_defer: bool,
    /// A previous run's artifacts to compare with (`state:`, `result:`, `source_status:`, `--defer`, `retry`).
    #[arg(long, global = true)]
    pub(crate) state: Option<PathBuf>,
    /// The artifacts `--defer` resolves to (default: `--state`).
    #[arg(long, global = true)]
    pub(crate) defer_state: Option<PathBuf>,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "no_macro_debugging"
    )]
    pub(crate) macro_debugging: bool,
    #[arg(long, global = true, hide = true, overrides_with = "macro_debugging")]
    pub(crate) no_macro_debugging: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "no_single_threaded"
    )]
    pub(crate) single_threaded: bool,
    #[arg(long, global = true, hide = true, overrides_with = "single_threaded")]
    pub(crate) no_single_threaded: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "no_use_fast_test_edges"
    )]
    pub(crate) use_fast_test_edges: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "use_fast_test_edges"
    )]
    pub(crate) no_use_fast_test_edges: bool,
    #[arg(
        long = "upload-to-artifacts-ingest-api",
        global = true,
        hide = true,
        overrides_with = "no_upload_artifacts"
    )]
    pub(crate) upload_artifacts: bool,
    #[arg(
        long = "no-upload-to-artifacts-ingest-api",
        global = true,
        hide = true,
        overrides_with = "upload_artifacts"
    )]
    pub(crate) no_upload_artifacts: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "no_show_resource_report"
    )]
    pub(crate) show_resource_report: bool,
    #[arg(
        long,
        global = true,
        hide = true,
        overrides_with = "show_resource_report"
    )]
    pub(crate) no_show_resource_report: bool,
    /// Print the version and exit.
    #[arg(short = 'V', long, visible_short_alias = 'v', global = true, action = clap::ArgAction::Version)]
    pub(crate) version: Option<bool>,

    /// Everything above folded with `DBT_*` variables and the project's `flags:`.
    #[arg(skip)]
    pub(crate) settings: super::settings::Settings,
}

/// Node selection flags.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct SelectArgs {
    /// Nodes to include (dbt selection syntax; repeatable, space-separated union; also -m/--models).
    #[arg(short = 's', long = "select", short_alias = 'm', aliases = ["models", "model"], num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) select: Vec<String>,
    /// Nodes to leave out.
    #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) exclude: Vec<String>,
    /// Resource types to include (ls, build, test; also DBT_RESOURCE_TYPES).
    #[arg(long = "resource-type", alias = "resource-types", num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) resource_type: Vec<String>,
    /// Resource types to leave out (ls, build, test; also DBT_EXCLUDE_RESOURCE_TYPES).
    #[arg(long = "exclude-resource-type", alias = "exclude-resource-types", num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) exclude_resource_type: Vec<String>,
    /// A named selection of selectors.yml (also DBT_SELECTOR).
    #[arg(long)]
    pub(crate) selector: Option<String>,
}

/// Flags of commands that build.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) selection: SelectArgs,
    /// Rebuild incremental models and seeds from scratch (also DBT_FULL_REFRESH).
    #[arg(long, short = 'f')]
    pub(crate) full_refresh: bool,
    /// Store failing rows of tests in tables (also DBT_STORE_FAILURES).
    #[arg(long)]
    pub(crate) store_failures: bool,
    /// Build with refs and sources limited to zero rows, seeds without rows (also DBT_EMPTY).
    #[arg(long, overrides_with = "no_empty")]
    pub(crate) empty: bool,
    #[arg(long, overrides_with = "empty")]
    pub(crate) no_empty: bool,
    /// Start of the window microbatch models build (also DBT_EVENT_TIME_START).
    #[arg(long)]
    pub(crate) event_time_start: Option<String>,
    /// End of the window microbatch models build (also DBT_EVENT_TIME_END).
    #[arg(long)]
    pub(crate) event_time_end: Option<String>,
    /// Show a sample of each loaded seed (no-op).
    #[arg(long)]
    pub(crate) show: bool,
    /// Sample mode: refs and sources with an `event_time` limited to a window (`3 days`, or
    /// `{start: .., end: ..}`) in models and snapshots (also DBT_SAMPLE).
    #[arg(long)]
    pub(crate) sample: Option<String>,
    /// `--sample` read (start, end), set when the flags are resolved.
    #[arg(skip)]
    pub(crate) sample_window: Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)>,
    /// Export saved queries in `build` (sluice always does).
    #[arg(long, hide = true, overrides_with = "no_export_saved_queries")]
    pub(crate) export_saved_queries: bool,
    #[arg(long, hide = true, overrides_with = "export_saved_queries")]
    pub(crate) no_export_saved_queries: bool,
    #[arg(long, hide = true, overrides_with = "no_include_saved_query")]
    pub(crate) include_saved_query: bool,
    #[arg(long, hide = true, overrides_with = "include_saved_query")]
    pub(crate) no_include_saved_query: bool,
}

/// `--output` of `compile` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ShowOutput {
    #[default]
    Text,
    Json,
}

/// Flags `compile` and `show` share with dbt's.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PreviewArgs {
    /// `json`: print `{"node": ..., "compiled": ...}` (compile) or `{"node": ..., "show": [rows]}` (show).
    #[arg(long, value_enum, ignore_case = true, default_value_t = ShowOutput::Text)]
    pub(crate) output: ShowOutput,
    /// Introspective queries while compiling (no-op).
    #[arg(long, overrides_with = "no_introspect")]
    pub(crate) introspect: bool,
    #[arg(long, overrides_with = "introspect")]
    pub(crate) no_introspect: bool,
    /// Accepted as in dbt (no-op: compile and show do not rebuild anything).
    #[arg(long, short = 'f')]
    pub(crate) full_refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum LsOutput {
    #[default]
    Selector,
    Name,
    Path,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Parse the project and write manifest.json.
    Parse,
    /// Compile models and tests to SQL under <target-path>/compiled/.
    Compile {
        #[command(flatten)]
        selection: SelectArgs,
        /// Print the SQL of an inline query instead.
        #[arg(long)]
        inline: Option<String>,
        #[command(flatten)]
        preview: PreviewArgs,
        /// Limit refs and sources to zero rows (not supported by compile yet: an error; DBT_EMPTY).
        #[arg(long, overrides_with = "no_empty")]
        empty: bool,
        #[arg(long, overrides_with = "empty")]
        no_empty: bool,
        /// Inline ephemeral models as CTEs (always; accepted for dbt compatibility).
        #[arg(long, hide = true, overrides_with = "no_inject_ephemeral_ctes")]
        inject_ephemeral_ctes: bool,
        #[arg(long, hide = true, overrides_with = "inject_ephemeral_ctes")]
        no_inject_ephemeral_ctes: bool,
    },
    /// List the project's nodes.
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        selection: SelectArgs,
        /// What to print per node.
        #[arg(long, short = 'o', value_enum, ignore_case = true, default_value_t = LsOutput::Selector)]
        output: LsOutput,
        /// With `--output json`: only these keys of each node.
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        output_keys: Vec<String>,
        /// With --state: under each node, why it counts as new or modified (sluice's own).
        #[arg(long)]
        explain: bool,
    },
    /// Build and test selected nodes in DAG order (seeds, models, snapshots, tests, unit tests).
    Build(RunArgs),
    /// Build models.
    Run(RunArgs),
    /// Load seed CSVs.
    Seed(RunArgs),
    /// Run snapshots.
    Snapshot(RunArgs),
    /// Run data tests and unit tests.
    Test(RunArgs),
    /// Preview the rows of a model or an inline query.
    Show {
        #[command(flatten)]
        selection: SelectArgs,
        #[arg(long)]
        inline: Option<String>,
        /// An inline query run as written, without Jinja.
        #[arg(long, hide = true, conflicts_with = "inline")]
        inline_direct: Option<String>,
        /// Number of rows to show (`-1`: all of them).
        #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
        limit: i64,
        #[command(flatten)]
        preview: PreviewArgs,
    },
    /// Show the resolved project, profile and connection (secrets redacted).
    Debug {
        /// Only test the connection (sluice's debug always does; accepted).
        #[arg(long)]
        connection: bool,
        /// Print where profiles.yml is looked for, then exit.
        #[arg(long)]
        config_dir: bool,
    },
    /// Delete the folders in `clean-targets` (and the target path).
    Clean {
        /// Only delete paths inside the project (always; accepted for dbt compatibility).
        #[arg(long, overrides_with = "no_clean_project_files_only")]
        clean_project_files_only: bool,
        #[arg(long, overrides_with = "clean_project_files_only")]
        no_clean_project_files_only: bool,
    },
    /// Install packages listed in packages.yml (`local:` ones; hub and git ones must be vendored).
    Deps {
        /// Where `--add-package` comes from: hub, git or local.
        #[arg(long, value_parser = ["hub", "git", "local"])]
        source: Option<String>,
        /// Write package-lock.yml without installing (sluice writes no lock file: nothing is done).
        #[arg(long)]
        lock: bool,
        /// Upgrade packages to their latest versions (no-op: sluice never downloads).
        #[arg(long)]
        upgrade: bool,
        /// Add a package to packages.yml (not supported yet: an error).
        #[arg(long)]
        add_package: Option<String>,
    },
    /// Run a macro against the warehouse (`run-operation MACRO --args '{key: value}'`).
    RunOperation(OperationArgs),
    /// Create the selected models, seeds and snapshots as views of the relations a previous run
    /// built (`--state DIR`); `--full-refresh` replaces those that exist.
    Clone(RunArgs),
    /// Run again the nodes that failed or were skipped in the previous command (its
    /// run_results.json, in --state or the target path), with that command's flags.
    Retry,
    /// The semantic layer: validate, list and query metrics.
    Metrics(MetricsArgs),
    /// Source commands: `source freshness`.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Generate or serve the documentation site.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
}

impl Command {
    /// The command's name as dbt's `flags.WHICH` gives it.
    pub(crate) fn which(&self) -> &'static str {
        match self {
            Command::Parse => "parse",
            Command::Compile { .. } => "compile",
            Command::Ls { .. } => "list",
            Command::Build(_) => "build",
            Command::Run(_) => "run",
            Command::Seed(_) => "seed",
            Command::Snapshot(_) => "snapshot",
            Command::Test(_) => "test",
            Command::Show { .. } => "show",
            Command::Retry => "retry",
            Command::Clone(_) => "clone",
            Command::Debug { .. } => "debug",
            Command::Clean { .. } => "clean",
            Command::Deps { .. } => "deps",
            Command::Metrics(_) => "metrics",
            Command::Docs { command } => match command {
                DocsCommand::Generate { .. } => "generate",
                DocsCommand::Serve { .. } => "serve",
            },
            Command::RunOperation(_) => "run-operation",
            Command::Source { .. } => "freshness",
        }
    }
}

/// `sluice docs ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SourceCommand {
    /// Check how recent each source's data is against its `freshness:` rule; write sources.json.
    #[command(alias = "snapshot-freshness")]
    Freshness {
        #[command(flatten)]
        selection: SelectArgs,
        /// Where to write the results (default: <target-path>/sources.json).
        #[arg(long, short = 'o')]
        output: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocsCommand {
    /// Write catalog.json, manifest.json and a static site under <target-path>/docs/.
    Generate {
        /// Compile nodes first (the default).
        #[arg(long, overrides_with = "no_compile")]
        compile: bool,
        /// Do not compile nodes first (pages show no compiled SQL).
        #[arg(long, overrides_with = "compile")]
        no_compile: bool,
        /// Do not query the warehouse (catalog.json without relations or column types).
        #[arg(long)]
        empty_catalog: bool,
        /// Also write a single-file static_index.html (no-op: the site is static already).
        #[arg(long)]
        r#static: bool,
        /// Accepted as in dbt (the catalog covers the whole project).
        #[command(flatten)]
        selection: SelectArgs,
    },
    /// Serve <target-path>/docs/ over HTTP.
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind (default 127.0.0.1, loopback; also DBT_HOST).
        #[arg(long)]
        host: Option<String>,
        /// Open a browser (sluice prints the URL instead; accepted).
        #[arg(long, overrides_with = "no_browser")]
        browser: bool,
        #[arg(long, overrides_with = "browser")]
        no_browser: bool,
    },
}

/// Flags of `run-operation`.
#[derive(Debug, Args, Clone)]
pub(crate) struct OperationArgs {
    /// The macro to run: `name`, or `package.name`.
    #[arg(value_name = "MACRO")]
    pub(crate) macro_name: String,
    /// The macro's keyword arguments as a YAML mapping, e.g. '{role: reporter, days: 7}'.
    #[arg(long)]
    pub(crate) args: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    #[command(subcommand)]
    pub(crate) command: MetricsCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListWhat {
    Metrics,
    Dimensions,
    Entities,
    SavedQueries,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct QueryArgs {
    /// Metrics to compute, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) metrics: Vec<String>,
    /// Group-by items, comma-separated: metric_time__month, customer__region, ...
    #[arg(long = "group-by", value_delimiter = ',')]
    pub(crate) group_by: Vec<String>,
    /// A filter, e.g. "{{ Dimension('customer__region') }} = 'EU'" (repeatable).
    #[arg(long = "where")]
    pub(crate) where_: Vec<String>,
    /// Order by these items or metrics, comma-separated; `-name` for descending.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub(crate) order: Vec<String>,
    /// At most this many rows.
    #[arg(long)]
    pub(crate) limit: Option<u64>,
    /// Only periods from this time on (ISO date or timestamp).
    #[arg(long = "start-time")]
    pub(crate) start_time: Option<String>,
    /// Only periods up to this time (ISO date or timestamp).
    #[arg(long = "end-time")]
    pub(crate) end_time: Option<String>,
    /// Run the query of a saved query.
    #[arg(long = "saved-query")]
    pub(crate) saved_query: Option<String>,
    /// Print the SQL instead of running it.
    #[arg(long)]
    pub(crate) explain: bool,
    /// Write the rows to this CSV file instead of printing them.
    #[arg(long)]
    pub(crate) csv: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MetricsCommand {
    /// Check the semantic models, metrics and saved queries.
    Validate {
        /// Also check that the referenced relations and columns exist in the warehouse.
        #[arg(long)]
        data: bool,
    },
    /// Compute metrics.
    Query(QueryArgs),
    /// List metrics, dimensions, entities or saved queries.
    List {
        #[arg(value_enum, default_value_t = ListWhat::Metrics)]
        what: ListWhat,
        /// Only the items usable with these metrics (dimensions, entities).
        #[arg(long, value_delimiter = ',')]
        metrics: Vec<String>,
    },
    /// Write the exports of saved queries as tables or views in the target schema.
    Export {
        /// Only these saved queries (default: all with exports).
        #[arg(long = "saved-query", value_delimiter = ',')]
        saved_query: Vec<String>,
    },
    /// List the values of a dimension.
    DimensionValues {
        /// The dimension, e.g. account__segment.
        #[arg(long)]
        dimension: String,
        /// The metric whose semantic model (and joins) to read it through.
        #[arg(long, value_delimiter = ',')]
        metrics: Vec<String>,
    },
}
