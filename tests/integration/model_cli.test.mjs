// `smmf model ...` against a real `smmf serve` (which answers the controller's routes on its own
// port): list, start/stop/restart/scale, the chat REPL with piped stdin, and failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startServer, getJson, callJson, runSmmf, sleep, SMMF_BIN, MODEL_DIR,
         checkSanitizerReport } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

/// Runs `smmf <args>` asynchronously (the server's log pipe keeps draining meanwhile), feeding
/// `input` on stdin: { code, signal, stdout, stderr }.
function smmf(args, { input = '', timeoutMs = 60000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(SMMF_BIN, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR, SMMF_CONTROLLER: '', SMMF_API: '', ...env },
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
    child.stdin.on('error', () => { /* exited before reading everything */ });
    child.stdin.end(input);
  });
}

const model = (...args) => smmf(['model', ...args, '--controller', srv.base]);

/// Parses the `smmf model list` table into objects keyed by the header names.
function parseTable(text) {
  const lines = text.trimEnd().split('\n');
  const header = lines[0];
  const names = header.split(/ {2,}/);
  const starts = names.map((n) => header.indexOf(n));
  return lines.slice(1).map((line) => {
    const row = {};
    names.forEach((n, i) => { row[n] = line.slice(starts[i], starts[i + 1] ?? line.length).trim(); });
    return row;
  });
}

/// Retries `fn` until it stops throwing (the registry follows model changes asynchronously).
async function eventually(fn, { timeoutMs = 10000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { return await fn(); } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

async function chatStatus() {
  const r = await callJson(srv, '/v1/chat/completions',
                           { model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  return r;
}

async function listedModels() {
  const r = await getJson(srv, '/v1/models');
  assert.equal(r.status, 200);
  return r.body.data.map((m) => m.id).sort();
}

/// A local port with nothing listening on it.
async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

test('smmf model --help lists the subcommands; each has its own help', () => {
  const r = runSmmf(['model', '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const sub of ['list', 'start', 'stop', 'restart', 'scale', 'chat'])
    assert.match(r.stdout, new RegExp(`^\\s+${sub}\\s`, 'm'), `model --help mentions ${sub}`);
  const opts = {
    list: ['--controller', '--model', '--json'],
    stop: ['--controller', '--worker'],
    scale: ['--controller', '--worker', '--replicas'],
    chat: ['--api', '--system', '--max-tokens', '--temperature'],
  };
  for (const [sub, list] of Object.entries(opts)) {
    const h = runSmmf(['model', sub, '--help']);
    assert.equal(h.code, 0, h.stderr);
    for (const o of list) assert.ok(h.stdout.includes(o), `model ${sub} --help mentions ${o}`);
  }
});

test('smmf model list shows both default models running and healthy', async () => {
  const r = await model('list');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^MODEL\s+TYPE\s+INSTANCE\s+ADDRESS\s+STATE\s+HEALTH\s+IN-FLIGHT\s+LAST HEARTBEAT$/);
  const rows = parseTable(r.stdout);
  assert.deepEqual(rows.map((x) => x.MODEL), ['tiny-chat', 'tiny-embed'], r.stdout);
  for (const row of rows) {
    assert.equal(row.STATE, 'running', r.stdout);
    assert.equal(row.HEALTH, 'healthy', r.stdout);
    assert.equal(row['IN-FLIGHT'], '0', r.stdout);
    assert.match(row['LAST HEARTBEAT'], /^\d+(\.\d)?s ago$|^\d+m \d\ds ago$/, r.stdout);
    assert.match(row.ADDRESS, /^http:\/\/127\.0\.0\.1:\d+/);
  }
  assert.equal(rows[0].TYPE, 'llm');
  assert.equal(rows[1].TYPE, 'embedding');
  // Columns are aligned: every cell of a column starts where its header does.
  const starts = ['TYPE', 'STATE', 'LAST HEARTBEAT'].map((h) => lines[0].indexOf(h));
  for (const line of lines.slice(1))
    for (const s of starts) assert.match(line.slice(s - 2, s), /^ {2}$/, `aligned:\n${r.stdout}`);
});

test('smmf model list --model filters, --json prints the records', async () => {
  const f = await model('list', '--model', 'tiny-embed');
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual(parseTable(f.stdout).map((x) => x.MODEL), ['tiny-embed']);

  const j = await model('list', '--json');
  assert.equal(j.code, 0, j.stderr);
  const data = JSON.parse(j.stdout);
  assert.ok(Array.isArray(data));
  assert.deepEqual(data.map((x) => x.model).sort(), ['tiny-chat', 'tiny-embed']);
  for (const rec of data) {
    assert.equal(rec.state, 'running');
    assert.equal(rec.healthy, true);
    assert.ok(Number.isInteger(rec.last_heartbeat_ms) && rec.last_heartbeat_ms > 1.6e12);
  }

  const none = await model('list', '--model', 'no-such-model');
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no instances of model 'no-such-model'/);
});

test('smmf model stop/start/restart tiny-chat', async () => {
  const stop = await model('stop', 'tiny-chat');
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'model tiny-chat: stopped on 1 worker(s)\n');
  await eventually(async () => assert.deepEqual(await listedModels(), ['tiny-embed']));
  const down = await chatStatus();
  assert.equal(down.status, 503, JSON.stringify(down.body));
  const listed = await model('list', '--model', 'tiny-chat');
  assert.equal(listed.code, 0, listed.stderr);
  for (const row of parseTable(listed.stdout)) assert.notEqual(row.STATE, 'running', listed.stdout);

  const start = await model('start', 'tiny-chat');
  assert.equal(start.code, 0, start.stderr);
  assert.equal(start.stdout, 'model tiny-chat: started on 1 worker(s)\n');
  await eventually(async () => assert.deepEqual(await listedModels(), ['tiny-chat', 'tiny-embed']));
  const up = await eventually(async () => {
    const r = await chatStatus();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r;
  });
  assert.equal(up.body.object, 'chat.completion');

  const restart = await model('restart', 'tiny-chat');
  assert.equal(restart.code, 0, restart.stderr);
  assert.equal(restart.stdout, 'model tiny-chat: restarted on 1 worker(s)\n');
  await eventually(async () => assert.equal((await chatStatus()).status, 200));
});

test('smmf model scale tiny-chat --replicas 2, then back to 1', async () => {
  const up = await model('scale', 'tiny-chat', '--replicas', '2');
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, 'model tiny-chat: scaled to 2 replica(s) on 1 worker(s)\n');
  const down = await model('scale', 'tiny-chat', '--replicas', '1');
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, 'model tiny-chat: scaled to 1 replica(s) on 1 worker(s)\n');
  const missing = await smmf(['model', 'scale', 'tiny-chat', '--controller', srv.base]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--replicas/);
});

test('an action on an unknown model fails with the server\'s message', async () => {
  const r = await model('stop', 'no-such-model');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^smmf model stop: .*no-such-model/m);
});

test('smmf model chat: a piped conversation with commands', async () => {
  await eventually(async () => assert.equal((await chatStatus()).status, 200));
  const input = 'hello\n/system be brief\nagain\n/clear\nbye\n/exit\nnot sent\n';
  const r = await smmf(['model', 'chat', 'tiny-chat', '--api', srv.base, '--max-tokens', '16'],
                       { input });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const footers = r.stdout.match(/^\[\d+ tokens, \d+\.\d\d s, \d+ tok\/s(, finish: length)?\]$/gm) || [];
  assert.equal(footers.length, 3, r.stdout);
  for (const f of footers) assert.ok(Number(f.match(/\[(\d+) tokens/)[1]) >= 1, f);
  // Each reply is the text between the echoed user line and its footer.
  const replies = [...r.stdout.matchAll(/^> (hello|again|bye)\n([\s\S]*?)\n\[\d+ tokens/gm)];
  assert.deepEqual(replies.map((m) => m[1]), ['hello', 'again', 'bye'], r.stdout);
  for (const m of replies) assert.ok(m[2].trim().length > 0, `reply to ${m[1]} is non-empty:\n${r.stdout}`);
  assert.match(r.stdout, /^system prompt set$/m);
  assert.match(r.stdout, /^conversation cleared$/m);
  assert.doesNotMatch(r.stdout, /not sent\n/);
});

test('smmf model chat ends at end of input and reports server errors without stopping', async () => {
  const r = await smmf(['model', 'chat', 'no-such-model', '--api', srv.base], { input: 'hi\n/help\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^error: .*no-such-model/m);
  assert.match(r.stdout, /\/system/, 'the help was printed after the error');
});

test('an unreachable controller: exit 1 and a clear message', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  for (const args of [['list'], ['stop', 'tiny-chat']]) {
    const r = await smmf(['model', ...args, '--controller', url]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach the controller at ${url.replace(/\./g, '\\.')}: `));
  }
  // $SMMF_CONTROLLER is the fallback for --controller.
  const env = await smmf(['model', 'list'], { env: { SMMF_CONTROLLER: url } });
  assert.equal(env.code, 1);
  assert.match(env.stderr, /cannot reach the controller at/);
  const bad = await smmf(['model', 'list', '--controller', 'not a url']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--controller/);
});
