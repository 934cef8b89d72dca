//! A self-signed certificate for `localhost`, made per test run.

use std::path::PathBuf;

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
