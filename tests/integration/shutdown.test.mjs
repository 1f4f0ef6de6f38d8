// Graceful shutdown: SIGTERM lets in-flight requests finish, refuses new ones, exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, postJson, sseEvents, collectText, tomlModel, RawConnection, httpRequest, sleep } from './lib/server.mjs';

const EOS_BANNED = { 2: -100 }; // llama SPM vocab: </s> = 2
const CONFIG = '[server]\nshutdown_grace = 20\n' +
               tomlModel({ name: 'tiny-chat', params: { parallel: 2, ctx_size: 4096 } });

function connectRefused(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM during a stream: the stream completes with [DONE], then exit 0', async () => {
  const srv = await startServer({ config: CONFIG });
  try {
    const MAX = 300; // long enough to be in flight when the signal arrives
    const res = await postJson(srv, '/v1/completions', {
      model: 'tiny-chat', prompt: 'Once upon a time', temperature: 0, max_tokens: MAX,
      logit_bias: EOS_BANNED, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    const chunks = [];
    let done = false;
    let signalled = false;
    for await (const ev of sseEvents(res)) {
      if (ev.data === '[DONE]') { done = true; continue; }
      chunks.push(JSON.parse(ev.data));
      if (!signalled) {
        signalled = true;
        srv.signal('SIGTERM');
        await srv.waitForLine(/signal 15/);
      }
    }
    assert.ok(done, 'the in-flight stream ended with [DONE]');
    const { texts, finish, usageChunks } = collectText(chunks);
    assert.equal(finish[0], 'length');
    assert.equal(usageChunks[0].usage.completion_tokens, MAX, 'the whole generation was delivered');
    assert.ok(texts[0].length > 0);
    await srv.stop(); // asserts exit code 0
    // The request was in flight when the signal came: its access-log line follows the signal line.
    const sigAt = srv.lines.findIndex((l) => /signal 15/.test(l));
    const reqAt = srv.lines.findIndex((l) => /POST \/v1\/completions 200 /.test(l));
    assert.ok(sigAt >= 0 && reqAt > sigAt, `access-log line after the signal line:\n${srv.log()}`);
    assert.ok(srv.lines.some((l) => /\bstopped\b/.test(l)), 'logs "stopped"');
  } finally {
    srv.kill();
  }
});

test('after SIGTERM new connections are refused and idle keep-alive connections are closed', async () => {
  const srv = await startServer({ config: CONFIG });
  try {
    const idle = await RawConnection.connect(srv.port);
    await idle.write(httpRequest('GET', '/healthz', { port: srv.port }));
    assert.equal((await idle.readResponse()).status, 200);
    // A long non-stream request keeps the server in its grace period.
    const pending = postJson(srv, '/v1/completions', {
      model: 'tiny-chat', prompt: 'Hello', temperature: 0, max_tokens: 1500, logit_bias: EOS_BANNED });
    await sleep(100);
    srv.signal('SIGTERM');
    await srv.waitForLine(/signal 15/);
    assert.ok(await idle.waitClosed({ timeoutMs: 3000 }), 'idle keep-alive connection closed at once');
    assert.ok(await connectRefused(srv.port), 'new connections refused during shutdown');
    const res = await pending;
    assert.equal(res.status, 200, 'the in-flight non-stream request was answered');
    const body = await res.json();
    assert.equal(body.usage.completion_tokens, 1500);
    await srv.stop();
    const sigAt = srv.lines.findIndex((l) => /signal 15/.test(l));
    const reqAt = srv.lines.findIndex((l) => /POST \/v1\/completions 200 /.test(l));
    assert.ok(sigAt >= 0 && reqAt > sigAt, `the request was in flight at the signal:\n${srv.log()}`);
  } finally {
    srv.kill();
  }
});

test('a response finished during shutdown says Connection: close', async () => {
  const srv = await startServer({ config: CONFIG });
  try {
    const c = await RawConnection.connect(srv.port);
    await c.write(httpRequest('POST', '/v1/completions', { port: srv.port, body: JSON.stringify({
      model: 'tiny-chat', prompt: 'Hello', temperature: 0, max_tokens: 1500, logit_bias: EOS_BANNED }) }));
    await sleep(100);
    srv.signal('SIGTERM');
    await srv.waitForLine(/signal 15/);
    const res = await c.readResponse({ timeoutMs: 60000 });
    assert.equal(res.status, 200);
    assert.equal((res.headers.connection || '').toLowerCase(), 'close',
                 `headers of a response completed during shutdown: ${JSON.stringify(res.headers)}`);
    assert.ok(await c.waitClosed({ timeoutMs: 3000 }));
    await srv.stop();
  } finally {
    srv.kill();
  }
});

test('SIGINT on an idle server exits 0 promptly', async () => {
  const srv = await startServer();
  try {
    const t0 = Date.now();
    srv.signal('SIGINT');
    await srv.stop({ timeoutMs: 10000 });
    assert.ok(Date.now() - t0 < 5000, `exited in ${Date.now() - t0} ms`);
    assert.ok(srv.lines.some((l) => /signal 2\b/.test(l)), 'logs the signal');
  } finally {
    srv.kill();
  }
});

test('a client aborting its stream during the grace period: the server still exits 0 promptly', async () => {
  const srv = await startServer({ config: CONFIG });
  try {
    const c = await RawConnection.connect(srv.port);
    // A long stream on another connection holds the server open.
    const ac = new AbortController();
    const res = await postJson(srv, '/v1/completions', {
      model: 'tiny-chat', prompt: 'Once', max_tokens: 1500, logit_bias: EOS_BANNED, stream: true },
      { signal: ac.signal });
    const it = sseEvents(res)[Symbol.asyncIterator]();
    await it.next();
    srv.signal('SIGTERM');
    await srv.waitForLine(/signal 15/);
    assert.ok(await c.waitClosed({ timeoutMs: 3000 }), 'idle connection closed');
    ac.abort();
    await it.return?.().catch(() => {});
    const t0 = Date.now();
    await srv.stop({ timeoutMs: 10000 });
    assert.ok(Date.now() - t0 < 5000, `exit ${Date.now() - t0} ms after the abort (grace is 20 s)`);
  } finally {
    srv.kill();
  }
});
