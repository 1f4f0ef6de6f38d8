// The official OpenAI SDK against `smmf serve` routing to mock TGI and TEI servers, plus
// POST /v1/rerank with plain fetch (the SDK has no rerank).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from '../integration/lib/server.mjs';
import { startMockTgi, startMockTei, mockEmbedding } from '../integration/lib/mock_hf.mjs';

let tgi, tei, srv, client;

before(async () => {
  tgi = await startMockTgi();
  tei = await startMockTei();
  srv = await startServer({
    config: `
[[models]]
name = "tgi-llm"
engine = "tgi"
params = { base_url = "${tgi.url}" }

[[models]]
name = "tei-embed"
type = "embedding"
engine = "tei"
params = { base_url = "${tei.url}" }

[[models]]
name = "tei-rerank"
type = "reranker"
engine = "tei"
params = { base_url = "${tei.url}" }

[[groups]]
name = "assistant"
models = ["tgi-llm"]
`,
  });
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
});
after(async () => {
  await srv?.stop();
  await tgi?.close();
  await tei?.close();
});

test('completions through TGI /generate and /generate_stream', async () => {
  const full = await client.completions.create({ model: 'tgi-llm', prompt: 'a b', max_tokens: 3, stop: [' gamma'] });
  assert.equal(full.choices[0].text, ' alpha beta');
  assert.equal(full.choices[0].finish_reason, 'stop');
  assert.equal(full.usage.completion_tokens, 3);
  let text = '';
  let finish;
  const s = await client.completions.create({ model: 'tgi-llm', prompt: 'a b', max_tokens: 4, stream: true });
  for await (const chunk of s) {
    text += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, ' alpha beta gamma delta');
  assert.equal(finish, 'length');
});

test('chat through a group whose member is the TGI model', async () => {
  const r = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'ping' }] });
  assert.equal(r.choices[0].message.content, 'tgi-chat: ping');
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('assistant'));
});

test('embeddings through TEI /embed', async () => {
  const r = await client.embeddings.create({ model: 'tei-embed', input: 'hello' });
  const want = mockEmbedding('hello');
  r.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6));
});

test('rerank with fetch', async () => {
  const res = await fetch(`${srv.base}/v1/rerank`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tei-rerank', query: 'red apple', documents: ['green pear', 'red apple pie', 'apple'], top_n: 2 }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.results.map((x) => x.index), [1, 2]);
  assert.equal(body.results[0].relevance_score, 1);
  assert.equal(body.results[0].document.text, 'red apple pie');
});
