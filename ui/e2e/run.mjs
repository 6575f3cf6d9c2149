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
import { CHROMIUM_ARGS, hex, logsData, MS, nowNanos, parseArgs, sendOtlp, sendOtlpLogs, tracesData } from './otlp.mjs';

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
// Log records: trace A's, on its spans at different severities plus one with the trace but no span, and lines of
// a service that sends no spans (billing, without a trace; one severity number without a text). Every record
// carries e2e.run, so searches can single out this run's lines.
const BILLING = svc('billing');
const logsA = [
  { service: svc('frontend'), time: at(2), severityNumber: 9, severityText: 'INFO', body: 'checkout request received', traceId: A, spanId: ids.root, attributes: { ...common, 'cart.items': 3 } },
  { service: svc('orders'), time: at(12), severityNumber: 5, severityText: 'DEBUG', body: 'loading order 42 from the cart', traceId: A, spanId: ids.orders, attributes: { ...common, 'order.id': 42 } },
  { service: svc('orders'), time: at(50), severityNumber: 13, severityText: 'WARN', body: 'payment provider slow, retrying (1 of 2)', traceId: A, spanId: ids.validate, attributes: { ...common, 'retry.attempt': 1 } },
  { service: svc('orders'), time: at(60), severityNumber: 17, severityText: 'ERROR', body: 'card declined by issuer', traceId: A, spanId: ids.validate, attributes: { ...common, 'payment.method': 'card', 'exception.type': 'CardDeclined' } },
  { service: svc('frontend'), time: at(110), severityNumber: 9, severityText: 'INFO', body: 'checkout response sent', traceId: A, attributes: { ...common } },
];
const logsBilling = [
  { service: BILLING, time: at(20), severityNumber: 9, severityText: 'INFO', body: 'invoice run started', attributes: { ...common, 'invoice.batch': 7 } },
  { service: BILLING, time: at(40), severityNumber: 13, severityText: 'WARN', body: 'invoice 7-12 is overdue', attributes: { ...common, 'invoice.batch': 7 } },
  { service: BILLING, time: at(80), severityNumber: 18, body: 'could not reach the ledger: connection refused', attributes: { ...common, 'invoice.batch': 7 } },
];
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

// Insights fixture: frontend -> api -> database, 20 traces a minute for the last 33 minutes. The api
// server span spends ~10 ms by itself until three minutes ago, then ~400 ms; its database call stays at
// 3 ms. Rollups are keyed by span start minute, so the history is sent with past timestamps. The slow
// traces carry app.region=eu-west, the others us-east (for the breakdown's attribute table).
const INS = { frontend: `e2e-ins-frontend-${run}`, api: `e2e-ins-api-${run}`, db: `e2e_ins_db_${run}` };
function insightsSpans() {
  const now = Date.now();
  const minute = Math.floor(now / 60e3) * 60e3;
  const spans = [];
  let k = 0;
  for (let m = -32; m <= 0; m++) {
    const slow = m >= -2;
    for (let i = 0; i < 20; i++) {
      const startMs = minute + m * 60e3 + i * 3000 + 100;
      const jitter = 1 + (((k++ * 7919) % 21) - 10) / 100; // ±10 %, deterministic
      const own = (slow ? 400 : 10) * jitter;
      if (startMs + own + 20 > now) continue;
      const ns = (ms) => BigInt(Math.round(ms * 1e6));
      const t = BigInt(startMs) * MS;
      const trace = hex(16);
      const root = id();
      const api = id();
      const apiStart = t + ns(2);
      const apiEnd = apiStart + ns(own + 3);
      const dbStart = apiStart + ns(own / 2);
      const attrs = { 'e2e.insights': run, 'app.region': slow ? 'eu-west' : 'us-east' };
      spans.push(
        { service: INS.frontend, traceId: trace, spanId: root, name: 'GET /shop', kind: 2, start: t, end: apiEnd + ns(2), attributes: { ...attrs, 'http.route': '/shop' } },
        { service: INS.api, traceId: trace, spanId: api, parentSpanId: root, name: 'GET /items', kind: 2, start: apiStart, end: apiEnd, attributes: { ...attrs, 'http.route': '/items' } },
        { service: INS.api, traceId: trace, spanId: id(), parentSpanId: api, name: 'SELECT items', kind: 3, start: dbStart, end: dbStart + ns(3), attributes: { ...attrs, 'db.system': 'postgresql', 'db.namespace': INS.db, 'db.query.text': 'SELECT * FROM items' } },
      );
    }
  }
  return spans;
}

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

// Fills the TraceQL box once the page has settled: a fill that lands while the lazily loaded TraceQL form
// mounts is reset with it, so it is repeated until the text stays and Run is enabled.
async function fillTraceql(text) {
  const box = page.locator('[data-testid=traceql-input]');
  for (let attempt = 0; attempt < 5; attempt++) {
    await box.fill(text);
    await page.waitForTimeout(100);
    if ((await box.inputValue()) === text) {
      await page.locator('[data-testid=traceql-run]:not([disabled])').waitFor();
      return box;
    }
  }
  throw new Error(`the TraceQL box did not keep its text: ${JSON.stringify(await box.inputValue())}`);
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
{
  const list = insightsSpans();
  for (let i = 0; i < list.length; i += 600) await sendOtlp(args.otlp, tracesData(list.slice(i, i + 600)));
  console.log(`sent ${list.length} spans of 33 minutes of ${INS.frontend} -> ${INS.api} -> ${INS.db}, slow for the last 3`);
}

await sendOtlpLogs(args.otlp, logsData([...logsA, ...logsBilling]));
console.log(`sent ${logsA.length} log records of trace ${A} and ${logsBilling.length} of ${BILLING}`);

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
await waitFor(async () => {
  const [a, b] = await Promise.all([api(`/api/v1/traces/${A}/logs`), api(`/api/v1/logs?service=${BILLING}&attr=${tag}`)]);
  return a.logs.length === logsA.length && b.logs.length === logsBilling.length;
}, 'the log records of the trace and of billing');
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

await check('landing page shows insights once the server has spans', async () => {
  await goto('/');
  await page.locator('[data-testid=insights-page]').waitFor();
  eq(await page.locator('.topbar nav a.active').innerText(), 'Insights', 'active navigation entry');
  await page.locator('[data-testid=findings], [data-testid=empty], [data-testid=error]').first().waitFor();
  await shot('landing-insights');
  await goto('/search');
  await page.locator('[data-testid=search-form]').waitFor();
  await page.locator('[data-testid=results], [data-testid=empty]').first().waitFor();
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

await check('TraceQL: mode in the URL, autocomplete, traces with span sets opening their span', async () => {
  await goto(`/search?tag=${tag}&lookback=1h`);
  await page.click('[data-testid=mode-traceql]');
  await page.waitForURL(/mode=traceql/);
  eq(new URL(page.url()).searchParams.get('lookback'), '1h', 'time range kept across modes');
  const box = page.locator('[data-testid=traceql-input]');
  const items = page.locator('[data-testid=traceql-suggest] li');
  const active = () => page.locator('[data-testid=traceql-suggest] li[aria-selected=true]').innerText();
  await box.click();
  await page.keyboard.type('{ span.e2e.r');
  await items.filter({ hasText: 'span.e2e.run' }).first().waitFor();
  await shot('search-traceql-autocomplete');
  await page.keyboard.press('Enter');
  eq(await box.inputValue(), '{ span.e2e.run', 'Enter accepts the attribute name');
  await page.keyboard.type(` = "${run.slice(0, 6)}`);
  await waitFor(async () => (await items.allInnerTexts()).some((t) => t.startsWith(run)), 'the run id among the values', 10000);
  await page.keyboard.press('Tab');
  eq(await box.inputValue(), `{ span.e2e.run = "${run}"`, 'Tab accepts the quoted value');
  await page.keyboard.type(' && sta');
  await items.first().waitFor();
  expect((await active()).startsWith('status'), `first suggestion active: ${await active()}`);
  await page.keyboard.press('ArrowDown');
  expect((await active()).startsWith('statusMessage'), `ArrowDown moves to the next: ${await active()}`);
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Escape');
  eq(await items.count(), 0, 'Escape closes the list');
  await page.keyboard.press('Control+Space');
  await items.first().waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.type(' = e');
  await items.filter({ hasText: 'error' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.keyboard.type(' } | select(span.payment.method)');
  const query = `{ span.e2e.run = "${run}" && status = error } | select(span.payment.method)`;
  eq(await box.inputValue(), query, 'the query typed with autocomplete');
  await page.keyboard.press('Control+Enter');
  await page.waitForURL((u) => u.searchParams.get('q') === query);
  await page.locator('[data-testid=results-view][data-state=done] [data-testid=spanset]').first().waitFor();
  const rows = await page.$$eval('[data-testid=result]', (els) => els.map((e) => e.dataset.traceId).sort());
  eq(rows, [A, C].sort(), 'the two traces with a failing span of this run');
  const row = page.locator(`[data-testid=result][data-trace-id="${A}"]`);
  eq((await row.locator('[data-testid=span-count]').innerText()).trim(), `${spansA.length} spans`, 'trace summary as in the builder');
  eq(await row.locator('[data-testid=spanset-matched]').allInnerTexts(), ['1'], 'one span set with one matching span');
  const span = row.locator('[data-testid=spanset-span]');
  eq(await span.getAttribute('href'), `/trace/${A}?span=${ids.validate}`, 'the span links to the trace at that span');
  const spanText = await span.innerText();
  expect(spanText.includes('validate payment') && spanText.includes('span.payment.method="card"'), `span with its select() value: ${spanText}`);
  await shot('search-traceql');
  // a link to the query shows the same answer
  await page.reload();
  await page.locator(`[data-testid=result][data-trace-id="${A}"] [data-testid=spanset]`).waitFor();
  await span.click();
  await page.waitForURL(new RegExp(`/trace/${A}\\?span=${ids.validate}`));
  await waitFor(async () => (await page.locator('[data-testid=panel-span-id]').innerText()) === ids.validate, 'the span selected in the trace');
});

await check('TraceQL: a syntax error is shown at its position', async () => {
  const broken = `{ span.e2e.run = "${run}" && name = }`;
  await goto(`/search?mode=traceql&lookback=1h`);
  const box = await fillTraceql(broken);
  await page.click('[data-testid=traceql-run]');
  const err = page.locator('[data-testid=traceql-error]');
  await err.waitFor();
  const at = broken.lastIndexOf('}');
  const text = await err.innerText();
  expect(text.includes(`line 1, column ${at + 1}`) && /expected/.test(text), `error message: ${text}`);
  eq([await err.getAttribute('data-line'), await err.getAttribute('data-column')], ['1', String(at + 1)], 'error position');
  eq(await page.locator('[data-testid=traceql-error-where] mark').innerText(), '}', 'the offending token marked');
  eq(await box.evaluate((e) => [e.selectionStart, e.selectionEnd]), [at, at + 1], 'the offending token selected in the box');
  eq(await page.locator('[data-testid=results]').count(), 0, 'no results for a refused query');
  await shot('search-traceql-error');
});

await check('TraceQL: a metrics query draws a chart with a legend and the last values', async () => {
  await goto(`/search?mode=traceql&lookback=1h`);
  const box = await fillTraceql('{ } | rate() by (resource.service.name)');
  await box.press('Control+Enter');
  await page.locator('[data-testid=traceql-chart] canvas').first().waitFor();
  const label = `resource.service.name="${svc('orders')}"`;
  await page.locator('[data-testid=traceql-chart] .u-legend', { hasText: label }).waitFor();
  const series = await page.locator('[data-testid=traceql-series] tbody tr').allInnerTexts();
  const orders = series.find((r) => r.includes(label));
  expect(orders && /\/s|\/min/.test(orders), `a last value for ${label}: ${series.join(' | ')}`);
  await shot('search-traceql-metrics');
  await page.click('[data-testid=mode-builder]');
  await page.locator('[data-testid=search-form]').waitFor();
  expect(!new URL(page.url()).searchParams.has('q'), 'the builder leaves the query out');
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

await check("trace logs: markers on the spans' bars, a span's lines in its panel, the Logs tab in time order", async () => {
  await goto(`/trace/${A}`);
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  const tab = page.locator('[data-testid=tab-logs][data-count]');
  await tab.waitFor();
  eq(await tab.getAttribute('data-count'), String(logsA.length), 'log lines of the trace');
  eq((await tab.innerText()).trim(), `Logs (${logsA.length})`, 'tab label');
  // markers: on the spans with lines, at their times, coloured by level, the error one standing out
  const markers = (spanId) =>
    page.$$eval(`.wf-row[data-span-id="${spanId}"] .wf-log`, (els) =>
      els.map((e) => ({ level: e.dataset.level, err: e.classList.contains('err'), left: parseFloat(e.style.left), title: e.title, color: getComputedStyle(e).backgroundColor })),
    );
  await page.locator('.wf-log').first().waitFor();
  const v = await markers(ids.validate);
  eq(v.map((m) => [m.level, m.err]), [['warn', false], ['error', true]], 'markers of validate payment');
  expect(v[1].title.startsWith('+60ms ERROR card declined by issuer'), `error marker tooltip: ${v[1].title}`);
  expect(v[0].title.startsWith('+50ms WARN payment provider slow'), `warn marker tooltip: ${v[0].title}`);
  expect(/^rgb\(2[0-9]{2}, [0-9]{1,2}, [0-9]{1,2}\)$/.test(v[1].color) && v[0].color !== v[1].color, `red error marker (${v[1].color}), warn ${v[0].color}`);
  // validate payment runs 45-70 ms: its markers at 50 and 60 ms sit at 1/5 and 3/5 of its bar
  const bar = await page.locator(`.wf-row[data-span-id="${ids.validate}"] .wf-bar`).evaluate((e) => ({ left: parseFloat(e.style.left), width: parseFloat(e.style.width) }));
  expect(
    Math.abs(v[0].left - (bar.left + bar.width / 5)) < 1.5 && Math.abs(v[1].left - (bar.left + (bar.width * 3) / 5)) < 1.5,
    `marker positions ${v.map((m) => m.left)} on bar ${JSON.stringify(bar)}`,
  );
  eq((await markers(ids.root)).map((m) => m.level), ['info'], 'marker on the root');
  eq((await markers(ids.orders)).map((m) => m.level), ['debug'], 'marker on the orders span');
  eq(await page.locator('.wf-log').count(), 4, 'markers in all (the line without a span has none)');
  await shot('trace-log-markers');
  // a click on the error marker opens its span, whose panel lists its lines relative to the trace start
  await page.locator(`.wf-row[data-span-id="${ids.validate}"] .wf-log.err`).click();
  await waitFor(async () => (await page.locator('[data-testid=panel-span-id]').innerText()) === ids.validate, 'the marker to open its span');
  const panelLogs = page.locator('[data-testid=span-logs]');
  await panelLogs.waitFor();
  eq(await panelLogs.getAttribute('data-count'), '2', 'lines of validate payment');
  eq(await panelLogs.locator('[data-testid=log-body]').allInnerTexts(), [logsA[2].body, logsA[3].body], 'bodies in time order');
  eq(await panelLogs.locator('[data-testid=log-offset]').allInnerTexts(), ['+50ms', '+60ms'], 'times relative to the trace start');
  eq(await panelLogs.locator('[data-testid=log-severity]').allInnerTexts(), ['WARN', 'ERROR'], 'severity badges');
  eq(await panelLogs.locator('[data-testid=log-severity]').evaluateAll((els) => els.map((e) => e.className)), ['sev sev-warn', 'sev sev-error'], 'badge classes');
  await panelLogs.locator('[data-testid=span-log]').nth(1).locator('[data-testid=log-expand]').click();
  const details = await panelLogs.locator('[data-testid=log-details]').innerText();
  expect(details.includes('payment.method') && details.includes('card') && details.includes('CardDeclined'), `attributes of the error line: ${details}`);
  await shot('trace-span-logs');
  // the Logs tab: every line in time order, the one without a span too
  await tab.click();
  await page.waitForURL(/tab=logs/);
  const lines = page.locator('[data-testid=trace-log-line]');
  await lines.first().waitFor();
  eq(await lines.locator('[data-testid=log-body]').allInnerTexts(), logsA.map((l) => l.body), 'the trace\'s lines in time order');
  eq(await lines.evaluateAll((els) => els.map((e) => e.dataset.spanId)), [ids.root, ids.orders, ids.validate, ids.validate, ''], 'their spans');
  expect((await lines.last().innerText()).includes('no span'), `the line without a span: ${await lines.last().innerText()}`);
  eq(await lines.locator('[data-testid=log-offset]').allInnerTexts(), ['+2ms', '+12ms', '+50ms', '+60ms', '+110ms'], 'times');
  await shot('trace-logs');
  // a line selects its span
  await lines.nth(1).click();
  await waitFor(async () => (await page.locator('[data-testid=panel-span-id]').innerText()) === ids.orders, 'the line to select its span');
  expect(await lines.nth(1).evaluate((e) => e.classList.contains('sel')), 'the selected span\'s line highlighted');
  await page.waitForURL((u) => u.searchParams.get('span') === ids.orders && u.searchParams.get('tab') === 'logs');
  // back on the waterfall, the span is selected
  await page.click('[data-testid=tab-waterfall]');
  await page.locator(`.wf-row.sel[data-span-id="${ids.orders}"]`).waitFor();
  await waitFor(() => !new URL(page.url()).searchParams.has('tab'), 'the tab to leave the URL', 5000);
  // the Logs tab links to the logs page for this trace, over its time range
  await page.click('[data-testid=tab-logs]');
  await page.click('[data-testid=trace-logs-search]');
  await page.waitForURL((u) => u.pathname === '/logs' && u.searchParams.get('traceId') === A && u.searchParams.has('start'));
  await waitFor(
    async () => JSON.stringify(await page.locator('[data-testid=logs-results-view][data-state=done] [data-testid=log-body]').allInnerTexts()) === JSON.stringify(logsA.map((l) => l.body).reverse()),
    "the trace's lines on the logs page, newest first",
    15000,
  );
});

await check('logs page: finds lines by service, severity, text and attribute; truncated; errors in place; a trace link opens the span', async () => {
  await goto('/logs');
  await page.locator('[data-testid=logs-form]').waitFor();
  eq(await page.locator('.topbar nav a.active').innerText(), 'Logs', 'active navigation entry');
  // the service field offers the services of /api/v1/services
  await page.waitForFunction((name) => [...document.querySelectorAll('#log-services option')].some((o) => o.value === name), svc('orders'));
  const view = page.locator('[data-testid=logs-results-view][data-state=done]');
  const shown = async () => ({
    bodies: await view.locator('[data-testid=log-body]').allInnerTexts(),
    severities: await view.locator('[data-testid=log-severity]').allInnerTexts(),
    services: await view.locator('[data-testid=log-service]').allInnerTexts(),
  });
  const expectLines = async (want, what) => {
    let last;
    await waitFor(async () => JSON.stringify((last = await shown()).bodies) === JSON.stringify(want.map((l) => l.body)), `${what}: ${want.map((l) => l.body).join(' | ')}`, 15000).catch((e) => {
      throw new Error(`${e.message}; shown: ${JSON.stringify(last)}`);
    });
    eq(last.services, want.map((l) => l.service), `${what}: services`);
    return last;
  };
  const byTimeDesc = (list) => [...list].sort((a, b) => (a.time < b.time ? 1 : -1));
  await page.locator('[data-testid=logs-service]').fill(svc('orders'));
  await page.locator('[data-testid=logs-attr-key]').fill('e2e.run');
  await page.locator('[data-testid=logs-attr-value]').fill(run);
  await page.click('[data-testid=logs-submit]');
  await page.waitForURL((u) => u.searchParams.get('service') === svc('orders'));
  eq(new URL(page.url()).searchParams.getAll('attr'), [`e2e.run=${run}`], 'attribute condition in the URL');
  const orders = byTimeDesc(logsA.filter((l) => l.service === svc('orders')));
  const all = await expectLines(orders, 'the orders lines, newest first');
  eq(all.severities, ['ERROR', 'WARN', 'DEBUG'], 'severities');
  eq((await page.locator('[data-testid=logs-count]').getAttribute('data-raw')), '3', 'line count');
  eq(await page.locator('[data-testid=logs-truncated]').count(), 0, 'not truncated');
  // at WARN and above
  await page.selectOption('[data-testid=logs-severity]', 'WARN');
  await page.click('[data-testid=logs-submit]');
  await page.waitForURL((u) => u.searchParams.get('minSeverity') === 'WARN');
  await expectLines(orders.filter((l) => l.severityNumber >= 13), 'WARN and above');
  // text in the body, in any case
  await page.locator('[data-testid=logs-text]').fill('DECLINED');
  await page.click('[data-testid=logs-submit]');
  await page.waitForURL((u) => u.searchParams.get('q') === 'DECLINED');
  await expectLines([logsA[3]], 'the body text');
  const row = view.locator('[data-testid=log-line]').first();
  eq(await row.getAttribute('data-level'), 'error', 'level of the line');
  await row.locator('[data-testid=log-expand]').click();
  const details = await row.locator('[data-testid=log-details]').innerText();
  expect(details.includes('exception.type') && details.includes('service.name') && details.includes(svc('orders')) && details.includes(ids.validate), `attributes, resource and ids: ${details}`);
  await shot('logs');
  // the trace link opens the trace at the line's span
  const link = row.locator('[data-testid=log-trace-link]');
  eq(await link.getAttribute('href'), `/trace/${A}?span=${ids.validate}`, 'trace link');
  await link.click();
  await page.waitForURL(new RegExp(`/trace/${A}\\?span=${ids.validate}`));
  await waitFor(async () => (await page.locator('[data-testid=panel-span-id]').innerText()) === ids.validate, 'the span selected in the trace');
  await page.locator('[data-testid=span-logs][data-count="2"]').waitFor();
  // a service that only sends logs, typed into the service field; its lines have no trace
  await goto(`/logs?attr=${tag}`);
  await page.locator('[data-testid=logs-service]').fill(BILLING);
  await page.click('[data-testid=logs-submit]');
  await page.waitForURL((u) => u.searchParams.get('service') === BILLING);
  const billing = await expectLines(byTimeDesc(logsBilling), 'the billing lines');
  eq(billing.severities, ['ERROR2', 'WARN', 'INFO'], 'severity 18 without a text shows as ERROR2');
  eq(await view.locator('[data-testid=log-trace-link]').count(), 0, 'no trace links without a trace');
  // the limit: truncated
  await page.locator('[data-testid=logs-limit]').fill('2');
  await page.click('[data-testid=logs-submit]');
  await page.waitForURL((u) => u.searchParams.get('limit') === '2');
  await expectLines(byTimeDesc(logsBilling).slice(0, 2), 'the newest two');
  await page.locator('[data-testid=logs-truncated]').waitFor();
  await shot('logs-truncated');
  // a limit the server refuses: its 400 and message in place of the results
  await page.locator('[data-testid=logs-limit]').fill('9999');
  await page.click('[data-testid=logs-submit]');
  const err = page.locator('[data-testid=logs-page] [data-testid=error]');
  await err.waitFor();
  const res = await fetch(`${BASE}/api/v1/logs?limit=9999`);
  const body = await res.json();
  eq(res.status, 400, 'status of the refused search');
  const text = await err.innerText();
  expect(text.includes('400') && text.includes(body.error), `error shown: ${text}\nAPI: ${body.error}`);
  await shot('logs-error');
  // a severity from a hand-edited link, likewise
  await goto(`/logs?minSeverity=loud`);
  await err.waitFor();
  expect(/400/.test(await err.innerText()) && /minSeverity/.test(await err.innerText()), `bad severity: ${await err.innerText()}`);
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
  // every node gets a health once the comparison period is loaded
  const orders = page.locator(`[data-testid=map-node][data-kind=service][data-name="${svc('orders')}"]`);
  await waitFor(async () => ['ok', 'warn', 'bad', 'unknown'].includes(await orders.getAttribute('data-health')), 'node health to be computed', 15000);
  const legend = await page.locator('[data-testid=health-legend]').innerText();
  expect(['healthy', 'degraded', 'unhealthy', 'no data'].every((w) => legend.includes(w)), `health legend: ${legend}`);
  await shot('map');
  // over the last 5 minutes the insights api's p99 is ~40 times that of the 5 minutes before: red;
  // its database answers as fast as before: green
  await goto('/map?lookback=5m');
  const insApi = page.locator(`[data-testid=map-node][data-kind=service][data-name="${INS.api}"]`);
  await waitFor(async () => (await insApi.getAttribute('data-health')) === 'bad', `${INS.api} to be unhealthy`, 15000);
  eq(await page.locator(`[data-testid=map-node][data-kind=database][data-name="${INS.db}"]`).getAttribute('data-health'), 'ok', 'health of the unchanged database');
  expect((await insApi.locator('title').textContent()).includes('p99'), 'the reason names p99');
  await shot('map-health');
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
  // the duration chart has a log axis and a legend with the latest values, without hovering
  const legend = page.locator('[data-testid=red-charts] .red-chart').nth(2).locator('.u-legend');
  await legend.waitFor();
  const legendText = await legend.innerText();
  expect(['p50', 'p90', 'p99'].every((q) => legendText.includes(q)) && /\d/.test(legendText), `duration legend: ${legendText}`);
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
  // changed paths are those whose own (self) time moved: validate payment (+25 ms), the orders span
  // around it (its children now cover 8 ms more of it) and the stock call that lost its child (+8 ms);
  // their ancestors only got slower because of them and stay unchanged
  eq([await raw('compare-added'), await raw('compare-removed'), await raw('compare-changed')], [1, 1, 3], 'added, removed, changed');
  await page.locator('[data-testid=compare-row]').first().waitFor();
  const rows = await page.$$eval('[data-testid=compare-row]', (els) =>
    els.map((e) => [e.dataset.status, e.querySelector('.cmp-name').textContent, Number(e.dataset.selfDelta), e.querySelector('[data-testid=compare-self-delta]').textContent]),
  );
  const find = (text) => rows.find((r) => r[1].includes(text));
  eq(
    ['INSERT audit', 'e2e-inventory', 'validate payment', 'INSERT orders', 'GET /checkout'].map((t) => find(t)?.[0]),
    ['added', 'removed', 'changed', 'same', 'same'],
    'row statuses',
  );
  eq(find('validate payment')[2], 25e6, 'validate payment self-time delta (ns)');
  eq(find('validate payment')[3], '+25ms', 'validate payment self-time delta shown');
  eq(find('e2e-orders POST /api/orders')?.[3], '−8ms', 'orders self-time delta shown');
  const origin = await page.locator('[data-testid=compare-origin] .origin-item').first().innerText();
  expect(origin.includes('validate payment') && origin.includes('+25ms'), `largest own-time change first: ${origin}`);
  await shot('compare');
  await goto(`/compare/${A}/${B}`);
  await page.locator('[data-testid=compare-summary]').waitFor();
  eq([await raw('compare-added'), await raw('compare-removed')], [spansB.length, spansA.length], 'unrelated traces share nothing');
});

// ---- diagnosis pages ----

await check('insights: the slowed-down api is the first finding, its caller affected, rendered as the API answers', async () => {
  // the API first, unfiltered: a latency finding naming the api service comes first, and its frontend caller,
  // slower only because of it, is listed among the operations it explains rather than as a finding of its own
  const q = '/api/v1/insights?lookback=2m';
  const describe = (r) => r.findings.map((f) => `${f.kind} ${f.service} ${f.operation} (${f.score}; affected: ${f.affected.map((a) => a.service).join(', ')})`).join('; ');
  let last = null;
  let ans;
  try {
    ans = await waitFor(async () => {
      const r = (last = await api(q));
      const f = r.findings[0];
      return f && f.kind === 'latency' && f.service === INS.api && f.affected.some((a) => a.service === INS.frontend) ? r : null;
    }, `a first latency finding for ${INS.api} with ${INS.frontend} affected`, 120000);
  } catch (e) {
    throw new Error(`${e.message}; last answer of ${q}: ${last ? describe(last) : 'none'}`);
  }
  await goto('/insights');
  const card = page.locator('[data-testid=finding]').first();
  await card.waitFor();
  eq([await card.getAttribute('data-kind'), await card.getAttribute('data-service')], [ans.findings[0].kind, ans.findings[0].service], 'first card');
  const affected = await card.locator('[data-testid=affected]').allInnerTexts();
  expect(affected.some((a) => a.includes(INS.frontend)), `the frontend among the affected operations: ${affected}`);
  // the page reloads on its own and figures move with time: compare with an answer of the same moment
  let f;
  await waitFor(async () => {
    await page.click('[data-testid=insights-refresh]');
    await page.locator('[data-testid=insights-refresh]:not([disabled])').waitFor();
    const now = (await api(q)).findings;
    if (now[0]?.service !== INS.api) return false;
    const shown = await page.$$eval('[data-testid=finding]', (els) =>
      els.map((e) => `${e.dataset.kind}|${e.dataset.service}|${e.dataset.operation}|${e.querySelector('[data-testid=finding-summary]').textContent.trim()}`),
    );
    f = now[0];
    return JSON.stringify(shown) === JSON.stringify(now.map((x) => `${x.kind}|${x.service}|${x.operation}|${x.summary.trim()}`));
  }, 'the rendered findings (kind, service, operation, summary) to equal the API answer', 30000);
  eq(await card.locator('[data-testid=finding-kind]').innerText(), 'LATENCY', 'kind badge');
  expect(Math.abs(Number(await card.locator('[data-testid=finding-score]').getAttribute('data-raw')) - f.score) < 10, 'score shown');
  const since = card.locator('[data-testid=finding-since]');
  expect(/ago|just now/.test(await since.innerText()) && /\d{4}-\d\d-\d\d/.test(await since.getAttribute('title')), `onset: ${await since.innerText()}`);
  // the metric's row comes first and shows baseline and current figures
  const first = card.locator('[data-testid=finding-figures] tbody tr').first();
  eq(await first.getAttribute('data-key'), f.metric, 'first figure is the metric');
  const cells = await first.locator('td').allInnerTexts();
  expect(cells[0] !== '–' && cells[1] !== '–', `baseline and current of ${f.metric}: ${cells}`);
  expect(await card.locator('[data-testid=finding-trend] .trend-line').getAttribute('d'), 'sparkline drawn');
  const ex = card.locator('[data-testid=exemplar]');
  eq(await ex.count(), Math.min(5, f.exemplars.traces.length), 'exemplar links');
  if (f.exemplars.traces.length) eq(await ex.first().getAttribute('href'), `/trace/${f.exemplars.traces[0]}`, 'first exemplar link');
  const cmp = card.locator('[data-testid=compare-link]');
  if (f.exemplars.baseline && f.exemplars.traces.length) eq(await cmp.getAttribute('href'), `/compare/${f.exemplars.traces[0]}/${f.exemplars.baseline}`, 'compare link');
  else eq(await cmp.count(), 0, 'no compare link without a baseline trace');
  await shot('insights');
  // filtered by the api service, its finding stays first
  await goto(`/insights?service=${encodeURIComponent(INS.api)}`);
  await page.locator(`[data-testid=finding][data-service="${INS.api}"][data-kind=latency]`).first().waitFor({ timeout: 30000 });
  eq(await page.locator('[data-testid=finding]').first().getAttribute('data-service'), INS.api, 'first card filtered by service');
  await shot('insights-service');
  // an exemplar opens its trace
  if (f.exemplars.traces.length) {
    await page.locator('[data-testid=finding] [data-testid=exemplar]').first().click();
    await page.waitForURL(/\/trace\/[0-9a-f]{32}/);
    await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  }
});

await check('insights: empty state says nothing is unusual and how much was analyzed', async () => {
  const nobody = `e2e-nobody-${run}`;
  const r = await api(`/api/v1/insights?service=${nobody}`);
  eq(r.findings.length, 0, 'no findings for an unknown service');
  await goto(`/insights?service=${nobody}`);
  const empty = page.locator('[data-testid=empty]');
  await empty.waitFor();
  const text = await empty.innerText();
  expect(/Nothing unusual in the last 2 minutes/.test(text), `empty state: ${text}`);
  eq(Number(await page.locator('[data-testid=insights-analyzed]').getAttribute('data-operations')), r.analyzed.operations, 'operations analyzed');
  expect(text.includes(`${r.analyzed.operations.toLocaleString('en-US')} operation`), `operation count in text: ${text}`);
});

await check('breakdown: operations and attributes of the matching traces, attribute adds a condition', async () => {
  const cond = `e2e.insights=${run}`;
  const params = `service=${encodeURIComponent(INS.api)}&tag=${encodeURIComponent(cond)}&lookback=1h`;
  const b = await api(`/api/v1/breakdown?${params}`);
  expect(b.traces > 0 && b.operations.length > 0, `breakdown answer: ${b.traces} traces, ${b.operations.length} operations`);
  await goto(`/search?${params}`);
  await page.locator('[data-testid=results]').waitFor();
  await page.click('[data-testid=view-breakdown]');
  await page.waitForURL(/view=breakdown/);
  const panel = page.locator('[data-testid=breakdown]');
  await panel.waitFor({ timeout: 30000 });
  eq(Number(await panel.getAttribute('data-traces')), b.traces, 'traces analysed');
  const ops = await page.$$eval('[data-testid=breakdown-op]', (els) => els.map((e) => `${e.dataset.service}|${e.dataset.operation}`));
  const bySelf = [...b.operations].sort((x, y) => y.selfTimeShare - x.selfTimeShare).map((o) => `${o.service}|${o.operation}`);
  eq(ops, bySelf, 'operations by self-time share');
  // the api's own work dominates its self time
  eq(ops[0], `${INS.api}|GET /items`, 'largest self-time share');
  const bar = Number(await page.locator('[data-testid=breakdown-op]').first().locator('.share-self').getAttribute('data-raw'));
  expect(Math.abs(bar - Math.max(...b.operations.map((o) => o.selfTimeShare))) < 1e-9, 'self-time bar value');
  const attrs = page.locator('[data-testid=breakdown-attr]');
  eq(await attrs.count(), b.attributes.length, 'attribute rows');
  await shot('search-breakdown');
  if (b.attributes.length) {
    const a = b.attributes[0];
    eq([await attrs.first().getAttribute('data-key'), await attrs.first().getAttribute('data-value')], [a.key, a.value], 'first attribute');
    await attrs.first().locator('[data-testid=breakdown-attr-add]').click();
    await waitFor(() => new URL(page.url()).searchParams.getAll('tag').length === 2, 'the attribute to be added to the search', 5000);
    const tags = new URL(page.url()).searchParams.getAll('tag');
    eq(tags[1], `${a.key}=${a.value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')}`, 'added condition');
    expect(!new URL(page.url()).searchParams.has('view'), 'back to the trace list');
    await page.locator('[data-testid=results], [data-testid=empty]').first().waitFor();
    eq(await page.locator('[data-testid=tag]').count(), 2, 'conditions in the form');
  } else {
    await page.locator('[data-testid=breakdown-no-attributes]').waitFor();
  }
});

/** A Go-style duration ("316.227767ms", "1.5s") in nanoseconds, rounded as the server rounds. */
function goNanos(text) {
  const unit = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  for (const m of text.matchAll(/([\d.]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return Math.round(total);
}

await check('search heatmap: every matching span as /api/v1/heatmap counts them; a box over the slow cells finds their traces', async () => {
  const cond = `service=${encodeURIComponent(INS.api)}&tag=${encodeURIComponent(`e2e.insights=${run}`)}`;
  await goto(`/search?${cond}&lookback=1h`);
  const hm = page.locator('[data-testid=heatmap][data-state=done]');
  await hm.waitFor({ timeout: 30000 });
  // the same query: the fixture lies well inside the hour, so the total does not depend on the moment
  const same = await api(`/api/v1/heatmap?${cond}&lookback=1h`);
  expect(same.total > 0, 'the API counts the fixture spans');
  eq(Number(await hm.getAttribute('data-total')), same.total, 'total spans');
  expect((await page.locator('[data-testid=heatmap-total]').innerText()).startsWith(`${same.total.toLocaleString('en-US')} matching span`), 'total shown');
  // the exact grid the page drew: the same conditions over the page's absolute range
  const [S, E] = [await hm.getAttribute('data-start'), await hm.getAttribute('data-end')];
  const grid = await api(`/api/v1/heatmap?${cond}&start=${S}&end=${E}&buckets=60`);
  eq([Number(await hm.getAttribute('data-total')), Number(await hm.getAttribute('data-max'))], [grid.total, grid.maxCount], 'total and fullest cell of the drawn grid');
  const canvas = page.locator('[data-testid=heatmap-canvas]');
  const L = await canvas.evaluate((c) => {
    const d = c.dataset;
    const r = c.getBoundingClientRect();
    return { left: r.left, top: r.top, x0: +d.x0, y0: +d.y0, w: +d.plotWidth, h: +d.plotHeight, cols: +d.cols, lo: +d.rowLo, hi: +d.rowHi };
  });
  eq(L.cols, grid.counts.length, 'columns');
  const at = (t, d) => ({ x: L.left + L.x0 + ((t + 0.5) * L.w) / L.cols, y: L.top + L.y0 + L.h - ((d - L.lo + 0.5) * L.h) / (L.hi - L.lo + 1) });
  // cells are painted: the slow cells' pixels are not blank
  const bounds = grid.durationBoundsNano;
  const slow = bounds.findIndex((b) => b >= 400e6); // (316 ms, 562 ms]: the slowed-down api spans, 363-443 ms
  const slowCols = grid.counts.map((c, t) => (c[slow] > 0 ? t : -1)).filter((t) => t >= 0);
  expect(slowCols.length > 0 && slow >= L.lo && slow <= L.hi, `slow cells in row ${slow} (rows ${L.lo}-${L.hi})`);
  for (const d of [slow - 1, slow + 1]) eq(grid.counts.reduce((n, c) => n + c[d], 0), 0, `nothing in the rows next to the slow one (${d})`);
  const painted = await canvas.evaluate((c, p) => c.getContext('2d').getImageData(Math.round(p.x * (c.width / c.clientWidth)), Math.round(p.y * (c.height / c.clientHeight)), 1, 1).data[3], {
    x: at(slowCols[0], slow).x - L.left,
    y: at(slowCols[0], slow).y - L.top,
  });
  expect(painted > 200, `slow cell painted (alpha ${painted})`);
  // hovering a cell shows its time range, duration range and count
  const first = at(slowCols[0], slow);
  await page.mouse.move(first.x, first.y);
  const tip = page.locator('[data-testid=heatmap-tip][data-kind=cell]');
  await tip.waitFor();
  eq(Number(await tip.getAttribute('data-count')), grid.counts[slowCols[0]][slow], 'count of the hovered cell');
  const tipText = await tip.innerText();
  expect(tipText.includes('316ms – 562ms') && /\d\d:\d\d:\d\d – \d\d:\d\d:\d\d/.test(tipText), `tooltip: ${tipText}`);
  await shot('search-heatmap');
  // drag a box from one column before the first slow cell to the last one, over the slow row only
  const t0 = Math.max(0, slowCols[0] - 1);
  const t1 = slowCols[slowCols.length - 1];
  const want = grid.counts.slice(t0, t1 + 1).reduce((n, c) => n + c[slow], 0);
  const a = at(t0, slow);
  const b = at(t1, slow);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 6 });
  const boxTip = page.locator('[data-testid=heatmap-tip][data-kind=box]');
  await boxTip.waitFor();
  eq(Number(await boxTip.getAttribute('data-count')), want, 'spans in the box while dragging');
  await page.locator('[data-testid=heatmap-box]').waitFor();
  await shot('search-heatmap-box');
  await page.mouse.up();
  await page.waitForURL(/minDuration=/);
  const u = new URL(page.url()).searchParams;
  const step = BigInt(grid.stepNano);
  eq(
    [u.get('start'), u.get('end'), u.has('lookback')],
    [(BigInt(S) + BigInt(t0) * step).toString(), (t1 === L.cols - 1 ? BigInt(E) : BigInt(S) + BigInt(t1 + 1) * step - 1n).toString(), false],
    'start, end of the box (unix ns, inclusive) and no lookback',
  );
  const [minNs, maxNs] = [goNanos(u.get('minDuration')), goNanos(u.get('maxDuration'))];
  expect(minNs > bounds[slow - 1] - 2 && minNs <= bounds[slow - 1] + 1 && Math.abs(maxNs - bounds[slow]) <= 1, `duration bounds ${u.get('minDuration')} – ${u.get('maxDuration')} vs bucket ${bounds[slow - 1]} – ${bounds[slow]}`);
  eq([u.get('service'), u.getAll('tag')], [INS.api, [`e2e.insights=${run}`]], 'conditions kept');
  // the form shows the box; the heatmap zooms into it and holds exactly its spans
  eq([await page.locator('[data-testid=min-duration]').inputValue(), await page.locator('[data-testid=max-duration]').inputValue()], [u.get('minDuration'), u.get('maxDuration')], 'duration fields');
  const zoomed = page.locator(`[data-testid=heatmap][data-state=done][data-start="${u.get('start')}"]`);
  await zoomed.waitFor({ timeout: 30000 });
  eq(Number(await zoomed.getAttribute('data-total')), want, 'spans in the zoomed heatmap');
  // the results are the traces with a span in the box, as the API finds them, and nothing else
  const r = await api(`/api/v1/search?${u}`);
  const from = BigInt(u.get('start'));
  const to = BigInt(u.get('end'));
  await waitFor(async () => {
    const shown = await page.$$eval('[data-testid=result]', (els) => els.map((e) => e.dataset.traceId));
    return JSON.stringify(shown) === JSON.stringify(r.traces.map((t) => t.traceId));
  }, 'the results of the box search', 15000);
  eq(r.traces.length, Math.min(20, want), 'one trace per slow span in the box (up to the limit)');
  for (const t of r.traces) {
    expect(t.matchedSpans.length > 0, `matched spans of ${t.traceId}`);
    for (const m of t.matchedSpans) {
      const st = BigInt(m.startTimeUnixNano);
      expect(st >= from && st <= to && m.durationNano >= minNs && m.durationNano <= maxNs && m.service === INS.api, `span ${m.spanId} of ${t.traceId} outside the box: ${m.startTimeUnixNano}, ${m.durationNano} ns`);
    }
    expect(t.durationNano >= minNs, `trace ${t.traceId} shorter than the box: ${t.durationNano}`);
  }
  await shot('search-heatmap-selected');
});

await check('search: "Slowest" lists the longest traces of the range as /api/v1/search?order=duration does', async () => {
  const cond = `service=${encodeURIComponent(INS.api)}&tag=${encodeURIComponent(`e2e.insights=${run}`)}&lookback=1h`;
  await goto(`/search?${cond}`);
  await page.locator('[data-testid=result]').first().waitFor();
  eq(await page.locator('[data-testid=order-newest]').getAttribute('aria-pressed'), 'true', 'newest by default');
  const ids = () => page.$$eval('[data-testid=result]', (els) => els.map((e) => e.dataset.traceId));
  await page.click('[data-testid=order-slowest]');
  await page.waitForURL(/order=duration/);
  const r = await api(`/api/v1/search?${cond}&order=duration`);
  const want = r.traces.map((t) => t.traceId);
  expect(want.length === 20 && r.limitHit, `20 of more traces: ${want.length}, limitHit ${r.limitHit}`);
  await waitFor(async () => JSON.stringify(await ids()) === JSON.stringify(want), `the list to be the API's slowest traces in its order`, 15000);
  const durations = await page.$$eval('[data-testid=result]', (els) => els.map((e) => Number(e.dataset.duration)));
  eq(durations, r.traces.map((t) => t.durationNano), 'durations');
  expect(durations.every((d, i) => i === 0 || durations[i - 1] >= d), `descending: ${durations}`);
  // only the slowed-down traces (~400 ms) are among the 20 longest of the hour; the newest-first search shows others
  expect(durations.every((d) => d > 300e6), `all slow: ${durations}`);
  eq(await page.locator('[data-testid=order-slowest]').getAttribute('aria-pressed'), 'true', 'slowest pressed');
  eq(await page.locator('[data-testid=sort]').inputValue(), 'longest', 'the list keeps the longest-first order');
  expect((await page.locator('[data-testid=duration]').first().innerText()).trim() !== '', 'duration shown');
  await shot('search-slowest');
  // the order is part of the shared URL
  await page.reload();
  await waitFor(async () => JSON.stringify(await ids()) === JSON.stringify(want), 'the same list after a reload', 15000);
  // a new search from the form keeps it
  await page.click('[data-testid=search-submit]');
  await page.waitForURL(/order=duration/);
  await page.click('[data-testid=order-newest]');
  await waitFor(() => !new URL(page.url()).searchParams.has('order'), 'order to leave the URL', 5000);
  const recent = (await api(`/api/v1/search?${cond}`)).traces.map((t) => t.traceId);
  await waitFor(async () => JSON.stringify(await ids()) === JSON.stringify(recent), 'the newest traces again', 15000);
});

await check('live: spans appear as they arrive, pause counts, filters reconnect', async () => {
  const live = `e2e-live-${run}`;
  await goto(`/live?service=${live}`);
  await page.locator('[data-testid=live-state][data-state=open]').waitFor({ timeout: 20000 });
  const trace = hex(16);
  const root = id();
  const t = nowNanos();
  const mk = (name, extra = {}) => ({ service: live, traceId: trace, spanId: id(), parentSpanId: root, name, kind: 1, start: t, end: t + 5n * MS, attributes: { 'e2e.live': run }, ...extra });
  await sendOtlp(args.otlp, tracesData([{ service: live, traceId: trace, spanId: root, name: 'live root', kind: 2, start: t, end: t + 20n * MS, attributes: { 'e2e.live': run } }, mk('live one'), mk('live two')]));
  const rows = page.locator(`[data-testid=live-row][data-service="${live}"]`);
  await waitFor(async () => (await rows.count()) === 3, 'three live rows', 20000);
  const names = await rows.allInnerTexts();
  expect(['live root', 'live one', 'live two'].every((n) => names.some((x) => x.includes(n))), `rows: ${names}`);
  await shot('live');
  // paused: the list holds still and counts what arrives
  await page.click('[data-testid=live-pause]');
  await sendOtlp(args.otlp, tracesData([mk('live three'), mk('live four')]));
  await waitFor(async () => (await page.locator('[data-testid=live-paused]').getAttribute('data-raw')) === '2', 'the paused banner to count 2 spans', 20000);
  eq(await rows.count(), 3, 'rows while paused');
  expect((await page.locator('[data-testid=live-paused]').innerText()).includes('2 new spans'), 'paused count shown');
  await page.click('[data-testid=live-pause]');
  await waitFor(async () => (await rows.count()) === 5, 'five rows after resuming', 5000);
  expect((await rows.first().innerText()).match(/live (three|four)/), `newest first: ${await rows.first().innerText()}`);
  // a filter change reconnects with the new filter
  await page.selectOption('[data-testid=live-status]', 'error');
  await page.waitForURL(/status=error/);
  await page.locator('[data-testid=live-state][data-state=open]').waitFor({ timeout: 20000 });
  await waitFor(async () => (await rows.count()) === 0, 'the list to restart', 5000);
  await sendOtlp(args.otlp, tracesData([mk('live ok'), mk('live failed', { status: { code: 2, message: 'boom' } })]));
  await waitFor(async () => (await rows.count()) >= 1, 'the error span', 20000);
  eq((await rows.allInnerTexts()).map((x) => x.includes('live failed')), [true], 'only the error span');
  // a row opens its trace
  await rows.first().click();
  await page.waitForURL(new RegExp(`/trace/${trace}`));
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
});

await check('alerts: the page shows the rules, history and notifiers the API returns', async () => {
  await goto('/alerts');
  await page.locator('[data-testid=alert-rules], [data-testid=alerts-page] [data-testid=empty], [data-testid=error]').first().waitFor();
  // rules may change state between two reads: compare until the page and a fresh answer agree
  await waitFor(async () => {
    const a = await api('/api/v1/alerts');
    const shown = await page.$$eval('[data-testid=alert-rule]', (els) => els.map((e) => `${e.dataset.name}|${e.dataset.state}`).sort());
    const want = a.rules.map((r) => `${r.name}|${r.state}`).sort();
    if (JSON.stringify(shown) !== JSON.stringify(want)) {
      await page.click('[data-testid=alerts-page] .toolbar button');
      return false;
    }
    const notifiers = await page.locator('[data-testid=notifier]').count();
    const history = await page.locator('[data-testid=alert-transition]').count();
    if (notifiers !== a.notifiers.length || history !== a.history.length) return false;
    if (a.rules.length === 0) expect((await page.locator('[data-testid=alerts-page] [data-testid=empty]').innerText()).includes('No alerting rules'), 'empty rules text');
    const firing = a.rules.filter((r) => r.state === 'firing').length;
    eq((await page.locator('[data-testid=alerts-firing]').innerText()).trim(), `${firing} firing`, 'firing count');
    for (const r of a.rules) {
      const row = page.locator(`[data-testid=alert-rule][data-name="${r.name.replace(/"/g, '\\"')}"]`);
      expect((await row.locator('.state-pill').innerText()).trim() === r.state, `state pill of ${r.name}`);
      eq(await row.locator('[data-testid=alert-exemplar]').count(), Math.min(3, (r.exemplars ?? []).length), `exemplar links of ${r.name}`);
    }
    return true;
  }, 'the alerts page to match /api/v1/alerts', 30000);
  await shot('alerts');
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
