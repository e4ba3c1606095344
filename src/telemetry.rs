//! Logging set-up with tracing-subscriber.
//!
//! Logs go to stderr (stdout is for command output such as `status`). `format = "auto"` gives
//! human-readable lines on a terminal and one JSON object per line otherwise, which is what
//! journald and log shippers want. ANSI colours only on a terminal, never under systemd.
//! `RUST_LOG` filters as usual; the default is `info`.

use std::io::IsTerminal;

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
        .with_writer(std::io::stderr);
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
