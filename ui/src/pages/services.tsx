// RED dashboards: all services, and one service with its operations.

import { useMemo } from 'preact/hooks';
import { get } from '../api/client';
import type { MetricsResponse, RedSeries } from '../api/types';
import { Empty, ErrorBox, Loading, NoDataHint, ServiceDot } from '../components/common';
import { quantile, RedCharts, RedTotals, Sparkline } from '../components/red';
import { TimeRangePicker } from '../components/timerange';
import { useAsync, useTitle } from '../lib/hooks';
import { href, navigate, useRoute } from '../lib/router';
import { rangeBounds, rangeFromQuery, rangeParams, stepFor, type TimeRange } from '../lib/timerange';
import { formatCount, formatDuration, formatPercent, formatRate } from '../trace/format';

// The metrics API counts entry spans (server and consumer) unless asked for `all` or one kind.
const KINDS: [string, string][] = [
  ['', 'entry spans'],
  ['all', 'all kinds'],
  ['server', 'server'],
  ['client', 'client'],
  ['producer', 'producer'],
  ['consumer', 'consumer'],
  ['internal', 'internal'],
];

export default function ServicesPage({ params }: { params: Record<string, string> }) {
  const route = useRoute();
  const q = route.query;
  const range = rangeFromQuery(q, '1h');
  const kind = q.get('kind') ?? '';
  const operation = q.get('operation') ?? '';
  const service = params.service;
  useTitle(service ? `${service} · RED` : 'Services');
  const setQ = (patch: Record<string, string | undefined>, r: TimeRange = range) => {
    navigate(
      href(location.pathname, {
        ...(r.start || r.end ? { start: r.start, end: r.end } : { lookback: r.lookback }),
        kind,
        operation,
        ...patch,
      }),
    );
  };
  const [from, to] = rangeBounds(range);
  const step = q.get('step') ?? stepFor(to - from);
  const toolbar = (
    <div class="toolbar">
      {service ? (
        <h1>
          <a href={href('/services', { lookback: range.lookback, start: range.start, end: range.end, kind })}>Services</a> /{' '}
          <ServiceDot name={service} /> {service}
        </h1>
      ) : (
        <h1>Services</h1>
      )}
      <span class="spacer" />
      <label class="inline">
        Span kind{' '}
        <select value={kind} data-testid="kind" onChange={(e) => setQ({ kind: (e.target as HTMLSelectElement).value })}>
          {KINDS.map(([k, label]) => (
            <option value={k}>{label}</option>
          ))}
        </select>
      </label>
      <TimeRangePicker value={range} onChange={(r) => setQ({}, r)} />
      {service && (
        <a class="btn" href={href('/search', { service, operation: operation || undefined, lookback: range.lookback, start: range.start, end: range.end })}>
          Find traces
        </a>
      )}
    </div>
  );
  return (
    <div class="services-page">
      {toolbar}
      {service ? (
        <ServiceDetail service={service} range={range} kind={kind} step={step} operation={operation} onOperation={(op) => setQ({ operation: op })} />
      ) : (
        <ServiceList range={range} kind={kind} step={step} />
      )}
    </div>
  );
}

function ServiceList({ range, kind, step }: { range: TimeRange; kind: string; step: string }) {
  const key = JSON.stringify([range, kind, step]);
  const res = useAsync((s) => get<MetricsResponse>('/api/v1/metrics', { ...rangeParams(range), kind, step }, s), [key]);
  if (res.loading && !res.data) return <Loading />;
  if (res.error) return <ErrorBox error={res.error} title="Could not load RED metrics" onRetry={res.reload} />;
  const series = [...res.data!.series].sort((a, b) => a.service.localeCompare(b.service));
  if (series.length === 0)
    return (
      <Empty title="No spans in this time range">
        Pick a longer range. If nothing was ever sent: <NoDataHint />
      </Empty>
    );
  return (
    <div class="card">
      <table class="grid services-table" data-testid="services-table">
        <thead>
          <tr>
            <th>Service</th>
            <th class="num">Spans</th>
            <th class="num">Rate</th>
            <th />
            <th class="num">Error rate</th>
            <th class="num">p50</th>
            <th class="num">p90</th>
            <th class="num">p99</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s) => (
            <tr data-testid="service-row" data-service={s.service}>
              <td>
                <a href={href(`/services/${encodeURIComponent(s.service)}`, { lookback: range.lookback, start: range.start, end: range.end, kind })}>
                  <ServiceDot name={s.service} /> {s.service}
                </a>
              </td>
              <td class="num">{formatCount(s.total.count)}</td>
              <td class="num">{formatRate(s.total.rate)}</td>
              <td>
                <Sparkline values={s.points.map((p) => p.rate)} />
              </td>
              <td class={`num ${s.total.errorRate > 0.05 ? 'err-text' : ''}`}>{formatPercent(s.total.errorRate)}</td>
              <td class="num">{fmt(quantile(s.total, '0.5'))}</td>
              <td class="num">{fmt(quantile(s.total, '0.9'))}</td>
              <td class="num">{fmt(quantile(s.total, '0.99'))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function fmt(v: number | null) {
  return v === null ? '–' : formatDuration(v);
}

function ServiceDetail({
  service,
  range,
  kind,
  step,
  operation,
  onOperation,
}: {
  service: string;
  range: TimeRange;
  kind: string;
  step: string;
  operation: string;
  onOperation: (op: string) => void;
}) {
  const key = JSON.stringify([service, range, kind, step]);
  const total = useAsync((s) => get<MetricsResponse>('/api/v1/metrics', { ...rangeParams(range), service, kind, step }, s), [key]);
  const ops = useAsync((s) => get<MetricsResponse>('/api/v1/metrics', { ...rangeParams(range), service, kind, step, groupByOperation: 'true' }, s), [key]);
  const opSeries = useMemo(() => [...(ops.data?.series ?? [])].sort((a, b) => b.total.count - a.total.count), [ops.data]);
  if (total.loading && !total.data) return <Loading />;
  if (total.error) return <ErrorBox error={total.error} title="Could not load RED metrics" onRetry={total.reload} />;
  const svcSeries: RedSeries | undefined = total.data!.series[0];
  const shown = operation ? opSeries.find((s) => s.operation === operation) : svcSeries;
  if (!svcSeries)
    return (
      <Empty title={`No spans of ${service} in this time range`}>
        Pick a longer range{kind ? ' or another span kind' : ''}.
      </Empty>
    );
  return (
    <div class="service-detail">
      <div class="card">
        <h2>
          {operation ? (
            <>
              <a
                href="#"
                onClick={(e) => {
                  e.preventDefault();
                  onOperation('');
                }}
              >
                {service}
              </a>{' '}
              / {operation}
            </>
          ) : (
            `${service}: all operations`
          )}
        </h2>
        {shown ? (
          <>
            <RedTotals total={shown.total} />
            <RedCharts series={shown} stepSeconds={total.data!.stepSeconds} kind={kind || undefined} />
          </>
        ) : (
          <Loading />
        )}
      </div>
      <div class="card">
        <h2>Operations</h2>
        {ops.error ? (
          <ErrorBox error={ops.error} />
        ) : !ops.data ? (
          <Loading />
        ) : (
          <table class="grid" data-testid="operations-table">
            <thead>
              <tr>
                <th>Operation</th>
                <th class="num">Spans</th>
                <th class="num">Rate</th>
                <th />
                <th class="num">Errors</th>
                <th class="num">Error rate</th>
                <th class="num">p50</th>
                <th class="num">p90</th>
                <th class="num">p99</th>
              </tr>
            </thead>
            <tbody>
              {opSeries.map((s) => (
                <tr class={s.operation === operation ? 'sel clickable' : 'clickable'} onClick={() => onOperation(s.operation === operation ? '' : (s.operation ?? ''))} data-testid="operation-row">
                  <td>{s.operation}</td>
                  <td class="num">{formatCount(s.total.count)}</td>
                  <td class="num">{formatRate(s.total.rate)}</td>
                  <td>
                    <Sparkline values={s.points.map((p) => p.rate)} />
                  </td>
                  <td class="num">{formatCount(s.total.errors)}</td>
                  <td class={`num ${s.total.errorRate > 0.05 ? 'err-text' : ''}`}>{formatPercent(s.total.errorRate)}</td>
                  <td class="num">{fmt(quantile(s.total, '0.5'))}</td>
                  <td class="num">{fmt(quantile(s.total, '0.9'))}</td>
                  <td class="num">{fmt(quantile(s.total, '0.99'))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
