//! Behaviour of the write-ahead log through its public API: round trips,
//! group commit, recovery from torn and corrupt files, rotation and cleanup.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracewell_wal::{segment_path, Replay, SegmentId, Wal, WalConfig, WalError};

fn config(dir: &Path) -> WalConfig {
    WalConfig::new(dir)
}

fn open(dir: &Path) -> (Wal, Replay) {
    Wal::open(config(dir)).expect("open wal")
}

fn records(replay: &Replay) -> Vec<(SegmentId, Vec<u8>)> {
    replay
        .records
        .iter()
        .map(|r| (r.segment, r.payload.clone()))
        .collect()
}

fn wal_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").len()
}

/// Writes `payloads` into segment 1 of a fresh WAL in `dir` and closes it.
async fn write_segment_one(dir: &Path, payloads: &[Vec<u8>]) -> PathBuf {
    let (wal, _) = open(dir);
    for p in payloads {
        assert_eq!(wal.append(p.clone()).await.expect("append"), 1);
    }
    wal.close().expect("close");
    segment_path(dir, 1)
}

#[test]
fn wal_handle_is_cheap_to_share_across_threads() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Wal>();
}

#[tokio::test]
async fn appended_records_replay_in_order_after_reopen() {
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("no records", vec![]),
        ("one empty record", vec![vec![]]),
        (
            "small records",
            vec![b"a".to_vec(), b"bc".to_vec(), b"def".to_vec()],
        ),
        (
            "large record between small ones",
            vec![
                b"x".to_vec(),
                (0..1_000_000u32).map(|i| i as u8).collect(),
                b"y".to_vec(),
            ],
        ),
    ];
    for (name, payloads) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, replay) = open(dir.path());
        assert!(replay.records.is_empty(), "{name}");
        assert_eq!(wal.active_segment(), 1, "{name}");
        for p in &payloads {
            assert_eq!(wal.append(p.clone()).await.expect("append"), 1, "{name}");
        }
        assert_eq!(wal.fsync_count(), payloads.len() as u64, "{name}");
        let on_disk: u64 = wal_files(dir.path())
            .iter()
            .map(|n| file_len(&dir.path().join(n)))
            .sum();
        assert_eq!(wal.disk_bytes(), on_disk, "{name}");
        drop(wal);

        let (wal, replay) = open(dir.path());
        let want: Vec<_> = payloads.iter().map(|p| (1, p.clone())).collect();
        assert_eq!(records(&replay), want, "{name}");
        assert!(
            replay.truncated.is_empty() && replay.skipped.is_empty(),
            "{name}"
        );
        assert_eq!(
            wal.active_segment(),
            2,
            "{name}: appends go to a new segment"
        );
        assert_eq!(wal.sealed_segments(), vec![1], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_all_replay_and_share_fsyncs() {
    const TASKS: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    let groups = Arc::new(AtomicUsize::new(0));
    let grouped_records = Arc::new(AtomicUsize::new(0));
    wal.set_fsync_observer(Arc::new({
        let groups = Arc::clone(&groups);
        let grouped_records = Arc::clone(&grouped_records);
        move |_took: Duration, records: usize| {
            groups.fetch_add(1, Ordering::SeqCst);
            grouped_records.fetch_add(records, Ordering::SeqCst);
            // Keep the writer busy so appends pile up even on fast disks.
            std::thread::sleep(Duration::from_millis(5));
        }
    }));

    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let wal = wal.clone();
            tokio::spawn(async move { wal.append(format!("record-{i}").into_bytes()).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("append"), 1);
    }

    // The observer runs after waiters are completed; closing joins the
    // writer so every observation has happened.
    wal.close().expect("close");
    let fsyncs = wal.fsync_count();
    assert!(fsyncs < TASKS as u64, "{fsyncs} fsyncs for {TASKS} records");
    assert_eq!(groups.load(Ordering::SeqCst) as u64, fsyncs);
    assert_eq!(grouped_records.load(Ordering::SeqCst), TASKS);
    drop(wal);

    let (_, replay) = open(dir.path());
    let mut got: Vec<Vec<u8>> = replay.records.into_iter().map(|r| r.payload).collect();
    got.sort();
    let mut want: Vec<Vec<u8>> = (0..TASKS)
        .map(|i| format!("record-{i}").into_bytes())
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn torn_tail_is_cut_and_earlier_records_survive() {
    // Three 100-byte records: each takes 108 bytes after the 8-byte header.
    let third_start = 8 + 2 * 108;
    let cases = [
        (
            "cut inside the record header",
            third_start + 3,
            "short record header",
        ),
        (
            "cut right after the record header",
            third_start + 8,
            "short payload",
        ),
        ("cut inside the payload", third_start + 50, "short payload"),
    ];
    for (name, cut_at, reason) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let payloads: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 100]).collect();
        let path = write_segment_one(dir.path(), &payloads).await;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(cut_at))
            .expect("tear file");

        let (wal, replay) = open(dir.path());
        let want: Vec<_> = payloads[..2].iter().map(|p| (1, p.clone())).collect();
        assert_eq!(records(&replay), want, "{name}");
        assert_eq!(replay.truncated.len(), 1, "{name}");
        let t = &replay.truncated[0];
        assert_eq!((t.segment, t.offset), (1, third_start), "{name}");
        assert!(t.reason.contains(reason), "{name}: {}", t.reason);
        assert_eq!(
            file_len(&path),
            third_start,
            "{name}: file cut at last good record"
        );

        assert_eq!(
            wal.append(b"later".to_vec()).await.expect("append"),
            2,
            "{name}"
        );
        drop(wal);
        let (_, replay) = open(dir.path());
        let mut want = want;
        want.push((2, b"later".to_vec()));
        assert_eq!(records(&replay), want, "{name}");
        assert!(
            replay.truncated.is_empty(),
            "{name}: repaired file stays clean"
        );
    }
}

#[tokio::test]
async fn corrupt_record_ends_its_segment_but_not_later_segments() {
    // Records of 10 bytes: record i starts at 8 + 18 * i.
    let second_start: u64 = 8 + 18;
    type Corrupt = fn(&mut Vec<u8>);
    let cases: [(&str, Corrupt, &str); 3] = [
        (
            "flipped payload byte",
            |b| b[(8 + 18 + 8 + 4) as usize] ^= 0x01,
            "crc mismatch",
        ),
        (
            "flipped checksum byte",
            |b| b[(8 + 18 + 4) as usize] ^= 0x80,
            "crc mismatch",
        ),
        (
            "length above max_record_bytes",
            |b| {
                b[(8 + 18) as usize..(8 + 18 + 4) as usize].copy_from_slice(&u32::MAX.to_le_bytes())
            },
            "exceeds max_record_bytes",
        ),
    ];
    for (name, corrupt, reason) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = open(dir.path());
        for i in 0..3u8 {
            assert_eq!(wal.append(vec![i; 10]).await.expect("append"), 1);
        }
        assert_eq!(wal.rotate().expect("rotate"), 1);
        assert_eq!(
            wal.append(b"next segment".to_vec()).await.expect("append"),
            2
        );
        drop(wal);

        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).expect("read");
        corrupt(&mut bytes);
        fs::write(&path, &bytes).expect("write");

        let (_, replay) = open(dir.path());
        assert_eq!(
            records(&replay),
            vec![(1, vec![0; 10]), (2, b"next segment".to_vec())],
            "{name}"
        );
        assert_eq!(replay.truncated.len(), 1, "{name}");
        assert_eq!(replay.truncated[0].offset, second_start, "{name}");
        assert!(
            replay.truncated[0].reason.contains(reason),
            "{name}: {}",
            replay.truncated[0].reason
        );
        assert_eq!(file_len(&path), second_start, "{name}");
    }
}

#[tokio::test]
async fn file_with_bad_header_is_renamed_and_skipped() {
    let cases: [(&str, &[u8], &str); 3] = [
        ("bad magic", b"NOPE\x01\x00\x00\x00rest", "bad magic"),
        (
            "unknown version",
            b"TWAL\x09\x00\x00\x00",
            "unsupported format version 9",
        ),
        (
            "shorter than the header",
            b"TW",
            "shorter than the 8-byte header",
        ),
    ];
    for (name, contents, reason) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment_one(dir.path(), &[b"good".to_vec()]).await;
        fs::write(segment_path(dir.path(), 2), contents).expect("write bad file");

        let (wal, replay) = open(dir.path());
        assert_eq!(records(&replay), vec![(1, b"good".to_vec())], "{name}");
        assert_eq!(replay.skipped.len(), 1, "{name}");
        let skipped = &replay.skipped[0];
        assert_eq!(skipped.segment, 2, "{name}");
        assert!(
            skipped.reason.contains(reason),
            "{name}: {}",
            skipped.reason
        );
        assert_eq!(
            fs::read(&skipped.renamed_to).expect("kept"),
            contents,
            "{name}"
        );
        assert!(!segment_path(dir.path(), 2).exists(), "{name}");
        assert_eq!(wal.active_segment(), 3, "{name}: ids are never reused");
        assert_eq!(wal.sealed_segments(), vec![1], "{name}");
        drop(wal);

        let (wal, replay) = open(dir.path());
        assert!(
            replay.skipped.is_empty(),
            "{name}: .corrupt files are ignored"
        );
        assert_eq!(wal.active_segment(), 4, "{name}");
    }
}

#[tokio::test]
async fn oversized_record_is_refused_without_touching_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = WalConfig {
        max_record_bytes: 16,
        ..config(dir.path())
    };
    let (wal, _) = Wal::open(cfg).expect("open");
    let before = (wal.disk_bytes(), file_len(&segment_path(dir.path(), 1)));

    let err = wal.append(vec![0; 17]).await.expect_err("too large");
    assert!(
        matches!(err, WalError::RecordTooLarge { len: 17, max: 16 }),
        "{err:?}"
    );
    assert_eq!(
        (wal.disk_bytes(), file_len(&segment_path(dir.path(), 1))),
        before
    );
    assert_eq!(wal.fsync_count(), 0);

    assert_eq!(wal.append(vec![0; 16]).await.expect("at the limit"), 1);
}

#[tokio::test]
async fn rotate_then_remove_through_deletes_only_sealed_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    for want_sealed in 1..=3 {
        wal.append(vec![want_sealed as u8; 32])
            .await
            .expect("append");
        assert_eq!(wal.rotate().expect("rotate"), want_sealed);
    }
    assert_eq!(wal.active_segment(), 4);
    assert_eq!(wal.sealed_segments(), vec![1, 2, 3]);

    wal.remove_through(2).expect("remove");
    assert_eq!(wal.sealed_segments(), vec![3]);
    assert!(!segment_path(dir.path(), 1).exists());
    assert!(!segment_path(dir.path(), 2).exists());
    assert!(segment_path(dir.path(), 3).exists());

    wal.remove_through(SegmentId::MAX)
        .expect("remove all sealed");
    assert!(wal.sealed_segments().is_empty());
    assert_eq!(wal_files(dir.path()), vec!["00000000000000000004.wal"]);
    assert_eq!(wal.disk_bytes(), file_len(&segment_path(dir.path(), 4)));

    assert_eq!(
        wal.append(b"still works".to_vec()).await.expect("append"),
        4
    );
    wal.remove_through(3).expect("nothing left to remove");
}

#[tokio::test]
async fn reopen_after_rotate_replays_in_order_with_segment_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    let mut want = Vec::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        for payload in [name.to_string(), format!("{name}2")] {
            let seg = wal
                .append(payload.clone().into_bytes())
                .await
                .expect("append");
            assert_eq!(seg, i as u64 + 1);
            want.push((seg, payload.into_bytes()));
        }
        assert_eq!(wal.rotate().expect("rotate"), i as u64 + 1);
    }
    wal.close().expect("close");
    drop(wal);

    let (wal, replay) = open(dir.path());
    assert_eq!(records(&replay), want);
    assert_eq!(wal.sealed_segments(), vec![1, 2, 3, 4]);
    assert_eq!(wal.active_segment(), 5);
}

#[tokio::test]
async fn segments_rotate_automatically_when_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = WalConfig {
        segment_max_bytes: 100,
        ..config(dir.path())
    };
    let (wal, _) = Wal::open(cfg.clone()).expect("open");
    // Each record takes 38 bytes: two fit after the 8-byte header (84), a
    // third would exceed 100.
    let mut segs = Vec::new();
    for i in 0..5u8 {
        segs.push(wal.append(vec![i; 30]).await.expect("append"));
    }
    assert_eq!(segs, vec![1, 1, 2, 2, 3]);
    for id in 1..=2 {
        assert!(file_len(&segment_path(dir.path(), id)) <= 100);
    }
    // A record bigger than a whole segment still gets written, alone.
    assert_eq!(wal.append(vec![9; 500]).await.expect("append"), 4);
    assert_eq!(wal.append(vec![7; 1]).await.expect("append"), 5);
    drop(wal);

    let (_, replay) = Wal::open(cfg).expect("reopen");
    let got: Vec<SegmentId> = replay.records.iter().map(|r| r.segment).collect();
    assert_eq!(got, vec![1, 1, 2, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_drains_queued_appends_and_later_calls_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    wal.set_fsync_observer(Arc::new(|_, _| {
        std::thread::sleep(Duration::from_millis(20));
    }));
    let tasks: Vec<_> = (0..50u8)
        .map(|i| {
            let wal = wal.clone();
            tokio::spawn(async move { wal.append(vec![i]).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closer = wal.clone();
    tokio::task::spawn_blocking(move || closer.close())
        .await
        .expect("join")
        .expect("close");
    for t in tasks {
        t.await.expect("join").expect("queued append is committed");
    }

    assert!(matches!(
        wal.append(b"late".to_vec()).await,
        Err(WalError::Closed)
    ));
    assert!(matches!(wal.rotate(), Err(WalError::Closed)));
    wal.close().expect("close is idempotent");
    drop(wal);

    let (_, replay) = open(dir.path());
    assert_eq!(replay.records.len(), 50);
}

#[tokio::test]
async fn leftover_temporary_segment_is_removed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_segment_one(dir.path(), &[b"kept".to_vec()]).await;
    let tmp = dir.path().join("00000000000000000007.wal.tmp");
    fs::write(&tmp, b"TWAL").expect("write tmp");
    fs::write(dir.path().join("notes.txt"), b"not ours").expect("write other");

    let (wal, replay) = open(dir.path());
    assert_eq!(records(&replay), vec![(1, b"kept".to_vec())]);
    assert!(!tmp.exists());
    assert!(
        dir.path().join("notes.txt").exists(),
        "foreign files are left alone"
    );
    assert_eq!(wal.active_segment(), 8);
}

#[tokio::test]
async fn open_creates_a_missing_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("nested").join("wal");
    let (wal, replay) = open(&dir);
    assert!(replay.records.is_empty());
    assert_eq!(wal.append(b"x".to_vec()).await.expect("append"), 1);
    assert_eq!(wal.dir(), dir);
}
