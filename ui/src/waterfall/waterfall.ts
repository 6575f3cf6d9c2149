// The trace waterfall: a virtualised tree of span rows with bars to scale. Only the rows in view
// exist in the DOM (a ring of row elements reused as the view scrolls), and the scroll height is
// capped and mapped proportionally, so a million spans scroll like a hundred.

import { KIND_NAMES, STATUS_ERROR } from '../trace/compact';
import { serviceColor } from '../trace/colors';
import { formatDuration } from '../trace/format';
import { isErrorLevel, markerTitle, placeMarkers, type TraceLogs } from '../lib/logs';
import type { TimesView } from '../trace/model';
import { SKEW_ENDS_AFTER, SKEW_STARTS_BEFORE } from '../trace/skew';
import { childCount, serviceName, spanName, visibleRows, type TraceTree } from '../trace/tree';

export const ROW_H = 24;
const MAX_SCROLL_PX = 4_000_000;
const INDENT = 14;
const MAX_INDENT_LEVELS = 40;
const MAX_CP_SEGS = 4;

export interface WaterfallCallbacks {
  /** Selection moved (keyboard or mouse); -1 when cleared. */
  onSelect(i: number): void;
  /** Enter on a row, or a click: show the span's details. */
  onOpen(i: number): void;
  /** The rows in view or the visible rows changed. */
  onView?(): void;
  /** The time window changed (zoom). */
  onWindow?(t0: number, t1: number): void;
  /** "/" was pressed. */
  onSearchKey?(): void;
  /** A log marker was clicked: the span and the first line of the marker (index into the trace's lines). */
  onLogMarker?(i: number, line: number): void;
}

interface RowEls {
  root: HTMLDivElement;
  indent: HTMLSpanElement;
  tog: HTMLSpanElement;
  mark: HTMLSpanElement;
  svc: HTMLElement;
  op: HTMLSpanElement;
  badges: HTMLSpanElement;
  bar: HTMLDivElement;
  cps: HTMLDivElement[];
  dur: HTMLSpanElement;
  logs: HTMLDivElement;
  /** Row index shown, and the render generation it was drawn for. */
  row: number;
  gen: number;
}

export class Waterfall {
  readonly el: HTMLDivElement;
  private head: HTMLDivElement;
  private headLabel: HTMLDivElement;
  private ticks: HTMLDivElement;
  private scroller: HTMLDivElement;
  private layer: HTMLDivElement;
  private grid: HTMLDivElement;
  private spacer: HTMLDivElement;
  private pool: RowEls[] = [];
  private ro: ResizeObserver;

  private tree!: TraceTree;
  private times!: TimesView;
  private skewFlags: Uint8Array | null = null;
  private matches: Uint8Array | null = null;
  private logs: TraceLogs | null = null;
  private show: Uint8Array | null = null;
  private collapsed!: Uint8Array;
  private rows: Int32Array = new Int32Array(0);
  private rowOf: Int32Array | null = null;
  private gen = 0;
  private vt = 0; // virtual top in px of the full row space
  selected = -1;
  private t0 = 0;
  private t1 = 1;
  private labelW = 380;
  private showCp = true;
  private viewH = 400;
  private tlW = 600;

  constructor(
    parent: HTMLElement,
    private cb: WaterfallCallbacks,
  ) {
    this.el = div('wf');
    this.el.tabIndex = 0;
    this.el.setAttribute('role', 'tree');
    this.el.setAttribute('aria-label', 'Spans');
    this.el.dataset.testid = 'waterfall';
    this.head = div('wf-head');
    this.headLabel = div('wf-head-label');
    this.headLabel.textContent = 'Service · operation';
    const resizer = div('wf-resizer');
    resizer.title = 'Drag to resize';
    this.ticks = div('wf-ticks');
    this.head.append(this.headLabel, resizer, this.ticks);
    this.scroller = div('wf-scroll');
    this.layer = div('wf-layer');
    this.grid = div('wf-grid');
    this.spacer = div('wf-spacer');
    this.layer.append(this.grid);
    this.scroller.append(this.layer, this.spacer);
    this.el.append(this.head, this.scroller);
    parent.append(this.el);

    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // With the scroll height capped, one scrollbar pixel covers several rows; wheel and touchpad
    // scrolling move by real pixels instead.
    this.scroller.addEventListener(
      'wheel',
      (e) => {
        if (this.scrollRatio() <= 1 || e.ctrlKey || Math.abs(e.deltaY) < Math.abs(e.deltaX)) return;
        e.preventDefault();
        const unit = e.deltaMode === 1 ? ROW_H : e.deltaMode === 2 ? this.viewH : 1;
        this.setVirtualTop(this.vt + e.deltaY * unit);
      },
      { passive: false },
    );
    this.layer.addEventListener('click', (e) => this.onClick(e));
    this.layer.addEventListener('dblclick', (e) => {
      const i = this.spanAt(e);
      if (i >= 0 && childCount(this.tree, i) > 0) this.toggle(i);
    });
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    resizer.addEventListener('pointerdown', (e) => this.startResize(e));
    this.ro = new ResizeObserver(() => this.layout());
    this.ro.observe(this.el);
  }

  destroy() {
    this.ro.disconnect();
    this.el.remove();
  }

  // ---- data ----

  setTrace(tree: TraceTree, times: TimesView, skewFlags: Uint8Array | null) {
    this.tree = tree;
    this.times = times;
    this.skewFlags = skewFlags;
    this.collapsed = new Uint8Array(tree.n);
    this.matches = null;
    this.show = null;
    this.selected = -1;
    this.t0 = times.startTime;
    this.t1 = Math.max(times.endTime, times.startTime + 1);
    this.recomputeRows();
    this.layout();
  }

  setTimes(times: TimesView) {
    const full = this.t0 === this.times.startTime && this.t1 === Math.max(this.times.endTime, this.times.startTime + 1);
    this.times = times;
    if (full) {
      this.t0 = times.startTime;
      this.t1 = Math.max(times.endTime, times.startTime + 1);
    }
    this.invalidate();
  }

  setMatches(matches: Uint8Array | null, show: Uint8Array | null) {
    this.matches = matches;
    const showChanged = show !== this.show;
    this.show = show;
    if (showChanged) this.recomputeRows();
    else this.invalidate();
  }

  /** Log lines of the trace, drawn as markers on their spans' rows (null: none). */
  setLogs(logs: TraceLogs | null) {
    this.logs = logs;
    this.invalidate();
  }

  /** Measures again (after the waterfall was hidden, say). */
  refresh() {
    this.layout();
  }

  setShowCriticalPath(on: boolean) {
    this.showCp = on;
    this.invalidate();
  }

  setWindow(t0: number, t1: number) {
    if (!(t1 > t0)) return;
    this.t0 = t0;
    this.t1 = t1;
    this.invalidate();
    this.cb.onWindow?.(t0, t1);
  }

  resetWindow() {
    this.setWindow(this.times.startTime, Math.max(this.times.endTime, this.times.startTime + 1));
  }

  get window(): [number, number] {
    return [this.t0, this.t1];
  }

  get visible(): Int32Array {
    return this.rows;
  }

  /** First and last row index in view. */
  get viewport(): [number, number] {
    const first = Math.floor(this.vt / ROW_H);
    return [first, Math.min(this.rows.length - 1, first + Math.ceil(this.viewH / ROW_H))];
  }

  isCollapsed(i: number): boolean {
    return this.collapsed[i] === 1;
  }

  // ---- tree operations ----

  toggle(i: number) {
    this.collapsed[i] = this.collapsed[i] ? 0 : 1;
    this.recomputeRows();
  }

  expand(i: number) {
    if (!this.collapsed[i]) return;
    this.collapsed[i] = 0;
    this.recomputeRows();
  }

  collapse(i: number) {
    if (this.collapsed[i] || childCount(this.tree, i) === 0) return;
    this.collapsed[i] = 1;
    this.recomputeRows();
  }

  expandAll() {
    this.collapsed.fill(0);
    this.recomputeRows();
  }

  /** Collapses every span at `depth` or deeper that has children. */
  collapseToDepth(depth: number) {
    const t = this.tree;
    for (let i = 0; i < t.n; i++) this.collapsed[i] = t.depth[i] >= depth && childCount(t, i) > 0 ? 1 : 0;
    this.recomputeRows();
  }

  /** Expands the ancestors of i so that it is visible (filtering aside). */
  reveal(i: number) {
    let changed = false;
    for (let p = this.tree.parent[i]; p >= 0; p = this.tree.parent[p]) {
      if (this.collapsed[p]) {
        this.collapsed[p] = 0;
        changed = true;
      }
    }
    if (changed) this.recomputeRows();
  }

  select(i: number, opts: { scroll?: boolean; reveal?: boolean; notify?: boolean } = {}) {
    if (i >= 0 && opts.reveal !== false) this.reveal(i);
    this.selected = i;
    if (i >= 0 && opts.scroll !== false) this.scrollToSpan(i);
    this.invalidate();
    if (opts.notify !== false) this.cb.onSelect(i);
  }

  rowIndexOf(i: number): number {
    if (!this.rowOf) {
      const r = new Int32Array(this.tree.n).fill(-1);
      for (let k = 0; k < this.rows.length; k++) r[this.rows[k]] = k;
      this.rowOf = r;
    }
    return this.rowOf[i] ?? -1;
  }

  scrollToSpan(i: number, align: 'nearest' | 'center' = 'nearest') {
    const r = this.rowIndexOf(i);
    if (r >= 0) this.scrollToRow(r, align);
  }

  scrollToRow(r: number, align: 'nearest' | 'center' | 'top' = 'nearest') {
    const top = r * ROW_H;
    let vt = this.vt;
    if (align === 'top') vt = top;
    else if (align === 'center') vt = top - this.viewH / 2 + ROW_H / 2;
    else if (top < vt) vt = top;
    else if (top + ROW_H > vt + this.viewH) vt = top + ROW_H - this.viewH;
    this.setVirtualTop(vt);
  }

  focus() {
    this.el.focus({ preventScroll: true });
  }

  // ---- internals ----

  private recomputeRows() {
    this.rows = visibleRows(this.tree, this.collapsed, this.show);
    this.rowOf = null;
    this.updateSpacer();
    this.setVirtualTop(this.vt, true);
    this.cb.onView?.();
  }

  private invalidate() {
    this.gen++;
    this.render();
  }

  private layout() {
    const w = this.el.clientWidth;
    this.labelW = Math.min(Math.max(160, this.labelW), Math.max(160, w - 200));
    this.el.style.setProperty('--wf-label', `${this.labelW}px`);
    this.viewH = Math.max(ROW_H, this.scroller.clientHeight);
    this.tlW = Math.max(50, this.scroller.clientWidth - this.labelW - 16);
    const need = Math.ceil(this.viewH / ROW_H) + 2;
    while (this.pool.length < need) this.pool.push(this.makeRow());
    while (this.pool.length > need) this.pool.pop()!.root.remove();
    this.updateSpacer();
    this.setVirtualTop(this.vt, true);
  }

  private fullHeight() {
    return this.rows.length * ROW_H;
  }

  private updateSpacer() {
    this.spacer.style.height = `${Math.min(this.fullHeight(), MAX_SCROLL_PX)}px`;
  }

  private scrollRatio(): number {
    const full = this.fullHeight();
    const sp = Math.min(full, MAX_SCROLL_PX);
    if (full <= sp || sp <= this.viewH) return 1;
    return (full - this.viewH) / (sp - this.viewH);
  }

  private setVirtualTop(vt: number, force = false) {
    const max = Math.max(0, this.fullHeight() - this.viewH);
    vt = Math.max(0, Math.min(max, vt));
    this.vt = vt;
    const st = vt / this.scrollRatio();
    if (Math.abs(this.scroller.scrollTop - st) >= 1) {
      this.scroller.scrollTop = st;
    }
    this.expectedScrollTop = this.scroller.scrollTop;
    if (force) this.gen++;
    this.render();
    this.cb.onView?.();
  }

  private expectedScrollTop = 0;

  private onScroll() {
    // Our own assignment (possibly rounded): keep the exact position we set.
    if (Math.abs(this.scroller.scrollTop - this.expectedScrollTop) < 1) return;
    this.expectedScrollTop = this.scroller.scrollTop;
    const max = Math.max(0, this.fullHeight() - this.viewH);
    this.vt = Math.max(0, Math.min(max, this.scroller.scrollTop * this.scrollRatio()));
    this.render();
    this.cb.onView?.();
  }

  private makeRow(): RowEls {
    const root = div('wf-row');
    root.setAttribute('role', 'treeitem');
    const label = div('wf-label');
    const indent = span('wf-indent');
    const tog = span('wf-tog');
    const mark = span('wf-mark');
    const text = span('wf-text');
    const svc = document.createElement('b');
    svc.className = 'wf-svc';
    const op = span('wf-op');
    text.append(svc, op);
    const badges = span('wf-badges');
    label.append(indent, tog, mark, text, badges);
    const tl = div('wf-tl');
    const bar = div('wf-bar');
    const cps: HTMLDivElement[] = [];
    for (let k = 0; k < MAX_CP_SEGS; k++) {
      const c = div('wf-cp');
      bar.append(c);
      cps.push(c);
    }
    const dur = span('wf-dur');
    const logs = div('wf-logs');
    tl.append(bar, dur, logs);
    root.append(label, tl);
    this.layer.append(root);
    return { root, indent, tog, mark, svc, op, badges, bar, cps, dur, logs, row: -1, gen: -1 };
  }

  private render() {
    if (!this.tree) return;
    const first = Math.floor(this.vt / ROW_H);
    const n = this.pool.length;
    for (let k = 0; k < n; k++) {
      const r = first + k;
      const slot = this.pool[r % n];
      if (r >= this.rows.length) {
        slot.root.style.display = 'none';
        slot.row = -1;
        continue;
      }
      slot.root.style.display = '';
      slot.root.style.transform = `translateY(${r * ROW_H - this.vt}px)`;
      if (slot.row !== r || slot.gen !== this.gen) this.fill(slot, r);
    }
    this.renderTicks();
  }

  private fill(s: RowEls, r: number) {
    const t = this.tree;
    const i = this.rows[r];
    s.row = r;
    s.gen = this.gen;
    const { start, end, cp, self } = this.times;
    const svcName = serviceName(t, i);
    const color = serviceColor(svcName);
    const d = t.depth[i];
    const kids = childCount(t, i);
    const err = t.status[i] === STATUS_ERROR;
    const sel = i === this.selected;
    const match = this.matches ? this.matches[i] === 1 : false;
    const onCp = cp.onPath[i] === 1;
    let cls = 'wf-row';
    if (sel) cls += ' sel';
    if (err) cls += ' err';
    if (this.matches) cls += match ? ' match' : ' nomatch';
    if (onCp && this.showCp) cls += ' oncp';
    s.root.className = cls;
    s.root.dataset.spanId = t.spanId[i];
    s.root.dataset.row = String(r);
    s.root.setAttribute('aria-level', String(d + 1));
    s.root.setAttribute('aria-selected', sel ? 'true' : 'false');
    if (kids) s.root.setAttribute('aria-expanded', this.collapsed[i] ? 'false' : 'true');
    else s.root.removeAttribute('aria-expanded');
    s.indent.style.width = `${Math.min(d, MAX_INDENT_LEVELS) * INDENT}px`;
    s.indent.textContent = d > MAX_INDENT_LEVELS ? `${d}` : '';
    s.tog.textContent = kids ? (this.collapsed[i] ? '▸' : '▾') : '';
    s.tog.title = kids ? `${kids} child span${kids === 1 ? '' : 's'}${this.collapsed[i] ? ` (${t.size[i] - 1} hidden)` : ''}` : '';
    s.mark.style.background = color;
    s.svc.textContent = svcName;
    s.op.textContent = spanName(t, i);
    let badges = '';
    if (err) badges += '<span class="b-err" title="Status: error">●</span>';
    const sk = this.skewFlags ? this.skewFlags[i] : 0;
    if (sk)
      badges += `<span class="b-skew" title="Clock skew suspected: ${sk & SKEW_STARTS_BEFORE ? 'starts before' : ''}${sk === 3 ? ' and ' : ''}${sk & SKEW_ENDS_AFTER ? 'ends after' : ''} its parent">⚠</span>`;
    if (t.missingParent[i]) badges += `<span class="b-orphan" title="Parent ${t.parentSpanId[i]} is not in this trace">↥</span>`;
    if (kids && this.collapsed[i]) badges += `<span class="b-count">${t.size[i] - 1}</span>`;
    s.badges.innerHTML = badges;

    const span = this.t1 - this.t0;
    const w = this.tlW;
    const x0 = ((start[i] - this.t0) / span) * w;
    const x1 = ((end[i] - this.t0) / span) * w;
    const left = Math.max(-2, Math.min(w + 2, x0));
    const right = Math.max(-2, Math.min(w + 2, x1));
    const bw = Math.max(1, right - left);
    s.bar.style.left = `${left}px`;
    s.bar.style.width = `${bw}px`;
    s.bar.style.background = err ? '' : color;
    // critical path segments, relative to the bar
    const a = cp.segOffset[i];
    const b = cp.segOffset[i + 1];
    for (let k = 0; k < MAX_CP_SEGS; k++) {
      const c = s.cps[k];
      if (!this.showCp || a + k >= b) {
        c.style.display = 'none';
        continue;
      }
      let seg = cp.segOrder[a + k];
      let ss = cp.segStart[seg];
      let se = cp.segEnd[seg];
      if (k === MAX_CP_SEGS - 1 && b - a > MAX_CP_SEGS) {
        seg = cp.segOrder[b - 1];
        se = cp.segEnd[seg];
      }
      const sx0 = Math.max(left, ((ss - this.t0) / span) * w) - left;
      const sx1 = Math.min(right, ((se - this.t0) / span) * w) - left;
      c.style.display = '';
      c.style.left = `${sx0}px`;
      c.style.width = `${Math.max(1, sx1 - sx0)}px`;
    }
    const durText = formatDuration(t.duration[i]);
    // spans outside a zoomed window point to where they are
    s.dur.textContent = x1 < 0 ? `◀ ${durText}` : x0 > w ? `${durText} ▶` : durText;
    // label to the right of the bar, or to its left when the bar reaches the right edge
    if (right + 70 < w) {
      s.dur.className = 'wf-dur';
      s.dur.style.left = `${right + 4}px`;
      s.dur.style.right = '';
    } else if (left > 70) {
      s.dur.className = 'wf-dur';
      s.dur.style.left = '';
      s.dur.style.right = `${w - left + 4}px`;
    } else {
      s.dur.className = 'wf-dur inside';
      s.dur.style.left = '';
      s.dur.style.right = `${Math.max(0, w - right) + 4}px`;
    }
    this.fillLogs(s, i, w);
    s.root.title =
      `${svcName}: ${spanName(t, i)}\n` +
      `start +${formatDuration(start[i])}  duration ${durText}  self ${formatDuration(self[i])}\n` +
      `${KIND_NAMES[t.kind[i]] ?? t.kind[i]}${err ? ', error' : ''}${onCp ? `, critical path ${formatDuration(cp.time[i])}` : ''}`;
  }

  private fillLogs(s: RowEls, i: number, w: number) {
    const lines = this.logs?.bySpan.get(i);
    if (!lines) {
      if (s.logs.firstChild) s.logs.textContent = '';
      return;
    }
    const logs = this.logs!;
    const shift = this.times.shift ? this.times.shift[i] : 0;
    let html = '';
    for (const m of placeMarkers(lines, logs, shift, this.t0, this.t1, w)) {
      const cls = `wf-log sev-${m.level}${isErrorLevel(m.level) ? ' err' : ''}${m.lines.length > 1 ? ' multi' : ''}`;
      html += `<i class="${cls}" style="left:${m.x.toFixed(1)}px" data-line="${m.lines[0]}" data-level="${m.level}" data-count="${m.lines.length}" title="${escapeAttr(markerTitle(m, logs))}"></i>`;
    }
    s.logs.innerHTML = html;
  }

  private lastTicks = '';

  private renderTicks() {
    const span = this.t1 - this.t0;
    const w = this.tlW;
    const target = Math.max(2, Math.floor(w / 110));
    const raw = span / target;
    const pow = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
    const key = `${this.t0}|${this.t1}|${w}|${this.labelW}|${this.viewH}`;
    if (key === this.lastTicks) return;
    this.lastTicks = key;
    let labels = '';
    let lines = '';
    const first = Math.ceil(this.t0 / step) * step;
    for (let v = first; v <= this.t1 + step * 1e-6; v += step) {
      const x = ((v - this.t0) / span) * w;
      labels += `<span style="left:${x}px">${formatDuration(v)}</span>`;
      lines += `<i style="left:${x}px"></i>`;
    }
    this.ticks.innerHTML = labels;
    this.grid.innerHTML = lines;
    this.grid.style.height = `${this.viewH}px`;
  }

  private spanAt(e: Event): number {
    const row = (e.target as Element).closest?.('.wf-row') as HTMLElement | null;
    if (!row || row.dataset.row === undefined) return -1;
    const r = Number(row.dataset.row);
    return r < this.rows.length ? this.rows[r] : -1;
  }

  private onClick(e: MouseEvent) {
    const i = this.spanAt(e);
    if (i < 0) return;
    const marker = (e.target as Element).closest('.wf-log') as HTMLElement | null;
    if (marker && this.cb.onLogMarker) {
      this.select(i, { scroll: false, reveal: false });
      this.cb.onLogMarker(i, Number(marker.dataset.line));
      this.focus();
      return;
    }
    if ((e.target as Element).closest('.wf-tog') && childCount(this.tree, i) > 0) {
      this.toggle(i);
      this.selected = i;
      this.invalidate();
      this.cb.onSelect(i);
      return;
    }
    this.select(i, { scroll: false, reveal: false });
    this.cb.onOpen(i);
    this.focus();
  }

  private onKey(e: KeyboardEvent) {
    if (e.target !== this.el) return;
    const t = this.tree;
    if (!t || e.altKey || e.ctrlKey || e.metaKey) return;
    const rows = this.rows;
    let r = this.selected >= 0 ? this.rowIndexOf(this.selected) : -1;
    const page = Math.max(1, Math.floor(this.viewH / ROW_H) - 1);
    const go = (row: number) => {
      if (rows.length === 0) return;
      const k = Math.max(0, Math.min(rows.length - 1, row));
      this.select(rows[k], { reveal: false });
    };
    switch (e.key) {
      case 'ArrowDown':
      case 'j':
        go(r < 0 ? Math.floor(this.vt / ROW_H) : r + 1);
        break;
      case 'ArrowUp':
      case 'k':
        go(r < 0 ? Math.floor(this.vt / ROW_H) : r - 1);
        break;
      case 'PageDown':
        go(r + page);
        break;
      case 'PageUp':
        go(r - page);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'ArrowRight':
      case 'l': {
        if (this.selected < 0) {
          go(0);
          break;
        }
        const i = this.selected;
        if (childCount(t, i) === 0) break;
        if (this.collapsed[i]) {
          this.expand(i);
          this.invalidate();
        } else {
          r = this.rowIndexOf(i);
          if (r + 1 < rows.length && t.parent[rows[r + 1]] === i) go(r + 1);
        }
        break;
      }
      case 'ArrowLeft':
      case 'h': {
        if (this.selected < 0) break;
        const i = this.selected;
        if (childCount(t, i) > 0 && !this.collapsed[i]) {
          this.collapse(i);
          this.scrollToSpan(i);
          this.invalidate();
        } else if (t.parent[i] >= 0) {
          this.select(t.parent[i]);
        }
        break;
      }
      case 'Enter':
        if (this.selected >= 0) this.cb.onOpen(this.selected);
        break;
      case ' ':
        if (this.selected >= 0 && childCount(t, this.selected) > 0) {
          this.toggle(this.selected);
          this.invalidate();
        }
        break;
      case '/':
        this.cb.onSearchKey?.();
        break;
      case 'Escape':
        this.select(-1, { scroll: false });
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  private startResize(e: PointerEvent) {
    e.preventDefault();
    const startX = e.clientX;
    const startW = this.labelW;
    const move = (ev: PointerEvent) => {
      this.labelW = startW + ev.clientX - startX;
      this.layout();
      this.invalidate();
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
}

function div(cls: string): HTMLDivElement {
  const d = document.createElement('div');
  d.className = cls;
  return d;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function span(cls: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  return s;
}
