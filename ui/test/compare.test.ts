import { describe, expect, it } from 'vitest';
import { buildTree } from '../src/trace/tree';
import { compareTraces } from '../src/trace/compare';
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
    expect(byName('front', 'GET /').status).toBe('same');
    expect(byName('api', 'load').status).toBe('changed');
    expect(byName('api', 'load').durA).toBe(10_000_000);
    expect(byName('api', 'load').durB).toBe(50_000_000);
    const sel = byName('api', 'SELECT');
    expect([sel.countA, sel.countB, sel.status]).toEqual([2, 3, 'changed']);
    expect(byName('cache', 'GET').status).toBe('removed');
    expect(byName('pay', 'charge').status).toBe('added');
    expect(r.addedSpans).toBe(2); // one SELECT, one charge
    expect(r.removedSpans).toBe(1);
    expect([r.added, r.removed, r.changed, r.same]).toEqual([1, 1, 2, 1]);
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
});
