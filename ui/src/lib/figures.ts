// Figures of the diagnosis answers (insights, alerts, breakdown): labels, units, changes, relative times.

import { formatCount, formatDuration, formatPercent, formatRate } from '../trace/format';
import type { Finding } from '../api/types';

const KIND_LABELS: Record<string, string> = {
  latency: 'Latency',
  errors: 'Errors',
  new_error: 'New error',
  n_plus_one: 'N+1 queries',
  queue_backlog: 'Queue backlog',
  dead_letters: 'Dead letters',
  throughput_drop: 'Throughput drop',
};

/** A finding kind as shown on its badge; unknown kinds are spelled out from their name. */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? humanize(kind);
}

/** `parentOperation` / `parent_operation` -> "Parent operation". */
export function humanize(key: string): string {
  const words = key
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : key;
}

type Unit = 'ms' | 'ratio' | 'rate' | 'count' | 'perMinute' | 'number';

const KNOWN: Record<string, { label: string; unit: Unit }> = {
  p50Ms: { label: 'p50', unit: 'ms' },
  p90Ms: { label: 'p90', unit: 'ms' },
  p95Ms: { label: 'p95', unit: 'ms' },
  p99Ms: { label: 'p99', unit: 'ms' },
  meanMs: { label: 'mean', unit: 'ms' },
  selfTimeMs: { label: 'self time', unit: 'ms' },
  lagMs: { label: 'lag', unit: 'ms' },
  errorRate: { label: 'error rate', unit: 'ratio' },
  ratePerSecond: { label: 'rate', unit: 'rate' },
  count: { label: 'count', unit: 'count' },
  perMinute: { label: 'per minute', unit: 'perMinute' },
};

/** Display order of figures after the finding's own metric. */
const ORDER = ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'meanMs', 'selfTimeMs', 'errorRate', 'ratePerSecond', 'count', 'perMinute', 'lagMs'];

function unitOf(key: string): Unit {
  const k = KNOWN[key];
  if (k) return k.unit;
  if (/Ms$/.test(key)) return 'ms';
  if (/(Rate|Share|Ratio)$/.test(key)) return 'ratio';
  if (/PerSecond$/.test(key)) return 'rate';
  if (/PerMinute$/.test(key)) return 'perMinute';
  if (/(count|Count|Spans|Traces)$/.test(key)) return 'count';
  return 'number';
}

export function figureLabel(key: string): string {
  const k = KNOWN[key];
  if (k) return k.label;
  const p = /^p(\d+)Ms$/.exec(key);
  if (p) return `p${p[1]}`;
  return humanize(key.replace(/Ms$/, '')).toLowerCase();
}

function trimNumber(x: number): string {
  const a = Math.abs(x);
  if (a >= 1000) return formatCount(Math.round(x));
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  return x.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** A figure with its unit: p90Ms 318 -> "318ms", errorRate 0.31 -> "31%", ratePerSecond 3.2 -> "3.20/s". */
export function formatFigure(key: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  switch (unitOf(key)) {
    case 'ms':
      return formatDuration(value * 1e6);
    case 'ratio':
      return formatPercent(value);
    case 'rate':
      return formatRate(value);
    case 'count':
      return formatCount(Math.round(value));
    case 'perMinute':
      return `${trimNumber(value)}/min`;
    default:
      return trimNumber(value);
  }
}

/** The change from a baseline figure to a current one: "×22", "+12%", "−40%", "+30.0 pp" (ratios), "new". */
export function formatChange(key: string, base: number | null | undefined, cur: number | null | undefined): string {
  if (base === null || base === undefined || cur === null || cur === undefined || !Number.isFinite(base) || !Number.isFinite(cur)) return '';
  if (unitOf(key) === 'ratio') {
    const pp = (cur - base) * 100;
    if (Math.abs(pp) < 0.05) return '±0';
    return `${pp > 0 ? '+' : '−'}${Math.abs(pp).toFixed(1)} pp`;
  }
  if (base === cur) return '±0';
  if (base === 0) return cur > 0 ? 'new' : '';
  const ratio = cur / base;
  if (ratio >= 2) return `×${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1).replace(/\.0$/, '')}`;
  const pct = (ratio - 1) * 100;
  if (Math.abs(pct) < 0.5) return '±0';
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct).toFixed(0)}%`;
}

export interface FigureRow {
  key: string;
  label: string;
  baseline: string;
  current: string;
  change: string;
  /** The finding's own metric (charted by its series). */
  primary: boolean;
  /** Current above / below the baseline. */
  direction: 'up' | 'down' | 'same';
}

/** The baseline and current figures of a finding, its metric first, then a fixed order, then the rest. */
export function figureRows(f: Pick<Finding, 'metric' | 'baseline' | 'current'>): FigureRow[] {
  const keys = new Set([...Object.keys(f.baseline ?? {}), ...Object.keys(f.current ?? {})]);
  const ordered: string[] = [];
  if (keys.has(f.metric)) ordered.push(f.metric);
  for (const k of ORDER) if (keys.has(k) && k !== f.metric) ordered.push(k);
  for (const k of [...keys].sort()) if (!ordered.includes(k)) ordered.push(k);
  return ordered.map((key) => {
    const b = f.baseline?.[key];
    const c = f.current?.[key];
    // Request counts cover windows of different lengths (30 minutes against 2): no change to show, unless the
    // count is the finding's own figure (a new error seen N times against none).
    const comparable = key !== 'count' || f.metric === 'count';
    const direction =
      comparable && typeof b === 'number' && typeof c === 'number' ? (c > b ? 'up' : c < b ? 'down' : 'same') : 'same';
    return {
      key,
      label: figureLabel(key),
      baseline: formatFigure(key, b),
      current: formatFigure(key, c),
      change: comparable ? formatChange(key, b, c) : '',
      primary: key === f.metric,
      direction,
    };
  });
}

export interface DetailEntry {
  label: string;
  value: string;
  /** Shown as code (statements, messages, destinations). */
  code: boolean;
}

const DETAIL_LABELS: Record<string, string> = {
  statement: 'Statement',
  parentOperation: 'Inside',
  message: 'Message',
  destination: 'Destination',
  exceptionType: 'Exception',
};
const CODE_KEYS = new Set(['statement', 'message', 'destination', 'query', 'exceptionType', 'errorType', 'errorKind', 'newErrors']);
const DETAIL_ORDER = ['statement', 'message', 'newErrors', 'destination', 'count', 'parentOperation', 'clientOperation', 'failureOrigin'];

function detailValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? formatCount(v) : trimNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.map(detailValue).join('; ');
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    // an operation reference
    if (typeof o.service === 'string' && typeof o.operation === 'string' && Object.keys(o).length === 2) return `${o.service} · ${o.operation}`;
  }
  return JSON.stringify(v);
}

/** The kind-specific details of a finding as labelled lines (statement of an N+1 first, and so on). */
export function detailEntries(kind: string, details: Record<string, unknown> | null | undefined): DetailEntry[] {
  if (!details || typeof details !== 'object') return [];
  const keys = Object.keys(details);
  keys.sort((a, b) => {
    const ia = DETAIL_ORDER.indexOf(a);
    const ib = DETAIL_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return keys.map((key) => {
    const v = details[key];
    let value = detailValue(v);
    let label = DETAIL_LABELS[key] ?? humanize(key);
    const ms = /Ms(Per[A-Z]\w*)?$/.exec(key);
    if (key === 'count' && kind === 'n_plus_one' && typeof v === 'number') {
      label = 'Repeated';
      value = `${formatCount(v)} times per request`;
    } else if (ms && typeof v === 'number') {
      // addedMsPerRequest -> "Added per request", lagMs -> "Lag"
      label = DETAIL_LABELS[key] ?? humanize(key.slice(0, ms.index) + (ms[1] ?? ''));
      value = formatDuration(v * 1e6);
    } else if (/share/i.test(key) && typeof v === 'number' && v >= 0 && v <= 1) {
      value = formatPercent(v);
    }
    return { label, value, code: CODE_KEYS.has(key) };
  });
}

/** "just now", "45 s ago", "3 min ago", "2 h ago", "3 d ago". */
export function formatAgo(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < -5) return 'in the future';
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

const UNIT_NAMES: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/** A lookback as words: "2m" -> "2 minutes", "1h" -> "hour". */
export function describeLookback(lookback: string): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(lookback.trim());
  if (!m) return lookback;
  const n = Number(m[1]);
  const unit = UNIT_NAMES[m[2]];
  return n === 1 ? unit : `${n} ${unit}s`;
}

/** Score bands: 50 is the default alerting line. */
export function scoreTone(score: number): 'high' | 'medium' | 'low' {
  return score >= 75 ? 'high' : score >= 50 ? 'medium' : 'low';
}

/** A length of time as a lookback string in its largest whole unit: 1800000 -> "30m", 7200000 -> "2h". */
export function lookbackOf(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  if (s > 120) return `${Math.round(s / 60)}m`;
  return `${s}s`;
}
