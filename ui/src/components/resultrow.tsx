// One trace of a search's results: root service and operation, duration bar, span and error counts,
// services, the spans that matched, a checkbox to pick it for comparison, and what a caller adds.

import type { ComponentChildren } from 'preact';
import type { TraceSummary } from '../api/types';
import { formatDuration, formatRelativeTime, formatTime, nanosToMillis } from '../trace/format';
import { ServiceChip, ServiceDot } from './common';

export function ResultRow({
  t,
  maxDur,
  picked,
  onPick,
  showMatches,
  children,
}: {
  t: TraceSummary;
  maxDur: number;
  /** Picked for comparison (the checkbox is left out without `onPick`). */
  picked?: boolean;
  onPick?: (on: boolean) => void;
  /** Show the spans that matched the conditions. */
  showMatches: boolean;
  /** More about the trace, under its services. */
  children?: ComponentChildren;
}) {
  const ms = nanosToMillis(t.startTimeUnixNano);
  const root = t.rootService ?? t.services[0]?.name ?? '?';
  return (
    <li class={`result ${t.errorCount ? 'has-errors' : ''}`} data-testid="result" data-trace-id={t.traceId} data-duration={t.durationNano}>
      {onPick && <input type="checkbox" class="pick" aria-label="Select for comparison" checked={picked} onChange={(e) => onPick((e.target as HTMLInputElement).checked)} />}
      <div class="result-main">
        <a class="result-title" href={`/trace/${t.traceId}`}>
          <ServiceDot name={root} />
          <b>{root}</b>
          <span class="op">{t.rootOperation ?? (t.rootService === null ? '(root span not received)' : '')}</span>
          <span class="trace-id mono">{t.traceId.slice(0, 12)}</span>
        </a>
        <div class="result-durbar">
          <span style={{ width: `${Math.max(0.5, (t.durationNano / maxDur) * 100)}%` }} />
        </div>
        <div class="result-meta">
          <span data-testid="span-count">{t.spanCount} spans</span>
          {t.errorCount > 0 && (
            <span class="err-badge" data-testid="error-count">
              {t.errorCount} error{t.errorCount === 1 ? '' : 's'}
            </span>
          )}
          <span class="chips">
            {t.services.map((s) => (
              <ServiceChip name={s.name} count={s.spans} errors={s.errors} />
            ))}
          </span>
        </div>
        {showMatches && t.matchedSpans.length > 0 && (
          <div class="matched">
            {t.matchedSpans.map((m) => (
              <a href={`/trace/${t.traceId}?span=${m.spanId}`} class={m.status === 'error' ? 'err' : ''}>
                <ServiceDot name={m.service} /> {m.service}: {m.name} <span class="muted">{formatDuration(m.durationNano)}</span>
              </a>
            ))}
            {t.matchedCount > t.matchedSpans.length && <span class="muted">+{t.matchedCount - t.matchedSpans.length} more matching</span>}
          </div>
        )}
        {children}
      </div>
      <div class="result-side">
        <div class="result-dur" data-testid="duration">
          {formatDuration(t.durationNano)}
        </div>
        <div class="muted small" title={formatTime(ms)}>
          {formatRelativeTime(ms)}
        </div>
        <div class="muted small">{formatTime(ms).slice(11, 19)}</div>
      </div>
    </li>
  );
}
