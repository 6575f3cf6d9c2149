// Calls to the native /api/v1 API. Errors carry the HTTP status and the API's message.

export class ApiError extends Error {
  status: number;
  url: string;
  /** True when the server answered without a JSON error body (e.g. an unknown route). */
  bare: boolean;
  constructor(status: number, message: string, url: string, bare = false) {
    super(message);
    this.status = status;
    this.url = url;
    this.bare = bare;
  }
}

import { authHeaders, UNAUTHORIZED_EVENT } from './auth';

const TENANT_KEY = 'tracewell.tenant';
const TOKEN_KEY = 'tracewell.token';

export function tenant(): string {
  return localStorage.getItem(TENANT_KEY) ?? '';
}

export function setTenant(t: string) {
  if (t) localStorage.setItem(TENANT_KEY, t);
  else localStorage.removeItem(TENANT_KEY);
}

/** The API token, when the server requires one (see api/auth.ts). */
export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(t: string) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Sets the token or tenant header on `headers`. */
export function identify(headers: Headers): Headers {
  for (const [k, v] of Object.entries(authHeaders(token(), tenant()))) headers.set(k, v);
  return headers;
}

/** Tells the UI the server wants a (different) token. */
export function reportUnauthorized(message: string) {
  window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: message }));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  413: 'Too large',
  429: 'Too many requests',
  500: 'Server error',
  502: 'Bad gateway',
  503: 'Unavailable',
  504: 'Timed out',
};

export function statusText(status: number): string {
  return status === 0 ? 'Network error' : (STATUS_TEXT[status] ?? `HTTP ${status}`);
}

export type Params = Record<string, string | string[] | number | boolean | undefined | null>;

export function query(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    if (Array.isArray(v)) v.forEach((x) => x !== '' && q.append(k, x));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface RequestStats {
  /** Called as the body arrives, with the bytes received so far. */
  onProgress?: (bytes: number) => void;
  /** Filled in: time to the last byte, time to parse, body size. */
  networkMs?: number;
  parseMs?: number;
  bytes?: number;
}

async function readBody(res: Response, stats?: RequestStats): Promise<string> {
  if (!stats?.onProgress || !res.body) return res.text();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    parts.push(decoder.decode(value, { stream: true }));
    stats.onProgress(bytes);
  }
  parts.push(decoder.decode());
  stats.bytes = bytes;
  return parts.join('');
}

export async function request<T>(path: string, init: RequestInit = {}, signal?: AbortSignal, stats?: RequestStats): Promise<T> {
  const t0 = performance.now();
  const headers = identify(new Headers(init.headers));
  headers.set('Accept', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, `Could not reach the Tracewell server (${(e as Error).message}).`, path);
  }
  const text = await readBody(res, stats);
  const t1 = performance.now();
  if (stats) stats.networkMs = t1 - t0;
  if (!res.ok) {
    let message = text.trim();
    let bare = true;
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === 'string') {
        message = j.error;
        bare = false;
      }
    } catch {
      /* not JSON */
    }
    if (res.status === 401) reportUnauthorized(message);
    throw new ApiError(res.status, message || res.statusText || statusText(res.status), path, bare);
  }
  try {
    const parsed = JSON.parse(text) as T;
    if (stats) {
      stats.parseMs = performance.now() - t1;
      stats.bytes ??= text.length;
    }
    return parsed;
  } catch {
    throw new ApiError(res.status, `The server answered with something that is not JSON: ${text.slice(0, 200)}`, path, true);
  }
}

export function get<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  return request<T>(path + query(params), {}, signal);
}

export function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return request<T>(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }, signal);
}
