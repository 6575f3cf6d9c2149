//! TLS for every listener (`--tls-cert`, `--tls-key`: PEM files, rustls with the ring provider), and mutual TLS
//! for the OTLP listeners (`--tls-client-ca`: clients must present a certificate signed by one of its CAs).
//!
//! [`TlsListener`] accepts TCP connections and runs each TLS handshake in its own task, with a timeout, so a
//! client that connects and says nothing holds up no one. Established connections are handed to the HTTP server
//! (as an axum [`Listener`](axum::serve::Listener)) or to tonic (as a stream of [`TlsConnection`]s). ALPN offers
//! `h2` and `http/1.1`: gRPC clients require `h2`, the HTTP listeners serve both. Failed handshakes (plain HTTP to
//! a TLS port, an untrusted or missing client certificate) are logged at debug level and counted in
//! `tracewell_tls_handshake_failures_total{listener}`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures::Stream;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Longest a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Labels = Vec<(&'static str, String)>;

/// The loaded certificate and key, and the client CAs when mutual TLS is on.
pub struct Tls {
    server: Arc<ServerConfig>,
    mutual: Option<Arc<ServerConfig>>,
    failures: Family<Labels, Counter>,
}

impl Tls {
    /// Reads the PEM files and registers the handshake failure counter.
    pub fn load(files: &TlsFiles, registry: &mut Registry) -> anyhow::Result<Self> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|certs| certs.collect())
            .with_context(|| format!("tls_cert {}", files.cert.display()))?;
        if certs.is_empty() {
            bail!(
                "tls_cert {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                files.cert.display()
            );
        }
        let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
            format!(
                "tls_key {}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1)",
                files.key.display()
            )
        })?;
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let server = builder
            .clone()
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key.clone_key())
            .context("tls_cert and tls_key do not make a usable certificate")?;
        let mutual = match &files.client_ca {
            None => None,
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .with_context(|| format!("tls_client_ca {}", path.display()))?
                {
                    roots
                        .add(cert)
                        .with_context(|| format!("tls_client_ca {}", path.display()))?;
                }
                if roots.is_empty() {
                    bail!("tls_client_ca {}: no PEM certificate in it", path.display());
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .with_context(|| format!("tls_client_ca {}", path.display()))?;
                let config = builder
                    .with_client_cert_verifier(verifier)
                    .with_single_cert(certs, key)
                    .context("tls_cert and tls_key do not make a usable certificate")?;
                Some(with_alpn(config))
            }
        };
        let failures = Family::<Labels, Counter>::default();
        registry.register(
            "tracewell_tls_handshake_failures",
            "TLS handshakes that failed or timed out, by listener",
            failures.clone(),
        );
        Ok(Self {
            server: with_alpn(server),
            mutual,
            failures,
        })
    }

    /// Whether client certificates are required where `mutual` listeners ask for them.
    pub fn is_mutual(&self) -> bool {
        self.mutual.is_some()
    }

    /// Serves TLS on `listener`; with `mutual`, clients must present a certificate signed by the client CA
    /// (when one is configured).
    pub fn listen(&self, listener: TcpListener, name: &'static str, mutual: bool) -> TlsListener {
        let config = match (&self.mutual, mutual) {
            (Some(config), true) => Arc::clone(config),
            _ => Arc::clone(&self.server),
        };
        let failures = self
            .failures
            .get_or_create(&vec![("listener", name.to_owned())])
            .clone();
        TlsListener::spawn(listener, TlsAcceptor::from(config), name, failures)
    }
}

fn with_alpn(mut config: ServerConfig) -> Arc<ServerConfig> {
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// TLS connections of one listener, handshakes done.
pub struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn spawn(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        name: &'static str,
        failures: Counter,
    ) -> Self {
        let local = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (tx, connections) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                // Ends when the server drops the listener (at shutdown).
                let accepted = tokio::select! {
                    _ = tx.closed() => break,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(connection) => connection,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(listener = name, %error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx, failures) = (acceptor.clone(), tx.clone(), failures.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => {
                            failures.inc();
                            tracing::debug!(listener = name, %peer, %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            failures.inc();
                            tracing::debug!(listener = name, %peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Self { connections, local }
    }

    /// The connections as tonic's incoming stream.
    pub fn into_incoming(self) -> impl Stream<Item = io::Result<TlsConnection>> {
        futures::stream::unfold(self.connections, |mut connections| async move {
            let (stream, peer) = connections.recv().await?;
            Some((Ok(TlsConnection { stream, peer }), connections))
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accept loop only ends once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A TLS connection served by tonic.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    peer: SocketAddr,
}

impl tonic::transport::server::Connected for TlsConnection {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        tonic::transport::server::TcpConnectInfo {
            local_addr: self.stream.get_ref().0.local_addr().ok(),
            remote_addr: Some(self.peer),
        }
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
