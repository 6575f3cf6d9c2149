// Clock-skew detection and adjustment. Spans recorded on different hosts carry their hosts'
// clocks, so a child can appear to start before its parent or to end after it. Detection
// reports both; adjustment is only ever applied on request (the UI shows raw times by default).
//
// "Ends after its parent" is not reported for messaging edges (a CONSUMER child or a PRODUCER
// parent): consumers legitimately run after the producer has finished.

import { KIND_CONSUMER, KIND_PRODUCER } from './compact';
import type { TraceTree } from './tree';

export const SKEW_STARTS_BEFORE = 1;
export const SKEW_ENDS_AFTER = 2;

export interface SkewReport {
  /** Per span: SKEW_STARTS_BEFORE | SKEW_ENDS_AFTER relative to its parent (raw times). */
  flags: Uint8Array;
  startsBefore: number;
  endsAfter: number;
  /** Spans with any flag, in preorder. */
  spans: number[];
  /** Largest distance (ns) by which a child leaves its parent's window. */
  maxSkew: number;
}

function isAsyncEdge(t: TraceTree, child: number, parent: number): boolean {
  return t.kind[child] === KIND_CONSUMER || t.kind[parent] === KIND_PRODUCER;
}

export function detectSkew(t: TraceTree): SkewReport {
  const flags = new Uint8Array(t.n);
  let startsBefore = 0;
  let endsAfter = 0;
  let maxSkew = 0;
  const spans: number[] = [];
  for (let k = 0; k < t.n; k++) {
    const i = t.order[k];
    const p = t.parent[i];
    if (p < 0) continue;
    let f = 0;
    if (t.start[i] < t.start[p]) {
      f |= SKEW_STARTS_BEFORE;
      startsBefore++;
      maxSkew = Math.max(maxSkew, t.start[p] - t.start[i]);
    }
    if (t.end[i] > t.end[p] && !isAsyncEdge(t, i, p)) {
      f |= SKEW_ENDS_AFTER;
      endsAfter++;
      maxSkew = Math.max(maxSkew, t.end[i] - t.end[p]);
    }
    if (f) {
      flags[i] = f;
      spans.push(i);
    }
  }
  return { flags, startsBefore, endsAfter, spans, maxSkew };
}

export interface Adjusted {
  start: Float64Array;
  end: Float64Array;
  /** Shift applied to each span (adjusted - raw), ns. */
  shift: Float64Array;
  /** Spans that moved relative to their parent. */
  moved: number;
}

/**
 * Shifts subtrees so that children sit inside their parent: a child starting before its parent
 * moves to the parent's start; a child ending after its parent (and short enough to fit) moves
 * to end with the parent. Durations never change, and a shift carries over to the descendants,
 * which share the child's clock. Messaging edges are left alone.
 */
export function adjustSkew(t: TraceTree): Adjusted {
  const n = t.n;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const shift = new Float64Array(n);
  let moved = 0;
  for (let k = 0; k < n; k++) {
    const i = t.order[k];
    const p = t.parent[i];
    const inherited = p >= 0 ? shift[p] : 0;
    let s = t.start[i] + inherited;
    const d = t.duration[i];
    let delta = 0;
    if (p >= 0) {
      const ps = start[p];
      const pe = end[p];
      if (s < ps) delta = ps - s;
      else if (s + d > pe && d <= pe - ps && !isAsyncEdge(t, i, p)) delta = pe - (s + d);
    }
    if (delta !== 0) moved++;
    s += delta;
    shift[i] = inherited + delta;
    start[i] = s;
    end[i] = s + d;
  }
  return { start, end, shift, moved };
}
