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
    let context = || format!("writing {}", target.display());
    // A name of its own for each replacement, so two at once (two
    // processes changing the passphrase) never share or remove each
    // other's temporary file; the last rename wins, whole.
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let temp = dir.join(format!(".{name}.{}.tmp", hex::encode(nonce)));
    remove_stale_temps(dir, name);
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

/// Creates `path` as a new empty file only its owner may read or write.
pub fn create_private_file(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

/// Takes group and other permissions off an existing file (a vault made
/// before its files were created private). A missing file is fine.
pub fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                let mode = m.permissions().mode() & 0o700;
                fs::set_permissions(path, fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(format!("making {} private", path.display()), e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// How old a temporary file must be to count as left by a crash: a
/// replacement takes milliseconds.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes `dir/.name.*.tmp` files that a crashed replacement left behind.
/// Best effort: a failure here never stops the write.
fn remove_stale_temps(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    // The one name earlier versions used: never a live writer's.
    let legacy = format!(".{name}.tmp");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        if !(n.starts_with(&prefix) && n.ends_with(".tmp")) {
            continue;
        }
        let old = n == legacy
            || entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Why [`write_streamed`] failed: reading its source, or writing the file.
#[derive(Debug)]
pub enum StreamedWrite {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Writes what `from` gives to `target`: into a new private file beside
/// it (`.NAME.UUID.partial`), synced, then renamed over `target`, so a
/// failure at any point leaves nothing half-written under that name and
/// no temporary file. `progress` is told the bytes written so far. Returns
/// how many were written.
pub fn write_streamed(
    target: &Path,
    from: &mut dyn std::io::Read,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<u64, StreamedWrite> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .map_or_else(|| "content".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4()));
    let written = copy_into(&temp, from, progress).and_then(|n| {
        fs::rename(&temp, target).map_err(StreamedWrite::Write)?;
        Ok(n)
    });
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

fn copy_into(
    temp: &Path,
    from: &mut dyn std::io::Read,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<u64, StreamedWrite> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(temp).map_err(StreamedWrite::Write)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamedWrite::Read(e)),
        };
        file.write_all(&buf[..n]).map_err(StreamedWrite::Write)?;
        done += n as u64;
        progress(done);
    }
    file.sync_all().map_err(StreamedWrite::Write)?;
    Ok(done)
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

    /// A reader that fails after some bytes (damage found mid-read).
    struct Failing(u64);

    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("damaged"));
            }
            let n = (buf.len() as u64).min(self.0) as usize;
            buf[..n].fill(7);
            self.0 -= n as u64;
            Ok(n)
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_streamed_file_is_renamed_into_place_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let content = vec![5u8; 3 << 20];
        let mut seen = Vec::new();
        let n = write_streamed(&target, &mut content.as_slice(), &mut |n| seen.push(n)).unwrap();
        assert_eq!(n, 3 << 20);
        assert_eq!(fs::read(&target).unwrap(), content);
        assert_eq!(seen.last(), Some(&(3 << 20)));
        assert_eq!(names(dir.path()), ["out.bin"]);

        let failed = dir.path().join("failed.bin");
        let e = write_streamed(&failed, &mut Failing(2 << 20), &mut |_| {}).unwrap_err();
        assert!(matches!(e, StreamedWrite::Read(_)), "{e:?}");
        assert_eq!(names(dir.path()), ["out.bin"], "nothing half-written stays");
        let e = write_streamed(&dir.path().join("no/such/dir"), &mut &b"x"[..], &mut |_| {})
            .unwrap_err();
        assert!(matches!(e, StreamedWrite::Write(_)), "{e:?}");
    }

    #[test]
    fn replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "k", b"old").unwrap();
        let stale = dir.path().join(".k.0011223344556677.tmp");
        fs::write(&stale, b"stale").unwrap();
        let long_ago = std::time::SystemTime::now() - 2 * STALE_TEMP;
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
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
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Two replacements at once (two `passwd` runs) each write their own
    /// temporary file: both succeed and the file is one of them, whole.
    #[test]
    fn concurrent_replacements_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = vec![b'a'; 64 * 1024];
        let b = vec![b'b'; 64 * 1024];
        std::thread::scope(|s| {
            for bytes in [&a, &b] {
                let d = dir.path();
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(d, "k", bytes).expect("each replacement succeeds");
                    }
                });
            }
        });
        let end = fs::read(dir.path().join("k")).unwrap();
        assert!(end == a || end == b);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
