//! [`discover`]: the suite files under the paths given on the command line.

use std::path::{Path, PathBuf};

use super::error::SuiteError;
use super::suite::SUFFIX;

/// Finds every `*.autoscale-test.toml` under `paths` (files are taken as
/// given), sorted, so that runs list cases in a stable order. Hidden
/// folders and `target/` are skipped: they hold copies, not sources.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SuiteError> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if meta.is_file() {
            found.push(path.clone());
        } else {
            walk(path, &mut found)?;
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(SuiteError::NoSuites { paths: shown.join(", ") });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| io_error(&path, &e))?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else if name.ends_with(SUFFIX) {
            found.push(path);
        }
    }
    Ok(())
}

fn io_error(path: &Path, e: &std::io::Error) -> SuiteError {
    SuiteError::Io { path: path.display().to_string(), message: e.to_string() }
}
