//! Packs whole generated traces into OTLP export requests, grouping spans per
//! emitting resource (service replica) into `ResourceSpans`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rand::Rng;

use super::catalog::{resource_count, resources, scopes, SCHEMA_URL};
use super::{generate_trace, GeneratedTrace};

/// Accumulates spans of whole traces, bucketed by resource index.
pub struct BatchBuilder {
    per_resource: Vec<Vec<Span>>,
    spans: usize,
}

impl BatchBuilder {
    pub fn new() -> Self {
        BatchBuilder {
            per_resource: vec![Vec::new(); resource_count()],
            spans: 0,
        }
    }

    /// Adds every span of `trace`.
    pub fn add(&mut self, trace: GeneratedTrace) {
        self.spans += trace.spans.len();
        for s in trace.spans {
            self.per_resource[s.resource].push(s.span);
        }
    }

    /// Number of spans added since the last [`BatchBuilder::finish`].
    pub fn span_count(&self) -> usize {
        self.spans
    }

    /// Drains the accumulated spans into one export request.
    pub fn finish(&mut self) -> ExportTraceServiceRequest {
        let (resources, scopes) = (resources(), scopes());
        let mut resource_spans = Vec::new();
        for (i, bucket) in self.per_resource.iter_mut().enumerate() {
            if bucket.is_empty() {
                continue;
            }
            resource_spans.push(ResourceSpans {
                resource: Some(resources[i].clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scopes[i].clone()),
                    spans: std::mem::take(bucket),
                    schema_url: SCHEMA_URL.to_string(),
                }],
                schema_url: SCHEMA_URL.to_string(),
            });
        }
        self.spans = 0;
        ExportTraceServiceRequest { resource_spans }
    }
}

/// Generates whole traces until the batch holds at least `target_spans`
/// spans; returns the request and its span count.
pub fn build_request<R: Rng + ?Sized>(
    rng: &mut R,
    target_spans: usize,
    now_unix_nano: u64,
) -> (ExportTraceServiceRequest, u64) {
    let mut batch = BatchBuilder::new();
    while batch.span_count() < target_spans.max(1) {
        batch.add(generate_trace(rng, now_unix_nano));
    }
    let spans = batch.span_count() as u64;
    (batch.finish(), spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn request_holds_whole_traces_grouped_by_resource() {
        let mut rng = StdRng::seed_from_u64(11);
        let (req, spans) = build_request(&mut rng, 512, 1_700_000_000_000_000_000);
        assert!((512..512 + 30).contains(&spans));
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
        assert!(req.resource_spans.iter().all(|rs| rs.resource.is_some()));
    }
}
