// GET /v1/models and /v1/models/{id}.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, getJson, assertError } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

test('GET /v1/models lists the two default models in the OpenAI list shape', async () => {
  const r = await getJson(srv, '/v1/models');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.body.object, 'list');
  const ids = r.body.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['tiny-chat', 'tiny-embed']);
  for (const m of r.body.data) {
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'smmf');
    assert.ok(Number.isInteger(m.created) && m.created > 1.6e9 && m.created < Date.now() / 1000 + 60,
              `created ${m.created} is a unix time`);
    assert.ok(Number.isInteger(m.context_length) && m.context_length > 0, `context_length of ${m.id}`);
  }
  const chat = r.body.data.find((m) => m.id === 'tiny-chat');
  const emb = r.body.data.find((m) => m.id === 'tiny-embed');
  assert.equal(chat.type, 'llm');
  assert.equal(emb.type, 'embedding');
  // Per-sequence context of the tiny chat model (default parallel 4 over its training context).
  assert.ok(chat.context_length >= 128 && chat.context_length <= 4096, `tiny-chat context ${chat.context_length}`);
});

test('GET /v1/models/{id} returns the same card as the list', async () => {
  const list = (await getJson(srv, '/v1/models')).body.data;
  for (const card of list) {
    const r = await getJson(srv, `/v1/models/${card.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, card);
  }
});

test('GET /v1/models/{unknown} answers 404 model_not_found', async () => {
  const r = await getJson(srv, '/v1/models/gpt-99');
  assertError(r, { status: 404, param: 'model', code: 'model_not_found' });
  assert.match(r.body.error.message, /gpt-99/);
});

test('query strings are ignored for routing', async () => {
  const r = await getJson(srv, '/v1/models?limit=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.data.length, 2);
});
