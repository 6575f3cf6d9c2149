// Everything the trace page derives from one trace, per time mode (raw or skew-adjusted).

import { criticalPath, type CriticalPath } from './critical';
import { selfTimes } from './selftime';
import { adjustSkew, detectSkew, type SkewReport } from './skew';
import { buildTree, type TraceTree } from './tree';
import type { CompactTrace } from './compact';

export type TimeMode = 'raw' | 'adjusted';

export interface TimesView {
  mode: TimeMode;
  start: Float64Array;
  end: Float64Array;
  /** Latest end under these times. */
  endTime: number;
  /** Earliest start under these times (0 in raw mode). */
  startTime: number;
  cp: CriticalPath;
  self: Float64Array;
  shift: Float64Array | null;
}

export class TraceModel {
  readonly tree: TraceTree;
  readonly skew: SkewReport;
  private views = new Map<TimeMode, TimesView>();

  constructor(c: CompactTrace) {
    this.tree = buildTree(c);
    this.skew = detectSkew(this.tree);
  }

  view(mode: TimeMode): TimesView {
    let v = this.views.get(mode);
    if (!v) {
      const t = this.tree;
      let start = t.start;
      let end = t.end;
      let shift: Float64Array | null = null;
      if (mode === 'adjusted') {
        const a = adjustSkew(t);
        start = a.start;
        end = a.end;
        shift = a.shift;
      }
      let endTime = 0;
      let startTime = t.n ? Infinity : 0;
      for (let i = 0; i < t.n; i++) {
        if (end[i] > endTime) endTime = end[i];
        if (start[i] < startTime) startTime = start[i];
      }
      v = { mode, start, end, endTime, startTime, cp: criticalPath(t, start, end), self: selfTimes(t, start, end), shift };
      this.views.set(mode, v);
    }
    return v;
  }
}
