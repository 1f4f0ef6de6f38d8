// Startup: while models load, /healthz says 503 and calls to a loading model get 503; once
// /healthz says 200, every model is listed and answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, getJson, callJson, postJson, assertError, tomlModel } from './lib/server.mjs';

const CHAT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };
const EMB = { model: 'tiny-embed', input: 'Hi' };

/// Status and (for errors) the JSON body; streams the chat so that a 200 is an SSE body.
async function probe(srv, p, body) {
  const res = await postJson(srv, p, body);
  const text = await res.text();
  return { status: res.status, body: res.status === 200 ? null : JSON.parse(text) };
}

test('/healthz is 503 until every model runs, and 200 implies all models are served', async (t) => {
  // Several replicas make loading take a while, so requests land while it is under way.
  const srv = await startServer({
    waitReady: false,
    config: '[server]\nshutdown_grace = 5\n' +
            tomlModel({ name: 'tiny-chat' }).replace('[[models]]\n', '[[models]]\nreplicas = 3\n') +
            tomlModel({ name: 'tiny-embed', type: 'embedding' }),
  });
  try {
    const seen = [];
    let readyLogged = false;
    for (let i = 0; i < 2000 && !readyLogged; i++) {
      readyLogged = srv.lines.some((l) => /ready: \d+ model\(s\) running/.test(l));
      const h = await getJson(srv, '/healthz');
      const models = await getJson(srv, '/v1/models');
      const chat = await probe(srv, '/v1/chat/completions', { ...CHAT, stream: true });
      const emb = await probe(srv, '/v1/embeddings', EMB);
      const ids = models.body.data.map((m) => m.id).sort();
      seen.push({ health: h.status, models: ids, chat: chat.status, emb: emb.status });
      if (h.status === 200) {
        assert.deepEqual(h.body, { status: 'ok' });
        assert.deepEqual(models.body.data.map((m) => m.id).sort(), ['tiny-chat', 'tiny-embed'],
                         `/healthz said 200 but /v1/models lists ${JSON.stringify(models.body.data.map((m) => m.id))}`);
      } else {
        assertError(h, { status: 503, type: 'service_unavailable_error' });
        assert.ok(!readyLogged, '/healthz 503 after the ready line');
      }
      // A configured model that is not running yet answers 503 (not 404: the model exists).
      for (const [name, r] of [['tiny-chat', chat], ['tiny-embed', emb]]) {
        if (r.status !== 200)
          assertError(r, { status: 503, type: 'service_unavailable_error' });
        if (ids.includes(name)) assert.ok([200, 503].includes(r.status));
      }
    }
    assert.ok(readyLogged, 'the server logged ready');
    const during = seen.filter((s) => s.health !== 200).length;
    t.diagnostic(`${seen.length} probes, ${during} while loading: ${JSON.stringify(seen.slice(0, 5))}`);
    // After ready: all 200.
    assert.equal((await getJson(srv, '/healthz')).status, 200);
    assert.equal((await probe(srv, '/v1/chat/completions', { ...CHAT, stream: true })).status, 200);
    assert.equal((await callJson(srv, '/v1/embeddings', EMB)).status, 200);
    await srv.stop();
  } finally {
    srv.kill();
  }
});

test('the listening line comes before loading, so the port is known at once', async () => {
  const srv = await startServer({ waitReady: false });
  try {
    const listenAt = srv.lines.findIndex((l) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(l));
    assert.ok(listenAt >= 0);
    const readyLine = await srv.waitForLine(/ready: (\d+) model\(s\) running/, { timeoutMs: 60000 });
    assert.match(readyLine, /ready: 2 model\(s\) running/);
    assert.ok(srv.lines.indexOf(readyLine) > listenAt);
    await srv.stop();
  } finally {
    srv.kill();
  }
});
