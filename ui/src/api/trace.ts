// Loading traces: the compact format for the waterfall, OTLP JSON for one span's details.

import { ApiError, request, type RequestStats } from './client';
import {
  compactFromOtlp,
  findOtlpSpan,
  validateCompact,
  type CompactTrace,
  type OtlpResourceSpans,
  type OtlpScopeSpans,
  type OtlpSpan,
  type OtlpTracesData,
} from '../trace/compact';

export interface LoadedTrace {
  compact: CompactTrace;
  /** The OTLP form, when the server answered with it (it has no compact format). */
  otlp: OtlpTracesData | null;
  bytes: number;
  networkMs: number;
  parseMs: number;
}

export function normalizeTraceId(id: string): string {
  const s = id.trim().toLowerCase();
  return /^[0-9a-f]{16}$/.test(s) ? s.padStart(32, '0') : s;
}

export function isTraceId(id: string): boolean {
  return /^([0-9a-f]{16}|[0-9a-f]{32})$/i.test(id.trim());
}

export async function loadTrace(id: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<LoadedTrace> {
  const traceId = normalizeTraceId(id);
  const stats: RequestStats = { onProgress };
  const body = await request<Record<string, unknown>>(
    `/api/v1/traces/${encodeURIComponent(traceId)}?format=compact`,
    {},
    signal,
    stats,
  );
  const info = { bytes: stats.bytes ?? 0, networkMs: stats.networkMs ?? 0, parseMs: stats.parseMs ?? 0 };
  if (body && typeof body === 'object' && 'spans' in body) {
    return { compact: validateCompact(body), otlp: null, ...info };
  }
  if (body && typeof body === 'object' && 'resourceSpans' in body) {
    const otlp = body as OtlpTracesData;
    return { compact: compactFromOtlp(otlp, traceId), otlp, ...info };
  }
  throw new ApiError(200, 'The trace answer has neither compact spans nor resourceSpans.', traceId, true);
}

export interface SpanDetails {
  resource: OtlpResourceSpans;
  scope: OtlpScopeSpans;
  span: OtlpSpan;
}

const fullTraceCache = new Map<string, Promise<OtlpTracesData>>();

/**
 * One span with its resource and scope. Uses `GET /api/v1/traces/{id}/spans/{spanId}`; when the
 * server does not have that route, falls back to the whole trace as OTLP JSON (small traces only).
 */
export async function loadSpan(
  traceId: string,
  spanId: string,
  opts: { otlp?: OtlpTracesData | null; spanCount: number; signal?: AbortSignal },
): Promise<SpanDetails> {
  if (opts.otlp) {
    const found = findOtlpSpan(opts.otlp, spanId);
    if (found) return found;
  }
  try {
    const data = await request<OtlpTracesData>(
      `/api/v1/traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}`,
      {},
      opts.signal,
    );
    const found = findOtlpSpan(data, spanId) ?? firstSpan(data);
    if (!found) throw new ApiError(404, `Span ${spanId} is not in the answer.`, spanId);
    return found;
  } catch (e) {
    const missingRoute = e instanceof ApiError && e.bare && (e.status === 404 || e.status === 405);
    if (!missingRoute || opts.spanCount > 20000) throw e;
  }
  let p = fullTraceCache.get(traceId);
  if (!p) {
    p = request<OtlpTracesData>(`/api/v1/traces/${encodeURIComponent(traceId)}`);
    fullTraceCache.set(traceId, p);
    p.catch(() => fullTraceCache.delete(traceId));
  }
  const found = findOtlpSpan(await p, spanId);
  if (!found) throw new ApiError(404, `Span ${spanId} is not in trace ${traceId}.`, spanId);
  return found;
}

function firstSpan(d: OtlpTracesData): SpanDetails | null {
  const rs = d.resourceSpans?.[0];
  const ss = rs?.scopeSpans?.[0];
  const span = ss?.spans?.[0];
  return rs && ss && span ? { resource: rs, scope: ss, span } : null;
}
