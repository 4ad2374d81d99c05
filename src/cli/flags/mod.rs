//! dbt 1.10's flags, resolved once: each comes from the command line (before or after the
//! subcommand), else its `DBT_*` environment variable, else the project's `flags:` in
//! `dbt_project.yml`, else dbt's default — dbt's order. Boolean environment variables are read as
//! click reads them (`1/0`, `true/false`, `t/f`, `yes/no`, `y/n`, `on/off`, any case; empty is
//! unset; anything else is an error, exit code 2). What they resolve to, [`Settings`], is defined
//! in `settings`.
//!
//! Design decision: the flags that change nothing in sluice (partial parsing, anonymous usage
//! stats, the relation cache, the log file ...) are accepted and their environment variables
//! checked like dbt's, so orchestrators can pass dbt's settings unchanged; the few that would
//! change the result and are not implemented (`compile --empty`, `--indirect-selection` other
//! than `eager`) are a clear error rather than silently ignored.

use std::path::Path;

use serde_json::{Map, Value};

use super::args::{
    Cli, Command, DocsCommand, GlobalArgs, IndirectSelection, LogFormat, LogFormatArg, LogLevelArg,
    PreviewArgs, RunArgs, SelectArgs,
};
use super::settings::{Settings, WarnErrorOptions};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::LogLevel;

/// A boolean as click reads it; `None` for a value it rejects.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" | "" => Some(false),
        _ => None,
    }
}

/// A boolean environment variable (`None` when unset or empty).
fn env_bool(name: &str, flag: &str) -> Result<Option<bool>, Diagnostic> {
    let Ok(v) = std::env::var(name) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(None);
    }
    parse_bool(&v).map(Some).ok_or_else(|| {
        Diagnostic::error(
            Code::Flags,
            format!("invalid value '{v}' for {name} (--{flag}): it is not a boolean"),
        )
        .with_hint("use one of 1, 0, true, false, t, f, yes, no, y, n, on, off")
    })
}

/// A string environment variable (`None` when unset or empty, as click reads it).
fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// One of a flag's values from an environment variable, in any case.
fn env_enum<T: clap::ValueEnum>(name: &str, flag: &str) -> Result<Option<T>, Diagnostic> {
    let Some(v) = env_str(name) else {
        return Ok(None);
    };
    T::from_str(&v, true).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|x| x.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        Diagnostic::error(
            Code::Flags,
            format!("invalid value '{v}' for {name} (--{flag})"),
        )
        .with_hint(format!("use one of {}", names.join(", ")))
    })
}

/// A number from an environment variable.
fn env_number<T: std::str::FromStr>(name: &str, flag: &str) -> Result<Option<T>, Diagnostic> {
    let Some(v) = env_str(name) else {
        return Ok(None);
    };
    v.trim().parse().map(Some).map_err(|_| {
        Diagnostic::error(
            Code::Flags,
            format!("invalid value '{v}' for {name} (--{flag}): it is not a whole number"),
        )
    })
}

/// The string flags' environment variables, where the command line left them out.
fn env_strings(g: &mut GlobalArgs) -> Result<(), Diagnostic> {
    let fill = |v: &mut Option<String>, name: &str| {
        if v.is_none() {
            *v = env_str(name);
        }
    };
    let fill_path = |v: &mut Option<std::path::PathBuf>, name: &str| {
        if v.is_none() {
            *v = env_str(name).map(std::path::PathBuf::from);
        }
    };
    fill_path(&mut g.project_dir, "DBT_PROJECT_DIR");
    fill(&mut g.profile, "DBT_PROFILE");
    fill(&mut g.target, "DBT_TARGET");
    fill(&mut g.target_path, "DBT_TARGET_PATH");
    fill(&mut g.warn_error_options, "DBT_WARN_ERROR_OPTIONS");
    fill_path(&mut g.log_path, "DBT_LOG_PATH");
    fill_path(&mut g.state, "DBT_STATE");
    fill_path(&mut g.defer_state, "DBT_DEFER_STATE");
    fill_path(
        &mut g.partial_parse_file_path,
        "DBT_PARTIAL_PARSE_FILE_PATH",
    );
    if g.log_format_arg.is_none() {
        g.log_format_arg = env_enum("DBT_LOG_FORMAT", "log-format")?;
    }
    if g.log_format_file.is_none() {
        g.log_format_file = env_enum("DBT_LOG_FORMAT_FILE", "log-format-file")?;
    }
    if g.log_level.is_none() {
        g.log_level = env_enum("DBT_LOG_LEVEL", "log-level")?;
    }
    if g.log_level_file.is_none() {
        g.log_level_file = env_enum("DBT_LOG_LEVEL_FILE", "log-level-file")?;
    }
    if g.indirect_selection.is_none() {
        g.indirect_selection = env_enum("DBT_INDIRECT_SELECTION", "indirect-selection")?;
    }
    if g.printer_width.is_none() {
        g.printer_width = env_number("DBT_PRINTER_WIDTH", "printer-width")?;
    }
    if g.log_file_max_bytes.is_none() {
        g.log_file_max_bytes = env_number("DBT_LOG_FILE_MAX_BYTES", "log-file-max-bytes")?;
    }
    Ok(())
}

/// A `--x` / `--no-x` pair: the command line, else `DBT_X`, else the project's flag.
fn pair(
    yes: bool,
    no: bool,
    env: &str,
    flag: &str,
    project: Option<bool>,
) -> Result<Option<bool>, Diagnostic> {
    if yes {
        return Ok(Some(true));
    }
    if no {
        return Ok(Some(false));
    }
    Ok(env_bool(env, flag)?.or(project))
}

fn unsupported(what: &str, hint: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Flags,
        format!("{what} is not supported by sluice yet"),
    )
    .with_hint(hint)
}

/// `flags:` of the project's dbt_project.yml, if the project can be found and read (problems
/// with the file are reported later, by the command that loads it).
fn project_flags(g: &GlobalArgs) -> Map<String, Value> {
    let start = g
        .project_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let Ok(root) = crate::project::find_root(&start) else {
        return Map::new();
    };
    let Ok(text) = std::fs::read_to_string(root.join("dbt_project.yml")) else {
        return Map::new();
    };
    crate::project::yaml::parse(&text, Path::new("dbt_project.yml"))
        .ok()
        .and_then(|v| v.get("flags").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

fn level_of(l: LogLevelArg) -> LogLevel {
    match l {
        LogLevelArg::Debug => LogLevel::Debug,
        LogLevelArg::Info => LogLevel::Info,
        LogLevelArg::Warn => LogLevel::Warn,
        LogLevelArg::Error => LogLevel::Error,
        LogLevelArg::None => LogLevel::None,
    }
}

/// Resolves every flag of `cli` (global ones into `cli.global.settings`, `--quiet` and
/// `--log-format` in place; per-command ones with their environment variables) and rejects the
/// ones sluice cannot honour.
pub(crate) fn resolve(cli: &mut Cli) -> Result<(), Diagnostic> {
    env_strings(&mut cli.global)?;
    let pf = project_flags(&cli.global);
    resolve_global(&mut cli.global, &pf)?;
    cli.global.settings.which = cli.command.which();
    match &mut cli.command {
        Command::Build(a)
        | Command::Run(a)
        | Command::Seed(a)
        | Command::Snapshot(a)
        | Command::Clone(a) => resolve_run(a)?,
        Command::Test(a) => resolve_run(a)?,
        Command::Compile {
            selection,
            preview,
            empty,
            no_empty,
            ..
        } => {
            resolve_selection(selection, false)?;
            resolve_preview(preview)?;
            if pair(*empty, *no_empty, "DBT_EMPTY", "empty", None)? == Some(true) {
                return Err(empty_unsupported());
            }
        }
        Command::Show {
            selection, preview, ..
        } => {
            resolve_selection(selection, false)?;
            resolve_preview(preview)?;
        }
        Command::Ls { selection, .. } => resolve_selection(selection, true)?,
        Command::Source {
            command: crate::cli::args::SourceCommand::Freshness { selection, .. },
        } => resolve_selection(selection, false)?,
        Command::Clean {
            clean_project_files_only,
            no_clean_project_files_only,
        } => {
            pair(
                *clean_project_files_only,
                *no_clean_project_files_only,
                "DBT_CLEAN_PROJECT_FILES_ONLY",
                "clean-project-files-only",
                None,
            )?;
        }
        Command::Deps { add_package, .. } => {
            if add_package.is_some() {
                return Err(unsupported(
                    "`deps --add-package`",
                    "add the package to packages.yml yourself, then run `sluice deps`",
                ));
            }
        }
        Command::Docs {
            command: DocsCommand::Generate { selection, .. },
        } => resolve_selection(selection, false)?,
        Command::Docs {
            command: DocsCommand::Serve { host, .. },
        } => {
            if host.is_none() {
                *host = env_str("DBT_HOST");
            }
        }
        Command::Parse
        | Command::Debug { .. }
        | Command::Metrics(_)
        | Command::RunOperation(_)
        | Command::Retry => {}
    }
    Ok(())
}

fn empty_unsupported() -> Diagnostic {
    unsupported(
        "`--empty` (refs and sources limited to zero rows)",
        "leave out --empty (and DBT_EMPTY)",
    )
}

fn resolve_global(g: &mut GlobalArgs, pf: &Map<String, Value>) -> Result<(), Diagnostic> {
    let pf_bool = |k: &str| pf.get(k).and_then(Value::as_bool);
    let pf_str = |k: &str| pf.get(k).and_then(Value::as_str);
    let mut s = Settings::default();

    g.quiet = pair(g.quiet, g.no_quiet, "DBT_QUIET", "quiet", None)?.unwrap_or(false);
    s.debug = pair(g.debug, g.no_debug, "DBT_DEBUG", "debug", pf_bool("debug"))?.unwrap_or(false);
    s.version_check = pair(
        g.version_check,
        g.no_version_check,
        "DBT_VERSION_CHECK",
        "version-check",
        pf_bool("version_check"),
    )?
    .unwrap_or(true);
    let level = match g.log_level {
        Some(l) => level_of(l),
        None => pf_str("log_level")
            .and_then(LogLevel::parse)
            .unwrap_or(LogLevel::Info),
    };
    s.log_level = if level == LogLevel::None {
        LogLevel::None
    } else if g.quiet {
        LogLevel::Error
    } else if s.debug {
        LogLevel::Debug
    } else {
        level
    };
    let format = g.log_format_arg.or_else(|| {
        pf_str("log_format").and_then(|f| match f.to_ascii_lowercase().as_str() {
            "json" => Some(LogFormatArg::Json),
            "text" | "default" | "debug" => Some(LogFormatArg::Text),
            "github" => Some(LogFormatArg::Github),
            _ => None,
        })
    });
    s.github = format == Some(LogFormatArg::Github);
    g.log_format = match format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        _ => LogFormat::Text,
    };
    // A project's `flags: {use_colors: true}` (dbt's default, written out) is a project's, not
    // the user's, choice: it leaves colour to the terminal and NO_COLOR; `false` turns it off.
    s.use_colors = pair(
        g.use_colors,
        g.no_use_colors,
        "DBT_USE_COLORS",
        "use-colors",
        pf_bool("use_colors").filter(|on| !on),
    )?;
    s.printer_width = g
        .printer_width
        .or_else(|| {
            pf.get("printer_width")
                .and_then(Value::as_u64)
                .map(|w| w as usize)
        })
        .unwrap_or(80);
    s.write_json = pair(
        g.write_json,
        g.no_write_json,
        "DBT_WRITE_JSON",
        "write-json",
        pf_bool("write_json"),
    )?
    .unwrap_or(true);
    s.partial_parse = pair(
        g.partial_parse,
        g.no_partial_parse,
        "DBT_PARTIAL_PARSE",
        "partial-parse",
        pf_bool("partial_parse"),
    )?
    .unwrap_or(true);
    s.fail_fast = pair(
        g.fail_fast,
        g.no_fail_fast,
        "DBT_FAIL_FAST",
        "fail-fast",
        pf_bool("fail_fast"),
    )?
    .unwrap_or(false);

    s.warn_error = warn_error(g, pf)?;
    check_indirect_selection(g, pf)?;
    check_state_flags(g, &mut s)?;
    check_no_op_flags(g)?;
    // DBT_NO_PRINT is dbt's deprecated spelling, read from the environment only.
    let no_print_env = env_bool("DBT_NO_PRINT", "print")?.map(|no| !no);
    s.print = pair(g.print, g.no_print, "DBT_PRINT", "print", no_print_env)?.unwrap_or(true);
    // dbt's deprecated spellings, read from the environment only.
    env_bool("DBT_FAVOR_STATE_MODE", "favor-state")?;

    g.settings = s;
    Ok(())
}

/// `--warn-error` / `--warn-error-options` (one or the other, as in dbt), their environment
/// variables and `flags:` in `dbt_project.yml`.
fn warn_error(g: &GlobalArgs, pf: &Map<String, Value>) -> Result<WarnErrorOptions, Diagnostic> {
    let pf_bool = |k: &str| pf.get(k).and_then(Value::as_bool);
    let warn_error_user = if g.warn_error {
        Some(true)
    } else {
        env_bool("DBT_WARN_ERROR", "warn-error")?
    };
    if warn_error_user.is_some() && g.warn_error_options.is_some() {
        return Err(Diagnostic::error(
            Code::Flags,
            "--warn-error and --warn-error-options cannot be used together",
        )
        .with_hint(r#"use --warn-error-options '{"error": "all"}' alone (dbt: "warn_error_options: not allowed with argument warn_error")"#));
    }
    Ok(if warn_error_user.or(pf_bool("warn_error")) == Some(true) {
        WarnErrorOptions {
            error_all: true,
            ..Default::default()
        }
    } else if let Some(text) = &g.warn_error_options {
        WarnErrorOptions::parse(text).map_err(|m| Diagnostic::error(Code::Flags, m))?
    } else if let Some(v) = pf.get("warn_error_options") {
        WarnErrorOptions::parse(&v.to_string()).map_err(|m| {
            Diagnostic::error(Code::Flags, format!("dbt_project.yml `flags:`: {m}"))
                .in_file("dbt_project.yml")
        })?
    } else {
        WarnErrorOptions::default()
    })
}

/// `--indirect-selection`: only dbt's default (`eager`) is supported.
fn check_indirect_selection(g: &GlobalArgs, pf: &Map<String, Value>) -> Result<(), Diagnostic> {
    let pf_str = |k: &str| pf.get(k).and_then(Value::as_str);
    let indirect = match g.indirect_selection {
        Some(i) => Some(i),
        None => match pf_str("indirect_selection").map(str::to_ascii_lowercase) {
            Some(v) => Some(match v.as_str() {
                "eager" => IndirectSelection::Eager,
                "cautious" => IndirectSelection::Cautious,
                "buildable" => IndirectSelection::Buildable,
                "empty" => IndirectSelection::Empty,
                _ => {
                    return Err(Diagnostic::error(
                        Code::Flags,
                        format!("dbt_project.yml `flags:` has `indirect_selection: {v}`"),
                    )
                    .with_hint("use eager, cautious, buildable or empty"))
                }
            }),
            None => None,
        },
    };
    if let Some(i) = indirect.filter(|i| *i != IndirectSelection::Eager) {
        return Err(unsupported(
            &format!("`--indirect-selection {i:?}`").to_ascii_lowercase(),
            "sluice selects the tests of selected nodes eagerly, dbt's default: leave out --indirect-selection (and DBT_INDIRECT_SELECTION)",
        ));
    }
    Ok(())
}

/// State comparison and deferral: `--state` (`DBT_STATE`, `DBT_ARTIFACT_STATE_PATH`),
/// `--defer` (`DBT_DEFER`, `DBT_DEFER_TO_STATE`), `--defer-state` (`DBT_DEFER_STATE`),
/// `--favor-state` (`DBT_FAVOR_STATE`).
fn check_state_flags(g: &GlobalArgs, s: &mut super::settings::Settings) -> Result<(), Diagnostic> {
    let defer = pair(g.defer, g.no_defer, "DBT_DEFER", "defer", None)?;
    let deprecated_defer = env_bool("DBT_DEFER_TO_STATE", "defer")?;
    s.defer = defer.or(deprecated_defer) == Some(true);
    s.favor_state = pair(
        g.favor_state,
        g.no_favor_state,
        "DBT_FAVOR_STATE",
        "favor-state",
        None,
    )? == Some(true);
    let env_path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    s.state = g
        .state
        .clone()
        .or_else(|| env_path("DBT_STATE"))
        .or_else(|| env_path("DBT_ARTIFACT_STATE_PATH"));
    s.defer_state = g
        .defer_state
        .clone()
        .or_else(|| env_path("DBT_DEFER_STATE"));
    if s.defer && s.state.is_none() && s.defer_state.is_none() {
        return Err(Diagnostic::error(
            Code::Flags,
            "Received a --defer argument, but no value was provided to --state",
        )
        .with_hint("pass --state DIR (or --defer-state DIR) naming the folder of the manifest.json to defer to"));
    }
    Ok(())
}

/// Flags accepted without effect; their environment variables are still checked as dbt checks
/// them.
fn check_no_op_flags(g: &GlobalArgs) -> Result<(), Diagnostic> {
    let no_ops: [(bool, bool, &str, &str); 16] = [
        (
            g.use_colors_file,
            g.no_use_colors_file,
            "DBT_USE_COLORS_FILE",
            "use-colors-file",
        ),
        (
            g.show_all_deprecations,
            g.no_show_all_deprecations,
            "",
            "show-all-deprecations",
        ),
        (
            g.version_check,
            g.no_version_check,
            "DBT_VERSION_CHECK",
            "version-check",
        ),
        (
            g.partial_parse_file_diff,
            g.no_partial_parse_file_diff,
            "DBT_PARTIAL_PARSE_FILE_DIFF",
            "partial-parse-file-diff",
        ),
        (
            g.send_anonymous_usage_stats,
            g.no_send_anonymous_usage_stats,
            "DBT_SEND_ANONYMOUS_USAGE_STATS",
            "send-anonymous-usage-stats",
        ),
        (
            g.populate_cache,
            g.no_populate_cache,
            "DBT_POPULATE_CACHE",
            "populate-cache",
        ),
        (
            g.cache_selected_only,
            g.no_cache_selected_only,
            "DBT_CACHE_SELECTED_ONLY",
            "cache-selected-only",
        ),
        (
            g.static_parser,
            g.no_static_parser,
            "DBT_STATIC_PARSER",
            "static-parser",
        ),
        (
            g.use_experimental_parser,
            g.no_use_experimental_parser,
            "DBT_USE_EXPERIMENTAL_PARSER",
            "use-experimental-parser",
        ),
        (
            g.log_cache_events,
            g.no_log_cache_events,
            "DBT_LOG_CACHE_EVENTS",
            "log-cache-events",
        ),
        (
            g.favor_state,
            g.no_favor_state,
            "DBT_FAVOR_STATE",
            "favor-state",
        ),
        (
            g.macro_debugging,
            g.no_macro_debugging,
            "DBT_MACRO_DEBUGGING",
            "macro-debugging",
        ),
        (
            g.single_threaded,
            g.no_single_threaded,
            "DBT_SINGLE_THREADED",
            "single-threaded",
        ),
        (
            g.use_fast_test_edges,
            g.no_use_fast_test_edges,
            "DBT_USE_FAST_TEST_EDGES",
            "use-fast-test-edges",
        ),
        (
            g.upload_artifacts,
            g.no_upload_artifacts,
            "DBT_UPLOAD_TO_ARTIFACTS_INGEST_API",
            "upload-to-artifacts-ingest-api",
        ),
        (
            g.show_resource_report,
            g.no_show_resource_report,
            "DBT_SHOW_RESOURCE_REPORT",
            "show-resource-report",
        ),
    ];
    for (yes, no, env, flag) in no_ops {
        if !env.is_empty() {
            pair(yes, no, env, flag, None)?;
        }
    }
    Ok(())
}

fn resolve_run(a: &mut RunArgs) -> Result<(), Diagnostic> {
    resolve_selection(&mut a.selection, false)?;
    for (v, name) in [
        (&mut a.event_time_start, "DBT_EVENT_TIME_START"),
        (&mut a.event_time_end, "DBT_EVENT_TIME_END"),
        (&mut a.sample, "DBT_SAMPLE"),
    ] {
        if v.is_none() {
            *v = env_str(name);
        }
    }
    if !a.full_refresh {
        a.full_refresh = env_bool("DBT_FULL_REFRESH", "full-refresh")?.unwrap_or(false);
    }
    if !a.store_failures {
        a.store_failures = env_bool("DBT_STORE_FAILURES", "store-failures")?.unwrap_or(false);
    }
    a.empty = pair(a.empty, a.no_empty, "DBT_EMPTY", "empty", None)? == Some(true);
    if let Some(spec) = &a.sample {
        use crate::execute::sample::{sample_clock, sample_window};
        a.sample_window = Some(sample_window(spec, sample_clock()).map_err(|m| {
            Diagnostic::error(Code::Flags, format!("--sample: {m}")).with_hint(
                "e.g. --sample '3 days', or --sample '{start: 2025-01-01, end: 2025-01-08}'",
            )
        })?);
    }
    pair(
        a.export_saved_queries,
        a.no_export_saved_queries,
        "DBT_EXPORT_SAVED_QUERIES",
        "export-saved-queries",
        None,
    )?;
    pair(
        a.include_saved_query,
        a.no_include_saved_query,
        "DBT_INCLUDE_SAVED_QUERY",
        "include-saved-query",
        None,
    )?;
    let start = a.event_time_start.as_deref().map(event_time).transpose()?;
    let end = a.event_time_end.as_deref().map(event_time).transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            return Err(Diagnostic::error(
                Code::Flags,
                "the value of `--event-time-start` must be before `--event-time-end`",
            ));
        }
    }
    Ok(())
}

/// A `--event-time-start` / `--event-time-end` value, in the formats click's `DateTime` takes.
fn event_time(s: &str) -> Result<chrono::NaiveDateTime, Diagnostic> {
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| {
            Diagnostic::error(Code::Flags, format!("invalid event time '{s}'"))
                .with_hint("use %Y-%m-%d, %Y-%m-%dT%H:%M:%S or %Y-%m-%d %H:%M:%S")
        })
}

/// The resource-type lists take their environment variables (space separated, as click splits
/// them) when not given (`ls`, `build` and `test` have them in dbt); `--selector` takes
/// `DBT_SELECTOR`.
fn resolve_selection(sel: &mut SelectArgs, _ls: bool) -> Result<(), Diagnostic> {
    if sel.selector.is_none() {
        sel.selector = env_str("DBT_SELECTOR");
    }
    let from_env = |name: &str| -> Vec<String> {
        std::env::var(name)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    if sel.resource_type.is_empty() {
        sel.resource_type = from_env("DBT_RESOURCE_TYPES");
    }
    if sel.exclude_resource_type.is_empty() {
        sel.exclude_resource_type = from_env("DBT_EXCLUDE_RESOURCE_TYPES");
    }
    Ok(())
}

fn resolve_preview(p: &mut PreviewArgs) -> Result<(), Diagnostic> {
    pair(
        p.introspect,
        p.no_introspect,
        "DBT_INTROSPECT",
        "introspect",
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
