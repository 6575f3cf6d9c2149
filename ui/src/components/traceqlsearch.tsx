// The search page's TraceQL mode (loaded on demand): the query, time range and limit live in the URL (`mode=traceql&q=...`);
// /api/v1/traceql answers traces with their span sets, or series for a metrics query (drawn as a chart
// with a table of the last values). A syntax error is shown in place, under the box.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, postJson } from '../api/client';
import type { SpanSet, TraceqlMetricsResponse, TraceqlSearchResponse } from '../api/types';
import { useAsync } from '../lib/hooks';
import { href, navigate, useRoute } from '../lib/router';
import { rangeFromQuery, rangeParams, type TimeRange } from '../lib/timerange';
import { alignSeries, errorPosition, formatMetric, metricsUnit, seriesLabel, valueText } from '../lib/traceql';
import { formatDuration, formatTime, nanosToMillis } from '../trace/format';
import { Chart } from './chart';
import { Empty, ErrorBox, Loading, ServiceDot } from './common';
import { ResultRow } from './resultrow';
import { TimeRangePicker } from './timerange';
import { TraceqlInput } from './traceqlinput';

const EXAMPLES = [
  '{ status = error }',
  '{ span.http.response.status_code >= 500 } | by(resource.service.name)',
  '{ kind = server && duration > 500ms } | select(span.http.route)',
  '{ kind = client } >> { status = error }',
  '{ } | rate() by (resource.service.name)',
  '{ kind = server } | quantile_over_time(duration, .5, .99)',
];

interface Applied {
  query: string;
  range: TimeRange;
  limit: string;
}

/** An answer, or the server's reason for refusing the query (400), with the query it is for. */
type Outcome = { query: string } & ({ answer: TraceqlSearchResponse | TraceqlMetricsResponse } | { refused: string });

function runQuery(a: Applied, signal: AbortSignal): Promise<Outcome | null> {
  if (!a.query.trim()) return Promise.resolve(null);
  return postJson<TraceqlSearchResponse | TraceqlMetricsResponse>('/api/v1/traceql', { query: a.query, ...rangeParams(a.range), limit: a.limit }, signal).then(
    (answer) => ({ query: a.query, answer }),
    (e) => {
      if (e instanceof ApiError && e.status === 400) return { query: a.query, refused: e.message };
      throw e;
    },
  );
}

function run(a: Applied) {
  navigate(href('/search', { mode: 'traceql', q: a.query, ...rangeParams(a.range), limit: a.limit !== '20' ? a.limit : undefined }));
}

export function TraceqlSearch() {
  const route = useRoute();
  const q = route.query;
  const applied: Applied = { query: q.get('q') ?? '', range: rangeFromQuery(q, '1h'), limit: q.get('limit') ?? '20' };
  const [runs, setRuns] = useState(0);
  const key = JSON.stringify(applied);
  const res = useAsync((s) => runQuery(applied, s), [key, runs]);
  const out = res.data;
  return (
    <>
      <TraceqlForm
        applied={applied}
        refused={out && 'refused' in out ? out : null}
        onRun={(a) => {
          run(a);
          setRuns((n) => n + 1);
        }}
      />
      {!applied.query.trim() ? (
        <Empty title="Search with TraceQL">
          <div class="tql-examples">
            {EXAMPLES.map((x) => (
              <a href={href('/search', { mode: 'traceql', q: x, ...rangeParams(applied.range) })}>
                <code>{x}</code>
              </a>
            ))}
          </div>
        </Empty>
      ) : res.loading && !out ? (
        <Loading label="Running the query…" />
      ) : res.error ? (
        <ErrorBox error={res.error} title="The query failed" onRetry={res.reload} />
      ) : out && 'answer' in out ? (
        'series' in out.answer ? (
          <MetricsResult data={out.answer} query={out.query} loading={res.loading} />
        ) : (
          <TracesResult data={out.answer} loading={res.loading} />
        )
      ) : null}
    </>
  );
}

function TraceqlForm({ applied, refused, onRun }: { applied: Applied; refused: { query: string; refused: string } | null; onRun: (a: Applied) => void }) {
  const [text, setText] = useState(applied.query);
  const [limit, setLimit] = useState(applied.limit);
  // back and forward bring another query
  useEffect(() => setText(applied.query), [applied.query]);
  useEffect(() => setLimit(applied.limit), [applied.limit]);
  // the position is marked while the box holds the refused query
  const same = refused !== null && text === refused.query;
  const error = useMemo(() => (refused === null ? null : { message: refused.refused, at: same ? errorPosition(refused.refused, refused.query) : null }), [refused, same]);
  const submit = (range = applied.range) => text.trim() && onRun({ query: text, range, limit });
  return (
    <form
      class="search-form tql-form card"
      data-testid="traceql-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label class="tql-query">
        <span>TraceQL</span>
        <TraceqlInput value={text} onChange={setText} onRun={() => submit()} range={rangeParams(applied.range)} error={error} />
      </label>
      <label>
        <span>Time range</span>
        <TimeRangePicker value={applied.range} onChange={(range) => (text.trim() ? submit(range) : run({ ...applied, range }))} />
      </label>
      <label>
        <span>Limit</span>
        <input type="number" min="1" max="1000" data-testid="traceql-limit" value={limit} onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
      </label>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="traceql-run" disabled={!text.trim()}>
          Run <span class="small">Ctrl+Enter</span>
        </button>
      </div>
    </form>
  );
}

function TracesResult({ data, loading }: { data: TraceqlSearchResponse; loading: boolean }) {
  const maxDur = Math.max(...data.traces.map((t) => t.durationNano), 1);
  return (
    <div class={`results ${loading ? 'stale' : ''}`} data-testid="results-view" data-state={loading ? 'loading' : 'done'}>
      {data.cut && (
        <div class="banner warn" data-testid="traceql-cut">
          The answer may be incomplete: {data.cut}
        </div>
      )}
      {data.traces.length === 0 ? (
        <Empty title="No traces match">Widen the time range or loosen the query.</Empty>
      ) : (
        <>
          <div class="results-bar">
            <span data-testid="result-count">
              {data.traces.length} trace{data.traces.length === 1 ? '' : 's'}
              {data.limitHit && ' (limit reached: more traces match)'}
            </span>
            {loading && <span class="spinner" />}
          </div>
          <ul class="result-list" data-testid="results">
            {data.traces.map((t) => (
              <ResultRow t={t} maxDur={maxDur} showMatches={false}>
                <SpanSets traceId={t.traceId} sets={t.spanSets} />
              </ResultRow>
            ))}
          </ul>
        </>
      )}
      <div class="muted small">
        Inspected {data.inspectedTraces.toLocaleString()} traces, {data.metrics.inspectedSpans.toLocaleString()} spans in {data.metrics.inspectedBlocks} of {data.metrics.totalBlocks} blocks.
      </div>
    </div>
  );
}

/** A trace's span sets: how many spans matched, the set's by() and aggregate values, and its spans with
 * their select() values, each opening the trace at that span. */
function SpanSets({ traceId, sets }: { traceId: string; sets: SpanSet[] }) {
  return (
    <div class="spansets">
      {sets.map((set) => (
        <div class="spanset" data-testid="spanset">
          <span class="spanset-head">
            <b data-testid="spanset-matched">{set.matched}</b> matched
            {set.attributes.map((a) => (
              <code class="spanset-attr">
                {a.key} = {attributeText(a.key, a.value)}
              </code>
            ))}
          </span>
          {set.spans.map((sp) => (
            <a href={`/trace/${traceId}?span=${sp.spanId}`} class={`spanset-span ${sp.status === 'error' ? 'err' : ''}`} data-testid="spanset-span" data-span-id={sp.spanId}>
              <ServiceDot name={sp.service} /> {sp.service}: {sp.name} <span class="muted">{formatDuration(sp.durationNano)}</span>
              {sp.attributes.map((a) => (
                <code class="muted">
                  {' '}
                  {a.key}={attributeText(a.key, a.value)}
                </code>
              ))}
            </a>
          ))}
          {set.matched > set.spans.length && <span class="muted">+{set.matched - set.spans.length} more</span>}
        </div>
      ))}
    </div>
  );
}

/** Durations come as nanoseconds: `duration`, `trace:duration`, `avg(duration)`, ... read as durations. */
function attributeText(key: string, value: SpanSet['attributes'][number]['value']): string {
  return typeof value === 'number' && /duration/i.test(key) ? formatDuration(value) : valueText(value);
}

/** Series hues around the colour wheel, far apart for neighbours. */
function seriesColor(i: number): string {
  return `hsl(${Math.round((210 + i * 137.5) % 360)} 65% 48%)`;
}

function MetricsResult({ data, query, loading }: { data: TraceqlMetricsResponse; query: string; loading: boolean }) {
  const unit = metricsUnit(query);
  const { xs, ys } = useMemo(() => alignSeries(data.series), [data]);
  const series = useMemo(() => data.series.map((s, i) => ({ label: seriesLabel(s.labels), color: seriesColor(i) })), [data]);
  const chartData = useMemo(() => [xs, ...ys], [xs, ys]);
  return (
    <div class={`results ${loading ? 'stale' : ''}`} data-testid="results-view" data-state={loading ? 'loading' : 'done'}>
      {data.warnings.length > 0 && <div class="banner warn">{data.warnings.join('; ')}</div>}
      {data.series.length === 0 ? (
        <Empty title="No spans match">Widen the time range or loosen the query.</Empty>
      ) : (
        <>
          <div class="card tql-chart" data-testid="traceql-chart">
            <Chart data={chartData} series={series} height={260} legend yFormat={(v) => formatMetric(unit, v)} />
          </div>
          <div class="card">
            <table class="grid" data-testid="traceql-series">
              <thead>
                <tr>
                  <th>Series</th>
                  <th class="num">Last value</th>
                  <th>At</th>
                </tr>
              </thead>
              <tbody>
                {data.series.map((s, i) => {
                  const last = s.points.reduce<[string, number] | null>((m, p) => (m === null || nanosToMillis(p[0]) > nanosToMillis(m[0]) ? p : m), null);
                  return (
                    <tr>
                      <td>
                        <span class="svc-dot" style={{ background: series[i].color }} /> <code>{series[i].label}</code>
                      </td>
                      <td class="num">{last ? formatMetric(unit, last[1]) : '–'}</td>
                      <td class="muted">{last ? formatTime(nanosToMillis(last[0])).slice(11, 19) : ''}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      <div class="muted small">
        {data.series.length} series, one point every {formatDuration(data.stepNano)}; inspected {data.inspectedSpans.toLocaleString()} spans.
      </div>
    </div>
  );
}
