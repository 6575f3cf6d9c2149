//! The trace index of a block: its trace ids, sorted, each with the rows holding its spans and a summary (start,
//! end, span and error counts, root span, spans and errors per service). v2 blocks persist it in `index.bin`;
//! for v1 blocks readers build it with [`TraceIndexBuilder`] from a column scan.

use crate::fast_hash::FastHashMap as HashMap;
use std::ops::Range;

use tracewell_model::TraceId;

/// Marks an absent string (no root span).
pub const NO_STRING: u32 = u32::MAX;

/// The trace index of one block; a trace's spans are consecutive rows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TraceIndex {
    pub ids: Vec<TraceId>,
    /// Block row of each trace's first span.
    pub first_row: Vec<u32>,
    pub start: Vec<u64>,
    pub end: Vec<u64>,
    pub spans: Vec<u32>,
    pub errors: Vec<u32>,
    /// String number of the root span's service and name, or [`NO_STRING`].
    pub root_service: Vec<u32>,
    pub root_name: Vec<u32>,
    /// `service_offsets[i]..service_offsets[i + 1]` are trace `i`'s entries in `services`.
    pub service_offsets: Vec<u32>,
    /// `(service string, spans, errors)`.
    pub services: Vec<(u32, u32, u32)>,
    pub strings: Vec<String>,
}

impl TraceIndex {
    pub fn position(&self, id: &TraceId) -> Option<usize> {
        self.ids.binary_search(id).ok()
    }

    /// The block rows holding a trace's spans.
    pub fn rows(&self, id: &TraceId) -> Option<Range<usize>> {
        let pos = self.position(id)?;
        let first = self.first_row[pos] as usize;
        Some(first..first + self.spans[pos] as usize)
    }

    pub fn string(&self, i: u32) -> Option<&str> {
        (i != NO_STRING).then(|| self.strings.get(i as usize).map(String::as_str))?
    }

    /// The `(service, spans, errors)` entries of the trace at `pos`.
    pub fn services_of(&self, pos: usize) -> &[(u32, u32, u32)] {
        let (from, to) = (self.service_offsets[pos], self.service_offsets[pos + 1]);
        &self.services[from as usize..to as usize]
    }

    pub fn approx_bytes(&self) -> usize {
        self.ids.len() * (16 + 4 + 8 + 8 + 4 + 4 + 4 + 4 + 4)
            + self.services.len() * 12
            + self.strings.iter().map(|s| s.len() + 24).sum::<usize>()
    }

    /// Checks the invariants readers rely on (sorted ids, equal lengths, offsets and strings in range).
    pub fn validate(&self) -> Result<(), String> {
        let n = self.ids.len();
        let lengths = [
            self.first_row.len(),
            self.start.len(),
            self.end.len(),
            self.spans.len(),
            self.errors.len(),
            self.root_service.len(),
            self.root_name.len(),
        ];
        if lengths.iter().any(|&l| l != n) || self.service_offsets.len() != n + 1 {
            return Err("trace index columns differ in length".into());
        }
        if self.ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err("trace index ids are not sorted and distinct".into());
        }
        if self.service_offsets.first() != Some(&0)
            || self.service_offsets.windows(2).any(|w| w[0] > w[1])
            || self.service_offsets.last().map(|&l| l as usize) != Some(self.services.len())
        {
            return Err("trace index service offsets are invalid".into());
        }
        let strings = self.strings.len() as u32;
        let bad_string = |&s: &u32| s != NO_STRING && s >= strings;
        if self
            .root_service
            .iter()
            .chain(&self.root_name)
            .any(bad_string)
            || self.services.iter().any(|e| e.0 >= strings)
        {
            return Err("trace index refers to a missing string".into());
        }
        Ok(())
    }
}

/// Builds a [`TraceIndex`] from spans in block order (sorted by trace id).
#[derive(Default)]
pub struct TraceIndexBuilder {
    index: TraceIndex,
    string_ids: HashMap<String, u32>,
    /// Services of the current trace.
    current: Vec<(u32, u32, u32)>,
    row: u32,
}

/// What the index needs of one span.
#[derive(Debug, Clone, Copy)]
pub struct IndexedSpan<'a> {
    pub trace_id: TraceId,
    pub start: u64,
    pub end: u64,
    pub error: bool,
    pub service: &'a str,
    /// The span's name when it is a root (no parent).
    pub root_name: Option<&'a str>,
}

impl TraceIndexBuilder {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.index.strings.len() as u32;
        self.index.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), id);
        id
    }

    fn close_trace(&mut self) {
        if self.index.ids.is_empty() {
            return;
        }
        self.current.sort_unstable_by_key(|e| e.0);
        self.index.services.append(&mut self.current);
        self.index
            .service_offsets
            .push(self.index.services.len() as u32);
    }

    /// Adds the next row of the block.
    pub fn push(&mut self, span: IndexedSpan<'_>) {
        if self.index.ids.last() != Some(&span.trace_id) {
            if self.index.service_offsets.is_empty() {
                self.index.service_offsets.push(0);
            } else {
                self.close_trace();
            }
            let ix = &mut self.index;
            ix.ids.push(span.trace_id);
            ix.first_row.push(self.row);
            ix.start.push(u64::MAX);
            ix.end.push(0);
            ix.spans.push(0);
            ix.errors.push(0);
            ix.root_service.push(NO_STRING);
            ix.root_name.push(NO_STRING);
        }
        self.row += 1;
        let service = self.intern(span.service);
        let root_name = span.root_name.map(|n| self.intern(n));
        let ix = &mut self.index;
        let t = ix.ids.len() - 1;
        ix.start[t] = ix.start[t].min(span.start);
        ix.end[t] = ix.end[t].max(span.end);
        ix.spans[t] += 1;
        ix.errors[t] += u32::from(span.error);
        if let (Some(name), NO_STRING) = (root_name, ix.root_service[t]) {
            ix.root_service[t] = service;
            ix.root_name[t] = name;
        }
        let error = u32::from(span.error);
        match self.current.iter_mut().find(|e| e.0 == service) {
            Some(e) => {
                e.1 += 1;
                e.2 += error;
            }
            None => self.current.push((service, 1, error)),
        }
    }

    pub fn finish(mut self) -> TraceIndex {
        self.close_trace();
        if self.index.service_offsets.is_empty() {
            self.index.service_offsets.push(0);
        }
        self.index
    }
}
