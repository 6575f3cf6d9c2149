//! Evaluating a search's span conditions, on head spans ([`SpanMatcher::matches`]) and on scanned block batches
//! ([`BatchMatcher`]). Both follow the semantics documented in `request.rs`.
//!
//! Block scans run in two stages: [`row_predicate`] decides on the cheap columns (service, name, kind, status,
//! times, dedicated attribute columns) which rows can match, and only those rows get their attribute lists
//! decoded for the remaining conditions. Attributes with a dedicated column (`http.response.status_code`,
//! `db.system`, ...) are matched in that column.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::error::ArrowError;
use tracewell_model::{AttrValue, Attribute, Span, StatusCode};
use tracewell_store::block::schema::{col, hot_index, tag, HotType, HOT_ATTRS};
use tracewell_store::block::{BlockStats, RowPredicate};

use crate::columns::{i64s, strings, u64s, u8s, Attrs, Dict};
use crate::error::Result;
use crate::request::{AttrCondition, CondTarget, DurationScope, SearchRequest};

/// The span-level part of a search request.
pub(crate) struct SpanMatcher<'a> {
    pub req: &'a SearchRequest,
    pub from: u64,
    pub to: u64,
}

impl<'a> SpanMatcher<'a> {
    pub fn new(req: &'a SearchRequest) -> Self {
        Self {
            req,
            from: req.start_unix_nano.unwrap_or(0),
            to: req.end_unix_nano.unwrap_or(u64::MAX),
        }
    }

    fn span_duration_ok(&self, duration: u64) -> bool {
        if self.req.duration_scope == DurationScope::Trace {
            return true;
        }
        self.req.min_duration_nano.is_none_or(|min| duration >= min)
            && self.req.max_duration_nano.is_none_or(|max| duration <= max)
    }

    pub fn matches(&self, span: &Span) -> bool {
        let r = self.req;
        (self.from..=self.to).contains(&span.start_unix_nano)
            && r.service
                .as_deref()
                .is_none_or(|s| s == span.service_name())
            && r.operation.as_deref().is_none_or(|o| o == span.name)
            && r.kind.is_none_or(|k| k == span.kind)
            && r.status.is_none_or(|s| s == span.status.code)
            && self.span_duration_ok(span.duration_nano())
            && r.attributes.iter().all(|c| condition_holds(c, span))
    }

    /// Which attribute lists the conditions need in a block with these stats (keys a block lacks need none).
    pub fn lists_for(&self, stats: &BlockStats) -> Lists {
        let mut lists = Lists::default();
        for c in &self.req.attributes {
            if let CondTarget::Attribute(key) = &c.target {
                if hot_index(key).is_none() {
                    lists.span |= stats.may_have_key(key, false);
                    lists.resource |= stats.may_have_key(key, true);
                }
            }
        }
        lists
    }

    /// Whether a block with these stats can hold a matching span: every positive condition on an attribute
    /// without a dedicated column needs its key somewhere in the block.
    pub fn block_may_match(&self, stats: &BlockStats) -> bool {
        self.req.attributes.iter().all(|c| match &c.target {
            CondTarget::Attribute(key) if hot_index(key).is_none() && !c.negated() => {
                stats.may_have_key(key, false) || stats.may_have_key(key, true)
            }
            _ => true,
        })
    }

    /// Block columns a batch must carry for [`BatchMatcher`] with `lists`.
    pub fn columns(&self, lists: Lists) -> Vec<&'static str> {
        let mut cols = vec![
            col::TRACE_ID,
            col::SPAN_ID,
            col::NAME,
            col::KIND,
            col::START,
            col::DURATION,
            col::STATUS_CODE,
            col::SERVICE_NAME,
        ];
        cols.extend(hot_columns(self.req));
        if lists.span {
            cols.push(col::ATTRIBUTES);
        }
        if lists.resource {
            cols.push(col::RESOURCE_ATTRIBUTES);
        }
        cols
    }
}

/// Dedicated attribute columns the conditions look at.
fn hot_columns(req: &SearchRequest) -> Vec<&'static str> {
    let mut cols: Vec<&'static str> = req
        .attributes
        .iter()
        .filter_map(|c| match &c.target {
            CondTarget::Attribute(key) => hot_index(key).map(|i| HOT_ATTRS[i].column),
            _ => None,
        })
        .collect();
    cols.sort_unstable();
    cols.dedup();
    cols
}

/// The generic attribute lists a full-stage evaluation decodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lists {
    pub span: bool,
    pub resource: bool,
}

/// The first scan stage: keeps the rows whose cheap columns meet every condition that can be decided on them, and
/// counts the rows it looked at into `inspected`.
pub(crate) fn row_predicate(req: &SearchRequest, inspected: Arc<AtomicU64>) -> RowPredicate {
    let mut columns = vec![
        col::NAME,
        col::KIND,
        col::START,
        col::DURATION,
        col::STATUS_CODE,
        col::SERVICE_NAME,
    ];
    columns.extend(hot_columns(req));
    let req = Arc::new(req.clone());
    RowPredicate {
        columns,
        keep: Box::new(move |batch: &RecordBatch| {
            inspected.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            let m = SpanMatcher::new(&req);
            let rows = BatchMatcher::build(&m, batch, Stage::Cheap, Lists::default())
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            Ok((0..batch.num_rows())
                .map(|r| Some(rows.matches(r)))
                .collect::<BooleanArray>())
        }),
    }
}

/// Which conditions a [`BatchMatcher`] evaluates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Everything decidable without attribute lists; list conditions count as met.
    Cheap,
    /// Every condition.
    Full,
}

fn value_hits(c: &AttrCondition, value: &AttrValue) -> bool {
    match value {
        AttrValue::Str(s) => c.text_hits(s),
        AttrValue::Int(i) => c.int_hits(*i),
        AttrValue::Double(d) => c.text_hits(&d.to_string()),
        AttrValue::Bool(b) => c.text_hits(if *b { "true" } else { "false" }),
        _ => false,
    }
}

fn attrs_hit(c: &AttrCondition, key: &str, attrs: &[Attribute]) -> bool {
    // Dedicated keys are matched only in their column on blocks; heads do the same for identical answers.
    if hot_index(key).is_some() {
        return attrs.iter().any(|a| {
            a.key == key
                && tracewell_store::block::schema::hot_slot(key, &a.value).is_some()
                && value_hits(c, &a.value)
        });
    }
    attrs
        .iter()
        .any(|a| a.key == key && value_hits(c, &a.value))
}

fn condition_holds(c: &AttrCondition, span: &Span) -> bool {
    let hit = match &c.target {
        CondTarget::Error => c.text_hits(if span.status.code == StatusCode::Error {
            "true"
        } else {
            "false"
        }),
        CondTarget::Kind => kind_hits(c, span.kind as u8),
        CondTarget::Status => status_hits(c, span.status.code as u8),
        CondTarget::Attribute(key) => {
            attrs_hit(c, key, &span.attributes) || attrs_hit(c, key, &span.resource.attributes)
        }
    };
    hit != c.negated()
}

fn kind_hits(c: &AttrCondition, kind: u8) -> bool {
    let name = tracewell_model::SpanKind::from_i32(i32::from(kind)).as_str();
    match &c.regex {
        Some(re) => re.is_match(name),
        None => c
            .values
            .iter()
            .any(|v| crate::request::parse_kind(v).is_ok_and(|k| k as u8 == kind)),
    }
}

fn status_hits(c: &AttrCondition, status: u8) -> bool {
    let code = StatusCode::from_i32(i32::from(status));
    let name = crate::request::status_name(code);
    match &c.regex {
        Some(re) => re.is_match(name),
        None => c
            .values
            .iter()
            .any(|v| crate::request::parse_status(v).is_ok_and(|s| s == code)),
    }
}

/// Evaluates the conditions on the rows of one scanned batch.
pub(crate) struct BatchMatcher<'m, 'b> {
    m: &'m SpanMatcher<'m>,
    starts: &'b arrow::array::UInt64Array,
    durations: &'b arrow::array::UInt64Array,
    kinds: &'b arrow::array::UInt8Array,
    statuses: &'b arrow::array::UInt8Array,
    /// Per dictionary key of `service_name` / `name`: whether it passes the service / operation condition.
    service_ok: Vec<bool>,
    services: Dict<'b>,
    name_ok: Vec<bool>,
    names: Dict<'b>,
    span_attrs: Option<Attrs<'b>>,
    resource_attrs: Option<Attrs<'b>>,
    stage: Stage,
    /// Per condition: its dedicated column, if its key has one.
    hot: Vec<Option<HotColumn<'b>>>,
}

enum HotColumn<'b> {
    Str(&'b arrow::array::StringArray),
    Int(&'b arrow::array::Int64Array),
}

impl<'m, 'b> BatchMatcher<'m, 'b> {
    /// A full-stage matcher over a batch carrying `lists`.
    pub fn new(m: &'m SpanMatcher<'m>, batch: &'b RecordBatch, lists: Lists) -> Result<Self> {
        Self::build(m, batch, Stage::Full, lists)
    }

    pub fn build(
        m: &'m SpanMatcher<'m>,
        batch: &'b RecordBatch,
        stage: Stage,
        lists: Lists,
    ) -> Result<Self> {
        let services = Dict::of(batch, col::SERVICE_NAME)?;
        let names = Dict::of(batch, col::NAME)?;
        let service_ok = (0..services.values.len())
            .map(|k| {
                m.req
                    .service
                    .as_deref()
                    .is_none_or(|s| s == services.values.value(k))
            })
            .collect();
        let name_ok = (0..names.values.len())
            .map(|k| {
                m.req
                    .operation
                    .as_deref()
                    .is_none_or(|o| o == names.values.value(k))
            })
            .collect();
        let full = stage == Stage::Full;
        let span_attrs = (full && lists.span)
            .then(|| Attrs::of(batch, col::ATTRIBUTES))
            .transpose()?;
        let resource_attrs = (full && lists.resource)
            .then(|| Attrs::of(batch, col::RESOURCE_ATTRIBUTES))
            .transpose()?;
        let mut hot = Vec::with_capacity(m.req.attributes.len());
        for c in &m.req.attributes {
            let column = match &c.target {
                CondTarget::Attribute(key) => match hot_index(key) {
                    Some(i) => Some(match HOT_ATTRS[i].ty {
                        HotType::Str => HotColumn::Str(strings(batch, HOT_ATTRS[i].column)?),
                        HotType::Int => HotColumn::Int(i64s(batch, HOT_ATTRS[i].column)?),
                    }),
                    None => None,
                },
                _ => None,
            };
            hot.push(column);
        }
        Ok(Self {
            m,
            starts: u64s(batch, col::START)?,
            durations: u64s(batch, col::DURATION)?,
            kinds: u8s(batch, col::KIND)?,
            statuses: u8s(batch, col::STATUS_CODE)?,
            service_ok,
            services,
            name_ok,
            names,
            span_attrs,
            resource_attrs,
            stage,
            hot,
        })
    }

    pub fn matches(&self, row: usize) -> bool {
        let r = self.m.req;
        self.service_ok[self.services.key(row)]
            && self.name_ok[self.names.key(row)]
            && (self.m.from..=self.m.to).contains(&self.starts.value(row))
            && r.kind.is_none_or(|k| k as u8 == self.kinds.value(row))
            && r.status.is_none_or(|s| s as u8 == self.statuses.value(row))
            && self.m.span_duration_ok(self.durations.value(row))
            && r.attributes
                .iter()
                .enumerate()
                .all(|(i, c)| self.condition_holds(i, c, row))
    }

    fn condition_holds(&self, i: usize, c: &AttrCondition, row: usize) -> bool {
        let hit = match &c.target {
            CondTarget::Error => {
                c.text_hits(if self.statuses.value(row) == StatusCode::Error as u8 {
                    "true"
                } else {
                    "false"
                })
            }
            CondTarget::Kind => kind_hits(c, self.kinds.value(row)),
            CondTarget::Status => status_hits(c, self.statuses.value(row)),
            CondTarget::Attribute(key) => match &self.hot[i] {
                Some(HotColumn::Str(a)) => a.is_valid(row) && c.text_hits(a.value(row)),
                Some(HotColumn::Int(a)) => a.is_valid(row) && c.int_hits(a.value(row)),
                // Decided in the full stage.
                None if self.stage == Stage::Cheap => return true,
                // A list the block lacks the key in is not decoded: no hit there.
                None => {
                    self.span_attrs
                        .as_ref()
                        .is_some_and(|a| list_hit(c, key, a, row))
                        || self
                            .resource_attrs
                            .as_ref()
                            .is_some_and(|a| list_hit(c, key, a, row))
                }
            },
        };
        hit != c.negated()
    }

    pub fn service(&self, row: usize) -> &'b str {
        self.services.get(row)
    }

    pub fn name(&self, row: usize) -> &'b str {
        self.names.get(row)
    }
}

/// Whether an attribute list holds `key` with a value hitting `c`.
fn list_hit(c: &AttrCondition, key: &str, attrs: &Attrs<'_>, row: usize) -> bool {
    attrs.range(row).any(|j| {
        attrs.keys.value(j) == key
            && match attrs.types.value(j) {
                tag::STR => c.text_hits(attrs.strs.value(j)),
                tag::INT => c.int_hits(attrs.ints.value(j)),
                tag::DOUBLE => c.text_hits(&attrs.doubles.value(j).to_string()),
                tag::BOOL => c.text_hits(if attrs.bools.value(j) {
                    "true"
                } else {
                    "false"
                }),
                _ => false,
            }
    })
}

/// The span conditions of a search, applied to single spans (live tail).
#[derive(Debug, Clone)]
pub struct SpanFilter {
    req: SearchRequest,
}

impl SpanFilter {
    /// Keeps the request's span conditions; its time range, limits and trace-level duration are ignored.
    pub fn new(mut req: SearchRequest) -> Self {
        req.start_unix_nano = None;
        req.end_unix_nano = None;
        Self { req }
    }

    pub fn matches(&self, span: &Span) -> bool {
        SpanMatcher::new(&self.req).matches(span)
    }
}
