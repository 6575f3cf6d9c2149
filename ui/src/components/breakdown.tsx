// Where the time goes across the traces a search matches (/api/v1/breakdown): operations by share of
// self time and of critical path, and attribute values over-represented among slow or failing traces.

import { useMemo, useState } from 'preact/hooks';
import { get, type Params } from '../api/client';
import type { BreakdownResponse } from '../api/types';
import { useAsync } from '../lib/hooks';
import { formatCount, formatDuration, formatPercent } from '../trace/format';
import { Empty, ErrorBox, Loading, ServiceDot } from './common';

type Sort = 'self' | 'critical';

export function Breakdown({ params, onAddTag }: { params: Params; onAddTag: (key: string, value: string) => void }) {
  const key = JSON.stringify(params);
  const res = useAsync((s) => get<BreakdownResponse>('/api/v1/breakdown', params, s), [key]);
  const [sort, setSort] = useState<Sort>('self');
  const ops = useMemo(() => {
    const list = [...(res.data?.operations ?? [])];
    list.sort(sort === 'self' ? (a, b) => b.selfTimeShare - a.selfTimeShare : (a, b) => b.criticalPathShare - a.criticalPathShare);
    return list;
  }, [res.data, sort]);
  if (res.loading && !res.data) return <Loading label="Breaking the matching traces down…" />;
  if (res.error) return <ErrorBox error={res.error} title="Could not break the traces down" onRetry={res.reload} />;
  const d = res.data!;
  if (d.traces === 0) return <Empty title="No traces to break down">Widen the time range or remove some conditions.</Empty>;
  return (
    <div class={`breakdown ${res.loading ? 'stale' : ''}`} data-testid="breakdown" data-traces={d.traces}>
      <div class="breakdown-head muted small">
        {formatCount(d.traces)} traces analysed
        {d.slowThresholdMs !== null && d.slowThresholdMs !== undefined && (
          <>
            {' '}
            · slow: {formatCount(d.slowTraces)} at or above {formatDuration(d.slowThresholdMs * 1e6)} (the slowest 10 %)
          </>
        )}{' '}
        · with errors: {formatCount(d.errorTraces)}
      </div>
      <div class="card">
        <div class="breakdown-title">
          <h2>Operations</h2>
          <span class="spacer" />
          <span class="seg" role="group" aria-label="Sort operations">
            <button type="button" class={sort === 'self' ? 'on' : ''} onClick={() => setSort('self')}>
              by self time
            </button>
            <button type="button" class={sort === 'critical' ? 'on' : ''} onClick={() => setSort('critical')}>
              by critical path
            </button>
          </span>
        </div>
        <table class="grid breakdown-ops" data-testid="breakdown-operations">
          <thead>
            <tr>
              <th>Service · operation</th>
              <th class="num">Spans</th>
              <th title="Share of all self time (time not spent waiting for children) in the matched traces">Self time</th>
              <th title="Share of the critical path (what the trace's duration waited on)">Critical path</th>
              <th class="num" title="Mean self time per span">Mean self</th>
            </tr>
          </thead>
          <tbody>
            {ops.map((o) => (
              <tr data-testid="breakdown-op" data-service={o.service} data-operation={o.operation}>
                <td class="bd-name">
                  <ServiceDot name={o.service} />
                  <b>{o.service}</b> {o.operation}
                </td>
                <td class="num">{formatCount(o.spans)}</td>
                <td class="bd-bar-cell">
                  <ShareBar share={o.selfTimeShare} label={`${formatPercent(o.selfTimeShare)} · ${formatDuration(o.selfTimeMs * 1e6)}`} kind="self" />
                </td>
                <td class="bd-bar-cell">
                  <ShareBar share={o.criticalPathShare} label={`${formatPercent(o.criticalPathShare)} · ${formatDuration(o.criticalPathMs * 1e6)}`} kind="cp" />
                </td>
                <td class="num">{formatDuration(o.meanSelfMs * 1e6)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="card">
        <h2>Attributes more common in slow or failing traces</h2>
        {d.attributes.length === 0 ? (
          <div class="muted" data-testid="breakdown-no-attributes">
            No attribute value stands out among the slow or failing traces.
          </div>
        ) : (
          <table class="grid breakdown-attrs" data-testid="breakdown-attributes">
            <thead>
              <tr>
                <th>Attribute</th>
                <th>Group</th>
                <th>In the group</th>
                <th>In the rest</th>
              </tr>
            </thead>
            <tbody>
              {d.attributes.map((a) => (
                <tr data-testid="breakdown-attr" data-key={a.key} data-value={a.value} data-group={a.group}>
                  <td>
                    <button type="button" class="link-btn attr-add" title="Add to the search conditions" data-testid="breakdown-attr-add" onClick={() => onAddTag(a.key, a.value)}>
                      <code>
                        {a.key}={a.value}
                      </code>{' '}
                      <span class="muted">+ add to search</span>
                    </button>
                  </td>
                  <td>
                    <span class={`badge group-${a.group}`}>{a.group === 'error' ? 'with errors' : a.group}</span>
                  </td>
                  <td class="bd-bar-cell">
                    <ShareBar share={a.inGroup} label={`${formatPercent(a.inGroup)} of ${formatCount(a.groupTraces)}`} kind={a.group === 'error' ? 'err' : 'slow'} />
                  </td>
                  <td class="bd-bar-cell">
                    <ShareBar share={a.inRest} label={`${formatPercent(a.inRest)} of ${formatCount(a.restTraces)}`} kind="rest" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}

function ShareBar({ share, label, kind }: { share: number; label: string; kind: string }) {
  const pct = Math.max(0, Math.min(1, Number.isFinite(share) ? share : 0)) * 100;
  return (
    <span class={`share share-${kind}`} data-raw={share}>
      <span class="share-track">
        <span class="share-fill" style={{ width: `${pct}%` }} />
      </span>
      <span class="share-label">{label}</span>
    </span>
  );
}
