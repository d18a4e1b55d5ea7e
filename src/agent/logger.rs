//! A minimal logger for the agent side: one line per record on standard
//! error, with the time, for the `agent` subcommand and anything else that
//! runs a controller. The library only emits `log` records; printing is
//! the binary's choice, made by calling [`log_to_stderr`].

use std::io::Write as _;

struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
            // Nowhere left to report a failed write to standard error.
            let _ = writeln!(std::io::stderr().lock(), "{now} {:<5} {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Sends `log` records up to `level` to standard error. Does nothing if a
/// logger is already installed.
pub fn log_to_stderr(level: log::LevelFilter) {
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(level);
    }
}
