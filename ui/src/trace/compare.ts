// Structural comparison of two traces. Spans are matched by their path in the tree: the chain
// of (service, operation) pairs from the root down to them. Spans sharing a path are counted
// together, so a path that occurs 3 times in A and 5 times in B has 2 added spans.
//
// A path present on both sides is "changed" when its span count differs or when its own (self)
// time differs notably. Total durations are not used for that: a span that got slower makes every
// ancestor slower too, but only its own self time moves, so the origin of a regression stands out.

import { selfTimes } from './selftime';
import { serviceName, spanName, type TraceTree } from './tree';

export type DiffStatus = 'same' | 'added' | 'removed' | 'changed';

export interface CompareNode {
  id: number;
  parent: number;
  depth: number;
  service: string;
  name: string;
  countA: number;
  countB: number;
  /** Summed durations of the matched spans, ns. */
  durA: number;
  durB: number;
  errorsA: number;
  errorsB: number;
  /** Summed self times of the matched spans, ns. */
  selfA: number;
  selfB: number;
  /** The summed duration differs notably (informational; status follows self time). */
  durationChanged: boolean;
  status: DiffStatus;
  /** Child node ids in order of first appearance (A first, then B). */
  children: number[];
}

export interface CompareResult {
  /** Union tree nodes; nodes[id].id === id. */
  nodes: CompareNode[];
  /** Node ids of the top level. */
  roots: number[];
  /** Node ids in preorder. */
  order: number[];
  /** Spans only in B / only in A (per path, the surplus of one side). */
  addedSpans: number;
  removedSpans: number;
  /** Paths by status. */
  added: number;
  removed: number;
  changed: number;
  same: number;
  /** Node id of every span of A and of B. */
  nodeOfA: Int32Array;
  nodeOfB: Int32Array;
}

export interface CompareOptions {
  /** A path present on both sides changes when its summed self time differs by more than this fraction... */
  relative?: number;
  /** ... by more than this many nanoseconds ... */
  absolute?: number;
  /** ... and by more than this fraction of the longer trace. */
  traceShare?: number;
}

/** Whether a difference between two figures is notable under the options. */
export function notableChange(a: number, b: number, floor: number, relative: number): boolean {
  const diff = Math.abs(b - a);
  return diff > floor && diff > relative * Math.max(a, b);
}

export function compareTraces(a: TraceTree, b: TraceTree, opts: CompareOptions = {}): CompareResult {
  const relative = opts.relative ?? 0.1;
  const absolute = opts.absolute ?? 100_000;
  const floor = Math.max(absolute, (opts.traceShare ?? 0.01) * Math.max(a.endTime, b.endTime));
  const nodes: CompareNode[] = [];
  const roots: number[] = [];
  const index = new Map<string, number>();
  const add = (t: TraceTree, side: 0 | 1): Int32Array => {
    const nodeOf = new Int32Array(t.n);
    const self = selfTimes(t);
    for (let k = 0; k < t.n; k++) {
      const i = t.order[k];
      const p = t.parent[i];
      const pn = p >= 0 ? nodeOf[p] : -1;
      const svc = serviceName(t, i);
      const nm = spanName(t, i);
      const key = `${pn}\u0000${svc}\u0000${nm}`;
      let id = index.get(key);
      if (id === undefined) {
        id = nodes.length;
        nodes.push({
          id,
          parent: pn,
          depth: pn >= 0 ? nodes[pn].depth + 1 : 0,
          service: svc,
          name: nm,
          countA: 0,
          countB: 0,
          durA: 0,
          durB: 0,
          errorsA: 0,
          errorsB: 0,
          selfA: 0,
          selfB: 0,
          durationChanged: false,
          status: 'same',
          children: [],
        });
        index.set(key, id);
        if (pn >= 0) nodes[pn].children.push(id);
        else roots.push(id);
      }
      const node = nodes[id];
      const err = t.status[i] === 2 ? 1 : 0;
      if (side === 0) {
        node.countA++;
        node.durA += t.duration[i];
        node.selfA += self[i];
        node.errorsA += err;
      } else {
        node.countB++;
        node.durB += t.duration[i];
        node.selfB += self[i];
        node.errorsB += err;
      }
      nodeOf[i] = id;
    }
    return nodeOf;
  };
  const nodeOfA = add(a, 0);
  const nodeOfB = add(b, 1);
  let addedSpans = 0;
  let removedSpans = 0;
  let added = 0;
  let removed = 0;
  let changed = 0;
  let same = 0;
  for (const node of nodes) {
    if (node.countB > node.countA) addedSpans += node.countB - node.countA;
    if (node.countA > node.countB) removedSpans += node.countA - node.countB;
    if (node.countA === 0) {
      node.status = 'added';
      added++;
    } else if (node.countB === 0) {
      node.status = 'removed';
      removed++;
    } else {
      node.durationChanged = notableChange(node.durA, node.durB, absolute, relative);
      if (node.countA !== node.countB || notableChange(node.selfA, node.selfB, floor, relative)) {
        node.status = 'changed';
        changed++;
      } else {
        same++;
      }
    }
  }
  const order: number[] = [];
  const stack = roots.slice().reverse();
  while (stack.length) {
    const id = stack.pop()!;
    order.push(id);
    const ch = nodes[id].children;
    for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k]);
  }
  return { nodes, roots, order, addedSpans, removedSpans, added, removed, changed, same, nodeOfA, nodeOfB };
}

/** Paths whose own time changed most (either way), largest first: where a regression comes from. */
export function topSelfChanges(r: CompareResult, n = 3): CompareNode[] {
  return r.nodes
    .filter((x) => x.status === 'changed' || x.status === 'added' || x.status === 'removed')
    .filter((x) => x.selfB !== x.selfA)
    .sort((x, y) => Math.abs(y.selfB - y.selfA) - Math.abs(x.selfB - x.selfA))
    .slice(0, n);
}
