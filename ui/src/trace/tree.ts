// Span tree over the compact columns, held in typed arrays so that traces of a million spans
// stay cheap: children in CSR form (sorted by start), preorder, depth and subtree sizes.

import { STATUS_ERROR, type CompactTrace } from './compact';

export interface TraceTree {
  n: number;
  traceId: string;
  startTimeUnixNano: string;
  strings: string[];
  spanId: string[];
  /** Parent span id as sent when the parent is not in the trace, else "". */
  parentSpanId: string[];
  service: Int32Array;
  name: Int32Array;
  kind: Uint8Array;
  status: Uint8Array;
  /** Raw start, nanoseconds since startTimeUnixNano. */
  start: Float64Array;
  duration: Float64Array;
  /** Raw end (start + duration). */
  end: Float64Array;
  /** Parent index after sanitising (out-of-range and cycle links cut): -1 for roots. */
  parent: Int32Array;
  /** Children of span i are children[childOffset[i] .. childOffset[i+1]), ordered by start then index. */
  childOffset: Int32Array;
  children: Int32Array;
  /** Top-level spans ordered by start then index. */
  roots: Int32Array;
  /** Spans in depth-first preorder; pos is its inverse. */
  order: Int32Array;
  pos: Int32Array;
  depth: Int32Array;
  /** Spans in the subtree of i, i included. */
  size: Int32Array;
  maxDepth: number;
  /** 1 when the span names a parent that is not in the trace. */
  missingParent: Uint8Array;
  missingParentCount: number;
  /** Spans whose parent link was cut because it closed a cycle (or pointed at itself / out of range). */
  brokenLinks: number[];
  /** Latest span end. */
  endTime: number;
  errorCount: number;
  /** Service string indexes, by first appearance in preorder. */
  services: number[];
  warnings: string[];
}

export function childCount(t: TraceTree, i: number): number {
  return t.childOffset[i + 1] - t.childOffset[i];
}

export function childrenOf(t: TraceTree, i: number): Int32Array {
  return t.children.subarray(t.childOffset[i], t.childOffset[i + 1]);
}

export function buildTree(c: CompactTrace): TraceTree {
  const s = c.spans;
  const n = s.spanId.length;
  const start = new Float64Array(n);
  const duration = new Float64Array(n);
  const end = new Float64Array(n);
  const service = new Int32Array(n);
  const name = new Int32Array(n);
  const kind = new Uint8Array(n);
  const status = new Uint8Array(n);
  const parent = new Int32Array(n);
  const missingParent = new Uint8Array(n);
  const brokenLinks: number[] = [];
  let endTime = 0;
  let errorCount = 0;
  let missingParentCount = 0;
  const ns = c.strings.length;
  for (let i = 0; i < n; i++) {
    const st = +s.start[i] || 0;
    const du = Math.max(0, +s.duration[i] || 0);
    start[i] = st;
    duration[i] = du;
    end[i] = st + du;
    if (st + du > endTime) endTime = st + du;
    const sv = s.service[i] | 0;
    const nm = s.name[i] | 0;
    service[i] = sv >= 0 && sv < ns ? sv : -1;
    name[i] = nm >= 0 && nm < ns ? nm : -1;
    kind[i] = s.kind[i] | 0;
    status[i] = s.status[i] | 0;
    if (status[i] === STATUS_ERROR) errorCount++;
    let p = s.parent[i];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < -1 || p >= n || p === i) {
      if (p !== -1 && p !== undefined && p !== null) brokenLinks.push(i);
      p = -1;
    }
    parent[i] = p;
    if (p === -1 && s.parentSpanId[i]) {
      missingParent[i] = 1;
      missingParentCount++;
    }
  }

  // Cut cycles: walk up from every span not yet known to reach a root. A walk that meets a span
  // of its own walk has found a cycle; the link out of that span is cut, making it a root.
  const state = new Int32Array(n); // 0 unknown, >0 on walk number state, -1 reaches a root
  const path = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    const stamp = i + 1;
    let len = 0;
    let j = i;
    for (;;) {
      if (j === -1 || state[j] === -1) break;
      if (state[j] === stamp) {
        parent[j] = -1;
        brokenLinks.push(j);
        break;
      }
      state[j] = stamp;
      path[len++] = j;
      j = parent[j];
    }
    for (let k = 0; k < len; k++) state[path[k]] = -1;
  }

  // Children in CSR form.
  const childOffset = new Int32Array(n + 1);
  let rootCount = 0;
  for (let i = 0; i < n; i++) {
    if (parent[i] >= 0) childOffset[parent[i] + 1]++;
    else rootCount++;
  }
  for (let i = 0; i < n; i++) childOffset[i + 1] += childOffset[i];
  const fill = childOffset.slice(0, n);
  const children = new Int32Array(Math.max(0, n - rootCount));
  const roots = new Int32Array(rootCount);
  let r = 0;
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) children[fill[p]++] = i;
    else roots[r++] = i;
  }
  const byStart = (a: number, b: number) => start[a] - start[b] || a - b;
  const sortGroup = (g: Int32Array) => {
    for (let k = 1; k < g.length; k++) {
      if (byStart(g[k - 1], g[k]) > 0) {
        g.sort(byStart);
        return;
      }
    }
  };
  for (let i = 0; i < n; i++) {
    if (childOffset[i + 1] - childOffset[i] > 1) sortGroup(children.subarray(childOffset[i], childOffset[i + 1]));
  }
  sortGroup(roots);

  // Preorder, depth.
  const order = new Int32Array(n);
  const pos = new Int32Array(n);
  const depth = new Int32Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  let o = 0;
  let maxDepth = 0;
  for (let k = roots.length - 1; k >= 0; k--) stack[sp++] = roots[k];
  while (sp > 0) {
    const i = stack[--sp];
    pos[i] = o;
    order[o++] = i;
    const d = parent[i] >= 0 ? depth[parent[i]] + 1 : 0;
    depth[i] = d;
    if (d > maxDepth) maxDepth = d;
    for (let k = childOffset[i + 1] - 1; k >= childOffset[i]; k--) stack[sp++] = children[k];
  }
  const size = new Int32Array(n).fill(1);
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    if (parent[i] >= 0) size[parent[i]] += size[i];
  }

  const seen = new Uint8Array(ns);
  const services: number[] = [];
  for (let k = 0; k < n; k++) {
    const sv = service[order[k]];
    if (sv >= 0 && !seen[sv]) {
      seen[sv] = 1;
      services.push(sv);
    }
  }

  return {
    n,
    traceId: c.traceId,
    startTimeUnixNano: c.startTimeUnixNano,
    strings: c.strings,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    service,
    name,
    kind,
    status,
    start,
    duration,
    end,
    parent,
    childOffset,
    children,
    roots,
    order,
    pos,
    depth,
    size,
    maxDepth,
    missingParent,
    missingParentCount,
    brokenLinks,
    endTime,
    errorCount,
    services,
    warnings: c.warnings ?? [],
  };
}

export function serviceName(t: TraceTree, i: number): string {
  const s = t.service[i];
  return s >= 0 ? t.strings[s] : '?';
}

export function spanName(t: TraceTree, i: number): string {
  const s = t.name[i];
  return s >= 0 ? t.strings[s] : '?';
}

/** Index of a span by id (first one when ids repeat), -1 when absent. */
export function findSpan(t: TraceTree, spanId: string): number {
  const id = spanId.toLowerCase();
  return t.spanId.indexOf(id);
}

/** Spans of each service, and errors, in preorder of first appearance. */
export function serviceStats(t: TraceTree): { service: number; spans: number; errors: number }[] {
  const spans = new Map<number, { service: number; spans: number; errors: number }>();
  for (const s of t.services) spans.set(s, { service: s, spans: 0, errors: 0 });
  for (let i = 0; i < t.n; i++) {
    const e = spans.get(t.service[i]);
    if (!e) continue;
    e.spans++;
    if (t.status[i] === STATUS_ERROR) e.errors++;
  }
  return [...spans.values()];
}

/** Visible rows in preorder: subtrees of collapsed spans are hidden; with `show`, spans with
 * show[i] = 0 are hidden together with their subtree (callers mark ancestors of what they want). */
export function visibleRows(t: TraceTree, collapsed: Uint8Array, show?: Uint8Array | null): Int32Array {
  const out = new Int32Array(t.n);
  let k = 0;
  let p = 0;
  const { order, size } = t;
  while (p < t.n) {
    const i = order[p];
    if (show && !show[i]) {
      p += size[i];
      continue;
    }
    out[k++] = i;
    p += collapsed[i] ? size[i] : 1;
  }
  return out.subarray(0, k);
}

/** Marks every ancestor of each marked span (in place) and returns the array. */
export function withAncestors(t: TraceTree, marks: Uint8Array): Uint8Array {
  const out = marks.slice();
  for (let i = 0; i < t.n; i++) {
    if (!marks[i]) continue;
    let p = t.parent[i];
    while (p >= 0 && !out[p]) {
      out[p] = 1;
      p = t.parent[p];
    }
  }
  return out;
}
