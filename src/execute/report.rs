//! Progress output: the [`Event`]s a run emits and the [`Reporter`]s that print them, as dbt
//! does (one line per node with status and timing, a summary at the end), or as JSON lines for
//! machines. The library never prints directly: the CLI picks a reporter.

use std::io::Write;
use std::sync::Mutex;

use super::NodeRef;
use super::RunStatus;
use crate::compile::ResourceType;

/// Something worth telling the user.
#[derive(Debug, Clone)]
pub(crate) enum Event {
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
    /// A line of the end-of-run report of one failure (`Tone::Bad`, at error level) or warning
    /// (`Tone::Warn`, at warn level): still shown under `--quiet` or `--log-level error`, as dbt
    /// shows it. The report's first line (`header`) is coloured.
    Problem {
        text: String,
        tone: Tone,
        header: bool,
    },
    Warning(String),
    /// A line shown under `--debug` only (each statement sent, as dbt's debug log has it).
    Debug(String),
}

/// How severe an event is, for `--log-level` (dbt's `debug`, `info`, `warn`, `error`, `none`):
/// a reporter shows events at or above its level; `None` shows nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    None,
}

impl LogLevel {
    pub(crate) fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "none" => LogLevel::None,
            _ => return None,
        })
    }
}

impl Event {
    /// The level dbt logs the matching event at: a failed node and a failure's report at error,
    /// a test warning and a warning's report at warn, everything else at info.
    pub(crate) fn level(&self) -> LogLevel {
        let by_tone = |t: &Tone| match t {
            Tone::Bad => LogLevel::Error,
            Tone::Warn => LogLevel::Warn,
            Tone::Good => LogLevel::Info,
        };
        match self {
            Event::NodeDone { status, .. } => match status {
                RunStatus::Error | RunStatus::Fail => LogLevel::Error,
                RunStatus::Warn => LogLevel::Warn,
                _ => LogLevel::Info,
            },
            Event::Problem { tone, .. } => by_tone(tone),
            Event::Warning(_) => LogLevel::Warn,
            Event::Debug(_) => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }
}

/// Passes on the events at or above `min` (`--log-level`, `--quiet`).
pub(crate) struct LevelFilter {
    inner: std::sync::Arc<dyn Reporter>,
    min: LogLevel,
}

impl LevelFilter {
    pub(crate) fn new(inner: std::sync::Arc<dyn Reporter>, min: LogLevel) -> Self {
        LevelFilter { inner, min }
    }
}

impl Reporter for LevelFilter {
    fn event(&self, e: &Event) {
        if e.level() >= self.min {
            self.inner.event(e);
        }
    }
}

/// The width dbt pads node lines to (`--printer-width`, 80 by default).
static PRINTER_WIDTH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(80);

/// Sets the width of `prefix ....... [status]` lines (`--printer-width`).
pub(crate) fn set_printer_width(width: usize) {
    PRINTER_WIDTH.store(width, std::sync::atomic::Ordering::Relaxed);
}

/// How a summary line reads: green, yellow or red on a terminal, as dbt colours them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Good,
    Warn,
    Bad,
}

/// Receives events; implementations must be cheap and thread-safe.
pub(crate) trait Reporter: Send + Sync {
    fn event(&self, e: &Event);
}

/// dbt-like text lines on a writer (stdout), optionally coloured.
pub(crate) struct TextReporter {
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
    pub(crate) fn new(out: Box<dyn Write + Send>, color: bool, quiet: bool) -> Self {
        TextReporter {
            out: Mutex::new(out),
            color,
            quiet,
            live: None,
        }
    }

    /// Adds the live progress line (only for terminals).
    pub(crate) fn with_live_progress(mut self, on: bool) -> Self {
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

/// `prefix ....... [status]` padded with dots to dbt's printer width (80 unless
/// `--printer-width` says otherwise).
pub(crate) fn fancy_line(prefix: &str, status: &str) -> String {
    padded_line(
        prefix,
        status,
        PRINTER_WIDTH.load(std::sync::atomic::Ordering::Relaxed),
    )
}

fn padded_line(prefix: &str, status: &str, target: usize) -> String {
    let mut p = format!("{prefix} ");
    let width = p.chars().count();
    if width < target {
        p.push_str(&".".repeat(target - width));
    }
    format!("{p} [{status}]")
}

/// What a node is, as dbt words it: `sql view model`, `seed file`, `test`.
pub(crate) fn describe(node: &NodeRef) -> String {
    match node.resource_type {
        ResourceType::Model => format!("sql {} model {}", node.materialized, node.relation),
        ResourceType::Seed => format!("seed file {}", node.relation),
        ResourceType::Snapshot => format!("snapshot {}", node.relation),
        ResourceType::Test => format!("test {}", node.name),
        ResourceType::UnitTest => format!("unit_test {}", node.name),
        ResourceType::SavedQuery => format!("saved query {}", node.name),
        ResourceType::Exposure => format!("exposure {}", node.name),
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
                // dbt prints no START line for saved queries and exposures.
                if !self.quiet
                    && !matches!(
                        node.resource_type,
                        ResourceType::SavedQuery | ResourceType::Exposure
                    )
                {
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
            Event::Debug(s) => self.line(s),
            Event::Problem { text, tone, header } => {
                let code = if *tone == Tone::Bad { "31" } else { "33" };
                if *header {
                    self.line(&self.paint(text, code))
                } else {
                    self.line(text)
                }
            }
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
pub(crate) struct JsonReporter {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonReporter {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
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
            Event::Problem { text, .. } => {
                let level = if e.level() == LogLevel::Error {
                    "error"
                } else {
                    "warn"
                };
                serde_json::json!({"ts": ts, "event": "info", "level": level, "msg": text})
            }
            Event::Warning(s) => serde_json::json!({"ts": ts, "event": "warning", "msg": s}),
            Event::Debug(s) => {
                serde_json::json!({"ts": ts, "event": "debug", "level": "debug", "msg": s})
            }
        };
        if let Ok(mut o) = self.out.lock() {
            let _ = writeln!(o, "{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects events in memory.
    #[derive(Default)]
    struct CaptureReporter {
        events: Mutex<Vec<Event>>,
    }

    impl Reporter for CaptureReporter {
        fn event(&self, e: &Event) {
            if let Ok(mut v) = self.events.lock() {
                v.push(e.clone());
            }
        }
    }

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

    #[test]
    fn levels_filter_events_as_dbt_logs_them() {
        let node = NodeRef {
            unique_id: "test.p.t".into(),
            name: "t".into(),
            resource_type: ResourceType::Test,
            materialized: "test".into(),
            relation: String::new(),
        };
        let done = |status| Event::NodeDone {
            index: 1,
            total: 1,
            node: node.clone(),
            status,
            message: String::new(),
            failures: Some(1),
            seconds: 0.0,
            detail: None,
        };
        let problem = |tone| Event::Problem {
            text: "Failure in test t".into(),
            tone,
            header: true,
        };
        let events = [
            Event::Info("Found 1 test".into()),
            done(RunStatus::Pass),
            done(RunStatus::Warn),
            done(RunStatus::Fail),
            Event::Warning("selection matches nothing".into()),
            problem(Tone::Warn),
            problem(Tone::Bad),
            Event::Summary("Done. PASS=1".into(), Tone::Good),
        ];
        let shown = |min| {
            let capture = std::sync::Arc::new(CaptureReporter::default());
            let f = LevelFilter::new(capture.clone(), min);
            for e in &events {
                f.event(e);
            }
            let n = capture.events.lock().unwrap().len();
            n
        };
        assert_eq!(shown(LogLevel::Debug), 8);
        assert_eq!(shown(LogLevel::Info), 8);
        assert_eq!(shown(LogLevel::Warn), 5);
        assert_eq!(shown(LogLevel::Error), 2);
        assert_eq!(shown(LogLevel::None), 0);
        assert_eq!(LogLevel::parse("WARN"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::parse("loud"), None);
    }

    #[test]
    fn printer_width_pads_node_lines() {
        let line = padded_line("1 of 2 START sql view model main.m", "RUN", 80);
        assert_eq!(line.find(" [RUN]"), Some(80));
        let wide = padded_line("1 of 2 START sql view model main.m", "RUN", 100);
        assert_eq!(wide.find(" [RUN]"), Some(100));
        let narrow = padded_line("1 of 2 START sql view model main.m", "RUN", 20);
        assert!(narrow.ends_with("main.m  [RUN]"), "{narrow}");
    }
}
