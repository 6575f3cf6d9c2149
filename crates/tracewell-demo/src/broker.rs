//! The demo's message broker: an in-process queue per subject by default (so the demo runs on a fresh
//! machine), NATS JetStream or Kafka when their address is given. All record the same PRODUCER and
//! CONSUMER spans and apply the same retry and dead-letter policy through
//! `tracewell_instrument::messaging` (on Kafka, subjects are topic names and consumers are consumer
//! groups).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer::pull, stream};
use bytes::Bytes;
use futures::future::BoxFuture;
use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracewell_instrument::messaging::kafka::Kafka;
use tracewell_instrument::messaging::nats::{Delivery, JetStream};
use tracewell_instrument::messaging::{
    attempt_of, dead_letter_link, finish_process, finish_publish, plan_after_failure,
    start_process, start_publish, wait_before_processing, Disposition, MessageInfo, RetryPolicy,
};
use tracewell_instrument::Instrumentation;
use tracing::instrument::WithSubscriber;

/// Subject of new orders.
pub const ORDERS_SUBJECT: &str = "demo.orders.created";
/// Subject of orders the fulfilment worker gave up on.
pub const DEAD_LETTER_SUBJECT: &str = "demo.dead.orders";
const IN_PROCESS_SYSTEM: &str = "tracewell_inprocess";

/// A message as a handler sees it.
#[derive(Clone, Debug)]
pub struct Message {
    pub payload: Bytes,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Why the message was dead-lettered, on the dead-letter subject.
    pub dead_letter_reason: Option<String>,
}

/// A message handler; an `Err` is a failed attempt.
pub type Handler = Arc<dyn Fn(Message) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("no consumer can start on {0}: it already has one")]
    TakenQueue(String),
}

#[derive(Clone)]
pub enum Broker {
    InProcess(InProcess),
    Nats(Box<jetstream::Context>),
    Kafka(KafkaBroker),
}

/// The Kafka brokers and one idempotent producer shared by the services.
#[derive(Clone)]
pub struct KafkaBroker {
    brokers: String,
    producer: FutureProducer,
}

/// Partitions of the demo's topics when the demo creates them.
const KAFKA_PARTITIONS: i32 = 3;

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broker::InProcess(_) => f.write_str("Broker::InProcess"),
            Broker::Nats(_) => f.write_str("Broker::Nats"),
            Broker::Kafka(k) => write!(f, "Broker::Kafka({})", k.brokers),
        }
    }
}

impl Broker {
    pub fn in_process() -> Broker {
        Broker::InProcess(InProcess::default())
    }

    /// Connects to NATS at `url` and creates the demo's streams when missing.
    pub async fn nats(url: &str) -> Result<Broker, BrokerError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| BrokerError::Nats(format!("connecting to {url}: {e}")))?;
        let js = jetstream::new(client);
        for (name, subjects) in [
            ("DEMO_ORDERS", "demo.orders.>"),
            ("DEMO_DEAD", "demo.dead.>"),
        ] {
            js.get_or_create_stream(stream::Config {
                name: name.to_string(),
                subjects: vec![subjects.to_string()],
                max_age: Duration::from_secs(24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(|e| BrokerError::Nats(format!("creating stream {name}: {e}")))?;
        }
        Ok(Broker::Nats(Box::new(js)))
    }

    /// Connects to the Kafka brokers at `brokers` (`host:port[,host:port…]`) and creates the demo's
    /// topics when missing.
    pub async fn kafka(brokers: &str) -> Result<Broker, BrokerError> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .create()
            .map_err(|e| BrokerError::Kafka(format!("connecting to {brokers}: {e}")))?;
        let topics: Vec<NewTopic> = [ORDERS_SUBJECT, DEAD_LETTER_SUBJECT]
            .iter()
            .map(|t| NewTopic::new(t, KAFKA_PARTITIONS, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&topics, &options)
            .await
            .map_err(|e| BrokerError::Kafka(format!("creating topics on {brokers}: {e}")))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(BrokerError::Kafka(format!(
                        "creating topic {topic}: {code}"
                    )))
                }
            }
        }
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            // An order the broker does not take within 10 s fails its request instead of waiting 5 minutes.
            .set("message.timeout.ms", "10000")
            .create()
            .map_err(|e| BrokerError::Kafka(format!("producer for {brokers}: {e}")))?;
        Ok(Broker::Kafka(KafkaBroker {
            brokers: brokers.to_string(),
            producer,
        }))
    }

    /// Publishes under a PRODUCER span of `instrumentation`'s service (child of the current context).
    pub async fn publish(
        &self,
        instrumentation: &Instrumentation,
        subject: &str,
        payload: Bytes,
    ) -> Result<(), BrokerError> {
        match self {
            Broker::InProcess(queues) => {
                let mut headers = BTreeMap::new();
                let mut info = MessageInfo::new(IN_PROCESS_SYSTEM, subject);
                info.body_size = Some(payload.len());
                let cx = start_publish(instrumentation, &Context::current(), &info, &mut headers);
                queues.send(Envelope {
                    subject: subject.to_string(),
                    headers,
                    payload,
                });
                finish_publish(&cx, None);
                Ok(())
            }
            Broker::Nats(js) => JetStream::new((**js).clone(), instrumentation.clone())
                .publish(subject, payload)
                .await
                .map(|_| ())
                .map_err(|e| BrokerError::Nats(e.to_string())),
            Broker::Kafka(kafka) => Kafka::new(kafka.producer.clone(), instrumentation.clone())
                .publish(subject, None, payload)
                .await
                .map(|_| ())
                .map_err(|e| BrokerError::Kafka(e.to_string())),
        }
    }

    /// Starts consumer `name` on `subject`, processing messages with `handler` under CONSUMER spans of
    /// `instrumentation`'s service, retrying and dead-lettering as `policy` says; the consumer runs
    /// under `logs`, the service's `tracing` dispatcher.
    pub async fn spawn_consumer(
        &self,
        instrumentation: Instrumentation,
        logs: tracing::Dispatch,
        subject: &str,
        name: &str,
        policy: RetryPolicy,
        handler: Handler,
    ) -> Result<JoinHandle<()>, BrokerError> {
        match self {
            Broker::InProcess(queues) => {
                let receiver = queues
                    .take_receiver(subject)
                    .ok_or_else(|| BrokerError::TakenQueue(subject.to_string()))?;
                let queues = queues.clone();
                Ok(tokio::spawn(
                    queues
                        .consume(receiver, instrumentation, policy, handler)
                        .with_subscriber(logs),
                ))
            }
            Broker::Nats(js) => {
                let stream_name = if subject.starts_with("demo.dead.") {
                    "DEMO_DEAD"
                } else {
                    "DEMO_ORDERS"
                };
                let consumer = js
                    .get_stream(stream_name)
                    .await
                    .map_err(|e| BrokerError::Nats(e.to_string()))?
                    .get_or_create_consumer(
                        name,
                        pull::Config {
                            durable_name: Some(name.to_string()),
                            filter_subject: subject.to_string(),
                            ack_wait: Duration::from_secs(30),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| BrokerError::Nats(format!("consumer {name}: {e}")))?;
                let js = JetStream::new((**js).clone(), instrumentation);
                let subject = subject.to_string();
                Ok(tokio::spawn(
                    async move {
                        let run = js.run_consumer(consumer, policy, move |d: Delivery| {
                            handler(Message {
                                dead_letter_reason: header(
                                    &d,
                                    tracewell_instrument::messaging::DEAD_LETTER_REASON,
                                ),
                                payload: d.payload,
                                attempt: d.attempt,
                            })
                        });
                        if let Err(error) = run.await {
                            tracing::error!(%error, subject, "consumer stopped");
                        }
                    }
                    .with_subscriber(logs),
                ))
            }
            Broker::Kafka(kafka) => {
                let consumer: StreamConsumer = ClientConfig::new()
                    .set("bootstrap.servers", &kafka.brokers)
                    .set("group.id", name)
                    .set("auto.offset.reset", "earliest")
                    .set("enable.auto.commit", "false")
                    // A group's first rebalance may wait up to the rebalance timeout (this) for members
                    // on some brokers; the demo's handlers never take this long.
                    .set("session.timeout.ms", "6000")
                    .set("max.poll.interval.ms", "10000")
                    .create()
                    .map_err(|e| BrokerError::Kafka(format!("consumer {name}: {e}")))?;
                consumer.subscribe(&[subject]).map_err(|e| {
                    BrokerError::Kafka(format!("consumer {name} on {subject}: {e}"))
                })?;
                let client = Kafka::new(kafka.producer.clone(), instrumentation);
                let (subject, group) = (subject.to_string(), name.to_string());
                Ok(tokio::spawn(
                    async move {
                        let run = client.run_consumer(consumer, &group, policy, move |d| {
                            use tracewell_instrument::messaging::HeaderCarrier;
                            handler(Message {
                                dead_letter_reason: d
                                    .headers
                                    .get_header(tracewell_instrument::messaging::DEAD_LETTER_REASON)
                                    .map(str::to_string),
                                payload: d.payload,
                                attempt: d.attempt,
                            })
                        });
                        if let Err(error) = run.await {
                            tracing::error!(%error, subject, "consumer stopped");
                        }
                    }
                    .with_subscriber(logs),
                ))
            }
        }
    }
}

fn header(delivery: &Delivery, key: &str) -> Option<String> {
    use tracewell_instrument::messaging::HeaderCarrier;
    delivery.headers.get_header(key).map(str::to_string)
}

/// One message in an in-process queue.
#[derive(Debug)]
struct Envelope {
    subject: String,
    headers: BTreeMap<String, String>,
    payload: Bytes,
}

type Queue = (
    mpsc::UnboundedSender<Envelope>,
    Option<mpsc::UnboundedReceiver<Envelope>>,
);

/// Unbounded in-process queues, one per subject, each with at most one consumer.
#[derive(Clone, Default)]
pub struct InProcess {
    queues: Arc<Mutex<HashMap<String, Queue>>>,
}

impl InProcess {
    fn with_queue<T>(&self, subject: &str, f: impl FnOnce(&mut Queue) -> T) -> T {
        let mut queues = self.queues.lock();
        let queue = queues.entry(subject.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            (tx, Some(rx))
        });
        f(queue)
    }

    fn send(&self, envelope: Envelope) {
        let subject = envelope.subject.clone();
        // The receiver lives as long as the queue map, so sending cannot fail while the demo runs.
        let _ = self.with_queue(&subject, |q| q.0.send(envelope));
    }

    fn take_receiver(&self, subject: &str) -> Option<mpsc::UnboundedReceiver<Envelope>> {
        self.with_queue(subject, |q| q.1.take())
    }

    async fn consume(
        self,
        mut receiver: mpsc::UnboundedReceiver<Envelope>,
        instrumentation: Instrumentation,
        policy: RetryPolicy,
        handler: Handler,
    ) {
        while let Some(envelope) = receiver.recv().await {
            if let Some(wait) = wait_before_processing(&envelope.headers, SystemTime::now()) {
                let queues = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    queues.send(envelope);
                });
                continue;
            }
            self.process(envelope, &instrumentation, &policy, &handler)
                .await;
        }
    }

    async fn process(
        &self,
        envelope: Envelope,
        instrumentation: &Instrumentation,
        policy: &RetryPolicy,
        handler: &Handler,
    ) {
        let attempt = attempt_of(&envelope.headers);
        let mut info = MessageInfo::new(IN_PROCESS_SYSTEM, &envelope.subject);
        info.body_size = Some(envelope.payload.len());
        info.delivery_count = Some(attempt);
        let links = dead_letter_link(&envelope.headers).into_iter().collect();
        let cx = start_process(instrumentation, &info, &envelope.headers, links);
        let message = Message {
            payload: envelope.payload.clone(),
            attempt,
            dead_letter_reason: envelope
                .headers
                .get(tracewell_instrument::messaging::DEAD_LETTER_REASON)
                .cloned(),
        };
        let outcome = handler(message).with_context(cx.clone()).await;
        let Err(error) = outcome else {
            finish_process(&cx, None, Disposition::Acked);
            return;
        };
        let plan = plan_after_failure(
            instrumentation,
            policy,
            IN_PROCESS_SYSTEM,
            &envelope.subject,
            &envelope.headers,
            &cx,
            attempt,
            &error,
            envelope.payload.len(),
        );
        let (destination, headers, publish, disposition) = match plan.into_publish() {
            Some(parts) => parts,
            None => {
                tracing::error!(
                    subject = envelope.subject,
                    attempt,
                    error,
                    "message dropped after its last attempt"
                );
                finish_process(&cx, Some(&error), Disposition::Dropped);
                return;
            }
        };
        self.send(Envelope {
            subject: destination,
            headers,
            payload: envelope.payload.clone(),
        });
        finish_publish(&publish, None);
        finish_process(&cx, Some(&error), disposition);
    }
}
