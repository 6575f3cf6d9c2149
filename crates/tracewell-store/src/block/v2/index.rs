//! `index.bin` of a v2 block: what the rows refer to (resource, scope and attribute-shape tables, the dynamic
//! attribute columns), the trace index, and per-row-group start ranges and value filters. Encoded as protobuf
//! (prost), compressed with zstd (frame checksum on); [`BlockIndex::decode`] checks every reference, so a
//! damaged file is an error and never a panic.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use parquet::bloom_filter::Sbbf;
use prost::Message;
use tracewell_model::otlp::{attrs_from_otlp, attrs_to_otlp};
use tracewell_model::{Resource, Scope, TraceId};

use super::schema::DynType;
use crate::block::trace_index::TraceIndex;
use crate::block::v1::schema::HOT_ATTRS;

/// Version of the index encoding.
const INDEX_VERSION: u32 = 1;

/// Where one attribute of a span shape lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The next entry of the span's `other_attributes` list.
    Other,
    /// The dedicated column `HOT_ATTRS[i]`.
    Hot(usize),
    /// Dynamic column `i` of the block.
    Dynamic(usize),
}

impl Placement {
    fn encode(self) -> u32 {
        match self {
            Placement::Other => 0,
            Placement::Hot(i) => 1 + i as u32,
            Placement::Dynamic(i) => 1 + (HOT_ATTRS.len() + i) as u32,
        }
    }

    fn decode(code: u32, dynamic: usize) -> Option<Self> {
        let code = code as usize;
        Some(match code {
            0 => Placement::Other,
            c if c <= HOT_ATTRS.len() => Placement::Hot(c - 1),
            c if c <= HOT_ATTRS.len() + dynamic => Placement::Dynamic(c - 1 - HOT_ATTRS.len()),
            _ => return None,
        })
    }
}

/// One row group: its rows, start-time range and value filter.
#[derive(Debug, Clone)]
pub struct RowGroupEntry {
    pub first_row: u64,
    pub rows: u64,
    pub min_start: u64,
    pub max_start: u64,
    /// Hashes of `(attribute key, value as text)` of span and resource attributes, and of the span names.
    pub values: Option<Sbbf>,
}

/// A decoded `index.bin`.
#[derive(Debug, Clone, Default)]
pub struct BlockIndex {
    pub resources: Vec<Arc<Resource>>,
    pub scopes: Vec<Arc<Scope>>,
    pub shapes: Vec<Vec<Placement>>,
    pub dynamic: Vec<(String, DynType)>,
    pub traces: TraceIndex,
    pub row_groups: Vec<RowGroupEntry>,
}

/// Key under which span names go into value filters (no attribute key can be empty).
pub const NAME_KEY: &str = "";

/// The bytes a value filter hashes for `key` = `text`.
pub fn filter_entry(key: &str, text: &str, out: &mut Vec<u8>) {
    filter_entry_key(key, out);
    out.extend_from_slice(text.as_bytes());
}

/// Starts the bytes of a value-filter entry for `key`: the value's text is appended by the caller.
pub fn filter_entry_key(key: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(key.as_bytes());
    out.push(0);
}

impl RowGroupEntry {
    /// Whether the row group may hold `key` = one of `texts` (true without a filter).
    pub fn may_hold(&self, key: &str, texts: &[String]) -> bool {
        let Some(filter) = &self.values else {
            return true;
        };
        let mut entry = Vec::new();
        texts.iter().any(|t| {
            filter_entry(key, t, &mut entry);
            filter.check(entry.as_slice())
        })
    }
}

#[derive(Clone, PartialEq, Message)]
struct IndexFile {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(message, repeated, tag = "2")]
    resources: Vec<ResourceEntry>,
    #[prost(message, repeated, tag = "3")]
    scopes: Vec<ScopeEntry>,
    #[prost(message, repeated, tag = "4")]
    shapes: Vec<ShapeEntry>,
    /// Dynamic column names, in column order.
    #[prost(string, repeated, tag = "5")]
    dynamic_columns: Vec<String>,
    #[prost(message, optional, tag = "6")]
    traces: Option<TracesEntry>,
    #[prost(message, repeated, tag = "7")]
    row_groups: Vec<RowGroupMessage>,
}

#[derive(Clone, PartialEq, Message)]
struct ResourceEntry {
    #[prost(message, optional, tag = "1")]
    resource: Option<OtlpResource>,
    #[prost(string, tag = "2")]
    schema_url: String,
}

#[derive(Clone, PartialEq, Message)]
struct ScopeEntry {
    #[prost(message, optional, tag = "1")]
    scope: Option<InstrumentationScope>,
    #[prost(string, tag = "2")]
    schema_url: String,
}

#[derive(Clone, PartialEq, Message)]
struct ShapeEntry {
    #[prost(uint32, repeated, tag = "1")]
    placements: Vec<u32>,
}

/// The trace index, column-wise; starts are relative to `base_start`, ends to the trace's start.
#[derive(Clone, PartialEq, Message)]
struct TracesEntry {
    #[prost(bytes = "vec", tag = "1")]
    ids: Vec<u8>,
    #[prost(uint64, tag = "2")]
    base_start: u64,
    #[prost(uint64, repeated, tag = "3")]
    start: Vec<u64>,
    #[prost(uint64, repeated, tag = "4")]
    duration: Vec<u64>,
    #[prost(uint32, repeated, tag = "5")]
    spans: Vec<u32>,
    #[prost(uint32, repeated, tag = "6")]
    errors: Vec<u32>,
    /// String number + 1; 0 = none.
    #[prost(uint32, repeated, tag = "7")]
    root_service: Vec<u32>,
    #[prost(uint32, repeated, tag = "8")]
    root_name: Vec<u32>,
    /// Service entries per trace.
    #[prost(uint32, repeated, tag = "9")]
    service_counts: Vec<u32>,
    #[prost(uint32, repeated, tag = "10")]
    service_ids: Vec<u32>,
    #[prost(uint32, repeated, tag = "11")]
    service_spans: Vec<u32>,
    #[prost(uint32, repeated, tag = "12")]
    service_errors: Vec<u32>,
    #[prost(string, repeated, tag = "13")]
    strings: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct RowGroupMessage {
    #[prost(uint64, tag = "1")]
    rows: u64,
    #[prost(uint64, tag = "2")]
    min_start: u64,
    #[prost(uint64, tag = "3")]
    max_start: u64,
    /// The split-block bloom filter's bitset; empty when the row group has no filter.
    #[prost(bytes = "vec", tag = "4")]
    values: Vec<u8>,
}

fn plus_one(s: u32) -> u32 {
    if s == crate::block::trace_index::NO_STRING {
        0
    } else {
        s + 1
    }
}

fn minus_one(s: u32) -> u32 {
    s.checked_sub(1)
        .unwrap_or(crate::block::trace_index::NO_STRING)
}

impl BlockIndex {
    /// Encodes the index as `index.bin`.
    pub fn encode(&self, zstd_level: i32) -> std::io::Result<Bytes> {
        let t = &self.traces;
        let base_start = t.start.iter().copied().min().unwrap_or(0);
        let traces = TracesEntry {
            ids: t.ids.iter().flat_map(|id| id.0).collect(),
            base_start,
            start: t.start.iter().map(|s| s - base_start).collect(),
            duration: t
                .end
                .iter()
                .zip(&t.start)
                .map(|(e, s)| e.saturating_sub(*s))
                .collect(),
            spans: t.spans.clone(),
            errors: t.errors.clone(),
            root_service: t.root_service.iter().copied().map(plus_one).collect(),
            root_name: t.root_name.iter().copied().map(plus_one).collect(),
            service_counts: t.service_offsets.windows(2).map(|w| w[1] - w[0]).collect(),
            service_ids: t.services.iter().map(|e| e.0).collect(),
            service_spans: t.services.iter().map(|e| e.1).collect(),
            service_errors: t.services.iter().map(|e| e.2).collect(),
            strings: t.strings.clone(),
        };
        let file = IndexFile {
            version: INDEX_VERSION,
            resources: self
                .resources
                .iter()
                .map(|r| ResourceEntry {
                    resource: Some(OtlpResource {
                        attributes: attrs_to_otlp(&r.attributes),
                        dropped_attributes_count: r.dropped_attributes_count,
                        entity_refs: Vec::new(),
                    }),
                    schema_url: r.schema_url.clone(),
                })
                .collect(),
            scopes: self
                .scopes
                .iter()
                .map(|s| ScopeEntry {
                    scope: Some(InstrumentationScope {
                        name: s.name.clone(),
                        version: s.version.clone(),
                        attributes: attrs_to_otlp(&s.attributes),
                        dropped_attributes_count: s.dropped_attributes_count,
                    }),
                    schema_url: s.schema_url.clone(),
                })
                .collect(),
            shapes: self
                .shapes
                .iter()
                .map(|s| ShapeEntry {
                    placements: s.iter().map(|p| p.encode()).collect(),
                })
                .collect(),
            dynamic_columns: self
                .dynamic
                .iter()
                .map(|(k, ty)| super::schema::dynamic_name(k, *ty))
                .collect(),
            traces: Some(traces),
            row_groups: self
                .row_groups
                .iter()
                .map(|g| {
                    let mut values = Vec::new();
                    if let Some(filter) = &g.values {
                        // Writing to a Vec cannot fail.
                        let _ = filter.write_bitset(&mut values);
                    }
                    RowGroupMessage {
                        rows: g.rows,
                        min_start: g.min_start,
                        max_start: g.max_start,
                        values,
                    }
                })
                .collect(),
        };
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), zstd_level)?;
        encoder.include_checksum(true)?;
        std::io::Write::write_all(&mut encoder, &file.encode_to_vec())?;
        Ok(Bytes::from(encoder.finish()?))
    }

    /// Decodes and checks `index.bin`; at most `max_bytes` of decompressed index are accepted.
    pub fn decode(data: &[u8], max_bytes: usize) -> Result<Self, String> {
        let mut raw = Vec::new();
        let decoder = zstd::stream::Decoder::new(data).map_err(|e| format!("index: {e}"))?;
        std::io::Read::read_to_end(
            &mut std::io::Read::take(decoder, max_bytes as u64 + 1),
            &mut raw,
        )
        .map_err(|e| format!("index: {e}"))?;
        if raw.len() > max_bytes {
            return Err(format!("index is larger than {max_bytes} bytes"));
        }
        let file = IndexFile::decode(raw.as_slice()).map_err(|e| format!("index: {e}"))?;
        if file.version != INDEX_VERSION {
            return Err(format!(
                "index version {} is not {INDEX_VERSION}",
                file.version
            ));
        }
        let dynamic = file
            .dynamic_columns
            .iter()
            .map(|name| {
                super::schema::parse_dynamic_name(name)
                    .map(|(k, ty)| (k.to_owned(), ty))
                    .ok_or_else(|| format!("index names a bad dynamic column {name:?}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let shapes = file
            .shapes
            .iter()
            .map(|s| {
                s.placements
                    .iter()
                    .map(|&code| {
                        Placement::decode(code, dynamic.len())
                            .ok_or_else(|| format!("attribute shape refers to column {code}"))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .collect::<Result<Vec<_>, String>>()?;
        let resources = file
            .resources
            .into_iter()
            .map(|r| {
                let otlp = r.resource.unwrap_or_default();
                Arc::new(Resource::new(
                    attrs_from_otlp(otlp.attributes),
                    otlp.dropped_attributes_count,
                    r.schema_url,
                ))
            })
            .collect();
        let scopes = file
            .scopes
            .into_iter()
            .map(|s| {
                let otlp = s.scope.unwrap_or_default();
                Arc::new(Scope {
                    name: otlp.name,
                    version: otlp.version,
                    attributes: attrs_from_otlp(otlp.attributes),
                    dropped_attributes_count: otlp.dropped_attributes_count,
                    schema_url: s.schema_url,
                })
            })
            .collect();
        let traces = decode_traces(file.traces.unwrap_or_default())?;
        let mut row_groups = Vec::with_capacity(file.row_groups.len());
        let mut first_row = 0u64;
        for g in file.row_groups {
            let values = match g.values.len() {
                0 => None,
                n if n % 32 == 0 => Some(Sbbf::new(&g.values)),
                n => {
                    return Err(format!(
                        "a value filter has {n} bytes, not a multiple of 32"
                    ))
                }
            };
            row_groups.push(RowGroupEntry {
                first_row,
                rows: g.rows,
                min_start: g.min_start,
                max_start: g.max_start,
                values,
            });
            first_row += g.rows;
        }
        let rows: u64 = traces.spans.iter().map(|&s| u64::from(s)).sum();
        if rows != first_row {
            return Err(format!(
                "index row groups hold {first_row} rows, its traces {rows}"
            ));
        }
        Ok(Self {
            resources,
            scopes,
            shapes,
            dynamic,
            traces,
            row_groups,
        })
    }
}

fn decode_traces(t: TracesEntry) -> Result<TraceIndex, String> {
    if !t.ids.len().is_multiple_of(16) {
        return Err("trace ids are not 16 bytes each".into());
    }
    let n = t.ids.len() / 16;
    let lengths = [
        t.start.len(),
        t.duration.len(),
        t.spans.len(),
        t.errors.len(),
        t.root_service.len(),
        t.root_name.len(),
        t.service_counts.len(),
    ];
    if lengths.iter().any(|&l| l != n) {
        return Err("trace index columns differ in length".into());
    }
    let entries = t.service_ids.len();
    if t.service_spans.len() != entries || t.service_errors.len() != entries {
        return Err("trace service columns differ in length".into());
    }
    let mut first_row = Vec::with_capacity(n);
    let mut row = 0u32;
    for &spans in &t.spans {
        first_row.push(row);
        row = row
            .checked_add(spans)
            .ok_or("trace index counts more than 2^32 rows")?;
    }
    let mut service_offsets = Vec::with_capacity(n + 1);
    let mut offset = 0u32;
    service_offsets.push(0);
    for &c in &t.service_counts {
        offset = offset.checked_add(c).ok_or("service offsets overflow")?;
        service_offsets.push(offset);
    }
    let index = TraceIndex {
        ids: t
            .ids
            .chunks_exact(16)
            .map(|c| TraceId(c.try_into().unwrap_or([0; 16])))
            .collect(),
        first_row,
        start: t
            .start
            .iter()
            .map(|s| s.saturating_add(t.base_start))
            .collect(),
        end: t
            .start
            .iter()
            .zip(&t.duration)
            .map(|(s, d)| s.saturating_add(t.base_start).saturating_add(*d))
            .collect(),
        spans: t.spans,
        errors: t.errors,
        root_service: t.root_service.into_iter().map(minus_one).collect(),
        root_name: t.root_name.into_iter().map(minus_one).collect(),
        service_offsets,
        services: t
            .service_ids
            .into_iter()
            .zip(t.service_spans)
            .zip(t.service_errors)
            .map(|((s, n), e)| (s, n, e))
            .collect(),
        strings: t.strings,
    };
    index.validate()?;
    Ok(index)
}
