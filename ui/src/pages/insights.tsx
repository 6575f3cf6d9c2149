// Insights: what left its usual range in the last minutes, ranked, each with the operation that
// caused it, its figures against the baseline, example traces and a normal trace to compare with.

import { useState } from 'preact/hooks';
import { get } from '../api/client';
import type { Finding, InsightsResponse } from '../api/types';
import { Empty, ErrorBox, Loading, ServiceDot } from '../components/common';
import { Trend } from '../components/trend';
import { describeLookback, lookbackOf, detailEntries, figureRows, formatAgo, formatFigure, kindLabel, scoreTone } from '../lib/figures';
import { useAsync, useNow, useTicker, useTitle } from '../lib/hooks';
import { href, navigate, useRoute } from '../lib/router';
import { formatCount, formatTime, nanosToMillis } from '../trace/format';

const LOOKBACKS = ['2m', '5m', '10m', '15m', '30m', '1h'];
const REFRESH_MS = 15_000;

export default function InsightsPage() {
  const route = useRoute();
  const q = route.query;
  const lookback = q.get('lookback') || '2m';
  const service = q.get('service') ?? '';
  const auto = q.get('refresh') !== 'off';
  useTitle('Insights');
  const setQ = (patch: Record<string, string | undefined>) =>
    navigate(href('/insights', { lookback: lookback !== '2m' ? lookback : undefined, service, refresh: auto ? undefined : 'off', ...patch }), { replace: true });
  const tick = useTicker(REFRESH_MS, auto);
  const [loadedAt, setLoadedAt] = useState(0);
  const res = useAsync(
    (s) =>
      get<InsightsResponse>('/api/v1/insights', { lookback, service }, s).then((r) => {
        setLoadedAt(Date.now());
        return r;
      }),
    [lookback, service, tick],
  );
  const services = useAsync((s) => get<{ services: string[] }>('/api/v1/services', {}, s), []);
  const now = useNow();
  return (
    <div class="insights-page" data-testid="insights-page">
      <div class="toolbar">
        <h1>Insights</h1>
        <span class="muted small">what changed, and where it started</span>
        <span class="spacer" />
        <label class="inline">
          Service{' '}
          <select data-testid="insights-service" value={service} onChange={(e) => setQ({ service: (e.target as HTMLSelectElement).value })}>
            <option value="">All services</option>
            {(services.data?.services ?? []).map((s) => (
              <option value={s}>{s}</option>
            ))}
            {service && !(services.data?.services ?? []).includes(service) && <option value={service}>{service}</option>}
          </select>
        </label>
        <label class="inline">
          Last{' '}
          <select data-testid="insights-lookback" value={lookback} onChange={(e) => setQ({ lookback: (e.target as HTMLSelectElement).value })}>
            {LOOKBACKS.map((l) => (
              <option value={l}>{describeLookback(l)}</option>
            ))}
            {!LOOKBACKS.includes(lookback) && <option value={lookback}>{lookback}</option>}
          </select>
        </label>
        <label class="inline" title="Reload every 15 seconds">
          <input type="checkbox" data-testid="insights-auto" checked={auto} onChange={(e) => setQ({ refresh: (e.target as HTMLInputElement).checked ? undefined : 'off' })} /> auto-refresh
        </label>
        <button type="button" onClick={res.reload} disabled={res.loading} data-testid="insights-refresh">
          {res.loading ? <span class="spinner" /> : '↻'} Refresh
        </button>
        {loadedAt > 0 && (
          <span class="muted small" title={formatTime(loadedAt)}>
            updated {formatAgo(loadedAt, now)}
          </span>
        )}
      </div>
      {res.loading && !res.data ? (
        <Loading label="Looking for changes…" />
      ) : res.error ? (
        <ErrorBox error={res.error} title="Could not load insights" onRetry={res.reload} />
      ) : (
        <Findings data={res.data!} lookback={lookback} service={service} />
      )}
    </div>
  );
}

function Findings({ data, lookback, service }: { data: InsightsResponse; lookback: string; service: string }) {
  const analyzed = `${formatCount(data.analyzed.operations)} operation${data.analyzed.operations === 1 ? '' : 's'} and ${formatCount(data.analyzed.traces)} trace${data.analyzed.traces === 1 ? '' : 's'}`;
  const ws = nanosToMillis(data.windowStart);
  const we = nanosToMillis(data.windowEnd);
  const bs = nanosToMillis(data.baselineStart);
  const hm = (ms: number) => formatTime(ms).slice(11, 16);
  if (data.findings.length === 0)
    return (
      <Empty title={`Nothing unusual in the last ${describeLookback(lookback)}${service ? ` for ${service}` : ''}`}>
        <span data-testid="insights-analyzed" data-operations={data.analyzed.operations}>
          Analyzed {analyzed}: latency, errors and throughput stayed within their range of the {describeLookback(lookbackOf(ws - bs))} before.
        </span>
      </Empty>
    );
  return (
    <div>
      <div class="muted small insights-summary" data-testid="insights-analyzed" data-operations={data.analyzed.operations}>
        {data.findings.length} finding{data.findings.length === 1 ? '' : 's'} · analyzed {analyzed} · {hm(ws)}–{hm(we)} against {hm(bs)}–{hm(ws)}
      </div>
      <ol class="findings" data-testid="findings">
        {data.findings.map((f, i) => (
          <FindingCard f={f} rank={i + 1} windowStart={data.windowStart} windowEnd={data.windowEnd} />
        ))}
      </ol>
    </div>
  );
}

function FindingCard({ f, rank, windowStart, windowEnd }: { f: Finding; rank: number; windowStart: string; windowEnd: string }) {
  const rows = figureRows(f);
  const details = detailEntries(f.kind, f.details);
  const sinceMs = nanosToMillis(f.since);
  const tone = scoreTone(f.score);
  const traces = f.exemplars?.traces ?? [];
  const baselineTrace = f.exemplars?.baseline ?? null;
  const fmt = (v: number) => formatFigure(f.metric, v);
  return (
    <li class={`card finding kind-${f.kind}`} data-testid="finding" data-kind={f.kind} data-service={f.service} data-operation={f.operation}>
      <div class="finding-head">
        <span class="finding-rank">{rank}</span>
        <span class={`kind-badge kind-${f.kind}`} data-testid="finding-kind">
          {kindLabel(f.kind)}
        </span>
        <a class="finding-title" href={href(`/services/${encodeURIComponent(f.service)}`, { operation: f.operation, lookback: '1h' })}>
          <ServiceDot name={f.service} />
          <b data-testid="finding-service">{f.service}</b> <span data-testid="finding-operation">{f.operation}</span>
        </a>
        {f.spanKind && <span class="badge">{f.spanKind}</span>}
        <span class="spacer" />
        <span class="finding-since muted small" data-testid="finding-since" title={formatTime(sinceMs)}>
          since {formatAgo(sinceMs)}
        </span>
        <span class={`score score-${tone}`} data-testid="finding-score" data-raw={f.score} title="Importance, 0 to 100 (alerting rules fire at 50 by default)">
          <span class="score-bar">
            <span style={{ width: `${Math.max(2, Math.min(100, f.score))}%` }} />
          </span>
          {Math.round(f.score)}
        </span>
      </div>
      <p class="finding-summary" data-testid="finding-summary">
        {f.summary}
      </p>
      <div class="finding-body">
        <div class="finding-trend">
          {(f.series ?? []).some((p) => p.value !== null) ? (
            <>
              <Trend series={f.series} windowStart={windowStart} baseline={f.baseline?.[f.metric] ?? null} format={fmt} testid="finding-trend" />
              <div class="muted small">
                {rows.find((r) => r.primary)?.label ?? f.metric} per minute; shaded: the recent window, dashed: baseline
              </div>
            </>
          ) : (
            <div class="muted small">no per-minute series</div>
          )}
        </div>
        <table class="figures" data-testid="finding-figures">
          <thead>
            <tr>
              <th />
              <th class="num">baseline</th>
              <th class="num">now</th>
              <th class="num">change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr class={r.primary ? 'primary' : ''} data-key={r.key}>
                <th>{r.label}</th>
                <td class="num">{r.baseline}</td>
                <td class="num">{r.current}</td>
                <td class={`num change ${r.direction}`}>{r.change}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="finding-side">
          {details.length > 0 && (
            <dl class="finding-details" data-testid="finding-details">
              {details.map((d) => (
                <>
                  <dt>{d.label}</dt>
                  <dd>{d.code ? <code class="stmt">{d.value}</code> : d.value}</dd>
                </>
              ))}
            </dl>
          )}
          {f.affected?.length > 0 && (
            <div class="finding-affected" data-testid="finding-affected">
              <span class="muted small">Explains the change of </span>
              {f.affected.map((a) => (
                <a class="chip" href={href(`/services/${encodeURIComponent(a.service)}`, { operation: a.operation, lookback: '1h' })} data-testid="affected">
                  <ServiceDot name={a.service} />
                  <span class="chip-name">
                    {a.service} · {a.operation}
                  </span>
                </a>
              ))}
            </div>
          )}
        </div>
      </div>
      <div class="finding-links">
        {traces.slice(0, 5).map((id, i) => (
          <a class="btn" href={`/trace/${id}`} data-testid="exemplar" title={id}>
            {i === 0 ? 'Example trace' : 'Trace'} <span class="mono">{id.slice(0, 8)}</span>
          </a>
        ))}
        {traces.length > 0 && baselineTrace && (
          <a class="btn primary" href={`/compare/${traces[0]}/${baselineTrace}`} data-testid="compare-link" title="Compare the example with a trace of the same operation from the baseline">
            Compare with a normal trace
          </a>
        )}
        <span class="spacer" />
        <a href={href('/search', { service: f.service, operation: f.operation, start: windowStart, end: windowEnd })}>Traces in the window</a>
      </div>
    </li>
  );
}
