//! TLS (`--tls-cert`, `--tls-key`) and mutual TLS for OTLP (`--tls-client-ca`) against the real server, with a
//! certificate authority, server and client certificates generated for each test: HTTPS requests and OTLP gRPC
//! exports over TLS succeed with the test CA, plain HTTP and plain gRPC to a TLS port fail, and with mutual TLS
//! OTLP clients without a certificate signed by the CA are refused while those with one are accepted.

mod common;

#[path = "../../tracewell-api/src/tempo/proto.rs"]
#[allow(dead_code)]
mod proto;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::traces::{export_request_of, kv_str, now_unix_nano, SentTrace, SpanShape};
use common::Server;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// A certificate authority and what it signed, as PEM files in a directory.
struct Pki {
    ca_pem: String,
    ca_file: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    /// A client certificate signed by the CA (certificate and key PEM).
    client: (String, String),
    /// A self-signed client certificate the CA knows nothing of.
    stranger: (String, String),
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Tracewell test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();

        let client = |issuer: Option<&CertifiedIssuer<'_, KeyPair>>| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, "otel-collector");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let cert = match issuer {
                Some(issuer) => params.signed_by(&key, issuer).unwrap(),
                None => params.self_signed(&key).unwrap(),
            };
            (cert.pem(), key.serialize_pem())
        };

        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca_file: write("ca.pem", &ca.pem()),
            ca_pem: ca.pem(),
            server_cert: write("server.pem", &server.pem()),
            server_key: write("server-key.pem", &server_key.serialize_pem()),
            client: client(Some(&ca)),
            stranger: client(None),
        }
    }

    fn server_args(&self, mutual: bool) -> Vec<String> {
        let mut args = vec![
            "--tls-cert".to_owned(),
            self.server_cert.display().to_string(),
            "--tls-key".to_owned(),
            self.server_key.display().to_string(),
        ];
        if mutual {
            args.push("--tls-client-ca".to_owned());
            args.push(self.ca_file.display().to_string());
        }
        args
    }

    /// An HTTPS client trusting the test CA, presenting `identity` (certificate and key PEM) if given.
    fn https(&self, identity: Option<&(String, String)>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap());
        if let Some((cert, key)) = identity {
            builder = builder
                .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }

    /// A rustls client configuration trusting the test CA, for gRPC (ALPN h2).
    fn grpc_tls(&self, identity: Option<&(String, String)>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }
}

async fn start(dir: &Path, pki: &Pki, mutual: bool) -> Server {
    let args = pki.server_args(mutual);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&dir.join("data"), &args).await
}

fn request_for(service: &str) -> (ExportTraceServiceRequest, SentTrace) {
    let (request, mut sent) = export_request_of(
        1,
        2,
        now_unix_nano() - 5_000_000_000,
        vec![kv_str("service.name", service)],
        |i| SpanShape {
            name: format!("op-{i}"),
            kind: 2,
            duration_nanos: 1_000_000,
            attributes: vec![],
        },
    );
    (request, sent.remove(0))
}

/// Exports over gRPC through a TLS connection made with `tls`; any failure (handshake, connection, call) is
/// the error.
async fn export_grpc_tls(
    addr: SocketAddr,
    tls: Arc<ClientConfig>,
    request: ExportTraceServiceRequest,
) -> Result<(), String> {
    let channel = tls_channel(addr, tls).await?;
    TraceServiceClient::new(channel)
        .export(request)
        .await
        .map(|_| ())
        .map_err(|status| format!("export: {status:?}"))
}

/// A gRPC channel over a TLS connection made with `tls`.
async fn tls_channel(
    addr: SocketAddr,
    tls: Arc<ClientConfig>,
) -> Result<tonic::transport::Channel, String> {
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let tls = Arc::clone(&tls);
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").unwrap();
            let stream = TlsConnector::from(tls).connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .map_err(|e| format!("connect: {e:?}"))
}

type TagsCodec = tonic_prost::ProstCodec<proto::SearchTagsRequest, proto::SearchTagsResponse>;

/// Calls `tempopb.StreamingQuerier/SearchTags` over TLS; returns the tag names.
async fn tempo_search_tags_tls(
    addr: SocketAddr,
    tls: Arc<ClientConfig>,
) -> Result<Vec<String>, String> {
    let mut grpc = tonic::client::Grpc::new(tls_channel(addr, tls).await?);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/tempopb.StreamingQuerier/SearchTags",
    );
    let mut stream = grpc
        .server_streaming(
            tonic::Request::new(proto::SearchTagsRequest::default()),
            path,
            TagsCodec::default(),
        )
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let mut names = Vec::new();
    while let Some(message) = stream.message().await.map_err(|e| e.to_string())? {
        names.extend(message.tag_names);
    }
    Ok(names)
}

#[tokio::test]
async fn every_listener_serves_tls_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let mut server = start(dir.path(), &pki, false).await;
    let https = pki.https(None);

    // Query port and Tempo port over HTTPS.
    assert!(server.url("/").starts_with("https://"));
    let healthz = https.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    assert_eq!(healthz.text().await.unwrap(), "ok\n");
    let echo = https
        .get(server.tempo_url("/api/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status(), 200);
    // The Tempo port's gRPC querier over TLS (HTTP/2 through ALPN).
    let names = tempo_search_tags_tls(server.tempo, pki.grpc_tls(None))
        .await
        .expect("Tempo gRPC over TLS");
    assert!(names.is_empty(), "an empty server has no tags: {names:?}");

    // OTLP gRPC over TLS, and OTLP HTTP and Zipkin over HTTPS; the spans read back over HTTPS.
    let (request, grpc_trace) = request_for("tls-grpc");
    export_grpc_tls(server.otlp_grpc, pki.grpc_tls(None), request.clone())
        .await
        .expect("OTLP gRPC over TLS");
    let (http_request, http_trace) = request_for("tls-http");
    let response = https
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .body(http_request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let zipkin = serde_json::json!([{
        "traceId": "5af7183fb1d4cf5f5af7183fb1d4cf5f", "id": "6b221d5bc9e6496c", "name": "get /zipkin",
        "timestamp": now_unix_nano() / 1000 - 3_000_000, "duration": 1500,
        "localEndpoint": {"serviceName": "tls-zipkin"}
    }]);
    let response = https
        .post(server.zipkin_url())
        .json(&zipkin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    for trace in [&grpc_trace, &http_trace] {
        let url = server.url(&format!("/api/v1/traces/{}", trace.trace_id));
        let response = https.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", trace.trace_id);
    }

    // Plain HTTP and plain gRPC to TLS ports fail.
    let plain = reqwest::Client::new();
    for addr in [server.http, server.tempo, server.otlp_http, server.zipkin] {
        let answer = plain.get(format!("http://{addr}/healthz")).send().await;
        assert!(answer.is_err(), "plain HTTP to {addr}: {answer:?}");
    }
    let plain_grpc = async {
        TraceServiceClient::connect(format!("http://{}", server.otlp_grpc))
            .await
            .map_err(|e| e.to_string())?
            .export(request)
            .await
            .map_err(|e| e.to_string())
    };
    assert!(plain_grpc.await.is_err(), "plain gRPC to a TLS port");

    // A client that does not trust the CA refuses the server.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());

    let metrics = https
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"tracewell_tls_handshake_failures_total{listener="http"}"#),
        "{metrics}"
    );

    // SIGTERM stops the TLS listeners and the server exits cleanly.
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.logs());
}

#[tokio::test]
async fn mutual_tls_admits_otlp_clients_with_a_certificate_signed_by_the_client_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let server = start(dir.path(), &pki, true).await;

    // OTLP gRPC: no certificate and a certificate from elsewhere are refused, the CA's is accepted.
    let (request, grpc_trace) = request_for("mtls-grpc");
    let refused = export_grpc_tls(server.otlp_grpc, pki.grpc_tls(None), request.clone()).await;
    assert!(refused.is_err(), "gRPC without a client certificate");
    let refused = export_grpc_tls(
        server.otlp_grpc,
        pki.grpc_tls(Some(&pki.stranger)),
        request.clone(),
    )
    .await;
    assert!(
        refused.is_err(),
        "gRPC with a certificate the CA did not sign"
    );
    export_grpc_tls(server.otlp_grpc, pki.grpc_tls(Some(&pki.client)), request)
        .await
        .expect("gRPC with a CA-signed client certificate");

    // OTLP HTTP likewise.
    let (request, http_trace) = request_for("mtls-http");
    let post = |client: reqwest::Client| {
        client
            .post(server.otlp_http_url())
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
    };
    assert!(
        post(pki.https(None)).await.is_err(),
        "HTTP without a client certificate"
    );
    assert!(
        post(pki.https(Some(&pki.stranger))).await.is_err(),
        "HTTP with a certificate the CA did not sign"
    );
    let accepted = post(pki.https(Some(&pki.client))).await.unwrap();
    assert_eq!(accepted.status(), 200);

    // The query port asks for no client certificate.
    let https = pki.https(None);
    for trace in [&grpc_trace, &http_trace] {
        let url = server.url(&format!("/api/v1/traces/{}", trace.trace_id));
        assert_eq!(https.get(url).send().await.unwrap().status(), 200);
    }
    let metrics = https
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for listener in ["otlp_grpc", "otlp_http"] {
        let series = format!(r#"tracewell_tls_handshake_failures_total{{listener="{listener}"}} "#);
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .unwrap_or_else(|| panic!("{series} in {metrics}"))
            .parse()
            .unwrap();
        assert!(count >= 2, "{series}{count}");
    }
}

#[tokio::test]
async fn unusable_tls_files_stop_start_up_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let not_pem = dir.path().join("not-pem.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let cases = [
        (
            vec![
                "--tls-cert",
                not_pem.to_str().unwrap(),
                "--tls-key",
                pki.server_key.to_str().unwrap(),
            ],
            "no PEM certificate",
        ),
        (
            vec![
                "--tls-cert",
                pki.server_cert.to_str().unwrap(),
                "--tls-key",
                not_pem.to_str().unwrap(),
            ],
            "tls_key",
        ),
        (
            vec!["--tls-cert", pki.server_cert.to_str().unwrap()],
            "tls_key",
        ),
        (
            vec![
                "--tls-cert",
                pki.server_cert.to_str().unwrap(),
                "--tls-key",
                pki.server_key.to_str().unwrap(),
                "--tls-client-ca",
                not_pem.to_str().unwrap(),
            ],
            "tls_client_ca",
        ),
    ];
    for (args, expected) in cases {
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            tokio::process::Command::new(env!("CARGO_BIN_EXE_tracewell"))
                .arg("serve")
                .arg("--data-dir")
                .arg(dir.path().join("data"))
                .args([
                    "--http-addr",
                    "127.0.0.1:0",
                    "--otlp-grpc-addr",
                    "127.0.0.1:0",
                ])
                .args([
                    "--otlp-http-addr",
                    "127.0.0.1:0",
                    "--zipkin-addr",
                    "127.0.0.1:0",
                ])
                .args(["--tempo-addr", "127.0.0.1:0"])
                .args(&args)
                .output(),
        )
        .await
        .expect("start-up is refused")
        .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_query_command_trusts_a_given_ca_and_sends_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[token]]\nname = \"cli\"\ntoken = \"cli-read-write-0123456789\"\ntenant = \"ops\"\nscopes = [\"read\", \"write\"]\n",
    )
    .unwrap();
    let mut args = pki.server_args(false);
    args.extend(["--auth-tokens".to_owned(), tokens.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&dir.path().join("data"), &args).await;
    let (request, _) = request_for("cli-service");
    let response = pki
        .https(None)
        .post(server.otlp_http_url())
        .bearer_auth("cli-read-write-0123456789")
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let query = |extra: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracewell"))
            .arg("query")
            .args(["--server", &server.url("")])
            .args(extra)
            .arg("services")
            .env_remove("TRACEWELL_QUERY_TOKEN")
            .env_remove("TRACEWELL_QUERY_CA_CERT")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let ca = pki.ca_file.to_str().unwrap();
    let (ok, out, err) = query(&["--ca-cert", ca, "--token", "cli-read-write-0123456789"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "cli-service");
    let (ok, _, err) = query(&["--ca-cert", ca]);
    assert!(!ok);
    assert!(
        err.contains("401") && err.contains("authentication required"),
        "{err}"
    );
    let (ok, _, err) = query(&["--token", "cli-read-write-0123456789"]);
    assert!(!ok, "the test CA is not among the system's roots: {err}");
}
