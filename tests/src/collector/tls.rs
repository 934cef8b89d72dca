//! A self-signed certificate for `localhost`, made per test run, and the TLS side of the
//! HTTPS receivers that present it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A certificate (PEM, also written to a file the exporter is pointed at) and its key.
#[derive(Debug)]
pub struct SelfSigned {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_path: PathBuf,
}

pub fn self_signed(dir: &std::path::Path) -> SelfSigned {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let cert_path = dir.join("ca.pem");
    std::fs::write(&cert_path, &cert_pem).expect("write certificate");
    SelfSigned { cert_pem, key_pem, cert_path }
}

/// The TLS side of an HTTPS receiver.
#[derive(Clone)]
pub struct Acceptor(Arc<tokio_rustls::TlsAcceptor>);

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptor")
    }
}

impl Acceptor {
    /// Presents `cert`.
    pub fn new(cert: &SelfSigned) -> Acceptor {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate");
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key");
        // The runtime's provider (see its `export::tls`), deprecated since rustls 0.23.48 for
        // lacking post-quantum key exchange, which these tests do not need.
        #[allow(deprecated)]
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        Acceptor(Arc::new(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    /// The server side of a TLS handshake on `stream`.
    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.0.accept(stream).await
    }
}
