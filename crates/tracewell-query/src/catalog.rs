//! The catalog for pickers and autocomplete: services, operations with their span kind, attribute names and
//! attribute values.
//!
//! Services and operations come from rollups (every span ever accepted within the raw-span retention) and from
//! block `meta.json` files. Attribute names and values come from scanning the heads and the newest blocks in the
//! range, up to [`crate::QueryConfig::max_tag_scan_spans`] spans, so autocomplete stays cheap; answers say when
//! they were cut.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use tracewell_model::{AttrValue, Attribute, SpanKind, TenantId};
use tracewell_store::block::schema::{col, tag, HotType, HOT_ATTRS};
use tracewell_store::block::{self, ScanRequest};

use crate::columns::{i64s, strings, Attrs};
use crate::error::Result;
use crate::{QueryService, TimeRange};

/// An operation (span name) of a service, with the span kind it was seen with (`None`: only known from blocks
/// written before rollups existed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    pub service: String,
    pub name: String,
    pub kind: Option<SpanKind>,
}

/// Attribute names seen, by where they live.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagNames {
    pub span: Vec<String>,
    pub resource: Vec<String>,
    /// The scan stopped at its span limit; older data may hold more names.
    pub truncated: bool,
}

/// Type of an attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueKind {
    String,
    Int,
    Double,
    Bool,
}

impl ValueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Double => "double",
            Self::Bool => "bool",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagValue {
    pub kind: ValueKind,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagValues {
    /// Sorted.
    pub values: Vec<TagValue>,
    /// More values exist than returned, or the scan stopped at its span limit.
    pub truncated: bool,
}

/// Longest attribute value offered for autocomplete.
const MAX_VALUE_LEN: usize = 256;

fn value_of(v: &AttrValue) -> Option<TagValue> {
    let (kind, value) = match v {
        AttrValue::Str(s) if s.len() <= MAX_VALUE_LEN => (ValueKind::String, s.clone()),
        AttrValue::Int(i) => (ValueKind::Int, i.to_string()),
        AttrValue::Double(d) => (ValueKind::Double, d.to_string()),
        AttrValue::Bool(b) => (ValueKind::Bool, b.to_string()),
        _ => return None,
    };
    Some(TagValue { kind, value })
}

/// What a tag scan collects.
enum Collect<'a> {
    Names {
        span: BTreeSet<String>,
        resource: BTreeSet<String>,
    },
    Values {
        key: &'a str,
        values: BTreeSet<TagValue>,
        limit: usize,
    },
}

impl Collect<'_> {
    fn full(&self) -> bool {
        matches!(self, Collect::Values { values, limit, .. } if values.len() > *limit)
    }

    fn attrs(&mut self, attrs: &[Attribute], resource: bool) {
        match self {
            Collect::Names {
                span,
                resource: res,
            } => {
                let set = if resource { res } else { span };
                for a in attrs {
                    if !set.contains(&a.key) {
                        set.insert(a.key.clone());
                    }
                }
            }
            Collect::Values { key, values, .. } => {
                for a in attrs.iter().filter(|a| a.key == *key) {
                    if let Some(v) = value_of(&a.value) {
                        values.insert(v);
                    }
                }
            }
        }
    }
}

impl QueryService {
    /// Services seen within the raw-span retention, sorted.
    pub async fn services(&self, tenant: &TenantId) -> Result<Vec<String>> {
        let ops = self.operations(tenant, None, None).await?;
        let set: BTreeSet<String> = ops.into_iter().map(|o| o.service).collect();
        Ok(set.into_iter().collect())
    }

    /// Operations, optionally of one service and one span kind, sorted.
    pub async fn operations(
        &self,
        tenant: &TenantId,
        service: Option<&str>,
        kind: Option<SpanKind>,
    ) -> Result<Vec<Operation>> {
        let retention = self.store.config().retention.min(self.config.max_range);
        let range = TimeRange::last(retention);
        self.check_range(&range)?;
        let seen = self
            .bounded(async {
                Ok(self
                    .store
                    .rollup_operations(tenant, range.start_unix_nano, range.end_unix_nano)
                    .await?)
            })
            .await?;
        let mut out: BTreeSet<Operation> = seen
            .into_iter()
            .map(|(service, name, kind)| Operation {
                service,
                name,
                kind: Some(SpanKind::from_i32(i32::from(kind))),
            })
            .collect();
        let known: BTreeSet<(String, String)> = out
            .iter()
            .map(|o| (o.service.clone(), o.name.clone()))
            .collect();
        for meta in self.store.blocks(tenant) {
            for (s, name) in &meta.stats.operations {
                if !known.contains(&(s.clone(), name.clone())) {
                    out.insert(Operation {
                        service: s.clone(),
                        name: name.clone(),
                        kind: None,
                    });
                }
            }
        }
        Ok(out
            .into_iter()
            .filter(|o| service.is_none_or(|s| s == o.service))
            .filter(|o| kind.is_none_or(|k| o.kind == Some(k)))
            .collect())
    }

    /// Attribute names seen in a range.
    pub async fn tag_names(&self, tenant: &TenantId, range: &TimeRange) -> Result<TagNames> {
        self.check_range(range)?;
        let mut collect = Collect::Names {
            span: BTreeSet::new(),
            resource: BTreeSet::new(),
        };
        let truncated = self
            .bounded(self.scan_tags(tenant, range, &mut collect))
            .await?;
        let Collect::Names { span, resource } = collect else {
            unreachable!("collect kind does not change")
        };
        Ok(TagNames {
            span: span.into_iter().collect(),
            resource: resource.into_iter().collect(),
            truncated,
        })
    }

    /// Values of one attribute (span or resource) seen in a range, at most `limit`.
    pub async fn tag_values(
        &self,
        tenant: &TenantId,
        key: &str,
        range: &TimeRange,
        limit: usize,
    ) -> Result<TagValues> {
        self.check_range(range)?;
        if let Some(values) = self.intrinsic_values(tenant, key).await? {
            return Ok(values);
        }
        let mut collect = Collect::Values {
            key,
            values: BTreeSet::new(),
            limit,
        };
        let scan_truncated = self
            .bounded(self.scan_tags(tenant, range, &mut collect))
            .await?;
        let Collect::Values { values, .. } = collect else {
            unreachable!("collect kind does not change")
        };
        let truncated = scan_truncated || values.len() > limit;
        Ok(TagValues {
            values: values.into_iter().take(limit).collect(),
            truncated,
        })
    }

    /// Values of the span fields that act as tags.
    async fn intrinsic_values(&self, tenant: &TenantId, key: &str) -> Result<Option<TagValues>> {
        let strings = |list: &[&str]| TagValues {
            values: list
                .iter()
                .map(|v| TagValue {
                    kind: ValueKind::String,
                    value: (*v).to_owned(),
                })
                .collect(),
            truncated: false,
        };
        Ok(Some(match key {
            "span.kind" | "kind" => strings(&[
                "client",
                "consumer",
                "internal",
                "producer",
                "server",
                "unspecified",
            ]),
            "status" | "otel.status_code" => strings(&["error", "ok", "unset"]),
            "error" => TagValues {
                values: vec![TagValue {
                    kind: ValueKind::Bool,
                    value: "true".into(),
                }],
                truncated: false,
            },
            "name" => {
                let names: BTreeSet<String> = self
                    .operations(tenant, None, None)
                    .await?
                    .into_iter()
                    .map(|o| o.name)
                    .collect();
                TagValues {
                    values: names
                        .into_iter()
                        .map(|value| TagValue {
                            kind: ValueKind::String,
                            value,
                        })
                        .collect(),
                    truncated: false,
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Feeds attributes of heads and the newest blocks in range to `collect`; true when it stopped early.
    async fn scan_tags(
        &self,
        tenant: &TenantId,
        range: &TimeRange,
        collect: &mut Collect<'_>,
    ) -> Result<bool> {
        let budget = self.config.max_tag_scan_spans;
        let mut scanned = 0usize;
        let in_range = |t: u64| (range.start_unix_nano..=range.end_unix_nano).contains(&t);
        for head in self.store.heads(tenant) {
            head.visit_traces(|_, spans| {
                for s in spans.iter().filter(|s| in_range(s.start_unix_nano)) {
                    scanned += 1;
                    collect.attrs(&s.attributes, false);
                    collect.attrs(&s.resource.attributes, true);
                }
            });
        }
        let mut blocks = self.store.blocks(tenant);
        blocks.retain(|b| {
            b.stats.max_end_unix_nano >= range.start_unix_nano
                && b.stats.min_start_unix_nano <= range.end_unix_nano
        });
        blocks.sort_by_key(|b| std::cmp::Reverse(b.stats.max_end_unix_nano));
        let mut columns = vec![col::START, col::ATTRIBUTES, col::RESOURCE_ATTRIBUTES];
        columns.extend(HOT_ATTRS.iter().map(|h| h.column));
        for meta in blocks {
            // Names are in the block's stats; no need to read it.
            if let (Collect::Names { span, resource }, Some(span_keys), Some(resource_keys)) = (
                &mut *collect,
                &meta.stats.span_attribute_keys,
                &meta.stats.resource_attribute_keys,
            ) {
                span.extend(span_keys.iter().cloned());
                resource.extend(resource_keys.iter().cloned());
                continue;
            }
            if scanned >= budget || collect.full() {
                return Ok(true);
            }
            let request = ScanRequest {
                columns: &columns,
                start_range: Some((range.start_unix_nano, range.end_unix_nano)),
                batch_rows: 8192,
                filter: None,
                row_groups: None,
            };
            let stream = block::scan(
                self.store.objects(),
                &meta.data_path(),
                Some(meta.size_bytes),
                request,
            )
            .await;
            let mut stream = match stream {
                Ok(s) => s,
                Err(error) => {
                    tracing::warn!(block = %meta.id, %error, "tag scan skipped an unreadable block");
                    continue;
                }
            };
            while let Some(batch) = stream.try_next().await? {
                scanned += batch.num_rows();
                collect_batch(&batch, collect)?;
                if scanned >= budget || collect.full() {
                    return Ok(true);
                }
            }
        }
        Ok(collect.full())
    }
}

/// Adds one scanned batch's attributes (generic lists and dedicated columns) to `collect`.
fn collect_batch(batch: &arrow::array::RecordBatch, collect: &mut Collect<'_>) -> Result<()> {
    use arrow::array::Array;
    let span = Attrs::of(batch, col::ATTRIBUTES)?;
    let resource = Attrs::of(batch, col::RESOURCE_ATTRIBUTES)?;
    for (attrs, is_resource) in [(&span, false), (&resource, true)] {
        let rows = attrs.keys.len();
        for j in 0..rows {
            if attrs.types.value(j) == tag::DEDICATED {
                continue;
            }
            let key = attrs.keys.value(j);
            match collect {
                Collect::Names { span, resource } => {
                    let set = if is_resource { resource } else { span };
                    if !set.contains(key) {
                        set.insert(key.to_owned());
                    }
                }
                Collect::Values {
                    key: want, values, ..
                } => {
                    if key != *want {
                        continue;
                    }
                    let value = match attrs.types.value(j) {
                        tag::STR if attrs.strs.value(j).len() <= MAX_VALUE_LEN => {
                            Some((ValueKind::String, attrs.strs.value(j).to_owned()))
                        }
                        tag::INT => Some((ValueKind::Int, attrs.ints.value(j).to_string())),
                        tag::DOUBLE => {
                            Some((ValueKind::Double, attrs.doubles.value(j).to_string()))
                        }
                        tag::BOOL => Some((ValueKind::Bool, attrs.bools.value(j).to_string())),
                        _ => None,
                    };
                    if let Some((kind, value)) = value {
                        values.insert(TagValue { kind, value });
                    }
                }
            }
        }
    }
    for hot in HOT_ATTRS.iter() {
        let present: Box<dyn Iterator<Item = TagValue>> = match hot.ty {
            HotType::Str => {
                let a = strings(batch, hot.column)?;
                if a.null_count() == a.len() {
                    continue;
                }
                Box::new(
                    a.iter()
                        .flatten()
                        .filter(|v| v.len() <= MAX_VALUE_LEN)
                        .map(|v| TagValue {
                            kind: ValueKind::String,
                            value: v.to_owned(),
                        }),
                )
            }
            HotType::Int => {
                let a = i64s(batch, hot.column)?;
                if a.null_count() == a.len() {
                    continue;
                }
                Box::new(a.iter().flatten().map(|v| TagValue {
                    kind: ValueKind::Int,
                    value: v.to_string(),
                }))
            }
        };
        match collect {
            Collect::Names { span, .. } => {
                span.insert(hot.key.to_owned());
            }
            Collect::Values { key, values, .. } => {
                if *key == hot.key {
                    values.extend(present);
                }
            }
        }
    }
    Ok(())
}
