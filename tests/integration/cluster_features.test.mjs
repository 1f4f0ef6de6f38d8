// Cluster mode relays what the llama.cpp engine adds: response_format reaches the worker's
// engine through the API server, and a worker's 429 keeps its Retry-After on the way back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, chat, chatBody } from './lib/cluster.mjs';
import { postJson, sseEvents } from './lib/server.mjs';

const clusters = [];
after(async () => { for (const c of clusters) await c.stop(); });

test('response_format and a 429 with Retry-After pass through apiserver -> worker', async () => {
  const c = await startCluster({
    workers: [{ id: 'w1', models: [{ name: 'chat', params: { parallel: 1, max_queue: 0 } }] }] });
  clusters.push(c);
  const schema = {
    type: 'object', additionalProperties: false, required: ['n'],
    properties: { n: { type: 'integer', minimum: 0, maximum: 99 } },
  };
  const r = await chat(c.api, chatBody({ maxTokens: 100, temperature: 0,
    response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = JSON.parse(r.body.choices[0].message.content);
  assert.deepEqual(Object.keys(v), ['n']);
  assert.ok(Number.isInteger(v.n) && v.n >= 0 && v.n <= 99);

  // Fill the worker's only slot through the API server, then ask again.
  const ac = new AbortController();
  const res = await postJson(c.api, '/v1/chat/completions',
    { ...chatBody({ maxTokens: 1500, temperature: 0 }), stream: true, logit_bias: { 2: -100 } },
    { signal: ac.signal });
  assert.equal(res.status, 200);
  const it = sseEvents(res)[Symbol.asyncIterator]();
  assert.equal((await it.next()).done, false, 'the long stream started');
  const refused = await postJson(c.api, '/v1/chat/completions', chatBody());
  const body = await refused.json();
  const stillRunning = (await it.next()).done === false;
  ac.abort();
  await it.return?.().catch(() => {});
  assert.ok(stillRunning, 'the long stream was still running');
  assert.equal(refused.status, 429, JSON.stringify(body));
  assert.equal(body.error.code, 'rate_limit_exceeded');
  assert.match(refused.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
});
