// Health of a service-map node: its error rate now, and its p99 now against the previous period of
// the same length.

import type { DependenciesResponse, DepNode, MetricsResponse } from '../api/types';
import { formatDuration, formatPercent } from '../trace/format';

export type Health = 'ok' | 'warn' | 'bad' | 'unknown';

export interface HealthSample {
  /** Spans (or calls) in the period. */
  count: number;
  errorRate: number;
  p99Nano: number | null;
}

export interface HealthResult {
  health: Health;
  /** Why, in short phrases ("error rate 6.0%", "p99 400ms, was 20ms"). */
  reasons: string[];
}

export interface HealthThresholds {
  /** Error rates at or above these are amber / red. */
  errorWarn: number;
  errorBad: number;
  /** p99 at least this many times the previous one, and at least this much higher, is amber / red. */
  latencyWarnRatio: number;
  latencyWarnNano: number;
  latencyBadRatio: number;
  latencyBadNano: number;
  /** Fewer spans than this in either period: latency is not compared. */
  minCount: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  errorWarn: 0.01,
  errorBad: 0.05,
  latencyWarnRatio: 1.3,
  latencyWarnNano: 5e6,
  latencyBadRatio: 2,
  latencyBadNano: 10e6,
  minCount: 5,
};

const RANK: Record<Health, number> = { unknown: 0, ok: 1, warn: 2, bad: 3 };

export function worse(a: Health, b: Health): Health {
  return RANK[a] >= RANK[b] ? a : b;
}

export function classifyHealth(cur: HealthSample | undefined, prev: HealthSample | undefined, th: HealthThresholds = DEFAULT_THRESHOLDS): HealthResult {
  if (!cur || cur.count <= 0) return { health: 'unknown', reasons: ['no spans in this period'] };
  let health: Health = 'ok';
  const reasons: string[] = [];
  const prevErr = prev && prev.count > 0 ? ` (was ${formatPercent(prev.errorRate)})` : '';
  if (cur.errorRate >= th.errorBad) {
    health = 'bad';
    reasons.push(`error rate ${formatPercent(cur.errorRate)}${prevErr}`);
  } else if (cur.errorRate >= th.errorWarn) {
    health = 'warn';
    reasons.push(`error rate ${formatPercent(cur.errorRate)}${prevErr}`);
  }
  const p = cur.p99Nano;
  const q = prev?.p99Nano ?? null;
  if (p !== null && q !== null && q > 0 && prev && prev.count >= th.minCount && cur.count >= th.minCount) {
    const ratio = p / q;
    const diff = p - q;
    let lat: Health = 'ok';
    if (ratio >= th.latencyBadRatio && diff >= th.latencyBadNano) lat = 'bad';
    else if (ratio >= th.latencyWarnRatio && diff >= th.latencyWarnNano) lat = 'warn';
    if (lat !== 'ok') {
      reasons.push(`p99 ${formatDuration(p)}, was ${formatDuration(q)}`);
      health = worse(health, lat);
    }
  } else if (!prev || prev.count === 0) {
    reasons.push('no earlier spans to compare latency with');
  }
  if (health === 'ok' && reasons.length === 0) reasons.push('error rate and p99 as before');
  return { health, reasons };
}

/** Calls into a node (database, queue) as one sample: summed calls and errors, the largest p99. */
export function sampleFromEdges(edges: { calls: number; errors: number; p99Nano: number | null }[]): HealthSample | undefined {
  if (edges.length === 0) return undefined;
  let calls = 0;
  let errors = 0;
  let p99: number | null = null;
  for (const e of edges) {
    calls += e.calls;
    errors += e.errors;
    if (e.p99Nano !== null && (p99 === null || e.p99Nano > p99)) p99 = e.p99Nano;
  }
  return { count: calls, errorRate: calls ? errors / calls : 0, p99Nano: p99 };
}

export const HEALTH_LABEL: Record<Health, string> = {
  ok: 'healthy',
  warn: 'degraded',
  bad: 'unhealthy',
  unknown: 'no data',
};

export const nodeKey = (kind: string, name: string) => `${kind}\u0000${name}`;

/** Per-service samples from a /api/v1/metrics answer over the whole range. */
function serviceSamples(m: MetricsResponse | undefined): Map<string, HealthSample> {
  const out = new Map<string, HealthSample>();
  for (const s of m?.series ?? []) out.set(s.service, { count: s.total.count, errorRate: s.total.errorRate, p99Nano: s.total.quantilesNano?.['0.99'] ?? null });
  return out;
}

/** Health of every node: services from their spans, databases and queues from the calls into them. */
export function nodeHealth(
  nodes: DepNode[],
  cur: { deps: DependenciesResponse; metrics?: MetricsResponse },
  prev: { deps?: DependenciesResponse; metrics?: MetricsResponse },
): Map<string, HealthResult> {
  const curSvc = serviceSamples(cur.metrics);
  const prevSvc = serviceSamples(prev.metrics);
  const incoming = (deps: DependenciesResponse | undefined, n: DepNode) => sampleFromEdges((deps?.edges ?? []).filter((e) => e.child === n.name && e.childKind === n.kind));
  const out = new Map<string, HealthResult>();
  for (const n of nodes) {
    const useSpans = n.kind === 'service' && curSvc.has(n.name);
    const c = useSpans ? curSvc.get(n.name) : incoming(cur.deps, n);
    const p = useSpans ? prevSvc.get(n.name) : incoming(prev.deps, n);
    out.set(nodeKey(n.kind, n.name), classifyHealth(c, p));
  }
  return out;
}
