// The trace page: header, minimap, virtualised waterfall, span details, and the trace's log lines (markers on
// the waterfall, the span panel's lines, the Logs tab).

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { loadTrace, normalizeTraceId, isTraceId, type LoadedTrace } from '../api/trace';
import { ErrorBox, Loading, ServiceChip, Stat } from '../components/common';
import { SpanPanel } from '../components/spanpanel';
import { useTitle } from '../lib/hooks';
import { currentRoute, navigate, replaceQuery } from '../lib/router';
import { filterSpans, type FilterResult } from '../trace/filter';
import { formatCount, formatDuration, formatTime, nanosToMillis } from '../trace/format';
import { TraceModel, type TimeMode } from '../trace/model';
import { findSpan, serviceName, serviceStats, spanName, withAncestors } from '../trace/tree';
import { Minimap } from '../waterfall/minimap';
import { Waterfall } from '../waterfall/waterfall';
import { ApiError, get } from '../api/client';
import type { LogsResponse } from '../api/types';
import { serviceColor } from '../trace/colors';
import { TraceLogList, type TraceLogsState } from '../components/loglines';
import { groupLogs, spanIndexOf } from '../lib/logs';

/** Lines asked for per trace (the API's maximum). */
const TRACE_LOG_LIMIT = 5000;

interface Loaded {
  model: TraceModel;
  data: LoadedTrace;
  timings: { networkMs: number; parseMs: number; bytes: number; buildMs: number };
}

export default function TracePage({ params }: { params: Record<string, string> }) {
  const id = normalizeTraceId(params.id);
  const [state, setState] = useState<{ phase: string; loaded?: Loaded; error?: unknown }>({ phase: 'Loading trace…' });
  useTitle(state.loaded ? `${rootTitle(state.loaded.model)} (${id.slice(0, 8)})` : `Trace ${id.slice(0, 8)}`);

  useEffect(() => {
    if (!isTraceId(id)) {
      setState({ phase: '', error: new ApiError(400, `“${params.id}” is not a trace id (16 or 32 hex digits).`, '') });
      return;
    }
    const ctl = new AbortController();
    setState({ phase: 'Loading trace…' });
    (async () => {
      let lastUpdate = 0;
      const data = await loadTrace(id, ctl.signal, (bytes) => {
        const now = performance.now();
        if (bytes > 1 << 20 && now - lastUpdate > 150 && !ctl.signal.aborted) {
          lastUpdate = now;
          setState({ phase: `Loading trace… ${(bytes / (1 << 20)).toFixed(1)} MiB` });
        }
      });
      if (ctl.signal.aborted) return;
      const n = data.compact.spans.spanId.length;
      setState({ phase: `Building the span tree (${formatCount(n)} spans)…` });
      await new Promise((r) => setTimeout(r, 0));
      const t1 = performance.now();
      const model = new TraceModel(data.compact);
      model.view('raw');
      const buildMs = performance.now() - t1;
      if (!ctl.signal.aborted) setState({ phase: '', loaded: { model, data, timings: { networkMs: data.networkMs, parseMs: data.parseMs, bytes: data.bytes, buildMs } } });
    })().catch((error) => {
      if (!ctl.signal.aborted) setState({ phase: '', error });
    });
    return () => ctl.abort();
  }, [id]);

  if (state.error) {
    const notFound = state.error instanceof ApiError && state.error.status === 404;
    return (
      <div class="trace-page">
        <ErrorBox error={state.error} title={notFound ? `Trace ${id} was not found` : 'Could not load the trace'} />
        {notFound && (
          <p class="muted">
            Its spans may not have arrived yet, or they are older than the retention period. <a href="/search">Search for traces</a>.
          </p>
        )}
      </div>
    );
  }
  if (!state.loaded) return <Loading label={state.phase} />;
  if (state.loaded.model.tree.n === 0) return <ErrorBox error={new Error('The trace has no spans.')} title={`Trace ${id}`} />;
  return <TraceView key={id} loaded={state.loaded} />;
}

function rootTitle(m: TraceModel): string {
  const t = m.tree;
  if (!t.n) return '';
  const r = t.roots[0];
  return `${serviceName(t, r)}: ${spanName(t, r)}`;
}

function TraceView({ loaded }: { loaded: Loaded }) {
  const { model, data } = loaded;
  const tree = model.tree;
  const initial = currentRoute().query;
  const [mode, setMode] = useState<TimeMode>(initial.get('times') === 'adjusted' && model.skew.spans.length ? 'adjusted' : 'raw');
  const [selected, setSelected] = useState<number>(() => {
    const s = initial.get('span');
    return s ? findSpan(tree, s) : -1;
  });
  const [panel, setPanel] = useState<boolean>(selected >= 0);
  const [query, setQuery] = useState(initial.get('q') ?? '');
  const [filterOnly, setFilterOnly] = useState(initial.get('filter') === '1');
  const [showCp, setShowCp] = useState(initial.get('cp') !== '0');
  const [matchIdx, setMatchIdx] = useState(-1);
  const [zoomed, setZoomed] = useState(false);
  const [tab, setTab] = useState<'spans' | 'logs'>(initial.get('tab') === 'logs' ? 'logs' : 'spans');
  const [logs, setLogs] = useState<TraceLogsState>({ loading: true, logs: null, truncated: false, error: null });
  const [focusLine, setFocusLine] = useState<number | null>(null);
  const wfHost = useRef<HTMLDivElement>(null);
  const mmHost = useRef<HTMLDivElement>(null);
  const wf = useRef<Waterfall | null>(null);
  const mm = useRef<Minimap | null>(null);
  const search = useRef<HTMLInputElement>(null);
  const keepMatchIdx = useRef(false);
  const view = model.view(mode);
  const raw = model.view('raw');

  // Big traces filter once typing pauses (Enter applies at once).
  const [appliedQuery, setAppliedQuery] = useState(query);
  useEffect(() => {
    if (query === appliedQuery) return;
    const t = setTimeout(() => setAppliedQuery(query), tree.n > 20000 ? 200 : 0);
    return () => clearTimeout(t);
  }, [query]);
  const runFilter = (q: string) => filterSpans(tree, q, { onPath: view.cp.onPath, skew: model.skew.flags });
  const filter: FilterResult | null = useMemo(() => runFilter(appliedQuery), [appliedQuery, mode]);

  // Create the waterfall and minimap once.
  useEffect(() => {
    const syncMinimap = () => {
      const w = wf.current;
      const m = mm.current;
      if (!w || !m) return;
      const rows = w.visible;
      const [a, b] = w.viewport;
      if (rows.length === 0) return;
      const [t0, t1] = w.window;
      m.setViewport(tree.pos[rows[Math.max(0, a)]], tree.pos[rows[Math.max(0, Math.min(rows.length - 1, b))]], t0, t1);
    };
    const w = new Waterfall(wfHost.current!, {
      onSelect: (i) => setSelected(i),
      onOpen: (i) => {
        setSelected(i);
        setPanel(true);
      },
      onView: syncMinimap,
      onWindow: (t0, t1) => {
        const v = model.view(modeRef.current);
        setZoomed(t0 > v.startTime || t1 < v.endTime);
        syncMinimap();
      },
      onSearchKey: () => search.current?.focus(),
      onLogMarker: (i, line) => {
        setSelected(i);
        setPanel(true);
        setFocusLine(line);
      },
    });
    wf.current = w;
    const m = new Minimap(mmHost.current!, {
      onJump: (pos) => {
        const rows = w.visible;
        // rows are in preorder: find the last row at or before pos
        let lo = 0;
        let hi = rows.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (tree.pos[rows[mid]] <= pos) lo = mid;
          else hi = mid - 1;
        }
        w.scrollToRow(lo, 'center');
      },
      onZoom: (t0, t1) => w.setWindow(t0, t1),
    });
    mm.current = m;
    w.setTrace(tree, view, model.skew.flags);
    m.setTrace(tree, view);
    w.setShowCriticalPath(showCp);
    if (selected >= 0) {
      w.select(selected, { notify: false, scroll: false });
      w.scrollToSpan(selected, 'center');
    }
    else w.select(tree.roots[0], { scroll: false, notify: false });
    syncMinimap();
    (window as unknown as { __tracewell?: unknown }).__tracewell = { waterfall: w, model, timings: loaded.timings };
    w.focus();
    return () => {
      w.destroy();
      m.destroy();
      wf.current = null;
      mm.current = null;
    };
  }, []);

  // The trace's log lines, after the spans (a server without logs costs the page nothing but the request).
  useEffect(() => {
    const ctl = new AbortController();
    get<LogsResponse>(`/api/v1/traces/${encodeURIComponent(tree.traceId)}/logs`, { limit: TRACE_LOG_LIMIT }, ctl.signal).then(
      (r) => {
        if (ctl.signal.aborted) return;
        const grouped = groupLogs(r.logs ?? [], spanIndexOf(tree.spanId), tree.startTimeUnixNano);
        setLogs({ loading: false, logs: grouped, truncated: !!r.truncated, error: null });
        wf.current?.setLogs(grouped.lines.length ? grouped : null);
      },
      (error) => !ctl.signal.aborted && setLogs({ loading: false, logs: null, truncated: false, error }),
    );
    return () => ctl.abort();
  }, []);

  // The waterfall was hidden behind the Logs tab: measure it again and bring the selection into view.
  useLayoutEffect(() => {
    if (tab !== 'spans' || !wf.current) return;
    wf.current.refresh();
    if (selected >= 0) wf.current.scrollToSpan(selected, 'center');
  }, [tab]);

  const modeRef = useRef(mode);
  modeRef.current = mode;
  useEffect(() => {
    if (!wf.current) return;
    wf.current.setTimes(view);
    mm.current?.setTrace(tree, view);
    setZoomed(false);
  }, [mode]);

  useEffect(() => {
    wf.current?.setShowCriticalPath(showCp);
  }, [showCp]);

  useEffect(() => {
    const w = wf.current;
    if (!w) return;
    w.setMatches(filter?.matches ?? null, filter && filterOnly ? withAncestors(tree, filter.matches) : null);
    if (keepMatchIdx.current) keepMatchIdx.current = false;
    else setMatchIdx(-1);
  }, [filter, filterOnly]);

  // Keep the URL shareable: selected span, search, modes.
  useEffect(() => {
    const t = setTimeout(() => {
      const q = new URLSearchParams(location.search);
      const set = (k: string, v: string | null) => (v ? q.set(k, v) : q.delete(k));
      set('span', selected >= 0 && panel ? tree.spanId[selected] : null);
      set('q', query.trim() || null);
      set('filter', filterOnly ? '1' : null);
      set('times', mode === 'adjusted' ? 'adjusted' : null);
      set('cp', showCp ? null : '0');
      set('tab', tab === 'logs' ? 'logs' : null);
      replaceQuery(q);
    }, 250);
    return () => clearTimeout(t);
  }, [selected, panel, query, filterOnly, mode, showCp, tab]);

  // Escape closes the panel from anywhere on the page.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const tag = (e.target as HTMLElement).tagName;
      if (e.key === 'Escape' && panel && tag !== 'INPUT') setPanel(false);
      if (e.key === '/' && tag !== 'INPUT' && tag !== 'TEXTAREA' && tag !== 'SELECT') {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [panel]);

  const gotoMatch = (dir: 1 | -1) => {
    let f = filter;
    let idx = matchIdx;
    if (query !== appliedQuery) {
      f = runFilter(query);
      idx = -1;
      keepMatchIdx.current = true;
      setAppliedQuery(query);
    }
    if (!f || f.count === 0 || !wf.current) return;
    const next = (idx + dir + f.count) % f.count;
    setMatchIdx(next);
    const i = f.list[next];
    wf.current.select(i, { scroll: false });
    wf.current.scrollToSpan(i, 'center');
  };

  const selectSpan = (i: number) => {
    wf.current?.select(i);
    wf.current?.scrollToSpan(i, 'center');
    setSelected(i);
    setPanel(true);
    setFocusLine(null);
  };
  const logCount = logs.logs?.lines.length ?? 0;

  const root = tree.roots[0];
  const startMs = nanosToMillis(tree.startTimeUnixNano);
  const stats = useMemo(() => serviceStats(tree), [tree]);
  const skew = model.skew;

  return (
    <div class="trace-page" data-testid="trace-page">
      <div class="trace-head card">
        <div class="trace-title">
          <h1>
            <span class="svc-dot" style={{ background: serviceColor(serviceName(tree, root)) }} />
            {serviceName(tree, root)}: <span class="op">{spanName(tree, root)}</span>
          </h1>
          <span class="mono muted trace-id" data-testid="trace-id">
            {tree.traceId}
          </span>
          <span class="spacer" />
          <CompareWith id={tree.traceId} />
        </div>
        <div class="stats">
          <Stat label="Duration" value={formatDuration(raw.endTime)} testid="stat-duration" raw={raw.endTime} />
          <Stat label="Spans" value={formatCount(tree.n)} testid="stat-spans" raw={tree.n} />
          <Stat label="Services" value={stats.length} testid="stat-services" raw={stats.length} />
          <Stat label="Depth" value={tree.maxDepth + 1} testid="stat-depth" raw={tree.maxDepth + 1} />
          <Stat label="Errors" value={formatCount(tree.errorCount)} testid="stat-errors" raw={tree.errorCount} tone={tree.errorCount ? 'error' : undefined} />
          <Stat label="Critical path" value={`${view.cp.spans.length} spans`} testid="stat-cp" raw={view.cp.spans.length} />
          <Stat label="Started" value={formatTime(startMs)} />
        </div>
        <div class="chips">
          {stats.map((s) => (
            <ServiceChip name={tree.strings[s.service]} count={s.spans} errors={s.errors} />
          ))}
        </div>
      </div>

      {skew.spans.length > 0 && (
        <div class="banner warn" data-testid="skew-warning">
          <span>
            ⚠ <b>Clock skew suspected.</b>{' '}
            {skew.startsBefore > 0 && `${skew.startsBefore} span${skew.startsBefore === 1 ? ' starts' : 's start'} before ${skew.startsBefore === 1 ? 'its' : 'their'} parent`}
            {skew.startsBefore > 0 && skew.endsAfter > 0 && ', '}
            {skew.endsAfter > 0 && `${skew.endsAfter} span${skew.endsAfter === 1 ? ' ends' : 's end'} after ${skew.endsAfter === 1 ? 'its' : 'their'} parent`} (by up to{' '}
            {formatDuration(skew.maxSkew)}).{' '}
            {mode === 'raw' ? 'Showing raw times, as recorded.' : 'Showing adjusted times: skewed subtrees are shifted into their parents; durations are unchanged.'}
          </span>
          <span class="seg" role="group" aria-label="Times">
            <button type="button" class={mode === 'raw' ? 'on' : ''} data-testid="times-raw" onClick={() => setMode('raw')}>
              Raw times
            </button>
            <button type="button" class={mode === 'adjusted' ? 'on' : ''} data-testid="times-adjusted" onClick={() => setMode('adjusted')}>
              Adjusted
            </button>
          </span>
          <button type="button" class="link-btn" onClick={() => setQuery('is:skew')}>
            Find skewed spans
          </button>
        </div>
      )}
      {tree.missingParentCount > 0 && (
        <div class="banner info" data-testid="orphan-warning">
          {tree.missingParentCount} span{tree.missingParentCount === 1 ? ' names a parent' : 's name parents'} not in this trace; shown at the top level (↥).{' '}
          <button type="button" class="link-btn" onClick={() => setQuery('is:orphan')}>
            Find them
          </button>
        </div>
      )}
      {tree.brokenLinks.length > 0 && <div class="banner warn">{tree.brokenLinks.length} parent link(s) formed a cycle or were invalid and were cut.</div>}
      {tree.warnings.length > 0 && <div class="banner warn">The trace may be incomplete: {tree.warnings.join('; ')}</div>}

      <div class="trace-toolbar">
        <span class="seg trace-tabs" role="tablist" aria-label="Trace view">
          <button type="button" role="tab" aria-selected={tab === 'spans'} class={tab === 'spans' ? 'on' : ''} data-testid="tab-waterfall" onClick={() => setTab('spans')}>
            Waterfall
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'logs'}
            class={`${tab === 'logs' ? 'on' : ''} ${logs.logs?.errors ? 'has-errors' : ''}`}
            data-testid="tab-logs"
            data-count={logs.logs ? logCount : undefined}
            title={logs.error ? 'The logs could not be loaded' : logs.logs ? `${logCount} log line${logCount === 1 ? '' : 's'}${logs.logs.errors ? `, ${logs.logs.errors} at ERROR or above` : ''}` : 'Loading logs…'}
            onClick={() => setTab('logs')}
          >
            Logs ({logs.error ? '!' : logs.logs ? `${formatCount(logCount)}${logs.truncated ? '+' : ''}` : '…'})
          </button>
        </span>
        {tab === 'logs' ? (
          <span class="muted small" data-testid="trace-logs-summary">
            {logs.logs &&
              `${formatCount(logCount)} line${logCount === 1 ? '' : 's'} in time order${logs.logs.errors ? `, ${logs.logs.errors} at ERROR or above` : ''}${
                logs.logs.unattached.length ? `, ${logs.logs.unattached.length} without a span of this trace` : ''
              }. Click a line to select its span.`}{' '}
            <a href={logsPageHref(tree.traceId, tree.startTimeUnixNano, raw.endTime)} data-testid="trace-logs-search" title="Filter this trace's lines by severity, text or attribute">
              Search them
            </a>
          </span>
        ) : (
          <>
            <div class="find">
              <input
                ref={search}
                type="search"
                data-testid="trace-search"
                placeholder="Find spans: text, service:x, is:error, is:critical, >10ms   ( / )"
                value={query}
                onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    gotoMatch(e.shiftKey ? -1 : 1);
                  } else if (e.key === 'Escape') {
                    if (query) setQuery('');
                    else wf.current?.focus();
                  }
                }}
              />
              {filter && (
                <span class="match-count" data-testid="match-count">
                  {matchIdx >= 0 ? `${matchIdx + 1} / ` : ''}
                  {formatCount(filter.count)} match{filter.count === 1 ? '' : 'es'}
                </span>
              )}
              <button type="button" title="Previous match (Shift+Enter)" disabled={!filter?.count} onClick={() => gotoMatch(-1)}>
                ↑
              </button>
              <button type="button" title="Next match (Enter)" disabled={!filter?.count} onClick={() => gotoMatch(1)}>
                ↓
              </button>
              <label class="inline" title="Hide spans that neither match nor lead to a match">
                <input type="checkbox" checked={filterOnly} data-testid="filter-only" onChange={(e) => setFilterOnly((e.target as HTMLInputElement).checked)} /> only
                matches
              </label>
            </div>
            <span class="spacer" />
            <label class="inline">
              <input type="checkbox" checked={showCp} onChange={(e) => setShowCp((e.target as HTMLInputElement).checked)} />{' '}
              <span class="cp-legend" /> critical path
            </label>
            <button type="button" onClick={() => wf.current?.expandAll()} data-testid="expand-all">
              Expand all
            </button>
            <button type="button" onClick={() => wf.current?.collapseToDepth(1)} data-testid="collapse-all">
              Collapse
            </button>
            <select
              aria-label="Expand to depth"
              onChange={(e) => {
                const d = Number((e.target as HTMLSelectElement).value);
                if (d > 0) wf.current?.collapseToDepth(d);
                (e.target as HTMLSelectElement).value = '';
              }}
            >
              <option value="">Depth…</option>
              {[1, 2, 3, 4, 5, 6, 8, 10].filter((d) => d <= tree.maxDepth).map((d) => (
                <option value={d}>Expand to depth {d}</option>
              ))}
            </select>
            {zoomed && (
              <button type="button" onClick={() => wf.current?.resetWindow()}>
                Reset zoom
              </button>
            )}
            <span class="kbd-help" title="↑/↓ move · ← collapse / parent · → expand / child · Enter details · Space toggle · / find · Esc close">
              ⌨
            </span>
          </>
        )}
      </div>

      <div class="minimap-host" ref={mmHost} style={{ display: tab === 'logs' ? 'none' : undefined }} />
      <div class={`trace-body ${panel && selected >= 0 ? 'with-panel' : ''}`}>
        <div class="wf-host" ref={wfHost} style={{ display: tab === 'logs' ? 'none' : undefined }} />
        {tab === 'logs' && (
          <div class="trace-logs-host card">
            <TraceLogList state={logs} tree={tree} selected={panel ? selected : -1} onSelect={selectSpan} />
          </div>
        )}
        {panel && selected >= 0 && (
          <SpanPanel
            tree={tree}
            times={view}
            raw={raw}
            skewFlags={skew.flags}
            index={selected}
            otlp={data.otlp}
            onClose={() => {
              setPanel(false);
              wf.current?.focus();
            }}
            onSelect={selectSpan}
            logs={logs}
            focusLine={focusLine}
          />
        )}
      </div>
    </div>
  );
}

/** The logs page for this trace, over its time range with five minutes either side. */
function logsPageHref(traceId: string, startUnixNano: string, durationNs: number): string {
  const margin = 300_000_000_000n;
  const start = BigInt(startUnixNano || '0');
  const end = start + BigInt(Math.ceil(durationNs)) + margin;
  return `/logs?traceId=${traceId}&start=${start > margin ? start - margin : 0n}&end=${end}`;
}

function CompareWith({ id }: { id: string }) {
  const [other, setOther] = useState('');
  return (
    <form
      class="compare-with"
      onSubmit={(e) => {
        e.preventDefault();
        if (isTraceId(other)) navigate(`/compare/${id}/${normalizeTraceId(other)}`);
      }}
    >
      <input placeholder="Compare with trace id…" value={other} onInput={(e) => setOther((e.target as HTMLInputElement).value)} aria-label="Compare with trace id" />
    </form>
  );
}
