import { describe, expect, it } from 'vitest';
import { buildTree, childrenOf, findSpan, visibleRows, withAncestors } from '../src/trace/tree';
import { compactFromOtlp, validateCompact } from '../src/trace/compact';
import { compact } from './helpers';

const ids = (t: ReturnType<typeof buildTree>, xs: ArrayLike<number>) => Array.from(xs, (i) => t.spanId[i]);

describe('buildTree', () => {
  it('builds children ordered by start, preorder, depth and subtree sizes', () => {
    const t = buildTree(
      compact([
        { id: 'root', start: 0, dur: 100 },
        { id: 'b', parent: 'root', start: 50, dur: 10 },
        { id: 'a', parent: 'root', start: 10, dur: 10 },
        { id: 'a1', parent: 'a', start: 12, dur: 2 },
      ]),
    );
    expect(t.n).toBe(4);
    expect(ids(t, t.roots)).toEqual(['root']);
    expect(ids(t, childrenOf(t, findSpan(t, 'root')))).toEqual(['a', 'b']);
    expect(ids(t, t.order)).toEqual(['root', 'a', 'a1', 'b']);
    expect(t.depth[findSpan(t, 'a1')]).toBe(2);
    expect(t.size[findSpan(t, 'root')]).toBe(4);
    expect(t.size[findSpan(t, 'a')]).toBe(2);
    expect(t.maxDepth).toBe(2);
    expect(t.endTime).toBe(100);
  });

  it('keeps spans whose parent is missing as flagged roots (orphans)', () => {
    const t = buildTree(
      compact([
        { id: 'root', start: 0, dur: 100 },
        { id: 'orphan', parent: 'ffffffffffffffff', start: 20, dur: 10 },
        { id: 'child', parent: 'orphan', start: 21, dur: 1 },
      ]),
    );
    expect(ids(t, t.roots)).toEqual(['root', 'orphan']);
    expect(t.missingParent[findSpan(t, 'orphan')]).toBe(1);
    expect(t.missingParentCount).toBe(1);
    expect(t.parentSpanId[findSpan(t, 'orphan')]).toBe('ffffffffffffffff');
    expect(ids(t, t.order)).toEqual(['root', 'orphan', 'child']);
  });

  it('breaks parent cycles without hanging and keeps every span', () => {
    // a -> b -> c -> a, plus d under b, plus a self-parent e
    const t = buildTree(
      compact(
        [
          { id: 'a', start: 0, dur: 10 },
          { id: 'b', start: 1, dur: 5 },
          { id: 'c', start: 2, dur: 1 },
          { id: 'd', start: 3, dur: 1 },
          { id: 'e', start: 4, dur: 1 },
        ],
        { parentIndex: [2, 0, 1, 1, 4] },
      ),
    );
    expect(t.order.length).toBe(5);
    expect(new Set(t.order).size).toBe(5);
    expect(t.brokenLinks.length).toBe(2);
    // every span reaches a root
    for (let i = 0; i < t.n; i++) {
      let j = i;
      let steps = 0;
      while (t.parent[j] >= 0 && steps++ < 10) j = t.parent[j];
      expect(t.parent[j]).toBe(-1);
    }
  });

  it('treats out-of-range parent indexes as roots', () => {
    const t = buildTree(compact([{ id: 'a', start: 0, dur: 1 }, { id: 'b', start: 0, dur: 1 }], { parentIndex: [7, -5] }));
    expect(t.roots.length).toBe(2);
  });

  it('handles an empty trace', () => {
    const t = buildTree(compact([]));
    expect(t.n).toBe(0);
    expect(visibleRows(t, new Uint8Array(0)).length).toBe(0);
  });

  it('handles a million-deep chain without recursion', () => {
    const n = 200_000;
    const c = compact([]);
    c.spans.spanId = Array.from({ length: n }, (_, i) => i.toString(16).padStart(16, '0'));
    c.spans.parent = Array.from({ length: n }, (_, i) => i - 1);
    c.spans.parentSpanId = new Array(n).fill('');
    c.strings = ['svc', 'op'];
    c.spans.service = new Array(n).fill(0);
    c.spans.name = new Array(n).fill(1);
    c.spans.kind = new Array(n).fill(1);
    c.spans.status = new Array(n).fill(0);
    c.spans.start = Array.from({ length: n }, (_, i) => i);
    c.spans.duration = Array.from({ length: n }, (_, i) => 2 * n - 2 * i);
    const t = buildTree(c);
    expect(t.maxDepth).toBe(n - 1);
    expect(t.size[0]).toBe(n);
  });

  it('lists visible rows honouring collapsed spans and filters', () => {
    const t = buildTree(
      compact([
        { id: 'root', start: 0, dur: 100 },
        { id: 'a', parent: 'root', start: 10, dur: 10 },
        { id: 'a1', parent: 'a', start: 12, dur: 2 },
        { id: 'b', parent: 'root', start: 50, dur: 10 },
      ]),
    );
    const collapsed = new Uint8Array(t.n);
    expect(ids(t, visibleRows(t, collapsed))).toEqual(['root', 'a', 'a1', 'b']);
    collapsed[findSpan(t, 'a')] = 1;
    expect(ids(t, visibleRows(t, collapsed))).toEqual(['root', 'a', 'b']);
    collapsed[findSpan(t, 'a')] = 0;
    const m = new Uint8Array(t.n);
    m[findSpan(t, 'a1')] = 1;
    expect(ids(t, visibleRows(t, collapsed, withAncestors(t, m)))).toEqual(['root', 'a', 'a1']);
  });
});

describe('compact format', () => {
  it('rejects columns of unequal length', () => {
    const c = compact([{ id: 'a', start: 0, dur: 1 }]);
    c.spans.duration = [];
    expect(() => validateCompact(c)).toThrow(/duration/);
  });

  it('converts OTLP JSON to the compact form', () => {
    const otlp = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  spanId: 'AA00000000000001',
                  name: 'GET /',
                  kind: 2,
                  startTimeUnixNano: '1700000000000001000',
                  endTimeUnixNano: '1700000000000005000',
                },
                {
                  spanId: 'aa00000000000002',
                  parentSpanId: 'aa00000000000001',
                  name: 'db',
                  kind: 'SPAN_KIND_CLIENT',
                  status: { code: 2 },
                  startTimeUnixNano: '1700000000000002000',
                  endTimeUnixNano: '1700000000000003000',
                },
                {
                  spanId: 'aa00000000000003',
                  parentSpanId: 'bb00000000000009',
                  name: 'lost',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000000000500',
                },
              ],
            },
          ],
        },
      ],
    };
    const c = compactFromOtlp(otlp, 't');
    expect(c.startTimeUnixNano).toBe('1700000000000000000');
    expect(c.spans.start).toEqual([1000, 2000, 0]);
    expect(c.spans.duration).toEqual([4000, 1000, 500]);
    expect(c.spans.parent).toEqual([-1, 0, -1]);
    expect(c.spans.parentSpanId).toEqual(['', '', 'bb00000000000009']);
    expect(c.spans.kind).toEqual([2, 3, 0]);
    expect(c.spans.status).toEqual([0, 2, 0]);
    expect(c.strings[c.spans.service[0]]).toBe('api');
    expect(c.spans.spanId[0]).toBe('aa00000000000001');
  });
});
