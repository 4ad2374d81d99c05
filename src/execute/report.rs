//! Progress output: the [`Event`]s a run emits and the [`Reporter`]s that print them, as dbt
//! does (one line per node with status and timing, a summary at the end), or as JSON lines for
//! machines. The library never prints directly: the CLI picks a reporter.

use std::io::Write;
use std::sync::Mutex;

use super::NodeRef;
use crate::artifacts::RunStatus;
use crate::compile::ResourceType;

/// Something worth telling the user.
#[derive(Debug, Clone)]
pub enum Event {
    NodeStart {
        index: usize,
        total: usize,
        node: NodeRef,
    },
    NodeDone {
        index: usize,
        total: usize,
        node: NodeRef,
        status: RunStatus,
        message: String,
        failures: Option<u64>,
        seconds: f64,
        detail: Option<String>,
    },
    NodeSkipped {
        index: usize,
        total: usize,
        node: NodeRef,
    },
    /// A line of free text (`log(info=True)`, hooks, notices).
    Info(String),
    /// A line of the end-of-run summary, coloured by how the run went (on a terminal).
    Summary(String, Tone),
    Warning(String),
}

/// How a summary line reads: green, yellow or red on a terminal, as dbt colours them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
}

/// Receives events; implementations must be cheap and thread-safe.
pub trait Reporter: Send + Sync {
    fn event(&self, e: &Event);
}

/// dbt-like text lines on a writer (stdout), optionally coloured.
pub struct TextReporter {
    out: Mutex<Box<dyn Write + Send>>,
    color: bool,
    quiet: bool,
    /// On a terminal: a live `[done/total, running]` line kept under the log lines.
    live: Option<Mutex<LiveState>>,
}

#[derive(Default)]
struct LiveState {
    total: usize,
    done: usize,
    running: usize,
    shown: bool,
}

impl TextReporter {
    pub fn new(out: Box<dyn Write + Send>, color: bool, quiet: bool) -> Self {
        TextReporter {
            out: Mutex::new(out),
            color,
            quiet,
            live: None,
        }
    }

    /// Adds the live progress line (only for terminals).
    pub fn with_live_progress(mut self, on: bool) -> Self {
        self.live = on.then(|| Mutex::new(LiveState::default()));
        self
    }

    fn track(&self, e: &Event) {
        let Some(live) = &self.live else { return };
        let Ok(mut st) = live.lock() else { return };
        match e {
            Event::NodeStart { total, .. } => {
                st.total = *total;
                st.running += 1;
            }
            Event::NodeDone { total, .. } => {
                st.total = *total;
                st.running = st.running.saturating_sub(1);
                st.done += 1;
            }
            Event::NodeSkipped { total, .. } => {
                st.total = *total;
                st.done += 1;
            }
            _ => return,
        }
        if let Ok(mut o) = self.out.lock() {
            let status = if st.done < st.total {
                format!(
                    "\r\x1b[K  [{}/{} done, {} running]",
                    st.done, st.total, st.running
                )
            } else {
                "\r\x1b[K".to_string()
            };
            let _ = write!(o, "{status}");
            let _ = o.flush();
            st.shown = st.done < st.total;
        }
    }
    fn paint(&self, s: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn line(&self, s: &str) {
        if let Ok(mut o) = self.out.lock() {
            if self.live.is_some() {
                let _ = write!(o, "\r\x1b[K");
            }
            let ts = chrono::Local::now().format("%H:%M:%S");
            let _ = writeln!(o, "{ts}  {s}");
            let _ = o.flush();
        }
    }
}

/// `prefix ....... [status]` padded to dbt's 80 columns.
pub fn fancy_line(prefix: &str, status: &str) -> String {
    let mut p = format!("{prefix} ");
    let width = p.chars().count();
    if width < 80 {
        p.push_str(&".".repeat(80 - width));
    }
    format!("{p} [{status}]")
}

/// What a node is, as dbt words it: `sql view model`, `seed file`, `test`.
pub fn describe(node: &NodeRef) -> String {
    match node.resource_type {
        ResourceType::Model => format!("sql {} model {}", node.materialized, node.relation),
        ResourceType::Seed => format!("seed file {}", node.relation),
        ResourceType::Snapshot => format!("snapshot {}", node.relation),
        ResourceType::Test => format!("test {}", node.name),
        ResourceType::UnitTest => format!("unit_test {}", node.name),
        ResourceType::SavedQuery => format!("saved query {}", node.name),
        _ => node.name.clone(),
    }
}

impl Reporter for TextReporter {
    fn event(&self, e: &Event) {
        self.render(e);
        self.track(e);
    }
}

impl TextReporter {
    fn render(&self, e: &Event) {
        match e {
            Event::NodeStart { index, total, node } => {
                // dbt prints no START line for saved queries.
                if !self.quiet && node.resource_type != ResourceType::SavedQuery {
                    self.line(&fancy_line(
                        &format!("{index} of {total} START {}", describe(node)),
                        "RUN",
                    ));
                }
            }
            Event::NodeDone {
                index,
                total,
                node,
                status,
                message,
                failures,
                seconds,
                detail,
            } => {
                let (word, tag, color) = match status {
                    RunStatus::Success => {
                        let verb = match node.resource_type {
                            ResourceType::Seed => format!("OK loaded {}", describe(node)),
                            ResourceType::Snapshot => format!("OK snapshotted {}", node.relation),
                            ResourceType::SavedQuery => format!("OK exported {}", describe(node)),
                            _ => format!("OK created {}", describe(node)),
                        };
                        (verb, message.clone(), "32")
                    }
                    RunStatus::Pass => (format!("PASS {}", node.name), "PASS".into(), "32"),
                    RunStatus::Warn => (
                        format!("WARN {} {}", failures.unwrap_or(0), node.name),
                        format!("WARN {}", failures.unwrap_or(0)),
                        "33",
                    ),
                    RunStatus::Fail => (
                        format!("FAIL {} {}", failures.unwrap_or(0), node.name),
                        format!("FAIL {}", failures.unwrap_or(0)),
                        "31",
                    ),
                    RunStatus::Error => {
                        let what = match node.resource_type {
                            ResourceType::Test | ResourceType::UnitTest => node.name.clone(),
                            _ => describe(node),
                        };
                        (format!("ERROR {what}"), "ERROR".into(), "31")
                    }
                    RunStatus::Skipped => (format!("SKIP {}", node.name), "SKIP".into(), "33"),
                    RunStatus::NoOp => (format!("NO-OP {}", describe(node)), "NO-OP".into(), "33"),
                    _ => (node.name.clone(), format!("{status:?}"), "0"),
                };
                if !self.quiet || matches!(status, RunStatus::Error | RunStatus::Fail) {
                    let status_txt = format!("{} in {seconds:.2}s", self.paint(&tag, color));
                    self.line(&fancy_line(
                        &format!("{index} of {total} {word}"),
                        &status_txt,
                    ));
                }
                if let Some(d) = detail {
                    for l in d.lines() {
                        self.line(&format!("  {l}"));
                    }
                }
            }
            Event::NodeSkipped { index, total, node } => {
                if !self.quiet {
                    let what = match node.resource_type {
                        ResourceType::Test | ResourceType::UnitTest => {
                            format!("test {}", node.name)
                        }
                        ResourceType::SavedQuery => describe(node),
                        _ => format!("relation {}", node.relation),
                    };
                    self.line(&fancy_line(
                        &format!("{index} of {total} SKIP {what}"),
                        &self.paint("SKIP", "33"),
                    ));
                }
            }
            Event::Info(s) => {
                if !self.quiet {
                    self.line(s)
                }
            }
            Event::Warning(s) => self.line(&self.paint(&format!("[WARNING]: {s}"), "33")),
            Event::Summary(s, tone) => {
                if !self.quiet {
                    let code = match tone {
                        Tone::Good => "32",
                        Tone::Warn => "33",
                        Tone::Bad => "31",
                    };
                    self.line(&self.paint(s, code))
                }
            }
        }
    }
}

/// One JSON object per line (`--log-format json`).
pub struct JsonReporter {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonReporter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonReporter {
            out: Mutex::new(out),
        }
    }
}

fn status_str(s: &RunStatus) -> String {
    s.as_str().to_string()
}

impl Reporter for JsonReporter {
    fn event(&self, e: &Event) {
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let v = match e {
            Event::NodeStart { index, total, node } => serde_json::json!({
                "ts": ts, "event": "node_start", "index": index, "total": total,
                "unique_id": node.unique_id, "resource_type": node.resource_type.as_str(), "relation": node.relation,
                "msg": format!("{index} of {total} START {}", describe(node)),
            }),
            Event::NodeDone {
                index,
                total,
                node,
                status,
                message,
                failures,
                seconds,
                detail,
            } => serde_json::json!({
                "ts": ts, "event": "node_finished", "index": index, "total": total,
                "unique_id": node.unique_id, "resource_type": node.resource_type.as_str(), "relation": node.relation,
                "status": status_str(status), "message": message, "failures": failures,
                "execution_time": seconds, "detail": detail,
            }),
            Event::NodeSkipped { index, total, node } => serde_json::json!({
                "ts": ts, "event": "node_skipped", "index": index, "total": total, "unique_id": node.unique_id,
            }),
            Event::Info(s) | Event::Summary(s, _) => {
                serde_json::json!({"ts": ts, "event": "info", "msg": s})
            }
            Event::Warning(s) => serde_json::json!({"ts": ts, "event": "warning", "msg": s}),
        };
        if let Ok(mut o) = self.out.lock() {
            let _ = writeln!(o, "{v}");
        }
    }
}

/// Collects events in memory (tests).
#[derive(Default)]
pub struct CaptureReporter {
    pub events: Mutex<Vec<Event>>,
}

impl Reporter for CaptureReporter {
    fn event(&self, e: &Event) {
        if let Ok(mut v) = self.events.lock() {
            v.push(e.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test can read back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn printed(color: bool, quiet: bool, events: &[Event]) -> String {
        let out = Shared::default();
        let r = TextReporter::new(Box::new(out.clone()), color, quiet);
        for e in events {
            r.event(e);
        }
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn summary_lines_are_coloured_by_tone_only_on_a_terminal() {
        let events = [
            Event::Summary("Completed successfully".into(), Tone::Good),
            Event::Summary("Warning in test t (models/s.yml)".into(), Tone::Warn),
            Event::Summary("Failure in test u (models/s.yml)".into(), Tone::Bad),
        ];
        let coloured = printed(true, false, &events);
        assert!(
            coloured.contains("\x1b[32mCompleted successfully\x1b[0m"),
            "{coloured:?}"
        );
        assert!(
            coloured.contains("\x1b[33mWarning in test t"),
            "{coloured:?}"
        );
        assert!(
            coloured.contains("\x1b[31mFailure in test u"),
            "{coloured:?}"
        );
        let plain = printed(false, false, &events);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert!(plain.contains("Completed successfully"));
        assert_eq!(printed(true, true, &events), "", "quiet hides the summary");
    }
}
