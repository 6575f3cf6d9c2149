// Details of one span: timings from the loaded trace, attributes, events, links and status from
// the span endpoint (OTLP JSON), fetched on demand.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { loadSpan, type SpanDetails } from '../api/trace';
import { anyValueText, KIND_NAMES, STATUS_ERROR, statusNumber, type OtlpKeyValue, type OtlpTracesData } from '../trace/compact';
import { formatDuration, formatTime, nanosToMillis } from '../trace/format';
import type { TimesView } from '../trace/model';
import { SKEW_ENDS_AFTER, SKEW_STARTS_BEFORE } from '../trace/skew';
import { childCount, serviceName, spanName, type TraceTree } from '../trace/tree';
import { ErrorBox, Loading, ServiceDot } from './common';
import { SpanLogs, type TraceLogsState } from './loglines';

interface Props {
  tree: TraceTree;
  times: TimesView;
  raw: TimesView;
  skewFlags: Uint8Array;
  index: number;
  otlp: OtlpTracesData | null;
  onClose: () => void;
  onSelect: (i: number) => void;
  /** The trace's log lines (the span's are listed), and a line to scroll to. */
  logs?: TraceLogsState;
  focusLine?: number | null;
}

const detailsCache = new Map<string, SpanDetails>();

export function SpanPanel({ tree, times, raw, skewFlags, index: i, otlp, onClose, onSelect, logs, focusLine = null }: Props) {
  const spanId = tree.spanId[i];
  const key = `${tree.traceId}/${spanId}`;
  const [details, setDetails] = useState<SpanDetails | null>(detailsCache.get(key) ?? null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const cached = detailsCache.get(key);
    setError(null);
    if (cached) {
      setDetails(cached);
      return;
    }
    setDetails(null);
    const ctl = new AbortController();
    // A short delay so that holding an arrow key does not fire a request per row.
    const timer = setTimeout(() => {
      loadSpan(tree.traceId, spanId, { otlp, spanCount: tree.n, signal: ctl.signal }).then(
        (d) => {
          detailsCache.set(key, d);
          if (detailsCache.size > 500) detailsCache.delete(detailsCache.keys().next().value!);
          setDetails(d);
        },
        (e) => !ctl.signal.aborted && setError(e),
      );
    }, 120);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [key]);

  const svc = serviceName(tree, i);
  const err = tree.status[i] === STATUS_ERROR;
  const p = tree.parent[i];
  const sk = skewFlags[i];
  const traceStartMs = nanosToMillis(tree.startTimeUnixNano);
  const startMs = traceStartMs + raw.start[i] / 1e6;
  const onCp = times.cp.onPath[i] === 1;
  return (
    <aside class="panel" data-testid="span-panel" aria-label="Span details">
      <div class="panel-head">
        <div class="panel-title">
          <ServiceDot name={svc} />
          <span class="panel-svc">{svc}</span>
          <span class="panel-op" data-testid="panel-op">
            {spanName(tree, i)}
          </span>
        </div>
        <button type="button" class="icon-btn" aria-label="Close details" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </div>
      <div class="badges">
        <span class="badge">{KIND_NAMES[tree.kind[i]] ?? `kind ${tree.kind[i]}`}</span>
        <span class={`badge ${err ? 'badge-err' : ''}`} data-testid="panel-status">
          {['unset', 'ok', 'error'][tree.status[i]] ?? `status ${tree.status[i]}`}
        </span>
        {onCp && <span class="badge badge-cp">critical path</span>}
        {sk !== 0 && <span class="badge badge-warn">clock skew</span>}
        {tree.missingParent[i] === 1 && <span class="badge badge-warn">parent missing</span>}
      </div>
      <table class="facts">
        <tbody>
          <tr>
            <th>Span ID</th>
            <td class="mono" data-testid="panel-span-id">
              {spanId}
            </td>
          </tr>
          <tr>
            <th>Parent</th>
            <td>
              {p >= 0 ? (
                <a
                  href="#"
                  onClick={(e) => {
                    e.preventDefault();
                    onSelect(p);
                  }}
                >
                  {serviceName(tree, p)}: {spanName(tree, p)}
                </a>
              ) : tree.missingParent[i] ? (
                <span>
                  <span class="mono">{tree.parentSpanId[i]}</span> <span class="muted">(not in this trace)</span>
                </span>
              ) : (
                <span class="muted">none (root span)</span>
              )}
            </td>
          </tr>
          <tr>
            <th>Start</th>
            <td>
              +{formatDuration(times.start[i] - times.startTime)} <span class="muted">{formatTime(startMs)}</span>
            </td>
          </tr>
          <tr>
            <th>Duration</th>
            <td data-testid="panel-duration">{formatDuration(tree.duration[i])}</td>
          </tr>
          <tr>
            <th>Self time</th>
            <td data-testid="panel-self">
              {formatDuration(times.self[i])}
              {tree.duration[i] > 0 && <span class="muted"> ({Math.round((times.self[i] / tree.duration[i]) * 100)}%)</span>}
            </td>
          </tr>
          {onCp && (
            <tr>
              <th>On critical path</th>
              <td>{formatDuration(times.cp.time[i])}</td>
            </tr>
          )}
          <tr>
            <th>Children</th>
            <td>
              {childCount(tree, i)} direct, {tree.size[i] - 1} in all
            </td>
          </tr>
          {sk !== 0 && p >= 0 && (
            <tr>
              <th>Clock skew</th>
              <td class="warn-text">
                {sk & SKEW_STARTS_BEFORE ? `starts ${formatDuration(raw.start[p] - raw.start[i])} before its parent` : ''}
                {sk === 3 ? '; ' : ''}
                {sk & SKEW_ENDS_AFTER ? `ends ${formatDuration(raw.end[i] - raw.end[p])} after its parent` : ''}
                {times.shift && times.shift[i] !== 0 && <div>shown shifted by {formatDuration(times.shift[i])}</div>}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {logs && <SpanLogs state={logs} index={i} focusLine={focusLine} />}
      {error ? <ErrorBox error={error} title="Could not load span details" /> : !details ? <Loading label="Loading attributes…" /> : <Details d={details} tree={tree} onSelect={onSelect} />}
    </aside>
  );
}

function Details({ d, tree, onSelect }: { d: SpanDetails; tree: TraceTree; onSelect: (i: number) => void }) {
  const span = d.span;
  const status = statusNumber(span.status?.code);
  const start = BigInt(span.startTimeUnixNano || '0');
  const end = BigInt(span.endTimeUnixNano || span.startTimeUnixNano || '0');
  const dur = Number(end - start);
  const events = useMemo(
    () =>
      (span.events ?? [])
        .map((e) => ({ ...e, offset: Number(BigInt(e.timeUnixNano || '0') - start) }))
        .sort((a, b) => a.offset - b.offset),
    [span],
  );
  return (
    <div class="details">
      {(span.status?.message || status === STATUS_ERROR) && (
        <section>
          <h3>Status</h3>
          <div class={status === STATUS_ERROR ? 'status-msg err' : 'status-msg'} data-testid="status-message">
            {['Unset', 'Ok', 'Error'][status] ?? status}
            {span.status?.message ? `: ${span.status.message}` : ''}
          </div>
        </section>
      )}
      <Attrs title="Span attributes" attrs={span.attributes} dropped={span.droppedAttributesCount} testid="span-attributes" />
      {events.length > 0 && (
        <section data-testid="events">
          <h3>
            Events <span class="muted">{events.length}</span>
          </h3>
          <div class="ev-timeline" title="Events over the span's duration">
            {events.map((e) => (
              <i
                class={/exception|error/i.test(e.name ?? '') ? 'err' : ''}
                style={{ left: `${dur > 0 ? Math.max(0, Math.min(100, (e.offset / dur) * 100)) : 0}%` }}
                title={`${e.name} +${formatDuration(e.offset)}`}
              />
            ))}
          </div>
          <ol class="events">
            {events.map((e) => (
              <li>
                <div>
                  <span class="mono muted">+{formatDuration(e.offset)}</span> <b>{e.name}</b>
                </div>
                {(e.attributes?.length ?? 0) > 0 && <KvTable attrs={e.attributes!} />}
              </li>
            ))}
          </ol>
          {!!span.droppedEventsCount && <div class="muted small">{span.droppedEventsCount} events dropped</div>}
        </section>
      )}
      {(span.links?.length ?? 0) > 0 && (
        <section data-testid="links">
          <h3>
            Links <span class="muted">{span.links!.length}</span>
          </h3>
          <ul class="links">
            {span.links!.map((l) => {
              const tid = (l.traceId ?? '').toLowerCase();
              const sid = (l.spanId ?? '').toLowerCase();
              const same = tid === tree.traceId;
              const local = same ? tree.spanId.indexOf(sid) : -1;
              return (
                <li>
                  <a
                    href={`/trace/${tid}${sid ? `?span=${sid}` : ''}`}
                    data-testid="span-link"
                    onClick={(e) => {
                      if (local >= 0) {
                        e.preventDefault();
                        onSelect(local);
                      }
                    }}
                  >
                    {same ? 'this trace' : <span class="mono">{tid.slice(0, 16)}…</span>} / <span class="mono">{sid}</span>
                  </a>
                  {(l.attributes?.length ?? 0) > 0 && <KvTable attrs={l.attributes!} />}
                </li>
              );
            })}
          </ul>
        </section>
      )}
      <Attrs title="Resource attributes" attrs={d.resource.resource?.attributes} dropped={d.resource.resource?.droppedAttributesCount} testid="resource-attributes" />
      {(d.scope.scope?.name || d.scope.scope?.version) && (
        <section>
          <h3>Instrumentation scope</h3>
          <div class="mono small">
            {d.scope.scope?.name} {d.scope.scope?.version}
          </div>
        </section>
      )}
      {span.traceState && (
        <section>
          <h3>Trace state</h3>
          <div class="mono small">{span.traceState}</div>
        </section>
      )}
      <details class="raw-json">
        <summary>OTLP JSON</summary>
        <pre>{JSON.stringify(span, null, 2)}</pre>
      </details>
    </div>
  );
}

function Attrs({ title, attrs, dropped, testid }: { title: string; attrs?: OtlpKeyValue[]; dropped?: number; testid: string }) {
  const list = [...(attrs ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <section data-testid={testid}>
      <h3>
        {title} <span class="muted">{list.length}</span>
      </h3>
      {list.length ? <KvTable attrs={list} /> : <div class="muted small">none</div>}
      {!!dropped && <div class="muted small">{dropped} dropped</div>}
    </section>
  );
}

function KvTable({ attrs }: { attrs: OtlpKeyValue[] }) {
  return (
    <table class="kv">
      <tbody>
        {attrs.map((a) => (
          <tr>
            <th title={a.key}>{a.key}</th>
            <td class={a.value?.stringValue === undefined ? 'mono' : ''}>{anyValueText(a.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
