// Critical path: the chain of work that determined the trace's end-to-end latency.
//
// From the end of the root, walk backwards: among the children that finish at or before the
// cursor, take the one finishing latest, descend into it, and continue from its start. Time in a
// span not covered by such a child is the span's own contribution. Children are clamped to
// their parent's window first, so children that start before their parent (clock skew) or
// outlive it (asynchronous work) only count for the part inside the parent. Spans of zero length
// after clamping take no time and are never on the path. Several roots (spans whose parent is
// missing) are treated as children of a virtual root spanning the whole trace.

import type { TraceTree } from './tree';

export interface CriticalPath {
  /** 1 when the span has a segment on the critical path (or is the single root). */
  onPath: Uint8Array;
  /** Segments: span segSpan[k] is on the path during [segStart[k], segEnd[k]). */
  segSpan: Int32Array;
  segStart: Float64Array;
  segEnd: Float64Array;
  /** Segments of span i: segOrder[segOffset[i] .. segOffset[i+1]), indexes into the seg arrays. */
  segOffset: Int32Array;
  segOrder: Int32Array;
  /** Time span i contributes to the path. */
  time: Float64Array;
  /** Spans on the path in preorder. */
  spans: number[];
}

interface Frame {
  span: number; // -1: virtual root
  ws: number;
  we: number;
  cursor: number;
  kids: Int32Array;
  k: number;
}

export function criticalPath(t: TraceTree, start: Float64Array = t.start, end: Float64Array = t.end): CriticalPath {
  const n = t.n;
  const onPath = new Uint8Array(n);
  const segSpanL: number[] = [];
  const segStartL: number[] = [];
  const segEndL: number[] = [];
  const emit = (span: number, s: number, e: number) => {
    if (span < 0 || e <= s) return;
    segSpanL.push(span);
    segStartL.push(s);
    segEndL.push(e);
  };
  // Children by end, latest first (ties: later start first, then higher index).
  const byEnd = (a: number, b: number) => end[b] - end[a] || start[b] - start[a] || b - a;
  const kidsOf = (i: number): Int32Array => {
    const src = i < 0 ? t.roots : t.children.subarray(t.childOffset[i], t.childOffset[i + 1]);
    return src.length > 1 ? src.slice().sort(byEnd) : src;
  };

  if (n > 0) {
    const stack: Frame[] = [];
    if (t.roots.length === 1) {
      const r = t.roots[0];
      onPath[r] = 1;
      stack.push({ span: r, ws: start[r], we: end[r], cursor: end[r], kids: kidsOf(r), k: 0 });
    } else {
      let ws = Infinity;
      let we = -Infinity;
      for (const r of t.roots) {
        if (start[r] < ws) ws = start[r];
        if (end[r] > we) we = end[r];
      }
      stack.push({ span: -1, ws, we, cursor: we, kids: kidsOf(-1), k: 0 });
    }
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      let pushed = false;
      while (f.k < f.kids.length) {
        const c = f.kids[f.k++];
        const cs = Math.max(start[c], f.ws);
        const ce = Math.min(end[c], f.we);
        if (ce <= cs || ce > f.cursor) continue;
        emit(f.span, ce, f.cursor);
        f.cursor = cs;
        onPath[c] = 1;
        stack.push({ span: c, ws: cs, we: ce, cursor: ce, kids: kidsOf(c), k: 0 });
        pushed = true;
        break;
      }
      if (pushed) continue;
      emit(f.span, f.ws, f.cursor);
      stack.pop();
    }
  }

  const m = segSpanL.length;
  const segSpan = Int32Array.from(segSpanL);
  const segStart = Float64Array.from(segStartL);
  const segEnd = Float64Array.from(segEndL);
  const segOffset = new Int32Array(n + 1);
  const time = new Float64Array(n);
  for (let k = 0; k < m; k++) {
    segOffset[segSpan[k] + 1]++;
    time[segSpan[k]] += segEnd[k] - segStart[k];
  }
  for (let i = 0; i < n; i++) segOffset[i + 1] += segOffset[i];
  const fill = segOffset.slice(0, n);
  const segOrder = new Int32Array(m);
  // Segments were emitted latest first per span; store them earliest first.
  for (let k = m - 1; k >= 0; k--) segOrder[fill[segSpan[k]]++] = k;
  const spans: number[] = [];
  for (let k = 0; k < n; k++) if (onPath[t.order[k]]) spans.push(t.order[k]);
  return { onPath, segSpan, segStart, segEnd, segOffset, segOrder, time, spans };
}
