import type { CompactTrace } from '../src/trace/compact';

export interface SpecSpan {
  id: string;
  /** Parent id: an id in the list, or any other string for a missing parent. */
  parent?: string;
  start: number;
  dur: number;
  svc?: string;
  name?: string;
  kind?: number;
  status?: number;
}

/** Builds a compact trace from a readable span list (parents resolved by id, like the server). */
export function compact(spans: SpecSpan[], opts: { parentIndex?: number[] } = {}): CompactTrace {
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const si = (s: string) => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const ids = spans.map((s) => s.id);
  const idIndex = new Map<string, number>();
  ids.forEach((id, k) => idIndex.has(id) || idIndex.set(id, k));
  const parent = spans.map((s, k) => {
    if (opts.parentIndex) return opts.parentIndex[k];
    return s.parent === undefined ? -1 : (idIndex.get(s.parent) ?? -1);
  });
  return {
    traceId: '0'.repeat(31) + '1',
    startTimeUnixNano: '1700000000000000000',
    strings,
    spans: {
      spanId: ids,
      parent,
      parentSpanId: spans.map((s, k) => (parent[k] === -1 && s.parent ? s.parent : '')),
      service: spans.map((s) => si(s.svc ?? 'svc')),
      name: spans.map((s) => si(s.name ?? s.id)),
      kind: spans.map((s) => s.kind ?? 1),
      status: spans.map((s) => s.status ?? 0),
      start: spans.map((s) => s.start),
      duration: spans.map((s) => s.dur),
    },
    warnings: [],
  };
}
