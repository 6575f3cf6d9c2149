//! The server starts, reports ready, answers health and metrics, and stops cleanly on SIGTERM.

mod common;

use common::Server;

#[tokio::test]
async fn server_starts_ready_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]).await;
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tracewell_wal_fsync_duration_seconds"),
        "{metrics}"
    );
    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; logs:\n{}",
        server.logs()
    );
    assert!(server.logs().contains("stopped"));
}
