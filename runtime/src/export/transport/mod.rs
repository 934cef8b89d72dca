//! The transports every signal's network exporters share: gRPC channels, the HTTP client, TLS,
//! endpoint host parsing, and the OTLP settings and client of every signal.

pub(crate) mod grpc;
pub(crate) mod host;
pub(crate) mod http_client;
pub(crate) mod otlp;
pub(crate) mod tls;
