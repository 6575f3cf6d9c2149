//! Tempo's gRPC streaming querier (`tempopb.StreamingQuerier`) on the Tempo port, which Grafana's Tempo data
//! source uses when streaming is on: `Search`, `SearchTags`, `SearchTagsV2`, `SearchTagValues`,
//! `SearchTagValuesV2`, `MetricsQueryRange` and `MetricsQueryInstant`. Tracewell computes each answer whole, so
//! every stream carries exactly one message, the complete result (Tempo's last message is also the complete
//! result). The request is translated into the parameters of the matching HTTP endpoint and answered by the same
//! code; errors are gRPC statuses (`INVALID_ARGUMENT` with the message for bad input). The tenant comes from the
//! `x-scope-orgid` metadata, as over HTTP.

use std::future::Future;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use tonic::Status;
use tracewell_query::traceql_lang::value::Value as TraceqlValue;
use tracewell_query::{MatchedSpan, SearchMetrics as QueryMetrics, TraceSummary, ValueKind};

use super::proto;
use super::search::SearchAnswer;
use crate::native::Params;
use crate::params::tenant;
use crate::{ApiError, ApiState};

const SERVICE: &str = "/tempopb.StreamingQuerier/";

pub(crate) fn routes() -> Router<ApiState> {
    let path = |method: &str| format!("{SERVICE}{method}");
    Router::new()
        .route(&path("Search"), post(search))
        .route(&path("SearchTags"), post(tags_v1))
        .route(&path("SearchTagsV2"), post(tags_v2))
        .route(&path("SearchTagValues"), post(values_v1))
        .route(&path("SearchTagValuesV2"), post(values_v2))
        .route(&path("MetricsQueryRange"), post(query_range))
        .route(&path("MetricsQueryInstant"), post(query_instant))
}

/// Decodes the request, answers it with `answer`, and streams the one answer back.
async fn one_answer<Req, Resp, F, Fut>(request: Request, answer: F) -> Response
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: FnOnce(Req) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
{
    let service = tower::service_fn(move |req: tonic::Request<Req>| {
        let answer = answer.clone();
        async move {
            let message = answer(req.into_inner()).await.map_err(status)?;
            let stream = futures::stream::once(async move { Ok::<_, Status>(message) });
            Ok::<_, Status>(tonic::Response::new(stream))
        }
    });
    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default());
    grpc.server_streaming(service, request)
        .await
        .into_response()
}

fn status(error: ApiError) -> Status {
    match error {
        ApiError::BadRequest(message) => Status::invalid_argument(message),
        ApiError::Forbidden(message) => Status::permission_denied(message),
        ApiError::NotFound(message) => Status::not_found(message),
        ApiError::Timeout(message) => Status::deadline_exceeded(message),
        ApiError::TooManyRequests { message, .. } => Status::resource_exhausted(message),
        ApiError::Internal => Status::internal("internal error"),
    }
}

/// Parameters of the HTTP endpoints from a request's fields; zero and empty values are left out.
fn params(pairs: &[(&str, String)]) -> Params {
    Params::from_pairs(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty() && v != "0")
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

async fn search(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(request, move |req: proto::SearchRequest| async move {
        let tenant = tenant(&headers, &state.allowed_tenants)?;
        let tags = req
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        let params = params(&[
            ("q", req.query.clone()),
            ("tags", tags),
            ("minDuration", duration_ms(req.min_duration_ms)),
            ("maxDuration", duration_ms(req.max_duration_ms)),
            ("limit", req.limit.to_string()),
            ("spss", req.spans_per_span_set.to_string()),
            ("start", req.start.to_string()),
            ("end", req.end.to_string()),
        ]);
        Ok(
            match super::search::answer(&state, &tenant, &params).await? {
                SearchAnswer::Traceql(result) => proto::SearchResponse {
                    traces: result
                        .traces
                        .iter()
                        .map(|t| {
                            let sets: Vec<proto::SpanSet> =
                                t.span_sets.iter().map(traceql_set).collect();
                            trace_metadata(&t.summary, sets)
                        })
                        .collect(),
                    metrics: Some(proto::SearchMetrics {
                        inspected_traces: u32::try_from(result.inspected_traces)
                            .unwrap_or(u32::MAX),
                        ..search_metrics(&result.metrics)
                    }),
                },
                SearchAnswer::Tags(result) => proto::SearchResponse {
                    traces: result
                        .traces
                        .iter()
                        .map(|t| trace_metadata(t, vec![matched_set(t)]))
                        .collect(),
                    metrics: Some(search_metrics(&result.metrics)),
                },
            },
        )
    })
    .await
}

fn duration_ms(ms: u32) -> String {
    if ms == 0 {
        String::new()
    } else {
        format!("{ms}ms")
    }
}

fn search_metrics(m: &QueryMetrics) -> proto::SearchMetrics {
    proto::SearchMetrics {
        inspected_spans: m.inspected_spans,
        total_blocks: m.total_blocks,
        completed_jobs: 1,
        total_jobs: 1,
        ..Default::default()
    }
}

fn trace_metadata(t: &TraceSummary, span_sets: Vec<proto::SpanSet>) -> proto::TraceSearchMetadata {
    let hex = t.trace_id.to_hex();
    let trimmed = hex.trim_start_matches('0');
    proto::TraceSearchMetadata {
        trace_id: if trimmed.is_empty() { "0" } else { trimmed }.to_owned(),
        root_service_name: t
            .root_service
            .clone()
            .unwrap_or_else(|| "<root span not yet received>".to_owned()),
        root_trace_name: t.root_operation.clone().unwrap_or_default(),
        start_time_unix_nano: t.start_unix_nano,
        duration_ms: u32::try_from(t.duration_nano / 1_000_000).unwrap_or(u32::MAX),
        span_set: span_sets.first().cloned(),
        span_sets,
        service_stats: t
            .services
            .iter()
            .map(|(name, s)| {
                (
                    name.clone(),
                    proto::ServiceStats {
                        span_count: s.spans,
                        error_count: s.errors,
                    },
                )
            })
            .collect(),
    }
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn span(m: &MatchedSpan, mut attributes: Vec<KeyValue>) -> proto::Span {
    attributes.insert(0, string_kv("service.name", &m.service));
    proto::Span {
        span_id: m.span_id.to_hex(),
        name: m.name.clone(),
        start_time_unix_nano: m.start_unix_nano,
        duration_nanos: m.duration_nano,
        attributes,
    }
}

/// The matched spans of a tag search, as one span set.
fn matched_set(t: &TraceSummary) -> proto::SpanSet {
    proto::SpanSet {
        spans: t
            .matched
            .iter()
            .map(|m| {
                let error = (m.status == tracewell_model::StatusCode::Error)
                    .then(|| string_kv("status", "error"));
                span(m, error.into_iter().collect())
            })
            .collect(),
        matched: t.matched_count,
        attributes: Vec::new(),
    }
}

fn traceql_set(set: &tracewell_query::SpansetResult) -> proto::SpanSet {
    proto::SpanSet {
        spans: set
            .spans
            .iter()
            .map(|s| {
                span(
                    &s.span,
                    s.attributes.iter().map(|(k, v)| key_value(k, v)).collect(),
                )
            })
            .collect(),
        matched: set.matched,
        attributes: set
            .attributes
            .iter()
            .map(|(k, v)| key_value(k, v))
            .collect(),
    }
}

/// A TraceQL value as an OTLP key/value; durations as Tempo shows them (`1.5s`), enums by their keyword.
pub(crate) fn key_value(key: &str, value: &TraceqlValue) -> KeyValue {
    let value = match value {
        TraceqlValue::Nil => None,
        TraceqlValue::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        TraceqlValue::Int(i) => Some(any_value::Value::IntValue(*i)),
        TraceqlValue::Float(f) => Some(any_value::Value::DoubleValue(*f)),
        TraceqlValue::Str(s) => Some(any_value::Value::StringValue(s.clone())),
        other => Some(any_value::Value::StringValue(other.to_string())),
    };
    KeyValue {
        key: key.to_owned(),
        value: value.map(|v| AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn tags_params(req: &proto::SearchTagsRequest) -> Params {
    params(&[
        ("scope", req.scope.clone()),
        ("q", req.query.clone()),
        ("start", req.start.to_string()),
        ("end", req.end.to_string()),
        ("limit", req.max_tags_per_scope.to_string()),
    ])
}

async fn tags_v1(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(request, move |req: proto::SearchTagsRequest| async move {
        let (scope, names) = super::tags::names(&state, &headers, &tags_params(&req)).await?;
        Ok(proto::SearchTagsResponse {
            tag_names: super::tags::names_of_scope(scope, names),
        })
    })
    .await
}

async fn tags_v2(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(request, move |req: proto::SearchTagsRequest| async move {
        let (scope, names) = super::tags::names(&state, &headers, &tags_params(&req)).await?;
        Ok(proto::SearchTagsV2Response {
            scopes: super::tags::scopes_of(scope, names)
                .into_iter()
                .map(|(name, tags)| proto::SearchTagsV2Scope {
                    name: name.to_owned(),
                    tags,
                })
                .collect(),
        })
    })
    .await
}

fn values_params(req: &proto::SearchTagValuesRequest) -> Params {
    params(&[
        ("q", req.query.clone()),
        ("start", req.start.to_string()),
        ("end", req.end.to_string()),
        ("limit", req.max_tag_values.to_string()),
    ])
}

async fn values_v1(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(
        request,
        move |req: proto::SearchTagValuesRequest| async move {
            let found =
                super::tags::values(&state, &headers, &req.tag_name, &values_params(&req)).await?;
            Ok(proto::SearchTagValuesResponse {
                tag_values: found.values.into_iter().map(|v| v.value).collect(),
            })
        },
    )
    .await
}

async fn values_v2(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(
        request,
        move |req: proto::SearchTagValuesRequest| async move {
            let (key, keyword) = super::tags::traceql_key(&req.tag_name);
            let found = super::tags::values(&state, &headers, key, &values_params(&req)).await?;
            Ok(proto::SearchTagValuesV2Response {
                tag_values: found
                    .values
                    .into_iter()
                    .map(|v| proto::TagValue {
                        r#type: match v.kind {
                            _ if keyword => "keyword",
                            ValueKind::String => "string",
                            ValueKind::Int => "int",
                            ValueKind::Double => "float",
                            ValueKind::Bool => "bool",
                        }
                        .to_owned(),
                        value: v.value,
                    })
                    .collect(),
            })
        },
    )
    .await
}

async fn query_range(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(request, move |req: proto::QueryRangeRequest| async move {
        let tenant = tenant(&headers, &state.allowed_tenants)?;
        let step = if req.step == 0 {
            String::new()
        } else {
            format!("{}ns", req.step)
        };
        let params = params(&[
            ("q", req.query.clone()),
            ("start", req.start.to_string()),
            ("end", req.end.to_string()),
            ("step", step),
        ]);
        let (metrics_req, result) = super::metrics::run(&state, &tenant, &params, false).await?;
        Ok(proto::QueryRangeResponse {
            series: result
                .series
                .iter()
                .map(|s| proto::TimeSeries {
                    labels: s.labels.iter().map(|(k, v)| key_value(k, v)).collect(),
                    samples: super::metrics::samples(s, &metrics_req)
                        .map(|(ms, value)| proto::Sample {
                            value,
                            timestamp_ms: i64::try_from(ms).unwrap_or(i64::MAX),
                        })
                        .collect(),
                })
                .collect(),
            metrics: Some(proto::SearchMetrics {
                inspected_spans: result.inspected_spans,
                total_blocks: result.inspected_blocks,
                completed_jobs: 1,
                total_jobs: 1,
                ..Default::default()
            }),
            status: i32::from(!result.warnings.is_empty()),
            message: result.warnings.join("; "),
        })
    })
    .await
}

async fn query_instant(State(state): State<ApiState>, request: Request) -> Response {
    let headers = request.headers().clone();
    one_answer(request, move |req: proto::QueryInstantRequest| async move {
        let tenant = tenant(&headers, &state.allowed_tenants)?;
        let params = params(&[
            ("q", req.query.clone()),
            ("start", req.start.to_string()),
            ("end", req.end.to_string()),
        ]);
        let (_, result) = super::metrics::run(&state, &tenant, &params, true).await?;
        Ok(proto::QueryInstantResponse {
            series: result
                .series
                .iter()
                .filter_map(|s| {
                    let value = s.values.first().copied().filter(|v| v.is_finite())?;
                    Some(proto::InstantSeries {
                        labels: s.labels.iter().map(|(k, v)| key_value(k, v)).collect(),
                        value,
                    })
                })
                .collect(),
            metrics: Some(proto::SearchMetrics {
                inspected_spans: result.inspected_spans,
                total_blocks: result.inspected_blocks,
                ..Default::default()
            }),
        })
    })
    .await
}
