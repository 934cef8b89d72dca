//! The transports every signal's network exporters share: gRPC channels, the HTTP client, TLS
//! and endpoint host parsing.

pub(crate) mod grpc;
pub(crate) mod host;
pub(crate) mod http_client;
pub(crate) mod tls;
