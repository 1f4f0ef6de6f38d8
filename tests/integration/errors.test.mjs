// Request validation and error mapping: exact status, type, param and code of every error.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, assertError, postJson, sseEvents, tomlModel, sleep } from './lib/server.mjs';

const CHAT = { model: 'tiny-chat', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 };
const COMP = { model: 'tiny-chat', prompt: 'Hi', max_tokens: 4 };
const EMB = { model: 'tiny-embed', input: 'Hi' };

describe('validation on the default server', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.stop(); });

  const without = (o, k) => { const c = { ...o }; delete c[k]; return c; };

  // [name, path, body, expected param]
  const bad400 = [
    ['chat: model missing', '/v1/chat/completions', without(CHAT, 'model'), 'model'],
    ['chat: model empty', '/v1/chat/completions', { ...CHAT, model: '' }, 'model'],
    ['chat: model not a string', '/v1/chat/completions', { ...CHAT, model: 42 }, 'model'],
    ['chat: messages missing', '/v1/chat/completions', without(CHAT, 'messages'), 'messages'],
    ['chat: messages empty', '/v1/chat/completions', { ...CHAT, messages: [] }, 'messages'],
    ['chat: messages not an array', '/v1/chat/completions', { ...CHAT, messages: 'Hi' }, 'messages'],
    ['chat: message not an object', '/v1/chat/completions', { ...CHAT, messages: ['Hi'] }, 'messages[0]'],
    ['chat: bad role', '/v1/chat/completions', { ...CHAT, messages: [{ role: 'wizard', content: 'Hi' }] }, 'messages[0].role'],
    ['chat: role missing', '/v1/chat/completions', { ...CHAT, messages: [{ content: 'Hi' }] }, 'messages[0].role'],
    ['chat: bad role in 2nd message', '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: 'Hi' }, { role: 'robot', content: 'x' }] }, 'messages[1].role'],
    ['chat: content a number', '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['chat: image content part', '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }] }, 'messages[0].content[0].type'],
    ['chat: temperature 5', '/v1/chat/completions', { ...CHAT, temperature: 5 }, 'temperature'],
    ['chat: temperature negative', '/v1/chat/completions', { ...CHAT, temperature: -0.1 }, 'temperature'],
    ['chat: temperature a string', '/v1/chat/completions', { ...CHAT, temperature: 'hot' }, 'temperature'],
    ['chat: top_p 1.5', '/v1/chat/completions', { ...CHAT, top_p: 1.5 }, 'top_p'],
    ['chat: top_k negative', '/v1/chat/completions', { ...CHAT, top_k: -1 }, 'top_k'],
    ['chat: min_p 2', '/v1/chat/completions', { ...CHAT, min_p: 2 }, 'min_p'],
    ['chat: max_tokens 0', '/v1/chat/completions', { ...CHAT, max_tokens: 0 }, 'max_tokens'],
    ['chat: max_tokens a string', '/v1/chat/completions', { ...CHAT, max_tokens: 'ten' }, 'max_tokens'],
    ['chat: max_tokens fractional', '/v1/chat/completions', { ...CHAT, max_tokens: 2.5 }, 'max_tokens'],
    ['chat: max_completion_tokens -1', '/v1/chat/completions', { ...CHAT, max_completion_tokens: -1 }, 'max_completion_tokens'],
    ['chat: n 0', '/v1/chat/completions', { ...CHAT, n: 0 }, 'n'],
    ['chat: n 10000', '/v1/chat/completions', { ...CHAT, n: 10000 }, 'n'],
    ['chat: presence_penalty 3', '/v1/chat/completions', { ...CHAT, presence_penalty: 3 }, 'presence_penalty'],
    ['chat: frequency_penalty -3', '/v1/chat/completions', { ...CHAT, frequency_penalty: -3 }, 'frequency_penalty'],
    ['chat: seed a string', '/v1/chat/completions', { ...CHAT, seed: 'abc' }, 'seed'],
    ['chat: stream a string', '/v1/chat/completions', { ...CHAT, stream: 'yes' }, 'stream'],
    ['chat: 5 stop strings', '/v1/chat/completions', { ...CHAT, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['chat: stop a number', '/v1/chat/completions', { ...CHAT, stop: 42 }, 'stop'],
    ['chat: stop array with a number', '/v1/chat/completions', { ...CHAT, stop: ['a', 1] }, 'stop'],
    ['chat: stream_options without stream', '/v1/chat/completions', { ...CHAT, stream_options: { include_usage: true } }, 'stream_options'],
    ['chat: include_usage not a boolean', '/v1/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
    ['chat: logit_bias bad key', '/v1/chat/completions', { ...CHAT, logit_bias: { abc: 1 } }, 'logit_bias'],
    ['chat: logit_bias out of range', '/v1/chat/completions', { ...CHAT, logit_bias: { 5: 500 } }, 'logit_bias'],
    ['completions: model missing', '/v1/completions', without(COMP, 'model'), 'model'],
    ['completions: prompt missing', '/v1/completions', without(COMP, 'prompt'), 'prompt'],
    ['completions: prompt empty array', '/v1/completions', { ...COMP, prompt: [] }, 'prompt'],
    ['completions: token-array prompt', '/v1/completions', { ...COMP, prompt: [1, 2, 3] }, 'prompt'],
    ['completions: prompt a number', '/v1/completions', { ...COMP, prompt: 7 }, 'prompt'],
    ['completions: temperature 5', '/v1/completions', { ...COMP, temperature: 5 }, 'temperature'],
    ['completions: echo a string', '/v1/completions', { ...COMP, echo: 'yes' }, 'echo'],
    ['embeddings: model missing', '/v1/embeddings', without(EMB, 'model'), 'model'],
    ['embeddings: input missing', '/v1/embeddings', without(EMB, 'input'), 'input'],
    ['embeddings: input empty string', '/v1/embeddings', { ...EMB, input: '' }, 'input'],
    ['embeddings: input empty array', '/v1/embeddings', { ...EMB, input: [] }, 'input'],
    ['embeddings: input a number', '/v1/embeddings', { ...EMB, input: 5 }, 'input'],
    ['embeddings: encoding_format hex', '/v1/embeddings', { ...EMB, encoding_format: 'hex' }, 'encoding_format'],
    ['embeddings: dimensions 0', '/v1/embeddings', { ...EMB, dimensions: 0 }, 'dimensions'],
  ];

  for (const [name, p, body, param] of bad400) {
    test(`400 ${name} -> param ${param}`, async () => {
      const r = await callJson(srv, p, body);
      assertError(r, { status: 400, param, type: 'invalid_request_error' });
      assert.match(r.headers.get('content-type'), /^application\/json/);
    });
  }

  // Unsupported features and bad constraints are rejected with 400, never silently ignored.
  const unsupported = [
    ['tools', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }, 'tools'],
    ['tool_choice', { tool_choice: 'auto' }, 'tool_choice'],
    ['functions', { functions: [{ name: 'f', parameters: {} }] }, 'functions'],
    ['logprobs', { logprobs: true }, 'logprobs'],
    ['response_format of an unknown type', { response_format: { type: 'xml' } }, 'response_format'],
    ['response_format json_schema without a schema', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format'],
    ['response_format json_schema the engine cannot compile', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'no-such-type' } } } }, 'response_format'],
    ['grammar that does not parse', { grammar: 'root ::= (' }, 'grammar'],
  ];
  for (const [name, extra, param] of unsupported) {
    test(`400 unsupported feature: ${name}`, async () => {
      const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, ...extra });
      assertError(r, { status: 400, param, type: 'invalid_request_error' });
    });
  }

  test('harmless defaults of unsupported features are accepted', async () => {
    for (const extra of [{ tools: [] }, { tool_choice: 'none' }, { logprobs: false },
                         { response_format: { type: 'text' } }, { tools: null }]) {
      const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, ...extra });
      assert.equal(r.status, 200, `${JSON.stringify(extra)}: ${JSON.stringify(r.body)}`);
    }
  });

  test('404 model_not_found for an unknown model on every generation route', async () => {
    for (const [p, body] of [['/v1/chat/completions', CHAT], ['/v1/completions', COMP],
                             ['/v1/embeddings', EMB]]) {
      const r = await callJson(srv, p, { ...body, model: 'no-such-model' });
      assertError(r, { status: 404, param: 'model', code: 'model_not_found', type: 'invalid_request_error' });
      assert.match(r.body.error.message, /no-such-model/);
    }
    const s = await callJson(srv, '/v1/chat/completions', { ...CHAT, model: 'no-such-model', stream: true });
    assertError(s, { status: 404, param: 'model', code: 'model_not_found' });
  });

  test('chat and completions on the embedding model answer 400 naming model', async () => {
    const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, model: 'tiny-embed' });
    assertError(r, { status: 400, param: 'model' });
    const r2 = await callJson(srv, '/v1/completions', { ...COMP, model: 'tiny-embed' });
    assertError(r2, { status: 400, param: 'model' });
  });

  test('embeddings on the chat model answer 400 naming model', async () => {
    const r = await callJson(srv, '/v1/embeddings', { ...EMB, model: 'tiny-chat' });
    assertError(r, { status: 400, param: 'model' });
  });

  test('a prompt longer than the context answers 400 (not 500, not a hang)', async () => {
    const m = await (await fetch(srv.url('/v1/models/tiny-chat'))).json();
    assert.ok(m.context_length > 0);
    const long = 'hello world '.repeat(m.context_length * 2);
    const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: long }] });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.error.type, 'invalid_request_error');
    const r2 = await callJson(srv, '/v1/completions', { ...COMP, prompt: long });
    assert.equal(r2.status, 400, JSON.stringify(r2.body).slice(0, 500));
    const s = await callJson(srv, '/v1/completions', { ...COMP, prompt: long, stream: true });
    assert.equal(s.status, 400, 'a stream that cannot start answers a plain 400');
    // Still serving.
    assert.equal((await callJson(srv, '/v1/chat/completions', CHAT)).status, 200);
  });

  test('an embedding input longer than the model context answers 400', async () => {
    const m = await (await fetch(srv.url('/v1/models/tiny-embed'))).json();
    assert.ok(m.context_length > 0);
    const r = await callJson(srv, '/v1/embeddings', { ...EMB, input: 'word '.repeat(m.context_length * 2) });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.error.param, 'input');
  });

  test('a stream of a bad request answers a plain JSON 400, not an SSE stream', async () => {
    const res = await postJson(srv, '/v1/chat/completions', { ...CHAT, stream: true, temperature: 9 });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.equal((await res.json()).error.param, 'temperature');
  });
});

describe('queue limit (parallel = 1, max_queue = 0)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nshutdown_grace = 5\n' +
              tomlModel({ name: 'tiny-chat', params: { parallel: 1, max_queue: 0 } }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('429 rate_limit_exceeded while the only slot is busy, then served again', async () => {
    // Fill the one slot with a long stream (EOS banned so it runs to max_tokens).
    const ac = new AbortController();
    const res = await postJson(srv, '/v1/completions', {
      model: 'tiny-chat', prompt: 'Once', max_tokens: 1500, temperature: 0, stream: true,
      logit_bias: { 2: -100 } }, { signal: ac.signal });
    assert.equal(res.status, 200);
    const it = sseEvents(res)[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false, 'the long stream started');
    // While it runs, more calls are refused at once.
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push(await callJson(srv, '/v1/chat/completions', CHAT));
    const stillRunning = (await it.next()).done === false;
    ac.abort();
    await it.return?.().catch(() => {});
    assert.ok(stillRunning, 'the long stream was still running');
    for (const r of refused) {
      assertError(r, { status: 429, param: null, code: 'rate_limit_exceeded', type: 'rate_limit_error' });
      const retry = r.headers.get('retry-after');
      assert.match(retry ?? '', /^[1-9][0-9]*$/, `Retry-After in whole seconds, at least 1: ${retry}`);
    }
    // Once the slot is free again (the aborted stream is cancelled), calls are served.
    const deadline = Date.now() + 10000;
    let r;
    do {
      r = await callJson(srv, '/v1/chat/completions', CHAT);
    } while (r.status === 429 && Date.now() < deadline && (await sleep(50), true));
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  // More sequences than slots + queue can ever hold: retrying cannot help, so 400 (not 429).
  test('a call needing more sequences than slots + queue is refused with 400 (n = 2)', async () => {
    const r = await callJson(srv, '/v1/chat/completions', { ...CHAT, n: 2 });
    assertError(r, { status: 400, param: 'n' });
  });
});

describe('priority queue (parallel = 1, max_queue = 4)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nshutdown_grace = 5\n' +
              tomlModel({ name: 'tiny-chat', params: { parallel: 1, max_queue: 4 } }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('a high-priority request queued after a low one runs first', async () => {
    const ac = new AbortController();
    const res = await postJson(srv, '/v1/completions', {
      model: 'tiny-chat', prompt: 'Once', max_tokens: 1500, temperature: 0, stream: true,
      logit_bias: { 2: -100 } }, { signal: ac.signal });
    assert.equal(res.status, 200);
    const it = sseEvents(res)[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false, 'the long stream started');
    const order = [];
    const call = (name, priority) =>
      callJson(srv, '/v1/chat/completions', { ...CHAT, max_tokens: 2, priority })
        .then((r) => { order.push(name); return r; });
    const low = call('low', 0);
    await sleep(500);  // generous: both must be waiting before the slot frees
    const high = call('high', 10);
    await sleep(500);
    const stillRunning = (await it.next()).done === false;
    ac.abort();
    await it.return?.().catch(() => {});
    assert.ok(stillRunning, 'the long stream was still running');
    for (const r of await Promise.all([low, high])) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(order, ['high', 'low']);
  });
});
