// The HTTP layer: health, routing errors, malformed requests, keep-alive, limits and timeouts.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, callJson, getJson, assertError, RawConnection, rawExchange,
  httpRequest, tomlModel, stream,
} from './lib/server.mjs';

const CHAT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hello' }],
               max_tokens: 4, temperature: 0 };

describe('default server', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.stop(); });

  test('GET /healthz answers 200 {"status":"ok"} as JSON', async () => {
    const r = await fetch(srv.url('/healthz'));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(await r.json(), { status: 'ok' });
  });

  test('unknown route answers 404 with an OpenAI error body', async () => {
    const r = await getJson(srv, '/v1/nothing-here');
    assertError(r, { status: 404, param: null });
    const r2 = await callJson(srv, '/v2/chat/completions', CHAT);
    assertError(r2, { status: 404, param: null });
  });

  test('wrong method on a known route answers 405', async () => {
    const r = await getJson(srv, '/v1/chat/completions');
    assertError(r, { status: 405, param: null });
    const r2 = await fetch(srv.url('/v1/models'), { method: 'DELETE' });
    assert.equal(r2.status, 405);
    assertError({ status: r2.status, body: await r2.json() }, { status: 405, param: null });
    const r3 = await callJson(srv, '/healthz', {});
    assertError(r3, { status: 405, param: null });
  });

  test('malformed JSON answers 400 invalid_request_error', async () => {
    for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
      const r = await callJson(srv, p, '{"model": "tiny-chat", "messages": [');
      assertError(r, { status: 400, param: null, type: 'invalid_request_error' });
    }
  });

  test('a JSON body that is not an object answers 400', async () => {
    const r = await callJson(srv, '/v1/chat/completions', '[1,2,3]');
    assertError(r, { status: 400, type: 'invalid_request_error' });
    const r2 = await callJson(srv, '/v1/chat/completions', '');
    assertError(r2, { status: 400, type: 'invalid_request_error' });
  });

  test('malformed HTTP answers 400 and closes the connection', async () => {
    const res = await rawExchange(srv.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.equal(res.status, 400);
    assert.ok(res.closedAfter, 'connection closed after the 400');
    const body = JSON.parse(res.body);
    assert.equal(typeof body.error.message, 'string');
    // A bad header line too.
    const res2 = await rawExchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n');
    assert.equal(res2.status, 400);
    assert.ok(res2.closedAfter);
    // The server is still fine.
    assert.equal((await fetch(srv.url('/healthz'))).status, 200);
  });

  test('keep-alive: several requests on one socket, then Connection: close', async () => {
    const c = await RawConnection.connect(srv.port);
    try {
      const bodies = [];
      for (let i = 0; i < 3; i++) {
        await c.write(httpRequest('GET', '/v1/models', { port: srv.port }));
        const r = await c.readResponse();
        assert.equal(r.status, 200, r.body);
        assert.notEqual((r.headers.connection || '').toLowerCase(), 'close');
        bodies.push(JSON.parse(r.body));
      }
      assert.deepEqual(bodies[1], bodies[0]);
      assert.deepEqual(bodies[2], bodies[0]);
      // A generation and an error on the same connection do not end it.
      await c.write(httpRequest('POST', '/v1/chat/completions', { body: JSON.stringify(CHAT), port: srv.port }));
      const chat = await c.readResponse({ timeoutMs: 30000 });
      assert.equal(chat.status, 200, chat.body);
      assert.equal(JSON.parse(chat.body).object, 'chat.completion');
      await c.write(httpRequest('POST', '/v1/chat/completions', { body: '{"model":"tiny-chat"}', port: srv.port }));
      const bad = await c.readResponse();
      assert.equal(bad.status, 400);
      // A streamed generation (chunked) on the same connection, then one more request.
      await c.write(httpRequest('POST', '/v1/chat/completions', { body: JSON.stringify({ ...CHAT, stream: true }), port: srv.port }));
      const sse = await c.readResponse({ timeoutMs: 30000 });
      assert.equal(sse.status, 200);
      assert.match(sse.headers['transfer-encoding'] || '', /chunked/);
      assert.ok(sse.body.trimEnd().endsWith('data: [DONE]'), sse.body);
      await c.write(httpRequest('GET', '/healthz', { port: srv.port }));
      assert.equal((await c.readResponse()).status, 200);
      assert.equal(c.closed, false, 'connection still open');
      await c.write(httpRequest('GET', '/healthz', { port: srv.port, headers: { connection: 'close' } }));
      const last = await c.readResponse();
      assert.equal(last.status, 200);
      assert.equal((last.headers.connection || '').toLowerCase(), 'close');
      assert.ok(await c.waitClosed({ timeoutMs: 3000 }), 'server closed after Connection: close');
    } finally {
      c.destroy();
    }
  });

  test('pipelined requests are answered in order', async () => {
    const c = await RawConnection.connect(srv.port);
    try {
      await c.write(httpRequest('GET', '/healthz', { port: srv.port }) +
                    httpRequest('GET', '/v1/models/tiny-chat', { port: srv.port }) +
                    httpRequest('GET', '/nope', { port: srv.port }));
      const a = await c.readResponse();
      const b = await c.readResponse();
      const d = await c.readResponse();
      assert.deepEqual([a.status, b.status, d.status], [200, 200, 404]);
      assert.equal(JSON.parse(b.body).id, 'tiny-chat');
    } finally {
      c.destroy();
    }
  });

  test('HTTP/1.0 without keep-alive is answered and closed', async () => {
    const res = await rawExchange(srv.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
    assert.ok(res.closedAfter);
  });

  test('generation responses carry x-request-id matching the response id', async () => {
    const a = await callJson(srv, '/v1/chat/completions', CHAT);
    assert.equal(a.status, 200);
    const idA = a.headers.get('x-request-id');
    assert.ok(idA, 'x-request-id present');
    assert.equal(idA, a.body.id);
    const b = await callJson(srv, '/v1/completions', { model: 'tiny-chat', prompt: 'Hi', max_tokens: 2 });
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-request-id'), b.body.id);
    assert.notEqual(b.body.id, idA, 'ids are unique');
    const s = await stream(srv, '/v1/chat/completions', CHAT);
    const idS = s.res.headers.get('x-request-id');
    assert.ok(idS);
    for (const c of s.chunks) assert.equal(c.id, idS);
  });

  test('failed generation calls carry x-request-id too', async () => {
    const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, temperature: 5 });
    assert.equal(r.status, 400);
    assert.ok(r.headers.get('x-request-id'), 'x-request-id on a 400 from /v1/chat/completions');
    const r2 = await callJson(srv, '/v1/completions', { model: 'no-such-model', prompt: 'x' });
    assert.equal(r2.status, 404);
    assert.ok(r2.headers.get('x-request-id'), 'x-request-id on a 404 from /v1/completions');
  });

  test('every request gets one access-log line with method, path and status', async () => {
    const before = srv.accessLines('GET', '/v1/models/tiny-embed').length;
    const r = await fetch(srv.url('/v1/models/tiny-embed'));
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const r404 = await fetch(srv.url('/v1/models/definitely-missing'));
    assert.equal(r404.status, 404);
    await r404.arrayBuffer();
    await srv.waitForLine(/GET \/v1\/models\/definitely-missing 404 /);
    assert.equal(srv.accessLines('GET', '/v1/models/tiny-embed').length, before + 1);
    assert.equal(srv.accessLines('GET', '/v1/models/definitely-missing').length, 1);
  });
});

describe('server with small limits (max_body_bytes = 1024, header_timeout = 1)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nmax_body_bytes = 1024\nmax_header_bytes = 2048\nheader_timeout = 1\n' +
              'shutdown_grace = 5\n\n' + tomlModel({ name: 'tiny-chat' }),
    });
  });
  after(async () => { await srv?.stop(); });

  // A chat body of exactly `size` bytes.
  function chatBodyOfSize(size) {
    const base = JSON.stringify({ ...CHAT, messages: [{ role: 'user', content: '' }] });
    const body = JSON.stringify({ ...CHAT, messages: [{ role: 'user', content: 'a'.repeat(size - base.length) }] });
    assert.equal(body.length, size);
    return body;
  }

  test('a body over the limit answers 413 (fetch)', async () => {
    const r = await callJson(srv, '/v1/chat/completions', chatBodyOfSize(1025));
    assertError(r, { status: 413, param: null, code: 'payload_too_large' });
  });

  test('a body over the limit answers 413 and closes (raw socket)', async () => {
    const res = await rawExchange(srv.port, httpRequest('POST', '/v1/chat/completions', { body: chatBodyOfSize(4000), port: srv.port }));
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error.code, 'payload_too_large');
    assert.ok(res.closedAfter, 'closed after 413');
  });

  test('a Content-Length over the limit answers 413 without the body being sent', async () => {
    const res = await rawExchange(srv.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
                                  'Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n');
    assert.equal(res.status, 413);
    assert.ok(res.closedAfter);
  });

  test('a chunked body over the limit answers 413', async () => {
    const chunk = 'x'.repeat(600);
    const data = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                 'Transfer-Encoding: chunked\r\n\r\n' +
                 `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(3) + '0\r\n\r\n';
    const res = await rawExchange(srv.port, data);
    assert.equal(res.status, 413);
  });

  test('a body of exactly the limit is accepted', async () => {
    const r = await callJson(srv, '/v1/chat/completions', chatBodyOfSize(1024));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.object, 'chat.completion');
  });

  test('a header over max_header_bytes answers 431', async () => {
    const res = await rawExchange(srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4000)}\r\n\r\n`);
    assert.equal(res.status, 431);
    assert.ok(res.closedAfter);
  });

  test('slow headers time out with 408 after header_timeout', async () => {
    const c = await RawConnection.connect(srv.port);
    try {
      const t0 = Date.now();
      await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // never finished
      const res = await c.readResponse({ timeoutMs: 8000 });
      const elapsed = Date.now() - t0;
      assert.equal(res.status, 408);
      assert.ok(elapsed >= 900 && elapsed < 5000, `408 after ${elapsed} ms (header_timeout = 1 s)`);
      assert.ok(await c.waitClosed({ timeoutMs: 3000 }), 'closed after 408');
    } finally {
      c.destroy();
    }
  });

  test('a connection that sends nothing is closed after header_timeout', async () => {
    const c = await RawConnection.connect(srv.port);
    try {
      assert.ok(await c.waitClosed({ timeoutMs: 5000 }), 'idle new connection closed');
    } finally {
      c.destroy();
    }
  });

  test('the server still serves after all of that', async () => {
    const r = await callJson(srv, '/v1/chat/completions', CHAT);
    assert.equal(r.status, 200);
    assert.equal(r.body.choices.length, 1);
  });
});
