//! A Kafka-compatible broker of a test's own (`tansu`, in memory) on a free port, with topics created
//! through the Kafka admin API (shared by the instrumentation and demo tests).
//!
//! The broker is found as `$TANSU`, as `tansu` beside `$TEST_PYTHON` (where `scripts/test-deps` puts
//! it) or on the PATH.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

/// A `tansu broker` child of the test's own, killed on drop.
pub struct KafkaServer {
    child: Child,
    /// `host:port` for `bootstrap.servers`.
    pub brokers: String,
}

fn tansu_program() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return PathBuf::from(path);
    }
    if let Some(python) = std::env::var_os("TEST_PYTHON") {
        let beside = PathBuf::from(python).with_file_name("tansu");
        if beside.exists() {
            return beside;
        }
    }
    PathBuf::from("tansu")
}

impl KafkaServer {
    pub async fn start() -> KafkaServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let program = tansu_program();
        let mut child = Command::new(&program)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} failed ({e}): this test needs the tansu Kafka-compatible broker \
                     (scripts/test-deps installs it; or set TANSU to its path)",
                    program.display()
                )
            });
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return KafkaServer {
                    child,
                    brokers: format!("127.0.0.1:{port}"),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tansu did not listen on {port}");
    }

    /// Creates `topics`, each with `partitions` partitions.
    pub async fn create_topics(&self, topics: &[&str], partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .expect("admin client");
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
            .collect();
        let results = admin
            .create_topics(&new, &AdminOptions::new())
            .await
            .expect("create topics");
        for result in results {
            result.expect("topic created");
        }
    }
}

impl Drop for KafkaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
