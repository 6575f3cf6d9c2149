import { describe, expect, it } from 'vitest';
import { droppedText, frameBatcher, LiveBuffer, parseTailEvent } from '../src/lib/live';

const span = {
  traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
  spanId: '00f067aa0ba902b7',
  parentSpanId: '',
  service: 'catalog',
  name: 'GET /products/{id}',
  kind: 'server',
  startUnixNano: '1764865260123000000',
  durationNano: 12_500_000,
  status: 'error',
  statusMessage: 'boom',
  attributes: { 'http.route': '/products/{id}', 'http.response.status_code': 500 },
};

describe('parseTailEvent', () => {
  it('reads span events', () => {
    const m = parseTailEvent({ event: 'span', data: JSON.stringify(span), id: '' });
    expect(m).toEqual({
      type: 'span',
      span: { ...span, traceId: span.traceId.toLowerCase(), startMs: 1764865260123, status: 'error' },
    });
  });

  it('normalises kinds, statuses and numbers sent in other spellings', () => {
    const m = parseTailEvent({
      event: 'span',
      data: JSON.stringify({ ...span, kind: 'SPAN_KIND_CLIENT', status: 'STATUS_CODE_OK', durationNano: '1500', startUnixNano: 1e18, attributes: null, service: '' }),
      id: '',
    });
    expect(m?.type).toBe('span');
    if (m?.type !== 'span') return;
    expect([m.span.kind, m.span.status, m.span.durationNano, m.span.startUnixNano, m.span.service, m.span.attributes]).toEqual([
      'client',
      'ok',
      1500,
      '1000000000000000000',
      '?',
      {},
    ]);
    const k = parseTailEvent({ event: 'span', data: JSON.stringify({ ...span, kind: 4, status: 2 }), id: '' });
    expect(k?.type === 'span' && [k.span.kind, k.span.status]).toEqual(['producer', 'error']);
  });

  it('reads dropped notices and rejects anything else', () => {
    expect(parseTailEvent({ event: 'dropped', data: '{"spans": 120}', id: '' })).toEqual({ type: 'dropped', spans: 120, batches: 0 });
    expect(parseTailEvent({ event: 'dropped', data: '{"spans": 3, "batches": 2}', id: '' })).toEqual({ type: 'dropped', spans: 3, batches: 2 });
    expect(parseTailEvent({ event: 'dropped', data: '{"spans": "x"}', id: '' })).toBeNull();
    expect(parseTailEvent({ event: 'message', data: JSON.stringify(span), id: '' })).toBeNull();
    expect(parseTailEvent({ event: 'span', data: '{not json', id: '' })).toBeNull();
    expect(parseTailEvent({ event: 'span', data: '{"spanId":"1"}', id: '' })).toBeNull();
    expect(parseTailEvent({ event: 'span', data: 'null', id: '' })).toBeNull();
  });

  it('words dropped notices', () => {
    expect(droppedText(1)).toBe('1 span dropped: reading too slowly');
    expect(droppedText(1200)).toBe('1,200 spans dropped: reading too slowly');
    expect(droppedText(3, 1)).toBe('3 spans and 1 batch dropped: reading too slowly');
  });
});

describe('LiveBuffer', () => {
  it('shows the newest first and keeps at most cap', () => {
    const b = new LiveBuffer<number>(5);
    b.push(1);
    b.push(2);
    expect(b.rows).toEqual([]);
    expect(b.flush()).toBe(true);
    expect(b.rows).toEqual([2, 1]);
    expect(b.flush()).toBe(false);
    for (let i = 3; i <= 6; i++) b.push(i);
    b.flush();
    expect(b.rows).toEqual([6, 5, 4, 3, 2]);
    for (let i = 7; i <= 20; i++) b.push(i);
    b.flush();
    expect(b.rows).toEqual([20, 19, 18, 17, 16]);
    expect(b.received).toBe(20);
  });

  it('holds the list still while paused and counts what arrives', () => {
    const b = new LiveBuffer<number>(3);
    b.push(1);
    b.flush();
    b.pause();
    for (let i = 2; i <= 100; i++) b.push(i);
    expect(b.flush()).toBe(false);
    expect(b.rows).toEqual([1]);
    expect(b.arrivedWhilePaused).toBe(99);
    expect(b.backlog).toBeLessThan(6); // bounded while paused
    b.resume();
    expect(b.arrivedWhilePaused).toBe(0);
    expect(b.flush()).toBe(true);
    expect(b.rows).toEqual([100, 99, 98]);
  });

  it('counts dropped spans and clears', () => {
    const b = new LiveBuffer<number>(3);
    b.addDropped(5);
    b.addDropped(7, 2);
    b.push(1);
    expect([b.dropped, b.droppedBatches]).toEqual([12, 2]);
    b.clear();
    b.flush();
    expect([b.rows, b.received, b.dropped, b.droppedBatches]).toEqual([[], 0, 0, 0]);
  });

  it('keeps up with 1000 pushes per frame', () => {
    const b = new LiveBuffer<number>(500);
    const t0 = performance.now();
    for (let frame = 0; frame < 60; frame++) {
      for (let i = 0; i < 1000; i++) b.push(frame * 1000 + i);
      b.flush();
    }
    expect(b.rows.length).toBe(500);
    expect(b.rows[0]).toBe(59_999);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('frameBatcher', () => {
  it('runs once per frame however often it is scheduled', () => {
    const frames: (() => void)[] = [];
    let runs = 0;
    const fb = frameBatcher(
      () => runs++,
      (cb) => frames.push(cb),
      () => frames.pop(),
    );
    for (let i = 0; i < 1000; i++) fb.schedule();
    expect(frames.length).toBe(1);
    expect(fb.scheduled).toBe(true);
    frames.shift()!();
    expect(runs).toBe(1);
    fb.schedule();
    expect(frames.length).toBe(1);
    fb.cancel();
    expect(frames.length).toBe(0);
    expect(fb.scheduled).toBe(false);
  });
});

describe('retryDelay', () => {
  it('doubles up to 15 s and follows the server', async () => {
    const { retryDelay } = await import('../src/lib/live');
    expect([0, 1, 2, 3, 4, 5, 50].map((a) => retryDelay(a))).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(retryDelay(0, 3000)).toBe(3000);
    expect(retryDelay(1, 3000)).toBe(6000);
  });
});
