// Minimap of the whole trace: every span drawn into a small canvas (rows in preorder, x by
// time), built from per-pixel-row coverage counts so a million spans cost one pass. Shows the
// waterfall's viewport; click to jump, drag across to zoom the time window.

import { STATUS_ERROR } from '../trace/compact';
import type { TimesView } from '../trace/model';
import { serviceName, type TraceTree } from '../trace/tree';
import { serviceColor } from '../trace/colors';
import { cssVar, onThemeChange } from '../lib/theme';

export interface MinimapCallbacks {
  /** Jump to the span nearest this preorder position. */
  onJump(preorderPos: number): void;
  /** Zoom the waterfall to [t0, t1]. */
  onZoom(t0: number, t1: number): void;
}

export class Minimap {
  readonly el: HTMLDivElement;
  private canvas: HTMLCanvasElement;
  private view: HTMLDivElement;
  private win: HTMLDivElement;
  private sel: HTMLDivElement;
  private ro: ResizeObserver;
  private tree: TraceTree | null = null;
  private times: TimesView | null = null;
  private height = 56;
  private lastW = 0;
  private offTheme: () => void;

  constructor(
    parent: HTMLElement,
    private cb: MinimapCallbacks,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'minimap';
    this.el.dataset.testid = 'minimap';
    this.el.title = 'Click to jump; drag across to zoom into a time range';
    this.canvas = document.createElement('canvas');
    this.view = document.createElement('div');
    this.view.className = 'mm-view';
    this.win = document.createElement('div');
    this.win.className = 'mm-win';
    this.sel = document.createElement('div');
    this.sel.className = 'mm-sel';
    this.el.append(this.canvas, this.win, this.view, this.sel);
    parent.append(this.el);
    this.el.addEventListener('pointerdown', (e) => this.onDown(e));
    this.ro = new ResizeObserver(() => {
      if (this.el.clientWidth !== this.lastW) this.draw();
    });
    this.ro.observe(this.el);
    this.offTheme = onThemeChange(() => this.draw());
  }

  destroy() {
    this.offTheme();
    this.ro.disconnect();
    this.el.remove();
  }

  setTrace(tree: TraceTree, times: TimesView) {
    this.tree = tree;
    this.times = times;
    this.draw();
  }

  draw() {
    const t = this.tree;
    const v = this.times;
    if (!t || !v) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const W = Math.max(1, Math.floor(this.el.clientWidth * dpr));
    const H = Math.max(1, Math.floor(this.height * dpr));
    this.lastW = this.el.clientWidth;
    this.canvas.width = W;
    this.canvas.height = H;
    this.canvas.style.width = '100%';
    this.canvas.style.height = `${this.height}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx || t.n === 0) return;
    if (t.n <= H) {
      this.drawSmall(ctx, t, v, W, H);
      return;
    }
    const stride = W + 1;
    const all = new Int32Array(H * stride);
    const errs = new Int32Array(H * stride);
    const t0 = v.startTime;
    const span = Math.max(1, v.endTime - t0);
    const n = t.n;
    for (let k = 0; k < n; k++) {
      const i = t.order[k];
      const y0 = Math.floor((k * H) / n);
      const y1 = Math.max(y0, Math.floor(((k + 1) * H) / n) - 1);
      let x0 = Math.floor(((v.start[i] - t0) / span) * W);
      let x1 = Math.ceil(((v.end[i] - t0) / span) * W);
      x0 = Math.max(0, Math.min(W - 1, x0));
      x1 = Math.max(x0 + 1, Math.min(W, x1));
      const err = t.status[i] === STATUS_ERROR;
      for (let y = y0; y <= y1; y++) {
        const o = y * stride;
        all[o + x0]++;
        all[o + x1]--;
        if (err) {
          errs[o + x0]++;
          errs[o + x1]--;
        }
      }
    }
    const img = ctx.createImageData(W, H);
    const px = img.data;
    const base = parseColor(cssVar('--mm-span') || '#60a5fa');
    const errC = parseColor(cssVar('--error') || '#dc2626');
    // rows holding several spans get a log-scaled density
    const perRow = Math.max(1, n / H);
    const scale = 1 / Math.log2(1 + perRow);
    for (let y = 0; y < H; y++) {
      let a = 0;
      let e = 0;
      const o = y * stride;
      for (let x = 0; x < W; x++) {
        a += all[o + x];
        e += errs[o + x];
        if (a <= 0) continue;
        const p = (y * W + x) * 4;
        const col = e > 0 ? errC : base;
        px[p] = col[0];
        px[p + 1] = col[1];
        px[p + 2] = col[2];
        px[p + 3] = e > 0 ? 255 : Math.min(255, 150 + 105 * Math.min(1, Math.log2(1 + a) * scale));
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  /** Few spans: one band per span in its service colour. */
  private drawSmall(ctx: CanvasRenderingContext2D, t: TraceTree, v: TimesView, W: number, H: number) {
    ctx.clearRect(0, 0, W, H);
    const t0 = v.startTime;
    const span = Math.max(1, v.endTime - t0);
    const band = H / t.n;
    const errC = cssVar('--error') || '#dc2626';
    for (let k = 0; k < t.n; k++) {
      const i = t.order[k];
      const x0 = ((v.start[i] - t0) / span) * W;
      const x1 = ((v.end[i] - t0) / span) * W;
      ctx.fillStyle = t.status[i] === STATUS_ERROR ? errC : serviceColor(serviceName(t, i));
      ctx.fillRect(x0, k * band + (band > 3 ? 0.5 : 0), Math.max(1, x1 - x0), Math.max(1, band - (band > 3 ? 1 : 0)));
    }
  }

  /** Marks the rows in view (as preorder positions) and the zoomed time window. */
  setViewport(firstPos: number, lastPos: number, t0: number, t1: number) {
    const t = this.tree;
    const v = this.times;
    if (!t || !v || t.n === 0) return;
    const top = (firstPos / t.n) * this.height;
    const bottom = ((lastPos + 1) / t.n) * this.height;
    this.view.style.top = `${top}px`;
    this.view.style.height = `${Math.max(2, bottom - top)}px`;
    const span = Math.max(1, v.endTime - v.startTime);
    const full = t0 <= v.startTime && t1 >= v.endTime;
    this.win.style.display = full ? 'none' : '';
    this.win.style.left = `${((t0 - v.startTime) / span) * 100}%`;
    this.win.style.width = `${((t1 - t0) / span) * 100}%`;
  }

  private onDown(e: PointerEvent) {
    const v = this.times;
    const t = this.tree;
    if (!v || !t || e.button !== 0) return;
    e.preventDefault();
    const rect = this.el.getBoundingClientRect();
    const x0 = e.clientX - rect.left;
    let dragging = false;
    const move = (ev: PointerEvent) => {
      const x = ev.clientX - rect.left;
      if (!dragging && Math.abs(x - x0) > 4) dragging = true;
      if (dragging) {
        this.sel.style.display = 'block';
        this.sel.style.left = `${Math.min(x, x0)}px`;
        this.sel.style.width = `${Math.abs(x - x0)}px`;
      }
    };
    const up = (ev: PointerEvent) => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      this.sel.style.display = 'none';
      const x = ev.clientX - rect.left;
      if (dragging) {
        const span = v.endTime - v.startTime;
        const a = v.startTime + (Math.max(0, Math.min(x, x0)) / rect.width) * span;
        const b = v.startTime + (Math.min(rect.width, Math.max(x, x0)) / rect.width) * span;
        if (b > a) this.cb.onZoom(a, b);
      } else {
        const y = ev.clientY - rect.top;
        const pos = Math.floor((Math.max(0, Math.min(this.height - 0.001, y)) / this.height) * t.n);
        this.cb.onJump(pos);
      }
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
}

function parseColor(c: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(c.trim());
  if (m) {
    const v = parseInt(m[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  const r = /rgba?\((\d+)[ ,]+(\d+)[ ,]+(\d+)/.exec(c);
  if (r) return [+r[1], +r[2], +r[3]];
  return [96, 165, 250];
}
