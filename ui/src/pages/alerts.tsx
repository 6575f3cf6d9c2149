// Alerts: the server's alerting rules with their state, the recent state changes and the notifiers'
// delivery counters. Reloaded every 15 seconds.

import { useState } from 'preact/hooks';
import { get } from '../api/client';
import type { AlertNotifier, AlertRule, AlertsResponse, AlertTransition } from '../api/types';
import { Empty, ErrorBox, Loading } from '../components/common';
import { formatAgo, formatFigure, kindLabel } from '../lib/figures';
import { href } from '../lib/router';
import { useAsync, useNow, useTicker, useTitle } from '../lib/hooks';
import { formatCount, formatDuration, formatTime, nanosToMillis } from '../trace/format';

const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, inactive: 2 };

export default function AlertsPage() {
  useTitle('Alerts');
  const tick = useTicker(15_000, true);
  const [loadedAt, setLoadedAt] = useState(0);
  const res = useAsync(
    (s) =>
      get<AlertsResponse>('/api/v1/alerts', {}, s).then((r) => {
        setLoadedAt(Date.now());
        return r;
      }),
    [tick],
  );
  const now = useNow();
  const data = res.data;
  const firing = data?.rules.filter((r) => r.state === 'firing').length ?? 0;
  const pending = data?.rules.filter((r) => r.state === 'pending').length ?? 0;
  return (
    <div class="alerts-page" data-testid="alerts-page">
      <div class="toolbar">
        <h1>Alerts</h1>
        {data && (
          <span class="small">
            <span class={firing ? 'state-pill state-firing' : 'muted'} data-testid="alerts-firing">
              {firing} firing
            </span>{' '}
            <span class={pending ? 'state-pill state-pending' : 'muted'}>{pending} pending</span>
          </span>
        )}
        <span class="spacer" />
        {data && data.evaluationIntervalMs ? <span class="muted small">rules evaluated every {formatDuration(data.evaluationIntervalMs * 1e6)}</span> : null}
        <button type="button" onClick={res.reload} disabled={res.loading}>
          {res.loading ? <span class="spinner" /> : '↻'} Refresh
        </button>
        {loadedAt > 0 && (
          <span class="muted small" title={formatTime(loadedAt)}>
            updated {formatAgo(loadedAt, now)}
          </span>
        )}
      </div>
      {res.loading && !data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} title="Could not load alerts" onRetry={res.reload} />
      ) : (
        <>
          <Rules rules={data!.rules} now={now} />
          <div class="alerts-lower">
            <History history={data!.history} now={now} />
            <Notifiers notifiers={data!.notifiers} />
          </div>
        </>
      )}
    </div>
  );
}

function StatePill({ state }: { state: string }) {
  return <span class={`state-pill state-${state}`}>{state}</span>;
}

function Rules({ rules, now }: { rules: AlertRule[]; now: number }) {
  if (rules.length === 0)
    return (
      <div class="card">
        <Empty title="No alerting rules">
          This server evaluates no rules. Rules compare a service's error rate, latency or throughput with a threshold, or fire on Insights
          findings above a score; they and their notifiers come from a TOML file given with <code>--alert-rules</code> (see the README).
        </Empty>
      </div>
    );
  const sorted = [...rules].sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) || a.name.localeCompare(b.name));
  return (
    <div class="card">
      <h2>Rules</h2>
      <table class="grid alert-rules" data-testid="alert-rules">
        <thead>
          <tr>
            <th>State</th>
            <th>Rule</th>
            <th class="num">Value</th>
            <th>Since</th>
            <th>Last evaluated</th>
            <th>Examples</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => {
            const since = r.activeSince ? nanosToMillis(r.activeSince) : null;
            const last = r.lastEvaluation ? nanosToMillis(r.lastEvaluation) : null;
            return (
              <tr class={`rule-${r.state}`} data-testid="alert-rule" data-name={r.name} data-state={r.state}>
                <td>
                  <StatePill state={r.state} />
                </td>
                <td>
                  <div>
                    <b data-testid="alert-rule-name">{r.name}</b> <span class="badge">{r.type}</span>
                  </div>
                  <div class="muted small">{r.description}</div>
                  {r.labels && Object.keys(r.labels).length > 0 && (
                    <div class="rule-labels">
                      {Object.entries(r.labels).map(([k, v]) => (
                        <code class="tag">
                          {k}={v}
                        </code>
                      ))}
                    </div>
                  )}
                  {r.summary && <div class="small rule-summary">{r.summary}</div>}
                  {r.finding && (
                    <div class="small rule-finding">
                      <span class={`kind-badge kind-${r.finding.kind}`}>{kindLabel(r.finding.kind)}</span>{' '}
                      <a href={href('/insights', { service: r.finding.service })}>
                        {r.finding.service} · {r.finding.operation}
                      </a>
                    </div>
                  )}
                  {r.lastError && (
                    <div class="small err-text" data-testid="alert-rule-error">
                      evaluation failed: {r.lastError}
                    </div>
                  )}
                </td>
                <td class="num" data-testid="alert-rule-value" data-raw={r.value ?? ''}>
                  {r.value === null || r.value === undefined ? '–' : formatFigure('value', r.value)}
                </td>
                <td class="nowrap" title={since !== null ? formatTime(since) : undefined}>
                  {since !== null && r.state !== 'inactive' ? formatAgo(since, now) : '–'}
                </td>
                <td class="nowrap muted" title={last !== null ? formatTime(last) : undefined}>
                  {last !== null ? formatAgo(last, now) : 'not yet'}
                </td>
                <td>
                  {(r.exemplars ?? []).slice(0, 3).map((id) => (
                    <a class="mono exemplar-link" href={`/trace/${id}`} data-testid="alert-exemplar" title={id}>
                      {id.slice(0, 8)}
                    </a>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function History({ history, now }: { history: AlertTransition[]; now: number }) {
  const list = [...history].sort((a, b) => (a.time.length - b.time.length || (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)) * -1);
  return (
    <div class="card">
      <h2>History</h2>
      {list.length === 0 ? (
        <div class="muted" data-testid="alert-history-empty">
          No state changes yet.
        </div>
      ) : (
        <ol class="alert-history" data-testid="alert-history">
          {list.map((h) => {
            const t = nanosToMillis(h.time);
            return (
              <li data-testid="alert-transition" data-rule={h.rule}>
                <span class="muted small nowrap" title={formatTime(t)}>
                  {formatAgo(t, now)}
                </span>
                <b>{h.rule}</b>
                <span class="nowrap">
                  <StatePill state={h.from} /> → <StatePill state={h.to} />
                </span>
                {h.value !== null && h.value !== undefined && <span class="muted small">value {formatFigure('value', h.value)}</span>}
                {h.summary && <span class="small history-summary">{h.summary}</span>}
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

function Notifiers({ notifiers }: { notifiers: AlertNotifier[] }) {
  return (
    <div class="card">
      <h2>Notifiers</h2>
      {notifiers.length === 0 ? (
        <div class="muted" data-testid="notifiers-empty">
          No notifiers: state changes are only shown here.
        </div>
      ) : (
        <table class="grid small" data-testid="notifiers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Format</th>
              <th class="num">Sent</th>
              <th class="num">Failed</th>
              <th class="num">Dropped</th>
              <th class="num">Queued</th>
            </tr>
          </thead>
          <tbody>
            {notifiers.map((n) => (
              <tr data-testid="notifier" data-name={n.name}>
                <td>
                  <b>{n.name}</b>
                  <div class="muted small mono notifier-url">{n.url}</div>
                </td>
                <td>{n.format}</td>
                <td class="num">{formatCount(n.sent)}</td>
                <td class={`num ${n.failed ? 'err-text' : ''}`}>{formatCount(n.failed)}</td>
                <td class={`num ${n.dropped ? 'warn-text' : ''}`}>{formatCount(n.dropped)}</td>
                <td class="num">{formatCount(n.queued)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
