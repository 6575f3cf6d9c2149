// Search within a trace. The query is split on spaces; every term must hold (AND):
//   text            service, operation or span id contains it (case-insensitive)
//   service:x       service contains x        (svc: also works)
//   name:x          operation contains x      (op: also works)
//   is:error        status is ERROR
//   is:critical     on the critical path (when known)
//   is:skew         clock skew suspected against the parent (when known)
//   is:orphan       parent not in the trace
//   kind:server     span kind
//   >10ms  <1s      duration bounds
//   id:abc          span id starts with abc

import { KIND_NAMES, STATUS_ERROR } from './compact';
import type { TraceTree } from './tree';
import { parseDuration } from './format';

export interface FilterResult {
  matches: Uint8Array;
  count: number;
  /** Matching spans in preorder. */
  list: number[];
}

export interface FilterContext {
  onPath?: Uint8Array | null;
  skew?: Uint8Array | null;
}

export function filterSpans(t: TraceTree, query: string, ctx: FilterContext = {}): FilterResult | null {
  const { onPath, skew } = ctx;
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return null;
  const preds: ((i: number) => boolean)[] = [];
  const stringMatch = (needle: string): Uint8Array => {
    const m = new Uint8Array(t.strings.length);
    for (let s = 0; s < t.strings.length; s++) if (t.strings[s].toLowerCase().includes(needle)) m[s] = 1;
    return m;
  };
  for (const term of terms) {
    const colon = term.indexOf(':');
    const key = colon > 0 ? term.slice(0, colon) : '';
    const val = colon > 0 ? term.slice(colon + 1) : term;
    if ((key === 'service' || key === 'svc') && val) {
      const m = stringMatch(val);
      preds.push((i) => t.service[i] >= 0 && m[t.service[i]] === 1);
    } else if ((key === 'name' || key === 'op') && val) {
      const m = stringMatch(val);
      preds.push((i) => t.name[i] >= 0 && m[t.name[i]] === 1);
    } else if (key === 'is' && val === 'error') {
      preds.push((i) => t.status[i] === STATUS_ERROR);
    } else if (key === 'is' && (val === 'critical' || val === 'cp')) {
      preds.push((i) => !!onPath && onPath[i] === 1);
    } else if (key === 'is' && val === 'skew') {
      preds.push((i) => !!skew && skew[i] !== 0);
    } else if (key === 'is' && val === 'orphan') {
      preds.push((i) => t.missingParent[i] === 1);
    } else if (key === 'kind' && val) {
      const k = KIND_NAMES.indexOf(val);
      preds.push((i) => t.kind[i] === k);
    } else if (key === 'id' && val) {
      preds.push((i) => t.spanId[i].startsWith(val));
    } else if ((term.startsWith('>') || term.startsWith('<')) && parseDuration(term.slice(1).replace(/^=/, '')) !== null) {
      const d = parseDuration(term.slice(1).replace(/^=/, ''))!;
      if (term.startsWith('>')) preds.push((i) => t.duration[i] >= d);
      else preds.push((i) => t.duration[i] <= d);
    } else {
      const m = stringMatch(term);
      preds.push(
        (i) => (t.service[i] >= 0 && m[t.service[i]] === 1) || (t.name[i] >= 0 && m[t.name[i]] === 1) || t.spanId[i].startsWith(term),
      );
    }
  }
  const matches = new Uint8Array(t.n);
  const list: number[] = [];
  for (let k = 0; k < t.n; k++) {
    const i = t.order[k];
    let ok = true;
    for (const p of preds) {
      if (!p(i)) {
        ok = false;
        break;
      }
    }
    if (ok) {
      matches[i] = 1;
      list.push(i);
    }
  }
  return { matches, count: list.length, list };
}
