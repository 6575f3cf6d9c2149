// SQL console over the `spans` table.

import { useEffect, useRef, useState } from 'preact/hooks';
import { postJson } from '../api/client';
import type { SqlResponse } from '../api/types';
import { ErrorBox, Loading } from '../components/common';
import { useTitle } from '../lib/hooks';
import { currentRoute, replaceQuery } from '../lib/router';

const EXAMPLES: { label: string; sql: string }[] = [
  {
    label: 'Spans and errors per service (last hour)',
    sql: `SELECT service_name, count(*) AS spans,
       sum(CASE WHEN status_code = 2 THEN 1 ELSE 0 END) AS errors
FROM spans
WHERE start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY service_name
ORDER BY spans DESC`,
  },
  {
    label: 'Slowest operations (p99, last hour)',
    sql: `SELECT service_name, name, count(*) AS spans,
       approx_percentile_cont(duration_nano, 0.99) / 1e6 AS p99_ms
FROM spans
WHERE start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY service_name, name
ORDER BY p99_ms DESC
LIMIT 20`,
  },
  {
    label: 'Recent errors with messages',
    sql: `SELECT trace_id, service_name, name, status_message, duration_nano / 1e6 AS ms
FROM spans
WHERE status_code = 2 AND start_time_unix_nano >= $NOW_MINUS_1H
ORDER BY start_time_unix_nano DESC
LIMIT 50`,
  },
  {
    label: 'HTTP status codes by route',
    sql: `SELECT http_route, http_response_status_code, count(*) AS n
FROM spans
WHERE http_route IS NOT NULL AND start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY 1, 2
ORDER BY n DESC
LIMIT 50`,
  },
];

function expand(sql: string): string {
  const since = (BigInt(Date.now() - 3600e3) * 1000000n).toString();
  return sql.replaceAll('$NOW_MINUS_1H', since);
}

const MAX_RENDERED = 2000;

export default function SqlPage() {
  useTitle('SQL');
  const initial = currentRoute().query.get('q') ?? expand(EXAMPLES[0].sql);
  const [sql, setSql] = useState(initial);
  const [state, setState] = useState<{ loading: boolean; result?: SqlResponse; error?: unknown; ms?: number }>({ loading: false });
  const ctl = useRef<AbortController | null>(null);
  const run = (text = sql) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    const q = new URLSearchParams(location.search);
    q.set('q', text);
    replaceQuery(q);
    const t0 = performance.now();
    setState({ loading: true });
    postJson<SqlResponse>('/api/v1/sql', { query: text }, c.signal).then(
      (result) => !c.signal.aborted && setState({ loading: false, result, ms: performance.now() - t0 }),
      (error) => !c.signal.aborted && setState({ loading: false, error }),
    );
  };
  useEffect(() => {
    if (currentRoute().query.get('q')) run(initial);
    return () => ctl.current?.abort();
  }, []);

  return (
    <div class="sql-page">
      <div class="card sql-editor">
        <textarea
          data-testid="sql-input"
          spellcheck={false}
          value={sql}
          rows={Math.min(16, Math.max(6, sql.split('\n').length + 1))}
          onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              run();
            }
          }}
          aria-label="SQL query"
        />
        <div class="sql-actions">
          <button type="button" class="primary" data-testid="sql-run" onClick={() => run()} disabled={state.loading}>
            Run <span class="muted small">Ctrl+Enter</span>
          </button>
          <select
            aria-label="Examples"
            onChange={(e) => {
              const i = Number((e.target as HTMLSelectElement).value);
              if (EXAMPLES[i]) setSql(expand(EXAMPLES[i].sql));
              (e.target as HTMLSelectElement).value = '';
            }}
          >
            <option value="">Examples…</option>
            {EXAMPLES.map((x, i) => (
              <option value={i}>{x.label}</option>
            ))}
          </select>
          <span class="muted small">
            One read-only SELECT over the table <code>spans</code>; times are unix nanoseconds. Add a time range to large queries.
          </span>
        </div>
      </div>
      {state.loading && <Loading label="Running query…" />}
      {state.error !== undefined && <ErrorBox error={state.error} title="The query failed" />}
      {state.result && <ResultTable r={state.result} ms={state.ms ?? 0} />}
    </div>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function ResultTable({ r, ms }: { r: SqlResponse; ms: number }) {
  const rows = r.rows.slice(0, MAX_RENDERED);
  return (
    <div class="card sql-result" data-testid="sql-result">
      <div class="muted small" data-testid="sql-summary">
        {r.rowCount} row{r.rowCount === 1 ? '' : 's'}
        {r.truncated && ' (truncated by the server row cap)'}
        {r.rowCount > MAX_RENDERED && `, first ${MAX_RENDERED} shown`}
        {r.blocksScanned !== undefined && ` · ${r.blocksScanned} of ${r.blocksTotal} blocks scanned`} · {Math.round(ms)} ms
      </div>
      {r.columns.length === 0 ? (
        <div class="muted">The query returned no columns.</div>
      ) : (
        <div class="table-wrap">
          <table class="grid">
            <thead>
              <tr>
                {r.columns.map((c) => (
                  <th title={c.type}>
                    {c.name}
                    <div class="muted small">{c.type}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr>
                  {row.map((v, k) => {
                    const col = r.columns[k]?.name ?? '';
                    const text = cell(v);
                    const isTrace = col === 'trace_id' && /^[0-9a-f]{32}$/.test(text);
                    return (
                      <td class={typeof v === 'number' ? 'num' : ''}>
                        {isTrace ? <a href={`/trace/${text}`}>{text}</a> : text}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {r.rowCount === 0 && <div class="muted pad">No rows.</div>}
        </div>
      )}
    </div>
  );
}
