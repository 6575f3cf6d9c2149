// Helpers shared by the end-to-end tests and the benchmark: random ids, OTLP/HTTP JSON
// payloads, sending and command-line flags.

import { randomBytes } from 'node:crypto';

export function hex(bytes) {
  return randomBytes(bytes).toString('hex');
}

export function parseArgs(argv, defaults = {}) {
  const out = { ...defaults };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

function anyValue(v) {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: String(v) };
}

export function attrs(obj = {}) {
  return Object.entries(obj).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/**
 * Builds an OTLP JSON TracesData from spans of the form
 * { service, traceId, spanId, parentSpanId?, name, kind, start (ns BigInt), end (ns BigInt),
 *   status?: {code, message}, attributes?, events?: [{time, name, attributes}], links?: [{traceId, spanId, attributes}] }
 * grouped by service (one ResourceSpans per service).
 */
export function tracesData(spans, resourceAttrs = {}) {
  const bySvc = new Map();
  for (const s of spans) {
    if (!bySvc.has(s.service)) bySvc.set(s.service, []);
    bySvc.get(s.service).push(s);
  }
  return {
    resourceSpans: [...bySvc.entries()].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service, ...resourceAttrs, ...(list[0].resource ?? {}) }) },
      scopeSpans: [
        {
          scope: { name: 'tracewell-ui-tests', version: '1.0.0' },
          spans: list.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name,
            kind: s.kind ?? 1,
            startTimeUnixNano: String(s.start),
            endTimeUnixNano: String(s.end),
            attributes: attrs(s.attributes),
            ...(s.events ? { events: s.events.map((e) => ({ timeUnixNano: String(e.time), name: e.name, attributes: attrs(e.attributes) })) } : {}),
            ...(s.links ? { links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) })) } : {}),
            ...(s.status ? { status: s.status } : {}),
          })),
        },
      ],
    })),
  };
}

/**
 * Builds an OTLP JSON LogsData from records of the form
 * { service, time (ns BigInt), severityNumber, severityText?, body, traceId?, spanId?, attributes? }
 * grouped by service (one ResourceLogs per service).
 */
export function logsData(records, resourceAttrs = {}) {
  const bySvc = new Map();
  for (const r of records) {
    if (!bySvc.has(r.service)) bySvc.set(r.service, []);
    bySvc.get(r.service).push(r);
  }
  return {
    resourceLogs: [...bySvc.entries()].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service, ...resourceAttrs }) },
      scopeLogs: [
        {
          scope: { name: 'tracewell-ui-tests', version: '1.0.0' },
          logRecords: list.map((r) => ({
            timeUnixNano: String(r.time),
            observedTimeUnixNano: String(r.time),
            severityNumber: r.severityNumber,
            ...(r.severityText ? { severityText: r.severityText } : {}),
            body: { stringValue: r.body },
            ...(r.traceId ? { traceId: r.traceId } : {}),
            ...(r.spanId ? { spanId: r.spanId } : {}),
            attributes: attrs(r.attributes),
          })),
        },
      ],
    })),
  };
}

/** POSTs OTLP JSON to {otlp}/v1/traces (with a bearer `token` and/or `tenant` if given), retrying 429/503; throws on rejection. */
export async function sendOtlp(otlp, body, opts = {}) {
  return post(otlp, '/v1/traces', 'rejectedSpans', body, opts);
}

/** POSTs OTLP JSON logs to {otlp}/v1/logs, as sendOtlp does spans. */
export async function sendOtlpLogs(otlp, body, opts = {}) {
  return post(otlp, '/v1/logs', 'rejectedLogRecords', body, opts);
}

async function post(otlp, path, rejectedKey, body, { tenant, token } = {}) {
  const url = `${otlp.replace(/\/$/, '')}${path}`;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(tenant ? { 'X-Scope-OrgID': tenant } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: payload,
    });
    const text = await res.text();
    if ((res.status === 429 || res.status === 503) && attempt < 60) {
      const wait = Number(res.headers.get('retry-after') ?? '1') * 1000;
      await new Promise((r) => setTimeout(r, Math.max(200, wait)));
      continue;
    }
    if (!res.ok) throw new Error(`OTLP export to ${url} failed: ${res.status} ${text.slice(0, 300)}`);
    if (text) {
      try {
        const j = JSON.parse(text);
        const rejected = Number(j.partialSuccess?.[rejectedKey] ?? 0);
        if (rejected > 0) throw new Error(`OTLP export to ${url} rejected ${rejected}: ${j.partialSuccess?.errorMessage ?? ''}`);
      } catch (e) {
        if (e instanceof SyntaxError) return;
        throw e;
      }
    }
    return;
  }
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export function nowNanos() {
  return BigInt(Date.now()) * 1000000n;
}

export const MS = 1000000n;
