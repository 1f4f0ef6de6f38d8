// Cluster mode, control plane: managing models through the controller (CLI and HTTP), external
// instances registered by hand, a controller restart without snapshot under load, and workers
// adopting the controller's heartbeat interval.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, tomlModel, getJson, postJson, callJson } from './lib/server.mjs';
import {
  startCluster, startController, startWorker, stopAll, runLoad, chat, chatBody, chatStream,
  failures, listInstances, waitHealthyInstances, apiModels, waitApiRoutes, routableIds, waitFor,
  instanceCounts, waitChatLines, smmfCli, sleep, settle,
} from './lib/cluster.mjs';

const cleanup = [];
after(async () => { for (const fn of cleanup.reverse()) await fn(); });

test('management: stop / start through the CLI, restart under load without a failed call', async () => {
  const c = await startCluster({ workers: 2 });
  cleanup.push(() => c.stop());
  const { controller, api } = c;
  const help = await smmfCli(['model', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /\bstop\b/);

  // stop: every worker stops it; the API server stops listing it within ~1 s; calls get 503.
  const stopped = await smmfCli(['model', 'stop', 'chat', '--controller', controller.base]);
  assert.equal(stopped.code, 0, `smmf model stop: ${stopped.stdout}${stopped.stderr}`);
  const t0 = Date.now();
  await waitFor(async () => !(await apiModels(api)).includes('chat'),
                { timeoutMs: 1500, intervalMs: 20, what: 'GET /v1/models without chat after stop' });
  console.log(`chat left /v1/models ${Date.now() - t0} ms after \`smmf model stop\` returned`);
  const recs = await listInstances(controller, 'chat');
  assert.deepEqual(recs.map((r) => [r.id, r.state]).sort(), c.ids.map((id) => [id, 'stopped']));
  const r503 = await chat(api);
  assert.equal(r503.status, 503, JSON.stringify(r503.body));
  assert.equal(typeof r503.body.error?.message, 'string', JSON.stringify(r503.body));
  const m404 = await getJson(api, '/v1/models/chat');
  assert.notEqual(m404.status, 200, `GET /v1/models/chat while stopped: ${JSON.stringify(m404.body)}`);

  // start: back in /v1/models on both instances, calls succeed.
  const started = await smmfCli(['model', 'start', 'chat', '--controller', controller.base]);
  assert.equal(started.code, 0, `smmf model start: ${started.stdout}${started.stderr}`);
  await waitApiRoutes(api, 'chat', c.ids, { timeoutMs: 5000 });
  const ok = await chat(api);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));

  // stop on one worker only (?worker=): the other one serves everything.
  const one = await postJson(controller, '/api/v1/models/chat/stop?worker=w1', '');
  assert.equal(one.status, 200, await one.text());
  await waitApiRoutes(api, 'chat', ['w2/chat'], { timeoutMs: 3000 });
  let mark = await settle(api);
  let r = await runLoad({ total: 10, concurrency: 2, fn: () => chat(api) });
  assert.deepEqual(failures(r.results), []);
  await waitChatLines(api, 10, { from: mark });
  assert.deepEqual(instanceCounts(api, { from: mark }), { 'w2/chat': 10 });
  const back = await postJson(controller, '/api/v1/models/chat/start?worker=w1', '');
  assert.equal(back.status, 200, await back.text());
  await waitApiRoutes(api, 'chat', c.ids, { timeoutMs: 5000 });

  // restart on both workers while 2 clients keep calling: no call fails.
  let stop = false;
  const load = runLoad({
    total: 3000, concurrency: 2, deadlineMs: 60000, stop: () => stop,
    fn: () => chat(api, chatBody({ maxTokens: 4 })),
  });
  await sleep(300);
  const restarted = await callJson(controller, '/api/v1/models/chat/restart', {});
  assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
  assert.deepEqual(restarted.body.results.map((x) => [x.worker, x.status]).sort(),
                   [['w1', 200], ['w2', 200]], JSON.stringify(restarted.body));
  for (const w of c.workers) {
    await w.waitForLine(/model chat#0 restarted/, { timeoutMs: 5000 });
  }
  await sleep(500);
  stop = true;
  const { results, timedOut } = await load;
  assert.equal(timedOut, false);
  assert.ok(results.length >= 20, `only ${results.length} calls during the restart`);
  assert.deepEqual(failures(results), [], `calls failed during restart (${results.length} made)`);
  console.log(`restart under load: ${results.length} calls, 0 failed`);
  // Both instances still routed afterwards.
  await waitApiRoutes(api, 'chat', c.ids, { timeoutMs: 3000 });
  mark = await settle(api);
  r = await runLoad({ total: 20, concurrency: 2, fn: () => chat(api) });
  assert.deepEqual(failures(r.results), []);
});

test('external instance: a plain `smmf serve` registered by hand is served through the API server', async () => {
  const c = await startCluster({ workers: 1 });
  cleanup.push(() => c.stop());
  const ext = await startServer({ config: tomlModel({ name: 'ext' }) });
  cleanup.push(() => stopAll([ext]));
  const reg = await callJson(c.controller, '/api/v1/instances', {
    id: 'ext-1', model: 'ext', address: `http://127.0.0.1:${ext.port}`, engine: 'external',
    labels: { heartbeat: 'none' },
  });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));

  await waitApiRoutes(c.api, 'ext', ['ext-1'], { timeoutMs: 5000 });
  const models = await apiModels(c.api);
  assert.ok(models.includes('ext') && models.includes('chat'), `models: ${models}`);

  const extFrom = ext.lines.length;
  const body = chatBody({ model: 'ext', maxTokens: 16, temperature: 0 });
  const plain = await chat(c.api, body);
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  assert.equal(plain.body.model, 'ext');
  const s = await chatStream(c.api, body);
  assert.equal(s.status, 200, s.body);
  assert.equal(s.done, true, 'stream ends with [DONE]');
  assert.equal(s.text, plain.body.choices[0].message.content);
  // Both reached the external server (its own access log) and the API server logged them on ext-1.
  await waitFor(() => ext.accessLines('POST', '/v1/chat/completions').length >= 2,
                { timeoutMs: 3000, what: 'the external server to log 2 chat calls' });
  assert.equal(ext.lines.slice(extFrom).filter((l) => /POST \/v1\/chat\/completions 200 .*model=ext/.test(l)).length, 2);
  const apiLines = c.api.lines.filter((l) => /POST \/v1\/chat\/completions 200 .*model=ext/.test(l));
  assert.ok(apiLines.every((l) => /\binstance=ext-1\b/.test(l)), apiLines.join('\n'));

  // heartbeat = none: still healthy well past the heartbeat timeout (3 x 500 ms).
  await sleep(2500);
  const rec = (await listInstances(c.controller, 'ext')).find((x) => x.id === 'ext-1');
  assert.ok(rec, 'ext-1 still registered');
  assert.equal(rec.healthy, true, JSON.stringify(rec));
  assert.ok((await apiModels(c.api)).includes('ext'));
  const again = await chat(c.api, body);
  assert.equal(again.status, 200, JSON.stringify(again.body));
});

test('controller restart (no snapshot) under load: calls keep succeeding, workers re-register', async () => {
  const HB = 500;
  const c = await startCluster({ workers: 3, heartbeatMs: HB, apis: [{ policy: 'round_robin' }] });
  cleanup.push(() => c.stop());
  const { api } = c;
  const port = c.controller.port;

  let stop = false;
  let phase = 'before';
  const load = runLoad({
    total: 5000, concurrency: 2, deadlineMs: 60000, stop: () => stop,
    fn: async () => { const p = phase; const r = await chat(api, chatBody(), { timeoutMs: 15000 }); r.phase = p; return r; },
  });
  await sleep(300);

  // Down: SIGTERM; the old controller exits cleanly.
  phase = 'gap';
  await c.controller.stop({ timeoutMs: 10000 });
  const downAt = Date.now();
  await sleep(3 * HB);   // heartbeats fail meanwhile; routing goes on from the API server's copy

  // Up again on the same port, empty.
  phase = 'after';
  c.controller = await startController({ port, heartbeatMs: HB });
  const upAt = Date.now();
  assert.equal(c.controller.port, port);
  const limit = 4 * HB + 1500;
  await waitHealthyInstances(c.controller, 'chat', c.ids, { timeoutMs: limit })
    .catch((e) => { throw new Error(`workers did not re-register within ${limit} ms: ${e.message}`); });
  console.log(`controller down ${upAt - downAt} ms; workers re-registered ${Date.now() - upAt} ms after the restart`);
  await sleep(1000);
  stop = true;
  const { results, timedOut } = await load;
  assert.equal(timedOut, false);
  assert.deepEqual(failures(results), [], `failed calls around the controller restart`);
  const by = (p) => results.filter((r) => r.phase === p).length;
  console.log(`calls: ${by('before')} before, ${by('gap')} while down, ${by('after')} after`);
  assert.ok(by('gap') >= 5, `only ${by('gap')} calls while the controller was down`);
  assert.ok(by('after') >= 5, `only ${by('after')} calls after the restart`);
  // The API server reconnects after its backoff (at most 5 s).
  const noticeBy = Date.now() + 6000;
  while (!api.lines.some((l) => /the controller restarted/.test(l)) && Date.now() < noticeBy) await sleep(100);
  assert.ok(api.lines.some((l) => /the controller restarted/.test(l)),
            'the API server noticed the new controller');

  // Past the API server's restart grace (10 s), the re-registered instances are all still routed:
  // a change at the controller makes it apply its state, then round_robin must use all three.
  await sleep(Math.max(0, upAt + 10500 - Date.now()));
  const dummy = await callJson(c.controller, '/api/v1/instances', {
    id: 'dummy-1', model: 'dummy', address: 'http://127.0.0.1:9', engine: 'external',
    labels: { heartbeat: 'none' },
  });
  assert.equal(dummy.status, 200, JSON.stringify(dummy.body));
  await waitFor(() => api.lines.some((l) => /instance dummy-1 of dummy/.test(l)),
                { timeoutMs: 3000, what: 'the API server to see the new instance' });
  assert.deepEqual(routableIds(api, 'chat'), c.ids, 'routable after the grace period');
  const mark = await settle(api);
  const r = await runLoad({ total: 30, concurrency: 1, fn: () => chat(api) });
  assert.deepEqual(failures(r.results), []);
  await waitChatLines(api, 30, { from: mark });
  assert.deepEqual(instanceCounts(api, { from: mark }),
                   Object.fromEntries(c.ids.map((id) => [id, 10])));
});

test('a worker adopts the heartbeat interval the controller announces', async () => {
  const HB = 500;
  const controller = await startController({ heartbeatMs: HB });
  cleanup.push(() => stopAll([controller]));
  // No --heartbeat-interval-ms: the worker's own default is 2000 ms, the controller says 500.
  const w = await startWorker(controller, { id: 'wa', heartbeatMs: null });
  cleanup.push(() => stopAll([w]));
  await waitHealthyInstances(controller, 'chat', ['wa/chat']);
  const from = controller.lines.length;
  const t0 = Date.now();
  const unhealthy = [];
  while (Date.now() - t0 < 3000) {   // 6 announced intervals, 2 unhealthy thresholds
    const rec = (await listInstances(controller, 'chat')).find((x) => x.id === 'wa/chat');
    if (!rec || !rec.healthy) unhealthy.push(`${Date.now() - t0} ms: ${JSON.stringify(rec)}`);
    await sleep(100);
  }
  const beats = controller.lines.slice(from).filter((l) => /PUT \/api\/v1\/instances\/wa%2Fchat\/heartbeat 200/.test(l)).length;
  console.log(`${beats} heartbeats in 3 s (controller interval ${HB} ms)`);
  assert.deepEqual(unhealthy, [], 'the instance flapped unhealthy: heartbeats slower than announced\n' +
                   controller.lines.slice(from).filter((l) => /unhealthy|heartbeat/.test(l)).join('\n'));
  assert.ok(beats >= 4, `${beats} heartbeats in 3 s; the controller announced one per ${HB} ms`);
});

test('controller restart: an instance registered at the new controller before the API server reconnects is routed', async () => {
  // The API server resumes its watch with the old controller's revision. The new controller's
  // revisions (which start at its start time) are past it, and the changes made before the API
  // server reconnects must still reach it (it gets a snapshot).
  const HB = 500;
  const c = await startCluster({ workers: 1, heartbeatMs: HB, apis: [{ policy: 'round_robin' }] });
  cleanup.push(() => c.stop());
  const { api } = c;
  const port = c.controller.port;
  const oldRevision = (await getJson(c.controller, '/api/v1/instances')).body.revision;

  await c.controller.stop({ timeoutMs: 10000 });
  // The API server's watch retries after 0.4, 0.8, 1.6, 3.2 s. The new controller must take the
  // changes below between two retries: a stand-in on the port closes every connection (the
  // workers' heartbeats too) until a watch request came 1.5 s or more after the previous one;
  // the next is 3.2 s away, and the controller starts at once. (A fixed 1.5 s sleep left
  // ~1.3 s for starting the controller and the calls, which a loaded machine under TSan
  // overran.)
  await api.waitForLine(/watching the controller at .* failed/, { timeoutMs: 5000 });
  let lastWatch = Date.now();  // the failure just logged
  let backedOffDone;
  const backedOff = new Promise((resolve) => { backedOffDone = resolve; });
  const open = new Set();
  const standIn = net.createServer((sock) => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    sock.once('data', (d) => {
      sock.destroy();
      if (!d.toString('latin1').startsWith('GET /api/v1/watch')) return;
      const now = Date.now();
      if (now - lastWatch >= 1500) backedOffDone();
      lastWatch = now;
    });
    sock.on('error', () => {});
  });
  await new Promise((resolve) => standIn.listen(port, '127.0.0.1', resolve));
  await backedOff;
  for (const sock of open) sock.destroy();
  await new Promise((resolve) => standIn.close(resolve));
  c.controller = await startController({ port, heartbeatMs: HB });
  const worker = c.workers[0];
  // At once (before the watch retries): a new instance of chat (an external one, at the same
  // worker), then enough changes to pass the old revision.
  const late = await callJson(c.controller, '/api/v1/instances', {
    id: 'late-1', model: 'chat', address: worker.base, engine: 'external', labels: { heartbeat: 'none' },
  });
  assert.equal(late.status, 200, JSON.stringify(late.body));
  // Revisions start at the controller's start time, so the new controller's are already past
  // the old ones; a few more changes, bounded.
  for (let i = 0; i < 4; i++) {
    const put = await callJson(c.controller, '/api/v1/instances', {
      id: `filler-${i}`, model: 'filler', address: 'http://127.0.0.1:9', engine: 'external',
      labels: { heartbeat: 'none' },
    });
    assert.equal(put.status, 200);
  }
  const newRevision = (await getJson(c.controller, '/api/v1/instances')).body.revision;
  assert.ok(newRevision > oldRevision, `new revision ${newRevision} > old ${oldRevision}`);
  assert.ok(!api.lines.some((l) => /watching the controller at .* again/.test(l)),
            'the API server reconnected before the changes (timing): the test proves nothing');

  await waitFor(() => api.lines.some((l) => /watching the controller at .* again/.test(l)),
                { timeoutMs: 8000, what: 'the API server to watch the new controller' });
  const want = ['late-1', `${worker.id}/chat`].sort();
  await waitApiRoutes(api, 'chat', want, { timeoutMs: 3000 })
    .catch((e) => {
      throw new Error(`${e.message}\nold revision ${oldRevision}, new revision ${newRevision}; ` +
                      `the new controller lists ${newRevision} changes, the API server resumed from ${oldRevision}`);
    });
});
