// Test harness for cluster mode: a controller, N workers and API servers as separate `smmf start`
// processes on free loopback ports; waits for the routing set to settle; counts which instance
// served each call; bounded load loops; kill -9 / SIGSTOP / SIGCONT by PID; cleanup.
//
// Builds on lib/server.mjs (its Server class collects each process's stderr).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import assert from 'node:assert/strict';
import {
  Server, SMMF_BIN, MODEL_DIR, CHAT_MODEL_PATH, tmpFile, sleep, getJson, postJson, readSse,
  collectText, checkSanitizerReport,
} from './server.mjs';

export { sleep };

// Every process started here is SIGKILLed (SIGCONT first) if this test process dies without
// stopping it; with setpriv, the kernel does it too if node itself is killed.
const HAVE_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
const live = new Set();
function killAll() {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGCONT'); } catch { /* gone */ }
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAll(); process.exit(128 + os.constants.signals[sig]); });
}

let configSeq = 0;
function configFile(prefix, text) {
  return tmpFile(`${prefix}-${process.pid}-${++configSeq}.toml`, text);
}

/// Spawns `smmf <args>` and resolves once it logs its listening line (sets `.port`).
/// `name` labels the process in error messages and SMMF_TEST_VERBOSE output.
export async function spawnSmmf(args, { name = args.slice(0, 2).join(' '), timeoutMs = 30000,
                                        env = {} } = {}) {
  assert.ok(existsSync(SMMF_BIN), `smmf binary not found at ${SMMF_BIN} (set SMMF_BIN)`);
  const cmd = HAVE_SETPRIV ? 'setpriv' : SMMF_BIN;
  const cmdArgs = HAVE_SETPRIV ? ['--pdeathsig', 'KILL', '--', SMMF_BIN, ...args] : args;
  const child = spawn(cmd, cmdArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR, SMMF_CONTROLLER: '', ...env },
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const srv = new Server(child, args);
  srv.name = name;
  srv.frozen = false;
  try {
    const line = await srv.waitForLine(/listening on https?:\/\/[^\s:]+:\d+/, { timeoutMs });
    srv.port = Number(line.match(/listening on https?:\/\/[^\s]+:(\d+)/)[1]);
    assert.ok(srv.port > 0, `bad port in: ${line}`);
  } catch (e) {
    srv.kill();
    await srv.exited;
    throw new Error(`${name}: ${e.message}`);
  }
  return srv;
}

/// `smmf start controller`; heartbeatMs is the interval it announces and expires by.
export async function startController({ port = 0, heartbeatMs = 500, snapshot, config,
                                        extraArgs = [] } = {}) {
  const args = ['start', 'controller', '--host', '127.0.0.1', '--port', String(port)];
  if (heartbeatMs != null) args.push('--heartbeat-interval-ms', String(heartbeatMs));
  if (snapshot) args.push('--snapshot', snapshot);
  if (config) args.push('--config', configFile('controller', config));
  args.push(...extraArgs);
  return spawnSmmf(args, { name: 'controller' });
}

/// TOML for a worker's models: [{ name, weight, load, params }]; threads = 1 unless params say otherwise.
export function workerConfig(models) {
  let s = '';
  for (const m of models) {
    const params = { threads: 1, parallel: 4, ...(m.params || {}) };
    const kv = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
    s += `[[models]]\nname = "${m.name}"\ntype = "llm"\nengine = "llama.cpp"\n` +
         `path = "${m.path ?? CHAT_MODEL_PATH}"\n`;
    if (m.weight !== undefined) s += `weight = ${m.weight}\n`;
    if (m.load !== undefined) s += `load = "${m.load}"\n`;
    s += `params = { ${kv} }\n\n`;
  }
  return s;
}

/// `smmf start worker`: `models` as for workerConfig (default one `chat` model). heartbeatMs
/// null leaves the interval to the worker's default / the controller's announcement.
export async function startWorker(controller, { id, models = [{ name: 'chat' }], heartbeatMs = 500,
                                                port = 0, extraArgs = [], extraToml = '' } = {}) {
  const url = typeof controller === 'string' ? controller : controller.base;
  const args = ['start', 'worker', '--host', '127.0.0.1', '--port', String(port),
                '--controller', url, '--id', id,
                '--config', configFile(`worker-${id}`, extraToml + '\n' + workerConfig(models))];
  if (heartbeatMs != null) args.push('--heartbeat-interval-ms', String(heartbeatMs));
  args.push(...extraArgs);
  const w = await spawnSmmf(args, { name: `worker ${id}` });
  w.id = id;
  return w;
}

/// `smmf start apiserver`; `routing` becomes its [routing] table.
export async function startApiServer(controller, { policy, routing = {}, port = 0,
                                                   extraArgs = [], extraToml = '' } = {}) {
  const url = typeof controller === 'string' ? controller : controller.base;
  const r = { health_check_interval_ms: 500, health_check_timeout_ms: 1000, ...routing };
  let toml = '[routing]\n';
  for (const [k, v] of Object.entries(r)) {
    if (v && typeof v === 'object') {
      const kv = Object.entries(v).map(([a, b]) => `${a} = ${JSON.stringify(b)}`).join(', ');
      toml += `${k} = { ${kv} }\n`;
    } else {
      toml += `${k} = ${JSON.stringify(v)}\n`;
    }
  }
  const args = ['start', 'apiserver', '--host', '127.0.0.1', '--port', String(port),
                '--controller', url, '--config', configFile('apiserver', `${extraToml}\n${toml}`)];
  if (policy) args.push('--policy', policy);
  args.push(...extraArgs);
  return spawnSmmf(args, { name: `apiserver ${policy ?? r.policy ?? ''}`.trim() });
}

// ---------------------------------------------------------------------------------------------
// Waiting for the routing set

/// Polls `fn` until it returns a truthy value; throws `what` (plus fn's last error) after timeoutMs.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (let i = 0; ; i++) {
    try {
      const v = await fn();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                      (last ? `: ${last.message}` : ''));
    }
    await sleep(intervalMs);
  }
}

/// The controller's instance records (GET /api/v1/instances), optionally of one model.
export async function listInstances(controller, model) {
  const r = await getJson(controller, '/api/v1/instances');
  assert.equal(r.status, 200, `GET /api/v1/instances: ${JSON.stringify(r.body)}`);
  assert.ok(Array.isArray(r.body.data), `instances list: ${JSON.stringify(r.body)}`);
  return model ? r.body.data.filter((x) => x.model === model) : r.body.data;
}

/// Waits until the controller lists `ids` (instance ids) of `model` as healthy and running.
export async function waitHealthyInstances(controller, model, ids, { timeoutMs = 15000 } = {}) {
  let seen = [];
  await waitFor(async () => {
    seen = await listInstances(controller, model);
    return ids.every((id) => seen.some((x) => x.id === id && x.healthy === true &&
                                               x.state === 'running'));
  }, { timeoutMs, what: `${ids.join(', ')} healthy and running at the controller` })
    .catch((e) => { throw new Error(`${e.message}\nlast list: ${JSON.stringify(seen)}`); });
  return seen;
}

/// The API server's routing view reconstructed from its log: Map id -> { model, routable, ... }.
export function apiView(api) {
  const view = new Map();
  for (const l of api.lines) {
    let m;
    if ((m = l.match(/instance (\S+) of (\S+) at (\S+) added \((\w+)\)/))) {
      view.set(m[1], { model: m[2], address: m[3], rec: m[4] === 'running' || m[4] === 'idle', check: true });
    } else if ((m = l.match(/instance (\S+) of (\S+) is now (routable|not routable)/))) {
      const v = view.get(m[1]);
      if (v) v.rec = m[3] === 'routable';
    } else if ((m = l.match(/instance (\S+) health check (failed|passes again)/))) {
      const v = view.get(m[1]);
      if (v) v.check = m[2] !== 'failed';
    } else if ((m = l.match(/instance (\S+) (?:did not re-register: )?removed/))) {
      view.delete(m[1]);
    }
  }
  for (const v of view.values()) v.routable = v.rec && v.check;
  return view;
}

/// Ids of the instances of `model` the API server routes to (by its log).
export function routableIds(api, model) {
  return [...apiView(api)].filter(([, v]) => v.model === model && v.routable).map(([id]) => id).sort();
}

/// Model ids listed by the API server's GET /v1/models.
export async function apiModels(api) {
  const r = await getJson(api, '/v1/models');
  assert.equal(r.status, 200, `GET /v1/models: ${JSON.stringify(r.body)}`);
  return r.body.data.map((m) => m.id);
}

/// Waits until the API server lists `model` in /v1/models and routes to exactly `ids`.
export async function waitApiRoutes(api, model, ids, { timeoutMs = 15000 } = {}) {
  const want = [...ids].sort();
  await waitFor(async () => {
    const listed = (await apiModels(api)).includes(model);
    return listed && JSON.stringify(routableIds(api, model)) === JSON.stringify(want);
  }, { timeoutMs, what: `the API server to route ${model} to ${want.join(', ')}` })
    .catch((e) => {
      const events = api.lines.filter((l) => !/ (GET|POST) \/\S* \d{3} /.test(l)).slice(-15);
      throw new Error(`${e.message}; routable by its log: ${routableIds(api, model).join(', ')}; ` +
                      `its last routing events:\n${events.join('\n')}`);
    });
}

// ---------------------------------------------------------------------------------------------
// A whole cluster

/// Starts a controller, workers (`workers`: a count, or [{ id, models, heartbeatMs }]) hosting
/// `model`, and one API server per entry of `apis` ([{ policy, routing }]); waits until every
/// API server routes `model` to every worker's instance. Returns { controller, workers, apis,
/// api (the first), ids, stop() }.
export async function startCluster({ workers = 3, model = 'chat', heartbeatMs = 500,
                                     controllerHeartbeatMs = heartbeatMs, apis = [{}],
                                     timeoutMs = 30000 } = {}) {
  const c = { controller: null, workers: [], apis: [] };
  c.stop = () => stopAll([...c.apis, ...c.workers, c.controller, ...(c.extra || [])]);
  try {
    c.controller = await startController({ heartbeatMs: controllerHeartbeatMs });
    const specs = typeof workers === 'number'
      ? Array.from({ length: workers }, (_, i) => ({ id: `w${i + 1}` })) : workers;
    // One at a time: loading the model is CPU-bound and the machine may have two cores.
    for (const s of specs) {
      c.workers.push(await startWorker(c.controller, {
        heartbeatMs, models: [{ name: model }], ...s }));
    }
    for (const a of apis) c.apis.push(await startApiServer(c.controller, a));
    c.api = c.apis[0];
    c.ids = specs.map((s) => `${s.id}/${model}`);
    await waitHealthyInstances(c.controller, model, c.ids, { timeoutMs });
    for (const a of c.apis) await waitApiRoutes(a, model, c.ids, { timeoutMs });
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

/// Stops processes: SIGCONT if frozen, SIGTERM, then SIGKILL after timeoutMs. Never throws.
export async function stopAll(servers, { timeoutMs = 8000 } = {}) {
  await Promise.all(servers.filter(Boolean).map(async (s) => {
    if (s.exit) return;
    try { process.kill(s.pid, 'SIGCONT'); } catch { /* gone */ }
    try { process.kill(s.pid, 'SIGTERM'); } catch { /* gone */ }
    let timer;
    const res = await Promise.race([
      s.exited, new Promise((r) => { timer = setTimeout(() => r(null), timeoutMs); })]);
    clearTimeout(timer);
    if (!res) {
      s.kill();
      await s.exited;
    }
  }));
}

// ---------------------------------------------------------------------------------------------
// Signals by PID

export function kill9(srv) {
  process.kill(srv.pid, 'SIGKILL');
  return srv.exited;
}
export function freeze(srv) {
  process.kill(srv.pid, 'SIGSTOP');
  srv.frozen = true;
}
export function thaw(srv) {
  process.kill(srv.pid, 'SIGCONT');
  srv.frozen = false;
}

// ---------------------------------------------------------------------------------------------
// Requests and load

export function chatBody({ model = 'chat', maxTokens = 2, content = 'Hello there', ...rest } = {}) {
  return { model, messages: [{ role: 'user', content }], max_tokens: maxTokens, ...rest };
}

/// One non-streaming chat call: { status, body, ms, error } (never throws; error on network
/// failure or timeout).
export async function chat(api, body = chatBody(), { headers = {}, timeoutMs = 30000 } = {}) {
  const t0 = Date.now();
  try {
    const res = await postJson(api, '/v1/chat/completions', body,
                               { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    api.answered = (api.answered || 0) + 1;
    let json;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: res.status, body: json, ms: Date.now() - t0, start: t0 };
  } catch (e) {
    return { status: 0, error: e.message, ms: Date.now() - t0, start: t0 };
  }
}

/// A streaming chat call: { status, chunks, done, text, events }.
export async function chatStream(api, body, { headers = {}, timeoutMs = 30000 } = {}) {
  const res = await postJson(api, '/v1/chat/completions', { ...body, stream: true },
                             { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) return { status: res.status, body: await res.text() };
  const sse = await readSse(res);
  api.answered = (api.answered || 0) + 1;
  const { texts, finish } = collectText(sse.chunks);
  return { status: 200, contentType: res.headers.get('content-type'), ...sse, text: texts[0],
           finish: finish[0] };
}

/// Runs `fn(i)` for i = 0..total-1 with `concurrency` calls in flight, and stops early at
/// `deadlineMs` (then `results` has fewer entries; `timedOut` says so). `onResult(r, done)`
/// runs after each call. Resolves { results, timedOut, ms }.
export async function runLoad({ total, concurrency, fn, deadlineMs = 120000, onResult,
                                stop = () => false }) {
  const t0 = Date.now();
  const results = [];
  let next = 0;
  let timedOut = false;
  const lane = async () => {
    for (;;) {
      if (next >= total || stop()) return;
      if (Date.now() - t0 > deadlineMs) { timedOut = true; return; }
      const i = next++;
      const r = await fn(i);
      r.index = i;
      results.push(r);
      if (onResult) await onResult(r, results.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { results, timedOut, ms: Date.now() - t0 };
}

/// Summarises failures of a load for an assertion message.
export function failures(results) {
  return results.filter((r) => r.status !== 200)
    .map((r) => `#${r.index}: ${r.status} ${r.error ?? JSON.stringify(r.body)}`);
}

// ---------------------------------------------------------------------------------------------
// Who served what

/// API server access-log lines for POST /v1/chat/completions from line `from` on.
export function apiChatLines(api, { from = 0, status = 200 } = {}) {
  const re = new RegExp(`\\bPOST /v1/chat/completions ${status ?? '\\d{3}'} `);
  return api.lines.slice(from).filter((l) => re.test(l));
}

/// Counts per instance (the access log's `instance=` field) of 200 chat answers since `from`.
export function instanceCounts(api, { from = 0 } = {}) {
  const counts = {};
  for (const l of apiChatLines(api, { from })) {
    const m = l.match(/\binstance=(\S+)/);
    const id = m ? m[1] : '(none)';
    counts[id] = (counts[id] || 0) + 1;
  }
  return counts;
}

/// Chat requests a worker answered 200 (its own access log) since line `from`.
export function workerServed(worker, { from = 0 } = {}) {
  return worker.lines.slice(from).filter((l) => /\bPOST \/v1\/chat\/completions 200 /.test(l)).length;
}

/// Waits until the API server has logged `n` chat lines (any status) since `from`.
export async function waitChatLines(api, n, { from = 0, timeoutMs = 5000 } = {}) {
  await waitFor(() => apiChatLines(api, { from, status: null }).length >= n,
                { timeoutMs, what: `${n} chat access-log lines on the API server` });
}

/// Waits until the API server has logged every chat call answered through chat()/chatStream()
/// (a server writes its access-log line just after the answer, so a client can be faster).
/// Take a log mark only after this, or lines of earlier calls may land after the mark.
export async function settle(api, { timeoutMs = 5000 } = {}) {
  await waitFor(() => apiChatLines(api, { status: null }).length >= (api.answered || 0),
                { timeoutMs, what: `the API server to log all ${api.answered} answered chat calls` });
  return api.lines.length;
}

/// Percentages (rounded to 0.1) of `counts` over `total`, for messages.
export function shares(counts, ids) {
  const total = ids.reduce((s, id) => s + (counts[id] || 0), 0);
  return Object.fromEntries(ids.map((id) => [id, total ? Math.round(1000 * (counts[id] || 0) / total) / 10 : 0]));
}

/// Runs `smmf <args>` asynchronously (logs of the processes keep draining meanwhile).
export function smmfCli(args, { timeoutMs = 30000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(SMMF_BIN, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR, SMMF_CONTROLLER: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`smmf ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      checkSanitizerReport(stderr, `smmf ${args.join(' ')}`);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
