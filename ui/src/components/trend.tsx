// A small SVG trend of a finding's metric: the baseline period, the recent window shaded, the
// baseline level dashed, and a hover title per point.

import { formatTime, nanosToMillis } from '../trace/format';

interface Props {
  series: { time: string; value: number | null }[];
  /** Start of the recent window (unix ns); points from there on are in the shaded region. */
  windowStart?: string;
  /** The baseline level of the metric, drawn dashed. */
  baseline?: number | null;
  format: (v: number) => string;
  width?: number;
  height?: number;
  testid?: string;
}

export function Trend({ series, windowStart, baseline, format, width = 280, height = 64, testid }: Props) {
  const pts = series.map((p) => ({ t: nanosToMillis(p.time), v: p.value }));
  const vals = pts.map((p) => p.v).filter((v): v is number => v !== null && Number.isFinite(v));
  if (pts.length === 0 || vals.length === 0) return <div class="trend muted small">no series</div>;
  const top = 12;
  const bottom = 4;
  const max = Math.max(...vals, baseline ?? 0) || 1;
  const t0 = pts[0].t;
  const t1 = pts[pts.length - 1].t;
  const span = t1 - t0 || 1;
  const x = (t: number) => (pts.length === 1 ? width / 2 : ((t - t0) / span) * (width - 4) + 2);
  const y = (v: number) => top + (1 - v / max) * (height - top - bottom);
  // line segments broken at missing points
  let d = '';
  let area = '';
  let run: { x: number; y: number }[] = [];
  const closeRun = () => {
    if (run.length) {
      d += run.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
      area += `M${run[0].x.toFixed(1)},${height - bottom}` + run.map((p) => `L${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('') + `L${run[run.length - 1].x.toFixed(1)},${height - bottom}Z`;
    }
    run = [];
  };
  for (const p of pts) {
    if (p.v === null || !Number.isFinite(p.v)) closeRun();
    else run.push({ x: x(p.t), y: y(p.v) });
  }
  closeRun();
  const ws = windowStart ? nanosToMillis(windowStart) : null;
  const wx = ws !== null && ws > t0 ? x(Math.min(ws, t1)) : null;
  const hitW = Math.max(2, width / pts.length);
  const last = [...pts].reverse().find((p) => p.v !== null && Number.isFinite(p.v))!;
  return (
    <svg class="trend" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid={testid} role="img" aria-label={`trend, last value ${format(last.v!)}`}>
      {wx !== null && <rect class="trend-window" x={wx} y={0} width={Math.max(2, width - wx)} height={height} />}
      {baseline !== null && baseline !== undefined && Number.isFinite(baseline) && (
        <line class="trend-baseline" x1={0} x2={width} y1={y(baseline)} y2={y(baseline)}>
          <title>baseline {format(baseline)}</title>
        </line>
      )}
      <path class="trend-area" d={area} />
      <path class="trend-line" d={d} />
      <circle class="trend-last" cx={x(last.t)} cy={y(last.v!)} r={2.5} />
      <text class="trend-max" x={2} y={9}>
        {format(max)}
      </text>
      {pts.map((p) =>
        p.v === null ? null : (
          <rect x={x(p.t) - hitW / 2} y={0} width={hitW} height={height} class="trend-hit">
            <title>{`${formatTime(p.t).slice(11, 16)}  ${format(p.v)}`}</title>
          </rect>
        ),
      )}
    </svg>
  );
}
