//! TLS trust: the webpki roots (Mozilla's set, built in, so no system store is needed) plus
//! an optional CA file the operator names, for backends with a private or self-signed CA.

use std::io::Read as _;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::config::env::SetVar;
use crate::config::ConfigError;

/// The largest CA file read: Mozilla's whole set takes about 200 KB.
const MAX_CA_BYTES: u64 = 4 << 20;

/// A CA file's PEM text, read at `init` so that a missing, empty or oversized file stops
/// start-up.
pub(crate) fn read_ca((name, path): &SetVar) -> Result<Vec<u8>, ConfigError> {
    let unreadable = |e: std::io::Error| ConfigError::new(name, path, format!("a readable PEM certificate file ({e})"));
    let mut pem = Vec::new();
    std::fs::File::open(path.trim())
        .and_then(|file| file.take(MAX_CA_BYTES + 1).read_to_end(&mut pem))
        .map_err(unreadable)?;
    if pem.len() as u64 > MAX_CA_BYTES {
        return Err(ConfigError::new(name, path, "a PEM certificate file of at most 4 MiB"));
    }
    if CertificateDer::pem_slice_iter(&pem).next().is_none() {
        return Err(ConfigError::new(name, path, "a file holding at least one PEM certificate"));
    }
    Ok(pem)
}

/// A rustls client configuration trusting the webpki roots and the certificates in `ca`.
pub(crate) fn client_config(ca: Option<&[u8]>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for certificate in ca.into_iter().flat_map(CertificateDer::pem_slice_iter).flatten() {
        // A certificate rustls cannot parse was checked for at `init`; one that is no CA simply
        // never matches.
        let _ = roots.add(certificate);
    }
    // rustls 0.23.48 deprecates its ring provider for having no post-quantum key exchange. ring
    // stays: it is the provider of tonic's `tls-ring`, which the gRPC exporters build on, and
    // builds with no more than a C compiler; the key exchanges it offers are the ones every
    // backend accepts. Allowing the lint keeps the older rustls versions our requirement admits.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_or_else(
            // The ring provider supports the default versions; this cannot fail, and if it did
            // the fallback is rustls' own default configuration.
            |_| ClientConfig::builder().with_root_certificates(roots.clone()),
            |builder| builder.with_root_certificates(roots.clone()),
        )
        .with_no_client_auth();
    Arc::new(config)
}
