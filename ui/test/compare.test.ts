import { describe, expect, it } from 'vitest';
import { buildTree } from '../src/trace/tree';
import { compareTraces, notableChange, topSelfChanges } from '../src/trace/compare';
import { compact } from './helpers';

describe('compareTraces', () => {
  const A = buildTree(
    compact([
      { id: 'r', start: 0, dur: 100_000_000, svc: 'front', name: 'GET /' },
      { id: 'a', parent: 'r', start: 1, dur: 10_000_000, svc: 'api', name: 'load' },
      { id: 'db1', parent: 'a', start: 2, dur: 1_000_000, svc: 'api', name: 'SELECT' },
      { id: 'db2', parent: 'a', start: 3, dur: 1_000_000, svc: 'api', name: 'SELECT' },
      { id: 'cache', parent: 'r', start: 4, dur: 1_000_000, svc: 'cache', name: 'GET' },
    ]),
  );
  const B = buildTree(
    compact([
      { id: 'R', start: 0, dur: 100_000_000, svc: 'front', name: 'GET /' },
      { id: 'A', parent: 'R', start: 1, dur: 50_000_000, svc: 'api', name: 'load' },
      { id: 'D1', parent: 'A', start: 2, dur: 1_000_000, svc: 'api', name: 'SELECT' },
      { id: 'D2', parent: 'A', start: 3, dur: 1_000_000, svc: 'api', name: 'SELECT' },
      { id: 'D3', parent: 'A', start: 4, dur: 1_000_000, svc: 'api', name: 'SELECT' },
      { id: 'P', parent: 'R', start: 5, dur: 2_000_000, svc: 'pay', name: 'charge' },
    ]),
  );

  it('matches spans by service and operation path', () => {
    const r = compareTraces(A, B);
    const byName = (s: string, n: string) => r.nodes.find((x) => x.service === s && x.name === n)!;
    // the root lasts 100 ms in both, but its own time fell from 90 to 50 ms as its child grew
    expect(byName('front', 'GET /').status).toBe('changed');
    expect(byName('front', 'GET /').durationChanged).toBe(false);
    expect([byName('front', 'GET /').selfA, byName('front', 'GET /').selfB]).toEqual([90_000_000, 50_000_000]);
    expect(byName('api', 'load').status).toBe('changed');
    expect([byName('api', 'load').selfA, byName('api', 'load').selfB]).toEqual([8_999_999, 48_999_998]); // the SELECTs overlap
    expect(byName('api', 'load').durA).toBe(10_000_000);
    expect(byName('api', 'load').durB).toBe(50_000_000);
    const sel = byName('api', 'SELECT');
    expect([sel.countA, sel.countB, sel.status]).toEqual([2, 3, 'changed']);
    expect(byName('cache', 'GET').status).toBe('removed');
    expect(byName('pay', 'charge').status).toBe('added');
    expect(r.addedSpans).toBe(2); // one SELECT, one charge
    expect(r.removedSpans).toBe(1);
    expect([r.added, r.removed, r.changed, r.same]).toEqual([1, 1, 3, 0]);
    expect(r.order.map((id) => r.nodes[id].name)).toEqual(['GET /', 'load', 'SELECT', 'GET', 'charge']);
    expect(r.nodes[r.nodeOfB[5]].name).toBe('charge');
  });

  it('distinguishes equal operations under different parents', () => {
    const x = buildTree(
      compact([
        { id: 'r', start: 0, dur: 10, svc: 's', name: 'root' },
        { id: 'a', parent: 'r', start: 0, dur: 1, svc: 's', name: 'A' },
        { id: 'q', parent: 'a', start: 0, dur: 1, svc: 's', name: 'query' },
      ]),
    );
    const y = buildTree(
      compact([
        { id: 'r', start: 0, dur: 10, svc: 's', name: 'root' },
        { id: 'b', parent: 'r', start: 0, dur: 1, svc: 's', name: 'B' },
        { id: 'q', parent: 'b', start: 0, dur: 1, svc: 's', name: 'query' },
      ]),
    );
    const r = compareTraces(x, y);
    expect(r.nodes.filter((n) => n.name === 'query').map((n) => n.status)).toEqual(['removed', 'added']);
  });

  it('reports identical traces as unchanged', () => {
    const r = compareTraces(A, A);
    expect([r.added, r.removed, r.changed]).toEqual([0, 0, 0]);
    expect(r.same).toBe(r.nodes.length);
  });

  it('ignores small duration differences', () => {
    const x = buildTree(compact([{ id: 'r', start: 0, dur: 100_000_000 }]));
    const y = buildTree(compact([{ id: 'r', start: 0, dur: 105_000_000 }]));
    expect(compareTraces(x, y).changed).toBe(0);
    expect(compareTraces(x, y, { relative: 0.01 }).changed).toBe(1);
  });

  it('marks the span whose own time grew, not its ancestors', () => {
    // gateway -> orders -> db; in B the database call takes 200 ms longer and both callers wait for it
    const base = (dbMs: number) =>
      buildTree(
        compact([
          { id: 'g', start: 0, dur: (20 + dbMs) * 1e6, svc: 'gateway', name: 'GET /orders' },
          { id: 'o', parent: 'g', start: 5e6, dur: (10 + dbMs) * 1e6, svc: 'orders', name: 'list' },
          { id: 'd', parent: 'o', start: 10e6, dur: dbMs * 1e6, svc: 'orders', name: 'SELECT orders' },
          { id: 'c', parent: 'g', start: (16 + dbMs) * 1e6, dur: 2e6, svc: 'gateway', name: 'render' },
        ]),
      );
    const r = compareTraces(base(10), base(210));
    const st = Object.fromEntries(r.nodes.map((n) => [n.name, n.status]));
    expect(st).toEqual({ 'GET /orders': 'same', list: 'same', 'SELECT orders': 'changed', render: 'same' });
    const dur = Object.fromEntries(r.nodes.map((n) => [n.name, n.durationChanged]));
    expect(dur).toEqual({ 'GET /orders': true, list: true, 'SELECT orders': true, render: false });
    const top = topSelfChanges(r);
    expect(top.map((n) => [n.name, n.selfB - n.selfA])).toEqual([['SELECT orders', 200e6]]);
  });

  it('ignores self-time jitter that is small against the trace', () => {
    const t = (own: number) =>
      buildTree(
        compact([
          { id: 'r', start: 0, dur: 1000e6, svc: 's', name: 'root' },
          { id: 'x', parent: 'r', start: 1e6, dur: own, svc: 's', name: 'tiny' },
        ]),
      );
    // 2 ms -> 4 ms doubles, but is 0.2 % of a one-second trace
    expect(compareTraces(t(2e6), t(4e6)).nodes.find((n) => n.name === 'tiny')!.status).toBe('same');
    expect(compareTraces(t(2e6), t(4e6), { traceShare: 0 }).nodes.find((n) => n.name === 'tiny')!.status).toBe('changed');
    // 2 ms -> 40 ms is notable
    expect(compareTraces(t(2e6), t(40e6)).nodes.find((n) => n.name === 'tiny')!.status).toBe('changed');
  });

  it('notableChange needs both the floor and the relative change', () => {
    expect(notableChange(100, 105, 1, 0.1)).toBe(false);
    expect(notableChange(100, 120, 1, 0.1)).toBe(true);
    expect(notableChange(100, 120, 50, 0.1)).toBe(false);
    expect(notableChange(0, 0, 0, 0.1)).toBe(false);
  });
});
