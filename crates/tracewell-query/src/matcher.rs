//! Evaluating a search's span conditions, on head spans ([`SpanMatcher::matches`]) and on scanned block batches
//! ([`BatchMatcher`]). Both follow the semantics documented in `request.rs`: a tag condition looks in every place
//! of a span (span, resource, event, link and scope attributes).
//!
//! Block scans run in two stages: [`row_predicate`] decides on the cheap columns (service, name, kind, status,
//! times, dedicated attribute columns) which rows can match, and only those rows get their attribute lists
//! decoded for the remaining conditions. A span's own attribute with a dedicated column (`http.response.status_code`,
//! `db.system`, ...) is matched in that column; a hit there decides the condition in the first stage, a miss
//! leaves it to the lists of the other places. Which lists a block scan reads is decided per block from the keys
//! its stats record per place ([`SpanMatcher::lists_for`]): event, link and scope attributes are read only when a
//! condition's key may be there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, ListArray, RecordBatch};
use arrow::error::ArrowError;
use tracewell_model::{AttrValue, Attribute, Span, StatusCode};
use tracewell_store::block::schema::{col, hot_index, tag, HotType, HOT_ATTRS};
use tracewell_store::block::{BlockStats, RowPredicate, ValueCondition};

use crate::columns::{i64s, lists, strings, u64s, u8s, Attrs, Dict};
use crate::error::{QueryError, Result};
use crate::request::{AttrCondition, CondTarget, DurationScope, MatchOp, SearchRequest};

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

    /// Which attribute lists the conditions need in a block with these stats (keys a block lacks in a place need
    /// no list there; a dedicated key's span attributes are in its column).
    pub fn lists_for(&self, stats: &BlockStats) -> Lists {
        let mut lists = Lists::default();
        for c in &self.req.attributes {
            if let CondTarget::Attribute(key) = &c.target {
                lists.span |= hot_index(key).is_none() && stats.may_have_key(key, false);
                lists.resource |= stats.may_have_key(key, true);
                lists.event |= stats.may_have_event_key(key);
                lists.link |= stats.may_have_link_key(key);
                lists.scope |= stats.may_have_scope_key(key);
            }
        }
        lists
    }

    /// Per attribute condition: whether its key may be found in a block with these stats anywhere but the span's
    /// own attributes (resource, events, links, scope). When not, a dedicated column's answer is final.
    pub fn elsewhere(&self, stats: &BlockStats) -> Vec<bool> {
        self.req
            .attributes
            .iter()
            .map(|c| match &c.target {
                CondTarget::Attribute(key) => {
                    stats.may_have_key(key, true)
                        || stats.may_have_event_key(key)
                        || stats.may_have_link_key(key)
                        || stats.may_have_scope_key(key)
                }
                _ => false,
            })
            .collect()
    }

    /// Whether a block with these stats can hold a matching span: every positive condition on an attribute
    /// without a dedicated column needs its key in some place in the block.
    pub fn block_may_match(&self, stats: &BlockStats) -> bool {
        self.req.attributes.iter().all(|c| match &c.target {
            CondTarget::Attribute(key) if hot_index(key).is_none() && !c.negated() => {
                stats.may_have_key(key, false)
                    || stats.may_have_key(key, true)
                    || stats.may_have_event_key(key)
                    || stats.may_have_link_key(key)
                    || stats.may_have_scope_key(key)
            }
            _ => true,
        })
    }

    /// The conditions a block's value filters can rule out: positive `=` conditions on attributes, and the
    /// operation (span name). Sound because a v2 row group's filter holds the values of every place a condition
    /// looks in (span, resource, event, link and scope attributes), in the text the matcher compares.
    pub fn value_conditions(&self) -> Vec<ValueCondition> {
        let mut out: Vec<ValueCondition> = self
            .req
            .attributes
            .iter()
            .filter(|c| c.op == MatchOp::Eq)
            .filter_map(|c| match &c.target {
                CondTarget::Attribute(key) => {
                    let mut texts = c.values.clone();
                    // Integer attributes are filtered by their canonical decimal form ("007" finds 7).
                    texts.extend(c.ints.iter().map(i64::to_string));
                    // Doubles are filtered by their text ("72.50" finds 72.5).
                    texts.extend(c.double_filter_texts());
                    texts.sort_unstable();
                    texts.dedup();
                    Some(ValueCondition {
                        key: key.clone(),
                        texts,
                    })
                }
                _ => None,
            })
            .collect();
        if let Some(operation) = &self.req.operation {
            out.push(ValueCondition {
                key: String::new(),
                texts: vec![operation.clone()],
            });
        }
        out
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
        if lists.event {
            cols.push(col::EVENTS);
        }
        if lists.link {
            cols.push(col::LINKS);
        }
        if lists.scope {
            cols.push(col::SCOPE_ATTRIBUTES);
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

/// The generic attribute lists a full-stage evaluation decodes, one per place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lists {
    pub span: bool,
    pub resource: bool,
    pub event: bool,
    pub link: bool,
    pub scope: bool,
}

/// The first scan stage: keeps the rows whose cheap columns meet every condition that can be decided on them, and
/// counts the rows it looked at into `inspected`. `elsewhere` is [`SpanMatcher::elsewhere`] of the block.
pub(crate) fn row_predicate(
    req: &SearchRequest,
    inspected: Arc<AtomicU64>,
    elsewhere: Vec<bool>,
) -> RowPredicate {
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
            let mut rows = BatchMatcher::build(&m, batch, Stage::Cheap, Lists::default())
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            rows.elsewhere.clone_from(&elsewhere);
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
        AttrValue::Double(d) => c.double_hits(*d),
        AttrValue::Bool(b) => c.text_hits(bool_text(*b)),
        _ => false,
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn attrs_hit(c: &AttrCondition, key: &str, attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.key == key && value_hits(c, &a.value))
}

/// The span's own attributes: a dedicated key is matched only with its column's type, as blocks hold it in that
/// column (heads answer as blocks do).
fn span_attrs_hit(c: &AttrCondition, key: &str, attrs: &[Attribute]) -> bool {
    if hot_index(key).is_some() {
        return attrs.iter().any(|a| {
            a.key == key
                && tracewell_store::block::schema::hot_slot(key, &a.value).is_some()
                && value_hits(c, &a.value)
        });
    }
    attrs_hit(c, key, attrs)
}

/// Whether any place of the span holds `key` with a value hitting `c`.
fn places_hit(c: &AttrCondition, key: &str, span: &Span) -> bool {
    span_attrs_hit(c, key, &span.attributes)
        || attrs_hit(c, key, &span.resource.attributes)
        || span.events.iter().any(|e| attrs_hit(c, key, &e.attributes))
        || span.links.iter().any(|l| attrs_hit(c, key, &l.attributes))
        || attrs_hit(c, key, &span.scope.attributes)
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
        CondTarget::Attribute(key) => places_hit(c, key, span),
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
    /// The decoded lists of the places, in [`Lists`] order (absent when not read).
    places: Vec<PlaceAttrs<'b>>,
    stage: Stage,
    /// Per condition: its dedicated column, if its key has one.
    hot: Vec<Option<HotColumn<'b>>>,
    /// Per condition (cheap stage): whether the key may be in a place other than the span's own attributes, so
    /// that a miss in the dedicated column cannot decide.
    elsewhere: Vec<bool>,
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
        let places = match stage {
            Stage::Full => PlaceAttrs::decode(batch, lists)?,
            Stage::Cheap => Vec::new(),
        };
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
            places,
            stage,
            hot,
            elsewhere: Vec::new(),
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
            CondTarget::Attribute(key) => {
                let hot_hit = match &self.hot[i] {
                    Some(HotColumn::Str(a)) => a.is_valid(row) && c.text_hits(a.value(row)),
                    Some(HotColumn::Int(a)) => a.is_valid(row) && c.int_hits(a.value(row)),
                    None => false,
                };
                match self.stage {
                    // A hit in the dedicated column decides; a miss does too unless the key may be in another place
                    // of this block (or the key has no column), which the full stage's lists answer.
                    Stage::Cheap
                        if !hot_hit
                            && (self.hot[i].is_none()
                                || self.elsewhere.get(i).copied().unwrap_or(true)) =>
                    {
                        return true
                    }
                    Stage::Cheap => hot_hit,
                    // A list the block lacks the key in is not decoded: no hit there.
                    Stage::Full => {
                        let dedicated = self.hot[i].is_some();
                        hot_hit
                            || self
                                .places
                                .iter()
                                .filter(|p| !(dedicated && p.own))
                                .any(|p| p.hit(c, key, row))
                    }
                }
            }
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

/// One place's attributes in a scanned batch: a row's entries are one contiguous range of `attrs`.
struct PlaceAttrs<'b> {
    attrs: Attrs<'b>,
    /// For events and links: the per-row lists of items (each with an attribute list in `attrs`).
    items: Option<&'b ListArray>,
    /// The span's own attributes (where a dedicated key is matched in its column instead).
    own: bool,
}

impl<'b> PlaceAttrs<'b> {
    /// The lists `lists` names, from a batch carrying their columns.
    fn decode(batch: &'b RecordBatch, lists: Lists) -> Result<Vec<Self>> {
        let mut places = Vec::new();
        let flat = |name| -> Result<Self> {
            Ok(Self {
                attrs: Attrs::of(batch, name)?,
                items: None,
                own: name == col::ATTRIBUTES,
            })
        };
        if lists.span {
            places.push(flat(col::ATTRIBUTES)?);
        }
        if lists.resource {
            places.push(flat(col::RESOURCE_ATTRIBUTES)?);
        }
        if lists.event {
            places.push(Self::nested(batch, col::EVENTS)?);
        }
        if lists.link {
            places.push(Self::nested(batch, col::LINKS)?);
        }
        if lists.scope {
            places.push(flat(col::SCOPE_ATTRIBUTES)?);
        }
        Ok(places)
    }

    /// The attributes of the items (events, links) of list column `name`.
    fn nested(batch: &'b RecordBatch, name: &str) -> Result<Self> {
        let items = lists(batch, name)?;
        let attributes = items
            .values()
            .as_struct_opt()
            .and_then(|s| s.column_by_name(col::ATTRIBUTES))
            .and_then(|a| a.as_list_opt::<i32>())
            .ok_or_else(|| {
                QueryError::Internal(format!("block column {name} has no attribute lists"))
            })?;
        Ok(Self {
            attrs: Attrs::of_list(attributes, name)?,
            items: Some(items),
            own: false,
        })
    }

    /// Entry indexes of the row's attributes in this place.
    fn range(&self, row: usize) -> std::ops::Range<usize> {
        match self.items {
            None => self.attrs.range(row),
            Some(items) => {
                let outer = items.value_offsets();
                let inner = self.attrs.list.value_offsets();
                let (first, last) = (outer[row] as usize, outer[row + 1] as usize);
                inner[first] as usize..inner[last] as usize
            }
        }
    }

    /// Whether the row holds `key` here with a value hitting `c`.
    fn hit(&self, c: &AttrCondition, key: &str, row: usize) -> bool {
        let a = &self.attrs;
        self.range(row).any(|j| {
            a.keys.value(j) == key
                && match a.types.value(j) {
                    tag::STR => c.text_hits(a.strs.value(j)),
                    tag::INT => c.int_hits(a.ints.value(j)),
                    tag::DOUBLE => c.double_hits(a.doubles.value(j)),
                    tag::BOOL => c.text_hits(bool_text(a.bools.value(j))),
                    _ => false,
                }
        })
    }
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
