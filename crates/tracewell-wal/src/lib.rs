//! Tracewell's write-ahead log: a segmented, checksummed log of opaque byte
//! records with group commit.
//!
//! The ingest path stores each accepted OTLP export request (protobuf bytes)
//! here before acknowledging it, and the store deletes segments once their
//! contents are safely in columnar files. The WAL does not interpret records.
//!
//! # Main types
//!
//! * [`WalConfig`]: directory, segment size (default 64 MiB) and record size
//!   limit (default 64 MiB).
//! * [`Wal`]: cheap-to-clone handle (`Send + Sync`).
//!   * [`Wal::open`] creates the directory if needed, replays and repairs
//!     existing segments and returns a [`Replay`] with every intact record.
//!   * [`Wal::append`] resolves once the record is written **and fsynced**
//!     and returns the [`SegmentId`] it landed in.
//!   * [`Wal::rotate`] seals the active segment and opens the next one.
//!   * [`Wal::remove_through`] deletes sealed segments up to an id.
//!   * [`Wal::set_fsync_observer`] and [`Wal::fsync_count`] expose fsync
//!     latency and group sizes for metrics.
//!   * [`Wal::close`] drains and stops the writer (dropping the last clone
//!     does the same).
//! * [`WalError`]: `Io`, `RecordTooLarge`, `Closed`.
//!
//! # Group commit
//!
//! A dedicated writer thread takes every pending append (up to
//! `min(segment_max_bytes, 64 MiB)` of records per group; a single larger
//! record forms its own group), writes them with one `write_all`, calls
//! `sync_data` once and completes all of them with the same result. Under
//! load many appends share one fsync. If the write or fsync fails, every
//! append in that group receives the error, the segment is truncated back to
//! its last good length and sealed, and the next group goes to a new segment.
//!
//! # Rotation and cleanup contract
//!
//! * Records whose `append` returned segment id `s` are in segment `s`.
//! * `rotate()` returns the sealed id `s`; every append that *starts* after
//!   it returns lands in a segment `> s`. Appends racing with it may land on
//!   either side, and their returned id says which.
//! * `remove_through(s)` deletes sealed segments `<= s`. The usual flush is:
//!   `s = wal.rotate()`, persist everything whose append returned an id
//!   `<= s`, then `wal.remove_through(s)`.
//! * Segments also rotate automatically: before a group that would push a
//!   non-empty segment past `segment_max_bytes`.
//! * Segments found at open are sealed and replayed; the caller removes them
//!   with `remove_through` once it has persisted the replayed data.
//!
//! # On-disk format
//!
//! Files are `<dir>/<id as 20 zero-padded digits>.wal`, starting with the
//! 8-byte header `b"TWAL"` + `u32` LE version `1`, followed by records
//! `u32 LE payload length | u32 LE crc32 of payload | payload`. See
//! `FORMAT.md` next to this file for details, including recovery rules.
//!
//! One process must own the directory; the WAL takes no file lock.

#![warn(missing_docs)]

mod error;
mod replay;
mod segment;
mod wal;
mod writer;

#[cfg(test)]
mod tests;

pub use error::{Result, WalError};
pub use replay::{Replay, ReplayedRecord, SkippedSegment, Truncation};
pub use segment::segment_path;
pub use wal::{Wal, WalConfig, DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_MAX_BYTES};
pub use writer::FsyncObserver;

/// Identifies a segment file; ids increase monotonically, starting at 1.
pub type SegmentId = u64;
