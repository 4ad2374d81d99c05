//! One file per command (`parse.rs`, `build.rs`, ...), and what they share: the dispatch from
//! the parsed command line, the event printer, and the manifest and artifact metadata writers.

mod build;
mod clean;
mod clone;
mod compile;
mod debug;
mod deps;
mod docs;
mod freshness;
mod ls;
pub(super) mod metrics;
pub(super) mod operation;
mod parse;
mod retry;
mod show;

pub(crate) use compile::compile_into_manifest;
pub(crate) use show::render_table;

use std::sync::Arc;

use crate::artifacts::{self, ArtifactMeta};
use crate::cli::args::{Command, SelectArgs};
use crate::cli::session::Session;
use crate::cli::{use_color, GlobalArgs, LogFormat, Outcome};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::{Event, JsonReporter, LevelFilter, LogLevel, Reporter, TextReporter};

pub(super) type CmdResult = Result<Outcome, Vec<Diagnostic>>;

pub(crate) fn run(cli: &crate::cli::Cli) -> CmdResult {
    let g = &cli.global;
    match &cli.command {
        Command::Parse => parse::parse(g),
        Command::Compile {
            selection,
            inline,
            preview,
            ..
        } => compile::compile(g, selection, inline.as_deref(), preview.output),
        Command::Ls {
            selection,
            output,
            output_keys,
            explain,
        } => ls::ls(g, selection, *output, output_keys, *explain),
        Command::Debug {
            config_dir,
            connection,
        } => debug::debug(g, *config_dir, *connection),
        Command::Clean { .. } => clean::clean(g),
        Command::Deps { lock, .. } => deps::run(g, *lock),
        Command::Docs { command } => docs::run(g, command),
        Command::Build(a) => build::build(g, a, "build"),
        Command::Run(a) => build::build(g, a, "run"),
        Command::Seed(a) => build::build(g, a, "seed"),
        Command::Snapshot(a) => build::build(g, a, "snapshot"),
        Command::Test(a) => build::build(g, a, "test"),
        Command::Show {
            selection,
            inline,
            inline_direct,
            limit,
            preview,
        } => {
            let query = match (inline, inline_direct) {
                (Some(q), _) => Some(show::Inline::Jinja(q)),
                (None, Some(q)) => Some(show::Inline::Direct(q)),
                _ => None,
            };
            show::show(g, selection, query, *limit, preview.output)
        }
        Command::Metrics(a) => metrics::run(g, a),
        Command::RunOperation(a) => operation::run(g, a),
        Command::Retry => retry::retry(g),
        Command::Source {
            command: crate::cli::args::SourceCommand::Freshness { selection, output },
        } => freshness::freshness(g, selection, output.as_deref()),
        Command::Clone(a) => clone::clone(g, a),
    }
}

/// The event printer `--log-format` asks for, showing what `--log-level` / `--quiet` let through.
pub(super) fn reporter(g: &GlobalArgs) -> Arc<dyn Reporter> {
    let inner: Arc<dyn Reporter> = match g.log_format {
        LogFormat::Json => Arc::new(JsonReporter::new(Box::new(std::io::stdout()))),
        LogFormat::Text => {
            let live = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("CI").is_none();
            Arc::new(
                TextReporter::new(Box::new(std::io::stdout()), use_color(g), g.quiet)
                    .with_live_progress(live && g.settings.log_level <= LogLevel::Info),
            )
        }
    };
    Arc::new(LevelFilter::new(inner, g.settings.log_level))
}

pub(super) fn meta(s: &Session) -> ArtifactMeta {
    let mut m = ArtifactMeta::new(
        &s.project.config.name,
        &s.target.adapter_type,
        s.project.config.target_path.clone(),
    );
    m.invocation_id = s.invocation_id.clone();
    m.invocation_started_at = s.started_at;
    m.project_root = s.project.root.clone();
    m
}

pub(super) fn write_manifest(s: &Session, meta: &ArtifactMeta) -> Result<(), Vec<Diagnostic>> {
    let t = std::time::Instant::now();
    let path = s.target_path.join("manifest.json");
    let written =
        artifacts::write_with(&path, |w| artifacts::write_manifest(s.manifest(), meta, w));
    crate::cli::timing("manifest", t);
    written.map_err(|e| {
        vec![Diagnostic::error(
            Code::Io,
            format!("cannot write `{}`: {e}", path.display()),
        )]
    })
}

/// dbt's `NoNodesForSelectionCriteria` warning for each selector that selects nothing: an error
/// (exit code 2) under `--warn-error`, nothing when silenced.
pub(super) fn warn_unmatched(
    g: &GlobalArgs,
    s: &Session,
    sel: &SelectArgs,
    rep: &dyn Reporter,
) -> Result<(), Vec<Diagnostic>> {
    let options = &g.settings.warn_error;
    let event = "NoNodesForSelectionCriteria";
    let mut errors = Vec::new();
    for u in s.unmatched(&sel.select) {
        let msg = format!("The selection criterion '{u}' does not match any enabled nodes");
        if options.is_silenced(event) {
            continue;
        }
        if options.is_error(event, true) {
            errors.push(Diagnostic::error(Code::Select, msg).with_hint(format!(
                "check the selector; an error because of --warn-error ({event})"
            )));
        } else {
            rep.event(&Event::Warning(msg));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The manifest `--defer` and `clone` read (`--defer-state`, else `--state`), or dbt's error.
pub(super) fn state_manifest<'a>(
    g: &GlobalArgs,
    s: &'a Session,
) -> Result<&'a serde_json::Value, Vec<Diagnostic>> {
    s.defer_manifest.as_ref().ok_or_else(|| {
        let dir = g
            .settings
            .defer_state
            .as_ref()
            .or(g.settings.state.as_ref());
        vec![Diagnostic::error(
            Code::Flags,
            format!(
                "Could not find manifest in --state path: \"{}\"",
                dir.map(|d| d.display().to_string()).unwrap_or_default()
            ),
        )
        .with_hint(
            "point --state (or --defer-state) at the folder of a previous run's manifest.json",
        )]
    })
}

/// The resolver refs compile through: the session's, or under `--defer` one whose refs to
/// nodes this command does not build point at the state manifest's relations where this target
/// lacks them (or always, unselected, under `--favor-state`). `built`: the nodes this command
/// builds; `adapter`: the warehouse to look relations up in (connected here when `None`).
pub(super) fn deferring_resolver(
    g: &GlobalArgs,
    s: &Session,
    selected: &[String],
    built: &std::collections::BTreeSet<String>,
    adapter: Option<&crate::adapters::Adapter>,
) -> Result<Arc<crate::compile::Resolver>, Vec<Diagnostic>> {
    if !g.settings.defer {
        return Ok(s.parsed.resolver.clone());
    }
    let state = state_manifest(g, s)?;
    let connected;
    let adapter = match adapter {
        Some(a) => a,
        None => {
            connected = crate::adapters::Adapter::connect(&s.target)
                .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
            &connected
        }
    };
    let mut conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let selected: std::collections::BTreeSet<String> = selected.iter().cloned().collect();
    let deferred = crate::session::defer::deferred_relations(
        s.manifest(),
        state,
        &selected,
        built,
        g.settings.favor_state,
        |rel| matches!(conn.relation_kind(rel), Ok(Some(_))),
    );
    Ok(Arc::new(s.parsed.resolver.with_deferred(&deferred)))
}
