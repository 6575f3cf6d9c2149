import { describe, expect, it } from 'vitest';
import type { LogLine } from '../src/api/types';
import {
  attrPairs,
  cmpNanos,
  formatOffset,
  groupLogs,
  isErrorLevel,
  logApiParams,
  logFormFromQuery,
  logUrlParams,
  markerTitle,
  placeMarkers,
  severityClass,
  severityLabel,
  severityLevel,
  spanIndexOf,
  splitAttr,
  traceHref,
  valueText,
} from '../src/lib/logs';
import { href } from '../src/lib/router';

const START = '1700000000000000000';

function line(ms: number, severityNumber: number, body: string, spanId: string | null, extra: Partial<LogLine> = {}): LogLine {
  const nanos = (BigInt(START) + BigInt(Math.round(ms * 1e6))).toString();
  return {
    time: '',
    timeUnixNano: nanos,
    severityNumber,
    severityText: '',
    body,
    service: 'svc',
    traceId: '0'.repeat(31) + '1',
    spanId,
    attributes: {},
    resource: {},
    scope: '',
    eventName: '',
    ...extra,
  };
}

describe('severity', () => {
  it('follows the OpenTelemetry number ranges', () => {
    const levels = [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24].map((n) => severityLevel(n));
    expect(levels).toEqual(['unset', 'trace', 'trace', 'debug', 'debug', 'info', 'info', 'warn', 'warn', 'error', 'error', 'fatal', 'fatal']);
  });
  it('falls back on the text when the number is unset', () => {
    expect(severityLevel(0, 'Warning')).toBe('warn');
    expect(severityLevel(0, 'ERR')).toBe('error');
    expect(severityLevel(0, 'critical')).toBe('fatal');
    expect(severityLevel(0, 'notice')).toBe('info');
    expect(severityLevel(0, 'debug')).toBe('debug');
    expect(severityLevel(0, 'chatty')).toBe('unset');
    // the number wins over the text
    expect(severityLevel(9, 'ERROR')).toBe('info');
  });
  it('classes and labels', () => {
    expect(severityClass('error')).toBe('sev sev-error');
    expect(severityClass('unset')).toBe('sev sev-unset');
    expect(isErrorLevel('error') && isErrorLevel('fatal')).toBe(true);
    expect(isErrorLevel('warn')).toBe(false);
    expect(severityLabel({ severityNumber: 17, severityText: 'Error' })).toBe('Error');
    expect(severityLabel({ severityNumber: 17, severityText: '' })).toBe('ERROR');
    expect(severityLabel({ severityNumber: 18, severityText: '' })).toBe('ERROR2');
    expect(severityLabel({ severityNumber: 24, severityText: ' ' })).toBe('FATAL4');
    expect(severityLabel({ severityNumber: 0, severityText: '' })).toBe('–');
  });
});

describe('grouping a trace by span', () => {
  const spans = ['aaaa000000000001', 'aaaa000000000002', 'AAAA000000000003'];
  const input = [
    line(60, 17, 'card declined', 'aaaa000000000002'),
    line(2, 9, 'request received', 'aaaa000000000001'),
    line(110, 9, 'finished', null),
    line(50, 13, 'retrying', 'AAAA000000000002'),
    line(-1, 5, 'before the trace', 'aaaa000000000003'),
    line(70, 9, 'elsewhere', 'ffff000000000009'),
    line(50, 9, 'same time, later in the answer', 'aaaa000000000002'),
  ];
  const g = groupLogs(input, spanIndexOf(spans), START);
  it('orders the lines by time, keeping the answer order for equal times', () => {
    expect(g.lines.map((l) => l.body)).toEqual(['before the trace', 'request received', 'retrying', 'same time, later in the answer', 'card declined', 'elsewhere', 'finished']);
    expect([...g.offsets]).toEqual([-1e6, 2e6, 50e6, 50e6, 60e6, 70e6, 110e6]);
  });
  it('ties lines to spans, case-insensitively; lines without a span of the trace are unattached', () => {
    expect([...g.span]).toEqual([2, 0, 1, 1, 1, -1, -1]);
    expect(g.bySpan.get(1)).toEqual([2, 3, 4]);
    expect(g.bySpan.get(0)).toEqual([1]);
    expect(g.bySpan.get(2)).toEqual([0]);
    expect(g.unattached).toEqual([5, 6]);
    expect(g.errors).toBe(1);
    expect(g.levels).toEqual(['debug', 'info', 'warn', 'info', 'error', 'info', 'info']);
  });
  it('has nothing for an empty answer', () => {
    const e = groupLogs([], spanIndexOf(spans), START);
    expect(e.lines).toEqual([]);
    expect(e.bySpan.size).toBe(0);
  });
  it('compares nanosecond strings of any length', () => {
    expect(cmpNanos('999', '1000')).toBeLessThan(0);
    expect(cmpNanos('0001000', '1000')).toBe(0);
    expect(cmpNanos('1700000000000000002', '1700000000000000001')).toBeGreaterThan(0);
  });
  it('formats offsets from the trace start', () => {
    expect(formatOffset(60e6)).toBe('+60ms');
    expect(formatOffset(0)).toBe('+0ns');
    expect(formatOffset(-1.5e6)).toBe('-1.5ms');
  });
});

describe('waterfall markers', () => {
  const logs = {
    offsets: Float64Array.from([10e6, 10.1e6, 50e6, 60e6, 200e6]),
    levels: ['info', 'error', 'warn', 'debug', 'info'] as const,
  };
  const lv = { offsets: logs.offsets, levels: [...logs.levels] };
  it('places lines at their time within the window', () => {
    const m = placeMarkers([2, 3], lv, 0, 0, 100e6, 1000);
    expect(m.map((x) => [x.x, x.level, x.lines])).toEqual([
      [500, 'warn', [2]],
      [600, 'debug', [3]],
    ]);
  });
  it('merges close lines into one marker with the most severe level', () => {
    const m = placeMarkers([0, 1, 2], lv, 0, 0, 100e6, 1000);
    expect(m.map((x) => [x.x, x.level, x.lines])).toEqual([
      [100, 'error', [0, 1]],
      [500, 'warn', [2]],
    ]);
  });
  it('leaves out lines outside a zoomed window and follows the skew shift', () => {
    expect(placeMarkers([0, 2, 4], lv, 0, 40e6, 100e6, 600).map((x) => x.lines)).toEqual([[2]]);
    // the span was shifted 5 ms later: its lines move with it
    expect(placeMarkers([2], lv, 5e6, 0, 100e6, 1000)[0].x).toBe(550);
    // a line exactly at the window's end stays, clamped
    expect(placeMarkers([4], lv, 0, 0, 200e6, 800)[0].x).toBe(800);
  });
  it('caps the number of markers by widening the gap', () => {
    const n = 500;
    const many = { offsets: Float64Array.from({ length: n }, (_, k) => k * 1e6), levels: Array.from({ length: n }, (_, k) => (k === 250 ? 'fatal' : 'info') as 'fatal' | 'info') };
    const m = placeMarkers(
      Array.from({ length: n }, (_, k) => k),
      many,
      0,
      0,
      n * 1e6,
      1000,
      { max: 20 },
    );
    expect(m.length).toBeLessThanOrEqual(20);
    expect(m.reduce((s, x) => s + x.lines.length, 0)).toBe(n);
    expect(m.filter((x) => x.level === 'fatal').length).toBe(1);
  });
  it('draws nothing over an empty window', () => {
    expect(placeMarkers([0], lv, 0, 5, 5, 100)).toEqual([]);
    expect(placeMarkers([0], lv, 0, 0, 100, 0)).toEqual([]);
  });
  it('titles a marker with its lines', () => {
    const lines = [line(10, 9, 'one', null), line(10.1, 17, 'two', null, { severityText: 'ERROR' }), line(11, 9, 'three', null)];
    const g = groupLogs(lines, () => -1, START);
    const m = { x: 0, level: 'error' as const, lines: [0, 1, 2] };
    expect(markerTitle(m, g)).toBe('+10ms INFO one\n+10.1ms ERROR two\n+11ms INFO three');
    expect(markerTitle(m, g, 2)).toBe('+10ms INFO one\n+10.1ms ERROR two\n… and 1 more');
  });
});

describe('the log search form', () => {
  it('reads the URL', () => {
    const f = logFormFromQuery(new URLSearchParams('service=checkout&minSeverity=WARN&q=declined&attr=order.id%3D42&attr=a%3Db%3Dc&start=1&end=2&limit=50'));
    expect(f).toEqual({ service: 'checkout', minSeverity: 'WARN', q: 'declined', attrs: ['order.id=42', 'a=b=c'], traceId: '', range: { start: '1', end: '2' }, limit: '50' });
    expect(logFormFromQuery(new URLSearchParams('')).range).toEqual({ lookback: '1h' });
  });
  it('builds short page links and complete API parameters', () => {
    const f = logFormFromQuery(new URLSearchParams('q=%20declined%20&lookback=6h&attr=k%3Dv'));
    expect(href('/logs', logUrlParams(f))).toBe('/logs?q=declined&attr=k%3Dv&lookback=6h');
    expect(logApiParams(f)).toEqual({ service: '', minSeverity: '', q: 'declined', attr: ['k=v'], traceId: '', lookback: '6h', limit: '100' });
    // defaults stay out of the page's URL
    expect(href('/logs', logUrlParams(logFormFromQuery(new URLSearchParams('lookback=1h&limit=100'))))).toBe('/logs');
    // an absolute range replaces the lookback; a limit the server refuses is still passed on for it to say so
    const g = logFormFromQuery(new URLSearchParams('start=2024-01-01T00:00:00Z&end=2024-01-01T01:00:00Z&limit=9999&minSeverity=loud'));
    expect(logApiParams(g)).toMatchObject({ start: '2024-01-01T00:00:00Z', end: '2024-01-01T01:00:00Z', limit: '9999', minSeverity: 'loud' });
    expect(logApiParams(g).lookback).toBeUndefined();
  });
  it('splits and joins attribute conditions', () => {
    expect(splitAttr('http.route=/a=b')).toEqual({ key: 'http.route', value: '/a=b' });
    expect(splitAttr('k=')).toEqual({ key: 'k', value: '' });
    expect(splitAttr('=v')).toBeNull();
    expect(splitAttr('novalue')).toBeNull();
    expect(attrPairs([{ key: ' k ', value: 'v w' }, { key: '', value: 'ignored' }, { key: 'e', value: '' }])).toEqual(['k=v w', 'e=']);
  });
  it('links a line to its trace, at its span', () => {
    expect(traceHref({ traceId: 'ABCDEF', spanId: '0011' })).toBe('/trace/abcdef?span=0011');
    expect(traceHref({ traceId: 'abcdef', spanId: null })).toBe('/trace/abcdef');
    expect(traceHref({ traceId: null, spanId: '0011' })).toBeNull();
  });
  it('shows attribute values as text', () => {
    expect(valueText('card')).toBe('card');
    expect(valueText(42)).toBe('42');
    expect(valueText({ a: [1, true] })).toBe('{"a":[1,true]}');
  });
});
