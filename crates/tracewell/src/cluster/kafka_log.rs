//! The distributor's request log on Kafka: each accepted request is split by trace id over the topic's partitions
//! (so one trace's spans meet in one block-builder), each part is produced as a store record (kind byte and OTLP
//! protobuf) with the tenant in a `tenant` header, and the request counts as durable once Kafka acknowledged every
//! part with `acks=all` from an idempotent producer.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use futures::future::{try_join_all, BoxFuture};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tracewell_model::TenantId;
use tracewell_store::RequestLog;

use super::KafkaConfig;

/// Header naming the tenant of a record.
pub const TENANT_HEADER: &str = "tenant";
/// Largest record the producer sends (requests are split per partition first).
const MAX_RECORD_BYTES: &str = "67108864";

/// A Kafka topic as a [`RequestLog`].
pub struct KafkaLog {
    producer: FutureProducer,
    topic: String,
    partitions: i32,
    timeout: Duration,
}

/// Creates `topic` with `partitions` partitions unless it exists.
pub async fn ensure_topic(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .with_context(|| format!("kafka: admin client for {brokers}"))?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &options,
        )
        .await
        .with_context(|| format!("kafka: creating topic {topic} on {brokers}"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("kafka: creating topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// The number of partitions of `topic`, read from the cluster's metadata.
pub fn partition_count<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> anyhow::Result<i32> {
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .with_context(|| format!("kafka: metadata of topic {topic}"))?;
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    anyhow::ensure!(count > 0, "kafka: topic {topic} has no partitions");
    Ok(i32::try_from(count)?)
}

impl KafkaLog {
    /// Connects, creates the topic when missing and reads its partition count.
    pub async fn connect(config: &KafkaConfig) -> anyhow::Result<Self> {
        ensure_topic(&config.brokers, &config.topic, config.topic_partitions).await?;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.max.bytes", MAX_RECORD_BYTES)
            // A record not acknowledged within the produce timeout fails (librdkafka's default is 5 minutes),
            // so a request waits at most that long for an unreachable cluster.
            .set(
                "message.timeout.ms",
                config.produce_timeout.as_millis().max(1).to_string(),
            )
            .create()
            .with_context(|| format!("kafka: producer for {}", config.brokers))?;
        let partitions = partition_count(producer.client(), &config.topic)?;
        tracing::info!(topic = %config.topic, partitions, brokers = %config.brokers, "distributing requests to kafka");
        Ok(KafkaLog {
            producer,
            topic: config.topic.clone(),
            partitions,
            timeout: config.produce_timeout,
        })
    }

    async fn produce(&self, tenant: &TenantId, parts: Vec<(i32, Vec<u8>)>) -> Result<(), String> {
        let sends = parts.iter().map(|(partition, record)| {
            let headers = OwnedHeaders::new().insert(Header {
                key: TENANT_HEADER,
                value: Some(tenant.as_str()),
            });
            let message = FutureRecord::<(), [u8]>::to(&self.topic)
                .partition(*partition)
                .payload(record.as_slice())
                .headers(headers);
            async move {
                self.producer
                    .send(message, self.timeout)
                    .await
                    .map_err(|(error, _)| format!("kafka partition {partition}: {error}"))
            }
        });
        try_join_all(sends).await.map(|_| ())
    }
}

impl RequestLog for KafkaLog {
    fn append_traces<'a>(
        &'a self,
        tenant: &'a TenantId,
        request: ExportTraceServiceRequest,
    ) -> BoxFuture<'a, Result<(), String>> {
        let parts = split_traces(request, self.partitions)
            .into_iter()
            .map(|(p, part)| (p, tracewell_store::traces_record(&part)))
            .collect();
        Box::pin(self.produce(tenant, parts))
    }

    fn append_logs<'a>(
        &'a self,
        tenant: &'a TenantId,
        request: ExportLogsServiceRequest,
    ) -> BoxFuture<'a, Result<(), String>> {
        let parts = split_logs(request, self.partitions)
            .into_iter()
            .map(|(p, part)| (p, tracewell_store::logs_record(&part)))
            .collect();
        Box::pin(self.produce(tenant, parts))
    }
}

/// The partition of a trace: FNV-1a of its id, finished with a 64-bit mix (FNV's low bits alone spread badly), so
/// every distributor sends one trace to one partition.
pub fn partition_of(trace_id: &[u8], partitions: i32) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in trace_id {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    (hash % partitions.max(1) as u64) as i32
}

/// Splits a traces request into one request per partition, keeping each span's resource and scope (spans are
/// moved; only resources and scopes are copied, once per partition they reach).
pub fn split_traces(
    request: ExportTraceServiceRequest,
    partitions: i32,
) -> BTreeMap<i32, ExportTraceServiceRequest> {
    let mut parts: BTreeMap<i32, (ExportTraceServiceRequest, Option<(usize, usize)>)> =
        BTreeMap::new();
    for (ri, mut resource) in request.resource_spans.into_iter().enumerate() {
        for (si, mut scope) in std::mem::take(&mut resource.scope_spans)
            .into_iter()
            .enumerate()
        {
            for span in std::mem::take(&mut scope.spans) {
                let (part, last) = parts
                    .entry(partition_of(&span.trace_id, partitions))
                    .or_default();
                if last.map(|(r, _)| r) != Some(ri) {
                    part.resource_spans.push(ResourceSpans {
                        resource: resource.resource.clone(),
                        scope_spans: Vec::new(),
                        schema_url: resource.schema_url.clone(),
                    });
                }
                let out = part.resource_spans.last_mut().expect("pushed above");
                if *last != Some((ri, si)) {
                    out.scope_spans.push(ScopeSpans {
                        scope: scope.scope.clone(),
                        spans: Vec::new(),
                        schema_url: scope.schema_url.clone(),
                    });
                }
                out.scope_spans
                    .last_mut()
                    .expect("pushed above")
                    .spans
                    .push(span);
                *last = Some((ri, si));
            }
        }
    }
    parts.into_iter().map(|(p, (part, _))| (p, part)).collect()
}

/// Splits a logs request by the trace id of each record (records without one by their timestamp).
pub fn split_logs(
    request: ExportLogsServiceRequest,
    partitions: i32,
) -> BTreeMap<i32, ExportLogsServiceRequest> {
    let mut parts: BTreeMap<i32, (ExportLogsServiceRequest, Option<(usize, usize)>)> =
        BTreeMap::new();
    for (ri, mut resource) in request.resource_logs.into_iter().enumerate() {
        for (si, mut scope) in std::mem::take(&mut resource.scope_logs)
            .into_iter()
            .enumerate()
        {
            for record in std::mem::take(&mut scope.log_records) {
                let partition = if record.trace_id.is_empty() {
                    partition_of(&record.time_unix_nano.to_le_bytes(), partitions)
                } else {
                    partition_of(&record.trace_id, partitions)
                };
                let (part, last) = parts.entry(partition).or_default();
                if last.map(|(r, _)| r) != Some(ri) {
                    part.resource_logs.push(ResourceLogs {
                        resource: resource.resource.clone(),
                        scope_logs: Vec::new(),
                        schema_url: resource.schema_url.clone(),
                    });
                }
                let out = part.resource_logs.last_mut().expect("pushed above");
                if *last != Some((ri, si)) {
                    out.scope_logs.push(ScopeLogs {
                        scope: scope.scope.clone(),
                        log_records: Vec::new(),
                        schema_url: scope.schema_url.clone(),
                    });
                }
                out.scope_logs
                    .last_mut()
                    .expect("pushed above")
                    .log_records
                    .push(record);
                *last = Some((ri, si));
            }
        }
    }
    parts.into_iter().map(|(p, (part, _))| (p, part)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::Span;

    fn span(trace: u8, name: &str) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![1; 8],
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_splits_by_trace_and_keeps_resources_and_scopes() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![
                        ScopeSpans {
                            spans: (0..20).map(|t| span(t, "a")).collect(),
                            ..Default::default()
                        },
                        ScopeSpans {
                            spans: (0..20).map(|t| span(t, "b")).collect(),
                            ..Default::default()
                        },
                    ],
                    schema_url: "r1".into(),
                    ..Default::default()
                },
                ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: (0..20).map(|t| span(t, "c")).collect(),
                        ..Default::default()
                    }],
                    schema_url: "r2".into(),
                    ..Default::default()
                },
            ],
        };
        let parts = split_traces(request, 4);
        assert!(parts.len() > 1, "20 traces spread over partitions");
        let mut total = 0;
        for (partition, part) in &parts {
            for resource in &part.resource_spans {
                for scope in &resource.scope_spans {
                    for s in &scope.spans {
                        total += 1;
                        assert_eq!(partition_of(&s.trace_id, 4), *partition);
                        let expected = match resource.schema_url.as_str() {
                            "r1" => ["a", "b"],
                            _ => ["c", "c"],
                        };
                        assert!(expected.contains(&s.name.as_str()));
                    }
                }
            }
        }
        assert_eq!(total, 60, "every span goes to exactly one part");
        // One trace's spans all land in one partition.
        let trace_7: Vec<i32> = parts
            .iter()
            .filter(|(_, p)| {
                p.resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .flat_map(|s| &s.spans)
                    .any(|s| s.trace_id == vec![7; 16])
            })
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(trace_7.len(), 1);
    }

    #[test]
    fn traces_spread_evenly_over_partitions() {
        let mut counts = [0usize; 8];
        for i in 0..8000u32 {
            let mut id = [0u8; 16];
            id[12..].copy_from_slice(&i.to_be_bytes());
            counts[partition_of(&id, 8) as usize] += 1;
        }
        for count in counts {
            assert!((800..1200).contains(&count), "{counts:?}");
        }
    }
}
