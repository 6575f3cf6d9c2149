//! Packs whole generated traces into encoded OTLP `ExportTraceServiceRequest`
//! bytes, grouping spans per emitting resource (service replica) into
//! `ResourceSpans` with pre-encoded resource and scope messages.

use rand::Rng;

use super::catalog::{encoded_resources, resource_count, SCHEMA_URL};
use super::encode::{encode_span, field_len, put_bytes, put_len_prefix};
use super::{generate_trace, GeneratedTrace};

/// Accumulates encoded spans of whole traces, bucketed by resource index.
/// Buffers are reused across batches.
pub struct BatchBuilder {
    per_resource: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    spans: usize,
}

impl BatchBuilder {
    pub fn new() -> Self {
        BatchBuilder {
            per_resource: vec![Vec::new(); resource_count()],
            scratch: Vec::new(),
            spans: 0,
        }
    }

    /// Encodes every span of `trace` into its resource's bucket.
    pub fn add(&mut self, trace: &GeneratedTrace) {
        for span in &trace.spans {
            self.scratch.clear();
            encode_span(&mut self.scratch, &trace.trace_id, span);
            put_bytes(&mut self.per_resource[span.resource], 2, &self.scratch);
        }
        self.spans += trace.spans.len();
    }

    /// Number of spans added since the last [`BatchBuilder::finish`].
    pub fn span_count(&self) -> usize {
        self.spans
    }

    /// Drains the accumulated spans into one encoded export request.
    pub fn finish(&mut self) -> Vec<u8> {
        let encoded = encoded_resources();
        let schema = SCHEMA_URL.as_bytes();
        let payload: usize = self.per_resource.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(payload + self.per_resource.len() * 512);
        for (bucket, enc) in self.per_resource.iter_mut().zip(encoded) {
            if bucket.is_empty() {
                continue;
            }
            let scope_spans = field_len(enc.scope.len()) + bucket.len() + field_len(schema.len());
            let resource_spans =
                field_len(enc.resource.len()) + field_len(scope_spans) + field_len(schema.len());
            put_len_prefix(&mut out, 1, resource_spans);
            put_bytes(&mut out, 1, &enc.resource);
            put_len_prefix(&mut out, 2, scope_spans);
            put_bytes(&mut out, 1, &enc.scope);
            out.extend_from_slice(bucket);
            put_bytes(&mut out, 3, schema);
            put_bytes(&mut out, 3, schema);
            bucket.clear();
        }
        self.spans = 0;
        out
    }
}

/// Generates whole traces into `batch` until it holds at least
/// `target_spans` spans; returns the encoded request and its span count.
pub fn build_request<R: Rng + ?Sized>(
    batch: &mut BatchBuilder,
    rng: &mut R,
    target_spans: usize,
    now_unix_nano: u64,
) -> (Vec<u8>, u64) {
    while batch.span_count() < target_spans.max(1) {
        batch.add(&generate_trace(rng, now_unix_nano));
    }
    let spans = batch.span_count() as u64;
    (batch.finish(), spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn request_decodes_with_whole_traces_grouped_by_resource() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut batch = BatchBuilder::new();
        for _ in 0..2 {
            let (bytes, spans) =
                build_request(&mut batch, &mut rng, 512, 1_700_000_000_000_000_000);
            assert!((512..512 + 30).contains(&spans));
            let req = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid OTLP");
            let total: usize = req
                .resource_spans
                .iter()
                .map(|rs| {
                    rs.scope_spans
                        .iter()
                        .map(|ss| ss.spans.len())
                        .sum::<usize>()
                })
                .sum();
            assert_eq!(total as u64, spans);
            assert!(req.resource_spans.len() > 3);
            for rs in &req.resource_spans {
                assert_eq!(rs.schema_url, SCHEMA_URL);
                assert!(rs
                    .resource
                    .as_ref()
                    .is_some_and(|r| r.attributes.len() >= 10));
                assert!(rs.scope_spans[0]
                    .scope
                    .as_ref()
                    .is_some_and(|s| !s.name.is_empty()));
            }
        }
    }
}
