// The live tail (/api/v1/tail, Server-Sent Events) read with fetch, so the token or tenant header goes
// along and refusals keep their status. Reconnects with backoff when the stream ends or the server is busy.

import { ApiError, identify, query, reportUnauthorized } from './client';
import { SseParser, readEventStream } from '../lib/sse';
import { parseTailEvent, retryDelay, type TailMessage } from '../lib/live';

export interface TailFilters {
  service: string;
  operation: string;
  tags: string[];
  /** '' for all spans, 'error' for error spans only. */
  status: string;
}

export type TailState =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'retrying'; inMs: number; error: ApiError }
  | { state: 'failed'; error: ApiError };

export function tailUrl(f: TailFilters): string {
  return '/api/v1/tail' + query({ service: f.service, operation: f.operation, tag: f.tags, status: f.status });
}

async function errorOf(res: Response, url: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === 'string') return new ApiError(res.status, j.error, url);
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, text.trim() || res.statusText, url, true);
}

/** Opens the tail; returns a function that closes it. */
export function openTail(filters: TailFilters, onMessage: (m: TailMessage) => void, onState: (s: TailState) => void): () => void {
  const ctl = new AbortController();
  const url = tailUrl(filters);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      ctl.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
  (async () => {
    let attempt = 0;
    const parser = new SseParser();
    while (!ctl.signal.aborted) {
      onState({ state: 'connecting' });
      let error: ApiError;
      try {
        const headers = identify(new Headers({ Accept: 'text/event-stream' }));
        const res = await fetch(url, { headers, signal: ctl.signal, cache: 'no-store' });
        if (!res.ok || !res.body) {
          error = await errorOf(res, url);
          if (res.status === 401) reportUnauthorized(error.message);
          // a bad filter or an unknown route will not get better by retrying
          if (res.status !== 429 && res.status < 500) {
            onState({ state: 'failed', error });
            return;
          }
        } else {
          attempt = 0;
          onState({ state: 'open' });
          await readEventStream(
            res.body,
            (e) => {
              const m = parseTailEvent(e);
              if (m) onMessage(m);
            },
            parser,
          );
          error = new ApiError(0, 'The server closed the stream.', url);
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        error = new ApiError(0, `Lost the connection to the server (${(e as Error).message}).`, url);
      }
      if (ctl.signal.aborted) return;
      const inMs = retryDelay(attempt++, parser.retry);
      onState({ state: 'retrying', inMs, error });
      await sleep(inMs);
    }
  })();
  return () => ctl.abort();
}
