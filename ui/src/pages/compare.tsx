// Trace comparison: the union of both span trees, matched by service+operation path.

import { useMemo, useState } from 'preact/hooks';
import { isTraceId, loadTrace, normalizeTraceId } from '../api/trace';
import { ErrorBox, Loading, ServiceDot } from '../components/common';
import { VirtualList } from '../components/virtuallist';
import { useAsync, useTitle } from '../lib/hooks';
import { navigate } from '../lib/router';
import { compareTraces, topSelfChanges, type CompareNode } from '../trace/compare';
import { formatCount, formatDuration } from '../trace/format';
import { buildTree, serviceName, spanName, type TraceTree } from '../trace/tree';

export default function ComparePage({ params }: { params: Record<string, string> }) {
  useTitle('Compare traces');
  if (!params.a || !params.b || !isTraceId(params.a) || !isTraceId(params.b)) return <CompareForm a={params.a} b={params.b} />;
  return <Comparison a={normalizeTraceId(params.a)} b={normalizeTraceId(params.b)} />;
}

function CompareForm({ a = '', b = '' }: { a?: string; b?: string }) {
  const [x, setX] = useState(a);
  const [y, setY] = useState(b);
  const ok = isTraceId(x) && isTraceId(y);
  return (
    <form
      class="card compare-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (ok) navigate(`/compare/${normalizeTraceId(x)}/${normalizeTraceId(y)}`);
      }}
    >
      <h1>Compare two traces</h1>
      <p class="muted">Spans are matched by their path of service and operation names from the root. Pick two traces in the search results, or paste their ids.</p>
      <label>
        <span>Trace A</span>
        <input value={x} class={x && !isTraceId(x) ? 'invalid' : ''} onInput={(e) => setX((e.target as HTMLInputElement).value.trim())} placeholder="32 hex digits" />
      </label>
      <label>
        <span>Trace B</span>
        <input value={y} class={y && !isTraceId(y) ? 'invalid' : ''} onInput={(e) => setY((e.target as HTMLInputElement).value.trim())} placeholder="32 hex digits" />
      </label>
      <button type="submit" class="primary" disabled={!ok}>
        Compare
      </button>
    </form>
  );
}

const STATUS_LABEL: Record<string, string> = { same: '', added: 'added', removed: 'removed', changed: 'changed' };

function Comparison({ a, b }: { a: string; b: string }) {
  const res = useAsync(
    async (signal) => {
      const [x, y] = await Promise.all([loadTrace(a, signal), loadTrace(b, signal)]);
      const ta = buildTree(x.compact);
      const tb = buildTree(y.compact);
      return { ta, tb, cmp: compareTraces(ta, tb) };
    },
    [a, b],
  );
  const [diffOnly, setDiffOnly] = useState(false);
  const rows = useMemo(() => {
    if (!res.data) return [];
    const { cmp } = res.data;
    if (!diffOnly) return cmp.order;
    // keep nodes that differ or have a differing descendant
    const keep = new Uint8Array(cmp.nodes.length);
    for (let k = cmp.order.length - 1; k >= 0; k--) {
      const n = cmp.nodes[cmp.order[k]];
      if (n.status !== 'same' || n.children.some((c) => keep[c])) keep[n.id] = 1;
    }
    return cmp.order.filter((id) => keep[id]);
  }, [res.data, diffOnly]);
  if (res.loading) return <Loading label="Loading both traces…" />;
  if (res.error) return <ErrorBox error={res.error} title="Could not load the traces" />;
  const { ta, tb, cmp } = res.data!;
  const maxDur = Math.max(1, ...cmp.nodes.map((n) => Math.max(n.durA, n.durB)));
  const top = topSelfChanges(cmp);
  return (
    <div class="compare-page" data-testid="compare-page">
      <div class="compare-head">
        <TraceCard label="A" t={ta} />
        <TraceCard label="B" t={tb} />
      </div>
      <div class="card compare-summary" data-testid="compare-summary">
        <span class="diff-added" data-testid="compare-added" data-raw={cmp.addedSpans}>
          +{formatCount(cmp.addedSpans)} spans added
        </span>
        <span class="diff-removed" data-testid="compare-removed" data-raw={cmp.removedSpans}>
          −{formatCount(cmp.removedSpans)} spans removed
        </span>
        <span class="diff-changed" data-testid="compare-changed" data-raw={cmp.changed} title="Paths whose span count or own (self) time differs notably">
          {formatCount(cmp.changed)} paths changed
        </span>
        <span class="muted">
          {formatCount(cmp.same)} unchanged · {formatCount(cmp.added)} new paths · {formatCount(cmp.removed)} missing paths
        </span>
        <span class="spacer" />
        <label class="inline">
          <input type="checkbox" checked={diffOnly} onChange={(e) => setDiffOnly((e.target as HTMLInputElement).checked)} /> differences only
        </label>
        <a class="btn" href={`/compare/${b}/${a}`}>
          Swap
        </a>
      </div>
      {top.length > 0 && (
        <div class="card compare-origin" data-testid="compare-origin">
          <span class="muted">Largest changes of own time (B − A):</span>
          {top.map((n) => (
            <span class="origin-item">
              <ServiceDot name={n.service} /> <b>{n.service}</b> {n.name}{' '}
              <span class={n.selfB > n.selfA ? 'slower' : 'faster'}>{signed(n.selfB - n.selfA)}</span>
            </span>
          ))}
        </div>
      )}
      <div class="card compare-table">
        <div class="cmp-row cmp-header">
          <div class="cmp-name">Service · operation (path)</div>
          <div class="cmp-side">A</div>
          <div class="cmp-side">B</div>
          <div class="cmp-delta" title="Duration of the spans of this path in B minus A (includes waiting for children)">
            Δ duration
          </div>
          <div class="cmp-delta" title="Self time (not covered by children) in B minus A: where the time itself was spent">
            Δ self time
          </div>
        </div>
        <VirtualList
          count={rows.length}
          rowHeight={28}
          height="calc(100vh - 330px)"
          testid="compare-rows"
          renderRow={(k) => <CompareRow n={cmp.nodes[rows[k]]} maxDur={maxDur} />}
        />
      </div>
    </div>
  );
}

function TraceCard({ label, t }: { label: string; t: TraceTree }) {
  const r = t.roots[0];
  return (
    <a class="card trace-card" href={`/trace/${t.traceId}`}>
      <div>
        <span class="badge">{label}</span> <ServiceDot name={t.n ? serviceName(t, r) : '?'} /> <b>{t.n ? serviceName(t, r) : '?'}</b> {t.n ? spanName(t, r) : ''}
      </div>
      <div class="muted small mono">{t.traceId}</div>
      <div class="small">
        {formatDuration(t.endTime)} · {formatCount(t.n)} spans · {t.errorCount} errors
      </div>
    </a>
  );
}

function signed(ns: number): string {
  return `${ns > 0 ? '+' : ns < 0 ? '−' : '±'}${formatDuration(Math.abs(ns))}`;
}

function CompareRow({ n, maxDur }: { n: CompareNode; maxDur: number }) {
  const delta = n.durB - n.durA;
  const pct = n.durA > 0 ? (delta / n.durA) * 100 : null;
  const selfDelta = n.selfB - n.selfA;
  const both = n.countA > 0 && n.countB > 0;
  return (
    <div class={`cmp-row st-${n.status}`} data-testid="compare-row" data-status={n.status} data-self-delta={selfDelta}>
      <div class="cmp-name" style={{ paddingLeft: `${Math.min(n.depth, 30) * 14 + 6}px` }} title={`${n.service}: ${n.name}`}>
        <ServiceDot name={n.service} /> <b>{n.service}</b> {n.name}
        {n.status !== 'same' && <span class={`st-badge st-${n.status}`}>{STATUS_LABEL[n.status]}</span>}
      </div>
      <Side count={n.countA} dur={n.durA} errors={n.errorsA} maxDur={maxDur} />
      <Side count={n.countB} dur={n.durB} errors={n.errorsB} maxDur={maxDur} />
      <div class={`cmp-delta ${delta > 0 ? 'slower' : delta < 0 ? 'faster' : ''}`}>
        {n.countA && n.countB ? `${delta >= 0 ? '+' : ''}${formatDuration(delta)}${pct !== null && Math.abs(pct) >= 1 ? ` (${pct > 0 ? '+' : ''}${pct.toFixed(0)}%)` : ''}` : ''}
        {n.countA !== n.countB && n.countA && n.countB ? <span class="muted"> {n.countB - n.countA > 0 ? '+' : ''}{n.countB - n.countA} spans</span> : ''}
      </div>
      <div
        class={`cmp-delta cmp-self ${n.status === 'changed' ? (selfDelta > 0 ? 'slower' : selfDelta < 0 ? 'faster' : '') : 'quiet'}`}
        data-testid="compare-self-delta"
        title={`self time A ${formatDuration(n.selfA)}, B ${formatDuration(n.selfB)}`}
      >
        {both || selfDelta !== 0 ? signed(selfDelta) : ''}
      </div>
    </div>
  );
}

function Side({ count, dur, errors, maxDur }: { count: number; dur: number; errors: number; maxDur: number }) {
  if (!count) return <div class="cmp-side muted">—</div>;
  return (
    <div class="cmp-side">
      <span class="cmp-bar" style={{ width: `${Math.max(1, (dur / maxDur) * 100)}%` }} />
      <span class="cmp-val">
        {count > 1 ? `${count}× ` : ''}
        {formatDuration(dur)}
        {errors > 0 && <span class="err-text"> {errors}!</span>}
      </span>
    </div>
  );
}
