// A client that goes away cancels its generation; the next request is served at once.
// One slot (parallel = 1) and a long context: a generation that kept running would hold the slot
// for seconds and delay the next request, which the timings below would catch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, postJson, sseEvents, tomlModel, sleep, RawConnection, httpRequest } from './lib/server.mjs';

const EOS_BANNED = { 2: -100 }; // llama SPM vocab: </s> = 2; keeps generating to the context end
const SHORT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hello there' }],
                temperature: 0, max_tokens: 8 };
// A generation of several seconds when not cancelled (context 8192 tokens, no max_tokens).
const LONG = { model: 'tiny-chat', prompt: 'Once upon a time', temperature: 0, logit_bias: EOS_BANNED };

let srv;
let baseline;

before(async () => {
  srv = await startServer({
    config: '[server]\nshutdown_grace = 5\n' +
            tomlModel({ name: 'tiny-chat', params: { parallel: 1, ctx_size: 8192 } }),
  });
  const r = await callJson(srv, '/v1/chat/completions', SHORT);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  baseline = r.body.choices[0].message.content;
});
after(async () => { await srv?.stop(); });

function accessLineCount() {
  return srv.accessLines('POST', '/v1/completions').length;
}

test('aborting a stream mid-way cancels it; the next request is served promptly', async (t) => {
  const before = accessLineCount();
  const ac = new AbortController();
  const tStart = Date.now();
  const res = await postJson(srv, '/v1/completions', { ...LONG, stream: true }, { signal: ac.signal });
  assert.equal(res.status, 200);
  t.diagnostic(`stream answered after ${Date.now() - tStart} ms`);
  let chunks = 0;
  try {
    for await (const ev of sseEvents(res)) {
      assert.notEqual(ev.data, '[DONE]', 'the long stream must still be running');
      if (++chunks === 3) break;
    }
  } finally {
    ac.abort();
  }
  const tAbort = Date.now();
  // The server notices, cancels and logs the request as ended with an error.
  const line = await srv.waitAccessLine('POST', '/v1/completions', before, { timeoutMs: 5000 });
  assert.match(line, /error=.*(cancel|connection lost|closed)/i, `log says cancelled/closed: ${line}`);
  const logged = Date.now() - tAbort;
  t.diagnostic(`cancel logged ${logged} ms after the abort`);
  assert.ok(logged < 3000, `cancelled within ${logged} ms`);
  // Next request on the only slot: served at once, with the usual greedy text.
  const t0 = Date.now();
  const r = await callJson(srv, '/v1/chat/completions', SHORT);
  const took = Date.now() - t0;
  t.diagnostic(`next request took ${took} ms`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, baseline);
  assert.ok(took < 2000, `next request took ${took} ms (the cancelled one must not hold the slot)`);
  assert.equal(accessLineCount(), before + 1);
});

test('closing the socket during a non-stream generation cancels it', async () => {
  const before = accessLineCount();
  const c = await RawConnection.connect(srv.port);
  await c.write(httpRequest('POST', '/v1/completions', { body: JSON.stringify(LONG), port: srv.port }));
  await sleep(300); // generating now
  c.destroy();
  const tClose = Date.now();
  const line = await srv.waitAccessLine('POST', '/v1/completions', before, { timeoutMs: 5000 });
  assert.ok(Date.now() - tClose < 3000, 'logged within 3 s of the close');
  assert.match(line, /error=.*(cancel|connection lost|closed)/i, line);
  const t0 = Date.now();
  const r = await callJson(srv, '/v1/chat/completions', SHORT);
  assert.equal(r.status, 200);
  assert.equal(r.body.choices[0].message.content, baseline);
  assert.ok(Date.now() - t0 < 2000, `next request took ${Date.now() - t0} ms`);
});

test('a client that disconnects while queued is dropped without running', async () => {
  const before = accessLineCount();
  // Occupy the only slot with a stream, queue a second request, then drop the second.
  const ac1 = new AbortController();
  const first = await postJson(srv, '/v1/completions', { ...LONG, stream: true }, { signal: ac1.signal });
  assert.equal(first.status, 200);
  const it = sseEvents(first)[Symbol.asyncIterator]();
  await it.next();
  const c = await RawConnection.connect(srv.port);
  await c.write(httpRequest('POST', '/v1/completions', { body: JSON.stringify({ ...LONG, max_tokens: 5 }), port: srv.port }));
  await sleep(200);
  c.destroy();
  // The queued request ends (logged with an error and no token counts) while the first runs on.
  const line = await srv.waitAccessLine('POST', '/v1/completions', before, { timeoutMs: 5000 });
  assert.match(line, /error=/, line);
  assert.doesNotMatch(line, /tokens=/, `the dropped request generated nothing: ${line}`);
  assert.equal((await it.next()).done, false, 'the first stream is still running');
  ac1.abort();
  await it.return?.().catch(() => {});
  const second = await srv.waitAccessLine('POST', '/v1/completions', before + 1, { timeoutMs: 5000 });
  assert.match(second, /error=.*(cancel|connection lost|closed)/i, second);
  const r = await callJson(srv, '/v1/chat/completions', SHORT);
  assert.equal(r.status, 200);
  assert.equal(r.body.choices[0].message.content, baseline);
  assert.equal((await fetch(srv.url('/healthz'))).status, 200);
});
