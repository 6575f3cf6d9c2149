// Trace search: form state lives in the URL, so every search is a shareable link. Two modes: the condition
// builder (default) and TraceQL (`mode=traceql`, components/traceqlsearch.tsx).

import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api/client';
import type { Operation, SearchResponse, TraceSummary } from '../api/types';
import { Breakdown } from '../components/breakdown';
import { Chart } from '../components/chart';
import { Empty, ErrorBox, Loading, NoDataHint } from '../components/common';
import { DurationHeatmap } from '../components/heatmap';
import { ResultRow } from '../components/resultrow';
import { TagInput } from '../components/taginput';
import { TimeRangePicker } from '../components/timerange';
import { useAsync, useTitle } from '../lib/hooks';
import { href, navigate, useRoute } from '../lib/router';
import { rangeBounds, rangeFromQuery, rangeParams, type TimeRange } from '../lib/timerange';
import { formatDuration, nanosToMillis, parseDuration } from '../trace/format';
import { cssVar } from '../lib/theme';
import { tagCondition } from '../lib/tags';
import { narrowDurations, type BoxSearch } from '../lib/heatmap';

interface Form {
  service: string;
  operation: string;
  tags: string[];
  minDuration: string;
  maxDuration: string;
  durationScope: string;
  range: TimeRange;
  limit: string;
  /** Which traces the search returns: the newest, or the longest of the whole range (order=duration). */
  order: 'recent' | 'duration';
}

function formFromQuery(q: URLSearchParams): Form {
  return {
    service: q.get('service') ?? '',
    operation: q.get('operation') ?? '',
    tags: q.getAll('tag'),
    minDuration: q.get('minDuration') ?? '',
    maxDuration: q.get('maxDuration') ?? '',
    durationScope: q.get('durationScope') ?? 'span',
    range: rangeFromQuery(q, '1h'),
    limit: q.get('limit') ?? '20',
    order: q.get('order') === 'duration' ? 'duration' : 'recent',
  };
}

function formParams(f: Form) {
  return {
    service: f.service,
    operation: f.operation,
    tag: f.tags,
    minDuration: f.minDuration.trim(),
    maxDuration: f.maxDuration.trim(),
    durationScope: f.durationScope !== 'span' ? f.durationScope : undefined,
    ...(f.range.start || f.range.end ? { start: f.range.start, end: f.range.end } : { lookback: f.range.lookback }),
    limit: f.limit !== '20' ? f.limit : undefined,
    order: f.order === 'duration' ? 'duration' : undefined,
  };
}

function apiParams(f: Form) {
  return {
    service: f.service,
    operation: f.operation,
    tag: f.tags,
    minDuration: f.minDuration.trim(),
    maxDuration: f.maxDuration.trim(),
    durationScope: f.durationScope !== 'span' ? f.durationScope : undefined,
    ...rangeParams(f.range),
    limit: f.limit,
    order: f.order === 'duration' ? 'duration' : undefined,
  };
}

/** The search's conditions as /api/v1/breakdown takes them (it analyses up to 200 traces by default). */
function breakdownParams(f: Form) {
  const { limit: _limit, order: _order, ...rest } = apiParams(f);
  return rest;
}

/**
 * The search's conditions as /api/v1/heatmap takes them. It bounds span durations only, so with
 * durationScope=trace the duration bounds are left out (the heatmap then shows every matching span).
 */
function heatmapParams(f: Form) {
  const span = f.durationScope === 'span';
  return {
    service: f.service,
    operation: f.operation,
    tag: f.tags,
    minDuration: span ? f.minDuration.trim() : undefined,
    maxDuration: span ? f.maxDuration.trim() : undefined,
    ...rangeParams(f.range),
  };
}

/** A box selected on the heatmap: search its time range and duration range (within the current bounds). */
function searchBox(f: Form, box: BoxSearch) {
  const q = new URLSearchParams(location.search);
  const durations = narrowDurations(box, f.durationScope === 'span' ? f : { minDuration: '', maxDuration: '' });
  q.delete('lookback');
  q.set('start', box.start);
  q.set('end', box.end);
  for (const k of ['minDuration', 'maxDuration'] as const) {
    if (durations[k]) q.set(k, durations[k]);
    else q.delete(k);
  }
  // the heatmap counts spans: the box bounds a span's duration, not the trace's
  q.delete('durationScope');
  q.delete('view');
  navigate(`/search?${q}`);
}

/** Newest or slowest traces: a new search (the list's own sort then follows the server's order). */
function setOrder(order: 'recent' | 'duration') {
  const q = new URLSearchParams(location.search);
  if (order === 'duration') q.set('order', 'duration');
  else q.delete('order');
  q.delete('sort');
  navigate(`/search?${q}`);
}

const SORTS: Record<string, { label: string; cmp: (a: TraceSummary, b: TraceSummary) => number }> = {
  recent: { label: 'Most recent', cmp: (a, b) => cmpNanos(b.startTimeUnixNano, a.startTimeUnixNano) },
  longest: { label: 'Longest', cmp: (a, b) => b.durationNano - a.durationNano },
  shortest: { label: 'Shortest', cmp: (a, b) => a.durationNano - b.durationNano },
  spans: { label: 'Most spans', cmp: (a, b) => b.spanCount - a.spanCount },
  errors: { label: 'Most errors', cmp: (a, b) => b.errorCount - a.errorCount },
};

function cmpNanos(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export function SearchPage() {
  const route = useRoute();
  const q = route.query;
  const applied = useMemo(() => formFromQuery(q), [route.search]);
  const mode = q.get('mode') === 'traceql' ? 'traceql' : 'builder';
  useTitle('Search');
  return (
    <div class="search-page">
      <div class="search-mode seg" role="tablist" aria-label="Search with">
        {(['builder', 'traceql'] as const).map((m) => (
          <button type="button" role="tab" aria-selected={mode === m} class={mode === m ? 'on' : ''} data-testid={`mode-${m}`} onClick={() => mode !== m && setMode(m)}>
            {m === 'builder' ? 'Conditions' : 'TraceQL'}
          </button>
        ))}
      </div>
      {mode === 'traceql' ? (
        <TraceqlMode />
      ) : (
        <>
          <SearchForm key={route.search} initial={applied} />
          <Results form={applied} sort={q.get('sort') ?? (applied.order === 'duration' ? 'longest' : 'recent')} view={q.get('view') === 'breakdown' ? 'breakdown' : 'traces'} />
        </>
      )}
    </div>
  );
}

const traceqlModule = () => import('../components/traceqlsearch');

/** The TraceQL mode, loaded on first use (the builder stays the first load). */
function TraceqlMode() {
  const [mod, setMod] = useState<Awaited<ReturnType<typeof traceqlModule>>>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    traceqlModule().then(setMod, setError);
  }, []);
  if (error) return <ErrorBox error={error} title="Could not load the TraceQL search" />;
  if (!mod) return <Loading />;
  return <mod.TraceqlSearch />;
}

/** The other mode, with the same time range and limit (TraceQL always searches a bounded range). */
function setMode(mode: 'builder' | 'traceql') {
  const cur = new URLSearchParams(location.search);
  const next = new URLSearchParams(mode === 'traceql' ? { mode } : {});
  for (const k of ['lookback', 'start', 'end', 'limit']) {
    const v = cur.get(k);
    if (v && !(k === 'lookback' && v === 'all' && mode === 'traceql')) next.set(k, v);
  }
  const qs = next.toString();
  navigate(`/search${qs ? `?${qs}` : ''}`);
}

function SearchForm({ initial }: { initial: Form }) {
  const [f, setF] = useState<Form>(initial);
  const services = useAsync((s) => get<{ services: string[] }>('/api/v1/services', {}, s), []);
  const operations = useAsync(
    (s) => (f.service ? get<{ operations: Operation[] }>('/api/v1/operations', { service: f.service }, s) : Promise.resolve({ operations: [] })),
    [f.service],
  );
  const opNames = useMemo(() => [...new Set((operations.data?.operations ?? []).map((o) => o.name))].sort(), [operations.data]);
  const set = (patch: Partial<Form>) => setF((x) => ({ ...x, ...patch }));
  const minBad = f.minDuration.trim() !== '' && parseDuration(f.minDuration) === null;
  const maxBad = f.maxDuration.trim() !== '' && parseDuration(f.maxDuration) === null;
  const submit = (next: Form) => {
    if (minBad || maxBad) return;
    const cur = new URLSearchParams(location.search);
    navigate(href('/search', { ...formParams(next), sort: cur.get('sort') ?? undefined, view: cur.get('view') ?? undefined }));
  };
  return (
    <form
      class="search-form card"
      data-testid="search-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit(f);
      }}
    >
      <label>
        <span>Service</span>
        <select data-testid="service" value={f.service} onChange={(e) => set({ service: (e.target as HTMLSelectElement).value, operation: '' })}>
          <option value="">All services</option>
          {(services.data?.services ?? []).map((s) => (
            <option value={s}>{s}</option>
          ))}
          {f.service && !(services.data?.services ?? []).includes(f.service) && <option value={f.service}>{f.service}</option>}
        </select>
      </label>
      <label>
        <span>Operation</span>
        <select data-testid="operation" value={f.operation} onChange={(e) => set({ operation: (e.target as HTMLSelectElement).value })} disabled={!f.service && !f.operation}>
          <option value="">{f.service ? 'All operations' : 'Pick a service first'}</option>
          {opNames.map((o) => (
            <option value={o}>{o}</option>
          ))}
          {f.operation && !opNames.includes(f.operation) && <option value={f.operation}>{f.operation}</option>}
        </select>
      </label>
      <label class="wide">
        <span>Attributes</span>
        <TagInput tags={f.tags} onChange={(tags) => set({ tags })} range={rangeParams(f.range)} />
      </label>
      <label>
        <span>Min duration</span>
        <input
          data-testid="min-duration"
          class={minBad ? 'invalid' : ''}
          placeholder="e.g. 100ms"
          value={f.minDuration}
          onInput={(e) => set({ minDuration: (e.target as HTMLInputElement).value })}
        />
      </label>
      <label>
        <span>Max duration</span>
        <input
          data-testid="max-duration"
          class={maxBad ? 'invalid' : ''}
          placeholder="e.g. 2s"
          value={f.maxDuration}
          onInput={(e) => set({ maxDuration: (e.target as HTMLInputElement).value })}
        />
      </label>
      <label>
        <span>Duration of</span>
        <select value={f.durationScope} onChange={(e) => set({ durationScope: (e.target as HTMLSelectElement).value })}>
          <option value="span">a matching span</option>
          <option value="trace">the whole trace</option>
        </select>
      </label>
      <label>
        <span>Time range</span>
        <TimeRangePicker value={f.range} allowAll onChange={(range) => submit({ ...f, range })} />
      </label>
      <label>
        <span>Limit</span>
        <input type="number" min="1" max="1000" data-testid="limit" value={f.limit} onInput={(e) => set({ limit: (e.target as HTMLInputElement).value })} />
      </label>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="search-submit">
          Find traces
        </button>
        <a class="btn" href="/search">
          Reset
        </a>
      </div>
    </form>
  );
}

function hasConditions(f: Form): boolean {
  return !!(f.service || f.operation || f.tags.length || f.minDuration.trim() || f.maxDuration.trim());
}

function setView(view: 'traces' | 'breakdown') {
  const q = new URLSearchParams(location.search);
  if (view === 'breakdown') q.set('view', 'breakdown');
  else q.delete('view');
  const qs = q.toString();
  navigate(`/search${qs ? `?${qs}` : ''}`, { replace: true });
}

function Results({ form, sort, view }: { form: Form; sort: string; view: 'traces' | 'breakdown' }) {
  const key = JSON.stringify(apiParams(form));
  const res = useAsync((s) => get<SearchResponse>('/api/v1/search', apiParams(form), s), [key]);
  const services = useAsync((s) => get<{ services: string[] }>('/api/v1/services', {}, s), []);
  const [picked, setPicked] = useState<string[]>([]);
  const traces = useMemo(() => {
    const list = [...(res.data?.traces ?? [])];
    list.sort((SORTS[sort] ?? SORTS.recent).cmp);
    return list;
  }, [res.data, sort]);

  if (res.loading && !res.data) return <Loading label="Searching…" />;
  if (res.error) return <ErrorBox error={res.error} title="Search failed" onRetry={res.reload} />;
  const data = res.data!;
  if (data.traces.length === 0) {
    // "no traces yet" or "none match" depends on the services, which may still be on the way
    if (!services.data && services.loading) return <Loading label="Searching…" />;
    const none = services.data && services.data.services.length === 0;
    return none ? (
      <Empty title="No traces yet">
        <NoDataHint />
      </Empty>
    ) : (
      <Empty title="No traces match">Widen the time range, lower the minimum duration or remove some conditions.</Empty>
    );
  }
  const maxDur = Math.max(...data.traces.map((t) => t.durationNano), 1);
  const tabs = (
    <div class="results-tabs seg" role="tablist" aria-label="Results view">
      <button type="button" role="tab" aria-selected={view === 'traces'} class={view === 'traces' ? 'on' : ''} data-testid="view-traces" onClick={() => setView('traces')}>
        Traces
      </button>
      <button
        type="button"
        role="tab"
        aria-selected={view === 'breakdown'}
        class={view === 'breakdown' ? 'on' : ''}
        data-testid="view-breakdown"
        title="Where the time goes across the matching traces, and what slow or failing traces have in common"
        onClick={() => setView('breakdown')}
      >
        Breakdown
      </button>
    </div>
  );
  if (view === 'breakdown')
    return (
      <div class="results" data-testid="results-view" data-state={res.loading ? 'loading' : 'done'}>
        {tabs}
        <Breakdown
          params={breakdownParams(form)}
          onAddTag={(key, value) => {
            const c = tagCondition(key, value);
            const q = new URLSearchParams(location.search);
            if (!q.getAll('tag').includes(c)) q.append('tag', c);
            q.delete('view');
            navigate(`/search?${q}`);
          }}
        />
      </div>
    );
  return (
    <div class={`results ${res.loading ? 'stale' : ''}`} data-testid="results-view" data-state={res.loading ? 'loading' : 'done'}>
      {tabs}
      <div class="search-charts">
        <DurationHeatmap
          params={heatmapParams(form)}
          onSelect={(box) => searchBox(form, box)}
          note={Object.values(rangeParams(form.range)).some((v) => v) ? undefined : 'the last hour: an unbounded search has no range to draw'}
        />
        <div class="scatter-col">
          <ScatterPlot traces={data.traces} range={form.range} />
          <div class="scatter-legend muted small">
            <span class="dot ok" /> traces <span class="dot bad" /> with errors · the {form.order === 'duration' ? 'slowest' : 'newest'} {data.traces.length}, duration over
            start time; click a dot to open the trace
          </div>
        </div>
      </div>
      <div class="results-bar">
        <span class="seg" role="group" aria-label="Which traces to find">
          <button
            type="button"
            class={form.order === 'recent' ? 'on' : ''}
            aria-pressed={form.order === 'recent'}
            data-testid="order-newest"
            title="The most recent matching traces"
            onClick={() => form.order !== 'recent' && setOrder('recent')}
          >
            Newest
          </button>
          <button
            type="button"
            class={form.order === 'duration' ? 'on' : ''}
            aria-pressed={form.order === 'duration'}
            data-testid="order-slowest"
            title="The longest matching traces of the whole time range, longest first"
            onClick={() => form.order !== 'duration' && setOrder('duration')}
          >
            Slowest
          </button>
        </span>
        <span data-testid="result-count">
          {data.traces.length} trace{data.traces.length === 1 ? '' : 's'}
          {data.limitHit && ' (limit reached: more traces match)'}
        </span>
        {res.loading && <span class="spinner" />}
        <span class="spacer" />
        {picked.length > 0 && (
          <span class="compare-pick">
            {picked.length === 2 ? (
              <a class="btn primary" data-testid="compare-picked" href={`/compare/${picked[0]}/${picked[1]}`}>
                Compare 2 traces
              </a>
            ) : (
              <span class="muted">Pick one more trace to compare</span>
            )}
            <button type="button" onClick={() => setPicked([])}>
              Clear
            </button>
          </span>
        )}
        <label class="inline">
          Sort{' '}
          <select
            value={sort}
            data-testid="sort"
            onChange={(e) => {
              const q = new URLSearchParams(location.search);
              q.set('sort', (e.target as HTMLSelectElement).value);
              navigate(`/search?${q}`, { replace: true });
            }}
          >
            {Object.entries(SORTS).map(([k, v]) => (
              <option value={k}>{v.label}</option>
            ))}
          </select>
        </label>
      </div>
      {data.warnings.length > 0 && (
        <div class="banner warn">
          Some blocks could not be read; results may be incomplete: {data.warnings.join('; ')}
        </div>
      )}
      <ul class="result-list" data-testid="results">
        {traces.map((t) => (
          <ResultRow
            t={t}
            maxDur={maxDur}
            picked={picked.includes(t.traceId)}
            showMatches={hasConditions(form)}
            onPick={(on) => setPicked((p) => (on ? [...p.filter((x) => x !== t.traceId), t.traceId].slice(-2) : p.filter((x) => x !== t.traceId)))}
          />
        ))}
      </ul>
      <div class="muted small">
        Inspected {data.metrics.inspectedSpans.toLocaleString()} spans in {data.metrics.inspectedBlocks} of {data.metrics.totalBlocks} blocks.
      </div>
    </div>
  );
}

function ScatterPlot({ traces, range }: { traces: TraceSummary[]; range: TimeRange }) {
  const sorted = useMemo(() => [...traces].sort((a, b) => cmpNanos(a.startTimeUnixNano, b.startTimeUnixNano)), [traces]);
  const data = useMemo(() => {
    const xs = sorted.map((t) => nanosToMillis(t.startTimeUnixNano) / 1000);
    const ok = sorted.map((t) => (t.errorCount ? null : t.durationNano / 1e6));
    const err = sorted.map((t) => (t.errorCount ? t.durationNano / 1e6 : null));
    return [xs, ok, err];
  }, [sorted]);
  const xRange = useMemo((): [number, number] => {
    const xs = data[0] as number[];
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    if (range.lookback === 'all' && !range.start && !range.end) {
      const pad = Math.max(1, (hi - lo) * 0.03);
      return [lo - pad, hi + pad];
    }
    // the searched window, widened to the data (clock differences) with a small margin
    const [from, to] = rangeBounds(range);
    const a = Math.min(from / 1000, lo);
    const b = Math.max(to / 1000, hi);
    const pad = (b - a) * 0.01;
    return [a - pad, b + pad];
  }, [data, range.lookback, range.start, range.end]);
  return (
    <div class="card scatter" data-testid="scatter">
      <Chart
        data={data}
        height={180}
        nearest
        legend={false}
        xRange={xRange}
        series={[
          { label: 'Traces', color: cssVar('--accent') || '#3b82f6', points: true },
          { label: 'With errors', color: cssVar('--error') || '#dc2626', points: true },
        ]}
        yFormat={(v) => formatDuration(v * 1e6)}
        onPick={(i) => navigate(`/trace/${sorted[i].traceId}`)}
      />
    </div>
  );
}
