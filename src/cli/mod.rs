//! The command-line interface: parse arguments, load the project, run the command, print
//! diagnostics, and map the outcome to an exit code (0 ok, 1 nodes failed, 2 input or tool broken).

mod args;
mod commands;
mod deps;
mod docs;
mod metrics;
mod run_summary;
mod session;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, GlobalArgs, LogFormat};
pub use session::Session;

use crate::diagnostics::{Diagnostic, Severity};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Some models or tests failed.
    Failed,
    /// The input or the tool is broken.
    Broken,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failed => 1,
            Outcome::Broken => 2,
        }
    }
}

/// Whether to colour output: a terminal, no NO_COLOR, no --no-color.
pub fn use_color(g: &GlobalArgs) -> bool {
    !g.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Prints diagnostics to stderr (text) or stdout (JSON lines).
pub fn print_diagnostics(g: &GlobalArgs, diags: &[Diagnostic]) {
    for d in diags {
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
                let text = d.to_string();
                if use_color(g) && std::io::stderr().is_terminal() {
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

pub use crate::timing;

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    crate::timing_start();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
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
