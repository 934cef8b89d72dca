//! The tracing + tracing-opentelemetry + OpenTelemetry SDK stack, set up the way its users set it
//! up: a `tracing` subscriber with the OpenTelemetry layer, the SDK's batch span processor, W3C
//! propagation, and an exporter writing OTLP/JSON lines to a file — the same kind of sink as
//! spanscope's `local` exporter.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// Writes each batch as one `ExportTraceServiceRequest` in OTLP/JSON, one line per batch.
#[derive(Debug)]
struct JsonLinesExporter {
    file: Mutex<BufWriter<File>>,
    resource: ResourceAttributesWithSchema,
}

impl SpanExporter for JsonLinesExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request =
            ExportTraceServiceRequest { resource_spans: group_spans_by_resource_and_scope(batch, &self.resource) };
        let mut file = self.file.lock().map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        serde_json::to_writer(&mut *file, &request).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        file.write_all(b"\n").and_then(|()| file.flush()).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Installs the stack for `service`, spans going to `dir/traces.jsonl`; the provider flushes
/// what is left when shut down.
pub fn install(service: &str, dir: &Path) -> std::io::Result<SdkTracerProvider> {
    std::fs::create_dir_all(dir)?;
    let file = File::options().create(true).append(true).open(dir.join("traces.jsonl"))?;
    let exporter = JsonLinesExporter { file: Mutex::new(BufWriter::new(file)), resource: Default::default() };
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer(service.to_owned());
    // INFO and above, as deployed services filter: h2, tonic and tower have DEBUG and TRACE
    // callsites on every request.
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(LevelFilter::INFO))
        .init();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(provider)
}

/// Makes the caller's context, found in `headers`, the parent of `span`.
pub fn continue_from(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderCarrier(headers)));
    let _ = span.set_parent(parent);
}

/// Writes the current span's context into an outgoing request's `carrier`.
pub fn inject(carrier: &mut dyn Injector) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, carrier));
}

struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// An HTTP request's headers as an OpenTelemetry carrier.
pub struct HeaderInjector<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(key), http::HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}

/// A gRPC request's metadata as an OpenTelemetry carrier.
pub struct MetadataInjector<'a>(pub &'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) =
            (tonic::metadata::MetadataKey::from_bytes(key.as_bytes()), tonic::metadata::MetadataValue::try_from(value))
        {
            self.0.insert(key, value);
        }
    }
}

/// What tower-http's `TraceLayer` is given on every server: a span per request named and
/// tagged after OpenTelemetry's conventions, continuing the caller's trace.
pub fn server_span<B>(request: &http::Request<B>) -> tracing::Span {
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let name = match &route {
        Some(route) => format!("{} {route}", request.method()),
        None => request.uri().path().trim_start_matches('/').to_owned(),
    };
    let span = tracing::info_span!(
        "request",
        otel.name = %name,
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = %request.uri().path(),
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    continue_from(&span, request.headers());
    span
}

/// Records the response on the request's span.
pub fn record_response<B>(response: &http::Response<B>, _latency: std::time::Duration, span: &tracing::Span) {
    span.record("http.response.status_code", response.status().as_u16());
}
