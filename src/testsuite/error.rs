//! [`SuiteError`]: why a suite could not be found, read or understood.

use super::suite::SUFFIX;

/// Why a suite could not be found, read or understood. Every variant names
/// the file; none of them is a failed test.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuiteError {
    /// A path given on the command line does not exist, or a folder could
    /// not be listed: `cannot read tests/: No such file or directory`.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Not TOML, an unknown key, or a value of the wrong type:
    /// `x.autoscale-test.toml:7: cases.busy.expect: unknown field `target`, ...`.
    /// Also a key that is well-typed but out of range or in conflict:
    /// `x.autoscale-test.toml:9: cases.busy.metrics.PendingTasks.every: must be above 0s`.
    #[error("{path}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The suite file.
        path: String,
        /// The line the key is on, from 1, when known.
        line: Option<usize>,
        /// The key path, e.g. `cases.busy.metrics.PendingTasks.for`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No suite file under the given paths: most likely a wrong path in CI.
    #[error("no *{SUFFIX} files under {paths}")]
    NoSuites {
        /// The paths searched, comma-separated.
        paths: String,
    },
    /// The JUnit report or a blessed suite could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
}
