//! Distributed mode: the role this process plays (`--role`) and the Kafka request log between distributors and
//! block-builders.
//!
//! - `all` (the default): one process receives, stores (local WAL), flushes, compacts and answers queries.
//! - `distributor`: receivers, validation and limits; each accepted request is split by trace id over the
//!   topic's partitions and acknowledged once Kafka acknowledged every part ([`kafka_log`]).
//! - `block-builder`: consumes its partitions into heads and a local WAL and flushes blocks into the shared
//!   bucket ([`block_builder`]); its own API answers for the data not flushed yet.
//! - `querier`: no heads; reads the blocks the builders wrote, refreshing its catalogs from the bucket.
//! - `compactor`: a querier that also compacts and applies retention while it holds the compactor lease in the
//!   bucket (a conditional-put lease, so of several compactors one works and the others stand by).

pub mod block_builder;
pub mod kafka_log;

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;
use tracewell_store::Store;

/// The compactors' lease object in the bucket (`~` is not allowed in tenant ids, so no tenant's blocks clash).
pub const COMPACTOR_LEASE: &str = "~cluster/compactor-lease.json";

/// What this process does in a cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    #[default]
    All,
    Distributor,
    BlockBuilder,
    Querier,
    Compactor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Distributor => "distributor",
            Role::BlockBuilder => "block-builder",
            Role::Querier => "querier",
            Role::Compactor => "compactor",
        }
    }

    /// Whether this role compacts and applies retention to the blocks it knows.
    pub fn maintains_blocks(self) -> bool {
        matches!(self, Role::All | Role::Compactor)
    }

    /// Whether this role learns about blocks other processes write by listing the bucket.
    pub fn refreshes_catalogs(self) -> bool {
        matches!(self, Role::Querier | Role::Compactor)
    }
}

/// The Kafka topic requests travel through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    pub topic: String,
    /// Partitions of the topic when a distributor creates it.
    pub topic_partitions: i32,
    /// The partitions a block-builder consumes (`None`: all of them).
    pub partitions: Option<Vec<i32>>,
    /// How long a distributor waits for Kafka to acknowledge a request before refusing it as retryable.
    pub produce_timeout: Duration,
}

/// `--role` and its settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterConfig {
    pub role: Role,
    pub kafka: Option<KafkaConfig>,
    /// How often queriers and compactors list the bucket for new and deleted blocks.
    pub block_refresh_interval: Duration,
}

/// Parses `--kafka-partitions`: `all` or a comma-separated list of partition numbers.
pub fn parse_partitions(text: &str) -> anyhow::Result<Option<Vec<i32>>> {
    let text = text.trim();
    if text.is_empty() || text == "all" {
        return Ok(None);
    }
    let mut partitions = Vec::new();
    for part in text.split(',') {
        let n: i32 = part.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "kafka-partitions: {part:?} is not a partition number (use e.g. 0,1 or all)"
            )
        })?;
        if n < 0 {
            anyhow::bail!("kafka-partitions: partition {n} is negative");
        }
        partitions.push(n);
    }
    partitions.sort_unstable();
    partitions.dedup();
    Ok(Some(partitions))
}

/// Lists the bucket every `interval` so this store sees the blocks other processes write and delete.
pub fn spawn_catalog_refresh(
    store: Store,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {
                    if let Err(error) = store.refresh_catalogs().await {
                        tracing::warn!(%error, "refreshing block catalogs from the bucket failed");
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_partitions;

    #[test]
    fn partitions_parse_and_refuse_nonsense() {
        assert_eq!(parse_partitions("all").unwrap(), None);
        assert_eq!(parse_partitions("2, 0,2").unwrap(), Some(vec![0, 2]));
        assert!(parse_partitions("0,x")
            .unwrap_err()
            .to_string()
            .contains("\"x\""));
        assert!(parse_partitions("-1").is_err());
    }
}
