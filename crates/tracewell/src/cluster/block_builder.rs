//! The block-builder's consumer: reads its partitions of the request topic in order and appends each record to the
//! store with its position (local WAL, then head; the store's flush writes blocks to the shared bucket).
//!
//! Where to resume is the store's business, not the consumer group's: the WAL replay knows the last offset appended
//! per partition, and `<data_dir>/log-positions.json` (rewritten every second, after the appends it names are in
//! the WAL) covers what flushes already removed from the WAL. Resuming after the higher of the two means a restart
//! neither loses nor repeats a record; the data directory must outlive the process, as a monolithic server's does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tracewell_model::TenantId;
use tracewell_store::{LogPositions, Store, StoreError};

use super::kafka_log::{partition_count, TENANT_HEADER};
use super::KafkaConfig;

/// How often the positions file is rewritten.
const SAVE_POSITIONS_EVERY: Duration = Duration::from_secs(1);
/// Pause before retrying a record the store cannot take yet (over its memory budget, WAL trouble).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

fn positions_path(data_dir: &Path) -> PathBuf {
    data_dir.join("log-positions.json")
}

fn load_positions(path: &Path) -> anyhow::Result<LogPositions> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a positions file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LogPositions::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the positions file atomically and durably (temporary file, fsync, rename, directory fsync).
fn save_positions(path: &Path, positions: &LogPositions) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, &serde_json::to_vec(positions)?)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A block-builder connected to its partitions, ready to [`BlockBuilder::run`].
pub struct BlockBuilder {
    store: Store,
    consumer: StreamConsumer,
    path: PathBuf,
}

/// Connects to Kafka and assigns the configured partitions, each from just after its last appended offset.
/// Call after the store recovered (its WAL replay knows where it stopped). Errors here stop the server.
pub fn start(store: Store, config: &KafkaConfig) -> anyhow::Result<BlockBuilder> {
    let path = positions_path(&store.config().data_dir);
    store.merge_log_positions(&load_positions(&path)?);
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", "tracewell-block-builder")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.message.max.bytes", "67108864")
        .create()
        .with_context(|| format!("kafka: consumer for {}", config.brokers))?;
    let partitions = match &config.partitions {
        Some(list) => list.clone(),
        None => (0..partition_count(consumer.client(), &config.topic)?).collect(),
    };
    let positions = store.log_positions();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        let start = positions
            .get(partition)
            .map_or(Offset::Beginning, |last| Offset::Offset(last + 1));
        assignment
            .add_partition_offset(&config.topic, *partition, start)
            .context("kafka: assigning partitions")?;
    }
    consumer
        .assign(&assignment)
        .context("kafka: assigning partitions")?;
    tracing::info!(topic = %config.topic, ?partitions, resume_after = ?positions, "block-builder consuming");
    Ok(BlockBuilder {
        store,
        consumer,
        path,
    })
}

impl BlockBuilder {
    /// Consumes until `stop` turns true, then saves the positions.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let BlockBuilder {
            store,
            consumer,
            path,
        } = self;
        let positions = store.log_positions();
        let mut save = tokio::time::interval(SAVE_POSITIONS_EVERY);
        let mut saved = positions;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = save.tick() => {
                    let now = store.log_positions();
                    if now != saved {
                        match save_positions(&path, &now) {
                            Ok(()) => saved = now,
                            Err(error) => tracing::warn!(%error, path = %path.display(), "could not save log positions"),
                        }
                    }
                }
                received = consumer.recv() => {
                    let message = match received {
                        Ok(message) => message,
                        Err(error) => {
                            tracing::warn!(%error, "kafka: receiving failed; retrying");
                            tokio::time::sleep(RETRY_PAUSE).await;
                            continue;
                        }
                    };
                    let tenant = message
                        .headers()
                        .and_then(|h| h.iter().find(|h| h.key == TENANT_HEADER).and_then(|h| h.value))
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|t| TenantId::new(t).ok());
                    let (partition, offset) = (message.partition(), message.offset());
                    let Some(tenant) = tenant else {
                        tracing::error!(partition, offset, "kafka record without a valid tenant header; skipped");
                        store.merge_log_positions(&LogPositions::from([(partition, offset)]));
                        continue;
                    };
                    append(&store, &tenant, message.payload().unwrap_or_default(), partition, offset, &mut stop).await;
                }
            }
        }
        let now = store.log_positions();
        if let Err(error) = save_positions(&path, &now) {
            tracing::warn!(%error, path = %path.display(), "could not save log positions at shutdown");
        }
    }
}

/// Appends one record, waiting while the store cannot take it; records the store can never take are skipped.
async fn append(
    store: &Store,
    tenant: &TenantId,
    record: &[u8],
    partition: i32,
    offset: i64,
    stop: &mut watch::Receiver<bool>,
) {
    loop {
        match store
            .append_from_log(tenant, record, partition, offset)
            .await
        {
            Ok(_) => return,
            Err(error @ (StoreError::BadLogRecord { .. } | StoreError::TooManyTenants { .. })) => {
                tracing::error!(%error, %tenant, partition, offset, "kafka record skipped");
                store.merge_log_positions(&LogPositions::from([(partition, offset)]));
                return;
            }
            Err(error) => {
                tracing::debug!(%error, partition, offset, "store cannot take the record yet");
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
        }
    }
}
