//! Reading input files with a size bound. A path given by a careless user
//! or an attacker may name `/dev/zero`, a FIFO fed forever or a file of
//! gigabytes: nothing here reads more than its bound, so such a file fails
//! after at most `bound + 1` bytes instead of growing memory until an
//! allocation aborts the program.
//!
//! Formula files also lose a leading UTF-8 byte-order mark here (editors
//! on Windows write one): the language has no BOM, the file does.
//!
//! It depends on nothing but the standard library, so that any module
//! (the formula's context as well as the scenario) may read through it.

use std::io::{self, Read};
use std::path::Path;

/// The UTF-8 byte-order mark.
pub const BOM: &str = "\u{feff}";

/// The most bytes the CLI reads as a formula (`check`, `eval`, `fmt`):
/// enough for the compiler to say how far past the service's 8 192 bytes
/// a formula goes, and where; a longer input is refused unread.
pub const MAX_CLI_FORMULA_BYTES: u64 = 1 << 20;

/// The most bytes read from a settings file: an evaluation context, a
/// test suite. Far above any real one.
pub const MAX_SETTINGS_BYTES: u64 = 16 << 20;

/// Reads a settings file (TOML or JSON) of at most [`MAX_SETTINGS_BYTES`];
/// `what` names it in the error.
pub fn read_settings(path: &Path, what: &'static str) -> Result<String, ReadError> {
    Ok(String::from_utf8(read_bounded(path, MAX_SETTINGS_BYTES, what)?)?)
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file holds more than the bound.
    #[error("{}", too_large(.what, *.size, *.limit))]
    TooLarge {
        /// What the file is (`"the formula"`, `"the trace"`), for the message.
        what: &'static str,
        /// The bound, in bytes.
        limit: u64,
        /// The file's size when it is a regular file, else unknown (a device, a pipe).
        size: Option<u64>,
    },
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text: {0}")]
    NotUtf8(#[from] std::string::FromUtf8Error),
}

fn too_large(what: &str, size: Option<u64>, limit: u64) -> String {
    match size {
        Some(size) => format!("{what} is {size} bytes long; the limit is {limit}"),
        None => format!("{what} is more than {limit} bytes long (the limit)"),
    }
}

/// Reads all of `path` if it holds at most `limit` bytes; `what` names it
/// in the error.
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    read_bounded_from(file, limit, what).map_err(|e| match e {
        ReadError::TooLarge { what, limit, .. } => {
            // A regular file's size is known; a device's or a pipe's is not.
            let size = std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len());
            ReadError::TooLarge { what, limit, size: size.filter(|&s| s > limit) }
        }
        other => other,
    })
}

/// Reads all of `reader` if it yields at most `limit` bytes.
pub fn read_bounded_from(reader: impl Read, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { what, limit, size: None });
    }
    Ok(bytes)
}

/// Reads a formula file for a scenario, a test suite or `compare`: at
/// most `limit` bytes (the service's, `formula::MAX_BYTES`, which callers
/// pass: this module depends on nothing else in the crate) after a
/// leading byte-order mark, which is dropped. More is the service's
/// formula-too-long error.
pub fn read_formula(path: &Path, limit: usize) -> Result<String, ReadError> {
    let limit = limit as u64;
    let bytes = read_bounded(path, limit + BOM.len() as u64, "the formula").map_err(|e| with_limit(e, limit))?;
    let text = String::from_utf8(bytes)?;
    let text = text.strip_prefix(BOM).map(str::to_owned).unwrap_or(text);
    if text.len() as u64 > limit {
        return Err(ReadError::TooLarge { what: "the formula", limit, size: Some(text.len() as u64) });
    }
    Ok(text)
}

/// Reports the service's limit rather than the bound with room for a BOM.
fn with_limit(e: ReadError, limit: u64) -> ReadError {
    match e {
        ReadError::TooLarge { what, size, .. } => ReadError::TooLarge { what, limit, size },
        other => other,
    }
}

/// `text` without a leading byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_bound_and_refuses_more() {
        assert_eq!(read_bounded_from(&b"abc"[..], 3, "x").unwrap(), b"abc");
        let e = read_bounded_from(&b"abcd"[..], 3, "the trace").unwrap_err();
        assert_eq!(e.to_string(), "the trace is more than 3 bytes long (the limit)");
        // An endless input stops at the bound.
        let e = read_bounded_from(io::repeat(0), 1000, "the formula").unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { limit: 1000, size: None, .. }));
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_fails_fast() {
        let e = read_formula(Path::new("/dev/zero"), 8192).unwrap_err();
        assert_eq!(e.to_string(), "the formula is more than 8192 bytes long (the limit)");
    }

    #[test]
    fn a_formula_file_loses_its_bom_and_is_held_to_the_service_limit() {
        let dir = std::env::temp_dir().join(format!("autoscale-sim-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.formula");
        std::fs::write(&path, format!("{BOM}$x = 1;")).unwrap();
        assert_eq!(read_formula(&path, 8192).unwrap(), "$x = 1;");
        std::fs::write(&path, format!("{BOM}{}", "a".repeat(8192))).unwrap();
        assert_eq!(read_formula(&path, 8192).unwrap().len(), 8192);
        std::fs::write(&path, "a".repeat(8193)).unwrap();
        assert_eq!(
            read_formula(&path, 8192).unwrap_err().to_string(),
            "the formula is 8193 bytes long; the limit is 8192"
        );
        std::fs::write(&path, "a".repeat(9000)).unwrap();
        assert_eq!(
            read_formula(&path, 8192).unwrap_err().to_string(),
            "the formula is 9000 bytes long; the limit is 8192"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
