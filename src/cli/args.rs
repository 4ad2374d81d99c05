//! Command-line arguments (clap derive), following dbt's verbs and flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "sluice", version, about = "Compile, run and test dbt projects and their metrics", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Flags every command accepts.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// The project folder (default: the nearest folder holding dbt_project.yml, from the current one up).
    #[arg(long, global = true, env = "DBT_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,
    /// Where to find profiles.yml.
    #[arg(long, global = true)]
    pub profiles_dir: Option<PathBuf>,
    /// The profile to use (default: `profile:` of dbt_project.yml).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The target of the profile to use.
    #[arg(short = 't', long, global = true, env = "DBT_TARGET")]
    pub target: Option<String>,
    /// Variables as YAML or JSON, e.g. '{start_date: 2024-01-01}'.
    #[arg(long, global = true)]
    pub vars: Option<String>,
    /// Worker threads (default: `threads` of the target).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Output format of logs.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Where artifacts go (default: `target-path` of dbt_project.yml).
    #[arg(long, global = true)]
    pub target_path: Option<String>,
    /// Disable coloured output (also NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Suppress everything but errors and the result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Node selection flags.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include (dbt selection syntax; repeatable, space-separated union).
    #[arg(short = 's', long = "select", alias = "models", num_args = 1.., action = clap::ArgAction::Append)]
    pub select: Vec<String>,
    /// Nodes to leave out.
    #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
    pub exclude: Vec<String>,
    /// Resource types to include (ls, build).
    #[arg(long = "resource-type", alias = "resource-types", num_args = 1.., action = clap::ArgAction::Append)]
    pub resource_type: Vec<String>,
}

/// Flags of commands that build.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Rebuild incremental models and seeds from scratch.
    #[arg(long, short = 'f')]
    pub full_refresh: bool,
    /// Stop at the first failure.
    #[arg(long, short = 'x')]
    pub fail_fast: bool,
    /// Store failing rows of tests in tables.
    #[arg(long)]
    pub store_failures: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LsOutput {
    #[default]
    Selector,
    Name,
    Path,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse the project and write manifest.json.
    Parse,
    /// Compile models and tests to SQL under <target-path>/compiled/.
    Compile {
        #[command(flatten)]
        selection: SelectArgs,
        /// Print the SQL of an inline query instead.
        #[arg(long)]
        inline: Option<String>,
    },
    /// List the project's nodes.
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        selection: SelectArgs,
        /// What to print per node.
        #[arg(long, short = 'o', value_enum, default_value_t = LsOutput::Selector)]
        output: LsOutput,
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
        /// Number of rows to show.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// Show the resolved project, profile and connection (secrets redacted).
    Debug,
    /// Delete the folders in `clean-targets` (and the target path).
    Clean,
    /// Install packages listed in packages.yml (`local:` ones; hub and git ones must be vendored).
    Deps,
    /// The semantic layer: validate, list and query metrics.
    Metrics(super::metrics::MetricsArgs),
    /// Generate or serve the documentation site.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
}

/// `sluice docs ...`
#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Write catalog.json, manifest.json and a static site under <target-path>/docs/.
    Generate {
        /// Do not compile nodes first (pages show no compiled SQL).
        #[arg(long)]
        no_compile: bool,
        /// Do not query the warehouse (catalog.json without relations or column types).
        #[arg(long)]
        empty_catalog: bool,
    },
    /// Serve <target-path>/docs/ over HTTP.
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind (loopback by default).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}
