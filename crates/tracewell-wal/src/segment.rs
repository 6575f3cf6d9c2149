//! Segment files: naming, the file header, record framing and the handle the
//! writer appends through.
//!
//! A segment is created atomically: the header is written to
//! `<id>.wal.tmp`, fsynced, renamed to `<id>.wal`, and the directory is
//! fsynced. A `.wal` file therefore always starts with a complete header
//! unless the disk corrupted it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::SegmentId;

/// First four bytes of every segment file.
pub(crate) const MAGIC: [u8; 4] = *b"TWAL";
/// On-disk format version written after the magic.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Length of the segment file header (magic + version).
pub(crate) const FILE_HEADER_LEN: u64 = 8;
/// Length of a record header (payload length + CRC32).
pub(crate) const RECORD_HEADER_LEN: usize = 8;

const SEGMENT_EXT: &str = "wal";
const TMP_SUFFIX: &str = ".wal.tmp";
pub(crate) const CORRUPT_SUFFIX: &str = ".corrupt";

/// The 8-byte header that starts every segment file.
pub(crate) fn file_header() -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..4].copy_from_slice(&MAGIC);
    h[4..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Builds the record header for `payload`: `u32 LE length | u32 LE crc32`.
///
/// The caller has already checked that the length fits the configured limit
/// (which is itself a `u32`).
pub(crate) fn record_header(payload: &[u8]) -> [u8; RECORD_HEADER_LEN] {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[..4].copy_from_slice(&len.to_le_bytes());
    h[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    h
}

/// `<dir>/<id, 20 digits>.wal`.
pub fn segment_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:020}.{SEGMENT_EXT}"))
}

fn tmp_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:020}{TMP_SUFFIX}"))
}

/// What a directory entry is, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// `<id>.wal`: a segment.
    Segment(SegmentId),
    /// `<id>.wal.tmp`: a segment whose creation was interrupted.
    Tmp(SegmentId),
    /// `<id>.wal.corrupt`: a segment set aside by an earlier open.
    Corrupt(SegmentId),
}

/// Classifies a file name; `None` for files that are not the WAL's.
pub(crate) fn classify(name: &str) -> Option<EntryKind> {
    let (stem, make): (&str, fn(SegmentId) -> EntryKind) =
        if let Some(s) = name.strip_suffix(TMP_SUFFIX) {
            (s, EntryKind::Tmp)
        } else if let Some(s) = name
            .strip_suffix(CORRUPT_SUFFIX)
            .and_then(|s| s.strip_suffix(".wal"))
        {
            (s, EntryKind::Corrupt)
        } else if let Some(s) = name.strip_suffix(".wal") {
            (s, EntryKind::Segment)
        } else {
            return None;
        };
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok().map(make)
}

/// Fsyncs a directory so that creations, renames and deletions in it are
/// durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The open, writable segment appends go to.
#[derive(Debug)]
pub(crate) struct SegmentFile {
    pub(crate) id: SegmentId,
    pub(crate) path: PathBuf,
    file: File,
    /// Bytes known to be written and fsynced (header + complete records).
    pub(crate) len: u64,
}

impl SegmentFile {
    /// Creates segment `id` in `dir` atomically (see the module docs).
    pub(crate) fn create(dir: &Path, id: SegmentId) -> io::Result<Self> {
        let tmp = tmp_path(dir, id);
        let path = segment_path(dir, id);
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            file.write_all(&file_header())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(dir)?;
            Ok(file)
        })();
        match result {
            Ok(file) => Ok(SegmentFile {
                id,
                path,
                file,
                len: FILE_HEADER_LEN,
            }),
            Err(e) => {
                // Best effort: do not leave a half-made file behind.
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Writes `buf` (whole framed records) in one `write_all` and fsyncs the
    /// data. Returns how long the fsync took.
    ///
    /// On failure the file is truncated back to the last good length (best
    /// effort); the caller must stop using this segment.
    pub(crate) fn append(&mut self, buf: &[u8]) -> io::Result<Duration> {
        let result = self.file.write_all(buf).and_then(|()| {
            let start = Instant::now();
            self.file.sync_data()?;
            Ok(start.elapsed())
        });
        match result {
            Ok(took) => {
                self.len += buf.len() as u64;
                Ok(took)
            }
            Err(e) => {
                if let Err(te) = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_all())
                {
                    tracing::warn!(
                        file = %self.path.display(),
                        offset = self.len,
                        error = %te,
                        "could not truncate failed WAL segment; replay will cut the torn tail"
                    );
                }
                Err(e)
            }
        }
    }

    /// Fsyncs and closes the segment, returning its length. Every record in it
    /// was already fsynced by [`SegmentFile::append`], so a failure here is
    /// logged, not returned.
    pub(crate) fn seal(self) -> u64 {
        if let Err(e) = self.file.sync_all() {
            tracing::warn!(file = %self.path.display(), error = %e, "fsync while sealing WAL segment failed");
        }
        self.len
    }

    /// Replaces the file handle with a read-only one so the next write fails.
    #[cfg(test)]
    pub(crate) fn make_unwritable_for_test(&mut self) -> io::Result<()> {
        self.file = File::open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_classified_by_suffix_and_twenty_digit_id() {
        let cases: &[(&str, Option<EntryKind>)] = &[
            ("00000000000000000007.wal", Some(EntryKind::Segment(7))),
            ("00000000000000000007.wal.tmp", Some(EntryKind::Tmp(7))),
            (
                "00000000000000000007.wal.corrupt",
                Some(EntryKind::Corrupt(7)),
            ),
            ("7.wal", None),
            ("0000000000000000000x.wal", None),
            ("00000000000000000007.log", None),
            ("README", None),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name), *want, "{name}");
        }
    }

    #[test]
    fn segment_path_is_zero_padded() {
        let p = segment_path(Path::new("/d"), 42);
        assert_eq!(p, Path::new("/d/00000000000000000042.wal"));
    }

    #[test]
    fn record_header_holds_length_and_crc() {
        let h = record_header(b"hello");
        assert_eq!(&h[..4], &5u32.to_le_bytes());
        assert_eq!(&h[4..], &crc32fast::hash(b"hello").to_le_bytes());
    }
}
