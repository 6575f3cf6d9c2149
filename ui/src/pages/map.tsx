// Service map: the dependency graph laid out with dagre; a node opens its RED panel.

import dagre from '@dagrejs/dagre';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get } from '../api/client';
import type { DepEdge, DependenciesResponse, DepNode, MetricsResponse } from '../api/types';
import { Empty, ErrorBox, Loading, NoDataHint } from '../components/common';
import { RedCharts, RedTotals } from '../components/red';
import { TimeRangePicker } from '../components/timerange';
import { useAsync, useTitle } from '../lib/hooks';
import { href, navigate, useRoute } from '../lib/router';
import { rangeBounds, rangeFromQuery, rangeParams, stepFor, type TimeRange } from '../lib/timerange';
import { describeLookback, lookbackOf } from '../lib/figures';
import { HEALTH_LABEL, nodeHealth, nodeKey, type Health, type HealthResult } from '../lib/health';
import { serviceColor } from '../trace/colors';
import { formatDuration, formatPercent, formatRate, millisToNanos } from '../trace/format';

interface LaidNode extends DepNode {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface LaidEdge extends DepEdge {
  points: { x: number; y: number }[];
  lx: number;
  ly: number;
}

const NODE_H = 40;
const LABEL_W = 150;

type Laid = { nodes: LaidNode[]; edges: LaidEdge[]; width: number; height: number };

export function layoutGraph(nodes: DepNode[], edges: DepEdge[], rankdir: 'LR' | 'TB' = 'LR'): Laid {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph(rankdir === 'LR' ? { rankdir, nodesep: 28, ranksep: 70, edgesep: 16, marginx: 24, marginy: 24 } : { rankdir, nodesep: 40, ranksep: 56, edgesep: 16, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const key = (kind: string, name: string) => `${kind}\u0000${name}`;
  for (const n of nodes) {
    const w = Math.max(90, Math.min(260, n.name.length * 7.4 + 44));
    g.setNode(key(n.kind, n.name), { width: w, height: NODE_H });
  }
  edges.forEach((e, i) => {
    const a = key(e.parentKind, e.parent);
    const b = key(e.childKind, e.child);
    if (!g.hasNode(a)) g.setNode(a, { width: 120, height: NODE_H });
    if (!g.hasNode(b)) g.setNode(b, { width: 120, height: NODE_H });
    g.setEdge(a, b, { width: LABEL_W, height: 18, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const laidNodes: LaidNode[] = g.nodes().map((k) => {
    const [kind, name] = k.split('\u0000');
    const n = g.node(k);
    return { name, kind: kind as DepNode['kind'], x: n.x, y: n.y, w: n.width, h: n.height };
  });
  const laidEdges: LaidEdge[] = edges.map((e, i) => {
    const le = g.edge(key(e.parentKind, e.parent), key(e.childKind, e.child), `e${i}`) as unknown as { points: { x: number; y: number }[]; x: number; y: number };
    return { ...e, points: le.points ?? [], lx: le.x, ly: le.y };
  });
  const gr = g.graph() as { width?: number; height?: number };
  return { nodes: laidNodes, edges: laidEdges, width: gr.width ?? 800, height: gr.height ?? 600 };
}

/** Room kept at the bottom of the panel for the legends. */
const LEGEND_H = 60;
const MAX_SCALE = 1.6;

function fitScale(l: Laid, w: number, h: number): number {
  return Math.min(MAX_SCALE, Math.max(0.15, Math.min(w / l.width, h / l.height)));
}

/** The layout that is drawn larger in a panel of w x h (left to right on ties). */
export function pickLayout(l: { LR: Laid; TB: Laid }, w: number, h: number, reserved = 0): Laid {
  return fitScale(l.TB, w, h - reserved) > fitScale(l.LR, w, h - reserved) * 1.15 ? l.TB : l.LR;
}

function edgePath(pts: { x: number; y: number }[]): string {
  if (pts.length === 0) return '';
  let d = `M${pts[0].x},${pts[0].y}`;
  if (pts.length === 2) return d + `L${pts[1].x},${pts[1].y}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const mx = (pts[i].x + pts[i + 1].x) / 2;
    const my = (pts[i].y + pts[i + 1].y) / 2;
    d += `Q${pts[i].x},${pts[i].y} ${i === pts.length - 2 ? `${pts[i + 1].x},${pts[i + 1].y}` : `${mx},${my}`}`;
  }
  return d;
}

/** The period of the same length just before the range, as start/end parameters. */
function previousPeriod(range: TimeRange): { start: string; end: string; len: number } {
  const [from, to] = rangeBounds(range);
  const len = Math.max(60e3, to - from);
  return { start: millisToNanos(from - len), end: millisToNanos(from), len };
}

export default function MapPage() {
  const route = useRoute();
  const q = route.query;
  const range = rangeFromQuery(q, '1h');
  const selected = q.get('node') ?? '';
  const selectedKind = q.get('kind') ?? 'service';
  useTitle('Service map');
  const key = JSON.stringify(range);
  const res = useAsync((s) => get<DependenciesResponse>('/api/v1/dependencies', rangeParams(range), s), [key]);
  // health: error rate now, p99 now against the period of the same length before
  const health = useAsync(
    async (s) => {
      const prev = previousPeriod(range);
      const step = `${Math.ceil(prev.len / 60e3)}m`;
      const [metrics, prevMetrics, prevDeps] = await Promise.all([
        get<MetricsResponse>('/api/v1/metrics', { ...rangeParams(range), step }, s).catch(() => undefined),
        get<MetricsResponse>('/api/v1/metrics', { start: prev.start, end: prev.end, step }, s).catch(() => undefined),
        get<DependenciesResponse>('/api/v1/dependencies', { start: prev.start, end: prev.end }, s).catch(() => undefined),
      ]);
      return { metrics, prevMetrics, prevDeps, len: prev.len };
    },
    [key],
  );
  const healthMap = useMemo(() => {
    if (!res.data || !health.data) return null;
    return nodeHealth(res.data.nodes, { deps: res.data, metrics: health.data.metrics }, { deps: health.data.prevDeps, metrics: health.data.prevMetrics });
  }, [res.data, health.data]);
  const setQ = (patch: Record<string, string | undefined>, r: TimeRange = range) =>
    navigate(href('/map', { ...(r.start || r.end ? { start: r.start, end: r.end } : { lookback: r.lookback }), node: selected, kind: selected ? selectedKind : undefined, ...patch }), {
      replace: 'node' in patch,
    });
  return (
    <div class="map-page">
      <div class="toolbar">
        <h1>Service map</h1>
        <span class="spacer" />
        {res.data && (
          <span class="muted small">
            {res.data.nodes.length} nodes · {res.data.edges.length} edges
          </span>
        )}
        <TimeRangePicker value={range} onChange={(r) => setQ({}, r)} />
      </div>
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} title="Could not load the dependency graph" onRetry={res.reload} />
      ) : res.data!.edges.length === 0 && res.data!.nodes.length === 0 ? (
        <Empty title="No calls between services in this time range">
          The map is drawn from parent/child spans across services, database client spans (<code>db.system</code>) and messaging
          spans. Pick a longer range. If nothing was ever sent: <NoDataHint />
        </Empty>
      ) : (
        <div class={`map-body ${selected ? 'with-panel' : ''}`}>
          <Graph
            data={res.data!}
            health={healthMap}
            periodMs={health.data?.len ?? 0}
            selected={selected}
            selectedKind={selectedKind}
            onSelect={(n) => setQ({ node: n?.name, kind: n?.kind })}
          />
          {selected && <NodePanel name={selected} kind={selectedKind} data={res.data!} range={range} onClose={() => setQ({ node: undefined, kind: undefined })} />}
        </div>
      )}
    </div>
  );
}

function Graph({
  data,
  health,
  periodMs,
  selected,
  selectedKind,
  onSelect,
}: {
  data: DependenciesResponse;
  health: Map<string, HealthResult> | null;
  periodMs: number;
  selected: string;
  selectedKind: string;
  onSelect: (n: DepNode | null) => void;
}) {
  // both directions are laid out; the one that fills the panel at the larger scale is shown
  const layouts = useMemo(() => ({ LR: layoutGraph(data.nodes, data.edges, 'LR'), TB: layoutGraph(data.nodes, data.edges, 'TB') }), [data]);
  const host = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [tf, setTf] = useState({ x: 0, y: 0, k: 1 });
  const [hover, setHover] = useState<string | null>(null);
  const laid = useMemo(() => (size ? pickLayout(layouts, size.w, size.h, LEGEND_H) : layouts.LR), [layouts, size]);
  const fit = () => {
    const el = host.current;
    if (!el) return;
    const w = el.clientWidth;
    const h = el.clientHeight - LEGEND_H;
    const k = fitScale(laid, w, h);
    setTf({ k, x: (w - laid.width * k) / 2, y: Math.max(0, (h - laid.height * k) / 2) });
  };
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    setSize({ w: el.clientWidth, h: el.clientHeight });
    const ro = new ResizeObserver(() => setSize((s) => (s && Math.abs(s.w - el.clientWidth) < 20 && Math.abs(s.h - el.clientHeight) < 20 ? s : { w: el.clientWidth, h: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(fit, [laid, size]);
  const drag = useRef<{ x: number; y: number; tx: number; ty: number; moved: boolean } | null>(null);
  const focus = hover ?? (selected ? `${selectedKind}\u0000${selected}` : null);
  const touches = (e: LaidEdge) => !focus || `${e.parentKind}\u0000${e.parent}` === focus || `${e.childKind}\u0000${e.child}` === focus;
  return (
    <div
      class="graph"
      ref={host}
      data-testid="service-map"
      onWheel={(e) => {
        e.preventDefault();
        const rect = host.current!.getBoundingClientRect();
        const mx = e.clientX - rect.left;
        const my = e.clientY - rect.top;
        const k = Math.min(4, Math.max(0.1, tf.k * Math.exp(-e.deltaY * 0.0015)));
        setTf({ k, x: mx - ((mx - tf.x) * k) / tf.k, y: my - ((my - tf.y) * k) / tf.k });
      }}
      onPointerDown={(e) => {
        if ((e.target as Element).closest('.node')) return;
        drag.current = { x: e.clientX, y: e.clientY, tx: tf.x, ty: tf.y, moved: false };
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        const d = drag.current;
        if (!d) return;
        if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) > 3) d.moved = true;
        setTf((t) => ({ ...t, x: d.tx + e.clientX - d.x, y: d.ty + e.clientY - d.y }));
      }}
      onPointerUp={() => {
        const d = drag.current;
        drag.current = null;
        if (d && !d.moved) onSelect(null);
      }}
    >
      <div class="graph-controls">
        <button type="button" onClick={() => setTf((t) => ({ ...t, k: Math.min(4, t.k * 1.25) }))} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => setTf((t) => ({ ...t, k: Math.max(0.1, t.k / 1.25) }))} aria-label="Zoom out">
          −
        </button>
        <button type="button" onClick={fit}>
          Fit
        </button>
      </div>
      <div class="graph-legend">
        <span>
          <svg width="14" height="10">
            <rect x="1" y="1" width="12" height="8" rx="3" class="lg-service" />
          </svg>{' '}
          service
        </span>
        <span>
          <svg width="14" height="12">
            <path d="M1,3 a6,2 0 0,0 12,0 v6 a6,2 0 0,1 -12,0 z" class="lg-db" />
          </svg>{' '}
          database
        </span>
        <span>
          <svg width="16" height="10">
            <path d="M4,1 H15 L12,9 H1 Z" class="lg-msg" />
          </svg>{' '}
          messaging
        </span>
        <span class="muted">edges: rate · error rate · p99</span>
      </div>
      <div class="graph-legend health-legend" data-testid="health-legend">
        {(['ok', 'warn', 'bad', 'unknown'] as Health[]).map((h) => (
          <span>
            <i class={`health-swatch health-${h}`} /> {HEALTH_LABEL[h]}
          </span>
        ))}
        <span class="muted" title="Error rate at or above 1 % is degraded, 5 % unhealthy; p99 at 1.3× / 2× the previous period (and 5 / 10 ms more) likewise">
          {health ? `error rate, and p99 against the ${describeLookback(lookbackOf(periodMs))} before` : 'health loading…'}
        </span>
      </div>
      <svg width="100%" height="100%">
        <defs>
          <filter id="label-bg" x="-0.04" y="-0.2" width="1.08" height="1.4">
            <feFlood class="label-bg-flood" />
            <feComposite in="SourceGraphic" operator="over" />
          </filter>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        <g transform={`translate(${tf.x},${tf.y}) scale(${tf.k})`}>
          {laid.edges.map((e) => {
            const tone = e.errorRate > 0.05 ? 'bad' : e.errorRate > 0.01 ? 'warn' : '';
            const w = 1.2 + Math.min(5, Math.log10(1 + e.rate * 10));
            return (
              <g class={`edge ${tone} ${touches(e) ? '' : 'dim'}`} data-testid="map-edge" data-parent={e.parent} data-child={e.child}>
                <path d={edgePath(e.points)} style={{ strokeWidth: w }} marker-end="url(#arrow)" />
                <text x={e.lx} y={e.ly} text-anchor="middle" dominant-baseline="middle" class="edge-label" filter="url(#label-bg)">
                  <title>
                    {`${e.parent} → ${e.child}\n${e.calls} calls, ${e.errors} errors\np50 ${fmt(e.p50Nano)}  p90 ${fmt(e.p90Nano)}  p99 ${fmt(e.p99Nano)}`}
                  </title>
                  {formatRate(e.rate)} · {formatPercent(e.errorRate)} err · p99 {fmt(e.p99Nano)}
                </text>
              </g>
            );
          })}
          {laid.nodes.map((n) => {
            const sel = n.name === selected && n.kind === selectedKind;
            const x = n.x - n.w / 2;
            const y = n.y - n.h / 2;
            const color = n.kind === 'service' ? serviceColor(n.name) : 'var(--fg-muted)';
            const h = health?.get(nodeKey(n.kind, n.name));
            return (
              <g
                class={`node ${n.kind} ${sel ? 'sel' : ''} health-${h?.health ?? 'pending'}`}
                data-testid="map-node"
                data-name={n.name}
                data-kind={n.kind}
                data-health={h?.health ?? ''}
                tabIndex={0}
                role="button"
                aria-label={`${n.kind} ${n.name}`}
                onClick={() => onSelect(n)}
                onKeyDown={(e) => e.key === 'Enter' && onSelect(n)}
                onPointerEnter={() => setHover(`${n.kind}\u0000${n.name}`)}
                onPointerLeave={() => setHover(null)}
              >
                {n.kind === 'database' ? (
                  <path
                    d={`M${x},${y + 6} a${n.w / 2},6 0 0,0 ${n.w},0 v${n.h - 12} a${n.w / 2},6 0 0,1 ${-n.w},0 z M${x},${y + 6} a${n.w / 2},6 0 0,1 ${n.w},0`}
                    class="shape"
                    style={{ stroke: h ? undefined : color }}
                  />
                ) : n.kind === 'messaging' ? (
                  <path d={`M${x + 10},${y} H${x + n.w} L${x + n.w - 10},${y + n.h} H${x} Z`} class="shape" style={{ stroke: h ? undefined : color }} />
                ) : (
                  <rect x={x} y={y} width={n.w} height={n.h} rx={8} class="shape" style={{ stroke: h ? undefined : color }} />
                )}
                {n.kind === 'service' && <rect x={x} y={y} width={5} height={n.h} rx={2} style={{ fill: color }} />}
                <text x={n.x} y={n.y} text-anchor="middle" dominant-baseline="middle">
                  {n.name}
                </text>
                <title>{`${n.kind} ${n.name}${h ? `\n${HEALTH_LABEL[h.health]}: ${h.reasons.join('; ')}` : ''}`}</title>
              </g>
            );
          })}
        </g>
      </svg>
    </div>
  );
}

function fmt(v: number | null): string {
  return v === null ? '–' : formatDuration(v);
}

function NodePanel({ name, kind, data, range, onClose }: { name: string; kind: string; data: DependenciesResponse; range: TimeRange; onClose: () => void }) {
  const incoming = data.edges.filter((e) => e.child === name && e.childKind === kind);
  const outgoing = data.edges.filter((e) => e.parent === name && e.parentKind === kind);
  const [from, to] = rangeBounds(range);
  const step = stepFor(to - from, 60);
  const isService = kind === 'service';
  const key = JSON.stringify([name, range, step]);
  const red = useAsync(
    (s) => (isService ? get<MetricsResponse>('/api/v1/metrics', { ...rangeParams(range), service: name, step }, s) : Promise.resolve(null)),
    [key, isService],
  );
  const series = red.data?.series[0];
  return (
    <aside class="panel map-panel" data-testid="red-panel" aria-label={`${name} details`}>
      <div class="panel-head">
        <div class="panel-title">
          <span class="badge">{kind}</span> <span class="panel-svc">{name}</span>
        </div>
        <button type="button" class="icon-btn" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {isService && (
        <div class="panel-links">
          <a class="btn" href={href(`/services/${encodeURIComponent(name)}`, { lookback: range.lookback, start: range.start, end: range.end })}>
            Service dashboard
          </a>
          <a class="btn" href={href('/search', { service: name, lookback: range.lookback, start: range.start, end: range.end })}>
            Find traces
          </a>
        </div>
      )}
      {isService &&
        (red.loading && !red.data ? (
          <Loading />
        ) : red.error ? (
          <ErrorBox error={red.error} title="Could not load RED metrics" />
        ) : series ? (
          <>
            <h3>Requests served by {name}</h3>
            <RedTotals total={series.total} />
            <RedCharts series={series} stepSeconds={red.data!.stepSeconds} compact />
          </>
        ) : (
          <div class="muted">No spans of this service in the range.</div>
        ))}
      <EdgeTable title="Called by" edges={incoming} side="parent" />
      <EdgeTable title="Calls" edges={outgoing} side="child" />
    </aside>
  );
}

function EdgeTable({ title, edges, side }: { title: string; edges: DepEdge[]; side: 'parent' | 'child' }) {
  if (edges.length === 0) return null;
  return (
    <section>
      <h3>{title}</h3>
      <table class="grid small" data-testid={`edges-${side}`}>
        <thead>
          <tr>
            <th>{side === 'parent' ? 'From' : 'To'}</th>
            <th class="num">Rate</th>
            <th class="num">Errors</th>
            <th class="num">p50</th>
            <th class="num">p99</th>
          </tr>
        </thead>
        <tbody>
          {edges.map((e) => (
            <tr>
              <td>{side === 'parent' ? e.parent : e.child}</td>
              <td class="num" title={`${e.calls} calls`}>
                {formatRate(e.rate)}
              </td>
              <td class={`num ${e.errorRate > 0.05 ? 'err-text' : ''}`} title={`${e.errors} errors`}>
                {formatPercent(e.errorRate)}
              </td>
              <td class="num">{fmt(e.p50Nano)}</td>
              <td class="num">{fmt(e.p99Nano)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
