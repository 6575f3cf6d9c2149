// Time ranges in URLs: either `lookback=1h` (relative to now) or `start=...&end=...`
// (RFC 3339 or unix nanoseconds, as the API takes them).

import { nanosToMillis, parseDuration } from '../trace/format';

export interface TimeRange {
  lookback?: string;
  start?: string;
  end?: string;
}

export const PRESETS: { value: string; label: string }[] = [
  { value: '5m', label: 'Last 5 minutes' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '3h', label: 'Last 3 hours' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '12h', label: 'Last 12 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '2d', label: 'Last 2 days' },
  { value: '7d', label: 'Last 7 days' },
];

export function rangeFromQuery(q: URLSearchParams, defaultLookback: string): TimeRange {
  const start = q.get('start') ?? undefined;
  const end = q.get('end') ?? undefined;
  if (start || end) return { start, end };
  return { lookback: q.get('lookback') ?? defaultLookback };
}

/** Parameters for the API; lookback "all" means no time bounds. */
export function rangeParams(r: TimeRange): Record<string, string | undefined> {
  if (r.start || r.end) return { start: r.start, end: r.end };
  if (!r.lookback || r.lookback === 'all') return {};
  return { lookback: r.lookback };
}

/** A time parameter (unix nanoseconds or RFC 3339) as epoch milliseconds. */
export function parseTimeParam(s: string | undefined): number | null {
  if (!s) return null;
  if (/^\d+$/.test(s)) return nanosToMillis(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function rangeBounds(r: TimeRange, now = Date.now()): [number, number] {
  if (r.start || r.end) {
    const end = parseTimeParam(r.end) ?? now;
    const start = parseTimeParam(r.start) ?? end - 3600e3;
    return [start, end];
  }
  const lb = parseDuration(r.lookback ?? '1h');
  return [now - (lb === null ? 3600e3 : lb / 1e6), now];
}

/** A step in whole minutes giving at most about `points` points. */
export function stepFor(rangeMs: number, points = 120): string {
  const minutes = Math.max(1, Math.ceil(rangeMs / 60e3 / points));
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
  const m = nice.find((x) => x >= minutes) ?? minutes;
  return `${m}m`;
}

export function rangeLabel(r: TimeRange): string {
  if (r.start || r.end) {
    const f = (s?: string) => {
      const ms = parseTimeParam(s);
      return ms === null ? 'now' : new Date(ms).toLocaleString();
    };
    return `${f(r.start)} → ${f(r.end)}`;
  }
  if (r.lookback === 'all') return 'All time';
  return PRESETS.find((p) => p.value === r.lookback)?.label ?? `Last ${r.lookback}`;
}

/** Epoch ms to the value of an <input type="datetime-local">. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
