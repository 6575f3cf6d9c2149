// RED (rate, errors, duration) displays shared by the service dashboards and the service map.

import { useMemo } from 'preact/hooks';
import type { RedPoint, RedSeries } from '../api/types';
import { href, navigate } from '../lib/router';
import { cssVar } from '../lib/theme';
import { formatCount, formatDuration, formatPercent, formatRate } from '../trace/format';
import { Chart } from './chart';
import { Stat } from './common';

export function quantile(p: RedPoint, q: string): number | null {
  const v = p.quantilesNano?.[q];
  return v === undefined ? null : v;
}

export function RedTotals({ total, testid = 'red-totals' }: { total: RedPoint; testid?: string }) {
  return (
    <div class="stats" data-testid={testid}>
      <Stat label="Spans" value={formatCount(total.count)} testid="red-count" raw={total.count} />
      <Stat label="Rate" value={formatRate(total.rate)} testid="red-rate" raw={total.rate} />
      <Stat label="Errors" value={formatCount(total.errors)} testid="red-errors" raw={total.errors} tone={total.errors ? 'error' : undefined} />
      <Stat label="Error rate" value={formatPercent(total.errorRate)} testid="red-error-rate" raw={total.errorRate} tone={total.errorRate > 0.05 ? 'error' : undefined} />
      <Stat label="p50" value={fmtQ(quantile(total, '0.5'))} testid="red-p50" raw={quantile(total, '0.5')} />
      <Stat label="p90" value={fmtQ(quantile(total, '0.9'))} testid="red-p90" raw={quantile(total, '0.9')} />
      <Stat label="p99" value={fmtQ(quantile(total, '0.99'))} testid="red-p99" raw={quantile(total, '0.99')} />
    </div>
  );
}

function fmtQ(v: number | null): string {
  return v === null ? '–' : formatDuration(v);
}

/** Rate, error-rate and latency charts for one series; clicking a point searches that bucket. */
export function RedCharts({ series, stepSeconds, kind, compact }: { series: RedSeries; stepSeconds: number; kind?: string; compact?: boolean }) {
  const xs = useMemo(() => series.points.map((p) => Number(p.timeUnixNano.slice(0, -9) || '0') + Number(p.timeUnixNano.slice(-9)) / 1e9), [series]);
  const rate = useMemo(() => [xs, series.points.map((p) => p.rate)], [xs]);
  const errs = useMemo(() => [xs, series.points.map((p) => (p.count ? p.errorRate * 100 : null))], [xs]);
  const lat = useMemo(
    () => [
      xs,
      series.points.map((p) => positiveMs(quantile(p, '0.5'))),
      series.points.map((p) => positiveMs(quantile(p, '0.9'))),
      series.points.map((p) => positiveMs(quantile(p, '0.99'))),
    ],
    [xs],
  );
  const pick = (idx: number) => {
    const p = series.points[idx];
    if (!p) return;
    const start = BigInt(p.timeUnixNano);
    const end = start + BigInt(stepSeconds) * 1000000000n;
    navigate(
      href('/search', {
        service: series.service,
        operation: series.operation ?? undefined,
        tag: kind && kind !== 'all' ? [`span.kind=${kind}`] : undefined,
        start: start.toString(),
        end: end.toString(),
      }),
    );
  };
  const h = compact ? 120 : 170;
  const accent = cssVar('--accent') || '#3b82f6';
  const err = cssVar('--error') || '#dc2626';
  return (
    <>
    <div class={`red-charts ${compact ? 'compact' : ''}`} data-testid="red-charts">
      <div class="red-chart">
        <h4>Rate</h4>
        <Chart data={rate} height={h} series={[{ label: 'spans/s', color: accent }]} yFormat={(v) => formatRate(v)} onPick={pick} />
      </div>
      <div class="red-chart">
        <h4>Error rate</h4>
        <Chart data={errs} height={h} series={[{ label: 'errors', color: err }]} yFormat={(v) => `${+v.toFixed(2)}%`} onPick={pick} />
      </div>
      <div class="red-chart">
        <h4>
          Duration <span class="muted small">(log scale)</span>
        </h4>
        <Chart
          data={lat}
          height={h}
          yLog
          legend
          series={[
            { label: 'p50', color: '#10b981' },
            { label: 'p90', color: '#f59e0b' },
            { label: 'p99', color: '#ef4444' },
          ]}
          yFormat={(v) => formatDuration(v * 1e6)}
          onPick={pick}
        />
      </div>
    </div>
    {!compact && <div class="muted small">Click a point to search the traces of that time bucket.</div>}
    </>
  );
}

/** Nanoseconds to ms for a log axis: zero or negative durations cannot be drawn there. */
function positiveMs(v: number | null): number | null {
  return v === null || !(v > 0) ? null : v / 1e6;
}

/** A small SVG sparkline. */
export function Sparkline({ values, color = 'var(--accent)', width = 120, height = 24 }: { values: (number | null)[]; color?: string; width?: number; height?: number }) {
  const nums = values.map((v) => v ?? 0);
  const max = Math.max(...nums, 1e-12);
  const step = nums.length > 1 ? width / (nums.length - 1) : width;
  const d = nums.map((v, i) => `${i ? 'L' : 'M'}${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`).join('');
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <path d={d} fill="none" stroke={color} stroke-width="1.5" />
    </svg>
  );
}
