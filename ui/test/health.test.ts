import { describe, expect, it } from 'vitest';
import { classifyHealth, nodeHealth, nodeKey, sampleFromEdges, worse } from '../src/lib/health';
import type { DepEdge, DependenciesResponse, MetricsResponse } from '../src/api/types';

const ms = 1e6;

describe('classifyHealth', () => {
  it('is green when error rate is low and p99 as before', () => {
    expect(classifyHealth({ count: 100, errorRate: 0.001, p99Nano: 22 * ms }, { count: 100, errorRate: 0, p99Nano: 20 * ms })).toEqual({
      health: 'ok',
      reasons: ['error rate and p99 as before'],
    });
  });

  it('turns amber and red on error rate', () => {
    expect(classifyHealth({ count: 100, errorRate: 0.02, p99Nano: 20 * ms }, { count: 100, errorRate: 0, p99Nano: 20 * ms })).toEqual({
      health: 'warn',
      reasons: ['error rate 2.0% (was 0%)'],
    });
    expect(classifyHealth({ count: 100, errorRate: 0.3, p99Nano: 20 * ms }, undefined).health).toBe('bad');
  });

  it('compares p99 with the previous period', () => {
    const prev = { count: 50, errorRate: 0, p99Nano: 20 * ms };
    expect(classifyHealth({ count: 50, errorRate: 0, p99Nano: 400 * ms }, prev)).toEqual({ health: 'bad', reasons: ['p99 400ms, was 20ms'] });
    expect(classifyHealth({ count: 50, errorRate: 0, p99Nano: 30 * ms }, prev).health).toBe('warn');
    expect(classifyHealth({ count: 50, errorRate: 0, p99Nano: 24 * ms }, prev).health).toBe('ok');
    // doubling a fast call is not worth a colour
    expect(classifyHealth({ count: 50, errorRate: 0, p99Nano: 2 * ms }, { count: 50, errorRate: 0, p99Nano: 1 * ms }).health).toBe('ok');
    // nor is a handful of spans
    expect(classifyHealth({ count: 2, errorRate: 0, p99Nano: 400 * ms }, prev).health).toBe('ok');
  });

  it('takes the worse of errors and latency', () => {
    const r = classifyHealth({ count: 50, errorRate: 0.02, p99Nano: 400 * ms }, { count: 50, errorRate: 0, p99Nano: 20 * ms });
    expect(r.health).toBe('bad');
    expect(r.reasons).toHaveLength(2);
    expect(worse('warn', 'ok')).toBe('warn');
    expect(worse('unknown', 'bad')).toBe('bad');
  });

  it('says when there is nothing to judge', () => {
    expect(classifyHealth(undefined, undefined).health).toBe('unknown');
    expect(classifyHealth({ count: 0, errorRate: 0, p99Nano: null }, undefined).health).toBe('unknown');
    expect(classifyHealth({ count: 9, errorRate: 0, p99Nano: 5 * ms }, undefined)).toEqual({ health: 'ok', reasons: ['no earlier spans to compare latency with'] });
  });
});

describe('sampleFromEdges', () => {
  it('sums calls and errors and takes the largest p99', () => {
    expect(
      sampleFromEdges([
        { calls: 90, errors: 0, p99Nano: 5 * ms },
        { calls: 10, errors: 10, p99Nano: 50 * ms },
        { calls: 0, errors: 0, p99Nano: null },
      ]),
    ).toEqual({ count: 100, errorRate: 0.1, p99Nano: 50 * ms });
    expect(sampleFromEdges([])).toBeUndefined();
  });
});

describe('nodeHealth', () => {
  const edge = (parent: string, child: string, childKind: DepEdge['childKind'], calls: number, errors: number, p99: number): DepEdge => ({
    parent,
    parentKind: 'service',
    child,
    childKind,
    calls,
    errors,
    rate: 1,
    errorRate: errors / calls,
    p50Nano: p99 / 2,
    p90Nano: p99,
    p99Nano: p99,
  });
  const deps = (edges: DepEdge[]): DependenciesResponse => ({ start: '0', end: '1', nodes: [], edges });
  const metrics = (rows: [string, number, number, number][]): MetricsResponse => ({
    start: '0',
    end: '1',
    stepSeconds: 60,
    series: rows.map(([service, count, errorRate, p99]) => ({
      service,
      operation: null,
      points: [],
      total: { timeUnixNano: '0', time: '', count, errors: count * errorRate, rate: 1, errorRate, meanNano: null, quantilesNano: { '0.5': p99 / 2, '0.9': p99, '0.99': p99 } },
    })),
  });
  it('judges services by their spans and databases by the calls into them', () => {
    const nodes = [
      { name: 'api', kind: 'service' as const },
      { name: 'web', kind: 'service' as const },
      { name: 'pg', kind: 'database' as const },
      { name: 'cron', kind: 'service' as const },
    ];
    const h = nodeHealth(
      nodes,
      { deps: deps([edge('api', 'pg', 'database', 100, 0, 3 * ms), edge('web', 'api', 'service', 100, 0, 400 * ms)]), metrics: metrics([['api', 100, 0, 400 * ms], ['web', 100, 0.02, 30 * ms]]) },
      { deps: deps([edge('api', 'pg', 'database', 100, 0, 3 * ms)]), metrics: metrics([['api', 100, 0, 11 * ms], ['web', 100, 0, 30 * ms]]) },
    );
    expect(h.get(nodeKey('service', 'api'))!.health).toBe('bad');
    expect(h.get(nodeKey('service', 'web'))!.health).toBe('warn');
    expect(h.get(nodeKey('database', 'pg'))!.health).toBe('ok');
    expect(h.get(nodeKey('service', 'cron'))!.health).toBe('unknown');
  });
});
