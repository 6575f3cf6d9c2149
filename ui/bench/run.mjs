#!/usr/bin/env node
// Browser benchmark of the trace page on huge traces.
//
//   node bench/run.mjs --base http://127.0.0.1:16686 --otlp http://127.0.0.1:4318 [--sizes 10000,100000,1000000]
//
// For each size, sends one trace of that many spans over OTLP/HTTP JSON in batches, waits until
// the server has all of them, opens /trace/{id} in Chromium and prints:
//   first render   navigation start → first waterfall rows on screen
//   interactive    first render, then: scrolled to the middle, a node collapsed and expanded,
//                  a row selected with its details open (navigation start → all done)
//   heap           JS heap in use after a garbage collection, plus the typed-array buffers held
//                  outside it (CDP Runtime.getHeapUsage)
// The server needs --max-spans-per-trace at or above the largest size.
//
// With --synthetic, no spans are sent: the compact trace is generated here and served to the
// page by request interception (the rest of the UI still talks to --base), which measures the
// front end alone.

import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, hex, MS, nowNanos, parseArgs, sendOtlp } from '../e2e/otlp.mjs';

const args = parseArgs(process.argv, {
  base: 'http://127.0.0.1:16686',
  otlp: 'http://127.0.0.1:4318',
  sizes: '10000,100000,1000000',
  batch: '20000',
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  runs: '1',
});
const BASE = String(args.base).replace(/\/$/, '');
const sizes = String(args.sizes)
  .split(',')
  .map((s) => Number(s.trim().replace(/_/g, '')))
  .filter((n) => n > 0);
const BATCH = Number(args.batch);
const run = hex(4);

const SERVICES = Array.from({ length: 24 }, (_, i) => `bench-svc-${String(i).padStart(2, '0')}`);
const OPS = Array.from({ length: 120 }, (_, i) => ['GET /api/items/{id}', 'POST /api/orders', 'SELECT items', 'cache get', 'publish event', 'grpc Call', 'render', 'validate'][i % 8] + ` #${i}`);

/**
 * A trace of n spans shaped like a real fan-out: span i's children are a contiguous block of
 * later indexes (breadth-first), 1-6 children each, so depth grows like log(n); children are
 * laid out sequentially with small overlaps inside their parent's window.
 */
function* traceSpans(n, traceId, t0) {
  const spanIds = new Array(n);
  for (let i = 0; i < n; i++) spanIds[i] = hex(8);
  const start = new Float64Array(n);
  const dur = new Float64Array(n);
  const depth = new Uint16Array(n);
  start[0] = 0;
  dur[0] = 30e9; // 30 s
  let next = 1;
  let rnd = 12345;
  const rand = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const parent = new Int32Array(n).fill(-1);
  for (let p = 0; p < n && next < n; p++) {
    const k = Math.min(n - next, 1 + Math.floor(rand() * 6));
    const slot = dur[p] / (k + 0.5);
    for (let c = 0; c < k; c++) {
      const i = next++;
      parent[i] = p;
      depth[i] = depth[p] + 1;
      start[i] = start[p] + slot * (c + 0.25) + rand() * slot * 0.1;
      dur[i] = slot * (0.6 + rand() * 0.5);
    }
  }
  for (let i = 0; i < n; i++) {
    const service = SERVICES[(depth[i] * 5 + (i % 3)) % SERVICES.length];
    yield {
      service,
      span: {
        traceId,
        spanId: spanIds[i],
        ...(parent[i] >= 0 ? { parentSpanId: spanIds[parent[i]] } : {}),
        name: OPS[(i * 7 + depth[i]) % OPS.length],
        kind: i === 0 ? 2 : (i % 4) + 1,
        startTimeUnixNano: String(t0 + BigInt(Math.round(start[i]))),
        endTimeUnixNano: String(t0 + BigInt(Math.round(start[i] + dur[i]))),
        attributes: [
          { key: 'bench.run', value: { stringValue: run } },
          { key: 'bench.index', value: { intValue: String(i) } },
        ],
        ...(i % 97 === 13 ? { status: { code: 2, message: 'synthetic failure' } } : {}),
      },
    };
  }
}

function batchBody(items) {
  const bySvc = new Map();
  for (const { service, span } of items) {
    if (!bySvc.has(service)) bySvc.set(service, []);
    bySvc.get(service).push(span);
  }
  return {
    resourceSpans: [...bySvc.entries()].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'tracewell-ui-bench' }, spans }],
    })),
  };
}

/** The compact form of traceSpans(n), for --synthetic. */
function compactTrace(n, traceId) {
  const strings = [];
  const idx = new Map();
  const str = (x) => {
    let i = idx.get(x);
    if (i === undefined) {
      i = strings.length;
      strings.push(x);
      idx.set(x, i);
    }
    return i;
  };
  const cols = { spanId: [], parent: [], parentSpanId: [], service: [], name: [], kind: [], status: [], start: [], duration: [] };
  const byId = new Map();
  const all = [...traceSpans(n, traceId, 0n)];
  all.forEach(({ span }, i) => byId.set(span.spanId, i));
  for (const { service, span } of all) {
    cols.spanId.push(span.spanId);
    const p = span.parentSpanId ? byId.get(span.parentSpanId) : -1;
    cols.parent.push(p ?? -1);
    cols.parentSpanId.push('');
    cols.service.push(str(service));
    cols.name.push(str(span.name));
    cols.kind.push(span.kind);
    cols.status.push(span.status?.code ?? 0);
    cols.start.push(Number(span.startTimeUnixNano));
    cols.duration.push(Number(span.endTimeUnixNano) - Number(span.startTimeUnixNano));
  }
  return JSON.stringify({ traceId, startTimeUnixNano: String(nowNanos()), strings, spans: cols, warnings: [] });
}

async function load(n) {
  const traceId = hex(16);
  const t0 = nowNanos() - 120_000n * MS;
  const started = Date.now();
  let items = [];
  let sent = 0;
  const inflight = new Set();
  const flush = async () => {
    const body = JSON.stringify(batchBody(items));
    items = [];
    const p = sendOtlp(args.otlp, body).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 2) await Promise.race(inflight);
  };
  for (const it of traceSpans(n, traceId, t0)) {
    items.push(it);
    if (items.length >= BATCH) {
      sent += items.length;
      await flush();
      if (n >= 100000) process.stdout.write(`\r  sending ${sent.toLocaleString()} / ${n.toLocaleString()} spans`);
    }
  }
  if (items.length) await flush();
  await Promise.all(inflight);
  if (n >= 100000) process.stdout.write('\n');
  const sendS = (Date.now() - started) / 1000;
  // wait until the server has every span
  const deadline = Date.now() + 600_000;
  for (;;) {
    const res = await fetch(`${BASE}/api/v1/search?tag=${encodeURIComponent(`bench.run=${run}`)}&service=${SERVICES[0]}&limit=50&lookback=1h`);
    if (res.ok) {
      const j = await res.json();
      const t = j.traces.find((x) => x.traceId === traceId);
      if (t && t.spanCount >= n) break;
    }
    if (Date.now() > deadline) throw new Error(`trace ${traceId} did not reach ${n} spans`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { traceId, sendS };
}

async function measure(browser, traceId, n) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(300_000);
  if (synthetic.has(traceId)) {
    const body = synthetic.get(traceId);
    await page.route(`**/api/v1/traces/${traceId}?format=compact`, (route) => route.fulfill({ status: 200, contentType: 'application/json', body }));
    await page.route(`**/api/v1/traces/${traceId}/spans/*`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [{ spanId: route.request().url().split('/').pop(), name: 'synthetic' }] }] }] }),
      }),
    );
  }
  await page.goto(`${BASE}/trace/${traceId}`, { waitUntil: 'commit' });
  const firstRender = await page.waitForFunction(
    () => {
      const rows = document.querySelectorAll('[data-testid=waterfall] .wf-row');
      return rows.length > 0 && [...rows].some((r) => r.style.display !== 'none' && r.dataset.spanId) ? performance.now() : null;
    },
    null,
    { polling: 'raf' },
  );
  const firstRenderMs = await firstRender.jsonValue();
  const timings = await page.evaluate(() => window.__tracewell?.timings ?? null);
  const spans = await page.locator('[data-testid=stat-spans]').getAttribute('data-raw');

  // Interactions, each timed until the next frame has painted the result.
  const t = await page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const wf = document.querySelector('[data-testid=waterfall]');
    const scroller = wf.querySelector('.wf-scroll');
    const out = {};
    let t0 = performance.now();
    scroller.scrollTop = scroller.scrollHeight / 2;
    await frame();
    out.scrollMs = performance.now() - t0;
    const rowsAfterScroll = [...wf.querySelectorAll('.wf-row')].filter((r) => r.style.display !== 'none').map((r) => Number(r.dataset.row));
    out.middleRow = Math.min(...rowsAfterScroll);
    // select a visible row that has children, then collapse and expand it with the keyboard
    const withKids = [...wf.querySelectorAll('.wf-row')].filter((r) => r.style.display !== 'none' && r.getAttribute('aria-expanded') === 'true');
    const target = withKids[Math.floor(withKids.length / 2)] ?? wf.querySelector('.wf-row');
    const id = target.dataset.spanId;
    t0 = performance.now();
    target.querySelector('.wf-text').click();
    await frame();
    out.selectMs = performance.now() - t0;
    wf.focus();
    const key = (k) => wf.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    t0 = performance.now();
    key('ArrowLeft');
    await frame();
    out.collapseMs = performance.now() - t0;
    out.collapsed = wf.querySelector(`.wf-row[data-span-id="${id}"]`)?.getAttribute('aria-expanded') === 'false';
    t0 = performance.now();
    key('ArrowRight');
    await frame();
    out.expandMs = performance.now() - t0;
    out.expanded = wf.querySelector(`.wf-row[data-span-id="${id}"]`)?.getAttribute('aria-expanded') === 'true';
    t0 = performance.now();
    key('ArrowDown');
    await frame();
    out.keyDownMs = performance.now() - t0;
    t0 = performance.now();
    scroller.scrollTop = scroller.scrollHeight;
    await frame();
    out.scrollEndMs = performance.now() - t0;
    out.done = performance.now();
    return out;
  });
  const panelOpen = await page.locator('[data-testid=span-panel]').count();
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  if (process.env.BENCH_DEBUG) console.log(heap, await page.evaluate(() => performance.memory?.usedJSHeapSize));
  await context.close();
  if (!t.collapsed || !t.expanded) errors.push('collapse/expand did not take effect');
  if (!panelOpen) errors.push('the span panel did not open');
  if (Number(spans) !== n) errors.push(`page shows ${spans} spans, expected ${n}`);
  return { firstRenderMs, interactiveMs: t.done, timings, t, heapMB: heap.usedSize / 2 ** 20, buffersMB: (heap.backingStorageSize ?? 0) / 2 ** 20, errors };
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

console.log(`Tracewell UI benchmark against ${BASE} (OTLP ${args.otlp}), sizes ${sizes.join(', ')}`);
const browser = await chromium.launch({ executablePath: args.chromium, args: [...CHROMIUM_ARGS, '--js-flags=--max-old-space-size=4096'] });
const results = [];
const synthetic = new Map();
let failed = false;
for (const n of sizes) {
  console.log(`\n${n.toLocaleString()} spans: loading…`);
  let traceId;
  try {
    if (args.synthetic) {
      traceId = hex(16);
      synthetic.set(traceId, compactTrace(n, traceId));
      console.log(`  synthetic compact trace ${traceId} (${(synthetic.get(traceId).length / 2 ** 20).toFixed(1)} MiB of JSON)`);
    } else {
      const l = await load(n);
      traceId = l.traceId;
      console.log(`  trace ${traceId} stored (${l.sendS.toFixed(1)} s to send)`);
    }
  } catch (e) {
    console.log(`  could not load: ${e.message}`);
    failed = true;
    continue;
  }
  for (let r = 0; r < Number(args.runs); r++) {
    try {
      const m = await measure(browser, traceId, n);
      results.push({ n, ...m });
      console.log(
        `  first render ${fmt(m.firstRenderMs)}  interactive ${fmt(m.interactiveMs)}  JS heap ${m.heapMB.toFixed(1)} MiB + array buffers ${m.buffersMB.toFixed(1)} MiB` +
          (m.timings
            ? `\n  of which: network ${fmt(m.timings.networkMs)} for ${(m.timings.bytes / 2 ** 20).toFixed(1)} MiB, JSON parse ${fmt(m.timings.parseMs)}, tree/critical path/self time ${fmt(m.timings.buildMs)}`
            : ''),
      );
      console.log(
        `  scroll ${fmt(m.t.scrollMs)}  select ${fmt(m.t.selectMs)}  collapse ${fmt(m.t.collapseMs)}  expand ${fmt(m.t.expandMs)}  key ${fmt(m.t.keyDownMs)}  scroll to end ${fmt(m.t.scrollEndMs)}`,
      );
      if (m.errors.length) {
        failed = true;
        console.log(`  problems: ${m.errors.join('; ')}`);
      }
    } catch (e) {
      failed = true;
      console.log(`  measurement failed: ${e.message}`);
    }
  }
}
await browser.close();
console.log('\nspans       first render  interactive  JS heap     array buffers');
for (const r of results)
  console.log(`${String(r.n).padEnd(11)} ${fmt(r.firstRenderMs).padEnd(13)} ${fmt(r.interactiveMs).padEnd(12)} ${`${r.heapMB.toFixed(1)} MiB`.padEnd(11)} ${r.buffersMB.toFixed(1)} MiB`);
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
process.exit(failed ? 1 : 0);
