// Live tail: the span and dropped events of /api/v1/tail, and a capped, pausable list of the newest
// spans that is updated once per animation frame however fast they arrive.

import type { SseEvent } from './sse';
import { nanosToMillis } from '../trace/format';

export interface TailSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  /** server, client, producer, consumer, internal or unspecified. */
  kind: string;
  startUnixNano: string;
  /** Start, epoch milliseconds. */
  startMs: number;
  durationNano: number;
  status: 'ok' | 'error' | 'unset';
  statusMessage: string;
  attributes: Record<string, unknown>;
}

/** `batches`: whole ingest batches missed (their span count unknown). */
export type TailMessage = { type: 'span'; span: TailSpan } | { type: 'dropped'; spans: number; batches: number };

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function kindName(k: unknown): string {
  if (typeof k === 'number') return KINDS[k] ?? 'unspecified';
  if (typeof k !== 'string') return 'unspecified';
  const s = k.toLowerCase().replace(/^span_kind_/, '');
  return KINDS.includes(s) ? s : s || 'unspecified';
}

function statusName(s: unknown): TailSpan['status'] {
  if (typeof s === 'number') return s === 2 ? 'error' : s === 1 ? 'ok' : 'unset';
  if (typeof s !== 'string') return 'unset';
  const v = s.toLowerCase().replace(/^status_code_/, '');
  return v === 'error' ? 'error' : v === 'ok' ? 'ok' : 'unset';
}

function nanoString(v: unknown): string | null {
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.round(v)).toString();
  return null;
}

/** A tail event as a span or a dropped notice; null for anything else (unknown events, bad JSON). */
export function parseTailEvent(e: SseEvent): TailMessage | null {
  if (e.event !== 'span' && e.event !== 'dropped') return null;
  let j: unknown;
  try {
    j = JSON.parse(e.data);
  } catch {
    return null;
  }
  if (!j || typeof j !== 'object') return null;
  const o = j as Record<string, unknown>;
  if (e.event === 'dropped') {
    const n = Number(o.spans);
    const b = o.batches === undefined ? 0 : Number(o.batches);
    return Number.isFinite(n) && n >= 0 && Number.isFinite(b) && b >= 0 ? { type: 'dropped', spans: n, batches: b } : null;
  }
  if (typeof o.traceId !== 'string' || typeof o.spanId !== 'string' || !o.traceId) return null;
  const start = nanoString(o.startUnixNano) ?? '0';
  const dur = Number(o.durationNano);
  return {
    type: 'span',
    span: {
      traceId: o.traceId.toLowerCase(),
      spanId: o.spanId.toLowerCase(),
      parentSpanId: typeof o.parentSpanId === 'string' ? o.parentSpanId : '',
      service: typeof o.service === 'string' && o.service ? o.service : '?',
      name: typeof o.name === 'string' ? o.name : '',
      kind: kindName(o.kind),
      startUnixNano: start,
      startMs: nanosToMillis(start),
      durationNano: Number.isFinite(dur) && dur >= 0 ? dur : 0,
      status: statusName(o.status),
      statusMessage: typeof o.statusMessage === 'string' ? o.statusMessage : '',
      attributes: o.attributes && typeof o.attributes === 'object' && !Array.isArray(o.attributes) ? (o.attributes as Record<string, unknown>) : {},
    },
  };
}

/**
 * The newest `cap` items, newest first. Arrivals wait in `pending` until `flush` (once per frame);
 * while paused, flush leaves the list alone and `arrivedWhilePaused` counts what came in. Resuming
 * shows the newest of them.
 */
export class LiveBuffer<T> {
  rows: T[] = [];
  private pending: T[] = [];
  /** Items received since the start (or the last clear). */
  received = 0;
  arrivedWhilePaused = 0;
  /** Spans (and whole batches) the server reported as dropped for this client. */
  dropped = 0;
  droppedBatches = 0;
  paused = false;

  constructor(readonly cap = 500) {}

  push(item: T) {
    this.received++;
    if (this.paused) this.arrivedWhilePaused++;
    this.pending.push(item);
    // only the newest `cap` can ever be shown: keep the backlog bounded while paused
    if (this.pending.length >= this.cap * 2) this.pending.splice(0, this.pending.length - this.cap);
  }

  addDropped(spans: number, batches = 0) {
    this.dropped += spans;
    this.droppedBatches += batches;
  }

  pause() {
    this.paused = true;
    this.arrivedWhilePaused = 0;
  }

  resume() {
    this.paused = false;
    this.arrivedWhilePaused = 0;
  }

  /** Items waiting for the next flush. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Moves waiting items to the top of the list (unless paused); true when the list changed. */
  flush(): boolean {
    if (this.paused || this.pending.length === 0) return false;
    const fresh = this.pending.slice(-this.cap).reverse();
    this.pending = [];
    this.rows = fresh.length >= this.cap ? fresh : fresh.concat(this.rows.slice(0, this.cap - fresh.length));
    return true;
  }

  clear() {
    this.rows = [];
    this.pending = [];
    this.received = 0;
    this.arrivedWhilePaused = 0;
    this.dropped = 0;
    this.droppedBatches = 0;
  }
}

/** Coalesces calls to `schedule` into one `run` per animation frame. */
export function frameBatcher(
  run: () => void,
  raf: (cb: () => void) => number = (cb) => requestAnimationFrame(cb),
  caf: (id: number) => void = (id) => cancelAnimationFrame(id),
) {
  let id = 0;
  return {
    schedule() {
      if (id) return;
      id = raf(() => {
        id = 0;
        run();
      });
    },
    cancel() {
      if (id) caf(id);
      id = 0;
    },
    get scheduled() {
      return id !== 0;
    },
  };
}

/** "N spans dropped: reading too slowly" (and the batches missed whole, when any). */
export function droppedText(spans: number, batches = 0): string {
  const s = `${spans.toLocaleString('en-US')} span${spans === 1 ? '' : 's'}`;
  const b = batches ? ` and ${batches.toLocaleString('en-US')} batch${batches === 1 ? '' : 'es'}` : '';
  return `${s}${b} dropped: reading too slowly`;
}

/** Delay before reconnecting after `attempt` failures in a row (0-based): doubling from the base
 * (the server's `retry:` when it sent one, else 1 s) up to 15 s. */
export function retryDelay(attempt: number, serverRetryMs: number | null = null): number {
  const base = serverRetryMs ?? 1000;
  return Math.min(15_000, base * 2 ** Math.min(attempt, 10));
}
