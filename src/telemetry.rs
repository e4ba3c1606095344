//! Logging set-up with tracing-subscriber.
//!
//! Logs go to stderr (stdout is for command output such as `status`). `format = "auto"` gives
//! human-readable lines on a terminal and one JSON object per line otherwise, which is what
//! journald and log shippers want. ANSI colours only on a terminal, never under systemd.
//! `RUST_LOG` filters as usual; the default is `info`.
//!
//! A command may keep a one-line status at the bottom of a terminal ([`set_status_line`], the
//! `backfill` progress): log records are then written above it, so the two never garble each
//! other. Off a terminal there is no status line and stderr is written as is.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Whether `auto` resolves to JSON in this process.
pub fn wants_json(format: LogFormat) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored),
/// which keeps tests that run several commands in one process simple.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("JOURNAL_STREAM").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrBelowStatus);
    let _ = if wants_json(format) {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_ansi(ansi).with_target(false).try_init()
    };
}

/// The status line being shown, if any. Its lock also serialises writes to stderr that must
/// clear and redraw it.
static STATUS_LINE: Mutex<Option<String>> = Mutex::new(None);

fn status_line() -> MutexGuard<'static, Option<String>> {
    STATUS_LINE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Erases the current terminal row (carriage return + ANSI "erase line").
const ERASE_LINE: &[u8] = b"\r\x1b[2K";
/// The status line is cut to this many characters, so it never wraps on an 80-column terminal
/// (a wrapped line could not be erased in place).
const STATUS_WIDTH: usize = 79;

/// Whether a status line can be shown: stderr is a terminal.
pub fn status_line_supported() -> bool {
    std::io::stderr().is_terminal()
}

/// Shows (or replaces) the status line at the bottom of the terminal. Does nothing when stderr
/// is not a terminal.
pub fn set_status_line(text: &str) {
    if !status_line_supported() {
        return;
    }
    let text: String = text.chars().take(STATUS_WIDTH).collect();
    let mut line = status_line();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(ERASE_LINE);
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
    *line = Some(text);
}

/// Leaves the status line on screen as a finished line (newline) and stops redrawing it.
pub fn finish_status_line() {
    let mut line = status_line();
    if line.take().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(b"\n");
        let _ = err.flush();
    }
}

/// Runs `print` (which writes to stdout) with the status line erased, then redraws it, so
/// command output on the same terminal does not land in the middle of the status line.
/// `print` must not log: the status line's lock is held while it runs.
pub fn above_status_line<T>(print: impl FnOnce() -> T) -> T {
    let line = status_line();
    if line.is_some() {
        let _ = std::io::stderr().lock().write_all(ERASE_LINE);
    }
    let out = print();
    let _ = std::io::stdout().lock().flush();
    if let Some(text) = line.as_deref() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
    out
}

/// stderr for log records: when a status line is shown, each record is written above it (the
/// formatter writes a whole record in one call) and the line is redrawn after it.
struct StderrBelowStatus;

impl Write for StderrBelowStatus {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = status_line();
        let mut err = std::io::stderr().lock();
        match line.as_deref() {
            None => err.write_all(buf)?,
            Some(text) => {
                err.write_all(ERASE_LINE)?;
                err.write_all(buf)?;
                if buf.ends_with(b"\n") {
                    err.write_all(text.as_bytes())?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().lock().flush()
    }
}

/// An error with its causes, outermost first, joined by `: ` (what anyhow's `{:#}` prints), so
/// a log line or an open problem says why, not only what failed.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
