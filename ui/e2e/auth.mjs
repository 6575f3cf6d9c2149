#!/usr/bin/env node
// End-to-end test of the web UI against a Tracewell that requires bearer tokens (`--auth-tokens`).
//
//   node e2e/auth.mjs --base http://127.0.0.1:16686 --otlp http://127.0.0.1:4318 \
//     --write-token <a write token> --read-token <a read token of the same tenant>
//
// Sends a trace with the write token, then checks in Chromium: the token form appears on the first 401, a
// wrong token is refused with the server's message, the read token shows the trace in search and on the trace
// page and opens the live tail, and signing out brings the form back. Screenshots go to
// target/ui-screenshots/auth-*.png. Exits non-zero, naming each failed check, when anything is wrong.

import { mkdirSync } from 'node:fs';
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
const WRITE = String(args['write-token'] ?? '');
const READ = String(args['read-token'] ?? '');
if (!WRITE || !READ) {
  console.error('--write-token and --read-token are required');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

// ---- fixture: one trace of two spans ----

const SERVICE = `e2e-auth-${hex(3)}`;
const TRACE = hex(16);
const root = hex(8);
const t0 = nowNanos() - 30_000n * MS;
const spans = [
  { service: SERVICE, traceId: TRACE, spanId: root, name: 'GET /account', kind: 2, start: t0, end: t0 + 40n * MS, attributes: { 'http.route': '/account' } },
  { service: SERVICE, traceId: TRACE, spanId: hex(8), parentSpanId: root, name: 'SELECT accounts', kind: 3, start: t0 + 5n * MS, end: t0 + 25n * MS, attributes: { 'db.system': 'postgresql' } },
];

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
      await page?.screenshot({ path: `${SHOTS}/failure-auth-${name.replace(/[^a-z0-9]+/gi, '-')}.png` });
    } catch {
      /* ignore */
    }
  }
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(name) {
  await page.screenshot({ path: `${SHOTS}/auth-${name}.png`, fullPage: false });
}

async function goto(path) {
  await page.goto(BASE + path, { waitUntil: 'domcontentloaded' });
}

async function enterToken(value) {
  const form = page.locator('[data-testid=token-form]');
  await form.waitFor();
  await form.locator('[data-testid=token-input]').fill(value);
  await Promise.all([page.waitForEvent('load'), form.locator('[data-testid=token-save]').click()]);
}

// ---- main ----

console.log(`Tracewell UI authentication test against ${BASE} (OTLP ${args.otlp})`);

await check('the API refuses requests without a token', async () => {
  const res = await fetch(`${BASE}/api/v1/services`);
  expect(res.status === 401, `status ${res.status}`);
  expect((res.headers.get('www-authenticate') ?? '').startsWith('Bearer'), 'WWW-Authenticate: Bearer');
});

await sendOtlp(args.otlp, tracesData(spans), { token: WRITE });
console.log(`sent trace ${TRACE} (${spans.length} spans) of ${SERVICE} with the write token`);

const browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS });
page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));

await check('the token form appears when the server answers 401', async () => {
  await goto(`/search?service=${SERVICE}&lookback=1h`);
  const form = page.locator('[data-testid=token-form]');
  await form.waitFor();
  const text = await form.innerText();
  expect(text.includes('requires a token'), `form text: ${text}`);
  expect((await form.locator('[data-testid=token-refused]').count()) === 0, 'no refusal before a token was given');
  expect(await form.locator('[data-testid=token-save]').isDisabled(), 'nothing to save yet');
  await shot('token-form');
});

await check('a wrong token is refused with the server message', async () => {
  await enterToken('wrong-token-0000000000');
  const refused = page.locator('[data-testid=token-refused]');
  await refused.waitFor();
  const text = await refused.innerText();
  expect(text.includes('invalid token'), `refusal: ${text}`);
  await shot('token-refused');
});

await check('the read token shows the tenant data: search, trace page', async () => {
  await enterToken(READ);
  expect((await page.evaluate(() => localStorage.getItem('tracewell.token'))) === READ, 'token kept in localStorage');
  const row = page.locator(`[data-testid=result][data-trace-id="${TRACE}"]`);
  await row.waitFor({ timeout: 30000 });
  expect((await page.locator('[data-testid=token-form]').count()) === 0, 'no token form once the token is accepted');
  expect((await page.locator('.tenant').count()) === 0, 'the token decides the tenant: no tenant field');
  await page.locator('[data-testid=forget-token]').waitFor();
  await shot('search');
  await goto(`/trace/${TRACE}`);
  await page.locator('[data-testid=waterfall] .wf-row').first().waitFor();
  const count = await page.locator('[data-testid=stat-spans]').getAttribute('data-raw');
  expect(count === String(spans.length), `${count} spans on the trace page`);
  await shot('trace');
});

await check('the live tail connects with the token', async () => {
  await goto('/live');
  await page.locator('[data-testid=live-state][data-state=open]').waitFor({ timeout: 15000 });
});

await check('signing out forgets the token and the form comes back', async () => {
  await goto('/search');
  await Promise.all([page.waitForEvent('load'), page.click('[data-testid=forget-token]')]);
  await page.locator('[data-testid=token-form]').waitFor();
  expect((await page.evaluate(() => localStorage.getItem('tracewell.token'))) === null, 'token removed');
});

await check('no uncaught errors in the page', async () => {
  expect(pageErrors.length === 0, `page errors: ${JSON.stringify(pageErrors)}`);
});

await browser.close();
console.log(`\n${passed} passed, ${failures.length} failed; screenshots in ${SHOTS}`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f.name}: ${f.error.message}`);
  process.exit(1);
}
