import { describe, expect, it } from 'vitest';
import { buildTree, findSpan } from '../src/trace/tree';
import { adjustSkew, detectSkew, SKEW_ENDS_AFTER, SKEW_STARTS_BEFORE } from '../src/trace/skew';
import { criticalPath } from '../src/trace/critical';
import { compact } from './helpers';

describe('skew', () => {
  const spans = [
    { id: 'root', start: 100, dur: 100, svc: 'front' }, // 100-200
    { id: 'early', parent: 'root', start: 80, dur: 30, svc: 'back' }, // 80-110: starts before
    { id: 'early-kid', parent: 'early', start: 85, dur: 10, svc: 'back' }, // 85-95, same clock as early
    { id: 'late', parent: 'root', start: 190, dur: 30, svc: 'db' }, // 190-220: ends after
    { id: 'fine', parent: 'root', start: 120, dur: 10, svc: 'back' },
    { id: 'long', parent: 'root', start: 150, dur: 500, svc: 'back' }, // cannot fit: stays
  ];

  it('detects children starting before or ending after their parent', () => {
    const t = buildTree(compact(spans));
    const r = detectSkew(t);
    expect(r.startsBefore).toBe(1);
    expect(r.endsAfter).toBe(2);
    expect(r.flags[findSpan(t, 'early')]).toBe(SKEW_STARTS_BEFORE);
    expect(r.flags[findSpan(t, 'late')]).toBe(SKEW_ENDS_AFTER);
    expect(r.flags[findSpan(t, 'fine')]).toBe(0);
    expect(r.flags[findSpan(t, 'early-kid')]).toBe(0);
    expect(r.maxSkew).toBe(450);
  });

  it('does not report consumers outliving their producer', () => {
    const t = buildTree(
      compact([
        { id: 'p', start: 0, dur: 10, kind: 4 },
        { id: 'c', parent: 'p', start: 5, dur: 100, kind: 5 },
      ]),
    );
    expect(detectSkew(t).spans).toEqual([]);
  });

  it('reports nothing for a well-formed trace', () => {
    const t = buildTree(
      compact([
        { id: 'root', start: 0, dur: 100 },
        { id: 'a', parent: 'root', start: 0, dur: 100 },
      ]),
    );
    const r = detectSkew(t);
    expect(r.spans.length).toBe(0);
    expect(adjustSkew(t).moved).toBe(0);
  });

  it('shifts subtrees into their parent without changing durations, leaving raw times alone', () => {
    const t = buildTree(compact(spans));
    const a = adjustSkew(t);
    const at = (id: string) => [a.start[findSpan(t, id)], a.end[findSpan(t, id)]];
    expect(at('root')).toEqual([100, 200]);
    expect(at('early')).toEqual([100, 130]);
    expect(at('early-kid')).toEqual([105, 115]); // moved with its parent
    expect(at('late')).toEqual([170, 200]);
    expect(at('fine')).toEqual([120, 130]);
    expect(at('long')).toEqual([150, 650]); // longer than its parent: left where it is
    expect(a.moved).toBe(2);
    expect(t.start[findSpan(t, 'early')]).toBe(80);
    const r = detectSkew(t);
    expect(r.startsBefore).toBe(1);
  });

  it('feeds adjusted times to the critical path', () => {
    const t = buildTree(compact(spans));
    const a = adjustSkew(t);
    const raw = criticalPath(t);
    const adj = criticalPath(t, a.start, a.end);
    // raw: early (clamped to 100-110) finishes before fine starts, so it is on the path;
    // adjusted: early (100-130) overlaps fine (120-130) and drops off.
    expect(raw.onPath[findSpan(t, 'long')]).toBe(1);
    expect(raw.onPath[findSpan(t, 'early')]).toBe(1);
    expect(adj.onPath[findSpan(t, 'early')]).toBe(0);
    expect(adj.onPath[findSpan(t, 'fine')]).toBe(1);
  });
});
