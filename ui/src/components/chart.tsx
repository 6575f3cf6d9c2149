// uPlot wrapper: time-series and scatter charts that follow the theme and the container width.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssVar, onThemeChange } from '../lib/theme';

export interface ChartSeries {
  label: string;
  color: string;
  /** Points only, no line. */
  points?: boolean;
  pointSize?: number;
  width?: number;
  dash?: number[];
}

interface Props {
  /** x first (seconds since the epoch), then one array per series. */
  data: (number | null)[][];
  series: ChartSeries[];
  height?: number;
  yFormat?: (v: number) => string;
  yMin?: number;
  title?: string;
  /** Clicked: the nearest point (scatter) or the x index under the cursor. */
  onPick?: (idx: number, seriesIdx: number) => void;
  /** Pick the nearest point in 2D (for scatter plots) instead of the x under the cursor. */
  nearest?: boolean;
  testid?: string;
  legend?: boolean;
  /** Fixed x range (seconds), e.g. the searched time window. */
  xRange?: [number, number];
  /** Logarithmic y axis (base 10), so small and large series stay readable together; values <= 0 are not drawn. */
  yLog?: boolean;
}

/** The last non-null value of a series (shown in the legend while the cursor is elsewhere). */
function lastValue(ys: ArrayLike<number | null | undefined>): number | null {
  for (let i = ys.length - 1; i >= 0; i--) {
    const v = ys[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** Points with no neighbour on either side: a line cannot show them, so they are drawn as dots. */
function isolated(u: uPlot, seriesIdx: number): number[] | null {
  const ys = u.data[seriesIdx];
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === null || ys[i] === undefined) continue;
    const prev = i > 0 ? ys[i - 1] : null;
    const next = i + 1 < ys.length ? ys[i + 1] : null;
    if ((prev === null || prev === undefined) && (next === null || next === undefined)) out.push(i);
  }
  return out;
}

export function Chart(props: Props) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const seriesKey = JSON.stringify(props.series) + (props.height ?? 200) + (props.title ?? '') + (props.xRange ? 'x' : '') + (props.yLog ? 'log' : '');

  useEffect(() => {
    const target = el.current!;
    const build = () => {
      plot.current?.destroy();
      const p = latest.current;
      const fg = cssVar('--fg-muted') || '#666';
      const grid = cssVar('--grid') || '#ddd';
      const fmt = p.yFormat ?? ((v: number) => String(v));
      const opts: uPlot.Options = {
        width: Math.max(200, target.clientWidth),
        height: p.height ?? 200,
        title: p.title,
        legend: { show: p.legend ?? p.series.length > 1, live: true },
        cursor: {
          drag: { x: false, y: false },
          points: { size: 8 },
          focus: { prox: 16 },
        },
        scales: {
          x: { time: true, range: p.xRange ? () => latest.current.xRange! : undefined },
          y: p.yLog
            ? { distr: 3, log: 10, range: (_u, min, max) => (min > 0 && max > 0 ? uPlot.rangeLog(min, max, 10, true) : [0.001, 1]) }
            : { range: (_u, min, max) => [p.yMin ?? Math.min(0, min), max > (p.yMin ?? 0) ? max * 1.05 : 1] },
        },
        axes: [
          { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          {
            stroke: fg,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            size: 64,
            values: (_u, vals) => vals.map((v) => (v === null ? '' : fmt(v))),
          },
        ],
        series: [
          // while the cursor is elsewhere the legend shows each series' latest value
          { value: (_u, v) => (v === null || v === undefined ? 'latest' : new Date(v * 1000).toLocaleString([], { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' })) },
          ...p.series.map(
            (s): uPlot.Series => ({
              label: s.label,
              stroke: s.color,
              width: s.points ? 0 : (s.width ?? 1.5),
              dash: s.dash,
              fill: undefined,
              spanGaps: false,
              value: (u, v, si, idx) => {
                if (idx === null || idx === undefined) {
                  const last = lastValue(u.data[si] as (number | null)[]);
                  return last === null ? '–' : fmt(last);
                }
                return v === null || v === undefined ? '–' : fmt(v);
              },
              points: s.points
                ? { show: true, size: s.pointSize ?? 7, stroke: s.color, fill: s.color, width: 1 }
                : { show: true, size: 5, stroke: s.color, fill: s.color, filter: isolated },
              paths: s.points ? () => null : undefined,
            }),
          ),
        ],
      };
      const u = new uPlot(opts, latest.current.data as uPlot.AlignedData, target);
      u.over.style.cursor = latest.current.onPick ? 'pointer' : 'default';
      u.over.addEventListener('click', (ev) => {
        const cur = latest.current;
        if (!cur.onPick) return;
        if (cur.nearest) {
          const rect = u.over.getBoundingClientRect();
          const x = ev.clientX - rect.left;
          const y = ev.clientY - rect.top;
          let best = -1;
          let bestS = -1;
          let bestD = 15 * 15;
          const xs = cur.data[0];
          for (let s = 1; s < cur.data.length; s++) {
            const ys = cur.data[s];
            for (let i = 0; i < xs.length; i++) {
              const yv = ys[i];
              const xv = xs[i];
              if (yv === null || yv === undefined || xv === null) continue;
              const dx = u.valToPos(xv, 'x') - x;
              const dy = u.valToPos(yv, 'y') - y;
              const d = dx * dx + dy * dy;
              if (d < bestD) {
                bestD = d;
                best = i;
                bestS = s;
              }
            }
          }
          if (best >= 0) cur.onPick(best, bestS);
        } else if (u.cursor.idx !== null && u.cursor.idx !== undefined) {
          cur.onPick(u.cursor.idx, 1);
        }
      });
      plot.current = u;
    };
    build();
    const ro = new ResizeObserver(() => {
      const u = plot.current;
      if (u && Math.abs(u.width - target.clientWidth) > 2) u.setSize({ width: Math.max(200, target.clientWidth), height: latest.current.height ?? 200 });
    });
    ro.observe(target);
    const off = onThemeChange(build);
    return () => {
      off();
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  return <div class="chart" ref={el} data-testid={props.testid} />;
}
