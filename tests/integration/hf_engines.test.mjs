// The tgi and tei engines and POST /v1/rerank, through `smmf serve`, against mock TGI and TEI
// servers (lib/mock_hf.mjs) that check what SMMF sends and answer as TGI/TEI document.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, callJson, postJson, readSse, stream, assertError, tomlModel,
} from './lib/server.mjs';
import { startMockTgi, startMockTei, mockEmbedding, mockScore } from './lib/mock_hf.mjs';

let tgi, tei, srv;

before(async () => {
  tgi = await startMockTgi();
  tei = await startMockTei();
  srv = await startServer({
    config: `
[[models]]
name = "tgi-llm"
engine = "tgi"
params = { base_url = "${tgi.url}", max_new_tokens = 6 }

[[models]]
name = "tei-rerank"
type = "reranker"
engine = "tei"
params = { base_url = "${tei.url}" }

[[models]]
name = "tei-embed"
type = "embedding"
engine = "tei"
params = { base_url = "${tei.url}" }
` + tomlModel({ name: 'chat' }),
  });
});

after(async () => {
  if (srv) await srv.stop();
  await tgi?.close();
  await tei?.close();
});

const DOCS = ['The capital of France is Paris', { text: 'Berlin is in Germany' },
  'paris france capital city', 'Nothing relevant here'];

test('rerank: sorted by score, every document, usage, documents echoed', async () => {
  const from = tei.requests.length;
  const r = await callJson(srv, '/v1/rerank', { model: 'tei-rerank', query: 'capital of France', documents: DOCS });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.model, 'tei-rerank');
  assert.match(r.body.id, /^rerank-/);
  const texts = DOCS.map((d) => (typeof d === 'string' ? d : d.text));
  const expected = texts.map((t, index) => ({ index, relevance_score: mockScore('capital of France', t) }))
    .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  assert.deepEqual(r.body.results.map((x) => [x.index, x.relevance_score]), expected.map((x) => [x.index, x.relevance_score]));
  for (const x of r.body.results) assert.deepEqual(x.document, { text: texts[x.index] });
  assert.ok(r.body.usage.total_tokens > 0);
  assert.equal(r.body.usage.prompt_tokens, r.body.usage.total_tokens);
  // What TEI received: its own request shape.
  const sent = tei.requests.slice(from);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].path, '/rerank');
  assert.deepEqual(sent[0].body, { query: 'capital of France', texts, raw_scores: false, return_text: false, truncate: false });
});

test('rerank: top_n cuts, return_documents=false omits documents, aliases answer the same', async () => {
  for (const path of ['/v1/rerank', '/rerank', '/v2/rerank']) {
    const r = await callJson(srv, path, { model: 'tei-rerank', query: 'capital of France', documents: DOCS, top_n: 2, return_documents: false });
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.results.length, 2);
    assert.deepEqual(r.body.results.map((x) => x.index), [0, 2]);
    for (const x of r.body.results) assert.equal(x.document, undefined);
  }
  const big = await callJson(srv, '/v1/rerank', { model: 'tei-rerank', query: 'q', documents: ['a', 'b'], top_n: 10 });
  assert.equal(big.body.results.length, 2);
});

test('rerank: invalid requests get 400 naming the parameter', async () => {
  const base = { model: 'tei-rerank', query: 'q', documents: ['a'] };
  const cases = [
    [{ ...base, model: undefined }, 'model'],
    [{ ...base, query: undefined }, 'query'],
    [{ ...base, query: '' }, 'query'],
    [{ ...base, query: 3 }, 'query'],
    [{ ...base, documents: undefined }, 'documents'],
    [{ ...base, documents: [] }, 'documents'],
    [{ ...base, documents: 'a' }, 'documents'],
    [{ ...base, documents: ['a', 7] }, 'documents'],
    [{ ...base, documents: [{ txt: 'a' }] }, 'documents'],
    [{ ...base, documents: [''] }, 'documents'],
    [{ ...base, top_n: 0 }, 'top_n'],
    [{ ...base, top_n: 1.5 }, 'top_n'],
    [{ ...base, return_documents: 'yes' }, 'return_documents'],
  ];
  for (const [body, param] of cases) {
    const r = await callJson(srv, '/v1/rerank', body);
    assertError(r, { status: 400, param, type: 'invalid_request_error' });
  }
  assertError(await callJson(srv, '/v1/rerank', '{"model":'), { status: 400 });
  assertError(await callJson(srv, '/v1/rerank', { ...base, model: 'nope' }), { status: 404, param: 'model', code: 'model_not_found' });
  // A chat model on /v1/rerank, and the reranker on /v1/embeddings.
  assertError(await callJson(srv, '/v1/rerank', { ...base, model: 'chat' }), { status: 400, param: 'model' });
  assertError(await callJson(srv, '/v1/embeddings', { model: 'tei-rerank', input: 'x' }), { status: 400, param: 'model' });
  // TEI's own 413 validation error keeps its status and message.
  const r = await callJson(srv, '/v1/rerank', { ...base, documents: ['TOO_LONG'] });
  assert.equal(r.status, 413);
  assert.match(r.body.error.message, /less than 512 tokens/);
});

test('tei embeddings: vectors and usage from /embed', async () => {
  const from = tei.requests.length;
  const r = await callJson(srv, '/v1/embeddings', { model: 'tei-embed', input: ['hello world', 'bye'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.length, 2);
  for (const [i, t] of ['hello world', 'bye'].entries()) {
    const want = mockEmbedding(t);
    r.body.data[i].embedding.forEach((x, k) => assert.ok(Math.abs(x - want[k]) < 1e-6));
  }
  assert.equal(r.body.usage.prompt_tokens, 3);
  assert.deepEqual(tei.requests[from].body, { inputs: ['hello world', 'bye'], normalize: true, truncate: false });
  assertError(await callJson(srv, '/v1/embeddings', { model: 'tei-embed', input: 'x', dimensions: 4 }), { status: 400, param: 'dimensions' });
});

test('tgi completions: parameters mapped, finish reasons length / eos_token / stop_sequence', async () => {
  const from = tgi.requests.length;
  let r = await callJson(srv, '/v1/completions', {
    model: 'tgi-llm', prompt: 'Say words', max_tokens: 3, temperature: 0.5, top_p: 0.75, top_k: 20,
    seed: 42, stop: ['zzz'], frequency_penalty: 0, repetition_penalty: 1.25,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].text, ' alpha beta gamma');
  assert.equal(r.body.choices[0].finish_reason, 'length');
  assert.deepEqual(r.body.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } });
  const sent = tgi.requests[from];
  assert.equal(sent.path, '/generate');
  assert.equal(sent.body.inputs, 'Say words');
  assert.deepEqual(sent.body.parameters, {
    max_new_tokens: 3, do_sample: true, temperature: 0.5, top_p: 0.75, top_k: 20,
    repetition_penalty: 1.25, seed: 42, stop: ['zzz'], details: true,
  });
  // Greedy (temperature 0) is do_sample = false; no max_tokens -> params.max_new_tokens.
  r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'EOS please', temperature: 0 });
  assert.equal(r.body.choices[0].text, ' alpha beta gamma');
  assert.equal(r.body.choices[0].finish_reason, 'stop');
  const greedy = tgi.requests.at(-1).body.parameters;
  assert.equal(greedy.do_sample, false);
  assert.equal(greedy.temperature, undefined);
  assert.equal(greedy.max_new_tokens, 6);
  // A stop sequence: TGI keeps it in the text, OpenAI does not.
  r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'x', stop: [' gamma'], max_tokens: 10 });
  assert.equal(r.body.choices[0].text, ' alpha beta');
  assert.equal(r.body.choices[0].finish_reason, 'stop');
  // Two prompts, n = 2: four upstream calls, choice index = prompt * n + choice.
  r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: ['a', 'b'], n: 2, max_tokens: 1 });
  assert.deepEqual(r.body.choices.map((c) => c.index), [0, 1, 2, 3]);
});

test('tgi streaming: token events become deltas; stop sequence trimmed; usage', async () => {
  const s = await stream(srv, '/v1/completions', {
    model: 'tgi-llm', prompt: 'x y z', max_tokens: 10, stop: [' delta'], stream_options: { include_usage: true },
  });
  assert.equal(s.done, true);
  assert.equal(s.texts[0], ' alpha beta gamma');
  assert.deepEqual(s.finish, ['stop']);
  assert.equal(s.usageChunks.length, 1);
  assert.deepEqual([s.usageChunks[0].usage.prompt_tokens, s.usageChunks[0].usage.completion_tokens], [3, 4]);
  assert.equal(tgi.requests.at(-1).path, '/generate_stream');
  const eos = await stream(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'EOS', max_tokens: 10 });
  assert.equal(eos.texts[0], ' alpha beta gamma', 'the special </s> token is not text');
  assert.deepEqual(eos.finish, ['stop']);
  const len = await stream(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'x', max_tokens: 2 });
  assert.deepEqual(len.finish, ['length']);
});

test('tgi errors: 422 -> 400, 424 -> 503, 429 kept, error event mid-stream', async () => {
  let r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'x', stop: ['a', 'b', 'c', 'd'], top_p: 1, max_tokens: 2 });
  assert.equal(r.status, 200, 'top_p = 1 is left out (TGI wants < 1)');
  r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'FAIL' });
  assert.equal(r.status, 503);
  assert.match(r.body.error.message, /Request failed during generation/);
  r = await callJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'OVERLOAD' });
  assertError(r, { status: 429, type: 'rate_limit_error' });
  const res = await postJson(srv, '/v1/completions', { model: 'tgi-llm', prompt: 'STREAMERR', max_tokens: 6, stream: true });
  assert.equal(res.status, 200);
  const sse = await readSse(res);
  assert.equal(sse.done, false);
  const last = sse.events.at(-1);
  assert.equal(last.event, 'error');
  assert.match(JSON.parse(last.data).error.message, /CUDA OOM/);
});

test('tgi chat goes through its Messages API', async () => {
  const r = await callJson(srv, '/v1/chat/completions', { model: 'tgi-llm', messages: [{ role: 'user', content: 'hi there' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, 'tgi-chat: hi there');
  assert.equal(tgi.requests.at(-1).path, '/v1/chat/completions');
  const s = await stream(srv, '/v1/chat/completions', { model: 'tgi-llm', messages: [{ role: 'user', content: 'yo' }] });
  assert.equal(s.texts[0], 'tgi-chat: yo');
});

test('rerank relayed by the openai_compat engine (as the API server reaches workers)', async () => {
  const front = await startServer({
    config: `
[[models]]
name = "relayed"
type = "reranker"
engine = "openai_compat"
params = { base_url = "${srv.base}/v1", upstream_model = "tei-rerank" }
`,
  });
  try {
    const r = await callJson(front, '/v1/rerank', { model: 'relayed', query: 'capital of France', documents: DOCS, top_n: 3 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model, 'relayed');
    assert.deepEqual(r.body.results.map((x) => x.index), [0, 2, 1]);
    assert.equal(r.body.results[0].document.text, DOCS[0]);
    assert.ok(r.body.usage.prompt_tokens > 0);
    // Upstream validation errors pass through with their status.
    const bad = await callJson(front, '/v1/rerank', { model: 'relayed', query: 'q', documents: ['TOO_LONG'] });
    assert.equal(bad.status, 413);
  } finally {
    await front.stop();
  }
});
