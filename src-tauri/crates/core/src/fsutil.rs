//! File-system helpers with crash-safety guarantees.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Replaces `dir/name` with `bytes` so that after a crash at any point the
/// file holds either its old or its new contents, never a mix: write a
/// temporary file, fsync it, rename it over the old one, fsync the directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    let context = || format!("writing {}", target.display());
    // A temp file left by an earlier crash is stale by definition.
    let _ = fs::remove_file(&temp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(|e| Error::io(context(), e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&temp, &target)) {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(context(), e));
    }
    sync_dir(dir)
}

/// Flushes a directory's entries (new names, renames) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
}

/// Reads a whole (small) file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "k", b"old").unwrap();
        fs::write(dir.path().join(".k.tmp"), b"stale").unwrap();
        write_atomic(dir.path(), "k", b"new").unwrap();
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k"]);
    }

    #[test]
    fn failure_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "k", b"old").unwrap();
        // Renaming over a non-empty directory fails: the old name must survive.
        fs::create_dir(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("d").join("x"), b"x").unwrap();
        assert!(write_atomic(dir.path(), "d", b"new").is_err());
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"old");
        assert!(!dir.path().join(".d.tmp").exists());
    }
}
