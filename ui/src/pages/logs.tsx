// Log search (`/logs`): service, minimum severity, body text, attributes, trace id and time range are the URL;
// `GET /api/v1/logs` answers newest first. A line with a trace id links to the trace at its span.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api/client';
import type { LogLine, LogsResponse } from '../api/types';
import { Empty, ErrorBox, Loading, ServiceDot } from '../components/common';
import { ExpandButton, LogDetails, SeverityBadge } from '../components/loglines';
import { TimeRangePicker } from '../components/timerange';
import { useAsync, useTitle } from '../lib/hooks';
import {
  attrPairs,
  isErrorLevel,
  lineLevel,
  logApiParams,
  logFormFromQuery,
  logUrlParams,
  MIN_SEVERITIES,
  splitAttr,
  traceHref,
  type LogForm,
} from '../lib/logs';
import { href, navigate, useRoute } from '../lib/router';
import { formatCount, formatTime, nanosToMillis } from '../trace/format';

export default function LogsPage() {
  const route = useRoute();
  const applied = useMemo(() => logFormFromQuery(route.query), [route.search]);
  useTitle('Logs');
  return (
    <div class="logs-page" data-testid="logs-page">
      <LogsForm key={route.search} initial={applied} />
      <Results form={applied} />
    </div>
  );
}

interface AttrRow {
  key: string;
  value: string;
}

function rowsOf(attrs: string[]): AttrRow[] {
  const rows = attrs.map((a) => splitAttr(a) ?? { key: a, value: '' });
  return rows.length ? rows : [{ key: '', value: '' }];
}

function LogsForm({ initial }: { initial: LogForm }) {
  const [f, setF] = useState<LogForm>(initial);
  const [rows, setRows] = useState<AttrRow[]>(() => rowsOf(initial.attrs));
  const services = useAsync((s) => get<{ services: string[] }>('/api/v1/services', {}, s), []);
  const set = (patch: Partial<LogForm>) => setF((x) => ({ ...x, ...patch }));
  const setRow = (k: number, patch: Partial<AttrRow>) => setRows((rs) => rs.map((r, j) => (j === k ? { ...r, ...patch } : r)));
  // the API splits key=value at the first "=": a key cannot hold one
  const badKey = (r: AttrRow) => r.key.includes('=');
  const submit = (next: LogForm) => {
    if (rows.some(badKey)) return;
    navigate(href('/logs', logUrlParams({ ...next, attrs: attrPairs(rows) })));
  };
  const known = services.data?.services ?? [];
  return (
    <form
      class="search-form logs-form card"
      data-testid="logs-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit(f);
      }}
    >
      <label>
        <span>Service</span>
        <input
          list="log-services"
          data-testid="logs-service"
          placeholder="All services"
          title="service.name of the record's resource; the list holds the services that sent spans"
          value={f.service}
          onInput={(e) => set({ service: (e.target as HTMLInputElement).value })}
        />
        <datalist id="log-services">
          {known.map((s) => (
            <option value={s} />
          ))}
        </datalist>
      </label>
      <label>
        <span>Severity</span>
        <select data-testid="logs-severity" value={f.minSeverity} onChange={(e) => set({ minSeverity: (e.target as HTMLSelectElement).value })}>
          <option value="">Any severity</option>
          {MIN_SEVERITIES.map((s) => (
            <option value={s.value}>{s.label}</option>
          ))}
          {f.minSeverity && !MIN_SEVERITIES.some((s) => s.value === f.minSeverity) && <option value={f.minSeverity}>{f.minSeverity}</option>}
        </select>
      </label>
      <label class="wide">
        <span>Text</span>
        <input type="search" data-testid="logs-text" placeholder="Text in the body (any case)" value={f.q} onInput={(e) => set({ q: (e.target as HTMLInputElement).value })} />
      </label>
      <div class="wide attr-field" role="group" aria-label="Attributes">
        <span class="field-label">Attributes</span>
        <div class="attr-rows" data-testid="logs-attrs">
          {rows.map((r, k) => (
            <div class="attr-row">
              <input
                aria-label="Attribute key"
                data-testid="logs-attr-key"
                class={badKey(r) ? 'invalid' : ''}
                title={badKey(r) ? 'A key cannot contain "="' : 'Key of a record or resource attribute'}
                placeholder="key"
                value={r.key}
                onInput={(e) => setRow(k, { key: (e.target as HTMLInputElement).value })}
              />
              <span class="muted">=</span>
              <input aria-label="Attribute value" data-testid="logs-attr-value" placeholder="value" value={r.value} onInput={(e) => setRow(k, { value: (e.target as HTMLInputElement).value })} />
              <button
                type="button"
                class="icon-btn"
                aria-label="Remove this attribute"
                title="Remove"
                onClick={() => setRows((rs) => (rs.length === 1 ? [{ key: '', value: '' }] : rs.filter((_, j) => j !== k)))}
              >
                ×
              </button>
              {k === rows.length - 1 && (
                <button type="button" class="icon-btn" aria-label="Add an attribute" title="Add an attribute" data-testid="logs-attr-add" onClick={() => setRows((rs) => [...rs, { key: '', value: '' }])}>
                  +
                </button>
              )}
            </div>
          ))}
        </div>
      </div>
      <label>
        <span>Trace ID</span>
        <input data-testid="logs-trace" class="mono" placeholder="any trace" value={f.traceId} onInput={(e) => set({ traceId: (e.target as HTMLInputElement).value })} />
      </label>
      <label>
        <span>Time range</span>
        <TimeRangePicker value={f.range} onChange={(range) => submit({ ...f, range })} />
      </label>
      <label>
        <span>Limit</span>
        <input type="number" min="1" data-testid="logs-limit" title="Lines returned, 1 to 5000" value={f.limit} onInput={(e) => set({ limit: (e.target as HTMLInputElement).value })} />
      </label>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="logs-submit">
          Find logs
        </button>
        <a class="btn" href="/logs">
          Reset
        </a>
      </div>
    </form>
  );
}

function Results({ form }: { form: LogForm }) {
  const params = logApiParams(form);
  const key = JSON.stringify(params);
  const res = useAsync((s) => get<LogsResponse>('/api/v1/logs', params, s), [key]);
  const [open, setOpen] = useState<Set<number>>(new Set());
  useEffect(() => setOpen(new Set()), [key]);
  if (res.loading && !res.data) return <Loading label="Searching logs…" />;
  if (res.error) return <ErrorBox error={res.error} title="Log search failed" onRetry={res.reload} />;
  const data = res.data!;
  if (data.logs.length === 0)
    return (
      <Empty title="No log lines match">
        Widen the time range, lower the severity or remove some conditions. Log records arrive over OTLP: <code>POST /v1/logs</code> on{' '}
        <code>:4318</code> or the gRPC LogsService on <code>:4317</code>.
      </Empty>
    );
  const toggle = (k: number) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  return (
    <div class={res.loading ? 'stale' : ''} data-testid="logs-results-view" data-state={res.loading ? 'loading' : 'done'}>
      <div class="logs-bar">
        <span data-testid="logs-count" data-raw={data.logs.length}>
          <b>{formatCount(data.logs.length)}</b> line{data.logs.length === 1 ? '' : 's'}, newest first
        </span>
        {data.truncated && (
          <span class="badge badge-warn" data-testid="logs-truncated" title="More lines match than the limit: narrow the search or raise the limit">
            truncated: more lines match
          </span>
        )}
      </div>
      <div class="card logs-results">
        <div class="log-row logs-header">
          <span />
          <span>Time</span>
          <span>Severity</span>
          <span>Service</span>
          <span>Body</span>
          <span class="log-trace">Trace</span>
        </div>
        <ol class="log-list" data-testid="logs-results">
          {data.logs.map((l, k) => (
            <LogRow l={l} open={open.has(k)} onToggle={() => toggle(k)} />
          ))}
        </ol>
      </div>
      {data.truncated && (
        <div class="muted small pad">
          The newest {formatCount(data.logs.length)} of more matching lines. Narrow the search or raise the limit (up to 5,000).
        </div>
      )}
    </div>
  );
}

function LogRow({ l, open, onToggle }: { l: LogLine; open: boolean; onToggle: () => void }) {
  const link = traceHref(l);
  const level = lineLevel(l);
  return (
    <li class={`log-line ${isErrorLevel(level) ? 'err' : ''}`} data-testid="log-line" data-service={l.service} data-level={level} data-trace-id={l.traceId ?? ''}>
      <div class="log-row">
        <ExpandButton open={open} onToggle={onToggle} />
        <span class="mono small log-time" title={l.time}>
          {formatTime(nanosToMillis(l.timeUnixNano))}
        </span>
        <SeverityBadge line={l} />
        <span class="log-service" data-testid="log-service" title={l.service}>
          <ServiceDot name={l.service} />
          <b>{l.service}</b>
        </span>
        <span class="log-body" data-testid="log-body">
          {l.body}
        </span>
        <span class="log-trace">
          {link ? (
            <a href={link} class="mono small" data-testid="log-trace-link" title={`Open trace ${l.traceId}${l.spanId ? ` at span ${l.spanId}` : ''}`}>
              {l.traceId!.slice(0, 12)}…
            </a>
          ) : (
            <span class="muted small">–</span>
          )}
        </span>
      </div>
      {open && <LogDetails line={l} full />}
    </li>
  );
}
