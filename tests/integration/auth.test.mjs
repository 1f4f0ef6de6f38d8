// API keys, scopes, model allow-lists, per-key limits (429 + Retry-After), `smmf keys hash`
// and `smmf model --api-key`, on a real `smmf serve` with [[keys]]. CORS preflights need no key.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  startServer, callJson, srvFetch, postJson, assertError, tomlModel, runSmmf, readSse, SMMF_BIN,
} from './lib/server.mjs';

const CHAT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hello' }],
               max_tokens: 4, temperature: 0 };
const EMBED = { model: 'tiny-embed', input: 'hello' };
// A generation of seconds (EOS banned, long context): holds a concurrency slot.
const LONG = { model: 'tiny-chat', prompt: 'Once upon a time', temperature: 0,
               logit_bias: { 2: -100 }, max_tokens: 4000, stream: true };

/// Makes a key with `smmf keys hash --generate`: { key, hash }.
function newKey() {
  const r = runSmmf(['keys', 'hash', '--generate']);
  assert.equal(r.code, 0, r.stderr);
  const key = r.stdout.match(/^key = "([^"]+)"/m)[1];
  const hash = r.stdout.match(/^hash = "([^"]+)"/m)[1];
  return { key, hash };
}

const K = {};
let srv;

function bearer(name) { return { authorization: `Bearer ${K[name].key}` }; }
async function chatAs(name, body = CHAT, extra = {}) {
  return callJson(srv, '/v1/chat/completions', body,
                  { headers: name ? { ...bearer(name), ...extra } : extra });
}

before(async () => {
  for (const n of ['user', 'admin', 'ops', 'rpm', 'conc', 'tpm']) K[n] = newKey();
  const key = (name, extra = '') => `[[keys]]\nname = "${name}"\nhash = "${K[name].hash}"\n${extra}\n`;
  const config =
    '[server]\ncors_origins = ["https://app.example"]\n\n' +
    key('user', 'models = ["tiny-chat"]') +
    key('admin', 'scopes = ["inference", "admin"]') +
    key('ops', 'scopes = ["admin"]') +
    key('rpm', 'requests_per_minute = 2') +
    key('conc', 'max_concurrent = 1') +
    key('tpm', 'tokens_per_minute = 5') +
    tomlModel({ name: 'tiny-chat', params: { parallel: 2, ctx_size: 8192 } }) +
    tomlModel({ name: 'tiny-embed', type: 'embedding' });
  srv = await startServer({ config });
});
after(async () => { await srv?.stop(); });

describe('smmf keys hash', () => {
  test('hashes a key read from stdin as sha256:<hex>', () => {
    const key = 'a-long-enough-test-key-0123456789';
    const r = spawnSync(SMMF_BIN, ['keys', 'hash'],
                        { input: `${key}\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(),
                 `hash = "sha256:${createHash('sha256').update(key).digest('hex')}"`);
  });

  test('refuses an empty or short key', () => {
    const bin = SMMF_BIN;
    let r = spawnSync(bin, ['keys', 'hash'], { input: '\n', encoding: 'utf8' });
    assert.equal(r.status, 2);
    r = spawnSync(bin, ['keys', 'hash'], { input: 'short\n', encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /at least 20/);
    r = spawnSync(bin, ['keys', 'hash', '--allow-short'], { input: 'short\n', encoding: 'utf8' });
    assert.equal(r.status, 0);
  });

  test('--generate makes a different 256-bit key each time, printed with its hash', () => {
    const a = newKey();
    const b = newKey();
    assert.notEqual(a.key, b.key);
    assert.match(a.key, /^smmf-[A-Za-z0-9_-]{43}$/);
    assert.equal(a.hash, `sha256:${createHash('sha256').update(a.key).digest('hex')}`);
  });
});

describe('authentication', () => {
  test('no key: 401 invalid_api_key with WWW-Authenticate', async () => {
    const r = await chatAs(null);
    assertError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    const m = await srvFetch(srv, '/v1/models');
    assert.equal(m.status, 401);
  });

  test('a wrong key: 401', async () => {
    const r = await callJson(srv, '/v1/chat/completions', CHAT,
                             { headers: { authorization: 'Bearer smmf-not-a-real-key-000000000000' } });
    assertError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    const r2 = await callJson(srv, '/v1/chat/completions', CHAT, { headers: { authorization: 'Basic eDp5' } });
    assert.equal(r2.status, 401);
  });

  test('a good key works as Authorization: Bearer and as api-key', async () => {
    const r = await chatAs('user');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const r2 = await callJson(srv, '/v1/chat/completions', CHAT, { headers: { 'api-key': K.user.key } });
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    await srv.waitAccessLine('POST', '/v1/chat/completions', 3);
    assert.ok(srv.accessLines('POST', '/v1/chat/completions').some((l) => / 200 .*key=user/.test(l)),
              'the access log names the key');
  });

  test('/healthz needs no key', async () => {
    const r = await srvFetch(srv, '/healthz');
    assert.equal(r.status, 200);
  });
});

describe('scopes and model allow-lists', () => {
  test('an inference key on a management route: 403 permission_error', async () => {
    const r = await srvFetch(srv, '/api/v1/models', { headers: bearer('user') });
    const body = await r.json();
    assertError({ status: r.status, body }, { status: 403, type: 'permission_error' });
    assert.match(body.error.message, /'admin' scope/);
  });

  test('an admin-only key on an inference route: 403', async () => {
    const r = await chatAs('ops');
    assertError(r, { status: 403, type: 'permission_error' });
  });

  test('an admin key manages; without a key management is 401', async () => {
    const r = await srvFetch(srv, '/api/v1/models', { headers: bearer('admin') });
    assert.equal(r.status, 200);
    const r2 = await srvFetch(srv, '/api/v1/instances');
    assert.equal(r2.status, 401);
    const r3 = await srvFetch(srv, '/api/v1/models/tiny-embed/stop', { method: 'POST' });
    assert.equal(r3.status, 401);
  });

  test('a model outside the allow-list is 404 model_not_found and not listed', async () => {
    const r = await callJson(srv, '/v1/embeddings', EMBED, { headers: bearer('user') });
    assertError(r, { status: 404, param: 'model', code: 'model_not_found' });
    assert.match(r.body.error.message, /does not exist or you do not have access/);
    const list = await (await srvFetch(srv, '/v1/models', { headers: bearer('user') })).json();
    assert.deepEqual(list.data.map((m) => m.id), ['tiny-chat']);
    const one = await srvFetch(srv, '/v1/models/tiny-embed', { headers: bearer('user') });
    assert.equal(one.status, 404);
    // The admin key has no allow-list.
    const all = await (await srvFetch(srv, '/v1/models', { headers: bearer('admin') })).json();
    assert.deepEqual(all.data.map((m) => m.id).sort(), ['tiny-chat', 'tiny-embed']);
    const e = await callJson(srv, '/v1/embeddings', EMBED, { headers: bearer('admin') });
    assert.equal(e.status, 200);
  });

  test('smmf model list takes --api-key or SMMF_API_KEY', () => {
    let r = runSmmf(['model', 'list', '--controller', srv.base]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /API key/);
    r = runSmmf(['model', 'list', '--controller', srv.base, '--api-key', K.admin.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tiny-chat/);
    r = runSmmf(['model', 'list', '--controller', srv.base], { env: { SMMF_API_KEY: K.admin.key } });
    assert.equal(r.code, 0, r.stderr);
    r = runSmmf(['model', 'list', '--controller', srv.base, '--api-key', K.user.key]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /scope/);
  });

  test('smmf model chat sends --api-key', () => {
    const chat = (args) => spawnSync(SMMF_BIN, ['model', 'chat', 'tiny-chat', '--api', srv.base,
                                                '--max-tokens', '4', ...args],
                                     { input: 'hello\n', encoding: 'utf8', timeout: 60000 });
    let r = chat(['--api-key', K.user.key]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\[\d+ tokens?,/);
    assert.doesNotMatch(r.stderr, /error/);
    r = chat([]);
    assert.match(r.stderr, /error: .*API key/);
  });
});

describe('limits', () => {
  test('requests_per_minute: the third request within a minute is 429 with Retry-After', async () => {
    assert.equal((await chatAs('rpm')).status, 200);
    assert.equal((await chatAs('rpm')).status, 200);
    const r = await chatAs('rpm');
    assertError(r, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    assert.match(r.body.error.message, /requests per minute/);
    const after = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(after) && after >= 1 && after <= 30, `Retry-After ${after}`);
    // Other keys are not affected.
    assert.equal((await chatAs('user')).status, 200);
  });

  test('tokens_per_minute: counted after the call; the next call is 429', async () => {
    const r = await chatAs('tpm');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.usage.total_tokens > 5, 'the call used more than the budget');
    const r2 = await chatAs('tpm');
    assertError(r2, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    assert.match(r2.body.error.message, /tokens per minute/);
    assert.ok(Number(r2.headers.get('retry-after')) >= 1);
  });

  test('max_concurrent: a second request while one streams is 429; after it ends, 200', async () => {
    const ac = new AbortController();
    const res = await postJson(srv, '/v1/completions', LONG, { headers: bearer('conc'), signal: ac.signal });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    await reader.read();  // the stream runs
    const r = await chatAs('conc');
    assertError(r, { status: 429, code: 'rate_limit_exceeded' });
    assert.match(r.body.error.message, /in flight/);
    assert.equal(r.headers.get('retry-after'), '1');
    ac.abort();
    await reader.cancel().catch(() => {});
    // The slot comes back once the server sees the client go.
    const deadline = Date.now() + 15000;
    for (;;) {
      const again = await chatAs('conc');
      if (again.status === 200) break;
      assert.equal(again.status, 429);
      assert.ok(Date.now() < deadline, 'the concurrency slot was never released');
      await new Promise((ok) => setTimeout(ok, 100));
    }
  });
});

describe('CORS', () => {
  test('a preflight needs no key and answers 204 for an allowed origin', async () => {
    const r = await srvFetch(srv, '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
                 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(r.headers.get('access-control-allow-methods'), /POST/);
    assert.equal(r.headers.get('access-control-allow-headers'), 'authorization, content-type');
  });

  test('a preflight from another origin is 403 without CORS headers', async () => {
    const r = await srvFetch(srv, '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('responses, errors and SSE streams carry the CORS headers', async () => {
    const origin = { origin: 'https://app.example' };
    const ok = await chatAs('admin', CHAT, origin);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(ok.headers.get('access-control-expose-headers'), /retry-after/);
    const denied = await chatAs(null, CHAT, origin);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), 'https://app.example');
    const res = await postJson(srv, '/v1/chat/completions', { ...CHAT, stream: true },
                               { headers: { ...bearer('admin'), ...origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    const sse = await readSse(res);
    assert.ok(sse.done);
    const other = await chatAs('admin', CHAT, { origin: 'https://evil.example' });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
