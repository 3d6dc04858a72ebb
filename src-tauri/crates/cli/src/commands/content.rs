//! Content streamed in and out of the vault by `put` and `get`: where it
//! comes from (a file, whose length is known before anything is asked, or
//! standard input), the content type guessed from its head only, the
//! progress line on a terminal, and `get --output`'s file, written beside
//! its name and renamed into place only when complete.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

use custodian_core::data::resource::{JSON, OCTET_STREAM};
use custodian_core::fsutil::StreamedWrite;
use custodian_core::{ContentReader, Error, PodPath, INLINE_MAX, MAX_CONTENT};

use crate::fail::{code, Fail};
use crate::output;

/// Where `put` reads content from.
pub struct Source {
    reader: Box<dyn Read>,
    /// The length, when known up front (a regular file).
    pub len: Option<u64>,
    /// The file's name ends in `.json`.
    named_json: bool,
    /// The first bytes, read to guess the type (at most [`INLINE_MAX`] + 1).
    head: Vec<u8>,
}

impl Source {
    /// Opens `file` (or standard input) and reads its head; a file over
    /// the vault's maximum is refused here, before anything is asked or
    /// written.
    pub fn open(path: &PodPath, file: Option<&Path>) -> Result<Source, Fail> {
        let (reader, len, named_json): (Box<dyn Read>, Option<u64>, bool) = match file {
            Some(name) => {
                let cannot = |e: io::Error| {
                    Fail::usage(format!("cannot read --file {}: {e}", name.display()))
                };
                let f = File::open(name).map_err(cannot)?;
                let meta = f.metadata().map_err(cannot)?;
                let len = meta.is_file().then_some(meta.len());
                let named_json = name
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"));
                (Box::new(f), len, named_json)
            }
            None => (Box::new(io::stdin()), None, false),
        };
        if let Some(len) = len.filter(|&l| l > MAX_CONTENT) {
            return Err(Error::TooLarge {
                path: path.to_string(),
                size: Some(len),
                max: MAX_CONTENT,
            }
            .into());
        }
        let mut source = Source {
            reader,
            len,
            named_json,
            head: Vec::new(),
        };
        let mut head = Vec::new();
        (&mut source.reader)
            .take(INLINE_MAX as u64 + 1)
            .read_to_end(&mut head)
            .map_err(|e| match file {
                Some(name) => Fail::usage(format!("cannot read --file {}: {e}", name.display())),
                None => Fail::usage(format!("cannot read standard input: {e}")),
            })?;
        source.head = head;
        Ok(source)
    }

    /// The content type when none was given: JSON when small content
    /// parses as JSON; larger content (never read whole to guess) is JSON
    /// only when its file name ends in `.json`.
    pub fn guessed_type(&self) -> &'static str {
        let json = if self.head.len() <= INLINE_MAX {
            serde_json::from_slice::<serde::de::IgnoredAny>(&self.head).is_ok()
        } else {
            self.named_json
        };
        if json {
            JSON
        } else {
            OCTET_STREAM
        }
    }

    /// The whole content: the head, then the rest.
    pub fn reader(&mut self) -> impl Read + '_ {
        (&self.head[..]).chain(&mut self.reader)
    }
}

/// Large writes show progress on a terminal.
const PROGRESS_FROM: u64 = 16 << 20;

/// A line on stderr updated in place ("stored 512.0 MiB of 2.0 GiB"), on
/// a terminal only, for writes past [`PROGRESS_FROM`].
pub struct Progress {
    total: Option<u64>,
    shown: Option<u64>,
    enabled: bool,
}

impl Progress {
    pub fn new(total: Option<u64>) -> Self {
        Progress {
            total,
            shown: None,
            enabled: io::stderr().is_terminal(),
        }
    }

    /// The bytes stored so far.
    pub fn update(&mut self, done: u64) {
        let due = match self.shown {
            None => done >= PROGRESS_FROM,
            Some(last) => done >= last + PROGRESS_FROM || Some(done) == self.total,
        };
        if self.enabled && due {
            self.shown = Some(done);
            let line = progress_line(done, self.total);
            let _ = write!(io::stderr(), "\r{line}\x1b[K");
        }
    }

    /// Ends the line, if one was shown.
    pub fn finish(&mut self) {
        if self.shown.is_some() {
            let _ = writeln!(io::stderr());
        }
    }
}

fn progress_line(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("stored {} of {}", output::size(done), output::size(total)),
        None => format!("stored {}", output::size(done)),
    }
}

/// Bytes copied per read.
const BUF: usize = 256 * 1024;

/// Copies the content to `out`; damage found while reading is the core's
/// error, a failing `out` is `on_write`'s. Returns the last byte.
fn copy(
    reader: &mut ContentReader<'_>,
    out: &mut dyn Write,
    on_write: &dyn Fn(io::Error) -> Fail,
) -> Result<Option<u8>, Fail> {
    let mut buf = vec![0u8; BUF];
    let mut last = None;
    let what = format!("reading {}", reader.meta().path);
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Fail::from(Error::from_read(e, what.clone())))?;
        if n == 0 {
            return Ok(last);
        }
        last = Some(buf[n - 1]);
        out.write_all(&buf[..n]).map_err(on_write)?;
    }
}

/// Streams the content to stdout (a JSON resource ends with a newline). A
/// closed pipe ends the program quietly.
pub fn to_stdout(mut reader: ContentReader<'_>) -> Result<(), Fail> {
    let json = reader.meta().content_type.starts_with(JSON);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(BUF, stdout.lock());
    let on_write = |e: io::Error| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        Fail::new(code::ERROR, format!("writing output: {e}"))
    };
    let last = copy(&mut reader, &mut out, &on_write)?;
    if json && last != Some(b'\n') {
        out.write_all(b"\n").map_err(on_write)?;
    }
    out.flush().map_err(on_write)
}

/// Checks `--output FILE` before the passphrase is asked: its folder must
/// exist and it must not be a folder.
pub fn check_output(file: &Path) -> Result<(), Fail> {
    if file.is_dir() {
        return Err(Fail::usage(format!(
            "--output {} is a folder: give a file name",
            file.display()
        )));
    }
    if !folder_of(file).is_dir() {
        return Err(Fail::usage(format!(
            "--output {}: its folder does not exist",
            file.display()
        )));
    }
    Ok(())
}

fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes the content to `file`: into a new private file beside it, then
/// renamed over it when complete (`fsutil::write_streamed`), so a damaged
/// or failed read leaves no half file under that name.
pub fn to_file(mut reader: ContentReader<'_>, file: &Path) -> Result<u64, Fail> {
    if file.file_name().is_none() {
        return Err(Fail::usage(format!(
            "--output {}: give a file name",
            file.display()
        )));
    }
    let what = format!("reading {}", reader.meta().path);
    custodian_core::fsutil::write_streamed(file, &mut reader, &mut |_| {}).map_err(|e| match e {
        StreamedWrite::Read(e) => Fail::from(Error::from_read(e, what.clone())),
        StreamedWrite::Write(e) => Fail::new(
            code::ERROR,
            format!(
                "writing {}: {e} (nothing was written there)",
                file.display()
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(head: Vec<u8>, named_json: bool) -> Source {
        Source {
            reader: Box::new(io::empty()),
            len: None,
            named_json,
            head,
        }
    }

    #[test]
    fn the_type_is_guessed_from_the_head_only() {
        assert_eq!(source(b"{\"a\": 1}".to_vec(), false).guessed_type(), JSON);
        assert_eq!(source(b"%PDF".to_vec(), true).guessed_type(), OCTET_STREAM);
        // Past INLINE_MAX the head is not all of it: only the name tells.
        let mut big = b"[".to_vec();
        big.resize(INLINE_MAX + 1, b' ');
        assert_eq!(source(big.clone(), false).guessed_type(), OCTET_STREAM);
        assert_eq!(source(big, true).guessed_type(), JSON);
    }

    #[test]
    fn the_progress_line_says_how_far_of_how_much() {
        assert_eq!(
            progress_line(512 << 20, Some(2 << 30)),
            "stored 512.0 MiB of 2.0 GiB"
        );
        assert_eq!(progress_line(3 << 20, None), "stored 3.0 MiB");
    }
}
