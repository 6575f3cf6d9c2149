import { describe, expect, it } from 'vitest';
import { formatDuration, millisToNanos, nanosToMillis, parseDuration } from '../src/trace/format';
import { filterSpans } from '../src/trace/filter';
import { buildTree } from '../src/trace/tree';
import { compact } from './helpers';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850ns');
    expect(formatDuration(12_300)).toBe('12.3µs');
    expect(formatDuration(4_560_000)).toBe('4.56ms');
    expect(formatDuration(1_000_000_000)).toBe('1s');
    expect(formatDuration(125e9)).toBe('2m 5s');
  });
  it('parses Go-style durations', () => {
    expect(parseDuration('250ms')).toBe(250e6);
    expect(parseDuration('1h30m')).toBe(5400e9);
    expect(parseDuration('1.5s')).toBe(1.5e9);
    expect(parseDuration('7d')).toBe(7 * 86400e9);
    expect(parseDuration('12')).toBeNull();
    expect(parseDuration('abc')).toBeNull();
  });
  it('converts unix nanosecond strings', () => {
    expect(nanosToMillis('1700000000123456789')).toBeCloseTo(1700000000123.4568, 3);
    expect(millisToNanos(1700000000123)).toBe('1700000000123000000');
  });
});

describe('filterSpans', () => {
  const t = buildTree(
    compact([
      { id: 'aaaa000000000001', start: 0, dur: 100e6, svc: 'frontend', name: 'GET /cart' },
      { id: 'aaaa000000000002', parent: 'aaaa000000000001', start: 1, dur: 5e6, svc: 'cart', name: 'load', status: 2 },
      { id: 'bbbb000000000003', parent: 'aaaa000000000001', start: 2, dur: 50e6, svc: 'db', name: 'SELECT cart', kind: 3 },
    ]),
  );
  const q = (s: string) => filterSpans(t, s)?.list.map((i) => t.spanId[i].slice(-1));
  it('matches text against service, operation and id', () => {
    expect(q('cart')).toEqual(['1', '2', '3']);
    expect(q('FRONT')).toEqual(['1']);
    expect(q('bbbb')).toEqual(['3']);
  });
  it('supports field terms and durations', () => {
    expect(q('is:error')).toEqual(['2']);
    expect(q('service:db')).toEqual(['3']);
    expect(q('kind:client')).toEqual(['3']);
    expect(q('>10ms')).toEqual(['1', '3']);
    expect(q('cart <10ms')).toEqual(['2']);
    expect(filterSpans(t, '  ')).toBeNull();
    const onPath = Uint8Array.from([1, 0, 1]);
    expect(filterSpans(t, 'is:critical', { onPath })?.count).toBe(2);
    expect(filterSpans(t, 'is:skew', { skew: Uint8Array.from([0, 1, 0]) })?.list).toEqual([1]);
  });
});
