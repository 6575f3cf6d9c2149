// Server-Sent Events: an incremental parser of the text/event-stream format (fields, comments,
// multi-line data, CR / LF / CRLF line ends split across chunks) and a reader for fetch bodies.
// fetch rather than EventSource, so that the token or tenant header goes with the request and the HTTP status
// of a refusal (429 when the server has too many tails) can be told apart from a dropped connection.

export interface SseEvent {
  /** `message` when the event names no type. */
  event: string;
  data: string;
  id: string;
}

export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private lastId = '';
  private pendingCR = false;
  /** Reconnection delay asked for by the server (`retry:`), ms. */
  retry: number | null = null;
  /** Comment lines seen (the server's keep-alives). */
  comments = 0;

  /** Feeds a chunk of text; returns the events it completes. */
  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let s = chunk;
    if (this.pendingCR && s.startsWith('\n')) s = s.slice(1);
    this.pendingCR = false;
    const text = this.buf + s;
    let start = 0;
    for (let i = this.buf.length; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(text.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buf = text.slice(start);
    return out;
  }

  private line(l: string, out: SseEvent[]) {
    if (l === '') {
      if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.lastId });
      this.data = [];
      this.event = '';
      return;
    }
    if (l.charCodeAt(0) === 58 /* : */) {
      this.comments++;
      return;
    }
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') {
      if (!value.includes('\u0000')) this.lastId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.retry = Number(value);
    }
  }
}

/** Reads an event stream body to its end, calling `onEvent` for each event. */
export async function readEventStream(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void, parser = new SseParser()): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
    for (const e of parser.push(decoder.decode())) onEvent(e);
  } finally {
    reader.releaseLock();
  }
}
