// Live tail: spans as the server receives them, newest first, filtered on the server. The list is
// updated at most once per animation frame and holds the newest 500, so a fast stream stays cheap.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get } from '../api/client';
import { openTail, type TailFilters, type TailState } from '../api/tail';
import type { Operation } from '../api/types';
import { ErrorBox, ServiceDot } from '../components/common';
import { TagInput } from '../components/taginput';
import { VirtualList } from '../components/virtuallist';
import { useAsync, useTitle } from '../lib/hooks';
import { droppedText, frameBatcher, LiveBuffer, type TailSpan } from '../lib/live';
import { href, navigate, useRoute } from '../lib/router';
import { formatCount, formatDuration, formatRate, formatTime } from '../trace/format';

const CAP = 500;
const ROW_H = 28;

function filtersFromQuery(q: URLSearchParams): TailFilters {
  return { service: q.get('service') ?? '', operation: q.get('operation') ?? '', tags: q.getAll('tag'), status: q.get('status') ?? '' };
}

export default function LivePage() {
  const route = useRoute();
  const filters = useMemo(() => filtersFromQuery(route.query), [route.search]);
  const key = JSON.stringify(filters);
  useTitle('Live');
  const setFilters = (patch: Partial<TailFilters>) => {
    const f = { ...filters, ...patch };
    navigate(href('/live', { service: f.service, operation: f.operation, tag: f.tags, status: f.status }), { replace: true });
  };
  const buf = useRef(new LiveBuffer<TailSpan>(CAP)).current;
  const [, setFrame] = useState(0);
  const [conn, setConn] = useState<TailState>({ state: 'connecting' });
  const batcher = useMemo(
    () =>
      frameBatcher(() => {
        buf.flush();
        setFrame((x) => x + 1);
      }),
    [],
  );
  useEffect(() => {
    buf.clear();
    setFrame((x) => x + 1);
    const close = openTail(
      filters,
      (m) => {
        if (m.type === 'span') buf.push(m.span);
        else buf.addDropped(m.spans, m.batches);
        batcher.schedule();
      },
      setConn,
    );
    return () => {
      close();
      batcher.cancel();
    };
  }, [key]);
  // spans per second, sampled once a second
  const [rate, setRate] = useState(0);
  useEffect(() => {
    let last = buf.received;
    let lastT = performance.now();
    const t = setInterval(() => {
      const now = performance.now();
      const r = buf.received;
      setRate(r >= last ? ((r - last) * 1000) / (now - lastT) : 0);
      last = r;
      lastT = now;
    }, 1000);
    return () => clearInterval(t);
  }, []);
  const services = useAsync((s) => get<{ services: string[] }>('/api/v1/services', {}, s), []);
  const operations = useAsync(
    (s) => (filters.service ? get<{ operations: Operation[] }>('/api/v1/operations', { service: filters.service }, s) : Promise.resolve({ operations: [] })),
    [filters.service],
  );
  const opNames = useMemo(() => [...new Set((operations.data?.operations ?? []).map((o) => o.name))].sort(), [operations.data]);
  const rows = buf.rows;
  const togglePause = () => {
    if (buf.paused) {
      buf.resume();
      batcher.schedule();
    } else buf.pause();
    setFrame((x) => x + 1);
  };
  return (
    <div class="live-page" data-testid="live-page">
      <div class="toolbar">
        <h1>Live</h1>
        <ConnectionBadge conn={conn} />
        <span class="spacer" />
        <span class="muted small" data-testid="live-received" data-raw={buf.received}>
          {formatCount(buf.received)} spans · {formatRate(rate)}
        </span>
        <button type="button" class={buf.paused ? 'primary' : ''} data-testid="live-pause" aria-pressed={buf.paused} onClick={togglePause}>
          {buf.paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
        <button
          type="button"
          onClick={() => {
            buf.clear();
            setFrame((x) => x + 1);
          }}
        >
          Clear
        </button>
      </div>
      <form class="card live-filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>Service</span>
          <select data-testid="live-service" value={filters.service} onChange={(e) => setFilters({ service: (e.target as HTMLSelectElement).value, operation: '' })}>
            <option value="">All services</option>
            {(services.data?.services ?? []).map((s) => (
              <option value={s}>{s}</option>
            ))}
            {filters.service && !(services.data?.services ?? []).includes(filters.service) && <option value={filters.service}>{filters.service}</option>}
          </select>
        </label>
        <label>
          <span>Operation</span>
          <select data-testid="live-operation" value={filters.operation} disabled={!filters.service && !filters.operation} onChange={(e) => setFilters({ operation: (e.target as HTMLSelectElement).value })}>
            <option value="">{filters.service ? 'All operations' : 'Pick a service first'}</option>
            {opNames.map((o) => (
              <option value={o}>{o}</option>
            ))}
            {filters.operation && !opNames.includes(filters.operation) && <option value={filters.operation}>{filters.operation}</option>}
          </select>
        </label>
        <label class="wide">
          <span>Attributes</span>
          <TagInput tags={filters.tags} onChange={(tags) => setFilters({ tags })} range={{ lookback: '1h' }} />
        </label>
        <label>
          <span>Status</span>
          <select data-testid="live-status" value={filters.status} onChange={(e) => setFilters({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">all spans</option>
            <option value="error">errors only</option>
            <option value="ok">status ok</option>
            <option value="unset">status unset</option>
          </select>
        </label>
      </form>
      {conn.state === 'failed' && <ErrorBox error={conn.error} title="The live tail was refused" />}
      {buf.dropped + buf.droppedBatches > 0 && (
        <div class="banner warn" data-testid="live-dropped" data-raw={buf.dropped}>
          {droppedText(buf.dropped, buf.droppedBatches)}. Narrow the filters to see every span.
        </div>
      )}
      {buf.paused && (
        <div class="banner info" data-testid="live-paused" data-raw={buf.arrivedWhilePaused}>
          Paused: {formatCount(buf.arrivedWhilePaused)} new span{buf.arrivedWhilePaused === 1 ? '' : 's'} since.
          <button type="button" class="primary" onClick={togglePause}>
            Resume
          </button>
        </div>
      )}
      <div class="card live-table">
        <div class="live-row live-header">
          <span>Time</span>
          <span>Service · operation</span>
          <span>Kind</span>
          <span class="num">Duration</span>
          <span>Status</span>
          <span>Trace</span>
        </div>
        {rows.length === 0 ? (
          <div class="muted live-waiting" data-testid="live-waiting">
            {conn.state === 'open' ? 'Waiting for spans that match…' : 'Connecting…'}
          </div>
        ) : (
          <VirtualList count={rows.length} rowHeight={ROW_H} height="calc(100vh - 330px)" testid="live-rows" renderRow={(i) => <LiveRow s={rows[i]} />} />
        )}
        <div class="muted small live-foot">
          Newest first; the last {CAP} are kept. Click a span to open its trace.
        </div>
      </div>
    </div>
  );
}

function ConnectionBadge({ conn }: { conn: TailState }) {
  switch (conn.state) {
    case 'open':
      return (
        <span class="conn conn-open" data-testid="live-state" data-state="open">
          ● live
        </span>
      );
    case 'connecting':
      return (
        <span class="conn" data-testid="live-state" data-state="connecting">
          <span class="spinner" /> connecting…
        </span>
      );
    case 'retrying':
      return (
        <span class="conn conn-retry" data-testid="live-state" data-state="retrying" title={conn.error.message}>
          reconnecting in {Math.round(conn.inMs / 1000)} s{conn.error.status === 429 ? ': the server has too many live tails' : `: ${conn.error.message}`}
        </span>
      );
    case 'failed':
      return (
        <span class="conn conn-failed" data-testid="live-state" data-state="failed">
          stopped
        </span>
      );
  }
}

function LiveRow({ s }: { s: TailSpan }) {
  const err = s.status === 'error';
  return (
    <a
      class={`live-row ${err ? 'err' : ''}`}
      href={href(`/trace/${s.traceId}`, { span: s.spanId })}
      data-testid="live-row"
      data-trace-id={s.traceId}
      data-service={s.service}
      title={err && s.statusMessage ? s.statusMessage : undefined}
    >
      <span class="mono small">{formatTime(s.startMs).slice(11)}</span>
      <span class="live-name">
        <ServiceDot name={s.service} />
        <b>{s.service}</b> {s.name}
      </span>
      <span class="muted small">{s.kind}</span>
      <span class="num">{formatDuration(s.durationNano)}</span>
      <span class={err ? 'err-text' : 'muted'}>{err ? 'error' : s.status}</span>
      <span class="mono muted small">{s.traceId.slice(0, 12)}</span>
    </a>
  );
}
