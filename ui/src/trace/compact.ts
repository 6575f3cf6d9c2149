// The compact trace format served by `GET /api/v1/traces/{id}?format=compact`, and a
// converter from the OTLP JSON shape (used when a server answers without the compact form).

export const KIND_UNSPECIFIED = 0;
export const KIND_INTERNAL = 1;
export const KIND_SERVER = 2;
export const KIND_CLIENT = 3;
export const KIND_PRODUCER = 4;
export const KIND_CONSUMER = 5;

export const STATUS_UNSET = 0;
export const STATUS_OK = 1;
export const STATUS_ERROR = 2;

export const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS_NAMES = ['unset', 'ok', 'error'];

export interface CompactSpans {
  spanId: string[];
  parent: number[];
  parentSpanId: string[];
  service: number[];
  name: number[];
  kind: number[];
  status: number[];
  start: number[];
  duration: number[];
}

export interface CompactTrace {
  traceId: string;
  /** Earliest span start, unix nanoseconds as a decimal string. */
  startTimeUnixNano: string;
  strings: string[];
  spans: CompactSpans;
  warnings: string[];
}

const COLUMNS: (keyof CompactSpans)[] = [
  'spanId',
  'parent',
  'parentSpanId',
  'service',
  'name',
  'kind',
  'status',
  'start',
  'duration',
];

/** Checks the shape of a compact answer; throws an Error naming the first problem. */
export function validateCompact(x: unknown): CompactTrace {
  const t = x as CompactTrace;
  if (!t || typeof t !== 'object') throw new Error('compact trace: not an object');
  if (!Array.isArray(t.strings)) throw new Error('compact trace: missing strings');
  if (!t.spans || typeof t.spans !== 'object') throw new Error('compact trace: missing spans');
  const n = Array.isArray(t.spans.spanId) ? t.spans.spanId.length : -1;
  if (n < 0) throw new Error('compact trace: missing spans.spanId');
  for (const c of COLUMNS) {
    const col = t.spans[c];
    if (!Array.isArray(col)) throw new Error(`compact trace: missing spans.${c}`);
    if (col.length !== n) throw new Error(`compact trace: spans.${c} has ${col.length} entries, expected ${n}`);
  }
  if (typeof t.startTimeUnixNano !== 'string') t.startTimeUnixNano = String(t.startTimeUnixNano ?? '0');
  if (!Array.isArray(t.warnings)) t.warnings = [];
  return t;
}

// ---- OTLP JSON ----

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
export interface OtlpEvent {
  timeUnixNano?: string;
  name?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}
export interface OtlpLink {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}
export interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  traceState?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  events?: OtlpEvent[];
  droppedEventsCount?: number;
  links?: OtlpLink[];
  droppedLinksCount?: number;
  status?: { code?: number | string; message?: string };
  flags?: number;
}
export interface OtlpScopeSpans {
  scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] };
  schemaUrl?: string;
  spans?: OtlpSpan[];
}
export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[]; droppedAttributesCount?: number };
  schemaUrl?: string;
  scopeSpans?: OtlpScopeSpans[];
}
export interface OtlpTracesData {
  resourceSpans?: OtlpResourceSpans[];
  warnings?: string[];
}

/** Nanosecond decimal string minus a base, as a float (exact below 2^53 ns ~ 104 days apart). */
export function nanoDiff(a: string, base: bigint): number {
  try {
    return Number(BigInt(a || '0') - base);
  } catch {
    return 0;
  }
}

const KIND_BY_NAME: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_BY_NAME: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

export function kindNumber(k: number | string | undefined): number {
  if (typeof k === 'number') return k;
  if (typeof k === 'string') return KIND_BY_NAME[k] ?? (Number(k) || 0);
  return 0;
}
export function statusNumber(k: number | string | undefined): number {
  if (typeof k === 'number') return k;
  if (typeof k === 'string') return STATUS_BY_NAME[k] ?? (Number(k) || 0);
  return 0;
}

export function serviceOf(rs: OtlpResourceSpans): string {
  for (const kv of rs.resource?.attributes ?? []) {
    if (kv.key === 'service.name' && kv.value?.stringValue !== undefined) return kv.value.stringValue;
  }
  return 'unknown_service';
}

/** Converts an OTLP JSON trace to the compact format. */
export function compactFromOtlp(data: OtlpTracesData, traceId: string): CompactTrace {
  const flat: { svc: string; span: OtlpSpan }[] = [];
  let min: bigint | null = null;
  for (const rs of data.resourceSpans ?? []) {
    const svc = serviceOf(rs);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        flat.push({ svc, span });
        const s = BigInt(span.startTimeUnixNano || '0');
        if (min === null || s < min) min = s;
      }
    }
  }
  const base = min ?? 0n;
  const strings: string[] = [];
  const stringIdx = new Map<string, number>();
  const intern = (s: string) => {
    let i = stringIdx.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIdx.set(s, i);
    }
    return i;
  };
  const n = flat.length;
  const spans: CompactSpans = {
    spanId: new Array(n),
    parent: new Array(n),
    parentSpanId: new Array(n),
    service: new Array(n),
    name: new Array(n),
    kind: new Array(n),
    status: new Array(n),
    start: new Array(n),
    duration: new Array(n),
  };
  const byId = new Map<string, number>();
  flat.forEach(({ svc, span }, i) => {
    const id = (span.spanId ?? '').toLowerCase();
    spans.spanId[i] = id;
    if (!byId.has(id)) byId.set(id, i);
    spans.service[i] = intern(svc);
    spans.name[i] = intern(span.name ?? '');
    spans.kind[i] = kindNumber(span.kind);
    spans.status[i] = statusNumber(span.status?.code);
    const s = nanoDiff(span.startTimeUnixNano ?? '0', base);
    const e = nanoDiff(span.endTimeUnixNano ?? span.startTimeUnixNano ?? '0', base);
    spans.start[i] = s;
    spans.duration[i] = Math.max(0, e - s);
  });
  flat.forEach(({ span }, i) => {
    const pid = (span.parentSpanId ?? '').toLowerCase();
    const p = pid ? byId.get(pid) : undefined;
    if (p === undefined || p === i) {
      spans.parent[i] = -1;
      spans.parentSpanId[i] = pid;
    } else {
      spans.parent[i] = p;
      spans.parentSpanId[i] = '';
    }
  });
  return {
    traceId,
    startTimeUnixNano: base.toString(),
    strings,
    spans,
    warnings: data.warnings ?? [],
  };
}

/** Finds one span (with its resource and scope) in OTLP JSON. */
export function findOtlpSpan(
  data: OtlpTracesData,
  spanId: string,
): { resource: OtlpResourceSpans; scope: OtlpScopeSpans; span: OtlpSpan } | null {
  const id = spanId.toLowerCase();
  for (const rs of data.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        if ((span.spanId ?? '').toLowerCase() === id) return { resource: rs, scope: ss, span };
      }
    }
  }
  return null;
}

/** Renders an OTLP AnyValue as display text. */
export function anyValueText(v: OtlpAnyValue | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return '[' + (v.arrayValue.values ?? []).map(anyValueJson).join(', ') + ']';
  if (v.kvlistValue)
    return '{' + (v.kvlistValue.values ?? []).map((kv) => `${JSON.stringify(kv.key)}: ${anyValueJson(kv.value)}`).join(', ') + '}';
  return '';
}

function anyValueJson(v: OtlpAnyValue | undefined): string {
  if (v?.stringValue !== undefined) return JSON.stringify(v.stringValue);
  return anyValueText(v);
}
