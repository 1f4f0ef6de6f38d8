// Network paths of the remote engines: HTTPS with certificate and host-name verification
// against a CA the test makes with `openssl` (params.ca_file), HTTPS_PROXY through a CONNECT
// tunnel (with Proxy-Authorization from the proxy URL), HTTP_PROXY in absolute form, NO_PROXY
// and params.proxy = "none" bypassing it, a per-model proxy, and a per-model first-byte timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, assertError } from './lib/server.mjs';
import { startMock } from './lib/mock_http.mjs';
import { openaiHandler, REPLY } from './lib/mock_openai.mjs';
import { makeCerts, startProxy } from './lib/tls_proxy.mjs';

const KEY = 'sk-network-test-key';
const PROXY_PASSWORD = 'pw-PROXY-SECRET';
let srv, tlsMock, plainMock, proxy, proxy2, certs;

const model = (name, params) => {
  const kv = Object.entries({ api_key: KEY, ...params }).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
  return `[[models]]\nname = "${name}"\nengine = "openai_compat"\nparams = { ${kv} }\n\n`;
};

before(async () => {
  certs = makeCerts(['api.mock.test', 'localhost']);
  const auth = { header: 'authorization', value: `Bearer ${KEY}` };
  tlsMock = await startMock(openaiHandler({ auth }), { tls: { key: certs.key, cert: certs.cert } });
  plainMock = await startMock(openaiHandler({ auth }));
  proxy = await startProxy({ auth: `Basic ${Buffer.from(`user:${PROXY_PASSWORD}`).toString('base64')}` });
  proxy2 = await startProxy();
  const t = tlsMock.port;
  const config =
    model('tls-ca', { base_url: `https://127.0.0.1:${t}/v1`, ca_file: certs.caFile, proxy: 'none', upstream_model: 'direct-ip' }) +
    model('tls-noca', { base_url: `https://127.0.0.1:${t}/v1`, proxy: 'none' }) +
    model('tls-wrong-name', { base_url: `https://wrong.mock.test:${t}/v1`, ca_file: certs.caFile }) +
    model('via-proxy', { base_url: `https://api.mock.test:${t}/v1`, ca_file: certs.caFile, upstream_model: 'tunnelled' }) +
    model('http-via-proxy', { base_url: `http://plain.mock.test:${plainMock.port}/v1`, upstream_model: 'absolute' }) +
    model('bypass', { base_url: `https://localhost:${t}/v1`, ca_file: certs.caFile, upstream_model: 'bypassed' }) +
    model('own-proxy', { base_url: `https://api.mock.test:${t}/v1`, ca_file: certs.caFile, proxy: `http://127.0.0.1:${proxy2.port}`, upstream_model: 'own' }) +
    model('slow', { base_url: `http://127.0.0.1:${plainMock.port}/v1`, proxy: 'none', first_byte_timeout_ms: 300, upstream_model: 'slow' });
  const proxyUrl = `http://user:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
  srv = await startServer({ config, args: ['--log-level', 'debug'],
                            env: { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1',
                                   https_proxy: '', http_proxy: '', no_proxy: '' } });
});
after(async () => {
  await srv?.stop();
  for (const m of [tlsMock, plainMock, proxy, proxy2]) await m?.close();
});

const ask = (m) => callJson(srv, '/v1/chat/completions', { model: m, messages: [{ role: 'user', content: 'hi' }] });

test('https with the test CA verifies the certificate; without it the handshake fails', async () => {
  const ok = await ask('tls-ca');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.choices[0].message.content, REPLY);
  assert.equal(tlsMock.last().body.model, 'direct-ip');
  const bad = await ask('tls-noca');
  assertError(bad, { status: 503 });
  assert.match(bad.body.error.message, /TLS handshake/);
  const n = tlsMock.requests.length;
  const wrong = await ask('tls-wrong-name');  // through the proxy, to a name the cert lacks
  assertError(wrong, { status: 503 });
  assert.match(wrong.body.error.message, /TLS handshake/);
  assert.equal(tlsMock.requests.length, n, 'no request reached the upstream');
});

test('HTTPS_PROXY: a CONNECT tunnel with Proxy-Authorization, TLS end to end', async () => {
  const r = await ask('via-proxy');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, REPLY);
  const c = proxy.log.find((e) => e.method === 'CONNECT' && e.target === `api.mock.test:${tlsMock.port}`);
  assert.ok(c, `CONNECT seen by the proxy: ${JSON.stringify(proxy.log)}`);
  assert.equal(c.auth, `Basic ${Buffer.from(`user:${PROXY_PASSWORD}`).toString('base64')}`);
  const up = tlsMock.last((q) => q.body?.model === 'tunnelled');
  assert.equal(up.headers.host, `api.mock.test:${tlsMock.port}`);
  assert.equal(up.headers['proxy-authorization'], undefined, 'proxy credentials stay with the proxy');
});

test('HTTP_PROXY: absolute-form requests', async () => {
  const r = await ask('http-via-proxy');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const e = proxy.log.find((x) => x.method === 'POST');
  assert.equal(e.target, `http://plain.mock.test:${plainMock.port}/v1/chat/completions`);
  assert.ok(plainMock.last((q) => q.body?.model === 'absolute'));
});

test('NO_PROXY and proxy = "none" bypass the proxy; params.proxy picks another one', async () => {
  const r = await ask('bypass');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(tlsMock.last((q) => q.body?.model === 'bypassed'));
  assert.ok(!proxy.log.some((e) => e.target.includes('localhost') || e.target.includes('127.0.0.1')),
            JSON.stringify(proxy.log));
  const before = proxy.log.length;
  const o = await ask('own-proxy');
  assert.equal(o.status, 200, JSON.stringify(o.body));
  assert.equal(proxy.log.length, before);
  assert.ok(proxy2.log.some((e) => e.method === 'CONNECT' && e.target === `api.mock.test:${tlsMock.port}`));
});

test('a per-model first-byte timeout ends a silent upstream call with 504', async () => {
  const t0 = Date.now();
  const r = await ask('slow');
  assertError(r, { status: 504, type: 'timeout_error' });
  assert.ok(Date.now() - t0 < 2900, 'answered before the upstream did');
});

test('neither the proxy password nor the API key is logged', () => {
  assert.ok(!srv.log().includes(PROXY_PASSWORD));
  assert.ok(!srv.log().includes(KEY));
});
