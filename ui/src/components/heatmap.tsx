// Duration heatmap of every span a search matches over its whole time range (/api/v1/heatmap): time across,
// duration up on a log scale, colour by count. Hovering shows a cell; dragging a box searches its spans.
// Drawn on one canvas (a 60×32 grid is a few thousand fillRects); hover and selection are overlay elements, so
// moving the mouse never repaints the grid.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Params } from '../api/client';
import type { HeatmapResponse } from '../api/types';
import {
  boxCount,
  boxOf,
  boxRect,
  boxToSearch,
  cellAt,
  cellRect,
  clampedCellAt,
  durationTicks,
  formatDurationRange,
  formatDurationSpan,
  heatColor,
  PALETTES,
  timeRange,
  timeTickLabel,
  timeTicks,
  timeToX,
  visibleRows,
  type Box,
  type BoxSearch,
  type Cell,
  type Layout,
} from '../lib/heatmap';
import { useAsync } from '../lib/hooks';
import { cssVar, onThemeChange, resolvedTheme } from '../lib/theme';
import { formatCount, formatTime } from '../trace/format';
import { ErrorBox } from './common';

/** Time buckets asked for. */
const COLUMNS = 60;
const HEIGHT = 200;
const PAD = { left: 54, right: 8, top: 6, bottom: 20 };

interface Props {
  /** The search conditions and range, as /api/v1/heatmap takes them. */
  params: Params;
  /** A box was selected: the search for its spans. */
  onSelect: (s: BoxSearch) => void;
  /** Shown under the plot (e.g. that an unbounded search shows the last hour). */
  note?: string;
}

export function DurationHeatmap({ params, onSelect, note }: Props) {
  const key = JSON.stringify(params);
  const res = useAsync((s) => get<HeatmapResponse>('/api/v1/heatmap', { ...params, buckets: COLUMNS }, s), [key]);
  const [theme, setTheme] = useState(resolvedTheme());
  useEffect(() => onThemeChange(() => setTheme(resolvedTheme())), []);

  if (res.error && !res.data) {
    // a server without the heatmap route: no heatmap, the rest of the page works
    if (res.error instanceof ApiError && res.error.bare && (res.error.status === 404 || res.error.status === 405)) return null;
    return <ErrorBox error={res.error} title="Could not load the duration heatmap" onRetry={res.reload} />;
  }
  const h = res.data;
  const palette = PALETTES[theme];
  return (
    <div class={`card heatmap ${res.loading ? 'stale' : ''}`} data-testid="heatmap" data-state={res.loading || !h ? 'loading' : 'done'} data-total={h?.total} data-max={h?.maxCount} data-start={h?.startUnixNano} data-end={h?.endUnixNano}>
      <div class="heatmap-head">
        <b>Duration heatmap</b>
        <span class="muted small" data-testid="heatmap-total">
          {h ? `${formatCount(h.total)} matching span${h.total === 1 ? '' : 's'}` : 'loading…'}
        </span>
        <span class="spacer" />
        {h && h.total > 0 && (
          <span class="heatmap-legend muted small" title="Spans per cell, logarithmic">
            1
            <span class="heatmap-ramp" style={{ background: `linear-gradient(to right, ${palette.join(', ')})` }} />
            {formatCount(h.maxCount)}
          </span>
        )}
      </div>
      {h ? <Plot h={h} theme={theme} onSelect={onSelect} /> : <div class="heatmap-placeholder" style={{ height: `${HEIGHT}px` }} />}
      <div class="muted small heatmap-foot">
        Every matching span by start time and duration{note ? ` (${note})` : ''}; click a cell or drag a box over cells to search for their traces.
      </div>
    </div>
  );
}

function Plot({ h, theme, onSelect }: { h: HeatmapResponse; theme: 'light' | 'dark'; onSelect: (s: BoxSearch) => void }) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<{ cell: Cell; x: number; y: number } | null>(null);
  const [drag, setDrag] = useState<{ a: Cell; b: Cell; x: number; y: number } | null>(null);
  const buckets = h.durationBoundsNano.length;
  const { rowLo, rowHi } = useMemo(() => visibleRows(h.counts, buckets), [h]);
  const layout: Layout | null = width
    ? { x0: PAD.left, y0: PAD.top, width: Math.max(10, width - PAD.left - PAD.right), height: HEIGHT - PAD.top - PAD.bottom, cols: h.counts.length, rowLo, rowHi }
    : null;

  useEffect(() => {
    const el = wrap.current!;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (layout && canvas.current) draw(canvas.current, h, layout, width, PALETTES[theme]);
  }, [h, width, theme]);

  useEffect(() => {
    if (!drag) return;
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setDrag(null);
    addEventListener('keydown', esc);
    return () => removeEventListener('keydown', esc);
  }, [!!drag]);

  const pos = (e: PointerEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const box: Box | null = drag ? boxOf(drag.a, drag.b) : null;
  const tip = drag ? { box: box!, x: drag.x, y: drag.y } : hover ? { box: boxOf(hover.cell, hover.cell), x: hover.x, y: hover.y } : null;

  return (
    <div class="heatmap-plot" ref={wrap} style={{ height: `${HEIGHT}px` }}>
      <canvas
        ref={canvas}
        role="img"
        aria-label={`Duration heatmap: ${h.total} spans over ${h.counts.length} time buckets; drag to select a time and duration range`}
        data-testid="heatmap-canvas"
        data-x0={layout?.x0}
        data-y0={layout?.y0}
        data-plot-width={layout?.width}
        data-plot-height={layout?.height}
        data-cols={layout?.cols}
        data-row-lo={rowLo}
        data-row-hi={rowHi}
        onPointerDown={(e) => {
          if (!layout || e.button !== 0) return;
          const p = pos(e);
          const cell = cellAt(layout, p.x, p.y);
          if (!cell) return;
          e.preventDefault();
          canvas.current!.setPointerCapture(e.pointerId);
          setHover(null);
          setDrag({ a: cell, b: cell, ...p });
        }}
        onPointerMove={(e) => {
          if (!layout) return;
          const p = pos(e);
          if (drag) {
            const b = clampedCellAt(layout, p.x, p.y);
            setDrag({ ...drag, b, ...p });
            return;
          }
          const cell = cellAt(layout, p.x, p.y);
          setHover(cell ? { cell, ...p } : null);
        }}
        onPointerUp={(e) => {
          if (!drag) return;
          canvas.current!.releasePointerCapture(e.pointerId);
          setDrag(null);
          const b = boxOf(drag.a, drag.b);
          // an empty box would only find nothing
          if (boxCount(h.counts, b) > 0) onSelect(boxToSearch(h, b));
        }}
        onPointerCancel={() => setDrag(null)}
        onPointerLeave={() => setHover(null)}
      />
      {layout && hover && !drag && <Outline r={cellRect(layout, hover.cell.t, hover.cell.d)} cls="heatmap-hover" />}
      {layout && box && <Outline r={boxRect(layout, box)} cls="heatmap-box" testid="heatmap-box" />}
      {layout && tip && <Tip x={tip.x} y={tip.y} width={width} box={tip.box} h={h} dragging={!!drag} />}
      {h.total === 0 && <div class="heatmap-empty muted">No matching spans in this range</div>}
    </div>
  );
}

function Outline({ r, cls, testid }: { r: { x: number; y: number; w: number; h: number }; cls: string; testid?: string }) {
  return <div class={cls} data-testid={testid} style={{ left: `${r.x}px`, top: `${r.y}px`, width: `${r.w}px`, height: `${r.h}px` }} />;
}

function Tip({ x, y, width, box, h, dragging }: { x: number; y: number; width: number; box: Box; h: HeatmapResponse; dragging: boolean }) {
  const count = boxCount(h.counts, box);
  const from = timeRange(h, box.t0).start;
  const last = box.t1 >= h.counts.length - 1;
  // shown as [from, to): the next bucket's start, or the range's end for the last one
  const to = timeRange(h, box.t1).end + (last ? 0n : 1n);
  const stepMs = Number(h.stepNano) / 1e6;
  const spanMs = Number((BigInt(h.endUnixNano) - BigInt(h.startUnixNano)) / 1_000_000n);
  const clock = (ns: bigint) => {
    const t = formatTime(Number(ns / 1000n) / 1000);
    return spanMs > 86400e3 ? t.slice(5, 19) : stepMs < 1000 ? t.slice(11, 23) : t.slice(11, 19);
  };
  const dur = box.d0 === box.d1 ? formatDurationRange(h.durationBoundsNano, box.d0) : formatDurationSpan(h.durationBoundsNano, box.d0, box.d1);
  const right = x > width * 0.6;
  return (
    <div
      class="heatmap-tip"
      role="tooltip"
      data-testid="heatmap-tip"
      data-kind={dragging ? 'box' : 'cell'}
      data-count={count}
      style={{ top: `${Math.min(y + 14, HEIGHT - 70)}px`, ...(right ? { right: `${width - x + 14}px` } : { left: `${x + 14}px` }) }}
    >
      <div>
        <b>{formatCount(count)}</b> span{count === 1 ? '' : 's'}
        {dragging && ' in the box'}
      </div>
      <div>
        {clock(from)} – {clock(to)}
      </div>
      <div>{dur}</div>
      {dragging && <div class="muted">{count ? 'release to find their traces' : 'no spans to search here'}</div>}
    </div>
  );
}

/** Paints the grid, the decade lines and the axes. Cells are snapped to device pixels so neighbours never leave seams. */
function draw(canvas: HTMLCanvasElement, h: HeatmapResponse, l: Layout, cssWidth: number, palette: string[]) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(HEIGHT * dpr);
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${HEIGHT}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const px = (v: number) => Math.round(v * dpr);
  const fg = cssVar('--fg-muted') || '#666';
  const grid = cssVar('--grid') || '#ddd';
  const border = cssVar('--border') || '#ccc';
  const font = getComputedStyle(canvas).fontFamily || 'sans-serif';

  // decade lines
  const yTicks = durationTicks(h.durationBoundsNano, l.rowLo, l.rowHi);
  ctx.fillStyle = grid;
  for (const { d } of yTicks) {
    const r = cellRect(l, 0, d);
    ctx.fillRect(px(l.x0), px(r.y), px(l.x0 + l.width) - px(l.x0), Math.max(1, Math.round(dpr)));
  }

  // cells
  for (let t = 0; t < h.counts.length; t++) {
    const col = h.counts[t];
    for (let d = l.rowLo; d <= l.rowHi; d++) {
      const c = heatColor(col[d] ?? 0, h.maxCount, palette);
      if (!c) continue;
      const r = cellRect(l, t, d);
      const x0 = px(r.x);
      const y0 = px(r.y);
      ctx.fillStyle = c;
      ctx.fillRect(x0, y0, px(r.x + r.w) - x0, px(r.y + r.h) - y0);
    }
  }

  // frame
  ctx.strokeStyle = border;
  ctx.lineWidth = Math.max(1, Math.round(dpr));
  ctx.strokeRect(px(l.x0) + 0.5, px(l.y0) + 0.5, px(l.width) - 1, px(l.height) - 1);

  // labels
  ctx.fillStyle = fg;
  ctx.font = `${px(11)}px ${font}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const { d, label } of yTicks) {
    const r = cellRect(l, 0, d);
    ctx.fillText(label, px(l.x0 - 6), px(Math.max(r.y, l.y0 + 5)));
  }
  const fromMs = Number(BigInt(h.startUnixNano) / 1000n) / 1000;
  const toMs = Number(BigInt(h.endUnixNano) / 1000n) / 1000;
  const maxTicks = Math.max(2, Math.floor(l.width / 90));
  ctx.textBaseline = 'top';
  for (const ms of timeTicks(fromMs, toMs, maxTicks)) {
    const x = timeToX(l, h, ms);
    ctx.textAlign = x < l.x0 + 20 ? 'left' : x > l.x0 + l.width - 20 ? 'right' : 'center';
    ctx.fillStyle = grid;
    ctx.fillRect(px(x), px(l.y0 + l.height), Math.max(1, Math.round(dpr)), px(4));
    ctx.fillStyle = fg;
    ctx.fillText(timeTickLabel(ms, toMs - fromMs), px(x), px(l.y0 + l.height + 5));
  }
}
