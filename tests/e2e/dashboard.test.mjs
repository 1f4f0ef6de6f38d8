// The web dashboard at /ui in a real browser (Debian's chromium driven by playwright-core)
// against a real `smmf serve` on the tiny models: models listed, stop and start reflected in the
// API, a chart that updates, the playground, a trace opened from the calls list, feedback sent.
// Screenshots go to $SMMF_ARTIFACTS_DIR (default build/test-artifacts/dashboard).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, tomlModel, getJson, callJson, REPO } from '../integration/lib/server.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.SMMF_ARTIFACTS_DIR || path.join(REPO, 'build/test-artifacts/dashboard');

let srv;
let browser;
let page;
const pageErrors = [];

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (make deps installs it)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smmf-ui-'));
  srv = await startServer({
    config: (process.env.NO_OBS ? "" : `[observability]\ncapture = "full"\ntrace_dir = "${dir}/traces"\nfeedback_db = "${dir}/feedback.db"\n\n`) +
            tomlModel({ name: 'tiny-chat' }) + tomlModel({ name: 'tiny-embed', type: 'embedding' }),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a sandbox-less container, and on a machine with no outside network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('GET /ui redirects to /ui/, which serves the page with a strict CSP; unknown files are 404', async () => {
  const r = await fetch(srv.url('/ui'), { redirect: 'manual' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.get('location'), '/ui/');
  const index = await fetch(srv.url('/ui/'));
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  assert.match(await index.text(), /<title>SMMF dashboard<\/title>/);
  const js = await fetch(srv.url('/ui/app.js'));
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const missing = await fetch(srv.url('/ui/nope.js'));
  assert.equal(missing.status, 404);
  assert.ok((await missing.json()).error.message);
});

test('the dashboard lists the models and their instances', async () => {
  await page.goto(srv.url('/ui/'));
  await page.locator('#models tbody tr[data-model="tiny-chat"]').waitFor();
  await page.locator('#models tbody tr[data-model="tiny-embed"]').waitFor();
  const chatRow = page.locator('#models tbody tr[data-model="tiny-chat"]');
  await page.waitForFunction(() =>
    document.querySelector('#models tr[data-model="tiny-chat"] td:nth-child(4)')?.textContent === 'running');
  assert.match(await chatRow.textContent(), /llm.*llama\.cpp.*running.*1\/1/);
  assert.equal(await page.locator('#instances tbody tr').count(), 2);
  assert.match(await page.locator('#server-status').textContent(), /2 model\(s\), 2 healthy/);
  await shot('01-overview');
});

test('stop and start a model from the dashboard; the API reflects it', async () => {
  const row = () => page.locator('#models tbody tr[data-model="tiny-embed"]');
  await row().locator('button.stop').click();
  await page.waitForFunction(() =>
    document.querySelector('#models tr[data-model="tiny-embed"] td:nth-child(4)')?.textContent === 'stopped',
  null, { timeout: 30000 });
  const models = await getJson(srv, '/v1/models');
  assert.deepEqual(models.body.data.map((m) => m.id), ['tiny-chat']);
  const stopped = await callJson(srv, '/v1/embeddings', { model: 'tiny-embed', input: 'x' });
  assert.equal(stopped.status, 503);  // known but stopped: unavailable, not unknown
  assert.ok(stopped.body.error.message);
  await shot('02-stopped');

  await row().locator('button.start').click();
  await page.waitForFunction(() =>
    document.querySelector('#models tr[data-model="tiny-embed"] td:nth-child(4)')?.textContent === 'running',
  null, { timeout: 30000 });
  const back = await getJson(srv, '/v1/models');
  assert.deepEqual(back.body.data.map((m) => m.id).sort(), ['tiny-chat', 'tiny-embed']);
  const r = await callJson(srv, '/v1/embeddings', { model: 'tiny-embed', input: 'x' });
  assert.equal(r.status, 200);
});

test('the live charts update as requests are made', async () => {
  const samplesOf = (id) => page.locator(id).getAttribute('data-samples').then((v) => Number(v || 0));
  const before = await samplesOf('#chart-rps');
  // Load for a few sampling periods, so at least one period sees requests.
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    await callJson(srv, '/v1/chat/completions', {
      model: 'tiny-chat', max_tokens: 4, temperature: 0, messages: [{ role: 'user', content: 'hi' }] });
  }
  await page.waitForFunction((n) => Number(document.querySelector('#chart-rps').dataset.samples) > n + 1, before,
                             { timeout: 15000 });
  // Some period saw requests: the request rate, the token rate and the p50 latency rose above 0.
  const maxOf = (id) => page.evaluate((sel) => JSON.parse(document.querySelector(sel).dataset.max), id);
  assert.ok((await maxOf('#chart-rps'))[0] > 0, 'requests/s never rose above 0');
  assert.ok((await maxOf('#chart-tps'))[0] > 0, 'tokens/s never rose above 0');
  const latency = await maxOf('#chart-latency');
  assert.ok(latency[0] > 0 && latency[2] >= latency[0], `latency p50/p99: ${latency}`);
  assert.equal(await page.locator('#metrics-note').textContent(), '');
  await shot('03-charts');
});

test('the playground streams a reply and links its trace; the trace opens and takes feedback', async () => {
  await page.goto(srv.url('/ui/#playground'));
  await page.locator('#pg-model option[value="tiny-chat"]').waitFor({ state: 'attached' });
  await page.selectOption('#pg-model', 'tiny-chat');
  await page.fill('#pg-user', 'Tell me a story about a lighthouse.');
  await page.fill('#pg-temperature', '0');
  await page.fill('#pg-max-tokens', '16');
  await page.click('#pg-send');
  await page.locator('#pg-trace-link').waitFor({ timeout: 30000 });
  const output = await page.locator('#pg-output').textContent();
  assert.ok(output.length > 0);
  assert.match(await page.locator('#pg-meta').textContent(), /finish: (stop|length).*tokens \d+ in \/ \d+ out/);
  await shot('04-playground');

  await page.click('#pg-trace-link');
  await page.locator('#trace:not([hidden])').waitFor({ timeout: 15000 });
  const traceId = await page.locator('#trace').getAttribute('data-trace');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  // The span tree shows the API request and the engine's work under it.
  assert.ok(await page.locator('#trace-spans .span-row').count() >= 2);
  assert.match(await page.locator('#trace-input').textContent(), /lighthouse/);
  assert.equal((await page.locator('#trace-output').textContent()).includes(output.slice(0, 8)), true);

  await page.fill('#feedback-comment', 'nice story');
  await page.click('#feedback-form button[data-thumb="up"]');
  await page.waitForFunction(() => /nice story/.test(document.querySelector('#trace-feedback').textContent),
                             null, { timeout: 15000 });
  await page.selectOption('#feedback-score', '4');
  await page.click('#feedback-form button[type="submit"]');
  await page.waitForFunction(() => /^4/m.test(
    [...document.querySelectorAll('#trace-feedback li')].map((l) => l.textContent).join('\n')), null, { timeout: 15000 });
  await shot('05-trace-feedback');

  // The API agrees: the trace carries both feedback entries.
  const t = await getJson(srv, `/api/v1/traces/${traceId}`);
  assert.equal(t.status, 200);
  assert.equal(t.body.feedback.length, 2);
  assert.ok(t.body.feedback.some((f) => f.comment === 'nice story'));

  // The calls list shows the call too.
  await page.goto(srv.url('/ui/#calls'));
  await page.locator(`#calls tbody tr[data-trace="${traceId}"]`).waitFor({ timeout: 15000 });
  await shot('06-calls');
});

test('no script errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
