//! `--self-tracing`: the server's own spans (ingest requests, flushes, compactions, API requests and the
//! queries under them) go into its own store, under the service `tracewell` in a tenant of their own, so a slow
//! query is explained with the tool already open.
//!
//! Spans are batched by the OpenTelemetry SDK and written with [`Store::append`] directly — not through the
//! receivers, whose own spans would otherwise trace every export of spans about exports. The store does not
//! trace flushes and compactions of the self-tracing tenant for the same reason.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tracewell_model::TenantId;
use tracewell_store::Store;

/// The tenant self-tracing writes to unless configured otherwise.
pub const DEFAULT_TENANT: &str = "tracewell";

/// Writes batches of the server's spans into its own store.
#[derive(Debug)]
struct StoreExporter {
    store: Store,
    tenant: TenantId,
    resource: Arc<ResourceAttributesWithSchema>,
    /// The server's runtime: the SDK exports from a thread of its own, the store needs tokio.
    runtime: tokio::runtime::Handle,
}

impl SpanExporter for StoreExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let (store, tenant) = (self.store.clone(), self.tenant.clone());
        self.runtime
            .spawn(async move { store.append(&tenant, request, None).await })
            .await
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?
            .map(|_| ())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Arc::new(resource.into());
    }
}

/// Installs the tracer provider that writes to `tenant` of `store` (call inside the server's runtime); shut it
/// down (flushing its last batch) before the store.
pub fn install(store: Store, tenant: TenantId) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name("tracewell")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let exporter = StoreExporter {
        store,
        tenant,
        resource: Arc::new((&resource).into()),
        runtime: tokio::runtime::Handle::current(),
    };
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    // Spans of the API layer and below are started through the global provider from now on.
    let _ = provider.tracer(tracewell_model::self_trace::SCOPE);
    provider
}
