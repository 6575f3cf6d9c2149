import { describe, expect, it } from 'vitest';
import { splitCondition } from '../src/lib/tags';
import { parseTimeParam, rangeBounds, rangeParams, stepFor } from '../src/lib/timerange';
import { serviceColor, serviceHue } from '../src/trace/colors';

describe('splitCondition', () => {
  it('splits at the first operator', () => {
    expect(splitCondition('http.response.status_code=500|503')).toEqual({ key: 'http.response.status_code', op: '=', value: '500|503' });
    expect(splitCondition('k!=v')).toEqual({ key: 'k', op: '!=', value: 'v' });
    expect(splitCondition('url.path=~/api/.*')).toEqual({ key: 'url.path', op: '=~', value: '/api/.*' });
    expect(splitCondition('k!~a=b')).toEqual({ key: 'k', op: '!~', value: 'a=b' });
    expect(splitCondition('k=a=b')).toEqual({ key: 'k', op: '=', value: 'a=b' });
    expect(splitCondition('k=')).toEqual({ key: 'k', op: '=', value: '' });
  });
  it('needs a key and an operator', () => {
    expect(splitCondition('justtext')).toBeNull();
    expect(splitCondition('=v')).toBeNull();
  });
});

describe('time ranges', () => {
  it('parses unix nanoseconds and RFC 3339', () => {
    expect(parseTimeParam('1700000000000000000')).toBe(1700000000000);
    expect(parseTimeParam('2023-11-14T22:13:20Z')).toBe(1700000000000);
    expect(parseTimeParam('nonsense')).toBeNull();
  });
  it('computes bounds and API parameters', () => {
    expect(rangeBounds({ lookback: '1h' }, 10_000_000)).toEqual([10_000_000 - 3_600_000, 10_000_000]);
    expect(rangeBounds({ start: '1700000000000000000', end: '1700000060000000000' })).toEqual([1700000000000, 1700000060000]);
    expect(rangeParams({ lookback: 'all' })).toEqual({});
    expect(rangeParams({ lookback: '6h' })).toEqual({ lookback: '6h' });
    expect(rangeParams({ start: 'a', end: 'b', lookback: '1h' })).toEqual({ start: 'a', end: 'b' });
  });
  it('picks whole-minute steps', () => {
    expect(stepFor(3600e3)).toBe('1m');
    expect(stepFor(24 * 3600e3)).toBe('15m');
    expect(stepFor(7 * 24 * 3600e3)).toBe('120m');
  });
});

describe('service colours', () => {
  it('are stable per name and avoid the error reds', () => {
    expect(serviceColor('checkout')).toBe(serviceColor('checkout'));
    for (const s of ['a', 'b', 'frontend', 'payments', 'db', 'x'.repeat(40)]) {
      const h = serviceHue(s);
      expect(h >= 12 && h <= 345).toBe(true);
    }
  });
});
