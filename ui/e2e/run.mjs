#!/usr/bin/env node
// End-to-end tests of the web UI against a running Tracewell.
//
//   node e2e/run.mjs --base http://127.0.0.1:16686 --otlp http://127.0.0.1:4318
//
// Loads a known set of traces over OTLP/HTTP JSON, waits until search finds them, then drives
// Chromium through every page. Screenshots go to target/ui-screenshots/ at the repository root.
// Exits non-zero, naming each failed check, when anything is wrong.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, hex, MS, nowNanos, parseArgs, sendOtlp, tracesData } from './otlp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv, {
  base: 'http://127.0.0.1:16686',
  otlp: 'http://127.0.0.1:4318',
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  screenshots: resolve(here, '../../target/ui-screenshots'),
});
const BASE = String(args.base).replace(/\/$/, '');
const SHOTS = String(args.screenshots);
mkdirSync(SHOTS, { recursive: true });
for (const f of readdirSync(SHOTS)) if (f.startsWith('failure-')) rmSync(`${SHOTS}/${f}`);

const run = hex(4);
const svc = (name) => `e2e-${name}`;
const DB = `e2e_orders_db`;
const TOPIC = `e2e-order-events`;

// ---- fixture ----

const A = hex(16); // the checkout trace
const B = hex(16); // the trace the consumer links to
const id = () => hex(8);
const ids = {
  root: id(),
  feOrders: id(),
  orders: id(),
  db: id(),
  produce: id(),
  consume: id(),
  validate: id(),
  feStock: id(),
  stock: id(),
  bRoot: id(),
  bChild: id(),
};
const t0 = nowNanos() - 90_000n * MS;
const at = (ms) => t0 + BigInt(Math.round(ms * 1e6));
const common = { 'e2e.run': run };

const spansA = [
  { service: svc('frontend'), traceId: A, spanId: ids.root, name: 'GET /checkout', kind: 2, start: at(0), end: at(100), attributes: { ...common, 'http.request.method': 'GET', 'http.route': '/checkout', 'http.response.status_code': 200 } },
  { service: svc('frontend'), traceId: A, spanId: ids.feOrders, parentSpanId: ids.root, name: 'POST /api/orders', kind: 3, start: at(5), end: at(80), attributes: { ...common, 'http.request.method': 'POST', 'server.address': 'orders' } },
  { service: svc('orders'), traceId: A, spanId: ids.orders, parentSpanId: ids.feOrders, name: 'POST /api/orders', kind: 2, start: at(10), end: at(75), attributes: { ...common, 'http.route': '/api/orders', 'http.response.status_code': 500 } },
  { service: svc('orders'), traceId: A, spanId: ids.db, parentSpanId: ids.orders, name: 'INSERT orders', kind: 3, start: at(15), end: at(35), attributes: { ...common, 'db.system': 'postgresql', 'db.namespace': DB, 'db.query.text': 'INSERT INTO orders VALUES ($1, $2)' } },
  { service: svc('orders'), traceId: A, spanId: ids.produce, parentSpanId: ids.orders, name: `${TOPIC} publish`, kind: 4, start: at(40), end: at(45), attributes: { ...common, 'messaging.system': 'kafka', 'messaging.destination.name': TOPIC, 'messaging.operation.type': 'publish' } },
  {
    service: svc('mailer'),
    traceId: A,
    spanId: ids.consume,
    parentSpanId: ids.produce,
    name: `${TOPIC} process`,
    kind: 5,
    start: at(50),
    end: at(120),
    attributes: { ...common, 'messaging.system': 'kafka', 'messaging.destination.name': TOPIC, 'messaging.operation.type': 'process' },
    links: [{ traceId: B, spanId: ids.bRoot, attributes: { 'link.reason': 'follows-from' } }],
  },
  {
    service: svc('orders'),
    traceId: A,
    spanId: ids.validate,
    parentSpanId: ids.orders,
    name: 'validate payment',
    kind: 1,
    start: at(45),
    end: at(70),
    attributes: { ...common, 'payment.method': 'card' },
    status: { code: 2, message: 'card declined' },
    events: [{ time: at(60), name: 'exception', attributes: { 'exception.type': 'CardDeclined', 'exception.message': 'card declined by issuer' } }],
  },
  { service: svc('frontend'), traceId: A, spanId: ids.feStock, parentSpanId: ids.root, name: 'GET /stock', kind: 3, start: at(82), end: at(95), attributes: { ...common } },
  // clock skew: the inventory host's clock is 4 ms behind, so its span starts before its parent
  { service: svc('inventory'), traceId: A, spanId: ids.stock, parentSpanId: ids.feStock, name: 'GET /stock', kind: 2, start: at(78), end: at(90), attributes: { ...common, 'http.route': '/stock' }, resource: { 'host.name': 'inventory-1' } },
];
const spansB = [
  { service: svc('mailer'), traceId: B, spanId: ids.bRoot, name: 'send confirmation email', kind: 1, start: at(130), end: at(160), attributes: { ...common } },
  { service: svc('mailer'), traceId: B, spanId: ids.bChild, parentSpanId: ids.bRoot, name: 'SMTP send', kind: 3, start: at(135), end: at(155), attributes: { ...common } },
];
// Trace C: trace A again, with validation twice as slow, an extra audit insert and no inventory call.
const C = hex(16);
const idsC = Object.fromEntries(Object.keys(ids).map((k) => [k, id()]));
const remap = (x) => idsC[Object.keys(ids).find((k) => ids[k] === x)];
const spansC = spansA
  .filter((sp) => sp.spanId !== ids.stock)
  .map((sp) => ({
    ...sp,
    traceId: C,
    spanId: remap(sp.spanId),
    parentSpanId: sp.parentSpanId ? remap(sp.parentSpanId) : undefined,
    ...(sp.spanId === ids.validate ? { start: at(45), end: at(95) } : {}),
    links: undefined,
  }));
spansC.push({ service: svc('orders'), traceId: C, spanId: id(), parentSpanId: idsC.orders, name: 'INSERT audit', kind: 3, start: at(36), end: at(39), attributes: { ...common, 'db.system': 'postgresql', 'db.namespace': DB } });
// Preorder of trace A as the waterfall shows it (children ordered by start).
const EXPECTED_ROWS = [
  [svc('frontend'), 'GET /checkout'],
  [svc('frontend'), 'POST /api/orders'],
  [svc('orders'), 'POST /api/orders'],
  [svc('orders'), 'INSERT orders'],
  [svc('orders'), `${TOPIC} publish`],
  [svc('mailer'), `${TOPIC} process`],
  [svc('orders'), 'validate payment'],
  [svc('frontend'), 'GET /stock'],
  [svc('inventory'), 'GET /stock'],
];
// Critical path: everything but the consumer, which starts after its producer ended.
const EXPECTED_CP = new Set([ids.root, ids.feOrders, ids.orders, ids.db, ids.produce, ids.validate, ids.feStock, ids.stock]);

// ---- harness ----

const failures = [];
let passed = 0;
let page;

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push({ name, error: e });
    console.log(`FAIL ${name}: ${e.message}`);
    try {
      await page?.screenshot({ path: `${SHOTS}/failure-${name.replace(/[^a-z0-9]+/gi, '-')}.png` });
    } catch {
      /* ignore */
    }
  }
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`);
}

async function api(path) {
  const res = await fetch(BASE + path);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

async function shot(name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
}

async function waitFor(fn, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function goto(path) {
  await page.goto(BASE + path, { waitUntil: 'domcontentloaded' });
}

// ---- main ----

console.log(`Tracewell UI end-to-end tests against ${BASE} (OTLP ${args.otlp}), run ${run}`);

// On an empty server, the landing page explains how to send traces.
const emptyServer = (await api('/api/v1/services')).services.length === 0;
let browser;
if (emptyServer) {
  browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await check('empty server: the landing page says how to send traces', async () => {
    await goto('/');
    const empty = page.locator('[data-testid=empty]');
    await empty.waitFor();
    const text = await empty.innerText();
    expect(/No traces yet/.test(text) && text.includes(':4317') && text.includes(':4318') && text.includes('tracewell demo'), `empty state: ${text}`);
    await shot('search-empty-server');
  });
  await browser.close();
}

await sendOtlp(args.otlp, tracesData([...spansA, ...spansB, ...spansC]));
console.log(`sent traces ${A} (${spansA.length} spans), ${B} (${spansB.length}) and ${C} (${spansC.length})`);

const tag = encodeURIComponent(`e2e.run=${run}`);
await waitFor(async () => {
  const r = await api(`/api/v1/search?tag=${tag}&lookback=1h&limit=10`);
  const got = new Set(r.traces.map((t) => t.traceId));
  return got.has(A) && got.has(B) && got.has(C);
}, 'search to return both traces');
await waitFor(async () => {
  const r = await api('/api/v1/services');
  return ['frontend', 'orders', 'mailer', 'inventory'].every((s) => r.services.includes(svc(s)));
}, 'the service list to include the e2e services');
// dependency rollups are fed as spans arrive; wait until the graph has our edges
await waitFor(async () => {
  const d = await api('/api/v1/dependencies?lookback=1h');
  return d.edges.some((e) => e.parent === svc('frontend') && e.child === svc('orders'));
}, 'the dependency graph to include the e2e services');

browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS });
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && pageErrors.push(m.text()));
page.setDefaultTimeout(15000);

await check('landing page shows search', async () => {
  await goto('/');
  await page.locator('[data-testid=search-form]').waitFor();
  await page.locator('[data-testid=results], [data-testid=empty]').first().waitFor();
  await shot('search-landing');
});

await check('search form finds the traces and keeps state in the URL', async () => {
  await goto('/search');
  await page.waitForFunction((name) => [...document.querySelectorAll('[data-testid=service] option')].some((o) => o.value === name), svc('frontend'));
  await page.selectOption('[data-testid=service]', svc('frontend'));
  await page.locator('[data-testid=tag-input]').fill(`e2e.run=${run}`);
  await page.locator('[data-testid=tag-input]').press('Enter');
  await page.click('[data-testid=search-submit]');
  await page.waitForURL(/service=e2e-frontend/);
  const url = new URL(page.url());
  eq(url.searchParams.get('service'), svc('frontend'), 'service in URL');
  eq(url.searchParams.getAll('tag'), [`e2e.run=${run}`], 'tag in URL');
  await page.locator('[data-testid=results-view][data-state=done]').waitFor();
  const row = page.locator(`[data-testid=result][data-trace-id="${A}"]`);
  await row.waitFor();
  eq(await page.locator('[data-testid=result]').count(), 2, 'result count (A and its variant C)');
  eq((await row.locator('[data-testid=span-count]').innerText()).trim(), `${spansA.length} spans`, 'span count in result');
  eq((await row.locator('[data-testid=error-count]').innerText()).trim(), '1 error', 'error count in result');
  const chips = await row.locator('.chip-name').allInnerTexts();
  for (const s of ['frontend', 'orders', 'mailer', 'inventory']) expect(chips.includes(svc(s)), `service chip ${svc(s)} missing: ${chips}`);
  await page.locator('[data-testid=scatter] canvas').first().waitFor();
  await shot('search-results');
  // a reload of the shared URL shows the same result
  await page.reload();
  await page.locator(`[data-testid=result][data-trace-id="${A}"]`).waitFor();
});

await check('tag autocomplete offers names and values', async () => {
  await goto('/search');
  const input = page.locator('[data-testid=tag-input]');
  await input.fill('e2e.ru');
  await page.locator('.suggest li', { hasText: 'e2e.run' }).first().waitFor();
  await page.locator('.suggest li', { hasText: 'e2e.run' }).first().click();
  eq(await input.inputValue(), 'e2e.run=', 'picked tag name');
  await page.locator('.suggest li', { hasText: run }).first().waitFor();
  await shot('search-autocomplete');
});

await check('scatter plot dot opens the trace', async () => {
  await goto(`/search?tag=${tag}&lookback=1h&service=${svc('frontend')}`);
  await page.locator(`[data-testid=result][data-trace-id="${A}"]`).waitFor();
  // find a red (error) dot in the chart's pixels and click it
  await page.locator('[data-testid=scatter] canvas').waitFor();
  const dot = await page.evaluate(() => {
    const canvas = document.querySelector('[data-testid=scatter] canvas');
    const ctx = canvas.getContext('2d');
    const { width, height } = canvas;
    const px = ctx.getImageData(0, 0, width, height).data;
    const r = canvas.getBoundingClientRect();
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        if (px[i] > 180 && px[i + 1] < 90 && px[i + 2] < 90 && px[i + 3] > 200)
          return { x: r.left + (x + 2) * (r.width / width), y: r.top + (y + 2) * (r.height / height) };
      }
    return null;
  });
  expect(dot, 'no error dot drawn in the scatter plot');
  await page.mouse.click(dot.x, dot.y);
  await waitFor(() => page.url().includes('/trace/'), 'the dot to open a trace', 5000);
  const opened_ = new URL(page.url()).pathname;
  expect(opened_ === `/trace/${A}` || opened_ === `/trace/${C}`, `opened ${opened_}`);
});

await check('trace page: header, tree, critical path, skew warning', async () => {
  await goto(`/trace/${A}`);
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  const raw = async (t) => page.locator(`[data-testid=${t}]`).getAttribute('data-raw');
  eq(await raw('stat-spans'), String(spansA.length), 'total spans');
  eq(await raw('stat-errors'), '1', 'errors');
  eq(await raw('stat-depth'), '5', 'depth');
  eq(await raw('stat-services'), '4', 'services');
  eq(await raw('stat-duration'), String(120e6), 'duration (ns)');
  const rows = await page.$$eval('[data-testid=waterfall] .wf-row', (els) =>
    els
      .filter((e) => e.style.display !== 'none')
      .map((e) => ({ row: Number(e.dataset.row), id: e.dataset.spanId, svc: e.querySelector('.wf-svc').textContent, op: e.querySelector('.wf-op').textContent, cp: e.classList.contains('oncp') }))
      .sort((a, b) => a.row - b.row),
  );
  eq(
    rows.map((r) => [r.svc, r.op]),
    EXPECTED_ROWS,
    'rows in tree order',
  );
  const cp = rows.filter((r) => r.cp).map((r) => r.id);
  eq(cp.length, EXPECTED_CP.size, 'critical path span count');
  for (const s of cp) expect(EXPECTED_CP.has(s), `span ${s} should not be on the critical path`);
  eq(await raw('stat-cp'), String(EXPECTED_CP.size), 'critical path stat');
  const warn = page.locator('[data-testid=skew-warning]');
  await warn.waitFor();
  expect(/1 span starts before its parent/.test(await warn.innerText()), `skew warning text: ${await warn.innerText()}`);
  expect(/raw times/i.test(await warn.innerText()), 'raw times by default');
  // indentation: the consumer sits 4 levels deep
  eq(await page.locator(`.wf-row[data-span-id="${ids.consume}"]`).getAttribute('aria-level'), '5', 'consumer depth');
  await shot('trace');
  await page.click('[data-testid=times-adjusted]');
  await page.waitForFunction(() => /adjusted times/i.test(document.querySelector('[data-testid=skew-warning]')?.textContent ?? ''));
  await page.waitForURL(/times=adjusted/);
  await shot('trace-adjusted');
  await page.click('[data-testid=times-raw]');
});

await check('trace page: keyboard navigation and in-trace search', async () => {
  await goto(`/trace/${A}`);
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  const visibleRows = () => page.$$eval('[data-testid=waterfall] .wf-row', (els) => els.filter((e) => e.style.display !== 'none').length);
  await page.locator('[data-testid=waterfall]').focus();
  await page.keyboard.press('ArrowLeft'); // collapse the root
  await waitFor(async () => (await visibleRows()) === 1, 'root to collapse');
  await page.keyboard.press('ArrowRight'); // expand again
  await waitFor(async () => (await visibleRows()) === spansA.length, 'root to expand');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=span-panel]').waitFor();
  eq(await page.locator('[data-testid=panel-span-id]').innerText(), ids.orders, 'selected span after two downs');
  await page.keyboard.press('/');
  await page.keyboard.type('is:error');
  await waitFor(async () => (await page.locator('[data-testid=match-count]').innerText()).trim() === '1 match', '"1 match" for is:error', 5000);
  await page.keyboard.press('Enter');
  await waitFor(async () => (await page.locator('[data-testid=panel-span-id]').innerText()) === ids.validate, 'search to select the match');
  eq(await page.locator(`.wf-row[data-span-id="${ids.validate}"]`).evaluate((e) => e.classList.contains('match')), true, 'match highlighted');
  await page.click('[data-testid=filter-only]');
  await waitFor(async () => (await visibleRows()) === 4, 'filter to keep the match and its ancestors');
  await shot('trace-search');
});

await check('span panel shows attributes, status, events', async () => {
  await goto(`/trace/${A}?span=${ids.validate}`);
  const panel = page.locator('[data-testid=span-panel]');
  await panel.locator('[data-testid=span-attributes]').waitFor();
  const attrs = await panel.locator('[data-testid=span-attributes]').innerText();
  expect(attrs.includes('payment.method') && attrs.includes('card'), `span attributes: ${attrs}`);
  expect(attrs.includes('e2e.run') && attrs.includes(run), 'run attribute');
  const res = await panel.locator('[data-testid=resource-attributes]').innerText();
  expect(res.includes('service.name') && res.includes(svc('orders')), `resource attributes: ${res}`);
  expect((await panel.locator('[data-testid=status-message]').innerText()).includes('card declined'), 'status message');
  const events = await panel.locator('[data-testid=events]').innerText();
  expect(events.includes('exception') && events.includes('CardDeclined'), `events: ${events}`);
  eq(await panel.locator('[data-testid=panel-duration]').innerText(), '25ms', 'duration');
  await shot('trace-span-panel');
  // self time of the orders server span: 65 ms minus children 15-35, 40-45 and 45-70 => 65 - 50 = 15 ms
  await goto(`/trace/${A}?span=${ids.orders}`);
  await page.locator('[data-testid=panel-self]').waitFor();
  expect((await page.locator('[data-testid=panel-self]').innerText()).startsWith('15ms'), `self time: ${await page.locator('[data-testid=panel-self]').innerText()}`);
});

await check('span link navigates to the linked trace', async () => {
  await goto(`/trace/${A}?span=${ids.consume}`);
  const link = page.locator('[data-testid=span-link]');
  await link.waitFor();
  await link.click();
  await page.waitForURL(new RegExp(`/trace/${B}`));
  await page.locator(`.wf-row[data-span-id="${ids.bRoot}"]`).waitFor();
  eq(await page.locator('[data-testid=stat-spans]').getAttribute('data-raw'), '2', 'linked trace span count');
  await page.locator('[data-testid=panel-span-id]').waitFor();
  eq(await page.locator('[data-testid=panel-span-id]').innerText(), ids.bRoot, 'linked span selected');
  await shot('trace-linked');
  await page.goBack();
  await page.waitForURL(new RegExp(`/trace/${A}`));
});

await check('service map shows the expected nodes and edges', async () => {
  await goto('/map?lookback=1h');
  await page.locator('[data-testid=map-node]').first().waitFor();
  const nodes = await page.$$eval('[data-testid=map-node]', (els) => els.map((e) => `${e.dataset.kind}:${e.dataset.name}`));
  for (const n of [`service:${svc('frontend')}`, `service:${svc('orders')}`, `service:${svc('mailer')}`, `service:${svc('inventory')}`, `database:${DB}`, `messaging:${TOPIC}`])
    expect(nodes.includes(n), `node ${n} missing (have ${nodes.filter((x) => x.includes('e2e')).join(', ')})`);
  const edges = await page.$$eval('[data-testid=map-edge]', (els) => els.map((e) => `${e.dataset.parent}>${e.dataset.child}`));
  for (const e of [
    `${svc('frontend')}>${svc('orders')}`,
    `${svc('orders')}>${DB}`,
    `${svc('orders')}>${TOPIC}`,
    `${TOPIC}>${svc('mailer')}`,
    `${svc('frontend')}>${svc('inventory')}`,
  ])
    expect(edges.includes(e), `edge ${e} missing (have ${edges.filter((x) => x.includes('e2e')).join(', ')})`);
  const label = await page.locator(`[data-testid=map-edge][data-parent="${svc('frontend')}"][data-child="${svc('orders')}"] .edge-label`).textContent();
  expect(/\/(s|min)/.test(label) && /err/.test(label) && /p99/.test(label), `edge label shows rate, errors, p99: ${label}`);
  await shot('map');
});

await check('RED panel numbers match /api/v1/metrics', async () => {
  await goto('/map?lookback=1h');
  // the graph may be larger than the view: dispatch the click instead of scrolling to it
  await page.locator(`[data-testid=map-node][data-name="${svc('orders')}"]`).dispatchEvent('click');
  const panel = page.locator('[data-testid=red-panel]');
  await panel.locator('[data-testid=red-count]').waitFor();
  const m = await api(`/api/v1/metrics?service=${svc('orders')}&lookback=1h`);
  const total = m.series[0].total;
  const raw = async (t) => panel.locator(`[data-testid=${t}]`).getAttribute('data-raw');
  eq(Number(await raw('red-count')), total.count, 'span count');
  eq(Number(await raw('red-errors')), total.errors, 'errors');
  eq((await panel.locator('[data-testid=red-count] .stat-value').innerText()).replace(/,/g, ''), String(total.count), 'displayed count');
  const p99 = Number(await raw('red-p99'));
  expect(Math.abs(p99 - total.quantilesNano['0.99']) <= 1e-6 * total.quantilesNano['0.99'], `p99 ${p99} vs ${total.quantilesNano['0.99']}`);
  await shot('map-red-panel');
  // the service dashboard shows the same totals
  await goto(`/services/${svc('orders')}?lookback=1h`);
  await page.locator('[data-testid=red-count]').first().waitFor();
  eq(Number(await page.locator('[data-testid=red-count]').first().getAttribute('data-raw')), total.count, 'dashboard count');
  eq(Number(await page.locator('[data-testid=red-errors]').first().getAttribute('data-raw')), total.errors, 'dashboard errors');
  await page.locator('[data-testid=operation-row]').first().waitFor();
  await shot('service-dashboard');
  await goto('/services?lookback=1h');
  await page.locator(`[data-testid=service-row][data-service="${svc('orders')}"]`).waitFor();
  await shot('services');
});

await check('SQL console shows a result and an error', async () => {
  await goto('/sql');
  const since = (BigInt(Date.now() - 3600e3) * 1000000n).toString();
  const q = `SELECT service_name, count(*) AS n FROM spans WHERE service_name = '${svc('orders')}' AND start_time_unix_nano >= ${since} GROUP BY service_name`;
  await page.locator('[data-testid=sql-input]').fill(q);
  await page.click('[data-testid=sql-run]');
  await page.locator('[data-testid=sql-result]').waitFor({ timeout: 60000 });
  const text = await page.locator('[data-testid=sql-result] table').innerText();
  expect(text.includes(svc('orders')), `result table: ${text}`);
  await shot('sql');
  await page.locator('[data-testid=sql-input]').fill('SELECT no_such_column FROM spans');
  await page.click('[data-testid=sql-run]');
  const err = page.locator('[data-testid=error]');
  await err.waitFor({ timeout: 60000 });
  const res = await fetch(`${BASE}/api/v1/sql`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'SELECT no_such_column FROM spans' }) });
  const body = await res.json();
  const shown = await err.innerText();
  expect(shown.includes(String(res.status)), `status ${res.status} not shown: ${shown}`);
  expect(shown.includes(body.error.slice(0, 60)), `API message not shown. API: ${body.error}\nshown: ${shown}`);
  await shot('sql-error');
});

await check('compare page shows structural and duration differences', async () => {
  await goto(`/compare/${A}/${C}`);
  await page.locator('[data-testid=compare-summary]').waitFor();
  const raw = async (t) => Number(await page.locator(`[data-testid=${t}]`).getAttribute('data-raw'));
  eq([await raw('compare-added'), await raw('compare-removed'), await raw('compare-changed')], [1, 1, 1], 'added, removed, changed');
  await page.locator('[data-testid=compare-row]').first().waitFor();
  const rows = await page.$$eval('[data-testid=compare-row]', (els) => els.map((e) => [e.dataset.status, e.querySelector('.cmp-name').textContent]));
  const find = (text) => rows.find((r) => r[1].includes(text))?.[0];
  eq([find('INSERT audit'), find('e2e-inventory'), find('validate payment'), find('INSERT orders')], ['added', 'removed', 'changed', 'same'], 'row statuses');
  expect(rows.find((r) => r[1].includes('validate payment')) && (await page.locator('.cmp-row.st-changed .cmp-delta').first().innerText()).includes('+25ms'), 'validate delta +25ms');
  await shot('compare');
  await goto(`/compare/${A}/${B}`);
  await page.locator('[data-testid=compare-summary]').waitFor();
  eq([await raw('compare-added'), await raw('compare-removed')], [spansB.length, spansA.length], 'unrelated traces share nothing');
});

await check('dark theme and toggle', async () => {
  await goto(`/trace/${A}`);
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.click('[data-testid=theme-toggle]');
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  expect(before !== after, 'theme toggled');
  await shot(`trace-${after}`);
  await page.click('[data-testid=theme-toggle]');
  const dark = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  const p2 = await dark.newPage();
  await p2.goto(`${BASE}/map?lookback=1h`);
  eq(await p2.evaluate(() => document.documentElement.dataset.theme), 'dark', 'follows prefers-color-scheme');
  await p2.locator('[data-testid=map-node]').first().waitFor();
  await p2.screenshot({ path: `${SHOTS}/map-dark.png` });
  await dark.close();
});

await check('errors are readable: unknown trace and unknown page', async () => {
  const missing = '0123456789abcdef0123456789abcdef';
  await goto(`/trace/${missing}`);
  const err = page.locator('[data-testid=error]');
  await err.waitFor();
  expect(/404/.test(await err.innerText()), `404 shown: ${await err.innerText()}`);
  await shot('trace-not-found');
  await goto('/no/such/page');
  await page.locator('text=Page not found').waitFor();
});

await check('no uncaught errors in the page', async () => {
  eq(pageErrors, [], 'page errors');
});

await browser.close();
console.log(`\n${passed} passed, ${failures.length} failed; screenshots in ${SHOTS}`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f.name}: ${f.error.message}`);
  process.exit(1);
}
