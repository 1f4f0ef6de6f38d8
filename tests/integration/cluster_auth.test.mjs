// The cluster token: a controller, a worker and an API server sharing [cluster] token. Nothing
// without the token can register, heartbeat, deregister or watch; the roles' own calls carry it
// (register + heartbeat, watch, API server -> worker calls, controller -> worker relays). The
// worker also has [[keys]], so its /v1 answers only the API server (token) or a key holder.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { callJson, srvFetch, assertError, tmpFile, CHAT_MODEL_PATH, runSmmf } from './lib/server.mjs';
import { spawnSmmf, waitFor } from './lib/cluster.mjs';

const TOKEN = 'cluster-token-for-tests-0123456789';
const procs = [];
after(async () => {
  for (const p of procs.reverse()) await p.stop({ timeoutMs: 15000 }).catch(() => p.kill());
});

const CHAT = { model: 'chat', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 };
const REC = { id: 'fake-1', model: 'chat', address: 'http://127.0.0.1:9', engine: 'external' };
const WORKER_KEY = 'worker-user-key-0123456789abcdef';

test('only holders of the cluster token can register; the roles use it end to end', async () => {
  const cluster = '[cluster]\ntoken = "${SMMF_CLUSTER_TOKEN}"\n';
  const env = { SMMF_CLUSTER_TOKEN: TOKEN };
  const keyHash = (await import('node:crypto')).createHash('sha256').update(WORKER_KEY).digest('hex');
  const controller = await spawnSmmf(['start', 'controller', '--host', '127.0.0.1', '--port', '0',
    '--heartbeat-interval-ms', '500', '--config', tmpFile('ca-controller.toml', cluster)],
  { name: 'controller', env });
  procs.push(controller);
  const ctl = controller.base;

  // Without the token: 401 for register, heartbeat, deregister, watch and listing.
  let r = await callJson(controller, '/api/v1/instances', REC);
  assertError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  r = await callJson(controller, '/api/v1/instances', REC, { headers: { 'x-smmf-cluster-token': 'wrong' } });
  assertError(r, { status: 401, type: 'authentication_error' });
  r = await callJson(controller, '/api/v1/instances', REC, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(r.status, 401);
  let res = await srvFetch(controller, '/api/v1/instances/w1%2Fchat/heartbeat', {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"state":"running","in_flight":0}' });
  assert.equal(res.status, 401);
  res = await srvFetch(controller, '/api/v1/instances/w1%2Fchat', { method: 'DELETE' });
  assert.equal(res.status, 401);
  res = await srvFetch(controller, '/api/v1/watch?since=0&timeout_ms=10');
  assert.equal(res.status, 401);
  res = await srvFetch(controller, '/healthz');
  assert.equal(res.status, 200, 'health checks need no token');

  // The worker registers with the token; its /v1 needs a key or the token.
  const workerToml = cluster +
    `[[keys]]\nname = "direct"\nhash = "sha256:${keyHash}"\n\n` +
    `[[models]]\nname = "chat"\npath = "${CHAT_MODEL_PATH}"\nparams = { threads = 1 }\n`;
  const from = controller.lines.length;
  const worker = await spawnSmmf(['start', 'worker', '--host', '127.0.0.1', '--port', '0',
    '--controller', ctl, '--id', 'w1', '--heartbeat-interval-ms', '500',
    '--config', tmpFile('ca-worker.toml', workerToml)], { name: 'worker', env });
  procs.push(worker);
  await worker.waitForLine(/ready: 1 model/, { timeoutMs: 60000 });
  const listed = await waitFor(async () => {
    const l = await srvFetch(controller, '/api/v1/instances', { headers: { 'x-smmf-cluster-token': TOKEN } });
    const body = await l.json();
    return body.data.find((x) => x.id === 'w1/chat' && x.state === 'running') ? body : null;
  }, { timeoutMs: 20000, what: 'w1/chat registered and running' });
  assert.ok(listed);
  await controller.waitForLine(/PUT \/api\/v1\/instances\/w1%2Fchat\/heartbeat 200 .*key=cluster/,
                              { from, timeoutMs: 5000 });
  assert.ok(!controller.lines.slice(from).some((l) => / 401 /.test(l)),
            'the worker registers and heartbeats with the token');
  r = await callJson(worker, '/v1/chat/completions', CHAT);
  assert.equal(r.status, 401, 'the worker refuses callers without a key');
  r = await callJson(worker, '/v1/chat/completions', CHAT, { headers: { authorization: `Bearer ${WORKER_KEY}` } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  res = await srvFetch(worker, '/api/v1/models/chat/stop', { method: 'POST' });
  assert.equal(res.status, 401, 'worker management needs the token or an admin key');

  // A fake registration with the token is possible (the token is the trust boundary), and the
  // admin CLI works with the token as its key.
  const cli = runSmmf(['model', 'list', '--controller', ctl, '--api-key', TOKEN]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /w1\/chat/);

  // The API server watches with the token and calls the worker with it.
  const api = await spawnSmmf(['start', 'apiserver', '--host', '127.0.0.1', '--port', '0',
    '--controller', ctl, '--config', tmpFile('ca-api.toml', cluster)], { name: 'apiserver', env });
  procs.push(api);
  const ok = await waitFor(async () => {
    const c = await callJson(api, '/v1/chat/completions', CHAT);
    return c.status === 200 ? c : null;
  }, { timeoutMs: 20000, what: 'a chat call through the API server' });
  assert.equal(ok.body.object, 'chat.completion');
  // The worker logs its access line after the response went out: wait for it.
  await worker.waitForLine(/POST \/v1\/chat\/completions 200 .*key=cluster/, { timeoutMs: 5000 });

  // Management relayed by the controller to the worker carries the token too.
  const stop = runSmmf(['model', 'stop', 'chat', '--controller', ctl, '--api-key', TOKEN]);
  assert.equal(stop.code, 0, stop.stderr + stop.stdout);
  const start = runSmmf(['model', 'start', 'chat', '--controller', ctl, '--api-key', TOKEN]);
  assert.equal(start.code, 0, start.stderr + start.stdout);
});

test('a worker without the token cannot register', async () => {
  const controller = procs[0];
  const w = await spawnSmmf(['start', 'worker', '--host', '127.0.0.1', '--port', '0',
    '--controller', controller.base, '--id', 'intruder', '--heartbeat-interval-ms', '500',
    '--config', tmpFile('ca-intruder.toml',
      `[[models]]\nname = "chat"\npath = "${CHAT_MODEL_PATH}"\nparams = { threads = 1 }\n`)],
  { name: 'intruder' });
  procs.push(w);
  await controller.waitForLine(/POST \/api\/v1\/instances 401/, { timeoutMs: 30000 });
  const l = await srvFetch(controller, '/api/v1/instances', { headers: { 'x-smmf-cluster-token': TOKEN } });
  const body = await l.json();
  assert.ok(!body.data.some((x) => x.id.startsWith('intruder')), JSON.stringify(body.data));
});
