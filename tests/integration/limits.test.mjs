// Connection-level limits against abusive clients: a slowloris client (a byte a second) is cut
// at header_timeout counted from its accept while others are served; max_connections refuses
// new connections at once while the existing ones keep working; request_timeout answers 504
// (or cuts a started stream) and frees the generation.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, callJson, postJson, tomlModel, RawConnection, httpRequest, sleep, assertError,
} from './lib/server.mjs';

const CHAT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hello' }],
               max_tokens: 4, temperature: 0 };
// A generation of seconds (EOS banned, long context), well past a 2 s request timeout.
const LONG = { model: 'tiny-chat', prompt: 'Once upon a time', temperature: 0,
               logit_bias: { 2: -100 } };

describe('slowloris (header_timeout = 2)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nheader_timeout = 2\nshutdown_grace = 5\n\n' + tomlModel({ name: 'tiny-chat' }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('a client sending a byte a second is cut at header_timeout; others are served meanwhile',
       async () => {
    const c = await RawConnection.connect(srv.port);
    const t0 = Date.now();
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'p'.repeat(100);
    let sent = 0;
    let stop = false;
    const drip = (async () => {
      while (!stop && !c.closed && sent < request.length) {
        await c.write(request[sent++]).catch(() => { stop = true; });
        await sleep(1000);
      }
    })();
    try {
      // A normal request while the slow one drips.
      await sleep(500);
      const r = await callJson(srv, '/v1/chat/completions', CHAT);
      assert.equal(r.status, 200);
      assert.ok(await c.waitClosed({ timeoutMs: 8000 }), 'slowloris connection closed');
      const elapsed = Date.now() - t0;
      // Cut near 2 s after connecting, though it kept sending.
      assert.ok(elapsed >= 1800 && elapsed < 6000, `closed after ${elapsed} ms`);
      assert.ok(sent < 10, `only ${sent} bytes were accepted`);
      assert.match(c.buf.toString('latin1'), /^HTTP\/1\.1 408 /);
    } finally {
      stop = true;
      await drip;
      c.destroy();
    }
  });

});

describe('max_connections = 6', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nmax_connections = 6\nshutdown_grace = 5\n\n' + tomlModel({ name: 'tiny-chat' }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('beyond max_connections new connections get 503 at once; existing ones keep working',
       async () => {
    const held = [];
    let refused;
    try {
      for (let i = 0; i < 10 && !refused; i++) {
        const c = await RawConnection.connect(srv.port);
        // A refused connection is answered at once; an accepted one waits for a request.
        const t0 = Date.now();
        try {
          const res = await c.readResponse({ timeoutMs: 700 });
          refused = { res, ms: Date.now() - t0 };
          assert.ok(await c.waitClosed({ timeoutMs: 2000 }), 'refused connection closed');
          c.destroy();
        } catch (e) {
          if (/timed out/.test(e.message)) held.push(c);
          else throw e;
        }
      }
      assert.ok(refused, 'a connection beyond the limit was refused');
      assert.equal(refused.res.status, 503);
      assert.equal(JSON.parse(refused.res.body).error.type, 'service_unavailable_error');
      // Some of the 6 may be held by the test's own fetch pool.
      assert.ok(held.length >= 3 && held.length <= 6, `${held.length} connections accepted`);
      // The accepted ones still work.
      await held[0].write(httpRequest('GET', '/healthz'));
      const res = await held[0].readResponse({ timeoutMs: 5000 });
      assert.equal(res.status, 200);
    } finally {
      for (const c of held) c.destroy();
    }
    // Once they are gone, new connections are served again.
    await sleep(300);
    const r = await callJson(srv, '/v1/chat/completions', CHAT);
    assert.equal(r.status, 200);
  });
});

describe('request_timeout = 2', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nrequest_timeout = 2\nshutdown_grace = 5\n\n' +
              tomlModel({ name: 'tiny-chat', params: { parallel: 1, ctx_size: 8192 } }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('a call not answered in time gets 504 timeout_error; the slot is freed', async () => {
    const t0 = Date.now();
    const r = await callJson(srv, '/v1/completions', LONG);
    const elapsed = Date.now() - t0;
    assertError(r, { status: 504, type: 'timeout_error', code: 'request_timeout' });
    assert.ok(elapsed >= 1800 && elapsed < 8000, `504 after ${elapsed} ms`);
    // One slot (parallel = 1): a quick call is served promptly, so the long one was cancelled.
    const t1 = Date.now();
    const ok = await callJson(srv, '/v1/chat/completions', CHAT);
    assert.equal(ok.status, 200);
    assert.ok(Date.now() - t1 < 5000, `next call took ${Date.now() - t1} ms`);
  });

  test('a stream still running at the deadline is cut (no [DONE])', async () => {
    const res = await postJson(srv, '/v1/completions', { ...LONG, stream: true });
    assert.equal(res.status, 200);
    const t0 = Date.now();
    let text = '';
    let failed = false;
    try {
      for await (const chunk of res.body) text += Buffer.from(chunk).toString();
    } catch {
      failed = true;
    }
    const elapsed = Date.now() - t0;
    assert.ok(failed || !text.includes('[DONE]'), 'the stream did not end normally');
    assert.ok(elapsed < 8000, `cut after ${elapsed} ms`);
    const ok = await callJson(srv, '/v1/chat/completions', CHAT);
    assert.equal(ok.status, 200);
  });
});
