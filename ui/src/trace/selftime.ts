// Self time: the part of a span's duration not covered by any of its children, children clamped
// to the parent's window (the union of their intervals is subtracted, so overlapping children
// are not counted twice).

import type { TraceTree } from './tree';

export function selfTimes(t: TraceTree, start: Float64Array = t.start, end: Float64Array = t.end): Float64Array {
  const n = t.n;
  const self = new Float64Array(n);
  let cs = new Float64Array(16);
  let ce = new Float64Array(16);
  let idx = new Int32Array(16);
  for (let i = 0; i < n; i++) {
    const ws = start[i];
    const we = end[i];
    const total = Math.max(0, we - ws);
    const a = t.childOffset[i];
    const b = t.childOffset[i + 1];
    if (a === b) {
      self[i] = total;
      continue;
    }
    const m = b - a;
    if (cs.length < m) {
      const len = Math.max(m, cs.length * 2);
      cs = new Float64Array(len);
      ce = new Float64Array(len);
      idx = new Int32Array(len);
    }
    let sorted = true;
    for (let k = 0; k < m; k++) {
      const c = t.children[a + k];
      cs[k] = Math.max(start[c], ws);
      ce[k] = Math.min(end[c], we);
      idx[k] = k;
      if (k > 0 && cs[k] < cs[k - 1]) sorted = false;
    }
    const ord = idx.subarray(0, m);
    if (!sorted) ord.sort((x, y) => cs[x] - cs[y]);
    let covered = 0;
    let curS = 0;
    let curE = -Infinity;
    for (let k = 0; k < m; k++) {
      const s = cs[ord[k]];
      const e = ce[ord[k]];
      if (e <= s) continue;
      if (s > curE) {
        if (curE > curS) covered += curE - curS;
        curS = s;
        curE = e;
      } else if (e > curE) curE = e;
    }
    if (curE > curS) covered += curE - curS;
    self[i] = Math.max(0, total - covered);
  }
  return self;
}
