//! TraceQL metrics over block columns. A metrics query whose spans are chosen by one span-local filter
//! (`{ kind = server && span.http.route = "/cart" } | quantile_over_time(duration, .9) by (resource.service.name)`)
//! reads, per block, only the columns its filter, its function and its `by()` name. Row groups and rows are
//! pruned as a search prunes them (value filters, then the row predicate of the filter's pushed-down conditions);
//! the filter itself is evaluated on each remaining row by the language crate's span-local evaluator, through a
//! [`SpanView`] over the row's columns, so the answer is the one the trace-by-trace path gives, without building
//! spans or traces. Series are found through a per-batch cache of label codes (dictionary keys), so most rows
//! cost no string work.
//!
//! Queries that need whole traces (structural operators, `trace:` intrinsics, pipelines after the filter,
//! `compare()`) or fields without a column here (events, links, scope) take the trace-by-trace path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray, UInt64Array, UInt8Array};
use futures::TryStreamExt;
use tracewell_model::{SpanKind, StatusCode, UNKNOWN_SERVICE};
use tracewell_store::block::schema::{col, hot_index, tag, HotType, HOT_ATTRS};
use tracewell_store::block::{self, ScanRequest};
use tracewell_store::BlockMeta;
use tracewell_traceql::ast::{
    AttributeScope, Field, Intrinsic, MetricsPipeline, SpansetExpr, Stage,
};
use tracewell_traceql::metrics::{MetricsAggregator, SeriesId};
use tracewell_traceql::value::Value;
use tracewell_traceql::view::{field_value, SpanView};
use tracewell_traceql::{for_each_field, Evaluator, SpanLocalFilter};

use super::view::{kind, status, to_value};
use crate::columns::{i64s, strings, u64s, u8s, Attrs, Dict};
use crate::error::Result;
use crate::matcher::{row_predicate, SpanMatcher};
use crate::request::SearchRequest;
use crate::QueryService;

/// Rows per scanned batch.
const BATCH_ROWS: usize = 8192;

/// Most `by()` fields whose label codes the series cache keys on; queries with more find series row by row.
const CACHED_LABELS: usize = 4;

/// What a plan reads besides the start time.
#[derive(Debug, Default, Clone)]
struct Needs {
    duration: bool,
    name: bool,
    kind: bool,
    status: bool,
    /// `resource.service.name`.
    service: bool,
    /// The span attribute list (and the dedicated columns in `hot`).
    span_attrs: bool,
    /// The resource attribute list.
    resource_attrs: bool,
    /// Dedicated columns (indexes into `HOT_ATTRS`) of the span attributes read.
    hot: Vec<usize>,
}

impl Needs {
    /// Records what reading `field` takes; false when it has no column here.
    fn add(&mut self, field: &Field) -> bool {
        match field {
            Field::Intrinsic(Intrinsic::Duration) => self.duration = true,
            Field::Intrinsic(Intrinsic::Name) => self.name = true,
            Field::Intrinsic(Intrinsic::Kind) => self.kind = true,
            Field::Intrinsic(Intrinsic::Status) => self.status = true,
            Field::Intrinsic(_) => return false,
            Field::Attribute(a) if a.parent => return false,
            Field::Attribute(a) => {
                let span = matches!(a.scope, AttributeScope::Span | AttributeScope::Unscoped);
                let resource =
                    matches!(a.scope, AttributeScope::Resource | AttributeScope::Unscoped);
                if !span && !resource {
                    return false;
                }
                if span {
                    self.span_attrs = true;
                    if let Some(i) = hot_index(&a.name) {
                        if !self.hot.contains(&i) {
                            self.hot.push(i);
                        }
                    }
                }
                if resource && a.name == "service.name" {
                    self.service = true;
                } else if resource {
                    self.resource_attrs = true;
                }
            }
        }
        true
    }

    /// The block columns to scan; `unknown_services` says the block has spans whose resource names no service
    /// (their service column reads `unknown_service`), for which `resource.service.name` needs the resource list.
    fn columns(&self, unknown_services: bool) -> Vec<&'static str> {
        let mut cols = vec![col::START];
        for (wanted, column) in [
            (self.duration, col::DURATION),
            (self.name, col::NAME),
            (self.kind, col::KIND),
            (self.status, col::STATUS_CODE),
            (self.service, col::SERVICE_NAME),
            (self.span_attrs, col::ATTRIBUTES),
            (
                self.resource_attrs || (self.service && unknown_services),
                col::RESOURCE_ATTRIBUTES,
            ),
        ] {
            if wanted {
                cols.push(column);
            }
        }
        cols.extend(self.hot.iter().map(|&i| HOT_ATTRS[i].column));
        cols
    }
}

/// A metrics query answered from block columns.
pub(super) struct ColumnPlan<'e> {
    filter: SpanLocalFilter<'e>,
    needs: Needs,
    /// The filter's conditions as a search (a superset of its spans): prunes row groups and rows; `None` when
    /// they contradict each other (no span matches).
    search: Option<SearchRequest>,
}

/// The column plan of a metrics pipeline, or `None` when it needs the trace-by-trace path. `search` is the
/// pushdown of the pipeline's conditions (without a time range), `None` when they contradict each other.
pub(super) fn plan<'e>(
    evaluator: &'e Evaluator<'_>,
    pipeline: &'e MetricsPipeline,
    aggregator: &MetricsAggregator,
    search: Option<SearchRequest>,
) -> Option<ColumnPlan<'e>> {
    let [Stage::Spanset(SpansetExpr::Filter(filter))] = &pipeline.source.stages[..] else {
        return None;
    };
    let filter_local = evaluator.span_local(filter)?;
    let mut needs = Needs::default();
    let mut supported = true;
    for_each_field(&filter.expr, &mut |f| supported &= needs.add(f));
    for field in aggregator.by().iter().chain(aggregator.sampled_field()) {
        supported &= needs.add(field);
    }
    supported.then_some(ColumnPlan {
        filter: filter_local,
        needs,
        search,
    })
}

/// Whether a search has conditions a row predicate can check.
fn has_conditions(req: &SearchRequest) -> bool {
    req.service.is_some()
        || req.operation.is_some()
        || req.kind.is_some()
        || req.status.is_some()
        || req.min_duration_nano.is_some()
        || req.max_duration_nano.is_some()
        || !req.attributes.is_empty()
}

impl QueryService {
    /// Feeds the spans of one block that start in `[start, end)` and satisfy the plan's filter to `aggregator`;
    /// returns the spans inspected.
    pub(super) async fn metrics_from_columns(
        &self,
        meta: &BlockMeta,
        plan: &ColumnPlan<'_>,
        aggregator: &mut MetricsAggregator,
        start: u64,
        end: u64,
    ) -> Result<u64> {
        let Some(search) = &plan.search else {
            return Ok(0);
        };
        let req = SearchRequest {
            start_unix_nano: Some(start),
            end_unix_nano: Some(end.saturating_sub(1)),
            ..search.clone()
        };
        let matcher = SpanMatcher::new(&req);
        if !matcher.block_may_match(&meta.stats) {
            return Ok(0);
        }
        let path = meta.data_path();
        let conditions = matcher.value_conditions();
        let row_groups = match conditions.is_empty() {
            true => None,
            false => block::row_groups_holding(&self.store.objects(), &path, &conditions).await?,
        };
        if row_groups.as_ref().is_some_and(Vec::is_empty) {
            return Ok(0);
        }
        let unknown = meta.stats.services.iter().any(|s| s == UNKNOWN_SERVICE);
        let columns = plan.needs.columns(unknown);
        let inspected = Arc::new(AtomicU64::new(0));
        let filter = has_conditions(&req)
            .then(|| row_predicate(&req, Arc::clone(&inspected), matcher.elsewhere(&meta.stats)));
        let counted_by_filter = filter.is_some();
        let request = ScanRequest {
            columns: &columns,
            start_range: Some((matcher.from, matcher.to)),
            row_groups,
            batch_rows: BATCH_ROWS,
            filter,
        };
        let mut stream =
            block::scan(self.store.objects(), &path, Some(meta.size_bytes), request).await?;
        let mut series = SeriesCache::new(aggregator.by());
        while let Some(batch) = stream.try_next().await? {
            if !counted_by_filter {
                inspected.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            let batch = BatchColumns::of(&batch, &plan.needs)?;
            series.new_batch();
            for row in 0..batch.starts.len() {
                let at = batch.starts.value(row);
                if at < start || at >= end {
                    continue;
                }
                let span = RowSpan { batch: &batch, row };
                if !plan.filter.matches(&span) {
                    continue;
                }
                let value = aggregator
                    .sampled_field()
                    .map_or(Value::Nil, |f| field_value(&span, f));
                let Some(sample) = aggregator.sample(&value) else {
                    continue;
                };
                let id = series.find(aggregator, &span, sample.bucket);
                aggregator.add(id, i64::try_from(at).unwrap_or(i64::MAX), sample);
            }
        }
        Ok(inspected.load(Ordering::Relaxed))
    }
}

/// Series by label codes: within one batch, a `by()` field read from a dictionary column (name, service) or a
/// small enum (kind, status) has a code per value, and a row's codes (with its histogram bucket) find its series
/// without building labels. Rows with another field, or a service read from the resource list, go row by row.
struct SeriesCache {
    /// Per `by()` field: how its code is read.
    codes: Vec<Code>,
    found: HashMap<([u32; CACHED_LABELS], u64), SeriesId>,
}

#[derive(Clone, Copy)]
enum Code {
    Name,
    Service,
    Kind,
    Status,
    /// No code: found row by row.
    None,
}

/// A code no value has: the row's labels are read one by one.
const NO_CODE: u32 = u32::MAX;

impl SeriesCache {
    fn new(by: &[Field]) -> Self {
        let code = |f: &Field| match f {
            Field::Intrinsic(Intrinsic::Name) => Code::Name,
            Field::Intrinsic(Intrinsic::Kind) => Code::Kind,
            Field::Intrinsic(Intrinsic::Status) => Code::Status,
            Field::Attribute(a)
                if !a.parent && a.scope == AttributeScope::Resource && a.name == "service.name" =>
            {
                Code::Service
            }
            _ => Code::None,
        };
        let mut codes: Vec<Code> = by.iter().map(code).collect();
        if codes.len() > CACHED_LABELS {
            codes = vec![Code::None; codes.len()];
        }
        Self {
            codes,
            found: HashMap::new(),
        }
    }

    /// Dictionary keys differ from batch to batch.
    fn new_batch(&mut self) {
        self.found.clear();
    }

    fn find(
        &mut self,
        aggregator: &mut MetricsAggregator,
        span: &RowSpan<'_, '_>,
        bucket: Option<f64>,
    ) -> SeriesId {
        let mut key = [0u32; CACHED_LABELS];
        let mut cached = true;
        for (slot, code) in key.iter_mut().zip(&self.codes) {
            *slot = span.code(*code);
            cached &= *slot != NO_CODE;
        }
        let labels = || {
            aggregator
                .by()
                .iter()
                .map(|f| field_value(span, f))
                .collect::<Vec<_>>()
        };
        if !cached {
            let values = labels();
            return aggregator.series_for(values, bucket);
        }
        let bucket_key = bucket.map_or(u64::MAX, f64::to_bits);
        if let Some(&id) = self.found.get(&(key, bucket_key)) {
            return id;
        }
        let values = labels();
        let id = aggregator.series_for(values, bucket);
        self.found.insert((key, bucket_key), id);
        id
    }
}

enum HotColumn<'b> {
    Str(&'b StringArray),
    Int(&'b Int64Array),
}

/// The columns of one scanned batch a plan reads.
struct BatchColumns<'b> {
    starts: &'b UInt64Array,
    durations: Option<&'b UInt64Array>,
    names: Option<Dict<'b>>,
    kinds: Option<&'b UInt8Array>,
    statuses: Option<&'b UInt8Array>,
    services: Option<Dict<'b>>,
    span_attrs: Option<Attrs<'b>>,
    resource_attrs: Option<Attrs<'b>>,
    /// `(HOT_ATTRS index, column)`.
    hot: Vec<(usize, HotColumn<'b>)>,
}

impl<'b> BatchColumns<'b> {
    fn of(batch: &'b RecordBatch, needs: &Needs) -> Result<Self> {
        let has = |name: &str| batch.column_by_name(name).is_some();
        Ok(Self {
            starts: u64s(batch, col::START)?,
            durations: needs
                .duration
                .then(|| u64s(batch, col::DURATION))
                .transpose()?,
            names: needs.name.then(|| Dict::of(batch, col::NAME)).transpose()?,
            kinds: needs.kind.then(|| u8s(batch, col::KIND)).transpose()?,
            statuses: needs
                .status
                .then(|| u8s(batch, col::STATUS_CODE))
                .transpose()?,
            services: needs
                .service
                .then(|| Dict::of(batch, col::SERVICE_NAME))
                .transpose()?,
            span_attrs: needs
                .span_attrs
                .then(|| Attrs::of(batch, col::ATTRIBUTES))
                .transpose()?,
            resource_attrs: has(col::RESOURCE_ATTRIBUTES)
                .then(|| Attrs::of(batch, col::RESOURCE_ATTRIBUTES))
                .transpose()?,
            hot: needs
                .hot
                .iter()
                .map(|&i| {
                    let name = HOT_ATTRS[i].column;
                    Ok((
                        i,
                        match HOT_ATTRS[i].ty {
                            HotType::Str => HotColumn::Str(strings(batch, name)?),
                            HotType::Int => HotColumn::Int(i64s(batch, name)?),
                        },
                    ))
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// One row of a batch, as the TraceQL evaluator sees a span. Only the fields a plan reads are answered.
struct RowSpan<'c, 'b> {
    batch: &'c BatchColumns<'b>,
    row: usize,
}

impl RowSpan<'_, '_> {
    /// The row's label code for `code` (see [`SeriesCache`]).
    fn code(&self, code: Code) -> u32 {
        let (b, row) = (self.batch, self.row);
        match code {
            Code::Name => b.names.as_ref().map_or(NO_CODE, |d| d.key(row) as u32),
            Code::Service => b.services.as_ref().map_or(NO_CODE, |d| {
                // A resource without a service name reads `unknown_service` here; its label comes from the list.
                match d.get(row) == UNKNOWN_SERVICE {
                    true => NO_CODE,
                    false => d.key(row) as u32,
                }
            }),
            Code::Kind => b.kinds.map_or(NO_CODE, |k| u32::from(k.value(row))),
            Code::Status => b.statuses.map_or(NO_CODE, |s| u32::from(s.value(row))),
            Code::None => NO_CODE,
        }
    }

    fn span_attribute(&self, key: &str) -> Option<Value> {
        let (b, row) = (self.batch, self.row);
        if let Some(i) = hot_index(key) {
            let hot = b.hot.iter().find(|(j, _)| *j == i).map(|(_, c)| c);
            match hot {
                Some(HotColumn::Str(a)) if a.is_valid(row) => {
                    return Some(Value::Str(a.value(row).to_owned()))
                }
                Some(HotColumn::Int(a)) if a.is_valid(row) => {
                    return Some(Value::Int(a.value(row)))
                }
                _ => {}
            }
        }
        find(b.span_attrs.as_ref()?, row, key)
    }

    fn resource_attribute(&self, key: &str) -> Option<Value> {
        let (b, row) = (self.batch, self.row);
        if key == "service.name" {
            if let Some(services) = &b.services {
                let name = services.get(row);
                if name != UNKNOWN_SERVICE {
                    return Some(Value::Str(name.to_owned()));
                }
            }
        }
        find(b.resource_attrs.as_ref()?, row, key)
    }
}

/// The value of attribute `key` in `row`'s list (entries whose value lives in a dedicated column are skipped).
fn find(attrs: &Attrs<'_>, row: usize, key: &str) -> Option<Value> {
    let j = attrs
        .range(row)
        .find(|&j| attrs.keys.value(j) == key && attrs.types.value(j) != tag::DEDICATED)?;
    Some(list_value(attrs, j))
}

fn list_value(a: &Attrs<'_>, j: usize) -> Value {
    match a.types.value(j) {
        tag::STR => Value::Str(a.strs.value(j).to_owned()),
        tag::INT => Value::Int(a.ints.value(j)),
        tag::DOUBLE => Value::Float(a.doubles.value(j)),
        tag::BOOL => Value::Bool(a.bools.value(j)),
        tag::ARRAY | tag::MAP if a.bytes.is_valid(j) => {
            match tracewell_model::otlp::value_from_otlp_bytes(a.bytes.value(j)) {
                Ok(value) => to_value(&value),
                Err(_) => Value::Nil,
            }
        }
        _ => Value::Nil,
    }
}

impl SpanView for RowSpan<'_, '_> {
    fn intrinsic(&self, intrinsic: Intrinsic) -> Value {
        let (b, row) = (self.batch, self.row);
        let value = match intrinsic {
            Intrinsic::Duration => b
                .durations
                .map(|d| Value::Duration(i64::try_from(d.value(row)).unwrap_or(i64::MAX))),
            Intrinsic::Name => b.names.as_ref().map(|d| Value::Str(d.get(row).to_owned())),
            Intrinsic::Kind => b
                .kinds
                .map(|k| Value::Kind(kind(SpanKind::from_i32(i32::from(k.value(row)))))),
            Intrinsic::Status => b
                .statuses
                .map(|s| Value::Status(status(StatusCode::from_i32(i32::from(s.value(row)))))),
            // A plan reads no other intrinsic.
            _ => None,
        };
        value.unwrap_or(Value::Nil)
    }

    fn attribute(&self, scope: AttributeScope, key: &str) -> Option<Value> {
        match scope {
            AttributeScope::Span => self.span_attribute(key),
            AttributeScope::Resource => self.resource_attribute(key),
            AttributeScope::Unscoped => self
                .span_attribute(key)
                .or_else(|| self.resource_attribute(key)),
            // A plan reads no event, link or scope attribute.
            _ => None,
        }
    }

    fn for_each_attribute(&self, visit: &mut dyn FnMut(AttributeScope, &str, Value)) {
        // Only `compare()` lists attributes, and it never takes this path; list what the batch holds.
        let (b, row) = (self.batch, self.row);
        for (scope, attrs) in [
            (AttributeScope::Span, &b.span_attrs),
            (AttributeScope::Resource, &b.resource_attrs),
        ] {
            let Some(a) = attrs else {
                continue;
            };
            for j in a.range(row) {
                let key = a.keys.value(j);
                match a.types.value(j) {
                    // The value is in a dedicated column (listed when the plan read it).
                    tag::DEDICATED => {
                        if let Some(value) = self.span_attribute(key) {
                            visit(scope, key, value);
                        }
                    }
                    _ => visit(scope, key, list_value(a, j)),
                }
            }
        }
    }
}
