//! Replacing a file whole or not at all: the content goes to a temporary
//! file in the same folder, is synced to disk, takes the permissions of the
//! file it replaces, and is renamed over it in one step. A reader sees the
//! old file or the new one, never half of one; on any error the temporary
//! file is removed and the old file is left as it was.
//!
//! Every file the program writes goes through here: `fmt`, `test --bless`
//! and `--junit`, and the outputs of `run`, `compare`, `sweep` and `merge`.
//! It depends on nothing but the standard library.
//!
//! A rename replaces a *name*: a symbolic link would become a regular
//! file (its target left as it was), and a file with several hard links
//! would be split off from its other names. Rewriting a file the user
//! owns (`fmt`) therefore goes through [`write_through_links`].
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces the file at `path` (or creates it) with `contents`.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomically_with(path, |w| w.write_all(contents))
}

/// Replaces the contents of the existing file `path` names, keeping every
/// name it has: a symbolic link is followed (the target is rewritten, the
/// link stays a link), and a file with more than one hard link is written
/// in place, so its other names see the change. Any other file is
/// replaced atomically, as by [`write_atomically`].
///
/// The trade-off for hard links: keeping the inode rules out the rename,
/// the only step that makes a replacement atomic. Written in place, the
/// file is for a moment the new text followed by the old text's tail (when
/// the new is shorter), and a crash in that moment leaves it so. The
/// window is one `write` of a small file (a formula is at most 8 KiB), and
/// a failed write (a full disk) puts the old contents back before the
/// error is returned. Splitting the links instead would silently leave the
/// other names unformatted, which is worse for a formatter.
pub fn write_through_links(path: &Path, contents: &[u8]) -> io::Result<()> {
    // The final target of every link on the way.
    let target = std::fs::canonicalize(path)?;
    if link_count(&std::fs::metadata(&target)?) > 1 {
        write_in_place(&target, contents)
    } else {
        write_atomically(&target, contents)
    }
}

#[cfg(unix)]
fn link_count(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

/// Elsewhere the count is not in the standard library's stable API: every
/// file is taken to have one name.
#[cfg(not(unix))]
fn link_count(_meta: &std::fs::Metadata) -> u64 {
    1
}

/// Overwrites the file at `path` with `contents` through its own inode;
/// on a failed write, tries to put the old contents back.
fn write_in_place(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut old = Vec::new();
    file.read_to_end(&mut old)?;
    let result = overwrite(&mut file, contents);
    if result.is_err() {
        // The file is at least as long as the old contents: they fit again.
        let _ = overwrite(&mut file, &old);
    }
    result
}

/// Writes `contents` from the start of `file`, cuts what is left after
/// them and syncs.
fn overwrite(file: &mut File, contents: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    file.write_all(contents)?;
    file.set_len(contents.len() as u64)?;
    file.sync_all()
}

/// Replaces the file at `path` (or creates it) with what `write` writes;
/// an error from `write` leaves the old file as it was.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let temp = TempFile::beside(path, "")?;
    let mut w = BufWriter::new(File::create(temp.path())?);
    write(&mut w)?;
    let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    temp.replace_with(file)
}

/// A temporary file beside the file it will replace, for code that
/// creates and writes the file itself (plotters' PNG encoder, which picks
/// the format from the name's extension). Removed when dropped unless
/// [`persist`](TempFile::persist) renamed it over its destination.
#[derive(Debug)]
pub struct TempFile {
    /// The temporary name.
    temp: PathBuf,
    /// The file it replaces.
    dest: PathBuf,
    /// Renamed over `dest`: nothing left to remove.
    renamed: bool,
}

impl TempFile {
    /// A temporary name in the folder of `dest`, unique within the machine
    /// (process id and a counter), hidden, ending in `extension` (`""`, or
    /// e.g. `".png"`). Nothing is created yet.
    pub fn beside(dest: &Path, extension: &str) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let Some(name) = dest.file_name() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"));
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = format!(".{}.{}-{n}.tmp{extension}", name.to_string_lossy(), std::process::id());
        Ok(TempFile { temp: dest.with_file_name(temp), dest: dest.to_owned(), renamed: false })
    }

    /// The temporary file's path, to create and write.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Syncs the written temporary file and renames it over the destination.
    pub fn persist(self) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(self.path())?;
        self.replace_with(file)
    }

    /// [`TempFile::persist`] with the temporary file still open, as
    /// `file` (written through it).
    pub fn persist_file(self, file: File) -> io::Result<()> {
        self.replace_with(file)
    }

    /// Syncs `file` (the temporary file, open), gives it the destination's
    /// permissions if the destination exists, and renames it over it.
    fn replace_with(mut self, file: File) -> io::Result<()> {
        if let Ok(meta) = std::fs::metadata(&self.dest) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temp, &self.dest)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the system's temporary folder, removed
    /// when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("autoscale-sim-atomic-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("scratch folder");
            Scratch(dir)
        }

        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }

        /// The names in the folder, sorted.
        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .expect("list")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn creates_and_replaces_leaving_no_temporary_file() {
        let dir = Scratch::new("replace");
        let path = dir.join("a.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(dir.entries(), ["a.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = Scratch::new("permissions");
        let path = dir.join("script.formula");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o751)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o751);
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_symbolic_and_hard_links() {
        use std::os::unix::fs::MetadataExt;
        let dir = Scratch::new("links");
        let target = dir.join("target");
        std::fs::write(&target, "old contents").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink("target", &link).unwrap();
        write_through_links(&link, b"via the link").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"via the link");

        let other = dir.join("other");
        std::fs::hard_link(&target, &other).unwrap();
        let inode = std::fs::metadata(&target).unwrap().ino();
        write_through_links(&other, b"short").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"short");
        assert_eq!(std::fs::metadata(&other).unwrap().ino(), inode);
        write_through_links(&target, b"longer than before").unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), b"longer than before");
        assert_eq!(dir.entries(), ["link", "other", "target"]);
    }

    #[test]
    fn a_failed_write_leaves_the_original_intact() {
        let dir = Scratch::new("write-fails");
        let path = dir.join("a.txt");
        std::fs::write(&path, "original").unwrap();
        let e = write_atomically_with(&path, |w| {
            w.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "original");
        assert_eq!(dir.entries(), ["a.txt"]);
    }

    #[test]
    fn a_failed_rename_leaves_the_original_intact() {
        // A non-empty folder cannot be replaced by a file.
        let dir = Scratch::new("rename-fails");
        let path = dir.join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "original").unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        assert_eq!(std::fs::read_to_string(path.join("inside")).unwrap(), "original");
        assert_eq!(dir.entries(), ["taken"]);
    }

    #[test]
    fn an_unpersisted_temporary_file_is_removed() {
        let dir = Scratch::new("dropped");
        let path = dir.join("chart.png");
        let temp = TempFile::beside(&path, ".png").unwrap();
        assert!(temp.path().to_string_lossy().ends_with(".png"));
        std::fs::write(temp.path(), "partial").unwrap();
        drop(temp);
        assert!(dir.entries().is_empty());
        let temp = TempFile::beside(&path, ".png").unwrap();
        std::fs::write(temp.path(), "whole").unwrap();
        temp.persist().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole");
        assert_eq!(dir.entries(), ["chart.png"]);
    }
}
