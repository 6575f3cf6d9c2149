import { describe, expect, it } from 'vitest';
import { readEventStream, SseParser, type SseEvent } from '../src/lib/sse';

describe('SseParser', () => {
  it('parses typed events, comments and multi-line data', () => {
    const p = new SseParser();
    const out = p.push(': keep-alive\n\nevent: span\ndata: {"a":1}\n\nevent: dropped\ndata: {"spans":3}\n\ndata: line one\ndata:line two\nid: 7\n\n');
    expect(out).toEqual([
      { event: 'span', data: '{"a":1}', id: '' },
      { event: 'dropped', data: '{"spans":3}', id: '' },
      { event: 'message', data: 'line one\nline two', id: '7' },
    ]);
    expect(p.comments).toBe(1);
  });

  it('joins events split anywhere across chunks', () => {
    const text = 'event: span\r\ndata: {"x":"é"}\r\n\r\nevent: span\rdata: 2\r\r';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out.map((e) => e.data)).toEqual(['{"x":"é"}', '2']);
    }
  });

  it('does not dispatch an event without data, nor one cut off at the end', () => {
    const p = new SseParser();
    expect(p.push('event: span\n\nevent: span\ndata: partial')).toEqual([]);
    expect(p.push('\nretry: 3000\n')).toEqual([]);
    expect(p.retry).toBe(3000);
    expect(p.push('\n')).toEqual([{ event: 'span', data: 'partial', id: '' }]);
  });

  it('resets the event type after each event and keeps the last id', () => {
    const p = new SseParser();
    expect(p.push('id: 1\nevent: a\ndata: x\n\ndata: y\n\n')).toEqual([
      { event: 'a', data: 'x', id: '1' },
      { event: 'message', data: 'y', id: '1' },
    ]);
  });
});

describe('readEventStream', () => {
  it('decodes UTF-8 split between chunks', async () => {
    const bytes = new TextEncoder().encode('event: span\ndata: {"name":"café ☕"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const got: SseEvent[] = [];
    await readEventStream(body, (e) => got.push(e));
    expect(got).toEqual([{ event: 'span', data: '{"name":"café ☕"}', id: '' }]);
  });
});
