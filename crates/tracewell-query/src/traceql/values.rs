//! Tag names and values narrowed by a TraceQL query (Grafana's search builder and editor send the query typed so
//! far): the attribute names, and the values a field takes, on the spans the query selects, in the newest
//! matching traces of the range.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use tracewell_model::TenantId;
use tracewell_traceql::ast::{AttributeScope, Field};
use tracewell_traceql::value::Value;
use tracewell_traceql::view::{SpanView, TraceView};
use tracewell_traceql::Evaluator;

use super::{candidate_search, compile, field_value, view};
use crate::catalog::{TagNames, TagValue, TagValues, ValueKind};
use crate::error::{QueryError, Result};
use crate::{QueryService, TimeRange};

/// Matching traces read at most to collect the values.
const MAX_TRACES: usize = 500;

/// The field a Tempo tag name (`resource.service.name`, `span.http.method`, `.k`, `name`, `status`) stands for.
pub fn tag_field(tag: &str) -> Result<Field> {
    let query = compile(&format!("{{ {tag} != nil }}"))
        .map_err(|_| QueryError::bad(format!("{tag:?} is not a TraceQL attribute or intrinsic")))?;
    query
        .conditions()
        .into_iter()
        .next()
        .map(|c| c.field)
        .ok_or_else(|| QueryError::bad(format!("{tag:?} is not a TraceQL attribute or intrinsic")))
}

fn tag_value(value: Value) -> Option<TagValue> {
    let (kind, value) = match value {
        Value::Nil | Value::Array(_) => return None,
        Value::Str(s) => (ValueKind::String, s),
        Value::Int(i) => (ValueKind::Int, i.to_string()),
        Value::Float(f) => (ValueKind::Double, f.to_string()),
        Value::Bool(b) => (ValueKind::Bool, b.to_string()),
        other => (ValueKind::String, other.to_string()),
    };
    Some(TagValue { kind, value })
}

impl QueryService {
    /// Calls `visit` with every span `query` selects in the newest matching traces of the range (at most
    /// [`MAX_TRACES`]); answers whether the traces read were cut short of all that match.
    async fn visit_selected_spans(
        &self,
        tenant: &TenantId,
        query: &str,
        range: &TimeRange,
        mut visit: impl FnMut(&view::SpanRef<'_>),
    ) -> Result<bool> {
        self.check_range(range)?;
        let query = compile(query)?;
        let evaluator =
            Evaluator::new(&query).map_err(|e| QueryError::bad(format!("TraceQL: {e}")))?;
        let Some(search) = candidate_search(
            &query,
            Some(range.start_unix_nano),
            Some(range.end_unix_nano),
            MAX_TRACES,
        ) else {
            return Ok(false);
        };
        let work = async {
            let candidates = self.search_unbounded(tenant, &search).await?;
            let mut reads = self.read_candidates(tenant, candidates.traces);
            while let Some((_, trace)) = reads.next().await {
                let trace = trace?;
                let holder = view::TraceHolder::new(&trace.spans);
                let spans = holder.view(&trace.spans);
                for set in evaluator.evaluate(&spans) {
                    for index in set.spans {
                        if let Some(span) = spans.span(index) {
                            visit(span);
                        }
                    }
                }
            }
            Ok::<_, QueryError>(candidates.limit_hit)
        };
        self.limited(work).await
    }

    /// Values of `tag` on the spans `query` selects in the range (at most `limit`, sorted).
    pub async fn traceql_tag_values(
        &self,
        tenant: &TenantId,
        query: &str,
        tag: &str,
        range: &TimeRange,
        limit: usize,
    ) -> Result<TagValues> {
        let field = tag_field(tag)?;
        let mut found: BTreeMap<String, TagValue> = BTreeMap::new();
        let cut = self
            .visit_selected_spans(tenant, query, range, |span| {
                if let Some(v) = field_value(span, &field).and_then(tag_value) {
                    found.entry(v.value.clone()).or_insert(v);
                }
            })
            .await?;
        let truncated = cut || found.len() > limit;
        Ok(TagValues {
            values: found.into_values().take(limit).collect(),
            truncated,
        })
    }

    /// Names of the span and resource attributes on the spans `query` selects in the range, sorted.
    pub async fn traceql_tag_names(
        &self,
        tenant: &TenantId,
        query: &str,
        range: &TimeRange,
    ) -> Result<TagNames> {
        let (mut span, mut resource) = (BTreeSet::new(), BTreeSet::new());
        let cut = self
            .visit_selected_spans(tenant, query, range, |s| {
                s.for_each_attribute(&mut |scope, key, _| {
                    let names = match scope {
                        AttributeScope::Span => &mut span,
                        AttributeScope::Resource => &mut resource,
                        _ => return,
                    };
                    if !names.contains(key) {
                        names.insert(key.to_owned());
                    }
                })
            })
            .await?;
        Ok(TagNames {
            span: span.into_iter().collect(),
            resource: resource.into_iter().collect(),
            truncated: cut,
        })
    }
}
