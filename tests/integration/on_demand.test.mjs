// On-demand loading with a residency limit, and idle unloading, on the real tiny models:
// two on-demand models and max_loaded_models = 1 under concurrent calls alternating between
// them; an on-demand model with a short idle_unload_after.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, callJson, getJson, sleep, SMMF_BIN, MODEL_DIR, CHAT_MODEL_PATH,
         checkSanitizerReport } from './lib/server.mjs';
import { startController, startWorker, startApiServer, waitApiRoutes, stopAll, chat, chatBody }
  from './lib/cluster.mjs';

const model = (name, extra = '') =>
  `[[models]]\nname = "${name}"\npath = "${CHAT_MODEL_PATH}"\nload = "on_demand"\n${extra}` +
  'params = { threads = 1, parallel = 2 }\n\n';
const ask = (m) => ({ model: m, temperature: 0, max_tokens: 8,
                      messages: [{ role: 'user', content: `Say hello to ${m}.` }] });

/// The worker's own view: name -> { state, loaded, in_flight }.
async function residency(srv) {
  const r = await getJson(srv, '/api/v1/models');
  assert.equal(r.status, 200);
  return Object.fromEntries(r.body.data.map((m) => [m.name, m]));
}

/// `smmf model list --json` against the server's controller routes.
function modelList(srv) {
  return new Promise((resolve, reject) => {
    const child = spawn(SMMF_BIN, ['model', 'list', '--json', '--controller', srv.base], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR },
    });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      checkSanitizerReport(err, 'smmf model list');
      if (code === 0) resolve(JSON.parse(out)); else reject(new Error(err));
    });
  });
}

async function eventually(fn, { timeoutMs = 20000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { return await fn(); } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

describe('two on-demand models, max_loaded_models = 1', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[worker]\nmax_loaded_models = 1\nload_timeout = "60s"\n\n' + model('left') + model('right'),
    });
  });
  after(async () => { await srv?.stop(); });

  test('both are listed while unloaded, as idle', async () => {
    const r = await getJson(srv, '/v1/models');
    assert.deepEqual(r.body.data.map((m) => m.id).sort(), ['left', 'right']);
    const res = await residency(srv);
    assert.equal(res.left.state, 'idle');
    assert.equal(res.left.loaded, 0);
    assert.equal(res.left.load, 'on_demand');
    const recs = await eventually(async () => {
      const l = await modelList(srv);
      assert.deepEqual(l.map((x) => x.state), ['idle', 'idle']);
      return l;
    });
    assert.equal(recs.length, 2);
  });

  test('concurrent calls alternating between them all succeed, one model loaded at a time', async () => {
    let maxLoaded = 0, polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await residency(srv);
        maxLoaded = Math.max(maxLoaded, res.left.loaded + res.right.loaded);
        await sleep(5);
      }
    })();
    const clients = Array.from({ length: 4 }, (_, c) => (async () => {
      const out = [];
      for (let k = 0; k < 4; k++) {
        const m = (c + k) % 2 ? 'left' : 'right';
        const r = await callJson(srv, '/v1/chat/completions', ask(m));
        out.push({ m, status: r.status, body: r.body });
      }
      return out;
    })());
    const results = (await Promise.all(clients)).flat();
    polling = false;
    await poller;
    for (const r of results) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.model, r.m);
      assert.ok(r.body.usage.completion_tokens > 0);
    }
    assert.equal(results.length, 16);
    assert.ok(maxLoaded <= 1, `at most one model loaded at a time (saw ${maxLoaded})`);
    // They took turns: each was loaded (and the other evicted) at least once.
    assert.ok(srv.lines.some((l) => /model left#0 evicted/.test(l)) ||
              srv.lines.some((l) => /model right#0 evicted/.test(l)), srv.log());
    assert.ok(!srv.lines.some((l) => /\b(500|503) /.test(l) && /chat\/completions/.test(l)), srv.log());
  });
});

describe('an on-demand model with idle_unload_after = "300ms"', () => {
  let srv;
  before(async () => {
    srv = await startServer({ config: model('sleepy', 'idle_unload_after = "300ms"\n') });
  });
  after(async () => { await srv?.stop(); });

  test('loads for a call, unloads when idle, stays listed and loads again', async () => {
    assert.equal((await residency(srv)).sleepy.state, 'idle');
    const r1 = await callJson(srv, '/v1/chat/completions', ask('sleepy'));
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    // "idle" already while it unloads (calls would wait for a reload); then nothing is loaded.
    await eventually(async () => {
      const s = (await residency(srv)).sleepy;
      assert.deepEqual([s.state, s.loaded], ['idle', 0]);
    });
    await srv.waitForLine(/model sleepy#0 unloaded: idle/);
    const models = await getJson(srv, '/v1/models');
    assert.deepEqual(models.body.data.map((m) => m.id), ['sleepy']);
    assert.equal((await getJson(srv, '/healthz')).status, 200);
    const r2 = await callJson(srv, '/v1/chat/completions', ask('sleepy'));
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.choices[0].message.content, r1.body.choices[0].message.content);
    assert.equal(srv.lines.filter((l) => /model sleepy#0 loading on demand/.test(l)).length, 2);
  });
});

describe('cluster: a worker hosting an on-demand model', () => {
  const procs = [];
  after(async () => { await stopAll(procs); });

  test('the API server routes to it while idle; the worker loads it for the first call', async () => {
    const controller = await startController();
    procs.push(controller);
    const worker = await startWorker(controller, { id: 'w1', models: [{ name: 'lazy', load: 'on_demand' }] });
    procs.push(worker);
    const api = await startApiServer(controller);
    procs.push(api);
    await waitApiRoutes(api, 'lazy', ['w1/lazy']);
    assert.ok(!worker.lines.some((l) => /model lazy#0 running/.test(l)), 'not loaded before a call');
    const r = await chat(api, chatBody({ model: 'lazy' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await worker.waitForLine(/model lazy#0 loading on demand/);
    await worker.waitForLine(/model lazy#0 running/);
  });
});
