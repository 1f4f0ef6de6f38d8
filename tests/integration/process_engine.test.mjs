// engine = "process": SMMF launches llama.cpp's llama-server (SMMF_LLAMA_SERVER, passed by CMake)
// on the tiny chat model, routes to it, brings it back after kill -9, and shows the log tail of
// a command that fails to start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  startServer, callJson, getJson, runSmmf, tmpFile, CHAT_MODEL_PATH, sleep,
} from './lib/server.mjs';

const LLAMA_SERVER = process.env.SMMF_LLAMA_SERVER || '';
const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

function processModel({ name, command, extra = '' }) {
  return `[[models]]\nname = "${name}"\nengine = "process"\npath = "${CHAT_MODEL_PATH}"\n` +
    `params = { command = ${JSON.stringify(command)}, restart_backoff_ms = 200, start_timeout_ms = 60000${extra} }\n\n`;
}

async function labels(srv, name) {
  const r = await getJson(srv, '/api/v1/models');
  const m = r.body.data.find((x) => x.name === name);
  assert.ok(m, JSON.stringify(r.body));
  return m.labels;
}

const chatOnce = (srv) => callJson(srv, '/v1/chat/completions', {
  model: 'managed', messages: [{ role: 'user', content: 'hello' }], max_tokens: 4,
});

test('a managed llama-server: serves, is restarted after kill -9, serves again', { skip: !existsSync(LLAMA_SERVER) && 'llama-server not built' }, async () => {
  const srv = await startServer({
    timeoutMs: 120000,
    config: processModel({
      name: 'managed',
      command: [LLAMA_SERVER, '-m', '{path}', '--host', '{host}', '--port', '{port}', '-t', '1', '-c', '512', '-np', '1', '--no-webui'],
    }),
  });
  servers.push(srv);
  let r = await chatOnce(srv);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.object, 'chat.completion');

  const before = await labels(srv, 'managed');
  assert.equal(before.process, 'running');
  const pid = Number(before.pid);
  assert.ok(pid > 0, JSON.stringify(before));
  assert.ok(Number(before.port) > 0);
  assert.match(before.log_tail, /\S/, 'the child output is kept');
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();

  // While it is down calls answer 503; then the new process serves.
  let after2;
  for (;;) {
    after2 = await labels(srv, 'managed');
    if (after2.process === 'running' && Number(after2.pid) > 0 && Number(after2.pid) !== pid) break;
    assert.ok(Date.now() - killedAt < 90000, `not restarted: ${JSON.stringify(after2)}`);
    await sleep(100);
  }
  console.log(`restarted as pid ${after2.pid} ${Date.now() - killedAt} ms after kill -9`);
  assert.equal(after2.restarts, '1');
  assert.throws(() => process.kill(pid, 0), 'the old process is gone');
  r = await chatOnce(srv);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(srv.lines.some((l) => /killed by signal 9; restarting/.test(l)), srv.log());

  // Stopping the model stops the process.
  const newPid = Number(after2.pid);
  const st = await callJson(srv, '/api/v1/models/managed/stop', {});
  assert.equal(st.status, 200);
  assert.throws(() => process.kill(newPid, 0), 'stopping the model ended its process');
});

test('a command that fails to start: the error shows its last output lines', async () => {
  const cfg = tmpFile(`proc-${process.pid}.toml`, processModel({
    name: 'broken', command: ['sh', '-c', 'echo "starting up"; echo "fatal: no GPU found (code 1234)" >&2; exit 3'],
  }));
  const r = runSmmf(['serve', '--port', '0', '--config', cfg], { timeoutMs: 60000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /exited with code 3 before \/health answered 200/);
  assert.match(r.stderr, /fatal: no GPU found \(code 1234\)/);
  assert.match(r.stderr, /starting up/);
});

test('process engine params are validated', () => {
  for (const [extra, want] of [
    [', protocol = "grpc"', /params\.protocol/],
    [', health_path = "health"', /params\.health_path/],
    [', bogus = 1', /params\.bogus/],
  ]) {
    const cfg = tmpFile(`procv-${Math.random()}.toml`, processModel({ name: 'v', command: ['true'], extra }));
    const r = runSmmf(['serve', '--port', '0', '--config', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
  }
});
