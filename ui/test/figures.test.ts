import { describe, expect, it } from 'vitest';
import { describeLookback, detailEntries, figureLabel, figureRows, formatAgo, formatChange, formatFigure, humanize, kindLabel, scoreTone } from '../src/lib/figures';
import { tagCondition } from '../src/lib/tags';
import { splitCondition } from '../src/lib/tags';

describe('finding figures', () => {
  it('formats each figure with its unit', () => {
    expect(formatFigure('p90Ms', 318)).toBe('318ms');
    expect(formatFigure('p50Ms', 9.1)).toBe('9.1ms');
    expect(formatFigure('p99Ms', 1500)).toBe('1.5s');
    expect(formatFigure('selfTimeMs', 0.25)).toBe('250µs');
    expect(formatFigure('errorRate', 0.31)).toBe('31%');
    expect(formatFigure('errorRate', 0)).toBe('0%');
    expect(formatFigure('ratePerSecond', 3.2)).toBe('3.20/s');
    expect(formatFigure('count', 12345)).toBe('12,345');
    expect(formatFigure('perMinute', 4.5)).toBe('4.5/min');
    expect(formatFigure('lagMs', 65000)).toBe('1m 5s');
    expect(formatFigure('somethingElse', 1.23456)).toBe('1.23');
    expect(formatFigure('p90Ms', null)).toBe('–');
    expect(formatFigure('p90Ms', Number.NaN)).toBe('–');
  });

  it('labels figures, including unknown keys', () => {
    expect(figureLabel('p90Ms')).toBe('p90');
    expect(figureLabel('p999Ms')).toBe('p999');
    expect(figureLabel('ratePerSecond')).toBe('rate');
    expect(figureLabel('queueDepth')).toBe('queue depth');
    expect(figureLabel('oldestMessageMs')).toBe('oldest message');
  });

  it('describes changes as factors, percentages or percentage points', () => {
    expect(formatChange('p90Ms', 14.2, 318)).toBe('×22');
    expect(formatChange('p90Ms', 100, 250)).toBe('×2.5');
    expect(formatChange('p90Ms', 100, 112)).toBe('+12%');
    expect(formatChange('ratePerSecond', 3.2, 1.6)).toBe('−50%');
    expect(formatChange('errorRate', 0.01, 0.31)).toBe('+30.0 pp');
    expect(formatChange('errorRate', 0.2, 0.2)).toBe('±0');
    expect(formatChange('count', 0, 5)).toBe('new');
    expect(formatChange('count', 5, 5)).toBe('±0');
    expect(formatChange('count', null, 5)).toBe('');
  });

  it('lists the metric first, then the known figures in order, then the rest', () => {
    const rows = figureRows({
      metric: 'p90Ms',
      baseline: { p50Ms: 9.1, p90Ms: 14.2, errorRate: 0, zeta: 1, selfTimeMs: 2.1 },
      current: { p50Ms: 310, p90Ms: 318, errorRate: 0, zeta: 1, selfTimeMs: 303, alpha: 2 },
    });
    expect(rows.map((r) => r.key)).toEqual(['p90Ms', 'p50Ms', 'selfTimeMs', 'errorRate', 'alpha', 'zeta']);
    expect(rows[0]).toEqual({ key: 'p90Ms', label: 'p90', baseline: '14.2ms', current: '318ms', change: '×22', primary: true, direction: 'up' });
    expect(rows.find((r) => r.key === 'alpha')).toMatchObject({ baseline: '–', current: '2', change: '', direction: 'same' });
    expect(rows.find((r) => r.key === 'errorRate')!.direction).toBe('same');
  });

  it('shows no change for request counts of windows of different lengths, unless the count is the metric', () => {
    const latency = figureRows({ metric: 'p90Ms', baseline: { p90Ms: 10, count: 600 }, current: { p90Ms: 400, count: 27 } });
    expect(latency.find((r) => r.key === 'count')).toMatchObject({ baseline: '600', current: '27', change: '', direction: 'same' });
    const fresh = figureRows({ metric: 'count', baseline: { count: 0 }, current: { count: 4 } });
    expect(fresh[0]).toMatchObject({ change: 'new', direction: 'up' });
  });

  it('renders the details of each kind readably', () => {
    expect(detailEntries('n_plus_one', { parentOperation: 'GET /products', count: 24, statement: 'SELECT * FROM p WHERE id = ?' })).toEqual([
      { label: 'Statement', value: 'SELECT * FROM p WHERE id = ?', code: true },
      { label: 'Repeated', value: '24 times per request', code: false },
      { label: 'Inside', value: 'GET /products', code: false },
    ]);
    expect(detailEntries('new_error', { message: 'connection refused' })).toEqual([{ label: 'Message', value: 'connection refused', code: true }]);
    expect(detailEntries('queue_backlog', { destination: 'demo.orders.created', lagMs: 4200 })).toEqual([
      { label: 'Destination', value: 'demo.orders.created', code: true },
      { label: 'Lag', value: '4.2s', code: false },
    ]);
    expect(detailEntries('x', { hosts: ['a', 'b'], nested: { a: 1 }, ok: true })).toEqual([
      { label: 'Hosts', value: 'a; b', code: false },
      { label: 'Nested', value: '{"a":1}', code: false },
      { label: 'Ok', value: 'yes', code: false },
    ]);
    expect(detailEntries('latency', { addedMsPerRequest: 301.5, shareOfAddedTime: 0.87 })).toEqual([
      { label: 'Added per request', value: '302ms', code: false },
      { label: 'Share of added time', value: '87%', code: false },
    ]);
    expect(detailEntries('dead_letters', { failureOrigin: { service: 'payments', operation: 'charge' }, failedAttemptsPerMessage: 3.5 })).toEqual([
      { label: 'Failure origin', value: 'payments · charge', code: false },
      { label: 'Failed attempts per message', value: '3.5', code: false },
    ]);
    expect(detailEntries('errors', { newErrors: ['disk full', 'timeout'] })).toEqual([{ label: 'New errors', value: 'disk full; timeout', code: true }]);
    expect(detailEntries('latency', {})).toEqual([]);
    expect(detailEntries('latency', null)).toEqual([]);
  });

  it('names kinds and score bands', () => {
    expect(kindLabel('n_plus_one')).toBe('N+1 queries');
    expect(kindLabel('throughput_drop')).toBe('Throughput drop');
    expect(kindLabel('cache_misses')).toBe('Cache misses');
    expect(humanize('parentOperation')).toBe('Parent operation');
    expect([scoreTone(91.2), scoreTone(50), scoreTone(12)]).toEqual(['high', 'medium', 'low']);
  });
});

describe('times in words', () => {
  const now = 1_764_865_320_000;
  it('says how long ago', () => {
    expect(formatAgo(now - 1000, now)).toBe('just now');
    expect(formatAgo(now - 45_000, now)).toBe('45 s ago');
    expect(formatAgo(now - 3 * 60_000 - 5000, now)).toBe('3 min ago');
    expect(formatAgo(now - 2 * 3600_000, now)).toBe('2 h ago');
    expect(formatAgo(now - 3 * 86400_000, now)).toBe('3 d ago');
    expect(formatAgo(now + 60_000, now)).toBe('in the future');
  });
  it('spells out lookbacks', () => {
    expect(describeLookback('2m')).toBe('2 minutes');
    expect(describeLookback('1h')).toBe('hour');
    expect(describeLookback('30s')).toBe('30 seconds');
    expect(describeLookback('1h30m')).toBe('1h30m');
  });
});

describe('tagCondition', () => {
  it('escapes the alternative separator so the value matches exactly', () => {
    expect(tagCondition('app.region', 'eu-west')).toBe('app.region=eu-west');
    expect(tagCondition('q', 'a|b')).toBe('q=a\\|b');
    expect(tagCondition('path', 'C:\\x')).toBe('path=C:\\\\x');
    expect(splitCondition(tagCondition('k', 'v=1'))).toEqual({ key: 'k', op: '=', value: 'v=1' });
  });
});

describe('lookbackOf', () => {
  it('uses the largest whole unit', async () => {
    const { lookbackOf } = await import('../src/lib/figures');
    expect([lookbackOf(1800e3), lookbackOf(7200e3), lookbackOf(86400e3), lookbackOf(90e3), lookbackOf(45e3), lookbackOf(3601e3)]).toEqual(['30m', '2h', '1d', '90s', '45s', '60m']);
  });
});
