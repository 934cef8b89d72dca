//! What the gRPC exporters (SkyWalking, OTLP/gRPC) share: lazily connected tonic channels with
//! optional TLS, and the meaning of a gRPC status for the lane.

use std::marker::PhantomData;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Status};
use tonic_prost::ProstDecoder;

use crate::export::ExportError;

/// A codec whose requests are protobuf already: a batch is encoded once, and a retry sends the
/// same bytes again. Answers are decoded as `D`.
#[derive(Debug)]
pub(crate) struct PreEncoded<D>(PhantomData<D>);

impl<D> Default for PreEncoded<D> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<D: prost::Message + Default + Send + 'static> Codec for PreEncoded<D> {
    type Encode = Bytes;
    type Decode = D;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<D>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<D> {
        ProstDecoder::default()
    }
}

/// Writes pre-encoded messages as they are.
#[derive(Debug, Default)]
pub(crate) struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

/// A request with `metadata` and a deadline the server sees too.
pub(crate) fn request<T>(message: T, metadata: &MetadataMap, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    *request.metadata_mut() = metadata.clone();
    request.set_timeout(timeout);
    request
}

/// A unary call with a pre-encoded request.
pub(crate) async fn unary<D: prost::Message + Default + Send + 'static>(
    grpc: &mut Grpc<Channel>,
    path: &'static str,
    request: Request<Bytes>,
) -> Result<D, Status> {
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(request, PathAndQuery::from_static(path), PreEncoded::<D>::default())
        .await
        .map(tonic::Response::into_inner)
}

/// Where a gRPC exporter connects.
#[derive(Debug, Clone)]
pub(crate) struct GrpcTarget {
    /// `http://host:port` or `https://host:port`.
    pub uri: String,
    /// Extra trusted CA certificates (PEM), for `https`.
    pub ca: Option<Vec<u8>>,
}

/// A channel over every target (requests spread over those that answer). It connects on first
/// use and reconnects by itself, so a backend that is down at start costs nothing until then.
pub(crate) fn channel(targets: &[GrpcTarget], timeout: Duration) -> Result<Channel, String> {
    let endpoints = targets
        .iter()
        .map(|target| {
            let endpoint = Endpoint::from_shared(target.uri.clone())
                .map_err(|e| format!("invalid address {}: {e}", target.uri))?
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(false);
            if !target.uri.starts_with("https://") {
                return Ok(endpoint);
            }
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(ca) = &target.ca {
                tls = tls.ca_certificate(Certificate::from_pem(ca));
            }
            endpoint.tls_config(tls).map_err(|e| format!("TLS setup for {}: {e}", target.uri))
        })
        .collect::<Result<Vec<_>, String>>()?;
    match endpoints.as_slice() {
        [one] => Ok(one.connect_lazy()),
        _ => Ok(Channel::balance_list(endpoints.into_iter())),
    }
}

/// What a failed call means: retry (unreachable, overloaded, interrupted), fix credentials, or
/// give the batch up. The server's message is kept as it is: every line that shows it hides the
/// credentials and escapes it (`stderr_line!`).
pub(crate) fn classify(status: &tonic::Status) -> ExportError {
    let reason = format!("{:?}: {}", status.code(), status.message());
    match status.code() {
        // The OTLP specification's retryable codes, plus the two tonic reports connection
        // resets and refused streams with when a backend goes away mid-call.
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss
        | Code::ResourceExhausted
        | Code::Unknown
        | Code::Internal => ExportError::Retryable { reason, after: None },
        Code::Unauthenticated | Code::PermissionDenied => ExportError::Unauthorized(reason),
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::Unimplemented => ExportError::Rejected(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_lane_does() {
        let kind = |code| match classify(&tonic::Status::new(code, "refused")) {
            ExportError::Retryable { .. } => "retry",
            ExportError::Unauthorized(_) => "auth",
            ExportError::Rejected(_) => "reject",
            ExportError::Io(_) => "io",
        };
        assert_eq!(kind(Code::Unavailable), "retry");
        assert_eq!(kind(Code::DeadlineExceeded), "retry");
        assert_eq!(kind(Code::PermissionDenied), "auth");
        assert_eq!(kind(Code::Unauthenticated), "auth");
        assert_eq!(kind(Code::InvalidArgument), "reject");
    }
}
