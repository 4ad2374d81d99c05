//! The command-line interface: parse arguments, load the project, run the command, print
//! diagnostics, and map the outcome to an exit code (0 ok, 1 nodes failed, 2 input or tool broken).

mod args;
mod ci_output;
mod commands;
pub(crate) mod flags;
mod run_summary;
mod session;
mod settings;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

pub(crate) use args::{Cli, GlobalArgs, LogFormat};

use crate::diagnostics::{Diagnostic, Severity};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    /// Some models or tests failed.
    Failed,
    /// The input or the tool is broken.
    Broken,
}

impl Outcome {
    pub(crate) fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failed => 1,
            Outcome::Broken => 2,
        }
    }
}

/// Whether to colour stdout: `--use-colors` / `--no-use-colors` (or DBT_USE_COLORS, or the
/// project's `flags:`) when given, else on a terminal without NO_COLOR; never with --no-color.
pub(crate) fn use_color(g: &GlobalArgs) -> bool {
    color_on(g, std::io::stdout().is_terminal())
}

fn color_on(g: &GlobalArgs, terminal: bool) -> bool {
    !g.no_color
        && match g.settings.use_colors {
            Some(on) => on,
            None => std::env::var_os("NO_COLOR").is_none() && terminal,
        }
}

/// Prints diagnostics to stderr (text) or stdout (JSON lines), those at or above `--log-level`
/// (warnings hidden by `--quiet` or `--log-level error`, everything by `--log-level none`).
pub(crate) fn print_diagnostics(g: &GlobalArgs, diags: &[Diagnostic]) {
    let level = |d: &Diagnostic| match d.severity {
        Severity::Error => crate::execute::LogLevel::Error,
        Severity::Warning => crate::execute::LogLevel::Warn,
    };
    for d in diags.iter().filter(|d| level(d) >= g.settings.log_level) {
        match g.log_format {
            LogFormat::Json => {
                let v = serde_json::json!({
                    "event": "diagnostic", "severity": d.severity, "code": d.code, "message": d.message,
                    "file": d.location.as_ref().map(|l| l.file.display().to_string()),
                    "line": d.location.as_ref().and_then(|l| l.line),
                    "column": d.location.as_ref().and_then(|l| l.column),
                    "hint": d.hint,
                });
                println!("{v}");
            }
            LogFormat::Text => {
                if g.settings.github {
                    let loc = d.location.as_ref();
                    println!(
                        "{}",
                        ci_output::github_annotation(
                            if d.severity == Severity::Error {
                                "error"
                            } else {
                                "warning"
                            },
                            loc.map(|l| l.file.display().to_string()).as_deref(),
                            loc.and_then(|l| l.line),
                            loc.and_then(|l| l.column),
                            &format!("sluice {}", d.code),
                            &d.message,
                        )
                    );
                }
                let text = d.to_string();
                if color_on(g, std::io::stderr().is_terminal()) {
                    let color = if d.severity == Severity::Error {
                        "31"
                    } else {
                        "33"
                    };
                    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
                    eprintln!(
                        "\x1b[1;{color}m{first}\x1b[0m{}{rest}",
                        if rest.is_empty() { "" } else { "\n" }
                    );
                } else {
                    eprintln!("{text}");
                }
            }
        }
    }
}

pub(crate) use crate::timing;

/// Entry point used by `main.rs`: the command runs on a thread with a render-sized stack
/// ([`crate::RENDER_STACK_BYTES`]), and rayon's global pool gets the same, so that deep macro
/// recursion ends in a diagnostic (see templating's `MAX_MACRO_DEPTH`), never in a
/// stack-overflow abort.
pub fn main() -> ExitCode {
    crate::timing_start();
    // Fails only if the global pool already exists, which nothing before this point makes.
    let _ = crate::render_pool()
        .thread_name(|i| format!("sluice-worker-{i}"))
        .build_global();
    let worker = std::thread::Builder::new()
        .name("main".into())
        .stack_size(crate::RENDER_STACK_BYTES)
        .spawn(run_command);
    let code = match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // No thread could be made (out of address space?): run here, on the process's stack.
        Err(_) => run_command(),
    };
    crate::artifacts::finish_removals();
    code
}

fn run_command() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Err(d) = flags::resolve(&mut cli) {
        print_diagnostics(&cli.global, &[d]);
        return ExitCode::from(Outcome::Broken.code());
    }
    crate::execute::set_printer_width(cli.global.settings.printer_width);
    crate::templating::set_print_enabled(cli.global.settings.print);
    let t = std::time::Instant::now();
    let outcome = match commands::run(&cli) {
        Ok(o) => o,
        Err(diags) => {
            print_diagnostics(&cli.global, &diags);
            if diags.iter().any(|d| d.severity == Severity::Error) {
                Outcome::Broken
            } else {
                Outcome::Ok
            }
        }
    };
    crate::timing("command", t);
    ExitCode::from(outcome.code())
}
