//! Crate-internal tests for failure paths that need a hook into the writer.
//! Behaviour visible through the public API is tested in `tests/wal.rs`.

use crate::{segment_path, Wal, WalConfig, WalError};

#[tokio::test]
async fn failed_write_fails_its_group_and_the_next_group_uses_a_new_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(WalConfig::new(dir.path())).expect("open");
    assert_eq!(wal.append(b"before".to_vec()).await.expect("append"), 1);
    let good_len = std::fs::metadata(segment_path(dir.path(), 1))
        .expect("stat")
        .len();

    wal.break_active_segment_for_test().expect("hook");
    let err = wal
        .append(b"lost".to_vec())
        .await
        .expect_err("write to a read-only handle must fail");
    assert!(matches!(err, WalError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("00000000000000000001.wal"),
        "{err}"
    );
    assert_eq!(wal.sealed_segments(), vec![1], "failed segment is sealed");
    let len = std::fs::metadata(segment_path(dir.path(), 1))
        .expect("stat")
        .len();
    assert_eq!(len, good_len, "failed segment keeps only good records");

    assert_eq!(wal.append(b"after".to_vec()).await.expect("append"), 2);
    assert_eq!(wal.active_segment(), 2);
    wal.close().expect("close");
    drop(wal);

    let (_, replay) = Wal::open(WalConfig::new(dir.path())).expect("reopen");
    let got: Vec<(u64, &[u8])> = replay
        .records
        .iter()
        .map(|r| (r.segment, r.payload.as_slice()))
        .collect();
    assert_eq!(got, vec![(1, &b"before"[..]), (2, &b"after"[..])]);
    assert!(replay.truncated.is_empty(), "{:?}", replay.truncated);
}

#[tokio::test]
async fn failed_rotation_leaves_the_wal_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(WalConfig::new(dir.path())).expect("open");
    wal.append(b"a".to_vec()).await.expect("append");
    wal.break_active_segment_for_test().expect("hook");
    assert!(wal.append(b"b".to_vec()).await.is_err());
    // The next id is created by rotate instead of the next group.
    assert_eq!(wal.rotate().expect("rotate"), 1);
    assert_eq!(wal.append(b"c".to_vec()).await.expect("append"), 2);
}
