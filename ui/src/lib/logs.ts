// Log records: severity levels and their classes, a trace's lines grouped by span with offsets from the
// trace start, markers on the waterfall bars, and the log search form as URL and API parameters.

import type { LogLine } from '../api/types';
import { formatDuration } from '../trace/format';
import { rangeFromQuery, rangeParams, type TimeRange } from './timerange';

// ---- severity ----

export type SeverityLevel = 'unset' | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const LEVELS: SeverityLevel[] = ['unset', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The levels a search can start from, with the lowest severity number of each (OpenTelemetry's ranges). */
export const MIN_SEVERITIES: { value: string; label: string; number: number }[] = [
  { value: 'TRACE', label: 'TRACE and above', number: 1 },
  { value: 'DEBUG', label: 'DEBUG and above', number: 5 },
  { value: 'INFO', label: 'INFO and above', number: 9 },
  { value: 'WARN', label: 'WARN and above', number: 13 },
  { value: 'ERROR', label: 'ERROR and above', number: 17 },
  { value: 'FATAL', label: 'FATAL', number: 21 },
];

/**
 * The level of a record: from its severity number (1–4 TRACE ... 21–24 FATAL), else from its severity
 * text (`warning`, `ERR`, `critical`, ...), else unset.
 */
export function severityLevel(n: number, text = ''): SeverityLevel {
  if (n >= 21) return 'fatal';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 5) return 'debug';
  if (n >= 1) return 'trace';
  const t = text.trim().toLowerCase();
  if (/^(fatal|crit|emerg|alert|panic)/.test(t)) return 'fatal';
  if (/^(err|severe)/.test(t)) return 'error';
  if (/^warn/.test(t)) return 'warn';
  if (/^(info|notice)/.test(t)) return 'info';
  if (/^(debug|fine)/.test(t)) return 'debug';
  if (/^(trace|finest)/.test(t)) return 'trace';
  return 'unset';
}

export function lineLevel(l: Pick<LogLine, 'severityNumber' | 'severityText'>): SeverityLevel {
  return severityLevel(l.severityNumber, l.severityText);
}

/** Orders levels: unset 0 ... fatal 6. */
export function levelRank(level: SeverityLevel): number {
  return LEVELS.indexOf(level);
}

/** ERROR and FATAL: the lines that stand out. */
export function isErrorLevel(level: SeverityLevel): boolean {
  return level === 'error' || level === 'fatal';
}

/** CSS class of a severity badge or marker: `sev sev-error`. */
export function severityClass(level: SeverityLevel): string {
  return `sev sev-${level}`;
}

/** What a badge says: the record's own text, else the OpenTelemetry short name (`ERROR2` for 18). */
export function severityLabel(l: Pick<LogLine, 'severityNumber' | 'severityText'>): string {
  const text = l.severityText.trim();
  if (text) return text;
  const n = l.severityNumber;
  if (n < 1 || n > 24) return lineLevel(l) === 'unset' ? '–' : lineLevel(l).toUpperCase();
  const name = LEVELS[Math.floor((n - 1) / 4) + 1].toUpperCase();
  const step = (n - 1) % 4;
  return step ? `${name}${step + 1}` : name;
}

// ---- a trace's lines ----

export interface TraceLogs {
  /** Every line, in time order. */
  lines: LogLine[];
  /** Nanoseconds from the trace start, per line (negative before it). */
  offsets: Float64Array;
  /** Index of the line's span in the trace, or -1 (no span id, or a span the trace does not have). */
  span: Int32Array;
  levels: SeverityLevel[];
  /** Per span index: its lines' indexes, in time order. */
  bySpan: Map<number, number[]>;
  /** Lines without a span of this trace. */
  unattached: number[];
  /** Lines at ERROR or FATAL. */
  errors: number;
}

/** Compares two unix-nanosecond decimal strings. */
export function cmpNanos(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}

/** `a - b` in nanoseconds for unix-nanosecond strings (0 when one is not a number). */
export function nanosBetween(a: string, b: string): number {
  try {
    return Number(BigInt(a || '0') - BigInt(b || '0'));
  } catch {
    return 0;
  }
}

/**
 * Sorts a trace's lines by time (stable) and ties each to its span: `spanIndex` maps a span id (lower case)
 * to its index in the trace, or -1.
 */
export function groupLogs(input: LogLine[], spanIndex: (spanId: string) => number, traceStartUnixNano: string): TraceLogs {
  const lines = input
    .map((l, k) => ({ l, k }))
    .sort((a, b) => cmpNanos(a.l.timeUnixNano, b.l.timeUnixNano) || a.k - b.k)
    .map((x) => x.l);
  const n = lines.length;
  const offsets = new Float64Array(n);
  const span = new Int32Array(n);
  const levels: SeverityLevel[] = [];
  const bySpan = new Map<number, number[]>();
  const unattached: number[] = [];
  let errors = 0;
  for (let k = 0; k < n; k++) {
    const l = lines[k];
    offsets[k] = nanosBetween(l.timeUnixNano, traceStartUnixNano);
    const i = l.spanId ? spanIndex(l.spanId.toLowerCase()) : -1;
    span[k] = i;
    if (i >= 0) {
      let list = bySpan.get(i);
      if (!list) bySpan.set(i, (list = []));
      list.push(k);
    } else unattached.push(k);
    const level = lineLevel(l);
    levels.push(level);
    if (isErrorLevel(level)) errors++;
  }
  return { lines, offsets, span, levels, bySpan, unattached, errors };
}

/** A span-id lookup over a trace's span ids (the first span wins when an id repeats). */
export function spanIndexOf(spanIds: string[]): (spanId: string) => number {
  const m = new Map<string, number>();
  spanIds.forEach((id, i) => {
    const k = id.toLowerCase();
    if (!m.has(k)) m.set(k, i);
  });
  return (id) => m.get(id) ?? -1;
}

/** An offset from the trace start: `+12.5ms`, `-1.2ms` before it. */
export function formatOffset(ns: number): string {
  return ns < 0 ? formatDuration(ns) : `+${formatDuration(ns)}`;
}

/** Attribute values are JSON: strings as they are, everything else as JSON. */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

// ---- waterfall markers ----

export interface Marker {
  /** Pixels from the left of the timeline. */
  x: number;
  /** The most severe level among its lines. */
  level: SeverityLevel;
  /** Line indexes (into TraceLogs.lines) drawn as this marker, in time order. */
  lines: number[];
}

/**
 * Places a span's lines on its row: at their offset (plus `shift`, the span's skew adjustment) within the
 * window [t0, t1] drawn over `width` pixels. Lines outside the window are left out; lines closer than `minGap`
 * pixels share one marker, whose level is their most severe; at most `max` markers (the gap widens).
 */
export function placeMarkers(
  lineIdx: number[],
  logs: Pick<TraceLogs, 'offsets' | 'levels'>,
  shift: number,
  t0: number,
  t1: number,
  width: number,
  opts: { minGap?: number; max?: number } = {},
): Marker[] {
  const span = t1 - t0;
  if (!(span > 0) || width <= 0) return [];
  const max = Math.max(1, opts.max ?? 40);
  let gap = opts.minGap ?? 4;
  for (;;) {
    const out: Marker[] = [];
    for (const k of lineIdx) {
      const x = ((logs.offsets[k] + shift - t0) / span) * width;
      if (x < -0.5 || x > width + 0.5) continue;
      const cx = Math.max(0, Math.min(width, x));
      const last = out[out.length - 1];
      if (last && cx - last.x < gap) {
        last.lines.push(k);
        if (levelRank(logs.levels[k]) > levelRank(last.level)) last.level = logs.levels[k];
      } else out.push({ x: cx, level: logs.levels[k], lines: [k] });
    }
    if (out.length <= max) return out;
    gap = Math.max(gap * 2, width / max);
  }
}

/** A marker's tooltip: up to `show` lines as `+60ms ERROR card declined`, then how many more. */
export function markerTitle(m: Marker, logs: Pick<TraceLogs, 'lines' | 'offsets'>, show = 5): string {
  const parts = m.lines.slice(0, show).map((k) => {
    const l = logs.lines[k];
    const body = l.body.length > 200 ? `${l.body.slice(0, 200)}…` : l.body;
    return `${formatOffset(logs.offsets[k])} ${severityLabel(l)} ${body}`;
  });
  if (m.lines.length > show) parts.push(`… and ${m.lines.length - show} more`);
  return parts.join('\n');
}

// ---- the log search form ----

export interface LogForm {
  service: string;
  /** '' for any, else a name of MIN_SEVERITIES (or whatever the URL held, for the server to judge). */
  minSeverity: string;
  /** Text the body contains. */
  q: string;
  /** `key=value` pairs. */
  attrs: string[];
  traceId: string;
  range: TimeRange;
  limit: string;
}

export const DEFAULT_LOG_LIMIT = '100';

export function logFormFromQuery(q: URLSearchParams): LogForm {
  return {
    service: q.get('service') ?? '',
    minSeverity: q.get('minSeverity') ?? '',
    q: q.get('q') ?? '',
    attrs: q.getAll('attr').filter((a) => a !== ''),
    traceId: q.get('traceId') ?? '',
    range: rangeFromQuery(q, '1h'),
    limit: q.get('limit') ?? DEFAULT_LOG_LIMIT,
  };
}

/** The form as the page's URL parameters (defaults left out, so links stay short). */
export function logUrlParams(f: LogForm): Record<string, string | string[] | undefined> {
  const range = f.range.start || f.range.end ? { start: f.range.start, end: f.range.end } : { lookback: f.range.lookback && f.range.lookback !== '1h' ? f.range.lookback : undefined };
  return {
    service: f.service.trim() || undefined,
    minSeverity: f.minSeverity || undefined,
    q: f.q.trim() || undefined,
    attr: f.attrs.length ? f.attrs : undefined,
    traceId: f.traceId.trim() || undefined,
    ...range,
    limit: f.limit.trim() && f.limit.trim() !== DEFAULT_LOG_LIMIT ? f.limit.trim() : undefined,
  };
}

/** The form as `/api/v1/logs` takes it (values passed as typed: the server says what is wrong). */
export function logApiParams(f: LogForm): Record<string, string | string[] | undefined> {
  return {
    service: f.service.trim(),
    minSeverity: f.minSeverity,
    q: f.q.trim(),
    attr: f.attrs,
    traceId: f.traceId.trim(),
    ...rangeParams(f.range),
    limit: f.limit.trim() || DEFAULT_LOG_LIMIT,
  };
}

/** `key=value` split at the first `=`; null without a key. */
export function splitAttr(s: string): { key: string; value: string } | null {
  const i = s.indexOf('=');
  if (i <= 0) return null;
  return { key: s.slice(0, i).trim(), value: s.slice(i + 1) };
}

/** Attribute rows of the form to `key=value` pairs: rows without a key are left out. */
export function attrPairs(rows: { key: string; value: string }[]): string[] {
  return rows.filter((r) => r.key.trim() !== '').map((r) => `${r.key.trim()}=${r.value}`);
}

/** A link to a line's trace, at its span when it has one. */
export function traceHref(l: Pick<LogLine, 'traceId' | 'spanId'>): string | null {
  if (!l.traceId) return null;
  return `/trace/${l.traceId.toLowerCase()}${l.spanId ? `?span=${l.spanId.toLowerCase()}` : ''}`;
}
