//! Reading a project's files: their text (in parallel, on more threads than cores, see
//! [`read_all`]), the stamp each file had as it was opened ([`FileStamp`], what partial parsing
//! keeps), and the checksums dbt writes of them ([`FileHash`], [`sha256_hex`], [`lower_hex`]).

use std::path::Path;

use rayon::prelude::*;

use crate::diagnostics::{Code, Diagnostic};

/// A file as its metadata describes it: a rewrite (sluice's are a new file renamed into place)
/// changes its inode and time, an edit its time. Partial parsing keeps them to tell an unchanged
/// file without reading it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FileStamp {
    pub(crate) len: u64,
    pub(crate) modified_ns: u64,
    pub(crate) inode: u64,
}

impl FileStamp {
    /// The stamp of the file or folder at `path` (following links); `None` if it cannot be read.
    pub(crate) fn of(path: &Path) -> Option<FileStamp> {
        FileStamp::of_metadata(&std::fs::metadata(path).ok()?)
    }

    fn of_metadata(m: &std::fs::Metadata) -> Option<FileStamp> {
        let modified = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            len: m.len(),
            modified_ns: u64::try_from(modified.as_nanos()).ok()?,
            inode,
        })
    }
}

/// The threads that read a project's files: more than the cores, as a file not in the system's
/// cache keeps its thread waiting on the disk, not computing. With every file of the 10,000-model
/// benchmark dropped from the cache, reading them took 0.46 s on 2 threads, 0.30 s on 4, 0.24 s
/// on 8 and 0.20 s on 16; with the files cached, 16 read as fast as 2. `None` if no thread can
/// be made (the files are read on the global pool then).
fn read_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(16)
            .thread_name(|i| format!("sluice-read-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The text and the stamp of each file of `paths`, in order, read by the reading threads
/// ([`read_pool`]); `shown` names a file in diagnostics.
pub(super) fn read_all(
    paths: &[&Path],
    shown: impl Fn(&Path) -> String + Sync,
) -> Vec<Result<(String, Option<FileStamp>), Diagnostic>> {
    let read = || {
        paths
            .par_iter()
            .map(|p| read_text_stamped(p, &shown(p)))
            .collect()
    };
    match read_pool() {
        Some(pool) => pool.install(read),
        None => read(),
    }
}

/// Reads a project file as text, `shown` naming it in diagnostics. A file that is not UTF-8 is
/// one diagnostic at its first bad byte (offset, line and column), with the hint to re-save it.
pub(crate) fn read_text(path: &Path, shown: &str) -> Result<String, Diagnostic> {
    read_text_stamped(path, shown).map(|(text, _)| text)
}

/// [`read_text`], with the file's stamp as it was opened.
fn read_text_stamped(path: &Path, shown: &str) -> Result<(String, Option<FileStamp>), Diagnostic> {
    let (bytes, stamp) = read_bytes(path).map_err(|e| {
        Diagnostic::error(Code::Io, format!("cannot read `{shown}`: {e}")).in_file(shown)
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The valid text before the bad byte gives its line and column.
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, col) = crate::diagnostics::line_col(before, at);
        Diagnostic::error(
            Code::Io,
            format!(
                "`{shown}` is not valid UTF-8: byte 0x{:02X} at offset {at} (line {line}, column {col})",
                bytes[at]
            ),
        )
        .at(crate::diagnostics::Location::at(shown, line, col))
        .with_hint("save the file as UTF-8 (from Latin-1 or Windows-1252, e.g. `iconv -f latin1 -t utf-8`)")
    })?;
    Ok((text, stamp))
}

/// A file's bytes, as many as its size says when it has one (`std::fs::read` reads once more
/// to find the end, a second system call for each of a large project's files), and its stamp as
/// it was opened. (A file that grows while it is read is read to the size it had: the stamp,
/// taken before, no longer matches it, so the next parse reads it again.)
fn read_bytes(path: &Path) -> std::io::Result<(Vec<u8>, Option<FileStamp>)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let stamp = file
        .metadata()
        .ok()
        .and_then(|m| FileStamp::of_metadata(&m));
    let len = stamp.map_or(0, |s| s.len);
    let mut bytes = Vec::new();
    if len == 0 {
        // No size (an empty file, or one the system sizes as it is read): to the end.
        file.read_to_end(&mut bytes)?;
    } else {
        bytes.reserve_exact(usize::try_from(len).unwrap_or(usize::MAX));
        file.take(len).read_to_end(&mut bytes)?;
    }
    Ok((bytes, stamp))
}

/// Seeds larger than this are checksummed by their path, as dbt does (1 MiB).
const MAXIMUM_SEED_SIZE: u64 = 1 << 20;

/// A node's file checksum as dbt writes it (`{"name": "sha256", "checksum": "..."}`); empty
/// for nodes without a file (written with the name `none`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileHash {
    /// `sha256`, or `path` for a seed too large to hash.
    pub(crate) name: &'static str,
    pub(crate) checksum: String,
}

impl FileHash {
    pub(crate) fn sha256(checksum: String) -> Self {
        FileHash {
            name: "sha256",
            checksum,
        }
    }
}

/// A seed's checksum as dbt computes it: the SHA-256 of its text with surrounding whitespace
/// stripped, or, over [`MAXIMUM_SEED_SIZE`], its project-relative path (named `path`).
pub(crate) fn seed_checksum(path: &Path, original_file_path: &str) -> std::io::Result<FileHash> {
    if std::fs::metadata(path)?.len() > MAXIMUM_SEED_SIZE {
        return Ok(FileHash {
            name: "path",
            checksum: original_file_path.to_string(),
        });
    }
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(FileHash::sha256(sha256_hex(text.trim().as_bytes())))
}

/// SHA-256 of bytes as lower-case hex (dbt's file checksum).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    lower_hex(&Sha256::digest(bytes))
}

/// Bytes as lower-case hex (two digits each): checksums and digests as dbt writes them.
/// (Written digit by digit: through `format!`, a digest's 32 bytes were 32 small strings.)
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lower_case_hex() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        assert_eq!(lower_hex(&[]), "");
        // SHA-256 of the empty text and of `abc` (FIPS 180-2's test vectors).
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
