// Many clients at once: continuous batching must finish every stream, each with its own text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, stream } from './lib/server.mjs';

const PROMPTS = ['Tell me about cats.', 'What is the weather like?', 'Write a poem about rain.',
                 'How do airplanes fly?'];
const body = (i) => ({ model: 'tiny-chat', temperature: 0, max_tokens: 16,
                       messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }] });

let srv;
const baseline = []; // greedy text of each prompt, one request at a time

before(async () => {
  srv = await startServer();
  for (let i = 0; i < PROMPTS.length; i++) {
    const r = await callJson(srv, '/v1/chat/completions', body(i));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    baseline.push(r.body.choices[0].message.content);
  }
  assert.equal(new Set(baseline).size, PROMPTS.length, 'the prompts give distinct texts');
});
after(async () => { await srv?.stop(); });

test('16 concurrent streams all complete with [DONE], non-empty text and usage', async () => {
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    stream(srv, '/v1/chat/completions', { ...body(i), stream_options: { include_usage: true } })));
  const ids = new Set();
  results.forEach((s, i) => {
    assert.ok(s.done, `stream ${i} ended with [DONE]`);
    assert.equal(s.afterDone.length, 0);
    assert.ok(s.texts[0] && s.texts[0].length > 0, `stream ${i} has text`);
    assert.ok(['stop', 'length'].includes(s.finish[0]), `stream ${i} finished: ${s.finish[0]}`);
    const u = s.usageChunks[0]?.usage;
    assert.ok(u, `stream ${i} has a usage chunk`);
    assert.ok(u.completion_tokens >= 1 && u.completion_tokens <= 16);
    if (s.finish[0] === 'length') assert.equal(u.completion_tokens, 16);
    ids.add(s.chunks[0].id);
  });
  assert.equal(ids.size, 16, 'each stream has its own id');
});

test('16 concurrent greedy streams give the same text as one at a time (no cross-talk)', async () => {
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    stream(srv, '/v1/chat/completions', body(i))));
  results.forEach((s, i) => {
    assert.equal(s.texts[0], baseline[i % PROMPTS.length], `stream ${i} (prompt ${i % PROMPTS.length})`);
  });
});

test('mixed concurrent load: chat, completions, embeddings, non-stream', async () => {
  const jobs = [];
  for (let i = 0; i < 6; i++) jobs.push(callJson(srv, '/v1/chat/completions', body(i)));
  for (let i = 0; i < 6; i++) jobs.push(callJson(srv, '/v1/completions', { model: 'tiny-chat', prompt: `Number ${i}`, max_tokens: 8 }));
  for (let i = 0; i < 6; i++) jobs.push(callJson(srv, '/v1/embeddings', { model: 'tiny-embed', input: [`text ${i}`, 'other'] }));
  const rs = await Promise.all(jobs);
  rs.forEach((r, i) => assert.equal(r.status, 200, `job ${i}: ${JSON.stringify(r.body)}`));
  rs.slice(0, 6).forEach((r, i) => assert.equal(r.body.choices[0].message.content, baseline[i % PROMPTS.length]));
  rs.slice(12).forEach((r) => assert.equal(r.body.data.length, 2));
  assert.equal((await fetch(srv.url('/healthz'))).status, 200);
});
