// HTTPS on every listener: `smmf serve` with [server] tls_cert/tls_key, a certificate made here
// with the openssl CLI, checked with curl --cacert (JSON, SSE streams, keep-alive reuse), and
// a cluster (controller, worker, API server) over HTTPS trusting it through [cluster] ca_file.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, tomlModel, sleep, CHAT_MODEL_PATH } from './lib/server.mjs';
import { spawnSmmf } from './lib/cluster.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'smmf-tls-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const CERT = path.join(dir, 'cert.pem');
const KEY = path.join(dir, 'key.pem');

function makeCert() {
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', KEY, '-out', CERT, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/// Runs curl; resolves { code, stdout, stderr }.
function curl(args, { input } = {}) {
  return new Promise((resolve) => {
    const c = spawn('curl', ['-sS', '--max-time', '60', ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    if (input !== undefined) c.stdin.end(input);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const CHAT = JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'Hi' }],
                              max_tokens: 4, temperature: 0 });

async function waitHealthy(url) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const r = await curl(['--cacert', CERT, '-o', '/dev/null', '-w', '%{http_code}', url]);
    if (r.stdout === '200') return;
    assert.ok(Date.now() < deadline, `not healthy: ${url} ${r.stdout} ${r.stderr}`);
    await sleep(200);
  }
}

describe('smmf serve over HTTPS', () => {
  let srv;
  before(async () => {
    makeCert();
    srv = await startServer({
      waitReady: false,
      config: `[server]\ntls_cert = "${CERT}"\ntls_key = "${KEY}"\nshutdown_grace = 5\n\n` +
              tomlModel({ name: 'tiny-chat' }),
    });
    assert.equal(srv.scheme, 'https');
    await srv.waitForLine(/ready: \d+ model\(s\) running/, { timeoutMs: 60000 });
    await waitHealthy(srv.url('/healthz'));
  });
  after(async () => { await srv?.stop(); });

  test('a chat call over HTTPS with curl --cacert', async () => {
    const r = await curl(['--cacert', CERT, '-H', 'content-type: application/json', '-d', CHAT,
                          srv.url('/v1/chat/completions')]);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.object, 'chat.completion');
  });

  test('an SSE stream over HTTPS ends with [DONE]', async () => {
    const body = JSON.stringify({ ...JSON.parse(CHAT), stream: true });
    const r = await curl(['-N', '--cacert', CERT, '-H', 'content-type: application/json', '-d',
                          body, srv.url('/v1/chat/completions')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^data: \{/);
    assert.match(r.stdout, /data: \[DONE\]\n\n$/);
  });

  test('keep-alive: two requests on one TLS connection', async () => {
    const r = await curl(['-v', '--cacert', CERT, srv.url('/healthz'), srv.url('/v1/models')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Re-using existing connection/);
    assert.match(r.stdout, /"status":"ok"/);
    assert.match(r.stdout, /tiny-chat/);
  });

  test('an untrusted certificate is refused by curl; plain HTTP gets no answer', async () => {
    const r = await curl([srv.url('/healthz')]);
    assert.equal(r.code, 60, `curl exit ${r.code}: ${r.stderr}`);  // peer certificate not trusted
    const plain = await curl([`http://127.0.0.1:${srv.port}/healthz`]);
    assert.notEqual(plain.code, 0, 'plain HTTP on the TLS port must fail');
    // The server is unharmed.
    await waitHealthy(srv.url('/healthz'));
  });
});

describe('a cluster over HTTPS', () => {
  const procs = [];
  after(async () => {
    for (const p of procs.reverse()) await p.stop({ timeoutMs: 15000 }).catch(() => p.kill());
  });

  test('worker and API server reach the controller and each other over HTTPS', async () => {
    const tls = `[server]\ntls_cert = "${CERT}"\ntls_key = "${KEY}"\nshutdown_grace = 5\n` +
                `[cluster]\nca_file = "${CERT}"\n`;
    const file = (name, text) => { const p = path.join(dir, name); writeFileSync(p, text); return p; };
    const controller = await spawnSmmf(['start', 'controller', '--host', '127.0.0.1', '--port', '0',
      '--heartbeat-interval-ms', '500', '--config', file('c.toml', tls)], { name: 'controller' });
    procs.push(controller);
    const ctl = `https://127.0.0.1:${controller.port}`;
    const worker = await spawnSmmf(['start', 'worker', '--host', '127.0.0.1', '--port', '0',
      '--controller', ctl, '--id', 'w1', '--config', file('w.toml', tls +
        `[[models]]\nname = "chat"\npath = "${CHAT_MODEL_PATH}"\nparams = { threads = 1 }\n`)],
    { name: 'worker' });
    procs.push(worker);
    const api = await spawnSmmf(['start', 'apiserver', '--host', '127.0.0.1', '--port', '0',
      '--controller', ctl, '--config', file('a.toml', tls)], { name: 'apiserver' });
    procs.push(api);
    const url = `https://127.0.0.1:${api.port}/v1/chat/completions`;
    const body = JSON.stringify({ ...JSON.parse(CHAT), model: 'chat' });
    const deadline = Date.now() + 60000;
    for (;;) {
      const r = await curl(['--cacert', CERT, '-H', 'content-type: application/json', '-d', body, url]);
      if (r.code === 0 && r.stdout.includes('"chat.completion"')) break;
      assert.ok(Date.now() < deadline, `no answer through the HTTPS cluster: ${r.stdout} ${r.stderr}\n` +
                `${worker.log()}\n${api.log()}`);
      await sleep(300);
    }
    assert.match(worker.log(), /listening on https:/);
  });
});
