//! Recovery at open: scans the WAL directory, validates every segment in id
//! order, cuts torn or corrupt tails, sets aside files with a bad header and
//! returns the surviving records.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::segment::{
    self, EntryKind, CORRUPT_SUFFIX, FILE_HEADER_LEN, FORMAT_VERSION, MAGIC, RECORD_HEADER_LEN,
};
use crate::SegmentId;

/// Everything recovered by [`crate::Wal::open`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Every intact record, ordered by segment id and then by position in the
    /// segment (which is the order their appends were acknowledged).
    pub records: Vec<ReplayedRecord>,
    /// Segments whose tail was torn or corrupt and has been cut off.
    pub truncated: Vec<Truncation>,
    /// Segment files with a bad header, renamed to `<name>.corrupt` and not
    /// replayed.
    pub skipped: Vec<SkippedSegment>,
}

/// One record read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedRecord {
    /// The segment the record was found in (the id its append returned).
    pub segment: SegmentId,
    /// The record's bytes, exactly as appended.
    pub payload: Vec<u8>,
}

/// A segment that was truncated at its last good record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The truncated segment.
    pub segment: SegmentId,
    /// Byte offset the file was cut at (end of the last good record).
    pub offset: u64,
    /// Why the record at `offset` was rejected.
    pub reason: String,
}

/// A segment file that was set aside whole because its header is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSegment {
    /// Id parsed from the file name.
    pub segment: SegmentId,
    /// Where the file now lives (`<name>.corrupt`).
    pub renamed_to: PathBuf,
    /// What was wrong with the header.
    pub reason: String,
}

/// Result of recovery, consumed by `Wal::open`.
pub(crate) struct Recovered {
    pub(crate) replay: Replay,
    /// Valid segments left on disk, with their (possibly truncated) lengths.
    pub(crate) sealed: BTreeMap<SegmentId, u64>,
    /// The id for the new active segment: one above any id seen on disk.
    pub(crate) next_id: SegmentId,
}

/// Scans and repairs `dir` (which must exist).
pub(crate) fn recover(dir: &Path, max_record_bytes: u32) -> Result<Recovered> {
    let mut segments = Vec::new();
    let mut tmp_files = Vec::new();
    let mut max_seen: Option<SegmentId> = None;

    let entries = fs::read_dir(dir)
        .map_err(|e| WalError::io(format!("reading WAL directory {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| WalError::io(format!("reading WAL directory {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(kind) = name.to_str().and_then(segment::classify) else {
            continue;
        };
        let id = match kind {
            EntryKind::Segment(id) => {
                segments.push(id);
                id
            }
            EntryKind::Tmp(id) => {
                tmp_files.push(entry.path());
                id
            }
            EntryKind::Corrupt(id) => id,
        };
        max_seen = Some(max_seen.map_or(id, |m| m.max(id)));
    }
    segments.sort_unstable();

    let mut dir_changed = false;
    for tmp in tmp_files {
        // An interrupted segment creation: it can only hold a header.
        fs::remove_file(&tmp)
            .map_err(|e| WalError::io(format!("removing {}", tmp.display()), e))?;
        dir_changed = true;
    }

    let mut replay = Replay::default();
    let mut sealed = BTreeMap::new();
    for id in segments {
        let path = segment::segment_path(dir, id);
        match scan_segment(&path, id, max_record_bytes, &mut replay.records)? {
            Scan::Clean { len } => {
                sealed.insert(id, len);
            }
            Scan::Torn { good_len, reason } => {
                tracing::warn!(
                    file = %path.display(),
                    offset = good_len,
                    reason = %reason,
                    "WAL segment has a torn or corrupt record; truncating at the last good record"
                );
                truncate(&path, good_len)?;
                sealed.insert(id, good_len);
                replay.truncated.push(Truncation {
                    segment: id,
                    offset: good_len,
                    reason,
                });
            }
            Scan::BadHeader { reason } => {
                let renamed_to = corrupt_path(&path);
                tracing::warn!(
                    file = %path.display(),
                    offset = 0u64,
                    reason = %reason,
                    renamed_to = %renamed_to.display(),
                    "WAL segment has an invalid header; setting the whole file aside"
                );
                fs::rename(&path, &renamed_to).map_err(|e| {
                    WalError::io(
                        format!("renaming {} to {}", path.display(), renamed_to.display()),
                        e,
                    )
                })?;
                dir_changed = true;
                replay.skipped.push(SkippedSegment {
                    segment: id,
                    renamed_to,
                    reason,
                });
            }
        }
    }

    if dir_changed {
        segment::sync_dir(dir)
            .map_err(|e| WalError::io(format!("fsyncing WAL directory {}", dir.display()), e))?;
    }

    Ok(Recovered {
        replay,
        sealed,
        next_id: max_seen.map_or(1, |m| m.saturating_add(1)),
    })
}

fn corrupt_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(CORRUPT_SUFFIX);
    PathBuf::from(name)
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(len)?;
            f.sync_all()
        })
        .map_err(|e| WalError::io(format!("truncating {} to {len} bytes", path.display()), e))
}

enum Scan {
    /// Every byte after the header belongs to a valid record.
    Clean { len: u64 },
    /// The record starting at `good_len` is torn or corrupt.
    Torn { good_len: u64, reason: String },
    /// The file header is missing or wrong.
    BadHeader { reason: String },
}

/// Reads one segment, pushing its valid records onto `out`.
fn scan_segment(
    path: &Path,
    id: SegmentId,
    max_record_bytes: u32,
    out: &mut Vec<crate::ReplayedRecord>,
) -> Result<Scan> {
    let ctx = |e| WalError::io(format!("reading WAL segment {}", path.display()), e);
    let file = File::open(path).map_err(ctx)?;
    let file_len = file.metadata().map_err(ctx)?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);

    let mut header = [0u8; FILE_HEADER_LEN as usize];
    let n = read_full(&mut r, &mut header).map_err(ctx)?;
    if n < header.len() {
        return Ok(Scan::BadHeader {
            reason: format!("file is {n} bytes, shorter than the 8-byte header"),
        });
    }
    if header[..4] != MAGIC {
        return Ok(Scan::BadHeader {
            reason: format!("bad magic {:02x?}", &header[..4]),
        });
    }
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if version != FORMAT_VERSION {
        return Ok(Scan::BadHeader {
            reason: format!("unsupported format version {version}"),
        });
    }

    let mut offset = FILE_HEADER_LEN;
    loop {
        let torn = |reason: String| {
            Ok(Scan::Torn {
                good_len: offset,
                reason,
            })
        };
        let mut rh = [0u8; RECORD_HEADER_LEN];
        let n = read_full(&mut r, &mut rh).map_err(ctx)?;
        if n == 0 {
            return Ok(Scan::Clean { len: offset });
        }
        if n < RECORD_HEADER_LEN {
            return torn(format!("short record header ({n} of 8 bytes)"));
        }
        let len = u32::from_le_bytes([rh[0], rh[1], rh[2], rh[3]]);
        let stored_crc = u32::from_le_bytes([rh[4], rh[5], rh[6], rh[7]]);
        if len > max_record_bytes {
            return torn(format!(
                "record length {len} exceeds max_record_bytes {max_record_bytes}"
            ));
        }
        let left = file_len.saturating_sub(offset + RECORD_HEADER_LEN as u64);
        if u64::from(len) > left {
            return torn(format!(
                "short payload (record needs {len} bytes, {left} left in file)"
            ));
        }
        let mut payload = vec![0u8; len as usize];
        let got = read_full(&mut r, &mut payload).map_err(ctx)?;
        if got < payload.len() {
            return torn(format!(
                "short payload (record needs {len} bytes, got {got})"
            ));
        }
        let crc = crc32fast::hash(&payload);
        if crc != stored_crc {
            return torn(format!(
                "crc mismatch (stored {stored_crc:#010x}, computed {crc:#010x})"
            ));
        }
        out.push(crate::ReplayedRecord {
            segment: id,
            payload,
        });
        offset += RECORD_HEADER_LEN as u64 + u64::from(len);
    }
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
