// Log lines on the trace page: the span panel's lines, the trace's Logs tab, and the pieces the logs page
// shares with them (severity badge, a line's attributes).

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, statusText } from '../api/client';
import type { LogLine } from '../api/types';
import { formatOffset, isErrorLevel, lineLevel, severityClass, severityLabel, valueText, type TraceLogs } from '../lib/logs';
import { serviceName, spanName, type TraceTree } from '../trace/tree';
import { ErrorBox, ServiceDot } from './common';

export function SeverityBadge({ line }: { line: LogLine }) {
  const level = lineLevel(line);
  return (
    <span class={severityClass(level)} data-testid="log-severity" data-level={level} title={`severity ${line.severityNumber}${line.severityText ? ` (${line.severityText})` : ''}`}>
      {severityLabel(line)}
    </span>
  );
}

function KvJson({ obj }: { obj: Record<string, unknown> }) {
  const keys = Object.keys(obj).sort();
  if (!keys.length) return <div class="muted small">none</div>;
  return (
    <table class="kv">
      <tbody>
        {keys.map((k) => (
          <tr>
            <th title={k}>{k}</th>
            <td class={typeof obj[k] === 'string' ? '' : 'mono'}>{valueText(obj[k])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A line's attributes, and with `full` its resource, scope and ids. */
export function LogDetails({ line, full }: { line: LogLine; full?: boolean }) {
  return (
    <div class="log-details" data-testid="log-details">
      <h4>
        Attributes <span class="muted">{Object.keys(line.attributes ?? {}).length}</span>
      </h4>
      <KvJson obj={line.attributes ?? {}} />
      {full && (
        <>
          <h4>
            Resource <span class="muted">{Object.keys(line.resource ?? {}).length}</span>
          </h4>
          <KvJson obj={line.resource ?? {}} />
        </>
      )}
      <div class="muted small log-meta">
        {line.scope && <span>scope {line.scope}</span>}
        {line.eventName && <span>event {line.eventName}</span>}
        {full && line.traceId && <span class="mono">trace {line.traceId}</span>}
        {full && line.spanId && <span class="mono">span {line.spanId}</span>}
        <span class="mono">{line.time}</span>
      </div>
    </div>
  );
}

/** The ▸/▾ button that opens a line's attributes. */
export function ExpandButton({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      class="log-expand icon-btn"
      aria-expanded={open}
      aria-label={open ? 'Hide attributes' : 'Show attributes'}
      title={open ? 'Hide attributes' : 'Show attributes'}
      data-testid="log-expand"
      onClick={(e) => {
        e.stopPropagation();
        onToggle();
      }}
    >
      {open ? '▾' : '▸'}
    </button>
  );
}

export interface TraceLogsState {
  loading: boolean;
  logs: TraceLogs | null;
  truncated: boolean;
  error: unknown;
}

/** The lines of one span in the span panel, times relative to the trace start. */
export function SpanLogs({ state, index, focusLine }: { state: TraceLogsState; index: number; focusLine: number | null }) {
  const [open, setOpen] = useState<Set<number>>(new Set());
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => setOpen(new Set()), [index]);
  useEffect(() => {
    if (focusLine === null || !list.current) return;
    const el = list.current.querySelector(`[data-line="${focusLine}"]`) as HTMLElement | null;
    if (!el) return;
    el.scrollIntoView({ block: 'nearest' });
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
  }, [focusLine, index, state.logs]);
  if (state.error) {
    // the Logs tab shows the whole error; every span's panel only says so
    const e = state.error;
    return (
      <section data-testid="span-logs-error">
        <h3>Logs</h3>
        <div class="muted small">
          Could not be loaded: {e instanceof ApiError ? `${e.status ? `${e.status} ` : ''}${statusText(e.status)}, ${e.message}` : String((e as Error)?.message ?? e)}
        </div>
      </section>
    );
  }
  if (!state.logs) return null;
  const logs = state.logs;
  const lines = logs.bySpan.get(index) ?? [];
  return (
    <section data-testid="span-logs" data-count={lines.length}>
      <h3>
        Logs <span class="muted">{lines.length}</span>
      </h3>
      {lines.length === 0 ? (
        <div class="muted small">No log lines for this span.</div>
      ) : (
        <ol class="span-logs" ref={list}>
          {lines.map((k) => {
            const l = logs.lines[k];
            const isOpen = open.has(k);
            return (
              <li class={`span-log ${isErrorLevel(logs.levels[k]) ? 'err' : ''}`} data-line={k} data-testid="span-log">
                <div class="span-log-head">
                  <ExpandButton
                    open={isOpen}
                    onToggle={() =>
                      setOpen((s) => {
                        const n = new Set(s);
                        if (n.has(k)) n.delete(k);
                        else n.add(k);
                        return n;
                      })
                    }
                  />
                  <span class="mono muted small log-offset" data-testid="log-offset">
                    {formatOffset(logs.offsets[k])}
                  </span>
                  <SeverityBadge line={l} />
                  <span class="log-body" data-testid="log-body">
                    {l.body}
                  </span>
                </div>
                {isOpen && <LogDetails line={l} />}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** The trace's Logs tab: every line in time order; a line with a span selects it. */
export function TraceLogList({
  state,
  tree,
  selected,
  onSelect,
}: {
  state: TraceLogsState;
  tree: TraceTree;
  selected: number;
  onSelect: (i: number) => void;
}) {
  const [open, setOpen] = useState<Set<number>>(new Set());
  if (state.error) return <ErrorBox error={state.error} title="Could not load the trace's logs" />;
  if (!state.logs) return <div class="loading">Loading logs…</div>;
  const logs = state.logs;
  if (logs.lines.length === 0)
    return (
      <div class="empty trace-logs-empty" data-testid="trace-logs-empty">
        <div class="empty-title">No log lines for this trace</div>
        <div class="empty-body">
          Log records carrying this trace id appear here when they are sent over OTLP (<code>POST /v1/logs</code> or the gRPC
          LogsService).
        </div>
      </div>
    );
  const toggle = (k: number) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  return (
    <div class="trace-logs" data-testid="trace-logs">
      {state.truncated && (
        <div class="banner warn" data-testid="trace-logs-truncated">
          The first {logs.lines.length.toLocaleString('en-US')} lines of this trace; it has more.
        </div>
      )}
      <ol class="log-list">
        {logs.lines.map((l, k) => {
          const i = logs.span[k];
          const level = logs.levels[k];
          const isOpen = open.has(k);
          return (
            <li
              class={`log-line ${isErrorLevel(level) ? 'err' : ''} ${i >= 0 ? 'clickable' : ''} ${i >= 0 && i === selected ? 'sel' : ''}`}
              data-testid="trace-log-line"
              data-line={k}
              data-span-id={i >= 0 ? tree.spanId[i] : ''}
              title={i >= 0 ? 'Select its span' : l.spanId ? `Span ${l.spanId} is not in this trace` : 'This line has no span id'}
              tabIndex={i >= 0 ? 0 : undefined}
              onClick={() => {
                if (i >= 0 && !window.getSelection()?.toString()) onSelect(i);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && i >= 0 && e.target === e.currentTarget) onSelect(i);
              }}
            >
              <div class="log-row trace-log-row">
                <ExpandButton open={isOpen} onToggle={() => toggle(k)} />
                <span class="mono muted small log-offset" data-testid="log-offset">
                  {formatOffset(logs.offsets[k])}
                </span>
                <SeverityBadge line={l} />
                <span class="log-span">
                  {i >= 0 ? (
                    <>
                      <ServiceDot name={serviceName(tree, i)} />
                      <b>{serviceName(tree, i)}</b> {spanName(tree, i)}
                    </>
                  ) : (
                    <>
                      <ServiceDot name={l.service} />
                      <b>{l.service}</b> <span class="muted">{l.spanId ? `span ${l.spanId.slice(0, 8)}… not in the trace` : 'no span'}</span>
                    </>
                  )}
                </span>
                <span class="log-body" data-testid="log-body">
                  {l.body}
                </span>
              </div>
              {isOpen && <LogDetails line={l} />}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
